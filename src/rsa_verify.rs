//! RSA signature verification for RS256/384/512 and PS256/384/512, fast in
//! WebAssembly.
//!
//! Why not the `rsa` crate here: its big integers use 64-bit limbs whose
//! 128-bit products wasm32 emulates in software, so one RS256 verification
//! costs about a millisecond in V8, the Envoy filter's cold path. This module
//! does only the public-key operation (nothing secret, so nothing needs to be
//! constant-time) with 32-bit limbs and Montgomery multiplication, and then
//! checks the encodings exactly as RFC 8017 writes them: PKCS#1 v1.5 by
//! building the expected block and comparing, PSS with the salt as long as
//! the hash (RFC 7518 §3.5). `tests/rsa_conformance.rs` holds it to the
//! Wycheproof vectors and to the `rsa` crate on random keys and signatures.

// Limb arithmetic over vectors whose lengths are fixed when the key is built
// and checked on every input: an index out of range would be a bug here, not
// something input can cause.
#![allow(clippy::indexing_slicing)]

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The hash of a JWS RSA algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaHash {
    Sha256,
    Sha384,
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
    /// Modulus, little-endian 32-bit limbs.
    n: Vec<u32>,
    /// -n^-1 mod 2^32.
    n0_inv: u32,
    /// R^2 mod n, R = 2^(32 * limbs).
    rr: Vec<u32>,
    e: u64,
    /// Modulus length in bytes (the signature length).
    k: usize,
    mod_bits: usize,
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPublicKey({} bits, e={})", self.mod_bits, self.e)
    }
}

impl RsaPublicKey {
    /// From big-endian modulus and exponent. `None` unless the modulus is odd,
    /// at least 512 bits, and the exponent odd, above 1 and below 2^64.
    pub fn new(n: &[u8], e: &[u8]) -> Option<RsaPublicKey> {
        let n = trim(n);
        let e_bytes = trim(e);
        if n.len() < 64 || n.last()? & 1 == 0 || e_bytes.len() > 8 {
            return None;
        }
        let e = e_bytes
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if e < 3 || e & 1 == 0 {
            return None;
        }
        let limbs = from_be(n, n.len().div_ceil(4));
        let mod_bits = 32 * limbs.len() - limbs.last()?.leading_zeros() as usize;
        let n0_inv = inverse_mod_2_32(limbs[0]).wrapping_neg();
        let rr = r_squared(&limbs);
        Some(RsaPublicKey {
            k: n.len(),
            n: limbs,
            n0_inv,
            rr,
            e,
            mod_bits,
        })
    }

    pub fn bits(&self) -> usize {
        self.mod_bits
    }

