//! Group commit: one background thread makes logged commits durable for many writers, and
//! wakes them (async tasks or blocked threads) when their commits are as durable as the store's
//! [`Durability`] promises.
//!
//! Every commit frames its entries into the shared `pending` buffer ([`GroupCommit::log`])
//! and then publishes its version ([`GroupCommit::appended`]), both under the store's commit
//! mutex, so the buffer follows version order (and sequence-number order, see
//! [`crate::sequencer`]); the commit inserts its data entries after leaving the mutex. A writer that must
//! acknowledge asks for durability up to a commit point ([`GroupCommit::poll_durable`], or
//! [`GroupCommit::flush`] for a fresh sync of everything). The syncer thread wakes, notes the
//! highest appended version, takes the pending frames, writes them to binderdb's own log
//! ([`crate::wal`]) and, in [`Durability::Sync`], calls `fdatasync` on its segment before it marks
//! every version up to the noted one durable. Writers arriving during a sync share the next one.
//!
//! **Writers write the log themselves when no sync is due.** In [`Durability::Group`] and
//! [`Durability::None`] an acknowledgement needs the frames written to the operating system, not
//! synced: the acknowledging writer takes the log lock, writes every pending frame with one
//! `pwrite` and returns at once ([`GroupCommit::write_own`]); writers arriving meanwhile find
//! their commits already written. The syncer then only syncs (at the end of [`GROUP_WINDOW`] in
//! `Group`), moves the log to a new segment (a writer leaves frames that might not fit to it),
//! and serves flushes. Before, each round was a hand-off: the writer woke the syncer, which wrote
//! and woke the writer's task, two thread wake-ups for what one system call does.
//!
//! **fjall's journal** no longer receives commits (see the crate docs, "Commits"), and
//! recovery never reads it (see `log_bound`). When the log completes a segment, the syncer
//! *seals* it: once the commits still inserting have finished, it rotates every memtable
//! holding writes, so that the flush thread can release the segment once they are in table
//! files. The syncer still follows fjall's journal
//! rotations at every round (a `stat` of the next name), which tells the store when to flush
//! straggling memtables.
//!
//! **Pacing.** In [`Durability::Sync`], when the last sync covered more than one commit
//! (writers are concurrent), the next one starts no sooner than [`MIN_SYNC_INTERVAL`] after
//! it, so more writers share it; a lone sequential writer never waits for the pacing. The
//! syncer sleeps out that interval right after the round, before it looks for requests, and it
//! is not `idle` meanwhile: a writer that registers during the interval does not wake it. (It
//! used to wait for a request first and pace after: the first writer of every round then woke
//! the idle syncer (a futex wake on the request thread, which the syncer often preempted),
//! only for the syncer to go back to sleep until the same deadline. Measured in the crate's
//! docs, "Re-measured with the client's share".)
//!
//! **Sync latency.** The syncer times each `fdatasync` of the log into a histogram
//! ([`GroupCommit::sync_latency`]): what an acknowledged write waits for the disk.
//!
//! A failed write or sync poisons the group: every waiter and every later write gets the
//! error. The thread is owned by [`GroupCommit`]: dropping it finishes pending requests, syncs
//! once more and joins the thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use binderdb_storage::StorageError;
use fjall::Database;
use parking_lot::{Condvar, Mutex};

use crate::sequencer::Sequencer;
use crate::wal;

/// How long an acknowledged write may wait for its `fdatasync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// A write is acknowledged once its log frame is synced (`fdatasync`) to stable storage.
    #[default]
    Sync,
    /// A write is acknowledged once its log frame is written to the operating system; the log
    /// is synced at least every [`GROUP_WINDOW`]. A process crash loses nothing acknowledged;
    /// a power loss or kernel crash may lose the last window of acknowledged writes.
    Group,
    /// A write is acknowledged once its log frame is written to the operating system; the log
    /// is synced only when a segment fills and at shutdown. A process crash loses nothing
    /// acknowledged; a power loss may lose everything since the last segment switch.
    None,
}

/// The longest an acknowledged write stays unsynced in [`Durability::Group`].
pub const GROUP_WINDOW: Duration = Duration::from_millis(10);

