//! HTTP methods in rules: `read` (GET, HEAD), `write` (every other method),
//! `*`, or exact upper-case names.

/// Methods that are never allowed, whatever a rule says: TRACE reflects
/// credentials back, CONNECT turns the proxy into a tunnel.
pub const NEVER_ALLOWED: [&str; 2] = ["TRACE", "CONNECT"];

/// Headers that frameworks use to run a POST as another method.
pub const OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Why a method (or a method override) cannot be judged as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodProblem {
    /// Not an RFC 9110 token.
    NotToken,
    /// Holds lower-case letters: servers upper-case it before dispatching,
    /// so it would be judged as one method and run as another.
    LowerCase,
}

/// What keeps `method` from being judged as it is; `None` for an
/// upper-case token.
pub fn method_problem(method: &str) -> Option<MethodProblem> {
    if !is_token(method) {
        Some(MethodProblem::NotToken)
    } else if method.bytes().any(|b| b.is_ascii_lowercase()) {
        Some(MethodProblem::LowerCase)
    } else {
        None
    }
}

/// The query parameter frameworks read as a method override: Express's
/// `method-override('_method')`, Laravel, Symfony and Rails.
const QUERY_OVERRIDE: &str = "_method";

/// The values of every `_method` parameter in `query`, decoded, under every
/// spelling a framework may read as it: any case (ASP.NET-style lookups),
/// percent-encoded (`_%6Dethod`), as a `qs`/Rack array or hash member
/// (`_method[]`, `_method[0]`), with `&` or `;` between parameters.
pub fn query_method_overrides(query: Option<&str>) -> impl Iterator<Item = String> + '_ {
    query
        .into_iter()
        .flat_map(|q| q.split(['&', ';']))
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = crate::request::percent_decode_lossy(name);
            let base = name.split_once('[').map_or(name.as_str(), |(base, _)| base);
            base.trim()
                .eq_ignore_ascii_case(QUERY_OVERRIDE)
                .then(|| crate::request::percent_decode_lossy(value))
        })
}

/// Whether a method only reads (RFC 9110 safe methods that admin APIs use).
pub fn is_read(method: &str) -> bool {
    matches!(method, "GET" | "HEAD")
}

/// RFC 9110 `token`: what a method name may consist of.
pub fn is_token(method: &str) -> bool {
    !method.is_empty()
        && method.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// The methods one rule covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodSet {
    read: bool,
    write: bool,
    names: Vec<String>,
}

impl MethodSet {
    /// Parses a rule's `methods` entry into the set; the error says what to write.
    pub fn add(&mut self, entry: &str) -> Result<(), String> {
        match entry {
            "read" => self.read = true,
            "write" => self.write = true,
            "*" => {
                self.read = true;
                self.write = true;
            }
            name if is_token(name) && name.bytes().all(|b| !b.is_ascii_lowercase()) => {
                self.names.push(name.to_owned())
            }
            name if is_token(name) => {
                return Err(format!(
                    "methods are case-sensitive: write \"{}\", or \"read\", \"write\" or \"*\"",
                    name.to_ascii_uppercase()
                ))
            }
            other => {
                return Err(format!(
                    "\"{}\" is not a method; use \"read\", \"write\", \"*\" or a name like \"GET\"",
                    other.escape_debug()
                ))
            }
        }
        Ok(())
    }

    /// The set in a person's words: `every method`, `reads (GET, HEAD)`,
    /// `writes (every method but GET and HEAD)`, then any names.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = match (self.read, self.write) {
            (true, true) => vec!["every method".to_owned()],
            (true, false) => vec!["reads (GET, HEAD)".to_owned()],
            (false, true) => vec!["writes (every method but GET and HEAD)".to_owned()],
            (false, false) => Vec::new(),
        };
        parts.extend(self.names.iter().cloned());
        parts.join(", ")
    }

    pub fn contains(&self, method: &str) -> bool {
        if is_read(method) {
            self.read || self.names.iter().any(|n| n == method)
        } else {
            self.write || self.names.iter().any(|n| n == method)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(entries: &[&str]) -> MethodSet {
        let mut s = MethodSet::default();
        for e in entries {
            s.add(e).unwrap();
        }
        s
    }

    #[test]
    fn classes() {
        let read = set(&["read"]);
        assert!(read.contains("GET") && read.contains("HEAD"));
        assert!(!read.contains("POST") && !read.contains("OPTIONS"));
        assert!(!read.contains("get"));
        let write = set(&["write"]);
        assert!(write.contains("POST") && write.contains("PATCH") && write.contains("PURGE"));
        assert!(!write.contains("GET"));
        let named = set(&["DELETE"]);
        assert!(named.contains("DELETE") && !named.contains("PUT"));
        let all = set(&["*"]);
        assert!(all.contains("GET") && all.contains("DELETE"));
    }

    #[test]
    fn errors() {
        let mut s = MethodSet::default();
        assert!(s.add("get").unwrap_err().contains("write \"GET\""));
        assert!(s.add("G ET").unwrap_err().contains("not a method"));
        assert!(s.add("").is_err());
    }

    #[test]
    fn one_rule_for_methods_and_overrides() {
        assert_eq!(method_problem("DELETE"), None);
        assert_eq!(method_problem("M-SEARCH"), None);
        assert_eq!(method_problem("delete"), Some(MethodProblem::LowerCase));
        assert_eq!(method_problem("Delete"), Some(MethodProblem::LowerCase));
        assert_eq!(method_problem("DE LETE"), Some(MethodProblem::NotToken));
        assert_eq!(method_problem(""), Some(MethodProblem::NotToken));
    }

    #[test]
    fn query_overrides_in_every_spelling() {
        let found = |q: &str| query_method_overrides(Some(q)).collect::<Vec<_>>();
        assert_eq!(found("_method=DELETE"), ["DELETE"]);
        assert_eq!(found("a=1&_method=put"), ["put"]);
        assert_eq!(found("_%6Dethod=DELETE"), ["DELETE"]);
        assert_eq!(found("_METHOD=DELETE;_Method=PUT"), ["DELETE", "PUT"]);
        assert_eq!(
            found("_method[]=DELETE&_method%5B0%5D=PATCH"),
            ["DELETE", "PATCH"]
        );
        assert_eq!(found("_method=DE+LETE"), ["DE LETE"]);
        assert_eq!(found("_method"), [""]);
        assert!(found("method=DELETE&x_method=PUT&_methods=PUT").is_empty());
        assert!(query_method_overrides(None).next().is_none());
    }

    #[test]
    fn tokens() {
        assert!(is_token("GET") && is_token("M-SEARCH"));
        assert!(!is_token("") && !is_token("GE T") && !is_token("GET\r\n"));
    }
}
