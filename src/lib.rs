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

pub mod authorize;
pub mod effect;
pub mod engine;
pub mod jose;
pub mod policy;
pub mod request;
pub mod token_endpoint;

#[cfg(feature = "web")]
pub mod web;

#[cfg(feature = "envoy")]
mod envoy;

pub use authorize::authenticate::VerifiedToken;
pub use authorize::decision::{Credential, Decision, Reason, RuleRef, TraceStep};
pub use authorize::evaluate::DecideOptions;
pub use authorize::matrix::{Matrix, MatrixCell, MatrixRequest, MatrixRow};
pub use authorize::route::Route;
pub use engine::decide::{CacheUse, State, Step};
pub use jose::token::TokenErrorKind;
pub use policy::{Policy, PolicyError, PolicyErrorCode};
pub use request::{Request, RequestView};
