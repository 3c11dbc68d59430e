//! The flush thread: writes sealed memtables to table files on a thread of binderdb's own, so a
//! flush never waits behind a compaction.
//!
//! fjall 3.1 runs flushes and compactions on the same worker pool, taking its messages in
//! order; with one worker ([`crate::FJALL_WORKERS`], and more workers busy-loop, see there) a
//! flush sealed while a compaction runs waits for that compaction to end. Under a bulk load a
//! level-0 → level-1 merge takes seconds, sealed memtables piled up behind it, and the writer
//! pacing then stopped every writer until the merge ended (stalls of 2.5–5 s in a 10-minute
//! BatchWriteItem load). Here a memtable is flushed as soon as binderdb rotates it
//! ([`Flusher::wake`]), whatever fjall's worker is doing; a periodic look also catches the
//! rotations fjall makes itself.
//!
//! How it fits fjall's own flush: binderdb's seals ([`crate::log_bound`]) rotate lsm-tree's
//! memtables directly, so fjall knows nothing of them and only this thread flushes them.
//! Rotations through fjall (a memtable past binderdb's size limit, the straggler rotations
//! that let fjall delete old journals, and the one rotation per pass made here, see
//! `tidy_fjall`) still queue fjall's flush task and message. The flush (fjall's
//! `AbstractTree::flush`, under the tree's flush lock, with fjall's own garbage-collection
//! watermark) flushes every sealed memtable of the tree into one table file, so whichever of
//! the two threads takes the lock second finds nothing left to flush. fjall's worker still
//! handles the message when it gets to it: it syncs or rotates its journal, queues a
//! compaction of the keyspace and deletes the journals no memtable needs any more. The one
//! piece of fjall's bookkeeping skipped is its write-buffer counter
//! (`Database::write_buffer_size`), which fjall only reports; binderdb does not read it.
//!
//! A pass flushes the keyspaces with sealed memtables smallest first: every commit writes the
//! counters and, now and then, `meta`, and a second sealed memtable in a keyspace a commit
//! writes slows that commit ([`crate::pacing`]).
//!
//! Must not take any of the store's locks: it only reads fjall's state and calls fjall.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use binderdb_storage::StorageError;
use fjall::{AbstractTree, Database};

use crate::sequencer::Sequencer;
use crate::worker::{Signal, Worker};
use crate::writeback::Jobs;

use crate::group_commit::LogRelease;

/// How often the flush thread looks for sealed memtables without being woken (fjall's own
/// rotations, and a wake-up that came while it was flushing).
const FLUSH_TICK: Duration = Duration::from_millis(50);

/// Owner of the flush thread (see the module docs). Dropping it stops the thread after the
/// flush it may be running and joins it ([`Worker`]).
pub(crate) struct Flusher {
    worker: Worker<State>,
}

#[derive(Default)]
struct State {
    /// A memtable was rotated since the thread last looked.
    rotated: bool,
}

impl Flusher {
    /// Starts the flush thread over `db`'s keyspaces, whose fjall journals live in `dir`; after
    /// each pass it releases the log segments whose memtables it has flushed through `release`
    /// (see [`crate::log_bound`]).
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(
        db: Database,
        dir: &Path,
        release: LogRelease,
        sequencer: Arc<Sequencer>,
        jobs: Jobs,
    ) -> Result<Flusher, StorageError> {
        let for_thread = release.clone();
        let dir = dir.to_path_buf();
        let worker = Worker::start("binderdb-flush", State::default(), move |signal| {
            flush_loop(signal, &db, &dir, &for_thread, &sequencer, &jobs);
        })?;
        let signal = worker.handle();
        release.on_seal(Box::new(move || {
            signal.update(|state| state.rotated = true)
        }));
        Ok(Flusher { worker })
    }

    /// Tells the thread a memtable was just rotated.
    pub(crate) fn wake(&self) {
        self.worker.update(|state| state.rotated = true);
    }
}

