//! Background work done by one node at a time when several binderdb nodes share a store.
//!
//! Each kind of background work (TTL sweeping, stream trimming, point-in-time log pruning,
//! statistics recounts, one index's backfill or deletion, one table's TTL backfill) has a named
//! lease in the store ([`Store::lease`]). A periodic pass runs only while its node holds the
//! lease, renewing it each pass ([`mine`]); a one-off job waits for its lease and keeps it
//! renewed until it ends ([`exclusively`]). A node that dies stops renewing, and another node
//! takes the work over once the lease lapsed ([`JOB_LEASE`]), resuming from the progress the
//! work keeps in the store.
//!
//! Correctness never depends on the lease alone: every background write is a guarded commit
//! (a TTL delete re-checks the item's expiry on the version it deletes, trimming and pruning
//! delete only what aged out), so two nodes overlapping briefly around a handover do the same
//! work twice at worst, never twice its effect. On a store of one process ([`Store::shared`]
//! false) every lease is this process's, at no cost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use binderdb_storage::Store;

/// How long a job's lease lasts without renewal: how long a dead node's work waits before
/// another node takes it over.
pub(crate) const JOB_LEASE: Duration = Duration::from_secs(15);

/// Whether this node should run a pass of the periodic work `job` now: it holds (or just took,
/// or renewed) the job's lease. A store failure answers no; the next pass asks again.
pub(crate) fn mine(store: &dyn Store, job: &str) -> bool {
    if !store.shared() {
        return true;
    }
    match store.lease(job, JOB_LEASE) {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(job, error = %e, "asking for a background job's lease failed");
            false
        }
    }
}

/// Runs `work` once this node holds the lease of `job`, renewing it until `work` returns, then
/// releases it. Returns `None` without running `work` if `stop` was raised first.
pub(crate) fn exclusively<T>(
    store: &dyn Store,
    job: &str,
    stop: &AtomicBool,
    work: impl FnOnce() -> T,
) -> Option<T> {
    if !store.shared() {
        return Some(work());
    }
    while !mine(store, job) {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    /// Stops the renewals when the work ends, even by a panic (the scope joins the renewer).
    struct Done<'a>(&'a AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut since = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                since += Duration::from_millis(50);
                if since >= JOB_LEASE / 3 {
                    since = Duration::ZERO;
                    if !mine(store, job) {
                        tracing::warn!(job, "a background job's lease was lost while it ran");
                    }
                }
            }
        });
        let _done = Done(&done);
        work()
    });
    if let Err(e) = store.release_lease(job) {
        tracing::warn!(job, error = %e, "releasing a background job's lease failed");
    }
    Some(result)
}

/// The topic a node announces when it joins the nodes sharing a store.
pub(crate) const NODE_JOINED_TOPIC: &[u8] = b"node-joined";

/// How long a node's slot lease lasts without renewal.
pub(crate) const NODE_SLOT_LEASE: Duration = Duration::from_secs(30);

/// The name of the lease of node slot `slot`.
pub(crate) fn node_slot_lease(slot: u64) -> String {
    format!("node-{slot}")
}

/// Takes the first free node slot of the store (a lease each, renewed by the caller every
/// [`NODE_SLOT_LEASE`]` / 3`): what tells this node's stream sequence numbers apart from the
/// other nodes' (see `stream::shards::NodeSlot`).
///
/// # Errors
/// Storage failures; `Internal` when every slot is taken.
pub(crate) fn take_node_slot(store: &dyn Store) -> crate::Result<u64> {
    for slot in 0..crate::stream::NODE_SLOTS {
        if store.lease(&node_slot_lease(slot), NODE_SLOT_LEASE)? {
            return Ok(slot);
        }
    }
    Err(crate::Error::Internal(format!(
        "{} binderdb nodes already share this store; no more can join",
        crate::stream::NODE_SLOTS
    )))
}
