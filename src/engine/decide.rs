//! The stateful side of deciding, for proxies: the cache of verified tokens
//! and kept decisions, remote key sets and introspection calls, and the
//! step-by-step decision that asks the host for those calls.

use crate::authorize::authenticate::{self, VerifiedToken};
use crate::authorize::binding::ProofMemory;
use crate::authorize::decision::Decision;
use crate::authorize::evaluate::{DecideOptions, Host, Prior};
use crate::authorize::route::Route;
use crate::authorize::trace::Tracer;
use crate::engine::cache::{TokenCache, TokenKey, REFUSED_SECONDS};
use crate::engine::proofs::MemoryProofs;
use crate::engine::remote::{
    interpret_introspection, HttpCall, HttpResult, IntrospectionAnswer as Answer, KeyStore,
};
use crate::jose::token::{CompactJws, TokenError, TokenErrorKind};
use crate::policy::Policy;
use crate::request::{Request, RequestView};
use std::collections::HashMap;
use std::rc::Rc;

impl Policy {
    /// Decides with a cache of verified tokens: a token's signature is
    /// checked at most once while it is cached, and at most once per request.
    pub fn decide_cached(
        &self,
        request: &Request,
        options: DecideOptions,
        cache: &mut TokenCache,
    ) -> (Rc<Decision>, CacheUse) {
        let (token, key) = match self.lookup(cache, request, options, Host::default()) {
            Lookup::Hit(hit) => return (hit, CacheUse::Hit),
            Lookup::Miss(token, key) => (token, key),
            Lookup::NoToken => {
                return (
                    Rc::new(self.evaluate(request, options, Prior::Unknown, Host::default())),
                    CacheUse::None,
                )
            }
        };
        let verified =
            authenticate::verify_jws(&self.issuers, token, &mut Tracer::new(false), None);
        let decision =
            self.decide_verified(cache, key, request, options, verified, Host::default());
        (decision, CacheUse::Miss)
    }

    /// Decides with a token verified (or not) on a cache miss, keeping a
    /// verified token and its decision in `cache`.
    fn decide_verified(
        &self,
        cache: &mut TokenCache,
        key: TokenKey<'_>,
        request: &Request,
        options: DecideOptions,
        verified: Result<VerifiedToken, TokenError>,
        host: Host,
    ) -> Rc<Decision> {
        match verified {
            Ok(verified) => {
                let verified = Rc::new(verified);
                let decision = self.evaluate(request, options, Prior::Verified(&verified), host);
                remember_verified(cache, key, verified, decision, request)
            }
            Err(err) => {
                let until = request.now.saturating_add(REFUSED_SECONDS);
                cache.refuse(&key, &err, until);
                Rc::new(self.evaluate(request, options, Prior::Failed(&err), host))
            }
        }
    }

    /// The request's bearer token in `cache`. A cached token was checked
    /// character by character when it was first seen, so the lookup uses
    /// the unchecked candidate and only a miss pays for the check.
    fn lookup<'r>(
        &self,
        cache: &mut TokenCache,
        request: &'r Request,
        options: DecideOptions,
        host: Host,
    ) -> Lookup<'r> {
        let view = request.view();
        // A DPoP-bound token is verified once like a bearer token; only its
        // decisions, which rest on each request's proof, are never kept.
        let Some((dpop, candidate)) = view.token_candidate() else {
            return Lookup::NoToken;
        };
        // Over the policy's cap it is refused unverified (and never sent to
        // introspection): decided without the cache, as a request without one.
        if candidate.len() > self.max_token_bytes {
            return Lookup::NoToken;
        }
        let key = cache.key(candidate);
        // A kept decision was made for a bearer token: a DPoP request with
        // the same token and request line is another request.
        if !options.explain && !dpop {
            if let Some(decision) = cache.decision(&key, &view) {
                return Lookup::Hit(decision);
            }
        }
        if let Some(hit) = self.decide_from_cache(cache, &key, request, &view, options, host) {
            return Lookup::Hit(hit);
        }
        // Whenever the checked token exists it is the candidate.
        match request.presented_token() {
            Some(token) => Lookup::Miss(token, key),
            None => Lookup::NoToken,
        }
    }

    /// A new decision from the verified claims of a token in `cache` (then
    /// kept when it may be).
    fn decide_from_cache(
        &self,
        cache: &mut TokenCache,
        key: &TokenKey,
        request: &Request,
        view: &RequestView,
        options: DecideOptions,
        host: Host,
    ) -> Option<Rc<Decision>> {
        let verified = cache.get(key, request.now)?;
        let decision = Rc::new(self.evaluate(request, options, Prior::Verified(&verified), host));
        cache.remember(key, view, &decision);
        Some(decision)
    }
}

