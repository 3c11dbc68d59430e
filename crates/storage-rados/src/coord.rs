//! The transaction coordinator of multi-object commits: transaction records, resolving the
//! locks a reader or writer meets, rolling committed transactions forward and abandoned ones
//! back, and recovering a dead node's transactions. The protocol itself is described in the
//! crate's documentation; this module holds the pieces every node runs, whoever started the
//! transaction.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use binderdb_rados::{IoCtx, RadosError, WriteOp, ECANCELED, EEXIST, ENOENT};
use binderdb_storage::StorageError;

use crate::layout::{self, ObjectWrites, TxnRef, ABORTED, COMMITTED, PENDING};
use crate::node::{self, AliveCache};

/// Longest a commit waits for another live node's transaction to release a key before giving
/// up (transactions hold their locks for a few round trips, so this is only reached when the
/// cluster itself stalls).
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn backend(e: RadosError) -> StorageError {
    StorageError::Backend(Box::new(e))
}

/// Applies `op`; an op that only removes keys from an object that does not exist has nothing
/// to do (librados answers `ENOENT` for it).
pub(crate) fn write_tolerating_absence(
    io: &IoCtx,
    object: &str,
    op: &WriteOp,
) -> Result<(), RadosError> {
    match io.write(object, op) {
        Err(e) if e.errno == ENOENT && op.set.is_empty() && !op.create_exclusive => Ok(()),
        other => other,
    }
}

/// A transaction record as read: its state, and its plan once committed.
type Record = (Vec<u8>, Option<Vec<u8>>);

/// What a lock turned out to mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// Its transaction had committed and is now applied here: read the object again.
    Applied,
    /// A live node's transaction is running: what the object holds under the lock is the
    /// state before it (readers use it; writers wait).
    Held,
    /// Its transaction is gone or aborted: the lock protects nothing (and has been removed).
    Free,
}

/// The part of a store that any thread (commits, reads, the node's sweeper) uses to run and
/// resolve transactions.
#[derive(Debug)]
pub(crate) struct Coordinator {
    pub io: Arc<IoCtx>,
    pub prefix: String,
    /// This node's id (0 until the node has joined).
    pub node: std::sync::atomic::AtomicU64,
    /// The nodes found alive by the last sweep, this one included.
    pub live: std::sync::atomic::AtomicUsize,
    alive: AliveCache,
}

/// Backs off between retries of a commit that met a running transaction: 1 ms doubling to
/// 50 ms, for at most [`LOCK_WAIT`].
pub(crate) struct Backoff {
    started: Instant,
    next: Duration,
}

impl Backoff {
    pub fn new() -> Backoff {
        Backoff {
            started: Instant::now(),
            next: Duration::from_millis(1),
        }
    }

    /// Sleeps before the next try.
    ///
    /// # Errors
    /// `Backend` once [`LOCK_WAIT`] has passed.
    pub fn wait(&mut self) -> Result<(), StorageError> {
        if self.started.elapsed() > LOCK_WAIT {
            return Err(StorageError::Backend(
                format!(
                    "a key stayed locked by another node's transaction for {} s",
                    LOCK_WAIT.as_secs()
                )
                .into(),
            ));
        }
        std::thread::sleep(self.next);
        self.next = (self.next * 2).min(Duration::from_millis(50));
        Ok(())
    }
}

impl Coordinator {
    pub fn new(io: Arc<IoCtx>, prefix: String) -> Coordinator {
        Coordinator {
            io,
            prefix,
            node: std::sync::atomic::AtomicU64::new(0),
            live: std::sync::atomic::AtomicUsize::new(1),
            alive: AliveCache::default(),
        }
    }

