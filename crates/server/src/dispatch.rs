//! Where an item read runs: inline on the runtime worker that received the request, or on the
//! blocking pool, chosen per operation from how long its recent reads took.
//!
//! Item operations run inline (see [`crate::Operation::may_block`]): a read served from memory
//! takes a few microseconds, and handing it to another thread and back would cost more than the
//! read. But the runtime has one worker per core, and a read whose data block is on the disk
//! holds its worker for the whole `pread` (150–250 µs on the development VM's virtio disk), so
//! on 2 cores at most two reads wait for the disk at a time while the other requests queue
//! behind them, and the disk, which serves many reads in parallel, stays idle most of the time.
//! Measured during `scripts/measure-uncached-reads 1000000 --cache 16` with the page cache
//! dropped (2026-12-07, `/sys/block/vda/inflight` sampled every millisecond, main's build): the
//! disk had no read in flight 66% of the time, one 29%, two 4%, never more from this server;
//! GetItem 5,539 ops/s with p50 4.94 ms, while a read took 150 µs at the disk.
//!
//! So the read operations ([`crate::Operation::reads_only`]) are **adaptive**: each keeps a
//! moving fraction of its recent reads that took at least [`SLOW_READ`] (an exponential
//! average, weight [`1 / 2^SHIFT`](SHIFT) for the newest read), and while that fraction is at
//! least [`POOL_FRACTION`], its reads run on tokio's blocking pool, where those that wait for
//! the disk wait side by side; a worker then only decodes and encodes. Reads that stay in memory
//! keep the fraction at zero and run inline, as before. The time measured is the engine
//! operation's own (not the wait for a pool thread), wherever it ran, so the fraction falls back
//! as soon as the reads are fast again. Writes stay inline: they read too (conditions, the old
//! item), but their commit's own time would need another threshold, and they were not measured
//! (except while the store paces its writers, see `operation::Placement::Inline`).
//!
//! Bounds: at most [`POOL_READS`] reads are on the pool at once (the others wait for a permit,
//! holding no thread), so the pool grows by at most that many threads. A panic in a read is
//! contained to its request on both paths (a 500), and nothing here touches the durability wait.
//!
//! Measured (`scripts/measure-uncached-reads 1000000 --cache 16 --duration 4 --settle 20 --reuse
//! DIR`, one loaded directory, page cache dropped, 3 rounds alternated, medians). On the
//! quietest machine of the session (2026-12-07 04:15, load average 1.6–3.3), this build with
//! `--read-dispatch inline` (main's behaviour) against its default:
//!
//! | page cache dropped | inline: ops/s; p50 / p99 ms | adaptive |
//! |---|---|---|
//! | GetItem | 10,833; 2.86 / 5.85 | 17,668; 1.70 / **3.89** |
//! | Query | 5,753; 5.52 / 10.19 | 11,772; 2.56 / **5.83** |
//!
//! (adaptive better in every round). On a busy machine (load average 7–14 from the other
//! sessions' Ceph cluster and servers, which `quiet.sh` does not pause; 03:55, against main's
//! build) throughput and the median still rose in every round (GetItem p50 6.35 → 2.92 ms,
//! Query 8.00 → 4.10), the p99 fell far in the least busy round (GetItem 28.9 → 3.6 ms, Query
//! 27.2 → 5.4) but **rose in the two busiest** (GetItem 17.9 → 40.3 and 20.9 → 29.1 ms, Query
//! 26.9 → 69.4 and 17.5 → 35.1): a read on the pool needs three turns on a CPU (the worker, a
//! pool thread, the worker again) where an inline one needs one, and on two cores saturated by
//! others each turn can wait milliseconds. A fourth run at load 4–7 (04:10, against main):
//! GetItem 11,202 → 11,654 ops/s, p99 5.46 → 6.38 ms; Query 6,198 → 6,863, p99 12.20 → 11.81.
//! A table that fits in the block cache stays inline (its reads take 5–10 µs): `binderdb
//! bench`, durable, 20,000 items, 32 connections, inline against adaptive in one build, 3
//! rounds: GetItem 37,000 against 35,900 ops/s, Query 23,100 against 26,300 (noise).

