//! Native benchmarks of the core (figures, not tests): `cargo bench --bench decide`.
//! decide() with a cached verification, with fresh RS256 / ES256 / HS256
//! tokens, and the preview page's matrix of 10 roles x 50 paths x 5 methods.

use criterion::{criterion_group, criterion_main, Criterion};
use rolegate::testing::{generate_key, mint, public_jwk, MintRequest, SigningKey};
use rolegate::TokenCache;
use rolegate::{testing::Alg, DecideOptions, MatrixRequest, Policy, Request};
use serde_json::{json, Value};
use std::hint::black_box;

const NOW: u64 = 1_800_000_000;

fn setup() -> (Policy, Vec<(Alg, String)>) {
    let mut keys = Vec::new();
    let mut jwks = Vec::new();
    let mut secrets = Vec::new();
    for (alg, kid) in [(Alg::RS256, "rs"), (Alg::ES256, "es"), (Alg::HS256, "hs")] {
        let private = generate_key(alg, Some(kid)).expect("key");
        if alg == Alg::HS256 {
            secrets.push(json!({"kid": kid, "k": private["k"]}));
        } else {
            jwks.push(public_jwk(private.as_object().expect("object")));
        }
        keys.push((alg, private));
    }
    let policy = Policy::from_json(
        &json!({
            "issuers": [{"issuer": "https://idp.bench", "audiences": ["api"], "jwks": {"keys": jwks},
                         "algorithms": ["RS256", "ES256"]},
                        {"issuer": "https://hmac.bench", "audiences": ["api"], "secrets": secrets,
                         "algorithms": ["HS256"]}],
            "path_prefix": "/pa-admin-api/v3",
            "required_scopes": ["admin"],
            "roles": [{"name": "auditor", "required_attributes": [{"claim": "group", "value": "auditors"}],
                       "rules": [{"effect": "allow", "methods": ["read"], "paths": ["/**"]},
                                 {"effect": "deny", "methods": ["*"], "paths": ["/config/**", "/agent/*/config/**"]}]}]
        })
        .to_string(),
    )
    .expect("policy");
    let tokens = keys
        .iter()
        .map(|(alg, private)| {
            let iss = if *alg == Alg::HS256 {
                "https://hmac.bench"
            } else {
                "https://idp.bench"
            };
            let claims = json!({"iss": iss, "aud": "api", "sub": "bench", "scope": "admin",
                                "group": "auditors", "iat": NOW - 10, "exp": NOW + 3600});
            let key = SigningKey::from_jwk(private).expect("signing key");
            let token = mint(&MintRequest {
                key: Some(&key),
                claims: claims.as_object().expect("object").clone(),
                ..MintRequest::default()
            })
            .expect("token");
            (*alg, token)
        })
        .collect();
    (policy, tokens)
}

fn request(token: &str) -> Request {
    Request::new("GET", "/pa-admin-api/v3/applications/42", NOW).bearer(token)
}

fn benches(c: &mut Criterion) {
    let (policy, tokens) = setup();
    let quiet = DecideOptions { explain: false };
    for (alg, token) in &tokens {
        let req = request(token);
        assert!(policy.decide(&req).allowed);
        c.bench_function(&format!("decide fresh {alg}"), |b| {
            b.iter(|| black_box(policy.decide_with(black_box(&req), quiet, None)))
        });
    }
    let req = request(&tokens[0].1);
    let mut cache = TokenCache::new(100);
    c.bench_function("decide cached RS256 (hot path)", |b| {
        b.iter(|| black_box(policy.decide_cached(black_box(&req), quiet, &mut cache)))
    });
    // More request shapes than a token keeps decisions for: each request
    // decides afresh from the cached claims.
    let spread: Vec<Request> = (0..16)
        .map(|i| {
            Request::new("GET", format!("/pa-admin-api/v3/applications/{i}"), NOW)
                .bearer(&tokens[0].1)
        })
        .collect();
    let mut turn = 0;
    c.bench_function("decide cached RS256, decision not kept", |b| {
        b.iter(|| {
            turn = (turn + 1) % spread.len();
            black_box(policy.decide_cached(black_box(&spread[turn]), quiet, &mut cache))
        })
    });
    c.bench_function("decide cached RS256 with trace", |b| {
        b.iter(|| {
            black_box(policy.decide_cached(black_box(&req), DecideOptions::default(), &mut cache))
        })
    });

    let roles: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("role{i}"),
                        "required_attributes": [{"claim": "role", "value": format!("r{i}")}],
                        "rules": [{"effect": "allow", "methods": ["read"], "paths": ["/**"]},
                                  {"effect": "allow", "methods": ["write"], "paths": [format!("/area{i}/**"), "/shared/*/items/**"]},
                                  {"effect": "deny", "methods": ["*"], "paths": [format!("/area{}/secret/**", (i + 1) % 10)]}]}))
        .collect();
    let big = Policy::from_json(
        &json!({"issuers": [{"issuer": "i", "audiences": ["a"], "secrets": [{"k": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}],
                              "algorithms": ["HS256"]}], "roles": roles})
        .to_string(),
    )
    .expect("matrix policy");
    let matrix = MatrixRequest {
        paths: (0..50)
            .map(|i| format!("/area{}/x/{i}/../secret/{i}", i % 12))
            .collect(),
        methods: ["GET", "HEAD", "POST", "PUT", "DELETE"]
            .map(String::from)
            .to_vec(),
        claims: None,
        now: NOW,
    };
    c.bench_function("matrix 10 roles x 50 paths x 5 methods", |b| {
        b.iter(|| black_box(big.matrix(black_box(&matrix))))
    });
}

criterion_group!(core, benches);
criterion_main!(core);
