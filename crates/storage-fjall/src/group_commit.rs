//! Group commit: one background thread makes the fjall journal durable for many writers, and
//! wakes them (async tasks or blocked threads) when their commits are on stable storage.
//!
//! The database is opened with `manual_journal_persist`, so a fjall batch commit only appends to
//! the journal's buffer. Every versioned commit then publishes its version
//! ([`GroupCommit::appended`]); a writer that must acknowledge asks for durability up to a
//! commit point ([`GroupCommit::poll_durable`], or [`GroupCommit::flush`] for a fresh sync of
//! everything). The syncer thread wakes, notes the highest appended version, makes the journal
//! durable and marks every version up to that one durable. A sync that starts after a version
//! was appended covers it, because appends happen in version order under the store's commit
//! mutex; writers arriving during an fsync share the next one.
//!
//! **How a sync is done, and why not with `Database::persist(SyncData)`.** fjall's persist holds
//! the journal's writer lock for the whole `fdatasync`, so every writer arriving meanwhile
//! blocks inside its batch commit, holding binderdb's commit mutex and key latches; writers
//! then cannot run on async runtime threads. Instead the syncer
//! 1. calls `persist(PersistMode::Buffer)`: under the lock, only the journal's user-space
//!    buffer is written to the OS (a `write`, microseconds);
//! 2. finds the active journal file: fjall names journals `<id>.jnl` in the database directory
//!    and rotates to `<id + 1>.jnl`, calling `fsync` on the old one before the switch (this is
//!    also how fjall's own recovery picks the active journal: the highest id). The syncer keeps
//!    a handle on the highest-numbered one it knows and, after step 1, moves on while the next
//!    id exists. Data flushed in step 1 went either to that file or to one fjall already synced
//!    in a rotation;
//! 3. calls `fdatasync` on its own handle, outside fjall's lock. On Linux the sync covers the
//!    file's data whichever descriptor wrote it.
//!
//! **Pacing.** Each sync costs the kernel a write-back of the journal's tail page and a device
//! cache flush (about a fifth of the server's CPU at one sync per 3-4 writes). When the last
//! sync covered more than one commit (writers are concurrent), the next one starts no sooner
//! than [`MIN_SYNC_INTERVAL`] after it, so more writers share it; a lone sequential writer
//! never waits for the pacing.
//!
//! If the active journal cannot be found (an unexpected layout), every sync falls back to
//! `persist(SyncData)`, which is correct, only slower. A failed sync poisons the group: every
//! waiter and every later write gets the error.
//!
//! The thread is owned by [`GroupCommit`]: dropping it finishes pending requests, syncs once
//! more and joins the thread.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use binderdb_storage::StorageError;
use fjall::{Database, PersistMode};
use parking_lot::{Condvar, Mutex};

/// Shortest time between the starts of two syncs while writers are concurrent. Measured with
/// `binderdb bench --workload put` (durable, 32 connections, medians of 3 alternated runs, server
/// CPU per operation from /proc): 0 µs 25.1k ops/s and 43 µs/op, 150 µs 27.1k and 37 µs/op,
/// 300 µs 29.8k and 35 µs/op (p99 2.4 ms), 600 µs 27.9k and 36 µs/op. One connection: 6.1k
/// ops/s either way (a lone writer is never paced).
const MIN_SYNC_INTERVAL: Duration = Duration::from_micros(300);

#[derive(Debug, Default)]
struct SyncState {
    /// Highest commit point some waiter asked for.
    requested: u64,
    /// Set by [`GroupCommit::flush`]: the next sync must start after the request, whatever the
    /// commit points say (it also covers writes made outside versioned commits).
    forced: bool,
    /// Syncs started / finished so far.
    started: u64,
    finished: u64,
    /// Tasks waiting for a commit point, woken once it is durable.
    wakers: Vec<(u64, Waker)>,
    /// Threads blocked in [`GroupCommit::flush`].
    blocked: usize,
    /// Set once a sync failed: the journal may have lost data, so nothing is durable any more.
    failed: Option<String>,
    /// Set by the owner on drop.
    stopping: bool,
    /// The syncer is waiting for requests (not syncing or pacing): only then does a new
    /// request need to wake it.
    idle: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<SyncState>,
    wake_syncer: Condvar,
    wake_blocked: Condvar,
    /// Highest version appended to the journal.
    appended: AtomicU64,
    /// Every version up to this one is durable.
    durable: AtomicU64,
    /// Mirrors `SyncState::failed.is_some()` for the commit path, which must not take the lock.
    failed: AtomicBool,
    syncs: AtomicU64,
    /// How long each sync took (the metrics' group-commit sync latency).
    sync_latency: binderdb_storage::LatencyHistogram,
    fallback_syncs: AtomicU64,
    /// One more than the id of the journal the syncer's handle points at (0: no handle), for
    /// tests.
    journal_id: AtomicU64,
}

