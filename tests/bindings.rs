//! Bound tokens across requests, which one-request vectors cannot show: a
//! DPoP proof is accepted once, server nonces round-trip, each client's
//! proofs are bounded, and no decision resting on a proof or a client
//! certificate is ever reused for another request.

mod support;

use rolegate::{CacheUse, DecideOptions, Policy, Reason, Request, Step};
use serde_json::{json, Value};
use support::{dpop_description, load_policy, mint_token, TestKeys};

const NOW: u64 = 1_800_000_000;
const QUIET: DecideOptions = DecideOptions { explain: false };
const CERT: &str = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg8";

fn policy(keys: &TestKeys, dpop: Value) -> Policy {
    load_policy(
        &json!({
            "issuers": [{"issuer": "https://idp.test", "audiences": ["api"],
                         "$test_jwks": ["rsa-a"], "algorithms": ["RS256"]}],
            "roles": [{"name": "admin", "required_attributes": [{"claim": "role", "value": "admin"}],
                       "rules": [{"effect": "allow", "methods": ["*"], "paths": ["/**"]}]}],
            "dpop": dpop
        }),
        keys,
    )
    .unwrap()
}

fn token(keys: &TestKeys, cnf: Value) -> String {
    let jkt = rolegate::testing::jwk_thumbprint(keys.public("ec-a").as_object().unwrap()).unwrap();
    let cnf = if cnf == json!("jkt") {
        json!({ "jkt": jkt })
    } else {
        cnf
    };
    mint_token(
        &json!({"key": "rsa-a", "claims": {"iss": "https://idp.test", "aud": "api", "sub": "bob",
                "role": "admin", "iat": NOW - 10, "exp": NOW + 600, "cnf": cnf}}),
        keys,
    )
}

/// A DPoP request for `GET https://admin.test/x` with proof `jti`.
fn dpop_request(keys: &TestKeys, token: &str, jti: &str, extra: Value) -> Request {
    let mut claims = json!({"jti": jti, "htm": "GET", "htu": "https://admin.test/x",
                            "iat": NOW, "ath": "{ath}"});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let desc = dpop_description(&json!({"key": "ec-a", "claims": claims}), Some(token), keys);
    Request::new("GET", "/x", NOW)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", mint_token(&desc, keys))
}

fn done(step: Step) -> (std::rc::Rc<rolegate::Decision>, CacheUse) {
    match step {
        Step::Done(decision, used) => (decision, used),
        other => panic!("expected a decision, got {other:?}"),
    }
}

#[test]
fn a_proof_is_accepted_once() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({"origins": ["https://admin.test"]}));
    let token = token(&keys, json!("jkt"));
    let mut state = policy.new_state();
    let first = dpop_request(&keys, &token, "p-1", json!({}));
    let (d, _) = done(policy.decide_step(&mut state, &first, QUIET));
    assert!(d.allowed, "{d:?}");
    let first_decision = d;
    // Replayed, by the same worker's state.
    let (d, _) = done(policy.decide_step(&mut state, &first, QUIET));
    assert_eq!((d.status, d.cause), (401, Some("dpop_proof_replayed")));
    assert!(d
        .www_authenticate
        .as_deref()
        .unwrap()
        .contains("error=\"invalid_dpop_proof\""));
    // A new proof is a new request.
    let (d, used) = done(policy.decide_step(
        &mut state,
        &dpop_request(&keys, &token, "p-2", json!({})),
        QUIET,
    ));
    assert!(d.allowed);
    // The token's signature was checked once; the decision is made anew.
    assert_eq!(used, CacheUse::Hit);
    assert!(
        !std::rc::Rc::ptr_eq(&first_decision, &d),
        "a decision resting on a proof is never reused"
    );
}

