//! The wasm-bindgen adapter: the npm package's API over the core. It converts
//! JS values to core types and back; it decides nothing.
//!
//! Two modules are built from it, so a browser loads what it uses: the
//! policy module (`web`: `Policy`, `decodeToken`, document edits) and the
//! testing module (`web-testing`: key generation, signing, clients), which
//! the preview page loads only when someone mints a token or creates a
//! client. This file holds what both convert with.

#[cfg(feature = "web")]
mod policy;
#[cfg(feature = "web-testing")]
mod testing;

use crate::jose::json::JsonPath;
use crate::policy::read::Read;
use js_sys::{Error, Reflect};
use serde::Serialize;
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
        format!("the number {}", number_text(n))
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

/// A number as JS writes it (`7`, `NaN`, `-Infinity`).
fn number_text(n: f64) -> String {
    js_sys::Number::from(n)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default()
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
                "now: seconds since the epoch (a number from 0), not {}; leave it out for the current time",
                number_text(other)
            ),
        )),
    }
}

/// Converts a JS argument, refusing members `T` does not have (a misspelt
/// `header` must not pass unnoticed) and members of the wrong shape, each
/// error naming the member and what it takes. The argument then crosses as
/// JSON text, read as the core reads policies.
fn input<T: Read>(value: JsValue, what: &str, fields: &[&str]) -> Result<T, JsValue> {
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
        // JSON has no NaN or Infinity (JSON.stringify writes null): a time
        // like that must be refused here, not read as "no time given".
        if key == "now" {
            if let Some(now) = member.as_f64() {
                now_or_clock(Some(now))?;
            }
        }
    }
    let text = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| {
            js_error(
                "invalid_argument",
                what,
                &format!(
                    "{what}: not expressible as JSON (a BigInt, or an object that contains itself)"
                ),
            )
        })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| js_error("invalid_argument", what, &format!("{what}: {e}")))?;
    T::read(&json, &JsonPath::root().field(what))
        .map_err(|e| js_error("invalid_argument", &e.path, &e.to_string()))
}

/// A core value as a plain JS value, through JSON text: serde_json is in the
/// module anyway, and one JSON.parse is smaller code than a serializer per type.
fn output<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text =
        serde_json::to_string(value).map_err(|e| js_error("internal", "", &e.to_string()))?;
    js_sys::JSON::parse(&text)
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
