//! Runs every shared vector file in tests/vectors/ through the Rust core.

mod support;

use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{build_request, load_policy, read_json, repo_root, vector_files, TestKeys};

/// Vectors whose decision Envoy's fast path found in the header block.
static KEPT_FROM_BLOCK: AtomicUsize = AtomicUsize::new(0);

#[test]
fn shared_vectors() {
    let keys = TestKeys::load();
    let files = vector_files();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    let mut count = 0;
    let mut decisions = serde_json::Map::new();
    let mut proxy = serde_json::Map::new();
    for file in &files {
        let doc = read_json(file);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let file_now = doc.get("now").and_then(Value::as_u64).unwrap_or(0);
        for case in doc["cases"].as_array().unwrap() {
            count += 1;
            let case_name = format!("{name}: {}", case["name"].as_str().unwrap());
            match run_case(&doc, case, file_now, &keys) {
                Ok(Some((decision, effects))) => {
                    decisions.insert(case_name.clone(), decision);
                    proxy.insert(case_name, effects);
                }
                Ok(None) => {}
                Err(msg) => failures.push(format!("{case_name}\n    {msg}")),
            }
        }
    }
    let kept = KEPT_FROM_BLOCK.load(Ordering::Relaxed);
    println!(
        "{count} vector cases in {} files ({kept} decisions kept for a header block)",
        files.len()
    );
    assert!(
        kept >= 20,
        "the kept-decision path ran for only {kept} vectors"
    );
    // The Node and Envoy hosts compare their decisions with these, case for case.
    let out = repo_root().join("target/rolegate-vectors");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("decisions.json"),
        serde_json::to_string_pretty(&Value::Object(decisions)).unwrap(),
    )
    .unwrap();
    // What a proxy must do with each decision, for the Envoy host to match.
    std::fs::write(
        out.join("proxy.json"),
        serde_json::to_string_pretty(&Value::Object(proxy)).unwrap(),
    )
    .unwrap();
    assert!(
        failures.is_empty(),
        "{} of {count} vector cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs one case; returns the decision and what a proxy does with it (None
/// for policy-error cases).
fn run_case(
    doc: &Value,
    case: &Value,
    file_now: u64,
    keys: &TestKeys,
) -> Result<Option<(Value, Value)>, String> {
    let loaded = match case.get("policy_json").and_then(Value::as_str) {
        Some(text) => rolegate::Policy::from_json(text),
        None => load_policy(&case_policy(doc, case)?, keys),
    };
    if let Some(expected) = case.get("expect_error") {
        let err = match loaded {
            Ok(_) => return Err("the policy loaded but should fail".to_owned()),
            Err(e) => e,
        };
        let actual = serde_json::json!({"code": err.code.as_str(), "path": err.path});
        for (k, v) in expected.as_object().unwrap() {
            if k == "message_contains" {
                let needle = v.as_str().unwrap();
                if !err.message.contains(needle) {
                    return Err(format!("message {:?} lacks {needle:?}", err.message));
                }
            } else if actual.get(k) != Some(v) {
                return Err(format!("{k}: expected {v}, got {} ({err})", actual[k]));
            }
        }
        return Ok(None);
    }
    let policy = loaded.map_err(|e| format!("policy failed to load: {e}"))?;
    let now = case.get("now").and_then(Value::as_u64).unwrap_or(file_now);
    let request = build_request(&case["request"], now, keys);
    let decision = policy.decide(&request);
    let actual = serde_json::to_value(&decision).unwrap();
    let mut mismatches = Vec::new();
    for (field, expected) in case["expect"].as_object().unwrap() {
        if actual.get(field) != Some(expected) {
            mismatches.push(format!(
                "{field}: expected {expected}, got {}",
                actual[field]
            ));
        }
    }
    // Envoy builds its Request from the proxy's header block and keeps only
    // the headers the policy reads: it must decide and edit exactly alike.
    if request.claims.is_none() {
        let block = support::header_block(&request);
        let mut proxied = policy
            .request_from_header_map(&block, now)
            .map_err(|e| e.to_string())?;
        // A connection fact the proxy adds, not a header.
        proxied.client_certificate = request.client_certificate.clone();
        // Envoy refills one request over and over: a used one must come out the same.
        let mut reused = rolegate::Request::new("PATCH", "/a/longer/path/than/most?q=1", 1)
            .header("authorization", "Bearer left.over.token")
            .header("x-http-method-override", "DELETE")
            .header("x-rolegate-subject", "someone")
            .header("content-type", "text/plain");
        policy
            .refill_request_from_header_map(&mut reused, &block, now)
            .map_err(|e| e.to_string())?;
        reused.client_certificate = request.client_certificate.clone();
        if reused != proxied {
            mismatches.push(format!("a refilled request differs: {reused:?}"));
        }
        let settings = policy.envoy_settings();
        let seen = policy.decide(&proxied);
        if seen != decision {
            mismatches.push(format!(
                "from the header block: {}",
                serde_json::to_string(&seen).unwrap()
            ));
        } else if seen.upstream_headers(settings, &proxied.view())
            != decision.upstream_headers(settings, &request.view())
        {
            mismatches.push("from the header block: other header edits".to_owned());
        }
        // Envoy applies a decision kept for exactly this request straight
        // from the block: only the one decide_step would reuse, same edits.
        let options = rolegate::DecideOptions { explain: false };
        let mut state = policy.new_state();
        if let rolegate::Step::Done(..) = policy.decide_step(&mut state, &proxied, options) {
            let view = policy
                .view_header_map(&block, now)
                .map_err(|e| e.to_string())?;
            let kept = policy.kept_decision(&state, &view);
            match (policy.decide_step(&mut state, &proxied, options), kept) {
                (rolegate::Step::Done(reused, rolegate::CacheUse::Hit), Some(kept)) => {
                    KEPT_FROM_BLOCK.fetch_add(1, Ordering::Relaxed);
                    if kept != reused
                        || kept.upstream_headers(settings, &view)
                            != reused.upstream_headers(settings, &proxied.view())
                    {
                        mismatches.push("the decision kept for the block differs".to_owned());
                    }
                }
                (_, Some(_)) => {
                    mismatches.push("a decision is kept for the block, none reused".to_owned())
                }
                (_, None) => {}
            }
        }
    }
    // The hot path (no trace, signature from a cache) must reach the same
    // verdict, on the first request (cache miss) and the next (hits).
    let quick_expected = rolegate::Decision {
        trace: Vec::new(),
        role_checks: Vec::new(),
        ..decision.clone()
    };
    let options = rolegate::DecideOptions { explain: false };
    let verified = policy.verify_bearer(&request);
    let mut cache = rolegate::TokenCache::new(4);
    let runs = [
        policy.decide_with(&request, options, verified.as_ref()),
        (*policy.decide_cached(&request, options, &mut cache).0).clone(),
        (*policy.decide_cached(&request, options, &mut cache).0).clone(),
        // Third: the decision kept with the cached token.
        (*policy.decide_cached(&request, options, &mut cache).0).clone(),
    ];
    for (i, quick) in runs.iter().enumerate() {
        if *quick != quick_expected {
            mismatches.push(format!(
                "hot path {i} differs: {}",
                serde_json::to_string(quick).unwrap()
            ));
        }
    }
    // The trace must always end in the decision, whatever the outcome.
    let last = decision.trace.last().map(|s| s.step);
    if last != Some("decision") {
        mismatches.push(format!("trace does not end in the decision: {last:?}"));
    }
    let changes = decision.upstream_headers(policy.envoy_settings(), &request.view());
    // Hosts add identity headers without replacing: a client's copy must be
    // gone by then, or the upstream would see both.
    // Every spelling counts: `x_rolegate_roles` reaches a WSGI app as the
    // same header.
    let view = request.view();
    for (name, _) in &changes.add {
        for sent in view.header_spellings(name) {
            if !changes.remove.iter().any(|r| r == sent) {
                mismatches.push(format!("{name} is added but the client's {sent} is kept"));
            }
        }
    }
    if mismatches.is_empty() {
        let denial = decision.denial();
        let effects = serde_json::json!({
            "forward": decision.forward(),
            "remove": changes.remove.to_vec(),
            // What the upstream sees, however the host is told to set it.
            "set": changes.replace.iter().chain(&changes.add).collect::<Vec<_>>(),
            "denial": {"status": denial.status, "headers": denial.headers, "body": denial.body},
        });
        Ok(Some((actual, effects)))
    } else {
        let trace: Vec<String> = decision
            .trace
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}",
                    s.step,
                    if s.ok { "ok" } else { "FAIL" },
                    s.detail
                )
            })
            .collect();
        Err(format!(
            "{}\n    trace: {}",
            mismatches.join("; "),
            trace.join(" | ")
        ))
    }
}

fn case_policy(doc: &Value, case: &Value) -> Result<Value, String> {
    match &case["policy"] {
        Value::String(name) => doc["policies"]
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no policy named {name}")),
        inline => Ok(inline.clone()),
    }
}