/// The flush thread's loop (see [`Flusher`]).
fn flush_loop(
    signal: &Signal<State>,
    db: &Database,
    dir: &Path,
    release: &LogRelease,
    sequencer: &Sequencer,
    jobs: &Jobs,
) {
    let mut released = 0;
    loop {
        {
            let mut control = signal.lock();
            if !control.state.rotated && !control.stop {
                signal.wait(&mut control, Some(FLUSH_TICK));
            }
            if control.stop {
                return;
            }
            control.state.rotated = false;
        }
        // The memtables the last pass flushed (or whose tree versions a compaction collected
        // since) are freed here, outside every lock (see `retired`).
        sequencer.retired.free_unused();
        // Read first: the memtables holding those segments were rotated before it was set, so
        // they are among the sealed ones listed below, or already flushed.
        let sealed = release.sealed_through();
        // Cloned out, so fjall's keyspace map is not locked while a flush runs.
        let mut spaces: Vec<fjall::Keyspace> = match db.supervisor.keyspaces.read() {
            Ok(map) => map
                .values()
                .filter(|space| space.tree.sealed_memtable_count() > 0)
                .cloned()
                .collect(),
            Err(_) => return,
        };
        if !spaces.is_empty() {
            // Smallest first: the small keyspaces every commit writes (the counters, `meta`)
            // are then not left with a sealed memtable while a large one is flushed, which
            // would slow every writer as soon as the next seal adds a second one (`pacing`).
            spaces.sort_by_cached_key(|space| {
                let tree = &space.tree;
                tree.version_memtable_size_sum()
                    .saturating_sub(tree.active_memtable().size())
            });
            tidy_fjall(dir, &spaces, sequencer);
        }
        let mut flushed = true;
        let spaces_empty = spaces.is_empty();
        for space in spaces {
            let watermark = db.supervisor.snapshot_tracker.get_seqno_safe_to_gc();
            let lock = space.tree.get_flush_lock();
            let _job = jobs.begin();
            if let Err(e) = space.tree.flush(&lock, watermark) {
                // Still sealed: the next pass tries again, and nothing is released meanwhile.
                tracing::warn!(error = %e, keyspace = ?space.name(), "memtable flush failed");
                flushed = false;
            }
        }
        if !spaces_empty {
            // The new table files get their second names before a compaction can replace
            // them: their deletion then frees nothing under lsm-tree's locks (`trash`).
            crate::trash::keep_tables(dir);
        }
        if flushed && sealed > released {
            release.release_through(sealed);
            released = sealed;
        }
        sequencer.retired.free_unused();
    }
}

/// What fjall's own memtable rotation did at each seal and binderdb's seal no longer does
/// (see [`crate::log_bound::rotate_every_memtable`]), once per flush pass, on this thread,
/// before the pass flushes `spaces` (smallest first):
/// 1. `fdatasync` fjall's active journal, without its lock: fjall's worker `fsync`s it under
///    the lock that every fjall batch takes (step 2 makes it), and what that `fsync` has to
///    write is then only what was written since, not a whole segment's worth of batches (since
///    commits bypass fjall's journal, little: the dropper's batches);
/// 2. rotate, through fjall, the first of `spaces` whose active memtable holds writes: fjall
///    then collects old tree versions (and the memtables they hold) of every keyspace, and its
///    worker gets one flush message, after which it rotates its journal once past 64 MB and
///    deletes the journals every keyspace has flushed. The keyspace is one this pass flushes
///    anyway, and the smallest: the memtable rotated here (what was written since the seal)
///    goes into the same table file as the sealed one, and the keyspace holds two sealed
///    memtables (which slows writers, see `pacing`) only for its short flush.
///
/// Failures are reported and otherwise ignored: fjall's journal is not part of recovery.
///
/// The rotation runs between commits ([`Sequencer::between_commits`]): commits wait while fjall
/// takes its journal lock and collects old tree versions (0.4–5 ms per pass in a `put` load).
/// Collecting them used to free the flushed memtables they held too, inside the gate (3% of the
/// server's CPU in an `index-put` load, tens of milliseconds per pass); the memtable sealed here
/// is now kept in [`crate::retired`] first, and freed by this thread after the pass.
fn tidy_fjall(dir: &Path, spaces: &[fjall::Keyspace], sequencer: &Sequencer) {
    if let Some(journal) = active_fjall_journal(dir) {
        let synced = std::fs::File::open(&journal).and_then(|file| file.sync_data());
        if let Err(e) = synced {
            tracing::debug!(error = %e, "syncing fjall's journal ahead of its worker failed");
        }
    }
    let first = spaces
        .iter()
        .find(|space| space.tree.active_memtable().size() > 0);
    if let Some(space) = first {
        let rotated = sequencer.between_commits(|| {
            sequencer.retired.keep_active(space);
            space.rotate_memtable()
        });
        if let Err(e) = rotated {
            tracing::warn!(error = %e, keyspace = ?space.name(), "memtable rotation failed");
        }
    }
}

/// fjall's active journal in `dir`: the highest-numbered `<n>.jnl`.
fn active_fjall_journal(dir: &Path) -> Option<PathBuf> {
    let id = crate::group_commit::newest_journal_id(dir)?;
    Some(dir.join(format!("{id}.jnl")))
}
