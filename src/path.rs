//! Request-target canonicalisation. Every spelling of a path that an upstream
//! could read as the same resource must canonicalise to one string, and every
//! spelling whose meaning differs between servers (`%2F`, `;`, `\`, overlong
//! UTF-8, double encoding) is refused rather than guessed at.

use std::fmt;

/// A request path in canonical form plus the untouched query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPath {
    /// Starts with `/`; no `.`/`..` or empty segments; only unreserved characters
    /// are decoded; every other escape is upper-case `%XX`. A trailing slash is kept.
    pub path: String,
    /// The raw query after `?`, if any.
    pub query: Option<String>,
}

impl CanonicalPath {
    /// The segments used for matching: a trailing slash does not make a segment.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter(|s| !s.is_empty())
    }

    /// What the upstream receives: the canonical path and the original query.
    pub fn with_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Why a path was refused (decision reason `invalid_path`, status 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    NotAbsolute,
    Fragment,
    Semicolon,
    Backslash,
    EncodedSlash,
    EncodedBackslash,
    ControlCharacter,
    InvalidPercentEncoding,
    DoubleEncoding,
    InvalidUtf8,
    AboveRoot,
    TooLong,
}

/// Longest request target accepted (Envoy's default header limit is 60 KiB; an
/// admin API path is far shorter).
pub const MAX_PATH_LEN: usize = 8192;

impl PathError {
    /// Stable snake_case code (the decision's `cause`).
    pub fn code(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "path_not_absolute",
            PathError::Fragment => "fragment_in_path",
            PathError::Semicolon => "semicolon_in_path",
            PathError::Backslash => "backslash_in_path",
            PathError::EncodedSlash => "encoded_slash",
            PathError::EncodedBackslash => "encoded_backslash",
            PathError::ControlCharacter => "control_character",
            PathError::InvalidPercentEncoding => "invalid_percent_encoding",
            PathError::DoubleEncoding => "double_encoding",
            PathError::InvalidUtf8 => "invalid_utf8",
            PathError::AboveRoot => "above_root",
            PathError::TooLong => "path_too_long",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "the path must start with '/'",
            PathError::Fragment => "'#' is not allowed in a request path",
            PathError::Semicolon => "';' (path parameters) is not allowed",
            PathError::Backslash => "'\\' is not allowed in a path",
            PathError::EncodedSlash => "an encoded slash (%2F) is not allowed",
            PathError::EncodedBackslash => "an encoded backslash (%5C) is not allowed",
            PathError::ControlCharacter => "control characters (including %00) are not allowed",
            PathError::InvalidPercentEncoding => "'%' must be followed by two hex digits",
            PathError::DoubleEncoding => "double percent-encoding (%25XX) is not allowed",
            PathError::InvalidUtf8 => "the path is not valid UTF-8 (or uses overlong encodings)",
            PathError::AboveRoot => "'..' would go above the root",
            PathError::TooLong => "the path is too long",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Turns raw request-target bytes into a string without losing information:
/// bytes of invalid UTF-8 become `%XX` escapes, which [`canonicalize`] treats
/// exactly as the raw bytes (and refuses as invalid UTF-8).
pub fn from_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    set_from_bytes(&mut out, bytes);
    out
}

/// [`from_bytes`] into `out` (replacing what it held, keeping its buffer).
pub fn set_from_bytes(out: &mut String, bytes: &[u8]) {
    out.clear();
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => {
            out.reserve(bytes.len() * 3);
            for &b in bytes {
                if b.is_ascii() {
                    out.push(char::from(b));
                } else {
                    push_escape(out, b);
                }
            }
        }
    }
}

