//! `Policy::decide`: request syntax (400), credentials and token (401), scope
//! and roles (403), in that order, each step recorded in the trace.

use crate::authorize::authenticate::{self, FetchedKeys, VerifiedToken};
use crate::authorize::binding::{self, Judged, Presented, ProofMemory, ProofMemoryError, ProofUse};
use crate::authorize::decision::{
    AttributeCheck, Binding, Credential, Decision, Reason, RoleCheck, RuleRef,
};
use crate::authorize::route::Route;
use crate::authorize::rules::{
    judge, never_allowed, place, protected_path, MethodVerdict, Placement,
};
use crate::authorize::trace::Tracer;
use crate::jose::claims::{self, ClaimPath};
use crate::jose::token::{TokenError, TokenErrorKind};
use crate::policy::{
    BasicAuth, FormPosts, Mode, OutsidePrefix, Policy, ReadBodies, Role, RoleGrant,
};
use crate::request::method::{
    is_read, is_token, method_problem, query_method_overrides, MethodProblem, OVERRIDE_HEADERS,
};
use crate::request::{parse_authorization, query_has_access_token, Authorization, Request, Values};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// How much a decision explains. Hosts on the hot path turn explaining off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecideOptions {
    /// Fill `trace` and `role_checks`.
    pub explain: bool,
}

impl Default for DecideOptions {
    fn default() -> Self {
        DecideOptions { explain: true }
    }
}

impl Policy {
    /// Decides one request, with a full trace.
    pub fn decide(&self, request: &Request) -> Decision {
        self.decide_with(request, DecideOptions::default(), None)
    }

    /// Decides one request. `verified` lets a host pass a token whose
    /// signature it verified earlier with this same policy (a cache hit);
    /// every time-dependent and claim check still runs.
    pub fn decide_with(
        &self,
        request: &Request,
        options: DecideOptions,
        verified: Option<&VerifiedToken>,
    ) -> Decision {
        let prior = verified.map_or(Prior::Unknown, Prior::Verified);
        self.evaluate(request, options, prior, Host::default())
    }

    pub(crate) fn evaluate<'a>(
        &'a self,
        request: &Request,
        options: DecideOptions,
        prior: Prior,
        host: Host<'a>,
    ) -> Decision {
        let mut e = Evaluation::new(self, options.explain);
        e.remote = host.keys;
        e.proofs = host.proofs;
        match e.run(request, prior) {
            Ok(()) => e.finish(Reason::Allowed, None, None),
            Err(end) => e.finish(end.reason, end.cause, end.challenge),
        }
    }

    /// The roles a request's credentials are granted, whatever the path, or
    /// the decision that refuses them (401/403).
    pub(crate) fn granted_roles(&self, request: &Request) -> Result<Vec<String>, Box<Decision>> {
        let mut e = Evaluation::new(self, false);
        match e.grant(request, Prior::Unknown) {
            Ok(roles) => Ok(roles.iter().map(|r| r.name.clone()).collect()),
            Err(end) => Err(Box::new(e.finish(end.reason, end.cause, end.challenge))),
        }
    }

    /// The roles a claims-only credential is granted, or why it gets none.
    pub(crate) fn roles_for_claims(
        &self,
        claims: &Map<String, Value>,
        now: u64,
    ) -> Result<Vec<&Role>, (Reason, Option<&'static str>)> {
        let request = Request {
            claims: Some(claims.clone()),
            now,
            ..Request::default()
        };
        Evaluation::new(self, false)
            .grant(&request, Prior::Unknown)
            .map_err(|end| (end.reason, end.cause))
    }

    /// Verifies a bearer token's structure and signature only: what a host
    /// may cache by token. `None` when the request carries no bearer token or
    /// verification fails (then `decide` reports why).
    pub fn verify_bearer(&self, request: &Request) -> Option<VerifiedToken> {
        let token = request.bearer_token()?;
        authenticate::verify_jws(&self.issuers, token, &mut Tracer::new(false), None).ok()
    }
}

/// What a stateful host lends an evaluation: fetched keys of remote
/// issuers, and its memory of used DPoP proofs.
#[derive(Default)]
pub(crate) struct Host<'h> {
    pub keys: Option<&'h dyn FetchedKeys>,
    pub proofs: Option<&'h mut (dyn ProofMemory + 'static)>,
}

