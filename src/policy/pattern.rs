//! Path patterns of rules: literal segments, `*` (one segment) and `**` (any
//! number of segments), compiled once when the policy loads.
//!
//! Patterns that deny (deny rules, `authentication_paths`) match every
//! spelling the upstream may route to the same resource (see
//! [`UpstreamPaths`]): deny beats allow, so matching more there only ever
//! denies more. Allow patterns match exactly.

use crate::request::path::{canonical_segment, UpstreamPaths};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: exactly one non-empty segment.
    One,
    /// `**`: zero or more segments.
    Any,
}

/// A compiled path pattern such as `/agent/*/config/**`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    source: String,
    segments: Vec<Segment>,
    /// Literals match regardless of ASCII case.
    any_case: bool,
    /// A literal also matches the path's last segment with a `.suffix`.
    suffixes: bool,
}

impl PathPattern {
    /// Compiles a pattern; the error says what to write instead.
    pub fn parse(text: &str) -> Result<PathPattern, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "a path pattern must start with '/': write \"/{text}\""
            ));
        };
        let mut segments = Vec::new();
        let parts: Vec<&str> = rest.split('/').collect();
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.iter().enumerate() {
            match *part {
                // A trailing slash does not change what matches.
                "" if i == last => {}
                "" => return Err("empty segment ('//'); merge the slashes".to_owned()),
                "**" => segments.push(Segment::Any),
                "*" => segments.push(Segment::One),
                "." | ".." => {
                    return Err(format!(
                        "'{part}' is not allowed in a pattern; write the path it resolves to"
                    ))
                }
                literal if literal.contains("**") => {
                    return Err("'**' may only be a whole segment".to_owned())
                }
                literal if literal.contains('*') => {
                    return Err("'*' may only be a whole segment".to_owned())
                }
                literal => {
                    let canonical = canonical_segment(literal)
                        .map_err(|e| format!("segment \"{literal}\": {e}"))?;
                    if canonical != literal {
                        return Err(format!(
                            "segment \"{literal}\" is not in canonical form; write \"{canonical}\""
                        ));
                    }
                    segments.push(Segment::Literal(canonical));
                }
            }
        }
        Ok(PathPattern {
            source: text.to_owned(),
            segments,
            any_case: false,
            suffixes: false,
        })
    }

    /// This pattern as a deny: matching every spelling `upstream` routes to
    /// what it names.
    pub fn denying(mut self, upstream: &UpstreamPaths) -> PathPattern {
        self.any_case = upstream.case_insensitive;
        self.suffixes = upstream.format_suffixes;
        self
    }

    /// Whether literal `lit` matches path segment `seg` (the path's last when `last`).
    fn literal_matches(&self, lit: &str, seg: &str, last: bool) -> bool {
        let same = |a: &str, b: &str| {
            if self.any_case {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        if same(lit, seg) {
            return true;
        }
        // `config` matches `config.json`: the literal, a dot, a suffix.
        self.suffixes
            && last
            && seg.len() > lit.len() + 1
            && seg.as_bytes().get(lit.len()) == Some(&b'.')
            && seg.get(..lit.len()).is_some_and(|head| same(lit, head))
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the path's segments match. Glob matching with `*` as "one
    /// segment" and `**` as "any run": linear backtracking to the last `**`.
    pub fn matches(&self, path: &[&str]) -> bool {
        let pattern = &self.segments;
        let (mut p, mut s) = (0usize, 0usize);
        let mut resume: Option<(usize, usize)> = None;
        loop {
            let seg = path.get(s);
            match (pattern.get(p), seg) {
                (Some(Segment::Any), _) => {
                    resume = Some((p, s));
                    p += 1;
                    continue;
                }
                (Some(Segment::One), Some(_)) => {
                    p += 1;
                    s += 1;
                    continue;
                }
                (Some(Segment::Literal(lit)), Some(seg))
                    if self.literal_matches(lit, seg, s + 1 == path.len()) =>
                {
                    p += 1;
                    s += 1;
                    continue;
                }
                (None, None) => return true,
                _ => {}
            }
            // Mismatch: let the last `**` swallow one more segment, if any remain.
            match resume {
                Some((rp, rs)) if rs < path.len() => {
                    resume = Some((rp, rs + 1));
                    p = rp + 1;
                    s = rs + 1;
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        PathPattern::parse(pattern).unwrap().matches(&segs)
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(m("/", "/"));
        assert!(!m("/", "/a"));
        assert!(m("/users", "/users"));
        assert!(m("/users", "/users/"));
        assert!(!m("/users", "/users/1"));
        assert!(!m("/users", "/Users"));
        assert!(m("/users/*", "/users/1"));
        assert!(!m("/users/*", "/users"));
        assert!(!m("/users/*", "/users/1/2"));
        assert!(m("/users/**", "/users"));
        assert!(m("/users/**", "/users/"));
        assert!(m("/users/**", "/users/1/2/3"));
        assert!(!m("/users/**", "/usersX"));
        assert!(m("/**", "/"));
        assert!(m("/**", "/a/b"));
        assert!(m("/agent/*/config/**", "/agent/7/config"));
        assert!(m("/agent/*/config/**", "/agent/7/config/x/y"));
        assert!(!m("/agent/*/config/**", "/agent/config"));
        assert!(!m("/agent/*/config/**", "/agent/7/8/config"));
        assert!(m("/**/config", "/a/b/config"));
        assert!(m("/**/config", "/config"));
        assert!(m("/a/**/b/**/c", "/a/x/b/y/z/c"));
        assert!(!m("/a/**/b/**/c", "/a/x/c/b"));
        assert!(m("/backup/", "/backup"));
    }

    #[test]
    fn deny_patterns_match_what_the_upstream_routes_there() {
        let deny = |pattern: &str, path: &str, upstream: UpstreamPaths| {
            let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            PathPattern::parse(pattern)
                .unwrap()
                .denying(&upstream)
                .matches(&segs)
        };
        let all = UpstreamPaths::default();
        for path in [
            "/config",
            "/Config",
            "/CONFIG/x",
            "/config.json",
            "/Config.XML",
            "/config/a.json",
        ] {
            assert!(deny("/config/**", path, all), "{path}");
        }
        assert!(deny("/agent/*/config/**", "/Agent/1/Config", all));
        assert!(deny("/agent/*/config/**", "/agent/1/config.json", all));
        assert!(deny("/users/*", "/Users/1.json", all));
        // A suffix only on the path's last segment; no suffix without a dot.
        assert!(!deny("/config/**", "/config.d/x", all));
        assert!(!deny("/config/**", "/configs", all));
        assert!(!deny("/config/**", "/config.", all));
        assert!(!deny("/users/*", "/users.json/1", all));
        let exact = UpstreamPaths {
            case_insensitive: false,
            format_suffixes: false,
            ..all
        };
        assert!(!deny("/config/**", "/Config", exact));
        assert!(!deny("/config/**", "/config.json", exact));
        assert!(deny("/config/**", "/config/x", exact));
        // Allow patterns stay exact.
        assert!(!m("/config/**", "/Config"));
        assert!(!m("/config/**", "/config.json"));
    }

    #[test]
    fn many_globs_stay_fast() {
        let pattern = format!("/{}x", "**/".repeat(30));
        let path = vec!["a"; 200];
        assert!(!PathPattern::parse(&pattern).unwrap().matches(&path));
    }

    #[test]
    fn errors_say_what_to_write() {
        let err = |p: &str| PathPattern::parse(p).unwrap_err();
        assert_eq!(err("/a**"), "'**' may only be a whole segment");
        assert_eq!(err("/a*"), "'*' may only be a whole segment");
        assert_eq!(
            err("users"),
            "a path pattern must start with '/': write \"/users\""
        );
        assert!(err("/a//b").contains("merge"));
        assert!(err("/a/../b").contains("'..'"));
        assert!(err("/%61").contains("write \"a\""));
        assert!(err("/a;b").contains("';'"));
        assert!(err("/a%2Fb").contains("encoded slash"));
    }
}
