//! Verification keys: JWKs (RFC 7517) and HMAC secrets from the policy, checked
//! once at load time so a weak or malformed key is a policy error, never a
//! silent acceptance at request time.

use crate::jose::alg::{Alg, KeyType};
use crate::jose::ec::EcPublicKey;
use crate::jose::json::JsonPath;
use crate::jose::rsa_verify::{RsaHash, RsaPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// Smallest RSA modulus accepted (NIST SP 800-57: 2048 bits until 2030).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus the verifier supports.
pub const MAX_RSA_BITS: usize = 4096;

/// JWK members that only a private key has; a policy holds public keys only.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// A key that may verify token signatures, with the JWK metadata that limits it.
pub struct VerificationKey {
    /// The key's `kid`, if it has one.
    pub kid: Option<String>,
    /// The JWK `alg`: when present, the only algorithm this key verifies.
    pub alg: Option<Alg>,
    /// The kind of key.
    pub key_type: KeyType,
    /// False when `use` or `key_ops` say the key is not for verifying signatures.
    pub verify_permitted: bool,
    /// Where the key sits in the policy, for traces (`jwks.keys[0]`).
    pub label: String,
    /// HMAC secret length in bytes, to check against each HS algorithm's minimum.
    pub secret_len: Option<usize>,
    /// The key, parsed once here.
    pub(crate) verifier: Verifier,
}

/// A parsed public key (or HMAC secret). RSA and ECDSA verify with
/// rolegate's own arithmetic ([`crate::jose::rsa_verify`],
/// [`crate::jose::ec`]); Ed25519 and HMAC with the RustCrypto crates,
/// called directly: going through jsonwebtoken's provider would link its
/// signers into every module that only verifies (the browser's and Envoy's).
pub(crate) enum Verifier {
    Rsa(RsaPublicKey),
    /// P-256 or P-384.
    Ec(EcPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Hmac(Vec<u8>),
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("key_type", &self.key_type)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// Whether this key may verify a signature made with `alg`; the error says why not.
    pub fn usable_for(&self, alg: Alg) -> Result<(), String> {
        if !self.verify_permitted {
            return Err(format!(
                "key {} is not for signature verification (its use/key_ops say so)",
                self.name()
            ));
        }
        if alg.key_type() != self.key_type {
            return Err(format!(
                "{alg} needs an {} but key {} is an {}",
                alg.key_type().describe(),
                self.name(),
                self.key_type.describe()
            ));
        }
        if let Some(own) = self.alg {
            if !own.admits(alg) {
                return Err(format!("key {} is for {own} only, not {alg}", self.name()));
            }
        }
        Ok(())
    }

    /// Reads one public JWK (RFC 7517) with the policy's checks.
    pub fn from_jwk(jwk: &Value) -> Result<VerificationKey, JwkError> {
        parse_jwk(jwk, "jwk".to_owned())
    }

    /// Whether `signature` (base64url) signs `message` with `alg`. Callers
    /// check [`VerificationKey::usable_for`] first.
    pub fn verify(&self, alg: Alg, message: &[u8], signature_b64: &str) -> bool {
        b64url_decode(signature_b64)
            .is_some_and(|signature| verify_with(&self.verifier, alg, message, &signature))
    }

    /// `kid "x"` when the key has one, else its place in the policy.
    pub fn name(&self) -> String {
        match &self.kid {
            Some(kid) => format!("\"{}\"", kid.escape_debug()),
            None => self.label.clone(),
        }
    }
}

/// The JWK SHA-256 thumbprint (RFC 7638) of a public key: base64url of the
/// hash of its required members, in lexicographic order, without spaces.
/// `None` when a required member is missing or not a string, or the key
/// type has no thumbprint here (only asymmetric keys sign DPoP proofs).
pub fn jwk_thumbprint(jwk: &serde_json::Map<String, Value>) -> Option<String> {
    use sha2::Digest as _;
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let members: &[&str] = match text("kty")? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = serde_json::Map::new();
    for name in members {
        canonical.insert((*name).to_owned(), Value::String(text(name)?.to_owned()));
    }
    // serde_json writes an object's members in key order, compactly.
    let json = serde_json::to_vec(&Value::Object(canonical)).ok()?;
    Some(b64url_encode(&sha2::Sha256::digest(json)))
}

/// Decodes base64url without padding, as JOSE requires (RFC 7515 §2).
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Base64url without padding (RFC 7515 §2).
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// JWE key-management algorithms (RFC 7518 §4): a key with one of these
/// encrypts, it never verifies a signature.
const ENCRYPTION_ALGS: [&str; 16] = [
    "RSA1_5",
    "RSA-OAEP",
    "RSA-OAEP-256",
    "RSA-OAEP-384",
    "RSA-OAEP-512",
    "A128KW",
    "A192KW",
    "A256KW",
    "dir",
    "ECDH-ES",
    "ECDH-ES+A128KW",
    "ECDH-ES+A192KW",
    "ECDH-ES+A256KW",
    "A128GCMKW",
    "A192GCMKW",
    "A256GCMKW",
];

/// Why a key of a pasted JWKS is skipped rather than refused: RFC 7517 sets
/// hold keys for other uses (Keycloak publishes its encryption key beside
/// the signing key) and algorithms or curves a reader does not support.
/// `None` for a key rolegate reads (and then checks strictly).
pub(crate) fn skip_reason(value: &Value) -> Option<String> {
    let jwk = value.as_object()?;
    let text = |k: &str| jwk.get(k).and_then(Value::as_str);
    if text("use") == Some("enc") {
        return Some("an encryption key (use: enc)".to_owned());
    }
    if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array) {
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return Some("its key_ops do not include verify".to_owned());
        }
    }
    if let Some(alg) = text("alg") {
        // PBES2-HS256+A128KW and its siblings are key wrapping too.
        if ENCRYPTION_ALGS.contains(&alg) || alg.starts_with("PBES2-") {
            return Some(format!("an encryption key (alg {alg})"));
        }
        if Alg::from_name(alg).is_none() && !alg.eq_ignore_ascii_case("none") {
            return Some(format!(
                "algorithm {} is not supported (rolegate verifies {})",
                alg.escape_debug(),
                crate::jose::alg::known_names()
            ));
        }
    }
    match (text("kty"), text("crv")) {
        (Some("RSA" | "oct"), _)
        | (Some("EC"), Some("P-256" | "P-384"))
        | (Some("OKP"), Some("Ed25519")) => None,
        // Missing members are the strict parser's to report.
        (None, _) | (Some("EC" | "OKP"), None) => None,
        (Some(kty), crv) => Some(format!(
            "key type {}{} is not supported",
            kty.escape_debug(),
            crv.map(|c| format!(" ({})", c.escape_debug()))
                .unwrap_or_default()
        )),
    }
}

