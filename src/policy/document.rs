//! The policy document exactly as written (JSON), before any checks beyond
//! types. Unknown fields are errors: a typo must never weaken a policy.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// Free text for people; ignored by the engine.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
    /// May be empty only when a `token_endpoint` issues the tokens.
    #[serde(default)]
    pub issuers: Option<Vec<IssuerDocument>>,
    #[serde(default)]
    pub path_prefix: Option<String>,
    #[serde(default)]
    pub outside_prefix: OutsidePrefix,
    #[serde(default)]
    pub required_scopes: Vec<String>,
    /// Largest bearer token accepted, in bytes.
    #[serde(default)]
    pub max_token_bytes: Option<u64>,
    #[serde(default)]
    pub subject_claim: Option<String>,
    #[serde(default)]
    pub client_id_claim: Option<String>,
    #[serde(default)]
    pub basic_auth: BasicAuth,
    #[serde(default)]
    pub allow_all_permissions: bool,
    /// Let genuine CORS preflights through undecided (like jwt_authn's
    /// `bypass_cors_preflight`): browsers send them without credentials.
    #[serde(default)]
    pub bypass_cors_preflight: bool,
    #[serde(default)]
    pub authentication_paths: Vec<String>,
    /// What the upstream does with paths; every behaviour is assumed unless
    /// set to false here.
    #[serde(default)]
    pub upstream_paths: Option<UpstreamPathsDocument>,
    pub roles: Vec<RoleDocument>,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub realm: Option<String>,
    /// Settings of the Envoy filter (identity headers, stats, cache).
    #[serde(default)]
    pub envoy: Option<EnvoyDocument>,
    /// The filter issues tokens itself (Pexip's management node `/oauth/token/`).
    #[serde(default)]
    pub token_endpoint: Option<TokenEndpointDocument>,
    /// OAuth2 clients of the token endpoint, each bound to one role.
    #[serde(default)]
    pub oauth2_clients: Vec<OAuthClientDocument>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamPathsDocument {
    #[serde(default)]
    pub case_insensitive: Option<bool>,
    #[serde(default)]
    pub format_suffixes: Option<bool>,
    #[serde(default)]
    pub trims_dots_and_spaces: Option<bool>,
    #[serde(default)]
    pub folds_unicode: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEndpointDocument {
    /// The `iss` of issued tokens; added to the trusted issuers automatically.
    pub issuer: String,
    /// The `aud` of issued tokens.
    pub audience: String,
    /// A private EC P-256 JWK (ES256) that signs issued tokens.
    pub signing_key: Value,
    /// Where clients post (default `/oauth/token/`).
    #[serde(default)]
    pub path: Option<String>,
    /// The endpoint's URL, which client assertions name as `aud` (default:
    /// the issuer followed by the path).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub access_token_expiration_seconds: Option<u64>,
    /// Where an administrator lists active tokens (default `/oauth/tokens/`).
    #[serde(default)]
    pub active_tokens_path: Option<String>,
    /// The role a token needs to list active tokens.
    pub active_tokens_role: String,
    /// Each client's share of the endpoint's storage.
    #[serde(default)]
    pub client_limits: Option<ClientLimitsDocument>,
    /// Where the signing key's public JWKS is served (default `/oauth/jwks/`).
    #[serde(default)]
    pub jwks_path: Option<String>,
    /// Longest client assertion lifetime accepted (default 3600).
    #[serde(default)]
    pub max_assertion_seconds: Option<u64>,
    /// Several proxies, one token instance: this proxy sends token requests
    /// and the active-token list to the instance behind this Envoy cluster.
    #[serde(default)]
    pub forward_to_cluster: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientLimitsDocument {
    #[serde(default)]
    pub active_tokens: Option<u64>,
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientDocument {
    pub client_id: String,
    pub name: String,
    /// The role its tokens carry (a role of this policy).
    pub role: String,
    /// The client's public key (its private half signs client assertions).
    pub jwk: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerDocument {
    pub issuer: String,
    pub audiences: Vec<String>,
    /// For tokens without `aud` (AWS Cognito access tokens): the app
    /// clients whose `client_id` is accepted instead.
    #[serde(default)]
    pub client_ids: Vec<String>,
    #[serde(default)]
    pub jwks: Option<JwksDocument>,
    #[serde(default)]
    pub secrets: Vec<SecretDocument>,
    pub algorithms: Vec<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub leeway_seconds: Option<u64>,
    #[serde(default)]
    pub max_lifetime_seconds: Option<u64>,
    /// The issuer's JWKS, fetched by the Envoy filter.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// An OpenID discovery document whose `jwks_uri` (and
    /// `introspection_endpoint`) are used.
    #[serde(default)]
    pub discovery: Option<String>,
    /// How the Envoy filter reaches the authorization server.
    #[serde(default)]
    pub remote: Option<RemoteDocument>,
    /// RFC 7662 token introspection.
    #[serde(default)]
    pub introspection: Option<IntrospectionDocument>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteDocument {
    /// The Envoy cluster that reaches the authorization server.
    pub cluster: String,
    #[serde(default)]
    pub refresh_seconds: Option<u64>,
    #[serde(default)]
    pub min_refetch_seconds: Option<u64>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionDocument {
    /// The endpoint; with `discovery`, the document's `introspection_endpoint` by default.
    #[serde(default)]
    pub endpoint: Option<String>,
    pub client_id: String,
    pub client_auth: ClientAuthMethod,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A private JWK for `private_key_jwt` (RFC 7523).
    #[serde(default)]
    pub private_key: Option<Value>,
    /// `opaque` (default): only tokens that are not JWTs; `all`: every token of this issuer.
    #[serde(default)]
    pub tokens: IntrospectTokens,
    #[serde(default)]
    pub cache_seconds: Option<u64>,
    #[serde(default)]
    pub require_audience: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    PrivateKeyJwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntrospectTokens {
    #[default]
    Opaque,
    All,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksDocument {
    /// Each key is checked by hand: JWKs legitimately carry members rolegate
    /// does not use (`x5c`, `x5t`, ...), so they cannot deny unknown fields.
    pub keys: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretDocument {
    #[serde(default)]
    pub kid: Option<String>,
    pub k: String,
    #[serde(default)]
    pub alg: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDocument {
    pub name: String,
    /// Free text for people; ignored by the engine.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub grant: Option<Grant>,
    #[serde(default)]
    pub required_attributes: Vec<AttributeDocument>,
    pub rules: Vec<RuleDocument>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeDocument {
    pub claim: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDocument {
    pub effect: Effect,
    pub methods: Vec<String>,
    pub paths: Vec<String>,
    /// The rule applies only while the named role is enabled (PingAccess:
    /// Administrator loses write access to `/auth` once Platform Administrator is on).
    #[serde(default)]
    pub when_role_enabled: Option<String>,
    /// Free text for people; ignored by the engine.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvoyDocument {
    #[serde(default)]
    pub subject_header: Option<String>,
    #[serde(default)]
    pub roles_header: Option<String>,
    #[serde(default)]
    pub client_id_header: Option<String>,
    #[serde(default)]
    pub stat_prefix: Option<String>,
    #[serde(default)]
    pub cache_size: Option<u64>,
    #[serde(default)]
    pub cache_bytes: Option<u64>,
    #[serde(default)]
    pub forward_authorization: Option<bool>,
    #[serde(default)]
    pub forward_identity: Option<bool>,
    #[serde(default)]
    pub audit_log: Option<bool>,
    #[serde(default)]
    pub access_log_state: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutsidePrefix {
    #[default]
    Deny,
    Allow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BasicAuth {
    /// Pexip "Disable Basic authentication": Basic credentials get 401.
    #[default]
    Deny,
    /// The upstream checks Basic/LDAP credentials itself.
    PassThrough,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Mode {
    #[default]
    Enforce,
    DryRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// Every valid token (with the required scopes) gets the role: PingAccess
    /// with roles disabled.
    AnyValidToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Effect {
    Allow,
    Deny,
}

fn yes() -> bool {
    true
}
