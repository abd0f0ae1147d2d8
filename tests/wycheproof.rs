//! Wycheproof vectors (../shared/vectors/wycheproof, read in place) through the
//! core: JWS and JWK sets through policy loading and compact-JWS verification,
//! ECDSA P-256, Ed25519 and HMAC-SHA256 through the verification keys. No
//! `invalid` case may be accepted; `valid` cases rolegate refuses on purpose
//! are listed, each with its reason.

mod support;

use rolegate::testing::Alg;
use rolegate::testing::CompactJws;
use rolegate::testing::{b64url_encode, VerificationKey};
use rolegate::Policy;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use support::wycheproof::{hex, load as wycheproof, mismatch};

/// `valid` vectors rolegate refuses by design (tcId -> why).
fn refused_by_design(file: &str) -> BTreeMap<u64, &'static str> {
    match file {
        "json_web_signature_test.json" => BTreeMap::from([
            (346, "the JWK says alg PS256 and the token PS384: a key's alg is honoured (RFC 7517 §4.4)"),
            (350, "the JWK says alg PS256 and the token PS384: a key's alg is honoured (RFC 7517 §4.4)"),
            (349, "key_ops is [\"sign, verify\"], one string without \"verify\": the key may not verify"),
            (372, "base64url with a character inserted: rolegate decodes strictly (the file's README calls 365-377 inconsistent)"),
            (373, "base64url with a character inserted: rolegate decodes strictly"),
        ]),
        _ => BTreeMap::new(),
    }
}

/// Vectors whose expectation contradicts another vector of the same file.
fn inconsistent(file: &str, id: u64) -> Option<&'static str> {
    match (file, id) {
        ("json_web_signature_test.json", 367 | 370) => Some(
            "the token is byte for byte tcId 357, which the same file calls valid (the padding was lost; see the vectors' README)",
        ),
        _ => None,
    }
}

/// Why a `valid` vector may be refused because of a feature rolegate does not have.
fn unsupported(key: &Value) -> Option<&'static str> {
    match (key["alg"].as_str(), key["crv"].as_str()) {
        (Some("ES512") | Some("ES521"), _) | (_, Some("P-521")) => {
            Some("P-521 / ES512 is not supported (jsonwebtoken has no ES512)")
        }
        _ => None,
    }
}

fn public_part(jwk: &Value) -> Value {
    let mut jwk = jwk.clone();
    if jwk["kty"] != "oct" {
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            jwk.as_object_mut().unwrap().remove(member);
        }
    }
    jwk
}

/// Loads keys as one issuer of a policy (so every policy check applies) and
/// returns the policy, or the load error.
fn policy_with(keys: Vec<Value>) -> Result<Policy, rolegate::PolicyError> {
    // Every algorithm of the key set's family: secrets or public keys.
    let hmac = keys.iter().all(|k| k["kty"] == "oct");
    let all: Vec<&str> = Alg::ALL
        .iter()
        .filter(|a| (a.key_type() == rolegate::testing::KeyType::Hmac) == hmac)
        .map(|a| a.name())
        .collect();
    Policy::from_json(
        &json!({
            "issuers": [{"issuer": "wycheproof", "audiences": ["a"], "jwks": {"keys": keys}, "algorithms": all}],
            "roles": [{"name": "r", "grant": "any_valid_token", "rules": [{"effect": "allow", "methods": ["*"], "paths": ["/**"]}]}]
        })
        .to_string(),
    )
}