/// What the caller already knows about the request's bearer token.
#[derive(Clone, Copy)]
pub(crate) enum Prior<'a> {
    Unknown,
    Verified(&'a VerifiedToken),
    Failed(&'a TokenError),
    /// Introspection gave no usable answer (why).
    Unavailable(&'a str),
}

/// Where evaluation stopped short of "allowed".
struct End {
    reason: Reason,
    cause: Option<&'static str>,
    challenge: Option<String>,
}

struct Evaluation<'p> {
    policy: &'p Policy,
    /// Fetched keys of remote issuers (hosts that fetch them).
    remote: Option<&'p dyn FetchedKeys>,
    trace: Tracer,
    credential: Credential,
    issuer: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    roles: Vec<String>,
    rule: Option<RuleRef>,
    path: Option<String>,
    upstream_path: Option<String>,
    methods: Vec<String>,
    expires_at: Option<u64>,
    role_checks: Vec<RoleCheck>,
    binding: Option<Binding>,
    dpop_nonce: Option<String>,
    /// The host's memory of used DPoP proofs, when it keeps one.
    proofs: Option<&'p mut (dyn ProofMemory + 'static)>,
}

impl<'p> Evaluation<'p> {
    fn new(policy: &'p Policy, explain: bool) -> Self {
        Evaluation {
            policy,
            remote: None,
            trace: Tracer::new(explain),
            credential: Credential::None,
            issuer: None,
            subject: None,
            client_id: None,
            roles: Vec::new(),
            rule: None,
            path: None,
            upstream_path: None,
            methods: Vec::new(),
            expires_at: None,
            role_checks: Vec::new(),
            binding: None,
            dpop_nonce: None,
            proofs: None,
        }
    }

    fn run(&mut self, req: &Request, prior: Prior) -> Result<(), End> {
        self.check_route(req)?;
        self.check_methods(req)?;
        self.check_body(req)?;
        let canonical = match self.policy.canonical_path(&req.path) {
            Ok(c) => c,
            Err(err) => {
                self.trace.step("path", false, || err.describe().to_owned());
                return Err(End {
                    reason: Reason::InvalidPath,
                    cause: Some(err.code()),
                    challenge: None,
                });
            }
        };
        self.trace.step("path", true, || {
            format!("canonical path {}", canonical.path)
        });
        self.path = Some(canonical.path.clone());
        self.upstream_path = Some(canonical.with_query());
        if canonical
            .query
            .as_deref()
            .is_some_and(query_has_access_token)
        {
            self.trace.step("credentials", false, || {
                "access_token in the query string is never accepted".to_owned()
            });
            return Err(self.invalid_request(
                "token_in_query",
                "Send the token in the Authorization header, not the query",
            ));
        }
        if let Some(m) = never_allowed(&self.methods) {
            self.trace
                .step("method", false, || format!("{m} is never allowed"));
            return Err(self.end(Reason::ForbiddenMethod, None, None));
        }

        // Segments relative to the prefix, for matching.
        let segments = match place(self.policy, &canonical) {
            Placement::Inside(segments) => segments,
            Placement::Outside => {
                let allow = self.policy.outside_prefix == OutsidePrefix::Allow;
                let prefix = self.policy.prefix.as_deref().unwrap_or_default();
                self.trace.step("prefix", allow, || {
                    format!(
                        "outside {prefix}: {}",
                        if allow {
                            "not governed (outside_prefix: allow)"
                        } else {
                            "denied (outside_prefix: deny)"
                        }
                    )
                });
                return Err(self.end(outside_prefix_reason(self.policy), None, None));
            }
        };
        if let Some(prefix) = &self.policy.prefix {
            self.trace.step("prefix", true, || {
                format!("inside {prefix}; matching /{}", segments.join("/"))
            });
        }

        self.pass_cors_preflight(req)?;
        let granted = self.grant(req, prior)?;
        self.apply_rules(&granted, &segments)?;
        self.guard_authentication_paths(&segments)?;
        Ok(())
    }

