//! The token endpoint in the core: client assertions (RFC 7523), issued
//! tokens used against the Pexip preset, RFC 6749 errors, the token list.

mod support;

use rolegate::Route;
use rolegate::{create_client, MemoryTokenStore};
use rolegate::{Policy, Reason, Request};
use serde_json::{json, Value};
use support::TestKeys;

const NOW: u64 = 1_800_000_000;
const URL: &str = "https://pexip-manager.test/oauth/token/";

fn policy(keys: &TestKeys, extra: Value) -> Policy {
    let mut doc = json!({
        "$extends": "examples/pexip.json",
        "issuers": [],
        "token_endpoint": {"issuer": "https://pexip-manager.test", "audience": "pexip-management-api",
                           "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator"},
        "oauth2_clients": [
            {"client_id": "c-admin", "name": "automation", "role": "administrator", "jwk": keys.public("ec-a")},
            {"client_id": "c-prov", "name": "provisioning bot", "role": "provisioning", "jwk": keys.public("rsa-a")},
            {"client_id": "c-ro", "name": "dashboard", "role": "read_only", "jwk": keys.public("ed-a")}
        ]
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    support::load_policy(&doc, keys).unwrap()
}

fn assertion(keys: &TestKeys, key: &str, client: &str, extra: Value) -> String {
    let mut claims = json!({"iss": client, "sub": client, "aud": URL, "iat": NOW, "exp": NOW + 60,
                            "jti": format!("j-{}", rand_id())});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    support::mint_token(
        &json!({"key": key, "claims": claims, "header": {"kid": null}}),
        keys,
    )
}

fn rand_id() -> String {
    rolegate::testing::random_id().unwrap()
}

fn post(form: &str) -> (Request, Vec<u8>) {
    (
        Request::new("POST", "/oauth/token/", NOW)
            .header("content-type", "application/x-www-form-urlencoded"),
        form.as_bytes().to_vec(),
    )
}

/// The token endpoint's answer to `client`'s client-credentials grant
/// (asserted granted), its assertion signed with `key`.
fn granted(
    policy: &Policy,
    store: &mut MemoryTokenStore,
    keys: &TestKeys,
    key: &str,
    client: &str,
) -> Value {
    let form = client_credentials(&assertion(keys, key, client, json!({})));
    let (status, body) = issue(policy, store, &form);
    assert_eq!(status, 200, "{body}");
    body
}

fn client_credentials(assertion: &str) -> String {
    format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    )
}

fn issue(policy: &Policy, store: &mut MemoryTokenStore, form: &str) -> (u16, Value) {
    issue_at(policy, store, form, NOW)
}

/// As `issue`, at `now`.
fn issue_at(policy: &Policy, store: &mut MemoryTokenStore, form: &str, now: u64) -> (u16, Value) {
    let (mut req, body) = post(form);
    req.now = now;
    assert_eq!(policy.route(&req.view()), Route::IssueToken);
    let reply = policy.issue_token(&req, &body, store);
    assert!(reply
        .response
        .headers
        .contains(&("cache-control", "no-store".to_owned())));
    (
        reply.response.status,
        serde_json::from_str(&reply.response.body).unwrap(),
    )
}

#[test]
fn a_client_gets_a_token_and_its_role_decides() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    let body = granted(&policy, &mut store, &keys, "ec-a", "c-admin");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    let claims = rolegate::testing::decode_unverified(token).unwrap();
    assert_eq!(claims.header["typ"], "at+jwt");
    assert_eq!(claims.payload["role"], "administrator");
    assert_eq!(claims.payload["client_id"], "c-admin");
    assert!(claims.payload["jti"].as_str().unwrap().len() >= 16);

    let ask = |method: &str, path: &str, now: u64| {
        policy.decide(&Request::new(method, path, now).bearer(token))
    };
    let d = ask("GET", "/api/admin/configuration/v1/conference/", NOW + 10);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.client_id.as_deref(), Some("c-admin"));
    assert_eq!(
        ask(
            "PATCH",
            "/api/admin/configuration/v1/authentication/1/",
            NOW + 10
        )
        .reason,
        Reason::AuthenticationConfigProtected
    );
    // The token expires after access_token_expiration_seconds.
    assert_eq!(
        ask("GET", "/api/admin/status/v1/conference/", NOW + 3600 + 61).cause,
        Some("expired")
    );

    // Other algorithms for other clients; their roles decide.
    let (status, body) = issue(
        &policy,
        &mut store,
        &client_credentials(&assertion(&keys, "rsa-a", "c-prov", json!({}))),
    );
    assert_eq!(status, 200, "{body}");
    let prov = body["access_token"].as_str().unwrap();
    let d = policy.decide(
        &Request::new("POST", "/api/admin/configuration/v1/system_location/", NOW).bearer(prov),
    );
    assert_eq!(d.reason, Reason::NotPermitted);
    let (status, _) = issue(
        &policy,
        &mut store,
        &client_credentials(&assertion(&keys, "ed-a", "c-ro", json!({}))),
    );
    assert_eq!(status, 200);
}

