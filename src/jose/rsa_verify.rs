//! RSA signature verification for RS256/384/512 and PS256/384/512, fast in
//! WebAssembly, and the check of a private key when a policy loads.
//!
//! Why not the `rsa` crate here: its big integers use 64-bit limbs whose
//! 128-bit products wasm32 emulates in software, so one RS256 verification
//! costs about a millisecond in V8, the Envoy filter's cold path. This module
//! does only the public-key operation (nothing secret, so nothing needs to be
//! constant-time) with 28-bit limbs and Montgomery multiplication, and then
//! checks the encodings exactly as RFC 8017 writes them: PKCS#1 v1.5 by
//! building the expected block and comparing, PSS with the salt as long as
//! the hash (RFC 7518 §3.5). `tests/rsa_conformance.rs` holds it to the
//! Wycheproof vectors and to the `rsa` crate on random keys and signatures.

// Limb arithmetic over vectors whose lengths are fixed when the key is built
// and checked on every input: an index out of range would be a bug here, not
// something input can cause.
#![allow(clippy::indexing_slicing)]

use super::montgomery::{product, to_be, trim, Modulus};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The hash of a JWS RSA algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl RsaHash {
    fn digest(self, data: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(data: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for part in data {
                d.update(part);
            }
            d.finalize().to_vec()
        }
        match self {
            RsaHash::Sha256 => run::<Sha256>(data),
            RsaHash::Sha384 => run::<Sha384>(data),
            RsaHash::Sha512 => run::<Sha512>(data),
        }
    }

    fn len(self) -> usize {
        match self {
            RsaHash::Sha256 => 32,
            RsaHash::Sha384 => 48,
            RsaHash::Sha512 => 64,
        }
    }

    /// DER of the DigestInfo before the hash (RFC 8017 §9.2 note 1).
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            RsaHash::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            RsaHash::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            RsaHash::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// An RSA public key prepared for verification: Montgomery constants are
/// computed once, when the policy loads.
#[derive(Clone)]
pub struct RsaPublicKey {
    n: Modulus,
    /// The public exponent, big-endian without leading zeros.
    e: Vec<u8>,
    /// Modulus length in bytes (the signature length).
    k: usize,
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPublicKey({} bits, e={:?})", self.n.bits(), self.e)
    }
}

impl RsaPublicKey {
    /// From big-endian modulus and exponent. `None` unless the modulus is odd,
    /// of 512 to 7 000 bits, and the exponent odd, above 1 and below 2^64.
    pub fn new(n: &[u8], e: &[u8]) -> Option<RsaPublicKey> {
        let n = trim(n);
        let e = trim(e);
        if n.len() < 64 || e.len() > 8 || e.last()? & 1 == 0 || e == [1] {
            return None;
        }
        Some(RsaPublicKey {
            k: n.len(),
            n: Modulus::new(n)?,
            e: e.to_vec(),
        })
    }

    /// The modulus's length in bits.
    pub fn bits(&self) -> usize {
        self.n.bits()
    }

    /// s^e mod n as k big-endian bytes; `None` when the signature is not k
    /// bytes or not below n (RFC 8017 §5.2.2 and §8.2.2 step 1).
    pub fn public_op(&self, signature: &[u8]) -> Option<Vec<u8>> {
        if signature.len() != self.k {
            return None;
        }
        let s = self.n.limbs_of(signature)?;
        if !self.n.is_above(&s) {
            return None;
        }
        Some(to_be(&self.n.pow(&s, &self.e), self.k))
    }

    /// RSASSA-PKCS1-v1_5 (RS256/384/512).
    pub fn verify_pkcs1v15(&self, hash: RsaHash, message: &[u8], signature: &[u8]) -> bool {
        let Some(em) = self.public_op(signature) else {
            return false;
        };
        let prefix = hash.digest_info_prefix();
        let t_len = prefix.len() + hash.len();
        if self.k < t_len + 11 {
            return false;
        }
        let mut expected = Vec::with_capacity(self.k);
        expected.extend_from_slice(&[0x00, 0x01]);
        expected.resize(self.k - t_len - 1, 0xff);
        expected.push(0x00);
        expected.extend_from_slice(prefix);
        expected.extend_from_slice(&hash.digest(&[message]));
        em == expected
    }

