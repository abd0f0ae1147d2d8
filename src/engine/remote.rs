//! Remote validation as a pure state machine: which HTTP calls a host should
//! make (JWKS, OpenID discovery, RFC 7662 introspection), and what their
//! answers mean. The host only performs the calls (Envoy: `dispatch_http_call`)
//! and hands the answers back; it decides nothing.

use crate::jose::alg::Alg;
use crate::jose::json::parse_strict_object;
use crate::jose::json::JsonPath;
use crate::jose::keys::{self, VerificationKey};
use crate::jose::mint;
use crate::jose::token::{TokenError, TokenErrorKind};
use crate::policy::remote::{ClientAuth, Introspection, RemoteSource};
use crate::policy::url::Url;
use crate::policy::Issuer;
use serde_json::{Map, Value};

/// Why an HTTP call is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// The OpenID discovery document (it names the JWKS and introspection endpoint).
    Discovery,
    /// The issuer's JWKS.
    Jwks,
    /// RFC 7662 introspection of an opaque token.
    Introspection,
}

/// An HTTP call for the host to make on the core's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// The issuer the call is for (index in the policy's `issuers`).
    pub issuer: usize,
    /// Why the call is made.
    pub purpose: Purpose,
    /// The Envoy cluster to call.
    pub cluster: String,
    /// Pseudo-headers first (`:method`, `:path`, `:authority`), then the rest.
    pub headers: Vec<(String, String)>,
    /// The request body (introspection's form), if any.
    pub body: Option<Vec<u8>>,
    /// How long to wait for the answer.
    pub timeout_ms: u64,
    /// Answers longer than this are failures.
    pub max_response_bytes: usize,
}

/// What came back: the status and body, or why nothing usable did.
pub type HttpResult = Result<(u16, Vec<u8>), String>;

/// The fetched keys of one remote issuer.
#[derive(Debug, Default)]
pub struct RemoteKeys {
    pub keys: Vec<VerificationKey>,
    pub loaded_at: Option<u64>,
    pub last_attempt: Option<u64>,
    pub in_flight: bool,
    /// From configuration, or from the discovery document.
    pub jwks_url: Option<Url>,
    pub introspection_url: Option<Url>,
    pub last_error: Option<String>,
    /// Keys skipped from the last JWKS, with why (unsupported or weak).
    pub skipped: Vec<String>,
}

/// Remote state of every issuer of a policy (index = issuer index).
#[derive(Debug, Default)]
pub struct KeyStore {
    pub(crate) sets: Vec<RemoteKeys>,
}

impl crate::authorize::authenticate::FetchedKeys for KeyStore {
    fn loaded(&self, issuer: usize) -> Option<&[VerificationKey]> {
        let set = self.sets.get(issuer)?;
        set.loaded_at.map(|_| set.keys.as_slice())
    }
}

impl KeyStore {
    pub(crate) fn new(issuers: &[Issuer]) -> KeyStore {
        KeyStore {
            sets: issuers
                .iter()
                .map(|issuer| RemoteKeys {
                    jwks_url: issuer
                        .remote
                        .as_ref()
                        .filter(|r| !r.is_discovery)
                        .map(|r| r.url.clone()),
                    introspection_url: issuer
                        .introspection
                        .as_ref()
                        .and_then(|i| i.endpoint.clone()),
                    ..RemoteKeys::default()
                })
                .collect(),
        }
    }

    pub fn issuer(&self, index: usize) -> Option<&RemoteKeys> {
        self.sets.get(index)
    }

