//! The token endpoint's settings, compiled: its issuer, signing key, paths,
//! OAuth2 clients bound to roles, and each client's share of the storage.
//! Answering token requests is `crate::token_endpoint`'s.

use super::document::{OAuthClientDocument, TokenEndpointDocument};
use super::error::{JsonPath, PolicyError};
use super::url::Url;
use crate::jose::alg::{Alg, KeyType};
use crate::jose::keys::VerificationKey;
use crate::jose::mint::SigningKey;
use serde_json::{Map, Value};

/// The default of `max_assertion_seconds`, the longest client assertion
/// lifetime accepted (it bounds how long a `jti` is remembered): authlib's
/// `PrivateKeyJWT` signs assertions valid 3600 s and cannot be told otherwise.
const DEFAULT_MAX_ASSERTION_SECONDS: u64 = 3600;

/// A client of the token endpoint.
#[derive(Debug)]
pub struct OAuthClient {
    pub client_id: String,
    pub name: String,
    pub role: String,
    pub(crate) key: VerificationKey,
}

/// The token endpoint, compiled.
pub struct TokenEndpoint {
    pub issuer: String,
    pub audience: String,
    /// Canonical path clients post to.
    pub path: String,
    /// Where clients post, as a URL (RFC 7523's audience).
    pub url: String,
    /// What a client assertion's `aud` may name (one of them).
    pub assertion_audiences: Vec<String>,
    pub expiration_seconds: u64,
    pub active_tokens_path: String,
    pub active_tokens_role: String,
    pub clients: Vec<OAuthClient>,
    /// Each client's share of the shared storage.
    pub client_limits: ClientLimits,
    /// Longest client assertion lifetime accepted.
    pub max_assertion_seconds: u64,
    /// Token requests and the active-token list go to the instance behind
    /// this Envoy cluster (the one that keeps the replay store and the list).
    pub forward_to_cluster: Option<String>,
    /// Where the signing key's public JWKS is served (RFC 8414 `jwks_uri`).
    pub jwks_path: String,
    /// Where the RFC 8414 and OpenID discovery documents are served.
    pub metadata_paths: Vec<String>,
    /// The key set's URL the metadata names.
    pub jwks_uri: String,
    /// The public half of the signing key, as served at `jwks_path`.
    pub(crate) public_jwk: Value,
    pub(crate) signing: SigningKey,
    pub(crate) kid: String,
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

impl TokenEndpoint {
    /// The claims of an access token issued to `client`.
    pub(crate) fn issued_claims(
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
}

/// Per-client limits of the token endpoint (`token_endpoint.client_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// Tokens a client may hold that have not expired.
    pub active_tokens: usize,
    /// Tokens a client may be issued in any 60 seconds.
    pub tokens_per_minute: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        // A script that fetches a token for every run, once a minute, holds
        // 60 one-hour tokens; 100 leaves room. 30 a minute is far beyond
        // any client that reuses its token, and bounds a flood.
        ClientLimits {
            active_tokens: 100,
            tokens_per_minute: 30,
        }
    }
}

impl ClientLimits {
    /// Assertion ids a client may have remembered at once: as many as it can
    /// be issued tokens while one is remembered (an id is recorded only for
    /// an assertion within the limits, and kept for at most `retention`
    /// seconds), so a client within its rate never meets this bound.
    pub fn assertions_in_flight(&self, retention: u64) -> usize {
        let minutes = usize::try_from(retention.div_ceil(60)).unwrap_or(usize::MAX);
        self.tokens_per_minute
            .saturating_mul(minutes.saturating_add(1))
            .max(1)
    }
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
                .is_some_and(|v| crate::jose::claims::value_matches(v, &a.value));
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
        .and_then(|key| key.check_pair().map(|()| key))
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
        let c = crate::request::path::canonicalize(text)
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
    let assertion_audiences = match doc.assertion_audiences {
        Some(list) => {
            let at = path.field("assertion_audiences");
            if list.is_empty() {
                return Err(PolicyError::value(
                    &at,
                    "name at least one audience, or leave the member out for the default \
                     (the endpoint's URL, the issuer and the URL's host)",
                ));
            }
            if let Some(i) = list.iter().position(String::is_empty) {
                return Err(PolicyError::value(
                    &at.index(i),
                    "an audience must not be empty",
                ));
            }
            list
        }
        None => default_assertion_audiences(&url, &doc.issuer),
    };
    if let Some(cluster) = &doc.forward_to_cluster {
        if cluster.is_empty()
            || !cluster
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return Err(PolicyError::value(
                &path.field("forward_to_cluster"),
                "an Envoy cluster name: letters, digits, '_', '-' and '.'",
            ));
        }
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
        let key = crate::jose::keys::parse_jwk(&c.jwk, format!("oauth2_clients[{i}].jwk"))
            .map_err(|e| PolicyError::jwk(&p.field("jwk"), e))?;
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
        cluster: None,
        // Its tokens are bound when the client sent a DPoP proof for them.
        bound_tokens: crate::policy::BoundTokens::Allow,
    };
    Ok((
        TokenEndpoint {
            issuer: doc.issuer,
            audience: doc.audience,
            path: endpoint_path,
            url,
            assertion_audiences,
            expiration_seconds,
            active_tokens_path,
            active_tokens_role: doc.active_tokens_role,
            clients: compiled,
            client_limits,
            max_assertion_seconds,
            forward_to_cluster: doc.forward_to_cluster,
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

/// What a client assertion may name as `aud` unless the policy lists them:
/// the endpoint's URL (RFC 7523 §3), the issuer, and the URL's host, with
/// and without its port (people scripting Pexip's management node send its
/// host name, e.g. `pexmgr.example.com`, and Pexip accepts it).
fn default_assertion_audiences(url: &str, issuer: &str) -> Vec<String> {
    let mut audiences = vec![url.to_owned(), issuer.to_owned()];
    if let Ok(parsed) = Url::parse(url) {
        let host = match parsed.authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => parsed.authority.as_str(),
        };
        audiences.push(parsed.authority.clone());
        audiences.push(host.to_owned());
    }
    let mut distinct: Vec<String> = Vec::new();
    for audience in audiences {
        if !distinct.contains(&audience) {
            distinct.push(audience);
        }
    }
    distinct
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
