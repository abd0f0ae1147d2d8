//! Policy document -> compiled [`Policy`]: every check that can be made once is
//! made here, so the request path does no parsing and meets no bad config.

use super::document::{
    EnvoyDocument, Grant, IssuerDocument, PolicyDocument, RoleDocument, RuleDocument,
};
use super::error::{JsonPath, Location, PolicyError, PolicyErrorCode};
use super::{Attribute, EnvoySettings, Issuer, Policy, Role, RoleGrant, Rule};
use crate::jose::alg::{Alg, KeyType};
use crate::jose::claims::ClaimPath;
use crate::jose::keys::{self, VerificationKey};
use crate::jose::token::normalise_media_type;
use crate::policy::pattern::PathPattern;
use crate::request::method::{MethodSet, NEVER_ALLOWED, OVERRIDE_HEADERS};
use crate::request::path::{canonicalize, UpstreamPaths};
use crate::request::READ_HEADERS;
use std::collections::BTreeSet;

/// Largest leeway accepted: more would quietly extend every token's life.
const MAX_LEEWAY_SECONDS: u64 = 300;
const DEFAULT_LEEWAY_SECONDS: u64 = 60;
const MAX_CACHE_SIZE: u64 = 1_000_000;
const MAX_CACHE_BYTES: u64 = 1 << 30;

pub(super) fn compile(text: &str) -> Result<Policy, PolicyError> {
    let value =
        crate::jose::json::parse_strict(text.as_bytes()).map_err(|e| json_error(text, e))?;
    let doc = PolicyDocument::from_value(&value)?;
    compile_document(doc)
}

fn json_error(text: &str, e: serde_json::Error) -> PolicyError {
    let message = e.to_string();
    let code = if message.starts_with("duplicate key") {
        PolicyErrorCode::DuplicateKey
    } else {
        PolicyErrorCode::InvalidJson
    };
    PolicyError {
        location: Some(Location::at_line_column(text, e.line(), e.column())),
        ..PolicyError::new("", code, message)
    }
}

