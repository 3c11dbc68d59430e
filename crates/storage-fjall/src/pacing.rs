//! Writer pacing: how long a writer waits, before it takes any latch or lock, while the flushes
//! and compactions of the keyspaces it writes fall behind.
//!
//! fjall has its own brakes, which binderdb must never let engage: a batch commit that finds 4
//! sealed memtables sleeps 100 ms (and again while there are still 4), and with 20 or more
//! level-0 runs it spins, at 30 it sleeps in 10 ms steps, all inside the commit, where binderdb
//! holds its version mutex, so every writer stops. binderdb's pacing acts earlier and
//! gradually: past [`SLOW_L0_RUNS`] runs each commit sleeps once, for a time that doubles with
//! every further run (from [`FIRST_DELAY`] up to [`MAX_DELAY`]); so the write rate falls
//! smoothly towards what the compactions sustain instead of running into a wall. Only past the
//! hard limits ([`MAX_SEALED_MEMTABLES`], [`MAX_L0_RUNS`]), which the delays are meant to keep
//! writers from ever reaching, does a writer wait in [`PACING_STEP`]s until the backlog is back
//! under them. A writer that waits holds nothing other writers need: a read-modify-write
//! (PutItem, BatchWriteItem) is paced on its keys' keyspaces before it takes their latches,
//! and only its index keyspaces' backlog, if worse, is waited for under them.
//!
//! Why a sleep per commit works as a rate: with `n` writers each sleeping `d` per commit, the
//! store takes at most `n / d` commits a second (32 connections and 8 ms: 4,000 commits, or
//! 100,000 items in 25-item batches); a bulk load slows by a few percent at the first delays and
//! by half or more near the last ones, and each request waits at most [`MAX_DELAY`] for it.
//!
//! A paced writer sleeps on the thread that called the store, and binderdb's server runs writes
//! inline on its runtime's workers (one per core), where a sleeping writer holds up every
//! request queued on the same worker, reads included (up to [`MAX_DELAY`] per paced write in
//! the queue). So the store says it is pacing ([`RecentPacing`], for [`PACING_HINT`] after the
//! last writer that slept at least [`LONG_DELAY`] or had to wait), and the server then runs
//! writes on its blocking pool, where each writer waits only for its own sleep
//! (`crates/server/tests/it/pacing.rs`). Measured on 10,000,000-item bulk loads (BatchWriteItem
//! x25, 32 connections, 2026-12-07, builds alternated, 2 rounds each; the machine was noisy):
//! requests over 100 ms 161 / 165 / 2,106 / 57 before, 399 / 64 / 32 / 101 with every paced
//! write moved, 98 with only the long ones: no difference the noise lets one see. A build that
//! logged every wait over 30 ms and every sleep of 16 ms or more logged none during such a
//! load, while 32 requests at once still took 100–200 ms: **those stalls are not the pacing's**
//! (the longest group-commit sync was 43–88 ms in all loads but the worst one, 378 ms there;
//! what holds every writer at once was found later: a table file's deletion under lsm-tree's
//! locks, and the disk's own pauses, see the crate docs, "What stalls every connection during a
//! bulk load").
//!
//! Before (a stop at 3 sealed memtables or 18 runs, fjall's single worker flushing and
//! compacting in turn): a 10-minute BatchWriteItem load stalled up to 2.5–5 s, 0.47% of its
//! requests over 100 ms. See the crate docs for the figures after.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fjall::AbstractTree;

/// Sealed (full, not yet flushed) memtables of one keyspace at which writers wait until the
/// flush thread catches up (binderdb's rotations add at most one per keyspace beyond it, fjall
/// stops writers at 4). One sealed memtable is the one being flushed; with two, each commit
/// sleeps [`SEALED_DELAY`].
pub(crate) const MAX_SEALED_MEMTABLES: usize = 3;

/// See [`MAX_SEALED_MEMTABLES`].
const SEALED_DELAY: Duration = Duration::from_millis(2);

/// Level-0 runs of one keyspace from which each commit sleeps (fjall's leveled compaction
/// merges level 0 down from 4 tables; more runs pile up while a compaction of the levels below
/// keeps level 1 busy).
const SLOW_L0_RUNS: usize = 8;

/// The sleep at [`SLOW_L0_RUNS`] runs; it doubles with each further run.
const FIRST_DELAY: Duration = Duration::from_micros(250);

/// The longest single sleep (reached at 16 runs).
const MAX_DELAY: Duration = Duration::from_millis(64);

/// Level-0 runs at which writers wait until compactions bring them back below (fjall's own
/// brake starts at 20).
pub(crate) const MAX_L0_RUNS: usize = 18;

/// The step of a writer's wait past the hard limits.
pub(crate) const PACING_STEP: Duration = Duration::from_millis(1);

/// How long after the last paced writer the store still says it paces writers (see the module
/// docs): a backlog comes and goes with each flush and compaction, and a few round trips of
/// inline writes between two paced ones would each risk holding up a worker again.
pub(crate) const PACING_HINT: Duration = Duration::from_millis(200);

/// The shortest sleep after which the store says it paces writers ([`RecentPacing`]): shorter
/// ones cost a runtime worker less than moving every write to the blocking pool costs (two
/// thread hand-offs per write), while the store is busiest.
pub(crate) const LONG_DELAY: Duration = Duration::from_millis(1);

/// When a writer was last paced with a sleep of at least [`LONG_DELAY`] (or had to wait):
/// [`RecentPacing::active`] for [`PACING_HINT`] after it.
#[derive(Debug)]
pub(crate) struct RecentPacing {
    origin: Instant,
    /// Milliseconds from `origin` to the last paced writer, plus one; 0: never.
    last: AtomicU64,
}

