//! The token endpoint (Pexip's management node `/oauth/token/`): OAuth2
//! clients bound to a role authenticate with a JWT assertion signed by their
//! private key (RFC 7523) and get an access token signed by the filter, valid
//! `access_token_expiration_seconds`. Issued tokens are then validated like
//! any other issuer's. Storage that must be shared between Envoy workers (seen
//! `jti`s, active tokens) comes from the host through [`TokenStore`].

pub mod limits;

use crate::authorize::binding::{self, ProofUse, VerifiedProof};
use crate::effect::Response;
use crate::jose::alg::{Alg, KeyType};
use crate::jose::claims;
use crate::jose::mint::{self, MintRequest};
use crate::jose::token::{CompactJws, TokenError, TokenErrorKind};
use crate::policy::error::{JsonPath, PolicyError};
use crate::policy::token_endpoint::{OAuthClient, TokenEndpoint};
use crate::policy::Policy;
use crate::request::Request;
use limits::Refusal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const LEEWAY_SECONDS: u64 = 60;
/// Largest token request body read (a form with one assertion is ~1 KiB).
pub const MAX_BODY_BYTES: usize = 16_384;

/// The answer to a token request whose body is over [`MAX_BODY_BYTES`]
/// (hosts that stream bodies send it as soon as they see that).
pub fn body_too_large() -> Reply {
    let mut r = oauth_error("invalid_request", "the request body is too large");
    r.response.status = 413;
    r
}

/// A token request this proxy should forward to the token instance's
/// cluster, but whose route goes elsewhere (or nowhere): 503, never forwarded.
pub fn misrouted(cluster: &str, routed: Option<&str>) -> Reply {
    unavailable(format!(
        "token_endpoint.forward_to_cluster is {cluster:?}, but the route goes to {}: \
         route the token endpoint's paths to that cluster",
        routed.map_or_else(|| "no cluster".to_owned(), |c| format!("{c:?}"))
    ))
}

/// 503, never forwarded, with why for the audit line: what a host answers
/// when the endpoint cannot be served safely.
pub fn unavailable(reason: String) -> Reply {
    Reply {
        response: Response::unavailable(),
        audit: ReplyAudit {
            error: Some("unavailable".to_owned()),
            reason: Some(reason),
            client_id: None,
        },
    }
}

/// A token request whose body is still to come, on a route that leads to
/// upstream cluster `cluster`: a proxy-wasm filter sees a body only after
/// the headers have gone on, which there means to the upstream (an Istio
/// sidecar's chain, a hand-written config without rolegate's routes). 503,
/// never forwarded.
pub fn body_would_reach_upstream(path: &str, cluster: &str) -> Reply {
    unavailable(format!(
        "a token request to {path} has a body to read, but the route goes to cluster \
         {cluster:?}, which would get the request before rolegate answers it: route \
         the token endpoint's paths to a direct_response behind Envoy's buffer \
         filter (as `rolegate envoy-config` does)"
    ))
}

/// A token request whose route the host could not tell (its property read
/// failed): 503, never forwarded.
pub fn route_unknown(why: &str) -> Reply {
    unavailable(format!(
        "the host could not say where the route of a token request goes ({why})"
    ))
}

/// A token the endpoint issued and that has not expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveToken {
    /// The client the token was issued to.
    pub client_id: String,
    /// The client's name.
    pub name: String,
    /// The role the client is bound to.
    pub role: String,
    /// The token's `jti`.
    pub jti: String,
    /// When it was issued (seconds since the epoch).
    pub issued_at: u64,
    /// When it expires.
    pub expires_at: u64,
}

/// One client's seen client-assertion ids (as digests), each with the
/// time it may be forgotten.
pub type SeenAssertions = BTreeMap<String, u64>;