/// What a proxy keeps for one policy: verified tokens, remote issuers' keys,
/// and the requests waiting for those keys.
pub struct State {
    /// Verified tokens and the decisions kept with them.
    pub cache: TokenCache,
    /// Remote issuers' keys and endpoints, as fetched.
    pub keys: KeyStore,
    /// Requests paused until an issuer's keys arrive, by issuer.
    parked: HashMap<usize, Vec<Parked>>,
    /// Used DPoP proofs (in memory unless the host shares them).
    proofs: Box<dyn ProofMemory>,
}

/// The most requests that wait for one issuer's keys (per Envoy worker).
pub const MAX_PARKED: usize = 1024;

/// A request a host paused until an issuer's keys arrive ([`Step::Wait`]):
/// the host's handle for it (Envoy: its context id) and the request to
/// decide again.
#[derive(Debug)]
pub struct Parked {
    /// The host's handle for the paused request.
    pub id: u32,
    /// The request, to decide again with [`Policy::decide_step`].
    pub request: Request,
}

impl State {
    /// Parks a request that got [`Step::Wait`] for `issuer`. `false` when
    /// [`MAX_PARKED`] already wait: the host answers it 503 (a flood while
    /// keys load must not grow memory without bound).
    #[must_use]
    pub fn park(&mut self, issuer: usize, parked: Parked) -> bool {
        let waiting = self.parked.entry(issuer).or_default();
        if waiting.len() >= MAX_PARKED {
            return false;
        }
        waiting.push(parked);
        true
    }

    /// The requests parked on `issuer`, once no fetch of its keys is in
    /// flight (after [`Policy::complete_call`]): decide each again. While a
    /// fetch continues (discovery led to the JWKS), they stay parked.
    pub fn release(&mut self, issuer: usize) -> Vec<Parked> {
        if self.keys.issuer(issuer).is_some_and(|set| set.in_flight) {
            return Vec::new();
        }
        self.parked.remove(&issuer).unwrap_or_default()
    }

    /// Keeps used DPoP proofs in `memory` (Envoy: shared data, which every
    /// worker sees) instead of this state's own memory.
    pub fn remember_proofs_in(&mut self, memory: Box<dyn ProofMemory>) {
        self.proofs = memory;
    }

    /// What an evaluation borrows: the fetched keys, the proof memory.
    fn host(&mut self) -> Host<'_> {
        self.parts().1
    }

    /// The cache, and what an evaluation borrows besides.
    fn parts(&mut self) -> (&mut TokenCache, Host<'_>) {
        let host = Host {
            keys: Some(&self.keys),
            proofs: Some(&mut *self.proofs),
        };
        (&mut self.cache, host)
    }
}

/// The next thing for a host to do with a request.
#[derive(Debug)]
pub enum Step {
    /// Apply this decision (shared with the cache when it may be reused).
    Done(Rc<Decision>, CacheUse),
    /// Make this call, pause the request, then hand the answer to
    /// [`Policy::complete_call`] (keys) or [`Policy::decide_introspected`].
    Call(HttpCall),
    /// Another request is already fetching this issuer's keys: pause, and
    /// decide again when that call completes.
    Wait(usize),
}

impl Policy {
    /// A fresh state for this policy (a new policy needs a new state).
    pub fn new_state(&self) -> State {
        State {
            cache: TokenCache::bounded(self.envoy.cache_size, self.envoy.cache_bytes),
            keys: KeyStore::new(&self.issuers),
            parked: HashMap::new(),
            proofs: Box::new(MemoryProofs::default()),
        }
    }

    /// Calls that are due now (first loads and refreshes of remote JWKS);
    /// hosts ask on a timer.
    pub fn due_calls(&self, state: &mut State, now: u64) -> Vec<HttpCall> {
        state.keys.due(&self.issuers, now)
    }

    /// Hands back the answer to a discovery or JWKS call; returns follow-up
    /// calls. Requests waiting on the issuer can then be decided again.
    pub fn complete_call(
        &self,
        state: &mut State,
        call: &HttpCall,
        result: HttpResult,
        now: u64,
    ) -> Vec<HttpCall> {
        // New keys may verify a token refused for an unknown key.
        state.cache.forget_refused();
        state.keys.complete(&self.issuers, call, result, now)
    }