/// Runs JWS vectors against a group's key set; returns findings.
fn run_jws_file(
    file: &str,
    key_set: impl Fn(&Value) -> Vec<Value>,
) -> (usize, Vec<String>, Vec<String>) {
    let doc = wycheproof(file);
    let by_design = refused_by_design(file);
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let keys: Vec<Value> = key_set(group).iter().map(public_part).collect();
        let policy = policy_with(keys.clone());
        for test in group["tests"].as_array().unwrap() {
            count += 1;
            let id = test["tcId"]
                .as_str()
                .map_or_else(|| test["tcId"].as_u64().unwrap(), |s| s.parse().unwrap());
            let jws = test["jws"].as_str().unwrap_or_default();
            let outcome = match &policy {
                Err(e) => Err(format!("key set refused: {e}")),
                Ok(policy) => {
                    let (keys, algs) = policy.issuer_keys("wycheproof").unwrap();
                    CompactJws::parse(jws)
                        .and_then(|parsed| parsed.verify(keys, algs).map(|_| ()))
                        .map_err(|e| format!("{}: {}", e.kind.code(), e.detail))
                }
            };
            let label = format!("{file} tcId {id} ({}, {})", test["comment"], test["flags"]);
            if let Some(why) = inconsistent(file, id) {
                notes.push(format!("{label}: skipped ({why})"));
                continue;
            }
            match (test["result"].as_str().unwrap(), outcome) {
                ("invalid", Ok(())) => {
                    failures.push(format!("{label}: accepted but should be rejected"))
                }
                ("valid", Err(why)) => {
                    let reason = by_design
                        .get(&id)
                        .copied()
                        .or_else(|| keys.iter().find_map(unsupported));
                    match reason {
                        Some(reason) => notes.push(format!("{label}: refused ({reason})")),
                        None => failures.push(format!("{label}: valid but refused: {why}")),
                    }
                }
                _ => {}
            }
        }
    }
    (count, failures, notes)
}

#[test]
fn json_web_signatures() {
    let (count, failures, notes) = run_jws_file("json_web_signature_test.json", |g| {
        vec![g["private"].clone()]
    });
    println!(
        "{count} JWS vectors; refused on purpose:\n{}",
        notes.join("\n")
    );
    assert!(count > 300);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn json_web_keys() {
    let (count, failures, notes) = run_jws_file("json_web_key_test.json", |g| {
        let set = if g["private"].is_object() {
            &g["private"]
        } else {
            &g["public"]
        };
        set["keys"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![set.clone()])
    });
    println!(
        "{count} JWK vectors; refused on purpose:\n{}",
        notes.join("\n")
    );
    assert!(count > 20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Signature files whose groups carry a `publicKeyJwk`.
fn run_signature_file(file: &str, alg: Alg, tag: &str) -> usize {
    let doc = wycheproof(file);
    let mut failures = Vec::new();
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let key = VerificationKey::from_jwk(&group_jwk(group));
        for test in group["tests"].as_array().unwrap() {
            count += 1;
            let accepted = match &key {
                Ok(key) => {
                    key.usable_for(alg).is_ok()
                        && key.verify(
                            alg,
                            &hex(test["msg"].as_str().unwrap()),
                            &b64url_encode(&hex(test[tag].as_str().unwrap())),
                        )
                }
                Err(_) => false,
            };
            failures.extend(mismatch(test, accepted).map(|m| format!("{file} {m}")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    count
}

/// The group's public key as a JWK (some groups give only the raw key).
fn group_jwk(group: &Value) -> Value {
    if group["publicKeyJwk"].is_object() {
        return group["publicKeyJwk"].clone();
    }
    let key = &group["publicKey"];
    if let Some(point) = key["uncompressed"].as_str() {
        let point = hex(point);
        return json!({"kty": "EC", "crv": "P-256", "x": b64url_encode(&point[1..33]), "y": b64url_encode(&point[33..65])});
    }
    json!({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(&hex(key["pk"].as_str().unwrap()))})
}

#[test]
fn ecdsa_p256_p1363() {
    assert!(run_signature_file("ecdsa_secp256r1_sha256_p1363_test.json", Alg::ES256, "sig") > 200);
}

#[test]
fn ed25519() {
    assert!(run_signature_file("ed25519_test.json", Alg::EdDSA, "sig") > 100);
}

#[test]
fn hmac_sha256_full_length_tags() {
    let doc = wycheproof("hmac_sha256_test.json");
    let mut failures = Vec::new();
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        // JWS HS256 uses the whole 256-bit tag; truncated-tag groups do not apply.
        if group["tagSize"].as_u64() != Some(256) && group["tagSize"].as_str() != Some("256") {
            continue;
        }
        for test in group["tests"].as_array().unwrap() {
            count += 1;
            let key = VerificationKey::from_jwk(
                &json!({"kty": "oct", "k": b64url_encode(&hex(test["key"].as_str().unwrap()))}),
            )
            .unwrap();
            let accepted = key.verify(
                Alg::HS256,
                &hex(test["msg"].as_str().unwrap()),
                &b64url_encode(&hex(test["tag"].as_str().unwrap())),
            );
            failures.extend(mismatch(test, accepted));
        }
    }
    assert!(count > 30, "{count}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
