//! JWS algorithms rolegate accepts, and the kind of key each one needs.

use std::fmt;

/// A JWS signature algorithm (RFC 7518). `none` is deliberately absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// RFC 8037's polymorphic name; on an Ed25519 key the same as [`Alg::Ed25519`].
    EdDSA,
    /// RFC 9864's fully-specified EdDSA with Ed25519 (node-oidc-provider,
    /// openid-client and oauth4webapi sign with it).
    Ed25519,
}

/// The kind of key an algorithm verifies with. Keeping the curve in the type
/// means "ES256 with a P-384 key" is simply a mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// An HMAC secret.
    Hmac,
    /// An RSA key.
    Rsa,
    /// An EC key on P-256.
    EcP256,
    /// An EC key on P-384.
    EcP384,
    /// An Ed25519 key.
    Ed25519,
}

impl KeyType {
    /// The usual algorithm for this kind of key, when a JWK names none.
    pub fn default_alg(self) -> Alg {
        match self {
            KeyType::Hmac => Alg::HS256,
            KeyType::Rsa => Alg::RS256,
            KeyType::EcP256 => Alg::ES256,
            KeyType::EcP384 => Alg::ES384,
            KeyType::Ed25519 => Alg::EdDSA,
        }
    }
}

impl Alg {
    /// Every algorithm rolegate verifies.
    pub const ALL: [Alg; 13] = [
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::EdDSA,
        Alg::Ed25519,
    ];

    /// Exact, case-sensitive name lookup (RFC 7515 §4.1.1: `alg` is case-sensitive).
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JOSE name (`RS256`).
    pub fn name(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
            Alg::Ed25519 => "Ed25519",
        }
    }

    /// The kind of key the algorithm needs.
    pub fn key_type(self) -> KeyType {
        match self {
            Alg::HS256 | Alg::HS384 | Alg::HS512 => KeyType::Hmac,
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                KeyType::Rsa
            }
            Alg::ES256 => KeyType::EcP256,
            Alg::ES384 => KeyType::EcP384,
            Alg::EdDSA | Alg::Ed25519 => KeyType::Ed25519,
        }
    }

    /// Minimum HMAC key length in bytes: the hash output size (RFC 7518 §3.2).
    pub fn min_hmac_key_len(self) -> Option<usize> {
        match self {
            Alg::HS256 => Some(32),
            Alg::HS384 => Some(48),
            Alg::HS512 => Some(64),
            _ => None,
        }
    }
}

impl Alg {
    /// Whether a key whose JWK says `alg: self` may verify `other`: the same
    /// algorithm, or EdDSA and Ed25519, which on an Ed25519 key are one.
    pub fn admits(self, other: Alg) -> bool {
        self == other
            || (self.key_type() == KeyType::Ed25519 && other.key_type() == KeyType::Ed25519)
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl KeyType {
    /// What the algorithm is, for people.
    pub fn describe(self) -> &'static str {
        match self {
            KeyType::Hmac => "HMAC secret",
            KeyType::Rsa => "RSA key",
            KeyType::EcP256 => "EC P-256 key",
            KeyType::EcP384 => "EC P-384 key",
            KeyType::Ed25519 => "Ed25519 key",
        }
    }
}

/// The list of accepted names, for error messages.
pub fn known_names() -> String {
    Alg::ALL
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Alg::ALL {
            assert_eq!(Alg::from_name(alg.name()), Some(alg));
        }
        assert_eq!(Alg::from_name("rs256"), None);
        assert_eq!(Alg::from_name("none"), None);
        assert_eq!(Alg::from_name("ES512"), None);
    }

    #[test]
    fn eddsa_and_ed25519_are_one_algorithm_on_an_ed25519_key() {
        assert_eq!(Alg::from_name("Ed25519"), Some(Alg::Ed25519));
        assert_eq!(Alg::Ed25519.key_type(), KeyType::Ed25519);
        assert!(Alg::EdDSA.admits(Alg::Ed25519) && Alg::Ed25519.admits(Alg::EdDSA));
        assert!(!Alg::ES256.admits(Alg::ES384));
        assert!(!Alg::EdDSA.admits(Alg::ES256));
    }

    #[test]
    fn families() {
        assert_eq!(Alg::PS384.key_type(), KeyType::Rsa);
        assert_eq!(Alg::ES384.key_type(), KeyType::EcP384);
        assert_eq!(Alg::HS512.min_hmac_key_len(), Some(64));
        assert_eq!(Alg::RS256.min_hmac_key_len(), None);
    }
}
