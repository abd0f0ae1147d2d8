//! RSA signature verification for RS256/384/512 and PS256/384/512, fast in
//! WebAssembly.
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

/// Bits per limb. A product of two 28-bit limbs (56 bits) leaves a 64-bit
/// word room to add up a whole column of them ([`MAX_LIMBS`] at most)
/// without carrying, so a column is one multiply and one add per term. With
/// 32-bit limbs every term carries into the next (wasm has no 64x64->128
/// multiply), and that chain made RSA-2048 a quarter slower in V8 with a
/// quarter fewer terms.
const LIMB_BITS: u32 = 28;
const LIMB_MASK: u64 = (1 << LIMB_BITS) - 1;
/// Most limbs a modulus may have: a column sums at most this many products
/// below 2^56 in a 64-bit word (255 would still fit). 7 000 bits, far above
/// the 4 096 the policy accepts.
const MAX_LIMBS: usize = 250;

/// An RSA public key prepared for verification: Montgomery constants are
/// computed once, when the policy loads.
#[derive(Clone)]
pub struct RsaPublicKey {
    /// Modulus, little-endian 28-bit limbs.
    n: Vec<u64>,
    /// -n^-1 mod 2^28.
    n0_inv: u64,
    /// R^2 mod n, R = 2^(28 * limbs).
    rr: Vec<u64>,
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
    /// of 512 to 7 000 bits, and the exponent odd, above 1 and below 2^64.
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
        let mod_bits = 8 * n.len() - n.first()?.leading_zeros() as usize;
        let limb_count = mod_bits.div_ceil(LIMB_BITS as usize);
        if limb_count > MAX_LIMBS {
            return None;
        }
        let limbs = from_be(n, limb_count)?;
        // An inverse mod 2^32 is one mod 2^28 too.
        let n0_inv = u64::from(inverse_mod_2_32(limbs[0] as u32).wrapping_neg()) & LIMB_MASK;
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

    /// The modulus's length in bits.
    pub fn bits(&self) -> usize {
        self.mod_bits
    }