/// What kind of mistake a [`JwkError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwkErrorKind {
    /// Not a usable key: weak, malformed, or not for verification.
    Key,
    WrongType,
    Value,
    Missing,
}

/// A JWK (or an HMAC secret) that cannot be used, with the member at fault
/// relative to the key (`crv`, `key_ops[1]`; empty for the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkError {
    pub path: String,
    pub kind: JwkErrorKind,
    pub message: String,
}

impl JwkError {
    fn new(path: &JsonPath, kind: JwkErrorKind, message: impl Into<String>) -> Self {
        JwkError {
            path: path.to_string(),
            kind,
            message: message.into(),
        }
    }
    fn key(path: &JsonPath, message: impl Into<String>) -> Self {
        JwkError::new(path, JwkErrorKind::Key, message)
    }
    fn wrong_type(path: &JsonPath, message: impl Into<String>) -> Self {
        JwkError::new(path, JwkErrorKind::WrongType, message)
    }
    fn value(path: &JsonPath, message: impl Into<String>) -> Self {
        JwkError::new(path, JwkErrorKind::Value, message)
    }
    fn missing(path: &JsonPath, message: impl Into<String>) -> Self {
        JwkError::new(path, JwkErrorKind::Missing, message)
    }
}

impl std::fmt::Display for JwkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for JwkError {}

