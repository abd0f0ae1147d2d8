//! The memory of used DPoP proofs (RFC 9449 §11.1): a proof is accepted
//! once. Hosts keep the bytes (Envoy: shared data, so every worker sees
//! every proof); what an entry is and when one is refused is decided here.
//!
//! Proofs are spread over [`SHARDS`] records by a hash of client and `jti`,
//! each at most [`MAX_SHARD_BYTES`]: the memory is bounded in bytes whatever
//! the number of clients, one busy client's proofs fill every record evenly
//! rather than one, and each record holds at most [`per_record`] of one
//! client's (`dpop.max_proofs_per_client` spread over the records, with
//! room for an uneven spread), so each client is bounded too.

use crate::authorize::binding::{ProofMemory, ProofMemoryError as Refusal, ProofUse};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;

/// How many records the proofs are spread over.
pub const SHARDS: u8 = 64;

/// How many of one client's live proofs one record holds: its share of
/// `per_client`, half again for an uneven spread, and a few more so a small
/// limit is not refused by chance. A client may so hold up to about 1.5x
/// `per_client` live proofs before every record refuses it.
pub fn per_record(per_client: usize) -> usize {
    per_client.div_ceil(usize::from(SHARDS)) * 3 / 2 + 4
}
/// The most one record holds: 2 048 entries, so all of them at most 4 MiB.
pub const MAX_SHARD_BYTES: usize = 64 * 1024;
/// client tag (8 bytes), jti digest (16), remembered until (8, big-endian).
const ENTRY_BYTES: usize = 32;

/// A proof as one record's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofEntry {
    /// The record it belongs in.
    pub shard: u8,
    client: [u8; 8],
    jti: [u8; 16],
    until: u64,
}

impl ProofEntry {
    /// Digests, not the values: a 256-byte `jti` costs what a short one
    /// does. 128 bits of a jti's SHA-256 make a collision (a fresh proof
    /// taken for a replay) practically impossible.
    pub fn of(proof: &ProofUse) -> ProofEntry {
        let client_digest = Sha256::digest(proof.client.as_bytes());
        let jti_digest = Sha256::digest(proof.jti.as_bytes());
        let mut client = [0; 8];
        client.copy_from_slice(client_digest.get(..8).unwrap_or(&[0; 8]));
        let mut jti = [0; 16];
        jti.copy_from_slice(jti_digest.get(..16).unwrap_or(&[0; 16]));
        ProofEntry {
            // By client and jti: a replay (same both) finds its record.
            shard: (client[0] ^ jti[0]) % SHARDS,
            client,
            jti,
            until: proof.until,
        }
    }