//! Why this and not the alternatives: more runtime workers than cores would let more reads wait
//! at once too, but every request, also one that never misses, would share the cores with them
//! (not measured); `block_in_place` hands the worker's queue to another thread on every call, so
//! it would need the same prediction, and it panics on a current-thread runtime (as the tests'
//! servers run on); tried in place of the pool for two rounds, it measured no better. 4 pool
//! permits instead of 16 measured the same within the noise (two rounds). Prefetching would
//! need to know the data block before the read, which fjall does not tell (reading a Query's
//! far end beside it, which needs no such knowledge, measured worse: see the fjall store's
//! `read_path`).
//!
//! More workers, measured (2026-12-08, release build of 5f984f5, idle machine): uncached
//! (`scripts/measure-uncached-reads 10000000 --memory-limit 256 --duration 4 --settle 30
//! --reuse DIR --skip-kept`, two rounds alternated), the default (2 workers, adaptive) against
//! `TOKIO_WORKER_THREADS=8` with `--read-dispatch inline` and with the adaptive default: GetItem
//! 18,519 / 16,861 against 21,406 / 21,186 and 19,050 / 16,656 ops/s, Query 13,152 / 12,300
//! (p99 4.95 / 5.74 ms) against 15,152 / 15,354 (p99 4.70 / 4.71) and 12,148 / 11,338 (p99
//! 6.63 / 9.62). So eight workers reading inline beat the pool by about a fifth on reads that
//! wait for the disk: the pool's two hand-offs per read cost more than the kernel's one
//! wake-up after the I/O. But the same servers on cached data (`binderdb bench`, 32
//! connections, 10,000 items, durable, three rounds of 2, 4 and 8 workers under a pause of the
//! machine's builds): GetItem the same, Query 31,516–35,414 against 30,549–34,195 (4) and
//! 31,966–32,805 (8) ops/s, and PutItem **33,358–35,748 against 29,051–33,197 (4) and
//! 27,926–29,632 (8)**, server CPU per put 28–31 µs against 32–38 µs: writers that wait for a
//! log sync park more workers, which cost context switches. Durable PutItem matters more than
//! reads of a table larger than memory, so the runtime keeps one worker per core.
//!
//! [`ReadDispatch`] (`binderdb serve --read-dispatch`, hidden, for measurements) can pin the
//! choice to one side.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::Operation;

/// Where item reads run (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReadDispatch {
    /// Inline while they are fast, on the blocking pool while they are slow.
    #[default]
    Adaptive,
    /// Always inline on the runtime's workers (the behaviour before the adaptive dispatch).
    Inline,
    /// Always on the blocking pool.
    Pool,
}

impl std::str::FromStr for ReadDispatch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "adaptive" => Ok(ReadDispatch::Adaptive),
            "inline" => Ok(ReadDispatch::Inline),
            "pool" => Ok(ReadDispatch::Pool),
            other => Err(format!(
                "unknown read dispatch {other:?} (adaptive, inline or pool)"
            )),
        }
    }
}

/// A read that took at least this long waited for something, the disk most likely: a read
/// served from the block cache or the page cache takes a few microseconds to a few tens, one
/// from the development VM's disk 100–250 µs. With 50 µs, a 10-item Query served from the page
/// cache on a busy machine counted as slow often enough to move to the pool, where it ran at
/// up to half the throughput (page cache kept, 4 of 6 rounds: 10,600–15,300 against
/// 16,000–29,800 ops/s; as fast in the other 2); with 150 µs most disk reads did not count, and uncached reads stayed
/// inline (GetItem 5,948 against 14,436 ops/s with 50 µs, same round).
pub const SLOW_READ: Duration = Duration::from_micros(100);

/// The fraction of slow reads from which an operation's reads go to the pool, in 1/65536ths:
/// 1/8. Fewer misses than that cost the workers less than the hand-offs would.
pub const POOL_FRACTION: u32 = 65536 / 8;

/// The moving fraction's weight for the newest read: 1/2^SHIFT.
pub const SHIFT: u32 = 5;

/// Reads on the blocking pool at once, at most.
pub const POOL_READS: usize = 16;