fn compile_document(doc: PolicyDocument) -> Result<Policy, PolicyError> {
    let root = JsonPath::root();
    let doc_issuers = match (doc.issuers, doc.token_endpoint.is_some()) {
        (None, false) => return Err(PolicyError::missing(
            &root.field("issuers"),
            "missing field `issuers`: list the authorization servers whose tokens are accepted \
                 (or add a token_endpoint that issues them)",
        )),
        (Some(list), false) if list.is_empty() => return Err(PolicyError::value(
            &root.field("issuers"),
            "at least one issuer is needed: the authorization server whose tokens are accepted \
                 (or a token_endpoint that issues them)",
        )),
        (list, _) => list.unwrap_or_default(),
    };
    // What loading skipped or assumed, for people (`rolegate check`, the
    // filter's load log): never an error, never silent.
    let mut notices = Vec::new();
    let mut issuers = Vec::with_capacity(doc_issuers.len());
    let mut seen_issuers = BTreeSet::new();
    for (i, issuer) in doc_issuers.into_iter().enumerate() {
        let path = root.field("issuers").index(i);
        if !seen_issuers.insert(issuer.issuer.clone()) {
            return Err(PolicyError::conflict(
                &path.field("issuer"),
                "this issuer is listed twice; merge the two entries",
            ));
        }
        issuers.push(compile_issuer(issuer, &path, &mut notices)?);
    }
    super::lint::method_notices(&doc.roles, &mut notices);

    let prefix = match doc.path_prefix {
        None => None,
        Some(p) => compile_prefix(&p, &root.field("path_prefix"))?,
    };

    let mut required_scopes = Vec::with_capacity(doc.required_scopes.len());
    for (i, scope) in doc.required_scopes.into_iter().enumerate() {
        let ok = !scope.is_empty()
            && scope
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !ok {
            return Err(PolicyError::value(
                &root.field("required_scopes").index(i),
                "a scope is one non-empty word of printable ASCII without spaces, '\"' or '\\' \
                 (RFC 6749 §3.3); list several scopes as separate entries",
            ));
        }
        required_scopes.push(scope);
    }

    let max_token_bytes = match doc.max_token_bytes {
        None => crate::jose::token::DEFAULT_MAX_TOKEN_BYTES,
        Some(n) if (1024..=crate::jose::token::MAX_TOKEN_BYTES as u64).contains(&n) => {
            usize::try_from(n).unwrap_or(crate::jose::token::DEFAULT_MAX_TOKEN_BYTES)
        }
        Some(_) => {
            return Err(PolicyError::value(
                &root.field("max_token_bytes"),
                format!(
                "from 1024 to {} bytes (default {}: Entra ID tokens with 200 groups are ~11 KB)",
                crate::jose::token::MAX_TOKEN_BYTES,
                crate::jose::token::DEFAULT_MAX_TOKEN_BYTES
            ),
            ))
        }
    };

    let subject_claim = claim_path(
        doc.subject_claim.as_deref().unwrap_or("sub"),
        &root.field("subject_claim"),
    )?;
    let client_id_claim = claim_path(
        doc.client_id_claim.as_deref().unwrap_or("client_id"),
        &root.field("client_id_claim"),
    )?;

    let upstream_paths = doc.upstream_paths.map_or_else(UpstreamPaths::default, |u| {
        let assumed = UpstreamPaths::default();
        UpstreamPaths {
            case_insensitive: u.case_insensitive.unwrap_or(assumed.case_insensitive),
            format_suffixes: u.format_suffixes.unwrap_or(assumed.format_suffixes),
            trims_dots_and_spaces: u
                .trims_dots_and_spaces
                .unwrap_or(assumed.trims_dots_and_spaces),
            folds_unicode: u.folds_unicode.unwrap_or(assumed.folds_unicode),
        }
    });

    // Writes there are blocked whatever the roles allow: a deny.
    let mut authentication_paths = Vec::new();
    for (i, p) in doc.authentication_paths.iter().enumerate() {
        let p = pattern(p, &root.field("authentication_paths").index(i))?;
        authentication_paths.push(p.denying(&upstream_paths));
    }

    let mut roles = compile_roles(doc.roles, &root.field("roles"))?;
    for rule in roles.iter_mut().flat_map(|r| r.rules.iter_mut()) {
        if rule.effect == super::Effect::Deny {
            let paths = std::mem::take(&mut rule.paths);
            rule.paths = paths
                .into_iter()
                .map(|p| p.denying(&upstream_paths))
                .collect();
        }
    }

    let token_endpoint = match doc.token_endpoint {
        None if !doc.oauth2_clients.is_empty() => {
            return Err(PolicyError::missing(
                &root.field("token_endpoint"),
                "oauth2_clients need a token_endpoint that issues their tokens",
            ))
        }
        None => None,
        Some(endpoint) => {
            let names: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
            let (endpoint, issuer) =
                super::token_endpoint::compile(endpoint, doc.oauth2_clients, &names)?;
            if let Some(i) = issuers.iter().position(|x| x.issuer == issuer.issuer) {
                return Err(PolicyError::conflict(
                    &root.field("issuers").index(i).field("issuer"),
                    "the token endpoint's issuer is trusted automatically; remove this entry",
                ));
            }
            issuers.push(issuer);
            super::token_endpoint::check_bindings(&endpoint, &roles, &required_scopes)?;
            Some(endpoint)
        }
    };

    let realm = doc.realm.unwrap_or_else(|| "rolegate".to_owned());
    if realm.is_empty()
        || !realm
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err(PolicyError::value(
            &root.field("realm"),
            "the realm must be non-empty printable ASCII without '\"' or '\\'",
        ));
    }

    let envoy = match doc.envoy {
        None => EnvoySettings::default(),
        Some(e) => compile_envoy(e, &root.field("envoy"))?,
    };

    let dpop = super::dpop::compile(doc.dpop, &root.field("dpop"))?;
    let verifies_bound_tokens = issuers
        .iter()
        .any(|i| i.bound_tokens != super::BoundTokens::Refuse);
    Ok(Policy {
        verifies_bound_tokens,
        issuers,
        prefix_segments: prefix
            .iter()
            .flat_map(|p| p.split('/'))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        prefix,
        outside_prefix: doc.outside_prefix,
        required_scopes,
        max_token_bytes,
        subject_claim,
        client_id_claim,
        basic_auth: doc.basic_auth,
        allow_all_permissions: doc.allow_all_permissions,
        bypass_cors_preflight: doc.bypass_cors_preflight,
        read_bodies: doc.read_bodies,
        form_posts: doc.form_posts,
        authentication_paths,
        upstream_paths,
        roles,
        mode: doc.mode,
        realm,
        envoy,
        token_endpoint,
        dpop,
        notices,
    })
}

