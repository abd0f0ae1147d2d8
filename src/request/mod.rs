//! What a host hands the core: method, raw path, headers and the current time.

pub mod header_map;
pub mod method;
pub mod path;

use serde_json::{Map, Value};
use smallvec::SmallVec;
use std::ops::Range;

/// Request headers that decisions and their header edits read, whatever the
/// policy (besides `:method` and `:path`). Whoever makes the core read
/// another header adds it here; tests/vectors.rs decides every vector on the
/// full and on the filtered request to catch a forgotten one.
pub(crate) const READ_HEADERS: [&str; 4] = [
    "authorization",
    "content-type",
    "content-length",
    "transfer-encoding",
];

/// Whether a Content-Type names a form (URL-encoded or multipart): the
/// bodies frameworks read `_method` from.
fn is_form_type(value: &[u8]) -> bool {
    let media = value
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    media.eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
        || media.eq_ignore_ascii_case(b"multipart/form-data")
}

/// Whether headers announce a body: a Content-Length other than 0, or any
/// Transfer-Encoding.
fn announces_body(content_length: Option<&[u8]>, transfer_encoding: bool) -> bool {
    let zero = |v: &[u8]| v.contains(&b'0') && v.iter().all(|b| matches!(b, b' ' | b'\t' | b'0'));
    transfer_encoding || content_length.is_some_and(|v| !zero(v))
}

/// One HTTP request to decide. Time is always given: the core never reads a clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// The HTTP method, as sent.
    pub method: String,
    /// The raw request target (path and optional query), as received.
    pub path: String,
    /// Header names are matched case-insensitively; repeated headers are
    /// separate entries.
    pub headers: Vec<(String, String)>,
    /// Seconds since the Unix epoch.
    pub now: u64,
    /// A claims-only preview: the Authorization header is ignored and these
    /// claims are checked as if they came from a token whose signature
    /// verified. Every other check (issuer, audience, lifetime, scope, roles) applies.
    pub claims: Option<Map<String, Value>>,
    /// The host knows a body follows the headers (Envoy: the stream did not
    /// end with them, as over HTTP/2 without Content-Length). Headers that
    /// announce one (Content-Length other than 0, Transfer-Encoding) count
    /// whatever this says.
    pub body: bool,
    /// The client certificate the connection presented, named as a
    /// certificate-bound token names it (`x5t#S256`: base64url of the
    /// SHA-256 of its DER). The host fills it from the connection (see
    /// [`certificate_thumbprint_from_hex`]), never from a header.
    pub client_certificate: Option<String>,
}

/// A certificate's `x5t#S256` from the hex SHA-256 digest proxies report
/// (Envoy's `connection.sha256_peer_certificate_digest`); `None` unless it
/// is 64 hex digits.
pub fn certificate_thumbprint_from_hex(hex: &str) -> Option<String> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digest = hex
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            // from_str_radix accepts a sign: only two digits are a byte here.
            if !pair.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            u8::from_str_radix(text, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()?;
    use base64::Engine as _;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
}

impl Request {
    /// A request without headers, at `now` (seconds since the epoch).
    pub fn new(method: impl Into<String>, path: impl Into<String>, now: u64) -> Self {
        Request {
            method: method.into(),
            path: path.into(),
            now,
            ..Request::default()
        }
    }

