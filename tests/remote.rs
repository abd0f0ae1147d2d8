//! Remote validation as the core's state machine, with the host's part played
//! by the test: JWKS URLs, discovery, unknown kids, outages, introspection.

mod support;

use rolegate::{DecideOptions, Parked, Policy, Reason, Request, State, Step};
use rolegate::{HttpCall, Purpose};
use serde_json::{json, Value};
use support::TestKeys;

const NOW: u64 = 1_800_000_000;
const OPTIONS: DecideOptions = DecideOptions { explain: true };

fn policy(issuer: Value) -> Policy {
    Policy::from_json(
        &json!({
            "issuers": [issuer],
            "roles": [{"name": "reader", "required_attributes": [{"claim": "group", "value": "readers"}],
                       "rules": [{"effect": "allow", "methods": ["read"], "paths": ["/**"]}]}]
        })
        .to_string(),
    )
    .unwrap()
}

fn remote_issuer(extra: Value) -> Value {
    let mut issuer = json!({
        "issuer": "https://as.test", "audiences": ["api"], "algorithms": ["RS256", "ES256"],
        "jwks_uri": "https://as.test/jwks",
        "remote": {"cluster": "as", "refresh_seconds": 300, "min_refetch_seconds": 30}
    });
    for (k, v) in extra.as_object().unwrap() {
        issuer[k] = v.clone();
    }
    issuer
}

fn token(keys: &TestKeys, key: &str, extra: Value) -> String {
    let mut claims = json!({"iss": "https://as.test", "aud": "api", "sub": "u", "group": "readers",
                            "iat": NOW - 10, "exp": NOW + 600});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    support::mint_token(&json!({"key": key, "claims": claims}), keys)
}

fn jwks(keys: &TestKeys, names: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({"keys": names.iter().map(|n| keys.public(n)).collect::<Vec<_>>()}))
        .unwrap()
}

fn get(token: &str, now: u64) -> Request {
    Request::new("GET", "/things", now).bearer(token)
}

fn expect_call(step: Step, purpose: Purpose) -> HttpCall {
    match step {
        Step::Call(call) if call.purpose == purpose => call,
        other => panic!("expected a {purpose:?} call, got {other:?}"),
    }
}

fn expect_done(step: Step) -> rolegate::Decision {
    match step {
        Step::Done(d, _) => std::rc::Rc::unwrap_or_clone(d),
        other => panic!("expected a decision, got {other:?}"),
    }
}

#[test]
fn keys_load_on_first_use_and_waiters_wait() {
    let keys = TestKeys::load();
    let policy = policy(remote_issuer(json!({})));
    let mut state: State = policy.new_state();
    let t = token(&keys, "rsa-a", json!({}));
    let call = expect_call(
        policy.decide_step(&mut state, &get(&t, NOW), OPTIONS),
        Purpose::Jwks,
    );
    assert_eq!(call.cluster, "as");
    assert!(call.headers.contains(&(":path".into(), "/jwks".into())));
    assert!(call
        .headers
        .contains(&(":authority".into(), "as.test".into())));
    assert!(matches!(
        policy.decide_step(&mut state, &get(&t, NOW), OPTIONS),
        Step::Wait(0)
    ));
    // The waiting request is parked in the core until the keys are in.
    assert!(state.park(
        0,
        Parked {
            id: 7,
            request: get(&t, NOW),
        },
    ));
    assert!(
        state.release(0).is_empty(),
        "released while the fetch is in flight"
    );
    assert!(policy
        .complete_call(
            &mut state,
            &call,
            Ok((200, jwks(&keys, &["rsa-a", "ec-a"]))),
            NOW
        )
        .is_empty());
    let released = state.release(0);
    assert_eq!(released.iter().map(|p| p.id).collect::<Vec<_>>(), [7]);
    assert!(state.release(0).is_empty(), "released once");
    let d = expect_done(policy.decide_step(&mut state, &released[0].request, OPTIONS));
    assert!(d.allowed, "{d:?}");
    // Cached now: the next request is a cache hit.
    assert!(matches!(
        policy.decide_step(&mut state, &get(&t, NOW), OPTIONS),
        Step::Done(_, rolegate::CacheUse::Hit)
    ));
}

