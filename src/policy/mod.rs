//! The compiled policy: parsed and checked once, then shared by every request.

mod compile;
pub mod document;
pub(crate) mod dpop;
pub mod edit;
pub mod error;
mod lint;
mod locate;
pub mod pattern;
pub(crate) mod read;
pub mod remote;
pub mod token_endpoint;
pub mod url;

use crate::jose::alg::Alg;
use crate::jose::claims::ClaimPath;
use crate::jose::keys::VerificationKey;
use crate::policy::pattern::PathPattern;
use crate::request::method::MethodSet;
pub use document::{BasicAuth, BoundTokens, Effect, FormPosts, Mode, OutsidePrefix, ReadBodies};
pub use error::{PolicyError, PolicyErrorCode};

/// A loaded policy. Build it with [`Policy::from_json`]; decide with
/// [`Policy::decide`](crate::Policy::decide).
#[derive(Debug)]
pub struct Policy {
    pub(crate) issuers: Vec<Issuer>,
    /// Canonical, without a trailing slash.
    pub(crate) prefix: Option<String>,
    /// The prefix's segments, for matching.
    pub(crate) prefix_segments: Vec<String>,
    pub(crate) outside_prefix: OutsidePrefix,
    pub(crate) required_scopes: Vec<String>,
    pub(crate) max_token_bytes: usize,
    pub(crate) subject_claim: ClaimPath,
    pub(crate) client_id_claim: ClaimPath,
    pub(crate) basic_auth: BasicAuth,
    pub(crate) allow_all_permissions: bool,
    pub(crate) bypass_cors_preflight: bool,
    pub(crate) read_bodies: ReadBodies,
    pub(crate) form_posts: FormPosts,
    pub(crate) authentication_paths: Vec<PathPattern>,
    /// What the upstream may do with paths (deny matching, refused spellings).
    pub(crate) upstream_paths: crate::request::path::UpstreamPaths,
    pub(crate) roles: Vec<Role>,
    pub(crate) mode: Mode,
    pub(crate) realm: String,
    pub(crate) envoy: EnvoySettings,
    pub(crate) token_endpoint: Option<token_endpoint::TokenEndpoint>,
    /// What DPoP proofs must name (defaults without a `dpop` object).
    pub(crate) dpop: dpop::DpopSettings,
    /// Some issuer's bound tokens are verified: read for every header of
    /// every request, so worked out once.
    pub(crate) verifies_bound_tokens: bool,
    /// What loading skipped (keys of a JWKS not for signatures, ...), each
    /// naming its JSON path.
    pub(crate) notices: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Issuer {
    pub issuer: String,
    pub audiences: Vec<String>,
    /// Accepted `client_id`s of tokens that carry no `aud`.
    pub client_ids: Vec<String>,
    pub keys: Vec<VerificationKey>,
    pub algorithms: Vec<Alg>,
    /// Lower case, without an `application/` prefix.
    pub token_type: Option<String>,
    pub leeway: u64,
    pub max_lifetime: Option<u64>,
    /// Keys from a JWKS URL or discovery instead of `keys`.
    pub remote: Option<remote::RemoteSource>,
    pub introspection: Option<remote::Introspection>,
    /// The cluster its remote calls go through, as a generated Envoy
    /// config defines it.
    pub cluster: Option<remote::RemoteCluster>,
    /// What its tokens bound to a client (`cnf`) may do.
    pub bound_tokens: BoundTokens,
}

#[derive(Debug)]
pub(crate) struct Role {
    pub name: String,
    pub enabled: bool,
    pub grant: RoleGrant,
    pub rules: Vec<Rule>,
}

#[derive(Debug)]
pub(crate) enum RoleGrant {
    AnyValidToken,
    /// Granted when ALL attributes match.
    Attributes(Vec<Attribute>),
}

#[derive(Debug)]
pub(crate) struct Attribute {
    pub claim: ClaimPath,
    pub value: String,
}

#[derive(Debug)]
pub(crate) struct Rule {
    /// Its `name`, or `role#index`: one label in every host and log.
    pub label: String,
    pub effect: Effect,
    pub methods: MethodSet,
    pub paths: Vec<PathPattern>,
    /// False when `when_role_enabled` names a disabled role.
    pub active: bool,
    pub when_role_enabled: Option<String>,
}

/// A role's name and state, for hosts that list roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RoleSummary<'a> {
    /// The role's name.
    pub name: &'a str,
    /// Whether the role is enabled.
    pub enabled: bool,
}

/// The default bound of a cache's weight: with `cache_size` 10 000 tokens
/// of ~1 KiB each kept with a few decisions, about the weight of 4 000 of
/// them; a flood cannot take more than this from a VM.
pub const DEFAULT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Settings of the Envoy filter, from the policy's optional `envoy` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoySettings {
    /// Header carrying the subject upstream.
    pub subject_header: String,
    /// Header carrying the granted roles upstream (comma-separated).
    pub roles_header: String,
    /// Header carrying the client id upstream.
    pub client_id_header: String,
    /// Prefix of the filter's counters in Envoy's stats.
    pub stat_prefix: String,
    /// Verified tokens kept per Envoy VM.
    pub cache_size: usize,
    /// What the kept tokens and decisions may weigh per Envoy VM, in bytes.
    pub cache_bytes: usize,
    /// Pass the bearer token upstream (default: remove it; upstream gets the identity headers).
    pub forward_authorization: bool,
    /// Send the identity headers upstream (default). Off when the upstream
    /// never reads them (it authenticates by other means): two header edits
    /// fewer per request. Identity headers a client sends are removed either way.
    pub forward_identity: bool,
    /// One JSON log line per decision.
    pub audit_log: bool,
    /// Each decision as Envoy filter state (`wasm.rolegate`, the audit line's
    /// JSON) for the access log (default true).
    pub access_log_state: bool,
}