#[test]
fn bad_assertions_are_refused() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    let cases = [
        (
            "wrong key",
            assertion(&keys, "attacker-ec", "c-admin", json!({})),
        ),
        (
            "expired",
            assertion(
                &keys,
                "ec-a",
                "c-admin",
                json!({"iat": NOW - 600, "exp": NOW - 100}),
            ),
        ),
        (
            "wrong aud",
            assertion(
                &keys,
                "ec-a",
                "c-admin",
                json!({"aud": "https://elsewhere/token"}),
            ),
        ),
        (
            "no aud",
            assertion(&keys, "ec-a", "c-admin", json!({"aud": null})),
        ),
        (
            "unknown client",
            assertion(&keys, "ec-a", "c-nobody", json!({})),
        ),
        (
            "sub is not iss",
            assertion(&keys, "ec-a", "c-admin", json!({"sub": "c-prov"})),
        ),
        (
            "no jti",
            assertion(&keys, "ec-a", "c-admin", json!({"jti": null})),
        ),
        (
            "no exp",
            assertion(&keys, "ec-a", "c-admin", json!({"exp": null})),
        ),
        (
            "lives too long",
            assertion(&keys, "ec-a", "c-admin", json!({"exp": NOW + 3600 + 61})),
        ),
        (
            "issued in the future",
            assertion(&keys, "ec-a", "c-admin", json!({"iat": NOW + 600})),
        ),
        // The JWT time checks every token gets: a time that is no
        // NumericDate is an error, never skipped.
        (
            "nbf not a number",
            assertion(&keys, "ec-a", "c-admin", json!({"nbf": "soon"})),
        ),
        (
            "iat not a number",
            assertion(&keys, "ec-a", "c-admin", json!({"iat": "today"})),
        ),
        (
            "not valid before a minute from now",
            assertion(&keys, "ec-a", "c-admin", json!({"nbf": NOW + 61})),
        ),
        (
            "aud array naming another",
            assertion(
                &keys,
                "ec-a",
                "c-admin",
                json!({"aud": ["https://elsewhere/token"]}),
            ),
        ),
        (
            "another client's key",
            assertion(&keys, "rsa-a", "c-admin", json!({})),
        ),
        (
            "unsigned",
            support::mint_token(
                &json!({"alg": "none", "claims": {"iss": "c-admin", "sub": "c-admin", "aud": URL, "exp": NOW + 60, "jti": "x"}}),
                &keys,
            ),
        ),
    ];
    for (name, a) in cases {
        let (status, body) = issue(&policy, &mut store, &client_credentials(&a));
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{name}: {body}"
        );
    }
    // A replayed assertion: the first use works, the second is refused.
    let once = assertion(&keys, "ec-a", "c-admin", json!({}));
    assert_eq!(
        issue(&policy, &mut store, &client_credentials(&once)).0,
        200
    );
    let (status, body) = issue(&policy, &mut store, &client_credentials(&once));
    assert_eq!(status, 401);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("replayed"),
        "{body}"
    );
}

#[test]
fn rfc6749_errors() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    let good = assertion(&keys, "ec-a", "c-admin", json!({}));
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "grant_type=password&username=a&password=b".into(),
            400,
            "unsupported_grant_type",
        ),
        ("client_assertion=x".into(), 400, "invalid_request"),
        (
            "grant_type=client_credentials".into(),
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&client_assertion={good}"),
            401,
            "invalid_client",
        ),
        (
            format!(
                "{}&grant_type=client_credentials",
                client_credentials(&good)
            ),
            400,
            "invalid_request",
        ),
        (
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c"
                .into(),
            400,
            "invalid_grant",
        ),
        (
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer".into(),
            400,
            "invalid_request",
        ),
    ];
    for (form, status, error) in cases {
        let (got, body) = issue(&policy, &mut store, &form);
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{form}: {body}"
        );
    }
    // The JWT bearer grant works with a good assertion too.
    let bearer_grant = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
        assertion(&keys, "ec-a", "c-admin", json!({}))
    );
    assert_eq!(issue(&policy, &mut store, &bearer_grant).0, 200);
    // Wrong method and content type.
    let reply = policy.issue_token(&Request::new("GET", "/oauth/token/", NOW), b"", &mut store);
    assert_eq!(reply.response.status, 405);
    let reply = policy.issue_token(
        &Request::new("POST", "/oauth/token/", NOW).header("content-type", "application/json"),
        b"{}",
        &mut store,
    );
    assert_eq!(reply.response.status, 400);
}

