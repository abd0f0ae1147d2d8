//! What `Policy::decide` answers: the verdict, the HTTP status and challenge
//! a host must send, the identity to forward, and why (the trace).

use crate::policy::Effect;
use serde::Serialize;
use serde_json::Value;

/// Why a request was allowed or denied. Each reason has one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Reason {
    /// A granted role allows the method on the path.
    Allowed,
    /// Outside `path_prefix` and `outside_prefix` is `allow`.
    OutsidePrefix,
    /// Outside `path_prefix` (default): the policy governs nothing there.
    OutsidePrefixDenied,
    /// No Authorization header.
    MissingCredentials,
    /// An Authorization scheme other than Bearer or Basic.
    UnsupportedScheme,
    /// Malformed request: repeated Authorization, empty token, token in the
    /// query, bad method or method override.
    InvalidRequest,
    /// The bearer token failed validation; `cause` says which check.
    InvalidToken,
    /// The token lacks a required scope.
    InsufficientScope,
    /// The token is valid but grants no role.
    NoRole,
    /// A deny rule of a granted role matched and no role allows.
    DeniedByRule,
    /// Granted roles have no rule allowing this method on this path.
    NotPermitted,
    /// TRACE and CONNECT are never allowed.
    ForbiddenMethod,
    /// `allow_all_permissions` is off: OAuth2 clients never write to
    /// `authentication_paths`, whatever their role allows.
    AuthenticationConfigProtected,
    /// Basic credentials while `basic_auth` is `deny`.
    BasicAuthDisabled,
    /// Basic credentials forwarded for the upstream to check.
    BasicAuthPassThrough,
    /// The path cannot be canonicalised safely; `cause` says why.
    InvalidPath,
    /// A remote issuer's keys could not be loaded: 503, fail closed.
    KeysUnavailable,
    /// Introspection gave no usable answer: 503, fail closed.
    IntrospectionUnavailable,
    /// The request is for rolegate's own token endpoint (or its active-token
    /// list): the filter answers it itself and forwards nothing.
    TokenEndpoint,
    /// A genuine CORS preflight while `bypass_cors_preflight` is on: passed
    /// on, without identity, for Envoy's CORS filter or the upstream to answer.
    CorsPreflight,
    /// A DPoP client sent more proofs within `dpop.max_age_seconds` than
    /// `dpop.max_proofs_per_client`: 429 until older ones age out.
    TooManyProofs,
    /// Proofs already used could not be looked up (the host's storage
    /// failed): 503, fail closed.
    ReplayCheckUnavailable,
}

impl Reason {
    /// Stable snake_case code (`invalid_token`, `insufficient_scope`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Allowed => "allowed",
            Reason::OutsidePrefix => "outside_prefix",
            Reason::OutsidePrefixDenied => "outside_prefix_denied",
            Reason::MissingCredentials => "missing_credentials",
            Reason::UnsupportedScheme => "unsupported_scheme",
            Reason::InvalidRequest => "invalid_request",
            Reason::InvalidToken => "invalid_token",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::NoRole => "no_role",
            Reason::DeniedByRule => "denied_by_rule",
            Reason::NotPermitted => "not_permitted",
            Reason::ForbiddenMethod => "forbidden_method",
            Reason::AuthenticationConfigProtected => "authentication_config_protected",
            Reason::BasicAuthDisabled => "basic_auth_disabled",
            Reason::BasicAuthPassThrough => "basic_auth_pass_through",
            Reason::InvalidPath => "invalid_path",
            Reason::KeysUnavailable => "keys_unavailable",
            Reason::IntrospectionUnavailable => "introspection_unavailable",
            Reason::TokenEndpoint => "token_endpoint",
            Reason::CorsPreflight => "cors_preflight",
            Reason::TooManyProofs => "too_many_proofs",
            Reason::ReplayCheckUnavailable => "replay_check_unavailable",
        }
    }

    /// The HTTP status this reason answers with.
    pub fn status(self) -> u16 {
        match self {
            Reason::Allowed
            | Reason::OutsidePrefix
            | Reason::BasicAuthPassThrough
            | Reason::TokenEndpoint
            | Reason::CorsPreflight => 200,
            Reason::InvalidRequest | Reason::InvalidPath => 400,
            Reason::MissingCredentials
            | Reason::UnsupportedScheme
            | Reason::InvalidToken
            | Reason::BasicAuthDisabled => 401,
            Reason::InsufficientScope
            | Reason::NoRole
            | Reason::DeniedByRule
            | Reason::NotPermitted
            | Reason::ForbiddenMethod
            | Reason::AuthenticationConfigProtected
            | Reason::OutsidePrefixDenied => 403,
            Reason::TooManyProofs => 429,
            Reason::KeysUnavailable
            | Reason::IntrospectionUnavailable
            | Reason::ReplayCheckUnavailable => 503,
        }
    }

    /// Whether the request goes on to the upstream.
    pub fn is_allowed(self) -> bool {
        matches!(
            self,
            Reason::Allowed
                | Reason::OutsidePrefix
                | Reason::BasicAuthPassThrough
                | Reason::CorsPreflight
        )
    }

    /// Every reason, for hosts that pre-register one counter per reason.
    pub const ALL: [Reason; 22] = [
        Reason::Allowed,
        Reason::OutsidePrefix,
        Reason::OutsidePrefixDenied,
        Reason::MissingCredentials,
        Reason::UnsupportedScheme,
        Reason::InvalidRequest,
        Reason::InvalidToken,
        Reason::InsufficientScope,
        Reason::NoRole,
        Reason::DeniedByRule,
        Reason::NotPermitted,
        Reason::ForbiddenMethod,
        Reason::AuthenticationConfigProtected,
        Reason::BasicAuthDisabled,
        Reason::BasicAuthPassThrough,
        Reason::InvalidPath,
        Reason::KeysUnavailable,
        Reason::IntrospectionUnavailable,
        Reason::TokenEndpoint,
        Reason::CorsPreflight,
        Reason::TooManyProofs,
        Reason::ReplayCheckUnavailable,
    ];
}

