//! Tokens bound to their client (RFC 7800 `cnf`): the request must show it
//! comes from the client the token was issued to, by a DPoP proof (RFC
//! 9449, `cnf.jkt`) or by the connection's client certificate (RFC 8705 §3,
//! `cnf.x5t#S256`). A binding rolegate cannot verify is refused: a bound
//! token accepted as a bearer token would work for whoever copied it.

use crate::authorize::decision::Binding;
use crate::authorize::trace::Tracer;
use crate::jose::alg::KeyType;
use crate::jose::claims::{preview, preview_str};
use crate::jose::json::parse_strict_object;
use crate::jose::keys::{b64url_decode, b64url_encode, jwk_thumbprint, VerificationKey};
use crate::jose::token::{
    fail, instant, normalise_media_type, numeric_date, CompactJws, TokenError, TokenErrorKind,
};
use crate::policy::dpop::{normal_origin, DpopSettings};
use crate::policy::url::split_absolute;
use crate::policy::{BoundTokens, Issuer};
use crate::request::Request;
use serde_json::{Map, Value};

/// The largest DPoP header read: a proof holds one public key (an RSA-4096
/// JWK is under 1 KiB) and a few short claims.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// The longest proof `jti` accepted (RFC 9449 suggests 96 random bits).
const MAX_JTI_BYTES: usize = 256;
/// Bytes of a server nonce: the time window it was made in, then the
/// first 16 bytes of its HMAC.
const NONCE_WINDOW_BYTES: usize = 8;
const NONCE_MAC_BYTES: usize = 16;

/// How the token reached rolegate.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Presented<'r> {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`, with the token.
    Dpop(&'r str),
    /// A claims-only preview: no token, so no proof can name it.
    Claims,
}

/// The bindings a token's `cnf` names that rolegate verifies (whether this
/// request proves them is [`check`]'s to say).
pub(crate) fn carried(claims: &Map<String, Value>) -> Option<Binding> {
    let cnf = claims.get("cnf")?.as_object()?;
    match (cnf.contains_key("jkt"), cnf.contains_key("x5t#S256")) {
        (true, true) => Some(Binding::DpopAndCertificate),
        (true, false) => Some(Binding::Dpop),
        (false, true) => Some(Binding::Certificate),
        (false, false) => None,
    }
}

/// A verified DPoP proof, remembered until its `iat` is too old for it to
/// be accepted anyway (RFC 9449 §11.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofUse {
    /// The client: the thumbprint of the proof's key (`cnf.jkt`).
    pub client: String,
    /// The proof's `jti`.
    pub jti: String,
    /// Seconds since the epoch after which the proof is refused by age.
    pub until: u64,
}

/// Where used proofs are remembered (the engine keeps them in memory;
/// Envoy in shared data, which every worker sees).
pub trait ProofMemory {
    /// Remembers `proof` as used at `now`: `Ok(false)` when it was used
    /// before, [`ProofMemoryError::Limit`] when its client already has
    /// `per_client` proofs that are not yet too old.
    fn record(
        &mut self,
        proof: &ProofUse,
        now: u64,
        per_client: usize,
    ) -> Result<bool, ProofMemoryError>;
}

/// Why a proof could not be remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofMemoryError {
    /// The client is over `dpop.max_proofs_per_client` for this many more seconds.
    Limit {
        /// Which limit, for the trace.
        detail: String,
        /// Seconds until its oldest proof is forgotten.
        retry_after: u64,
    },
    /// The memory failed or is full (why): fail closed.
    Unavailable(String),
}

impl From<String> for ProofMemoryError {
    fn from(why: String) -> Self {
        ProofMemoryError::Unavailable(why)
    }
}

/// The request facts a proof is held to, as rolegate judged them.
pub(crate) struct Judged<'a> {
    /// The methods judged: the request's, then any override.
    pub methods: &'a [String],
    /// The canonical path (without query).
    pub path: &'a str,
}

