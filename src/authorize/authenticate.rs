//! A bearer token against the policy's issuers: which issuer (by exact
//! `iss`), its algorithms, token type and keys (pasted or fetched), the
//! signature, then lifetime and audience at the request's time.

use crate::authorize::trace::Tracer;
use crate::jose::claims::{audience_accepted, check_lifetime, Lifetime};
use crate::jose::json::{parse_strict_object, StrictJsonError};
use crate::jose::keys::VerificationKey;
use crate::jose::token::{
    fail, instant, normalise_media_type, seconds, CompactJws, TokenError, TokenErrorKind,
};
use crate::policy::Issuer;
use serde_json::{Map, Value};

/// Header parameters that carry or point to keys. rolegate never takes a key
/// from the token itself; these are ignored (and the trace says so).
const EMBEDDED_KEY_HEADERS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

/// The keys fetched for remote issuers (the engine's key store): `None`
/// while an issuer's keys are not loaded.
pub(crate) trait FetchedKeys {
    fn loaded(&self, issuer: usize) -> Option<&[VerificationKey]>;
}

/// A token whose signature was verified by one of its issuer's keys. Claims
/// still need `check_claims` against the current time.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// Index of the issuer (in the policy's `issuers`) whose key verified it.
    pub issuer: usize,
    /// The payload's claims.
    pub claims: Map<String, Value>,
}

/// Everything up to and including the signature. Independent of time, so a
/// host may cache the result by token.
pub(crate) fn verify_jws(
    issuers: &[Issuer],
    token: &str,
    trace: &mut Tracer,
    remote: Option<&dyn FetchedKeys>,
) -> Result<VerifiedToken, TokenError> {
    let jws = CompactJws::parse(token)?;
    let claims = payload_claims(&jws)?;
    verify_parsed(issuers, &jws, claims, trace, remote)
}

/// A JWT's payload as claims: a JSON object without duplicate members.
pub(crate) fn payload_claims(jws: &CompactJws) -> Result<Map<String, Value>, TokenError> {
    use TokenErrorKind::*;
    match parse_strict_object(&jws.payload) {
        Ok(claims) => Ok(claims),
        Err(StrictJsonError::DuplicateKey(d)) => fail(DuplicateJsonKey, format!("payload: {d}")),
        Err(StrictJsonError::NotAnObject) => fail(Malformed, "the payload is not a JSON object"),
        Err(StrictJsonError::Syntax(d)) => fail(Malformed, format!("the payload is not JSON: {d}")),
    }
}

/// [`verify_jws`] of a token already split and its payload read (a host
/// that looked at the issuer and `kid` first parses once).
pub(crate) fn verify_parsed(
    issuers: &[Issuer],
    jws: &CompactJws,
    claims: Map<String, Value>,
    trace: &mut Tracer,
    remote: Option<&dyn FetchedKeys>,
) -> Result<VerifiedToken, TokenError> {
    use TokenErrorKind::*;
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
        match remote.and_then(|fetched| fetched.loaded(issuer_index)) {
            Some(keys) => keys,
            None => {
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
                crate::jose::claims::preview(other)
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
    let Lifetime { exp, iat, .. } = check_lifetime(claims, now, issuer.leeway)?;
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
            "valid until {} (now {}, leeway {}s)",
            instant(exp),
            instant(now as f64),
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
    let matched = audience_accepted(aud, expected)?;
    if matched {
        Ok(())
    } else {
        fail(
            WrongAudience,
            format!(
                "aud {} is none of {}",
                aud.map(crate::jose::claims::preview).unwrap_or_default(),
                issuer.audiences.join(", ")
            ),
        )
    }
}
