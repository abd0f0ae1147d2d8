//! Signing tokens and generating keys, for test harnesses, previews and the
//! built-in token endpoint. Keys travel as JWKs (RFC 7517) so one format
//! serves Rust, JavaScript and the policy file.

use crate::jose::alg::{Alg, KeyType};
use crate::jose::json::JsonPath;
use crate::jose::keys::{self, b64url_decode, b64url_encode};
use crate::jose::{ec, rsa_verify};
use rand_core::OsRng;
use serde_json::{json, Map, Value};
use std::fmt;
use std::sync::OnceLock;

/// Why a key could not be used or a token not be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintError {
    /// Where in the input, e.g. `key.d`.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl MintError {
    fn new(path: &str, message: impl Into<String>) -> Self {
        MintError {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for MintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for MintError {}

/// A private key that signs tokens.
///
/// Reading it checks its parts with rolegate's own arithmetic (the
/// verifiers' EC and RSA code), and
/// [`SigningKey::check_pair`] that they belong together; the signing
/// crates' key is built on the first signature. A module that only loads
/// policies (the browser's) then holds no signing code, and a policy with a
/// broken key is still refused when it loads.
pub struct SigningKey {
    /// The kind of key.
    pub key_type: KeyType,
    /// The key's `kid`, if it has one.
    pub kid: Option<String>,
    /// The JWK `alg`, when the key names one.
    pub alg: Option<Alg>,
    secret: Secret,
    crypto: OnceLock<CryptoKey>,
    public_jwk: Value,
}

/// A private key's checked material (big-endian numbers).
enum Secret {
    Hmac(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        d: Vec<u8>,
        /// p and q, when the JWK has them; else the signer recovers them.
        primes: Vec<Vec<u8>>,
    },
    /// The scalar d of a P-256 or P-384 key (`key_type` says which), and
    /// its public point (x, y) when the JWK has one.
    Ec {
        d: Vec<u8>,
        public: Option<(Vec<u8>, Vec<u8>)>,
    },
    /// The seed d, and the public key x when the JWK has one.
    Ed25519 {
        d: [u8; 32],
        x: Option<Vec<u8>>,
    },
}

/// The crypto crates' own key types: signing needs no DER round trip.
enum CryptoKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_type", &self.key_type)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a private JWK: RSA (`n`,`e`,`d`, optionally `p`,`q`), EC P-256/P-384
    /// (`d`, optionally `x`,`y`), OKP Ed25519 (`d`, optionally `x`) or oct
    /// (`k`). Each part is checked; whether they belong together is
    /// [`SigningKey::check_pair`]'s question.
    pub fn from_jwk(jwk: &Value) -> Result<SigningKey, MintError> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| MintError::new("key", "a key must be a JWK object"))?;
        let text = |name: &str| -> Result<Option<&str>, MintError> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(MintError::new(&format!("key.{name}"), "must be a string")),
            }
        };
        let bytes = |name: &str| -> Result<Vec<u8>, MintError> {
            let s = text(name)?.ok_or_else(|| {
                MintError::new(&format!("key.{name}"), "missing; a private JWK needs it")
            })?;
            b64url_decode(s).ok_or_else(|| {
                MintError::new(&format!("key.{name}"), "not base64url without padding")
            })
        };
        let kid = text("kid")?.map(str::to_owned);
        let alg =
            match text("alg")? {
                None => None,
                Some(name) => Some(Alg::from_name(name).ok_or_else(|| {
                    MintError::new("key.alg", format!("unknown algorithm {name}"))
                })?),
            };
        let kty = text("kty")?.ok_or_else(|| MintError::new("key.kty", "missing"))?;
        let (key_type, secret) = match kty {
            "RSA" => {
                let (n, e, d) = (bytes("n")?, bytes("e")?, bytes("d")?);
                keys::check_rsa(&n, &e, &JsonPath::root().field("key"))
                    .map_err(|e| MintError::new(&e.path, e.message))?;
                let primes = match (obj.contains_key("p"), obj.contains_key("q")) {
                    (true, true) => vec![bytes("p")?, bytes("q")?],
                    _ => Vec::new(),
                };
                let prime_refs: Vec<&[u8]> = primes.iter().map(Vec::as_slice).collect();
                if let Some(problem) = rsa_verify::private_key_problem(&n, &e, &d, &prime_refs) {
                    return Err(MintError::new(
                        "key",
                        format!("not a valid RSA private key: {problem}"),
                    ));
                }
                (KeyType::Rsa, Secret::Rsa { n, e, d, primes })
            }
            "EC" => {
                let key_type = match text("crv")? {
                    Some("P-256") => KeyType::EcP256,
                    Some("P-384") => KeyType::EcP384,
                    _ => return Err(MintError::new("key.crv", "use P-256 or P-384")),
                };
                let d = bytes("d")?;
                if let Some(problem) = ec::private_key_problem(key_type, &d) {
                    let curve = if key_type == KeyType::EcP256 {
                        "P-256"
                    } else {
                        "P-384"
                    };
                    return Err(MintError::new(
                        "key.d",
                        format!("not a {curve} private key: {problem}"),
                    ));
                }
                let public = match (obj.contains_key("x"), obj.contains_key("y")) {
                    (true, true) => Some((bytes("x")?, bytes("y")?)),
                    _ => None,
                };
                (key_type, Secret::Ec { d, public })
            }
            "OKP" => {
                if text("crv")? != Some("Ed25519") {
                    return Err(MintError::new("key.crv", "use Ed25519"));
                }
                let d: [u8; 32] = bytes("d")?
                    .try_into()
                    .map_err(|_| MintError::new("key.d", "an Ed25519 private key is 32 bytes"))?;
                let x = obj.contains_key("x").then(|| bytes("x")).transpose()?;
                (KeyType::Ed25519, Secret::Ed25519 { d, x })
            }
            "oct" => (KeyType::Hmac, Secret::Hmac(bytes("k")?)),
            other => {
                return Err(MintError::new(
                    "key.kty",
                    format!("unsupported key type {other}; use RSA, EC, OKP or oct"),
                ))
            }
        };
        Ok(SigningKey {
            key_type,
            kid,
            alg,
            secret,
            crypto: OnceLock::new(),
            public_jwk: public_jwk(obj),
        })
    }

    /// Checks that the key's parts belong together, as a policy that will
    /// sign with it needs to know when it loads: an RSA key's d undoes its
    /// e; an EC key's d is the private key of its x, y; an Ed25519 key's x
    /// is the public key of its d. (The RSA and EC signing crates check
    /// their part again when they build their key, at the first signature.)
    pub fn check_pair(&self) -> Result<(), MintError> {
        let problem = match &self.secret {
            Secret::Rsa { n, e, d, .. } => rsa_verify::private_exponent_problem(n, e, d),
            Secret::Ec {
                d,
                public: Some((x, y)),
            } => ec::public_point_problem(self.key_type, d, x, y),
            Secret::Ed25519 { d, x: Some(x) } => {
                let public = ed25519_dalek::SigningKey::from_bytes(d).verifying_key();
                (public.as_bytes().as_slice() != x.as_slice())
                    .then_some("x is not the public key of d")
            }
            _ => None,
        };
        match problem {
            Some(problem) => Err(MintError::new(
                "key",
                format!("not a valid private key: {problem}"),
            )),
            None => Ok(()),
        }
    }

    /// The crypto crate's key, built from the checked material once.
    fn crypto_key(&self) -> Result<&CryptoKey, MintError> {
        if let Some(key) = self.crypto.get() {
            return Ok(key);
        }
        let unusable = |e: &dyn fmt::Display| MintError::new("key", format!("unusable key: {e}"));
        let key = match &self.secret {
            Secret::Hmac(_) => return Err(MintError::new("key", "an HMAC key is its own secret")),
            Secret::Rsa { n, e, d, primes } => {
                let big = |b: &[u8]| rsa::BigUint::from_bytes_be(b);
                let primes = primes.iter().map(|p| big(p)).collect();
                rsa::RsaPrivateKey::from_components(big(n), big(e), big(d), primes)
                    .map(|key| CryptoKey::Rsa(Box::new(key)))
                    .map_err(|e| unusable(&e))?
            }
            Secret::Ec { d, .. } if self.key_type == KeyType::EcP256 => {
                p256::ecdsa::SigningKey::from_slice(d)
                    .map(CryptoKey::P256)
                    .map_err(|e| unusable(&e))?
            }
            Secret::Ec { d, .. } => p384::ecdsa::SigningKey::from_slice(d)
                .map(CryptoKey::P384)
                .map_err(|e| unusable(&e))?,
            Secret::Ed25519 { d, .. } => {
                CryptoKey::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(d)))
            }
        };
        Ok(self.crypto.get_or_init(|| key))
    }

    /// Signs `message` with `alg` (whose key type must be this key's).
    fn sign(&self, alg: Alg, message: &[u8]) -> Result<Vec<u8>, MintError> {
        use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
        use sha2::{Sha256, Sha384, Sha512};
        let failed = |e: &dyn fmt::Display| MintError::new("", format!("signing failed: {e}"));
        let hmac = |k: &[u8]| -> Result<Vec<u8>, MintError> {
            use hmac::{Hmac, Mac};
            let unusable = |_| MintError::new("key.k", "unusable HMAC key");
            Ok(match alg {
                Alg::HS256 => Hmac::<Sha256>::new_from_slice(k)
                    .map_err(unusable)?
                    .chain_update(message)
                    .finalize()
                    .into_bytes()
                    .to_vec(),
                Alg::HS384 => Hmac::<Sha384>::new_from_slice(k)
                    .map_err(unusable)?
                    .chain_update(message)
                    .finalize()
                    .into_bytes()
                    .to_vec(),
                _ => Hmac::<Sha512>::new_from_slice(k)
                    .map_err(unusable)?
                    .chain_update(message)
                    .finalize()
                    .into_bytes()
                    .to_vec(),
            })
        };
        let rsa_sign = |key: &rsa::RsaPrivateKey| -> Result<Vec<u8>, MintError> {
            let key = key.clone();
            let signature = match alg {
                Alg::RS256 => rsa::pkcs1v15::SigningKey::<Sha256>::new(key)
                    .try_sign(message)
                    .map(|s| s.to_vec()),
                Alg::RS384 => rsa::pkcs1v15::SigningKey::<Sha384>::new(key)
                    .try_sign(message)
                    .map(|s| s.to_vec()),
                Alg::RS512 => rsa::pkcs1v15::SigningKey::<Sha512>::new(key)
                    .try_sign(message)
                    .map(|s| s.to_vec()),
                Alg::PS256 => rsa::pss::BlindedSigningKey::<Sha256>::new(key)
                    .try_sign_with_rng(&mut OsRng, message)
                    .map(|s| s.to_vec()),
                Alg::PS384 => rsa::pss::BlindedSigningKey::<Sha384>::new(key)
                    .try_sign_with_rng(&mut OsRng, message)
                    .map(|s| s.to_vec()),
                _ => rsa::pss::BlindedSigningKey::<Sha512>::new(key)
                    .try_sign_with_rng(&mut OsRng, message)
                    .map(|s| s.to_vec()),
            };
            signature.map_err(|e| failed(&e))
        };
        if let Secret::Hmac(k) = &self.secret {
            return hmac(k);
        }
        match self.crypto_key()? {
            CryptoKey::Rsa(key) => rsa_sign(key),
            CryptoKey::P256(key) => {
                let signature: p256::ecdsa::Signature =
                    key.try_sign(message).map_err(|e| failed(&e))?;
                Ok(signature.to_vec())
            }
            CryptoKey::P384(key) => {
                let signature: p384::ecdsa::Signature =
                    key.try_sign(message).map_err(|e| failed(&e))?;
                Ok(signature.to_vec())
            }
            CryptoKey::Ed25519(key) => Ok(key.try_sign(message).map_err(|e| failed(&e))?.to_vec()),
        }
    }

    /// The public half as a JWK (for an HMAC key: the key itself, since
    /// verifier and signer share it).
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// The algorithm to use when none is given: the key's own, else the usual one for its type.
    pub fn default_alg(&self) -> Alg {
        self.alg.unwrap_or(self.key_type.default_alg())
    }
}

