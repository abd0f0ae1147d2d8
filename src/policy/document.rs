//! The policy document exactly as written (JSON), before any checks beyond
//! types. Unknown fields are errors: a typo must never weaken a policy.
//! Each part lists its members where it reads them ([`Read`]), in the
//! order they are checked.

use super::error::{JsonPath, PolicyError};
use super::read::{variant, Object, Read};
use serde_json::Value;

#[derive(Debug)]
pub struct PolicyDocument {
    /// Free text for people; ignored by the engine.
    #[allow(dead_code)]
    pub description: Option<String>,
    /// May be empty only when a `token_endpoint` issues the tokens.
    pub issuers: Option<Vec<IssuerDocument>>,
    pub path_prefix: Option<String>,
    pub outside_prefix: OutsidePrefix,
    pub required_scopes: Vec<String>,
    /// Largest bearer token accepted, in bytes.
    pub max_token_bytes: Option<u64>,
    pub subject_claim: Option<String>,
    pub client_id_claim: Option<String>,
    pub basic_auth: BasicAuth,
    pub allow_all_permissions: bool,
    /// Let genuine CORS preflights through undecided (like jwt_authn's
    /// `bypass_cors_preflight`): browsers send them without credentials.
    pub bypass_cors_preflight: bool,
    pub authentication_paths: Vec<String>,
    /// What the upstream does with paths; every behaviour is assumed unless
    /// set to false here.
    pub upstream_paths: Option<UpstreamPathsDocument>,
    pub roles: Vec<RoleDocument>,
    pub mode: Mode,
    pub realm: Option<String>,
    /// Settings of the Envoy filter (identity headers, stats, cache).
    pub envoy: Option<EnvoyDocument>,
    /// The filter issues tokens itself (Pexip's management node `/oauth/token/`).
    pub token_endpoint: Option<TokenEndpointDocument>,
    /// OAuth2 clients of the token endpoint, each bound to one role.
    pub oauth2_clients: Vec<OAuthClientDocument>,
}

#[derive(Debug)]
pub struct UpstreamPathsDocument {
    pub case_insensitive: Option<bool>,
    pub format_suffixes: Option<bool>,
    pub trims_dots_and_spaces: Option<bool>,
    pub folds_unicode: Option<bool>,
}

#[derive(Debug)]
pub struct TokenEndpointDocument {
    /// The `iss` of issued tokens; added to the trusted issuers automatically.
    pub issuer: String,
    /// The `aud` of issued tokens.
    pub audience: String,
    /// A private EC P-256 JWK (ES256) that signs issued tokens.
    pub signing_key: Value,
    /// Where clients post (default `/oauth/token/`).
    pub path: Option<String>,
    /// The endpoint's URL, which client assertions name as `aud` (default:
    /// the issuer followed by the path).
    pub url: Option<String>,
    pub access_token_expiration_seconds: Option<u64>,
    /// Where an administrator lists active tokens (default `/oauth/tokens/`).
    pub active_tokens_path: Option<String>,
    /// The role a token needs to list active tokens.
    pub active_tokens_role: String,
    /// Each client's share of the endpoint's storage.
    pub client_limits: Option<ClientLimitsDocument>,
    /// Where the signing key's public JWKS is served (default `/oauth/jwks/`).
    pub jwks_path: Option<String>,
    /// Longest client assertion lifetime accepted (default 3600).
    pub max_assertion_seconds: Option<u64>,
    /// Several proxies, one token instance: this proxy sends token requests
    /// and the active-token list to the instance behind this Envoy cluster.
    pub forward_to_cluster: Option<String>,
}

#[derive(Debug)]
pub struct ClientLimitsDocument {
    pub active_tokens: Option<u64>,
    pub tokens_per_minute: Option<u64>,
}

#[derive(Debug)]
pub struct OAuthClientDocument {
    pub client_id: String,
    pub name: String,
    /// The role its tokens carry (a role of this policy).
    pub role: String,
    /// The client's public key (its private half signs client assertions).
    pub jwk: Value,
}

