//! The NIST curves P-256 and P-384 (SEC 2, FIPS 186-5): ECDSA verification
//! for ES256 and ES384 (RFC 7518 §3.4: the signature is r || s), and the
//! checks of EC keys when a policy loads (a public point is on its curve; a
//! private scalar is in range and is the one of its public point).
//!
//! Why not the `p256` and `p384` crates here: their field arithmetic is
//! generated code fully unrolled for 32-bit limbs, a quarter of the
//! browser's policy module for P-384 alone. Verification handles only
//! public values, so it needs no constant-time code, and it runs on the
//! Montgomery arithmetic RSA verification already uses. The crates still
//! sign (test tokens, the token endpoint) and are the oracle this module is
//! tested against (`tests/ecdsa_conformance.rs`: Wycheproof's P-256 and
//! P-384 vectors, random keys and signatures).

// Field elements are fixed arrays of `LIMBS`; a curve uses its first
// `Modulus::limbs()` of them. An index out of range would be a bug here.
#![allow(clippy::indexing_slicing)]

use super::alg::KeyType;
use super::montgomery::{from_be, sub_in_place, Modulus, LIMB_BITS, LIMB_MASK};
use sha2::{Digest, Sha256, Sha384};
use std::sync::OnceLock;

/// Limbs of the largest field (P-384: 384 bits in 28-bit limbs).
const LIMBS: usize = 14;

/// A number below a curve's prime or order, as limbs (Montgomery form
/// where the name says so).
type Limbs = [u64; LIMBS];

/// A point in Jacobian coordinates (x = X/Z², y = Y/Z³), each in Montgomery
/// form; Z = 0 is the point at infinity.
#[derive(Clone, Copy)]
struct Point {
    x: Limbs,
    y: Limbs,
    z: Limbs,
}

/// The point at infinity (any X and Y with Z = 0).
const INFINITY: Point = Point {
    x: [0; LIMBS],
    y: [0; LIMBS],
    z: [0; LIMBS],
};

/// One curve y² = x³ - 3x + b over the prime field of p, with its generator
/// G of prime order n (cofactor 1).
struct Curve {
    p: Modulus,
    n: Modulus,
    /// Bytes of a coordinate, of a scalar, and of r and s.
    size: usize,
    /// b in Montgomery form.
    b: Limbs,
    /// The generator.
    g: Point,
    /// 1G to 15G, for [`Curve::combination`]'s windows.
    g_multiples: [Point; 15],
    /// n - 2 big-endian: s^(n-2) is s^-1 (n is prime).
    n_minus_2: Vec<u8>,
}

/// (p, n, b, Gx, Gy), big-endian hex, from SEC 2 v2 §2.4.2 and §2.5.1.
const P256: [&str; 5] = [
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
    "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
];
const P384: [&str; 5] = [
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
    "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
    "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
    "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
];

fn curve(key_type: KeyType) -> Option<&'static Curve> {
    static CURVES: OnceLock<Option<[Curve; 2]>> = OnceLock::new();
    let [p256, p384] = CURVES
        .get_or_init(|| Some([Curve::new(&P256)?, Curve::new(&P384)?]))
        .as_ref()?;
    match key_type {
        KeyType::EcP256 => Some(p256),
        KeyType::EcP384 => Some(p384),
        _ => None,
    }
}

fn unhex(text: &str) -> Vec<u8> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            digit(pair[0]) << 4 | digit(pair[1])
        })
        .collect()
}

impl Curve {
    fn new(constants: &[&str; 5]) -> Option<Curve> {
        let [p, n, b, gx, gy] = constants.map(unhex);
        let p_mod = Modulus::new(&p)?;
        let n_mod = Modulus::new(&n)?;
        let size = p.len();
        let mut n_minus_2 = n.clone();
        *n_minus_2.last_mut()? -= 2;
        let mut curve = Curve {
            p: p_mod,
            n: n_mod,
            size,
            b: [0; LIMBS],
            g: INFINITY,
            g_multiples: [INFINITY; 15],
            n_minus_2,
        };
        curve.b = curve.field_element(&b)?;
        curve.g = curve.affine(&gx, &gy)?;
        curve.g_multiples = curve.multiples(&curve.g);
        Some(curve)
    }

    // Field arithmetic modulo p, on Montgomery forms.

    fn mul(&self, a: &Limbs, b: &Limbs) -> Limbs {
        let mut scratch = [0; LIMBS];
        let mut out = [0; LIMBS + 1];
        self.p.mul(a, b, &mut scratch, &mut out);
        first(&out)
    }