#[test]
fn unknown_kid_refetches_once_then_is_rate_limited() {
    let keys = TestKeys::load();
    let policy = policy(remote_issuer(json!({})));
    let mut state = policy.new_state();
    let first = policy.due_calls(&mut state, NOW);
    assert_eq!(first.len(), 1, "the first load is due at once");
    policy.complete_call(
        &mut state,
        &first[0],
        Ok((200, jwks(&keys, &["rsa-a"]))),
        NOW,
    );
    assert!(
        policy.due_calls(&mut state, NOW + 10).is_empty(),
        "nothing due before refresh_seconds"
    );

    // Key rotation: a token signed by a key the cached set lacks.
    let rotated = token(&keys, "rsa-b", json!({}));
    let call = expect_call(
        policy.decide_step(&mut state, &get(&rotated, NOW + 60), OPTIONS),
        Purpose::Jwks,
    );
    policy.complete_call(
        &mut state,
        &call,
        Ok((200, jwks(&keys, &["rsa-a", "rsa-b"]))),
        NOW + 60,
    );
    assert!(expect_done(policy.decide_step(&mut state, &get(&rotated, NOW + 60), OPTIONS)).allowed);

    // An unknown kid again within min_refetch_seconds: no new call, 401.
    let stranger = token(&keys, "attacker-rsa", json!({}));
    let d = expect_done(policy.decide_step(&mut state, &get(&stranger, NOW + 70), OPTIONS));
    assert_eq!((d.status, d.cause), (401, Some("unknown_key")));
    // After the interval, one more refetch is allowed.
    expect_call(
        policy.decide_step(&mut state, &get(&stranger, NOW + 100), OPTIONS),
        Purpose::Jwks,
    );
}

#[test]
fn outages_fail_closed_and_stale_keys_keep_serving() {
    let keys = TestKeys::load();
    let policy = policy(remote_issuer(json!({})));
    let mut state = policy.new_state();
    let t = token(&keys, "rsa-a", json!({}));
    // The authorization server is down from the start: 503, never an allow.
    let call = expect_call(
        policy.decide_step(&mut state, &get(&t, NOW), OPTIONS),
        Purpose::Jwks,
    );
    policy.complete_call(&mut state, &call, Err("connection refused".into()), NOW);
    let d = expect_done(policy.decide_step(&mut state, &get(&t, NOW + 1), OPTIONS));
    assert_eq!(
        (d.allowed, d.status, d.reason),
        (false, 503, Reason::KeysUnavailable)
    );
    for bad in [
        Ok((500, b"oops".to_vec())),
        Ok((200, b"<html>".to_vec())),
        Ok((200, vec![b' '; 300_000])),
        Ok((200, b"{\"keys\": []}".to_vec())),
    ] {
        let call = expect_call(
            policy.decide_step(&mut state, &get(&t, NOW + 1000), OPTIONS),
            Purpose::Jwks,
        );
        policy.complete_call(&mut state, &call, bad, NOW + 1000);
        let d = expect_done(policy.decide_step(&mut state, &get(&t, NOW + 1001), OPTIONS));
        assert_eq!(d.status, 503);
        assert!(state.keys.issuer(0).unwrap().last_error.is_some());
        state = policy.new_state();
    }
    // Loaded, then down at refresh time: the stale keys keep serving.
    let call = policy.due_calls(&mut state, NOW).remove(0);
    policy.complete_call(&mut state, &call, Ok((200, jwks(&keys, &["rsa-a"]))), NOW);
    let refresh = policy.due_calls(&mut state, NOW + 400);
    assert_eq!(refresh.len(), 1);
    policy.complete_call(&mut state, &refresh[0], Err("timeout".into()), NOW + 400);
    let fresh_token = token(&keys, "rsa-a", json!({"iat": NOW + 390, "exp": NOW + 1000}));
    assert!(
        expect_done(policy.decide_step(&mut state, &get(&fresh_token, NOW + 401), OPTIONS)).allowed
    );
}