fn compile_issuer(
    doc: IssuerDocument,
    path: &JsonPath,
    notices: &mut Vec<String>,
) -> Result<Issuer, PolicyError> {
    if doc.issuer.is_empty() {
        return Err(PolicyError::value(
            &path.field("issuer"),
            "the issuer must be the exact `iss` value of its tokens, e.g. \"https://idp.example.com\"",
        ));
    }
    if doc.audiences.is_empty() && doc.client_ids.is_empty() {
        return Err(PolicyError::value(
            &path.field("audiences"),
            "list at least one audience (the `aud` this API expects); without one, tokens \
             meant for any other service would be accepted. For tokens without `aud` (AWS \
             Cognito), list the accepted app clients in `client_ids` instead",
        ));
    }
    for (i, id) in doc.client_ids.iter().enumerate() {
        if id.is_empty() {
            return Err(PolicyError::value(
                &path.field("client_ids").index(i),
                "a client id must not be empty",
            ));
        }
    }
    for (i, aud) in doc.audiences.iter().enumerate() {
        if aud.is_empty() {
            return Err(PolicyError::value(
                &path.field("audiences").index(i),
                "an audience must not be empty",
            ));
        }
    }

    let super::remote::Remote {
        source: remote,
        introspection,
        cluster,
    } = super::remote::compile_remote(&doc, path)?;
    let has_inline = doc.jwks.is_some() || !doc.secrets.is_empty();
    if has_inline && remote.is_some() {
        return Err(PolicyError::conflict(
            &path.field(if doc.jwks_uri.is_some() {
                "jwks_uri"
            } else {
                "discovery"
            }),
            "use inline keys or a remote JWKS, not both",
        ));
    }
    let introspection_only = !has_inline && remote.is_none() && introspection.is_some();
    if doc.algorithms.is_empty() && !introspection_only {
        return Err(PolicyError::value(
            &path.field("algorithms"),
            "list the signature algorithms this issuer uses, e.g. [\"RS256\"]",
        ));
    }
    let mut algorithms = Vec::with_capacity(doc.algorithms.len());
    for (i, name) in doc.algorithms.iter().enumerate() {
        let alg = keys::parse_algorithm(name)
            .map_err(|e| PolicyError::jwk(&path.field("algorithms").index(i), e))?;
        if algorithms.contains(&alg) {
            return Err(PolicyError::conflict(
                &path.field("algorithms").index(i),
                format!("{alg} is listed twice"),
            ));
        }
        algorithms.push(alg);
    }

    let mut keys: Vec<(VerificationKey, JsonPath)> = Vec::new();
    let mut skipped = Vec::new();
    if let Some(jwks) = &doc.jwks {
        for (i, jwk) in jwks.keys.iter().enumerate() {
            let key_path = path.field("jwks").field("keys").index(i);
            if let Some(why) = keys::skip_reason(jwk) {
                skipped.push(format!("keys[{i}]: {why}"));
                notices.push(format!("{key_path}: skipped: {why}"));
                continue;
            }
            let key = keys::parse_jwk(jwk, format!("jwks.keys[{i}]"))
                .map_err(|e| PolicyError::jwk(&key_path, e))?;
            keys.push((key, key_path));
        }
    }
    for (i, secret) in doc.secrets.iter().enumerate() {
        let key_path = path.field("secrets").index(i);
        let key = keys::secret_key(
            secret.kid.as_deref(),
            &secret.k,
            secret.alg.as_deref(),
            format!("secrets[{i}]"),
        )
        .map_err(|e| PolicyError::jwk(&key_path, e))?;
        keys.push((key, key_path));
    }
    if remote.is_some() {
        if let Some(i) = algorithms
            .iter()
            .position(|a| a.key_type() == KeyType::Hmac)
        {
            return Err(PolicyError::conflict(
                &path.field("algorithms").index(i),
                "HMAC secrets never come from a URL; list only public-key algorithms",
            ));
        }
    } else if !introspection_only {
        if keys.is_empty() && !skipped.is_empty() {
            return Err(PolicyError::key(
                &path.field("jwks"),
                format!(
                    "no key of this issuer verifies signatures ({}); add the issuer's signing \
                     key (use: sig, an RSA, EC P-256/P-384 or Ed25519 key)",
                    skipped.join("; ")
                ),
            ));
        }
        check_keys(&keys, &algorithms, path)?;
    }
    let keys = keys.into_iter().map(|(key, _)| key).collect();

    let token_type = match doc.token_type {
        None => None,
        Some(t) => {
            let normal = normalise_media_type(&t);
            if normal.is_empty() || !normal.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(PolicyError::value(
                    &path.field("token_type"),
                    "token_type must be a media type such as \"at+jwt\" (RFC 9068)",
                ));
            }
            Some(normal)
        }
    };
    let leeway = doc.leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS);
    if leeway > MAX_LEEWAY_SECONDS {
        return Err(PolicyError::value(
            &path.field("leeway_seconds"),
            format!(
                "at most {MAX_LEEWAY_SECONDS} seconds: the leeway only absorbs clock skew; \
                 fix the clocks (NTP) instead of widening it"
            ),
        ));
    }
    if doc.max_lifetime_seconds == Some(0) {
        return Err(PolicyError::value(
            &path.field("max_lifetime_seconds"),
            "must be positive; leave it out for no limit",
        ));
    }
    Ok(Issuer {
        issuer: doc.issuer,
        audiences: doc.audiences,
        client_ids: doc.client_ids,
        keys,
        algorithms,
        token_type,
        leeway,
        max_lifetime: doc.max_lifetime_seconds,
        remote,
        introspection,
        cluster,
        bound_tokens: doc.bound_tokens,
    })
}

