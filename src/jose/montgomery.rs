//! Arithmetic modulo an odd number, for the public-key operations rolegate
//! does itself: RSA (moduli of 2048 to 4096 bits) and the NIST curves P-256
//! and P-384 (their primes and group orders).
//!
//! Numbers are little-endian 28-bit limbs in 64-bit words, and products use
//! Montgomery multiplication. A product of two 28-bit limbs (56 bits) leaves
//! a word room to add up a whole column of them ([`MAX_LIMBS`] at most)
//! without carrying, so a column is one multiply and one add per term. With
//! 32-bit limbs every term carries into the next (wasm has no 64x64->128
//! multiply), and that chain made RSA-2048 a quarter slower in V8 with a
//! quarter fewer terms.
//!
//! Nothing here is constant-time. Its callers handle public values (keys,
//! signatures, messages) or, when a policy loads, check a private key the
//! administrator supplied, once.

// Limb arithmetic over vectors whose lengths are fixed by the modulus and
// checked on every input: an index out of range would be a bug here, not
// something input can cause.
#![allow(clippy::indexing_slicing)]

/// Bits per limb.
pub(crate) const LIMB_BITS: u32 = 28;
pub(crate) const LIMB_MASK: u64 = (1 << LIMB_BITS) - 1;
/// Most limbs a modulus may have: a column sums at most this many products
/// below 2^56 in a 64-bit word (255 would still fit). 7 000 bits, far above
/// the 4 096 the policy accepts.
pub(crate) const MAX_LIMBS: usize = 250;

/// An odd modulus n prepared for Montgomery arithmetic (R = 2^(28 limbs)).
/// Values are below n and have exactly [`Modulus::limbs`] limbs; "in
/// Montgomery form" means x * R mod n.
#[derive(Clone)]
pub(crate) struct Modulus {
    /// n, little-endian 28-bit limbs.
    n: Vec<u64>,
    /// -n^-1 mod 2^28.
    n0_inv: u64,
    /// R^2 mod n.
    rr: Vec<u64>,
    bits: usize,
}

impl Modulus {
    /// From big-endian bytes; `None` unless odd, above 1 and at most
    /// [`MAX_LIMBS`] limbs.
    pub fn new(be: &[u8]) -> Option<Modulus> {
        let be = trim(be);
        if be.last()? & 1 == 0 || be == [1] {
            return None;
        }
        let bits = 8 * be.len() - be.first()?.leading_zeros() as usize;
        let limb_count = bits.div_ceil(LIMB_BITS as usize);
        if limb_count > MAX_LIMBS {
            return None;
        }
        let n = from_be(be, limb_count)?;
        // An inverse mod 2^32 is one mod 2^28 too.
        let n0_inv = u64::from(inverse_mod_2_32(n[0] as u32).wrapping_neg()) & LIMB_MASK;
        let rr = r_squared(&n);
        Some(Modulus {
            n,
            n0_inv,
            rr,
            bits,
        })
    }

    /// The modulus's length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// How many limbs its values have.
    pub fn limbs(&self) -> usize {
        self.n.len()
    }

    /// The modulus itself, as limbs.
    pub fn value(&self) -> &[u64] {
        &self.n
    }

    /// Big-endian bytes as a value of this modulus's length, `None` when it
    /// needs more limbs. The value is not reduced: see [`Modulus::is_above`].
    pub fn limbs_of(&self, be: &[u8]) -> Option<Vec<u64>> {
        from_be(be, self.n.len())
    }

    /// Whether n > x (x of this modulus's length).
    pub fn is_above(&self, x: &[u64]) -> bool {
        less_than(x, &self.n)
    }

    /// x * R mod n, for x below n.
    pub fn to_montgomery(&self, x: &[u64], m: &mut [u64], out: &mut [u64]) {
        self.mul(x, &self.rr, m, out);
    }

    /// x^exponent mod n (exponent big-endian) by square-and-multiply in
    /// Montgomery form, for x below n; the result is below n.
    pub fn pow(&self, x: &[u64], exponent: &[u8]) -> Vec<u64> {
        let len = self.n.len();
        let mut m = vec![0u64; len];
        let mut x_mont = vec![0u64; len + 1];
        self.to_montgomery(x, &mut m, &mut x_mont);
        let exponent = trim(exponent);
        let bit = |i: usize| (exponent[exponent.len() - 1 - i / 8] >> (i % 8)) & 1 == 1;
        let mut one = vec![0u64; len];
        one[0] = 1;
        let Some(first) = exponent.first() else {
            // x^0 = 1
            return one;
        };
        // The top bit is x itself: start there, not with squares of 1.
        let top = 8 * exponent.len() - 1 - first.leading_zeros() as usize;
        let mut acc = x_mont.clone();
        let mut next = vec![0u64; len + 1];
        for i in (0..top).rev() {
            self.sqr(&acc, &mut m, &mut next);
            std::mem::swap(&mut acc, &mut next);
            if bit(i) {
                self.mul(&acc, &x_mont, &mut m, &mut next);
                std::mem::swap(&mut acc, &mut next);
            }
        }
        self.mul(&acc, &one, &mut m, &mut next);
        next.truncate(len);
        next
    }

