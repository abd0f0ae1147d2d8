//! Reading claims: names and dotted paths, attribute equality, scopes.

use serde_json::{Map, Value};

/// A claim name from the policy. A literal top-level key is looked up first
/// (names with dots and URIs such as `https://example.com/roles` are common),
/// then the name as a dotted path into nested objects (`realm_access.roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    name: String,
    dotted: Vec<String>,
}

impl ClaimPath {
    pub fn parse(name: &str) -> Result<ClaimPath, String> {
        if name.is_empty() {
            return Err("a claim name must not be empty".to_owned());
        }
        let dotted: Vec<String> = if name.contains('.') {
            name.split('.').map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        Ok(ClaimPath {
            name: name.to_owned(),
            dotted,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn lookup<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        if let Some(v) = claims.get(&self.name) {
            return Some(v);
        }
        let (first, rest) = self.dotted.split_first()?;
        let mut current = claims.get(first)?;
        for key in rest {
            current = current.as_object()?.get(key)?;
        }
        Some(current)
    }
}

/// Attribute equality: a string claim equals the value, or an array claim has
/// an element equal to it. Exact and case-sensitive; other types never match.
pub fn value_matches(claim: &Value, expected: &str) -> bool {
    match claim {
        Value::String(s) => s == expected,
        Value::Array(items) => items.iter().any(|v| v.as_str() == Some(expected)),
        _ => false,
    }
}

/// The token's scopes: `scope` (space-delimited string, RFC 8693/9068) or
/// `scp` (array of strings, or a space-delimited string). A claim of any other
/// shape is an error, not "no scopes", so a malformed token is named as such.
pub fn scopes(claims: &Map<String, Value>) -> Result<Vec<&str>, &'static str> {
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => Ok(s.split(' ').filter(|s| !s.is_empty()).collect()),
        (Some(_), _) => Err("the scope claim must be a space-delimited string"),
        (None, Some(Value::String(s))) => Ok(s.split(' ').filter(|s| !s.is_empty()).collect()),
        (None, Some(Value::Array(items))) => items
            .iter()
            .map(|v| v.as_str().ok_or("the scp claim must hold only strings"))
            .collect(),
        (None, Some(_)) => Err("the scp claim must be an array of strings"),
        (None, None) => Ok(Vec::new()),
    }
}

/// A short rendering of a claim value for traces, bounded in length.
pub fn preview(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= 120 {
        return text;
    }
    let mut cut = 117;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", text.get(..cut).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn literal_then_dotted() {
        let claims = obj(json!({
            "realm_access": {"roles": ["admin"]},
            "https://example.com/roles": ["x"],
            "a.b": "literal",
            "a": {"b": "nested"}
        }));
        let get = |n: &str| ClaimPath::parse(n).unwrap().lookup(&claims).cloned();
        assert_eq!(get("realm_access.roles"), Some(json!(["admin"])));
        assert_eq!(get("https://example.com/roles"), Some(json!(["x"])));
        assert_eq!(get("a.b"), Some(json!("literal")));
        assert_eq!(get("realm_access.missing"), None);
        assert_eq!(get("realm_access.roles.x"), None);
        assert_eq!(get("nope"), None);
    }

    #[test]
    fn equality_is_exact() {
        assert!(value_matches(&json!("cn=a,o=b"), "cn=a,o=b"));
        assert!(!value_matches(&json!("CN=a,o=b"), "cn=a,o=b"));
        assert!(!value_matches(&json!(" cn=a,o=b"), "cn=a,o=b"));
        assert!(value_matches(&json!(["x", "cn=a,o=b"]), "cn=a,o=b"));
        assert!(!value_matches(&json!([["cn=a,o=b"]]), "cn=a,o=b"));
        assert!(!value_matches(&json!({"cn=a,o=b": true}), "cn=a,o=b"));
        assert!(!value_matches(&json!(5), "5"));
        assert!(!value_matches(&json!(true), "true"));
        assert!(!value_matches(&Value::Null, ""));
    }

    #[test]
    fn scope_shapes() {
        assert_eq!(scopes(&obj(json!({"scope": "a  b"}))).unwrap(), ["a", "b"]);
        assert_eq!(
            scopes(&obj(json!({"scp": ["a", "b"]}))).unwrap(),
            ["a", "b"]
        );
        assert_eq!(scopes(&obj(json!({"scp": "a b"}))).unwrap(), ["a", "b"]);
        assert!(scopes(&obj(json!({}))).unwrap().is_empty());
        assert!(scopes(&obj(json!({"scope": ["a"]}))).is_err());
        assert!(scopes(&obj(json!({"scp": ["a", 1]}))).is_err());
        assert!(scopes(&obj(json!({"scp": 1}))).is_err());
    }

    #[test]
    fn preview_is_bounded() {
        let long = json!("x".repeat(500));
        assert!(preview(&long).len() <= 120);
        assert_eq!(preview(&json!("é".repeat(100))).chars().last(), Some('.'));
    }
}