    /// The request from a proxy's headers (HTTP/2 style: `:method` and
    /// `:path` among them), keeping only the other headers `keep` accepts.
    /// Bytes that are not UTF-8 become U+FFFD in header values and
    /// percent-escapes in the path, so they can never match a rule or claim.
    pub fn from_header_pairs<'b>(
        headers: impl IntoIterator<Item = (&'b [u8], &'b [u8])>,
        now: u64,
        keep: impl Fn(&[u8]) -> bool,
    ) -> Self {
        let mut request = Request::default();
        request.refill_from_header_pairs(headers, now, keep);
        request
    }

    /// Makes this the request [`Request::from_header_pairs`] would make,
    /// reusing this one's strings: a proxy that keeps one request to refill
    /// saves its allocations on every request.
    pub fn refill_from_header_pairs<'b>(
        &mut self,
        headers: impl IntoIterator<Item = (&'b [u8], &'b [u8])>,
        now: u64,
        keep: impl Fn(&[u8]) -> bool,
    ) {
        self.refill_from_view(&RequestView::from_header_pairs(headers, now, keep));
    }

    /// Makes this the request `view` borrows from a proxy's headers (see
    /// [`Request::from_header_pairs`] for bytes that are not UTF-8), reusing
    /// this one's strings.
    pub fn refill_from_view(&mut self, view: &RequestView) {
        fn set_text(text: &mut String, bytes: &[u8]) {
            text.clear();
            // from_utf8_lossy is several times slower than this on valid text.
            match std::str::from_utf8(bytes) {
                Ok(valid) => text.push_str(valid),
                Err(_) => text.push_str(&String::from_utf8_lossy(bytes)),
            }
        }
        // Every field named, so a new one cannot be forgotten here.
        let Request {
            method,
            path,
            headers,
            now,
            claims,
            body,
            client_certificate,
        } = self;
        *body = view.body;
        // A connection fact, not in the view: the host sets it again.
        *client_certificate = None;
        set_text(method, view.method);
        crate::request::path::set_from_bytes(path, view.path);
        *now = view.now;
        *claims = None;
        headers.truncate(view.headers.len());
        let reused = headers.len();
        for ((n, v), (name, value)) in headers.iter_mut().zip(&view.headers) {
            set_text(n, name);
            set_text(v, value);
        }
        for (name, value) in view.headers.iter().skip(reused) {
            let (mut n, mut v) = (String::new(), String::new());
            set_text(&mut n, name);
            set_text(&mut v, value);
            headers.push((n, v));
        }
        let (scheme, authority) = view.origin;
        for (name, value) in [(":scheme", scheme), (":authority", authority)] {
            if let Some(value) = value {
                let mut v = String::new();
                set_text(&mut v, value);
                headers.push((name.to_owned(), v));
            }
        }
    }

    /// This request borrowed as bytes.
    pub fn view(&self) -> RequestView<'_> {
        let mut view = RequestView {
            method: self.method.as_bytes(),
            path: self.path.as_bytes(),
            now: self.now,
            preview: self.claims.is_some(),
            body: self.body,
            ..RequestView::default()
        };
        // As a proxy's header block is read: the origin apart.
        for (name, value) in &self.headers {
            match name.as_str() {
                ":scheme" => view.origin.0 = Some(value.as_bytes()),
                ":authority" => view.origin.1 = Some(value.as_bytes()),
                _ => view.headers.push((name.as_bytes(), value.as_bytes())),
            }
        }
        view
    }

    /// Whether the body is a form (see `is_form_type`).
    pub fn is_form(&self) -> bool {
        self.header_values("content-type")
            .any(|v| is_form_type(v.as_bytes()))
    }

    /// Whether a body follows the headers (see [`Request::body`]).
    pub fn has_body(&self) -> bool {
        self.body
            || announces_body(
                self.header_values("content-length")
                    .next()
                    .map(str::as_bytes),
                self.header_values("transfer-encoding").next().is_some(),
            )
    }

    /// A preview request that skips only the signature check.
    pub fn claims_preview(
        method: impl Into<String>,
        path: impl Into<String>,
        claims: Map<String, Value>,
        now: u64,
    ) -> Self {
        Request {
            claims: Some(claims),
            ..Request::new(method, path, now)
        }
    }

    /// Adds a header (repeated names are kept, as sent).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// The bearer token, when the request carries exactly one well-formed
    /// `Authorization: Bearer` header (and is not a claims preview).
    pub fn bearer_token(&self) -> Option<&str> {
        match parse_authorization(&self.authorization_values()?) {
            Authorization::Bearer(token) => Some(token),
            _ => None,
        }
    }

    /// The token of a well-formed `Authorization: Bearer` or `DPoP` header
    /// (what the verified-token cache is keyed by), as
    /// [`Request::bearer_token`] finds a bearer token.
    pub(crate) fn presented_token(&self) -> Option<&str> {
        match parse_authorization(&self.authorization_values()?) {
            Authorization::Bearer(token) | Authorization::Dpop(token) => Some(token),
            _ => None,
        }
    }

    /// The Authorization header values, at most two of them (two are already
    /// too many); `None` for a claims preview, which ignores the header.
    pub(crate) fn authorization_values(&self) -> Option<Values<'_>> {
        if self.claims.is_some() {
            return None;
        }
        let mut values = self.header_values("authorization");
        Some(match (values.next(), values.next()) {
            (None, _) => Values::None,
            (Some(one), None) => Values::One(one),
            (Some(one), Some(two)) => Values::Two([one, two]),
        })
    }

    /// The value of a header sent exactly once, trimmed; `None` when it is
    /// absent or repeated (a repeated one cannot be read one way only).
    pub(crate) fn only_value<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        let mut values = self.header_values(name);
        match (values.next(), values.next()) {
            (Some(value), None) => Some(value.trim()),
            _ => None,
        }
    }

    /// Every value of a header, in order, under every spelling of its name
    /// (see `same_header_name`).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| same_header_name(n.as_bytes(), name.as_bytes()))
            .map(|(_, v)| v.as_str())
    }
}