/// Parses one JWK (a policy's `jwks.keys[i]`, a fetched set's `keys[i]`).
pub(crate) fn parse_jwk(value: &Value, label: String) -> Result<VerificationKey, JwkError> {
    let path = &JsonPath::root();
    let jwk = value
        .as_object()
        .ok_or_else(|| JwkError::wrong_type(path, "a JWK must be a JSON object"))?;
    for member in PRIVATE_MEMBERS {
        if jwk.contains_key(member) {
            return Err(JwkError::key(
                &path.field(member),
                "this is a private key; put only the public key in the policy \
                 (remove d, p, q, dp, dq, qi, oth)",
            ));
        }
    }
    let kty = required_str(jwk, "kty", path)?;
    let kid = optional_str(jwk, "kid", path)?.map(str::to_owned);
    let alg = match optional_str(jwk, "alg", path)? {
        None => None,
        Some(name) => Some(parse_alg_name(name, &path.field("alg"))?),
    };
    let verify_permitted = verify_permitted(jwk, path)?;

    let (key_type, verifier, secret_len) = match kty {
        "RSA" => {
            let n = required_b64(jwk, "n", path)?;
            let e = required_b64(jwk, "e", path)?;
            check_rsa(&n, &e, path)?;
            let key = RsaPublicKey::new(&n, &e)
                .ok_or_else(|| JwkError::key(path, "not a valid RSA public key"))?;
            (KeyType::Rsa, Verifier::Rsa(key), None)
        }
        "EC" => {
            let crv = required_str(jwk, "crv", path)?;
            let x = required_b64(jwk, "x", path)?;
            let y = required_b64(jwk, "y", path)?;
            let key_type = match crv {
                "P-256" => KeyType::EcP256,
                "P-384" => KeyType::EcP384,
                other => {
                    return Err(JwkError::key(
                        &path.field("crv"),
                        format!(
                            "curve \"{}\" is not supported; use P-256 (ES256) or P-384 (ES384)",
                            other.escape_debug()
                        ),
                    ))
                }
            };
            let verifier = ec_point(key_type, &x, &y, path)?;
            (key_type, verifier, None)
        }
        "OKP" => {
            let crv = required_str(jwk, "crv", path)?;
            if crv != "Ed25519" {
                return Err(JwkError::key(
                    &path.field("crv"),
                    format!(
                        "curve \"{}\" is not supported; EdDSA keys must be Ed25519",
                        crv.escape_debug()
                    ),
                ));
            }
            let x = required_b64(jwk, "x", path)?;
            (KeyType::Ed25519, ed25519_key(&x, path)?, None)
        }
        "oct" => {
            let k = required_b64(jwk, "k", path)?;
            let len = k.len();
            (KeyType::Hmac, Verifier::Hmac(k), Some(len))
        }
        other => {
            return Err(JwkError::key(
                &path.field("kty"),
                format!(
                    "key type \"{}\" is not supported; use RSA, EC, OKP or oct",
                    other.escape_debug()
                ),
            ))
        }
    };
    if let Some(alg) = alg {
        if alg.key_type() != key_type {
            return Err(JwkError::key(
                &path.field("alg"),
                format!(
                    "alg {alg} needs an {} but this JWK is an {}",
                    alg.key_type().describe(),
                    key_type.describe()
                ),
            ));
        }
    }
    Ok(VerificationKey {
        kid,
        alg,
        key_type,
        verify_permitted,
        label,
        secret_len,
        verifier,
    })
}

