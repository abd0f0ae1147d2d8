//! Times the core's hot and cold paths inside a wasm engine (not a test):
//! build for wasm32-wasip1 and run under Node's WASI (V8, like Envoy):
//! `scripts/bench-wasm.sh`. Prints µs per operation.

use rolegate::testing::{mint, public_jwk, MintRequest, SigningKey};
use rolegate::TokenCache;
use rolegate::{DecideOptions, Policy, Request};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Instant;

const KEYS: &str = include_str!("../tests/vectors/keys.json");
const NOW: u64 = 1_800_000_000;

fn time<T>(name: &str, iterations: u32, mut f: impl FnMut() -> T) {
    for _ in 0..iterations.min(100) {
        black_box(f());
    }
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(f());
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
    println!("{name:<44} {us:>9.2} µs");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys: Value = serde_json::from_str(KEYS)?;
    let mut jwks = Vec::new();
    let mut tokens = Vec::new();
    let claims = json!({"iss": "https://idp.bench", "aud": "api", "sub": "bench", "scope": "admin",
                        "group": "auditors", "iat": NOW - 10, "exp": NOW + 3600});
    for name in ["rsa-a", "ec-a", "ed-a"] {
        let private = &keys["keys"][name];
        jwks.push(public_jwk(private.as_object().ok_or("key")?));
        let key = SigningKey::from_jwk(private)?;
        let token = mint(&MintRequest {
            key: Some(&key),
            claims: claims.as_object().ok_or("claims")?.clone(),
            ..MintRequest::default()
        })?;
        tokens.push((name, token));
    }
    let policy = Policy::from_json(
        &json!({
            "issuers": [{"issuer": "https://idp.bench", "audiences": ["api"], "jwks": {"keys": jwks},
                         "algorithms": ["RS256", "ES256", "EdDSA"]}],
            "path_prefix": "/pa-admin-api/v3",
            "required_scopes": ["admin"],
            "roles": [{"name": "auditor", "required_attributes": [{"claim": "group", "value": "auditors"}],
                       "rules": [{"effect": "allow", "methods": ["read"], "paths": ["/**"]},
                                 {"effect": "deny", "methods": ["*"], "paths": ["/config/**", "/agent/*/config/**"]}]}]
        })
        .to_string(),
    )?;
    let quiet = DecideOptions { explain: false };
    let rs = &tokens[0].1;
    let request = |t: &str| {
        Request::new("GET", "/pa-admin-api/v3/applications/42", NOW)
            .header("host", "admin.example.com")
            .header("user-agent", "wrk")
            .header("x-request-id", "5f1e7f4c-0000-4000-8000-000000000000")
            .bearer(t)
    };
    let req = request(rs);
    let mut cache = TokenCache::new(1000);
    let keyer = TokenCache::new(1);
    time(
        "cache key (SipHash-1-3-128 of the token's end)",
        20_000,
        || keyer.key(rs.as_bytes()),
    );
    time("canonicalize path", 50_000, || {
        rolegate::testing::canonicalize("/pa-admin-api/v3/applications/42")
    });
    time("decide_cached, hit (hot path)", 20_000, || {
        policy.decide_cached(&req, quiet, &mut cache)
    });
    time("decide with trace, hit", 20_000, || {
        policy.decide_cached(&req, DecideOptions::default(), &mut cache)
    });
    let decision = policy.decide(&req);
    time("upstream_headers", 50_000, || {
        decision.upstream_headers(policy.envoy_settings(), &req.view())
    });
    time("audit_line", 50_000, || decision.audit_line());
    // What the Envoy adapter does per request for a cached token, minus the
    // host calls: the header block as the host hands it over, read in place,
    // the decision kept for it, the header edits.
    let block = rolegate::testing::header_block(&[
        (":authority", "127.0.0.1:10000"),
        (":path", "/pa-admin-api/v3/applications/42"),
        (":method", "GET"),
        (":scheme", "http"),
        ("authorization", &format!("Bearer {rs}")),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "5f1e7f4c-0000-4000-8000-000000000000"),
    ]);
    let mut state = policy.new_state();
    // The adapter refills one request when it has to decide.
    let mut scratch = Request::default();
    policy
        .refill_request_from_header_map(&mut scratch, &block, NOW)
        .map_err(|e| e.to_string())?;
    policy.decide_step(&mut state, &scratch, quiet);
    time("adapter hot path (no host calls)", 20_000, || {
        let block = block.clone();
        let view = policy.view_header_map(&block, NOW).ok()?;
        let kept = policy.kept_decision(&state, &view)?;
        let edits = kept
            .upstream_headers(policy.envoy_settings(), &view)
            .add
            .len();
        Some(edits)
    });
    time("  of which: the host's header block", 20_000, || {
        block.clone()
    });
    time("  of which: the view of it", 20_000, || {
        policy.view_header_map(&block, NOW).map(|v| v.headers.len())
    });
    time(
        "  (the Request from it, refilled, when deciding)",
        20_000,
        || policy.refill_request_from_header_map(&mut scratch, &block, NOW),
    );
    time("  (a new Request instead)", 20_000, || {
        policy.request_from_header_map(&block, NOW)
    });
    time("  bearer_token", 20_000, || {
        req.bearer_token().map(str::len)
    });
    let key = cache.key(rs.as_bytes());
    time("  cache.decision", 20_000, || {
        cache.decision(&key, &req.view())
    });
    let (n, e) = rsa_modulus(&keys["keys"]["rsa-a"]).ok_or("rsa-a")?;
    let rsa = rolegate::testing::RsaPublicKey::new(&n, &e).ok_or("rsa-a key")?;
    let mut signature = n.clone();
    signature[0] /= 2; // any value below n
    time("RSA-2048 public operation (s^e mod n)", 500, || {
        rsa.public_op(&signature)
    });
    for (name, token) in &tokens {
        let r = request(token);
        time(&format!("decide fresh ({name})"), 200, || {
            policy.decide_with(&r, quiet, None)
        });
    }
    Ok(())
}

/// The big-endian modulus and exponent of an RSA JWK.
fn rsa_modulus(jwk: &Value) -> Option<(Vec<u8>, Vec<u8>)> {
    use base64::Engine;
    let decode = |field: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[field].as_str()?)
            .ok()
    };
    Some((decode("n")?, decode("e")?))
}