/// Whether two header names are the same header to some upstream: ASCII
/// case-insensitive, with `_` and `-` alike. CGI/WSGI (and so every server
/// built on them) reads both `x-rolegate-roles` and `x_rolegate_roles` as
/// `HTTP_X_ROLEGATE_ROLES`, so a spelling rolegate ignored would be one it
/// neither judges nor strips.
pub fn same_header_name(a: &[u8], b: &[u8]) -> bool {
    let fold = |c: &u8| match c {
        b'_' => b'-',
        c => c.to_ascii_lowercase(),
    };
    a.len() == b.len() && a.iter().map(fold).eq(b.iter().map(fold))
}

/// A request borrowed as bytes: what a kept decision is found by and what a
/// proxy's header edits depend on. A proxy reads it in place from its header
/// block ([`crate::Policy::view_header_map`]), copying and checking nothing,
/// and builds a [`Request`] from it only when there is something to decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestView<'a> {
    /// The HTTP method, as sent.
    pub method: &'a [u8],
    /// The raw request target (path and optional query), as received.
    pub path: &'a [u8],
    /// The headers, in order (from a header block, only those kept).
    pub headers: SmallVec<[(&'a [u8], &'a [u8]); 4]>,
    /// Seconds since the Unix epoch.
    pub now: u64,
    /// A claims preview: no bearer token, and no decision is reused for it.
    pub preview: bool,
    /// The host knows a body follows the headers (see [`Request::body`]).
    pub body: bool,
    /// `:scheme` and `:authority`, as the proxy received them: the origin
    /// a DPoP proof names. Held apart from `headers` (no per-header check
    /// on the hot path), and among a built [`Request`]'s headers.
    pub origin: (Option<&'a [u8]>, Option<&'a [u8]>),
}

impl<'a> RequestView<'a> {
    /// The request in a proxy's headers (`:method` and `:path` among them),
    /// keeping `:scheme` and `:authority` and only the other headers `keep`
    /// accepts.
    pub fn from_header_pairs(
        headers: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        now: u64,
        keep: impl Fn(&[u8]) -> bool,
    ) -> Self {
        let mut view = RequestView {
            now,
            ..RequestView::default()
        };
        for (name, value) in headers {
            match name.split_first() {
                Some((b':', b"method")) => view.method = value,
                Some((b':', b"path")) => view.path = value,
                Some((b':', b"scheme")) => view.origin.0 = Some(value),
                Some((b':', b"authority")) => view.origin.1 = Some(value),
                // Decisions read no other pseudo-header.
                Some((b':', _)) => {}
                _ if keep(name) => view.headers.push((name, value)),
                _ => {}
            }
        }
        view
    }

