//! Property: every spelling of a path that the core accepts is decided exactly
//! as its canonical form; any other spelling is refused (400). So no encoded
//! variant can reach what the canonical path may not.

mod support;

use proptest::prelude::*;
use rolegate::{Policy, Request};
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn policy() -> Policy {
    let keys = support::TestKeys::load();
    support::load_policy(
        &json!({
            "$extends": "examples/pingaccess.json",
            "issuers": [{"issuer": "https://idp.test", "audiences": ["pingaccess-admin-api"],
                         "$test_jwks": ["rsa-a"], "algorithms": ["RS256"]}]
        }),
        &keys,
    )
    .unwrap()
}

fn decide(policy: &Policy, method: &str, path: &str) -> rolegate::Decision {
    let claims = json!({"iss": "https://idp.test", "aud": "pingaccess-admin-api", "scope": "admin",
                        "exp": NOW + 60, "group": "cn=pingaccess-auditors,o=myorg"});
    policy.decide(&Request::claims_preview(
        method,
        path,
        claims.as_object().unwrap().clone(),
        NOW,
    ))
}

/// Segments from the names the auditor rules care about, plus plain text.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("config".to_owned()),
        Just("backup".to_owned()),
        Just("agent".to_owned()),
        Just("users".to_owned()),
        Just("7".to_owned()),
        "[a-zA-Z0-9_~-]{1,6}",
        "[a-z]{1,3}[:@!$&'()*+,=][a-z]{0,3}",
    ]
}

fn canonical_path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 0..5)
        .prop_map(|segments| format!("/pa-admin-api/v3/{}", segments.join("/")))
}

#[derive(Debug, Clone)]
enum Edit {
    /// Percent-encode the byte at this position (upper or lower hex).
    Encode(usize, bool),
    /// Insert `./` after the slash at this position.
    Dot(usize),
    /// Insert `x/../` after the slash at this position.
    DotDot(usize, String),
    /// Double the slash at this position.
    Slash(usize),
    /// Spell a dot segment with escapes: `%2e/` or `%2E%2e/x/`.
    EncodedDot(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<bool>()).prop_map(|(i, up)| Edit::Encode(i, up)),
        any::<usize>().prop_map(Edit::Dot),
        (any::<usize>(), "[a-z]{1,3}").prop_map(|(i, s)| Edit::DotDot(i, s)),
        any::<usize>().prop_map(Edit::Slash),
        any::<usize>().prop_map(Edit::EncodedDot),
    ]
}

/// Applies edits; each keeps the path's meaning if the server reads it per RFC 3986.
fn apply(path: &str, edits: &[Edit]) -> String {
    let mut p = path.to_owned();
    for e in edits {
        let slashes: Vec<usize> = p.match_indices('/').map(|(i, _)| i).collect();
        let at = |i: usize| slashes[i % slashes.len()] + 1;
        match e {
            Edit::Encode(i, upper) => {
                let chars: Vec<(usize, char)> = p
                    .char_indices()
                    .filter(|(_, c)| c.is_ascii_alphanumeric() || "-._~".contains(*c))
                    .collect();
                if chars.is_empty() {
                    continue;
                }
                let (pos, c) = chars[i % chars.len()];
                let esc = if *upper {
                    format!("%{:02X}", c as u8)
                } else {
                    format!("%{:02x}", c as u8)
                };
                p.replace_range(pos..pos + 1, &esc);
            }
            Edit::Dot(i) => p.insert_str(at(*i), "./"),
            Edit::DotDot(i, s) => p.insert_str(at(*i), &format!("{s}/../")),
            Edit::Slash(i) => p.insert(at(*i), '/'),
            Edit::EncodedDot(i) => p.insert_str(at(*i), "%2e/"),
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn encoded_variants_decide_like_the_canonical_path(
        path in canonical_path(),
        edits in prop::collection::vec(edit(), 1..6),
        method in prop_oneof![Just("GET"), Just("PUT"), Just("DELETE")],
    ) {
        let policy = policy();
        let variant = apply(&path, &edits);
        let canonical = decide(&policy, method, &path);
        let spelled = decide(&policy, method, &variant);
        prop_assert_eq!(canonical.path.as_deref(), Some(path.as_str()), "the generator makes canonical paths");
        if spelled.status == 400 {
            prop_assert_eq!(spelled.reason, rolegate::Reason::InvalidPath);
        } else {
            // Same verdict, rule and roles; the canonical path may differ only by a trailing slash.
            prop_assert_eq!(spelled.allowed, canonical.allowed, "{} vs {}", variant, path);
            prop_assert_eq!(spelled.reason, canonical.reason);
            prop_assert_eq!(&spelled.rule, &canonical.rule);
            let got = spelled.path.unwrap_or_default();
            prop_assert!(got.trim_end_matches('/') == path.trim_end_matches('/'), "{} -> {}", variant, got);
        }
    }

    #[test]
    fn canonicalisation_is_idempotent(raw in "/[a-zA-Z0-9%./;:@!_~-]{0,40}") {
        if let Ok(c) = rolegate::testing::canonicalize(&raw) {
            let again = rolegate::testing::canonicalize(&c.path).unwrap();
            prop_assert_eq!(again.path, c.path);
        }
    }
}