#[test]
fn the_shared_memory_a_host_lends_is_used() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({"origins": ["https://admin.test"]}));
    let token = token(&keys, json!("jkt"));
    let request = dpop_request(&keys, &token, "p-1", json!({}));
    // Two workers, one memory (as Envoy's shared data is).
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<rolegate::MemoryProofs>>);
    impl rolegate::ProofMemory for Shared {
        fn record(
            &mut self,
            proof: &rolegate::ProofUse,
            now: u64,
            per_client: usize,
        ) -> Result<bool, rolegate::ProofMemoryError> {
            self.0.borrow_mut().record(proof, now, per_client)
        }
    }
    let shared = Shared::default();
    let mut one = policy.new_state();
    let mut two = policy.new_state();
    one.remember_proofs_in(Box::new(shared.clone()));
    two.remember_proofs_in(Box::new(shared));
    assert!(
        done(policy.decide_step(&mut one, &request, QUIET))
            .0
            .allowed
    );
    let (d, _) = done(policy.decide_step(&mut two, &request, QUIET));
    assert_eq!(d.cause, Some("dpop_proof_replayed"));
}

#[test]
fn each_client_key_has_a_bounded_number_of_live_proofs() {
    let keys = TestKeys::load();
    let policy = policy(
        &keys,
        json!({"origins": ["https://admin.test"], "max_proofs_per_client": 2}),
    );
    let token = token(&keys, json!("jkt"));
    let mut state = policy.new_state();
    // Spread over the memory's records, each holding a share of the limit
    // and room for an uneven spread: refused after at least the limit, and
    // long before the memory is full.
    let refused = (0..400).find_map(|i| {
        let r = dpop_request(&keys, &token, &format!("p-{i}"), json!({}));
        let (d, _) = done(policy.decide_step(&mut state, &r, QUIET));
        (!d.allowed).then_some((i, d))
    });
    let (i, d) = refused.expect("refused within 400 proofs");
    assert!(i >= 2, "{i}");
    assert_eq!((d.status, d.reason), (429, Reason::TooManyProofs));
    assert!(!d.forward());
}

#[test]
fn server_nonces_round_trip() {
    let keys = TestKeys::load();
    let policy = policy(
        &keys,
        json!({"origins": ["https://admin.test"],
               "nonce_secret": "a test secret that is long enough to use"}),
    );
    let token = token(&keys, json!("jkt"));
    let mut state = policy.new_state();
    let (d, _) = done(policy.decide_step(
        &mut state,
        &dpop_request(&keys, &token, "n-1", json!({})),
        QUIET,
    ));
    assert_eq!(d.cause, Some("use_dpop_nonce"));
    let nonce = d.dpop_nonce.clone().expect("a fresh nonce");
    let denial = d.denial();
    assert!(denial
        .headers
        .iter()
        .any(|(n, v)| *n == "dpop-nonce" && *v == nonce));
    // With the nonce the proof is accepted, also a window later.
    let with = dpop_request(&keys, &token, "n-2", json!({ "nonce": nonce }));
    assert!(done(policy.decide_step(&mut state, &with, QUIET)).0.allowed);
    let mut later = dpop_request(
        &keys,
        &token,
        "n-3",
        json!({ "nonce": nonce, "iat": NOW + 60 }),
    );
    later.now = NOW + 60;
    assert!(
        done(policy.decide_step(&mut state, &later, QUIET))
            .0
            .allowed
    );
    // Two windows later it is stale: a new nonce is handed out.
    let mut stale = dpop_request(
        &keys,
        &token,
        "n-4",
        json!({ "nonce": nonce, "iat": NOW + 150 }),
    );
    stale.now = NOW + 150;
    let (d, _) = done(policy.decide_step(&mut state, &stale, QUIET));
    assert_eq!(d.cause, Some("use_dpop_nonce"));
    assert_ne!(d.dpop_nonce.as_deref(), Some(nonce.as_str()));
    // A nonce made up by the client is not one rolegate issued.
    let forged = dpop_request(
        &keys,
        &token,
        "n-5",
        json!({ "nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
    );
    assert_eq!(
        done(policy.decide_step(&mut state, &forged, QUIET)).0.cause,
        Some("use_dpop_nonce")
    );
}

#[test]
fn a_certificate_bound_decision_is_never_reused_for_another_connection() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let token = token(&keys, json!({ "x5t#S256": CERT }));
    let mut state = policy.new_state();
    let request = |cert: Option<&str>| Request {
        client_certificate: cert.map(str::to_owned),
        ..Request::new("GET", "/x", NOW).bearer(&token)
    };
    for _ in 0..2 {
        let (d, _) = done(policy.decide_step(&mut state, &request(Some(CERT)), QUIET));
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.binding, Some(rolegate::Binding::Certificate));
    }
    // The same token and request line from a connection with another
    // certificate, or none: decided again, refused.
    let (d, _) = done(policy.decide_step(&mut state, &request(Some("other")), QUIET));
    assert_eq!(d.cause, Some("client_certificate_mismatch"));
    let (d, _) = done(policy.decide_step(&mut state, &request(None), QUIET));
    assert_eq!(d.cause, Some("client_certificate_missing"));
    // Nor does the proxy's fast path find one for the header block.
    let block = support::header_block(&request(None));
    let view = policy.view_header_map(&block, NOW).unwrap();
    assert!(policy.kept_decision(&state, &view).is_none());
}

