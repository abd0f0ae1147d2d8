//! Bearer token validation: compact JWS structure, header, issuer, algorithm,
//! key, signature (jsonwebtoken's crypto), then the claims. Each way a token
//! can fail has its own [`TokenErrorKind`], reported as the decision's `cause`.

use crate::alg::Alg;
use crate::json::{parse_strict_object, StrictJsonError};
use crate::keys::{b64url_decode, VerificationKey};
use crate::policy::Issuer;
use crate::remote::KeyStore;
use crate::trace::Tracer;
use serde_json::{Map, Value};

/// Largest token ever parsed, in bytes: Envoy's default limit for all
/// request headers together is 60 KiB, so no larger token can arrive.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// The default of a policy's `max_token_bytes`: Entra ID puts up to 200
/// group ids in a token (~11 KB) and Keycloak tokens with many roles are
/// alike; 32 KiB admits them with room, and a tighter policy can say less.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 32 * 1024;

/// Header parameters that carry or point to keys. rolegate never takes a key
/// from the token itself; these are ignored (and the trace says so).
const EMBEDDED_KEY_HEADERS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenErrorKind {
    TooLarge,
    Malformed,
    DuplicateJsonKey,
    InvalidHeader,
    AlgNone,
    AlgorithmNotAllowed,
    UnknownCriticalHeader,
    InvalidTokenType,
    MissingIssuer,
    InvalidIssuer,
    UnknownIssuer,
    UnknownKey,
    KeyAlgorithmMismatch,
    NoUsableKey,
    MissingSignature,
    InvalidSignature,
    MissingExp,
    InvalidExp,
    Expired,
    InvalidNbf,
    NotYetValid,
    InvalidIat,
    IssuedInFuture,
    MissingIat,
    LifetimeTooLong,
    MissingAudience,
    InvalidAudience,
    WrongAudience,
    InvalidSubject,
    InvalidClientId,
    InvalidScopeClaim,
    /// Introspection says the token is not active.
    Inactive,
    /// A remote issuer's keys could not be loaded (503, not 401).
    KeysUnavailable,
}