    /// Calls that are due: first loads, refreshes, and discovery for
    /// introspection endpoints. Marks them in flight.
    pub(crate) fn due(&mut self, issuers: &[Issuer], now: u64) -> Vec<HttpCall> {
        let mut calls = Vec::new();
        for (index, (issuer, set)) in issuers.iter().zip(self.sets.iter_mut()).enumerate() {
            let Some(remote) = issuer.remote.as_ref() else {
                continue;
            };
            if set.in_flight {
                continue;
            }
            let stale = match (set.loaded_at, set.last_attempt) {
                (None, None) => true,
                // Not loaded yet: retry failures at the refetch interval.
                (None, Some(last)) => now >= last + remote.min_refetch_seconds,
                (Some(loaded), last) => {
                    now >= loaded + remote.refresh_seconds
                        && last.is_none_or(|l| now >= l + remote.min_refetch_seconds)
                }
            };
            if stale {
                calls.push(start_key_fetch(index, remote, set, now));
            }
        }
        calls
    }

    /// A rate-limited refetch for an unknown `kid`, if allowed now.
    pub(crate) fn refetch(
        &mut self,
        issuers: &[Issuer],
        index: usize,
        now: u64,
    ) -> Option<HttpCall> {
        let remote = issuers.get(index)?.remote.as_ref()?;
        let set = self.sets.get_mut(index)?;
        if set.in_flight
            || set
                .last_attempt
                .is_some_and(|l| now < l + remote.min_refetch_seconds)
        {
            return None;
        }
        Some(start_key_fetch(index, remote, set, now))
    }

    /// Takes a discovery or JWKS answer; returns follow-up calls (discovery
    /// leads to the JWKS). On failure the old keys keep serving.
    pub(crate) fn complete(
        &mut self,
        issuers: &[Issuer],
        call: &HttpCall,
        result: HttpResult,
        now: u64,
    ) -> Vec<HttpCall> {
        let (Some(issuer), Some(set)) = (issuers.get(call.issuer), self.sets.get_mut(call.issuer))
        else {
            return Vec::new();
        };
        let Some(remote) = issuer.remote.as_ref() else {
            return Vec::new();
        };
        set.in_flight = false;
        let body = match checked_body(result, call.max_response_bytes) {
            Ok(body) => body,
            Err(why) => {
                set.last_error = Some(why);
                return Vec::new();
            }
        };
        match call.purpose {
            Purpose::Discovery => match parse_discovery(&body, &issuer.issuer) {
                Ok((jwks, introspection)) => {
                    set.jwks_url = Some(jwks);
                    if introspection.is_some() && set.introspection_url.is_none() {
                        set.introspection_url = introspection;
                    }
                    set.last_error = None;
                    vec![jwks_call(call.issuer, remote, set, now)]
                }
                Err(why) => {
                    set.last_error = Some(why);
                    Vec::new()
                }
            },
            Purpose::Jwks => {
                match parse_remote_jwks(&body, &issuer.algorithms) {
                    Ok((keys, skipped)) if !keys.is_empty() => {
                        set.keys = keys;
                        set.skipped = skipped;
                        set.loaded_at = Some(now);
                        set.last_error = None;
                    }
                    Ok((_, skipped)) => {
                        set.last_error = Some(format!(
                            "the JWKS has no usable key ({})",
                            if skipped.is_empty() {
                                "it is empty".to_owned()
                            } else {
                                skipped.join("; ")
                            }
                        ))
                    }
                    Err(why) => set.last_error = Some(why),
                }
                Vec::new()
            }
            Purpose::Introspection => Vec::new(),
        }
    }
}

fn start_key_fetch(
    index: usize,
    remote: &RemoteSource,
    set: &mut RemoteKeys,
    now: u64,
) -> HttpCall {
    set.in_flight = true;
    set.last_attempt = Some(now);
    if remote.is_discovery && set.jwks_url.is_none() {
        get_call(index, Purpose::Discovery, remote, &remote.url)
    } else {
        jwks_call(index, remote, set, now)
    }
}

fn jwks_call(index: usize, remote: &RemoteSource, set: &mut RemoteKeys, now: u64) -> HttpCall {
    set.in_flight = true;
    set.last_attempt = Some(now);
    let url = set.jwks_url.clone().unwrap_or_else(|| remote.url.clone());
    get_call(index, Purpose::Jwks, remote, &url)
}