    /// out = a + b mod n, for a and b below n.
    pub fn add(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        let mut carry = 0u64;
        for i in 0..self.n.len() {
            let sum = a[i] + b[i] + carry;
            out[i] = sum & LIMB_MASK;
            carry = sum >> LIMB_BITS;
        }
        let out = &mut out[..self.n.len()];
        if carry != 0 || !less_than(out, &self.n) {
            // Wrapping: with a carry out of the top limb, the result is
            // out + 2^(28 len) - n, below n.
            sub_in_place(out, &self.n);
        }
    }

    /// out = a - b mod n, for a and b below n.
    pub fn sub(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        let mut borrow = 0u64;
        for i in 0..self.n.len() {
            let d = a[i].wrapping_sub(b[i]).wrapping_sub(borrow);
            out[i] = d & LIMB_MASK;
            borrow = d >> 63;
        }
        if borrow != 0 {
            let mut carry = 0u64;
            for (x, y) in out.iter_mut().zip(&self.n) {
                let sum = *x + y + carry;
                *x = sum & LIMB_MASK;
                carry = sum >> LIMB_BITS;
            }
        }
    }

    /// out = a * b * R^-1 mod n for a, b below n (their first `len` limbs
    /// are read). Montgomery multiplication by product scanning: column i of
    /// a * b + m * n is summed whole, m_i is chosen to clear it, and what is
    /// above its low limb carries on. `m` is scratch of `len` limbs; `out`
    /// gets len + 1 limbs, the last zero.
    pub fn mul(&self, a: &[u64], b: &[u64], m: &mut [u64], out: &mut [u64]) {
        let len = self.n.len();
        // The curves' sizes: a fixed length lets the compiler unroll the
        // loops and drop the bounds checks (P-256 verification: 2.3x fewer
        // instructions natively).
        match len {
            10 => return self.mul_fixed::<10>(a, b, out),
            14 => return self.mul_fixed::<14>(a, b, out),
            _ => {}
        }
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
    pub fn sqr(&self, a: &[u64], m: &mut [u64], out: &mut [u64]) {
        let len = self.n.len();
        match len {
            10 => return self.mul_fixed::<10>(a, a, out),
            14 => return self.mul_fixed::<14>(a, a, out),
            _ => {}
        }
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

    /// [`Modulus::mul`] for moduli of exactly `N` limbs, by operand
    /// scanning: each round adds a_i·b and m·n to the accumulator and
    /// shifts it down a limb. Its loops have fixed bounds, so they unroll
    /// into straight-line code; carries stay lazy (a limb of it sums at most
    /// 2N products below 2^56 and a carry: below 2^64 for N up to 127).
    #[inline(always)]
    fn mul_fixed<const N: usize>(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        let (Some(n), Some(a), Some(b)) = (
            self.n.first_chunk::<N>(),
            a.first_chunk::<N>(),
            b.first_chunk::<N>(),
        ) else {
            // Never leave the output as it was (a stale value could pass as
            // a result): zero is no valid product here, so checks fail.
            out.fill(0);
            return;
        };
        let mut t = [0u64; N];
        for a_i in a {
            for j in 0..N {
                t[j] += a_i * b[j];
            }
            let m = ((t[0] & LIMB_MASK) * self.n0_inv) & LIMB_MASK;
            for j in 0..N {
                t[j] += m * n[j];
            }
            // The low limb is now zero: drop it, carrying what is above it.
            let carry = t[0] >> LIMB_BITS;
            t.copy_within(1.., 0);
            t[N - 1] = 0;
            t[0] += carry;
        }
        // The value is below 2n: normalise the limbs, subtract n once if needed.
        let mut carry = 0;
        for limb in t.iter_mut() {
            let sum = *limb + carry;
            *limb = sum & LIMB_MASK;
            carry = sum >> LIMB_BITS;
        }
        if carry != 0 || !less_than(&t, n) {
            sub_in_place(&mut t, n);
        }
        out[..N].copy_from_slice(&t);
        out[N] = 0;
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

/// The product a * b of two numbers (any lengths up to [`MAX_LIMBS`]
/// together), with a.len() + b.len() limbs.
pub(crate) fn product(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64; a.len() + b.len()];
    if a.is_empty() || b.is_empty() {
        return out;
    }
    let mut carry = 0u64;
    for (i, limb) in out.iter_mut().enumerate() {
        // Column i: a_j * b_(i-j) for the j both have.
        let column: u64 = (i.saturating_sub(b.len() - 1).min(a.len())..a.len().min(i + 1))
            .map(|j| a[j] * b[i - j])
            .sum();
        let (low, high) = split_column(carry, column, 0);
        *limb = low;
        carry = high;
    }
    out
}

/// Big-endian bytes without their leading zeros.
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Big-endian bytes -> `limbs` little-endian 28-bit limbs; `None` when the
/// number needs more.
pub(crate) fn from_be(bytes: &[u8], limbs: usize) -> Option<Vec<u64>> {
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
pub(crate) fn to_be(limbs: &[u64], len: usize) -> Vec<u8> {
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
pub(crate) fn less_than(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// a -= b (wrapping; callers ensure a >= b, or a + 2^(28 len) >= b).
pub(crate) fn sub_in_place(a: &mut [u64], b: &[u64]) {
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

/// R^2 mod n by doubling 1 modulo n, 2 * 28 * limbs times (once per modulus).
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
    fn a_fixed_size_product_of_short_operands_is_zero_not_stale() {
        // 35 bytes, odd: the 10 limbs of P-256's fixed-size path.
        let mut n = [0xa5u8; 35];
        n[34] |= 1;
        let modulus = Modulus::new(&n).expect("odd");
        assert_eq!(modulus.limbs(), 10);
        let a = vec![1u64; 10];
        let mut m = vec![0u64; 10];
        let mut out = vec![7u64; 11];
        modulus.mul(&a[..9], &a, &mut m, &mut out);
        assert!(out.iter().all(|l| *l == 0), "{out:?}");
        let mut out = vec![7u64; 11];
        modulus.mul(&a, &a, &mut m, &mut out);
        assert!(out.iter().any(|l| *l != 7), "a full product is written");
    }

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

    /// Small numbers as limbs of `modulus`'s length.
    fn small(modulus: &Modulus, x: u128) -> Vec<u64> {
        modulus.limbs_of(&x.to_be_bytes()).expect("fits")
    }

    fn number(limbs: &[u64]) -> u128 {
        u128::from_be_bytes(to_be(limbs, 16).try_into().expect("16 bytes"))
    }

    #[test]
    fn modular_arithmetic_agrees_with_integers() {
        // A prime just below 2^61 (2^61 - 1) and an odd composite of 3 limbs.
        for n in [(1u128 << 61) - 1, 0x0fff_ffff_ffff_ffff_ffff_0001] {
            let modulus = Modulus::new(&n.to_be_bytes()).expect("odd");
            let len = modulus.limbs();
            for (a, b) in [
                (0, 0),
                (1, n - 1),
                (n - 1, n - 1),
                (12345, 67890),
                (n / 2, n / 3),
            ] {
                let (x, y) = (small(&modulus, a), small(&modulus, b));
                let mut out = vec![0u64; len + 1];
                modulus.add(&x, &y, &mut out);
                assert_eq!(number(&out[..len]), (a + b) % n, "{a} + {b} mod {n}");
                modulus.sub(&x, &y, &mut out);
                assert_eq!(number(&out[..len]), (a + n - b) % n, "{a} - {b} mod {n}");
                // Montgomery product: a * b * R^-1; times R again gives a * b.
                let mut m = vec![0u64; len];
                let mut x_mont = vec![0u64; len + 1];
                modulus.to_montgomery(&x, &mut m, &mut x_mont);
                modulus.mul(&x_mont, &y, &mut m, &mut out);
                if let Some(ab) = a.checked_mul(b) {
                    assert_eq!(number(&out[..len]), ab % n, "{a} * {b} mod {n}");
                }
                modulus.sqr(&x_mont, &mut m, &mut out);
                let mut plain = vec![0u64; len + 1];
                modulus.mul(&out, &small(&modulus, 1), &mut m, &mut plain);
                if let Some(aa) = a.checked_mul(a) {
                    assert_eq!(number(&plain[..len]), aa % n, "{a}^2 mod {n}");
                }
            }
            // Fermat's little theorem for the prime: a^(n-1) = 1.
            if n == (1 << 61) - 1 {
                let one = modulus.pow(&small(&modulus, 3), &(n - 1).to_be_bytes());
                assert_eq!(number(&one), 1);
            }
            assert_eq!(number(&modulus.pow(&small(&modulus, 7), &[0])), 1, "x^0");
            assert_eq!(number(&modulus.pow(&small(&modulus, 7), &[2])), 49);
        }
        assert!(Modulus::new(&[0, 1]).is_none(), "1 is no modulus");
        assert!(Modulus::new(&[4]).is_none(), "even");
        assert!(Modulus::new(&[]).is_none(), "empty");
    }

    #[test]
    fn products_are_exact() {
        let a = from_be(&u64::MAX.to_be_bytes(), 3).expect("fits");
        let b = from_be(&(u64::MAX - 2).to_be_bytes(), 3).expect("fits");
        let p = product(&a, &b);
        assert_eq!(p.len(), 6);
        let expected = u128::from(u64::MAX) * u128::from(u64::MAX - 2);
        assert_eq!(to_be(&p, 16), expected.to_be_bytes());
        assert_eq!(product(&a, &[1]), [a.clone(), vec![0]].concat());
    }
}
