//! rolegate's own RSA verification (src/jose/rsa_verify.rs) against the Wycheproof
//! RSA PKCS#1 v1.5 and PSS vectors (read from ../shared/vectors/wycheproof) and
//! against the `rsa` crate on random keys, messages and signatures.

mod support;

use rolegate::testing::{RsaHash, RsaPublicKey};
use rsa::pkcs1v15;
use rsa::pss;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use sha2::{Sha256, Sha384, Sha512};
use support::wycheproof::{hex, load as wycheproof, mismatch};
use support::{Rng, TestKeys};

fn sha(name: &str) -> RsaHash {
    match name {
        "SHA-256" => RsaHash::Sha256,
        "SHA-384" => RsaHash::Sha384,
        "SHA-512" => RsaHash::Sha512,
        other => panic!("unexpected hash {other}"),
    }
}

/// Runs a Wycheproof signature file; `acceptable` cases may go either way.
fn run(file: &str, verify: impl Fn(&RsaPublicKey, RsaHash, &[u8], &[u8]) -> bool) -> usize {
    let doc = wycheproof(file);
    let mut failures = Vec::new();
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let key = RsaPublicKey::new(
            &hex(group["publicKey"]["modulus"].as_str().unwrap()),
            &hex(group["publicKey"]["publicExponent"].as_str().unwrap()),
        )
        .expect("Wycheproof keys are valid");
        let hash = sha(group["sha"].as_str().unwrap());
        for test in group["tests"].as_array().unwrap() {
            count += 1;
            let ok = verify(
                &key,
                hash,
                &hex(test["msg"].as_str().unwrap()),
                &hex(test["sig"].as_str().unwrap()),
            );
            failures.extend(mismatch(test, ok));
        }
    }
    assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n"));
    count
}

#[test]
fn wycheproof_pkcs1v15() {
    let n = run("rsa_signature_2048_sha256_test.json", |k, h, m, s| {
        k.verify_pkcs1v15(h, m, s)
    });
    assert!(n > 200);
}

#[test]
fn wycheproof_pss() {
    let doc = wycheproof("rsa_pss_2048_sha256_mgf1_32_test.json");
    for group in doc["testGroups"].as_array().unwrap() {
        // rolegate's PSS is the JWA one: MGF1 with the same hash, salt = hash length.
        assert_eq!(group["mgfSha"], group["sha"]);
        assert_eq!(group["sLen"], 32);
    }
    let n = run("rsa_pss_2048_sha256_mgf1_32_test.json", |k, h, m, s| {
        k.verify_pss(h, m, s)
    });
    assert!(n > 100);
}

fn private(keys: &TestKeys, name: &str) -> rsa::RsaPrivateKey {
    let jwk = keys.private(name);
    let b = |f: &str| {
        rsa::BigUint::from_bytes_be(
            &rolegate::testing::b64url_decode(jwk[f].as_str().unwrap()).unwrap(),
        )
    };
    rsa::RsaPrivateKey::from_components(b("n"), b("e"), b("d"), vec![b("p"), b("q")]).unwrap()
}

