//! Envoy's fast path: a decision kept for a verified token is applied
//! straight from the request's header block, without building a request.
//! For any method, path and headers as raw bytes (UTF-8 or not), the
//! decision found there must be the very one the full path reuses for the
//! request built from the same block, with the same header edits; and when
//! the block is valid text, the fast path must find it whenever the full
//! path would.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolegate::testing::{mint, MintRequest, SigningKey};
use rolegate::{CacheUse, DecideOptions, Policy, Request, Step};
use std::rc::Rc;
use std::sync::OnceLock;

const NOW: u64 = 1_800_000_000;

/// The seed policy and a token it accepts (an auditor's).
fn setup() -> &'static (Policy, String) {
    static SETUP: OnceLock<(Policy, String)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let policy = Policy::from_json(include_str!("../seed_policy.json")).expect("seed policy");
        let keys: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/keys.json")).expect("keys");
        let key = SigningKey::from_jwk(&keys["keys"]["rsa-a"]).expect("rsa-a");
        let claims = serde_json::json!({
            "iss": "https://idp.test", "aud": "pingaccess-admin-api", "sub": "fuzz",
            "scope": "admin", "group": "cn=pingaccess-auditors,o=myorg",
            "iat": NOW - 10, "exp": NOW + 3600,
        });
        let request = MintRequest {
            key: Some(&key),
            claims: claims.as_object().expect("claims").clone(),
            ..MintRequest::default()
        };
        (policy, mint(&request).expect("mint"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (policy, token) = setup();
    // Fields separated by NUL: method, path, then header name/value pairs,
    // after the valid bearer token (a second Authorization header may follow).
    let mut fields = data.split(|b| *b == 0);
    let method = fields.next().unwrap_or(b"GET");
    let path = fields.next().unwrap_or(b"/");
    let bearer = format!("Bearer {token}");
    let mut pairs: Vec<(&[u8], &[u8])> = vec![
        (b":method", method),
        (b":path", path),
        (b"authorization", bearer.as_bytes()),
    ];
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        pairs.push((name, value));
    }
    let block = rolegate::testing::header_block(&pairs);
    let mut request = Request::default();
    let view = policy
        .view_header_map(&block, NOW)
        .expect("a serialized block reads back");
    request.refill_from_view(&view);
    let options = DecideOptions { explain: false };
    let mut state = policy.new_state();
    let first = policy.decide_step(&mut state, &request, options);
    assert!(matches!(first, Step::Done(..)), "local keys need no call");
    let built = request.view();
    let kept = policy.kept_decision(&state, &view);
    let kept_built = policy.kept_decision(&state, &built);
    if let Some(kept) = &kept {
        assert!(kept_built.as_ref().is_some_and(|k| Rc::ptr_eq(k, kept)));
    }
    let same_bytes =
        view.method == built.method && view.path == built.path && view.headers == built.headers;
    if same_bytes {
        assert_eq!(kept.is_some(), kept_built.is_some(), "{request:?}");
    }
    let Some(kept_built) = kept_built else { return };
    // The full path reuses exactly the kept decision.
    let Step::Done(reused, CacheUse::Hit) = policy.decide_step(&mut state, &request, options)
    else {
        panic!("a kept decision but no cache hit: {request:?}");
    };
    assert!(Rc::ptr_eq(&reused, &kept_built));
    if let Some(kept) = kept {
        let settings = policy.envoy_settings();
        assert_eq!(
            kept.upstream_headers(settings, &view),
            reused.upstream_headers(settings, &built),
            "{request:?}"
        );
    }
});