    pub fn node_id(&self) -> u64 {
        self.node.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The object holding node `node`'s transaction records.
    pub fn records_object(&self, node: u64) -> String {
        format!("{}binderdb.txns.{node:016x}", self.prefix)
    }

    /// Writes a new transaction's record as PENDING (before it takes any lock, so every lock
    /// names a record that exists or existed).
    pub fn begin(&self, txn: TxnRef) -> Result<(), StorageError> {
        let op = WriteOp {
            set: vec![(txn.state_key(), PENDING.to_vec())],
            ..WriteOp::default()
        };
        self.io
            .write(&self.records_object(txn.node), &op)
            .map_err(backend)
    }

    /// The commit point: flips the record from PENDING to COMMITTED and stores the plan, in one
    /// compound operation. `Ok(false)` if the record was no longer PENDING (recovery aborted it
    /// because this node looked dead): nothing is committed.
    pub fn commit_point(&self, txn: TxnRef, plan: &[ObjectWrites]) -> Result<bool, StorageError> {
        let op = WriteOp {
            compare: vec![(txn.state_key(), PENDING.to_vec())],
            set: vec![
                (txn.state_key(), COMMITTED.to_vec()),
                (txn.plan_key(), layout::encode_intent(plan)),
            ],
            ..WriteOp::default()
        };
        match self.io.write(&self.records_object(txn.node), &op) {
            Ok(()) => Ok(true),
            Err(e) if e.errno == ECANCELED || e.errno == ENOENT => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    /// Removes a finished transaction's record.
    pub fn forget(&self, txn: TxnRef) -> Result<(), StorageError> {
        let op = WriteOp {
            remove_keys: vec![txn.state_key(), txn.plan_key()],
            ..WriteOp::default()
        };
        write_tolerating_absence(&self.io, &self.records_object(txn.node), &op).map_err(backend)
    }

    /// Applies one object's share of committed `txn` and releases its locks there, unless that
    /// was done already (by the owner or another helper: the locks are gone then).
    pub fn apply_share(&self, txn: TxnRef, share: &ObjectWrites) -> Result<(), StorageError> {
        let value = txn.encode();
        let mut op = WriteOp {
            compare: share
                .locks
                .iter()
                .map(|k| (k.clone(), value.clone()))
                .collect(),
            set: share.set.clone(),
            remove_keys: share.remove.clone(),
            ..WriteOp::default()
        };
        op.remove_keys.extend(share.locks.iter().cloned());
        match self.io.write(&share.object, &op) {
            Ok(()) => Ok(()),
            // Already applied (the locks are gone, or the object with them).
            Err(e) if e.errno == ECANCELED || e.errno == ENOENT => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    /// Releases `txn`'s locks `locks` in `object` (those still its own).
    pub fn release(
        &self,
        txn: TxnRef,
        object: &str,
        locks: &[Vec<u8>],
    ) -> Result<(), StorageError> {
        let value = txn.encode();
        for lock in locks {
            self.clear_lock(object, lock, &value)?;
        }
        Ok(())
    }

    /// Removes lock `lock` of `object` if it still has `value`.
    pub fn clear_lock(&self, object: &str, lock: &[u8], value: &[u8]) -> Result<(), StorageError> {
        let op = WriteOp {
            compare: vec![(lock.to_vec(), value.to_vec())],
            remove_keys: vec![lock.to_vec()],
            ..WriteOp::default()
        };
        match self.io.write(object, &op) {
            Ok(()) => Ok(()),
            Err(e) if e.errno == ECANCELED || e.errno == ENOENT => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    /// Rolls committed `txn` forward with its stored plan: every share applied, the record
    /// removed. Idempotent, and safe to run by several nodes (and the owner) at once.
    fn roll_forward(&self, txn: TxnRef, plan: &[u8]) -> Result<(), StorageError> {
        for share in layout::decode_intent(plan)? {
            self.apply_share(txn, &share)?;
        }
        self.forget(txn)
    }

    /// Aborts `txn` if it is still PENDING (compare-and-set to ABORTED), then removes its
    /// record. Its locks are then free; they are removed by whoever meets them.
    fn abort(&self, txn: TxnRef) -> Result<(), StorageError> {
        let op = WriteOp {
            compare: vec![(txn.state_key(), PENDING.to_vec())],
            set: vec![(txn.state_key(), ABORTED.to_vec())],
            ..WriteOp::default()
        };
        match self.io.write(&self.records_object(txn.node), &op) {
            Ok(()) => {
                tracing::info!(
                    node = format_args!("{:016x}", txn.node),
                    "RADOS store: aborted a dead node's unfinished transaction"
                );
                self.forget(txn)
            }
            // It moved on meanwhile (committed, or aborted by someone else): the caller reads
            // its state again.
            Err(e) if e.errno == ECANCELED || e.errno == ENOENT => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    /// The state and plan of `txn`'s record (`None`: no record).
    fn record(&self, txn: TxnRef) -> Result<Option<Record>, StorageError> {
        let Some(read) = self
            .io
            .read(
                &self.records_object(txn.node),
                &[txn.state_key(), txn.plan_key()],
                None,
            )
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let mut state = None;
        let mut plan = None;
        for (k, v) in read.keys {
            if k == txn.state_key() {
                state = Some(v);
            } else {
                plan = Some(v);
            }
        }
        Ok(state.map(|s| (s, plan)))
    }

    pub(crate) fn owner_alive(&self, node: u64) -> Result<bool, StorageError> {
        if node == self.node_id() {
            return Ok(true);
        }
        self.alive.alive(&self.io, &self.prefix, node)
    }

    /// Decides what the lock `lock` of `object`, holding `value`, means, doing what it takes:
    /// a committed transaction is rolled forward, a dead node's running one aborted, and a lock
    /// whose transaction is gone removed.
    pub fn resolve(
        &self,
        object: &str,
        lock: &[u8],
        value: &[u8],
    ) -> Result<Resolution, StorageError> {
        let txn = TxnRef::decode(value)?;
        loop {
            match self.record(txn)? {
                Some((state, Some(plan))) if state == COMMITTED => {
                    self.roll_forward(txn, &plan)?;
                    return Ok(Resolution::Applied);
                }
                Some((state, _)) if state == PENDING => {
                    if self.owner_alive(txn.node)? {
                        return Ok(Resolution::Held);
                    }
                    self.abort(txn)?;
                    // Read the state again: the abort may have lost to the owner's commit.
                }
                // Aborted, or no record any more (finished, or aborted and forgotten): the lock
                // is a leftover.
                _ => {
                    self.clear_lock(object, lock, value)?;
                    return Ok(Resolution::Free);
                }
            }
        }
    }

    /// Finishes every transaction node `node` left: committed ones rolled forward, running
    /// ones aborted. Then removes the node from the registry. Only for a dead node (or this
    /// node itself when it closes, with no commit running).
    pub fn recover_node(&self, node: u64) -> Result<(), StorageError> {
        let object = self.records_object(node);
        let mut txns: BTreeMap<u64, TxnRef> = BTreeMap::new();
        let mut after = Vec::new();
        loop {
            let Some(read) = self
                .io
                .read(&object, &[], Some((&after, b"", 512)))
                .map_err(backend)?
            else {
                break;
            };
            for (k, _) in &read.page {
                if let Some(txn) = TxnRef::of_record_key(node, k) {
                    txns.insert(txn.id, txn);
                }
            }
            match read.page.last() {
                Some((last, _)) if read.more => after = last.clone(),
                _ => break,
            }
        }
        for txn in txns.into_values() {
            match self.record(txn)? {
                Some((state, Some(plan))) if state == COMMITTED => {
                    tracing::info!("RADOS store: rolling forward a dead node's commit");
                    self.roll_forward(txn, &plan)?;
                }
                Some((state, _)) if state == PENDING => self.abort(txn)?,
                _ => self.forget(txn)?,
            }
        }
        if self.io.remove(&object).map_err(backend)? {
            tracing::debug!("removed a node's transaction records");
        }
        node::forget(&self.io, &self.prefix, node)
    }

    /// Recovers every registered node that is dead (the node sweeper's work), and counts the
    /// live ones.
    pub fn sweep(&self) -> Result<(), StorageError> {
        let me = self.node_id();
        let mut live = 1;
        for other in node::registered(&self.io, &self.prefix)? {
            if other == me {
                continue;
            }
            if node::probe(&self.io, &self.prefix, other)? {
                live += 1;
            } else {
                self.recover_node(other)?;
            }
        }
        self.live.store(live, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// Whether a compound write failed only because the object's state changed since it was read
/// (a comparison, or an exclusive create that found the object).
pub(crate) fn raced(e: &RadosError) -> bool {
    e.errno == ECANCELED || e.errno == EEXIST
}