fn get_call(index: usize, purpose: Purpose, remote: &RemoteSource, url: &Url) -> HttpCall {
    HttpCall {
        issuer: index,
        purpose,
        cluster: remote.cluster.clone(),
        headers: vec![
            (":method".into(), "GET".into()),
            (":path".into(), url.path.clone()),
            (":authority".into(), url.authority.clone()),
            ("accept".into(), "application/json".into()),
        ],
        body: None,
        timeout_ms: remote.timeout_ms,
        max_response_bytes: remote.max_response_bytes,
    }
}

/// The body of a 200 answer within the size limit, or why not.
fn checked_body(result: HttpResult, max: usize) -> Result<Vec<u8>, String> {
    let (status, body) = result?;
    if status != 200 {
        // An OAuth error answer says why (RFC 6749 §5.2, RFC 7662 §2.3):
        // node-oidc-provider answers 400 unsupported_token_type, for one.
        let said = parse_strict_object(body.get(..body.len().min(4096)).unwrap_or_default())
            .ok()
            .and_then(|doc| {
                let text = |k: &str| {
                    doc.get(k)
                        .and_then(Value::as_str)
                        .map(crate::jose::claims::preview_str)
                };
                let error = text("error")?;
                Some(match text("error_description") {
                    Some(d) => format!(": {error} ({d})"),
                    None => format!(": {error}"),
                })
            })
            .unwrap_or_default();
        return Err(format!("the server answered {status}{said}"));
    }
    if body.len() > max {
        return Err(format!(
            "the answer is {} bytes; at most {max} are read",
            body.len()
        ));
    }
    Ok(body)
}

/// The `jwks_uri` (and `introspection_endpoint`) of a discovery document,
/// whose `issuer` must be exactly the configured one (OpenID Discovery §4.3).
fn parse_discovery(body: &[u8], issuer: &str) -> Result<(Url, Option<Url>), String> {
    let doc = parse_strict_object(body)
        .map_err(|e| format!("the discovery document is not JSON: {e:?}"))?;
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(format!(
            "the discovery document names issuer {}, not \"{issuer}\"",
            doc.get("issuer")
                .map(crate::jose::claims::preview)
                .unwrap_or_default()
        ));
    }
    let jwks = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or("the discovery document has no jwks_uri")?;
    let introspection = doc
        .get("introspection_endpoint")
        .and_then(Value::as_str)
        .map(Url::parse)
        .transpose()
        .map_err(|e| format!("introspection_endpoint: {e}"))?;
    Ok((
        Url::parse(jwks).map_err(|e| format!("jwks_uri: {e}"))?,
        introspection,
    ))
}

/// Keys of a fetched JWKS with the policy's checks. Keys that fail them are
/// skipped (IdPs publish encryption and other keys too); symmetric keys from a
/// URL are never used.
fn parse_remote_jwks(
    body: &[u8],
    algorithms: &[Alg],
) -> Result<(Vec<VerificationKey>, Vec<String>), String> {
    let doc = parse_strict_object(body).map_err(|e| format!("the JWKS is not JSON: {e:?}"))?;
    let list = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the JWKS has no \"keys\" array")?;
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    let mut kids = std::collections::HashSet::new();
    for (i, jwk) in list.iter().enumerate() {
        // The same rules as a pasted set, so both say the same of a key.
        if let Some(why) = keys::skip_reason(jwk) {
            skipped.push(format!("keys[{i}]: {why}"));
            continue;
        }
        match keys::parse_jwk(jwk, format!("keys[{i}]")) {
            Ok(key) if key.key_type == crate::jose::alg::KeyType::Hmac => skipped.push(format!(
                "keys[{i}]: a symmetric key is never taken from a URL"
            )),
            Ok(key) if !algorithms.iter().any(|a| key.usable_for(*a).is_ok()) => {
                skipped.push(format!("keys[{i}]: fits none of the issuer's algorithms"))
            }
            Ok(key) => {
                if let Some(kid) = &key.kid {
                    if !kids.insert(kid.clone()) {
                        return Err(format!(
                            "kid \"{kid}\" names two keys; the JWKS is ambiguous"
                        ));
                    }
                }
                keys.push(key);
            }
            Err(e) => {
                let at = JsonPath::root().field("keys").index(i).join(&e.path);
                skipped.push(format!("{at}: {}", e.message));
            }
        }
    }
    Ok((keys, skipped))
}