    fn to_bytes(self) -> [u8; ENTRY_BYTES] {
        let mut bytes = [0; ENTRY_BYTES];
        let (client, rest) = bytes.split_at_mut(8);
        let (jti, until) = rest.split_at_mut(16);
        client.copy_from_slice(&self.client);
        jti.copy_from_slice(&self.jti);
        until.copy_from_slice(&self.until.to_be_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Option<ProofEntry> {
        let client: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        let jti: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
        let until: [u8; 8] = bytes.get(24..32)?.try_into().ok()?;
        Some(ProofEntry {
            shard: (client[0] ^ jti[0]) % SHARDS,
            client,
            jti,
            until: u64::from_be_bytes(until),
        })
    }
}

/// Records `entry` in its record's bytes, first dropping entries too old to
/// matter. `Ok(false)`: seen before (the record is unchanged but for the
/// dropped entries).
pub fn record_in_shard(
    record: &mut Vec<u8>,
    entry: &ProofEntry,
    now: u64,
    per_client: usize,
) -> Result<bool, Refusal> {
    if record.len() % ENTRY_BYTES != 0 {
        return Err(Refusal::Unavailable(format!(
            "the proof record {} is {} bytes, not whole entries",
            entry.shard,
            record.len()
        )));
    }
    let mut live = Vec::with_capacity(record.len() + ENTRY_BYTES);
    let mut seen = false;
    let mut mine = 0usize;
    let mut first_expiry = u64::MAX;
    for bytes in record.chunks_exact(ENTRY_BYTES) {
        let Some(old) = ProofEntry::from_bytes(bytes) else {
            continue;
        };
        if old.until <= now {
            continue;
        }
        if old.client == entry.client {
            seen |= old.jti == entry.jti;
            mine += 1;
            first_expiry = first_expiry.min(old.until);
        }
        live.extend_from_slice(bytes);
    }
    if seen {
        *record = live;
        return Ok(false);
    }
    if mine >= per_record(per_client) {
        *record = live;
        return Err(Refusal::Limit {
            detail: format!(
                "this client's key made more proofs that are not yet too old than \
                 dpop.max_proofs_per_client ({per_client}) allows"
            ),
            retry_after: first_expiry.saturating_sub(now).max(1),
        });
    }
    if live.len() + ENTRY_BYTES > MAX_SHARD_BYTES {
        *record = live;
        return Err(Refusal::Unavailable(format!(
            "the proof record {} is full ({MAX_SHARD_BYTES} bytes of proofs not yet too old)",
            entry.shard
        )));
    }
    live.extend_from_slice(&entry.to_bytes());
    *record = live;
    Ok(true)
}

/// Used proofs in this process's memory (one Envoy worker alone, tests,
/// tools): a proxy with several workers shares them instead.
#[derive(Debug, Default)]
pub struct MemoryProofs {
    records: HashMap<u8, Vec<u8>>,
}

impl ProofMemory for MemoryProofs {
    fn record(&mut self, proof: &ProofUse, now: u64, per_client: usize) -> Result<bool, Refusal> {
        let entry = ProofEntry::of(proof);
        record_in_shard(
            self.records.entry(entry.shard).or_default(),
            &entry,
            now,
            per_client,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(client: &str, jti: &str, until: u64) -> ProofUse {
        ProofUse {
            client: client.to_owned(),
            jti: jti.to_owned(),
            until,
        }
    }

    #[test]
    fn a_proof_is_accepted_once_until_too_old() {
        let mut memory = MemoryProofs::default();
        assert_eq!(memory.record(&proof("k", "1", 200), 100, 10), Ok(true));
        assert_eq!(memory.record(&proof("k", "1", 200), 150, 10), Ok(false));
        // Another client's proof with the same jti is its own.
        assert_eq!(memory.record(&proof("other", "1", 200), 150, 10), Ok(true));
        // Once too old it is forgotten (the age check refuses it by then).
        assert_eq!(memory.record(&proof("k", "1", 300), 200, 10), Ok(true));
    }

    #[test]
    fn each_client_is_bounded() {
        let mut memory = MemoryProofs::default();
        let per_client = 6400;
        // Its limit is always admitted: the spread over the records is
        // uneven, but not by half again.
        for i in 0..per_client {
            let jti = i.to_string();
            assert_eq!(
                memory.record(&proof("k", &jti, 200), 100, per_client),
                Ok(true),
                "{i}"
            );
        }
        // Beyond it, before every record is full of it, it is refused.
        let refused = (per_client..2 * per_client).find(|i| {
            matches!(
                memory.record(&proof("k", &i.to_string(), 200), 100, per_client),
                Err(Refusal::Limit {
                    retry_after: 100,
                    ..
                })
            )
        });
        assert!(refused.is_some_and(|i| i < usize::from(SHARDS) * per_record(per_client)));
        // Another client is not refused for it.
        assert_eq!(
            memory.record(&proof("other", "1", 200), 100, per_client),
            Ok(true)
        );
        // Once its proofs are too old they are forgotten.
        assert_eq!(
            memory.record(&proof("k", "late", 300), 200, per_client),
            Ok(true)
        );
    }

    #[test]
    fn a_record_is_bounded_in_bytes_and_read_strictly() {
        let entry = ProofEntry::of(&proof("k", "x", 500));
        let mut full = vec![0u8; MAX_SHARD_BYTES];
        // Entries of another client, alive: the record cannot take one more.
        for chunk in full.chunks_exact_mut(ENTRY_BYTES) {
            chunk[0] = entry.client[0] ^ 0xff;
            chunk[24..].copy_from_slice(&1000u64.to_be_bytes());
        }
        assert!(matches!(
            record_in_shard(&mut full, &entry, 100, 10),
            Err(Refusal::Unavailable(_))
        ));
        let mut torn = vec![0u8; ENTRY_BYTES + 1];
        assert!(matches!(
            record_in_shard(&mut torn, &entry, 100, 10),
            Err(Refusal::Unavailable(_))
        ));
    }
}
