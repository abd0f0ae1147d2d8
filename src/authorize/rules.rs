//! The role-and-rule half of a decision, shared by `decide` (one request) and
//! `matrix` (roles x paths x methods), so the two can never disagree.

use crate::authorize::decision::RuleRef;
use crate::policy::pattern::PathPattern;
use crate::policy::{Effect, Policy, Role};
use crate::request::method::{is_read, NEVER_ALLOWED};
use crate::request::path::CanonicalPath;

/// Where a canonical path falls relative to the policy's `path_prefix`.
pub(crate) enum Placement<'a> {
    /// Inside: these segments (after the prefix) are what rules match.
    Inside(Vec<&'a str>),
    Outside,
}

pub(crate) fn place<'a>(policy: &Policy, canonical: &'a CanonicalPath) -> Placement<'a> {
    let mut segments = canonical.segments();
    // An upstream that routes case-insensitively serves `/PA-ADMIN-API/...`
    // inside its prefix, so rolegate judges it there too.
    let any_case = policy.upstream_paths.case_insensitive;
    for expected in &policy.prefix_segments {
        let inside = segments
            .next()
            .is_some_and(|s| s == expected || (any_case && s.eq_ignore_ascii_case(expected)));
        if !inside {
            return Placement::Outside;
        }
    }
    Placement::Inside(segments.collect())
}

/// The first method that is never allowed (TRACE, CONNECT), if any.
pub(crate) fn never_allowed(methods: &[String]) -> Option<&str> {
    methods
        .iter()
        .map(String::as_str)
        .find(|m| NEVER_ALLOWED.contains(m))
}

/// What the granted roles say about one method on one path.
pub(crate) enum MethodVerdict {
    /// The first role (in policy order) that allows it, and its rule.
    Allowed(RuleRef),
    /// No role allows it and this deny rule matched.
    Denied(RuleRef),
    /// No rule of a granted role matches.
    NotPermitted,
}

/// Any granted role allowing is enough; within a role a matching deny beats any allow.
pub(crate) fn judge(granted: &[&Role], method: &str, segments: &[&str]) -> MethodVerdict {
    let mut deny = None;
    for role in granted {
        match role_verdict(role, method, segments) {
            Some(rule) if rule.effect == Effect::Allow => return MethodVerdict::Allowed(rule),
            Some(rule) => {
                deny.get_or_insert(rule);
            }
            None => {}
        }
    }
    deny.map_or(MethodVerdict::NotPermitted, MethodVerdict::Denied)
}

/// A role's verdict: its first matching active deny, else its first matching
/// active allow, else nothing.
fn role_verdict(role: &Role, method: &str, segments: &[&str]) -> Option<RuleRef> {
    let matching = |effect: Effect| {
        role.rules.iter().enumerate().find(|(_, r)| {
            r.active
                && r.effect == effect
                && r.methods.contains(method)
                && r.paths.iter().any(|p| p.matches(segments))
        })
    };
    matching(Effect::Deny)
        .or_else(|| matching(Effect::Allow))
        .map(|(index, rule)| RuleRef {
            label: rule.label.clone(),
            role: role.name.clone(),
            index,
            effect: rule.effect,
        })
}

/// Pexip "Allow all permissions" off: the authentication path a write would
/// touch, which blocks it whatever the roles allow.
pub(crate) fn protected_path<'p>(
    policy: &'p Policy,
    methods: &[String],
    segments: &[&str],
) -> Option<&'p PathPattern> {
    if policy.allow_all_permissions || methods.iter().all(|m| is_read(m)) {
        return None;
    }
    policy
        .authentication_paths
        .iter()
        .find(|p| p.matches(segments))
}
