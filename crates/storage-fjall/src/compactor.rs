//! The compaction thread: runs the keyspaces' compactions on a thread of binderdb's own, so
//! that fjall's worker keeps only its quick jobs and never sits in a multi-second merge while
//! they wait.
//!
//! fjall's worker does more than flush and compact: after each flush it rotates fjall's journal
//! once it passed 64 MB and deletes the journals no memtable needs any more. With compactions on
//! that worker and flushes on binderdb's [`crate::flusher`], a merge of several seconds let the
//! journal grow with everything written meanwhile (fjall replays its journals at start-up, so a
//! kill -9 then costs a longer start). Here fjall's worker only ever finds nothing to compact:
//! keyspaces created by this build store [`idle_worker_strategy`] as their compaction strategy,
//! and this thread compacts them with fjall's default leveled strategy (level 0 merged down at
//! 4 tables, 64 MiB tables, levels 10× apart), the same shape as before. Keyspaces created by an
//! older build keep fjall's default strategy on its worker too; both threads then compact them
//! (fjall keeps two compactions of one tree from taking the same tables), as before plus this
//! thread. A data directory written by this build and opened by an older one is compacted only
//! when idle (the settler), so going back a version wants a `compact_fully` first.
//!
//! Must not take any of the store's locks: it only reads fjall's state and calls fjall.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use binderdb_storage::StorageError;
use fjall::{AbstractTree, Database};

use crate::worker::{Signal, Worker};

/// How often the thread looks for work once it found none (a flush makes work for it at most
/// every few hundred milliseconds under a bulk load).
const COMPACT_TICK: Duration = Duration::from_millis(50);

/// The wait after a pass in which a compaction failed.
const FAILED_PAUSE: Duration = Duration::from_secs(1);

/// The compaction strategy stored with the data keyspaces this build creates, which fjall's
/// worker consults: a leveled strategy whose thresholds are never reached (255 level-0 tables,
/// levels of 2⁴⁰ bytes per table), so the worker leaves the merges to [`Compactor`]. (fjall
/// accepts only its own strategies as stored configuration; it moves tables between levels
/// without rewriting them at most, which costs nothing.)
pub(crate) fn idle_worker_strategy() -> Arc<fjall::compaction::Leveled> {
    Arc::new(
        fjall::compaction::Leveled::default()
            .with_l0_threshold(u8::MAX)
            .with_table_target_size(1 << 40),
    )
}

/// Owner of the compaction thread. Dropping it stops the thread after the compaction it may be
/// running (a merge is not interrupted; the rest of its pass is skipped) and joins it
/// ([`Worker`]).
pub(crate) struct Compactor {
    shared: Arc<Shared>,
    _worker: Worker<()>,
}

struct Shared {
    /// Compactions running now (0 or 1) and finished since open, for metrics.
    active: AtomicU64,
    completed: AtomicU64,
}

impl Compactor {
    /// Starts the compaction thread over `db`'s keyspaces.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(db: Database) -> Result<Compactor, StorageError> {
        let shared = Arc::new(Shared {
            active: AtomicU64::new(0),
            completed: AtomicU64::new(0),
        });
        let for_thread = Arc::clone(&shared);
        let worker = Worker::start("binderdb-compact", (), move |signal| {
            compact_loop(signal, &for_thread, &db);
        })?;
        Ok(Compactor {
            shared,
            _worker: worker,
        })
    }

    /// Compactions this thread is running now (0 or 1).
    pub(crate) fn active(&self) -> u64 {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Whether this thread is compacting now, as a probe other threads can keep (the settler
    /// waits while it is: both would merge the same level 0).
    pub(crate) fn busy_probe(&self) -> impl Fn() -> bool + Send + 'static {
        let shared = Arc::clone(&self.shared);
        move || shared.active.load(Ordering::Relaxed) > 0
    }

    /// Compactions this thread finished since open (merges and moves of tables).
    pub(crate) fn completed(&self) -> u64 {
        self.shared.completed.load(Ordering::Relaxed)
    }
}

/// The compaction thread's loop: one pass over every keyspace, each asked for one compaction
/// (fjall's strategy picks the most urgent); passes follow each other while they find work,
/// and are [`COMPACT_TICK`] apart once a pass found none.
fn compact_loop(signal: &Signal<()>, shared: &Shared, db: &Database) {
    let strategy = Arc::new(fjall::compaction::Leveled::default());
    let mut found_work = false;
    let mut failed = false;
    loop {
        {
            let mut control = signal.lock();
            if !found_work && !control.stop {
                // After a failure (an I/O error, reported), wait longer before trying again.
                let pause = if failed { FAILED_PAUSE } else { COMPACT_TICK };
                signal.wait(&mut control, Some(pause));
            }
            if control.stop {
                return;
            }
        }
        // Cloned out, so fjall's keyspace map is not locked while a merge runs.
        let spaces: Vec<fjall::Keyspace> = match db.supervisor.keyspaces.read() {
            Ok(map) => map.values().cloned().collect(),
            Err(_) => return,
        };
        found_work = false;
        failed = false;
        for space in spaces {
            // A stop waits for one merge at most, not for a whole pass.
            if signal.stopping() {
                return;
            }
            // The tree's version changes with every compaction (and flush): unchanged, the
            // strategy found nothing to do.
            let before = space.tree.current_version().id();
            let watermark = db.supervisor.snapshot_tracker.get_seqno_safe_to_gc();
            shared.active.fetch_add(1, Ordering::Relaxed);
            let result = space.tree.compact(strategy.clone(), watermark);
            shared.active.fetch_sub(1, Ordering::Relaxed);
            match result {
                Ok(()) if space.tree.current_version().id() != before => {
                    shared.completed.fetch_add(1, Ordering::Relaxed);
                    found_work = true;
                }
                Ok(()) => {}
                Err(e) => {
                    // The tree is unchanged (fjall swaps a compaction's tables in at its end).
                    tracing::warn!(error = %e, keyspace = ?space.name(), "compaction failed");
                    failed = true;
                }
            }
        }
    }
}
