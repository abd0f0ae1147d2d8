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
    /// RFC 8705 §2: the cluster's client certificate authenticates (Envoy
    /// presents it); the form names the client.
    Tls {
        client_id: String,
    },
}

/// The TLS of a remote issuer's cluster (files on the Envoy host), which
/// the generated Envoy config sets up; the filter never sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ClusterTls {
    /// PEM file of the CAs that sign the server's certificate.
    pub ca: String,
    /// PEM files of the client certificate and its key (mutual TLS).
    pub certificate: Option<String>,
    pub private_key: Option<String>,
}

/// A cluster the policy's remote issuers call, as a generated Envoy config
/// defines it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RemoteCluster {
    /// The cluster's name (`remote.cluster`).
    pub name: String,
    /// The host and port the issuer's URLs name (port from the scheme when
    /// they name none).
    pub host: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub port: u16,
    /// TLS, for https URLs.
    pub tls: Option<ClusterTls>,
}

/// Where Debian and Alpine keep the system's CA bundle (Envoy has no trust
/// store of its own).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Basic { client_id, .. } => write!(f, "Basic({client_id})"),
            ClientAuth::PrivateKeyJwt { client_id, alg, .. } => {
                write!(f, "PrivateKeyJwt({client_id}, {alg})")
            }
            ClientAuth::Tls { client_id } => write!(f, "Tls({client_id})"),
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
) -> Result<Remote, PolicyError> {
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
        return Ok(Remote::default());
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
                (ClientAuthMethod::TlsClientAuth, None, None) => ClientAuth::Tls {
                    client_id: i.client_id.clone(),
                },
                (ClientAuthMethod::TlsClientAuth, _, _) => {
                    return Err(PolicyError::conflict(
                        &ipath.field(if i.client_secret.is_some() {
                            "client_secret"
                        } else {
                            "private_key"
                        }),
                        "tls_client_auth authenticates with the client certificate of \
                         remote.tls: no client_secret or private_key",
                    ))
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
    let tls = compile_tls(remote.tls.as_ref(), &rpath.field("tls"))?;
    let uses_certificate = introspection
        .as_ref()
        .is_some_and(|i| matches!(i.auth, ClientAuth::Tls { .. }));
    if uses_certificate && tls.as_ref().and_then(|t| t.certificate.as_ref()).is_none() {
        return Err(PolicyError::missing(
            &rpath.field("tls").field("certificate"),
            "tls_client_auth authenticates with a client certificate: name its PEM file \
             and its key's (remote.tls.certificate, remote.tls.private_key)",
        ));
    }
    // Every URL of the issuer goes through its cluster: one host for all.
    let urls: Vec<(&str, &Url)> = remote_source
        .iter()
        .map(|s| {
            (
                if s.is_discovery {
                    "discovery"
                } else {
                    "jwks_uri"
                },
                &s.url,
            )
        })
        .chain(
            introspection
                .as_ref()
                .and_then(|i| i.endpoint.as_ref())
                .map(|u| ("introspection.endpoint", u)),
        )
        .collect();
    let cluster = match urls.first() {
        None => None,
        Some((_, first)) => {
            for (field, url) in &urls {
                if url.scheme != first.scheme || url.authority != first.authority {
                    return Err(PolicyError::conflict(
                        &path.field(field),
                        format!(
                            "{}://{} is not {}://{}: every URL of an issuer goes through \
                             its one cluster ({})",
                            url.scheme,
                            url.authority,
                            first.scheme,
                            first.authority,
                            remote.cluster
                        ),
                    ));
                }
            }
            Some(cluster_definition(&remote.cluster, first, tls.clone()))
        }
    };
    if tls.is_some() && urls.iter().any(|(_, u)| u.scheme != "https") {
        return Err(PolicyError::conflict(
            &rpath.field("tls"),
            "TLS settings need https URLs",
        ));
    }
    Ok(Remote {
        source: remote_source,
        introspection,
        cluster,
    })
}

/// An issuer's remote settings, compiled.
#[derive(Debug, Default)]
pub(crate) struct Remote {
    pub source: Option<RemoteSource>,
    pub introspection: Option<Introspection>,
    /// Its cluster as a generated Envoy config defines it (none when no URL
    /// is known before discovery answers).
    pub cluster: Option<RemoteCluster>,
}

/// `remote.tls`, checked: file paths the generated config names.
fn compile_tls(
    doc: Option<&crate::policy::document::RemoteTlsDocument>,
    path: &JsonPath,
) -> Result<Option<ClusterTls>, PolicyError> {
    let Some(doc) = doc else {
        return Ok(None);
    };
    let file = |value: &Option<String>, field: &str| -> Result<Option<String>, PolicyError> {
        match value {
            None => Ok(None),
            Some(p) if p.starts_with('/') && !p.chars().any(char::is_control) => Ok(Some(p.clone())),
            Some(_) => Err(PolicyError::value(
                &path.field(field),
                "the absolute path of a PEM file on the Envoy host, such as /etc/envoy/rolegate-client.pem",
            )),
        }
    };
    let ca = file(&doc.ca, "ca")?;
    let certificate = file(&doc.certificate, "certificate")?;
    let private_key = file(&doc.private_key, "private_key")?;
    if certificate.is_some() != private_key.is_some() {
        return Err(PolicyError::missing(
            &path.field(if certificate.is_some() {
                "private_key"
            } else {
                "certificate"
            }),
            "a client certificate and its private key go together",
        ));
    }
    Ok(Some(ClusterTls {
        ca: ca.unwrap_or_else(|| SYSTEM_CA_BUNDLE.to_owned()),
        certificate,
        private_key,
    }))
}

/// The cluster reaching `url`: its host and port (the scheme's default
/// port when it names none), and TLS for https (the system's CAs unless
/// `remote.tls` names others).
fn cluster_definition(name: &str, url: &Url, tls: Option<ClusterTls>) -> RemoteCluster {
    let https = url.scheme == "https";
    // Url::parse accepted the authority by the same grammar.
    let (host, port) =
        super::url::host_and_port(&url.authority).unwrap_or((url.authority.as_str(), None));
    RemoteCluster {
        name: name.to_owned(),
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        port: port.unwrap_or(if https { 443 } else { 80 }),
        tls: https.then(|| {
            tls.unwrap_or(ClusterTls {
                ca: SYSTEM_CA_BUNDLE.to_owned(),
                certificate: None,
                private_key: None,
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    fn policy(issuer: &str) -> Result<Policy, String> {
        Policy::from_json(&format!(
            r#"{{"issuers": [{issuer}],
                "roles": [{{"name": "r", "grant": "any_valid_token",
                           "rules": [{{"effect": "allow", "methods": ["*"], "paths": ["/**"]}}]}}]}}"#
        ))
        .map_err(|e| e.to_string())
    }

    const CLIENT_CERTIFICATE: &str =
        r#""certificate": "/etc/envoy/rolegate.pem", "private_key": "/etc/envoy/rolegate.key""#;

    /// An issuer introspecting with mutual TLS, `tls` the members of `remote.tls` after `ca`.
    fn mtls(tls: &str) -> String {
        format!(
            r#"{{"issuer": "https://idp.example", "audiences": ["a"], "algorithms": ["RS256"],
                "discovery": "https://idp.example:8443/.well-known/openid-configuration",
                "remote": {{"cluster": "idp", "tls": {{"ca": "/etc/envoy/idp-ca.pem"{tls}}}}},
                "introspection": {{"client_id": "rolegate", "client_auth": "tls_client_auth"}}}}"#
        )
    }

    #[test]
    fn a_remote_issuers_cluster_comes_from_its_urls_and_tls() {
        let p = policy(&mtls(&format!(", {CLIENT_CERTIFICATE}"))).unwrap();
        let clusters = p.remote_clusters();
        let [cluster] = clusters.as_slice() else {
            panic!("{clusters:?}")
        };
        assert_eq!(
            (cluster.name.as_str(), cluster.host.as_str(), cluster.port),
            ("idp", "idp.example", 8443)
        );
        let tls = cluster.tls.as_ref().unwrap();
        assert_eq!(tls.ca, "/etc/envoy/idp-ca.pem");
        assert_eq!(tls.certificate.as_deref(), Some("/etc/envoy/rolegate.pem"));
        // https without remote.tls: the system's CAs, no client certificate.
        let plain = policy(
            r#"{"issuer": "https://idp", "audiences": ["a"], "algorithms": ["RS256"],
                "jwks_uri": "https://idp/jwks", "remote": {"cluster": "c"}}"#,
        )
        .unwrap();
        let cluster = plain.remote_clusters()[0].clone();
        assert_eq!(cluster.port, 443);
        assert_eq!(cluster.tls.unwrap().ca, super::SYSTEM_CA_BUNDLE);
        let http = policy(
            r#"{"issuer": "http://idp", "audiences": ["a"], "algorithms": ["RS256"],
                "jwks_uri": "http://127.0.0.1:9000/jwks", "remote": {"cluster": "c"}}"#,
        )
        .unwrap();
        assert_eq!(http.remote_clusters()[0].tls, None);
    }

    #[test]
    fn tls_client_auth_needs_a_client_certificate_and_no_secret() {
        let full = mtls(&format!(", {CLIENT_CERTIFICATE}"));
        assert!(policy(&mtls("")).unwrap_err().contains(
            "issuers[0].remote.tls.certificate: tls_client_auth authenticates with a client certificate"
        ));
        let with_secret = full.replace(
            r#""client_auth": "tls_client_auth""#,
            r#""client_auth": "tls_client_auth", "client_secret": "s""#,
        );
        assert!(policy(&with_secret)
            .unwrap_err()
            .contains("issuers[0].introspection.client_secret: tls_client_auth authenticates"));
        let lone_key = mtls(r#", "private_key": "/etc/envoy/rolegate.key""#);
        assert!(policy(&lone_key).unwrap_err().contains(
            "remote.tls.certificate: a client certificate and its private key go together"
        ));
        let relative = full.replace("/etc/envoy/idp-ca.pem", "idp-ca.pem");
        assert!(policy(&relative)
            .unwrap_err()
            .contains("remote.tls.ca: the absolute path"));
        let self_signed = full.replace("\"tls_client_auth\"", "\"self_signed_tls_client_auth\"");
        assert!(policy(&self_signed).is_ok());
    }

    #[test]
    fn an_issuers_urls_share_its_cluster() {
        let full = mtls(&format!(", {CLIENT_CERTIFICATE}"));
        let split = full.replace(
            r#""client_auth": "tls_client_auth""#,
            r#""client_auth": "tls_client_auth", "endpoint": "https://other.example/introspect""#,
        );
        assert!(policy(&split)
            .unwrap_err()
            .contains("issuers[0].introspection.endpoint: https://other.example is not https://idp.example:8443"));
        let http_with_tls = full.replace("https://idp.example:8443", "http://idp.example:8443");
        assert!(policy(&http_with_tls)
            .unwrap_err()
            .contains("TLS settings need https URLs"));
    }
}