/// Checks that only make sense for the issuer's keys together: unique kids,
/// HMAC lengths for each usable algorithm, and at least one usable key.
fn check_keys(
    keys: &[(VerificationKey, JsonPath)],
    algorithms: &[Alg],
    path: &JsonPath,
) -> Result<(), PolicyError> {
    if keys.is_empty() {
        return Err(PolicyError::missing(
            &path.field("jwks"),
            "this issuer has no keys: add its public keys under \"jwks\" or HMAC keys under \"secrets\"",
        ));
    }
    let mut kids = BTreeSet::new();
    for (key, key_path) in keys {
        if let Some(kid) = &key.kid {
            if !kids.insert(kid.as_str()) {
                return Err(PolicyError::conflict(
                    &key_path.field("kid"),
                    format!(
                        "kid \"{}\" is used by two keys of this issuer; each kid must name one key",
                        kid.escape_debug()
                    ),
                ));
            }
        }
        if let Some(len) = key.secret_len {
            for alg in algorithms
                .iter()
                .copied()
                .filter(|a| key.usable_for(*a).is_ok())
            {
                let min = alg.min_hmac_key_len().unwrap_or(0);
                if len < min {
                    return Err(PolicyError::key(
                        &key_path.field("k"),
                        format!(
                            "this HMAC key is {len} bytes; {alg} needs at least {min} \
                             (use a longer random key, or set \"alg\" on the key)"
                        ),
                    ));
                }
            }
        }
    }
    // An issuer verifies with HMAC secrets or with public keys, never both:
    // a mixed key set is how algorithm confusion starts (Wycheproof
    // "MixedKeySet"). Each key also only verifies its own family at request time.
    let hmac_keys = keys
        .iter()
        .filter(|(k, _)| k.key_type == KeyType::Hmac)
        .count();
    if hmac_keys != 0 && hmac_keys != keys.len() {
        let (_, first_secret) = keys
            .iter()
            .find(|(k, _)| k.key_type == KeyType::Hmac)
            .ok_or_else(|| PolicyError::conflict(path, "mixed keys"))?;
        return Err(PolicyError::conflict(
            first_secret,
            "an issuer has either HMAC secrets or public keys, not both (mixing them \
             invites algorithm confusion); put the secrets in an issuer of their own",
        ));
    }
    let symmetric = hmac_keys != 0;
    for (i, alg) in algorithms.iter().enumerate() {
        if (alg.key_type() == KeyType::Hmac) != symmetric {
            return Err(PolicyError::conflict(
                &path.field("algorithms").index(i),
                format!(
                    "{alg} needs an {}, but this issuer's keys are {}; list only algorithms its keys use",
                    alg.key_type().describe(),
                    if symmetric { "HMAC secrets" } else { "public keys" }
                ),
            ));
        }
    }
    let usable = keys
        .iter()
        .any(|(k, _)| algorithms.iter().any(|a| k.usable_for(*a).is_ok()));
    if !usable {
        let types: Vec<&str> = algorithms.iter().map(|a| a.key_type().describe()).collect();
        return Err(PolicyError::conflict(
            &path.field("algorithms"),
            format!(
                "no key of this issuer can verify any listed algorithm (they need: {}); \
                 add a matching key or fix the list",
                types.join(", ")
            ),
        ));
    }
    Ok(())
}