#[test]
fn administrators_list_active_tokens() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    let admin = granted(&policy, &mut store, &keys, "ec-a", "c-admin");
    let prov = granted(&policy, &mut store, &keys, "rsa-a", "c-prov");
    let list = |token: Option<&str>, now: u64| {
        let mut req = Request::new("GET", "/oauth/tokens/", now);
        if let Some(t) = token {
            req = req.bearer(t);
        }
        assert_eq!(policy.route(&req.view()), Route::ListTokens);
        let reply = policy.list_tokens(&req, &store);
        (
            reply.response.status,
            serde_json::from_str::<Value>(&reply.response.body).unwrap(),
        )
    };
    let (status, body) = list(admin["access_token"].as_str(), NOW + 5);
    assert_eq!(status, 200, "{body}");
    let tokens = body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[1]["client_id"], "c-prov");
    assert_eq!(tokens[1]["name"], "provisioning bot");
    assert_eq!(tokens[1]["role"], "provisioning");
    assert_eq!(tokens[1]["expires_at"], NOW + 3600);
    // Pexip's "OAuth2 Tokens" view: what each token's role allows, in words.
    let permissions = |i: usize| -> Vec<String> {
        tokens[i]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(permissions(0)[0], "allows every method on /api/admin/**");
    assert_eq!(
        permissions(1)[0],
        "allows reads (GET, HEAD) on /api/admin/configuration/v1/**, /api/admin/status/v1/**, /api/admin/history/v1/**"
    );
    assert!(permissions(1)[1].starts_with(
        "allows writes (every method but GET and HEAD) on /api/admin/configuration/v1/conference/**"
    ));
    assert!(permissions(1)
        .last()
        .unwrap()
        .starts_with("never writes to authentication configuration (/api/admin/configuration/v1/authentication/**"));
    assert_eq!(list(prov["access_token"].as_str(), NOW + 5).0, 403);
    assert_eq!(list(None, NOW + 5).0, 401);
    // Expired tokens leave the list.
    assert_eq!(store_count(&store, NOW + 3601), 0);
}

fn store_count(store: &MemoryTokenStore, now: u64) -> usize {
    use rolegate::TokenStore;
    store.active(now).unwrap().len()
}

#[test]
fn configuration_errors() {
    let keys = TestKeys::load();
    let bad = |extra: Value, path: &str| {
        let mut doc = json!({
            "$extends": "examples/pexip.json", "issuers": [],
            "token_endpoint": {"issuer": "https://pexip-manager.test", "audience": "a", "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator"},
            "oauth2_clients": [{"client_id": "c", "name": "n", "role": "administrator", "jwk": keys.public("ec-a")}]
        });
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        let err = support::load_policy(&doc, &keys).unwrap_err();
        assert_eq!(err.path, path, "{err}");
    };
    bad(
        json!({"oauth2_clients": [{"client_id": "c", "name": "n", "role": "ghost", "jwk": keys.public("ec-a")}]}),
        "oauth2_clients[0].role",
    );
    bad(
        json!({"oauth2_clients": [{"client_id": "c", "name": "n", "role": "administrator", "jwk": keys.private("ec-a")}]}),
        "oauth2_clients[0].jwk.d",
    );
    bad(
        json!({"token_endpoint": {"issuer": "i", "audience": "a", "signing_key": keys.private("rsa-a"), "active_tokens_role": "administrator"}}),
        "token_endpoint.signing_key",
    );
    bad(
        json!({"token_endpoint": {"issuer": "i", "audience": "a", "signing_key": keys.private("pexip-node"), "active_tokens_role": "nobody"}}),
        "token_endpoint.active_tokens_role",
    );
    bad(
        json!({"token_endpoint": {"issuer": "i", "audience": "a", "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator", "access_token_expiration_seconds": 0}}),
        "token_endpoint.access_token_expiration_seconds",
    );
    bad(
        json!({"token_endpoint": null, "issuers": [{"issuer": "i", "audiences": ["a"], "$test_jwks": ["ec-a"], "algorithms": ["ES256"]}]}),
        "token_endpoint",
    );
    bad(
        json!({"issuers": [{"issuer": "https://pexip-manager.test", "audiences": ["a"], "$test_jwks": ["ec-a"], "algorithms": ["ES256"]}]}),
        "issuers[0].issuer",
    );
    // A role its clients' tokens cannot be granted: refused, not silently useless.
    let unreachable = json!({"roles": [{"name": "administrator",
        "required_attributes": [{"claim": "groups", "value": "admins"}],
        "rules": [{"effect": "allow", "methods": ["*"], "paths": ["/**"]}]}]});
    bad(unreachable, "oauth2_clients[0].role");
}