    /// Whether the body is a form (see [`Request::is_form`]).
    pub fn is_form(&self) -> bool {
        self.header_values("content-type").any(is_form_type)
    }

    /// All a decision reads of the body: whether one follows and, only if
    /// so, whether it is a form (without a body the Content-Type decides
    /// nothing, and is not looked for).
    pub(crate) fn body_shape(&self) -> (bool, bool) {
        let body = self.has_body();
        (body, body && self.is_form())
    }

    /// Whether a body follows the headers (see [`Request::body`]).
    pub fn has_body(&self) -> bool {
        self.body
            || announces_body(
                self.header_values("content-length").next(),
                self.header_values("transfer-encoding").next().is_some(),
            )
    }

    /// Every value of a header, in order, under every spelling of its name
    /// (see `same_header_name`).
    pub fn header_values<'n>(
        &self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, '_, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| same_header_name(n, name.as_bytes()))
            .map(|(_, v)| *v)
    }

    /// The distinct spellings of header `name` this request carries (see
    /// `same_header_name`): what a proxy removes to remove the header.
    pub fn header_spellings(&self, name: &str) -> SmallVec<[&'a str; 2]> {
        let mut spellings: SmallVec<[&'a str; 2]> = SmallVec::new();
        for (n, _) in &self.headers {
            if same_header_name(n, name.as_bytes()) {
                // Equal to an ASCII name up to case and '_', so ASCII itself.
                if let Ok(n) = std::str::from_utf8(n) {
                    if !spellings.iter().any(|s| s.eq_ignore_ascii_case(n)) {
                        spellings.push(n);
                    }
                }
            }
        }
        spellings
    }

    /// What [`Request::bearer_token`] would return for the request this
    /// borrows, except that the token's characters are not checked: the same
    /// token whenever that returns one, and otherwise `None` or bytes that
    /// are not a b64token. For cache lookups: only checked tokens are ever
    /// cached, so a hit needs no per-byte scan of a ~1 KiB token (and bytes
    /// equal to a cached token are that token, UTF-8 or not).
    pub(crate) fn bearer_candidate(&self) -> Option<&'a [u8]> {
        match self.token_candidate()? {
            (false, token) => Some(token),
            (true, _) => None,
        }
    }

    /// As [`RequestView::bearer_candidate`], for a token sent with either
    /// scheme: whether the scheme is DPoP, and the candidate (as
    /// [`Request::presented_token`] would return it).
    pub(crate) fn token_candidate(&self) -> Option<(bool, &'a [u8])> {
        if self.preview {
            return None;
        }
        let mut values = self.header_values("authorization");
        let (Some(value), None) = (values.next(), values.next()) else {
            return None;
        };
        let (scheme, rest) = credential_ranges(value)?;
        let (scheme, rest) = (value.get(scheme)?, value.get(rest)?);
        if rest.is_empty() {
            return None;
        }
        if scheme.eq_ignore_ascii_case(b"bearer") {
            Some((false, rest))
        } else if scheme.eq_ignore_ascii_case(b"dpop") {
            Some((true, rest))
        } else {
            None
        }
    }
}

