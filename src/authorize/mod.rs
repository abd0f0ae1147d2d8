//! The pure decision: which rules apply to a path, what a role's rules say
//! about a method, the decision itself with its reason and trace, and the
//! role x method x path matrix.

pub(crate) mod authenticate;
pub(crate) mod binding;
pub mod decision;
pub mod diff;
pub(crate) mod evaluate;
pub mod matrix;
pub mod route;
pub(crate) mod rules;
pub(crate) mod trace;