    /// Decides a request, or says which call it needs first (remote keys,
    /// introspection). Signatures are checked at most once per cached token.
    pub fn decide_step(
        &self,
        state: &mut State,
        request: &Request,
        options: DecideOptions,
    ) -> Step {
        let (cache, host) = state.parts();
        let (token, key) = match self.lookup(cache, request, options, host) {
            Lookup::Hit(hit) => return Step::Done(hit, CacheUse::Hit),
            Lookup::Miss(token, key) => (token, key),
            Lookup::NoToken => {
                return Step::Done(
                    Rc::new(self.evaluate(request, options, Prior::Unknown, state.host())),
                    CacheUse::None,
                )
            }
        };
        // Refused a moment ago: refused again without another signature
        // check or introspection call.
        if let Some(err) = state.cache.refused(&key, request.now).cloned() {
            let prior = Prior::Failed(&err);
            return Step::Done(
                Rc::new(self.evaluate(request, options, prior, state.host())),
                CacheUse::Hit,
            );
        }
        // Parsed once: the issuer and `kid` say which call may come first.
        let jws = CompactJws::parse(token);
        let claims = jws
            .as_ref()
            .map_err(Clone::clone)
            .and_then(authenticate::payload_claims);
        let issuer = claims
            .as_ref()
            .ok()
            .and_then(|claims| authenticate::select_issuer(&self.issuers, claims).ok());
        // Introspection: opaque tokens go to the first issuer that introspects;
        // JWTs to their issuer when it introspects every token.
        let introspect = match (&jws, issuer) {
            (Err(e), _) if e.kind == TokenErrorKind::Malformed => {
                self.issuers.iter().position(|i| i.introspection.is_some())
            }
            (Ok(_), Some(i)) => self
                .issuers
                .get(i)
                .and_then(|iss| iss.introspection.as_ref())
                .filter(|x| x.all_tokens)
                .map(|_| i),
            _ => None,
        };
        if let Some(index) = introspect {
            return self.introspection_step(state, request, options, index, token);
        }
        if let (Ok(jws), Some(index)) = (&jws, issuer) {
            if let Some(step) = self.key_step(state, request, index, jws.kid.as_deref()) {
                return step;
            }
        }
        let (cache, host) = state.parts();
        let verified = match (jws, claims) {
            (Ok(jws), Ok(claims)) => authenticate::verify_parsed(
                &self.issuers,
                &jws,
                claims,
                &mut Tracer::new(false),
                host.keys,
            ),
            (Err(err), _) | (_, Err(err)) => Err(err),
        };
        let decision = self.decide_verified(cache, key, request, options, verified, host);
        Step::Done(decision, CacheUse::Miss)
    }

    /// The decision [`Policy::decide_step`] (without `explain`) would reuse
    /// for `request` as a cache hit: one kept for exactly its token, method,
    /// raw path and override headers, still in time. `None` otherwise, and
    /// for requests to the token endpoint, which are not decided: build the
    /// [`Request`] and decide it. For proxies, which find most requests here
    /// without building one.
    pub fn kept_decision(&self, state: &State, request: &RequestView) -> Option<Rc<Decision>> {
        if self.route(request) != Route::Decide {
            return None;
        }
        let key = state.cache.key(request.bearer_candidate()?);
        state.cache.decision(&key, request)
    }

