//! The policy document exactly as written (JSON), before any checks beyond
//! types. Unknown fields are errors: a typo must never weaken a policy.
//! Each part is declared once with how each member is read
//! ([`json_object!`](super::read::json_object)): its members are both
//! the fields and the only names accepted, checked in this order.

use super::error::{JsonPath, PolicyError};
use super::read::{json_object, variant, Read};
use serde_json::Value;

json_object! {
    #[derive(Debug)]
    pub struct PolicyDocument {
        /// Free text for people; ignored by the engine.
        #[allow(dead_code)]
        pub description: Option<String> = optional,
        /// May be empty only when a `token_endpoint` issues the tokens.
        pub issuers: Option<Vec<IssuerDocument>> = optional,
        pub path_prefix: Option<String> = optional,
        pub outside_prefix: OutsidePrefix = or_default,
        pub required_scopes: Vec<String> = or_default,
        /// Largest bearer token accepted, in bytes.
        pub max_token_bytes: Option<u64> = optional,
        pub subject_claim: Option<String> = optional,
        pub client_id_claim: Option<String> = optional,
        pub basic_auth: BasicAuth = or_default,
        pub allow_all_permissions: bool = or_default,
        /// Let genuine CORS preflights through undecided (like jwt_authn's
        /// `bypass_cors_preflight`): browsers send them without credentials.
        pub bypass_cors_preflight: bool = or_default,
        /// GET and HEAD with a body: refused (default) or decided as usual.
        pub read_bodies: ReadBodies = or_default,
        /// POST with a form body (which may carry `_method`): refused
        /// (default) or decided as usual.
        pub form_posts: FormPosts = or_default,
        pub authentication_paths: Vec<String> = or_default,
        /// What the upstream does with paths; every behaviour is assumed unless
        /// set to false here.
        pub upstream_paths: Option<UpstreamPathsDocument> = optional,
        pub roles: Vec<RoleDocument> = required,
        pub mode: Mode = or_default,
        pub realm: Option<String> = optional,
        /// Settings of the Envoy filter (identity headers, stats, cache).
        pub envoy: Option<EnvoyDocument> = optional,
        /// The filter issues tokens itself (Pexip's management node `/oauth/token/`).
        pub token_endpoint: Option<TokenEndpointDocument> = optional,
        /// OAuth2 clients of the token endpoint, each bound to one role.
        pub oauth2_clients: Vec<OAuthClientDocument> = or_default,
        /// How DPoP proofs (RFC 9449) are checked.
        pub dpop: Option<DpopDocument> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct DpopDocument {
        /// The origins clients address (`https://admin.example.com`), which a
        /// proof's `htu` must name; default: the request's own scheme and host.
        pub origins: Vec<String> = or_default,
        /// Proof algorithms accepted (default: every asymmetric one rolegate verifies).
        pub algorithms: Option<Vec<String>> = optional,
        /// How old a proof's `iat` may be (default 60).
        pub max_age_seconds: Option<u64> = optional,
        /// How far in the future a proof's `iat` may be (default 5).
        pub leeway_seconds: Option<u64> = optional,
        /// Proofs remembered per client key within `max_age_seconds`
        /// (default 1000): more are refused until older ones age out.
        pub max_proofs_per_client: Option<u64> = optional,
        /// With a secret (at least 32 bytes), proofs must carry a server
        /// nonce (`DPoP-Nonce`) rolegate issued within `max_age_seconds`.
        pub nonce_secret: Option<String> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct UpstreamPathsDocument {
        pub case_insensitive: Option<bool> = optional,
        pub format_suffixes: Option<bool> = optional,
        pub trims_dots_and_spaces: Option<bool> = optional,
        pub folds_unicode: Option<bool> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct TokenEndpointDocument {
        /// The `iss` of issued tokens; added to the trusted issuers automatically.
        pub issuer: String = required,
        /// The `aud` of issued tokens.
        pub audience: String = required,
        /// A private EC P-256 JWK (ES256) that signs issued tokens.
        pub signing_key: Value = required,
        /// Where clients post (default `/oauth/token/`).
        pub path: Option<String> = optional,
        /// The endpoint's URL, which client assertions name as `aud` (default:
        /// the issuer followed by the path).
        pub url: Option<String> = optional,
        pub access_token_expiration_seconds: Option<u64> = optional,
        /// Where an administrator lists active tokens (default `/oauth/tokens/`).
        pub active_tokens_path: Option<String> = optional,
        /// The role a token needs to list active tokens.
        pub active_tokens_role: String = required,
        /// Each client's share of the endpoint's storage.
        pub client_limits: Option<ClientLimitsDocument> = optional,
        /// Where the signing key's public JWKS is served (default `/oauth/jwks/`).
        pub jwks_path: Option<String> = optional,
        /// Longest client assertion lifetime accepted (default 3600).
        pub max_assertion_seconds: Option<u64> = optional,
        /// What a client assertion's `aud` may name (default: the endpoint's
        /// URL, the issuer, and the URL's host, as Pexip's clients send it).
        pub assertion_audiences: Option<Vec<String>> = optional,
        /// Several proxies, one token instance: this proxy sends token requests
        /// and the active-token list to the instance behind this Envoy cluster.
        pub forward_to_cluster: Option<String> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct ClientLimitsDocument {
        pub active_tokens: Option<u64> = optional,
        pub tokens_per_minute: Option<u64> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct OAuthClientDocument {
        pub client_id: String = required,
        pub name: String = required,
        /// The role its tokens carry (a role of this policy).
        pub role: String = required,
        /// The client's public key (its private half signs client assertions).
        pub jwk: Value = required,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct IssuerDocument {
        pub issuer: String = required,
        pub audiences: Vec<String> = required,
        /// For tokens without `aud` (AWS Cognito access tokens): the app
        /// clients whose `client_id` is accepted instead.
        pub client_ids: Vec<String> = or_default,
        pub jwks: Option<JwksDocument> = optional,
        pub secrets: Vec<SecretDocument> = or_default,
        pub algorithms: Vec<String> = required,
        pub token_type: Option<String> = optional,
        pub leeway_seconds: Option<u64> = optional,
        pub max_lifetime_seconds: Option<u64> = optional,
        /// The issuer's JWKS, fetched by the Envoy filter.
        pub jwks_uri: Option<String> = optional,
        /// An OpenID discovery document whose `jwks_uri` (and
        /// `introspection_endpoint`) are used.
        pub discovery: Option<String> = optional,
        /// How the Envoy filter reaches the authorization server.
        pub remote: Option<RemoteDocument> = optional,
        /// RFC 7662 token introspection.
        pub introspection: Option<IntrospectionDocument> = optional,
        /// Tokens bound to their client (`cnf`: DPoP, certificate): verified
        /// (`allow`, default), the only ones accepted (`require`), or refused.
        pub bound_tokens: BoundTokens = or_default,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct RemoteDocument {
        /// The Envoy cluster that reaches the authorization server.
        pub cluster: String = required,
        pub refresh_seconds: Option<u64> = optional,
        pub min_refetch_seconds: Option<u64> = optional,
        pub timeout_ms: Option<u64> = optional,
        pub max_response_bytes: Option<u64> = optional,
        /// TLS of the cluster, for the generated Envoy config: the CA that
        /// signs the server's certificate, and rolegate's client
        /// certificate (mutual TLS, `tls_client_auth`).
        pub tls: Option<RemoteTlsDocument> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct RemoteTlsDocument {
        /// PEM file of the CAs that sign the server's certificate.
        pub ca: Option<String> = optional,
        /// PEM file of the client certificate Envoy presents.
        pub certificate: Option<String> = optional,
        /// PEM file of its private key.
        pub private_key: Option<String> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct IntrospectionDocument {
        /// The endpoint; with `discovery`, the document's `introspection_endpoint` by default.
        pub endpoint: Option<String> = optional,
        pub client_id: String = required,
        pub client_auth: ClientAuthMethod = required,
        pub client_secret: Option<String> = optional,
        /// A private JWK for `private_key_jwt` (RFC 7523).
        pub private_key: Option<Value> = optional,
        /// `opaque` (default): only tokens that are not JWTs; `all`: every token of this issuer.
        pub tokens: IntrospectTokens = or_default,
        pub cache_seconds: Option<u64> = optional,
        pub require_audience: Option<bool> = optional,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    PrivateKeyJwt,
    /// RFC 8705 mutual TLS (`tls_client_auth` or `self_signed_tls_client_auth`):
    /// the client certificate of `remote.tls` authenticates; the form names
    /// the client.
    TlsClientAuth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntrospectTokens {
    #[default]
    Opaque,
    All,
}

json_object! {
    #[derive(Debug)]
    pub struct JwksDocument: "an object like {\"keys\": [...]}" {
        /// Each key is checked by hand: JWKs legitimately carry members rolegate
        /// does not use (`x5c`, `x5t`, ...), so they cannot deny unknown fields.
        pub keys: Vec<Value> = required,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct SecretDocument {
        pub kid: Option<String> = optional,
        pub k: String = required,
        pub alg: Option<String> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct RoleDocument {
        pub name: String = required,
        /// Free text for people; ignored by the engine.
        #[allow(dead_code)]
        pub description: Option<String> = optional,
        pub enabled: bool = or(true),
        pub grant: Option<Grant> = optional,
        pub required_attributes: Vec<AttributeDocument> = or_default,
        pub rules: Vec<RuleDocument> = required,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct AttributeDocument: "an object like {\"claim\": \"group\", \"value\": \"admins\"}" {
        pub claim: String = required,
        pub value: String = required,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct RuleDocument: "an object like {\"effect\": \"allow\", \"methods\": [\"read\"], \"paths\": [\"/**\"]}" {
        pub effect: Effect = required,
        pub methods: Vec<String> = required,
        pub paths: Vec<String> = required,
        /// What the rule is called wherever it is named (trace, audit and
        /// access logs, test output, the page); default `role#index`.
        pub name: Option<String> = optional,
        /// The rule applies only while the named role is enabled (PingAccess:
        /// Administrator loses write access to `/auth` once Platform Administrator is on).
        pub when_role_enabled: Option<String> = optional,
        /// Free text for people; ignored by the engine.
        #[allow(dead_code)]
        pub description: Option<String> = optional,
    }
}

json_object! {
    #[derive(Debug)]
    pub struct EnvoyDocument {
        pub subject_header: Option<String> = optional,
        pub roles_header: Option<String> = optional,
        pub client_id_header: Option<String> = optional,
        pub stat_prefix: Option<String> = optional,
        pub cache_size: Option<u64> = optional,
        pub cache_bytes: Option<u64> = optional,
        pub forward_authorization: Option<bool> = optional,
        pub forward_identity: Option<bool> = optional,
        pub audit_log: Option<bool> = optional,
        pub access_log_state: Option<bool> = optional,
    }
}

/// What an issuer's tokens bound to their client (RFC 7800 `cnf`) may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundTokens {
    /// A bound token's binding is verified (DPoP proof, client certificate);
    /// unbound tokens are bearer tokens.
    #[default]
    Allow,
    /// Only bound tokens are accepted, with their binding verified.
    Require,
    /// Bound tokens are refused, with or without a proof.
    Refuse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutsidePrefix {
    #[default]
    Deny,
    Allow,
}

/// What becomes of a GET or HEAD that carries a body. RFC 9110 gives such a
/// body no meaning, and an upstream that ignores it on a keep-alive
/// connection reads it as the next request, one rolegate never decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadBodies {
    /// 400 `invalid_request`, cause `body_on_read`.
    #[default]
    Refuse,
    /// Decided as usual (for APIs that take GET bodies, like search APIs).
    Allow,
}

/// What becomes of a POST whose body is a form. Laravel, Symfony, Rails and
/// Express's method-override run such a POST as the method its `_method`
/// field names, which rolegate would have to read the body to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormPosts {
    /// 400 `invalid_request`, cause `form_post`.
    #[default]
    Refuse,
    /// Decided as a POST (for upstreams that read no `_method` from forms).
    Allow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BasicAuth {
    /// Pexip "Disable Basic authentication": Basic credentials get 401.
    #[default]
    Deny,
    /// The upstream checks Basic/LDAP credentials itself.
    PassThrough,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Mode {
    #[default]
    Enforce,
    DryRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Every valid token (with the required scopes) gets the role: PingAccess
    /// with roles disabled.
    AnyValidToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Effect {
    Allow,
    Deny,
}

impl PolicyDocument {
    /// Reads a whole policy document (already parsed as strict JSON).
    pub fn from_value(value: &Value) -> Result<PolicyDocument, PolicyError> {
        PolicyDocument::read(value, &JsonPath::root())
    }
}

/// The enums of the document: a string naming one variant.
macro_rules! read_variants {
    ($($type:ty { $($name:literal => $variant:expr),+ $(,)? })+) => {$(
        impl Read for $type {
            const EXPECTED: &'static str = "a string";

            fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
                variant(value, path, &[$(($name, $variant)),+])
            }
        }
    )+};
}

read_variants! {
    ClientAuthMethod {
        "client_secret_basic" => ClientAuthMethod::ClientSecretBasic,
        "private_key_jwt" => ClientAuthMethod::PrivateKeyJwt,
        "tls_client_auth" => ClientAuthMethod::TlsClientAuth,
        "self_signed_tls_client_auth" => ClientAuthMethod::TlsClientAuth,
    }
    IntrospectTokens { "opaque" => IntrospectTokens::Opaque, "all" => IntrospectTokens::All }
    OutsidePrefix { "deny" => OutsidePrefix::Deny, "allow" => OutsidePrefix::Allow }
    BoundTokens {
        "allow" => BoundTokens::Allow,
        "require" => BoundTokens::Require,
        "refuse" => BoundTokens::Refuse,
    }
    ReadBodies { "refuse" => ReadBodies::Refuse, "allow" => ReadBodies::Allow }
    FormPosts { "refuse" => FormPosts::Refuse, "allow" => FormPosts::Allow }
    BasicAuth { "deny" => BasicAuth::Deny, "pass_through" => BasicAuth::PassThrough }
    Mode { "enforce" => Mode::Enforce, "dry_run" => Mode::DryRun }
    Grant { "any_valid_token" => Grant::AnyValidToken }
    Effect { "allow" => Effect::Allow, "deny" => Effect::Deny }
}