/// Builds an HMAC key from a policy's `secrets[i]` entry.
pub(crate) fn secret_key(
    kid: Option<&str>,
    k: &str,
    alg: Option<&str>,
    label: String,
) -> Result<VerificationKey, JwkError> {
    let path = &JsonPath::root();
    let bytes = b64url_decode(k).ok_or_else(|| {
        JwkError::key(
            &path.field("k"),
            "not base64url: encode the secret's bytes as base64url without padding",
        )
    })?;
    let alg = match alg {
        None => None,
        Some(name) => {
            let alg = parse_alg_name(name, &path.field("alg"))?;
            if alg.key_type() != KeyType::Hmac {
                return Err(JwkError::key(
                    &path.field("alg"),
                    format!("a secret is an HMAC key; {alg} is not an HMAC algorithm"),
                ));
            }
            Some(alg)
        }
    };
    Ok(VerificationKey {
        kid: kid.map(str::to_owned),
        alg,
        key_type: KeyType::Hmac,
        verify_permitted: true,
        label,
        secret_len: Some(bytes.len()),
        verifier: Verifier::Hmac(bytes),
    })
}

fn parse_alg_name(name: &str, path: &JsonPath) -> Result<Alg, JwkError> {
    if name.eq_ignore_ascii_case("none") {
        return Err(JwkError::value(
            path,
            "\"none\" is never allowed: anyone could forge an unsigned token",
        ));
    }
    Alg::from_name(name).ok_or_else(|| {
        JwkError::value(
            path,
            format!(
                "unknown algorithm \"{}\"; use one of {}",
                name.escape_debug(),
                crate::jose::alg::known_names()
            ),
        )
    })
}

pub(crate) fn parse_algorithm(name: &str) -> Result<Alg, JwkError> {
    parse_alg_name(name, &JsonPath::root())
}

/// RFC 7517 §4.2/§4.3: `use` must be "sig" and `key_ops` must contain "verify"
/// for the key to verify signatures.
fn verify_permitted(jwk: &Map<String, Value>, path: &JsonPath) -> Result<bool, JwkError> {
    let use_ok = match optional_str(jwk, "use", path)? {
        None => true,
        Some(u) => u == "sig",
    };
    let ops_ok = match jwk.get("key_ops") {
        None => true,
        Some(Value::Array(ops)) => {
            let mut found = false;
            for (i, op) in ops.iter().enumerate() {
                match op.as_str() {
                    Some(op) => found |= op == "verify",
                    None => {
                        return Err(JwkError::wrong_type(
                            &path.field("key_ops").index(i),
                            "key_ops entries must be strings",
                        ))
                    }
                }
            }
            found
        }
        Some(_) => {
            return Err(JwkError::wrong_type(
                &path.field("key_ops"),
                "key_ops must be an array of strings",
            ))
        }
    };
    Ok(use_ok && ops_ok)
}

/// The checks of an RSA key's public part, for keys a policy trusts and
/// keys it signs with: 2048 to 4096 bits, an odd modulus, an odd exponent
/// from 3 to 2^33, no ROCA fingerprint.
pub(crate) fn check_rsa(n: &[u8], e: &[u8], path: &JsonPath) -> Result<(), JwkError> {
    let bits = bit_length(n);
    if bits < MIN_RSA_BITS {
        return Err(JwkError::key(
            &path.field("n"),
            format!("RSA key is {bits} bits; at least {MIN_RSA_BITS} bits are required"),
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(JwkError::key(
            &path.field("n"),
            format!("RSA key is {bits} bits; at most {MAX_RSA_BITS} bits are supported"),
        ));
    }
    if n.last().is_some_and(|b| b & 1 == 0) {
        return Err(JwkError::key(
            &path.field("n"),
            "an RSA modulus is odd (a product of two odd primes); copy the key again from its source",
        ));
    }
    let e_odd = e.last().is_some_and(|b| b & 1 == 1);
    if !e_odd || bit_length(e) < 2 || bit_length(e) > 33 {
        return Err(JwkError::key(
            &path.field("e"),
            "RSA public exponent must be an odd number from 3 to 2^33 (usually 65537, \"AQAB\")",
        ));
    }
    if has_roca_fingerprint(n) {
        return Err(JwkError::key(
            &path.field("n"),
            "this RSA key has the ROCA weakness (CVE-2017-15361, Infineon key generation): \
             its private key can be computed; generate a new key elsewhere",
        ));
    }
    Ok(())
}

/// The ROCA fingerprint (Nemec et al., CCS 2017): moduli from the flawed
/// Infineon generator are, modulo each small prime p, a power of 65537. An
/// ordinary modulus passes all these tests with negligible probability.
fn has_roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n
            .iter()
            .fold(0u32, |acc, b| (acc * 256 + u32::from(*b)) % p);
        // Walk the subgroup generated by 65537 mod p.
        let generator = 65537 % p;
        let mut power = 1u32;
        loop {
            if power == residue {
                return true;
            }
            power = power * generator % p;
            if power == 1 {
                return false;
            }
        }
    })
}