#[test]
fn an_allowed_dpop_request_reaches_the_upstream_without_token_or_proof() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({"origins": ["https://admin.test"]}));
    let token = token(&keys, json!("jkt"));
    let request = dpop_request(&keys, &token, "u-1", json!({}));
    let d = policy.decide(&request);
    assert!(d.allowed);
    let changes = d.upstream_headers(policy.envoy_settings(), &request.view());
    let removed: Vec<&str> = changes.remove.iter().map(|n| n.as_ref()).collect();
    assert!(
        removed.contains(&"authorization") && removed.contains(&"dpop"),
        "{removed:?}"
    );
    assert!(changes
        .add
        .iter()
        .any(|(n, v)| *n == "x-rolegate-roles" && v == "admin"));
    // The audit line says which binding was proved; an unbound one says nothing.
    assert!(d.audit_line().contains(r#""binding":"dpop""#));
}

#[test]
fn envoy_reports_certificates_in_hex() {
    let hex = "6f070ad1eb1cdc0082dc3076639fe5112b1713ca3d96d734e4ef3d8dd37e760f";
    assert_eq!(
        rolegate::certificate_thumbprint_from_hex(hex).as_deref(),
        Some(CERT)
    );
    assert_eq!(rolegate::certificate_thumbprint_from_hex("+f"), None);
    assert_eq!(
        rolegate::certificate_thumbprint_from_hex(&"+0".repeat(32)),
        None
    );
}

#[test]
fn a_decision_kept_for_the_token_as_a_bearer_token_is_not_a_dpop_requests() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({"origins": ["https://admin.test"]}));
    let token = token(&keys, json!("jkt"));
    let mut state = policy.new_state();
    let bearer = Request::new("GET", "/x", NOW).bearer(&token);
    for _ in 0..2 {
        let (d, _) = done(policy.decide_step(&mut state, &bearer, QUIET));
        assert_eq!(d.cause, Some("dpop_bound_token"));
    }
    // Same token, same request line: with the DPoP scheme and its proof,
    // decided on its own (the token's signature from the cache).
    let (d, used) = done(policy.decide_step(
        &mut state,
        &dpop_request(&keys, &token, "k-1", json!({})),
        QUIET,
    ));
    assert!(d.allowed, "{d:?}");
    assert_eq!(used, CacheUse::Hit);
    // And a refused DPoP request is not kept for the bearer one either.
    let missing = Request::new("GET", "/x", NOW).header("authorization", format!("DPoP {token}"));
    assert_eq!(
        done(policy.decide_step(&mut state, &missing, QUIET))
            .0
            .cause,
        Some("dpop_proof_missing")
    );
    assert_eq!(
        done(policy.decide_step(&mut state, &bearer, QUIET)).0.cause,
        Some("dpop_bound_token")
    );
}
