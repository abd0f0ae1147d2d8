//! Compact JWS (RFC 7515): structure, strict base64url, header, algorithm and
//! signature against given keys; unverified decoding for people. Each way a
//! token can fail has its own [`TokenErrorKind`], reported as the decision's
//! `cause`. Which keys and claims an issuer requires is `authorize`'s.

use crate::jose::alg::Alg;
use crate::jose::json::{parse_strict_object, StrictJsonError};
use crate::jose::keys::{b64url_decode, VerificationKey};
use serde_json::{Map, Value};

/// Largest token ever parsed, in bytes: Envoy's default limit for all
/// request headers together is 60 KiB, so no larger token can arrive.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// The default of a policy's `max_token_bytes`: Entra ID puts up to 200
/// group ids in a token (~11 KB) and Keycloak tokens with many roles are
/// alike; 32 KiB admits them with room, and a tighter policy can say less.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 32 * 1024;

/// Why a token was refused: the decision's `cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenErrorKind {
    /// Longer than the policy's `max_token_bytes`.
    TooLarge,
    /// Not a compact JWS (three base64url parts with JSON header and payload).
    Malformed,
    /// A JSON object in the header or payload names a member twice.
    DuplicateJsonKey,
    /// The header is not as RFC 7515 requires (`alg`, `kid`, `typ` types).
    InvalidHeader,
    /// `alg: none`: never accepted.
    AlgNone,
    /// An algorithm the issuer does not list.
    AlgorithmNotAllowed,
    /// A `crit` header parameter rolegate does not understand.
    UnknownCriticalHeader,
    /// `typ` is not the issuer's `token_type`.
    InvalidTokenType,
    /// No `iss` claim.
    MissingIssuer,
    /// `iss` is not a string.
    InvalidIssuer,
    /// `iss` names no configured issuer.
    UnknownIssuer,
    /// The `kid` names no key of the issuer.
    UnknownKey,
    /// The key does not fit the algorithm (type, curve, `alg`, `use`).
    KeyAlgorithmMismatch,
    /// The issuer has no key for the algorithm.
    NoUsableKey,
    /// The signature part is empty.
    MissingSignature,
    /// The signature does not verify.
    InvalidSignature,
    /// No `exp` claim.
    MissingExp,
    /// `exp` is not a NumericDate.
    InvalidExp,
    /// `exp` has passed (with leeway).
    Expired,
    /// `nbf` is not a NumericDate.
    InvalidNbf,
    /// `nbf` is still to come (with leeway).
    NotYetValid,
    /// `iat` is not a NumericDate.
    InvalidIat,
    /// `iat` is in the future (with leeway).
    IssuedInFuture,
    /// No `iat` where `max_lifetime_seconds` needs one.
    MissingIat,
    /// `exp - iat` exceeds the issuer's `max_lifetime_seconds`.
    LifetimeTooLong,
    /// No `aud` (nor an accepted `client_id` for issuers with `client_ids`).
    MissingAudience,
    /// `aud` is neither a string nor an array of strings.
    InvalidAudience,
    /// `aud` names none of the issuer's audiences.
    WrongAudience,
    /// The subject claim is not a string.
    InvalidSubject,
    /// The client id claim is not a string.
    InvalidClientId,
    /// `scope` or `scp` is neither a string nor an array of strings.
    InvalidScopeClaim,
    /// Introspection says the token is not active.
    Inactive,
    /// A remote issuer's keys could not be loaded (503, not 401).
    KeysUnavailable,
    /// A DPoP-bound token (`cnf.jkt`) sent with the Bearer scheme: never
    /// accepted as a bearer token (RFC 9449 §7.2).
    DpopBound,
    /// The token's `cnf` names a binding rolegate does not know, or is not
    /// an object of strings.
    UnknownBinding,
    /// The issuer's `bound_tokens` is `refuse` and the token is bound.
    BoundTokenRefused,
    /// The issuer's `bound_tokens` is `require` and the token is not bound.
    BoundTokenRequired,
    /// A token sent with the DPoP scheme that is not DPoP-bound.
    NotDpopBound,
    /// A certificate-bound token (`cnf.x5t#S256`, RFC 8705 §3) on a
    /// connection without a client certificate.
    ClientCertificateMissing,
    /// A certificate-bound token on a connection with another certificate.
    CertificateMismatch,
    /// A DPoP-bound token without a `DPoP` proof header.
    DpopProofMissing,
    /// The proof is not a well-formed, correctly signed DPoP proof JWT.
    InvalidDpopProof,
    /// The proof's `htm` is not the request's method.
    DpopMethodMismatch,
    /// The proof's `htu` is not the request's URI.
    DpopUriMismatch,
    /// The proof's `iat` is too old or too far ahead.
    DpopProofExpired,
    /// The proof's `ath` is not the hash of the access token.
    DpopTokenHashMismatch,
    /// The proof's key is not the one the token is bound to (`cnf.jkt`).
    DpopKeyMismatch,
    /// The proof's `jti` was seen before.
    DpopProofReplayed,
    /// The proof carries no nonce, or one rolegate did not issue recently.
    DpopNonceRequired,
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
            DpopBound => "dpop_bound_token",
            UnknownBinding => "unknown_token_binding",
            BoundTokenRefused => "bound_token_refused",
            BoundTokenRequired => "bound_token_required",
            NotDpopBound => "token_not_dpop_bound",
            ClientCertificateMissing => "client_certificate_missing",
            CertificateMismatch => "client_certificate_mismatch",
            DpopProofMissing => "dpop_proof_missing",
            InvalidDpopProof => "invalid_dpop_proof",
            DpopMethodMismatch => "dpop_htm_mismatch",
            DpopUriMismatch => "dpop_htu_mismatch",
            DpopProofExpired => "dpop_proof_expired",
            DpopTokenHashMismatch => "dpop_ath_mismatch",
            DpopKeyMismatch => "dpop_key_mismatch",
            DpopProofReplayed => "dpop_proof_replayed",
            DpopNonceRequired => "use_dpop_nonce",
        }
    }

    /// The `error` of a `DPoP` challenge when the proof, not the token,
    /// failed (RFC 9449 §7.1): `invalid_dpop_proof`, or `use_dpop_nonce`.
    pub fn proof_error(self) -> Option<&'static str> {
        use TokenErrorKind::*;
        match self {
            DpopProofMissing
            | InvalidDpopProof
            | DpopMethodMismatch
            | DpopUriMismatch
            | DpopProofExpired
            | DpopTokenHashMismatch
            | DpopKeyMismatch
            | DpopProofReplayed => Some("invalid_dpop_proof"),
            DpopNonceRequired => Some("use_dpop_nonce"),
            _ => None,
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
            DpopBound => "The access token is DPoP-bound: send it with the DPoP scheme and a proof",
            UnknownBinding => {
                "The access token is bound to its client in a way that is not supported"
            }
            BoundTokenRefused => "Access tokens bound to a client are not accepted",
            BoundTokenRequired => "Only access tokens bound to a client are accepted",
            NotDpopBound => "The access token is not DPoP-bound: send it with the Bearer scheme",
            ClientCertificateMissing => {
                "The access token is bound to a client certificate and none was presented"
            }
            CertificateMismatch => "The access token is bound to another client certificate",
            DpopProofMissing => "A DPoP proof is required",
            InvalidDpopProof => "The DPoP proof is invalid",
            DpopMethodMismatch => "The DPoP proof is for another method",
            DpopUriMismatch => "The DPoP proof is for another URI",
            DpopProofExpired => "The DPoP proof is too old or from the future",
            DpopTokenHashMismatch => "The DPoP proof is for another access token",
            DpopKeyMismatch => "The DPoP proof key is not the key the token is bound to",
            DpopProofReplayed => "The DPoP proof was used before",
            DpopNonceRequired => "Send a DPoP proof with the nonce of the DPoP-Nonce header",
        }
    }
}