fn bit_length(bytes: &[u8]) -> usize {
    let mut rest = bytes.iter().skip_while(|b| **b == 0);
    match rest.next() {
        None => 0,
        Some(first) => 8 - first.leading_zeros() as usize + 8 * rest.count(),
    }
}

/// The public point (x, y) of an EC JWK, checked to be on its curve.
fn ec_point(key_type: KeyType, x: &[u8], y: &[u8], path: &JsonPath) -> Result<Verifier, JwkError> {
    let size = crate::jose::ec::coordinate_size(key_type).unwrap_or(0);
    for (name, coord) in [("x", x), ("y", y)] {
        if coord.len() != size {
            return Err(JwkError::key(
                &path.field(name),
                format!(
                    "coordinate is {} bytes; this curve needs exactly {size}",
                    coord.len()
                ),
            ));
        }
    }
    EcPublicKey::new(key_type, x, y)
        .map(Verifier::Ec)
        .ok_or_else(|| {
            JwkError::key(
                path,
                "x and y are not a point on the curve; copy the key again from its source",
            )
        })
}

/// Whether `signature` (raw bytes) signs `message` with `alg` under `key`:
/// RSA PKCS#1 v1.5 and PSS, ECDSA as r || s (RFC 7518 §3.4), Ed25519 (RFC
/// 8037), HMAC compared in constant time.
fn verify_with(key: &Verifier, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
    use ed25519_dalek::Verifier as _;
    use hmac::{Hmac, Mac};
    fn mac<M: Mac + hmac::digest::KeyInit>(
        secret: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        <M as Mac>::new_from_slice(secret).is_ok_and(|mut m| {
            m.update(message);
            m.verify_slice(signature).is_ok()
        })
    }
    match (key, alg) {
        (Verifier::Rsa(key), Alg::RS256) => {
            key.verify_pkcs1v15(RsaHash::Sha256, message, signature)
        }
        (Verifier::Rsa(key), Alg::RS384) => {
            key.verify_pkcs1v15(RsaHash::Sha384, message, signature)
        }
        (Verifier::Rsa(key), Alg::RS512) => {
            key.verify_pkcs1v15(RsaHash::Sha512, message, signature)
        }
        (Verifier::Rsa(key), Alg::PS256) => key.verify_pss(RsaHash::Sha256, message, signature),
        (Verifier::Rsa(key), Alg::PS384) => key.verify_pss(RsaHash::Sha384, message, signature),
        (Verifier::Rsa(key), Alg::PS512) => key.verify_pss(RsaHash::Sha512, message, signature),
        (Verifier::Ec(key), Alg::ES256 | Alg::ES384) => {
            alg.key_type() == key.key_type() && key.verify(message, signature)
        }
        (Verifier::Ed25519(key), Alg::EdDSA | Alg::Ed25519) => {
            ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| key.verify(message, &s).is_ok())
        }
        (Verifier::Hmac(secret), Alg::HS256) => {
            mac::<Hmac<sha2::Sha256>>(secret, message, signature)
        }
        (Verifier::Hmac(secret), Alg::HS384) => {
            mac::<Hmac<sha2::Sha384>>(secret, message, signature)
        }
        (Verifier::Hmac(secret), Alg::HS512) => {
            mac::<Hmac<sha2::Sha512>>(secret, message, signature)
        }
        _ => false,
    }
}