/// Shortest time between the starts of two syncs while writers are concurrent. Measured with
/// `binderdb bench --workload put` (durable, 32 connections, medians of 3 alternated runs, server
/// CPU per operation from /proc): 0 µs 25.1k ops/s and 43 µs/op, 150 µs 27.1k and 37 µs/op,
/// 300 µs 29.8k and 35 µs/op (p99 2.4 ms), 600 µs 27.9k and 36 µs/op. One connection: 6.1k
/// ops/s either way (a lone writer is never paced).
const MIN_SYNC_INTERVAL: Duration = Duration::from_micros(300);

/// How long an acknowledging writer waits for the log lock before it leaves its write to the
/// syncer ([`GroupCommit::write_own`]). Other writers hold it for one `pwrite`; the syncer for
/// a round, which may include a segment switch (milliseconds): not worth blocking an async
/// runtime thread for.
const OWN_WRITE_WAIT: Duration = Duration::from_micros(100);

#[derive(Debug, Default)]
struct SyncState {
    /// Highest commit point some waiter asked for.
    requested: u64,
    /// Set by [`GroupCommit::flush`]: the next round must sync, whatever the commit points and
    /// the durability mode say.
    forced: bool,
    /// Rounds started / finished so far.
    started: u64,
    finished: u64,
    /// Tasks waiting for a commit point, woken once it is durable.
    wakers: Vec<(u64, Waker)>,
    /// Threads blocked in [`GroupCommit::flush`].
    blocked: usize,
    /// Set once a write or sync failed: the log may have lost data, so nothing is durable any
    /// more.
    failed: Option<String>,
    /// Set by the owner on drop.
    stopping: bool,
    /// The syncer is waiting for requests (not syncing or pacing): only then does a new
    /// request need to wake it.
    idle: bool,
}

/// Buckets of [`SyncLatency`]: bucket `i` counts syncs that took less than `2^i` µs (and at
/// least `2^(i-1)`), the last one everything slower.
pub const SYNC_LATENCY_BUCKETS: usize = 24;

/// The group-commit thread's histogram of log `fdatasync` durations since open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncLatency {
    /// `buckets[i]`: syncs that took less than `2^i` µs and at least `2^(i-1)` µs (the last
    /// bucket: everything slower).
    pub buckets: [u64; SYNC_LATENCY_BUCKETS],
    /// The slowest sync, in µs.
    pub max_micros: u64,
}

impl SyncLatency {
    /// Number of syncs recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// An upper bound (a power of two, in µs; `max_micros` for the last bucket) of the `q`
    /// quantile (0.0–1.0), or 0 without syncs.
    pub fn quantile_micros(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return if i + 1 == SYNC_LATENCY_BUCKETS {
                    self.max_micros
                } else {
                    (1u64 << i).min(self.max_micros.max(1))
                };
            }
        }
        self.max_micros
    }
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; SYNC_LATENCY_BUCKETS],
    max_micros: AtomicU64,
}