/// A header's first values, without allocating.
pub(crate) enum Values<'a> {
    None,
    One(&'a str),
    Two([&'a str; 2]),
}

impl<'a> std::ops::Deref for Values<'a> {
    type Target = [&'a str];

    fn deref(&self) -> &[&'a str] {
        match self {
            Values::None => &[],
            Values::One(one) => std::slice::from_ref(one),
            Values::Two(two) => two,
        }
    }
}

/// The credentials found in the Authorization header(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Authorization<'a> {
    None,
    Bearer(&'a str),
    /// A DPoP-bound token (`Authorization: DPoP`, RFC 9449 §7.1).
    Dpop(&'a str),
    Basic,
    Other(&'a str),
    /// Malformed: 400 `invalid_request`, with this cause.
    Invalid(&'static str, &'static str),
}

/// RFC 6750 §2.1: `Bearer` (any case), one or more spaces, a b64token.
pub(crate) fn parse_authorization<'a>(values: &[&'a str]) -> Authorization<'a> {
    let multiple = Authorization::Invalid(
        "multiple_authorization_headers",
        "Send exactly one Authorization header",
    );
    let value = match values {
        [] => return Authorization::None,
        [one] => one,
        _ => return multiple,
    };
    let Some((scheme, rest)) = split_credentials(value) else {
        return Authorization::Invalid(
            "empty_authorization_header",
            "The Authorization header is empty",
        );
    };
    // Neither a bearer token nor Basic credentials contain a comma: a comma
    // means a proxy joined repeated Authorization headers into one (Envoy does).
    // RFC 9449 §7.1: a DPoP-bound token's scheme, with the token68 syntax
    // of a bearer token.
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    if dpop || scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Authorization::Invalid("empty_token", "The bearer token is empty");
        }
        // A well-formed token has no comma, so only a malformed one is searched.
        if is_b64token(rest) {
            if dpop {
                Authorization::Dpop(rest)
            } else {
                Authorization::Bearer(rest)
            }
        } else if rest.contains(',') {
            multiple
        } else {
            Authorization::Invalid(
                "malformed_authorization_header",
                "The bearer token has characters a token cannot have",
            )
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        if rest.contains(',') {
            multiple
        } else {
            Authorization::Basic
        }
    } else {
        Authorization::Other(scheme)
    }
}

/// An Authorization value's scheme and what follows it (surrounding
/// whitespace trimmed, one or more spaces between); `None` when empty.
fn split_credentials(value: &str) -> Option<(&str, &str)> {
    // Spaces and tabs are ASCII, so every index found is a char boundary.
    let (scheme, rest) = credential_ranges(value.as_bytes())?;
    Some((value.get(scheme)?, value.get(rest)?))
}

/// Where [`split_credentials`] finds the scheme and the rest, in bytes.
fn credential_ranges(bytes: &[u8]) -> Option<(Range<usize>, Range<usize>)> {
    // Byte searches: this runs on every request, and str's pattern searchers
    // cost several times more on a ~1 KiB value.
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !blank(b))?;
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    let value = bytes.get(start..end)?;
    Some(match value.iter().position(|b| *b == b' ') {
        Some(space) => {
            let rest = value.get(space..)?;
            let token = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
            (start..start + space, start + space + token..end)
        }
        None => (start..end, end..end),
    })
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(s: &str) -> bool {
    // One table lookup per byte: this runs over every bearer token.
    #[allow(clippy::indexing_slicing)] // i < 256 = the table's length
    const TOKEN_CHAR: [bool; 256] = {
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let c = i as u8;
            table[i] =
                c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            i += 1;
        }
        table
    };
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| TOKEN_CHAR.get(usize::from(b)) == Some(&true))
}

/// Whether the query carries `access_token` (RFC 6750 §2.3), which rolegate
/// never accepts: URLs end up in logs and browser history.
pub(crate) fn query_has_access_token(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        // Any case: some frameworks (ASP.NET, PHP on IIS) read parameter
        // names case-insensitively, so `ACCESS_TOKEN` is one there.
        name.eq_ignore_ascii_case("access_token")
            || percent_decode_lossy(name).eq_ignore_ascii_case("access_token")
    })
}

