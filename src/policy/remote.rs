//! Remote validation settings of an issuer, compiled: where its keys come
//! from (`jwks_uri` or OpenID discovery) and how its opaque tokens are
//! introspected (RFC 7662). The calls themselves are the engine's.

use super::error::{JsonPath, PolicyError};
use super::url::Url;
use crate::jose::alg::Alg;
use crate::jose::mint::SigningKey;

/// Where an issuer's keys come from, compiled.
#[derive(Debug, Clone)]
pub struct RemoteSource {
    /// `jwks_uri`, or the discovery document (which names the JWKS).
    pub url: Url,
    pub is_discovery: bool,
    pub cluster: String,
    pub refresh_seconds: u64,
    pub min_refetch_seconds: u64,
    pub timeout_ms: u64,
    pub max_response_bytes: usize,
}

/// How the client authenticates to the introspection endpoint.
pub enum ClientAuth {
    Basic {
        client_id: String,
        secret: String,
    },
    PrivateKeyJwt {
        client_id: String,
        key: Box<SigningKey>,
        alg: Alg,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Basic { client_id, .. } => write!(f, "Basic({client_id})"),
            ClientAuth::PrivateKeyJwt { client_id, alg, .. } => {
                write!(f, "PrivateKeyJwt({client_id}, {alg})")
            }
        }
    }
}

/// RFC 7662 introspection settings, compiled.
#[derive(Debug)]
pub struct Introspection {
    /// None until discovery names it.
    pub endpoint: Option<Url>,
    pub cluster: String,
    pub auth: ClientAuth,
    /// Introspect every token of the issuer, not only opaque ones.
    pub all_tokens: bool,
    pub cache_seconds: u64,
    pub require_audience: bool,
    pub timeout_ms: u64,
    pub max_response_bytes: usize,
}

/// Compiles an issuer's remote settings (the policy loader calls this).
pub(crate) fn compile_remote(
    doc: &crate::policy::document::IssuerDocument,
    path: &JsonPath,
) -> Result<(Option<RemoteSource>, Option<Introspection>), PolicyError> {
    let url = |text: &str, field: &str| {
        Url::parse(text).map_err(|e| PolicyError::value(&path.field(field), e))
    };
    let source = match (&doc.jwks_uri, &doc.discovery) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::conflict(
                &path.field("discovery"),
                "give jwks_uri or discovery, not both",
            ))
        }
        (Some(u), None) => Some((url(u, "jwks_uri")?, false)),
        (None, Some(u)) => Some((url(u, "discovery")?, true)),
        (None, None) => None,
    };
    if (source.is_some() || doc.introspection.is_some()) && doc.remote.is_none() {
        return Err(PolicyError::missing(
            &path.field("remote"),
            "remote validation needs \"remote\": {\"cluster\": \"<Envoy cluster of the authorization server>\"}",
        ));
    }
    let Some(remote) = &doc.remote else {
        return Ok((None, None));
    };
    let rpath = path.field("remote");
    if remote.cluster.is_empty() {
        return Err(PolicyError::value(
            &rpath.field("cluster"),
            "name the Envoy cluster",
        ));
    }
    let timeout_ms = remote.timeout_ms.unwrap_or(2_000);
    if !(100..=30_000).contains(&timeout_ms) {
        return Err(PolicyError::value(
            &rpath.field("timeout_ms"),
            "from 100 to 30000 milliseconds",
        ));
    }
    let max_response_bytes = usize::try_from(remote.max_response_bytes.unwrap_or(262_144))
        .unwrap_or(usize::MAX)
        .min(4 << 20);
    let refresh_seconds = remote.refresh_seconds.unwrap_or(600);
    let min_refetch_seconds = remote.min_refetch_seconds.unwrap_or(30);
    if refresh_seconds < 10 || min_refetch_seconds < 1 {
        return Err(PolicyError::value(
            &rpath,
            "refresh_seconds must be at least 10 and min_refetch_seconds at least 1",
        ));
    }
    let remote_source = source.map(|(url, is_discovery)| RemoteSource {
        url,
        is_discovery,
        cluster: remote.cluster.clone(),
        refresh_seconds,
        min_refetch_seconds,
        timeout_ms,
        max_response_bytes,
    });
    let introspection = match &doc.introspection {
        None => None,
        Some(i) => {
            let ipath = path.field("introspection");
            let endpoint = match &i.endpoint {
                Some(e) => Some(
                    Url::parse(e).map_err(|m| PolicyError::value(&ipath.field("endpoint"), m))?,
                ),
                None if doc.discovery.is_some() => None,
                None => {
                    return Err(PolicyError::missing(
                        &ipath.field("endpoint"),
                        "name the introspection endpoint (or use discovery)",
                    ))
                }
            };
            if i.client_id.is_empty() {
                return Err(PolicyError::value(
                    &ipath.field("client_id"),
                    "the client id must not be empty",
                ));
            }
            use crate::policy::document::ClientAuthMethod;
            let auth = match (i.client_auth, &i.client_secret, &i.private_key) {
                (ClientAuthMethod::ClientSecretBasic, Some(secret), None) if !secret.is_empty() => {
                    ClientAuth::Basic {
                        client_id: i.client_id.clone(),
                        secret: secret.clone(),
                    }
                }
                (ClientAuthMethod::PrivateKeyJwt, None, Some(jwk)) => {
                    let key = SigningKey::from_jwk(jwk)
                        .and_then(|key| key.check_pair().map(|()| key))
                        .map_err(|e| {
                            PolicyError::key(&ipath.field("private_key"), e.to_string())
                        })?;
                    let alg = key.default_alg();
                    if alg.key_type() == crate::jose::alg::KeyType::Hmac {
                        return Err(PolicyError::key(
                            &ipath.field("private_key"),
                            "private_key_jwt needs an RSA, EC or Ed25519 private key",
                        ));
                    }
                    ClientAuth::PrivateKeyJwt {
                        client_id: i.client_id.clone(),
                        key: Box::new(key),
                        alg,
                    }
                }
                (ClientAuthMethod::ClientSecretBasic, _, _) => {
                    return Err(PolicyError::conflict(
                        &ipath.field("client_secret"),
                        "client_secret_basic needs a non-empty client_secret and no private_key",
                    ))
                }
                (ClientAuthMethod::PrivateKeyJwt, _, _) => {
                    return Err(PolicyError::conflict(
                        &ipath.field("private_key"),
                        "private_key_jwt needs a private_key (a private JWK) and no client_secret",
                    ))
                }
            };
            Some(Introspection {
                endpoint,
                cluster: remote.cluster.clone(),
                auth,
                all_tokens: i.tokens == crate::policy::document::IntrospectTokens::All,
                cache_seconds: i.cache_seconds.unwrap_or(300).clamp(1, 86_400),
                require_audience: i.require_audience.unwrap_or(true),
                timeout_ms,
                max_response_bytes: max_response_bytes.min(65_536),
            })
        }
    };
    Ok((remote_source, introspection))
}