impl Histogram {
    fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = (64 - micros.leading_zeros()) as usize;
        self.buckets[bucket.min(SYNC_LATENCY_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SyncLatency {
        SyncLatency {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            max_micros: self.max_micros.load(Ordering::Relaxed),
        }
    }
}

/// The log and the buffer its frames are written from, behind one lock: whoever holds it takes
/// the pending frames and writes them, so frames reach the log in commit order.
struct Log {
    writer: wal::Writer,
    frames: Vec<u8>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<SyncState>,
    wake_syncer: Condvar,
    wake_blocked: Condvar,
    /// Log frames of commits not yet taken by a writer of the log, in commit order.
    pending: Mutex<Vec<u8>>,
    /// Taken by the syncer for a round, and by acknowledging writers in the modes that do not
    /// sync per acknowledgement ([`GroupCommit::write_own`]). Never held during a log sync.
    log: Mutex<Log>,
    /// Frames were written to the log since the last sync started ([`Durability::Group`]'s
    /// window starts when the syncer sees it set).
    unsynced: AtomicBool,
    /// Highest version appended to the log.
    appended: AtomicU64,
    /// Every version up to this one is as durable as the mode promises.
    durable: AtomicU64,
    /// Mirrors `SyncState::failed.is_some()` for the commit path, which must not take the lock.
    failed: AtomicBool,
    syncs: AtomicU64,
    checkpoints: AtomicU64,
    latency: Histogram,
    /// The same durations in the storage contract's histogram, for `/metrics`.
    metrics_latency: binderdb_storage::LatencyHistogram,
    /// One more than the id of the fjall journal the syncer's handle points at (0: no handle).
    journal_id: AtomicU64,
    /// Log segments up to this `seq` are in sealed memtables or table files (see [`seal`]).
    sealed_through: AtomicU64,
    /// Called after each seal: wakes the flush thread (see [`LogRelease::on_seal`]).
    on_seal: Mutex<Option<OnSeal>>,
}

/// See [`LogRelease::on_seal`].
struct OnSeal(Box<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for OnSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnSeal")
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn new(version: u64, writer: wal::Writer, sealed_through: u64) -> Shared {
        Shared {
            state: Mutex::default(),
            wake_syncer: Condvar::new(),
            wake_blocked: Condvar::new(),
            pending: Mutex::default(),
            log: Mutex::new(Log {
                writer,
                frames: Vec::new(),
            }),
            unsynced: AtomicBool::new(false),
            appended: AtomicU64::new(version),
            durable: AtomicU64::new(version),
            failed: AtomicBool::new(false),
            syncs: AtomicU64::default(),
            checkpoints: AtomicU64::default(),
            latency: Histogram::default(),
            metrics_latency: binderdb_storage::LatencyHistogram::default(),
            journal_id: AtomicU64::default(),
            sealed_through: AtomicU64::new(sealed_through),
            on_seal: Mutex::new(None),
        }
    }

    /// Poisons the group after a failed log write or sync: every waiter (task, blocked thread)
    /// and every later write gets the error, and the syncer stops.
    fn fail(&self, reason: String) {
        let ready: Vec<Waker> = {
            let mut st = self.state.lock();
            if st.failed.is_none() {
                tracing::error!(error = %reason, "write-ahead log write or sync failed; writes now fail");
                st.failed = Some(reason);
            }
            self.failed.store(true, Ordering::Release);
            self.wake_blocked.notify_all();
            self.wake_syncer.notify_one();
            st.wakers.drain(..).map(|(_, waker)| waker).collect()
        };
        for waker in ready {
            waker.wake();
        }
    }
}

/// Owner of the syncer thread.
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    durability: Durability,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("appended", &self.commit_point())
            .field("durable", &self.shared.durable.load(Ordering::Relaxed))
            .field("syncs", &self.sync_count())
            .field("durability", &self.durability)
            .finish()
    }
}