/// The public members of a JWK (private members removed). For `oct` keys the
/// whole key is returned: an HMAC verifier needs the secret.
pub fn public_jwk(jwk: &Map<String, Value>) -> Value {
    let is_oct = jwk.get("kty").and_then(Value::as_str) == Some("oct");
    let public: Map<String, Value> = jwk
        .iter()
        .filter(|(k, _)| {
            is_oct || !matches!(k.as_str(), "d" | "p" | "q" | "dp" | "dq" | "qi" | "oth")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(public)
}

/// Signs `header_json`.`payload_json` exactly as given (no re-serialisation,
/// so tests can mint tokens with odd JSON on purpose). `key` None with
/// `alg` None produces an unsigned token (`alg` must then say "none" in the header).
pub fn sign_raw(
    header_json: &[u8],
    payload_json: &[u8],
    signer: Option<(&SigningKey, Alg)>,
) -> Result<String, MintError> {
    let mut token = format!(
        "{}.{}",
        b64url_encode(header_json),
        b64url_encode(payload_json)
    );
    let signature = match signer {
        None => String::new(),
        Some((key, alg)) => {
            if alg.key_type() != key.key_type {
                return Err(MintError::new(
                    "alg",
                    format!(
                        "{alg} needs an {} but the key is an {}",
                        alg.key_type().describe(),
                        key.key_type.describe()
                    ),
                ));
            }
            b64url_encode(&key.sign(alg, token.as_bytes())?)
        }
    };
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// What [`mint`] signs.
#[derive(Debug, Default)]
pub struct MintRequest<'a> {
    /// `None` uses the key's default algorithm; `Some("none")` makes an unsigned token.
    pub alg: Option<&'a str>,
    /// The signing key; `None` for an unsigned (`alg: none`) token.
    pub key: Option<&'a SigningKey>,
    /// The payload.
    pub claims: Map<String, Value>,
    /// Merged over `{"alg", "typ": "JWT", "kid"}`; a `null` member removes one.
    pub header: Map<String, Value>,
}

/// Signs a token for `claims` with `key`.
pub fn mint(request: &MintRequest) -> Result<String, MintError> {
    let (header, payload) = encode_parts(request)?;
    sign_raw(&header, &payload, signer(request)?)
}

/// The key and algorithm that sign `request` (`None` for an unsigned token).
pub fn signer<'k>(request: &MintRequest<'k>) -> Result<Option<(&'k SigningKey, Alg)>, MintError> {
    match (request.alg, request.key) {
        (Some(n), _) if n.eq_ignore_ascii_case("none") => Ok(None),
        (alg, Some(key)) => {
            let alg = match alg {
                None => key.default_alg(),
                Some(n) => Alg::from_name(n)
                    .ok_or_else(|| MintError::new("alg", format!("unknown algorithm {n}")))?,
            };
            Ok(Some((key, alg)))
        }
        (_, None) => Err(MintError::new(
            "key",
            "a key is needed to sign (or set alg \"none\" for an unsigned test token)",
        )),
    }
}

/// The header and payload JSON of `request`: the header is
/// `{"alg", "typ": "JWT", "kid"}` with `request.header` merged over it.
pub fn encode_parts(request: &MintRequest) -> Result<(Vec<u8>, Vec<u8>), MintError> {
    let alg_name = match signer(request)? {
        Some((_, alg)) => alg.name(),
        None => "none",
    };
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(alg_name.to_owned()));
    header.insert("typ".into(), Value::String("JWT".into()));
    if let Some(kid) = request.key.and_then(|k| k.kid.clone()) {
        header.insert("kid".into(), Value::String(kid));
    }
    for (name, value) in &request.header {
        if value.is_null() {
            header.remove(name);
        } else {
            header.insert(name.clone(), value.clone());
        }
    }
    let header =
        serde_json::to_vec(&header).map_err(|e| MintError::new("header", e.to_string()))?;
    let payload =
        serde_json::to_vec(&request.claims).map_err(|e| MintError::new("claims", e.to_string()))?;
    Ok((header, payload))
}