/// Decodes a query (or form) component: `%XX` escapes and `+` as a space;
/// anything undecodable is kept or replaced, never an error.
pub(crate) fn percent_decode_lossy(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| char::from(*c).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_candidate_is_the_token_whenever_there_is_one() {
        // Every combination of these parts, as one or two headers: wherever
        // bearer_token() finds a token the candidate is that token, and any
        // other candidate is not a b64token (so it can never be a cached one).
        let lead = ["", " ", "\t", "  "];
        let scheme = [
            "Bearer", "bearer", "BEARER", "Basic", "Bearer,", "Token", "",
        ];
        let gap = ["", " ", "   ", "\t", " \t"];
        let token = [
            "a.b.c",
            "a+/==",
            "=",
            "a b",
            "a,Bearer b",
            "a\tb",
            "é",
            "",
            "a=b",
        ];
        let tail = ["", " ", "\t", " ,"];
        let mut checked = 0;
        for l in lead {
            for sc in scheme {
                for g in gap {
                    for t in token {
                        for tl in tail {
                            let value = format!("{l}{sc}{g}{t}{tl}");
                            for request in [
                                Request::new("GET", "/", 0).header("authorization", &value),
                                Request::new("GET", "/", 0)
                                    .header("Authorization", &value)
                                    .header("authorization", "Bearer x"),
                            ] {
                                let view = request.view();
                                let candidate = view.bearer_candidate();
                                match request.bearer_token() {
                                    Some(t) => {
                                        assert_eq!(candidate, Some(t.as_bytes()), "{value:?}")
                                    }
                                    None => assert!(
                                        candidate.is_none_or(|c| std::str::from_utf8(c)
                                            .is_ok_and(|c| !is_b64token(c))),
                                        "{value:?}: candidate {candidate:?}"
                                    ),
                                }
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 4 * 7 * 5 * 9 * 4);
        let preview = Request::claims_preview("GET", "/", Map::new(), 0).bearer("a.b.c");
        assert_eq!(preview.view().bearer_candidate(), None);
    }

    #[test]
    fn split_credentials_is_the_plain_str_definition() {
        // The byte search must split exactly as the readable definition does.
        fn reference(value: &str) -> Option<(&str, &str)> {
            let value = value.trim_matches(|c| c == ' ' || c == '\t');
            if value.is_empty() {
                return None;
            }
            Some(match value.split_once(' ') {
                Some((scheme, rest)) => (scheme, rest.trim_start_matches(' ')),
                None => (value, ""),
            })
        }
        let parts = ["", " ", "\t", "  ", "Bearer", "é", "a.b", "\t ", ",", "x y"];
        let mut checked = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        let value = format!("{a}{b}{c}{d}");
                        assert_eq!(split_credentials(&value), reference(&value), "{value:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 10_000);
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(parse_authorization(&[]), Authorization::None);
        assert_eq!(
            parse_authorization(&["Bearer abc"]),
            Authorization::Bearer("abc")
        );
        assert_eq!(
            parse_authorization(&["bearer   a.b.c"]),
            Authorization::Bearer("a.b.c")
        );
        assert_eq!(
            parse_authorization(&["BEARER a+/=="]),
            Authorization::Bearer("a+/==")
        );
        assert_eq!(
            parse_authorization(&[" Bearer abc "]),
            Authorization::Bearer("abc")
        );
        assert!(matches!(
            parse_authorization(&["Bearer"]),
            Authorization::Invalid("empty_token", _)
        ));
        assert!(matches!(
            parse_authorization(&["Bearer    "]),
            Authorization::Invalid("empty_token", _)
        ));
        assert!(matches!(
            parse_authorization(&["Bearer a b"]),
            Authorization::Invalid("malformed_authorization_header", _)
        ));
        assert!(matches!(
            parse_authorization(&["Bearer ="]),
            Authorization::Invalid("malformed_authorization_header", _)
        ));
        assert!(matches!(
            parse_authorization(&["Bearer\ta"]),
            Authorization::Other("Bearer\ta")
        ));
        assert!(matches!(
            parse_authorization(&["Bearer a", "Bearer b"]),
            Authorization::Invalid("multiple_authorization_headers", _)
        ));
        assert!(matches!(
            parse_authorization(&[""]),
            Authorization::Invalid("empty_authorization_header", _)
        ));
        assert_eq!(
            parse_authorization(&["Basic dXNlcjpwdw=="]),
            Authorization::Basic
        );
        assert_eq!(
            parse_authorization(&["Digest x=1"]),
            Authorization::Other("Digest")
        );
        // Envoy joins repeated headers with commas.
        for joined in [
            "Bearer a,Bearer b",
            "Bearer a, b",
            "Bearer ,",
            "Basic a,Basic b",
        ] {
            assert!(
                matches!(
                    parse_authorization(&[joined]),
                    Authorization::Invalid("multiple_authorization_headers", _)
                ),
                "{joined}"
            );
        }
    }

    #[test]
    fn from_a_proxys_header_list() {
        let pairs: [(&[u8], &[u8]); 7] = [
            (b":authority", b"admin.example"),
            (b":path", b"/api/caf\xe9?x=1"),
            (b":method", b"GET"),
            (b"x-a", b"1"),
            (b"x-latin1", b"\xe9t\xe9"),
            (b"x-skipped", b"1"),
            (b"x-a", b"2"),
        ];
        let request = Request::from_header_pairs(pairs, 42, |name| name != b"x-skipped");
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/api/caf%E9?x=1");
        assert_eq!(request.now, 42);
        // `:scheme` and `:authority` always (a DPoP proof names them), after
        // the headers `keep` accepts.
        assert_eq!(
            request.headers,
            [
                ("x-a", "1"),
                ("x-latin1", "\u{fffd}t\u{fffd}"),
                ("x-a", "2"),
                (":authority", "admin.example"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(request.header_values("X-A").collect::<Vec<_>>(), ["1", "2"]);
        // Refilling a used request gives the same request.
        let mut reused = Request::new("DELETE", "/old/and/long", 7)
            .header("authorization", "Bearer x")
            .header("x-a", "old")
            .header("x-b", "3")
            .header("x-c", "4")
            .header("x-d", "5");
        reused.claims = Some(Map::new());
        reused.refill_from_header_pairs(pairs, 42, |name| name != b"x-skipped");
        assert_eq!(reused, request);
        reused.refill_from_header_pairs([(b":method".as_slice(), b"GET".as_slice())], 1, |_| true);
        assert_eq!(reused, Request::new("GET", "", 1));
    }

    #[test]
    fn b64token_characters_are_exactly_rfc_6750s() {
        for b in 0..=255u8 {
            let allowed =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            let token = [b'a', b, b'a'];
            let token = String::from_utf8_lossy(&token);
            assert_eq!(is_b64token(&token), allowed, "byte {b:#04x}");
        }
        assert!(is_b64token("abc=="));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a=b"));
    }

    #[test]
    fn query_tokens() {
        assert!(query_has_access_token("access_token=x"));
        assert!(query_has_access_token("a=1&access_token"));
        assert!(query_has_access_token("access%5Ftoken=x"));
        assert!(query_has_access_token("ACCESS_TOKEN=x"));
        assert!(query_has_access_token("a=1&Access_Token=x"));
        assert!(query_has_access_token("ACCESS%5fTOKEN=x"));
        assert!(!query_has_access_token("access_tokens=x"));
        assert!(!query_has_access_token("x=access_token"));
        assert!(!query_has_access_token(""));
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let r = Request::new("GET", "/", 0)
            .header("Authorization", "a")
            .header("AUTHORIZATION", "b");
        assert_eq!(
            r.header_values("authorization").collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn underscore_spellings_are_the_same_header() {
        assert!(same_header_name(b"x_rolegate_roles", b"x-rolegate-roles"));
        assert!(same_header_name(b"X-Rolegate_Roles", b"x-rolegate-roles"));
        assert!(!same_header_name(b"x-rolegate-role", b"x-rolegate-roles"));
        assert!(!same_header_name(b"x.rolegate.roles", b"x-rolegate-roles"));
        let r = Request::new("POST", "/", 0)
            .header("x_http_method_override", "DELETE")
            .header("X-HTTP-Method-Override", "PUT")
            .header("x_rolegate_roles", "a")
            .header("X_ROLEGATE_ROLES", "b")
            .header("x-rolegate-roles", "c");
        assert_eq!(
            r.header_values("x-http-method-override")
                .collect::<Vec<_>>(),
            ["DELETE", "PUT"]
        );
        let view = r.view();
        assert_eq!(
            view.header_spellings("x-rolegate-roles").as_slice(),
            ["x_rolegate_roles", "x-rolegate-roles"]
        );
    }
}