impl GroupCommit {
    /// Starts the syncer thread, which writes `log` and seals `db`'s memtables at each segment
    /// switch (see [`seal`]); `db`'s journals live in `dir`; `version` is the last version
    /// already durable (the restored high-water mark); the log's segments up to
    /// `sealed_through` are already in sealed memtables or table files.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(
        db: Database,
        dir: &Path,
        version: u64,
        log: wal::Writer,
        durability: Durability,
        sealed_through: u64,
        sequencer: Arc<Sequencer>,
    ) -> Result<Self, StorageError> {
        let shared = Arc::new(Shared::new(version, log, sealed_through));
        let for_thread = Arc::clone(&shared);
        let journal = ActiveJournal::find(dir);
        if journal.is_none() {
            tracing::warn!(dir = %dir.display(), "no fjall journal found; straggling memtables are not flushed");
        }
        let syncer = Syncer {
            shared: for_thread,
            db,
            sequencer,
            journal,
            durability,
        };
        let thread = std::thread::Builder::new()
            .name("binderdb-group-commit".into())
            .spawn(move || syncer.run())?;
        Ok(GroupCommit {
            shared,
            durability,
            thread: Some(thread),
        })
    }

    /// Adds a commit's log frame. Called under the store's commit mutex, after the commit took
    /// its sequence number and before [`GroupCommit::appended`].
    pub(crate) fn log(&self, payload: &[u8]) {
        wal::push_frame(&mut self.shared.pending.lock(), payload);
    }

    /// Records that every version up to `version` is logged. Called in version order.
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
        if self.durability != Durability::Sync {
            if let Some(result) = self.write_own(point) {
                return Poll::Ready(result);
            }
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

    /// In the modes that acknowledge once the log is written ([`Durability::Group`],
    /// [`Durability::None`]), writes the pending frames (every commit up to the highest
    /// appended one, so `point` too) to the log on the caller's thread, and says so (or the
    /// error that poisoned the group). `None` leaves it to the syncer: the log is busy for
    /// longer than [`OWN_WRITE_WAIT`], or the frames may not fit in the active segment (moving
    /// to a new one syncs fjall's journal, which is the syncer's job, off the async runtime).
    ///
    /// Why: handing every write to the syncer thread and being woken by it cost two thread
    /// wake-ups per round, about as much CPU as the write itself; a `pwrite` to the page cache
    /// is what an item operation may do inline (see the module docs).
    fn write_own(&self, point: u64) -> Option<Result<(), StorageError>> {
        let shared = &*self.shared;
        let mut log = shared.log.try_lock_for(OWN_WRITE_WAIT)?;
        if shared.durable.load(Ordering::Acquire) >= point {
            return Some(Ok(()));
        }
        if shared.failed.load(Ordering::Acquire) {
            return None;
        }
        // Read before the pending frames are taken: every version up to it is among them or
        // already written (whoever took earlier frames wrote them before releasing the log).
        let target = shared.appended.load(Ordering::Acquire);
        let Log { writer, frames } = &mut *log;
        {
            let mut pending = shared.pending.lock();
            if !writer.fits(pending.len()) {
                return None;
            }
            std::mem::swap(frames, &mut *pending);
        }
        let written = writer.write_frames(frames, &mut |_| {
            Err(std::io::Error::other(
                "a log segment switch outside the group-commit thread",
            ))
        });
        frames.clear();
        drop(log);
        if let Err(e) = written {
            let reason = e.to_string();
            let error = failed_error(&reason);
            shared.fail(reason);
            return Some(Err(error));
        }
        shared.durable.fetch_max(target, Ordering::AcqRel);
        if self.durability == Durability::Group && !shared.unsynced.swap(true, Ordering::AcqRel) {
            // The window starts: a syncer waiting without a deadline must set one.
            let st = shared.state.lock();
            if st.idle {
                shared.wake_syncer.notify_one();
            }
        }
        Some(Ok(()))
    }

    /// Blocks until a round that started after this call has written and synced the log (in
    /// every durability mode): everything logged before the call is then on stable storage.
    ///
    /// # Errors
    /// `Io` if a write or sync failed.
    pub(crate) fn flush(&self) -> Result<(), StorageError> {
        let mut st = self.shared.state.lock();
        // A round in progress may have taken the pending frames before our caller's last one.
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

    /// Number of log syncs (`fdatasync`) made so far.
    pub(crate) fn sync_count(&self) -> u64 {
        self.shared.syncs.load(Ordering::Relaxed)
    }

    /// Number of seals (memtable rotations at a log segment switch, see [`seal`]) made so far.
    pub(crate) fn checkpoint_count(&self) -> u64 {
        self.shared.checkpoints.load(Ordering::Relaxed)
    }

    /// The histogram of log sync durations.
    pub(crate) fn sync_latency(&self) -> SyncLatency {
        self.shared.latency.snapshot()
    }

    /// The sync durations in the storage contract's buckets (the `/metrics` histogram).
    pub(crate) fn metrics_sync_latency(&self) -> binderdb_storage::HistogramSnapshot {
        self.shared.metrics_latency.snapshot()
    }

    /// A handle through which the flush thread releases log segments once fjall's table files
    /// hold them (see [`crate::log_bound`]).
    pub(crate) fn log_release(&self) -> LogRelease {
        LogRelease(Arc::clone(&self.shared))
    }

    /// Bytes of the log that recovery would replay if the process stopped now (see
    /// [`wal::Writer::unreleased_bytes`]).
    pub(crate) fn unreleased_log_bytes(&self) -> u64 {
        self.shared.log.lock().writer.unreleased_bytes()
    }

    /// The id of fjall's active journal as the syncer last saw it (`None` if it has no handle):
    /// it follows fjall's journal rotations.
    pub(crate) fn active_journal_id(&self) -> Option<u64> {
        self.shared
            .journal_id
            .load(Ordering::Relaxed)
            .checked_sub(1)
    }
}

/// The flush thread's side of the log's retention (see [`crate::log_bound`]).
#[derive(Clone)]
pub(crate) struct LogRelease(Arc<Shared>);

impl LogRelease {
    /// Has `wake` called after each seal.
    pub(crate) fn on_seal(&self, wake: Box<dyn Fn() + Send + Sync>) {
        *self.0.on_seal.lock() = Some(OnSeal(wake));
    }

    /// Log segments up to this `seq` are in sealed memtables or table files.
    pub(crate) fn sealed_through(&self) -> u64 {
        self.0.sealed_through.load(Ordering::Acquire)
    }

    /// fjall's table files hold everything logged in the segments up to `seq`: recovery need
    /// not replay them any more.
    pub(crate) fn release_through(&self, seq: u64) {
        if let Err(e) = self.0.log.lock().writer.release_through(seq) {
            // The segments stay and are replayed once more by the next recovery: harmless.
            tracing::warn!(error = %e, "releasing log segments failed");
        }
    }
}

fn failed_error(reason: &str) -> StorageError {
    StorageError::Io(std::io::Error::other(format!(
        "write-ahead log sync failed: {reason}"
    )))
}

/// Where the syncer last saw fjall's active journal (fjall names them `<id>.jnl`).
/// The number of fjall's active journal in `dir`: the highest of its `<n>.jnl` files.
pub(crate) fn newest_journal_id(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            name.to_str()?.strip_suffix(".jnl")?.parse::<u64>().ok()
        })
        .max()
}