/// A failed check, with a detail for the trace (never for the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub kind: TokenErrorKind,
    pub detail: String,
}

pub(crate) fn fail<T>(kind: TokenErrorKind, detail: impl Into<String>) -> Result<T, TokenError> {
    Err(TokenError {
        kind,
        detail: detail.into(),
    })
}

/// A compact JWS split and checked up to, not including, the signature:
/// structure, strict base64url, a JSON header without duplicate members,
/// `alg` (never `none`), no `crit`, `kid` and `typ` strings.
pub struct CompactJws<'t> {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The decoded payload bytes (a JWT's are JSON; a bare JWS's may be anything).
    pub payload: Vec<u8>,
    /// The header's `alg`.
    pub alg: Alg,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The header's `typ`, if any.
    pub typ: Option<String>,
    signing_input: &'t str,
    signature_b64: &'t str,
}

impl<'t> CompactJws<'t> {
    /// Splits and checks a compact JWS (see the type's documentation).
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
                    crate::jose::claims::preview(crit)
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

    /// Whether `key` (fit for this `alg`) made the signature.
    pub(crate) fn verifies_with(&self, key: &VerificationKey) -> bool {
        !self.signature_b64.is_empty()
            && key.usable_for(self.alg).is_ok()
            && key.verify(self.alg, self.signing_input.as_bytes(), self.signature_b64)
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
                // Each try is a signature check: a forged token without
                // kid must not cost one per key of a large key set.
                if usable.len() > MAX_KEYS_WITHOUT_KID {
                    return fail(
                        NoUsableKey,
                        format!(
                            "the token names no kid and {} keys of this issuer verify {alg}; \
                             without a kid at most {MAX_KEYS_WITHOUT_KID} are tried (the \
                             issuer must put kid in its tokens)",
                            usable.len()
                        ),
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

/// The most keys a token without `kid` is tried against.
pub const MAX_KEYS_WITHOUT_KID: usize = 4;

/// A token's header and payload, as [`decode_unverified`] returns them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DecodedToken {
    /// The header, as sent.
    pub header: Map<String, Value>,
    /// The payload, as sent.
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
pub(crate) fn seconds(v: f64) -> String {
    if v.fract() == 0.0 && (0.0..1e15).contains(&v) {
        (v as u64).to_string()
    } else {
        serde_json::Number::from_f64(v).map_or_else(|| "?".to_owned(), |n| n.to_string())
    }
}

/// An instant for people: the NumericDate and, beside it, the UTC date and
/// time in ISO 8601 (`1800000000 (2027-01-15T08:00:00Z)`), as the page and
/// the CLI take times.
pub(crate) fn instant(v: f64) -> String {
    match iso8601(v) {
        Some(iso) => format!("{} ({iso})", seconds(v)),
        None => seconds(v),
    }
}

/// Whole seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (fractions are
/// cut); `None` before 1970 or from year 10000 on.
pub(crate) fn iso8601(v: f64) -> Option<String> {
    if !(0.0..253_402_300_800.0).contains(&v) {
        return None;
    }
    let secs = v as u64;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, on unsigned days since 1970.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    ))
}

/// RFC 7519 NumericDate: a JSON number of seconds; fractions allowed.
pub(crate) fn numeric_date(v: &Value) -> Option<f64> {
    v.as_f64().filter(|n| n.is_finite() && *n >= 0.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_show_iso_8601_beside_the_seconds() {
        assert_eq!(super::instant(0.0), "0 (1970-01-01T00:00:00Z)");
        assert_eq!(
            super::instant(1_800_000_000.0),
            "1800000000 (2027-01-15T08:00:00Z)"
        );
        assert_eq!(
            super::instant(951_782_400.0),
            "951782400 (2000-02-29T00:00:00Z)"
        );
        assert_eq!(
            super::instant(4_102_444_799.5),
            "4102444799.5 (2099-12-31T23:59:59Z)"
        );
        assert_eq!(super::instant(1e300), "1e+300");
    }
}