/// How the request presented itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Credential {
    /// No credentials.
    None,
    /// An `Authorization: Bearer` token.
    Bearer,
    /// An `Authorization: DPoP` token with its proof (RFC 9449).
    Dpop,
    /// `Authorization: Basic` credentials.
    Basic,
    /// A claims-only preview: every check except the signature.
    Claims,
    /// Another `Authorization` scheme.
    Other,
}

/// How a token bound to its client (`cnf`) showed the request is the
/// client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Binding {
    /// A DPoP proof signed by the token's key (RFC 9449).
    Dpop,
    /// The connection's client certificate (RFC 8705 §3).
    Certificate,
    /// Both.
    DpopAndCertificate,
}

/// The rule that decided: `roles[role].rules[index]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RuleRef {
    /// What the rule is called everywhere: its `name`, or `role#index`.
    pub label: String,
    /// The role's name.
    pub role: String,
    /// The rule's index in the role's `rules` (zero-based).
    pub index: usize,
    /// Whether the rule allows or denies.
    pub effect: Effect,
}

/// How one role was evaluated against the token's claims.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RoleCheck {
    /// The role's name.
    pub role: String,
    /// Whether the role is enabled.
    pub enabled: bool,
    /// Whether the token was granted the role.
    pub granted: bool,
    /// `"attributes"` or `"any_valid_token"`.
    #[cfg_attr(test, ts(type = "'attributes' | 'any_valid_token'"))]
    pub grant: &'static str,
    /// Each required attribute, matched or not.
    pub attributes: Vec<AttributeCheck>,
}

/// How one required attribute compared with the token's claims.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AttributeCheck {
    /// The claim's name or path.
    pub claim: String,
    /// The value the role requires.
    pub value: String,
    /// Whether the token carries it.
    pub matched: bool,
    /// The token's value of the claim, if it has one.
    pub actual: Option<Value>,
}

/// One step of the evaluation, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TraceStep {
    /// The step's name (`path`, `token.signature`, `scope`, ...).
    pub step: &'static str,
    /// Whether the step passed.
    pub ok: bool,
    /// What was checked, for people.
    pub detail: String,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Decision {
    /// What enforcement does (in dry run: what it would do).
    pub allowed: bool,
    /// The HTTP status: 200, or 400/401/403/429/503 for a refusal.
    pub status: u16,
    /// Why, as a stable code.
    pub reason: Reason,
    /// The precise check behind `reason`, e.g. `expired` or `encoded_slash`.
    pub cause: Option<&'static str>,
    /// The `WWW-Authenticate` value to send (RFC 6750 §3), if any.
    pub www_authenticate: Option<String>,
    /// How the request presented itself.
    pub credential: Credential,
    /// The token's issuer, when it was verified.
    pub issuer: Option<String>,
    /// The subject for audit logs (the policy's `subject_claim`).
    pub subject: Option<String>,
    /// The client id (the policy's `client_id_claim`).
    pub client_id: Option<String>,
    /// Granted role names, in policy order.
    pub roles: Vec<String>,
    /// The rule that decided, if one did.
    pub rule: Option<RuleRef>,
    /// The canonical path (without query), when the path could be canonicalised.
    pub path: Option<String>,
    /// What the upstream should receive as `:path`: canonical path plus query.
    pub upstream_path: Option<String>,
    /// Methods judged: the request method, then any override.
    pub methods: Vec<String>,
    /// The token's `exp`, for caches.
    #[cfg_attr(test, ts(type = "number | null"))]
    pub expires_at: Option<u64>,
    /// The binding the token carries (`cnf`), which every request must
    /// prove: an allowed decision proved it, a refusal's `cause` says what
    /// failed. A decision with one is never reused.
    pub binding: Option<Binding>,
    /// A fresh server nonce for the `DPoP-Nonce` header, when a proof
    /// lacked a valid one (`use_dpop_nonce`).
    pub dpop_nonce: Option<String>,
    /// Per-role attribute evaluation (empty unless explaining).
    pub role_checks: Vec<RoleCheck>,
    /// Ordered steps (empty unless explaining).
    pub trace: Vec<TraceStep>,
    /// Whether the policy is in dry run (everything is forwarded).
    pub dry_run: bool,
}

impl Decision {
    /// Whether the host lets the request through: allowed, or dry run.
    pub fn forward(&self) -> bool {
        // The token endpoint is answered, in dry run too: it is not a check
        // of requests to the upstream.
        self.allowed || (self.dry_run && self.reason != Reason::TokenEndpoint)
    }
}