/// The dispatch state of one server: a moving fraction per operation, and the pool's permits.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    mode: ReadDispatch,
    /// Per [`Operation::slot`]: the fraction of recent reads that were slow, in 1/65536ths.
    slow: [AtomicU32; Operation::ALL.len()],
    permits: Semaphore,
}

impl Dispatcher {
    pub(crate) fn new(mode: ReadDispatch) -> Dispatcher {
        Dispatcher {
            mode,
            slow: std::array::from_fn(|_| AtomicU32::new(0)),
            permits: Semaphore::new(POOL_READS),
        }
    }

    /// Whether `op`'s next read should run on the blocking pool.
    pub(crate) fn on_pool(&self, op: Operation) -> bool {
        match self.mode {
            ReadDispatch::Inline => false,
            ReadDispatch::Pool => true,
            ReadDispatch::Adaptive => self
                .slow
                .get(op.slot())
                .is_some_and(|f| f.load(Ordering::Relaxed) >= POOL_FRACTION),
        }
    }

    /// Notes how long one of `op`'s reads took, wherever it ran.
    pub(crate) fn record(&self, op: Operation, took: Duration) {
        let Some(fraction) = self.slow.get(op.slot()) else {
            return;
        };
        let old = fraction.load(Ordering::Relaxed);
        let new = next_fraction(old, took >= SLOW_READ);
        // A lost update between two threads only drops one sample: no read-modify-write.
        if new != old {
            fraction.store(new, Ordering::Relaxed);
        }
    }

    /// A permit to run one read on the pool, waited for without holding a thread. `None` only
    /// if the semaphore were closed, which it never is (the read then runs on the pool anyway).
    pub(crate) async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }
}

/// The moving fraction after one more read (`slow` or not), in 1/65536ths.
fn next_fraction(old: u32, slow: bool) -> u32 {
    let sample = if slow { 65536 } else { 0 };
    // old + (sample - old) / 2^SHIFT, rounded so that a run of fast reads reaches zero.
    if slow {
        old + ((sample - old) >> SHIFT).max(1).min(sample - old)
    } else {
        old - (old >> SHIFT).max(old.min(1))
    }
}

/// Runs `read`, returning its result and how long it took.
pub(crate) fn timed<T>(read: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let out = read();
    (out, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_reads_move_an_operation_to_the_pool_and_fast_reads_bring_it_back() {
        let d = Dispatcher::new(ReadDispatch::Adaptive);
        assert!(!d.on_pool(Operation::GetItem));
        // One slow read among many fast ones (a preempted thread) does not move it.
        d.record(Operation::GetItem, Duration::from_millis(5));
        for _ in 0..50 {
            d.record(Operation::GetItem, Duration::from_micros(5));
        }
        assert!(!d.on_pool(Operation::GetItem));
        // A run of disk reads does, for this operation only.
        for _ in 0..8 {
            d.record(Operation::GetItem, Duration::from_micros(200));
        }
        assert!(d.on_pool(Operation::GetItem));
        assert!(!d.on_pool(Operation::Query));
        // Fast reads bring it back, and the fraction decays to zero.
        for _ in 0..500 {
            d.record(Operation::GetItem, Duration::from_micros(5));
        }
        assert!(!d.on_pool(Operation::GetItem));
        assert_eq!(d.slow[Operation::GetItem.slot()].load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_fraction_stays_within_its_bounds() {
        let mut f = 0;
        for _ in 0..1000 {
            f = next_fraction(f, true);
        }
        assert_eq!(f, 65536);
        for _ in 0..1000 {
            f = next_fraction(f, false);
        }
        assert_eq!(f, 0);
    }

    #[test]
    fn pinned_modes_ignore_the_reads() {
        let inline = Dispatcher::new(ReadDispatch::Inline);
        let pool = Dispatcher::new(ReadDispatch::Pool);
        for _ in 0..100 {
            inline.record(Operation::Query, Duration::from_millis(1));
            pool.record(Operation::Query, Duration::ZERO);
        }
        assert!(!inline.on_pool(Operation::Query));
        assert!(pool.on_pool(Operation::Query));
        assert_eq!("pool".parse(), Ok(ReadDispatch::Pool));
        assert!("sometimes".parse::<ReadDispatch>().is_err());
    }
}
