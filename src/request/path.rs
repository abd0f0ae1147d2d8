//! Request-target canonicalisation. Every spelling of a path that an upstream
//! could read as the same resource must canonicalise to one string, and every
//! spelling whose meaning differs between servers (`%2F`, `;`, `\`, overlong
//! UTF-8, double encoding) is refused rather than guessed at.

use std::fmt;

/// A request path in canonical form plus the untouched query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPath {
    /// Starts with `/`; no `.`/`..` or empty segments; unreserved characters,
    /// sub-delimiters, `:` and `@` are decoded; every other escape is
    /// upper-case `%XX`. A trailing slash is kept.
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
    /// A segment ends in `.` or a space, which IIS and Windows file
    /// servers drop (`config.` is `config` there).
    TrailingDotOrSpace,
    /// A segment's Unicode text changes under compatibility normalisation
    /// (NFKC: fullwidth `ｃｏｎｆｉｇ`, the Kelvin sign) or holds a letter
    /// whose case mapping is ASCII (dotless `ı`, dotted `İ`): upstreams that
    /// normalise or fold case would read another resource.
    UnicodeLookalike,
}

/// What the upstream may do with a path beyond RFC 3986, so rolegate
/// judges the resource the upstream will serve. Each is assumed unless the
/// policy says otherwise (`upstream_paths`): assuming it only ever denies
/// more, while not assuming what the upstream does lets a spelling past a deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamPaths {
    /// Routes `/Config` as `/config` (Express, ASP.NET, IIS): deny patterns,
    /// `authentication_paths` and the prefix match ASCII case-insensitively.
    pub case_insensitive: bool,
    /// Routes `/config.json` as `/config` (Spring suffix patterns, Rails
    /// `(.:format)`): a deny pattern's literal also matches the path's last
    /// segment with a `.suffix`.
    pub format_suffixes: bool,
    /// Drops trailing dots and spaces of a segment (IIS): such paths are refused.
    pub trims_dots_and_spaces: bool,
    /// Normalises Unicode or folds its case: segments that would change are refused.
    pub folds_unicode: bool,
}

impl Default for UpstreamPaths {
    fn default() -> Self {
        UpstreamPaths {
            case_insensitive: true,
            format_suffixes: true,
            trims_dots_and_spaces: true,
            folds_unicode: true,
        }
    }
}

/// Refuses a canonical path whose segments an upstream described by
/// `upstream` could read as another resource (see [`PathError::TrailingDotOrSpace`]
/// and [`PathError::UnicodeLookalike`]).
pub fn check_upstream_spelling(canonical: &str, upstream: &UpstreamPaths) -> Result<(), PathError> {
    for segment in canonical.split('/').filter(|s| !s.is_empty()) {
        // Leading spaces too: Spring's `trimTokens` trims both ends.
        if upstream.trims_dots_and_spaces
            && (segment.ends_with('.') || segment.ends_with("%20") || segment.starts_with("%20"))
        {
            return Err(PathError::TrailingDotOrSpace);
        }
        // Canonical segments hold non-ASCII text only as upper-case %XX
        // escapes of bytes >= 0x80.
        let non_ascii = segment
            .as_bytes()
            .windows(2)
            .any(|w| matches!(w, [b'%', b'8'..=b'9' | b'A'..=b'F']));
        if upstream.folds_unicode && non_ascii && !stable_unicode(&decode_escapes(segment)) {
            return Err(PathError::UnicodeLookalike);
        }
    }
    Ok(())
}

/// Whether text is its own NFKC form, holds no letter whose full case
/// mapping yields ASCII (`ß` -> `SS`, `ı` -> `I`, `İ` -> `i̇`, `ſ` -> `S`,
/// the Kelvin sign -> `k`), and no invisible character a server may drop
/// (zero-width space and joiners, soft hyphen, variation selectors, BOM).
fn stable_unicode(text: &str) -> bool {
    // The quick check answers from one small table (the full normalisation
    // would bring the decomposition tables into every module): "yes" means
    // NFKC leaves the text as it is; "maybe" (a combining mark that could
    // compose) is refused as well, which only ever refuses more.
    use unicode_normalization::{is_nfkc_quick, IsNormalized};
    !text
        .chars()
        .any(|c| CASE_FOLDS_TO_ASCII.contains(&c) || is_default_ignorable(c))
        && is_nfkc_quick(text.chars()) == IsNormalized::Yes
}