#[test]
fn create_client_adds_a_working_client() {
    let keys = TestKeys::load();
    let doc = support::resolve_policy(
        &json!({
            "$extends": "examples/pexip.json", "issuers": [],
            "token_endpoint": {"issuer": "https://pexip-manager.test", "audience": "pexip-management-api",
                               "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator"}
        }),
        &keys,
    )
    .to_string();
    let created = create_client(&doc, "nightly report", "read_only", None).unwrap();
    assert_eq!(created.token_url, URL);
    assert_eq!(created.entry["name"], "nightly report");
    assert_eq!(created.entry["role"], "read_only");
    assert!(
        created.entry["jwk"].get("d").is_none(),
        "the policy keeps the public key only"
    );
    assert_eq!(created.private_jwk["alg"], "ES256");
    assert_eq!(created.private_jwk["kid"], created.client_id.as_str());
    assert_eq!(
        created.document["oauth2_clients"][0]["client_id"],
        created.client_id.as_str()
    );

    // The new client's private key gets a token its role decides.
    let policy = Policy::from_json(&created.document.to_string()).unwrap();
    let id = &created.client_id;
    let claims =
        json!({"iss": id, "sub": id, "aud": created.token_url, "exp": NOW + 60, "jti": rand_id()});
    let assertion = rolegate::testing::mint(&rolegate::testing::MintRequest {
        alg: None,
        key: Some(&rolegate::testing::SigningKey::from_jwk(&created.private_jwk).unwrap()),
        claims: claims.as_object().unwrap().clone(),
        header: Default::default(),
    })
    .unwrap();
    let (status, body) = issue(
        &policy,
        &mut MemoryTokenStore::default(),
        &client_credentials(&assertion),
    );
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let get = policy
        .decide(&Request::new("GET", "/api/admin/status/v1/conference/", NOW + 1).bearer(token));
    assert!(get.allowed, "{get:?}");
    let post = policy.decide(
        &Request::new("POST", "/api/admin/configuration/v1/conference/", NOW + 1).bearer(token),
    );
    assert_eq!(post.status, 403);

    // A second client is appended, not replacing the first.
    let again = create_client(
        &created.document.to_string(),
        "deploy",
        "administrator",
        Some("EdDSA"),
    )
    .unwrap();
    assert_eq!(
        again.document["oauth2_clients"].as_array().unwrap().len(),
        2
    );
    assert_eq!(again.private_jwk["crv"], "Ed25519");
    assert_ne!(again.client_id, created.client_id);

    let err = |doc: &str, name: &str, role: &str, alg: Option<&str>| {
        create_client(doc, name, role, alg).unwrap_err().path
    };
    assert_eq!(err(&doc, "x", "ghost", None), "oauth2_clients[0].role");
    assert_eq!(err(&doc, " ", "read_only", None), "oauth2_clients[0].name");
    assert_eq!(
        err(&doc, "x", "read_only", Some("HS256")),
        "oauth2_clients[0].jwk.alg"
    );
    let external = support::resolve_policy(&json!({"$extends": "examples/pexip.json"}), &keys);
    assert_eq!(
        err(&external.to_string(), "x", "read_only", None),
        "token_endpoint"
    );
}

/// Requests to the endpoint are answered, never decided: a proxy's fast
/// path must not find a kept decision for them, even one a host made.
#[test]
fn the_endpoint_never_has_a_kept_decision() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    let body = granted(&policy, &mut store, &keys, "ec-a", "c-admin");
    let token = body["access_token"].as_str().unwrap();
    // The same issuer, its endpoint under the protected prefix.
    let policy = self::policy(
        &keys,
        json!({"token_endpoint": {"issuer": "https://pexip-manager.test", "audience": "pexip-management-api",
                                  "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator",
                                  "path": "/api/admin/token/", "active_tokens_path": "/api/admin/tokens/"}}),
    );
    let quiet = rolegate::DecideOptions { explain: false };
    let mut state = policy.new_state();
    for path in [
        "/api/admin/token/",
        "/api/admin/./tokens/",
        "/api/admin/tokens/?x=1",
        "/api/admin/status/v1/conference/",
    ] {
        let request = Request::new("GET", path, NOW + 10).bearer(token);
        for _ in 0..2 {
            policy.decide_step(&mut state, &request, quiet);
        }
        let kept = policy.kept_decision(&state, &request.view());
        let route = policy.route(&request.view());
        match route {
            Route::Decide => assert!(kept.is_some_and(|d| d.allowed), "{path}"),
            _ => assert_eq!(kept, None, "{path}"),
        }
    }
}

#[test]
fn only_the_exact_endpoint_path_is_served_and_every_other_spelling_is_decided() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    for (target, route) in [
        ("/oauth/token/", Route::IssueToken),
        ("/oauth/token/?x=1", Route::IssueToken),
        ("/oauth/tokens/", Route::ListTokens),
        ("//oauth/token/", Route::Decide),
        ("/oauth//token/", Route::Decide),
        ("/oauth/./token/", Route::Decide),
        ("/%6Fauth/token/", Route::Decide),
        ("/oauth/token", Route::Decide),
        ("/OAUTH/TOKEN/", Route::Decide),
        (
            "/api/admin/configuration/v1/conference/1/../../../../../../oauth/token/",
            Route::Decide,
        ),
        ("/x/%2e%2e/oauth/token/", Route::Decide),
    ] {
        assert_eq!(policy.route_of(target.as_bytes()), route, "{target}");
        // Whatever the route, decide answers: a spelling that is not the
        // endpoint's gets an ordinary decision (here: no credentials).
        let decision = policy.decide(
            &Request::new("DELETE", target, NOW)
                .header("content-length", "1")
                .header("x-rolegate-roles", "administrator"),
        );
        match route {
            Route::Decide => {
                assert!(!decision.forward(), "{target}: {decision:?}");
                assert_ne!(decision.reason, Reason::TokenEndpoint, "{target}");
            }
            _ => {
                // The npm package and the page say what Envoy does with it.
                assert_eq!(decision.reason, Reason::TokenEndpoint, "{target}");
                assert!(!decision.forward() && !decision.allowed, "{target}");
                assert!(decision.trace.iter().any(|s| s.step == "route"));
            }
        }
    }
}