#[test]
fn discovery_names_the_jwks() {
    let keys = TestKeys::load();
    let policy = policy(remote_issuer(
        json!({"jwks_uri": null, "discovery": "https://as.test/.well-known/openid-configuration"}),
    ));
    let mut state = policy.new_state();
    let t = token(&keys, "ec-a", json!({}));
    let call = expect_call(
        policy.decide_step(&mut state, &get(&t, NOW), OPTIONS),
        Purpose::Discovery,
    );
    assert!(call
        .headers
        .contains(&(":path".into(), "/.well-known/openid-configuration".into())));
    let doc =
        br#"{"issuer": "https://as.test", "jwks_uri": "https://keys.as.test/certs"}"#.to_vec();
    let follow = policy.complete_call(&mut state, &call, Ok((200, doc)), NOW);
    assert_eq!(follow.len(), 1);
    assert!(follow[0]
        .headers
        .contains(&(":authority".into(), "keys.as.test".into())));
    policy.complete_call(
        &mut state,
        &follow[0],
        Ok((200, jwks(&keys, &["ec-a"]))),
        NOW,
    );
    assert!(expect_done(policy.decide_step(&mut state, &get(&t, NOW), OPTIONS)).allowed);

    // A discovery document for another issuer is refused.
    let mut state = policy.new_state();
    let call = expect_call(
        policy.decide_step(&mut state, &get(&t, NOW), OPTIONS),
        Purpose::Discovery,
    );
    let follow = policy.complete_call(
        &mut state,
        &call,
        Ok((
            200,
            br#"{"issuer": "https://evil", "jwks_uri": "https://evil/k"}"#.to_vec(),
        )),
        NOW,
    );
    assert!(follow.is_empty());
    assert_eq!(
        expect_done(policy.decide_step(&mut state, &get(&t, NOW + 1), OPTIONS)).status,
        503
    );
}

fn introspecting(auth: Value) -> Policy {
    let mut introspection = json!({"endpoint": "https://as.test/introspect", "client_id": "rolegate", "cache_seconds": 120});
    for (k, v) in auth.as_object().unwrap() {
        introspection[k] = v.clone();
    }
    policy(
        json!({"issuer": "https://as.test", "audiences": ["api"], "algorithms": [],
                  "remote": {"cluster": "as"}, "introspection": introspection}),
    )
}