/// Every non-ASCII character whose full upper- or lower-case mapping holds
/// an ASCII letter: a list, not `char::to_uppercase`, whose tables would
/// add 13 KiB gzip to the browser's module (a unit test derives the list
/// from the standard library's mappings, so it cannot go stale unnoticed).
const CASE_FOLDS_TO_ASCII: [char; 19] = [
    '\u{DF}', '\u{130}', '\u{131}', '\u{149}', '\u{17F}', '\u{1F0}', '\u{1E96}', '\u{1E97}',
    '\u{1E98}', '\u{1E99}', '\u{1E9A}', '\u{212A}', '\u{FB00}', '\u{FB01}', '\u{FB02}', '\u{FB03}',
    '\u{FB04}', '\u{FB05}', '\u{FB06}',
];

/// Unicode's Default_Ignorable_Code_Point: characters rendered as nothing,
/// which some normalisers and case-folding lookups drop (`con\u{200B}fig`).
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The text a canonical segment's escapes stand for (canonical segments
/// are valid UTF-8 once decoded; anything else is replaced, never matched).
fn decode_escapes(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| hex_value(*c));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
            PathError::TrailingDotOrSpace => "trailing_dot_or_space",
            PathError::UnicodeLookalike => "unicode_lookalike",
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
            PathError::TrailingDotOrSpace => {
                "a path segment ends in '.' or a space, which some servers drop \
                 (set upstream_paths.trims_dots_and_spaces to false if yours does not)"
            }
            PathError::UnicodeLookalike => {
                "a path segment holds Unicode that servers may normalise or case-fold \
                 into other text (fullwidth letters, ligatures, the Kelvin sign, dotless i); \
                 set upstream_paths.folds_unicode to false if yours does neither"
            }
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
            // `%3B` too: servers that decode before stripping path
            // parameters would cut the segment there.
            b';' => return Err(PathError::Semicolon),
            0x00..=0x1f | 0x7f => return Err(PathError::ControlCharacter),
            b'%' => out.push_str("%25"),
            _ if is_unreserved(byte) => out.push(char::from(byte)),
            // Decoded like unreserved characters: WSGI's PATH_INFO,
            // servlets, Go's URL.Path and ASP.NET decode `%3A` to `:`, so a
            // deny on `config:export` must see both spellings as one, and
            // the upstream is sent that one.
            _ if is_path_delimiter(byte) => out.push(char::from(byte)),
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