/// Storage shared by every worker (Envoy: proxy-wasm shared data). It only
/// keeps the records and applies changes atomically; what a change may do
/// (replays, each client's share) is decided by the core's `change`.
pub trait TokenStore {
    /// Applies `change` to client `client_id`'s seen assertion ids
    /// atomically. Each client's ids are a record of their own, so a client
    /// that fills its share slows no other client's token requests.
    fn update_assertions(
        &mut self,
        client_id: &str,
        change: &mut dyn FnMut(&mut SeenAssertions) -> Result<bool, Refusal>,
    ) -> Result<bool, Refusal>;
    /// Applies `change` to the issued tokens atomically.
    fn update_tokens(
        &mut self,
        change: &mut dyn FnMut(&mut Vec<ActiveToken>) -> Result<(), Refusal>,
    ) -> Result<(), Refusal>;
    /// The tokens issued and not expired.
    fn active(&self, now: u64) -> Result<Vec<ActiveToken>, String>;
}

/// A [`TokenStore`] in memory, for one process (tests, tools).
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    jtis: BTreeMap<String, SeenAssertions>,
    tokens: Vec<ActiveToken>,
}

impl TokenStore for MemoryTokenStore {
    fn update_assertions(
        &mut self,
        client_id: &str,
        change: &mut dyn FnMut(&mut SeenAssertions) -> Result<bool, Refusal>,
    ) -> Result<bool, Refusal> {
        change(self.jtis.entry(client_id.to_owned()).or_default())
    }
    fn update_tokens(
        &mut self,
        change: &mut dyn FnMut(&mut Vec<ActiveToken>) -> Result<(), Refusal>,
    ) -> Result<(), Refusal> {
        change(&mut self.tokens)
    }
    fn active(&self, now: u64) -> Result<Vec<ActiveToken>, String> {
        Ok(self
            .tokens
            .iter()
            .filter(|t| t.expires_at > now)
            .cloned()
            .collect())
    }
}

/// An endpoint's answer: the response the host sends as it is, and what
/// the audit line says of it (never a token or an assertion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What the host sends.
    pub response: Response,
    /// What the audit line says of it.
    pub audit: ReplyAudit,
}

/// Who asked and why an endpoint refused, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplyAudit {
    /// The RFC 6749 error code, when refused.
    pub error: Option<String>,
    /// Why, in words (the `error_description`).
    pub reason: Option<String>,
    /// The client the request named (its assertion's `iss` or `client_id`),
    /// verified or not.
    pub client_id: Option<String>,
}

impl Reply {
    /// One JSON line for the audit log of `endpoint` (`token`, `list_tokens`).
    pub fn audit_line(&self, endpoint: &str) -> String {
        json!({"rolegate": endpoint, "status": self.response.status, "error": self.audit.error,
               "reason": self.audit.reason, "client_id": self.audit.client_id})
        .to_string()
    }
}

fn reply(status: u16, body: Value) -> Reply {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let audit = ReplyAudit {
        error: text("error"),
        reason: text("error_description").or_else(|| text("cause")),
        client_id: None,
    };
    let mut response = Response::json(status, body.to_string());
    // RFC 6749 §5.1: no-store, and no-cache for HTTP/1.0 caches.
    response.headers.push(("pragma", "no-cache".to_owned()));
    Reply { response, audit }
}

/// A client name as the audit line shows it: at most 128 bytes (it was
/// read from an unverified request).
fn audit_text(named: &str) -> String {
    let mut end = named.len().min(128);
    while !named.is_char_boundary(end) {
        end -= 1;
    }
    named.get(..end).unwrap_or_default().to_owned()
}

/// 405 unless the request is GET or HEAD.
fn only_get(request: &Request) -> Option<Reply> {
    if request.method == "GET" || request.method == "HEAD" {
        return None;
    }
    let mut r = reply(405, json!({"error": "use GET"}));
    r.response.headers.push(("allow", "GET, HEAD".to_owned()));
    Some(r)
}