/// The binding checks of a token whose signature and claims passed; the
/// verified DPoP proof, if any, which the host must never accept again.
pub(crate) fn check(
    settings: &DpopSettings,
    issuer: &Issuer,
    claims: &Map<String, Value>,
    presented: Presented,
    request: &Request,
    judged: &Judged,
    trace: &mut Tracer,
) -> Result<Option<ProofUse>, TokenError> {
    use TokenErrorKind::*;
    let cnf = Confirmation::read(claims)?;
    match (issuer.bound_tokens, cnf.is_bound()) {
        (BoundTokens::Refuse, true) => {
            return fail(
                BoundTokenRefused,
                "the token is bound to its client (cnf) and this issuer's bound_tokens is \
                 \"refuse\"",
            )
        }
        (BoundTokens::Require, false) => {
            return fail(
                BoundTokenRequired,
                "the token has no cnf and this issuer's bound_tokens is \"require\": only \
                 DPoP-bound or certificate-bound tokens are accepted",
            )
        }
        _ => {}
    }
    let mut proof = None;
    match (presented, cnf.jkt) {
        (Presented::Bearer, Some(_)) => {
            return fail(
                DpopBound,
                "the token is DPoP-bound (cnf.jkt) but was sent as a bearer token; send \
                 `Authorization: DPoP <token>` with a DPoP proof (RFC 9449 §7.2)",
            )
        }
        (Presented::Dpop(_), None) => {
            return fail(
                NotDpopBound,
                "the DPoP scheme was used but the token has no cnf.jkt; send it as \
                 `Authorization: Bearer <token>`",
            )
        }
        (Presented::Dpop(token), Some(jkt)) => {
            proof = Some(check_proof(settings, token, jkt, request, judged, trace)?);
        }
        (Presented::Claims, Some(_)) => {
            trace.step("token.binding", true, || {
                "DPoP-bound (cnf.jkt): a claims-only preview has no token for a proof to \
                 name, so none is checked"
                    .to_owned()
            });
        }
        (_, None) => {}
    }
    if let Some(x5t) = cnf.x5t {
        check_certificate(x5t, request, trace)?;
    }
    Ok(proof)
}

/// The token's `cnf` (RFC 7800 §3.1): the bindings rolegate verifies, and
/// nothing it does not.
#[derive(Default)]
struct Confirmation<'c> {
    jkt: Option<&'c str>,
    x5t: Option<&'c str>,
}

impl<'c> Confirmation<'c> {
    fn read(claims: &'c Map<String, Value>) -> Result<Self, TokenError> {
        use TokenErrorKind::UnknownBinding;
        let Some(cnf) = claims.get("cnf") else {
            return Ok(Confirmation::default());
        };
        let Some(members) = cnf.as_object().filter(|m| !m.is_empty()) else {
            return fail(
                UnknownBinding,
                format!(
                    "cnf {} is not an object naming a binding; rolegate verifies cnf.jkt \
                     (DPoP) and cnf.x5t#S256 (client certificates)",
                    preview(cnf)
                ),
            );
        };
        let mut found = Confirmation::default();
        for (name, value) in members {
            match (name.as_str(), value) {
                ("jkt", Value::String(v)) => found.jkt = Some(v),
                ("x5t#S256", Value::String(v)) => found.x5t = Some(v),
                _ => {
                    return fail(
                        UnknownBinding,
                        format!(
                            "cnf.{} = {} is a binding rolegate does not verify (it verifies \
                             cnf.jkt and cnf.x5t#S256, strings): refused rather than accepted \
                             as a bearer token",
                            name.escape_debug(),
                            preview(value)
                        ),
                    )
                }
            }
        }
        Ok(found)
    }

    fn is_bound(&self) -> bool {
        self.jkt.is_some() || self.x5t.is_some()
    }
}

/// RFC 8705 §3: the connection's client certificate is the one the token
/// names.
fn check_certificate(x5t: &str, request: &Request, trace: &mut Tracer) -> Result<(), TokenError> {
    use TokenErrorKind::*;
    match request.client_certificate.as_deref() {
        None => fail(
            ClientCertificateMissing,
            "the token is bound to a client certificate (cnf.x5t#S256) and the connection \
             presented none (the listener must request client certificates)",
        ),
        Some(seen) if seen == x5t => {
            trace.step("token.binding", true, || {
                format!("the connection's client certificate is the token's (x5t#S256 {seen})")
            });
            Ok(())
        }
        Some(seen) => fail(
            CertificateMismatch,
            format!(
                "cnf.x5t#S256 is {} but the connection's client certificate is {seen}",
                preview_str(x5t)
            ),
        ),
    }
}

