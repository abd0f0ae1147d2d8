//! The token endpoint's shares of its shared storage: each client may hold
//! only so many active tokens and be issued only so many a minute, so one
//! client (a leaked key, a runaway script) exhausts its own share and never
//! another client's. Hosts keep the records ([`crate::token_endpoint::TokenStore`]);
//! what fits is decided here, inside each host's atomic update.

use crate::policy::token_endpoint::ClientLimits;
use crate::token_endpoint::ActiveToken;
use std::collections::BTreeMap;

/// Why storage refused: a client over its share (HTTP 429), or the storage
/// itself failing (503).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The client is over one of its limits; it may retry after this many seconds.
    Limit {
        /// Which limit, for the audit line.
        detail: String,
        /// Seconds until the client is within it again (`Retry-After`).
        retry_after: u64,
    },
    /// The storage failed (why).
    Unavailable(String),
}

impl From<String> for Refusal {
    fn from(why: String) -> Self {
        Refusal::Unavailable(why)
    }
}

/// What an assertion id is remembered as: its SHA-256, base64url (43
/// bytes whatever the id's length, so an ~11 KB `jti` costs what a short
/// one does, and every token request reads and rewrites only digests).
pub(crate) fn jti_digest(jti: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(jti.as_bytes()))
}

/// Records `client_id`'s assertion id `jti` until `until` in `jtis`, that
/// client's own ids (each client has its own record, so one client's ids
/// cost another nothing), dropping expired ids first. `Ok(false)`: seen
/// before (a replay).
pub fn record_jti(
    jtis: &mut BTreeMap<String, u64>,
    client_id: &str,
    jti: &str,
    until: u64,
    now: u64,
    in_flight: usize,
) -> Result<bool, Refusal> {
    jtis.retain(|_, until| *until > now);
    let key = jti_digest(jti);
    if jtis.contains_key(&key) {
        return Ok(false);
    }
    if jtis.len() >= in_flight {
        let retry_after = jtis
            .values()
            .min()
            .map_or(60, |u| u.saturating_sub(now).max(1));
        return Err(Refusal::Limit {
            detail: format!(
                "client {client_id} has {} assertions in flight, its limit; retry later",
                jtis.len()
            ),
            retry_after,
        });
    }
    jtis.insert(key, until);
    Ok(true)
}

/// Whether `client_id` may be issued another token now (expired tokens do
/// not count). Read-only: checked before an assertion is spent, and again
/// in the atomic [`admit_token`].
pub fn check_share(
    tokens: &[ActiveToken],
    client_id: &str,
    now: u64,
    limits: &ClientLimits,
) -> Result<(), Refusal> {
    let own = || {
        tokens
            .iter()
            .filter(move |t| t.client_id == client_id && t.expires_at > now)
    };
    let active = own().count();
    if active >= limits.active_tokens {
        let retry_after = own()
            .map(|t| t.expires_at.saturating_sub(now))
            .min()
            .unwrap_or(60)
            .max(1);
        return Err(Refusal::Limit {
            detail: format!(
                "client {client_id} holds {active} active tokens, its limit \
                 (token_endpoint.client_limits.active_tokens); reuse a token until it expires"
            ),
            retry_after,
        });
    }
    let window_start = now.saturating_sub(59);
    let recent = || own().filter(move |t| t.issued_at >= window_start);
    let issued = recent().count();
    if issued >= limits.tokens_per_minute {
        let retry_after = recent()
            .map(|t| (t.issued_at + 60).saturating_sub(now))
            .min()
            .unwrap_or(60)
            .max(1);
        return Err(Refusal::Limit {
            detail: format!(
                "client {client_id} was issued {issued} tokens in the last minute, its limit \
                 (token_endpoint.client_limits.tokens_per_minute)"
            ),
            retry_after,
        });
    }
    Ok(())
}