/// Public documents may be cached for a while (keys rotate with the policy).
fn public(mut r: Reply) -> Reply {
    r.response
        .headers
        .retain(|(n, _)| *n != "cache-control" && *n != "pragma");
    r.response
        .headers
        .push(("cache-control", "public, max-age=300".to_owned()));
    r
}

/// A store's refusal: a client over its share (429, with when to retry),
/// or the store failing (503).
fn refused(refusal: Refusal) -> Reply {
    match refusal {
        Refusal::Limit {
            detail,
            retry_after,
        } => {
            let mut r = reply(
                429,
                json!({"error": "temporarily_unavailable", "error_description": detail}),
            );
            r.response
                .headers
                .push(("retry-after", retry_after.to_string()));
            r
        }
        Refusal::Unavailable(why) => reply(
            503,
            json!({"error": "temporarily_unavailable", "error_description": why}),
        ),
    }
}

/// Why a client assertion got no token.
pub enum AssertionError {
    /// The assertion itself is wrong (400/401 with this description).
    Invalid(String),
    /// Storage refused it: the client's share, or the store failing.
    Refused(Refusal),
}

impl From<String> for AssertionError {
    fn from(why: String) -> Self {
        AssertionError::Invalid(why)
    }
}

impl From<&str> for AssertionError {
    fn from(why: &str) -> Self {
        AssertionError::Invalid(why.to_owned())
    }
}

/// An RFC 6749 §5.2 error.
fn oauth_error(code: &'static str, description: impl Into<String>) -> Reply {
    let status = if code == "invalid_client" { 401 } else { 400 };
    let description: String = description.into();
    let mut r = reply(
        status,
        json!({"error": code, "error_description": description}),
    );
    if status == 401 {
        r.response
            .headers
            .push(("www-authenticate", "Bearer realm=\"rolegate\"".to_owned()));
    }
    r
}

impl Policy {
    /// Answers a token request: `grant_type=client_credentials` with a
    /// `private_key_jwt` client assertion, or the RFC 7523 JWT bearer grant.
    pub fn issue_token(&self, request: &Request, body: &[u8], store: &mut dyn TokenStore) -> Reply {
        // Who the request names, as far as it was read (for the audit line).
        let mut claimed = None;
        let mut reply = self.answer_token_request(request, body, store, &mut claimed);
        if reply.audit.client_id.is_none() {
            reply.audit.client_id = claimed.map(|named| audit_text(&named));
        }
        reply
    }