/// Generates a fresh private JWK for `alg` (RSA 2048, P-256, P-384, Ed25519,
/// or an HMAC secret as long as the hash), with the OS random source.
pub fn generate_key(alg: Alg, kid: Option<&str>) -> Result<Value, MintError> {
    let fail = |what: &str, e: &dyn fmt::Display| MintError::new("", format!("{what}: {e}"));
    let mut jwk = match alg.key_type() {
        KeyType::Rsa => {
            use rsa::traits::{PrivateKeyParts, PublicKeyParts};
            let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048)
                .map_err(|e| fail("RSA key generation failed", &e))?;
            let b = |n: &rsa::BigUint| b64url_encode(&n.to_bytes_be());
            let [p, q] = key.primes() else {
                return Err(MintError::new(
                    "",
                    "RSA key generation gave an unexpected number of primes",
                ));
            };
            let (Some(dp), Some(dq), Some(qi)) = (key.dp(), key.dq(), key.crt_coefficient()) else {
                return Err(MintError::new("", "RSA key generation gave no CRT values"));
            };
            json!({
                "kty": "RSA", "n": b(key.n()), "e": b(key.e()), "d": b(key.d()),
                "p": b(p), "q": b(q), "dp": b(dp), "dq": b(dq), "qi": b(&qi),
            })
        }
        KeyType::EcP256 => {
            let secret = p256::SecretKey::random(&mut OsRng);
            let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &secret.public_key(),
                false,
            );
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(MintError::new(
                    "",
                    "P-256 key generation gave no coordinates",
                ));
            };
            json!({"kty": "EC", "crv": "P-256", "x": b64url_encode(x), "y": b64url_encode(y),
                   "d": b64url_encode(&secret.to_bytes())})
        }
        KeyType::EcP384 => {
            let secret = p384::SecretKey::random(&mut OsRng);
            let point = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &secret.public_key(),
                false,
            );
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(MintError::new(
                    "",
                    "P-384 key generation gave no coordinates",
                ));
            };
            json!({"kty": "EC", "crv": "P-384", "x": b64url_encode(x), "y": b64url_encode(y),
                   "d": b64url_encode(&secret.to_bytes())})
        }
        KeyType::Ed25519 => {
            let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
            json!({"kty": "OKP", "crv": "Ed25519",
                   "x": b64url_encode(key.verifying_key().as_bytes()),
                   "d": b64url_encode(&key.to_bytes())})
        }
        KeyType::Hmac => {
            let mut secret = vec![0u8; alg.min_hmac_key_len().unwrap_or(32)];
            getrandom::getrandom(&mut secret).map_err(|e| fail("no random source", &e))?;
            json!({"kty": "oct", "k": b64url_encode(&secret)})
        }
    };
    if let Some(obj) = jwk.as_object_mut() {
        obj.insert("alg".into(), Value::String(alg.name().to_owned()));
        obj.insert("use".into(), Value::String("sig".into()));
        if let Some(kid) = kid {
            obj.insert("kid".into(), Value::String(kid.to_owned()));
        }
    }
    Ok(jwk)
}