#[derive(Debug)]
pub struct IssuerDocument {
    pub issuer: String,
    pub audiences: Vec<String>,
    /// For tokens without `aud` (AWS Cognito access tokens): the app
    /// clients whose `client_id` is accepted instead.
    pub client_ids: Vec<String>,
    pub jwks: Option<JwksDocument>,
    pub secrets: Vec<SecretDocument>,
    pub algorithms: Vec<String>,
    pub token_type: Option<String>,
    pub leeway_seconds: Option<u64>,
    pub max_lifetime_seconds: Option<u64>,
    /// The issuer's JWKS, fetched by the Envoy filter.
    pub jwks_uri: Option<String>,
    /// An OpenID discovery document whose `jwks_uri` (and
    /// `introspection_endpoint`) are used.
    pub discovery: Option<String>,
    /// How the Envoy filter reaches the authorization server.
    pub remote: Option<RemoteDocument>,
    /// RFC 7662 token introspection.
    pub introspection: Option<IntrospectionDocument>,
}

#[derive(Debug)]
pub struct RemoteDocument {
    /// The Envoy cluster that reaches the authorization server.
    pub cluster: String,
    pub refresh_seconds: Option<u64>,
    pub min_refetch_seconds: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub max_response_bytes: Option<u64>,
}

#[derive(Debug)]
pub struct IntrospectionDocument {
    /// The endpoint; with `discovery`, the document's `introspection_endpoint` by default.
    pub endpoint: Option<String>,
    pub client_id: String,
    pub client_auth: ClientAuthMethod,
    pub client_secret: Option<String>,
    /// A private JWK for `private_key_jwt` (RFC 7523).
    pub private_key: Option<Value>,
    /// `opaque` (default): only tokens that are not JWTs; `all`: every token of this issuer.
    pub tokens: IntrospectTokens,
    pub cache_seconds: Option<u64>,
    pub require_audience: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    PrivateKeyJwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntrospectTokens {
    #[default]
    Opaque,
    All,
}

#[derive(Debug)]
pub struct JwksDocument {
    /// Each key is checked by hand: JWKs legitimately carry members rolegate
    /// does not use (`x5c`, `x5t`, ...), so they cannot deny unknown fields.
    pub keys: Vec<Value>,
}

#[derive(Debug)]
pub struct SecretDocument {
    pub kid: Option<String>,
    pub k: String,
    pub alg: Option<String>,
}

#[derive(Debug)]
pub struct RoleDocument {
    pub name: String,
    /// Free text for people; ignored by the engine.
    #[allow(dead_code)]
    pub description: Option<String>,
    pub enabled: bool,
    pub grant: Option<Grant>,
    pub required_attributes: Vec<AttributeDocument>,
    pub rules: Vec<RuleDocument>,
}

#[derive(Debug)]
pub struct AttributeDocument {
    pub claim: String,
    pub value: String,
}

#[derive(Debug)]
pub struct RuleDocument {
    pub effect: Effect,
    pub methods: Vec<String>,
    pub paths: Vec<String>,
    /// The rule applies only while the named role is enabled (PingAccess:
    /// Administrator loses write access to `/auth` once Platform Administrator is on).
    pub when_role_enabled: Option<String>,
    /// Free text for people; ignored by the engine.
    #[allow(dead_code)]
    pub description: Option<String>,
}

#[derive(Debug)]
pub struct EnvoyDocument {
    pub subject_header: Option<String>,
    pub roles_header: Option<String>,
    pub client_id_header: Option<String>,
    pub stat_prefix: Option<String>,
    pub cache_size: Option<u64>,
    pub cache_bytes: Option<u64>,
    pub forward_authorization: Option<bool>,
    pub forward_identity: Option<bool>,
    pub audit_log: Option<bool>,
    pub access_log_state: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutsidePrefix {
    #[default]
    Deny,
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

impl Read for PolicyDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "description",
                "issuers",
                "path_prefix",
                "outside_prefix",
                "required_scopes",
                "max_token_bytes",
                "subject_claim",
                "client_id_claim",
                "basic_auth",
                "allow_all_permissions",
                "bypass_cors_preflight",
                "authentication_paths",
                "upstream_paths",
                "roles",
                "mode",
                "realm",
                "envoy",
                "token_endpoint",
                "oauth2_clients",
            ],
        )?;
        Ok(PolicyDocument {
            description: o.optional("description")?,
            issuers: o.optional("issuers")?,
            path_prefix: o.optional("path_prefix")?,
            outside_prefix: o.or_default("outside_prefix")?,
            required_scopes: o.or_default("required_scopes")?,
            max_token_bytes: o.optional("max_token_bytes")?,
            subject_claim: o.optional("subject_claim")?,
            client_id_claim: o.optional("client_id_claim")?,
            basic_auth: o.or_default("basic_auth")?,
            allow_all_permissions: o.or_default("allow_all_permissions")?,
            bypass_cors_preflight: o.or_default("bypass_cors_preflight")?,
            authentication_paths: o.or_default("authentication_paths")?,
            upstream_paths: o.optional("upstream_paths")?,
            roles: o.required("roles")?,
            mode: o.or_default("mode")?,
            realm: o.optional("realm")?,
            envoy: o.optional("envoy")?,
            token_endpoint: o.optional("token_endpoint")?,
            oauth2_clients: o.or_default("oauth2_clients")?,
        })
    }
}