    /// s^e mod n as k big-endian bytes; `None` when the signature is not k
    /// bytes or not below n (RFC 8017 §5.2.2 and §8.2.2 step 1).
    pub fn public_op(&self, signature: &[u8]) -> Option<Vec<u8>> {
        if signature.len() != self.k {
            return None;
        }
        let s = from_be(signature, self.n.len());
        if !less_than(&s, &self.n) {
            return None;
        }
        let m = self.pow_e(&s);
        Some(to_be(&m, self.k))
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
        let em_bits = self.mod_bits - 1;
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

    /// x^e mod n by square-and-multiply in Montgomery form.
    fn pow_e(&self, x: &[u32]) -> Vec<u32> {
        let len = self.n.len();
        // Holds a double-length product and its reduction's last carry.
        let mut t = vec![0u32; 2 * len + 1];
        let x_mont = self.mont_mul(x, &self.rr, &mut t);
        let mut acc = x_mont.clone();
        let top = 63 - self.e.leading_zeros();
        for bit in (0..top).rev() {
            acc = self.mont_sqr(&acc, &mut t);
            if (self.e >> bit) & 1 == 1 {
                acc = self.mont_mul(&acc, &x_mont, &mut t);
            }
        }
        let mut one = vec![0u32; len];
        one[0] = 1;
        self.mont_mul(&acc, &one, &mut t)
    }

    /// a * b * R^-1 mod n for a, b below n: the product, then its reduction.
    fn mont_mul(&self, a: &[u32], b: &[u32], t: &mut [u32]) -> Vec<u32> {
        t.fill(0);
        for (i, &ai) in a.iter().enumerate() {
            let row = &mut t[i..];
            let carry = mul_add(row, b, ai);
            row[b.len()] = carry;
        }
        self.reduce(t)
    }

    /// a * a * R^-1 mod n for a below n. A square needs each cross product
    /// a_i * a_j only once (then doubled): e = 65537 is 16 squares and one
    /// multiplication, so this is most of a verification.
    fn mont_sqr(&self, a: &[u32], t: &mut [u32]) -> Vec<u32> {
        let len = a.len();
        t.fill(0);
        for (i, &ai) in a.iter().enumerate() {
            let rest = &a[i + 1..];
            let row = &mut t[2 * i + 1..];
            let carry = mul_add(row, rest, ai);
            row[rest.len()] = carry;
        }
        let mut top = 0;
        for limb in &mut t[..2 * len] {
            let next = *limb >> 31;
            *limb = (*limb << 1) | top;
            top = next;
        }
        let mut carry = 0u64;
        for (pair, &ai) in t.chunks_exact_mut(2).zip(a) {
            let square = u64::from(ai) * u64::from(ai);
            let x = u64::from(pair[0]) + (square & 0xffff_ffff) + carry;
            pair[0] = x as u32;
            let x = u64::from(pair[1]) + (square >> 32) + (x >> 32);
            pair[1] = x as u32;
            carry = x >> 32;
        }
        self.reduce(t)
    }

    /// t * R^-1 mod n for t < n * R in 2 len + 1 limbs (Montgomery reduction,
    /// separated operand scanning): adds multiples of n that clear the low
    /// limbs one by one; what is left above them is below 2n.
    fn reduce(&self, t: &mut [u32]) -> Vec<u32> {
        let n = &self.n;
        let len = n.len();
        for i in 0..len {
            let m = t[i].wrapping_mul(self.n0_inv);
            let row = &mut t[i..];
            let mut carry = u64::from(mul_add(row, n, m));
            for limb in &mut row[len..] {
                if carry == 0 {
                    break;
                }
                let x = u64::from(*limb) + carry;
                *limb = x as u32;
                carry = x >> 32;
            }
        }
        let mut out = t[len..2 * len].to_vec();
        if t[2 * len] != 0 || !less_than(&out, n) {
            sub_in_place(&mut out, n);
        }
        out
    }
}

/// row[..b.len()] += a * b, returning the carry out of the last limb.
fn mul_add(row: &mut [u32], b: &[u32], a: u32) -> u32 {
    let a = u64::from(a);
    let mut carry = 0u64;
    for (r, &bj) in row.iter_mut().zip(b) {
        let x = u64::from(*r) + a * u64::from(bj) + carry;
        *r = x as u32;
        carry = x >> 32;
    }
    carry as u32
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

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Big-endian bytes -> `limbs` little-endian u32 limbs (bytes must fit).
fn from_be(bytes: &[u8], limbs: usize) -> Vec<u32> {
    let mut out = vec![0u32; limbs];
    for (i, byte) in bytes.iter().rev().enumerate() {
        if let Some(limb) = out.get_mut(i / 4) {
            *limb |= u32::from(*byte) << (8 * (i % 4));
        }
    }
    out
}

fn to_be(limbs: &[u32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        *byte = limbs.get(i / 4).map_or(0, |l| (l >> (8 * (i % 4))) as u8);
    }
    out
}

/// a < b for equal-length little-endian numbers.
fn less_than(a: &[u32], b: &[u32]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// a -= b (wrapping; callers ensure a >= b, or a + 2^(32 len) >= b).
fn sub_in_place(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let d = u64::from(*x)
            .wrapping_sub(u64::from(y))
            .wrapping_sub(borrow);
        *x = d as u32;
        borrow = (d >> 63) & 1;
    }
}

/// n0^-1 mod 2^32 for odd n0 (Newton: each step doubles the correct bits).
fn inverse_mod_2_32(n0: u32) -> u32 {
    let mut inv = 1u32;
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(n0.wrapping_mul(inv)));
    }
    inv
}

/// R^2 mod n by doubling 1 modulo n, 2 * 32 * limbs times (once per key).
fn r_squared(n: &[u32]) -> Vec<u32> {
    let mut x = vec![0u32; n.len()];
    x[0] = 1;
    for _ in 0..64 * n.len() {
        let mut carry = 0u32;
        for limb in x.iter_mut() {
            let next = *limb >> 31;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry == 1 || !less_than(&x, n) {
            sub_in_place(&mut x, n);
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_an_inverse() {
        for n0 in [1u32, 3, 0xffff_ffff, 0x8000_0001, 12345679] {
            assert_eq!(n0.wrapping_mul(inverse_mod_2_32(n0)), 1);
        }
    }

    #[test]
    fn byte_limb_round_trip() {
        let bytes: Vec<u8> = (1..=67).collect();
        let limbs = from_be(&bytes, 17);
        assert_eq!(to_be(&limbs, 67), bytes);
        assert_eq!(to_be(&limbs, 68)[0], 0);
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
        let limbs = n.len().div_ceil(4);
        let n = from_be(n, limbs);
        let x = from_be(x, limbs);
        let mul = |a: &[u32], b: &[u32]| -> Vec<u32> {
            // a*b mod n by double-and-add over b's bits.
            let mut acc = vec![0u32; limbs];
            for i in (0..32 * limbs).rev() {
                let mut carry = 0;
                for l in acc.iter_mut() {
                    let next = *l >> 31;
                    *l = (*l << 1) | carry;
                    carry = next;
                }
                if carry == 1 || !less_than(&acc, &n) {
                    sub_in_place(&mut acc, &n);
                }
                if (b[i / 32] >> (i % 32)) & 1 == 1 {
                    let mut c = 0u64;
                    for (l, &y) in acc.iter_mut().zip(a) {
                        let s = u64::from(*l) + u64::from(y) + c;
                        *l = s as u32;
                        c = s >> 32;
                    }
                    if c == 1 || !less_than(&acc, &n) {
                        sub_in_place(&mut acc, &n);
                    }
                }
            }
            acc
        };
        let mut result = vec![0u32; limbs];
        result[0] = 1;
        for bit in (0..64).rev() {
            result = mul(&result, &result);
            if (e >> bit) & 1 == 1 {
                result = mul(&result, &x);
            }
        }
        to_be(&result, n.len() * 4)
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
    }
}
