//! Decision details the vectors do not pin: traces, role checks, error text,
//! and robustness against arbitrary input.

mod support;

use rolegate::{Credential, Policy, Reason, Request};
use serde_json::json;
use support::{header_block, load_policy, TestKeys};

const NOW: u64 = 1_800_000_000;

fn pingaccess(keys: &TestKeys) -> Policy {
    pingaccess_with(keys, json!({}))
}

/// The PingAccess preset with `extra`'s top-level fields added.
fn pingaccess_with(keys: &TestKeys, extra: serde_json::Value) -> Policy {
    let mut doc = json!({
        "$extends": "examples/pingaccess.json",
        "issuers": [{"issuer": "https://idp.test", "audiences": ["pingaccess-admin-api"],
                     "$test_jwks": ["rsa-a"], "algorithms": ["RS256"]}]
    });
    if let (Some(doc), Some(extra)) = (doc.as_object_mut(), extra.as_object()) {
        doc.extend(extra.clone());
    }
    load_policy(&doc, keys).unwrap()
}

fn token(keys: &TestKeys, claims: serde_json::Value) -> String {
    support::mint_token(&json!({"key": "rsa-a", "claims": claims}), keys)
}

#[test]
fn presets_load_as_shipped() {
    for preset in ["examples/pingaccess.json", "examples/pexip.json"] {
        let text = std::fs::read_to_string(support::repo_root().join(preset)).unwrap();
        let policy = Policy::from_json(&text).unwrap_or_else(|e| panic!("{preset}: {e}"));
        assert!(policy.role_names().count() >= 3, "{preset}");
    }
}

#[test]
fn trace_explains_a_denial_step_by_step() {
    let keys = TestKeys::load();
    let policy = pingaccess(&keys);
    let t = token(
        &keys,
        json!({"iss": "https://idp.test", "aud": "pingaccess-admin-api", "sub": "alice",
               "scope": "admin", "iat": NOW - 10, "exp": NOW + 600,
               "group": "cn=pingaccess-admins,o=myorg"}),
    );
    let d = policy.decide(&Request::new("PUT", "/pa-admin-api/v3/users/7", NOW).bearer(&t));
    assert_eq!(d.reason, Reason::DeniedByRule);
    assert_eq!(d.credential, Credential::Bearer);
    let steps: Vec<&str> = d.trace.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        [
            "method",
            "path",
            "prefix",
            "credentials",
            "token.header",
            "token.issuer",
            "token.signature",
            "token.lifetime",
            "token.audience",
            "scope",
            "roles",
            "rules",
            "decision"
        ]
    );
    let rules = d.trace.iter().find(|s| s.step == "rules").unwrap();
    assert!(!rules.ok);
    assert!(
        rules
            .detail
            .contains("denied by rule administrator#1 (role administrator)"),
        "{}",
        rules.detail
    );
    let signature = d
        .trace
        .iter()
        .find(|s| s.step == "token.signature")
        .unwrap();
    assert!(
        signature.detail.contains("\"rsa-a\""),
        "{}",
        signature.detail
    );

    // Every role is reported, with each attribute marked.
    assert_eq!(d.role_checks.len(), 3);
    let admin = &d.role_checks[0];
    assert!(admin.granted && admin.attributes[0].matched);
    assert_eq!(
        admin.attributes[0].actual,
        Some(json!("cn=pingaccess-admins,o=myorg"))
    );
    let auditor = &d.role_checks[2];
    assert!(!auditor.granted && !auditor.attributes[0].matched);
}

#[test]
fn trace_names_rules_switched_off_by_another_role() {
    let keys = TestKeys::load();
    let mut doc = support::resolve_policy(
        &json!({"$extends": "examples/pingaccess.json",
                "issuers": [{"issuer": "https://idp.test", "audiences": ["pingaccess-admin-api"],
                             "$test_jwks": ["rsa-a"], "algorithms": ["RS256"]}]}),
        &keys,
    );
    doc["roles"][1]["enabled"] = json!(false);
    let policy = Policy::from_json(&doc.to_string()).unwrap();
    let claims = json!({"iss": "https://idp.test", "aud": "pingaccess-admin-api", "scope": "admin",
                        "exp": NOW + 60, "group": "cn=pingaccess-admins,o=myorg"});
    let d = policy.decide(&Request::claims_preview(
        "PUT",
        "/pa-admin-api/v3/auth/x",
        claims.as_object().unwrap().clone(),
        NOW,
    ));
    assert!(d.allowed);
    assert!(d.trace.iter().any(|s| s.detail.contains(
        "rule administrator#1 (role administrator) is off: it applies only while role platform_administrator is enabled"
    )));
}

