//! Test support: the shared vector format (tests/vectors/README.md) in Rust.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod wycheproof;

use rolegate::testing::{self as mint, MintRequest, SigningKey};
use rolegate::{Policy, Request};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The decision vector files in tests/vectors/ (all but the keys), sorted.
pub fn vector_files() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("keys.json"))
        .collect();
    files.sort();
    files
}

/// A tiny deterministic generator (xorshift64), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

pub struct TestKeys(Map<String, Value>);

impl TestKeys {
    pub fn load() -> Self {
        let doc = read_json(&repo_root().join("tests/vectors/keys.json"));
        TestKeys(doc["keys"].as_object().unwrap().clone())
    }

    pub fn private(&self, name: &str) -> &Value {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no test key {name}"))
    }

    pub fn signing(&self, name: &str) -> SigningKey {
        SigningKey::from_jwk(self.private(name)).unwrap()
    }

    pub fn public(&self, name: &str) -> Value {
        mint::public_jwk(self.private(name).as_object().unwrap())
    }
}

/// Resolves `$extends`, `$test_jwks` and `$test_secrets` into a policy document.
pub fn resolve_policy(policy: &Value, keys: &TestKeys) -> Value {
    let mut doc = match policy.get("$extends").and_then(Value::as_str) {
        Some(base) => {
            let mut base = read_json(&repo_root().join(base));
            for (k, v) in policy.as_object().unwrap() {
                if k != "$extends" {
                    base[k] = v.clone();
                }
            }
            base
        }
        None => policy.clone(),
    };
    if let Some(sets) = doc.as_object_mut().and_then(|o| o.remove("$set")) {
        for pair in sets.as_array().unwrap() {
            let path = pair[0].as_str().unwrap();
            *pointer_mut(&mut doc, path) = pair[1].clone();
        }
    }
    if let Some(issuers) = doc.get_mut("issuers").and_then(Value::as_array_mut) {
        for issuer in issuers {
            let obj = issuer.as_object_mut().unwrap();
            if let Some(names) = obj.remove("$test_jwks") {
                let keys: Vec<Value> = names
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| keys.public(n.as_str().unwrap()))
                    .collect();
                obj.insert("jwks".into(), serde_json::json!({ "keys": keys }));
            }
            if let Some(names) = obj.remove("$test_secrets") {
                let secrets: Vec<Value> = names
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| {
                        let jwk = keys.private(n.as_str().unwrap());
                        serde_json::json!({"kid": jwk["kid"], "k": jwk["k"]})
                    })
                    .collect();
                obj.insert("secrets".into(), Value::Array(secrets));
            }
        }
    }
    doc
}

/// The value at a policy-error-style path (`roles[1].enabled`), created if absent.
fn pointer_mut<'a>(doc: &'a mut Value, path: &str) -> &'a mut Value {
    let mut current = doc;
    for part in path.split('.') {
        let (name, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        current = &mut current[name];
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            current = &mut current[index.parse::<usize>().unwrap()];
        }
    }
    current
}

/// Mints the token a case describes.
pub fn mint_token(desc: &Value, keys: &TestKeys) -> String {
    if let Some(raw) = desc.get("raw").and_then(Value::as_str) {
        return raw.to_owned();
    }
    let claims = desc
        .get("claims")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let header = desc
        .get("header")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let alg = desc.get("alg").and_then(Value::as_str);
    let hmac_key;
    let key = if let Some(name) = desc.get("hmac_secret_of").and_then(Value::as_str) {
        let secret = serde_json::to_string(&keys.public(name)).unwrap();
        let k = rolegate::testing::b64url_encode(secret.as_bytes());
        hmac_key =
            SigningKey::from_jwk(&serde_json::json!({"kty": "oct", "k": k, "kid": name})).unwrap();
        Some(&hmac_key)
    } else {
        None
    };
    let named_key = desc
        .get("key")
        .and_then(Value::as_str)
        .map(|n| keys.signing(n));
    let key = key.or(named_key.as_ref());

    let request = MintRequest {
        alg,
        key,
        claims: claims.clone(),
        header,
    };
    let (header_json, payload_json) = mint::encode_parts(&request).unwrap();
    let text = |name: &str| {
        desc.get(name)
            .and_then(Value::as_str)
            .map(|s| s.as_bytes().to_vec())
    };
    let mut token = mint::sign_raw(
        &text("header_json").unwrap_or(header_json),
        &text("payload_json").unwrap_or(payload_json),
        mint::signer(&request).unwrap(),
    )
    .unwrap();
    if let Some(changes) = desc.get("tamper_claims").and_then(Value::as_object) {
        let mut tampered = claims;
        for (k, v) in changes {
            tampered.insert(k.clone(), v.clone());
        }
        let parts: Vec<&str> = token.split('.').collect();
        let payload = rolegate::testing::b64url_encode(&serde_json::to_vec(&tampered).unwrap());
        token = format!("{}.{}.{}", parts[0], payload, parts[2]);
    }
    if desc.get("tamper_signature").and_then(Value::as_bool) == Some(true) {
        let dot = token.rfind('.').unwrap();
        let mid = dot + 1 + (token.len() - dot - 1) / 2;
        let c = token.as_bytes()[mid];
        let replacement = if c == b'A' { "B" } else { "A" };
        token.replace_range(mid..mid + 1, replacement);
    }
    token
}