    /// For a remote issuer: load its keys first, or refetch for an unknown
    /// `kid` (rate-limited), or wait for a fetch in flight.
    fn key_step(
        &self,
        state: &mut State,
        request: &Request,
        index: usize,
        kid: Option<&str>,
    ) -> Option<Step> {
        self.issuers.get(index)?.remote.as_ref()?;
        let set = state.keys.issuer(index)?;
        let unknown_kid =
            kid.is_some_and(|kid| !set.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        if set.loaded_at.is_some() && !unknown_kid {
            return None;
        }
        if set.in_flight {
            return Some(Step::Wait(index));
        }
        if let Some(call) = state.keys.refetch(&self.issuers, index, request.now) {
            return Some(Step::Call(call));
        }
        // Rate-limited: decide with what there is (unknown_key, or 503 when
        // nothing ever loaded).
        None
    }

    fn introspection_step(
        &self,
        state: &mut State,
        request: &Request,
        options: DecideOptions,
        index: usize,
        token: &str,
    ) -> Step {
        let endpoint = state
            .keys
            .issuer(index)
            .and_then(|s| s.introspection_url.clone());
        let settings = self
            .issuers
            .get(index)
            .and_then(|i| i.introspection.as_ref());
        let unavailable = |state: &mut State, why: &str| {
            Step::Done(
                Rc::new(self.evaluate(request, options, Prior::Unavailable(why), state.host())),
                CacheUse::Miss,
            )
        };
        let Some(settings) = settings else {
            return unavailable(state, "this issuer has no introspection");
        };
        match endpoint {
            Some(url) => match settings.request(index, &url, token, request.now) {
                Ok(call) => Step::Call(call),
                Err(why) => unavailable(state, &why),
            },
            // The endpoint comes from discovery, which has not answered yet.
            None => {
                if state.keys.issuer(index).is_some_and(|set| set.in_flight) {
                    return Step::Wait(index);
                }
                match state.keys.refetch(&self.issuers, index, request.now) {
                    Some(call) => Step::Call(call),
                    None => unavailable(
                        state,
                        "the introspection endpoint is not known (discovery failed)",
                    ),
                }
            }
        }
    }

    /// Decides a request with the answer to its introspection call.
    pub fn decide_introspected(
        &self,
        state: &mut State,
        request: &Request,
        options: DecideOptions,
        call: &HttpCall,
        result: HttpResult,
    ) -> Introspected {
        let unusable = |state: &mut State, why: String| Introspected {
            decision: self.evaluate(request, options, Prior::Unavailable(&why), state.host()),
            problem: Some(why),
        };
        let Some(issuer) = self.issuers.get(call.issuer) else {
            return unusable(state, "unknown issuer".to_owned());
        };
        let decision = match interpret_introspection(issuer, result, request.now) {
            Answer::Active(claims) => {
                let verified = Rc::new(VerifiedToken {
                    issuer: call.issuer,
                    claims,
                });
                let d = self.evaluate(request, options, Prior::Verified(&verified), state.host());
                if let (Some(exp), Some(token), Some(settings)) = (
                    d.expires_at,
                    request.presented_token(),
                    issuer.introspection.as_ref(),
                ) {
                    let until = exp.min(request.now.saturating_add(settings.cache_seconds));
                    let key = state.cache.key(token.as_bytes());
                    state.cache.insert(key, verified, until, request.now);
                }
                d
            }
            Answer::Rejected(err) => {
                // An inactive token is asked about again only after a while.
                if let (Some(token), Some(settings)) =
                    (request.presented_token(), issuer.introspection.as_ref())
                {
                    let seconds = settings.cache_seconds.min(REFUSED_SECONDS);
                    let key = state.cache.key(token.as_bytes());
                    state
                        .cache
                        .refuse(&key, &err, request.now.saturating_add(seconds));
                }
                self.evaluate(request, options, Prior::Failed(&err), state.host())
            }
            Answer::Unavailable(why) => return unusable(state, why),
        };
        Introspected {
            decision,
            problem: None,
        }
    }
}

/// A decision made with an introspection answer.
#[derive(Debug)]
pub struct Introspected {
    /// The decision.
    pub decision: Decision,
    /// Why the answer was unusable (the endpoint's status and `error`), for
    /// the host's log; `None` when it was usable, whatever it said.
    pub problem: Option<String>,
}

/// Caches a token verified for this decision (when its time checks passed)
/// with the decision itself.
fn remember_verified(
    cache: &mut TokenCache,
    key: TokenKey<'_>,
    verified: Rc<VerifiedToken>,
    decision: Decision,
    request: &Request,
) -> Rc<Decision> {
    let decision = Rc::new(decision);
    if let Some(exp) = decision.expires_at {
        cache.insert(key, verified, exp, request.now);
        cache.remember(&key, &request.view(), &decision);
    }
    decision
}

/// Whether [`Policy::decide_cached`] used its cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// No bearer token to cache.
    None,
    /// Found in the cache.
    Hit,
    /// Not in the cache (verified now, and kept when it may be).
    Miss,
}

/// A bearer token looked up in the cache of verified tokens.
enum Lookup<'r> {
    Hit(Rc<Decision>),
    /// A well-formed token the cache does not hold, with its key.
    Miss(&'r str, TokenKey<'r>),
    /// No well-formed bearer token.
    NoToken,
}