fn endpoint_with_limits(keys: &TestKeys, limits: Value) -> Policy {
    policy(
        keys,
        json!({"token_endpoint": {"issuer": "https://pexip-manager.test", "audience": "pexip-management-api",
                                  "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator",
                                  "client_limits": limits}}),
    )
}

#[test]
fn a_flooding_client_exhausts_only_its_own_share() {
    let keys = TestKeys::load();
    let policy = endpoint_with_limits(
        &keys,
        json!({"active_tokens": 5, "tokens_per_minute": 1000}),
    );
    let mut store = MemoryTokenStore::default();
    let mut refusals = 0;
    for _ in 0..50 {
        let form = client_credentials(&assertion(&keys, "ed-a", "c-ro", json!({})));
        let (req, body) = post(&form);
        let reply = policy.issue_token(&req, &body, &mut store);
        if reply.response.status == 429 {
            refusals += 1;
            let body: Value = serde_json::from_str(&reply.response.body).unwrap();
            assert!(body["error_description"]
                .as_str()
                .unwrap()
                .contains("active tokens"));
            assert!(reply
                .response
                .headers
                .iter()
                .any(|(n, v)| *n == "retry-after" && v == "3600"));
        } else {
            assert_eq!(reply.response.status, 200, "{}", reply.response.body);
        }
    }
    assert_eq!(refusals, 45);
    // Refused assertions were not remembered: the store holds the flooder's
    // five tokens and five assertion ids, not fifty.
    assert_eq!(store_count(&store, NOW), 5);
    // Every other client still gets tokens.
    granted(&policy, &mut store, &keys, "ec-a", "c-admin");
    granted(&policy, &mut store, &keys, "rsa-a", "c-prov");
}

#[test]
fn the_issue_rate_is_limited_per_client() {
    let keys = TestKeys::load();
    let policy = endpoint_with_limits(&keys, json!({"tokens_per_minute": 3}));
    let mut store = MemoryTokenStore::default();
    let at = |now: u64, store: &mut MemoryTokenStore, key: &str, client: &str| {
        let form = client_credentials(&assertion(
            &keys,
            key,
            client,
            json!({"iat": now, "exp": now + 60}),
        ));
        let req = Request::new("POST", "/oauth/token/", now)
            .header("content-type", "application/x-www-form-urlencoded");
        policy
            .issue_token(&req, form.as_bytes(), store)
            .response
            .status
    };
    for i in 0..3 {
        assert_eq!(at(NOW + i, &mut store, "ed-a", "c-ro"), 200);
    }
    assert_eq!(at(NOW + 10, &mut store, "ed-a", "c-ro"), 429);
    assert_eq!(at(NOW + 10, &mut store, "ec-a", "c-admin"), 200);
    assert_eq!(
        at(NOW + 60, &mut store, "ed-a", "c-ro"),
        200,
        "a minute later"
    );
}

#[test]
fn client_limits_are_checked_when_the_policy_loads() {
    let keys = TestKeys::load();
    for (limits, field) in [
        (json!({"active_tokens": 0}), "active_tokens"),
        (json!({"tokens_per_minute": 100000}), "tokens_per_minute"),
    ] {
        let mut doc = json!({
            "$extends": "examples/pexip.json", "issuers": [],
            "token_endpoint": {"issuer": "https://pexip-manager.test", "audience": "a",
                               "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator",
                               "client_limits": limits},
        });
        doc["oauth2_clients"] = json!([]);
        let err = support::load_policy(&doc, &keys).unwrap_err();
        assert_eq!(
            err.path,
            format!("token_endpoint.client_limits.{field}"),
            "{err}"
        );
    }
}

/// `n - s` for a P-256 signature's `s` (both big-endian, 32 bytes).
fn p256_negate(s: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63,
        0x25, 0x51,
    ];
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

