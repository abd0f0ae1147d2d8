//! rolegate's RSA public operation (src/rsa_verify.rs) against the `rsa`
//! crate's big integers: x^e mod n for any odd modulus of 64 to 512 bytes,
//! any odd exponent from 3 up, and any input (refused exactly when >= n).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolegate::testing::RsaPublicKey;
use rsa::BigUint;

fuzz_target!(|data: &[u8]| {
    let Some((e, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let e = u64::from_be_bytes(*e) | 1;
    let len = rest.len() / 2;
    if e < 3 || !(64..=512).contains(&len) {
        return;
    }
    let mut n = rest[..len].to_vec();
    n[0] = n[0].max(1);
    n[len - 1] |= 1;
    let x = &rest[len..2 * len];
    let key = RsaPublicKey::new(&n, &e.to_be_bytes()).expect("an odd modulus of 64+ bytes");
    let big_n = BigUint::from_bytes_be(&n);
    let big_x = BigUint::from_bytes_be(x);
    let ours = key.public_op(x);
    if big_x >= big_n {
        assert_eq!(ours, None, "an input >= n is refused");
        return;
    }
    let mut expected = big_x.modpow(&BigUint::from(e), &big_n).to_bytes_be();
    while expected.len() < len {
        expected.insert(0, 0);
    }
    assert_eq!(ours, Some(expected));
});