impl Read for UpstreamPathsDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "case_insensitive",
                "format_suffixes",
                "trims_dots_and_spaces",
                "folds_unicode",
            ],
        )?;
        Ok(UpstreamPathsDocument {
            case_insensitive: o.optional("case_insensitive")?,
            format_suffixes: o.optional("format_suffixes")?,
            trims_dots_and_spaces: o.optional("trims_dots_and_spaces")?,
            folds_unicode: o.optional("folds_unicode")?,
        })
    }
}

impl Read for TokenEndpointDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "issuer",
                "audience",
                "signing_key",
                "path",
                "url",
                "access_token_expiration_seconds",
                "active_tokens_path",
                "active_tokens_role",
                "client_limits",
                "jwks_path",
                "max_assertion_seconds",
                "forward_to_cluster",
            ],
        )?;
        Ok(TokenEndpointDocument {
            issuer: o.required("issuer")?,
            audience: o.required("audience")?,
            signing_key: o.required("signing_key")?,
            path: o.optional("path")?,
            url: o.optional("url")?,
            access_token_expiration_seconds: o.optional("access_token_expiration_seconds")?,
            active_tokens_path: o.optional("active_tokens_path")?,
            active_tokens_role: o.required("active_tokens_role")?,
            client_limits: o.optional("client_limits")?,
            jwks_path: o.optional("jwks_path")?,
            max_assertion_seconds: o.optional("max_assertion_seconds")?,
            forward_to_cluster: o.optional("forward_to_cluster")?,
        })
    }
}

impl Read for ClientLimitsDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(value, path, &["active_tokens", "tokens_per_minute"])?;
        Ok(ClientLimitsDocument {
            active_tokens: o.optional("active_tokens")?,
            tokens_per_minute: o.optional("tokens_per_minute")?,
        })
    }
}

impl Read for OAuthClientDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(value, path, &["client_id", "name", "role", "jwk"])?;
        Ok(OAuthClientDocument {
            client_id: o.required("client_id")?,
            name: o.required("name")?,
            role: o.required("role")?,
            jwk: o.required("jwk")?,
        })
    }
}

impl Read for IssuerDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "issuer",
                "audiences",
                "client_ids",
                "jwks",
                "secrets",
                "algorithms",
                "token_type",
                "leeway_seconds",
                "max_lifetime_seconds",
                "jwks_uri",
                "discovery",
                "remote",
                "introspection",
            ],
        )?;
        Ok(IssuerDocument {
            issuer: o.required("issuer")?,
            audiences: o.required("audiences")?,
            client_ids: o.or_default("client_ids")?,
            jwks: o.optional("jwks")?,
            secrets: o.or_default("secrets")?,
            algorithms: o.required("algorithms")?,
            token_type: o.optional("token_type")?,
            leeway_seconds: o.optional("leeway_seconds")?,
            max_lifetime_seconds: o.optional("max_lifetime_seconds")?,
            jwks_uri: o.optional("jwks_uri")?,
            discovery: o.optional("discovery")?,
            remote: o.optional("remote")?,
            introspection: o.optional("introspection")?,
        })
    }
}

