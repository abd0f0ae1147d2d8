//! The policy module's API: `Policy` (parse, decide, matrix, diff), `decodeToken`
//! and the document edits that need no key generation.

use super::{document_text, input, js_error, now_or_clock, output, policy_error};
use crate::authorize::matrix::MatrixRequest;
use crate::jose::json::JsonPath;
use crate::policy::read::{json_object, Read};
use crate::PolicyError;
use crate::{Policy, Request};
use js_sys::Reflect;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

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
json_object! {
    /// `policy.decide`'s request.
    struct JsRequest {
        pub method: String = or("GET".to_owned()),
        pub path: String = required,
        /// `{name: value or [values]}` or `[[name, value], ...]`.
        pub headers: Option<Value> = optional,
        pub claims: Option<Map<String, Value>> = optional,
        pub now: Option<f64> = optional,
        /// A body follows the headers (as Envoy knows over HTTP/2).
        pub body: Option<bool> = optional,
        /// The connection's client certificate as `x5t#S256` (base64url of
        /// the SHA-256 of its DER), for certificate-bound tokens.
        pub client_certificate: Option<String> = optional,
    }
}

impl TryFrom<JsRequest> for Request {
    type Error = JsValue;

    fn try_from(r: JsRequest) -> Result<Request, JsValue> {
        Ok(Request {
            method: r.method,
            path: r.path,
            headers: r
                .headers
                .as_ref()
                .map(header_list)
                .transpose()?
                .unwrap_or_default(),
            now: now_or_clock(r.now)?,
            claims: r.claims,
            body: r.body.unwrap_or(false),
            client_certificate: r.client_certificate,
        })
    }
}

/// The request's headers as (name, value) pairs, in the order given.
fn header_list(headers: &Value) -> Result<Vec<(String, String)>, JsValue> {
    let wrong = |at: String, expected: &str| {
        js_error(
            "invalid_argument",
            &at,
            &format!("{at}: expected {expected}"),
        )
    };
    let mut list = Vec::new();
    match headers {
        Value::Object(map) => {
            for (name, value) in map {
                let at = || format!("request.headers.{name}");
                match value {
                    Value::String(v) => list.push((name.clone(), v.clone())),
                    Value::Array(values) => {
                        for v in values {
                            let v = v
                                .as_str()
                                .ok_or_else(|| wrong(at(), "a string or a list of strings"))?;
                            list.push((name.clone(), v.to_owned()));
                        }
                    }
                    _ => return Err(wrong(at(), "a string or a list of strings")),
                }
            }
        }
        Value::Array(pairs) => {
            for (i, pair) in pairs.iter().enumerate() {
                match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(name), Value::String(value)]) => {
                        list.push((name.clone(), value.clone()))
                    }
                    _ => {
                        return Err(wrong(
                            format!("request.headers[{i}]"),
                            "a [name, value] pair of strings",
                        ))
                    }
                }
            }
        }
        _ => {
            return Err(wrong(
                "request.headers".to_owned(),
                "an object like {authorization: 'Bearer …'} or a list of [name, value] pairs",
            ))
        }
    }
    Ok(list)
}

json_object! {
    /// `policy.matrix`'s request.
    struct JsMatrixRequest {
        pub paths: Vec<String> = required,
        pub methods: Vec<String> = required,
        pub claims: Option<Map<String, Value>> = optional,
        pub now: Option<f64> = optional,
    }
}

json_object! {
    /// `policy.diff`'s request.
    #[derive(Default)]
    struct JsDiffRequest {
        pub paths: Option<Vec<String>> = optional,
        pub methods: Option<Vec<String>> = optional,
        pub now: Option<f64> = optional,
    }
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
        let request: JsRequest = input(request, "request", JsRequest::MEMBERS)?;
        output(&self.inner.decide(&Request::try_from(request)?))
    }

    /// Tabulates `{paths, methods, claims?, now?}` for every role (or the claims).
    pub fn matrix(&self, request: JsValue) -> Result<JsValue, JsValue> {
        let r: JsMatrixRequest = input(request, "request", JsMatrixRequest::MEMBERS)?;
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
        let r: JsDiffRequest = if request.is_undefined() || request.is_null() {
            JsDiffRequest::default()
        } else {
            input(request, "request", JsDiffRequest::MEMBERS)?
        };
        // The sample paths are worked out only when the caller gave no list.
        let (paths, methods) = match (r.paths, r.methods) {
            (Some(paths), Some(methods)) => (paths, methods),
            (paths, methods) => {
                let defaults = MatrixRequest::for_diff(&self.inner, &newer.inner);
                (
                    paths.unwrap_or(defaults.paths),
                    methods.unwrap_or(defaults.methods),
                )
            }
        };
        output(&self.inner.diff(
            &newer.inner,
            &MatrixRequest {
                paths,
                methods,
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

    /// The clusters its remote issuers call (name, host, port, TLS files),
    /// for a generated Envoy config.
    #[wasm_bindgen(getter, js_name = remoteClusters)]
    pub fn remote_clusters(&self) -> Result<JsValue, JsValue> {
        output(&self.inner.remote_clusters())
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

/// Trusts a public JWK for the issuer named `issuer` (else the first):
/// the policy document again, with the key in that issuer's `jwks` and its
/// algorithm in `algorithms`.
#[wasm_bindgen(js_name = trustKey)]
pub fn trust_key(
    document: JsValue,
    jwk: JsValue,
    issuer: Option<String>,
) -> Result<JsValue, JsValue> {
    let jwk: Value = js_sys::JSON::stringify(&jwk)
        .ok()
        .and_then(|text| text.as_string())
        .and_then(|text| serde_json::from_str(&text).ok())
        .filter(Value::is_object)
        .ok_or_else(|| js_error("invalid_argument", "jwk", "jwk: a public JWK object"))?;
    let doc = crate::policy::edit::trust_key(&document_text(&document)?, &jwk, issuer.as_deref())
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
