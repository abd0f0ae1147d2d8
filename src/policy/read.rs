//! Reading JSON into typed parts, each error naming the JSON path of the
//! value at fault and what belongs there: the policy document's
//! ([`super::document`]) and the npm package's arguments (`src/web/`).
//!
//! Written out rather than derived with serde: a derived reader wrapped for
//! error paths was a fifth of the browser module, and its messages named
//! serde's types ("a sequence", "struct RoleDocument") instead of JSON's.

use super::error::{JsonPath, PolicyError, PolicyErrorCode};
use serde_json::{Map, Value};

/// A part of the document that is read from one JSON value.
pub(crate) trait Read: Sized {
    /// What the value must be, for messages: "a string", "an object".
    const EXPECTED: &'static str;

    /// Reads `value`, found at `path`.
    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError>;
}

/// One JSON object of the document, whose members are read by name. Members
/// it does not declare are errors: a typo must never weaken a policy.
pub(crate) struct Object<'a> {
    members: &'a Map<String, Value>,
    path: &'a JsonPath,
}

impl<'a> Object<'a> {
    /// `value` (at `path`) as an object whose members are among `fields`.
    pub fn new(
        value: &'a Value,
        path: &'a JsonPath,
        fields: &[&str],
    ) -> Result<Object<'a>, PolicyError> {
        let Value::Object(members) = value else {
            return Err(wrong_type(path, "an object", value));
        };
        // The smallest unknown name, so every build (with or without the
        // members' written order) reports the same one.
        if let Some(unknown) = members
            .keys()
            .filter(|name| !fields.contains(&name.as_str()))
            .min()
        {
            return Err(unknown_field(&path.field(unknown), unknown, fields));
        }
        Ok(Object { members, path })
    }

    /// A member that must be present (and not null).
    pub fn required<T: Read>(&self, name: &str) -> Result<T, PolicyError> {
        match self.members.get(name) {
            None | Some(Value::Null) => Err(PolicyError::missing(
                &self.path.field(name),
                format!("missing field `{name}`: add {}", T::EXPECTED),
            )),
            Some(value) => T::read(value, &self.path.field(name)),
        }
    }

    /// A member that may be absent or null.
    pub fn optional<T: Read>(&self, name: &str) -> Result<Option<T>, PolicyError> {
        match self.members.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::read(value, &self.path.field(name)).map(Some),
        }
    }

    /// A member whose absence means `default`. Null is no absence here: it
    /// is refused like any other value of the wrong type.
    pub fn or<T: Read>(&self, name: &str, default: T) -> Result<T, PolicyError> {
        match self.members.get(name) {
            None => Ok(default),
            Some(value) => T::read(value, &self.path.field(name)),
        }
    }

    /// A member whose absence means `T::default()` (a list: none).
    pub fn or_default<T: Read + Default>(&self, name: &str) -> Result<T, PolicyError> {
        self.or(name, T::default())
    }
}

/// Declares a struct read from a JSON object, each member with how it is
/// read (`required`, `optional`, `or_default` or `or(default)`), and its
/// [`Read`]: the members declared are the only names accepted, so no
/// member can be accepted and then never read. `pub struct Name: "an
/// object like …" { … }` says what the object is in messages.
macro_rules! json_object {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident $(: $expected:literal)? {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident: $type:ty = $how:ident $(($default:expr))?,
            )*
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$field_meta])*
                pub $field: $type,
            )*
        }

        #[allow(dead_code)]
        impl $name {
            /// The member names, in the order they are read.
            pub(crate) const MEMBERS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        impl Read for $name {
            const EXPECTED: &'static str = json_object!(@expected $($expected)?);

            fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
                let object = $crate::policy::read::Object::new(value, path, Self::MEMBERS)?;
                Ok($name {
                    $($field: object.$how(stringify!($field) $(, $default)?)?,)*
                })
            }
        }
    };
    (@expected) => { "an object" };
    (@expected $expected:literal) => { $expected };
}
pub(crate) use json_object;

/// The error for `value` at `path` not being what `expected` says.
pub(crate) fn wrong_type(path: &JsonPath, expected: &str, value: &Value) -> PolicyError {
    PolicyError::wrong_type(
        path,
        format!("expected {expected}, not {}", describe(value)),
    )
}

/// A JSON value named for people: `the string "x"`, `a list`, `null`.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{}\"", s.escape_debug()),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn unknown_field(path: &JsonPath, name: &str, fields: &[&str]) -> PolicyError {
    let near = fields
        .iter()
        .filter(|field| {
            super::lint::edit_distance(field, name) <= 2
                || (!name.is_empty() && field.starts_with(name))
        })
        .map(|field| format!(" did you mean `{field}`?"))
        .next()
        .unwrap_or_default();
    let fields: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    PolicyError::new(
        path.to_string(),
        PolicyErrorCode::UnknownField,
        format!(
            "unknown field `{name}`;{near} expected one of {} (fields are case-sensitive; \
             remove or rename it)",
            fields.join(", ")
        ),
    )
}

/// Reads a string that names one of `variants` (snake_case, as written in JSON).
pub(crate) fn variant<T: Copy>(
    value: &Value,
    path: &JsonPath,
    variants: &[(&str, T)],
) -> Result<T, PolicyError> {
    let names: Vec<String> = variants.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let Value::String(text) = value else {
        return Err(wrong_type(
            path,
            &format!("one of {}", names.join(", ")),
            value,
        ));
    };
    variants
        .iter()
        .find(|(name, _)| name == text)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            PolicyError::value(
                path,
                format!(
                    "unknown value \"{}\"; expected one of {}",
                    text.escape_debug(),
                    names.join(", ")
                ),
            )
        })
}

