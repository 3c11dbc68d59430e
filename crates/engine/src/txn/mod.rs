//! Transactions: the state TransactWriteItems and TransactGetItems share with every plain write.
//!
//! # How a TransactWriteItems runs
//! 1. Every action is validated (values, keys, expressions, tables) before anything is held; an
//!    invalid request, two actions on one item or more than 4 MB is a ValidationException.
//! 2. With a ClientRequestToken, the token itself is held (a second request with the same token
//!    while the first runs is TransactionInProgressException) and its record read: a live
//!    record with the same parameters makes the request a no-op answered from the record; with
//!    other parameters it is IdempotentParameterMismatchException (see [`tokens`]).
//! 3. **Holds.** All item keys are taken at once in the [`holds::Holds`] registry, in a
//!    canonical order, with a *try*: a key someone else holds cancels the transaction at once
//!    with a `TransactionConflict` reason for that action (`None` for the others). Nothing ever
//!    waits for a hold, so no set of transactions can deadlock; a plain PutItem, UpdateItem or
//!    DeleteItem of a held item gets TransactionConflictException, as in DynamoDB, and a
//!    BatchWriteItem returns such a write in UnprocessedItems. The plain path pays one atomic
//!    load while no transaction runs, and one striped-mutex lookup otherwise.
//! 4. The write gates of the tables involved are taken shared, in table-id order (they are
//!    only ever taken exclusively one at a time, by index-set changes), then every item is read
//!    with its version and every action decided on it, exactly as the single-item operation
//!    would (the same condition, update and index-maintenance code, [`crate::ops`]' write
//!    path). Failed conditions, runtime validation errors and full item collections become the
//!    cancellation reasons, in action order.
//! 5. **One commit.** Every item write, every index entry it moves and the token record join
//!    ONE guarded storage batch, guarded on the version of every item read (ConditionChecks
//!    included). It applies whole or not at all, and costs one group commit (one fsync shared
//!    with concurrent writers), not one per item. A plain write that slipped in between a
//!    read and the commit (it checked the registry before the hold was taken) fails a guard:
//!    the transaction is cancelled with `TransactionConflict` for the items whose version
//!    moved. Holds are released after the commit returned.
//!
//! # TransactGetItems
//! Reads each item with its version, then commits an *empty* batch guarded on all of them:
//! the store checks all guards at one instant under its latches, so when it succeeds every
//! item read was the current one at that instant — one consistent snapshot, with no hold that
//! could conflict other readers. If an item changed in between, the reads are retried (a few
//! times, then TransactionConflict); an item a write transaction holds right now cancels the
//! read with TransactionConflict, as DynamoDB does. Items totalling more than 4 MB are a
//! ValidationException, as for a write transaction; the size is only known once they are read.
//!
//! # On a distributed engine
//! Nothing above relies on the registry for atomicity or isolation — the guarded batch gives
//! both. The registry only makes conflicts visible early and keeps plain writes off items a
//! transaction is committing. On a store shared by several binderdb nodes the hold becomes a
//! lock record written with a guard (absent → owner id + deadline) in the item's partition;
//! plain writes guard on its absence; a hold past its deadline may be taken over by a guarded
//! overwrite, so a dead owner's locks are recovered without waiting forever; and the commit is
//! the same guarded batch (routed through the store's transaction coordinator when it spans
//! partitions), which fails if a taken-over lock let anyone else in. The try-never-wait rule
//! stays, so no cross-node deadlock detection is needed.

pub(crate) mod holds;
pub(crate) mod tokens;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::api::CancellationReason;
use crate::error::Error;

/// DynamoDB's message for an item a transaction holds (the TransactionConflictException of a
/// plain write, and the `TransactionConflict` cancellation reason).
pub(crate) const CONFLICT_MESSAGE: &str = "Transaction is ongoing for the item";

/// How many token-bearing transactions commit between two purges of expired token records.
const PURGE_EVERY: u64 = 4096;

/// Transaction state of one database.
#[derive(Debug, Default)]
pub(crate) struct Transactions {
    /// Keys held by running transactions.
    pub(crate) holds: holds::Holds,
    /// Token records written since start.
    tokens_written: AtomicU64,
}

impl Transactions {
    /// Counts a written token record; true when it is time to purge expired ones.
    pub(crate) fn token_written(&self) -> bool {
        self.tokens_written.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1
    }
}

/// A plain write's answer on a held item.
pub(crate) fn item_conflict() -> Error {
    Error::TransactionConflict(CONFLICT_MESSAGE.to_owned())
}

/// The `None` reason of an action that would have succeeded.
pub(crate) fn no_reason() -> CancellationReason {
    CancellationReason {
        code: "None".to_owned(),
        ..CancellationReason::default()
    }
}

/// The `TransactionConflict` reason.
pub(crate) fn conflict_reason() -> CancellationReason {
    CancellationReason {
        code: "TransactionConflict".to_owned(),
        message: Some(CONFLICT_MESSAGE.to_owned()),
        item: None,
    }
}

impl crate::Database {
    /// Counts one item-level request refused by a transactional conflict on `table`
    /// (CloudWatch's TransactionConflict).
    pub(crate) fn count_conflict(&self, table: &crate::catalog::Table) {
        self.table_capacity(table)
            .metrics
            .count_transaction_conflict();
    }
}

/// TransactionCanceledException for `n` actions, with `TransactionConflict` at `conflicts`.
pub(crate) fn conflicts_at(n: usize, conflicts: &[usize]) -> Error {
    let mut reasons = vec![no_reason(); n];
    for &i in conflicts {
        if let Some(r) = reasons.get_mut(i) {
            *r = conflict_reason();
        }
    }
    Error::TransactionCanceled { reasons }
}

/// The cancellation reason of an action whose decision failed with `e`, or `Err(e)` back for a
/// failure that is no reason (a storage fault).
///
/// # Errors
/// `e` itself, when it is not an action's reason.
pub(crate) fn reason_of(e: Error) -> Result<CancellationReason, Error> {
    let (code, message, item) = match e {
        Error::ConditionalCheckFailed { item } => (
            "ConditionalCheckFailed",
            "The conditional request failed".to_owned(),
            item,
        ),
        Error::Validation(m) => ("ValidationError", m, None),
        Error::ItemCollectionSizeLimitExceeded(m) => ("ItemCollectionSizeLimitExceeded", m, None),
        Error::TransactionConflict(m) => ("TransactionConflict", m, None),
        Error::ProvisionedThroughputExceeded { message, .. }
        | Error::Throttling { message, .. } => ("ThrottlingError", message, None),
        other => return Err(other),
    };
    Ok(CancellationReason {
        code: code.to_owned(),
        message: Some(message),
        item,
    })
}

#[cfg(test)]
mod tests;
