//! The IO-free protocol a proxy runs: decisions kept per token, remote key
//! sets and introspection calls, and the step-by-step decision that waits
//! for them.

pub mod cache;
pub(crate) mod decide;
pub mod exchange;
pub mod proofs;
pub mod remote;