/// Canonicalises a request target (path plus optional query).
pub fn canonicalize(target: &str) -> Result<CanonicalPath, PathError> {
    if target.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    if target.contains('#') {
        return Err(PathError::Fragment);
    }
    let (raw_path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (target, None),
    };
    if !raw_path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if already_canonical(raw_path) {
        return Ok(CanonicalPath {
            path: raw_path.to_owned(),
            query,
        });
    }
    let mut segments: Vec<String> = Vec::new();
    let mut trailing_slash = false;
    for raw in raw_path.split('/').skip(1) {
        let segment = canonical_segment(raw)?;
        trailing_slash = true;
        match segment.as_str() {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut path = String::with_capacity(raw_path.len());
    for s in &segments {
        path.push('/');
        path.push_str(s);
    }
    if path.is_empty() || trailing_slash {
        path.push('/');
    }
    // Escaping can triple the length; the canonical form must itself be
    // within the limit (and canonicalise to itself).
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    Ok(CanonicalPath { path, query })
}

/// The common case, checked without allocating: only plain characters, no
/// empty or dot segments. Such a path is its own canonical form.
fn already_canonical(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if (segment.is_empty() && !last) || segment == "." || segment == ".." {
            return false;
        }
        if !segment
            .bytes()
            .all(|b| is_unreserved(b) || is_path_delimiter(b))
        {
            return false;
        }
    }
    true
}

/// Canonicalises a policy path pattern's literal segment text; the policy
/// loader requires literals to already be canonical so they can match.
pub(crate) fn canonical_segment(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    // Non-ASCII bytes (raw or escaped) collected until the next ASCII unit, so
    // each run is checked as UTF-8 (this refuses overlong forms and surrogates).
    let mut pending: Vec<u8> = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let (byte, escaped) = if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| hex_value(*c));
            let lo = bytes.get(i + 2).and_then(|c| hex_value(*c));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::InvalidPercentEncoding);
            };
            i += 3;
            (hi << 4 | lo, true)
        } else {
            i += 1;
            (b, false)
        };
        if byte >= 0x80 {
            pending.push(byte);
            continue;
        }
        flush_utf8(&mut pending, &mut out)?;
        match byte {
            b'/' if escaped => return Err(PathError::EncodedSlash),
            b'\\' if escaped => return Err(PathError::EncodedBackslash),
            b'\\' => return Err(PathError::Backslash),
            b';' if !escaped => return Err(PathError::Semicolon),
            0x00..=0x1f | 0x7f => return Err(PathError::ControlCharacter),
            b'%' => out.push_str("%25"),
            _ if is_unreserved(byte) => out.push(char::from(byte)),
            _ if !escaped && is_path_delimiter(byte) => out.push(char::from(byte)),
            _ => push_escape(&mut out, byte),
        }
    }
    flush_utf8(&mut pending, &mut out)?;
    // `%25` followed by hex digits in the result would decode to another
    // escape on a second decode: servers that decode twice would see another
    // path. Checked on the output, so decoded letters (`%25%62%65`) count too.
    let bytes = out.as_bytes();
    let double = out.match_indices("%25").any(|(i, _)| {
        matches!(
            (bytes.get(i + 3), bytes.get(i + 4)),
            (Some(a), Some(b)) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit()
        )
    });
    if double {
        return Err(PathError::DoubleEncoding);
    }
    Ok(out)
}

fn flush_utf8(pending: &mut Vec<u8>, out: &mut String) -> Result<(), PathError> {
    if pending.is_empty() {
        return Ok(());
    }
    if std::str::from_utf8(pending).is_err() {
        return Err(PathError::InvalidUtf8);
    }
    for &b in pending.iter() {
        push_escape(out, b);
    }
    pending.clear();
    Ok(())
}

fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    for nibble in [byte >> 4, byte & 0x0f] {
        if let Some(&h) = HEX.get(usize::from(nibble)) {
            out.push(char::from(h));
        }
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 unreserved characters: decoding them never changes meaning.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters a path segment may hold raw (RFC 3986 `pchar` minus unreserved;
/// `;` is refused earlier). Their escaped forms stay escaped: `%3A` and `:`
/// may mean different things to an upstream.
fn is_path_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'=' | b':' | b'@'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(p: &str) -> String {
        canonicalize(p)
            .map(|c| c.path)
            .unwrap_or_else(|e| e.code().to_owned())
    }

    #[test]
    fn resolves_dots_and_slashes() {
        assert_eq!(canon("/"), "/");
        assert_eq!(canon("/a/b"), "/a/b");
        assert_eq!(canon("/a//b///c"), "/a/b/c");
        assert_eq!(canon("/a/./b"), "/a/b");
        assert_eq!(canon("/a/b/../c"), "/a/c");
        assert_eq!(canon("/a/b/.."), "/a/");
        assert_eq!(canon("/a/b/."), "/a/b/");
        assert_eq!(canon("/a/"), "/a/");
        assert_eq!(canon("//"), "/");
        assert_eq!(canon("/a/.."), "/");
        assert_eq!(canon("/.."), "above_root");
        assert_eq!(canon("/a/../.."), "above_root");
        assert_eq!(canon("/a/%2e%2E/b"), "/b");
        assert_eq!(canon("/a/.%2e/b"), "/b");
        assert_eq!(canon("/a/%2e/b"), "/a/b");
        assert_eq!(canon("/a/..."), "/a/...");
    }

    #[test]
    fn normalises_escapes() {
        assert_eq!(canon("/%61dmin"), "/admin");
        assert_eq!(canon("/a%7eb%2D"), "/a~b-");
        assert_eq!(canon("/a%3ab"), "/a%3Ab");
        assert_eq!(canon("/a:b@c"), "/a:b@c");
        assert_eq!(canon("/a%20b"), "/a%20b");
        assert_eq!(canon("/a b"), "/a%20b");
        assert_eq!(canon("/caf\u{e9}"), "/caf%C3%A9");
        assert_eq!(canon("/caf%c3%a9"), "/caf%C3%A9");
        assert_eq!(canon("/100%25"), "/100%25");
        assert_eq!(canon("/%3B"), "/%3B");
    }

    #[test]
    fn refuses_ambiguous_spellings() {
        assert_eq!(canon("/a%2fb"), "encoded_slash");
        assert_eq!(canon("/a%2Fb"), "encoded_slash");
        assert_eq!(canon("/a%5cb"), "encoded_backslash");
        assert_eq!(canon("/a\\b"), "backslash_in_path");
        assert_eq!(canon("/a;b"), "semicolon_in_path");
        assert_eq!(canon("/a;jsessionid=1/b"), "semicolon_in_path");
        assert_eq!(canon("/a#b"), "fragment_in_path");
        assert_eq!(canon("/a%00"), "control_character");
        assert_eq!(canon("/a\u{7}"), "control_character");
        assert_eq!(canon("/a%0a"), "control_character");
        assert_eq!(canon("/a%"), "invalid_percent_encoding");
        assert_eq!(canon("/a%2"), "invalid_percent_encoding");
        assert_eq!(canon("/a%zz"), "invalid_percent_encoding");
        assert_eq!(canon("/a%252e"), "double_encoding");
        assert_eq!(canon("/a%252F"), "double_encoding");
        // Found by fuzzing: the hex digits come from decoding.
        assert_eq!(canon("/p%25b%65"), "double_encoding");
        assert_eq!(canon("/p%25%62%65"), "double_encoding");
        assert_eq!(canon("/a%c0%ae"), "invalid_utf8");
        assert_eq!(canon("/a%c0%af"), "invalid_utf8");
        assert_eq!(canon("/a%e0%80%ae"), "invalid_utf8");
        assert_eq!(canon("/a%ed%a0%80"), "invalid_utf8");
        assert_eq!(canon("/a%c3"), "invalid_utf8");
        assert_eq!(canon("/a%c3/b"), "invalid_utf8");
        assert_eq!(canon("a/b"), "path_not_absolute");
        assert_eq!(canon(""), "path_not_absolute");
        assert_eq!(canon("*"), "path_not_absolute");
        assert_eq!(canon("http://x/a"), "path_not_absolute");
        assert_eq!(
            canon(&format!("/{}", "a".repeat(MAX_PATH_LEN))),
            "path_too_long"
        );
    }

    #[test]
    fn keeps_the_query_apart() {
        let c = canonicalize("/a/../b?x=/../y&z=%2F").unwrap();
        assert_eq!(c.path, "/b");
        assert_eq!(c.query.as_deref(), Some("x=/../y&z=%2F"));
        assert_eq!(c.with_query(), "/b?x=/../y&z=%2F");
        assert_eq!(canonicalize("/a?").unwrap().with_query(), "/a?");
    }

    #[test]
    fn raw_bytes_round_trip_through_escapes() {
        assert_eq!(from_bytes(b"/ok"), "/ok");
        assert_eq!(from_bytes(b"/a\xc0\xae"), "/a%C0%AE");
        assert_eq!(canon(&from_bytes(b"/a\xc0\xae")), "invalid_utf8");
        assert_eq!(canon(&from_bytes("/caf\u{e9}".as_bytes())), "/caf%C3%A9");
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for p in [
            "/a/%2e%2e/b",
            "/a//b/",
            "/x%41%3a",
            "/caf%c3%a9/..",
            "/%7E/./",
        ] {
            let once = canon(p);
            assert_eq!(canon(&once), once, "{p}");
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_one() {
        let alphabet = [
            "/", "a", ".", "..", "%2e", "%41", ";", "~", ":", "@", "b/", "//",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut p = String::from("/");
            for _ in 0..(state % 7) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                p.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            if already_canonical(&p) {
                assert_eq!(canon(&p), p, "fast path accepted a non-canonical {p}");
            }
            let full = canon(&p);
            if full.starts_with('/') {
                assert!(already_canonical(&full), "{p} -> {full} is canonical");
            }
        }
        for p in ["/", "/a", "/a/", "/a/b/", "/a:b@c", "/~x"] {
            assert!(already_canonical(p), "{p}");
        }
        for p in ["//", "/a//b", "/.", "/a/..", "/a/./", "/%41", "/a b"] {
            assert!(!already_canonical(p), "{p}");
        }
    }

    #[test]
    fn segments_ignore_trailing_slash() {
        let c = canonicalize("/backup/").unwrap();
        assert_eq!(c.segments().collect::<Vec<_>>(), ["backup"]);
        assert_eq!(canonicalize("/").unwrap().segments().count(), 0);
    }
}
