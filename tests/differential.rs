//! Differential fuzzing, Rust side: mutates every shared-vector request many
//! ways (paths, methods, headers, tokens, time), decides each natively, and
//! writes the requests with the decisions to
//! target/rolegate-vectors/differential.json. tests/node/differential.test.mjs
//! replays them through the wasm build, which must decide identically.
//! Seed: ROLEGATE_DIFF_SEED (printed), default fixed.

mod support;

use serde_json::{json, Value};
use support::{
    build_request, load_policy, read_json, repo_root, resolve_policy, vector_files, Rng, TestKeys,
};

fn mutate_path(rng: &mut Rng, path: &str) -> String {
    let mut p = path.to_owned();
    for _ in 0..=rng.next() % 3 {
        let pos = if p.is_empty() {
            0
        } else {
            (rng.next() as usize) % (p.len() + 1)
        };
        let pos = (0..=pos)
            .rev()
            .find(|i| p.is_char_boundary(*i))
            .unwrap_or(0);
        let insert = *rng.pick(&[
            "%2e",
            "%2E%2e/",
            "//",
            "/./",
            "/../",
            "%2f",
            "%5c",
            ";",
            "%00",
            "%41",
            "%c3%a9",
            "é",
            "?access_token=x",
            "?q=/../",
            "#f",
            "%25",
            "%2541",
            "\\",
            " ",
            "x",
            "/config",
            "/**",
            "%7e",
            "..",
            ".",
        ]);
        p.insert_str(pos, insert);
    }
    p
}

fn mutate_headers(rng: &mut Rng, headers: &mut Vec<(String, String)>) {
    match rng.next() % 9 {
        0 => headers.push((
            "X-HTTP-Method-Override".into(),
            rng.pick(&["DELETE", "get", "TRACE", "PUT", "G ET"])
                .to_string(),
        )),
        1 => {
            if let Some(h) = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                .cloned()
            {
                headers.push(h);
            }
        }
        2 => {
            for (n, v) in headers.iter_mut() {
                if n.eq_ignore_ascii_case("authorization") && v.len() > 20 {
                    let i = 10 + (rng.0 as usize % (v.len() - 12));
                    let c = if v.as_bytes()[i] == b'A' { "B" } else { "A" };
                    v.replace_range(i..i + 1, c);
                }
            }
        }
        3 => {
            for (n, v) in headers.iter_mut() {
                if n.eq_ignore_ascii_case("authorization") {
                    let scheme =
                        *rng.pick(&["bearer ", "BEARER  ", "Basic ", "Bearer\t", "Bearer "]);
                    *v = v.replacen("Bearer ", scheme, 1);
                }
            }
        }
        4 => headers.retain(|(n, _)| !n.eq_ignore_ascii_case("authorization")),
        5 => headers.push((
            "authorization".into(),
            rng.pick(&["Basic YTpi", "Bearer", "Digest x", "", "Bearer a,Bearer b"])
                .to_string(),
        )),
        6 => headers.push(("x-rolegate-subject".into(), "root".into())),
        _ => {}
    }
}

#[test]
fn generate_differential_corpus() {
    let seed: u64 = std::env::var("ROLEGATE_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00d1_ff00_5eed);
    println!("differential seed {seed}");
    let mut rng = Rng(seed | 1);
    let keys = TestKeys::load();
    let mut out = Vec::new();
    for file in vector_files() {
        let doc = read_json(&file);
        let file_now = doc["now"].as_u64().unwrap_or(0);
        for case in doc["cases"].as_array().unwrap() {
            if case.get("request").is_none() || case.get("policy_json").is_some() {
                continue;
            }
            let policy_doc = match &case["policy"] {
                Value::String(name) => resolve_policy(&doc["policies"][name], &keys),
                inline => resolve_policy(inline, &keys),
            };
            let policy = load_policy(&policy_doc, &keys).unwrap();
            let now = case["now"].as_u64().unwrap_or(file_now);
            let base = build_request(&case["request"], now, &keys);
            for _ in 0..6 {
                let mut request = base.clone();
                match rng.next() % 4 {
                    0 => request.path = mutate_path(&mut rng, &request.path),
                    1 => {
                        request.method = rng
                            .pick(&[
                                "GET", "HEAD", "POST", "DELETE", "get", "TRACE", "OPTIONS", "PATCH",
                            ])
                            .to_string()
                    }
                    2 => mutate_headers(&mut rng, &mut request.headers),
                    _ => request.now = now.saturating_add(rng.next() % 8000).saturating_sub(4000),
                }
                let decision = policy.decide(&request);
                out.push(json!({
                    "policy": policy_doc,
                    "request": {
                        "method": request.method, "path": request.path, "headers": request.headers,
                        "now": request.now, "claims": request.claims,
                        "body": request.body, "client_certificate": request.client_certificate,
                    },
                    "decision": decision,
                }));
            }
        }
    }
    let target = repo_root().join("target/rolegate-vectors");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(
        target.join("differential.json"),
        serde_json::to_string(&out).unwrap(),
    )
    .unwrap();
    assert!(out.len() > 1000, "{}", out.len());
}