#[test]
fn invalid_token_challenge_never_echoes_the_token() {
    let keys = TestKeys::load();
    let policy = pingaccess(&keys);
    let d = policy.decide(&Request::new("GET", "/pa-admin-api/v3/x", NOW).bearer("abc.def.ghi"));
    assert_eq!(d.reason, Reason::InvalidToken);
    let challenge = d.www_authenticate.unwrap();
    assert!(!challenge.contains("abc"), "{challenge}");
    assert!(challenge.starts_with("Bearer realm=\"rolegate\", error=\"invalid_token\""));
}

#[test]
fn policy_errors_render_path_first() {
    let err = Policy::from_json(
        r#"{"issuers": [{"issuer": "i", "audiences": ["a"], "algorithms": ["HS256"],
            "secrets": [{"k": "c2hvcnQ"}]}], "roles": []}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "issuers[0].secrets[0].k: this HMAC key is 5 bytes; HS256 needs at least 32 \
         (use a longer random key, or set \"alg\" on the key)"
    );
}

/// Arbitrary bytes in every request field: never a panic, never an allow
/// without a valid token.
#[test]
fn garbage_requests_are_denied_without_panicking() {
    let keys = TestKeys::load();
    let policy = pingaccess(&keys);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: Vec<char> = "/%.;\\?#aA0=-_~ \t\r\n\u{0}\u{e9}\u{ffff}Bearer .eyJ+/"
        .chars()
        .collect();
    let text = |len: u64, next: &mut dyn FnMut() -> u64| -> String {
        (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect()
    };
    for _ in 0..20_000 {
        let method = text(next() % 6, &mut next);
        let path = format!("/pa-admin-api/v3/{}", text(next() % 40, &mut next));
        let auth = text(next() % 60, &mut next);
        let request = Request::new(method, path, NOW)
            .header("authorization", auth)
            .header("x-http-method-override", text(next() % 5, &mut next));
        let d = policy.decide(&request);
        assert!(!d.allowed, "{request:?} -> {d:?}");
    }
}

/// Each cell of the matrix is exactly what `decide` answers for a token that
/// holds only that role (and for the token row, for that token).
#[test]
fn matrix_agrees_with_decide() {
    let keys = TestKeys::load();
    let policy = pingaccess(&keys);
    let paths: Vec<String> = [
        "/pa-admin-api/v3",
        "/pa-admin-api/v3/users/1",
        "/pa-admin-api/v3/auth/x",
        "/pa-admin-api/v3/config",
        "/pa-admin-api/v3/agent/1/config/x",
        "/pa-admin-api/v3/a/../backup/",
        "/elsewhere",
        "/pa-admin-api/v3/%2F",
    ]
    .map(String::from)
    .to_vec();
    let methods: Vec<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "TRACE"]
        .map(String::from)
        .to_vec();
    let groups = [
        "cn=pingaccess-admins,o=myorg",
        "cn=pingaccess-platform-admins,o=myorg",
        "cn=pingaccess-auditors,o=myorg",
    ];
    let claims_for = |group: &str| {
        json!({"iss": "https://idp.test", "aud": "pingaccess-admin-api", "scope": "admin",
               "exp": NOW + 60, "group": group})
        .as_object()
        .unwrap()
        .clone()
    };
    let matrix = policy.matrix(&rolegate::MatrixRequest {
        paths: paths.clone(),
        methods: methods.clone(),
        claims: None,
        now: NOW,
    });
    assert_eq!(matrix.rows.len(), 3);
    for (row, group) in matrix.rows.iter().zip(groups) {
        for (p, path) in paths.iter().enumerate() {
            for (m, method) in methods.iter().enumerate() {
                let d = policy.decide(&Request::claims_preview(
                    method.as_str(),
                    path.as_str(),
                    claims_for(group),
                    NOW,
                ));
                let cell = &row.cells[p][m];
                assert_eq!(
                    (cell.allowed, cell.reason, cell.cause),
                    (d.allowed, d.reason, d.cause),
                    "{} {method} {path}",
                    row.name
                );
            }
        }
    }
    let token_row = policy.matrix(&rolegate::MatrixRequest {
        paths: paths.clone(),
        methods: methods.clone(),
        claims: Some(claims_for(groups[2])),
        now: NOW,
    });
    assert_eq!(token_row.rows.len(), 1);
    assert_eq!(token_row.rows[0].roles, ["auditor"]);
    assert_eq!(token_row.rows[0].cells, matrix.rows[2].cells);
    let later = NOW + 3600;
    let expired = policy.matrix(&rolegate::MatrixRequest {
        paths: paths.clone(),
        methods: methods.clone(),
        claims: Some(claims_for(groups[0])),
        now: later,
    });
    assert_eq!(expired.rows[0].cells[0][0].cause, Some("expired"));
    for (p, path) in paths.iter().enumerate() {
        for (m, method) in methods.iter().enumerate() {
            let d = policy.decide(&Request::claims_preview(
                method.as_str(),
                path.as_str(),
                claims_for(groups[0]),
                later,
            ));
            let cell = &expired.rows[0].cells[p][m];
            assert_eq!(
                (cell.allowed, cell.reason, cell.cause),
                (d.allowed, d.reason, d.cause),
                "expired {method} {path}"
            );
        }
    }
}