impl TokenErrorKind {
    /// Stable snake_case code (the decision's `cause`).
    pub fn code(self) -> &'static str {
        use TokenErrorKind::*;
        match self {
            TooLarge => "token_too_large",
            Malformed => "malformed_token",
            DuplicateJsonKey => "duplicate_json_key",
            InvalidHeader => "invalid_header",
            AlgNone => "alg_none",
            AlgorithmNotAllowed => "algorithm_not_allowed",
            UnknownCriticalHeader => "unknown_critical_header",
            InvalidTokenType => "invalid_token_type",
            MissingIssuer => "missing_issuer",
            InvalidIssuer => "invalid_issuer",
            UnknownIssuer => "unknown_issuer",
            UnknownKey => "unknown_key",
            KeyAlgorithmMismatch => "key_algorithm_mismatch",
            NoUsableKey => "no_usable_key",
            MissingSignature => "missing_signature",
            InvalidSignature => "invalid_signature",
            MissingExp => "missing_exp",
            InvalidExp => "invalid_exp",
            Expired => "expired",
            InvalidNbf => "invalid_nbf",
            NotYetValid => "not_yet_valid",
            InvalidIat => "invalid_iat",
            IssuedInFuture => "issued_in_future",
            MissingIat => "missing_iat",
            LifetimeTooLong => "lifetime_too_long",
            MissingAudience => "missing_audience",
            InvalidAudience => "invalid_audience",
            WrongAudience => "wrong_audience",
            InvalidSubject => "invalid_subject",
            InvalidClientId => "invalid_client_id",
            InvalidScopeClaim => "invalid_scope_claim",
            Inactive => "inactive",
            KeysUnavailable => "keys_unavailable",
        }
    }

    /// Text for `error_description` (RFC 6750 §3: no `"` or `\`); it never
    /// includes token content.
    pub fn description(self) -> &'static str {
        use TokenErrorKind::*;
        match self {
            TooLarge => "The access token is too large",
            Malformed => "The access token is not a compact JWS",
            DuplicateJsonKey => "The access token repeats a JSON member",
            InvalidHeader => "The access token header is invalid",
            AlgNone => "Unsigned access tokens are not accepted",
            AlgorithmNotAllowed => "The access token algorithm is not allowed",
            UnknownCriticalHeader => "The access token has unsupported critical headers",
            InvalidTokenType => "The access token type is not accepted",
            MissingIssuer => "The access token has no issuer",
            InvalidIssuer => "The access token issuer is not a string",
            UnknownIssuer => "The access token issuer is not trusted",
            UnknownKey => "The access token signing key is unknown",
            KeyAlgorithmMismatch => "The access token algorithm does not fit its key",
            NoUsableKey => "No key can verify the access token",
            MissingSignature => "The access token is not signed",
            InvalidSignature => "The access token signature is invalid",
            MissingExp => "The access token has no expiry",
            InvalidExp => "The access token expiry is invalid",
            Expired => "The access token expired",
            InvalidNbf => "The access token not-before time is invalid",
            NotYetValid => "The access token is not valid yet",
            InvalidIat => "The access token issue time is invalid",
            IssuedInFuture => "The access token was issued in the future",
            MissingIat => "The access token has no issue time",
            LifetimeTooLong => "The access token lifetime is too long",
            MissingAudience => "The access token has no audience",
            InvalidAudience => "The access token audience is invalid",
            WrongAudience => "The access token is meant for another audience",
            InvalidSubject => "The access token subject is not a string",
            InvalidClientId => "The access token client id is not a string",
            InvalidScopeClaim => "The access token scope claim is invalid",
            Inactive => "The access token is not active",
            KeysUnavailable => "The issuer keys are unavailable",
        }
    }
}

/// A failed check, with a detail for the trace (never for the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub kind: TokenErrorKind,
    pub detail: String,
}

fn fail<T>(kind: TokenErrorKind, detail: impl Into<String>) -> Result<T, TokenError> {
    Err(TokenError {
        kind,
        detail: detail.into(),
    })
}

/// A token whose signature was verified by one of its issuer's keys. Claims
/// still need [`check_claims`] against the current time.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub issuer: usize,
    pub claims: Map<String, Value>,
}

/// Everything up to and including the signature. Independent of time, so a
/// host may cache the result by token.
/// A compact JWS split and checked up to, not including, the signature:
/// structure, strict base64url, a JSON header without duplicate members,
/// `alg` (never `none`), no `crit`, `kid` and `typ` strings.
pub struct CompactJws<'t> {
    pub header: Map<String, Value>,
    /// The decoded payload bytes (a JWT's are JSON; a bare JWS's may be anything).
    pub payload: Vec<u8>,
    pub alg: Alg,
    pub kid: Option<String>,
    pub typ: Option<String>,
    signing_input: &'t str,
    signature_b64: &'t str,
}