    fn sqr(&self, a: &Limbs) -> Limbs {
        let mut scratch = [0; LIMBS];
        let mut out = [0; LIMBS + 1];
        self.p.sqr(a, &mut scratch, &mut out);
        first(&out)
    }

    fn add(&self, a: &Limbs, b: &Limbs) -> Limbs {
        let mut out = [0; LIMBS];
        self.p.add(a, b, &mut out);
        out
    }

    fn sub(&self, a: &Limbs, b: &Limbs) -> Limbs {
        let mut out = [0; LIMBS];
        self.p.sub(a, b, &mut out);
        out
    }

    /// Big-endian bytes of exactly `size` as a field element in Montgomery
    /// form; `None` when not below p.
    fn field_element(&self, be: &[u8]) -> Option<Limbs> {
        self.number(be, &self.p).map(|x| self.montgomery(&x))
    }

    /// A field element below p in Montgomery form.
    fn montgomery(&self, x: &Limbs) -> Limbs {
        let mut scratch = [0; LIMBS];
        let mut out = [0; LIMBS + 1];
        self.p.to_montgomery(x, &mut scratch, &mut out);
        first(&out)
    }

    /// Big-endian bytes of exactly `size` as a number below `modulus`.
    fn number(&self, be: &[u8], modulus: &Modulus) -> Option<Limbs> {
        if be.len() != self.size {
            return None;
        }
        let limbs = modulus.limbs_of(be)?;
        if !modulus.is_above(&limbs) {
            return None;
        }
        let mut out = [0; LIMBS];
        out.get_mut(..limbs.len())?.copy_from_slice(&limbs);
        Some(out)
    }

    /// The point (x, y), if its coordinates are below p and it is on the
    /// curve. (The point at infinity has no such coordinates.)
    fn affine(&self, x: &[u8], y: &[u8]) -> Option<Point> {
        let (x, y) = (self.field_element(x)?, self.field_element(y)?);
        let one = self.one();
        let point = Point { x, y, z: one };
        // The curve's one equation, at Z = 1 (so Z² = 1).
        self.on_curve(&point, &one).then_some(point)
    }

    /// 1 in Montgomery form.
    fn one(&self) -> Limbs {
        let mut one = [0; LIMBS];
        one[0] = 1;
        self.montgomery(&one)
    }

    /// 2P (dbl-2001-b of the Explicit-Formulas Database, for a = -3).
    fn double(&self, p: &Point) -> Point {
        let delta = self.sqr(&p.z);
        let gamma = self.sqr(&p.y);
        let beta = self.mul(&p.x, &gamma);
        let t = self.mul(&self.sub(&p.x, &delta), &self.add(&p.x, &delta));
        let alpha = self.add(&self.add(&t, &t), &t);
        let beta2 = self.add(&beta, &beta);
        let beta4 = self.add(&beta2, &beta2);
        let beta8 = self.add(&beta4, &beta4);
        let x = self.sub(&self.sqr(&alpha), &beta8);
        let z = self.sub(&self.sub(&self.sqr(&self.add(&p.y, &p.z)), &gamma), &delta);
        let gamma2 = self.sqr(&gamma);
        let gamma2x2 = self.add(&gamma2, &gamma2);
        let gamma2x4 = self.add(&gamma2x2, &gamma2x2);
        let gamma2x8 = self.add(&gamma2x4, &gamma2x4);
        let y = self.sub(&self.mul(&alpha, &self.sub(&beta4, &x)), &gamma2x8);
        Point { x, y, z }
    }

    /// P + Q (add-2007-bl), with the cases those formulas leave out: either
    /// point at infinity, P = Q, and P = -Q.
    fn add_points(&self, p: &Point, q: &Point) -> Point {
        if is_zero(&p.z) {
            return *q;
        }
        if is_zero(&q.z) {
            return *p;
        }
        let z1z1 = self.sqr(&p.z);
        let z2z2 = self.sqr(&q.z);
        let u1 = self.mul(&p.x, &z2z2);
        let u2 = self.mul(&q.x, &z1z1);
        let s1 = self.mul(&self.mul(&p.y, &q.z), &z2z2);
        let s2 = self.mul(&self.mul(&q.y, &p.z), &z1z1);
        let h = self.sub(&u2, &u1);
        let r_half = self.sub(&s2, &s1);
        if is_zero(&h) {
            return if is_zero(&r_half) {
                self.double(p)
            } else {
                INFINITY
            };
        }
        let h2 = self.add(&h, &h);
        let i = self.sqr(&h2);
        let j = self.mul(&h, &i);
        let r = self.add(&r_half, &r_half);
        let v = self.mul(&u1, &i);
        let x = self.sub(&self.sub(&self.sqr(&r), &j), &self.add(&v, &v));
        let s1j = self.mul(&s1, &j);
        let y = self.sub(&self.mul(&r, &self.sub(&v, &x)), &self.add(&s1j, &s1j));
        let zz = self.sub(&self.sub(&self.sqr(&self.add(&p.z, &q.z)), &z1z1), &z2z2);
        let z = self.mul(&zz, &h);
        Point { x, y, z }
    }