    fn answer_token_request(
        &self,
        request: &Request,
        body: &[u8],
        store: &mut dyn TokenStore,
        claimed: &mut Option<String>,
    ) -> Reply {
        let Some(endpoint) = self.token_endpoint.as_ref() else {
            return oauth_error("invalid_request", "this policy has no token endpoint");
        };
        if request.method != "POST" {
            let mut r = oauth_error("invalid_request", "use POST");
            r.response.status = 405;
            r.response.headers.push(("allow", "POST".to_owned()));
            return r;
        }
        let content_type = request
            .header_values("content-type")
            .next()
            .unwrap_or_default();
        if !content_type.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        }) {
            return oauth_error("invalid_request", "send application/x-www-form-urlencoded");
        }
        if body.len() > MAX_BODY_BYTES {
            return oauth_error("invalid_request", "the request body is too large");
        }
        let form = match parse_form(body) {
            Ok(form) => form,
            Err(why) => return oauth_error("invalid_request", why),
        };
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let now = request.now;
        *claimed = field("client_id").map(str::to_owned);
        // Which error code an assertion failure earns depends on its role.
        let (assertion, failure_code) = match field("grant_type") {
            None => return oauth_error("invalid_request", "grant_type is missing"),
            Some("client_credentials") => {
                if field("client_assertion_type")
                    != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                {
                    return oauth_error(
                        "invalid_client",
                        "authenticate with private_key_jwt: client_assertion_type must be \
                         urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    );
                }
                match field("client_assertion") {
                    Some(a) => (a, "invalid_client"),
                    None => return oauth_error("invalid_client", "client_assertion is missing"),
                }
            }
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => match field("assertion") {
                Some(a) => (a, "invalid_grant"),
                None => return oauth_error("invalid_request", "assertion is missing"),
            },
            Some(other) => {
                return oauth_error(
                    "unsupported_grant_type",
                    format!("grant_type {other} is not supported; use client_credentials"),
                )
            }
        };
        // Parsed once: its issuer names the client for the audit line too.
        let parsed = CompactJws::parse(assertion)
            .map_err(|e| format!("the assertion is not a JWS: {}", e.detail))
            .and_then(|jws| {
                let claims = crate::authorize::authenticate::payload_claims(&jws).map_err(|e| {
                    format!("the assertion's claims are not a JSON object: {}", e.detail)
                })?;
                Ok((jws, claims))
            });
        let (jws, claims) = match parsed {
            Ok(parsed) => parsed,
            Err(why) => return oauth_error(failure_code, why),
        };
        if claimed.is_none() {
            *claimed = claims.get("iss").and_then(Value::as_str).map(str::to_owned);
        }
        // A DPoP proof is checked before the assertion is spent: a client
        // told to use a nonce retries with the same assertion.
        let proof = match self.token_request_proof(request, endpoint) {
            Ok(proof) => proof,
            Err(reply) => return *reply,
        };
        let checked = endpoint.check_assertion(&jws, claims, field("client_id"), now, store);
        let client = match checked {
            Ok(client) => client,
            Err(AssertionError::Invalid(why)) => return oauth_error(failure_code, why),
            Err(AssertionError::Refused(refusal)) => return refused(refusal),
        };
        let jkt = match proof {
            None => None,
            Some(proof) => match endpoint.remember_proof(client, proof.into_use(), now, store) {
                Ok(jkt) => Some(jkt),
                Err(reply) => return *reply,
            },
        };
        match endpoint.mint_for(
            client,
            self.required_scopes.join(" "),
            now,
            jkt.as_deref(),
            store,
        ) {
            Ok(token) => reply(
                200,
                json!({"access_token": token,
                       "token_type": if jkt.is_some() { "DPoP" } else { "bearer" },
                       "expires_in": endpoint.expiration_seconds}),
            ),
            Err(refusal) => refused(refusal),
        }
    }

    /// The token request's DPoP proof (RFC 9449 §5), if it sends one: for
    /// POST to this endpoint's URL. Its token will be bound to the proof's key.
    fn token_request_proof(
        &self,
        request: &Request,
        endpoint: &TokenEndpoint,
    ) -> Result<Option<VerifiedProof>, Box<Reply>> {
        let proof_error = |e: TokenError| {
            // The resource's error codes (RFC 9449 §5 and §7.1 share them).
            let code = e.kind.proof_error().unwrap_or("invalid_dpop_proof");
            let mut r = oauth_error(code, e.detail);
            if e.kind == TokenErrorKind::DpopNonceRequired {
                if let Some(nonce) = binding::fresh_nonce(&self.dpop, request.now) {
                    r.response.headers.push(("dpop-nonce", nonce));
                }
            }
            Box::new(r)
        };
        let Some(proof) = binding::proof_header(request).map_err(proof_error)? else {
            return Ok(None);
        };
        let htu_names_endpoint = |htu: &str| {
            let named = binding::split_htu(htu)?;
            let this = binding::split_htu(&endpoint.url)?;
            if named == this {
                Ok(())
            } else {
                Err(TokenError {
                    kind: TokenErrorKind::DpopUriMismatch,
                    detail: format!("htu must be this token endpoint, {}", endpoint.url),
                })
            }
        };
        binding::verify_proof(
            &self.dpop,
            proof,
            &["POST".to_owned()],
            &htu_names_endpoint,
            request.now,
        )
        .map(Some)
        .map_err(proof_error)
    }

    /// The authorization server metadata (RFC 8414; also served as OpenID
    /// discovery), so client libraries (openid-client's `discovery()`) find
    /// the token endpoint and other services the key (RFC 9068).
    pub fn endpoint_metadata(&self, request: &Request) -> Reply {
        let Some(endpoint) = self.token_endpoint.as_ref() else {
            return reply(404, json!({"error": "not_found"}));
        };
        if let Some(refusal) = only_get(request) {
            return refusal;
        }
        let algorithms: Vec<&str> = Alg::ALL
            .into_iter()
            .filter(|a| a.key_type() != KeyType::Hmac)
            .map(Alg::name)
            .collect();
        public(reply(
            200,
            json!({
                "issuer": endpoint.issuer,
                "token_endpoint": endpoint.url,
                "jwks_uri": endpoint.jwks_uri,
                "grant_types_supported": ["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": algorithms,
                "response_types_supported": [],
                "scopes_supported": self.required_scopes,
            }),
        ))
    }

    /// The public JWKS of the key that signs issued tokens.
    pub fn endpoint_jwks(&self, request: &Request) -> Reply {
        let Some(endpoint) = self.token_endpoint.as_ref() else {
            return reply(404, json!({"error": "not_found"}));
        };
        if let Some(refusal) = only_get(request) {
            return refusal;
        }
        let mut r = public(reply(200, json!({"keys": [endpoint.public_jwk]})));
        if let Some(ct) = r
            .response
            .headers
            .iter_mut()
            .find(|(n, _)| *n == "content-type")
        {
            ct.1 = "application/jwk-set+json".to_owned();
        }
        r
    }

    /// Lists active tokens to a bearer whose token grants `active_tokens_role`.
    pub fn list_tokens(&self, request: &Request, store: &dyn TokenStore) -> Reply {
        let Some(endpoint) = self.token_endpoint.as_ref() else {
            return reply(404, json!({"error": "not_found"}));
        };
        if request.method != "GET" && request.method != "HEAD" {
            let mut r = reply(405, json!({"error": "use GET"}));
            r.response.headers.push(("allow", "GET".to_owned()));
            return r;
        }
        match self.granted_roles(request) {
            Err(decision) => Reply {
                response: decision.denial(),
                audit: ReplyAudit {
                    error: Some(decision.reason.as_str().to_owned()),
                    reason: decision.cause.map(str::to_owned),
                    client_id: decision.client_id.clone(),
                },
            },
            Ok(roles) if !roles.contains(&endpoint.active_tokens_role) => reply(
                403,
                json!({"status": 403, "reason": "not_permitted",
                       "cause": format!("listing tokens needs role {}", endpoint.active_tokens_role)}),
            ),
            Ok(_) => match store.active(request.now) {
                // Pexip's "OAuth2 Tokens" view: each token with what its role allows.
                Ok(tokens) => {
                    let listed: Vec<Value> = tokens
                        .iter()
                        .map(|t| {
                            let mut entry = json!(t);
                            if let Value::Object(fields) = &mut entry {
                                fields
                                    .insert("permissions".into(), json!(self.permissions(&t.role)));
                            }
                            entry
                        })
                        .collect();
                    reply(200, json!({ "tokens": listed }))
                }
                Err(why) => reply(
                    503,
                    json!({"error": "temporarily_unavailable", "error_description": why}),
                ),
            },
        }
    }
}