fn compile_prefix(prefix: &str, path: &JsonPath) -> Result<Option<String>, PolicyError> {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let canonical = canonicalize(trimmed).map_err(|e| {
        PolicyError::value(
            path,
            format!("{e}; write a path such as \"/pa-admin-api/v3\""),
        )
    })?;
    if canonical.query.is_some() || canonical.path != trimmed || trimmed.contains('*') {
        return Err(PolicyError::value(
            path,
            format!(
                "the prefix must be a plain canonical path without wildcards or a query; write \"{}\"",
                canonical.path.trim_end_matches('/')
            ),
        ));
    }
    Ok(Some(canonical.path))
}

fn compile_roles(docs: Vec<RoleDocument>, path: &JsonPath) -> Result<Vec<Role>, PolicyError> {
    if docs.is_empty() {
        return Err(PolicyError::value(
            path,
            "at least one role is needed; without roles every request is denied",
        ));
    }
    let mut names: Vec<(String, bool)> = Vec::with_capacity(docs.len());
    for (i, role) in docs.iter().enumerate() {
        let name_ok = !role.name.is_empty()
            && role.name.len() <= 64
            && role
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
        if !name_ok {
            return Err(PolicyError::value(
                &path.index(i).field("name"),
                "a role name is 1-64 characters of letters, digits, '_', '-', '.', ':' \
                 (it is sent upstream in a header)",
            ));
        }
        if names.iter().any(|(n, _)| *n == role.name) {
            return Err(PolicyError::conflict(
                &path.index(i).field("name"),
                format!("role \"{}\" is defined twice; merge the two", role.name),
            ));
        }
        names.push((role.name.clone(), role.enabled));
    }
    let mut roles: Vec<Role> = Vec::with_capacity(docs.len());
    for (i, doc) in docs.into_iter().enumerate() {
        roles.push(compile_role(doc, &path.index(i), &names)?);
    }
    // A label names one rule: logs from last week must name the same one.
    let mut labels: Vec<&str> = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        for (j, rule) in role.rules.iter().enumerate() {
            if labels.contains(&rule.label.as_str()) {
                return Err(PolicyError::conflict(
                    &path.index(i).field("rules").index(j).field("name"),
                    format!(
                        "another rule is already called \"{}\"; every rule's name must be its own",
                        rule.label
                    ),
                ));
            }
            labels.push(&rule.label);
        }
    }
    Ok(roles)
}