    /// 1P to 15P.
    fn multiples(&self, p: &Point) -> [Point; 15] {
        let mut table = [*p; 15];
        table[1] = self.double(p);
        for i in 2..15 {
            table[i] = self.add_points(&table[i - 1], p);
        }
        table
    }

    /// a·G + b·Q for scalars below n, four bits of both at a time: four
    /// doublings, then the multiples of G and Q the two digits name
    /// (G's are computed once per curve, Q's once per call).
    fn combination(&self, a: &Limbs, q: &Point, b: &Limbs) -> Point {
        let q_multiples = self.multiples(q);
        let mut acc = INFINITY;
        for window in (0..self.n.bits().div_ceil(4)).rev() {
            if !is_zero(&acc.z) {
                for _ in 0..4 {
                    acc = self.double(&acc);
                }
            }
            for (scalar, table) in [(a, &self.g_multiples), (b, &q_multiples)] {
                let digit = usize::from(nibble(scalar, window));
                if let Some(point) = digit.checked_sub(1).and_then(|i| table.get(i)) {
                    acc = self.add_points(&acc, point);
                }
            }
        }
        acc
    }

    /// Whether a Jacobian point with Z² = `z2` (Z not zero) satisfies
    /// Y² = X³ - 3·X·Z⁴ + b·Z⁶, the curve's equation multiplied by Z⁶.
    fn on_curve(&self, p: &Point, z2: &Limbs) -> bool {
        let z4 = self.sqr(z2);
        let z6 = self.mul(&z4, z2);
        let x3 = self.mul(&self.sqr(&p.x), &p.x);
        let xz4 = self.mul(&p.x, &z4);
        let three_xz4 = self.add(&self.add(&xz4, &xz4), &xz4);
        let rhs = self.add(&self.sub(&x3, &three_xz4), &self.mul(&self.b, &z6));
        self.sqr(&p.y) == rhs
    }

    /// Whether the point is (x, y), given as field elements in Montgomery form.
    fn is_at(&self, p: &Point, x: &Limbs, y: &Limbs) -> bool {
        let z2 = self.sqr(&p.z);
        let z3 = self.mul(&z2, &p.z);
        !is_zero(&p.z) && p.x == self.mul(x, &z2) && p.y == self.mul(y, &z3)
    }

    /// ECDSA verification (SEC 1 v2 §4.1.4) of `digest`, as long as a
    /// scalar, by the public point `q`; `signature` is r || s.
    fn verify_digest(&self, q: &Point, digest: &[u8], signature: &[u8]) -> bool {
        if signature.len() != 2 * self.size {
            return false;
        }
        let (r_bytes, s_bytes) = signature.split_at(self.size);
        let (Some(r), Some(s)) = (self.number(r_bytes, &self.n), self.number(s_bytes, &self.n))
        else {
            return false;
        };
        if is_zero(&r) || is_zero(&s) {
            return false;
        }
        // e: the digest as a number (it has the order's length), reduced
        // once: below 2^bits < 2n.
        let Some(mut e) = from_be(digest, self.n.limbs()) else {
            return false;
        };
        if !self.n.is_above(&e) {
            sub_in_place(&mut e, self.n.value());
        }
        let w = self.n.pow(&s, &self.n_minus_2);
        let (u1, u2) = (self.scalar_product(&e, &w), self.scalar_product(&r, &w));
        let point = self.combination(&u1, q, &u2);
        if is_zero(&point.z) {
            return false;
        }
        let z2 = self.sqr(&point.z);
        // R must be on the curve, as ring checks: an arithmetic fault (a
        // carry lost, a bad table entry) gives a point off it, which must
        // never be taken for a signature's R. Seven field products.
        if !self.on_curve(&point, &z2) {
            return false;
        }
        // x(R) mod n = r, without leaving Jacobian coordinates: X = x·Z²
        // for x = r, or for x = r + n when that is still below p.
        // r < n < p; r + n is checked against p below.
        let is_x = |x: &Limbs| point.x == self.mul(&self.montgomery(x), &z2);
        if is_x(&r) {
            return true;
        }
        let mut r_plus_n = [0; LIMBS];
        let mut carry = 0;
        for (i, (r, n)) in r.iter().zip(self.n.value()).enumerate() {
            let sum = r + n + carry;
            r_plus_n[i] = sum & LIMB_MASK;
            carry = sum >> LIMB_BITS;
        }
        carry == 0 && self.p.is_above(&r_plus_n[..self.p.limbs()]) && is_x(&r_plus_n)
    }

