//! JOSE: JSON Web Algorithms, Keys, Signatures and Tokens (RFC 7515-7519),
//! strict JSON, and the claims a token carries. Knows nothing of policies.

pub mod alg;
pub mod claims;
pub mod ec;
pub mod json;
pub mod keys;
pub mod mint;
pub(crate) mod montgomery;
pub mod rsa_verify;
pub mod token;