impl Read for RemoteDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "cluster",
                "refresh_seconds",
                "min_refetch_seconds",
                "timeout_ms",
                "max_response_bytes",
            ],
        )?;
        Ok(RemoteDocument {
            cluster: o.required("cluster")?,
            refresh_seconds: o.optional("refresh_seconds")?,
            min_refetch_seconds: o.optional("min_refetch_seconds")?,
            timeout_ms: o.optional("timeout_ms")?,
            max_response_bytes: o.optional("max_response_bytes")?,
        })
    }
}

impl Read for IntrospectionDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "endpoint",
                "client_id",
                "client_auth",
                "client_secret",
                "private_key",
                "tokens",
                "cache_seconds",
                "require_audience",
            ],
        )?;
        Ok(IntrospectionDocument {
            endpoint: o.optional("endpoint")?,
            client_id: o.required("client_id")?,
            client_auth: o.required("client_auth")?,
            client_secret: o.optional("client_secret")?,
            private_key: o.optional("private_key")?,
            tokens: o.or_default("tokens")?,
            cache_seconds: o.optional("cache_seconds")?,
            require_audience: o.optional("require_audience")?,
        })
    }
}

impl Read for JwksDocument {
    const EXPECTED: &'static str = "an object like {\"keys\": [...]}";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(value, path, &["keys"])?;
        Ok(JwksDocument {
            keys: o.required("keys")?,
        })
    }
}

impl Read for SecretDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(value, path, &["kid", "k", "alg"])?;
        Ok(SecretDocument {
            kid: o.optional("kid")?,
            k: o.required("k")?,
            alg: o.optional("alg")?,
        })
    }
}

impl Read for RoleDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "name",
                "description",
                "enabled",
                "grant",
                "required_attributes",
                "rules",
            ],
        )?;
        Ok(RoleDocument {
            name: o.required("name")?,
            description: o.optional("description")?,
            enabled: o.or("enabled", true)?,
            grant: o.optional("grant")?,
            required_attributes: o.or_default("required_attributes")?,
            rules: o.required("rules")?,
        })
    }
}

impl Read for AttributeDocument {
    const EXPECTED: &'static str = "an object like {\"claim\": \"group\", \"value\": \"admins\"}";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(value, path, &["claim", "value"])?;
        Ok(AttributeDocument {
            claim: o.required("claim")?,
            value: o.required("value")?,
        })
    }
}

impl Read for RuleDocument {
    const EXPECTED: &'static str =
        "an object like {\"effect\": \"allow\", \"methods\": [\"read\"], \"paths\": [\"/**\"]}";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "effect",
                "methods",
                "paths",
                "when_role_enabled",
                "description",
            ],
        )?;
        Ok(RuleDocument {
            effect: o.required("effect")?,
            methods: o.required("methods")?,
            paths: o.required("paths")?,
            when_role_enabled: o.optional("when_role_enabled")?,
            description: o.optional("description")?,
        })
    }
}

impl Read for EnvoyDocument {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(
            value,
            path,
            &[
                "subject_header",
                "roles_header",
                "client_id_header",
                "stat_prefix",
                "cache_size",
                "cache_bytes",
                "forward_authorization",
                "forward_identity",
                "audit_log",
                "access_log_state",
            ],
        )?;
        Ok(EnvoyDocument {
            subject_header: o.optional("subject_header")?,
            roles_header: o.optional("roles_header")?,
            client_id_header: o.optional("client_id_header")?,
            stat_prefix: o.optional("stat_prefix")?,
            cache_size: o.optional("cache_size")?,
            cache_bytes: o.optional("cache_bytes")?,
            forward_authorization: o.optional("forward_authorization")?,
            forward_identity: o.optional("forward_identity")?,
            audit_log: o.optional("audit_log")?,
            access_log_state: o.optional("access_log_state")?,
        })
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
    }
    IntrospectTokens { "opaque" => IntrospectTokens::Opaque, "all" => IntrospectTokens::All }
    OutsidePrefix { "deny" => OutsidePrefix::Deny, "allow" => OutsidePrefix::Allow }
    BasicAuth { "deny" => BasicAuth::Deny, "pass_through" => BasicAuth::PassThrough }
    Mode { "enforce" => Mode::Enforce, "dry_run" => Mode::DryRun }
    Grant { "any_valid_token" => Grant::AnyValidToken }
    Effect { "allow" => Effect::Allow, "deny" => Effect::Deny }
}
