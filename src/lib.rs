//! rolegate decides access to administrative HTTP APIs protected by OAuth2
//! bearer tokens (JWT).
//!
//! One pure core: [`Policy::from_json`] loads and checks a policy once;
//! [`Policy::decide`] turns a [`Request`] (method, path, headers, the current
//! time) into a [`Decision`]. Hosts adapt it: `src/envoy/` (proxy-wasm filter,
//! feature `envoy`) and `src/web/` (wasm-bindgen module, feature `web`).
//! The core reads no clock and imports no host API.

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

pub mod alg;
mod authorize;
pub mod cache;
pub mod claims;
mod decide;
pub mod decision;
pub mod header_map;
pub mod host;
pub mod json;
pub mod keys;
pub mod matrix;
pub mod method;
pub mod mint;
pub mod path;
pub mod pattern;
pub mod policy;
pub mod remote;
pub mod request;
pub mod rsa_verify;
pub mod token;
pub mod token_endpoint;
pub mod token_limits;
mod trace;

#[cfg(feature = "web")]
pub mod web;

#[cfg(feature = "envoy")]
mod envoy;

pub use decide::{CacheUse, DecideOptions, State, Step};
pub use decision::{Credential, Decision, Reason, RuleRef, TraceStep};
pub use matrix::{Matrix, MatrixCell, MatrixRequest, MatrixRow};
pub use policy::{Policy, PolicyError, PolicyErrorCode};
pub use request::{Request, RequestView};
pub use token::{TokenErrorKind, VerifiedToken};
pub use token_endpoint::Route;
