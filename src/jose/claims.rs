//! Reading claims: names and dotted paths, attribute equality, scopes.

use crate::jose::token::{fail, instant, numeric_date, TokenError, TokenErrorKind};
use serde_json::{Map, Value};

/// A claim name from the policy. A literal top-level key is looked up first
/// (names with dots and URIs such as `https://example.com/roles` are common),
/// then the name as a dotted path into nested objects (`realm_access.roles`).
/// A name starting with `/` is an RFC 6901 JSON Pointer instead, for keys
/// that themselves contain dots: `/resource_access/pa.admin/roles` (`~1`
/// stands for `/` and `~0` for `~` within a key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    name: String,
    dotted: Vec<String>,
    /// The keys of a JSON Pointer, unescaped.
    pointer: Option<Vec<String>>,
}

impl ClaimPath {
    pub fn parse(name: &str) -> Result<ClaimPath, String> {
        if name.is_empty() {
            return Err("a claim name must not be empty".to_owned());
        }
        if let Some(rest) = name.strip_prefix('/') {
            let mut keys = Vec::new();
            for raw in rest.split('/') {
                keys.push(unescape_pointer(raw).ok_or_else(|| {
                    format!(
                        "JSON Pointer {name}: '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')"
                    )
                })?);
            }
            return Ok(ClaimPath {
                name: name.to_owned(),
                dotted: Vec::new(),
                pointer: Some(keys),
            });
        }
        let dotted: Vec<String> = if name.contains('.') {
            name.split('.').map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        Ok(ClaimPath {
            name: name.to_owned(),
            dotted,
            pointer: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn lookup<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        if let Some(keys) = &self.pointer {
            let (first, rest) = keys.split_first()?;
            let mut current = claims.get(first)?;
            for key in rest {
                current = match current {
                    Value::Object(map) => map.get(key)?,
                    Value::Array(items) => items.get(array_index(key)?)?,
                    _ => return None,
                };
            }
            return Some(current);
        }
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

/// An RFC 6901 reference token's key: `~1` is `/`, `~0` is `~`.
fn unescape_pointer(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '~' => match chars.next()? {
                '0' => out.push('~'),
                '1' => out.push('/'),
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(out)
}

/// An RFC 6901 array index: `0` or digits without a leading zero.
fn array_index(key: &str) -> Option<usize> {
    let canonical =
        key == "0" || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
    if canonical {
        key.parse().ok()
    } else {
        None
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
    // `scope` wins when both are present (RFC 9068 names `scope`).
    match (claims.get("scope"), claims.get("scp")) {
        (Some(v), _) => scope_words(
            v,
            "the scope claim must be a space-delimited string or an array of strings",
        ),
        (None, Some(v)) => scope_words(
            v,
            "the scp claim must be a space-delimited string or an array of strings",
        ),
        (None, None) => Ok(Vec::new()),
    }
}

/// A scope claim's words: a space-delimited string (RFC 8693 §4.2) or an
/// array of strings (PingFederate, Okta, Ory Hydra), each entry itself
/// possibly several space-delimited words.
fn scope_words<'c>(value: &'c Value, shape: &'static str) -> Result<Vec<&'c str>, &'static str> {
    let words = |s: &'c str| s.split(' ').filter(|w| !w.is_empty());
    match value {
        Value::String(s) => Ok(words(s).collect()),
        Value::Array(items) => {
            let mut all = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => all.extend(words(s)),
                    _ => return Err(shape),
                }
            }
            Ok(all)
        }
        _ => Err(shape),
    }
}

/// Text bounded in length for logs and traces (quoted as JSON).
pub fn preview_str(text: &str) -> String {
    preview(&Value::String(text.to_owned()))
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

/// A JWT's times (RFC 7519 §4.1.4-6): `exp` required, `nbf` and `iat`
/// optional, each a NumericDate (fractions count), judged at `now` with
/// `leeway` seconds either way.
pub(crate) struct Lifetime {
    pub exp: f64,
    pub iat: Option<f64>,
    /// The first whole second at which the JWT is no longer valid (see
    /// [`valid_until`]): what a store that remembers it keeps it until.
    pub valid_until: u64,
}

/// The first whole second at which a JWT with `exp` is no longer valid under
/// `leeway`: ceil(exp + leeway). The one place that says so, for the
/// lifetime check and for every record kept while a JWT is valid (a
/// fractional `exp` of X.9 is valid through second X + leeway, so a used
/// assertion id must be kept through it too).
pub(crate) fn valid_until(exp: f64, leeway: u64) -> u64 {
    let end = (exp + leeway as f64).ceil();
    if end >= u64::MAX as f64 {
        u64::MAX
    } else {
        end as u64
    }
}

/// Checks [`Lifetime`] of `claims`; the issuer's rules (a longest lifetime)
/// are the caller's.
pub(crate) fn check_lifetime(
    claims: &Map<String, Value>,
    now: u64,
    leeway: u64,
) -> Result<Lifetime, TokenError> {
    use TokenErrorKind::*;
    let now_f = now as f64;
    let leeway_f = leeway as f64;
    let exp = match claims.get("exp") {
        None => return fail(MissingExp, "the token has no exp claim"),
        Some(v) => numeric_date(v).ok_or_else(|| TokenError {
            kind: InvalidExp,
            detail: format!("exp must be a non-negative number, not {}", preview(v)),
        })?,
    };
    let valid_until = valid_until(exp, leeway);
    if now >= valid_until {
        return fail(
            Expired,
            format!(
                "exp {} is in the past (now {}, leeway {}s)",
                instant(exp),
                instant(now_f),
                leeway
            ),
        );
    }
    if let Some(v) = claims.get("nbf") {
        let nbf = numeric_date(v).ok_or_else(|| TokenError {
            kind: InvalidNbf,
            detail: format!("nbf must be a non-negative number, not {}", preview(v)),
        })?;
        if nbf > now_f + leeway_f {
            return fail(
                NotYetValid,
                format!(
                    "nbf {} is in the future (now {}, leeway {}s)",
                    instant(nbf),
                    instant(now_f),
                    leeway
                ),
            );
        }
    }
    let iat = match claims.get("iat") {
        None => None,
        Some(v) => Some(numeric_date(v).ok_or_else(|| TokenError {
            kind: InvalidIat,
            detail: format!("iat must be a non-negative number, not {}", preview(v)),
        })?),
    };
    if let Some(iat) = iat {
        if iat > now_f + leeway_f {
            return fail(
                IssuedInFuture,
                format!(
                    "iat {} is in the future (now {}, leeway {}s)",
                    instant(iat),
                    instant(now_f),
                    leeway
                ),
            );
        }
    }
    Ok(Lifetime {
        exp,
        iat,
        valid_until,
    })
}

/// Whether `aud` (a string, or a non-empty array of strings) names an
/// audience `accepted` takes: `Ok(false)` when it names none, an error when
/// it is missing or of another shape.
pub(crate) fn audience_accepted(
    aud: Option<&Value>,
    accepted: impl Fn(&str) -> bool,
) -> Result<bool, TokenError> {
    use TokenErrorKind::*;
    match aud {
        None => fail(MissingAudience, "the token has no aud claim"),
        Some(Value::String(a)) => Ok(accepted(a)),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut any = false;
            for item in items {
                match item {
                    Value::String(a) => any |= accepted(a),
                    other => {
                        return fail(
                            InvalidAudience,
                            format!("aud entries must be strings, not {}", preview(other)),
                        )
                    }
                }
            }
            Ok(any)
        }
        Some(other) => fail(
            InvalidAudience,
            format!(
                "aud must be a string or a non-empty array of strings, not {}",
                preview(other)
            ),
        ),
    }
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
    fn json_pointers_reach_keys_with_dots() {
        let claims = obj(
            json!({"resource_access": {"pa.admin": {"roles": ["admin"]}, "a/b": {"c~d": 1}},
                                 "list": [{"x": "y"}], "pa.admin": "top"}),
        );
        let at = |p: &str| ClaimPath::parse(p).unwrap().lookup(&claims).cloned();
        assert_eq!(
            at("/resource_access/pa.admin/roles"),
            Some(json!(["admin"]))
        );
        assert_eq!(at("/resource_access/a~1b/c~0d"), Some(json!(1)));
        assert_eq!(at("/list/0/x"), Some(json!("y")));
        assert_eq!(at("/list/00/x"), None);
        assert_eq!(at("/resource_access/pa/admin"), None);
        // The dotted form cannot say it: it reads the top-level key first.
        assert_eq!(at("pa.admin"), Some(json!("top")));
        assert_eq!(at("resource_access.pa.admin.roles"), None);
        assert!(ClaimPath::parse("/a~2b").is_err());
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
        assert_eq!(
            scopes(&obj(json!({"scope": ["admin", "openid"]}))).unwrap(),
            ["admin", "openid"]
        );
        assert_eq!(
            scopes(&obj(json!({"scope": ["a b", "c"]}))).unwrap(),
            ["a", "b", "c"]
        );
        assert!(scopes(&obj(json!({"scope": ["a", 1]}))).is_err());
        assert!(scopes(&obj(json!({"scope": 1}))).is_err());
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