    /// Requests for rolegate's own endpoints are answered, not decided: the
    /// decision says so (hosts answer them before deciding anything).
    /// Credentials, identity, scope and roles: what a request is granted
    /// whatever its path.
    fn grant(&mut self, req: &Request, prior: Prior) -> Result<Vec<&'p Role>, End> {
        let claims = self.authenticate(req, prior)?;
        self.identity(&claims)?;
        self.check_scope(&claims)?;
        self.grant_roles(&claims)
    }

    /// With `bypass_cors_preflight`, a genuine preflight ends here, allowed
    /// without identity: `OPTIONS` with one `Origin` and one valid
    /// `Access-Control-Request-Method`, and nothing a browser never sends on
    /// a preflight (credentials, cookies, a method override, a body or a
    /// Content-Type: a body forwarded without identity could be read by a
    /// keep-alive upstream as a second request). Anything else is decided
    /// like every request.
    fn pass_cors_preflight(&mut self, req: &Request) -> Result<(), End> {
        if !self.policy.bypass_cors_preflight || req.method != "OPTIONS" {
            return Ok(());
        }
        let one = |name| req.only_value(name).filter(|v| !v.is_empty());
        let genuine = one("origin").is_some_and(is_serialized_origin)
            && one("access-control-request-method").is_some_and(is_token)
            && self.methods.len() == 1
            && req.claims.is_none()
            && req.header_values("authorization").next().is_none()
            && req.header_values("cookie").next().is_none()
            && req.header_values("content-type").next().is_none()
            && !req.has_body();
        if !genuine {
            return Ok(());
        }
        self.trace.step("cors", true, || {
            "a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method, no \
             credentials): passed on without identity (bypass_cors_preflight)"
                .to_owned()
        });
        Err(self.end(Reason::CorsPreflight, None, None))
    }

    fn check_route(&mut self, req: &Request) -> Result<(), End> {
        let route = self.policy.route_of(req.path.as_bytes());
        let endpoint = match (route, self.policy.token_endpoint()) {
            (Route::Decide, _) | (_, None) => return Ok(()),
            (Route::IssueToken, Some(e)) => format!(
                "{} is rolegate's token endpoint: the filter answers it itself (an access \
                 token for a valid client assertion, RFC 7523); nothing is forwarded",
                e.path
            ),
            (Route::ListTokens, Some(e)) => format!(
                "{} lists active tokens to role {}: the filter answers it itself; nothing is \
                 forwarded",
                e.active_tokens_path, e.active_tokens_role
            ),
            (Route::Metadata | Route::Jwks, Some(_)) => format!(
                "{} is the token endpoint's discovery document or public key set (RFC 8414): \
                 the filter answers it itself; nothing is forwarded",
                req.path
            ),
        };
        self.trace.step("route", true, || endpoint);
        Err(self.end(Reason::TokenEndpoint, None, None))
    }

    /// The request method, then every method override (headers and the
    /// query's `_method`). One rule for each: an upper-case HTTP token.
    /// Over HTTP/2 a client may send `:method delete`, which Envoy forwards
    /// and Flask, Django, Symfony and Laravel upper-case before dispatching
    /// (Express's method-override does so with overrides): a lower-case
    /// method would be judged as one method and run as another, so it is
    /// refused, as Envoy's HTTP/1 codec refuses it.
    fn check_methods(&mut self, req: &Request) -> Result<(), End> {
        if let Some(problem) = method_problem(&req.method) {
            return Err(self.refuse_method(problem, None, &req.method));
        }
        self.methods.push(req.method.clone());
        let query = req.path.split_once('?').map(|(_, q)| q);
        let overrides = OVERRIDE_HEADERS
            .iter()
            .flat_map(|header| {
                req.header_values(header)
                    .map(move |value| (*header, Cow::Borrowed(value)))
            })
            .chain(query_method_overrides(query).map(|value| ("_method", Cow::Owned(value))));
        for (source, value) in overrides {
            let value = value.trim_matches(|c| c == ' ' || c == '\t');
            if let Some(problem) = method_problem(value) {
                return Err(self.refuse_method(problem, Some(source), value));
            }
            if !self.methods.iter().any(|m| m == value) {
                self.methods.push(value.to_owned());
            }
        }
        self.trace.step("method", true, || {
            if self.methods.len() == 1 {
                self.methods.join("")
            } else {
                format!(
                    "{} (the method and its override; all must be allowed)",
                    self.methods.join(", ")
                )
            }
        });
        Ok(())
    }

    /// The 400 for a method (`source` None) or a method override (named by
    /// its header or query parameter) that `problem` keeps from being judged.
    fn refuse_method(&mut self, problem: MethodProblem, source: Option<&str>, value: &str) -> End {
        let (cause, description) = match (problem, source) {
            (MethodProblem::NotToken, None) => ("invalid_method", "The request method is invalid"),
            (MethodProblem::LowerCase, None) => {
                ("lower_case_method", "The request method must be upper case")
            }
            (MethodProblem::NotToken, Some(_)) => {
                ("invalid_method_override", "A method override is invalid")
            }
            (MethodProblem::LowerCase, Some(_)) => (
                "lower_case_method_override",
                "A method override must be upper case",
            ),
        };
        self.trace
            .step("method", false, || match (problem, source) {
                (MethodProblem::NotToken, None) => "the method is not an HTTP token".to_owned(),
                (MethodProblem::LowerCase, None) => format!(
                    "{} is not upper case; servers would run it as {}",
                    claims::preview_str(value),
                    value.to_ascii_uppercase()
                ),
                (MethodProblem::NotToken, Some(source)) => format!("{source} is not a method name"),
                (MethodProblem::LowerCase, Some(source)) => {
                    format!("{source} is not upper case; frameworks would run it upper-cased")
                }
            });
        self.invalid_request(cause, description)
    }

    /// A GET or HEAD that carries a body, unless `read_bodies: "allow"`: its
    /// body means nothing to HTTP, and an upstream that ignores it on a
    /// keep-alive connection reads it as a second request nobody decided.
    fn check_body(&mut self, req: &Request) -> Result<(), End> {
        if !req.has_body() {
            return Ok(());
        }
        if req.method == "POST" && self.policy.form_posts == FormPosts::Refuse && req.is_form() {
            self.trace.step("body", false, || {
                "a POST with a form body (form_posts: refuse): Laravel, Symfony, Rails and \
                 method-override run it as the method its _method field names, which rolegate \
                 does not read"
                    .to_owned()
            });
            return Err(
                self.invalid_request("form_post", "A POST with a form body is not accepted here")
            );
        }
        if self.policy.read_bodies == ReadBodies::Allow || !is_read(&req.method) {
            return Ok(());
        }
        self.trace.step("body", false, || {
            format!(
                "a {} with a body (read_bodies: refuse): an upstream that ignores it could \
                 read it as another request",
                req.method
            )
        });
        Err(self.invalid_request("body_on_read", "A GET or HEAD request must not have a body"))
    }

    /// Credentials -> validated claims.
    fn authenticate<'r>(
        &mut self,
        req: &'r Request,
        prior: Prior<'r>,
    ) -> Result<Cow<'r, Map<String, Value>>, End> {
        let mut presented = Presented::Claims;
        let (issuer_index, claims) = if let Some(claims) = &req.claims {
            self.credential = Credential::Claims;
            self.trace.step("credentials", true, || {
                "claims-only preview: the signature is not checked".to_owned()
            });
            let index = authenticate::select_issuer(&self.policy.issuers, claims)
                .map_err(|err| self.invalid_token(err))?;
            (index, Cow::Borrowed(claims))
        } else {
            let values = req.authorization_values().unwrap_or(Values::None);
            let authorization = parse_authorization(&values);
            match authorization {
                Authorization::None => {
                    self.trace.step("credentials", false, || {
                        "no Authorization header".to_owned()
                    });
                    let challenge = self.challenge(None, None);
                    return Err(self.end(Reason::MissingCredentials, None, Some(challenge)));
                }
                Authorization::Invalid(cause, description) => {
                    self.trace
                        .step("credentials", false, || description.to_owned());
                    return Err(self.invalid_request(cause, description));
                }
                Authorization::Basic => {
                    self.credential = Credential::Basic;
                    return Err(self.basic());
                }
                Authorization::Other(scheme) => {
                    self.credential = Credential::Other;
                    self.trace.step("credentials", false, || {
                        format!(
                            "scheme \"{}\" is not supported; use Bearer",
                            scheme.escape_debug()
                        )
                    });
                    let challenge = self.challenge(None, None);
                    return Err(self.end(Reason::UnsupportedScheme, None, Some(challenge)));
                }
                Authorization::Bearer(bearer) | Authorization::Dpop(bearer) => {
                    let dpop = matches!(authorization, Authorization::Dpop(_));
                    (self.credential, presented) = if dpop {
                        (Credential::Dpop, Presented::Dpop(bearer))
                    } else {
                        (Credential::Bearer, Presented::Bearer)
                    };
                    self.trace.step("credentials", true, || {
                        if dpop {
                            "DPoP-bound token"
                        } else {
                            "bearer token"
                        }
                        .to_owned()
                    });
                    // Whatever a cache knows of it: the policy's own cap.
                    let cap = self.policy.max_token_bytes;
                    if bearer.len() > cap {
                        return Err(self.invalid_token(TokenError {
                            kind: TokenErrorKind::TooLarge,
                            detail: format!(
                                "{} bytes; this policy accepts at most {cap} (max_token_bytes)",
                                bearer.len()
                            ),
                        }));
                    }
                    match prior {
                        Prior::Verified(v) => {
                            self.trace.step("token.signature", true, || {
                                "verified earlier (cached)".to_owned()
                            });
                            (v.issuer, Cow::Borrowed(&v.claims))
                        }
                        Prior::Failed(err) => return Err(self.invalid_token(err.clone())),
                        Prior::Unavailable(why) => {
                            self.trace.step("token", false, || {
                                format!("introspection_unavailable: {why}")
                            });
                            return Err(self.end(
                                Reason::IntrospectionUnavailable,
                                Some("introspection_unavailable"),
                                None,
                            ));
                        }
                        Prior::Unknown => {
                            let v = authenticate::verify_jws(
                                &self.policy.issuers,
                                bearer,
                                &mut self.trace,
                                self.remote,
                            )
                            .map_err(|err| self.invalid_token(err))?;
                            (v.issuer, Cow::Owned(v.claims))
                        }
                    }
                }
            }
        };
        let Some(issuer) = self.policy.issuers.get(issuer_index) else {
            return Err(self.invalid_token(TokenError {
                kind: TokenErrorKind::UnknownIssuer,
                detail: "issuer index out of range".to_owned(),
            }));
        };
        self.issuer = Some(issuer.issuer.clone());
        let times = authenticate::check_claims(issuer, &claims, req.now, &mut self.trace)
            .map_err(|err| self.invalid_token(err))?;
        // Set before the binding is checked: the token itself is valid (a
        // host may cache it), and a decision on a bound token, whatever the
        // outcome, rests on this request's proof or connection.
        self.expires_at = Some(times.exp);
        self.binding = binding::carried(&claims);
        let judged = Judged {
            methods: &self.methods,
            path: self.path.as_deref().unwrap_or_default(),
        };
        let proof = binding::check(
            &self.policy.dpop,
            issuer,
            &claims,
            presented,
            req,
            &judged,
            &mut self.trace,
        )
        .map_err(|err| {
            // Refused for want of a nonce: the answer carries a fresh one.
            if err.kind == TokenErrorKind::DpopNonceRequired {
                self.dpop_nonce = binding::fresh_nonce(&self.policy.dpop, req.now);
            }
            self.invalid_token(err)
        })?;
        if let Some(proof) = proof {
            self.remember_proof(&proof, req.now)?;
        }
        Ok(claims)
    }

    /// A verified proof is accepted once (RFC 9449 §11.1): the host's
    /// memory of used proofs says whether this one was, and keeps it.
    fn remember_proof(&mut self, proof: &ProofUse, now: u64) -> Result<(), End> {
        let per_client = self.policy.dpop.max_proofs_per_client;
        let Some(memory) = self.proofs.as_deref_mut() else {
            self.trace.step("token.replay", true, || {
                "jti not remembered: this host keeps no memory of used proofs (a preview); \
                 the Envoy filter refuses a proof seen before"
                    .to_owned()
            });
            return Ok(());
        };
        match memory.record(proof, now, per_client) {
            Ok(true) => {
                self.trace.step("token.replay", true, || {
                    "the proof's jti is new; remembered until it is too old".to_owned()
                });
                Ok(())
            }
            Ok(false) => Err(self.invalid_token(TokenError {
                kind: TokenErrorKind::DpopProofReplayed,
                detail: "this proof's jti was accepted before: each proof is for one request"
                    .to_owned(),
            })),
            Err(ProofMemoryError::Limit { detail, .. }) => {
                self.trace.step("token.replay", false, || detail);
                Err(self.end(Reason::TooManyProofs, Some("too_many_proofs"), None))
            }
            Err(ProofMemoryError::Unavailable(why)) => {
                self.trace.step("token.replay", false, || {
                    format!("used proofs cannot be looked up: {why}")
                });
                Err(self.end(
                    Reason::ReplayCheckUnavailable,
                    Some("replay_check_unavailable"),
                    None,
                ))
            }
        }
    }

    fn basic(&mut self) -> End {
        match self.policy.basic_auth {
            BasicAuth::Deny => {
                self.trace.step("credentials", false, || {
                    "Basic authentication is disabled (basic_auth: deny); use a bearer token"
                        .to_owned()
                });
                let challenge = self.challenge(None, None);
                self.end(Reason::BasicAuthDisabled, None, Some(challenge))
            }
            BasicAuth::PassThrough => {
                self.trace.step("credentials", true, || {
                    "Basic credentials passed through: the upstream checks them".to_owned()
                });
                self.end(Reason::BasicAuthPassThrough, None, None)
            }
        }
    }

    /// Subject and client id: optional, but a non-string value is a malformed token.
    fn identity(&mut self, claims: &Map<String, Value>) -> Result<(), End> {
        self.subject = self.string_claim(
            claims,
            &self.policy.subject_claim,
            TokenErrorKind::InvalidSubject,
        )?;
        self.client_id = self.string_claim(
            claims,
            &self.policy.client_id_claim,
            TokenErrorKind::InvalidClientId,
        )?;
        Ok(())
    }

    fn string_claim(
        &mut self,
        claims: &Map<String, Value>,
        path: &ClaimPath,
        kind: TokenErrorKind,
    ) -> Result<Option<String>, End> {
        match path.lookup(claims) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.invalid_token(TokenError {
                kind,
                detail: format!(
                    "claim {} must be a string, not {}",
                    path.name(),
                    claims::preview(other)
                ),
            })),
        }
    }

    fn check_scope(&mut self, claims: &Map<String, Value>) -> Result<(), End> {
        let required = &self.policy.required_scopes;
        if required.is_empty() {
            return Ok(());
        }
        let present = claims::scopes(claims).map_err(|why| {
            self.invalid_token(TokenError {
                kind: TokenErrorKind::InvalidScopeClaim,
                detail: why.to_owned(),
            })
        })?;
        let missing: Vec<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|r| !present.contains(r))
            .collect();
        if missing.is_empty() {
            self.trace.step("scope", true, || {
                format!("has the required scope(s) {}", required.join(" "))
            });
            return Ok(());
        }
        self.trace.step("scope", false, || {
            format!("missing scope(s) {}", missing.join(" "))
        });
        let challenge = self.challenge(
            Some((
                "insufficient_scope",
                "The access token lacks a required scope",
            )),
            Some(required.join(" ")),
        );
        Err(self.end(Reason::InsufficientScope, None, Some(challenge)))
    }

    fn grant_roles(&mut self, claims: &Map<String, Value>) -> Result<Vec<&'p Role>, End> {
        let policy = self.policy;
        let mut granted = Vec::new();
        for role in &policy.roles {
            let (is_granted, attributes) = match &role.grant {
                RoleGrant::AnyValidToken => (true, Vec::new()),
                RoleGrant::Attributes(attrs) => {
                    let mut all = true;
                    let mut checks = Vec::new();
                    for a in attrs {
                        let actual = a.claim.lookup(claims);
                        let matched = actual.is_some_and(|v| claims::value_matches(v, &a.value));
                        all &= matched;
                        if self.trace.enabled() {
                            checks.push(AttributeCheck {
                                claim: a.claim.name().to_owned(),
                                value: a.value.clone(),
                                matched,
                                actual: actual.cloned(),
                            });
                        } else if !all {
                            break;
                        }
                    }
                    (all, checks)
                }
            };
            let is_granted = is_granted && role.enabled;
            if self.trace.enabled() {
                self.role_checks.push(RoleCheck {
                    role: role.name.clone(),
                    enabled: role.enabled,
                    granted: is_granted,
                    grant: match role.grant {
                        RoleGrant::AnyValidToken => "any_valid_token",
                        RoleGrant::Attributes(_) => "attributes",
                    },
                    attributes,
                });
            }
            if is_granted {
                granted.push(role);
                self.roles.push(role.name.clone());
            }
        }
        if granted.is_empty() {
            self.trace.step("roles", false, || {
                "no enabled role has all its required attributes in the token".to_owned()
            });
            return Err(self.end(Reason::NoRole, None, None));
        }
        self.trace.step("roles", true, || {
            format!("granted {}", self.roles.join(", "))
        });
        Ok(granted)
    }

    /// Every judged method must be allowed by some granted role.
    fn apply_rules(&mut self, granted: &[&'p Role], segments: &[&str]) -> Result<(), End> {
        // Taken out for the loop (the trace needs `self`), put back after.
        let methods = std::mem::take(&mut self.methods);
        let result = self.judge_methods(granted, &methods, segments);
        self.methods = methods;
        result
    }

    fn judge_methods(
        &mut self,
        granted: &[&'p Role],
        methods: &[String],
        segments: &[&str],
    ) -> Result<(), End> {
        if self.trace.enabled() {
            self.note_inactive_rules(granted, methods, segments);
        }
        let path = if self.trace.enabled() {
            self.path.clone().unwrap_or_default()
        } else {
            String::new()
        };
        for method in methods {
            match judge(granted, method, segments) {
                MethodVerdict::Allowed(rule) => {
                    self.trace.step("rules", true, || {
                        format!(
                            "{method} {path}: allowed by rule {} (role {})",
                            rule.label, rule.role
                        )
                    });
                    self.rule = Some(rule);
                }
                MethodVerdict::Denied(rule) => {
                    self.trace.step("rules", false, || {
                        format!(
                            "{method} {path}: denied by rule {} (role {}) and no granted role allows it",
                            rule.label, rule.role
                        )
                    });
                    self.rule = Some(rule);
                    return Err(self.end(Reason::DeniedByRule, None, None));
                }
                MethodVerdict::NotPermitted => {
                    self.trace.step("rules", false, || {
                        format!("{method} {path}: no rule of a granted role allows it")
                    });
                    self.rule = None;
                    return Err(self.end(Reason::NotPermitted, None, None));
                }
            }
        }
        Ok(())
    }

    /// Rules switched off by `when_role_enabled` that would have matched: the
    /// usual reason a preview differs from what an administrator expects.
    fn note_inactive_rules(&mut self, granted: &[&'p Role], methods: &[String], segments: &[&str]) {
        for role in granted {
            for rule in &role.rules {
                let would_match = methods.iter().any(|m| rule.methods.contains(m))
                    && rule.paths.iter().any(|p| p.matches(segments));
                if let (false, true, Some(other)) =
                    (rule.active, would_match, &rule.when_role_enabled)
                {
                    self.trace.step("rules", true, || {
                        format!(
                            "rule {} (role {}) is off: it applies only while role {other} is enabled",
                            rule.label, role.name
                        )
                    });
                }
            }
        }
    }

    /// Pexip "Allow all permissions" off: bearer clients never write to
    /// authentication configuration, whatever their role allows.
    fn guard_authentication_paths(&mut self, segments: &[&str]) -> Result<(), End> {
        let Some(pattern) = protected_path(self.policy, &self.methods, segments) else {
            return Ok(());
        };
        self.trace.step("allow_all_permissions", false, || {
            format!(
                "writing to {} (authentication configuration) needs allow_all_permissions, \
                 even though a role allows it",
                pattern.as_str()
            )
        });
        // The guard decided, not the rule that allowed: no rule is named.
        self.rule = None;
        Err(self.end(Reason::AuthenticationConfigProtected, None, None))
    }

    fn invalid_token(&mut self, err: TokenError) -> End {
        let TokenError { kind, detail } = err;
        self.trace
            .step("token", false, || format!("{}: {detail}", kind.code()));
        if kind == TokenErrorKind::KeysUnavailable {
            // Not the token's fault: fail closed with 503, no challenge.
            return self.end(Reason::KeysUnavailable, Some(kind.code()), None);
        }
        let description = kind.description();
        let challenge = match kind.proof_error() {
            Some(error) => self.dpop_challenge(error, description),
            // RFC 9449 §7.1: a token sent with the DPoP scheme, or a
            // DPoP-bound one sent as a bearer token, is answered in DPoP's terms.
            None if self.credential == Credential::Dpop || kind == TokenErrorKind::DpopBound => {
                self.dpop_challenge("invalid_token", description)
            }
            None => self.challenge(Some(("invalid_token", description)), None),
        };
        self.end(Reason::InvalidToken, Some(kind.code()), Some(challenge))
    }

    /// RFC 9449 §7.1 `WWW-Authenticate: DPoP` value, with the algorithms a
    /// proof may use.
    fn dpop_challenge(&self, error: &str, description: &str) -> String {
        format!(
            "DPoP realm=\"{}\", algs=\"{}\", error=\"{error}\", error_description=\"{description}\"",
            self.policy.realm,
            self.policy.dpop.algs()
        )
    }

    fn invalid_request(&mut self, cause: &'static str, description: &'static str) -> End {
        let challenge = self.challenge(Some(("invalid_request", description)), None);
        self.end(Reason::InvalidRequest, Some(cause), Some(challenge))
    }

    fn end(&self, reason: Reason, cause: Option<&'static str>, challenge: Option<String>) -> End {
        End {
            reason,
            cause,
            challenge,
        }
    }

    /// RFC 6750 §3 `WWW-Authenticate` value.
    fn challenge(&self, error: Option<(&str, &str)>, scope: Option<String>) -> String {
        let mut value = format!("Bearer realm=\"{}\"", self.policy.realm);
        if let Some((code, description)) = error {
            value.push_str(&format!(
                ", error=\"{code}\", error_description=\"{description}\""
            ));
        }
        if let Some(scope) = scope {
            value.push_str(&format!(", scope=\"{scope}\""));
        }
        value
    }

    fn finish(
        mut self,
        reason: Reason,
        cause: Option<&'static str>,
        www_authenticate: Option<String>,
    ) -> Decision {
        let allowed = reason.is_allowed();
        let dry_run = self.policy.mode == Mode::DryRun;
        self.trace.step("decision", allowed, || {
            let mut d = format!("{} ({})", reason.as_str(), reason.status());
            if dry_run && !allowed {
                d.push_str("; dry run: the request is let through and logged");
            }
            d
        });
        Decision {
            allowed,
            status: reason.status(),
            reason,
            cause,
            www_authenticate,
            credential: self.credential,
            issuer: self.issuer,
            subject: self.subject,
            client_id: self.client_id,
            roles: self.roles,
            rule: self.rule,
            path: self.path,
            upstream_path: self.upstream_path,
            methods: self.methods,
            expires_at: self.expires_at,
            binding: self.binding,
            dpop_nonce: self.dpop_nonce,
            role_checks: self.role_checks,
            trace: self.trace.into_steps(),
            dry_run,
        }
    }
}

pub(crate) fn outside_prefix_reason(policy: &Policy) -> Reason {
    match policy.outside_prefix {
        OutsidePrefix::Allow => Reason::OutsidePrefix,
        OutsidePrefix::Deny => Reason::OutsidePrefixDenied,
    }
}

/// An `Origin` a browser sends (RFC 6454 §7): `null`, or a scheme, `://`
/// and a host with an optional port, nothing after it. A list (two headers
/// a proxy folded into one) or a URL with a path is no origin.
fn is_serialized_origin(value: &str) -> bool {
    if value == "null" {
        return true;
    }
    let Some((scheme, host)) = value.split_once("://") else {
        return false;
    };
    let mut scheme_chars = scheme.chars();
    scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_graphic() && !"/?#,@\\".contains(c))
}
