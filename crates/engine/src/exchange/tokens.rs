//! ClientTokens of ExportTableToPointInTime and ImportTable, claimed atomically in the store.
//!
//! DynamoDB makes a call with a ClientToken idempotent for 8 hours: the same request again
//! answers the first one's description, another request with the token is refused. Two
//! requests with one token may arrive at the same instant, on one node or on two nodes sharing
//! a store (`--storage rados`), so finding out whether a token was used and using it must be
//! one step: the first request *claims* the token with a guarded create of a token record
//! (guard: absent, or still the expired record it read). Exactly one claim commits; every other
//! request reads the winner's record and answers from the winner's job.
//!
//! A token record (the `Catalog` keyspace, partition `#export-tokens` or `#import-tokens`,
//! sort key = account, a zero byte, the token) holds the request, the instant of the claim and
//! the ARN the winner's job record gets. The winner writes the job record right after the
//! claim (an import first creates its table); a request that finds the claim but not yet the
//! job waits for it. If the winner gives up (its request failed, e.g. the table of an import
//! already existed) it removes its claim; if it died in between, its claim is abandoned after
//! [`ABANDONED_MS`] and taken over.
//!
//! Token records outlive their window until the token is used again (then the expired record is
//! replaced); like the job records themselves, they are small and not pruned.
//!
//! Must not depend on: HTTP or a concrete storage engine.

use std::time::Duration;

use binderdb_storage::{Batch, Guard, Key, Keyspace, StorageError, Store, Write};
use serde::{Deserialize, Serialize};

use super::Record;
use crate::catalog::CATALOG_TABLE;
use crate::clock::Clock;
use crate::error::{Error, Result};

/// How long a ClientToken is remembered (DynamoDB: 8 hours).
pub(crate) const CLIENT_TOKEN_MS: u64 = 8 * 60 * 60 * 1000;

/// A claim whose job record has not appeared after this long is abandoned (its node died
/// between the claim and the record) and may be taken over.
pub(crate) const ABANDONED_MS: u64 = 30_000;

/// Format of a token record.
const TOKEN_FORMAT: u32 = 1;

/// What the store keeps of a claimed token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TokenRecord {
    format: u32,
    /// The request that claimed it, as its job record keeps it.
    request: serde_json::Value,
    /// When it was claimed (ms since the epoch).
    claimed_ms: u64,
    /// The ARN of the claiming request's job record.
    arn: String,
}

/// The outcome of [`claim`].
#[derive(Debug)]
pub(crate) enum Claim<R> {
    /// This request holds the token: start the job with the ARN it claimed with, then
    /// [`release`] the claim if the request fails before the job record is saved.
    Won(Claimed),
    /// An earlier request with the same parameters holds the token: answer with its job.
    Earlier(R),
}

/// A token this request claimed.
#[derive(Debug)]
pub(crate) struct Claimed {
    key: Key,
    version: u64,
}

fn token_key(partition: &[u8], account: Option<&str>, token: &str) -> Key {
    let mut sort = Vec::with_capacity(token.len() + 16);
    sort.extend_from_slice(account.unwrap_or_default().as_bytes());
    sort.push(0);
    sort.extend_from_slice(token.as_bytes());
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: partition.to_vec(),
        sort,
    }
}

fn decode(bytes: &[u8]) -> Result<TokenRecord> {
    match serde_json::from_slice::<TokenRecord>(bytes) {
        Ok(r) if r.format == TOKEN_FORMAT => Ok(r),
        Ok(r) => Err(Error::Internal(format!(
            "unknown ClientToken record format {}",
            r.format
        ))),
        Err(e) => Err(Error::Internal(format!("corrupt ClientToken record: {e}"))),
    }
}

/// Claims `token` of `account` for `request`, whose job record will be `arn`.
///
/// # Errors
/// `conflict()` when the token holds for another request; storage failures.
pub(crate) fn claim<R: Record>(
    store: &dyn Store,
    clock: &dyn Clock,
    account: Option<&str>,
    token: &str,
    request: &serde_json::Value,
    arn: &str,
    conflict: &dyn Fn() -> Error,
) -> Result<Claim<R>> {
    let key = token_key(R::TOKEN_PARTITION, account, token);
    loop {
        let now = clock.now_millis();
        let current = store.get(&key)?;
        if let Some(held) = &current {
            let record = decode(&held.value)?;
            if record.claimed_ms + CLIENT_TOKEN_MS > now {
                if record.request != *request {
                    return Err(conflict());
                }
                if let Some(job) = super::load::<R>(store, &record.arn)? {
                    return Ok(Claim::Earlier(job));
                }
                if record.claimed_ms + ABANDONED_MS > now {
                    // The winner is still starting its job (or giving up): wait for it.
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                // Abandoned by a node that died before saving its job: take it over.
            }
        }
        let value = serde_json::to_vec(&TokenRecord {
            format: TOKEN_FORMAT,
            request: request.clone(),
            claimed_ms: now,
            arn: arn.to_owned(),
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        let batch = Batch {
            writes: vec![Write::Put {
                key: key.clone(),
                value,
            }],
            guards: vec![Guard {
                key: key.clone(),
                expected: current.as_ref().map(|v| v.version),
            }],
        };
        match store.commit(batch) {
            Ok(version) => return Ok(Claim::Won(Claimed { key, version })),
            // Another request claimed (or replaced) it first: look again.
            Err(StorageError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Gives up a claim whose request failed before its job record was saved, so a request with
/// the token waiting on it goes on (and the token may be used again). Best effort: a claim
/// left behind is abandoned after [`ABANDONED_MS`].
pub(crate) fn release(store: &dyn Store, claimed: Claimed) {
    let batch = Batch {
        writes: vec![Write::Delete {
            key: claimed.key.clone(),
        }],
        guards: vec![Guard {
            key: claimed.key,
            expected: Some(claimed.version),
        }],
    };
    match store.commit(batch) {
        Ok(_) | Err(StorageError::Conflict) => {}
        Err(e) => tracing::warn!(error = %e, "releasing a ClientToken claim failed"),
    }
}
