//! The commit sequencer: hands out fjall sequence numbers to commits, and publishes a commit to
//! fjall's snapshots only once it and every commit before it are wholly in the memtables.
//!
//! Why: a commit assigns its version and sequence number, and appends its log frame, under the
//! store's version mutex, but inserts its data entries into lsm-tree's memtables after leaving
//! it (still under its key latches, see the crate docs, "Commits"). Those inserts (skip-list
//! searches, nine per index put) were the largest part of the time the mutex was held. Once
//! they run outside it, commits finish their inserts out of order, so fjall's own publication
//! (`SnapshotTracker::publish`, a `fetch_max` per batch) would let a snapshot see a later commit
//! without an earlier one, or half of one. Here every commit holds a [`Ticket`] from
//! [`Sequencer::begin`] (called under the version mutex, so sequence numbers follow versions)
//! until its inserts are done; finishing a ticket advances fjall's visible sequence number past
//! the longest prefix of finished commits, never further.
//!
//! fjall itself also moves its visible sequence number: every flush and compaction takes a
//! sequence number for its new tree version and publishes it (lsm-tree's `upgrade_version`),
//! and the dropper's fjall batches publish theirs. A snapshot taken just after such a step can
//! therefore lie above commits still inserting. So readers take snapshots through
//! [`Sequencer::settle`]: it waits, usually not at all, until every commit below the snapshot's
//! sequence number has finished. The snapshot then holds exactly the commits below it (entries
//! carry their sequence numbers), whichever memtable each insert landed in.
//!
//! **Memtable rotations run between commits** ([`Sequencer::between_commits`]): no commit is
//! inserting while a memtable is rotated, and none begins until the rotation is done. A seal
//! must find every logged commit whole in the memtables it seals (the log segment is released
//! once they are flushed, see `log_bound`), and no commit may insert into a memtable created
//! after a tree version with a sequence number above its own. lsm-tree reads a snapshot at
//! sequence number `R` from the newest tree version numbered below `R`
//! (`get_version_for_snapshot`); a rotation adds the new memtable to the newest version only
//! (`replace_latest_version`, keeping its number), so an older version never holds it.
//!
//! Rotations used to wait for the commits in flight ([`Sequencer::wait_all`]) and then rotate,
//! which let a commit begin between the wait and the rotation. That race made
//! `tests::concurrent_batches_are_never_seen_half_applied` fail once, on a saturated machine
//! (a walk saw key `a` of commit 1779 with key `b` of commit 1769). The interleaving, all in
//! one tree (a pair's keys and versions in the items keyspace):
//! 1. a rotator's `wait_all` returns; commit C begins (sequence number `S`) and inserts its
//!    first entry into the active memtable `M1`;
//! 2. the flush thread registers a flushed table in the same tree: a new tree version numbered
//!    `X > S`;
//! 3. the rotation replaces that version with one whose active memtable is a new `M2`; C
//!    inserts its last entry into `M2` and finishes;
//! 4. a reader whose snapshot was taken with `S < R <= X` (fjall's visible sequence number had
//!    passed `S` through another tree's flush, and settling waited for C) reads the version
//!    before `X`, which has `M1` but not `M2`: C's first entry without its last.
//!
//! With the gate, a memtable is only ever written by commits that began after it was created,
//! whose sequence numbers lie above every tree version that lacks it. The price is that
//! commits stall, under the version mutex, while the commits in flight finish their inserts
//! and the rotation runs, so rotations made between commits are lsm-tree's own (a few
//! microseconds) wherever they are frequent: the seal's and [`crate::FjallStore`]'s full
//! memtables'. The flush thread's one rotation per pass through fjall (`flusher::tidy_fjall`)
//! and the straggler rotations (once per fjall journal) take fjall's journal lock, which
//! fjall's worker holds through an `fsync`, and collect old tree versions. Timed in a `put`
//! load (6 s, a debug print per gate): seals held the gate 10–20 µs, the flush thread's
//! rotation 0.4–5 ms once per pass, and full-memtable rotations 1–25 ms while they still went
//! through fjall (now through lsm-tree).
//! `tests::a_rotation_inside_a_commit_after_a_newer_tree_version_splits_it` replays the
//! interleaving against lsm-tree (it behaves so before the compact table ids too, at 95d80aa);
//! `tests::rotations_run_between_commits` checks the gate.
//!
//! Measured (2026-12-07 06:38–07:05, the shared 2-core VM). The stress test, two copies looping
//! side by side (both cores saturated), debug build: before, 1 failure in 128 runs (a partition
//! walk, `range`: key `a` at version 1548, `b` at 1546); with the gate, none in 230.
//! `binderdb bench --workload put`, durable (`sync`), 32 connections, 5 s after a 1 s warm-up,
//! main's release build and this one alternated, each run under `quiet.sh`, 6 rounds at load
//! average 1.8–2.8 (the benchmark itself): ops/s 26,200 → 29,500 (medians; this build faster in
//! 5 rounds), p99 3.5 → 2.9 ms, p99.9 15.4 → 16.9 ms. (With full-memtable rotations still
//! through fjall under the gate: 32,900 → 31,800 ops/s in 4 quiet rounds, lower in each.)
//!
//! Must not take any of the store's locks: finishing a ticket happens under key latches, and
//! waiting happens under the version mutex (`recount`, `checkpoint`, and [`Sequencer::begin`]
//! while a rotation runs). So what runs between commits must not take the version mutex or
//! key latches either.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::retired::Retired;
use fjall::{Database, SeqNo};
use parking_lot::{Condvar, Mutex};

