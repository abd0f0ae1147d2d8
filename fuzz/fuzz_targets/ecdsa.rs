//! rolegate's ECDSA verification and EC key checks (src/jose/ec.rs) against
//! the `p256` and `p384` crates: for a private scalar and a message from the
//! input, the genuine signature verifies, and any signature the input
//! supplies or makes by changing one byte verifies exactly when the crate's
//! does. The key's own pair check agrees too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::{Signer, Verifier};
use rolegate::testing::{b64url_encode, Alg, SigningKey, VerificationKey};
use serde_json::json;

/// The crate's verdict on a signature of the input's message.
type Verdict = Box<dyn Fn(&[u8]) -> bool>;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (alg, crv, size) = if selector & 1 == 0 {
        (Alg::ES256, "P-256", 32)
    } else {
        (Alg::ES384, "P-384", 48)
    };
    if rest.len() < size + 2 * size + 2 {
        return;
    }
    let (d, rest) = rest.split_at(size);
    let (candidate, rest) = rest.split_at(2 * size);
    let Some((&[at, flip], message)) = rest.split_first_chunk::<2>() else {
        return;
    };
    // The crate's key, signature and verdicts.
    let (point, genuine, reference): (Vec<u8>, Vec<u8>, Verdict) = if size == 32 {
        let Ok(key) = p256::ecdsa::SigningKey::from_slice(d) else {
            assert!(
                SigningKey::from_jwk(&jwk(crv, d, None)).is_err(),
                "d accepted"
            );
            return;
        };
        let public = *key.verifying_key();
        let signature: p256::ecdsa::Signature = key.sign(message);
        let point = public.to_encoded_point(false).as_bytes().to_vec();
        let message = message.to_vec();
        (
            point,
            signature.to_vec(),
            Box::new(move |s: &[u8]| {
                p256::ecdsa::Signature::from_slice(s)
                    .is_ok_and(|s| public.verify(&message, &s).is_ok())
            }),
        )
    } else {
        let Ok(key) = p384::ecdsa::SigningKey::from_slice(d) else {
            assert!(
                SigningKey::from_jwk(&jwk(crv, d, None)).is_err(),
                "d accepted"
            );
            return;
        };
        let public = *key.verifying_key();
        let signature: p384::ecdsa::Signature = key.sign(message);
        let point = public.to_encoded_point(false).as_bytes().to_vec();
        let message = message.to_vec();
        (
            point,
            signature.to_vec(),
            Box::new(move |s: &[u8]| {
                p384::ecdsa::Signature::from_slice(s)
                    .is_ok_and(|s| public.verify(&message, &s).is_ok())
            }),
        )
    };
    let (x, y) = point[1..].split_at(size);
    let private = SigningKey::from_jwk(&jwk(crv, d, Some((x, y)))).expect("a valid scalar");
    private
        .check_pair()
        .expect("d is the private key of its own point");
    let public = json!({"kty": "EC", "crv": crv, "x": b64url_encode(x), "y": b64url_encode(y)});
    let ours = VerificationKey::from_jwk(&public).expect("a point on the curve");
    let verify = |s: &[u8]| ours.verify(alg, message, &b64url_encode(s));
    assert!(verify(&genuine), "genuine signature refused");
    let mut changed = genuine.clone();
    let at = usize::from(at) % changed.len();
    changed[at] ^= flip.max(1);
    for signature in [candidate, &changed] {
        assert_eq!(
            verify(signature),
            reference(signature),
            "{}",
            b64url_encode(signature)
        );
    }
});

fn jwk(crv: &str, d: &[u8], point: Option<(&[u8], &[u8])>) -> serde_json::Value {
    let mut jwk = json!({"kty": "EC", "crv": crv, "d": b64url_encode(d)});
    if let Some((x, y)) = point {
        jwk["x"] = json!(b64url_encode(x));
        jwk["y"] = json!(b64url_encode(y));
    }
    jwk
}
