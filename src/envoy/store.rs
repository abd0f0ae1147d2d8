//! The token endpoint's storage and the memory of used DPoP proofs, in
//! proxy-wasm shared data, so every Envoy worker of the VM sees the same
//! seen `jti`s, active tokens and proofs. Writes use compare-and-swap and
//! retry. What a write may do (replays, each client's share, reclaiming
//! expired entries) is the core's `change`.

use crate::authorize::binding::{ProofMemory, ProofMemoryError, ProofUse};
use crate::engine::proofs::{record_in_shard, ProofEntry};
use crate::token_endpoint::limits::Refusal;
use crate::token_endpoint::{ActiveToken, SeenAssertions, TokenStore};
use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;
use serde::de::DeserializeOwned;
use serde::Serialize;

const CAS_RETRIES: usize = 8;
/// See `update`: the host numbers versions upwards from 1.
const CAS_ABSENT: u32 = u32::MAX;

pub(super) struct SharedDataStore {
    /// Each client's assertion ids under this prefix and its client id.
    jtis_prefix: String,
    tokens_key: String,
}

impl SharedDataStore {
    /// The records of `policy`'s token endpoint (none are read without one).
    pub fn for_policy(policy: &crate::policy::Policy) -> Self {
        SharedDataStore::new(policy.token_endpoint().map_or("", |e| e.issuer.as_str()))
    }

    pub fn new(issuer: &str) -> Self {
        SharedDataStore {
            jtis_prefix: format!("rolegate/{issuer}/jtis/"),
            tokens_key: format!("rolegate/{issuer}/tokens"),
        }
    }
}

/// A JSON record's value (an empty or missing record: the default).
fn decode<T: DeserializeOwned + Default>(key: &str, bytes: &[u8]) -> Result<T, String> {
    if bytes.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| format!("shared data {key}: {e}"))
}

fn read<T: DeserializeOwned + Default>(key: &str) -> Result<T, String> {
    let (bytes, _) = hostcalls::get_shared_data(key).map_err(|s| format!("shared data: {s:?}"))?;
    decode(key, &bytes.unwrap_or_default())
}

/// Read-modify-write of a record's bytes with compare-and-swap; `change`
/// returns its answer, or a refusal that leaves the record as it was.
fn update_bytes<R, E: From<String>>(
    key: &str,
    change: &mut dyn FnMut(&mut Vec<u8>) -> Result<R, E>,
) -> Result<R, E> {
    for _ in 0..CAS_RETRIES {
        let (bytes, cas) =
            hostcalls::get_shared_data(key).map_err(|s| E::from(format!("shared data: {s:?}")))?;
        let mut bytes = bytes.unwrap_or_default();
        let answer = change(&mut bytes)?;
        // The host creates a missing key whatever the cas, and a cas of 0
        // means "unconditional": a key read as missing is written with a cas
        // no existing entry has, so a worker that created it meanwhile makes
        // this write fail and retry instead of being overwritten.
        match hostcalls::set_shared_data(key, Some(&bytes), Some(cas.unwrap_or(CAS_ABSENT))) {
            Ok(()) => return Ok(answer),
            Err(Status::CasMismatch) => continue,
            Err(status) => return Err(E::from(format!("shared data: {status:?}"))),
        }
    }
    Err(E::from("shared data is too contended".to_owned()))
}

/// [`update_bytes`] of a JSON record (empty: the default value).
fn update<T, R>(
    key: &str,
    change: &mut dyn FnMut(&mut T) -> Result<R, Refusal>,
) -> Result<R, Refusal>
where
    T: DeserializeOwned + Serialize + Default,
{
    update_bytes(key, &mut |bytes: &mut Vec<u8>| {
        let mut value = decode::<T>(key, bytes)?;
        let answer = change(&mut value)?;
        *bytes = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
        Ok(answer)
    })
}

impl TokenStore for SharedDataStore {
    fn update_assertions(
        &mut self,
        client_id: &str,
        change: &mut dyn FnMut(&mut SeenAssertions) -> Result<bool, Refusal>,
    ) -> Result<bool, Refusal> {
        update(&format!("{}{client_id}", self.jtis_prefix), change)
    }

    fn update_tokens(
        &mut self,
        change: &mut dyn FnMut(&mut Vec<ActiveToken>) -> Result<(), Refusal>,
    ) -> Result<(), Refusal> {
        update(&self.tokens_key, change)
    }

    fn active(&self, now: u64) -> Result<Vec<ActiveToken>, String> {
        let tokens = read::<Vec<ActiveToken>>(&self.tokens_key)?;
        Ok(tokens.into_iter().filter(|t| t.expires_at > now).collect())
    }
}

/// Used DPoP proofs, one shared-data record per shard of clients.
pub(super) struct SharedDataProofs;

impl ProofMemory for SharedDataProofs {
    fn record(
        &mut self,
        proof: &ProofUse,
        now: u64,
        per_client: usize,
    ) -> Result<bool, ProofMemoryError> {
        let entry = ProofEntry::of(proof);
        let key = format!("rolegate/dpop/{}", entry.shard);
        update_bytes(&key, &mut |record| {
            record_in_shard(record, &entry, now, per_client)
        })
    }
}
