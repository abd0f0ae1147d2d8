//! The policy's `dpop` object, compiled: what a DPoP proof (RFC 9449) must
//! name and how long it counts.

use super::document::DpopDocument;
use super::error::{JsonPath, PolicyError};
pub(crate) use super::url::normal_origin;
use crate::jose::alg::{Alg, KeyType};
use crate::jose::keys;

/// How old a proof may be by default: RFC 9449 §11.1 suggests seconds to
/// minutes; a minute absorbs a slow client without keeping many `jti`s.
pub const DEFAULT_MAX_AGE_SECONDS: u64 = 60;
/// How far ahead of rolegate's clock a proof's `iat` may be by default.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 5;
/// Proofs remembered per client key within the age limit, by default: 100
/// requests a second for a minute, an automation script's burst.
pub const DEFAULT_MAX_PROOFS_PER_CLIENT: usize = 6000;
/// The most a policy may allow one client: each of the 64 records of used
/// proofs must have room for its share.
const MAX_PROOFS_PER_CLIENT: usize = 50_000;
const MAX_MAX_AGE_SECONDS: u64 = 600;
const MIN_NONCE_SECRET_BYTES: usize = 32;

/// Checked DPoP settings (defaults when the policy has no `dpop` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DpopSettings {
    /// `scheme://host[:port]` in normal form (lower case, no default port);
    /// empty: the request's own scheme and host.
    pub origins: Vec<String>,
    pub algorithms: Vec<Alg>,
    pub max_age: u64,
    pub leeway: u64,
    pub max_proofs_per_client: usize,
    /// The key of the server nonces, when proofs must carry one.
    pub nonce_secret: Option<Vec<u8>>,
}

impl Default for DpopSettings {
    fn default() -> Self {
        DpopSettings {
            origins: Vec::new(),
            algorithms: asymmetric_algorithms(),
            max_age: DEFAULT_MAX_AGE_SECONDS,
            leeway: DEFAULT_LEEWAY_SECONDS,
            max_proofs_per_client: DEFAULT_MAX_PROOFS_PER_CLIENT,
            nonce_secret: None,
        }
    }
}

/// Every algorithm a proof may use: a proof is signed with the client's own
/// public key, so never HMAC (RFC 9449 §4.3 check 5).
fn asymmetric_algorithms() -> Vec<Alg> {
    Alg::ALL
        .into_iter()
        .filter(|a| a.key_type() != KeyType::Hmac)
        .collect()
}

impl DpopSettings {
    /// The `algs` of a `DPoP` challenge (RFC 9449 §7.1).
    pub fn algs(&self) -> String {
        self.algorithms
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub(super) fn compile(
    doc: Option<DpopDocument>,
    path: &JsonPath,
) -> Result<DpopSettings, PolicyError> {
    let Some(doc) = doc else {
        return Ok(DpopSettings::default());
    };
    let mut settings = DpopSettings::default();
    for (i, origin) in doc.origins.iter().enumerate() {
        let at = path.field("origins").index(i);
        let normal = normal_origin(origin).ok_or_else(|| {
            PolicyError::value(
                &at,
                format!(
                    "\"{}\" is not an origin: write the scheme and host clients address, \
                     such as \"https://admin.example.com\" (a port if not the default; no path)",
                    origin.escape_debug()
                ),
            )
        })?;
        if settings.origins.contains(&normal) {
            return Err(PolicyError::conflict(
                &at,
                format!("{normal} is listed twice"),
            ));
        }
        settings.origins.push(normal);
    }
    if let Some(names) = &doc.algorithms {
        if names.is_empty() {
            return Err(PolicyError::value(
                &path.field("algorithms"),
                "list at least one algorithm, or leave algorithms out for all of them",
            ));
        }
        settings.algorithms.clear();
        for (i, name) in names.iter().enumerate() {
            let at = path.field("algorithms").index(i);
            let alg = keys::parse_algorithm(name).map_err(|e| PolicyError::jwk(&at, e))?;
            if alg.key_type() == KeyType::Hmac {
                return Err(PolicyError::value(
                    &at,
                    format!("{alg} is symmetric: a DPoP proof is signed with the client's public-key pair"),
                ));
            }
            if settings.algorithms.contains(&alg) {
                return Err(PolicyError::conflict(&at, format!("{alg} is listed twice")));
            }
            settings.algorithms.push(alg);
        }
    }
    if let Some(age) = doc.max_age_seconds {
        if age == 0 || age > MAX_MAX_AGE_SECONDS {
            return Err(PolicyError::value(
                &path.field("max_age_seconds"),
                format!(
                    "from 1 to {MAX_MAX_AGE_SECONDS} seconds: a proof is made for one request, \
                     moments before it is sent"
                ),
            ));
        }
        settings.max_age = age;
    }
    if let Some(leeway) = doc.leeway_seconds {
        if leeway > 60 {
            return Err(PolicyError::value(
                &path.field("leeway_seconds"),
                "at most 60 seconds: the leeway only absorbs clock skew",
            ));
        }
        settings.leeway = leeway;
    }
    if let Some(max) = doc.max_proofs_per_client {
        settings.max_proofs_per_client = match usize::try_from(max) {
            Ok(n) if (1..=MAX_PROOFS_PER_CLIENT).contains(&n) => n,
            _ => {
                return Err(PolicyError::value(
                    &path.field("max_proofs_per_client"),
                    format!(
                        "from 1 to {MAX_PROOFS_PER_CLIENT}: the memory of used proofs holds \
                         at most 131 072 (4 MiB)"
                    ),
                ))
            }
        };
    }
    if let Some(secret) = doc.nonce_secret {
        if secret.len() < MIN_NONCE_SECRET_BYTES {
            return Err(PolicyError::value(
                &path.field("nonce_secret"),
                format!(
                    "at least {MIN_NONCE_SECRET_BYTES} bytes of random text (e.g. `openssl rand \
                     -base64 32`): whoever knows it can make nonces"
                ),
            ));
        }
        settings.nonce_secret = Some(secret.into_bytes());
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_where_written() {
        let read = |json: &str| {
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            let doc = <DpopDocument as crate::policy::read::Read>::read(&value, &JsonPath::root())?;
            compile(Some(doc), &JsonPath::root().field("dpop"))
        };
        let s = read(r#"{"origins": ["https://A.example"], "algorithms": ["ES256"]}"#).unwrap();
        assert_eq!(s.origins, ["https://a.example"]);
        assert_eq!(s.algs(), "ES256");
        let err = |json| read(json).unwrap_err().to_string();
        assert!(
            err(r#"{"algorithms": ["HS256"]}"#).contains("dpop.algorithms[0]: HS256 is symmetric")
        );
        assert!(err(r#"{"origins": ["https://a/x"]}"#).contains("dpop.origins[0]"));
        assert!(err(r#"{"max_age_seconds": 0}"#).contains("dpop.max_age_seconds"));
        assert!(err(r#"{"nonce_secret": "short"}"#).contains("dpop.nonce_secret: at least 32"));
        assert!(DpopSettings::default().algs().contains("ES256"));
        assert!(!DpopSettings::default().algs().contains("HS"));
    }
}