impl Default for EnvoySettings {
    fn default() -> Self {
        EnvoySettings {
            subject_header: "x-rolegate-subject".to_owned(),
            roles_header: "x-rolegate-roles".to_owned(),
            client_id_header: "x-rolegate-client-id".to_owned(),
            stat_prefix: "rolegate".to_owned(),
            cache_size: 10_000,
            cache_bytes: DEFAULT_CACHE_BYTES,
            forward_authorization: false,
            forward_identity: true,
            audit_log: true,
            access_log_state: true,
        }
    }
}

impl Policy {
    /// Parses and checks a policy document. Every error names the JSON path of
    /// the offending value and says how to fix it.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        compile::compile(text).map_err(|e| e.located_in(text))
    }

    /// `enforce` or `dry_run`.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The Envoy filter's settings (the policy's `envoy` object).
    pub fn envoy_settings(&self) -> &EnvoySettings {
        &self.envoy
    }

    /// Names of all roles, in policy order (enabled or not).
    pub fn role_names(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|r| r.name.as_str())
    }

    /// Each role's name and whether it is enabled, in policy order.
    pub fn roles_summary(&self) -> impl Iterator<Item = RoleSummary<'_>> {
        self.roles.iter().map(|r| RoleSummary {
            name: &r.name,
            enabled: r.enabled,
        })
    }

    /// An issuer's keys and algorithms, for tools and conformance tests.
    pub fn issuer_keys(&self, issuer: &str) -> Option<(&[VerificationKey], &[Alg])> {
        self.issuers
            .iter()
            .find(|i| i.issuer == issuer)
            .map(|i| (i.keys.as_slice(), i.algorithms.as_slice()))
    }

    /// Whether some issuer's bound tokens are verified (its `bound_tokens`
    /// is not `refuse`): then decisions read the `DPoP` header, the
    /// request's origin and the connection's client certificate.
    pub fn verifies_bound_tokens(&self) -> bool {
        self.verifies_bound_tokens
    }

    /// The clusters its remote issuers call, for a generated Envoy config
    /// (each once, in policy order).
    pub fn remote_clusters(&self) -> Vec<&remote::RemoteCluster> {
        let mut clusters: Vec<&remote::RemoteCluster> = Vec::new();
        for cluster in self.issuers.iter().filter_map(|i| i.cluster.as_ref()) {
            if !clusters.iter().any(|c| c.name == cluster.name) {
                clusters.push(cluster);
            }
        }
        clusters
    }

    /// What role `name` may do, one sentence per rule in force (`allows
    /// reads (GET, HEAD) on /api/**`), and what the authentication guard
    /// forbids besides; `None` for no such role. Pexip's "OAuth2 Tokens"
    /// view shows this beside each client's token.
    pub fn permissions(&self, name: &str) -> Option<Vec<String>> {
        let role = self.roles.iter().find(|r| r.name == name)?;
        // Patterns as the client addresses them: behind the prefix.
        let prefix = self.prefix.as_deref().unwrap_or_default();
        let full = |p: &PathPattern| format!("{prefix}{}", p.as_str());
        let mut out: Vec<String> = role
            .rules
            .iter()
            .filter(|rule| rule.active)
            .map(|rule| {
                let paths: Vec<String> = rule.paths.iter().map(full).collect();
                format!(
                    "{} {} on {}",
                    match rule.effect {
                        Effect::Allow => "allows",
                        Effect::Deny => "denies",
                    },
                    rule.methods.describe(),
                    paths.join(", ")
                )
            })
            .collect();
        if !role.enabled {
            out.insert(0, "the role is disabled: it grants nothing".to_owned());
        }
        if !self.allow_all_permissions && !self.authentication_paths.is_empty() {
            let paths: Vec<String> = self.authentication_paths.iter().map(full).collect();
            out.push(format!(
                "never writes to authentication configuration ({}): allow_all_permissions is off",
                paths.join(", ")
            ));
        }
        Some(out)
    }

    /// The token endpoint, when the policy has one.
    pub fn token_endpoint(&self) -> Option<&token_endpoint::TokenEndpoint> {
        self.token_endpoint.as_ref()
    }

    /// What loading skipped or assumed, for people: keys of a pasted JWKS
    /// that are not for signature verification, with their JSON paths.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The `realm` of the `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// A raw request target in canonical form, refused (400 `invalid_path`)
    /// when it is ambiguous or when the upstream could read it as another
    /// resource (see `UpstreamPaths`). What decisions and the
    /// matrix match.
    pub fn canonical_path(
        &self,
        target: &str,
    ) -> Result<crate::request::path::CanonicalPath, crate::request::path::PathError> {
        let canonical = crate::request::path::canonicalize(target)?;
        crate::request::path::check_upstream_spelling(&canonical.path, &self.upstream_paths)?;
        Ok(canonical)
    }
}