/// See the module docs.
pub(crate) struct Sequencer {
    db: Database,
    state: Mutex<State>,
    finished: Condvar,
    /// The lowest sequence number of a commit in flight (`SeqNo::MAX` if none): read without
    /// the lock by [`Sequencer::settle`]'s fast path.
    lowest_in_flight: AtomicU64,
    /// The memtables rotations sealed, kept so that they are freed by the flush thread and not
    /// under a lock (see [`crate::retired`]): every rotation passes here.
    pub(crate) retired: Retired,
}

#[derive(Default)]
struct State {
    /// Commits begun and not yet published, in sequence order, with whether they finished.
    in_flight: VecDeque<(SeqNo, bool)>,
    /// Threads waiting on `finished` (in [`Sequencer::wait_below`], [`Sequencer::begin`] or
    /// [`Sequencer::between_commits`]): finishing notifies only if some are.
    waiters: usize,
    /// A rotation is running ([`Sequencer::between_commits`]): no commit may begin.
    gate_closed: bool,
}

/// A commit's sequence number, held until its inserts are done; dropping it finishes the commit
/// (also on an early return, so a failed commit never stops publication).
pub(crate) struct Ticket<'a> {
    sequencer: &'a Sequencer,
    seqno: SeqNo,
}

impl Ticket<'_> {
    /// The sequence number the commit's entries carry.
    pub(crate) fn seqno(&self) -> SeqNo {
        self.seqno
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.sequencer.finish(self.seqno);
    }
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("in_flight", &self.state.lock().in_flight.len())
            .finish()
    }
}

impl Sequencer {
    /// A sequencer over `db`'s sequence numbers. Created once recovery has written what it
    /// replays (fjall's own batches publish themselves).
    pub(crate) fn new(db: Database) -> Sequencer {
        Sequencer {
            db,
            state: Mutex::default(),
            finished: Condvar::new(),
            lowest_in_flight: AtomicU64::new(SeqNo::MAX),
            retired: Retired::default(),
        }
    }

    /// Assigns the next sequence number to a commit. Called under the version mutex, so that
    /// sequence numbers follow versions (and the log's order). Waits while a rotation runs
    /// ([`Sequencer::between_commits`]).
    pub(crate) fn begin(&self) -> Ticket<'_> {
        let mut state = self.state.lock();
        if state.gate_closed {
            state.waiters += 1;
            while state.gate_closed {
                self.finished.wait(&mut state);
            }
            state.waiters -= 1;
        }
        let seqno = self.db.supervisor.seqno.next();
        if state.in_flight.is_empty() {
            self.lowest_in_flight.store(seqno, Ordering::Release);
        }
        state.in_flight.push_back((seqno, false));
        Ticket {
            sequencer: self,
            seqno,
        }
    }

    /// Marks `seqno` finished and publishes the finished prefix to fjall's snapshots.
    fn finish(&self, seqno: SeqNo) {
        let mut state = self.state.lock();
        if let Some(entry) = state.in_flight.iter_mut().find(|(s, _)| *s == seqno) {
            entry.1 = true;
        }
        let mut published = None;
        while let Some(&(front, true)) = state.in_flight.front() {
            state.in_flight.pop_front();
            published = Some(front);
        }
        let Some(published) = published else {
            return; // an earlier commit is still inserting: it publishes this one too
        };
        let lowest = state.in_flight.front().map_or(SeqNo::MAX, |(s, _)| *s);
        self.lowest_in_flight.store(lowest, Ordering::Release);
        // Everything below `lowest` that this sequencer handed out is finished.
        let visible_through = if lowest == SeqNo::MAX {
            published
        } else {
            lowest - 1
        };
        self.db.supervisor.snapshot_tracker.publish(visible_through);
        if state.waiters > 0 {
            self.finished.notify_all();
        }
    }

    /// Blocks until every commit with a sequence number below `below` has finished.
    pub(crate) fn wait_below(&self, below: SeqNo) {
        if self.lowest_in_flight.load(Ordering::Acquire) >= below {
            return;
        }
        let mut state = self.state.lock();
        state.waiters += 1;
        while state.in_flight.front().is_some_and(|(s, _)| *s < below) {
            self.finished.wait(&mut state);
        }
        state.waiters -= 1;
    }

    /// Runs `rotate` with no commit in flight and none beginning (see the module docs, "Memtable
    /// rotations run between commits"): holds new commits back in [`Sequencer::begin`], waits
    /// for those in flight to finish, runs `rotate`, then lets the held ones go (also if
    /// `rotate` panics). The gate closes before the wait, so a steady stream of commits cannot
    /// starve a rotation. Rotations from several threads take turns.
    ///
    /// The caller must hold no ticket, and `rotate` must not take the version mutex or key
    /// latches (commits wait for the gate holding them), nor call `between_commits` itself.
    pub(crate) fn between_commits<T>(&self, rotate: impl FnOnce() -> T) -> T {
        let mut state = self.state.lock();
        state.waiters += 1;
        while state.gate_closed {
            self.finished.wait(&mut state);
        }
        state.gate_closed = true;
        while !state.in_flight.is_empty() {
            self.finished.wait(&mut state);
        }
        state.waiters -= 1;
        drop(state);
        let _open = GateGuard(self);
        rotate()
    }

    /// Blocks until every commit begun before the call has finished.
    pub(crate) fn wait_all(&self) {
        self.wait_below(self.db.supervisor.seqno.get());
    }

    /// A fjall snapshot holding exactly the commits below its sequence number (see the module
    /// docs): taken, then settled by waiting for the commits below it still inserting.
    pub(crate) fn settle(&self, snapshot: fjall::Snapshot) -> fjall::Snapshot {
        self.wait_below(snapshot.seqno());
        snapshot
    }
}

