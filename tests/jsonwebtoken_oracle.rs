//! rolegate verifies signatures with the RustCrypto crates directly (and RSA
//! with its own arithmetic); jsonwebtoken 11 with its rust_crypto backend is
//! the oracle. For every algorithm and test key: valid signatures, broken
//! ones (each byte flipped somewhere), signatures of another message, wrong
//! lengths and the other key's signatures must get the same answer from both.

use jsonwebtoken::crypto::verify as oracle_verify;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use rolegate::testing::{b64url_decode, b64url_encode, mint, public_jwk, MintRequest, SigningKey};
use rolegate::testing::{Alg, VerificationKey};
use serde_json::{json, Map, Value};

fn keys() -> Map<String, Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/keys.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["keys"].as_object().unwrap().clone()
}

fn oracle_alg(alg: Alg) -> Algorithm {
    match alg {
        Alg::HS256 => Algorithm::HS256,
        Alg::HS384 => Algorithm::HS384,
        Alg::HS512 => Algorithm::HS512,
        Alg::RS256 => Algorithm::RS256,
        Alg::RS384 => Algorithm::RS384,
        Alg::RS512 => Algorithm::RS512,
        Alg::PS256 => Algorithm::PS256,
        Alg::PS384 => Algorithm::PS384,
        Alg::PS512 => Algorithm::PS512,
        Alg::ES256 => Algorithm::ES256,
        Alg::ES384 => Algorithm::ES384,
        Alg::EdDSA | Alg::Ed25519 => Algorithm::EdDSA,
    }
}

/// The public key as both sides load it.
fn both(private: &Value) -> (VerificationKey, DecodingKey) {
    let public = match private["kty"].as_str() {
        Some("oct") => private.clone(),
        _ => public_jwk(private.as_object().unwrap()),
    };
    let mut jwk = public.clone();
    jwk.as_object_mut().unwrap().remove("alg");
    let ours = VerificationKey::from_jwk(&jwk).unwrap();
    let theirs = match private["kty"].as_str() {
        Some("oct") => {
            DecodingKey::from_secret(&b64url_decode(private["k"].as_str().unwrap()).unwrap())
        }
        _ => DecodingKey::from_jwk(&serde_json::from_value::<Jwk>(jwk).unwrap()).unwrap(),
    };
    (ours, theirs)
}

/// `(message, signature)` of a token signed with `key`.
fn signed(key: &SigningKey, alg: Alg, claims: Value) -> (Vec<u8>, String) {
    let token = mint(&MintRequest {
        alg: Some(alg.name()),
        key: Some(key),
        claims: claims.as_object().unwrap().clone(),
        ..MintRequest::default()
    })
    .unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    (message.as_bytes().to_vec(), signature.to_owned())
}

fn agree(
    what: &str,
    ours: &VerificationKey,
    theirs: &DecodingKey,
    alg: Alg,
    message: &[u8],
    signature: &str,
) -> bool {
    let mine = ours.verify(alg, message, signature);
    let oracle = oracle_verify(signature, message, theirs, oracle_alg(alg)).unwrap_or(false);
    assert_eq!(
        mine, oracle,
        "{what}: rolegate says {mine}, jsonwebtoken says {oracle}"
    );
    mine
}

#[test]
fn every_algorithm_agrees_with_jsonwebtoken_on_good_and_broken_signatures() {
    let keys = keys();
    let cases: [(&str, &[Alg]); 5] = [
        (
            "rsa-a",
            &[
                Alg::RS256,
                Alg::RS384,
                Alg::RS512,
                Alg::PS256,
                Alg::PS384,
                Alg::PS512,
            ],
        ),
        ("ec-a", &[Alg::ES256]),
        ("ec384-a", &[Alg::ES384]),
        ("ed-a", &[Alg::EdDSA]),
        ("hs-a", &[Alg::HS256, Alg::HS384, Alg::HS512]),
    ];
    let mut checked = 0;
    for (name, algs) in cases {
        let private = &keys[name];
        let key = SigningKey::from_jwk(private).unwrap();
        let (ours, theirs) = both(private);
        for &alg in algs {
            for n in 0..3 {
                let (message, signature) = signed(&key, alg, json!({"sub": "oracle", "n": n}));
                let what = format!("{name} {alg} #{n}");
                assert!(
                    agree(&what, &ours, &theirs, alg, &message, &signature),
                    "{what}: valid"
                );
                // Every position of the signature, one byte changed.
                let raw = b64url_decode(&signature).unwrap();
                for i in (0..raw.len()).step_by(1 + raw.len() / 24) {
                    let mut bad = raw.clone();
                    bad[i] ^= 0x01 << (i % 8);
                    agree(
                        &format!("{what} byte {i}"),
                        &ours,
                        &theirs,
                        alg,
                        &message,
                        &b64url_encode(&bad),
                    );
                }
                // Too short, too long, empty, another message, not base64url.
                agree(
                    &format!("{what} short"),
                    &ours,
                    &theirs,
                    alg,
                    &message,
                    &b64url_encode(&raw[..raw.len() - 1]),
                );
                let mut long = raw.clone();
                long.push(0);
                agree(
                    &format!("{what} long"),
                    &ours,
                    &theirs,
                    alg,
                    &message,
                    &b64url_encode(&long),
                );
                agree(&format!("{what} empty"), &ours, &theirs, alg, &message, "");
                let mut other = message.clone();
                other.push(b'x');
                assert!(!agree(
                    &format!("{what} other message"),
                    &ours,
                    &theirs,
                    alg,
                    &other,
                    &signature
                ));
                agree(
                    &format!("{what} not base64url"),
                    &ours,
                    &theirs,
                    alg,
                    &message,
                    "a+b/c=",
                );
                checked += 1;
            }
        }
    }
    // ECDSA's other valid signature (r, n - s): both accept it or both refuse.
    let p256_key = SigningKey::from_jwk(&keys["ec-a"]).unwrap();
    let (ours, theirs) = both(&keys["ec-a"]);
    let (message, signature) = signed(&p256_key, Alg::ES256, json!({"sub": "malleable"}));
    let raw = b64url_decode(&signature).unwrap();
    use p256::elliptic_curve::PrimeField;
    let mut repr = p256::FieldBytes::default();
    repr.copy_from_slice(&raw[32..]);
    let s = p256::Scalar::from_repr(repr).unwrap();
    let mut flipped = raw[..32].to_vec();
    flipped.extend_from_slice(&(-s).to_bytes());
    agree(
        "ES256 (r, n - s)",
        &ours,
        &theirs,
        Alg::ES256,
        &message,
        &b64url_encode(&flipped),
    );
    // Another key's signature.
    let other = SigningKey::from_jwk(&keys["attacker-ec"]).unwrap();
    let (message, signature) = signed(&other, Alg::ES256, json!({"sub": "attacker"}));
    assert!(!agree(
        "ES256 by another key",
        &ours,
        &theirs,
        Alg::ES256,
        &message,
        &signature
    ));
    assert_eq!(checked, 36, "12 algorithms x 3 tokens");
}