/// Owner of the syncer thread.
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("appended", &self.commit_point())
            .field("durable", &self.shared.durable.load(Ordering::Relaxed))
            .field("syncs", &self.sync_count())
            .finish()
    }
}

impl GroupCommit {
    /// Starts the syncer thread for `db`, whose journals live in `dir`; `version` is the last
    /// version already durable (the restored high-water mark).
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(db: Database, dir: &Path, version: u64) -> Result<Self, StorageError> {
        let shared = Arc::new(Shared::default());
        shared.appended.store(version, Ordering::Relaxed);
        shared.durable.store(version, Ordering::Relaxed);
        let for_thread = Arc::clone(&shared);
        let journal = ActiveJournal::find(dir);
        if journal.is_none() {
            tracing::warn!(dir = %dir.display(), "no fjall journal found; syncs hold the journal lock");
        }
        let thread = std::thread::Builder::new()
            .name("binderdb-group-commit".into())
            .spawn(move || run_syncer(&for_thread, &db, journal))?;
        Ok(GroupCommit {
            shared,
            thread: Some(thread),
        })
    }

    /// Records that every version up to `version` is in the journal. Called in version order.
    pub(crate) fn appended(&self, version: u64) {
        self.shared.appended.store(version, Ordering::Release);
    }

    /// The highest version appended so far.
    pub(crate) fn commit_point(&self) -> u64 {
        self.shared.appended.load(Ordering::Acquire)
    }

    /// The error every write gets after a failed sync, if one failed.
    pub(crate) fn check_failed(&self) -> Result<(), StorageError> {
        if !self.shared.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        match &self.shared.state.lock().failed {
            Some(reason) => Err(failed_error(reason)),
            None => Ok(()),
        }
    }

    /// Whether every version up to `point` is durable; otherwise registers `cx`'s waker.
    pub(crate) fn poll_durable(
        &self,
        point: u64,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), StorageError>> {
        if self.shared.durable.load(Ordering::Acquire) >= point {
            return Poll::Ready(Ok(()));
        }
        let mut st = self.shared.state.lock();
        if let Some(reason) = &st.failed {
            return Poll::Ready(Err(failed_error(reason)));
        }
        if self.shared.durable.load(Ordering::Acquire) >= point {
            return Poll::Ready(Ok(()));
        }
        // A task polled again before its wake-up registers twice; the extra wake is harmless.
        st.wakers.push((point, cx.waker().clone()));
        if point > st.requested {
            st.requested = point;
            if st.idle {
                self.shared.wake_syncer.notify_one();
            }
        }
        Poll::Pending
    }

    /// Blocks until a sync that started after this call has finished: everything in the
    /// journal before the call is then durable.
    ///
    /// # Errors
    /// `Io` if a sync failed.
    pub(crate) fn flush(&self) -> Result<(), StorageError> {
        let mut st = self.shared.state.lock();
        // A sync in progress may have flushed its buffer before our caller's last append.
        let wanted = st.started + 1;
        st.forced = true;
        st.blocked += 1;
        self.shared.wake_syncer.notify_one();
        let result = loop {
            if let Some(reason) = &st.failed {
                break Err(failed_error(reason));
            }
            if st.finished >= wanted {
                break Ok(());
            }
            self.shared.wake_blocked.wait(&mut st);
        };
        st.blocked -= 1;
        result
    }

    /// Number of journal syncs made so far.
    pub(crate) fn sync_count(&self) -> u64 {
        self.shared.syncs.load(Ordering::Relaxed)
    }

    /// How long the syncs took so far.
    pub(crate) fn sync_latency(&self) -> binderdb_storage::HistogramSnapshot {
        self.shared.sync_latency.snapshot()
    }

    /// The id of the journal file the syncer last synced (`None` before any sync that used its
    /// own handle): it follows fjall's journal rotations.
    pub(crate) fn active_journal_id(&self) -> Option<u64> {
        self.shared
            .journal_id
            .load(Ordering::Relaxed)
            .checked_sub(1)
    }

    /// Number of syncs that had to hold fjall's journal lock (no active journal file known).
    pub(crate) fn fallback_sync_count(&self) -> u64 {
        self.shared.fallback_syncs.load(Ordering::Relaxed)
    }
}

fn failed_error(reason: &str) -> StorageError {
    StorageError::Io(std::io::Error::other(format!(
        "journal sync failed: {reason}"
    )))
}