/// Opens the gate [`Sequencer::between_commits`] closed when dropped.
struct GateGuard<'a>(&'a Sequencer);

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.gate_closed = false;
        if state.waiters > 0 {
            self.0.finished.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequencer() -> (tempfile::TempDir, Sequencer) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::builder(dir.path()).open().unwrap();
        (dir, Sequencer::new(db))
    }

    /// A later commit that finishes first stays invisible until the earlier one finishes;
    /// then both are published at once.
    #[test]
    fn publishes_only_the_finished_prefix() {
        let (_dir, seq) = sequencer();
        let visible = || seq.db.visible_seqno();
        let start = visible();
        let first = seq.begin();
        let second = seq.begin();
        assert!(second.seqno() > first.seqno());
        drop(second);
        assert_eq!(visible(), start);
        drop(first);
        assert!(visible() > start);
        assert_eq!(seq.lowest_in_flight.load(Ordering::Acquire), SeqNo::MAX);
    }

    /// `wait_below` returns once the commits below the bound finished, whoever finishes them.
    #[test]
    fn waiters_wake_when_the_prefix_finishes() {
        let (_dir, seq) = sequencer();
        let ticket = seq.begin();
        let bound = ticket.seqno() + 1;
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| seq.wait_below(bound));
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(ticket);
            waiter.join().unwrap();
        });
        seq.wait_all();
    }

    /// A rotation waits for the commit in flight, and a commit that begins meanwhile waits for
    /// the rotation: it begins (and inserts) only once the rotation is done. Without the gate,
    /// the commit below would begin at once and see the rotation not yet done.
    #[test]
    fn rotations_run_between_commits() {
        use std::sync::atomic::AtomicBool;
        let (_dir, seq) = sequencer();
        let in_flight = seq.begin();
        let (rotating, rotated, began) = (
            AtomicBool::new(false),
            AtomicBool::new(false),
            AtomicBool::new(false),
        );
        std::thread::scope(|scope| {
            let rotator = scope.spawn(|| {
                seq.between_commits(|| {
                    rotating.store(true, Ordering::SeqCst);
                    // Until the commit below waits for the gate (or, without it, has begun).
                    while seq.state.lock().waiters == 0 && !began.load(Ordering::SeqCst) {
                        std::thread::yield_now();
                    }
                    rotated.store(true, Ordering::SeqCst);
                })
            });
            // The rotation has closed the gate but waits for the commit in flight.
            while !seq.state.lock().gate_closed {
                std::thread::yield_now();
            }
            assert!(
                !rotating.load(Ordering::SeqCst),
                "rotated with a commit in flight"
            );
            drop(in_flight);
            while !rotating.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            let next = seq.begin();
            began.store(true, Ordering::SeqCst);
            assert!(
                rotated.load(Ordering::SeqCst),
                "a commit began during a rotation"
            );
            drop(next);
            rotator.join().unwrap();
        });
        assert_eq!(seq.lowest_in_flight.load(Ordering::Acquire), SeqNo::MAX);
    }
}