struct ActiveJournal {
    dir: PathBuf,
    id: u64,
    /// Where fjall will put the next journal (`<id + 1>.jnl`).
    next: PathBuf,
    /// When [`ActiveJournal::follow_rotations`] last looked.
    checked: Option<Instant>,
}

/// How often the syncer looks for fjall's next journal (a `stat`), besides the rounds a flush
/// forces. fjall starts a journal rarely (commits bypass it, see the crate docs), and the
/// `stat` of every round was 4% of the syncer's CPU under a PutItem load (`perf`, 2026-12-06):
/// a few thousand a second for nothing.
const JOURNAL_CHECK_INTERVAL: Duration = Duration::from_millis(10);

impl ActiveJournal {
    fn path(dir: &Path, id: u64) -> PathBuf {
        dir.join(format!("{id}.jnl"))
    }

    /// The highest-numbered journal in `dir`, as fjall's recovery picks it.
    fn find(dir: &Path) -> Option<ActiveJournal> {
        let id = newest_journal_id(dir)?;
        Some(ActiveJournal {
            dir: dir.to_path_buf(),
            id,
            next: Self::path(dir, id + 1),
            checked: None,
        })
    }

    /// Moves to the newest journal after any rotations since the last call, if `force` or
    /// the last look was [`JOURNAL_CHECK_INTERVAL`] ago.
    fn follow_rotations(&mut self, force: bool) -> std::io::Result<()> {
        let now = Instant::now();
        if !force
            && self
                .checked
                .is_some_and(|at| now.duration_since(at) < JOURNAL_CHECK_INTERVAL)
        {
            return Ok(());
        }
        self.checked = Some(now);
        loop {
            match std::fs::metadata(&self.next) {
                Ok(_) => {
                    self.id += 1;
                    self.next = Self::path(&self.dir, self.id + 1);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Seals the log through segment `seq`, which has just been completed and synced: every
/// keyspace's memtable holding writes is rotated, so that everything logged so far is in sealed
/// memtables (which the flush thread writes to table files) or in table files already, and
/// the segment can be released once they are flushed (see [`crate::log_bound`]).
///
/// The rotation runs between commits ([`Sequencer::between_commits`]): each commit took its
/// sequence number before its frame reached the log, and inserts its entries after (see
/// [`crate::sequencer`]), so once those in flight have finished every frame in the segment is
/// whole in the memtables sealed here.
fn seal(db: &Database, sequencer: &Sequencer, shared: &Shared, seq: u64) -> std::io::Result<()> {
    sequencer
        .between_commits(|| crate::log_bound::rotate_every_memtable(db, Some(&sequencer.retired)))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    shared.sealed_through.fetch_max(seq, Ordering::AcqRel);
    shared.checkpoints.fetch_add(1, Ordering::Relaxed);
    if let Some(wake) = &*shared.on_seal.lock() {
        (wake.0)();
    }
    Ok(())
}

/// The state the syncer thread owns.
struct Syncer {
    shared: Arc<Shared>,
    db: Database,
    sequencer: Arc<Sequencer>,
    journal: Option<ActiveJournal>,
    durability: Durability,
}

/// How long committed frames nobody waits for (background work: backfill progress, TTL
/// deletions, drops' markers) may stay in the pending buffer before the syncer writes them to
/// the log, unsynced. Recovery reads only the log (see `log_bound`): fjall's journal, which
/// used to keep such commits across a kill -9, is no longer read.
const UNREQUESTED_WRITE_TICK: Duration = Duration::from_millis(50);

impl Syncer {
    /// Writes the pending frames to the log without syncing it or marking anything durable
    /// (see [`UNREQUESTED_WRITE_TICK`]): a later sync covers them.
    fn write_unrequested(&mut self) -> Result<(), String> {
        let Syncer {
            shared,
            db,
            sequencer,
            ..
        } = self;
        let mut log = shared.log.lock();
        let Log { writer, frames } = &mut *log;
        std::mem::swap(frames, &mut *shared.pending.lock());
        let written = writer.write_frames(frames, &mut |seq| seal(db, sequencer, shared, seq));
        let wrote = !frames.is_empty();
        frames.clear();
        written.map_err(|e| e.to_string())?;
        if wrote {
            shared.unsynced.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// One round: writes the pending frames to the log and, if `sync`, syncs it (after
    /// releasing the log, so writers in [`Durability::Group`] never wait for a sync). `forced`:
    /// a flush asked for it (fjall's journal rotations are then followed at once).
    fn round(&mut self, sync: bool, forced: bool) -> Result<(), String> {
        let Syncer {
            shared,
            db,
            sequencer,
            journal,
            ..
        } = self;
        let mut log = shared.log.lock();
        let Log { writer, frames } = &mut *log;
        std::mem::swap(frames, &mut *shared.pending.lock());
        let wrote = !frames.is_empty();
        let written = writer.write_frames(frames, &mut |seq| seal(db, sequencer, shared, seq));
        frames.clear();
        written.map_err(|e| e.to_string())?;
        if let Some(journal) = journal.as_mut() {
            // Keeps the store's straggler flushes in step with fjall's journal rotations.
            journal
                .follow_rotations(forced)
                .map_err(|e| e.to_string())?;
            shared.journal_id.store(journal.id + 1, Ordering::Relaxed);
        }
        if !sync {
            if wrote {
                shared.unsynced.store(true, Ordering::Release);
            }
            return Ok(());
        }
        // Cleared before the sync starts: frames written after this point set it again.
        shared.unsynced.store(false, Ordering::Release);
        let file = writer.sync_handle();
        drop(log);
        let started = Instant::now();
        file.sync_data().map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        shared.latency.record(elapsed);
        shared.metrics_latency.record(elapsed);
        shared.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        let mut st = shared.state.lock();
        // When the previous sync started, if it covered more than one commit.
        let mut paced_from: Option<Instant> = None;
        // When written but unsynced frames must be synced ([`Durability::Group`]).
        let mut sync_due: Option<Instant> = None;
        loop {
            // The pacing comes first, right after the round: the syncer sleeps out the interval
            // without being `idle`, so the writers that arrive meanwhile register without waking
            // it (see the module docs, "Pacing").
            if let (Some(last), Durability::Sync) = (paced_from.take(), self.durability) {
                let deadline = last + MIN_SYNC_INTERVAL;
                while !st.forced && !st.stopping && st.failed.is_none() {
                    if shared.wake_syncer.wait_until(&mut st, deadline).timed_out() {
                        break;
                    }
                }
            }
            loop {
                if st.failed.is_some() {
                    return; // a writer's own log write failed (see `Shared::fail`)
                }
                let durable = shared.durable.load(Ordering::Acquire);
                // Waiters whose commits writers wrote to the log themselves meanwhile
                // ([`GroupCommit::write_own`]) need no round.
                if st.wakers.iter().any(|(point, _)| *point <= durable) {
                    let mut i = 0;
                    while i < st.wakers.len() {
                        if st.wakers[i].0 <= durable {
                            st.wakers.swap_remove(i).1.wake();
                        } else {
                            i += 1;
                        }
                    }
                }
                if self.durability == Durability::Group
                    && sync_due.is_none()
                    && shared.unsynced.load(Ordering::Acquire)
                {
                    sync_due = Some(Instant::now() + GROUP_WINDOW);
                }
                let wanted = st.requested > durable;
                let due = sync_due.is_some_and(|due| Instant::now() >= due);
                if wanted || st.forced || st.stopping || due {
                    break;
                }
                st.idle = true;
                let timed_out = match sync_due {
                    Some(due) => shared.wake_syncer.wait_until(&mut st, due).timed_out(),
                    None => shared
                        .wake_syncer
                        .wait_for(&mut st, UNREQUESTED_WRITE_TICK)
                        .timed_out(),
                };
                st.idle = false;
                if timed_out && st.failed.is_none() && !shared.pending.lock().is_empty() {
                    drop(st);
                    let written = self.write_unrequested();
                    st = shared.state.lock();
                    if let Err(e) = written {
                        drop(st);
                        shared.fail(e);
                        return;
                    }
                }
            }
            let wanted = st.requested > shared.durable.load(Ordering::Acquire);
            let due = sync_due.is_some_and(|due| Instant::now() >= due);
            if !wanted && !st.forced && !due {
                break; // stopping, nothing pending
            }
            let round_start = Instant::now();
            let forced = st.forced;
            let sync = forced || due || self.durability == Durability::Sync;
            st.forced = false;
            st.started += 1;
            let generation = st.started;
            drop(st);
            // Read before the pending frames are taken: every version up to it is among them
            // or already written.
            let target = shared.appended.load(Ordering::Acquire);
            let covered = target.saturating_sub(shared.durable.load(Ordering::Acquire));
            let result = self.round(sync, forced);
            if sync {
                sync_due = None;
            }
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
                    drop(st);
                    shared.fail(e);
                    return;
                }
            }
            if st.blocked > 0 {
                shared.wake_blocked.notify_all();
            }
            // Pace only when this sync covered several commits: writers are concurrent.
            // (Counting released wakers would not do: a task polled twice registers twice.)
            paced_from = (covered > 1).then_some(round_start);
            drop(st);
            for waker in ready {
                waker.wake();
            }
            st = shared.state.lock();
        }
        drop(st);
        // Anything written without a waiter still reaches the disk on shutdown, and a clean
        // stop leaves nothing to replay at the next open.
        if let Err(e) = self.round(true, true) {
            tracing::error!(error = %e, "final write-ahead log sync failed");
            return;
        }
        let Syncer {
            shared,
            db,
            sequencer,
            ..
        } = &mut self;
        let mut log = shared.log.lock();
        if let Err(e) = log
            .writer
            .finish(&mut |seq| seal(db, sequencer, shared, seq))
        {
            tracing::error!(error = %e, "final seal failed; the next open replays the log");
        }
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
        let latency = self.sync_latency();
        if latency.count() > 0 {
            tracing::info!(
                syncs = latency.count(),
                p50_us = latency.quantile_micros(0.5),
                p99_us = latency.quantile_micros(0.99),
                p999_us = latency.quantile_micros(0.999),
                max_us = latency.max_micros,
                checkpoints = self.checkpoint_count(),
                "write-ahead log sync latency since open (bucket upper bounds)"
            );
        }
    }
}