fn form(call: &HttpCall) -> Vec<(String, String)> {
    String::from_utf8(call.body.clone().unwrap())
        .unwrap()
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn introspection_with_a_client_secret() {
    let policy =
        introspecting(json!({"client_auth": "client_secret_basic", "client_secret": "s3cr:t"}));
    let mut state = policy.new_state();
    let opaque = "2YotnFZFEjr1zCsicMWpAA";
    let req = get(opaque, NOW);
    let call = expect_call(
        policy.decide_step(&mut state, &req, OPTIONS),
        Purpose::Introspection,
    );
    assert!(call.headers.contains(&(":method".into(), "POST".into())));
    assert!(call
        .headers
        .contains(&(":path".into(), "/introspect".into())));
    // RFC 6749 §2.3.1: client id and secret form-encoded, then Basic.
    assert!(call.headers.contains(&(
        "authorization".into(),
        "Basic cm9sZWdhdGU6czNjciUzQXQ=".into()
    )));
    assert!(form(&call).contains(&("token".into(), opaque.into())));
    let active = json!({"active": true, "sub": "alice", "client_id": "app", "aud": "api", "scope": "read",
                        "group": ["readers"], "exp": NOW + 3600});
    let d = policy
        .decide_introspected(
            &mut state,
            &req,
            OPTIONS,
            &call,
            Ok((200, serde_json::to_vec(&active).unwrap())),
        )
        .decision;
    assert!(d.allowed, "{d:?}");
    assert_eq!(
        (d.subject.as_deref(), d.client_id.as_deref()),
        (Some("alice"), Some("app"))
    );
    assert_eq!(d.roles, ["reader"]);
    // Cached until min(exp, now + cache_seconds).
    assert!(matches!(
        policy.decide_step(&mut state, &get(opaque, NOW + 60), OPTIONS),
        Step::Done(_, rolegate::CacheUse::Hit)
    ));
    expect_call(
        policy.decide_step(&mut state, &get(opaque, NOW + 121), OPTIONS),
        Purpose::Introspection,
    );

    let other = get("another-opaque-token", NOW);
    let cases: Vec<(rolegate::HttpResult, u16, Option<&str>)> = vec![
        (
            Ok((200, br#"{"active": false}"#.to_vec())),
            401,
            Some("inactive"),
        ),
        (
            Ok((
                200,
                br#"{"active": true, "aud": "other", "exp": 1900000000}"#.to_vec(),
            )),
            401,
            Some("wrong_audience"),
        ),
        (
            Ok((
                200,
                br#"{"active": true, "aud": "api", "iss": "https://evil", "exp": 1900000000}"#
                    .to_vec(),
            )),
            401,
            Some("unknown_issuer"),
        ),
        (
            Ok((
                200,
                br#"{"active": true, "aud": "api", "group": "readers", "exp": 1800000001}"#
                    .to_vec(),
            )),
            200,
            None,
        ),
        (
            Ok((200, br#"{"active": "yes"}"#.to_vec())),
            503,
            Some("introspection_unavailable"),
        ),
        (
            Ok((200, b"garbage".to_vec())),
            503,
            Some("introspection_unavailable"),
        ),
        (
            Ok((502, b"{}".to_vec())),
            503,
            Some("introspection_unavailable"),
        ),
        (
            Ok((200, vec![b' '; 70_000])),
            503,
            Some("introspection_unavailable"),
        ),
        (
            Err("timeout".into()),
            503,
            Some("introspection_unavailable"),
        ),
    ];
    for (result, status, cause) in cases {
        let mut state = policy.new_state();
        let call = expect_call(
            policy.decide_step(&mut state, &other, OPTIONS),
            Purpose::Introspection,
        );
        let d = policy
            .decide_introspected(&mut state, &other, OPTIONS, &call, result)
            .decision;
        assert_eq!((d.status, d.cause), (status, cause), "{d:?}");
        assert_eq!(d.allowed, status == 200);
    }
}

#[test]
fn introspection_with_private_key_jwt() {
    let keys = TestKeys::load();
    let policy = introspecting(
        json!({"client_auth": "private_key_jwt", "private_key": keys.private("ec-a")}),
    );
    let mut state = policy.new_state();
    let call = expect_call(
        policy.decide_step(&mut state, &get("opaque-token", NOW), OPTIONS),
        Purpose::Introspection,
    );
    let fields = form(&call);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        field("client_assertion_type"),
        "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    );
    assert!(!call.headers.iter().any(|(n, _)| n == "authorization"));
    // The assertion is an ES256 JWT the AS can verify with the client's public key.
    let assertion = field("client_assertion");
    let verifier = Policy::from_json(&json!({
        "issuers": [{"issuer": "rolegate", "audiences": ["https://as.test/introspect"], "jwks": {"keys": [keys.public("ec-a")]}, "algorithms": ["ES256"]}],
        "roles": [{"name": "c", "grant": "any_valid_token", "rules": [{"effect": "allow", "methods": ["*"], "paths": ["/**"]}]}]
    }).to_string()).unwrap();
    let d = verifier.decide(&Request::new("POST", "/introspect", NOW).bearer(&assertion));
    assert!(d.allowed, "{d:?}");
    let payload = rolegate::testing::decode_unverified(&assertion)
        .unwrap()
        .payload;
    assert_eq!(payload["sub"], "rolegate");
    assert!(payload["jti"].as_str().unwrap().len() >= 16);
    assert_eq!(payload["exp"], NOW + 60);
}

#[test]
fn remote_configuration_errors() {
    let bad = |issuer: Value, path: &str| {
        let err = Policy::from_json(&json!({"issuers": [issuer], "roles": [{"name": "r", "grant": "any_valid_token", "rules": [{"effect": "allow", "methods": ["*"], "paths": ["/**"]}]}]}).to_string()).unwrap_err();
        assert_eq!(err.path, path, "{err}");
    };
    bad(remote_issuer(json!({"remote": null})), "issuers[0].remote");
    bad(
        remote_issuer(json!({"jwks_uri": "as.test/jwks"})),
        "issuers[0].jwks_uri",
    );
    bad(
        remote_issuer(json!({"discovery": "https://as.test/d"})),
        "issuers[0].discovery",
    );
    bad(
        remote_issuer(json!({"jwks": {"keys": []}})),
        "issuers[0].jwks_uri",
    );
    bad(
        remote_issuer(json!({"algorithms": ["RS256", "HS256"]})),
        "issuers[0].algorithms[1]",
    );
    bad(
        remote_issuer(json!({"remote": {"cluster": "as", "timeout_ms": 5}})),
        "issuers[0].remote.timeout_ms",
    );
    bad(
        remote_issuer(
            json!({"introspection": {"client_id": "c", "client_auth": "client_secret_basic", "client_secret": "x"}}),
        ),
        "issuers[0].introspection.endpoint",
    );
    bad(
        remote_issuer(
            json!({"introspection": {"endpoint": "https://as.test/i", "client_id": "c", "client_auth": "private_key_jwt"}}),
        ),
        "issuers[0].introspection.private_key",
    );
    bad(
        remote_issuer(
            json!({"introspection": {"endpoint": "https://as.test/i", "client_id": "c", "client_auth": "client_secret_basic"}}),
        ),
        "issuers[0].introspection.client_secret",
    );
}

#[test]
fn previews_say_remote_keys_cannot_be_checked() {
    let keys = TestKeys::load();
    let policy = policy(remote_issuer(json!({})));
    let d = policy.decide(&get(&token(&keys, "rsa-a", json!({})), NOW));
    assert_eq!((d.status, d.reason), (503, Reason::KeysUnavailable));
    assert!(d
        .trace
        .iter()
        .any(|s| s.detail.contains("a preview cannot")));
}

#[test]
fn an_unusable_introspection_answer_says_why() {
    let policy =
        introspecting(json!({"client_auth": "client_secret_basic", "client_secret": "s3cr:t"}));
    let mut state = policy.new_state();
    let req = get("2YotnFZFEjr1zCsicMWpAA", NOW);
    let call = expect_call(
        policy.decide_step(&mut state, &req, OPTIONS),
        Purpose::Introspection,
    );
    // node-oidc-provider, asked about a structured JWT with tokens: "all".
    let refused: rolegate::HttpResult = Ok((
        400,
        br#"{"error":"unsupported_token_type","error_description":"structured JWT Access Tokens can not be introspected"}"#.to_vec(),
    ));
    let mut ask = |result: rolegate::HttpResult| {
        policy.decide_introspected(&mut state, &req, OPTIONS, &call, result)
    };
    let answered = ask(refused);
    let why = answered.problem.unwrap();
    assert!(why.contains("400: \"unsupported_token_type\""), "{why}");
    assert!(why.contains("can not be introspected"), "{why}");
    let d = answered.decision;
    assert_eq!(
        (d.status, d.cause),
        (503, Some("introspection_unavailable"))
    );
    let bare = ask(Ok((502, b"<html>bad gateway</html>".to_vec())));
    assert_eq!(bare.problem.as_deref(), Some("the server answered 502"));
    // A usable answer has no problem, whatever it says of the token.
    let fine = ask(Ok((200, br#"{"active": false}"#.to_vec())));
    assert_eq!((fine.problem, fine.decision.status), (None, 401));
}

#[test]
fn requests_waiting_for_keys_are_bounded() {
    let keys = TestKeys::load();
    let policy = policy(remote_issuer(json!({})));
    let mut state: State = policy.new_state();
    let t = token(&keys, "rsa-a", json!({}));
    for id in 0..rolegate::MAX_PARKED as u32 {
        let parked = Parked {
            id,
            request: get(&t, NOW),
        };
        assert!(state.park(0, parked), "request {id} waits");
    }
    // One more is refused (the host answers it 503), and nothing grows.
    let extra = Parked {
        id: 9_999,
        request: get(&t, NOW),
    };
    assert!(!state.park(0, extra));
    assert_eq!(state.release(0).len(), rolegate::MAX_PARKED);
}

#[test]
fn a_refused_token_is_refused_again_briefly_without_another_call() {
    let policy =
        introspecting(json!({"client_auth": "client_secret_basic", "client_secret": "s3cr:t"}));
    let mut state = policy.new_state();
    let revoked = "revoked-opaque-token";
    let req = get(revoked, NOW);
    let call = expect_call(
        policy.decide_step(&mut state, &req, OPTIONS),
        Purpose::Introspection,
    );
    let inactive = Ok((200, br#"{"active": false}"#.to_vec()));
    let d = policy
        .decide_introspected(&mut state, &req, OPTIONS, &call, inactive)
        .decision;
    assert_eq!(d.cause, Some("inactive"));
    // A flood of the same token costs no further introspection call ...
    for now in [NOW, NOW + 5, NOW + 9] {
        let d = expect_done(policy.decide_step(&mut state, &get(revoked, now), OPTIONS));
        assert_eq!((d.status, d.cause), (401, Some("inactive")));
    }
    // ... for a while: then it is asked about again.
    expect_call(
        policy.decide_step(&mut state, &get(revoked, NOW + 10), OPTIONS),
        Purpose::Introspection,
    );
}

#[test]
fn introspection_with_a_client_certificate_names_the_client_and_sends_no_secret() {
    let policy = policy(
        json!({"issuer": "https://as.test", "audiences": ["api"], "algorithms": [],
        "remote": {"cluster": "as", "tls": {"certificate": "/etc/envoy/rolegate.pem",
                                             "private_key": "/etc/envoy/rolegate.key"}},
        "introspection": {"endpoint": "https://as.test/introspect", "client_id": "rolegate",
                          "client_auth": "tls_client_auth"}}),
    );
    let mut state = policy.new_state();
    let call = expect_call(
        policy.decide_step(&mut state, &get("opaque-token", NOW), OPTIONS),
        Purpose::Introspection,
    );
    let fields = form(&call);
    assert!(fields.contains(&("client_id".into(), "rolegate".into())));
    assert!(!fields
        .iter()
        .any(|(k, _)| k.starts_with("client_assertion") || k == "client_secret"));
    assert!(!call.headers.iter().any(|(n, _)| n == "authorization"));
    assert_eq!(call.cluster, "as");
    // The cluster, as the generated Envoy config defines it.
    let [cluster] = policy.remote_clusters()[..] else {
        panic!()
    };
    assert_eq!((cluster.host.as_str(), cluster.port), ("as.test", 443));
    let tls = cluster.tls.as_ref().unwrap();
    assert_eq!(tls.certificate.as_deref(), Some("/etc/envoy/rolegate.pem"));
    assert_eq!(tls.ca, "/etc/ssl/certs/ca-certificates.crt");
}