/// RFC 9449 §4.3's checks of the request's `DPoP` header, for the token
/// bound to the key with thumbprint `jkt`.
fn check_proof(
    settings: &DpopSettings,
    token: &str,
    jkt: &str,
    request: &Request,
    judged: &Judged,
    trace: &mut Tracer,
) -> Result<ProofUse, TokenError> {
    use TokenErrorKind::*;
    let Some(proof) = proof_header(request)? else {
        return fail(
            DpopProofMissing,
            "the token is DPoP-bound and the request has no DPoP header",
        );
    };
    let htu_names_request = |htu: &str| {
        let (origin, path) = split_htu(htu)?;
        let origins = request_origins(settings, request).map_err(|why| uri_mismatch(htu, why))?;
        if !origins.contains(&origin) {
            return Err(uri_mismatch(
                htu,
                format!(
                    "{origin} is not {}",
                    if !settings.origins.is_empty() {
                        format!("one of dpop.origins ({})", origins.join(", "))
                    } else {
                        format!(
                            "this request's origin {} (behind another proxy, set dpop.origins)",
                            origins.join(", ")
                        )
                    }
                ),
            ));
        }
        if path != judged.path {
            return Err(uri_mismatch(
                htu,
                format!("its path is {path} but the request's is {}", judged.path),
            ));
        }
        Ok(())
    };
    let proof = verify_proof(
        settings,
        proof,
        judged.methods,
        &htu_names_request,
        request.now,
    )?;
    let text = |name: &str| proof.claims.get(name).and_then(Value::as_str);
    let Some(ath) = text("ath") else {
        return fail(
            InvalidDpopProof,
            "the proof has no ath claim (the hash of the access token it is sent with)",
        );
    };
    if ath != token_hash(token) {
        return fail(
            DpopTokenHashMismatch,
            format!(
                "ath {} is not the hash of this access token",
                preview_str(ath)
            ),
        );
    }
    if proof.thumbprint != jkt {
        return fail(
            DpopKeyMismatch,
            format!(
                "the proof's key has thumbprint {}, the token is bound to {}",
                proof.thumbprint,
                preview_str(jkt)
            ),
        );
    }
    trace.step("token.binding", true, || {
        format!(
            "DPoP proof verified: {} by the token's key (jkt {jkt}), htm {}, htu for {}, iat {}",
            proof.alg,
            text("htm").unwrap_or_default(),
            judged.path,
            instant(proof.iat)
        )
    });
    Ok(proof.into_use())
}

/// The request's one `DPoP` header, if it has one (two are refused).
pub(crate) fn proof_header(request: &Request) -> Result<Option<&str>, TokenError> {
    let mut values = request.header_values("dpop");
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => fail(
            TokenErrorKind::InvalidDpopProof,
            "two DPoP headers; send one proof",
        ),
        (Some(one), None) => Ok(Some(one.trim())),
    }
}

/// A DPoP proof whose own checks passed (RFC 9449 §4.3 checks 1-11):
/// what the resource or the token endpoint then holds it to.
pub(crate) struct VerifiedProof {
    /// The RFC 7638 thumbprint of the proof's key.
    pub thumbprint: String,
    pub alg: crate::jose::alg::Alg,
    pub iat: f64,
    pub claims: Map<String, Value>,
    jti: String,
    max_age: u64,
}

impl VerifiedProof {
    /// What must never be accepted again.
    pub fn into_use(self) -> ProofUse {
        ProofUse {
            until: (self.iat.ceil() as u64).saturating_add(self.max_age + 1),
            client: self.thumbprint,
            jti: self.jti,
        }
    }
}