/// Adds an issued token to `tokens` if its client's share allows,
/// reclaiming expired tokens first.
pub fn admit_token(
    tokens: &mut Vec<ActiveToken>,
    token: &ActiveToken,
    now: u64,
    limits: &ClientLimits,
) -> Result<(), Refusal> {
    tokens.retain(|t| t.expires_at > now);
    check_share(tokens, &token.client_id, now, limits)?;
    tokens.push(token.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(client: &str, issued_at: u64, expires_at: u64) -> ActiveToken {
        ActiveToken {
            client_id: client.to_owned(),
            name: client.to_owned(),
            role: "r".to_owned(),
            jti: format!("{client}-{issued_at}-{expires_at}"),
            issued_at,
            expires_at,
        }
    }

    #[test]
    fn a_client_exhausts_only_its_own_share() {
        let limits = ClientLimits {
            active_tokens: 3,
            tokens_per_minute: 100,
        };
        let mut tokens = Vec::new();
        for i in 0..3 {
            admit_token(&mut tokens, &token("a", 100 + i, 1000), 100 + i, &limits).unwrap();
        }
        let refused = admit_token(&mut tokens, &token("a", 110, 1000), 110, &limits);
        assert!(
            matches!(
                &refused,
                Err(Refusal::Limit {
                    retry_after: 890,
                    ..
                })
            ),
            "{refused:?}"
        );
        // Another client is untouched.
        admit_token(&mut tokens, &token("b", 110, 1000), 110, &limits).unwrap();
        // Expired tokens are reclaimed first.
        admit_token(&mut tokens, &token("a", 1000, 2000), 1000, &limits).unwrap();
        assert_eq!(tokens.len(), 1);
    }

    #[test]
    fn the_issue_rate_is_per_client_and_per_minute() {
        let limits = ClientLimits {
            active_tokens: 100,
            tokens_per_minute: 2,
        };
        let mut tokens = Vec::new();
        admit_token(&mut tokens, &token("a", 100, 9999), 100, &limits).unwrap();
        admit_token(&mut tokens, &token("a", 130, 9999), 130, &limits).unwrap();
        let refused = admit_token(&mut tokens, &token("a", 140, 9999), 140, &limits);
        assert!(
            matches!(
                &refused,
                Err(Refusal::Limit {
                    retry_after: 20,
                    ..
                })
            ),
            "{refused:?}"
        );
        admit_token(&mut tokens, &token("b", 140, 9999), 140, &limits).unwrap();
        // A minute after the first, one more.
        admit_token(&mut tokens, &token("a", 160, 9999), 160, &limits).unwrap();
    }

    #[test]
    fn assertion_ids_are_bounded_per_client() {
        let mut jtis = BTreeMap::new();
        assert_eq!(record_jti(&mut jtis, "a", "1", 200, 100, 2), Ok(true));
        assert_eq!(record_jti(&mut jtis, "a", "1", 200, 100, 2), Ok(false));
        assert_eq!(record_jti(&mut jtis, "a", "2", 300, 100, 2), Ok(true));
        assert!(matches!(
            record_jti(&mut jtis, "a", "3", 300, 100, 2),
            Err(Refusal::Limit {
                retry_after: 100,
                ..
            })
        ));
        // Kept while until > now, forgotten at until.
        assert_eq!(record_jti(&mut jtis, "a", "1", 200, 199, 3), Ok(false));
        // Expired ids go first.
        assert_eq!(record_jti(&mut jtis, "a", "3", 400, 250, 2), Ok(true));
        assert_eq!(ClientLimits::default().assertions_in_flight(720), 30 * 13);
    }

    #[test]
    fn assertion_ids_are_kept_as_fixed_size_digests() {
        let mut jtis = BTreeMap::new();
        let long = "j".repeat(11_000);
        assert_eq!(record_jti(&mut jtis, "a", &long, 200, 100, 2), Ok(true));
        assert_eq!(record_jti(&mut jtis, "a", &long, 200, 100, 2), Ok(false));
        let (key, _) = jtis.iter().next().unwrap();
        assert_eq!(key.len(), 43);
        assert_eq!(key, &jti_digest(&long));
        assert_ne!(jti_digest("a"), jti_digest("b"));
    }
}