/// Differential test against the `rsa` crate: genuine signatures verify,
/// every mutation verifies exactly when the reference says so, and the raw
/// public operation agrees on random inputs.
#[test]
fn agrees_with_the_rsa_crate() {
    let keys = TestKeys::load();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for name in ["rsa-a", "rsa-b", "attacker-rsa", "ps-a"] {
        let sk = private(&keys, name);
        let pk = sk.to_public_key();
        let ours = RsaPublicKey::new(&pk.n().to_bytes_be(), &pk.e().to_bytes_be()).unwrap();
        for round in 0..12 {
            let len = (rng.next() % 300) as usize;
            let msg = rng.bytes(len);
            let cases: Vec<(RsaHash, bool, Vec<u8>)> = vec![
                (
                    RsaHash::Sha256,
                    false,
                    pkcs1v15::SigningKey::<Sha256>::new(sk.clone())
                        .sign(&msg)
                        .to_vec(),
                ),
                (
                    RsaHash::Sha384,
                    false,
                    pkcs1v15::SigningKey::<Sha384>::new(sk.clone())
                        .sign(&msg)
                        .to_vec(),
                ),
                (
                    RsaHash::Sha512,
                    false,
                    pkcs1v15::SigningKey::<Sha512>::new(sk.clone())
                        .sign(&msg)
                        .to_vec(),
                ),
                (
                    RsaHash::Sha256,
                    true,
                    pss::SigningKey::<Sha256>::new_with_salt_len(sk.clone(), 32)
                        .sign_with_rng(&mut rand_core::OsRng, &msg)
                        .to_vec(),
                ),
                (
                    RsaHash::Sha384,
                    true,
                    pss::SigningKey::<Sha384>::new_with_salt_len(sk.clone(), 48)
                        .sign_with_rng(&mut rand_core::OsRng, &msg)
                        .to_vec(),
                ),
                (
                    RsaHash::Sha512,
                    true,
                    pss::SigningKey::<Sha512>::new_with_salt_len(sk.clone(), 64)
                        .sign_with_rng(&mut rand_core::OsRng, &msg)
                        .to_vec(),
                ),
            ];
            for (hash, is_pss, sig) in cases {
                let verify = |s: &[u8]| {
                    if is_pss {
                        ours.verify_pss(hash, &msg, s)
                    } else {
                        ours.verify_pkcs1v15(hash, &msg, s)
                    }
                };
                let reference = |s: &[u8]| -> bool {
                    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(s) else {
                        return false;
                    };
                    let pss_sig = rsa::pss::Signature::try_from(s);
                    match (hash, is_pss) {
                        (RsaHash::Sha256, false) => {
                            pkcs1v15::VerifyingKey::<Sha256>::new(pk.clone())
                                .verify(&msg, &sig)
                                .is_ok()
                        }
                        (RsaHash::Sha384, false) => {
                            pkcs1v15::VerifyingKey::<Sha384>::new(pk.clone())
                                .verify(&msg, &sig)
                                .is_ok()
                        }
                        (RsaHash::Sha512, false) => {
                            pkcs1v15::VerifyingKey::<Sha512>::new(pk.clone())
                                .verify(&msg, &sig)
                                .is_ok()
                        }
                        (RsaHash::Sha256, true) => {
                            pss::VerifyingKey::<Sha256>::new_with_salt_len(pk.clone(), 32)
                                .verify(&msg, &pss_sig.unwrap())
                                .is_ok()
                        }
                        (RsaHash::Sha384, true) => {
                            pss::VerifyingKey::<Sha384>::new_with_salt_len(pk.clone(), 48)
                                .verify(&msg, &pss_sig.unwrap())
                                .is_ok()
                        }
                        (RsaHash::Sha512, true) => {
                            pss::VerifyingKey::<Sha512>::new_with_salt_len(pk.clone(), 64)
                                .verify(&msg, &pss_sig.unwrap())
                                .is_ok()
                        }
                    }
                };
                assert!(
                    verify(&sig),
                    "{name} round {round} {hash:?} pss={is_pss}: genuine signature refused"
                );
                assert!(
                    !ours.verify_pkcs1v15(RsaHash::Sha256, b"other", &sig)
                        || hash != RsaHash::Sha256
                        || is_pss
                );
                for _ in 0..6 {
                    let mut bad = sig.clone();
                    let i = (rng.next() as usize) % bad.len();
                    bad[i] ^= 1 << (rng.next() % 8);
                    assert_eq!(
                        verify(&bad),
                        reference(&bad),
                        "{name} {hash:?} pss={is_pss}: mutated byte {i}"
                    );
                }
                let mut short = sig.clone();
                short.remove(0);
                assert!(!verify(&short), "a short signature never verifies");
            }
            // The raw public operation equals the reference modular exponentiation.
            let mut x = rng.bytes(ours.bits() / 8);
            x[0] &= 0x7f;
            let reference =
                rsa::hazmat::rsa_encrypt(&pk, &rsa::BigUint::from_bytes_be(&x)).unwrap();
            let mut expected = reference.to_bytes_be();
            while expected.len() < x.len() {
                expected.insert(0, 0);
            }
            assert_eq!(
                ours.public_op(&x).unwrap(),
                expected,
                "{name}: raw x^e mod n"
            );
        }
    }
}

/// The modular exponentiation itself against the `rsa` crate's big integers:
/// random odd moduli of every limb count from 16 to 129 bytes' worth and a
/// few RSA sizes, public exponents small and large, and the inputs where
/// carries are longest (0, 1, n - 1, all-ones limbs) besides random ones.
#[test]
fn public_operation_agrees_with_big_integer_arithmetic() {
    use rsa::BigUint;
    let mut rng = Rng(0x5eed_cafe_f00d_0002);
    let sizes = (64..=516).step_by(3).chain([256, 384, 512]);
    for (case, len) in sizes.enumerate() {
        let mut n = rng.bytes(len);
        n[0] |= 0x80 >> (case % 8); // vary the top bit's position
        n[0] &= 0xff >> (case % 8);
        n[0] = n[0].max(1);
        *n.last_mut().unwrap() |= 1;
        let e: u64 = match case % 3 {
            0 => 65537,
            1 => 3,
            _ => rng.next() | 1 | (1 << 63),
        };
        let key = RsaPublicKey::new(&n, &e.to_be_bytes()).expect("valid modulus");
        let big_n = BigUint::from_bytes_be(&n);
        let big_e = BigUint::from(e);
        let n_minus_1 = {
            let mut m = n.clone();
            *m.last_mut().unwrap() ^= 1;
            m
        };
        let mut all_ones = vec![0xff; len];
        all_ones[0] = n[0] >> 1; // below n
        let mut inputs = vec![vec![0; len], n_minus_1, all_ones];
        let mut one = vec![0; len];
        one[len - 1] = 1;
        inputs.push(one);
        for _ in 0..4 {
            let mut x = rng.bytes(len);
            x[0] %= n[0];
            inputs.push(x);
        }
        for x in inputs {
            let expected = BigUint::from_bytes_be(&x).modpow(&big_e, &big_n);
            let mut expected = expected.to_bytes_be();
            while expected.len() < len {
                expected.insert(0, 0);
            }
            let ours = key.public_op(&x).expect("input below n");
            assert_eq!(ours, expected, "{len}-byte modulus, e = {e}, x = {x:02x?}");
        }
    }
}
