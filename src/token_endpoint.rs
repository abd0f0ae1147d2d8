//! The token endpoint (Pexip's management node `/oauth/token/`): OAuth2
//! clients bound to a role authenticate with a JWT assertion signed by their
//! private key (RFC 7523) and get an access token signed by the filter, valid
//! `access_token_expiration_seconds`. Issued tokens are then validated like
//! any other issuer's. Storage that must be shared between Envoy workers (seen
//! `jti`s, active tokens) comes from the host through [`TokenStore`].

use crate::alg::{Alg, KeyType};
use crate::keys::VerificationKey;
use crate::mint::{self, MintRequest, SigningKey};
use crate::policy::document::{OAuthClientDocument, TokenEndpointDocument};
use crate::policy::error::{JsonPath, PolicyError};
use crate::policy::Policy;
use crate::remote::Url;
use crate::request::{Request, RequestView};
use crate::token::CompactJws;
use crate::token_limits::{self, ClientLimits, Refusal};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The default of `max_assertion_seconds`, the longest client assertion
/// lifetime accepted (it bounds how long a `jti` is remembered): authlib's
/// `PrivateKeyJWT` signs assertions valid 3600 s and cannot be told otherwise.
const DEFAULT_MAX_ASSERTION_SECONDS: u64 = 3600;
const LEEWAY_SECONDS: u64 = 60;
/// Largest token request body read (a form with one assertion is ~1 KiB).
pub const MAX_BODY_BYTES: usize = 16_384;

/// The answer to a token request whose body is over [`MAX_BODY_BYTES`]
/// (hosts that stream bodies send it as soon as they see that).
pub fn body_too_large() -> Reply {
    let mut r = oauth_error("invalid_request", "the request body is too large");
    r.status = 413;
    r
}

/// A client of the token endpoint.
#[derive(Debug)]
pub struct OAuthClient {
    pub client_id: String,
    pub name: String,
    pub role: String,
    key: VerificationKey,
}

/// The token endpoint, compiled.
pub struct TokenEndpoint {
    pub issuer: String,
    pub audience: String,
    /// Canonical path clients post to.
    pub path: String,
    /// What client assertions must name as `aud` (the issuer is accepted too).
    pub url: String,
    pub expiration_seconds: u64,
    pub active_tokens_path: String,
    pub active_tokens_role: String,
    pub clients: Vec<OAuthClient>,
    /// Each client's share of the shared storage.
    pub client_limits: ClientLimits,
    /// Longest client assertion lifetime accepted.
    pub max_assertion_seconds: u64,
    /// Where the signing key's public JWKS is served (RFC 8414 `jwks_uri`).
    pub jwks_path: String,
    /// Where the RFC 8414 and OpenID discovery documents are served.
    pub metadata_paths: Vec<String>,
    /// The key set's URL the metadata names.
    pub jwks_uri: String,
    /// The public half of the signing key, as served at `jwks_path`.
    public_jwk: Value,
    signing: SigningKey,
    kid: String,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("issuer", &self.issuer)
            .field("path", &self.path)
            .field("clients", &self.clients.len())
            .finish_non_exhaustive()
    }
}

/// A token the endpoint issued and that has not expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveToken {
    pub client_id: String,
    pub name: String,
    pub role: String,
    pub jti: String,
    pub issued_at: u64,
    pub expires_at: u64,
}

/// The seen client-assertion ids, each with the time it may be forgotten.
pub type SeenAssertions = BTreeMap<String, u64>;