    /// a·b mod n for a and b below n.
    fn scalar_product(&self, a: &[u64], b: &[u64]) -> Limbs {
        let len = self.n.limbs();
        let mut scratch = [0; LIMBS];
        let mut a_mont = [0; LIMBS + 1];
        self.n.to_montgomery(&a[..len], &mut scratch, &mut a_mont);
        let mut out = [0; LIMBS + 1];
        self.n.mul(&a_mont, &b[..len], &mut scratch, &mut out);
        first(&out)
    }
}

fn first(out: &[u64; LIMBS + 1]) -> Limbs {
    let mut limbs = [0; LIMBS];
    limbs.copy_from_slice(&out[..LIMBS]);
    limbs
}

fn is_zero(x: &Limbs) -> bool {
    x.iter().all(|l| *l == 0)
}

/// Bits 4·window to 4·window + 3 of x (a limb holds seven whole nibbles).
fn nibble(x: &Limbs, window: usize) -> u8 {
    const PER_LIMB: usize = LIMB_BITS as usize / 4;
    let limb = x[window / PER_LIMB];
    ((limb >> (4 * (window % PER_LIMB))) & 0xf) as u8
}

/// A public EC key: a point of P-256 or P-384 checked to be on its curve.
#[derive(Clone)]
pub struct EcPublicKey {
    key_type: KeyType,
    curve: &'static Curve,
    point: Point,
}

impl std::fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcPublicKey({:?})", self.key_type)
    }
}

impl EcPublicKey {
    /// The point (x, y) of `key_type`'s curve (`EcP256` or `EcP384`), each
    /// coordinate big-endian of the curve's size; `None` unless both are
    /// below p and the point is on the curve.
    pub fn new(key_type: KeyType, x: &[u8], y: &[u8]) -> Option<EcPublicKey> {
        let curve = curve(key_type)?;
        Some(EcPublicKey {
            key_type,
            curve,
            point: curve.affine(x, y)?,
        })
    }

    /// `EcP256` or `EcP384`.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Whether `signature` (r || s) signs `message`: ES256 on P-256 with
    /// SHA-256, ES384 on P-384 with SHA-384.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let digest = match self.key_type {
            KeyType::EcP256 => Sha256::digest(message).to_vec(),
            _ => Sha384::digest(message).to_vec(),
        };
        self.curve.verify_digest(&self.point, &digest, signature)
    }
}

/// The bytes of a coordinate (and of a private scalar) on `key_type`'s curve.
pub fn coordinate_size(key_type: KeyType) -> Option<usize> {
    curve(key_type).map(|c| c.size)
}

/// Why a private EC scalar `d` cannot be a key of `key_type`'s curve:
/// `None` when it has the curve's size and is in [1, n-1].
pub fn private_key_problem(key_type: KeyType, d: &[u8]) -> Option<&'static str> {
    let Some(curve) = curve(key_type) else {
        return Some("not a curve rolegate supports");
    };
    match curve.number(d, &curve.n) {
        Some(s) if !is_zero(&s) => None,
        _ => Some("d must be a number from 1 to the curve's order - 1, of the curve's size"),
    }
}