    /// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash
    /// (RS7518 §3.5: PS256/384/512).
    pub fn verify_pss(&self, hash: RsaHash, message: &[u8], signature: &[u8]) -> bool {
        let Some(m) = self.public_op(signature) else {
            return false;
        };
        let h_len = hash.len();
        let s_len = h_len;
        let em_bits = self.n.bits() - 1;
        let em_len = em_bits.div_ceil(8);
        // EM = I2OSP(m, emLen): the bytes m needs beyond emLen must be zero.
        let (high, em) = m.split_at(self.k - em_len);
        if high.iter().any(|b| *b != 0) || em_len < h_len + s_len + 2 || em.last() != Some(&0xbc) {
            return false;
        }
        let (masked_db, rest) = em.split_at(em_len - h_len - 1);
        let h = &rest[..h_len];
        let unused_bits = 8 * em_len - em_bits;
        let top_mask = 0xffu8.checked_shr(unused_bits as u32).unwrap_or(0);
        if masked_db[0] & !top_mask != 0 {
            return false;
        }
        let mut db = mgf1(hash, h, masked_db.len());
        for (d, m) in db.iter_mut().zip(masked_db) {
            *d ^= m;
        }
        db[0] &= top_mask;
        let pad_len = em_len - h_len - s_len - 2;
        if db[..pad_len].iter().any(|b| *b != 0) || db[pad_len] != 0x01 {
            return false;
        }
        let salt = &db[pad_len + 1..];
        let m_hash = hash.digest(&[message]);
        hash.digest(&[&[0u8; 8], &m_hash, salt]) == h
    }
}

/// Why the RSA private key (n, e, d), with its primes p and q when given,
/// cannot be one: `None` when it can. For a key whose public part (n, e)
/// passed `keys::check_rsa`: d is above 0 and below n; the primes multiply
/// to n. Whether d undoes e is [`private_exponent_problem`]'s question.
pub fn private_key_problem(n: &[u8], e: &[u8], d: &[u8], primes: &[&[u8]]) -> Option<&'static str> {
    let Some(public) = RsaPublicKey::new(n, e) else {
        return Some("n must be odd and e an odd number from 3 to 2^64");
    };
    let modulus = &public.n;
    let Some(d) = modulus.limbs_of(d) else {
        return Some("d must be above 0 and below n");
    };
    if d.iter().all(|l| *l == 0) || !modulus.is_above(&d) {
        return Some("d must be above 0 and below n");
    }
    if let [p, q] = primes {
        let (Some(p), Some(q)) = (modulus.limbs_of(p), modulus.limbs_of(q)) else {
            return Some("p and q must be the prime factors of n (p · q = n)");
        };
        let pq = product(&p, &q);
        let (low, high) = pq.split_at(modulus.limbs());
        let is_one = |x: &[u64]| x.first() == Some(&1) && x.iter().skip(1).all(|l| *l == 0);
        if low != modulus.value() || high.iter().any(|l| *l != 0) || is_one(&p) || is_one(&q) {
            return Some("p and q must be the prime factors of n (p · q = n)");
        }
    }
    None
}

/// Why d does not undo e modulo n, `None` when (2^d)^e = 2 mod n. For a d
/// that is not e's inverse modulo λ(n), that would need the order of 2 to
/// divide e·d - 1: no mistaken key does that. For a key that
/// [`private_key_problem`] accepted.
///
/// d is secret and the exponentiation is not constant-time: it runs once,
/// when a policy holding the key loads, on the administrator's own key.
pub fn private_exponent_problem(n: &[u8], e: &[u8], d: &[u8]) -> Option<&'static str> {
    // A check that cannot run is a failed check, never "no problem".
    let Some(public) = RsaPublicKey::new(n, e) else {
        return Some("n and e are not a usable RSA public key, so d cannot be checked");
    };
    let Some(two) = public.n.limbs_of(&[2]) else {
        return Some("the modulus is too small to check d");
    };
    let signed = public.n.pow(&two, d);
    (public.n.pow(&signed, &public.e) != two)
        .then_some("d does not belong to n and e (its signatures would not verify)")
}

