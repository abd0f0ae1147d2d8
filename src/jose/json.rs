//! Strict JSON: like `serde_json::Value`, but an object with the same key twice
//! is an error. Parsers disagree on which duplicate wins, so a token or policy
//! that relies on one is ambiguous and must be rejected, not guessed at.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Parses `bytes` as one JSON value, rejecting duplicate object keys at any depth.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<StrictValue>(bytes).map(|v| v.0)
}

/// Parses `bytes` as a JSON object, rejecting duplicate keys at any depth.
pub fn parse_strict_object(bytes: &[u8]) -> Result<Map<String, Value>, StrictJsonError> {
    match parse_strict(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StrictJsonError::NotAnObject),
        Err(e) if e.to_string().starts_with(DUPLICATE_KEY) => {
            Err(StrictJsonError::DuplicateKey(e.to_string()))
        }
        Err(e) => Err(StrictJsonError::Syntax(e.to_string())),
    }
}

/// Why [`parse_strict_object`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictJsonError {
    Syntax(String),
    DuplicateKey(String),
    NotAnObject,
}

const DUPLICATE_KEY: &str = "duplicate key";

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never yields a non-finite number, so `from_f64` cannot fail here.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "{DUPLICATE_KEY} \"{}\"",
                    key.escape_debug()
                )));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// A JSON path built while walking a document, rendered as `a.b[2].c`.
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonPath(String);

impl JsonPath {
    pub fn root() -> Self {
        JsonPath(String::new())
    }

    pub fn field(&self, name: &str) -> Self {
        if self.0.is_empty() {
            JsonPath(name.to_owned())
        } else {
            JsonPath(format!("{}.{name}", self.0))
        }
    }

    pub fn index(&self, i: usize) -> Self {
        JsonPath(format!("{}[{i}]", self.0))
    }

    /// `rest`, a rendered path relative to this one, appended.
    pub fn join(&self, rest: &str) -> Self {
        if self.0.is_empty() || rest.is_empty() || rest.starts_with('[') {
            JsonPath(format!("{}{rest}", self.0))
        } else {
            JsonPath(format!("{}.{rest}", self.0))
        }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_json() {
        let v = parse_strict(br#"{"a":[1,2.5,"x",null,true],"b":{"c":{}}}"#).unwrap();
        assert_eq!(v["a"][1], 2.5);
        assert_eq!(v["b"]["c"], serde_json::json!({}));
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"b":1,"b":1}}"#,
            r#"[{"c":1,"c":2}]"#,
            // The same key after JSON unescaping is still the same key.
            r#"{"sub":"a","s\u0075b":"b"}"#,
        ] {
            let err = parse_strict_object(text.as_bytes()).unwrap_err();
            assert!(
                matches!(
                    err,
                    StrictJsonError::DuplicateKey(_) | StrictJsonError::NotAnObject
                ),
                "{text}: {err:?}"
            );
        }
        assert!(matches!(
            parse_strict_object(br#"{"sub":"a","s\u0075b":"b"}"#),
            Err(StrictJsonError::DuplicateKey(_))
        ));
    }

    #[test]
    fn object_required() {
        assert_eq!(
            parse_strict_object(b"[1]"),
            Err(StrictJsonError::NotAnObject)
        );
        assert!(matches!(
            parse_strict_object(b"{"),
            Err(StrictJsonError::Syntax(_))
        ));
        assert!(matches!(
            parse_strict_object(b"{} x"),
            Err(StrictJsonError::Syntax(_))
        ));
    }
}