/// Why (x, y) is not the public point of the private scalar `d` (one
/// [`private_key_problem`] accepted): `None` when d·G = (x, y).
pub fn public_point_problem(
    key_type: KeyType,
    d: &[u8],
    x: &[u8],
    y: &[u8],
) -> Option<&'static str> {
    // A check that cannot run is a failed check, never "no problem".
    let Some(curve) = curve(key_type) else {
        return Some("the key type is not an EC curve rolegate knows");
    };
    let Some(scalar) = curve.number(d, &curve.n) else {
        return Some("d must be a number of the curve's size, below its order");
    };
    let (Some(x), Some(y)) = (curve.field_element(x), curve.field_element(y)) else {
        return Some("x and y must be coordinates of the curve's size, below its prime");
    };
    let product = curve.combination(&scalar, &curve.g, &[0; LIMBS]);
    (!curve.is_at(&product, &x, &y)).then_some("x and y are not the public point of d")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generators_are_on_their_curves() {
        for (key_type, constants) in [(KeyType::EcP256, P256), (KeyType::EcP384, P384)] {
            let curve = curve(key_type).expect("curve");
            assert_eq!(curve.size, unhex(constants[0]).len());
            let (gx, gy) = (unhex(constants[3]), unhex(constants[4]));
            assert!(EcPublicKey::new(key_type, &gx, &gy).is_some());
            let mut off = gy.clone();
            off[5] ^= 1;
            assert!(EcPublicKey::new(key_type, &gx, &off).is_none());
            // n·G is the point at infinity, (n-1)·G is -G.
            let n = curve.number(&unhex(constants[1]), &curve.p).expect("n < p");
            assert!(is_zero(&curve.combination(&n, &curve.g, &[0; LIMBS]).z));
            let mut n_1 = n;
            n_1[0] -= 1;
            let minus_g = curve.combination(&n_1, &curve.g, &[0; LIMBS]);
            let neg_y = curve.sub(&[0; LIMBS], &curve.g.y);
            assert!(curve.is_at(&minus_g, &curve.g.x, &neg_y));
        }
    }

    #[test]
    fn doubling_agrees_with_adding() {
        let curve = curve(KeyType::EcP256).expect("curve");
        let g = curve.g;
        let two_g = curve.double(&g);
        let three_a = curve.add_points(&two_g, &g);
        let three_b = curve.add_points(&g, &curve.add_points(&g, &g));
        let z2a = curve.sqr(&three_a.z);
        let z2b = curve.sqr(&three_b.z);
        assert!(curve.mul(&three_a.x, &z2b) == curve.mul(&three_b.x, &z2a));
        // P + (-P) is the point at infinity.
        let minus_g = Point {
            y: curve.sub(&[0; LIMBS], &g.y),
            ..g
        };
        assert!(is_zero(&curve.add_points(&g, &minus_g).z));
    }

    #[test]
    fn points_off_the_curve_are_told_from_points_on_it_in_jacobian_coordinates() {
        for (key_type, constants) in [(KeyType::EcP256, P256), (KeyType::EcP384, P384)] {
            let curve = curve(key_type).expect("curve");
            let g = curve.g;
            // G, 2G and 7G (Z not 1 after doubling and adding) are on the curve.
            let two_g = curve.double(&g);
            let seven_g = curve.add_points(&curve.multiples(&g)[5], &g);
            for point in [g, two_g, seven_g] {
                assert!(
                    curve.on_curve(&point, &curve.sqr(&point.z)),
                    "{}",
                    constants[0]
                );
            }
            // One coordinate off by one is not.
            let mut off = seven_g;
            off.y = curve.add(&off.y, &curve.one());
            assert!(!curve.on_curve(&off, &curve.sqr(&off.z)));
            let mut off = two_g;
            off.x = curve.add(&off.x, &curve.one());
            assert!(!curve.on_curve(&off, &curve.sqr(&off.z)));
        }
    }

    #[test]
    fn private_scalars_are_checked() {
        let (gx, gy) = (unhex(P256[3]), unhex(P256[4]));
        let mut one = vec![0u8; 32];
        one[31] = 1;
        assert_eq!(private_key_problem(KeyType::EcP256, &one), None);
        assert_eq!(public_point_problem(KeyType::EcP256, &one, &gx, &gy), None);
        let mut two = one.clone();
        two[31] = 2;
        assert_eq!(private_key_problem(KeyType::EcP256, &two), None);
        assert!(public_point_problem(KeyType::EcP256, &two, &gx, &gy).is_some());
        assert!(private_key_problem(KeyType::EcP256, &[0; 32]).is_some());
        assert!(private_key_problem(KeyType::EcP256, &unhex(P256[1])).is_some());
        assert!(private_key_problem(KeyType::EcP256, &one[1..]).is_some());
        assert!(private_key_problem(KeyType::Rsa, &one).is_some());
        // A check that cannot run fails: a scalar of the wrong size or at
        // least the order, or a key type that is no curve.
        assert!(public_point_problem(KeyType::EcP256, &one[1..], &gx, &gy).is_some());
        assert!(public_point_problem(KeyType::EcP256, &unhex(P256[1]), &gx, &gy).is_some());
        assert!(public_point_problem(KeyType::Rsa, &one, &gx, &gy).is_some());
    }
}
