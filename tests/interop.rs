//! Keys and tokens exactly as real authorization servers publish and issue
//! them: JWKS with encryption keys and X.509 members (Keycloak, Entra ID),
//! large tokens (Entra ID with 200 groups), array scopes (PingFederate).

mod support;

use rolegate::{Policy, Reason, Request};
use serde_json::{json, Value};
use support::TestKeys;

const NOW: u64 = 1_800_000_000;

fn policy_with(
    keys: &TestKeys,
    jwks: Value,
    extra: Value,
) -> Result<Policy, rolegate::PolicyError> {
    let mut doc = json!({
        "issuers": [{"issuer": "https://idp.test", "audiences": ["api"], "jwks": {"keys": jwks},
                     "algorithms": ["RS256", "ES256"]}],
        "roles": [{"name": "user", "grant": "any_valid_token",
                   "rules": [{"effect": "allow", "methods": ["*"], "paths": ["/**"]}]}]
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    support::load_policy(&doc, keys)
}

fn token(keys: &TestKeys, key: &str, claims: Value) -> String {
    let mut all = json!({"iss": "https://idp.test", "aud": "api", "sub": "alice", "iat": NOW - 10, "exp": NOW + 600});
    for (k, v) in claims.as_object().unwrap() {
        all[k] = v.clone();
    }
    support::mint_token(&json!({"key": key, "claims": all}), keys)
}

#[test]
fn a_keycloak_style_jwks_loads_skipping_what_is_not_for_signatures() {
    let keys = TestKeys::load();
    let mut signing = keys.public("rsa-a");
    // Members rolegate does not read are ignored (RFC 7517 §4).
    for (member, value) in [
        ("x5c", json!(["MIIC...base64 DER..."])),
        ("x5t", json!("q5hxW4Pm1Nw9aMRp4ssEh2mQP9k")),
        (
            "x5t#S256",
            json!("2vmN9M5Sa8qbt3Z1u0Q0QHnUaXmXxGZl0oSEbd3lOkY"),
        ),
        (
            "issuer",
            json!("https://login.microsoftonline.com/tenant/v2.0"),
        ),
        ("cloud_instance_name", json!("microsoftonline.com")),
        ("use", json!("sig")),
    ] {
        signing[member] = value;
    }
    let mut encryption = keys.public("rsa-b");
    encryption["kid"] = json!("enc-1");
    encryption["use"] = json!("enc");
    encryption["alg"] = json!("RSA-OAEP");
    let mut oaep_without_use = keys.public("rsa-b");
    oaep_without_use["kid"] = json!("enc-2");
    oaep_without_use["alg"] = json!("RSA-OAEP-256");
    let mut wrap_only = keys.public("ec-a");
    wrap_only["kid"] = json!("ops");
    wrap_only["key_ops"] = json!(["wrapKey"]);
    let p521 = json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"});
    let es512 =
        json!({"kty": "EC", "crv": "P-256", "kid": "es512", "alg": "ES512", "x": "AA", "y": "AA"});
    let policy = policy_with(
        &keys,
        json!([
            encryption,
            signing,
            oaep_without_use,
            wrap_only,
            p521,
            es512
        ]),
        json!({}),
    )
    .unwrap();
    let notices = policy.notices();
    assert_eq!(notices.len(), 5, "{notices:?}");
    assert!(
        notices[0].starts_with("issuers[0].jwks.keys[0]: skipped: an encryption key (use: enc)")
    );
    assert!(notices[1].contains("keys[2]: skipped: an encryption key (alg RSA-OAEP-256)"));
    assert!(notices[2].contains("keys[3]: skipped: its key_ops do not include verify"));
    assert!(notices[3].contains("keys[4]: skipped: key type EC (P-521) is not supported"));
    assert!(notices[4].contains("keys[5]: skipped: algorithm ES512 is not supported"));
    let d =
        policy.decide(&Request::new("GET", "/x", NOW).bearer(&token(&keys, "rsa-a", json!({}))));
    assert_eq!(d.reason, Reason::Allowed, "{:?}", d.trace);

    // A set with nothing to verify with is still refused, and says why.
    let err = policy_with(&keys, json!([notices_free_enc(&keys)]), json!({})).unwrap_err();
    assert_eq!(err.path, "issuers[0].jwks");
    // Broken material of a supported key is an error, not a skip.
    let mut broken = keys.public("rsa-a");
    broken["n"] = json!("AQAB");
    let err = policy_with(&keys, json!([broken]), json!({})).unwrap_err();
    assert!(err.path.starts_with("issuers[0].jwks.keys[0]"), "{err}");
}

fn notices_free_enc(keys: &TestKeys) -> Value {
    let mut k = keys.public("rsa-b");
    k["use"] = json!("enc");
    k
}

/// An Entra ID v2 access token with 200 group ids (~11 KB).
fn entra_like(keys: &TestKeys) -> String {
    let groups: Vec<String> = (0..200)
        .map(|i| format!("{i:08x}-1c2d-4e5f-8a9b-0c1d2e3f4a5b"))
        .collect();
    token(
        keys,
        "rsa-a",
        json!({"scp": "api.read api.write", "roles": ["Admin"], "groups": groups, "tid": "t", "oid": "o",
               "name": "A person with a long display name", "preferred_username": "alice@example.com"}),
    )
}

#[test]
fn large_tokens_are_accepted_up_to_the_policy_cap() {
    let keys = TestKeys::load();
    let big = entra_like(&keys);
    assert!(big.len() > 10_000, "{}", big.len());
    let default = policy_with(&keys, json!([keys.public("rsa-a")]), json!({})).unwrap();
    let d = default.decide(&Request::new("GET", "/x", NOW).bearer(&big));
    assert_eq!(d.reason, Reason::Allowed, "{:?}", d.trace);

    let tight = policy_with(
        &keys,
        json!([keys.public("rsa-a")]),
        json!({"max_token_bytes": 8192}),
    )
    .unwrap();
    let d = tight.decide(&Request::new("GET", "/x", NOW).bearer(&big));
    assert_eq!(
        (d.reason, d.cause),
        (Reason::InvalidToken, Some("token_too_large"))
    );
    for (bad, why) in [(json!(100), "too small"), (json!(1_000_000), "too large")] {
        let err = policy_with(
            &keys,
            json!([keys.public("rsa-a")]),
            json!({"max_token_bytes": bad}),
        )
        .unwrap_err();
        assert_eq!(err.path, "max_token_bytes", "{why}: {err}");
    }
}