impl TokenEndpoint {
    /// RFC 7523 §3: signed by the client's key, `iss` = `sub` = client id,
    /// `aud` this endpoint, `exp` in the near future, a `jti` never seen.
    pub fn check_assertion<'c>(
        &'c self,
        jws: &CompactJws,
        claims: Map<String, Value>,
        client_id: Option<&str>,
        now: u64,
        store: &mut dyn TokenStore,
    ) -> Result<&'c OAuthClient, AssertionError> {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let iss = text("iss").ok_or("the assertion has no iss (the client id)")?;
        if text("sub") != Some(iss) {
            return Err("the assertion's sub must equal its iss (the client id)".into());
        }
        if client_id.is_some_and(|id| id != iss) {
            return Err("client_id does not match the assertion".into());
        }
        let client = self
            .clients
            .iter()
            .find(|c| c.client_id == iss)
            .ok_or_else(|| format!("no client has id {iss}"))?;
        let algorithms: Vec<Alg> = Alg::ALL
            .into_iter()
            .filter(|a| client.key.usable_for(*a).is_ok())
            .collect();
        jws.verify(std::slice::from_ref(&client.key), &algorithms)
            .map_err(|e| {
                format!(
                    "the assertion does not verify with the client's key ({})",
                    e.kind.code()
                )
            })?;
        // The JWT checks every token gets (RFC 7523 §3: a JWT like any).
        let for_this_endpoint = |a: &str| self.assertion_audiences.iter().any(|x| x == a);
        let must_name = || {
            format!(
                "invalid aud: the assertion's aud must name this endpoint, as one of {}",
                self.assertion_audiences
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        match claims::audience_accepted(claims.get("aud"), for_this_endpoint) {
            Ok(true) => {}
            Ok(false) => return Err(must_name().into()),
            Err(e) => return Err(format!("{}: {}", must_name(), e.detail).into()),
        }
        let lifetime = claims::check_lifetime(&claims, now, LEEWAY_SECONDS).map_err(|e| {
            let what = match e.kind {
                TokenErrorKind::Expired => "the assertion expired",
                TokenErrorKind::NotYetValid | TokenErrorKind::IssuedInFuture => {
                    "the assertion is not valid yet"
                }
                _ => "the assertion's times are not valid",
            };
            format!("{what}: {}", e.detail)
        })?;
        let longest = self.max_assertion_seconds;
        if lifetime.exp > (now + longest + LEEWAY_SECONDS) as f64 {
            return Err(format!(
                "the assertion lives longer than {longest} seconds (max_assertion_seconds)"
            )
            .into());
        }
        let jti = text("jti")
            .filter(|j| !j.is_empty())
            .ok_or("the assertion has no jti")?;
        // A client over its share spends no assertion id: a flood beyond the
        // limits fills no storage (checked again when the token is added).
        let issued = store
            .active(now)
            .map_err(|why| AssertionError::Refused(Refusal::Unavailable(why)))?;
        limits::check_share(&issued, &client.client_id, now, &self.client_limits)
            .map_err(AssertionError::Refused)?;
        // Replays are found by the assertion's id, never its signature bytes
        // (an ECDSA signature has a second valid form).
        // Kept exactly as long as the assertion is valid: one function says both.
        let until = lifetime.valid_until;
        let in_flight = self
            .client_limits
            .assertions_in_flight(self.max_assertion_seconds + 2 * LEEWAY_SECONDS);
        let first_use = store
            .update_assertions(&client.client_id, &mut |seen| {
                limits::record_jti(seen, &client.client_id, jti, until, now, in_flight)
            })
            .map_err(|refusal| match refusal {
                Refusal::Unavailable(why) => AssertionError::Refused(Refusal::Unavailable(
                    format!("the replay check is unavailable: {why}"),
                )),
                limit => AssertionError::Refused(limit),
            })?;
        if first_use {
            Ok(client)
        } else {
            Err("the assertion was used before (jti replayed)".into())
        }
    }

    /// A token request's proof is accepted once, like its assertion (in the
    /// client's own record of ids); the key's thumbprint, which the token
    /// is bound to.
    fn remember_proof(
        &self,
        client: &OAuthClient,
        proof: ProofUse,
        now: u64,
        store: &mut dyn TokenStore,
    ) -> Result<String, Box<Reply>> {
        let in_flight = self
            .client_limits
            .assertions_in_flight(self.max_assertion_seconds + 2 * LEEWAY_SECONDS);
        // Apart from assertion ids: a proof's jti may be anything.
        let id = format!("dpop proof {}", proof.jti);
        let first_use = store
            .update_assertions(&client.client_id, &mut |seen| {
                limits::record_jti(seen, &client.client_id, &id, proof.until, now, in_flight)
            })
            .map_err(|refusal| Box::new(refused(refusal)))?;
        if first_use {
            Ok(proof.client)
        } else {
            Err(Box::new(oauth_error(
                "invalid_dpop_proof",
                "the DPoP proof was used before (jti replayed)",
            )))
        }
    }

    /// Signs an access token for `client`, bound to the DPoP key with
    /// thumbprint `jkt` when it has one, and records it as active.
    fn mint_for(
        &self,
        client: &OAuthClient,
        scope: String,
        now: u64,
        jkt: Option<&str>,
        store: &mut dyn TokenStore,
    ) -> Result<String, Refusal> {
        let jti = mint::random_id().map_err(|e| e.to_string())?;
        let exp = now + self.expiration_seconds;
        let mut claims = self.issued_claims(client, scope, now, &jti);
        if let Some(jkt) = jkt {
            claims.insert("cnf".into(), json!({ "jkt": jkt }));
        }
        let mut header = Map::new();
        header.insert("typ".into(), Value::String("at+jwt".into()));
        header.insert("kid".into(), Value::String(self.kid.clone()));
        let token = mint::mint(&MintRequest {
            alg: Some("ES256"),
            key: Some(&self.signing),
            claims,
            header,
        })
        .map_err(|e| e.to_string())?;
        let active = ActiveToken {
            client_id: client.client_id.clone(),
            name: client.name.clone(),
            role: client.role.clone(),
            jti,
            issued_at: now,
            expires_at: exp,
        };
        store.update_tokens(&mut |tokens| {
            limits::admit_token(tokens, &active, now, &self.client_limits)
        })?;
        Ok(token)
    }
}