/// A DPoP proof's description as a token's: header `typ: dpop+jwt` and
/// the public `jwk` of its key (no `kid`) under the given header, and
/// `"{ath}"` in the claims replaced by the access token's hash.
pub fn dpop_description(desc: &Value, token: Option<&str>, keys: &TestKeys) -> Value {
    let mut desc = desc.clone();
    let mut header = serde_json::json!({"typ": "dpop+jwt", "kid": null});
    if let Some(name) = desc.get("key").and_then(Value::as_str) {
        header["jwk"] = keys.public(name);
    }
    for (k, v) in desc
        .get("header")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        header[k] = v.clone();
    }
    desc["header"] = header;
    if let (Some(claims), Some(token)) =
        (desc.get_mut("claims").and_then(Value::as_object_mut), token)
    {
        if claims.get("ath").and_then(Value::as_str) == Some("{ath}") {
            claims.insert(
                "ath".into(),
                Value::String(rolegate::testing::token_hash(token)),
            );
        }
    }
    desc
}

/// Builds the request a case describes.
pub fn build_request(req: &Value, now: u64, keys: &TestKeys) -> Request {
    let mut request = Request::new(
        req.get("method").and_then(Value::as_str).unwrap_or("GET"),
        req["path"].as_str().unwrap(),
        now,
    );
    if let Some(headers) = req.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            match value {
                Value::Array(values) => {
                    for v in values {
                        request = request.header(name.clone(), v.as_str().unwrap());
                    }
                }
                v => request = request.header(name.clone(), v.as_str().unwrap()),
            }
        }
    }
    let mut token = None;
    if let Some(desc) = req.get("token") {
        let minted = mint_token(desc, keys);
        let header = match req.get("authorization").and_then(Value::as_str) {
            Some(template) => template.replace("{token}", &minted),
            None => format!("Bearer {minted}"),
        };
        request = request.header("authorization", header);
        token = Some(minted);
    } else if let Some(auth) = req.get("authorization").and_then(Value::as_str) {
        request = request.header("authorization", auth);
    }
    if let Some(desc) = req.get("dpop") {
        let proof = mint_token(&dpop_description(desc, token.as_deref(), keys), keys);
        request = request.header("dpop", proof);
    }
    if let Some(thumbprint) = req.get("client_certificate").and_then(Value::as_str) {
        request.client_certificate = Some(thumbprint.to_owned());
    }
    if let Some(claims) = req.get("claims").and_then(Value::as_object) {
        request.claims = Some(claims.clone());
    }
    request
}

pub fn load_policy(policy: &Value, keys: &TestKeys) -> Result<Policy, rolegate::PolicyError> {
    let doc = resolve_policy(policy, keys);
    Policy::from_json(&doc.to_string())
}

/// The header block a proxy hands over for `request` (`:method`, `:path`,
/// then its headers).
pub fn header_block(request: &Request) -> Vec<u8> {
    let mut pairs = vec![
        (":method", request.method.as_str()),
        (":path", &request.path),
    ];
    pairs.extend(
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    rolegate::testing::header_block(&pairs)
}
