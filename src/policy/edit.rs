//! Edits people make to a policy from the preview page and the CLI, done
//! here so that no host edits a policy by hand: trust a (test) key, let
//! rolegate issue an issuer's tokens. Each returns the whole document
//! again, checked by loading it.

use super::error::{JsonPath, PolicyError};
use super::Policy;
use crate::jose::alg::KeyType;
use crate::jose::json::parse_strict;
use crate::jose::keys::VerificationKey;
use crate::jose::mint;
use serde_json::{json, Map, Value};

/// The document as a JSON object, or why not.
pub(crate) fn document(text: &str) -> Result<Map<String, Value>, PolicyError> {
    match parse_strict(text.as_bytes()) {
        Ok(Value::Object(doc)) => Ok(doc),
        Ok(_) => Err(PolicyError::wrong_type(
            &JsonPath::root(),
            "a policy is a JSON object",
        )),
        Err(e) => Err(PolicyError::value(&JsonPath::root(), e.to_string())),
    }
}

/// The document again after an edit: refused if it no longer loads.
pub(crate) fn checked(doc: Map<String, Value>) -> Result<Value, PolicyError> {
    let doc = Value::Object(doc);
    Policy::from_json(&doc.to_string())?;
    Ok(doc)
}

/// Trusts `public_jwk` for the issuer named `issuer` (else the first): the
/// key joins that issuer's `jwks`, its algorithm the issuer's `algorithms`.
pub fn trust_key(
    policy: &str,
    public_jwk: &Value,
    issuer: Option<&str>,
) -> Result<Value, PolicyError> {
    let key = VerificationKey::from_jwk(public_jwk)
        .map_err(|e| PolicyError::jwk(&JsonPath::root().field("jwk"), e))?;
    if key.key_type == KeyType::Hmac {
        return Err(PolicyError::key(
            &JsonPath::root().field("jwk"),
            "trust a public key here; an HMAC secret goes in the issuer's secrets",
        ));
    }
    let alg = key.alg.unwrap_or(key.key_type.default_alg());
    let mut doc = document(policy)?;
    let issuers_path = JsonPath::root().field("issuers");
    let issuers = doc
        .get_mut("issuers")
        .and_then(Value::as_array_mut)
        .filter(|list| !list.is_empty())
        .ok_or_else(|| {
            PolicyError::missing(
                &issuers_path,
                "the policy has no issuer to trust the key for",
            )
        })?;
    let index = issuer
        .and_then(|name| {
            issuers
                .iter()
                .position(|i| i.get("issuer").and_then(Value::as_str) == Some(name))
        })
        .unwrap_or(0);
    let at = issuers_path.index(index);
    let Some(entry) = issuers.get_mut(index).and_then(Value::as_object_mut) else {
        return Err(PolicyError::wrong_type(&at, "an issuer is a JSON object"));
    };
    let keys = entry
        .entry("jwks")
        .or_insert_with(|| json!({"keys": []}))
        .as_object_mut()
        .map(|jwks| jwks.entry("keys").or_insert_with(|| json!([])))
        .and_then(Value::as_array_mut)
        .ok_or_else(|| PolicyError::wrong_type(&at.field("jwks"), "jwks is {\"keys\": [...]}"))?;
    let kid = public_jwk.get("kid");
    if kid.is_none() || !keys.iter().any(|k| k.get("kid") == kid) {
        keys.push(public_jwk.clone());
    }
    let algorithms = entry
        .entry("algorithms")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or_else(|| {
            PolicyError::wrong_type(&at.field("algorithms"), "algorithms is a list of names")
        })?;
    if !algorithms.iter().any(|a| a.as_str() == Some(alg.name())) {
        algorithms.push(Value::String(alg.name().to_owned()));
    }
    checked(doc)
}