impl RecentPacing {
    pub(crate) fn new() -> RecentPacing {
        RecentPacing {
            origin: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    /// A writer is being paced now.
    pub(crate) fn mark(&self) {
        self.mark_at(Instant::now());
    }

    /// Whether a writer was paced within the last [`PACING_HINT`].
    pub(crate) fn active(&self) -> bool {
        self.active_at(Instant::now())
    }

    fn mark_at(&self, now: Instant) {
        self.last.fetch_max(self.tick(now), Ordering::Relaxed);
    }

    fn active_at(&self, now: Instant) -> bool {
        let last = self.last.load(Ordering::Relaxed);
        last != 0 && u128::from(self.tick(now).saturating_sub(last)) < PACING_HINT.as_millis()
    }

    fn tick(&self, now: Instant) -> u64 {
        let ms = now.saturating_duration_since(self.origin).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX - 1) + 1
    }
}

/// What a writer does before its commit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pace {
    /// Commit at once.
    Go,
    /// Sleep this long once, then commit.
    Slow(Duration),
    /// Wait until the backlog is under the hard limits.
    Wait,
}

/// The flush and compaction backlog of the keyspaces a commit writes to (the worst of each).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Backlog {
    sealed_memtables: usize,
    l0_runs: usize,
}

impl Backlog {
    /// The backlog of one keyspace now.
    pub(crate) fn of(space: &fjall::Keyspace) -> Backlog {
        Backlog {
            sealed_memtables: space.tree.sealed_memtable_count(),
            l0_runs: space.tree.l0_run_count(),
        }
    }

    /// The worse of two backlogs, measure by measure.
    pub(crate) fn max(self, other: Backlog) -> Backlog {
        Backlog {
            sealed_memtables: self.sealed_memtables.max(other.sealed_memtables),
            l0_runs: self.l0_runs.max(other.l0_runs),
        }
    }

    /// What a writer facing this backlog does (see the module docs).
    pub(crate) fn pace(self) -> Pace {
        if self.sealed_memtables >= MAX_SEALED_MEMTABLES || self.l0_runs >= MAX_L0_RUNS {
            return Pace::Wait;
        }
        let runs_over = self.l0_runs.checked_sub(SLOW_L0_RUNS).map(|over| {
            let factor = 1u32 << over.min(16);
            FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
        });
        let sealed = (self.sealed_memtables >= 2).then_some(SEALED_DELAY);
        match runs_over.max(sealed) {
            Some(delay) => Pace::Slow(delay),
            None => Pace::Go,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(sealed_memtables: usize, l0_runs: usize) -> Pace {
        Backlog {
            sealed_memtables,
            l0_runs,
        }
        .pace()
    }

    #[test]
    fn the_delay_grows_with_the_backlog_up_to_the_hard_limits() {
        assert_eq!(pace(0, 0), Pace::Go);
        assert_eq!(pace(1, SLOW_L0_RUNS - 1), Pace::Go);
        assert_eq!(pace(0, SLOW_L0_RUNS), Pace::Slow(FIRST_DELAY));
        assert_eq!(pace(0, SLOW_L0_RUNS + 1), Pace::Slow(FIRST_DELAY * 2));
        assert_eq!(pace(0, SLOW_L0_RUNS + 3), Pace::Slow(FIRST_DELAY * 8));
        assert_eq!(pace(0, MAX_L0_RUNS - 1), Pace::Slow(MAX_DELAY));
        assert_eq!(pace(2, 0), Pace::Slow(SEALED_DELAY));
        assert_eq!(pace(2, MAX_L0_RUNS - 1), Pace::Slow(MAX_DELAY));
        assert_eq!(pace(MAX_SEALED_MEMTABLES, 0), Pace::Wait);
        assert_eq!(pace(0, MAX_L0_RUNS), Pace::Wait);
        let mut last = Duration::ZERO;
        for runs in SLOW_L0_RUNS..MAX_L0_RUNS {
            let Pace::Slow(delay) = pace(0, runs) else {
                panic!("{runs} runs");
            };
            assert!(delay >= last && delay <= MAX_DELAY);
            last = delay;
        }
    }

    #[test]
    fn the_store_says_it_paces_for_a_while_after_the_last_paced_writer() {
        let recent = RecentPacing::new();
        let start = recent.origin;
        assert!(!recent.active_at(start));
        assert!(!recent.active_at(start + Duration::from_secs(5)));
        recent.mark_at(start + Duration::from_secs(1));
        assert!(recent.active_at(start + Duration::from_secs(1)));
        assert!(recent.active_at(start + Duration::from_secs(1) + PACING_HINT / 2));
        assert!(!recent.active_at(start + Duration::from_secs(1) + PACING_HINT));
        // A later writer extends it; an earlier mark arriving late does not take it back.
        recent.mark_at(start + Duration::from_secs(2));
        recent.mark_at(start + Duration::from_secs(1));
        assert!(recent.active_at(start + Duration::from_secs(2) + PACING_HINT / 2));
        assert!(!recent.active_at(start + Duration::from_secs(3)));
    }

    #[test]
    fn the_worst_keyspace_sets_the_pace() {
        let a = Backlog {
            sealed_memtables: 2,
            l0_runs: 1,
        };
        let b = Backlog {
            sealed_memtables: 0,
            l0_runs: SLOW_L0_RUNS + 4,
        };
        // 2 sealed memtables from `a`, 12 runs from `b`: the longer of the two sleeps.
        assert_eq!(a.max(b).pace(), Pace::Slow(FIRST_DELAY * 16));
        assert!(FIRST_DELAY * 16 > SEALED_DELAY);
        assert_eq!(Backlog::default().max(a).pace(), Pace::Slow(SEALED_DELAY));
    }
}