/// The decisions a token cache keeps must be exactly what a fresh decision
/// says, whatever in the request changes: method, path, query, overrides,
/// time (through nbf, exp and leeway, and a clock stepping back).
#[test]
fn kept_decisions_match_fresh_ones() {
    let keys = TestKeys::load();
    let policy = pingaccess(&keys);
    let claims = |group: &str| {
        json!({"iss": "https://idp.test", "aud": "pingaccess-admin-api", "scope": "admin", "sub": "s",
               "group": group, "nbf": NOW + 100, "iat": NOW, "exp": NOW + 200})
    };
    let tokens = [
        token(&keys, claims("cn=pingaccess-auditors,o=myorg")),
        token(&keys, claims("cn=pingaccess-admins,o=myorg")),
    ];
    let paths = [
        "/pa-admin-api/v3/users",
        "/pa-admin-api/v3/users?x=1",
        "/pa-admin-api/v3/users?access_token=x",
        "/pa-admin-api/v3/config",
        "/pa-admin-api/v3/./config",
        "/pa-admin-api/v3/%2e%2e/x",
        "/other",
    ];
    let overrides: [&[(&str, &str)]; 5] = [
        &[],
        &[("X-HTTP-Method-Override", "DELETE")],
        &[("x-http-method-override", "GET")],
        &[
            ("X-HTTP-Method-Override", "GET"),
            ("X-HTTP-Method", "DELETE"),
        ],
        &[("X-Method-Override", "bad method")],
    ];
    // Leeway 60: valid from nbf - 60 = NOW + 40 until exp + 60 = NOW + 260.
    let times = [0, 39, 40, 41, 150, 30, 199, 200, 259, 260, 261, 100];
    let mut cache = rolegate::TokenCache::new(16);
    // Envoy's state, where kept decisions are also found from a header block.
    let mut state = policy.new_state();
    let quiet = rolegate::DecideOptions { explain: false };
    let (mut hits, mut from_block) = (0, 0);
    for dt in times {
        for _pass in 0..2 {
            for token in &tokens {
                for method in ["GET", "PUT", "get", "TRACE"] {
                    for path in paths {
                        for extra in overrides {
                            let mut request = Request::new(method, path, NOW + dt).bearer(token);
                            for (name, value) in extra {
                                request = request.header(*name, *value);
                            }
                            let fresh = policy.decide_with(&request, quiet, None);
                            let (kept, used) = policy.decide_cached(&request, quiet, &mut cache);
                            hits += usize::from(used == rolegate::CacheUse::Hit);
                            assert_eq!(*kept, fresh, "at NOW+{dt}: {request:?}");
                            let block = header_block(&request);
                            let view = policy.view_header_map(&block, request.now).unwrap();
                            if let Some(kept) = policy.kept_decision(&state, &view) {
                                from_block += 1;
                                assert_eq!(*kept, fresh, "from the block at NOW+{dt}: {request:?}");
                            }
                            let rolegate::Step::Done(stepped, _) =
                                policy.decide_step(&mut state, &request, quiet)
                            else {
                                panic!("local keys need no call");
                            };
                            assert_eq!(*stepped, fresh, "at NOW+{dt}: {request:?}");
                            if let Some(kept) = policy.kept_decision(&state, &view) {
                                from_block += 1;
                                assert_eq!(*kept, fresh, "kept at NOW+{dt}: {request:?}");
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(hits > 1000, "the cache was used ({hits} hits)");
    assert!(
        from_block > 500,
        "kept decisions found from blocks: {from_block}"
    );
}

/// A path that is not UTF-8 is decided as its escaped text, and a kept
/// decision is found for the raw bytes only when they are that very text.
#[test]
fn kept_decisions_for_raw_bytes_need_the_same_text() {
    let keys = TestKeys::load();
    let policy = pingaccess(&keys);
    let t = token(
        &keys,
        json!({"iss": "https://idp.test", "aud": "pingaccess-admin-api", "scope": "admin",
               "sub": "s", "group": "cn=pingaccess-auditors,o=myorg", "iat": NOW, "exp": NOW + 600}),
    );
    let bearer = format!("Bearer {t}");
    let quiet = rolegate::DecideOptions { explain: false };
    let mut state = policy.new_state();
    let raw: &[u8] = b"/pa-admin-api/v3/users?q=\xff";
    let block = rolegate::testing::header_block(&[
        (&b":method"[..], &b"GET"[..]),
        (b":path", raw),
        (b"authorization", bearer.as_bytes()),
    ]);
    let view = policy.view_header_map(&block, NOW).unwrap();
    let request = policy.request_from_header_map(&block, NOW).unwrap();
    assert_eq!(request.path, "/pa-admin-api/v3/users?q=%FF");
    for _ in 0..2 {
        policy.decide_step(&mut state, &request, quiet);
    }
    let kept = policy.kept_decision(&state, &request.view());
    assert!(kept.as_ref().is_some_and(|d| d.allowed), "{kept:?}");
    assert_eq!(policy.kept_decision(&state, &view), None);
    // The escaped text sent as such is that request.
    let escaped = rolegate::testing::header_block(&[
        (":method", "GET"),
        (":path", "/pa-admin-api/v3/users?q=%FF"),
        ("authorization", &bearer),
    ]);
    let view = policy.view_header_map(&escaped, NOW).unwrap();
    assert_eq!(policy.kept_decision(&state, &view), kept);
    // Nor for another request with the same token, a second Authorization
    // header, a claims preview, or once the token expired.
    let other = |pairs: &[(&str, &str)], now: u64| {
        let block = rolegate::testing::header_block(pairs);
        let view = policy.view_header_map(&block, now).unwrap();
        policy.kept_decision(&state, &view)
    };
    let path = "/pa-admin-api/v3/users?q=%FF";
    assert!(other(
        &[
            (":method", "GET"),
            (":path", path),
            ("authorization", &bearer)
        ],
        NOW + 1
    )
    .is_some());
    // Kept from when it was decided: a clock stepping back does not find it.
    assert!(other(
        &[
            (":method", "GET"),
            (":path", path),
            ("authorization", &bearer)
        ],
        NOW - 1
    )
    .is_none());
    assert!(other(
        &[
            (":method", "PUT"),
            (":path", path),
            ("authorization", &bearer)
        ],
        NOW
    )
    .is_none());
    assert!(other(
        &[
            (":method", "GET"),
            (":path", "/pa-admin-api/v3/users?q=%ff"),
            ("authorization", &bearer)
        ],
        NOW
    )
    .is_none());
    let twice = [
        (":method", "GET"),
        (":path", path),
        ("authorization", &bearer),
        ("Authorization", &bearer),
    ];
    assert!(other(&twice, NOW).is_none());
    let overridden = [
        (":method", "GET"),
        (":path", path),
        ("authorization", &bearer),
        ("x-http-method-override", "GET"),
    ];
    assert!(other(&overridden, NOW).is_none());
    assert!(other(
        &[
            (":method", "GET"),
            (":path", path),
            ("authorization", &bearer)
        ],
        NOW + 600 + 61
    )
    .is_none());
    let mut preview = request.view();
    preview.preview = true;
    assert!(policy.kept_decision(&state, &preview).is_none());
}

/// A cached token is found without re-checking its characters; the header
/// around it must still be checked exactly as on a fresh decision.
#[test]
fn cached_tokens_do_not_excuse_malformed_headers() {
    let keys = TestKeys::load();
    let policy = pingaccess(&keys);
    let t = token(
        &keys,
        json!({"iss": "https://idp.test", "aud": "pingaccess-admin-api", "scope": "admin", "sub": "s",
               "group": "cn=pingaccess-auditors,o=myorg", "iat": NOW, "exp": NOW + 200}),
    );
    let quiet = rolegate::DecideOptions { explain: false };
    let mut cache = rolegate::TokenCache::new(16);
    let path = "/pa-admin-api/v3/users";
    let plain = Request::new("GET", path, NOW).bearer(&t);
    let (first, _) = policy.decide_cached(&plain, quiet, &mut cache);
    assert_eq!(first.status, 200);
    let values = [
        format!("Bearer {t}"),
        format!(" bearer   {t}\t"),
        format!("Bearer {t},"),
        format!("Bearer {t},Bearer {t}"),
        format!("Bearer {t} x"),
        format!("Bearer\t{t}"),
        format!("Basic {t}"),
        t.clone(),
    ];
    for value in &values {
        let one = Request::new("GET", path, NOW).header("authorization", value);
        let two = one.clone().header("Authorization", format!("Bearer {t}"));
        for request in [one, two] {
            let fresh = policy.decide_with(&request, quiet, None);
            let (kept, _) = policy.decide_cached(&request, quiet, &mut cache);
            assert_eq!(*kept, fresh, "{value:?}");
            if request.header_values("authorization").count() == 2 {
                assert_eq!(kept.status, 400, "two headers");
            }
        }
    }
    // The malformed ones were refused while the token stayed cached.
    let (again, used) = policy.decide_cached(&plain, quiet, &mut cache);
    assert_eq!((again.status, used), (200, rolegate::CacheUse::Hit));
}

#[test]
fn identity_headers_are_added_unless_forward_identity_is_off() {
    let keys = TestKeys::load();
    let t = token(
        &keys,
        json!({"iss": "https://idp.test", "aud": "pingaccess-admin-api", "sub": "alice",
               "scope": "admin", "iat": NOW - 10, "exp": NOW + 600,
               "group": "cn=pingaccess-admins,o=myorg"}),
    );
    let request = Request::new("GET", "/pa-admin-api/v3/users/7", NOW)
        .header("x-rolegate-subject", "root")
        .bearer(&t);
    for (forward_identity, added) in [
        (None, vec!["x-rolegate-subject", "x-rolegate-roles"]),
        (Some(false), vec![]),
    ] {
        let policy = match forward_identity {
            None => pingaccess(&keys),
            Some(on) => pingaccess_with(&keys, json!({"envoy": {"forward_identity": on}})),
        };
        let decision = policy.decide(&request);
        assert!(decision.forward(), "{:?}", decision.reason);
        let changes = decision.upstream_headers(policy.envoy_settings(), &request.view());
        // The client's copy goes either way; the token goes too.
        assert_eq!(changes.remove[..], ["x-rolegate-subject", "authorization"]);
        let names: Vec<&str> = changes.add.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, added, "forward_identity {forward_identity:?}");
    }
}

#[test]
fn rules_have_one_label_everywhere_their_name_or_role_and_position() {
    let policy = |names: [Option<&str>; 2]| {
        let mut rules = vec![
            serde_json::json!({"effect": "allow", "methods": ["read"], "paths": ["/**"]}),
            serde_json::json!({"effect": "deny", "methods": ["*"], "paths": ["/secret/**"]}),
        ];
        for (rule, name) in rules.iter_mut().zip(names) {
            if let Some(name) = name {
                rule["name"] = name.into();
            }
        }
        Policy::from_json(
            &serde_json::json!({
                "issuers": [{"issuer": "https://idp", "audiences": ["a"], "algorithms": ["HS256"],
                             "secrets": [{"k": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"}]}],
                "roles": [{"name": "reader", "grant": "any_valid_token", "rules": rules}]
            })
            .to_string(),
        )
    };
    let claims = serde_json::json!({"iss": "https://idp", "aud": "a", "exp": NOW + 60});
    let decide = |p: &Policy, path: &str| {
        p.decide(&Request::claims_preview(
            "GET",
            path,
            claims.as_object().unwrap().clone(),
            NOW,
        ))
    };
    let named = policy([Some("read everything"), Some("no secrets")]).unwrap();
    let d = decide(&named, "/secret/x");
    let rule = d.rule.as_ref().unwrap();
    assert_eq!((rule.label.as_str(), rule.index), ("no secrets", 1));
    assert!(
        d.audit_line().contains(r#""rule":"no secrets""#),
        "{}",
        d.audit_line()
    );
    assert!(d
        .trace
        .iter()
        .any(|s| s.detail.contains("denied by rule no secrets (role reader)")));
    // Unnamed: the role and the rule's position.
    let unnamed = policy([None, None]).unwrap();
    assert_eq!(decide(&unnamed, "/x").rule.unwrap().label, "reader#0");
    // A name names one rule, and is loggable as it is.
    let twice = policy([Some("same"), Some("same")]).unwrap_err();
    assert_eq!(twice.path.to_string(), "roles[0].rules[1].name");
    let default_clash = policy([None, Some("reader#0")]).unwrap_err();
    assert_eq!(default_clash.path.to_string(), "roles[0].rules[1].name");
    for bad in ["", "a\nb"] {
        let err = policy([Some(bad), None]).unwrap_err();
        assert_eq!(err.path.to_string(), "roles[0].rules[0].name", "{bad:?}");
    }
}