/// The checks every proof gets, wherever it is sent: a compact JWS typed
/// `dpop+jwt`, an accepted asymmetric algorithm, signed by the public key
/// in its own `jwk`; `jti`; `htm` equal to every method in `methods`;
/// `htu` as `htu_matches` says; `iat` within the window; the server nonce
/// when the policy hands them out.
pub(crate) fn verify_proof(
    settings: &DpopSettings,
    proof: &str,
    methods: &[String],
    htu_matches: &dyn Fn(&str) -> Result<(), TokenError>,
    now: u64,
) -> Result<VerifiedProof, TokenError> {
    use TokenErrorKind::*;
    if proof.len() > MAX_PROOF_BYTES {
        return fail(
            InvalidDpopProof,
            format!(
                "the proof is {} bytes; at most {MAX_PROOF_BYTES}",
                proof.len()
            ),
        );
    }
    let invalid = |detail: String| TokenError {
        kind: InvalidDpopProof,
        detail,
    };
    let jws = CompactJws::parse(proof)
        .map_err(|e| invalid(format!("the proof is not a compact JWS: {}", e.detail)))?;
    match jws.typ.as_deref().map(normalise_media_type) {
        Some(t) if t == "dpop+jwt" => {}
        other => {
            return Err(invalid(format!(
                "typ must be \"dpop+jwt\", not {}",
                other.map_or("absent".to_owned(), |t| preview_str(&t))
            )))
        }
    }
    if !settings.algorithms.iter().any(|a| a.admits(jws.alg)) {
        return Err(invalid(format!(
            "alg {} is not among the proof algorithms ({})",
            jws.alg,
            settings.algs()
        )));
    }
    let Some(Value::Object(jwk)) = jws.header.get("jwk") else {
        return Err(invalid(
            "the proof has no jwk header: the client's public key".to_owned(),
        ));
    };
    let key = VerificationKey::from_jwk(&Value::Object(jwk.clone()))
        .map_err(|e| invalid(format!("the proof's jwk: {}", e.message)))?;
    if key.key_type == KeyType::Hmac {
        return Err(invalid(
            "the proof's jwk is a symmetric key; a proof is signed with a key pair".to_owned(),
        ));
    }
    if !jws.verifies_with(&key) {
        return Err(invalid(format!(
            "the {} signature does not verify with the proof's jwk",
            jws.alg
        )));
    }
    let thumbprint = jwk_thumbprint(jwk)
        .ok_or_else(|| invalid("the proof's jwk has no thumbprint".to_owned()))?;
    let claims = parse_strict_object(&jws.payload).map_err(|_| {
        invalid("the proof's payload is not a JSON object without duplicate members".to_owned())
    })?;
    let text = |name: &str| match claims.get(name) {
        Some(Value::String(v)) if !v.is_empty() => Ok(v.as_str()),
        Some(other) => Err(invalid(format!(
            "{name} must be a non-empty string, not {}",
            preview(other)
        ))),
        None => Err(invalid(format!("the proof has no {name} claim"))),
    };
    let jti = text("jti")?;
    if jti.len() > MAX_JTI_BYTES {
        return Err(invalid(format!(
            "jti is {} bytes; at most {MAX_JTI_BYTES}",
            jti.len()
        )));
    }
    let htm = text("htm")?;
    if let Some(other) = methods.iter().find(|m| m.as_str() != htm) {
        return fail(
            DpopMethodMismatch,
            if methods.len() > 1 {
                format!(
                    "htm {} but the request is judged as {}: a proof signs one method, so a \
                     DPoP request may not override it",
                    preview_str(htm),
                    methods.join(" then ")
                )
            } else {
                format!("htm {} but the request method is {other}", preview_str(htm))
            },
        );
    }
    htu_matches(text("htu")?)?;
    let iat = match claims.get("iat") {
        None => return Err(invalid("the proof has no iat claim".to_owned())),
        Some(v) => numeric_date(v)
            .ok_or_else(|| invalid(format!("iat must be a number, not {}", preview(v))))?,
    };
    let now_f = now as f64;
    if iat + (settings.max_age as f64) < now_f || iat > now_f + settings.leeway as f64 {
        return fail(
            DpopProofExpired,
            format!(
                "iat {} is outside the window from {} to {} (max_age_seconds {}, leeway {}s)",
                instant(iat),
                instant(now_f - settings.max_age as f64),
                instant(now_f + settings.leeway as f64),
                settings.max_age,
                settings.leeway
            ),
        );
    }
    if let Some(secret) = &settings.nonce_secret {
        let nonce = claims.get("nonce").and_then(Value::as_str);
        if !nonce.is_some_and(|n| nonce_is_fresh(secret, settings.max_age, n, now)) {
            return fail(
                DpopNonceRequired,
                match nonce {
                    None => "the proof has no nonce and dpop.nonce_secret requires one".to_owned(),
                    Some(_) => "the proof's nonce is not one rolegate issued recently".to_owned(),
                },
            );
        }
    }
    let jti = jti.to_owned();
    Ok(VerifiedProof {
        thumbprint,
        alg: jws.alg,
        iat,
        claims,
        jti,
        max_age: settings.max_age,
    })
}

fn uri_mismatch(htu: &str, why: impl std::fmt::Display) -> TokenError {
    TokenError {
        kind: TokenErrorKind::DpopUriMismatch,
        detail: format!("htu {}: {why}", preview_str(htu)),
    }
}

/// An `htu` as the origin (normal form) and the canonical path it names;
/// query and fragment are ignored (RFC 9449 §4.3 check 9, compared in the
/// normal forms of RFC 3986 §6.2.2-3).
pub(crate) fn split_htu(htu: &str) -> Result<(String, String), TokenError> {
    let without_query = htu.split(['?', '#']).next().unwrap_or_default();
    let (scheme, authority, path) =
        split_absolute(without_query).ok_or_else(|| uri_mismatch(htu, "not an absolute URI"))?;
    let origin = normal_origin(&format!("{scheme}://{authority}"))
        .ok_or_else(|| uri_mismatch(htu, "its scheme and host are not an http(s) origin"))?;
    let canonical = crate::request::path::canonicalize(path)
        .map_err(|e| uri_mismatch(htu, format!("its path cannot be read: {}", e.describe())))?;
    Ok((origin, canonical.path))
}