/// Storage shared by every worker (Envoy: proxy-wasm shared data). It only
/// keeps the records and applies changes atomically; what a change may do
/// (replays, each client's share) is decided by the core's `change`.
pub trait TokenStore {
    /// Applies `change` to the seen assertion ids atomically.
    fn update_assertions(
        &mut self,
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
    jtis: SeenAssertions,
    tokens: Vec<ActiveToken>,
}

impl TokenStore for MemoryTokenStore {
    fn update_assertions(
        &mut self,
        change: &mut dyn FnMut(&mut SeenAssertions) -> Result<bool, Refusal>,
    ) -> Result<bool, Refusal> {
        change(&mut self.jtis)
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

/// An HTTP answer the host sends as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// What the audit line says of it (never a token or an assertion).
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
        json!({"rolegate": endpoint, "status": self.status, "error": self.audit.error,
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
    Reply {
        status,
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("cache-control", "no-store".to_owned()),
            ("pragma", "no-cache".to_owned()),
        ],
        body: body.to_string(),
        audit,
    }
}

/// The client a token request names, for the audit log: its `client_id`
/// field, else its assertion's `iss` (unverified; at most 128 bytes).
fn claimed_client(body: &[u8]) -> Option<String> {
    let form = parse_form(body).ok()?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let named = field("client_id").map(str::to_owned).or_else(|| {
        let assertion = field("client_assertion").or_else(|| field("assertion"))?;
        let jws = CompactJws::parse(assertion).ok()?;
        let claims = crate::json::parse_strict_object(&jws.payload).ok()?;
        claims.get("iss")?.as_str().map(str::to_owned)
    })?;
    let mut end = named.len().min(128);
    while !named.is_char_boundary(end) {
        end -= 1;
    }
    named.get(..end).map(str::to_owned)
}

/// 405 unless the request is GET or HEAD.
fn only_get(request: &Request) -> Option<Reply> {
    if request.method == "GET" || request.method == "HEAD" {
        return None;
    }
    let mut r = reply(405, json!({"error": "use GET"}));
    r.headers.push(("allow", "GET, HEAD".to_owned()));
    Some(r)
}

/// Public documents may be cached for a while (keys rotate with the policy).
fn public(mut r: Reply) -> Reply {
    r.headers
        .retain(|(n, _)| *n != "cache-control" && *n != "pragma");
    r.headers
        .push(("cache-control", "public, max-age=300".to_owned()));
    r
}

/// Where discovery serves for `issuer`: the paths of its metadata (RFC 8414
/// §3 inserts `/.well-known/oauth-authorization-server` before the issuer's
/// path; OpenID Discovery appends `/.well-known/openid-configuration` to
/// it) and the `jwks_uri` of the key set at `jwks_path` on its origin. An
/// issuer that is no URL is taken as an origin without a path.
fn discovery_locations(issuer: &str, jwks_path: &str) -> (Vec<String>, String) {
    let (origin, path) = match Url::parse(issuer) {
        Ok(url) => (format!("{}://{}", url.scheme, url.authority), url.path),
        Err(_) => (issuer.to_owned(), String::new()),
    };
    let path = path.trim_end_matches('/');
    let metadata = vec![
        format!("/.well-known/oauth-authorization-server{path}"),
        format!("{path}/.well-known/openid-configuration"),
    ];
    (metadata, format!("{origin}{jwks_path}"))
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
            r.headers.push(("retry-after", retry_after.to_string()));
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
        r.headers
            .push(("www-authenticate", "Bearer realm=\"rolegate\"".to_owned()));
    }
    r
}

/// Where a request goes: decided and forwarded, or answered by one of
/// rolegate's own endpoints. Said by the core ([`Policy::route`]), so every
/// host routes alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Decided like any request (the answer is a [`crate::Decision`]).
    Decide,
    /// The token endpoint: answered with [`Policy::issue_token`].
    IssueToken,
    /// The active-token list: answered with [`Policy::list_tokens`].
    ListTokens,
    /// The RFC 8414 / OpenID discovery document: [`Policy::endpoint_metadata`].
    Metadata,
    /// The signing key's public JWKS: [`Policy::endpoint_jwks`].
    Jwks,
}

impl Policy {
    /// Which route a request takes. An endpoint is served only on its exact
    /// path as sent (a query may follow): every other spelling of it
    /// (`//oauth/token/`, `/x/../oauth/token/`, `/%6Fauth/token/`) is decided
    /// like any other path, so no spelling can reach the upstream undecided.
    pub fn route(&self, request: &RequestView) -> Route {
        self.route_of(request.path)
    }