fn compile_role(
    doc: RoleDocument,
    path: &JsonPath,
    roles: &[(String, bool)],
) -> Result<Role, PolicyError> {
    let grant = match (doc.grant, doc.required_attributes.is_empty()) {
        (Some(Grant::AnyValidToken), true) => RoleGrant::AnyValidToken,
        (Some(Grant::AnyValidToken), false) => {
            return Err(PolicyError::conflict(
                &path.field("grant"),
                "\"any_valid_token\" grants the role without attributes; remove \
                 required_attributes or the grant",
            ))
        }
        (None, true) => {
            return Err(PolicyError::missing(
                &path.field("required_attributes"),
                "a role needs at least one required attribute; to give it to every valid \
                 token, say \"grant\": \"any_valid_token\"",
            ))
        }
        (None, false) => {
            let mut attributes = Vec::with_capacity(doc.required_attributes.len());
            for (i, a) in doc.required_attributes.into_iter().enumerate() {
                let a_path = path.field("required_attributes").index(i);
                let claim = claim_path(&a.claim, &a_path.field("claim"))?;
                if a.value.is_empty() {
                    return Err(PolicyError::value(
                        &a_path.field("value"),
                        "the value must not be empty; it is compared exactly with the claim",
                    ));
                }
                attributes.push(Attribute {
                    claim,
                    value: a.value,
                });
            }
            RoleGrant::Attributes(attributes)
        }
    };
    if doc.rules.is_empty() {
        return Err(PolicyError::value(
            &path.field("rules"),
            "a role without rules allows nothing; add a rule such as \
             {\"effect\": \"allow\", \"methods\": [\"read\"], \"paths\": [\"/**\"]}",
        ));
    }
    let mut rules = Vec::with_capacity(doc.rules.len());
    for (i, rule) in doc.rules.into_iter().enumerate() {
        rules.push(compile_rule(
            rule,
            &path.field("rules").index(i),
            (&doc.name, i),
            roles,
        )?);
    }
    Ok(Role {
        name: doc.name,
        enabled: doc.enabled,
        grant,
        rules,
    })
}

fn compile_rule(
    doc: RuleDocument,
    path: &JsonPath,
    (own_role, index): (&str, usize),
    roles: &[(String, bool)],
) -> Result<Rule, PolicyError> {
    let label = match &doc.name {
        None => format!("{own_role}#{index}"),
        Some(name) => {
            let fine = !name.is_empty()
                && name.len() <= 64
                && !name.contains('#')
                && name.chars().all(|c| !c.is_control());
            if !fine {
                return Err(PolicyError::value(
                    &path.field("name"),
                    "a rule's name is 1 to 64 characters without '#' or control characters \
                     (it is logged as it is; without a name the rule is role#index)",
                ));
            }
            name.clone()
        }
    };
    if doc.methods.is_empty() {
        return Err(PolicyError::value(
            &path.field("methods"),
            "list the methods: \"read\", \"write\", \"*\" or names like \"GET\"",
        ));
    }
    let mut methods = MethodSet::default();
    for (i, m) in doc.methods.iter().enumerate() {
        let m_path = path.field("methods").index(i);
        methods.add(m).map_err(|e| PolicyError::value(&m_path, e))?;
        if doc.effect == super::Effect::Allow && NEVER_ALLOWED.contains(&m.as_str()) {
            return Err(PolicyError::value(
                &m_path,
                format!("{m} is never allowed (it is refused whatever the rules say); remove it"),
            ));
        }
    }
    if doc.paths.is_empty() {
        return Err(PolicyError::value(
            &path.field("paths"),
            "list the paths, e.g. [\"/**\"] for all",
        ));
    }
    let mut paths = Vec::with_capacity(doc.paths.len());
    for (i, p) in doc.paths.iter().enumerate() {
        paths.push(pattern(p, &path.field("paths").index(i))?);
    }
    let active = match &doc.when_role_enabled {
        None => true,
        Some(name) if name == own_role => {
            return Err(PolicyError::value(
                &path.field("when_role_enabled"),
                "a rule cannot depend on its own role; name another role",
            ))
        }
        Some(name) => match roles.iter().find(|(n, _)| n == name) {
            Some((_, enabled)) => *enabled,
            None => {
                return Err(PolicyError::unknown_role(
                    &path.field("when_role_enabled"),
                    name,
                    roles.iter().map(|(n, _)| n.as_str()),
                ));
            }
        },
    };
    Ok(Rule {
        label,
        effect: doc.effect,
        methods,
        paths,
        active,
        when_role_enabled: doc.when_role_enabled,
    })
}