impl Read for String {
    const EXPECTED: &'static str = "a string";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            other => Err(wrong_type(path, Self::EXPECTED, other)),
        }
    }
}

impl Read for bool {
    const EXPECTED: &'static str = "true or false";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(wrong_type(path, Self::EXPECTED, other)),
        }
    }
}

impl Read for u64 {
    const EXPECTED: &'static str = "a whole number from 0";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        match value {
            Value::Number(n) => n.as_u64().ok_or_else(|| {
                PolicyError::value(path, format!("expected {}, not {n}", Self::EXPECTED))
            }),
            other => Err(wrong_type(path, Self::EXPECTED, other)),
        }
    }
}

impl Read for f64 {
    const EXPECTED: &'static str = "a number";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        match value {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| wrong_type(path, Self::EXPECTED, value)),
            other => Err(wrong_type(path, Self::EXPECTED, other)),
        }
    }
}

impl Read for Map<String, Value> {
    const EXPECTED: &'static str = "an object";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        match value {
            Value::Object(members) => Ok(members.clone()),
            other => Err(wrong_type(path, Self::EXPECTED, other)),
        }
    }
}

/// Any JSON value, kept as it is (keys, which are checked on their own).
impl Read for Value {
    const EXPECTED: &'static str = "a value";

    fn read(value: &Value, _: &JsonPath) -> Result<Self, PolicyError> {
        Ok(value.clone())
    }
}

impl<T: Read> Read for Vec<T> {
    const EXPECTED: &'static str = "a list (a JSON array, e.g. [\"...\"])";

    fn read(value: &Value, path: &JsonPath) -> Result<Self, PolicyError> {
        let Value::Array(items) = value else {
            return Err(wrong_type(path, Self::EXPECTED, value));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| T::read(item, &path.index(i)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read<T: Read>(value: Value) -> Result<T, PolicyError> {
        T::read(&value, &JsonPath::root().field("x"))
    }

    #[test]
    fn scalars_say_what_was_expected_and_what_was_found() {
        assert_eq!(read::<String>(json!("a")).unwrap(), "a");
        let e = read::<String>(json!(5)).unwrap_err();
        assert_eq!(
            (e.code, e.to_string().as_str()),
            (
                PolicyErrorCode::InvalidType,
                "x: expected a string, not the number 5"
            )
        );
        assert!(read::<bool>(json!(true)).unwrap());
        assert_eq!(read::<u64>(json!(60)).unwrap(), 60);
        // A number that is no whole number from 0 is a wrong value, not a wrong type.
        for n in [json!(-5), json!(1.5), json!(1e30)] {
            assert_eq!(
                read::<u64>(n.clone()).unwrap_err().code,
                PolicyErrorCode::InvalidValue,
                "{n}"
            );
        }
        assert_eq!(
            read::<u64>(json!("60")).unwrap_err().code,
            PolicyErrorCode::InvalidType
        );
    }

    #[test]
    fn lists_name_the_item_at_fault() {
        assert_eq!(
            read::<Vec<String>>(json!(["a", "b"])).unwrap(),
            vec!["a", "b"]
        );
        let e = read::<Vec<String>>(json!(["a", null])).unwrap_err();
        assert_eq!(e.path, "x[1]");
        let e = read::<Vec<String>>(json!("a")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x: expected a list (a JSON array, e.g. [\"...\"]), not the string \"a\""
        );
    }

    #[test]
    fn objects_refuse_unknown_members_and_suggest_the_nearest() {
        let path = JsonPath::root();
        let value = json!({"leeway": 1, "zz": 2});
        let e = Object::new(&value, &path, &["issuer", "leeway_seconds"])
            .err()
            .unwrap();
        assert_eq!(
            (e.code, e.path.as_str()),
            (PolicyErrorCode::UnknownField, "leeway")
        );
        assert!(e.message.contains("did you mean `leeway_seconds`?"), "{e}");
        assert!(
            e.message
                .contains("expected one of `issuer`, `leeway_seconds`"),
            "{e}"
        );

        let value = json!({"a": "x", "b": null});
        let o = Object::new(&value, &path, &["a", "b", "c"]).unwrap();
        assert_eq!(o.required::<String>("a").unwrap(), "x");
        assert_eq!(o.optional::<String>("b").unwrap(), None);
        assert_eq!(
            o.or_default::<Vec<String>>("c").unwrap(),
            Vec::<String>::new()
        );
        assert!(o.or("c", true).unwrap());
        // Null is not "leave it out" where a default applies: it is a wrong type.
        assert_eq!(
            o.or_default::<Vec<String>>("b").unwrap_err().code,
            PolicyErrorCode::InvalidType
        );
        assert_eq!(
            o.required::<String>("b").unwrap_err().code,
            PolicyErrorCode::MissingField
        );
        let e = o.required::<String>("c").unwrap_err();
        assert_eq!(
            (e.code, e.path.as_str()),
            (PolicyErrorCode::MissingField, "c")
        );
        assert!(e.message.starts_with("missing field `c`"), "{e}");

        let e = Object::new(&json!([]), &path, &["a"]).err().unwrap();
        assert_eq!(e.code, PolicyErrorCode::InvalidType);
    }

    #[test]
    fn variants_list_the_accepted_names() {
        let v = [("enforce", 1), ("dry_run", 2)];
        let path = JsonPath::root().field("mode");
        assert_eq!(variant(&json!("dry_run"), &path, &v).unwrap(), 2);
        let e = variant(&json!("dry-run"), &path, &v).unwrap_err();
        assert_eq!(e.code, PolicyErrorCode::InvalidValue);
        assert!(e.message.contains("\"enforce\", \"dry_run\""), "{e}");
        assert_eq!(
            variant(&json!(1), &path, &v).unwrap_err().code,
            PolicyErrorCode::InvalidType
        );
    }
}