/// MGF1 (RFC 8017 B.2.1).
fn mgf1(hash: RsaHash, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash.len());
    let mut counter = 0u32;
    while out.len() < len {
        out.extend_from_slice(&hash.digest(&[seed, &counter.to_be_bytes()]));
        counter += 1;
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::montgomery::{
        from_be, less_than, sub_in_place, LIMB_BITS, LIMB_MASK, MAX_LIMBS,
    };

    #[test]
    fn a_private_exponent_check_that_cannot_run_fails() {
        // Neither n nor e makes a public key: the check says so, never "no problem".
        assert!(private_exponent_problem(&[], &[1, 0, 1], &[3]).is_some());
        assert!(private_exponent_problem(&[0xff; 256], &[], &[3]).is_some());
        assert!(private_exponent_problem(&[0xfe; 256], &[1, 0, 1], &[3]).is_some());
    }

    #[test]
    fn small_modexp_matches_arithmetic() {
        // n = a 64-byte odd number; check x^e mod n against a slow reference.
        let mut n = vec![0xffu8; 64];
        n[63] = 0xf1;
        n[0] = 0xc3;
        let key = RsaPublicKey::new(&n, &[0x01, 0x00, 0x01]).expect("key");
        let x = {
            let mut x = vec![0u8; 64];
            x[63] = 7;
            x[10] = 0x42;
            x
        };
        let fast = key.public_op(&x).expect("in range");
        assert_eq!(fast, slow_pow(&x, 65537, &n));
    }

    /// Schoolbook x^e mod n on big-endian bytes via repeated doubling.
    fn slow_pow(x: &[u8], e: u64, n: &[u8]) -> Vec<u8> {
        let limbs = (8 * n.len()).div_ceil(LIMB_BITS as usize) + 1;
        let n_limbs = from_be(n, limbs).expect("fits");
        let x = from_be(x, limbs).expect("fits");
        let mul = |a: &[u64], b: &[u64]| -> Vec<u64> {
            // a*b mod n by double-and-add over b's bits (one spare limb
            // holds what a doubling or an addition carries).
            let mut acc = vec![0u64; limbs];
            for i in (0..LIMB_BITS as usize * limbs).rev() {
                let mut carry = 0;
                for l in acc.iter_mut() {
                    let doubled = (*l << 1) | carry;
                    *l = doubled & LIMB_MASK;
                    carry = doubled >> LIMB_BITS;
                }
                if !less_than(&acc, &n_limbs) {
                    sub_in_place(&mut acc, &n_limbs);
                }
                if (b[i / LIMB_BITS as usize] >> (i % LIMB_BITS as usize)) & 1 == 1 {
                    let mut c = 0u64;
                    for (l, &y) in acc.iter_mut().zip(a) {
                        let s = *l + y + c;
                        *l = s & LIMB_MASK;
                        c = s >> LIMB_BITS;
                    }
                    if !less_than(&acc, &n_limbs) {
                        sub_in_place(&mut acc, &n_limbs);
                    }
                }
            }
            acc
        };
        let mut result = vec![0u64; limbs];
        result[0] = 1;
        for bit in (0..64).rev() {
            result = mul(&result, &result);
            if (e >> bit) & 1 == 1 {
                result = mul(&result, &x);
            }
        }
        to_be(&result, n.len())
    }

    #[test]
    fn the_largest_modulus_sums_without_overflow() {
        // All limbs at their largest make every column sum as large as it
        // gets; debug builds check each addition for overflow.
        let n = vec![0xffu8; MAX_LIMBS * LIMB_BITS as usize / 8];
        let key = RsaPublicKey::new(&n, &[3]).expect("largest key");
        let mut x = n.clone();
        *x.last_mut().expect("bytes") = 0xfe;
        // (n - 1)^3 = -1 mod n.
        assert_eq!(key.public_op(&x), Some(x.clone()));
        let mut longer = n.clone();
        longer.push(0xff);
        assert!(RsaPublicKey::new(&longer, &[3]).is_none(), "too many limbs");
    }

    #[test]
    fn rejects_out_of_range_signatures() {
        let mut n = vec![0xabu8; 256];
        n[255] |= 1;
        let key = RsaPublicKey::new(&n, &[1, 0, 1]).expect("key");
        assert!(key.public_op(&n).is_none(), "s = n");
        assert!(key.public_op(&[0xff; 256]).is_none(), "s > n");
        assert!(key.public_op(&[0x01; 255]).is_none(), "short");
        assert!(key.public_op(&[0x01; 257]).is_none(), "long");
        assert!(
            RsaPublicKey::new(&[0xff; 256], &[1, 0, 0]).is_none(),
            "even e"
        );
        let mut even = n.clone();
        even[255] &= 0xfe;
        assert!(RsaPublicKey::new(&even, &[1, 0, 1]).is_none(), "even n");
        // A 532-bit modulus fills its 19 limbs exactly; a signature of its
        // 67 bytes can be longer than the limbs hold.
        let mut n = vec![0x5au8; 67];
        n[0] = 0x0f;
        n[66] |= 1;
        let key = RsaPublicKey::new(&n, &[3]).expect("key");
        assert_eq!(key.bits(), 19 * LIMB_BITS as usize);
        let mut beyond = vec![0u8; 67];
        beyond[0] = 0x10;
        assert!(key.public_op(&beyond).is_none(), "s >= 2^532 > n");
        assert!(key.public_op(&[0xff; 67]).is_none(), "all ones");
        let mut below = n.clone();
        below[0] = 0x0e;
        assert!(key.public_op(&below).is_some(), "s < n");
    }
}