/// `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the token's ASCII.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    b64url_encode(&sha2::Sha256::digest(token.as_bytes()))
}

/// The origins a proof may name: `dpop.origins`, or the one the request
/// was addressed to as the proxy received it (`:scheme` with `:authority`
/// or `Host`).
fn request_origins(settings: &DpopSettings, request: &Request) -> Result<Vec<String>, String> {
    if !settings.origins.is_empty() {
        return Ok(settings.origins.clone());
    }
    let scheme = request.only_value(":scheme").ok_or(
        "the request's scheme is not known (no :scheme); set dpop.origins to the origins clients address",
    )?;
    let authority = request
        .only_value(":authority")
        .or_else(|| request.only_value("host"))
        .ok_or("the request names no single host (:authority or Host); set dpop.origins")?;
    normal_origin(&format!("{scheme}://{authority}"))
        .map(|o| vec![o])
        .ok_or_else(|| {
            format!(
                "the request's scheme and host ({}://{}) are not an origin; set dpop.origins",
                preview_str(scheme),
                preview_str(authority)
            )
        })
}

/// A server nonce (RFC 9449 §8) for `now`: stateless, so every Envoy worker
/// checks what any other issued. It names its time window (`max_age`
/// seconds long) and carries an HMAC of it.
pub(crate) fn fresh_nonce(settings: &DpopSettings, now: u64) -> Option<String> {
    let secret = settings.nonce_secret.as_deref()?;
    let window = now / settings.max_age.max(1);
    let mut bytes = window.to_be_bytes().to_vec();
    let tag = {
        use hmac::Mac as _;
        nonce_mac(secret, window)?.finalize().into_bytes()
    };
    bytes.extend_from_slice(tag.get(..NONCE_MAC_BYTES)?);
    Some(b64url_encode(&bytes))
}

/// Whether `nonce` was made by [`fresh_nonce`] in this window or the one
/// before (a nonce issued at a window's end stays usable for a while).
fn nonce_is_fresh(secret: &[u8], max_age: u64, nonce: &str, now: u64) -> bool {
    let Some(bytes) = b64url_decode(nonce) else {
        return false;
    };
    if bytes.len() != NONCE_WINDOW_BYTES + NONCE_MAC_BYTES {
        return false;
    }
    let (window, mac) = bytes.split_at(NONCE_WINDOW_BYTES);
    let Ok(window) = <[u8; NONCE_WINDOW_BYTES]>::try_from(window) else {
        return false;
    };
    let window = u64::from_be_bytes(window);
    let current = now / max_age.max(1);
    if window != current && window.saturating_add(1) != current {
        return false;
    }
    nonce_mac_verifies(secret, window, mac)
}

/// The nonce MAC of `window` under `secret`, before it is finalised.
fn nonce_mac(secret: &[u8], window: u64) -> Option<hmac::Hmac<sha2::Sha256>> {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).ok()?;
    mac.update(b"rolegate dpop nonce ");
    mac.update(&window.to_be_bytes());
    Some(mac)
}

fn nonce_mac_verifies(secret: &[u8], window: u64, tag: &[u8]) -> bool {
    use hmac::Mac as _;
    // Constant time: a nonce's MAC must not be guessable byte by byte.
    nonce_mac(secret, window).is_some_and(|mac| mac.verify_truncated_left(tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_last_two_windows_and_need_the_secret() {
        let settings = DpopSettings {
            nonce_secret: Some(b"0123456789abcdef0123456789abcdef".to_vec()),
            ..DpopSettings::default()
        };
        let secret = settings.nonce_secret.as_deref().unwrap();
        let nonce = fresh_nonce(&settings, 6_000).unwrap();
        assert!(nonce_is_fresh(secret, 60, &nonce, 6_000));
        assert!(nonce_is_fresh(secret, 60, &nonce, 6_119));
        assert!(!nonce_is_fresh(secret, 60, &nonce, 6_120));
        assert!(!nonce_is_fresh(
            b"another secret, 32 bytes long...",
            60,
            &nonce,
            6_000
        ));
        let mut forged = b64url_decode(&nonce).unwrap();
        forged[0] ^= 1;
        assert!(!nonce_is_fresh(secret, 60, &b64url_encode(&forged), 6_000));
        assert!(!nonce_is_fresh(secret, 60, "not base64!", 6_000));
        assert_eq!(fresh_nonce(&DpopSettings::default(), 6_000), None);
    }

    #[test]
    fn token_hash_is_rfc_9449s_example() {
        // RFC 9449 §7.1's access token and its ath (Figure 13).
        assert_eq!(
            token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