fn ed25519_key(x: &[u8], path: &JsonPath) -> Result<Verifier, JwkError> {
    let bytes: [u8; 32] = x.try_into().map_err(|_| {
        JwkError::key(
            &path.field("x"),
            format!("an Ed25519 public key is 32 bytes, this one is {}", x.len()),
        )
    })?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map(Verifier::Ed25519)
        .map_err(|_| JwkError::key(&path.field("x"), "not a valid Ed25519 public key"))
}

fn optional_str<'a>(
    jwk: &'a Map<String, Value>,
    name: &str,
    path: &JsonPath,
) -> Result<Option<&'a str>, JwkError> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwkError::wrong_type(
            &path.field(name),
            format!("{name} must be a string"),
        )),
    }
}

fn required_str<'a>(
    jwk: &'a Map<String, Value>,
    name: &str,
    path: &JsonPath,
) -> Result<&'a str, JwkError> {
    optional_str(jwk, name, path)?
        .ok_or_else(|| JwkError::missing(&path.field(name), format!("this JWK needs \"{name}\"")))
}

fn required_b64(
    jwk: &Map<String, Value>,
    name: &str,
    path: &JsonPath,
) -> Result<Vec<u8>, JwkError> {
    let text = required_str(jwk, name, path)?;
    b64url_decode(text).ok_or_else(|| {
        JwkError::key(
            &path.field(name),
            "not base64url without padding (RFC 7517); copy the key again from its source",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roca_fingerprint() {
        // Powers of 65537 have the fingerprint by construction; ordinary
        // moduli (the test keys) do not.
        let mut power = vec![1u8];
        for _ in 0..200 {
            let mut carry = 0u32;
            for byte in power.iter_mut().rev() {
                let v = u32::from(*byte) * 65537 + carry;
                *byte = v as u8;
                carry = v >> 8;
            }
            while carry > 0 {
                power.insert(0, carry as u8);
                carry >>= 8;
            }
        }
        assert!(has_roca_fingerprint(&power));
        let keys: Value =
            serde_json::from_str(include_str!("../../tests/vectors/keys.json")).unwrap();
        for name in ["rsa-a", "rsa-b", "ps-a", "attacker-rsa"] {
            let n = b64url_decode(keys["keys"][name]["n"].as_str().unwrap()).unwrap();
            assert!(!has_roca_fingerprint(&n), "{name}");
        }
    }

    #[test]
    fn rsa_public_parts_are_checked_in_one_place() {
        let keys: Value =
            serde_json::from_str(include_str!("../../tests/vectors/keys.json")).unwrap();
        let n = b64url_decode(keys["keys"]["rsa-a"]["n"].as_str().unwrap()).unwrap();
        let path = JsonPath::root().field("key");
        assert!(check_rsa(&n, &[1, 0, 1], &path).is_ok());
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        let err = check_rsa(&even, &[1, 0, 1], &path).unwrap_err();
        assert_eq!((err.path.as_str(), err.kind), ("key.n", JwkErrorKind::Key));
        assert!(err.message.contains("odd"), "{}", err.message);
        for e in [&[1u8][..], &[2], &[1, 0, 0], &[3, 0, 0, 0, 0, 1]] {
            assert_eq!(check_rsa(&n, e, &path).unwrap_err().path, "key.e", "{e:?}");
        }
        assert_eq!(check_rsa(&n[..128], &[3], &path).unwrap_err().path, "key.n");
    }

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk: Value = serde_json::from_str(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            jwk_thumbprint(jwk.as_object().unwrap()).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        let oct: Value = serde_json::from_str(r#"{"kty":"oct","k":"AAAA"}"#).unwrap();
        assert_eq!(jwk_thumbprint(oct.as_object().unwrap()), None);
        let incomplete: Value =
            serde_json::from_str(r#"{"kty":"EC","crv":"P-256","x":"AA"}"#).unwrap();
        assert_eq!(jwk_thumbprint(incomplete.as_object().unwrap()), None);
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x01, 0x00, 0x01]), 17);
    }
}
