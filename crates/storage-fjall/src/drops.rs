//! Dropping tables in the background: `drop_table` returns once the drop is recorded, and a
//! thread owned by the store removes the table's keys.
//!
//! A drop is recorded by a `drop/<table id>` marker in the `meta` keyspace, made durable before
//! `drop_table` returns, and by hiding the table from reads ([`Dropper::hides`]): from then on a
//! get, range or scan of the table finds nothing, whatever is still on disk. The dropper thread
//! then, keyspace by keyspace,
//! 1. removes every table file whose keys all belong to the table (`drop_range`: no data is
//!    read or rewritten, so a large table's space comes back at once);
//! 2. writes tombstones for the keys left (those in memtables and in files shared with other
//!    tables), in chunks of [`DROP_CHUNK`], each resuming after the last key removed;
//! 3. removes the marker and stops hiding the table.
//!
//! A drop interrupted by a crash or a shutdown keeps its marker: the next `open` hides the table
//! again and queues the drop, without doing any of the work at start-up (so a restart does not
//! take longer because a large table was being deleted). Table ids are never reused, so a
//! hidden table is never written again and nothing else ever needs to see it.
//!
//! Before this, DeleteTable removed every key in the request (one tombstone per item, a minute
//! for ten million items), and `open` finished interrupted drops before the server was ready.

use std::collections::{HashSet, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use binderdb_storage::codec::{self, PhysicalRange};
use binderdb_storage::{StorageError, TableId};
use fjall::{AbstractTree, Database};
use parking_lot::{Condvar, RwLock};

use crate::backend;
use crate::worker::{Signal, Worker};

/// Keys removed per fjall batch while dropping a table.
const DROP_CHUNK: usize = 4096;
/// Prefix of the `meta` keys that mark a drop in progress.
pub(crate) const DROP_PREFIX: &[u8] = b"drop/";

/// The `meta` key marking `table`'s drop.
pub(crate) fn drop_marker(table: TableId) -> Vec<u8> {
    let mut key = DROP_PREFIX.to_vec();
    key.extend_from_slice(&table.to_be_bytes());
    key
}

/// One table to drop, with the keyspaces that existed when it was dropped (a keyspace created
/// later cannot hold its keys: nothing writes to a dropped table).
pub(crate) struct Job {
    pub(crate) table: TableId,
    pub(crate) spaces: Vec<fjall::Keyspace>,
}

/// The dropper's state shared under the [`Worker`]'s lock.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// A job is being worked on (for [`Dropper::wait_idle`]).
    busy: bool,
}

struct Shared {
    /// Notified, under the worker's lock, whenever the queue is empty and no job runs.
    idle: Condvar,
    /// Tables whose keys reads must not see.
    hidden: RwLock<HashSet<TableId>>,
    /// Whether `hidden` is non-empty: the read path's only cost while no drop is pending.
    any_hidden: AtomicBool,
}

/// Owner of the dropper thread: dropping it stops the thread between two chunks (the marker
/// stays, so the drop resumes at the next open) and joins it ([`Worker`]).
pub(crate) struct Dropper {
    shared: Arc<Shared>,
    worker: Worker<Queue>,
}

impl Dropper {
    /// Starts the thread, which writes through `db` and removes markers from `meta`.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(db: Database, meta: fjall::Keyspace) -> Result<Dropper, StorageError> {
        let shared = Arc::new(Shared {
            idle: Condvar::new(),
            hidden: RwLock::new(HashSet::new()),
            any_hidden: AtomicBool::new(false),
        });
        let for_thread = Arc::clone(&shared);
        let worker = Worker::start("binderdb-drop-table", Queue::default(), move |signal| {
            run(signal, &for_thread, &db, &meta);
        })?;
        Ok(Dropper { shared, worker })
    }

    /// Whether reads of `table` must find nothing (its drop is pending).
    pub(crate) fn hides(&self, table: TableId) -> bool {
        self.shared.any_hidden.load(Ordering::Acquire) && self.shared.hidden.read().contains(&table)
    }

    /// Hides `job.table` from reads at once and queues its removal.
    pub(crate) fn enqueue(&self, job: Job) {
        self.shared.hidden.write().insert(job.table);
        self.shared.any_hidden.store(true, Ordering::Release);
        self.worker.update(|queue| queue.jobs.push_back(job));
    }

    /// Blocks until every queued drop has finished. For tests and measurements.
    pub(crate) fn wait_idle(&self) {
        let mut control = self.worker.signal().lock();
        while !control.state.jobs.is_empty() || control.state.busy {
            self.shared.idle.wait(&mut control);
        }
    }
}

fn run(signal: &Signal<Queue>, shared: &Shared, db: &Database, meta: &fjall::Keyspace) {
    loop {
        let job = {
            let mut control = signal.lock();
            control.state.busy = false;
            loop {
                if control.stop {
                    shared.idle.notify_all();
                    return;
                }
                if let Some(job) = control.state.jobs.pop_front() {
                    control.state.busy = true;
                    break job;
                }
                shared.idle.notify_all();
                signal.wait(&mut control, None);
            }
        };
        let stopping = || signal.stopping();
        match remove_table(db, meta, &job, &stopping) {
            Ok(true) => {
                let mut hidden = shared.hidden.write();
                hidden.remove(&job.table);
                shared
                    .any_hidden
                    .store(!hidden.is_empty(), Ordering::Release);
            }
            // Stopped half-way: the marker stays and the table stays hidden until the process
            // ends; the next open resumes the drop.
            Ok(false) => {}
            Err(e) => {
                tracing::error!(
                    table = job.table,
                    "dropping the table failed, the next start retries: {e}"
                );
            }
        }
    }
}

/// Removes every key of `job.table`, then its marker. `Ok(false)` if it stopped early because
/// the store is shutting down.
fn remove_table(
    db: &Database,
    meta: &fjall::Keyspace,
    job: &Job,
    stopping: &dyn Fn() -> bool,
) -> Result<bool, StorageError> {
    let prefix = codec::table_prefix(job.table)?.to_vec();
    let end = codec::prefix_successor(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
    for space in &job.spaces {
        // Whole files first: what they held needs no tombstone.
        let whole: (Bound<&[u8]>, Bound<&[u8]>) = (
            Bound::Included(prefix.as_slice()),
            end.as_ref().map(Vec::as_slice),
        );
        space
            .tree
            .drop_range::<&[u8], _>(whole)
            .map_err(|e| backend(e.into()))?;
        let mut lower = Bound::Included(prefix.clone());
        loop {
            if stopping() {
                return Ok(false);
            }
            let range: PhysicalRange = (lower.clone(), end.clone());
            if codec::is_empty_range(&range.0, &range.1) {
                break;
            }
            let mut batch = db.batch();
            let mut last = None;
            for guard in space.range(range).take(DROP_CHUNK) {
                let key = guard.key().map_err(backend)?;
                batch.remove(space, key.clone());
                last = Some(key);
            }
            let Some(last) = last else { break };
            batch.commit().map_err(backend)?;
            lower = Bound::Excluded(last.to_vec());
        }
    }
    // The tombstones are not logged, and recovery after a crash reads table files and the
    // log only (see `log_bound`): they reach table files before the marker may go.
    for space in &job.spaces {
        if space.tree.active_memtable().size() > 0 || space.tree.sealed_memtable_count() > 0 {
            space
                .tree
                .flush_active_memtable(0)
                .map_err(|e| backend(e.into()))?;
        }
    }
    let mut batch = db.batch();
    batch.remove(meta, drop_marker(job.table));
    batch.commit().map_err(backend)?;
    Ok(true)
}