/// The syncer's own handle on the journal file fjall currently appends to.
struct ActiveJournal {
    dir: PathBuf,
    id: u64,
    file: File,
    /// Where fjall will put the next journal (`<id + 1>.jnl`).
    next: PathBuf,
}

impl ActiveJournal {
    fn path(dir: &Path, id: u64) -> PathBuf {
        dir.join(format!("{id}.jnl"))
    }

    /// The highest-numbered journal in `dir`, as fjall's recovery picks it.
    fn find(dir: &Path) -> Option<ActiveJournal> {
        let id = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                name.to_str()?.strip_suffix(".jnl")?.parse::<u64>().ok()
            })
            .max()?;
        let file = File::open(Self::path(dir, id)).ok()?;
        Some(ActiveJournal {
            dir: dir.to_path_buf(),
            id,
            file,
            next: Self::path(dir, id + 1),
        })
    }

    /// Moves to the newest journal after any rotations since the last call.
    fn follow_rotations(&mut self) -> std::io::Result<()> {
        loop {
            match File::open(&self.next) {
                Ok(file) => {
                    self.id += 1;
                    self.file = file;
                    self.next = Self::path(&self.dir, self.id + 1);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

/// One sync of everything appended so far.
fn sync(db: &Database, journal: Option<&mut ActiveJournal>) -> Result<(), String> {
    match journal {
        Some(journal) => {
            db.persist(PersistMode::Buffer).map_err(|e| e.to_string())?;
            journal.follow_rotations().map_err(|e| e.to_string())?;
            journal.file.sync_data().map_err(|e| e.to_string())
        }
        None => db.persist(PersistMode::SyncData).map_err(|e| e.to_string()),
    }
}

fn run_syncer(shared: &Shared, db: &Database, mut journal: Option<ActiveJournal>) {
    let mut st = shared.state.lock();
    // When the previous sync started, if it covered more than one commit.
    let mut paced_from: Option<Instant> = None;
    loop {
        while st.requested <= shared.durable.load(Ordering::Acquire) && !st.forced && !st.stopping {
            st.idle = true;
            shared.wake_syncer.wait(&mut st);
            st.idle = false;
        }
        if st.requested <= shared.durable.load(Ordering::Acquire) && !st.forced {
            break; // stopping, nothing pending
        }
        if let Some(last) = paced_from {
            let deadline = last + MIN_SYNC_INTERVAL;
            while !st.forced && !st.stopping {
                if shared.wake_syncer.wait_until(&mut st, deadline).timed_out() {
                    break;
                }
            }
        }
        let sync_start = Instant::now();
        st.forced = false;
        st.started += 1;
        let generation = st.started;
        drop(st);
        // Read before the buffer flush: every version up to it is in the buffer by then.
        let target = shared.appended.load(Ordering::Acquire);
        let covered = target.saturating_sub(shared.durable.load(Ordering::Acquire));
        if journal.is_none() {
            shared.fallback_syncs.fetch_add(1, Ordering::Relaxed);
        }
        let sync_began = Instant::now();
        let result = sync(db, journal.as_mut());
        shared.sync_latency.record(sync_began.elapsed());
        if let Some(journal) = &journal {
            shared.journal_id.store(journal.id + 1, Ordering::Relaxed);
        }
        shared.syncs.fetch_add(1, Ordering::Relaxed);
        st = shared.state.lock();
        st.finished = generation;
        let mut ready = Vec::new();
        match result {
            Ok(()) => {
                shared.durable.fetch_max(target, Ordering::AcqRel);
                let mut i = 0;
                while i < st.wakers.len() {
                    if st.wakers[i].0 <= target {
                        ready.push(st.wakers.swap_remove(i).1);
                    } else {
                        i += 1;
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "journal sync failed; writes now fail");
                st.failed = Some(e);
                shared.failed.store(true, Ordering::Release);
                ready.extend(st.wakers.drain(..).map(|(_, waker)| waker));
            }
        }
        if st.blocked > 0 {
            shared.wake_blocked.notify_all();
        }
        // Pace only when this sync covered several commits: writers are concurrent. (Counting
        // released wakers would not do: a task polled twice registers twice.)
        paced_from = (covered > 1).then_some(sync_start);
        let failed = st.failed.is_some();
        drop(st);
        for waker in ready {
            waker.wake();
        }
        if failed {
            return;
        }
        st = shared.state.lock();
    }
    drop(st);
    // Anything written without a waiter still reaches the disk on shutdown.
    if let Err(e) = sync(db, journal.as_mut()) {
        tracing::error!(error = %e, "final journal sync failed");
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.state.lock().stopping = true;
        self.shared.wake_syncer.notify_one();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("group-commit thread panicked");
            }
        }
    }
}
