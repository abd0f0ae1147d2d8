//! The testing module's API: test tokens, key pairs and OAuth2 clients (all
//! key generation and signing), loaded by the page only when used.

use super::{document_text, input, js_error, output, policy_error};
use crate::jose::alg::Alg;
use crate::jose::json::JsonPath;
use crate::jose::mint::{self, MintRequest, SigningKey};
use crate::policy::read::{json_object, Object, Read};
use crate::PolicyError;
use js_sys::Reflect;
use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

/// The members of `mintToken`'s options.
const MINT: &[&str] = &[
    "alg",
    "key",
    "claims",
    "header",
    "headerJson",
    "payloadJson",
];

struct JsMint {
    alg: Option<String>,
    key: Option<Value>,
    claims: Map<String, Value>,
    header: Map<String, Value>,
    /// Raw header / payload text, signed exactly as given (negative tests).
    header_json: Option<String>,
    payload_json: Option<String>,
}

impl Read for JsMint {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let o = Object::new(value, path, MINT)?;
        Ok(JsMint {
            alg: o.optional("alg")?,
            key: o.optional("key")?,
            claims: o.or_default("claims")?,
            header: o.or_default("header")?,
            header_json: o.optional("headerJson")?,
            payload_json: o.optional("payloadJson")?,
        })
    }
}

/// Signs a test token: `{alg?, key (private JWK), claims, header?}`, or raw
/// `headerJson`/`payloadJson` text for tokens a normal encoder would not make.
#[wasm_bindgen(js_name = mintToken)]
pub fn mint_token(options: JsValue) -> Result<String, JsValue> {
    let options: JsMint = input(options, "options", MINT)?;
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

json_object! {
    /// `generateKey`'s options.
    struct JsGenerate {
        pub alg: String = required,
        pub kid: Option<String> = optional,
    }
}

/// A fresh key pair for `{alg, kid?}`: `{privateJwk, publicJwk}`.
#[wasm_bindgen(js_name = generateKey)]
pub fn generate_key(options: JsValue) -> Result<JsValue, JsValue> {
    let options: JsGenerate = input(options, "options", JsGenerate::MEMBERS)?;
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

json_object! {
    /// `createClient`'s options.
    struct JsNewClient {
        pub name: String = required,
        pub role: String = required,
        pub alg: Option<String> = optional,
    }
}

/// Pexip's "add OAuth2 client" for a policy with a `token_endpoint`:
/// `{name, role, alg?}` -> `{clientId, entry, policy, privateJwk, tokenUrl}`.
/// `policy` is the document (same member order) with `entry` appended to
/// `oauth2_clients`; the private key exists only in this result.
#[wasm_bindgen(js_name = createClient)]
pub fn create_client(document: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let options: JsNewClient = input(options, "options", JsNewClient::MEMBERS)?;
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

/// Pexip's model: the policy's first issuer becomes rolegate's own token
/// endpoint, with a fresh signing key. The policy document again.
#[wasm_bindgen(js_name = addTokenEndpoint)]
pub fn add_token_endpoint(document: JsValue) -> Result<JsValue, JsValue> {
    let doc = crate::policy::edit::add_token_endpoint(&document_text(&document)?)
        .map_err(|e| policy_error(&e))?;
    output(&doc)
}
