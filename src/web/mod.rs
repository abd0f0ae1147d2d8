//! The wasm-bindgen adapter: the npm package's API over the core. It converts
//! JS values to core types and back; it decides nothing.

use crate::authorize::matrix::MatrixRequest;
use crate::jose::alg::Alg;
use crate::jose::mint::{self, MintRequest, SigningKey};
use crate::{Policy, Request};
use js_sys::{Error, Reflect};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// A JS `Error` with `code` and `path` properties.
fn js_error(code: &str, path: &str, message: &str) -> JsValue {
    let error = Error::new(message);
    // Setting a property on a fresh Error cannot fail; ignore the Result anyway.
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    let _ = Reflect::set(&error, &"path".into(), &path.into());
    error.into()
}

/// Whether a JS value has the shape a member takes.
type Fits = fn(&JsValue) -> bool;

/// What an argument's member must be, in a JS caller's words (checked before
/// serde, whose messages name its own types: "untagged enum Headers").
fn expected_shape(member: &str) -> Option<(Fits, &'static str)> {
    let plain_object = |v: &JsValue| v.is_object() && !js_sys::Array::is_array(v);
    Some(match member {
        "method" | "path" | "alg" | "kid" | "name" | "role" | "headerJson" | "payloadJson" => {
            (|v: &JsValue| v.is_string(), "a string")
        }
        "now" => (
            |v: &JsValue| v.as_f64().is_some(),
            "a number of seconds since the epoch",
        ),
        "claims" => (plain_object, "an object of claims, e.g. {sub: 'alice'}"),
        "header" | "key" => (plain_object, "an object"),
        "headers" => (
            |v: &JsValue| v.is_object(),
            "an object like {authorization: 'Bearer …'} or a list of [name, value] pairs",
        ),
        "paths" | "methods" => (
            |v: &JsValue| js_sys::Array::is_array(v),
            "a list of strings",
        ),
        _ => return None,
    })
}

/// A JS value named for people: `the string "x"`, `a list`, `null`.
fn describe(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        format!("the string {text:?}")
    } else if let Some(n) = value.as_f64() {
        format!("the number {n}")
    } else if js_sys::Array::is_array(value) {
        "a list".to_owned()
    } else if value.is_object() {
        "an object".to_owned()
    } else if value.as_bool().is_some() {
        "a boolean".to_owned()
    } else {
        "nothing".to_owned()
    }
}

/// Converts a JS argument, refusing members `T` does not have (serde-wasm-bindgen
/// reads only the fields it knows, so a misspelt `header` would pass unnoticed)
/// and members of the wrong shape, each error naming the member and what it takes.
fn input<T: DeserializeOwned>(value: JsValue, what: &str, fields: &[&str]) -> Result<T, JsValue> {
    if !value.is_object() || js_sys::Array::is_array(&value) {
        return Err(js_error(
            "invalid_argument",
            what,
            &format!(
                "{what}: expected an object with {}, not {}",
                fields.join(", "),
                describe(&value)
            ),
        ));
    }
    if value.is_object() {
        for key in js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            let member = Reflect::get(&value, &key.as_str().into()).unwrap_or(JsValue::UNDEFINED);
            if !fields.contains(&key.as_str()) {
                return Err(js_error(
                    "invalid_argument",
                    &format!("{what}.{key}"),
                    &format!(
                        "{what}: unknown member `{key}`; expected one of {}",
                        fields.join(", ")
                    ),
                ));
            }
            if let Some((fits, shape)) = expected_shape(&key) {
                if !member.is_undefined() && !member.is_null() && !fits(&member) {
                    return Err(js_error(
                        "invalid_argument",
                        &format!("{what}.{key}"),
                        &format!("{what}.{key}: expected {shape}, not {}", describe(&member)),
                    ));
                }
            }
        }
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        let message = e.to_string();
        let message = message.strip_prefix("Error: ").unwrap_or(&message);
        js_error("invalid_argument", what, &format!("{what}: {message}"))
    })
}

fn output<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error("internal", "", &e.to_string()))
}

