//! Where a request goes: decided and forwarded, or answered by one of
//! rolegate's own endpoints.

use crate::policy::Policy;
use crate::request::RequestView;

/// Where a request goes: decided and forwarded, or answered by one of
/// rolegate's own endpoints. Said by the core ([`Policy::route`]), so every
/// host routes alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Decided like any request (the answer is a [`crate::Decision`]).
    Decide,
    /// The token endpoint: answered with [`Policy::issue_token`].
    IssueToken,
    /// The active-token list: answered with [`Policy::list_tokens`].
    ListTokens,
    /// The RFC 8414 / OpenID discovery document: [`Policy::endpoint_metadata`].
    Metadata,
    /// The signing key's public JWKS: [`Policy::endpoint_jwks`].
    Jwks,
}

impl Policy {
    /// Which route a request takes. An endpoint is served only on its exact
    /// path as sent (a query may follow): every other spelling of it
    /// (`//oauth/token/`, `/x/../oauth/token/`, `/%6Fauth/token/`) is decided
    /// like any other path, so no spelling can reach the upstream undecided.
    pub fn route(&self, request: &RequestView) -> Route {
        self.route_of(request.path)
    }

    /// [`Policy::route`] of a raw request target.
    pub fn route_of(&self, target: &[u8]) -> Route {
        let Some(endpoint) = self.token_endpoint.as_ref() else {
            return Route::Decide;
        };
        let path = match target.iter().position(|b| *b == b'?') {
            Some(query) => target.get(..query).unwrap_or(target),
            None => target,
        };
        if path == endpoint.path.as_bytes() {
            Route::IssueToken
        } else if path == endpoint.active_tokens_path.as_bytes() {
            Route::ListTokens
        } else if path == endpoint.jwks_path.as_bytes() {
            Route::Jwks
        } else if endpoint.metadata_paths.iter().any(|m| path == m.as_bytes()) {
            Route::Metadata
        } else {
            Route::Decide
        }
    }
}