fn compile_envoy(doc: EnvoyDocument, path: &JsonPath) -> Result<EnvoySettings, PolicyError> {
    let defaults = EnvoySettings::default();
    let header =
        |value: Option<String>, default: String, field: &str| -> Result<String, PolicyError> {
            let Some(v) = value else { return Ok(default) };
            let ok = !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if ok {
                Ok(v)
            } else {
                Err(PolicyError::value(
                &path.field(field),
                "a header name in lower case: letters, digits and '-', e.g. \"x-admin-subject\"",
            ))
            }
        };
    let stat_prefix = match doc.stat_prefix {
        None => defaults.stat_prefix,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => p,
        Some(_) => {
            return Err(PolicyError::value(
                &path.field("stat_prefix"),
                "letters, digits and '_' only, e.g. \"rolegate\"",
            ))
        }
    };
    let cache_size = match doc.cache_size {
        None => defaults.cache_size,
        Some(n) if n <= MAX_CACHE_SIZE => usize::try_from(n).unwrap_or(defaults.cache_size),
        Some(_) => {
            return Err(PolicyError::value(
                &path.field("cache_size"),
                format!("at most {MAX_CACHE_SIZE} entries (0 turns the cache off)"),
            ))
        }
    };
    let cache_bytes = match doc.cache_bytes {
        None => defaults.cache_bytes,
        Some(n) if n <= MAX_CACHE_BYTES => usize::try_from(n).unwrap_or(defaults.cache_bytes),
        Some(_) => {
            return Err(PolicyError::value(
                &path.field("cache_bytes"),
                format!(
                "at most {MAX_CACHE_BYTES} bytes per Envoy VM (default {}; 0 turns the cache off)",
                defaults.cache_bytes
            ),
            ))
        }
    };
    let subject_header = header(
        doc.subject_header,
        defaults.subject_header,
        "subject_header",
    )?;
    let roles_header = header(doc.roles_header, defaults.roles_header, "roles_header")?;
    let client_id_header = header(
        doc.client_id_header,
        defaults.client_id_header,
        "client_id_header",
    )?;
    // Each identity header is removed from the client's request and added
    // once, so it needs a name of its own that no decision reads.
    let named = [
        ("subject_header", &subject_header),
        ("roles_header", &roles_header),
        ("client_id_header", &client_id_header),
    ];
    for (i, (field, name)) in named.iter().enumerate() {
        if let Some((other, _)) = named.iter().take(i).find(|(_, n)| n == name) {
            return Err(PolicyError::value(
                &path.field(field),
                format!(
                    "\"{name}\" is already the {other}; each identity header needs its own name"
                ),
            ));
        }
        let read =
            READ_HEADERS.contains(&name.as_str()) || OVERRIDE_HEADERS.contains(&name.as_str());
        if read {
            return Err(PolicyError::value(
                &path.field(field),
                format!("\"{name}\" is a request header rolegate reads; choose another name, e.g. \"x-admin-subject\""),
            ));
        }
    }
    Ok(EnvoySettings {
        subject_header,
        roles_header,
        client_id_header,
        stat_prefix,
        cache_size,
        cache_bytes,
        forward_authorization: doc
            .forward_authorization
            .unwrap_or(defaults.forward_authorization),
        forward_identity: doc.forward_identity.unwrap_or(defaults.forward_identity),
        audit_log: doc.audit_log.unwrap_or(defaults.audit_log),
        access_log_state: doc.access_log_state.unwrap_or(defaults.access_log_state),
    })
}

fn claim_path(name: &str, path: &JsonPath) -> Result<ClaimPath, PolicyError> {
    ClaimPath::parse(name).map_err(|e| PolicyError::value(path, e))
}

fn pattern(text: &str, path: &JsonPath) -> Result<PathPattern, PolicyError> {
    PathPattern::parse(text).map_err(|e| PolicyError::value(path, e))
}
