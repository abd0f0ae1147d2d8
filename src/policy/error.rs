//! The one error type of policy loading: where (a JSON path), what kind, and how to fix it.

pub use super::locate::Location;
pub(crate) use crate::jose::json::JsonPath;
use std::fmt;

/// What kind of mistake a [`PolicyError`] reports. Stable snake_case codes for
/// programs (the JS `Error.code`, the Envoy log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyErrorCode {
    /// The text is not JSON.
    InvalidJson,
    /// An object names the same key twice.
    DuplicateKey,
    /// A field the policy format does not have (often a typo).
    UnknownField,
    /// A required field is absent.
    MissingField,
    /// A field has the wrong JSON type.
    InvalidType,
    /// A field has the right type but a value that is not allowed.
    InvalidValue,
    /// A key is too weak (short HMAC secret, small RSA modulus) or not a valid key.
    InvalidKey,
    /// Two parts of the policy contradict or repeat each other.
    Conflict,
}

impl PolicyErrorCode {
    /// The stable snake_case code (`invalid_value`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyErrorCode::InvalidJson => "invalid_json",
            PolicyErrorCode::DuplicateKey => "duplicate_key",
            PolicyErrorCode::UnknownField => "unknown_field",
            PolicyErrorCode::MissingField => "missing_field",
            PolicyErrorCode::InvalidType => "invalid_type",
            PolicyErrorCode::InvalidValue => "invalid_value",
            PolicyErrorCode::InvalidKey => "invalid_key",
            PolicyErrorCode::Conflict => "conflict",
        }
    }
}

/// A policy that cannot be loaded. `path` is the JSON path of the offending
/// value (`roles[2].rules[0].paths[1]`), empty for the document itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The JSON path of the offending value; empty for the document itself.
    pub path: String,
    /// What kind of mistake.
    pub code: PolicyErrorCode,
    /// What is wrong and how to fix it.
    pub message: String,
    /// Where in the policy text (set by [`Policy::from_json`](crate::Policy::from_json)).
    pub location: Option<Location>,
}

impl PolicyError {
    /// An error at `path` (a rendered JSON path).
    pub fn new(path: impl Into<String>, code: PolicyErrorCode, message: impl Into<String>) -> Self {
        PolicyError {
            path: path.into(),
            code,
            message: message.into(),
            location: None,
        }
    }

    /// The error with where `path` is in `text` (unless already known).
    pub(crate) fn located_in(mut self, text: &str) -> Self {
        if self.location.is_none() {
            self.location =
                super::locate::locate(text, &self.path).map(|bytes| Location::of(text, bytes));
        }
        self
    }

    pub(crate) fn value(path: &JsonPath, message: impl Into<String>) -> Self {
        PolicyError::new(path.to_string(), PolicyErrorCode::InvalidValue, message)
    }

    pub(crate) fn key(path: &JsonPath, message: impl Into<String>) -> Self {
        PolicyError::new(path.to_string(), PolicyErrorCode::InvalidKey, message)
    }

    pub(crate) fn conflict(path: &JsonPath, message: impl Into<String>) -> Self {
        PolicyError::new(path.to_string(), PolicyErrorCode::Conflict, message)
    }

    pub(crate) fn missing(path: &JsonPath, message: impl Into<String>) -> Self {
        PolicyError::new(path.to_string(), PolicyErrorCode::MissingField, message)
    }

    pub(crate) fn wrong_type(path: &JsonPath, message: impl Into<String>) -> Self {
        PolicyError::new(path.to_string(), PolicyErrorCode::InvalidType, message)
    }

    /// A key's error, at the key's place in the policy.
    pub(crate) fn jwk(at: &JsonPath, e: crate::jose::keys::JwkError) -> Self {
        use crate::jose::keys::JwkErrorKind;
        let code = match e.kind {
            JwkErrorKind::Key => PolicyErrorCode::InvalidKey,
            JwkErrorKind::WrongType => PolicyErrorCode::InvalidType,
            JwkErrorKind::Value => PolicyErrorCode::InvalidValue,
            JwkErrorKind::Missing => PolicyErrorCode::MissingField,
        };
        PolicyError::new(at.join(&e.path).to_string(), code, e.message)
    }

    /// A reference to a role the policy does not have.
    pub(crate) fn unknown_role<'a>(
        path: &JsonPath,
        name: &str,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let known: Vec<&str> = known.into_iter().collect();
        PolicyError::value(
            path,
            format!(
                "no role is named \"{}\"; roles are: {}",
                name.escape_debug(),
                known.join(", ")
            ),
        )
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_the_contract() {
        let p = JsonPath::root()
            .field("roles")
            .index(2)
            .field("rules")
            .index(0)
            .field("paths")
            .index(1);
        assert_eq!(p.to_string(), "roles[2].rules[0].paths[1]");
        let e = PolicyError::value(&p, "'**' may only be a whole segment");
        assert_eq!(
            e.to_string(),
            "roles[2].rules[0].paths[1]: '**' may only be a whole segment"
        );
    }
}