/// What a host shows of the token endpoint (no key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EndpointSummary<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub path: &'a str,
    pub url: &'a str,
    #[cfg_attr(test, ts(type = "number"))]
    pub expiration_seconds: u64,
    pub active_tokens_path: &'a str,
    pub active_tokens_role: &'a str,
    pub jwks_path: &'a str,
    pub metadata_paths: &'a [String],
    pub clients: Vec<ClientSummary<'a>>,
    /// The Envoy cluster of the instance that answers token requests and
    /// the active-token list, when this proxy is not it.
    pub forward_to_cluster: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ClientSummary<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub alg: Option<&'static str>,
}

impl TokenEndpoint {
    pub fn summary(&self) -> EndpointSummary<'_> {
        EndpointSummary {
            issuer: &self.issuer,
            audience: &self.audience,
            path: &self.path,
            url: &self.url,
            expiration_seconds: self.expiration_seconds,
            active_tokens_path: &self.active_tokens_path,
            jwks_path: &self.jwks_path,
            metadata_paths: &self.metadata_paths,
            forward_to_cluster: self.forward_to_cluster.as_deref(),
            active_tokens_role: &self.active_tokens_role,
            clients: self
                .clients
                .iter()
                .map(|c| ClientSummary {
                    client_id: &c.client_id,
                    name: &c.name,
                    role: &c.role,
                    alg: Alg::ALL
                        .into_iter()
                        .find(|a| c.key.usable_for(*a).is_ok())
                        .map(Alg::name),
                })
                .collect(),
        }
    }
}