#[test]
fn replay_protection_does_not_depend_on_the_signature_bytes() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    let original = assertion(&keys, "ec-a", "c-admin", json!({}));
    let (signed, signature) = original.rsplit_once('.').unwrap();
    let signature = b64.decode(signature).unwrap();
    let (r, s) = signature.split_at(32);
    // ECDSA's second valid signature of the same assertion: (r, n - s).
    let twin = format!("{signed}.{}", b64.encode([r, &p256_negate(s)].concat()));
    assert_ne!(twin, original);
    let (status, body) = issue(&policy, &mut store, &client_credentials(&twin));
    assert_eq!(status, 200, "the twin verifies: {body}");
    let (status, body) = issue(&policy, &mut store, &client_credentials(&original));
    assert_eq!(status, 401, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("jti replayed"));
}

#[test]
fn assertions_as_authlib_signs_them_are_accepted_and_the_cap_is_configurable() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    // authlib's PrivateKeyJWT: exp = iat + 3600, a float-free iat, a jti.
    let authlib = assertion(&keys, "ec-a", "c-admin", json!({"exp": NOW + 3600}));
    let (status, body) = issue(&policy, &mut store, &client_credentials(&authlib));
    assert_eq!(status, 200, "{body}");
    let short = self::policy(
        &keys,
        json!({"token_endpoint": {"issuer": "https://pexip-manager.test", "audience": "pexip-management-api",
                                  "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator",
                                  "max_assertion_seconds": 600}}),
    );
    let again = assertion(&keys, "ec-a", "c-admin", json!({"exp": NOW + 3600}));
    let (status, body) = issue(&short, &mut store, &client_credentials(&again));
    assert_eq!(status, 401, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("longer than 600"));
}

#[test]
fn the_audit_line_names_the_client_and_the_reason() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    let expired = assertion(
        &keys,
        "ec-a",
        "c-admin",
        json!({"iat": NOW - 600, "exp": NOW - 100}),
    );
    let (req, body) = post(&client_credentials(&expired));
    let reply = policy.issue_token(&req, &body, &mut store);
    let line: Value = serde_json::from_str(&reply.audit_line("token")).unwrap();
    assert_eq!(line["status"], 401);
    assert_eq!(line["error"], "invalid_client");
    assert_eq!(line["client_id"], "c-admin");
    assert!(
        line["reason"].as_str().unwrap().contains("expired"),
        "{line}"
    );
    let ok = assertion(&keys, "ec-a", "c-admin", json!({}));
    let (req, body) = post(&client_credentials(&ok));
    let reply = policy.issue_token(&req, &body, &mut store);
    let line = reply.audit_line("token");
    assert!(line.contains("\"client_id\":\"c-admin\""), "{line}");
    assert!(!line.contains("eyJ"), "never a token or assertion: {line}");
}

#[test]
fn metadata_and_keys_are_served_so_clients_discover_and_others_validate() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        assert_eq!(policy.route_of(path.as_bytes()), Route::Metadata, "{path}");
    }
    assert_eq!(policy.route_of(b"/oauth/jwks/"), Route::Jwks);
    assert_eq!(
        policy.route_of(b"//.well-known/openid-configuration"),
        Route::Decide
    );
    let get = |path: &str| Request::new("GET", path, NOW);
    let meta = policy.endpoint_metadata(&get("/.well-known/openid-configuration"));
    assert_eq!(meta.response.status, 200);
    let doc: Value = serde_json::from_str(&meta.response.body).unwrap();
    assert_eq!(doc["issuer"], "https://pexip-manager.test");
    assert_eq!(doc["token_endpoint"], URL);
    assert_eq!(doc["jwks_uri"], "https://pexip-manager.test/oauth/jwks/");
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    let algs = doc["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    for alg in ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"] {
        assert!(algs.contains(&json!(alg)), "{alg}");
    }
    assert!(!algs.contains(&json!("HS256")));
    assert_eq!(
        policy
            .endpoint_metadata(&Request::new(
                "POST",
                "/.well-known/openid-configuration",
                NOW
            ))
            .response
            .status,
        405
    );
    // Another service trusts the served keys alone, and accepts issued tokens.
    let jwks: Value =
        serde_json::from_str(&policy.endpoint_jwks(&get("/oauth/jwks/")).response.body).unwrap();
    assert!(jwks["keys"][0].get("d").is_none(), "public half only");
    let mut store = MemoryTokenStore::default();
    let issued = granted(&policy, &mut store, &keys, "ec-a", "c-admin");
    let other = Policy::from_json(
        &json!({"issuers": [{"issuer": "https://pexip-manager.test", "audiences": ["pexip-management-api"],
                             "jwks": jwks, "algorithms": ["ES256"]}],
                "roles": [{"name": "any", "grant": "any_valid_token",
                           "rules": [{"effect": "allow", "methods": ["*"], "paths": ["/**"]}]}]})
        .to_string(),
    )
    .unwrap();
    let d = other.decide(
        &Request::new("GET", "/x", NOW + 1).bearer(issued["access_token"].as_str().unwrap()),
    );
    assert_eq!(d.reason, Reason::Allowed, "{:?}", d.trace);
    // Issuers with a path: RFC 8414 inserts the well-known part before it.
    let nested = self::policy(
        &keys,
        json!({"token_endpoint": {"issuer": "https://manager.test/tenant/a/", "audience": "pexip-management-api",
                                  "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator"}}),
    );
    assert_eq!(
        nested.token_endpoint().unwrap().metadata_paths,
        [
            "/.well-known/oauth-authorization-server/tenant/a",
            "/tenant/a/.well-known/openid-configuration"
        ]
    );
}

