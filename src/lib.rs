//! rolegate decides access to administrative HTTP APIs protected by OAuth2
//! bearer tokens (JWT).
//!
//! One pure core: [`Policy::from_json`] loads and checks a policy once;
//! [`Policy::decide`] turns a [`Request`] (method, path, headers, the current
//! time) into a [`Decision`]. The core reads no clock and imports no host API.
//!
//! ```
//! let policy = rolegate::Policy::from_json(include_str!("../examples/pingaccess.json")).unwrap();
//! let decision = policy.decide(&rolegate::Request::new("GET", "/pa-admin-api/v3/users", 1_800_000_000));
//! assert_eq!((decision.status, decision.reason.as_str()), (401, "missing_credentials"));
//! ```
//!
//! Proxies run the IO-free protocol: [`Policy::handle`] says what to do with
//! a request by its route, [`Policy::decide_step`] decides or asks for a
//! remote call ([`Step`]), and the [`Decision`] says which header edits
//! ([`Decision::upstream_headers`]) or [`Response`] to apply. Hosts adapt it:
//! `src/envoy/` (proxy-wasm filter, feature `envoy`) and `src/web/`
//! (wasm-bindgen module, feature `web`). [`testing`] holds what harnesses
//! need besides: key generation, token signing, unverified decoding.
//! `docs/architecture.md` says where each decision is made.

#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

mod authorize;
mod effect;
mod engine;
mod jose;
mod policy;
mod request;
mod token_endpoint;
mod typescript;

#[cfg(feature = "web-bindings")]
mod web;

#[cfg(feature = "envoy")]
mod envoy;

// Deciding.
pub use authorize::binding::{ProofMemory, ProofMemoryError, ProofUse};
pub use authorize::decision::{
    AttributeCheck, Binding, Credential, Decision, Reason, RoleCheck, RuleRef, TraceStep,
};
pub use authorize::diff::{Change, DiffCell, DiffRow, MatrixDiff, Presence};
pub use authorize::evaluate::DecideOptions;
pub use authorize::matrix::{Matrix, MatrixCell, MatrixRequest, MatrixRow};
pub use authorize::route::Route;
pub use policy::edit::{add_token_endpoint, grant_by_role_claim, trust_key};
pub use policy::{EnvoySettings, Policy, PolicyError, PolicyErrorCode, RoleSummary};
pub use request::{certificate_thumbprint_from_hex, Request, RequestView};

// What a host applies.
pub use effect::{trailers_to_remove, HeaderChanges, Response};

// The protocol a proxy runs.
pub use authorize::authenticate::VerifiedToken;
pub use engine::cache::TokenCache;
pub use engine::decide::{CacheUse, Introspected, Parked, State, Step, MAX_PARKED};
pub use engine::exchange::{BodyStep, Handling};
pub use engine::proofs::{record_in_shard, MemoryProofs, ProofEntry};
pub use engine::remote::{HttpCall, HttpResult, Purpose};
pub use jose::token::TokenErrorKind;

// The token endpoint.
pub use token_endpoint::limits::Refusal;
pub use token_endpoint::{
    create_client, ActiveToken, MemoryTokenStore, NewClient, Reply, ReplyAudit, SeenAssertions,
    TokenStore,
};

/// For test harnesses, tools and fuzzing: key generation, token signing
/// (unsigned and malformed tokens too), unverified decoding and the
/// building blocks the core's own tests reach. Never part of a decision;
/// not a stable API.
pub mod testing {
    pub use crate::authorize::binding::token_hash;
    pub use crate::jose::alg::{Alg, KeyType};
    pub use crate::jose::keys::jwk_thumbprint;
    pub use crate::jose::keys::{b64url_decode, b64url_encode, VerificationKey};
    pub use crate::jose::mint::{
        encode_parts, generate_key, mint, public_jwk, random_id, sign_raw, signer, MintError,
        MintRequest, SigningKey,
    };
    pub use crate::jose::rsa_verify::{RsaHash, RsaPublicKey};
    pub use crate::jose::token::{decode_unverified, CompactJws, DecodedToken};
    pub use crate::request::header_map::serialize as header_block;
    pub use crate::request::path::{canonicalize, from_bytes as path_from_bytes, CanonicalPath};
}