/// A client created by [`create_client`]: its policy entry, and the private
/// key, which nothing keeps (show it once).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewClient {
    /// The new client's id.
    pub client_id: String,
    /// The `oauth2_clients` entry: `{client_id, name, role, jwk}`.
    pub entry: Value,
    /// The policy document with `entry` appended to `oauth2_clients`.
    pub document: Value,
    /// The client's private key: shown once, never stored by rolegate.
    pub private_jwk: Value,
    /// Where the client posts its assertion (and the `aud` it names).
    pub token_url: String,
}

/// Pexip's "add OAuth2 client": a fresh key pair (ES256 unless `alg` says
/// otherwise) and a random client id, for a client bound to `role`. The
/// result is checked as a whole policy before it is returned.
pub fn create_client(
    document: &str,
    name: &str,
    role: &str,
    alg: Option<&str>,
) -> Result<NewClient, PolicyError> {
    let policy = Policy::from_json(document)?;
    let Some(endpoint) = policy.token_endpoint.as_ref() else {
        return Err(PolicyError::missing(
            &JsonPath::root().field("token_endpoint"),
            "clients get their tokens from a token_endpoint: add one (issuer, audience, \
             signing_key: a private P-256 JWK, active_tokens_role) first",
        ));
    };
    let mut doc = crate::policy::edit::document(document)?;
    let Some(clients) = doc
        .entry("oauth2_clients")
        .or_insert_with(|| json!([]))
        .as_array_mut()
    else {
        return Err(PolicyError::wrong_type(
            &JsonPath::root().field("oauth2_clients"),
            "oauth2_clients is a list",
        ));
    };
    let here = JsonPath::root()
        .field("oauth2_clients")
        .index(clients.len());
    if name.trim().is_empty() {
        return Err(PolicyError::missing(
            &here.field("name"),
            "give the client a name (e.g. what runs it)",
        ));
    }
    let alg_name = alg.unwrap_or("ES256");
    let alg = Alg::from_name(alg_name)
        .filter(|a| a.key_type() != KeyType::Hmac)
        .ok_or_else(|| {
            PolicyError::value(
                &here.field("jwk").field("alg"),
                format!(
                    "a client key is RSA, EC or Ed25519: use ES256, ES384, RS256, PS256 or \
                     EdDSA, not {alg_name}"
                ),
            )
        })?;
    let client_id = mint::random_id().map_err(|e| PolicyError::value(&here, e.to_string()))?;
    let private_jwk = mint::generate_key(alg, Some(&client_id))
        .map_err(|e| PolicyError::key(&here.field("jwk"), e.to_string()))?;
    let public = private_jwk
        .as_object()
        .map(mint::public_jwk)
        .unwrap_or(Value::Null);
    let entry = json!({"client_id": client_id, "name": name, "role": role, "jwk": public});
    clients.push(entry.clone());
    let token_url = endpoint.url.clone();
    // The whole policy again: an unknown role fails here, at its path.
    let doc = crate::policy::edit::checked(doc)?;
    Ok(NewClient {
        client_id,
        entry,
        document: doc,
        private_jwk,
        token_url,
    })
}