#[test]
fn an_assertion_id_is_remembered_as_long_as_a_fractional_exp_keeps_it_valid() {
    // PyJWT writes `time.time() + n` as it is: exp = X.9 is valid through
    // second X + 60 (the leeway), so its jti must be remembered through it.
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    for exp in [
        json!(1_800_000_000.9),
        serde_json::from_str::<Value>("1.8000000009e9").unwrap(),
        json!(1_800_000_000.000_1),
    ] {
        let mut store = MemoryTokenStore::default();
        let a = assertion(
            &keys,
            "ec-a",
            "c-admin",
            json!({"iat": NOW - 30, "exp": exp}),
        );
        let form = client_credentials(&a);
        let (status, body) = issue_at(&policy, &mut store, &form, NOW + 59);
        assert_eq!(status, 200, "{exp}: {body}");
        // The last second in which the assertion is valid: a replay.
        let (status, body) = issue_at(&policy, &mut store, &form, NOW + 60);
        assert_eq!(status, 401, "{exp}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("jti replayed"),
            "{exp}: {body}"
        );
        // A second later it has expired, and says so.
        let (status, body) = issue_at(&policy, &mut store, &form, NOW + 61);
        assert_eq!(status, 401, "{exp}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("expired"),
            "{exp}: {body}"
        );
    }
}

#[test]
fn an_assertion_may_name_the_endpoint_its_issuer_or_its_host_and_a_refusal_says_which_claim() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    // Pexip's clients, scripted: aud is the management node's host name.
    for aud in [
        URL,
        "https://pexip-manager.test",
        "pexip-manager.test",
        "https://pexip-manager.test/oauth/token/",
    ] {
        let a = assertion(&keys, "ec-a", "c-admin", json!({ "aud": aud }));
        let (status, body) = issue(&policy, &mut store, &client_credentials(&a));
        assert_eq!(status, 200, "{aud}: {body}");
    }
    for aud in [
        json!("pexmgr.elsewhere.test"),
        json!("https://pexip-manager.test/other/"),
        json!(["nobody"]),
    ] {
        let a = assertion(&keys, "ec-a", "c-admin", json!({ "aud": aud }));
        let (status, body) = issue(&policy, &mut store, &client_credentials(&a));
        assert_eq!(status, 401, "{aud}: {body}");
        assert_eq!(body["error"], "invalid_client");
        let said = body["error_description"].as_str().unwrap();
        assert!(said.starts_with("invalid aud: "), "{said}");
        assert!(said.contains("\"pexip-manager.test\""), "{said}");
    }
}

#[test]
fn the_audiences_an_assertion_may_name_can_be_listed() {
    let keys = TestKeys::load();
    let with = |audiences: Value| {
        let mut te = json!({"issuer": "https://pexip-manager.test", "audience": "pexip-management-api",
                            "signing_key": keys.private("pexip-node"), "active_tokens_role": "administrator"});
        te["assertion_audiences"] = audiences;
        support::load_policy(
            &json!({"$extends": "examples/pexip.json", "issuers": [], "token_endpoint": te,
                    "oauth2_clients": [{"client_id": "c-admin", "name": "automation", "role": "administrator", "jwk": keys.public("ec-a")}]}),
            &keys,
        )
    };
    let policy = with(json!(["pexmgr.internal.domain"])).unwrap();
    let mut store = MemoryTokenStore::default();
    let named = assertion(
        &keys,
        "ec-a",
        "c-admin",
        json!({"aud": "pexmgr.internal.domain"}),
    );
    assert_eq!(
        issue(&policy, &mut store, &client_credentials(&named)).0,
        200
    );
    // Only what the list names: the URL no longer.
    let url = assertion(&keys, "ec-a", "c-admin", json!({}));
    let (status, body) = issue(&policy, &mut store, &client_credentials(&url));
    assert_eq!(status, 401, "{body}");
    let err = with(json!([])).unwrap_err();
    assert_eq!(err.path.to_string(), "token_endpoint.assertion_audiences");
    let err = with(json!(["a", ""])).unwrap_err();
    assert_eq!(
        err.path.to_string(),
        "token_endpoint.assertion_audiences[1]"
    );
}