    /// s^e mod n as k big-endian bytes; `None` when the signature is not k
    /// bytes or not below n (RFC 8017 §5.2.2 and §8.2.2 step 1).
    pub fn public_op(&self, signature: &[u8]) -> Option<Vec<u8>> {
        if signature.len() != self.k {
            return None;
        }
        let s = from_be(signature, self.n.len())?;
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
    fn pow_e(&self, x: &[u64]) -> Vec<u64> {
        let len = self.n.len();
        let mut m = vec![0u64; len];
        let mut x_mont = vec![0u64; len + 1];
        self.mont_mul(x, &self.rr, &mut m, &mut x_mont);
        let mut acc = x_mont.clone();
        let mut next = vec![0u64; len + 1];
        let top = 63 - self.e.leading_zeros();
        for bit in (0..top).rev() {
            self.mont_sqr(&acc, &mut m, &mut next);
            std::mem::swap(&mut acc, &mut next);
            if (self.e >> bit) & 1 == 1 {
                self.mont_mul(&acc, &x_mont, &mut m, &mut next);
                std::mem::swap(&mut acc, &mut next);
            }
        }
        let mut one = vec![0u64; len];
        one[0] = 1;
        self.mont_mul(&acc, &one, &mut m, &mut next);
        next.truncate(len);
        next
    }

    /// out = a * b * R^-1 mod n for a, b below n (their first `len` limbs
    /// are read). Montgomery multiplication by product scanning: column i of
    /// a * b + m * n is summed whole, m_i is chosen to clear it, and what is
    /// above its low limb carries on. `m` is scratch; `out` gets len + 1 limbs.
    fn mont_mul(&self, a: &[u64], b: &[u64], m: &mut [u64], out: &mut [u64]) {
        let len = self.n.len();
        let (a, b) = (&a[..len], &b[..len]);
        self.montgomery(
            |i| {
                // Column i of a * b, i < 2 len - 1.
                let lo = (i + 1).saturating_sub(len);
                let hi = i.min(len - 1);
                dot(&a[lo..=hi], &b[i - hi..=i - lo])
            },
            m,
            out,
        );
    }

    /// out = a * a * R^-1 mod n for a below n. A column of a square has each
    /// cross product a_j * a_k twice: summed once and doubled, it costs half
    /// (e = 65537 is 16 squares and one multiplication).
    fn mont_sqr(&self, a: &[u64], m: &mut [u64], out: &mut [u64]) {
        let len = self.n.len();
        let a = &a[..len];
        self.montgomery(
            |i| {
                // Pairs j < k with j + k = i, both below len, then a_(i/2)^2.
                let lo = (i + 1).saturating_sub(len);
                let half = i.div_ceil(2);
                let mut sum = 0;
                if lo < half {
                    sum = 2 * dot(&a[lo..half], &a[i + 1 - half..=i - lo]);
                }
                if i % 2 == 0 {
                    sum += a[i / 2] * a[i / 2];
                }
                sum
            },
            m,
            out,
        );
    }

    /// The reduction both products share: `column(i)` is column i of the
    /// product (below len * 2^56). Chooses m so that product + m * n has
    /// len zero limbs at the bottom and writes the limbs above them, below
    /// 2n, then subtracts n once if needed.
    #[inline(always)]
    fn montgomery(&self, column: impl Fn(usize) -> u64, m: &mut [u64], out: &mut [u64]) {
        let n = &self.n;
        let len = n.len();
        // What column i - 1 carried into column i, in units of 2^(28 i).
        let mut carry = 0u64;
        for i in 0..len {
            let product = column(i);
            let mut reduction = dot(&m[..i], &n[1..=i]);
            let low = (carry + (product & LIMB_MASK) + (reduction & LIMB_MASK)) & LIMB_MASK;
            let m_i = (low * self.n0_inv) & LIMB_MASK;
            m[i] = m_i;
            reduction += m_i * n[0];
            // The column's low limb is zero: that is what m_i is for.
            (_, carry) = split_column(carry, product, reduction);
        }
        for i in len..2 * len {
            let product = if i < 2 * len - 1 { column(i) } else { 0 };
            let lo = i + 1 - len;
            let reduction = dot(&m[lo..], &n[lo..]);
            (out[i - len], carry) = split_column(carry, product, reduction);
        }
        // Below 2n < 2R: the carry left is the top bit at most.
        out[len] = carry;
        if carry != 0 || !less_than(&out[..len], n) {
            sub_in_place(&mut out[..len], n);
            out[len] = 0;
        }
    }
}

/// A column's value, carry + product + reduction (each a word, the sum
/// possibly not), as its low limb and what it carries into the next column.
#[inline(always)]
fn split_column(carry: u64, product: u64, reduction: u64) -> (u64, u64) {
    let low = (carry & LIMB_MASK) + (product & LIMB_MASK) + (reduction & LIMB_MASK);
    let high = (carry >> LIMB_BITS) + (product >> LIMB_BITS) + (reduction >> LIMB_BITS);
    (low & LIMB_MASK, high + (low >> LIMB_BITS))
}

/// Sum of a[t] * b[len - 1 - t]: one column's products (b runs backwards).
/// Limbs below 2^28 and at most `MAX_LIMBS` terms: the sum fits in a word.
#[inline(always)]
fn dot(a: &[u64], b: &[u64]) -> u64 {
    a.iter().zip(b.iter().rev()).map(|(x, y)| x * y).sum()
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

/// Big-endian bytes -> `limbs` little-endian 28-bit limbs; `None` when the
/// number needs more.
fn from_be(bytes: &[u8], limbs: usize) -> Option<Vec<u64>> {
    let mut out = vec![0u64; limbs];
    for (i, byte) in bytes.iter().rev().enumerate() {
        if *byte == 0 {
            continue;
        }
        let bit = 8 * i;
        let (limb, shift) = (bit / LIMB_BITS as usize, (bit % LIMB_BITS as usize) as u32);
        let wide = u64::from(*byte) << shift;
        *out.get_mut(limb)? |= wide & LIMB_MASK;
        if wide >> LIMB_BITS != 0 {
            *out.get_mut(limb + 1)? |= wide >> LIMB_BITS;
        }
    }
    Some(out)
}

/// Little-endian 28-bit limbs -> `len` big-endian bytes (the low ones).
fn to_be(limbs: &[u64], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        let bit = 8 * i;
        let (limb, shift) = (bit / LIMB_BITS as usize, (bit % LIMB_BITS as usize) as u32);
        let low = limbs.get(limb).map_or(0, |l| l >> shift);
        let high = limbs.get(limb + 1).map_or(0, |l| l << (LIMB_BITS - shift));
        *byte = (low | high) as u8;
    }
    out
}

/// a < b for equal-length little-endian numbers.
fn less_than(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// a -= b (wrapping; callers ensure a >= b, or a + 2^(28 len) >= b).
fn sub_in_place(a: &mut [u64], b: &[u64]) {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let d = x.wrapping_sub(y).wrapping_sub(borrow);
        *x = d & LIMB_MASK;
        borrow = d >> 63;
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

/// R^2 mod n by doubling 1 modulo n, 2 * 28 * limbs times (once per key).
fn r_squared(n: &[u64]) -> Vec<u64> {
    let mut x = vec![0u64; n.len()];
    x[0] = 1;
    for _ in 0..2 * LIMB_BITS as usize * n.len() {
        let mut carry = 0u64;
        for limb in x.iter_mut() {
            let doubled = (*limb << 1) | carry;
            *limb = doubled & LIMB_MASK;
            carry = doubled >> LIMB_BITS;
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
        // 67 bytes are 529 bits: 19 limbs of 28 bits.
        let limbs = from_be(&bytes, 19).expect("fits");
        assert!(limbs.iter().all(|l| *l <= LIMB_MASK));
        assert_eq!(to_be(&limbs, 67), bytes);
        assert_eq!(to_be(&limbs, 68)[0], 0);
        assert_eq!(from_be(&bytes, 18), None, "needs 19 limbs");
        let mut leading_zeros = vec![0u8; 40];
        leading_zeros.extend_from_slice(&bytes);
        assert_eq!(from_be(&leading_zeros, 19), Some(limbs));
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