/// `application/x-www-form-urlencoded`; a parameter given twice is an error
/// (RFC 6749 §3.2).
fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (form_decode(k)?, form_decode(v)?);
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(format!("parameter {k} is given twice"));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn form_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                // Two hex digits exactly: from_str_radix would also take
                // a sign (`%+A`), which no other decoder reads as 0x0A.
                let digit = |j: usize| bytes.get(j).and_then(|c| char::from(*c).to_digit(16));
                let (Some(hi), Some(lo)) = (digit(i + 1), digit(i + 2)) else {
                    return Err("a bad % escape in the form".to_owned());
                };
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the form is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let form = parse_form(b"a=1&b=x+y%2Fz&c=").unwrap();
        assert_eq!(
            form,
            [
                ("a".into(), "1".into()),
                ("b".into(), "x y/z".into()),
                ("c".into(), "".into())
            ]
        );
        assert!(parse_form(b"a=1&a=2").is_err());
        assert!(parse_form(b"a=%zz").is_err());
        assert!(parse_form(b"a=%").is_err());
        assert!(parse_form(b"a=%+A").is_err());
        assert!(parse_form(b"a=%-1").is_err());
        assert_eq!(parse_form(b"a=%0a").unwrap(), [("a".into(), "\n".into())]);
    }
}