impl<'t> CompactJws<'t> {
    pub fn parse(token: &'t str) -> Result<CompactJws<'t>, TokenError> {
        use TokenErrorKind::*;
        if token.len() > MAX_TOKEN_BYTES {
            return fail(
                TooLarge,
                format!(
                    "{} bytes; at most {MAX_TOKEN_BYTES} are accepted",
                    token.len()
                ),
            );
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
            let detail = if parts.len() == 5 {
                "five parts: an encrypted JWE; only signed JWS tokens are accepted".to_owned()
            } else {
                format!("{} part(s); a compact JWS has three", parts.len())
            };
            return fail(Malformed, detail);
        };
        let header = decode_part(header_b64, "header")?;
        let payload = decode_bytes(payload_b64, "payload")?;
        let alg = match header.get("alg") {
            Some(Value::String(name)) if name.eq_ignore_ascii_case("none") => {
                return fail(AlgNone, "alg is \"none\": the token is unsigned")
            }
            Some(Value::String(name)) => match Alg::from_name(name) {
                Some(alg) => alg,
                None => {
                    return fail(
                        AlgorithmNotAllowed,
                        format!("alg \"{}\" is not supported", name.escape_debug()),
                    )
                }
            },
            Some(_) => return fail(InvalidHeader, "alg must be a string"),
            None => return fail(InvalidHeader, "the header has no alg"),
        };
        if let Some(crit) = header.get("crit") {
            // rolegate implements no JWS extension, so every critical one is unknown.
            return fail(
                UnknownCriticalHeader,
                format!(
                    "crit {}: no extension is supported",
                    crate::claims::preview(crit)
                ),
            );
        }
        let string_member = |name: &str| match header.get(name) {
            None => Ok(None),
            Some(Value::String(v)) => Ok(Some(v.clone())),
            Some(_) => fail(InvalidHeader, format!("{name} must be a string")),
        };
        let kid = string_member("kid")?;
        let typ = string_member("typ")?;
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .unwrap_or_default();
        Ok(CompactJws {
            header,
            payload,
            alg,
            kid,
            typ,
            signing_input,
            signature_b64,
        })
    }

    /// Whether `alg` is one of the issuer's `algorithms` (`EdDSA` and
    /// `Ed25519` name the same algorithm: rolegate's only EdDSA curve is Ed25519).
    pub fn check_algorithm(&self, algorithms: &[Alg]) -> Result<(), TokenError> {
        if algorithms.iter().any(|a| a.admits(self.alg)) {
            return Ok(());
        }
        fail(
            TokenErrorKind::AlgorithmNotAllowed,
            format!(
                "{} is not in this issuer's algorithms ({})",
                self.alg,
                algorithms
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }

    /// Verifies the signature with `keys`, `alg` restricted to `algorithms`:
    /// the key named by `kid` (exactly), or with no `kid` each key fit for `alg`.
    pub fn verify<'k>(
        &self,
        keys: &'k [VerificationKey],
        algorithms: &[Alg],
    ) -> Result<&'k VerificationKey, TokenError> {
        use TokenErrorKind::*;
        let alg = self.alg;
        self.check_algorithm(algorithms)?;
        if self.signature_b64.is_empty() {
            return fail(MissingSignature, "the signature part is empty");
        }
        let candidates: Vec<&VerificationKey> = match &self.kid {
            Some(kid) => {
                let Some(key) = keys.iter().find(|k| k.kid.as_ref() == Some(kid)) else {
                    return fail(
                        UnknownKey,
                        format!("no key of this issuer has kid \"{}\"", kid.escape_debug()),
                    );
                };
                if let Err(why) = key.usable_for(alg) {
                    return fail(KeyAlgorithmMismatch, why);
                }
                vec![key]
            }
            None => {
                let usable: Vec<&VerificationKey> =
                    keys.iter().filter(|k| k.usable_for(alg).is_ok()).collect();
                if usable.is_empty() {
                    return fail(
                        NoUsableKey,
                        format!("the token names no kid and no key of this issuer verifies {alg}"),
                    );
                }
                usable
            }
        };
        let message = self.signing_input.as_bytes();
        if let Some(key) = candidates
            .iter()
            .find(|key| key.verify(alg, message, self.signature_b64))
        {
            return Ok(key);
        }
        fail(
            InvalidSignature,
            format!(
                "{alg} signature does not verify with {}",
                candidates
                    .iter()
                    .map(|k| format!("key {}", k.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }
}

/// Everything up to and including the signature. Independent of time, so a
/// host may cache the result by token.
pub(crate) fn verify_jws(
    issuers: &[Issuer],
    token: &str,
    trace: &mut Tracer,
    remote: Option<&KeyStore>,
) -> Result<VerifiedToken, TokenError> {
    use TokenErrorKind::*;
    let jws = CompactJws::parse(token)?;
    let claims = match parse_strict_object(&jws.payload) {
        Ok(claims) => claims,
        Err(StrictJsonError::DuplicateKey(d)) => {
            return fail(DuplicateJsonKey, format!("payload: {d}"))
        }
        Err(StrictJsonError::NotAnObject) => {
            return fail(Malformed, "the payload is not a JSON object")
        }
        Err(StrictJsonError::Syntax(d)) => {
            return fail(Malformed, format!("the payload is not JSON: {d}"))
        }
    };
    trace.step("token.header", true, || {
        let mut d = format!("alg {}", jws.alg);
        if let Some(kid) = &jws.kid {
            d.push_str(&format!(", kid \"{}\"", kid.escape_debug()));
        }
        let embedded: Vec<&str> = EMBEDDED_KEY_HEADERS
            .into_iter()
            .filter(|h| jws.header.contains_key(*h))
            .collect();
        if !embedded.is_empty() {
            d.push_str(&format!(
                "; ignored {} (keys come only from the policy)",
                embedded.join(", ")
            ));
        }
        d
    });

    let issuer_index = select_issuer(issuers, &claims)?;
    let issuer = issuers.get(issuer_index).ok_or_else(|| TokenError {
        kind: UnknownIssuer,
        detail: "issuer index out of range".to_owned(),
    })?;
    trace.step("token.issuer", true, || {
        format!("iss \"{}\" is trusted", issuer.issuer.escape_debug())
    });
    // Before the token type: an unlisted algorithm is the more telling cause.
    jws.check_algorithm(&issuer.algorithms)?;
    if let Some(expected) = &issuer.token_type {
        match &jws.typ {
            Some(t) if normalise_media_type(t) == *expected => {}
            Some(t) => {
                return fail(
                    InvalidTokenType,
                    format!(
                        "typ \"{}\" but \"{expected}\" is required",
                        t.escape_debug()
                    ),
                )
            }
            None => {
                return fail(
                    InvalidTokenType,
                    format!("no typ; \"{expected}\" is required"),
                )
            }
        }
    }
    let keys: &[VerificationKey] = if issuer.remote.is_some() {
        match remote.and_then(|store| store.issuer(issuer_index)) {
            Some(set) if set.loaded_at.is_some() => &set.keys,
            _ => {
                return fail(
                    KeysUnavailable,
                    "this issuer's keys come from its JWKS URL and are not loaded (the Envoy \
                     filter fetches them; a preview cannot)",
                )
            }
        }
    } else {
        &issuer.keys
    };
    let key = jws.verify(keys, &issuer.algorithms)?;
    trace.step("token.signature", true, || {
        format!("{} signature verified with key {}", jws.alg, key.name())
    });
    Ok(VerifiedToken {
        issuer: issuer_index,
        claims,
    })
}

/// A token's header and payload, as [`decode_unverified`] returns them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DecodedToken {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
}

/// A token's header and payload, decoded but NOT verified: for showing a
/// token to a person. The same structural checks as validation apply.
pub fn decode_unverified(token: &str) -> Result<DecodedToken, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return fail(
            TokenErrorKind::TooLarge,
            format!(
                "{} bytes; at most {MAX_TOKEN_BYTES} are accepted",
                token.len()
            ),
        );
    }
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [header_b64, payload_b64, _] = parts.as_slice() else {
        return fail(
            TokenErrorKind::Malformed,
            format!("{} part(s); a compact JWS has three", parts.len()),
        );
    };
    Ok(DecodedToken {
        header: decode_part(header_b64, "header")?,
        payload: decode_part(payload_b64, "payload")?,
    })
}

/// A JWS payload may be empty (RFC 7515); a JWT's never is, and fails later
/// as "not a JSON object".
fn decode_bytes(b64: &str, what: &str) -> Result<Vec<u8>, TokenError> {
    b64url_decode(b64).ok_or_else(|| TokenError {
        kind: TokenErrorKind::Malformed,
        detail: format!("the {what} is not base64url without padding"),
    })
}

fn decode_part(b64: &str, what: &str) -> Result<Map<String, Value>, TokenError> {
    use TokenErrorKind::*;
    if b64.is_empty() {
        return fail(Malformed, format!("the {what} part is empty"));
    }
    let Some(bytes) = b64url_decode(b64) else {
        return fail(
            Malformed,
            format!("the {what} is not base64url without padding"),
        );
    };
    parse_strict_object(&bytes).or_else(|e| match e {
        StrictJsonError::DuplicateKey(d) => fail(DuplicateJsonKey, format!("{what}: {d}")),
        StrictJsonError::NotAnObject => fail(Malformed, format!("the {what} is not a JSON object")),
        StrictJsonError::Syntax(d) => fail(Malformed, format!("the {what} is not JSON: {d}")),
    })
}

/// Picks the issuer by the exact `iss` string (RFC 7519 §4.1.1).
pub(crate) fn select_issuer(
    issuers: &[Issuer],
    claims: &Map<String, Value>,
) -> Result<usize, TokenError> {
    use TokenErrorKind::*;
    match claims.get("iss") {
        None => fail(MissingIssuer, "the token has no iss claim"),
        Some(Value::String(iss)) => {
            issuers
                .iter()
                .position(|i| i.issuer == *iss)
                .ok_or_else(|| TokenError {
                    kind: UnknownIssuer,
                    detail: format!("iss \"{}\" is not a configured issuer", iss.escape_debug()),
                })
        }
        Some(other) => fail(
            InvalidIssuer,
            format!(
                "iss must be a string, not {}",
                crate::claims::preview(other)
            ),
        ),
    }
}

/// Facts from claims a host needs after validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaimTimes {
    pub exp: u64,
}

/// The time-dependent and audience checks (RFC 7519 §4.1), with the issuer's leeway.
pub(crate) fn check_claims(
    issuer: &Issuer,
    claims: &Map<String, Value>,
    now: u64,
    trace: &mut Tracer,
) -> Result<ClaimTimes, TokenError> {
    use TokenErrorKind::*;
    let now_f = now as f64;
    let leeway = issuer.leeway as f64;
    let exp = match claims.get("exp") {
        None => return fail(MissingExp, "the token has no exp claim"),
        Some(v) => numeric_date(v).ok_or_else(|| TokenError {
            kind: InvalidExp,
            detail: format!(
                "exp must be a non-negative number, not {}",
                crate::claims::preview(v)
            ),
        })?,
    };
    if now_f >= exp + leeway {
        return fail(
            Expired,
            format!(
                "exp {} is in the past (now {now}, leeway {}s)",
                seconds(exp),
                issuer.leeway
            ),
        );
    }
    if let Some(v) = claims.get("nbf") {
        let nbf = numeric_date(v).ok_or_else(|| TokenError {
            kind: InvalidNbf,
            detail: format!(
                "nbf must be a non-negative number, not {}",
                crate::claims::preview(v)
            ),
        })?;
        if nbf > now_f + leeway {
            return fail(
                NotYetValid,
                format!(
                    "nbf {} is in the future (now {now}, leeway {}s)",
                    seconds(nbf),
                    issuer.leeway
                ),
            );
        }
    }
    let iat = match claims.get("iat") {
        None => None,
        Some(v) => Some(numeric_date(v).ok_or_else(|| TokenError {
            kind: InvalidIat,
            detail: format!(
                "iat must be a non-negative number, not {}",
                crate::claims::preview(v)
            ),
        })?),
    };
    if let Some(iat) = iat {
        if iat > now_f + leeway {
            return fail(
                IssuedInFuture,
                format!(
                    "iat {} is in the future (now {now}, leeway {}s)",
                    seconds(iat),
                    issuer.leeway
                ),
            );
        }
    }
    if let Some(max) = issuer.max_lifetime {
        let Some(iat) = iat else {
            return fail(
                MissingIat,
                "the issuer has max_lifetime_seconds, so tokens need iat",
            );
        };
        if exp - iat > max as f64 {
            return fail(
                LifetimeTooLong,
                format!(
                    "exp - iat = {}s exceeds max_lifetime_seconds {max}",
                    seconds(exp - iat)
                ),
            );
        }
    }
    trace.step("token.lifetime", true, || {
        format!(
            "valid until {} (now {now}, leeway {}s)",
            seconds(exp),
            issuer.leeway
        )
    });

    check_audience(issuer, claims)?;
    trace.step("token.audience", true, || {
        "aud matches an expected audience".to_owned()
    });
    Ok(ClaimTimes {
        exp: if exp >= u64::MAX as f64 {
            u64::MAX
        } else {
            exp as u64
        },
    })
}

fn check_audience(issuer: &Issuer, claims: &Map<String, Value>) -> Result<(), TokenError> {
    use TokenErrorKind::*;
    let expected = |a: &str| issuer.audiences.iter().any(|e| e == a);
    let aud = claims.get("aud");
    // AWS Cognito access tokens carry no aud, Ory Hydra's `aud: []` when no
    // audience was requested: they name their app client instead, accepted
    // only where the policy lists the clients, never skipped.
    let no_audience = aud.is_none_or(|a| a.as_array().is_some_and(Vec::is_empty));
    if no_audience && !issuer.client_ids.is_empty() {
        return match claims.get("client_id") {
            Some(Value::String(id)) if issuer.client_ids.contains(id) => Ok(()),
            Some(Value::String(id)) => fail(
                WrongAudience,
                format!(
                    "the token has no aud and its client_id \"{}\" is none of client_ids",
                    id.escape_debug()
                ),
            ),
            _ => fail(
                MissingAudience,
                "the token has neither aud nor a string client_id",
            ),
        };
    }
    let matched = match aud {
        None => return fail(MissingAudience, "the token has no aud claim"),
        Some(Value::String(a)) => expected(a),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut any = false;
            for item in items {
                match item {
                    Value::String(a) => any |= expected(a),
                    other => {
                        return fail(
                            InvalidAudience,
                            format!(
                                "aud entries must be strings, not {}",
                                crate::claims::preview(other)
                            ),
                        )
                    }
                }
            }
            any
        }
        Some(other) => {
            return fail(
                InvalidAudience,
                format!(
                    "aud must be a string or a non-empty array of strings, not {}",
                    crate::claims::preview(other)
                ),
            )
        }
    };
    if matched {
        Ok(())
    } else {
        fail(
            WrongAudience,
            format!(
                "aud {} is none of {}",
                aud.map(crate::claims::preview).unwrap_or_default(),
                issuer.audiences.join(", ")
            ),
        )
    }
}

/// Lower case, without `application/` (RFC 7515 §4.1.9 lets producers omit it).
pub(crate) fn normalise_media_type(t: &str) -> String {
    let lower = t.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

/// A NumericDate for people: whole seconds as integers, fractions as JSON
/// writes them (serde_json's formatter keeps core's float printing out of
/// the wasm builds).
fn seconds(v: f64) -> String {
    if v.fract() == 0.0 && (0.0..1e15).contains(&v) {
        (v as u64).to_string()
    } else {
        serde_json::Number::from_f64(v).map_or_else(|| "?".to_owned(), |n| n.to_string())
    }
}

/// RFC 7519 NumericDate: a JSON number of seconds; fractions allowed.
fn numeric_date(v: &Value) -> Option<f64> {
    v.as_f64().filter(|n| n.is_finite() && *n >= 0.0)
}