/// Characters a path segment may hold raw (RFC 3986 `pchar` minus
/// unreserved; `;` is refused earlier). Their escapes are decoded: the
/// servers upstream of rolegate decode them before routing, so `%3A` and
/// `:` are one resource there, and rolegate judges and forwards one spelling.
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
        // Sub-delimiters, ':' and '@' decode: upstreams read them so.
        assert_eq!(canon("/a%3ab"), "/a:b");
        assert_eq!(canon("/v1/config%3Aexport"), "/v1/config:export");
        assert_eq!(canon("/users/%40me"), "/users/@me");
        assert_eq!(canon("/a%2Bb%21%24%26%27%28%29%2A%2C%3D"), "/a+b!$&'()*,=");
        assert_eq!(canon("/a:b@c"), "/a:b@c");
        assert_eq!(canon("/a%20b"), "/a%20b");
        assert_eq!(canon("/a b"), "/a%20b");
        assert_eq!(canon("/caf\u{e9}"), "/caf%C3%A9");
        assert_eq!(canon("/caf%c3%a9"), "/caf%C3%A9");
        assert_eq!(canon("/100%25"), "/100%25");
        assert_eq!(canon("/%3F%23"), "/%3F%23");
    }

    #[test]
    fn refuses_ambiguous_spellings() {
        assert_eq!(canon("/a%2fb"), "encoded_slash");
        assert_eq!(canon("/a%2Fb"), "encoded_slash");
        assert_eq!(canon("/a%5cb"), "encoded_backslash");
        assert_eq!(canon("/a\\b"), "backslash_in_path");
        assert_eq!(canon("/a;b"), "semicolon_in_path");
        assert_eq!(canon("/a;jsessionid=1/b"), "semicolon_in_path");
        assert_eq!(canon("/a%3Bb"), "semicolon_in_path");
        assert_eq!(canon("/a%3bjsessionid=1"), "semicolon_in_path");
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
    fn spellings_an_upstream_may_fold_are_refused() {
        let check = |p: &str, upstream: &UpstreamPaths| {
            let c = canonicalize(p).unwrap();
            check_upstream_spelling(&c.path, upstream).map_err(PathError::code)
        };
        let all = UpstreamPaths::default();
        for p in [
            "/config.",
            "/config..",
            "/config%2e",
            "/a/config%20",
            "/a/config%20/x",
            "/config%20.",
            "/a/...",
            "/%20config",
            "/a/%20%20backup/x",
        ] {
            assert_eq!(check(p, &all), Err("trailing_dot_or_space"), "{p}");
        }
        for p in [
            "/\u{ff43}\u{ff4f}\u{ff4e}\u{ff46}\u{ff49}\u{ff47}", // fullwidth config
            "/%EF%BD%83onfig",                                   // fullwidth c, escaped
            "/bac\u{212a}up",                                    // Kelvin sign
            "/\u{17f}ecret",                                     // long s
            "/conf\u{131}g",                                     // dotless i: upper-cases to I
            "/\u{130}nfo",                                       // dotted I: lower-cases to i
            "/\u{fb01}le",                                       // fi ligature
            "/cafe\u{301}",                                      // decomposed e-acute
            "/a%C2%A0",                                          // no-break space
            "/pa\u{df}word",                                     // sharp s: upper-cases to SS
            "/con\u{200b}fig",                                   // zero-width space
            "/con%E2%80%8Dfig",                                  // zero-width joiner, escaped
            "/con\u{ad}fig",                                     // soft hyphen
            "/config\u{feff}",                                   // BOM
        ] {
            assert_eq!(check(p, &all), Err("unicode_lookalike"), "{p}");
        }
        for p in [
            "/config",
            "/caf\u{e9}",
            "/\u{65e5}\u{672c}",
            "/a.json",
            "/v1.2/x",
            "/a%3Ab",
            "/a%20b",
            "/stra\u{df}e".replace('\u{df}', "ss").as_str(),
            "/\u{3b1}\u{3b2}\u{3b3}", // Greek: its case pair is Greek
            "/\u{e9}t\u{e9}",
        ] {
            assert_eq!(check(p, &all), Ok(()), "{p}");
        }
        let trusting = UpstreamPaths {
            trims_dots_and_spaces: false,
            folds_unicode: false,
            ..all
        };
        assert_eq!(check("/config.", &trusting), Ok(()));
        assert_eq!(check("/bac\u{212a}up", &trusting), Ok(()));
    }

    #[test]
    fn the_list_of_letters_that_fold_to_ascii_is_the_standard_librarys() {
        let folds = |c: char| {
            !c.is_ascii()
                && (c.to_uppercase().any(|u| u.is_ascii())
                    || c.to_lowercase().any(|l| l.is_ascii()))
        };
        let derived: Vec<char> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| folds(*c))
            .collect();
        assert_eq!(derived, CASE_FOLDS_TO_ASCII);
    }

    #[test]
    fn segments_ignore_trailing_slash() {
        let c = canonicalize("/backup/").unwrap();
        assert_eq!(c.segments().collect::<Vec<_>>(), ["backup"]);
        assert_eq!(canonicalize("/").unwrap().segments().count(), 0);
    }
}