    /// [`Policy::route`] of a raw request target.
    pub fn route_of(&self, target: &[u8]) -> Route {
        let Some(endpoint) = self.token_endpoint.as_ref() else {
            return Route::Decide;
        };
        let path = match target.iter().position(|b| *b == b'?') {
            Some(query) => target.get(..query).unwrap_or(target),
            None => target,
        };
        if path == endpoint.path.as_bytes() {
            Route::IssueToken
        } else if path == endpoint.active_tokens_path.as_bytes() {
            Route::ListTokens
        } else if path == endpoint.jwks_path.as_bytes() {
            Route::Jwks
        } else if endpoint.metadata_paths.iter().any(|m| path == m.as_bytes()) {
            Route::Metadata
        } else {
            Route::Decide
        }
    }

    /// Answers a token request: `grant_type=client_credentials` with a
    /// `private_key_jwt` client assertion, or the RFC 7523 JWT bearer grant.
    pub fn issue_token(&self, request: &Request, body: &[u8], store: &mut dyn TokenStore) -> Reply {
        let mut reply = self.answer_token_request(request, body, store);
        if reply.audit.client_id.is_none() {
            reply.audit.client_id = claimed_client(body);
        }
        reply
    }

    fn answer_token_request(
        &self,
        request: &Request,
        body: &[u8],
        store: &mut dyn TokenStore,
    ) -> Reply {
        let Some(endpoint) = self.token_endpoint.as_ref() else {
            return oauth_error("invalid_request", "this policy has no token endpoint");
        };
        if request.method != "POST" {
            let mut r = oauth_error("invalid_request", "use POST");
            r.status = 405;
            r.headers.push(("allow", "POST".to_owned()));
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
        let client = match endpoint.check_assertion(assertion, field("client_id"), now, store) {
            Ok(client) => client,
            Err(AssertionError::Invalid(why)) => return oauth_error(failure_code, why),
            Err(AssertionError::Refused(refusal)) => return refused(refusal),
        };
        match endpoint.mint_for(client, self.required_scopes.join(" "), now, store) {
            Ok(token) => reply(
                200,
                json!({"access_token": token, "token_type": "bearer", "expires_in": endpoint.expiration_seconds}),
            ),
            Err(refusal) => refused(refusal),
        }
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
        if let Some(ct) = r.headers.iter_mut().find(|(n, _)| *n == "content-type") {
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
            r.headers.push(("allow", "GET".to_owned()));
            return r;
        }
        match self.granted_roles(request) {
            Err(decision) => {
                let denial = decision.denial();
                Reply {
                    status: denial.status,
                    headers: denial.headers,
                    body: denial.body,
                    audit: ReplyAudit {
                        error: Some(decision.reason.as_str().to_owned()),
                        reason: decision.cause.map(str::to_owned),
                        client_id: decision.client_id.clone(),
                    },
                }
            }
            Ok(roles) if !roles.contains(&endpoint.active_tokens_role) => reply(
                403,
                json!({"status": 403, "reason": "not_permitted",
                       "cause": format!("listing tokens needs role {}", endpoint.active_tokens_role)}),
            ),
            Ok(_) => match store.active(request.now) {
                Ok(tokens) => reply(200, json!({"tokens": tokens})),
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
        assertion: &str,
        client_id: Option<&str>,
        now: u64,
        store: &mut dyn TokenStore,
    ) -> Result<&'c OAuthClient, AssertionError> {
        let jws = CompactJws::parse(assertion)
            .map_err(|e| format!("the assertion is not a JWS: {}", e.detail))?;
        let claims = crate::json::parse_strict_object(&jws.payload)
            .map_err(|e| format!("the assertion's claims are not a JSON object: {e:?}"))?;
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
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.url || *a == self.issuer,
            Some(Value::Array(items)) => items.iter().any(|a| {
                a.as_str()
                    .is_some_and(|a| a == self.url || a == self.issuer)
            }),
            _ => false,
        };
        if !audience_ok {
            return Err(
                format!("the assertion's aud must name this endpoint ({})", self.url).into(),
            );
        }
        let number = |name: &str| claims.get(name).and_then(Value::as_f64);
        let exp = number("exp").ok_or("the assertion has no exp")?;
        let now_f = now as f64;
        if now_f >= exp + LEEWAY_SECONDS as f64 {
            return Err("the assertion expired".into());
        }
        let longest = self.max_assertion_seconds;
        if exp > now_f + (longest + LEEWAY_SECONDS) as f64 {
            return Err(format!(
                "the assertion lives longer than {longest} seconds (max_assertion_seconds)"
            )
            .into());
        }
        if number("nbf").is_some_and(|nbf| nbf > now_f + LEEWAY_SECONDS as f64)
            || number("iat").is_some_and(|iat| iat > now_f + LEEWAY_SECONDS as f64)
        {
            return Err("the assertion is not valid yet".into());
        }
        let jti = text("jti")
            .filter(|j| !j.is_empty())
            .ok_or("the assertion has no jti")?;
        // A client over its share spends no assertion id: a flood beyond the
        // limits fills no storage (checked again when the token is added).
        let issued = store
            .active(now)
            .map_err(|why| AssertionError::Refused(Refusal::Unavailable(why)))?;
        token_limits::check_share(&issued, &client.client_id, now, &self.client_limits)
            .map_err(AssertionError::Refused)?;
        // Replays are found by the assertion's id, never its signature bytes
        // (an ECDSA signature has a second valid form).
        let until = exp as u64 + LEEWAY_SECONDS;
        let in_flight = self
            .client_limits
            .assertions_in_flight(self.max_assertion_seconds + 2 * LEEWAY_SECONDS);
        let first_use = store
            .update_assertions(&mut |seen| {
                token_limits::record_jti(seen, &client.client_id, jti, until, now, in_flight)
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

    /// The claims of an access token issued to `client`.
    fn issued_claims(
        &self,
        client: &OAuthClient,
        scope: String,
        now: u64,
        jti: &str,
    ) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("iss".into(), Value::String(self.issuer.clone()));
        claims.insert("sub".into(), Value::String(client.client_id.clone()));
        claims.insert("aud".into(), Value::String(self.audience.clone()));
        claims.insert("client_id".into(), Value::String(client.client_id.clone()));
        claims.insert("role".into(), Value::String(client.role.clone()));
        if !scope.is_empty() {
            claims.insert("scope".into(), Value::String(scope));
        }
        claims.insert("iat".into(), Value::from(now));
        claims.insert("exp".into(), Value::from(now + self.expiration_seconds));
        claims.insert("jti".into(), Value::String(jti.to_owned()));
        claims
    }

    /// Signs an access token for `client` and records it as active.
    fn mint_for(
        &self,
        client: &OAuthClient,
        scope: String,
        now: u64,
        store: &mut dyn TokenStore,
    ) -> Result<String, Refusal> {
        let jti = mint::random_id().map_err(|e| e.to_string())?;
        let exp = now + self.expiration_seconds;
        let claims = self.issued_claims(client, scope, now, &jti);
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
            token_limits::admit_token(tokens, &active, now, &self.client_limits)
        })?;
        Ok(token)
    }
}

/// What a host shows of the token endpoint (no key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointSummary<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub path: &'a str,
    pub url: &'a str,
    pub expiration_seconds: u64,
    pub active_tokens_path: &'a str,
    pub active_tokens_role: &'a str,
    pub jwks_path: &'a str,
    pub metadata_paths: &'a [String],
    pub clients: Vec<ClientSummary<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    pub client_id: String,
    /// The `oauth2_clients` entry: `{client_id, name, role, jwk}`.
    pub entry: Value,
    /// The policy document with `entry` appended to `oauth2_clients`.
    pub document: Value,
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
    let mut doc = crate::json::parse_strict(document.as_bytes())
        .map_err(|e| PolicyError::value(&JsonPath::root(), e.to_string()))?;
    let Some(clients) = doc
        .as_object_mut()
        .map(|d| d.entry("oauth2_clients").or_insert_with(|| json!([])))
        .and_then(Value::as_array_mut)
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
    Policy::from_json(&doc.to_string())?;
    Ok(NewClient {
        client_id,
        entry,
        document: doc,
        private_jwk,
        token_url,
    })
}

/// Every client's tokens must be granted the role it is bound to: a role
/// whose required attributes the issued claims cannot satisfy would leave the
/// client with a token that opens nothing, silently.
pub(crate) fn check_bindings(
    endpoint: &TokenEndpoint,
    roles: &[crate::policy::Role],
    scopes: &[String],
) -> Result<(), PolicyError> {
    for (i, client) in endpoint.clients.iter().enumerate() {
        let Some(role) = roles.iter().find(|r| r.name == client.role) else {
            continue;
        };
        let crate::policy::RoleGrant::Attributes(attributes) = &role.grant else {
            continue;
        };
        let claims = endpoint.issued_claims(client, scopes.join(" "), 0, "-");
        for a in attributes {
            let carried = a
                .claim
                .lookup(&claims)
                .is_some_and(|v| crate::claims::value_matches(v, &a.value));
            if !carried {
                return Err(PolicyError::value(
                    &JsonPath::root()
                        .field("oauth2_clients")
                        .index(i)
                        .field("role"),
                    format!(
                        "role \"{}\" requires {} = \"{}\", which tokens issued to this client \
                         do not carry (they carry role = \"{}\" and client_id = \"{}\"); \
                         grant the role by {{\"claim\": \"role\", \"value\": \"{}\"}}",
                        role.name,
                        a.claim.name(),
                        a.value,
                        client.role,
                        client.client_id,
                        role.name
                    ),
                ));
            }
        }
    }
    Ok(())
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
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let value = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a bad % escape in the form")?;
                out.push(value);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the form is not UTF-8".to_owned())
}

/// Compiles the token endpoint and its clients; also returns the issuer
/// entry its tokens are validated by.
pub(crate) fn compile(
    doc: TokenEndpointDocument,
    clients: Vec<OAuthClientDocument>,
    role_names: &[String],
) -> Result<(TokenEndpoint, crate::policy::Issuer), PolicyError> {
    let path = JsonPath::root().field("token_endpoint");
    let cpath = JsonPath::root().field("oauth2_clients");
    let signing = SigningKey::from_jwk(&doc.signing_key)
        .map_err(|e| PolicyError::key(&path.field("signing_key"), e.to_string()))?;
    if signing.key_type != KeyType::EcP256 {
        return Err(PolicyError::key(
            &path.field("signing_key"),
            "the token endpoint signs with ES256: give a private EC P-256 JWK",
        ));
    }
    let kid = signing
        .kid
        .clone()
        .unwrap_or_else(|| "rolegate-token-endpoint".to_owned());
    let mut public = signing.public_jwk().clone();
    if let Some(obj) = public.as_object_mut() {
        obj.insert("kid".into(), Value::String(kid.clone()));
        obj.insert("alg".into(), Value::String("ES256".into()));
    }
    let verification = VerificationKey::from_jwk(&public)
        .map_err(|e| PolicyError::key(&path.field("signing_key"), e.message))?;
    if doc.issuer.is_empty() || doc.audience.is_empty() {
        return Err(PolicyError::value(
            &path,
            "issuer and audience must not be empty",
        ));
    }
    let canonical = |text: &str, field: &str| -> Result<String, PolicyError> {
        let c = crate::path::canonicalize(text)
            .map_err(|e| PolicyError::value(&path.field(field), e.to_string()))?;
        if c.path != text || c.query.is_some() {
            return Err(PolicyError::value(
                &path.field(field),
                format!("write the canonical path \"{}\"", c.path),
            ));
        }
        Ok(c.path)
    };
    let endpoint_path = canonical(doc.path.as_deref().unwrap_or("/oauth/token/"), "path")?;
    let active_tokens_path = canonical(
        doc.active_tokens_path
            .as_deref()
            .unwrap_or("/oauth/tokens/"),
        "active_tokens_path",
    )?;
    let url = match doc.url {
        Some(u) => {
            Url::parse(&u).map_err(|e| PolicyError::value(&path.field("url"), e))?;
            u
        }
        None => format!("{}{}", doc.issuer.trim_end_matches('/'), endpoint_path),
    };
    let jwks_path = canonical(
        doc.jwks_path.as_deref().unwrap_or("/oauth/jwks/"),
        "jwks_path",
    )?;
    let (metadata_paths, jwks_uri) = discovery_locations(&doc.issuer, &jwks_path);
    let expiration_seconds = doc.access_token_expiration_seconds.unwrap_or(3600);
    if !(1..=86_400).contains(&expiration_seconds) {
        return Err(PolicyError::value(
            &path.field("access_token_expiration_seconds"),
            "from 1 to 86400 seconds (Pexip's default is 3600)",
        ));
    }
    let client_limits = compile_client_limits(doc.client_limits, &path.field("client_limits"))?;
    let max_assertion_seconds = doc
        .max_assertion_seconds
        .unwrap_or(DEFAULT_MAX_ASSERTION_SECONDS);
    if !(60..=86_400).contains(&max_assertion_seconds) {
        return Err(PolicyError::value(
            &path.field("max_assertion_seconds"),
            format!("from 60 to 86400 seconds (default {DEFAULT_MAX_ASSERTION_SECONDS}, what authlib signs)"),
        ));
    }
    let known = || role_names.iter().map(String::as_str);
    if !role_names.contains(&doc.active_tokens_role) {
        return Err(PolicyError::unknown_role(
            &path.field("active_tokens_role"),
            &doc.active_tokens_role,
            known(),
        ));
    }
    let mut compiled = Vec::with_capacity(clients.len());
    for (i, c) in clients.into_iter().enumerate() {
        let p = cpath.index(i);
        if c.client_id.is_empty() || c.client_id.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(PolicyError::value(
                &p.field("client_id"),
                "a client id is printable ASCII without spaces",
            ));
        }
        if compiled
            .iter()
            .any(|x: &OAuthClient| x.client_id == c.client_id)
        {
            return Err(PolicyError::conflict(
                &p.field("client_id"),
                "two clients have this id",
            ));
        }
        if !role_names.contains(&c.role) {
            return Err(PolicyError::unknown_role(
                &p.field("role"),
                &c.role,
                known(),
            ));
        }
        let key =
            crate::keys::parse_jwk(&c.jwk, &p.field("jwk"), format!("oauth2_clients[{i}].jwk"))?;
        if key.key_type == KeyType::Hmac {
            return Err(PolicyError::key(
                &p.field("jwk"),
                "a client key is a public key (RSA, EC or Ed25519)",
            ));
        }
        compiled.push(OAuthClient {
            client_id: c.client_id,
            name: c.name,
            role: c.role,
            key,
        });
    }
    let issuer = crate::policy::Issuer {
        issuer: doc.issuer.clone(),
        audiences: vec![doc.audience.clone()],
        client_ids: Vec::new(),
        keys: vec![verification],
        algorithms: vec![Alg::ES256],
        token_type: Some("at+jwt".to_owned()),
        // Issued and checked by the same clock: no skew to absorb.
        leeway: 0,
        max_lifetime: Some(expiration_seconds),
        remote: None,
        introspection: None,
    };
    Ok((
        TokenEndpoint {
            issuer: doc.issuer,
            audience: doc.audience,
            path: endpoint_path,
            url,
            expiration_seconds,
            active_tokens_path,
            active_tokens_role: doc.active_tokens_role,
            clients: compiled,
            client_limits,
            max_assertion_seconds,
            jwks_path,
            metadata_paths,
            jwks_uri,
            public_jwk: public,
            signing,
            kid,
        },
        issuer,
    ))
}

fn compile_client_limits(
    doc: Option<crate::policy::document::ClientLimitsDocument>,
    path: &JsonPath,
) -> Result<ClientLimits, PolicyError> {
    let defaults = ClientLimits::default();
    let Some(doc) = doc else {
        return Ok(defaults);
    };
    let limit = |value: Option<u64>, default: usize, field: &str| match value {
        None => Ok(default),
        Some(n @ 1..=10_000) => Ok(usize::try_from(n).unwrap_or(default)),
        Some(_) => Err(PolicyError::value(
            &path.field(field),
            format!("from 1 to 10000 (default {default})"),
        )),
    };
    Ok(ClientLimits {
        active_tokens: limit(doc.active_tokens, defaults.active_tokens, "active_tokens")?,
        tokens_per_minute: limit(
            doc.tokens_per_minute,
            defaults.tokens_per_minute,
            "tokens_per_minute",
        )?,
    })
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
    }
}
