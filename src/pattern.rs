//! Path patterns of rules: literal segments, `*` (one segment) and `**` (any
//! number of segments), compiled once when the policy loads.

use crate::path::canonical_segment;

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
        })
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
                (Some(Segment::Literal(lit)), Some(seg)) if lit == seg => {
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