/// A token request with a DPoP proof (RFC 9449 §5) by test key `key`.
fn dpop_issue(
    policy: &Policy,
    store: &mut MemoryTokenStore,
    keys: &TestKeys,
    proof: Value,
) -> (u16, Value, rolegate::Response) {
    let form = client_credentials(&assertion(keys, "ec-a", "c-admin", json!({})));
    let (req, body) = post(&form);
    let mut claims = json!({"jti": rand_id(), "htm": "POST", "htu": URL, "iat": NOW});
    for (k, v) in proof["claims"].as_object().into_iter().flatten() {
        claims[k] = v.clone();
    }
    let desc = json!({"key": proof.get("key").cloned().unwrap_or(json!("ed-a")), "claims": claims});
    let proof = support::mint_token(&support::dpop_description(&desc, None, keys), keys);
    let reply = policy.issue_token(&req.header("dpop", proof), &body, store);
    (
        reply.response.status,
        serde_json::from_str(&reply.response.body).unwrap(),
        reply.response,
    )
}

#[test]
fn a_token_request_with_a_dpop_proof_gets_a_token_bound_to_its_key() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    let (status, body, _) = dpop_issue(&policy, &mut store, &keys, json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap();
    let claims = rolegate::testing::decode_unverified(token).unwrap().payload;
    let jkt = rolegate::testing::jwk_thumbprint(keys.public("ed-a").as_object().unwrap()).unwrap();
    assert_eq!(claims["cnf"], json!({ "jkt": jkt }));
    // On the API: only with a proof by that key.
    let bearer =
        policy.decide(&Request::new("GET", "/api/admin/status/v1/worker_vm/", NOW).bearer(token));
    assert_eq!(bearer.cause, Some("dpop_bound_token"));
    // A client without a proof still gets a bearer token (Pexip's own clients).
    let plain = granted(&policy, &mut store, &keys, "ec-a", "c-admin");
    assert_eq!(plain["token_type"], "bearer");
    assert!(
        rolegate::testing::decode_unverified(plain["access_token"].as_str().unwrap())
            .unwrap()
            .payload
            .get("cnf")
            .is_none()
    );
}

#[test]
fn a_token_requests_proof_is_held_to_the_endpoint() {
    let keys = TestKeys::load();
    let policy = policy(&keys, json!({}));
    let mut store = MemoryTokenStore::default();
    for (proof, says) in [
        (
            json!({"claims": {"htm": "GET"}}),
            "htm \"GET\" but the request method is POST",
        ),
        (
            json!({"claims": {"htu": "https://pexip-manager.test/oauth/other/"}}),
            "htu must be this token endpoint",
        ),
        (
            json!({"claims": {"htu": "https://elsewhere.test/oauth/token/"}}),
            "htu must be this token endpoint",
        ),
        (json!({"claims": {"iat": NOW - 600}}), "outside the window"),
        (
            json!({"key": "hs-a"}),
            "alg HS256 is not among the proof algorithms",
        ),
    ] {
        let (status, body, _) = dpop_issue(&policy, &mut store, &keys, proof.clone());
        assert_eq!(status, 400, "{proof}: {body}");
        assert_eq!(body["error"], "invalid_dpop_proof", "{proof}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(says), "{proof}: {description}");
    }
    // The same URL spelt otherwise is the endpoint.
    let (status, body, _) = dpop_issue(
        &policy,
        &mut store,
        &keys,
        json!({"claims": {"htu": "HTTPS://PEXIP-MANAGER.test:443/oauth/token/?x=1"}}),
    );
    assert_eq!(status, 200, "{body}");
    // A proof is used once, here too.
    let jti = rand_id();
    let proof = json!({"claims": {"jti": jti}});
    assert_eq!(dpop_issue(&policy, &mut store, &keys, proof.clone()).0, 200);
    let (status, body, _) = dpop_issue(&policy, &mut store, &keys, proof);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof"))
    );
}

#[test]
fn a_token_request_is_told_the_nonce_and_keeps_its_assertion() {
    let keys = TestKeys::load();
    let policy = policy(
        &keys,
        json!({"dpop": {"nonce_secret": "a test secret that is long enough to use"}}),
    );
    let mut store = MemoryTokenStore::default();
    let form = client_credentials(&assertion(&keys, "ec-a", "c-admin", json!({})));
    let send = |store: &mut MemoryTokenStore, nonce: Option<&str>| {
        let (req, body) = post(&form);
        let mut claims = json!({"jti": rand_id(), "htm": "POST", "htu": URL, "iat": NOW});
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let desc = json!({"key": "ed-a", "claims": claims});
        let proof = support::mint_token(&support::dpop_description(&desc, None, &keys), &keys);
        policy
            .issue_token(&req.header("dpop", proof), &body, store)
            .response
    };
    let first = send(&mut store, None);
    assert_eq!(first.status, 400);
    assert!(first.body.contains("use_dpop_nonce"), "{}", first.body);
    let nonce = first
        .headers
        .iter()
        .find(|(n, _)| *n == "dpop-nonce")
        .map(|(_, v)| v.clone())
        .expect("DPoP-Nonce");
    // The same assertion again, now with the nonce: it was not spent.
    let second = send(&mut store, Some(&nonce));
    assert_eq!(second.status, 200, "{}", second.body);
}
