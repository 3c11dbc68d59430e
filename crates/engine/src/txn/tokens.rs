//! ClientRequestToken records: which TransactWriteItems committed in the last 10 minutes, and
//! with which parameters.
//!
//! A record is written in the transaction's own atomic commit, so a token is known exactly when
//! its transaction is, and it survives a restart as the items do. Records live in the catalog
//! keyspace under a table id no table ever gets ([`TOKENS_TABLE`]), one partition per region:
//!
//! ```text
//! catalog [u64::MAX][region][token] → [format 1][committed at, ms since epoch, u64 BE][fingerprint u128 BE]
//! ```
//!
//! Design note: DESIGN.md's key layout has no keyspace for transaction records; a reserved id in
//! the catalog keyspace keeps the storage contract (and every engine's keyspace set) unchanged.
//!
//! A record expires 10 minutes after its commit by the injected clock: a later request with its
//! token is a new request (and overwrites it). Expired records are deleted by
//! [`purge_expired`], which the engine runs at start and every few thousand token writes.

use std::fmt::Write as _;
use std::ops::ControlFlow;

use binderdb_storage::{Batch, Guard, Key, Keyspace, SegmentScan, Store, TableId, Write};

use crate::error::Result;

/// The table id of token records (never allocated to a table: ids count up from 1).
pub(crate) const TOKENS_TABLE: TableId = u64::MAX;
/// How long a token makes its transaction idempotent: DynamoDB's 10 minutes.
pub(crate) const WINDOW_MS: u64 = 10 * 60 * 1000;
const FORMAT: u8 = 1;
const RECORD_LEN: usize = 1 + 8 + 16;

/// The storage key of `token` in the caller's namespace: the region for the default account
/// (as before accounts existed), `<account>:<region>` for another account.
pub(crate) fn token_key(ctx: &crate::RequestContext, token: &str) -> Key {
    let partition = match ctx.account() {
        None => ctx.region.as_bytes().to_vec(),
        Some(account) => format!("{account}:{}", ctx.region).into_bytes(),
    };
    Key {
        keyspace: Keyspace::Catalog,
        table: TOKENS_TABLE,
        partition,
        sort: token.as_bytes().to_vec(),
    }
}

/// A committed transaction's token record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenRecord {
    /// When its transaction committed (ms since the epoch).
    pub(crate) committed_ms: u64,
    /// The fingerprint of its parameters.
    pub(crate) fingerprint: u128,
}

impl TokenRecord {
    /// The stored bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RECORD_LEN);
        out.push(FORMAT);
        out.extend_from_slice(&self.committed_ms.to_be_bytes());
        out.extend_from_slice(&self.fingerprint.to_be_bytes());
        out
    }

    /// Reads stored bytes; `None` for an unknown format (treated as no record).
    pub(crate) fn decode(bytes: &[u8]) -> Option<TokenRecord> {
        if bytes.len() != RECORD_LEN || bytes[0] != FORMAT {
            return None;
        }
        Some(TokenRecord {
            committed_ms: u64::from_be_bytes(bytes[1..9].try_into().ok()?),
            fingerprint: u128::from_be_bytes(bytes[9..].try_into().ok()?),
        })
    }

    /// Whether the record still makes its token idempotent at `now_ms`.
    pub(crate) fn live(&self, now_ms: u64) -> bool {
        now_ms < self.committed_ms.saturating_add(WINDOW_MS)
    }
}

/// Deletes the token records that expired by `now_ms` (each guarded on the version seen, so a
/// record renewed meanwhile stays). Returns how many it deleted.
///
/// # Errors
/// Storage failures.
pub(crate) fn purge_expired(store: &dyn Store, now_ms: u64) -> Result<usize> {
    let mut expired = Vec::new();
    let scan = SegmentScan {
        keyspace: Keyspace::Catalog,
        table: TOKENS_TABLE,
        segment: 0,
        total_segments: 1,
        start_after: None,
    };
    store.scan(&scan, &mut |entry| {
        if !TokenRecord::decode(entry.value).is_some_and(|r| r.live(now_ms)) {
            expired.push((entry.partition.to_vec(), entry.sort.to_vec(), entry.version));
        }
        ControlFlow::Continue(())
    })?;
    let mut purged = 0;
    for (partition, sort, version) in expired {
        let key = Key {
            keyspace: Keyspace::Catalog,
            table: TOKENS_TABLE,
            partition,
            sort,
        };
        let batch = Batch {
            guards: vec![Guard {
                key: key.clone(),
                expected: Some(version),
            }],
            writes: vec![Write::Delete { key }],
        };
        match store.commit(batch) {
            Ok(_) => purged += 1,
            Err(binderdb_storage::StorageError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(purged)
}

/// A stable 128-bit digest of a request's parameters (xxh3-128 of their canonical text).
#[derive(Default)]
pub(crate) struct Fingerprint(xxhash_rust::xxh3::Xxh3Default);

impl Fingerprint {
    /// Adds one parameter; its `Debug` text must be deterministic (sorted maps, no hashing
    /// containers).
    pub(crate) fn add(&mut self, part: &dyn std::fmt::Debug) {
        let _ = write!(self, "{part:?}\u{1f}");
    }

    /// The digest.
    pub(crate) fn finish(&self) -> u128 {
        self.0.digest128()
    }
}

impl std::fmt::Write for Fingerprint {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_expire_after_ten_minutes() {
        let r = TokenRecord {
            committed_ms: 1_000,
            fingerprint: 0x0123_4567_89ab_cdef_0011_2233_4455_6677,
        };
        // Format 1 is pinned: bytes written by earlier builds must keep reading.
        let bytes = r.encode();
        assert_eq!(bytes[0], 1);
        assert_eq!(&bytes[1..9], &1_000u64.to_be_bytes());
        assert_eq!(TokenRecord::decode(&bytes), Some(r));
        assert_eq!(TokenRecord::decode(&bytes[..5]), None);
        assert!(r.live(1_000 + WINDOW_MS - 1));
        assert!(!r.live(1_000 + WINDOW_MS));
    }

    #[test]
    fn fingerprints_follow_the_parameters() {
        let digest = |parts: &[&str]| {
            let mut f = Fingerprint::default();
            for p in parts {
                f.add(p);
            }
            f.finish()
        };
        assert_eq!(digest(&["a", "b"]), digest(&["a", "b"]));
        assert_ne!(digest(&["a", "b"]), digest(&["ab", ""]));
    }
}