/// Seconds since the epoch: the caller's `now` (fractions floored), else the
/// browser's clock. A `now` that is no time (NaN, negative, infinite) is an
/// error: deciding at time 0 would pass every expired token.
fn now_or_clock(now: Option<f64>) -> Result<u64, JsValue> {
    match now {
        None => Ok((js_sys::Date::now() / 1000.0) as u64),
        Some(seconds) if seconds.is_finite() && (0.0..9.0e15).contains(&seconds) => {
            Ok(seconds as u64)
        }
        Some(other) => Err(js_error(
            "invalid_argument",
            "now",
            &format!(
                "now: seconds since the epoch (a number from 0), not {other}; leave it out for the current time"
            ),
        )),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderValue {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Headers {
    Object(BTreeMap<String, HeaderValue>),
    Pairs(Vec<(String, String)>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsRequest {
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: Option<Headers>,
    #[serde(default)]
    claims: Option<Map<String, Value>>,
    #[serde(default)]
    now: Option<f64>,
}

fn get() -> String {
    "GET".to_owned()
}

impl TryFrom<JsRequest> for Request {
    type Error = JsValue;

    fn try_from(r: JsRequest) -> Result<Request, JsValue> {
        let mut headers = Vec::new();
        match r.headers {
            None => {}
            Some(Headers::Pairs(pairs)) => headers = pairs,
            Some(Headers::Object(map)) => {
                for (name, value) in map {
                    match value {
                        HeaderValue::One(v) => headers.push((name, v)),
                        HeaderValue::Many(vs) => {
                            headers.extend(vs.into_iter().map(|v| (name.clone(), v)))
                        }
                    }
                }
            }
        }
        Ok(Request {
            method: r.method,
            path: r.path,
            headers,
            now: now_or_clock(r.now)?,
            claims: r.claims,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsMatrixRequest {
    paths: Vec<String>,
    methods: Vec<String>,
    #[serde(default)]
    claims: Option<Map<String, Value>>,
    #[serde(default)]
    now: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct JsDiffRequest {
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    methods: Option<Vec<String>>,
    #[serde(default)]
    now: Option<f64>,
}

/// A policy document given as JSON text or a plain object, as text.
fn document_text(document: &JsValue) -> Result<String, JsValue> {
    match document.as_string() {
        Some(text) => Ok(text),
        None => js_sys::JSON::stringify(document)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| {
                js_error(
                    "invalid_argument",
                    "",
                    "the policy must be JSON text or an object",
                )
            }),
    }
}

fn policy_error(e: &crate::PolicyError) -> JsValue {
    js_error(e.code.as_str(), &e.path, &e.to_string())
}

/// A policy error with where it is in `text`: `line` and `column` (from 1)
/// and `from`/`to`, the offsets a JS string (and an editor) counts in.
fn policy_error_in(e: &crate::PolicyError, text: &str) -> JsValue {
    let error = policy_error(e);
    if let Some(location) = &e.location {
        let utf16 = |at: usize| text.get(..at).map_or(0, |t| t.encode_utf16().count());
        for (name, value) in [
            ("line", location.line),
            ("column", location.column),
            ("from", utf16(location.bytes.start)),
            ("to", utf16(location.bytes.end)),
        ] {
            let _ = Reflect::set(&error, &name.into(), &(value as f64).into());
        }
    }
    error
}

/// A loaded, checked policy.
#[wasm_bindgen(js_name = Policy)]
pub struct WebPolicy {
    inner: Policy,
}

#[wasm_bindgen(js_class = Policy)]
impl WebPolicy {
    /// Loads a policy from JSON text or a plain object. Throws an `Error` with
    /// `code` and `path` (e.g. `roles[2].rules[0].paths[1]`).
    pub fn parse(document: JsValue) -> Result<WebPolicy, JsValue> {
        let text = document_text(&document)?;
        Policy::from_json(&text)
            .map(|inner| WebPolicy { inner })
            .map_err(|e| policy_error_in(&e, &text))
    }

    /// Decides `{method, path, headers?, claims?, now?}`.
    pub fn decide(&self, request: JsValue) -> Result<JsValue, JsValue> {
        let request: JsRequest = input(
            request,
            "request",
            &["method", "path", "headers", "claims", "now"],
        )?;
        output(&self.inner.decide(&Request::try_from(request)?))
    }

    /// Tabulates `{paths, methods, claims?, now?}` for every role (or the claims).
    pub fn matrix(&self, request: JsValue) -> Result<JsValue, JsValue> {
        let r: JsMatrixRequest = input(request, "request", &["paths", "methods", "claims", "now"])?;
        output(&self.inner.matrix(&MatrixRequest {
            paths: r.paths,
            methods: r.methods,
            claims: r.claims,
            now: now_or_clock(r.now)?,
        }))
    }

    /// Compares this (older) policy with `newer`, cell by cell, on
    /// `{paths?, methods?, now?}` (by default both policies' sample paths
    /// and the common methods).
    pub fn diff(&self, newer: &WebPolicy, request: JsValue) -> Result<JsValue, JsValue> {
        let defaults = MatrixRequest::for_diff(&self.inner, &newer.inner);
        let r: JsDiffRequest = if request.is_undefined() || request.is_null() {
            JsDiffRequest::default()
        } else {
            input(request, "request", &["paths", "methods", "now"])?
        };
        output(&self.inner.diff(
            &newer.inner,
            &MatrixRequest {
                paths: r.paths.unwrap_or(defaults.paths),
                methods: r.methods.unwrap_or(defaults.methods),
                claims: None,
                now: now_or_clock(r.now)?,
            },
        ))
    }

    /// Role names with their enabled state, in policy order.
    #[wasm_bindgen(getter)]
    pub fn roles(&self) -> Result<JsValue, JsValue> {
        let roles: Vec<_> = self.inner.roles_summary().collect();
        output(&roles)
    }

    /// The token endpoint and its clients (`null` without one).
    #[wasm_bindgen(getter, js_name = tokenEndpoint)]
    pub fn token_endpoint(&self) -> Result<JsValue, JsValue> {
        output(&self.inner.token_endpoint().map(|e| e.summary()))
    }

    /// What loading skipped (e.g. a JWKS's encryption keys), each naming
    /// its JSON path.
    #[wasm_bindgen(getter)]
    pub fn notices(&self) -> Result<JsValue, JsValue> {
        output(&self.inner.notices())
    }

    /// `"enforce"` or `"dry_run"`.
    #[wasm_bindgen(getter)]
    pub fn mode(&self) -> Result<JsValue, JsValue> {
        output(&self.inner.mode())
    }
}

/// A token's header and payload, NOT verified.
#[wasm_bindgen(js_name = decodeToken)]
pub fn decode_token(token: &str) -> Result<JsValue, JsValue> {
    let decoded = crate::jose::token::decode_unverified(token)
        .map_err(|e| js_error(e.kind.code(), "token", &e.detail))?;
    output(&decoded)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsMint {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    key: Option<Value>,
    #[serde(default)]
    claims: Map<String, Value>,
    #[serde(default)]
    header: Map<String, Value>,
    /// Raw header / payload text, signed exactly as given (negative tests).
    #[serde(default)]
    header_json: Option<String>,
    #[serde(default)]
    payload_json: Option<String>,
}

/// Signs a test token: `{alg?, key (private JWK), claims, header?}`, or raw
/// `headerJson`/`payloadJson` text for tokens a normal encoder would not make.
#[wasm_bindgen(js_name = mintToken)]
pub fn mint_token(options: JsValue) -> Result<String, JsValue> {
    let options: JsMint = input(
        options,
        "options",
        &[
            "alg",
            "key",
            "claims",
            "header",
            "headerJson",
            "payloadJson",
        ],
    )?;
    let mint_error = |e: mint::MintError| js_error("invalid_key", &e.path, &e.to_string());
    let key = options
        .key
        .as_ref()
        .map(SigningKey::from_jwk)
        .transpose()
        .map_err(mint_error)?;
    let request = MintRequest {
        alg: options.alg.as_deref(),
        key: key.as_ref(),
        claims: options.claims,
        header: options.header,
    };
    if options.header_json.is_none() && options.payload_json.is_none() {
        return mint::mint(&request).map_err(mint_error);
    }
    let (header, payload) = mint::encode_parts(&request).map_err(mint_error)?;
    let header = options.header_json.map_or(header, String::into_bytes);
    let payload = options.payload_json.map_or(payload, String::into_bytes);
    let signer = mint::signer(&request).map_err(mint_error)?;
    mint::sign_raw(&header, &payload, signer).map_err(mint_error)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsGenerate {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// A fresh key pair for `{alg, kid?}`: `{privateJwk, publicJwk}`.
#[wasm_bindgen(js_name = generateKey)]
pub fn generate_key(options: JsValue) -> Result<JsValue, JsValue> {
    let options: JsGenerate = input(options, "options", &["alg", "kid"])?;
    let alg = Alg::from_name(&options.alg).ok_or_else(|| {
        js_error(
            "invalid_argument",
            "alg",
            &format!(
                "alg: unknown algorithm {}; use one of {}",
                options.alg,
                crate::jose::alg::known_names()
            ),
        )
    })?;
    let kid = match options.kid {
        Some(kid) => kid,
        None => mint::random_id().map_err(|e| js_error("internal", "", &e.to_string()))?,
    };
    let private = mint::generate_key(alg, Some(&kid))
        .map_err(|e| js_error("internal", &e.path, &e.to_string()))?;
    // An HMAC secret has no public half: it is shared whole (`secrets`).
    let public = match alg.key_type() {
        crate::jose::alg::KeyType::Hmac => Value::Null,
        _ => private
            .as_object()
            .map(mint::public_jwk)
            .unwrap_or(Value::Null),
    };
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Pair {
        private_jwk: Value,
        public_jwk: Value,
    }
    output(&Pair {
        private_jwk: private,
        public_jwk: public,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsNewClient {
    name: String,
    role: String,
    #[serde(default)]
    alg: Option<String>,
}

/// Pexip's "add OAuth2 client" for a policy with a `token_endpoint`:
/// `{name, role, alg?}` -> `{clientId, entry, policy, privateJwk, tokenUrl}`.
/// `policy` is the document (same member order) with `entry` appended to
/// `oauth2_clients`; the private key exists only in this result.
#[wasm_bindgen(js_name = createClient)]
pub fn create_client(document: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let options: JsNewClient = input(options, "options", &["name", "role", "alg"])?;
    let text = document_text(&document)?;
    let created = crate::token_endpoint::create_client(
        &text,
        &options.name,
        &options.role,
        options.alg.as_deref(),
    )
    .map_err(|e| policy_error(&e))?;
    // Rebuilt from the caller's text rather than the core's map, so the
    // document keeps its member order in the editor.
    let policy = js_sys::JSON::parse(&text)
        .map_err(|_| js_error("invalid_json", "", "the policy is not JSON"))?;
    let entry = output(&created.entry)?;
    let clients = Reflect::get(&policy, &"oauth2_clients".into())?;
    let clients = if let Ok(existing) = clients.dyn_into::<js_sys::Array>() {
        existing
    } else {
        let fresh = js_sys::Array::new();
        Reflect::set(&policy, &"oauth2_clients".into(), &fresh)?;
        fresh
    };
    clients.push(&entry);
    let result = js_sys::Object::new();
    for (name, value) in [
        ("clientId", JsValue::from(created.client_id.as_str())),
        ("entry", entry),
        ("policy", policy),
        ("privateJwk", output(&created.private_jwk)?),
        ("tokenUrl", JsValue::from(created.token_url.as_str())),
    ] {
        Reflect::set(&result, &name.into(), &value)?;
    }
    Ok(result.into())
}

/// Trusts a public JWK for the issuer named `issuer` (else the first):
/// the policy document again, with the key in that issuer's `jwks` and its
/// algorithm in `algorithms`.
#[wasm_bindgen(js_name = trustKey)]
pub fn trust_key(
    document: JsValue,
    jwk: JsValue,
    issuer: Option<String>,
) -> Result<JsValue, JsValue> {
    let jwk: Value = serde_wasm_bindgen::from_value(jwk)
        .map_err(|_| js_error("invalid_argument", "jwk", "jwk: a public JWK object"))?;
    let doc = crate::policy::edit::trust_key(&document_text(&document)?, &jwk, issuer.as_deref())
        .map_err(|e| policy_error(&e))?;
    output(&doc)
}

/// Pexip's model: the policy's first issuer becomes rolegate's own token
/// endpoint, with a fresh signing key. The policy document again.
#[wasm_bindgen(js_name = addTokenEndpoint)]
pub fn add_token_endpoint(document: JsValue) -> Result<JsValue, JsValue> {
    let doc = crate::policy::edit::add_token_endpoint(&document_text(&document)?)
        .map_err(|e| policy_error(&e))?;
    output(&doc)
}

/// Grants role `name` by the claim the token endpoint issues (`role` = its
/// name), replacing its required attributes; the policy document again.
#[wasm_bindgen(js_name = grantByRoleClaim)]
pub fn grant_by_role_claim(document: JsValue, name: &str) -> Result<JsValue, JsValue> {
    let doc = crate::policy::edit::grant_by_role_claim(&document_text(&document)?, name)
        .map_err(|e| policy_error(&e))?;
    output(&doc)
}