/// 16 random bytes, base64url: a `jti` or a key id.
pub fn random_id() -> Result<String, MintError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| MintError::new("", format!("no random source: {e}")))?;
    Ok(b64url_encode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_public_halves_have_no_secrets() {
        for alg in [Alg::ES256, Alg::ES384, Alg::EdDSA, Alg::HS384] {
            let jwk = generate_key(alg, Some("k1")).unwrap();
            let key = SigningKey::from_jwk(&jwk).unwrap();
            assert_eq!(key.default_alg(), alg);
            let public = key.public_jwk();
            if alg.key_type() != KeyType::Hmac {
                assert!(public.get("d").is_none(), "{public}");
            }
            let mut claims = Map::new();
            claims.insert("sub".into(), json!("x"));
            let token = mint(&MintRequest {
                key: Some(&key),
                claims,
                ..MintRequest::default()
            })
            .unwrap();
            assert_eq!(token.split('.').count(), 3);
        }
    }

    #[test]
    fn mismatched_alg_is_refused() {
        let jwk = generate_key(Alg::ES256, None).unwrap();
        let key = SigningKey::from_jwk(&jwk).unwrap();
        let err = mint(&MintRequest {
            alg: Some("RS256"),
            key: Some(&key),
            ..MintRequest::default()
        })
        .unwrap_err();
        assert!(err.message.contains("needs an RSA key"), "{err}");
    }

    #[test]
    fn unsigned_tokens_for_negative_tests() {
        let token = mint(&MintRequest {
            alg: Some("none"),
            ..MintRequest::default()
        })
        .unwrap();
        assert!(token.ends_with('.'));
    }
}
