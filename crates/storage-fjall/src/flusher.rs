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
//! How it fits fjall's own flush: a rotation still queues fjall's flush task and message. The
//! flush (fjall's `AbstractTree::flush`, under the tree's flush lock, with fjall's own
//! garbage-collection watermark) flushes every sealed memtable of the tree, so whichever of the
//! two threads takes the lock second finds nothing left to flush. fjall's worker still handles
//! the message when it gets to it: it syncs or rotates its journal, queues a compaction of the
//! keyspace and deletes the journals no memtable needs any more. (So compactions are still
//! requested after flushes, and a journal is deleted at the latest when the worker catches
//! up.) The one piece of fjall's bookkeeping skipped is its write-buffer counter
//! (`Database::write_buffer_size`), which fjall only reports; binderdb does not read it.
//!
//! Must not take any of the store's locks: it only reads fjall's state and calls fjall.

use std::time::Duration;

use binderdb_storage::StorageError;
use fjall::{AbstractTree, Database};

use crate::worker::{Signal, Worker};

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
    /// Starts the flush thread over `db`'s keyspaces; after each pass it releases the log
    /// segments whose memtables it has flushed through `release` (see [`crate::log_bound`]).
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(db: Database, release: LogRelease) -> Result<Flusher, StorageError> {
        let for_thread = release.clone();
        let worker = Worker::start("binderdb-flush", State::default(), move |signal| {
            flush_loop(signal, &db, &for_thread);
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
fn flush_loop(signal: &Signal<State>, db: &Database, release: &LogRelease) {
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
        // Read first: the memtables holding those segments were rotated before it was set, so
        // they are among the sealed ones listed below, or already flushed.
        let sealed = release.sealed_through();
        let mut flushed = true;
        // Cloned out, so fjall's keyspace map is not locked while a flush runs.
        let spaces: Vec<fjall::Keyspace> = match db.supervisor.keyspaces.read() {
            Ok(map) => map
                .values()
                .filter(|space| space.tree.sealed_memtable_count() > 0)
                .cloned()
                .collect(),
            Err(_) => return,
        };
        for space in spaces {
            let watermark = db.supervisor.snapshot_tracker.get_seqno_safe_to_gc();
            let lock = space.tree.get_flush_lock();
            if let Err(e) = space.tree.flush(&lock, watermark) {
                // fjall's worker flushes it in turn (and reports the same error).
                tracing::warn!(error = %e, keyspace = ?space.name(), "memtable flush failed");
                flushed = false;
            }
        }
        if flushed && sealed > released {
            release.release_through(sealed);
            released = sealed;
        }
    }
}