impl Introspection {
    /// The RFC 7662 request for `token` (client authentication per RFC 6749
    /// §2.3.1 or RFC 7523), or None while the endpoint is not known yet.
    pub(crate) fn request(
        &self,
        index: usize,
        endpoint: &Url,
        token: &str,
        now: u64,
    ) -> Result<HttpCall, String> {
        let mut body = format!("token={}&token_type_hint=access_token", form_encode(token));
        let mut headers = vec![
            (":method".to_owned(), "POST".to_owned()),
            (":path".to_owned(), endpoint.path.clone()),
            (":authority".to_owned(), endpoint.authority.clone()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("accept".to_owned(), "application/json".to_owned()),
        ];
        match &self.auth {
            ClientAuth::Basic { client_id, secret } => {
                let credentials = format!("{}:{}", form_encode(client_id), form_encode(secret));
                headers.push((
                    "authorization".to_owned(),
                    format!("Basic {}", base64_standard(credentials.as_bytes())),
                ));
            }
            ClientAuth::PrivateKeyJwt {
                client_id,
                key,
                alg,
            } => {
                let jti = mint::random_id().map_err(|e| e.to_string())?;
                let mut claims = Map::new();
                claims.insert("iss".into(), Value::String(client_id.clone()));
                claims.insert("sub".into(), Value::String(client_id.clone()));
                claims.insert("aud".into(), Value::String(endpoint.to_text()));
                claims.insert("jti".into(), Value::String(jti));
                claims.insert("iat".into(), Value::from(now));
                claims.insert("exp".into(), Value::from(now + 60));
                let assertion = mint::mint(&mint::MintRequest {
                    alg: Some(alg.name()),
                    key: Some(key),
                    claims,
                    ..mint::MintRequest::default()
                })
                .map_err(|e| e.to_string())?;
                body.push_str(&format!(
                    "&client_id={}&client_assertion_type={}&client_assertion={}",
                    form_encode(client_id),
                    form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    assertion
                ));
            }
            // RFC 8705 §2: the certificate Envoy presents authenticates.
            ClientAuth::Tls { client_id } => {
                body.push_str(&format!("&client_id={}", form_encode(client_id)));
            }
        }
        Ok(HttpCall {
            issuer: index,
            purpose: Purpose::Introspection,
            cluster: self.cluster.clone(),
            headers,
            body: Some(body.into_bytes()),
            timeout_ms: self.timeout_ms,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

/// What an introspection answer means.
#[derive(Debug)]
pub(crate) enum IntrospectionAnswer {
    /// `active: true`: the claims to judge (with `iss` and `exp` filled in).
    Active(Map<String, Value>),
    /// `active: false` or a claim of the wrong shape: 401.
    Rejected(TokenError),
    /// No usable answer: 503, never an allow.
    Unavailable(String),
}

/// Interprets an RFC 7662 answer for `issuer`.
pub(crate) fn interpret_introspection(
    issuer: &Issuer,
    result: HttpResult,
    now: u64,
) -> IntrospectionAnswer {
    let Some(settings) = issuer.introspection.as_ref() else {
        return IntrospectionAnswer::Unavailable("this issuer has no introspection".to_owned());
    };
    let body = match checked_body(result, settings.max_response_bytes) {
        Ok(body) => body,
        Err(why) => return IntrospectionAnswer::Unavailable(why),
    };
    let mut claims = match parse_strict_object(&body) {
        Ok(claims) => claims,
        Err(e) => {
            return IntrospectionAnswer::Unavailable(format!(
                "the introspection answer is not a JSON object: {e:?}"
            ))
        }
    };
    match claims.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            return IntrospectionAnswer::Rejected(TokenError {
                kind: TokenErrorKind::Inactive,
                detail: "the authorization server says the token is not active".to_owned(),
            })
        }
        _ => {
            return IntrospectionAnswer::Unavailable(
                "the introspection answer has no boolean \"active\"".to_owned(),
            )
        }
    }
    match claims.get("iss") {
        None => {
            claims.insert("iss".into(), Value::String(issuer.issuer.clone()));
        }
        Some(Value::String(iss)) if *iss == issuer.issuer => {}
        Some(other) => {
            return IntrospectionAnswer::Rejected(TokenError {
                kind: TokenErrorKind::UnknownIssuer,
                detail: format!(
                    "the introspection answer names issuer {}, not \"{}\"",
                    crate::jose::claims::preview(other),
                    issuer.issuer
                ),
            })
        }
    }
    // Without `exp` the answer is trusted for cache_seconds.
    claims
        .entry("exp")
        .or_insert_with(|| Value::from(now + settings.cache_seconds));
    if !settings.require_audience && !claims.contains_key("aud") {
        if let Some(aud) = issuer.audiences.first() {
            claims.insert("aud".into(), Value::String(aud.clone()));
        }
    }
    IntrospectionAnswer::Active(claims)
}

/// `application/x-www-form-urlencoded` value encoding.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b+c/=&"), "a%20b%2Bc%2F%3D%26");
        assert_eq!(form_encode("Az09-._~"), "Az09-._~");
    }

    #[test]
    fn remote_jwks_skips_what_it_cannot_use() {
        let keys: Value =
            serde_json::from_str(include_str!("../../tests/vectors/keys.json")).unwrap();
        let public = |n: &str| crate::jose::mint::public_jwk(keys["keys"][n].as_object().unwrap());
        let body = serde_json::to_vec(&serde_json::json!({"keys": [
            public("rsa-a"), public("ec-a"), public("hs-a"), {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"},
            {"kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "n": "AA", "e": "AQAB"}
        ]}))
        .unwrap();
        let (found, skipped) = parse_remote_jwks(&body, &[Alg::RS256]).unwrap();
        assert_eq!(found.len(), 1, "only the RSA key fits RS256");
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(skipped.iter().any(|s| s.contains("symmetric")));
        // Skipped for the reasons a pasted set gives.
        assert!(skipped.contains(&"keys[3]: key type EC (P-521) is not supported".to_owned()));
        assert!(skipped.contains(&"keys[4]: an encryption key (use: enc)".to_owned()));
        assert!(parse_remote_jwks(b"{\"keys\": 1}", &[Alg::RS256]).is_err());
        assert!(parse_remote_jwks(b"not json", &[Alg::RS256]).is_err());
    }

    #[test]
    fn discovery_must_name_the_issuer() {
        let doc = br#"{"issuer": "https://idp", "jwks_uri": "https://idp/keys", "introspection_endpoint": "https://idp/introspect"}"#;
        let (jwks, introspection) = parse_discovery(doc, "https://idp").unwrap();
        assert_eq!(jwks.path, "/keys");
        assert_eq!(introspection.unwrap().path, "/introspect");
        assert!(parse_discovery(doc, "https://other").is_err());
        assert!(parse_discovery(br#"{"issuer": "https://idp"}"#, "https://idp").is_err());
    }

    #[test]
    fn answers_must_be_200_and_small() {
        assert!(checked_body(Ok((200, vec![1; 10])), 10).is_ok());
        assert!(checked_body(Ok((200, vec![1; 11])), 10).is_err());
        assert!(checked_body(Ok((503, vec![])), 10).is_err());
        assert!(checked_body(Err("timeout".into()), 10).is_err());
    }
}