/// Pexip's model: rolegate itself issues the tokens of the policy's first
/// issuer. That issuer becomes the `token_endpoint` (same issuer name, its
/// first audience, one-hour tokens) with a fresh P-256 signing key; the
/// active-token list is for `administrator` when there is such a role,
/// else for the first role.
pub fn add_token_endpoint(policy: &str) -> Result<Value, PolicyError> {
    let mut doc = document(policy)?;
    let here = JsonPath::root().field("token_endpoint");
    if doc.contains_key("token_endpoint") {
        return Err(PolicyError::conflict(
            &here,
            "the policy has a token endpoint already",
        ));
    }
    let first_at = JsonPath::root().field("issuers").index(0);
    let first = match doc.get_mut("issuers").and_then(Value::as_array_mut) {
        Some(list) if !list.is_empty() => list.remove(0),
        _ => {
            return Err(PolicyError::missing(
                &first_at,
                "the token endpoint takes over the first issuer; the policy has none",
            ))
        }
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let issuer = first.get("issuer").and_then(text).ok_or_else(|| {
        PolicyError::missing(
            &first_at.field("issuer"),
            "the first issuer has no issuer name",
        )
    })?;
    let audience = first
        .get("audiences")
        .and_then(|a| a.get(0))
        .and_then(text)
        .unwrap_or_else(|| "admin-api".to_owned());
    let roles: Vec<String> = doc
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles
                .iter()
                .filter_map(|r| r.get("name").and_then(text))
                .collect()
        })
        .unwrap_or_default();
    let active_tokens_role = if roles.iter().any(|r| r == "administrator") {
        "administrator".to_owned()
    } else {
        roles.first().cloned().ok_or_else(|| {
            PolicyError::missing(
                &JsonPath::root().field("roles"),
                "the active-token list needs a role; the policy has none",
            )
        })?
    };
    let kid = mint::random_id().map_err(|e| PolicyError::value(&here, e.to_string()))?;
    let signing_key = mint::generate_key(
        crate::jose::alg::Alg::ES256,
        Some(&format!("token-endpoint-{kid}")),
    )
    .map_err(|e| PolicyError::key(&here.field("signing_key"), e.to_string()))?;
    doc.insert(
        "token_endpoint".to_owned(),
        json!({
            "issuer": issuer,
            "audience": audience,
            "signing_key": signing_key,
            "access_token_expiration_seconds": 3600,
            "active_tokens_role": active_tokens_role,
        }),
    );
    checked(doc)
}

/// Grants role `name` by the claim the token endpoint puts in its tokens
/// (`role` = the role's name), replacing its required attributes: the fix
/// when a role needs attributes (an IdP's group) that issued tokens never
/// carry, so no OAuth2 client could be bound to it.
pub fn grant_by_role_claim(policy: &str, name: &str) -> Result<Value, PolicyError> {
    let mut doc = document(policy)?;
    let roles_path = JsonPath::root().field("roles");
    let roles = doc
        .get_mut("roles")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| PolicyError::missing(&roles_path, "the policy has no roles"))?;
    let Some((index, role)) = roles
        .iter_mut()
        .enumerate()
        .find(|(_, r)| r.get("name").and_then(Value::as_str) == Some(name))
    else {
        return Err(PolicyError::value(
            &roles_path,
            format!("no role is named \"{}\"", name.escape_debug()),
        ));
    };
    let Some(role) = role.as_object_mut() else {
        return Err(PolicyError::wrong_type(
            &roles_path.index(index),
            "a role is an object",
        ));
    };
    role.remove("grant");
    role.insert(
        "required_attributes".to_owned(),
        json!([{"claim": "role", "value": name}]),
    );
    checked(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESET: &str = include_str!("../../examples/pingaccess.json");

    fn test_key() -> Value {
        let keys: Value =
            serde_json::from_str(include_str!("../../tests/vectors/keys.json")).unwrap();
        mint::public_jwk(keys["keys"]["ed-a"].as_object().unwrap())
    }

    #[test]
    fn a_trusted_key_verifies_for_its_issuer_once() {
        let doc = trust_key(PRESET, &test_key(), Some("https://idp.example.com")).unwrap();
        let issuer = &doc["issuers"][0];
        let kids: Vec<_> = issuer["jwks"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].clone())
            .collect();
        assert!(kids.contains(&json!("ed-a")), "{kids:?}");
        assert!(issuer["algorithms"]
            .as_array()
            .unwrap()
            .contains(&json!("EdDSA")));
        // Trusting it again adds nothing.
        let again = trust_key(&doc.to_string(), &test_key(), None).unwrap();
        assert_eq!(again, doc);
        let secret = json!({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"});
        assert_eq!(trust_key(PRESET, &secret, None).unwrap_err().path, "jwk");
    }

    #[test]
    fn the_first_issuer_becomes_the_token_endpoint() {
        let doc = add_token_endpoint(PRESET).unwrap();
        let endpoint = &doc["token_endpoint"];
        assert_eq!(endpoint["issuer"], "https://idp.example.com");
        assert_eq!(endpoint["active_tokens_role"], "administrator");
        assert_eq!(endpoint["signing_key"]["crv"], "P-256");
        assert!(doc["issuers"].as_array().unwrap().is_empty());
        let twice = add_token_endpoint(&doc.to_string()).unwrap_err();
        assert_eq!(twice.path, "token_endpoint");
        // Its roles need an IdP's groups: no client can be bound to them...
        let text = doc.to_string();
        let refused = crate::token_endpoint::create_client(&text, "ci", "auditor", None);
        assert!(refused.unwrap_err().message.contains("grant the role by"));
        // ...until the role is granted by the claim issued tokens carry.
        let fixed = grant_by_role_claim(&text, "auditor").unwrap();
        assert_eq!(
            fixed["roles"][2]["required_attributes"],
            json!([{"claim": "role", "value": "auditor"}])
        );
        assert!(
            crate::token_endpoint::create_client(&fixed.to_string(), "ci", "auditor", None).is_ok()
        );
        assert!(grant_by_role_claim(&text, "nobody").is_err());
    }
}
