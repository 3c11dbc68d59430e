//! What a store reports about itself for `GET /metrics`, the latency histogram every layer
//! uses for it, and the per-thread sharding that keeps both off each other's cache lines.
//!
//! [`LatencyHistogram`] is a fixed set of atomic bucket counters: recording is a bucket search
//! over a few bounds and two relaxed atomic additions, with no lock, so it can sit on a hot
//! path (every request, every group-commit sync). Readers take a [`HistogramSnapshot`] whose
//! buckets are cumulative, as Prometheus' exposition format wants them.
//!
//! [`Sharded`] keeps one copy of a set of counters per shard, each on cache lines of its own,
//! and a thread always counts in the same shard: two cores counting requests of one table add
//! to different cache lines instead of passing one line back and forth on every request. A
//! reading sums the shards (a scrape is rare; a request is not).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Upper bounds of the histogram buckets, in microseconds: 100 µs to 10 s, roughly 1-2.5-5
/// per decade. Above the last bound a sample counts only in the `+Inf` bucket.
pub const LATENCY_BOUNDS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// How many shards every [`Sharded`] value has: four per core the process may run on, as a
/// power of two, at most 64. Threads take shard numbers in turn, so the few threads that do
/// the counting (one async worker per core, a commit thread) land on different shards; more
/// shards than cores leaves room for the others without costing much memory.
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores * 4).next_power_of_two().min(64)
    })
}

/// The calling thread's shard number (below [`shard_count`]), given out in turn to threads
/// on their first count and kept for the thread's life.
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    SHARD.with(|shard| {
        let mut n = shard.get();
        if n == usize::MAX {
            n = NEXT.fetch_add(1, Ordering::Relaxed);
            shard.set(n);
        }
        n & (shard_count() - 1)
    })
}

/// One shard's copy, alone on its cache lines (128 bytes: the line pair some CPUs fetch
/// together), so no other shard's counting invalidates it.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// A value (a set of atomic counters) kept once per shard; each thread works on its own
/// shard's copy ([`Sharded::local`]) and readers combine every copy ([`Sharded::shards`]).
///
/// Counters that several threads touch on every request belong here: a relaxed atomic
/// addition on a cache line that only one core writes costs a few cycles; on a line two cores
/// write in turn it costs a transfer between the cores each time.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use binderdb_storage::metrics::Sharded;
///
/// let hits: Sharded<AtomicU64> = Sharded::default();
/// hits.local().fetch_add(1, Ordering::Relaxed);
/// let total: u64 = hits.shards().map(|h| h.load(Ordering::Relaxed)).sum();
/// assert_eq!(total, 1);
/// ```
#[derive(Debug)]
pub struct Sharded<T> {
    shards: Box<[Padded<T>]>,
}

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Sharded::from_fn(T::default)
    }
}

impl<T> Sharded<T> {
    /// A value whose shards are made by `shard`, one call per shard.
    pub fn from_fn(mut shard: impl FnMut() -> T) -> Self {
        Sharded {
            shards: (0..shard_count()).map(|_| Padded(shard())).collect(),
        }
    }

    /// The calling thread's copy.
    pub fn local(&self) -> &T {
        // Every `Sharded` has `shard_count()` shards, a power of two that `thread_shard`
        // masks to, so the index is always in range; `min` only spares a panic path.
        &self.shards[thread_shard().min(self.shards.len() - 1)].0
    }

    /// Every shard's copy, for a reading.
    pub fn shards(&self) -> impl Iterator<Item = &T> {
        self.shards.iter().map(|s| &s.0)
    }
}

/// One shard of a latency histogram: samples per bucket of [`LATENCY_BOUNDS_MICROS`] (not
/// cumulative; the last one is `+Inf`) and their sum. Embedded in a caller's own sharded
/// counters (a table operation's); [`LatencyHistogram`] is the stand-alone sharded form.
#[derive(Debug, Default)]
pub struct LatencyBuckets {
    buckets: [AtomicU64; LATENCY_BOUNDS_MICROS.len() + 1],
    /// Sum of every sample, microseconds.
    sum_micros: AtomicU64,
}

impl LatencyBuckets {
    /// Counts one sample.
    pub fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(LATENCY_BOUNDS_MICROS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Adds this shard's counts into `into` (whose buckets are cumulative).
    pub fn add_to(&self, into: &mut HistogramSnapshot) {
        if into.cumulative.len() < self.buckets.len() {
            into.cumulative.resize(self.buckets.len(), 0);
        }
        let mut running = 0;
        for (bucket, total) in self.buckets.iter().zip(&mut into.cumulative) {
            running += bucket.load(Ordering::Relaxed);
            *total += running;
        }
        into.sum_micros += self.sum_micros.load(Ordering::Relaxed);
    }
}

/// A latency histogram with the buckets of [`LATENCY_BOUNDS_MICROS`] (and `+Inf`), sharded by
/// thread.
#[derive(Debug, Default)]
pub struct LatencyHistogram(Sharded<LatencyBuckets>);

impl LatencyHistogram {
    /// Counts one sample.
    pub fn record(&self, elapsed: Duration) {
        self.0.local().record(elapsed);
    }

    /// The counts now. Samples recorded meanwhile may be in the buckets and not yet in the sum
    /// (or the reverse): a scrape is not a transaction, as with any Prometheus client.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut snapshot = HistogramSnapshot::default();
        for shard in self.0.shards() {
            shard.add_to(&mut snapshot);
        }
        snapshot
    }
}

/// A reading of a [`LatencyHistogram`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Samples at or below each bound of [`LATENCY_BOUNDS_MICROS`], then all of them (`+Inf`).
    pub cumulative: Vec<u64>,
    /// Sum of the samples, microseconds.
    pub sum_micros: u64,
}

impl HistogramSnapshot {
    /// How many samples in all.
    pub fn count(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }
}

/// What a store reports about itself; `None` where the engine has no such thing (the in-memory
/// engine has none of them).
#[derive(Debug, Clone, Default)]
pub struct StoreMetrics {
    /// How long each group-commit sync (the `fdatasync` every acknowledged write waits for)
    /// took.
    pub sync_latency: Option<HistogramSnapshot>,
    /// Bytes the store's files take on disk (data files and journals).
    pub disk_bytes: Option<u64>,
    /// Bytes of data in memory not yet flushed to a file (write buffers / memtables).
    pub write_buffer_bytes: Option<u64>,
    /// Journal files kept for recovery.
    pub journal_files: Option<u64>,
    /// Memtable flushes queued and not finished.
    pub pending_flushes: Option<u64>,
    /// Compactions running now.
    pub active_compactions: Option<u64>,
    /// Compactions finished since the store was opened.
    pub compactions_completed: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_the_first_bucket_whose_bound_holds_them() {
        let h = LatencyHistogram::default();
        h.record(Duration::from_micros(100));
        h.record(Duration::from_micros(101));
        h.record(Duration::from_millis(3));
        h.record(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.cumulative[0], 1);
        assert_eq!(s.cumulative[1], 2);
        assert_eq!(s.cumulative[4], 2);
        assert_eq!(s.cumulative[5], 3);
        assert_eq!(s.cumulative[LATENCY_BOUNDS_MICROS.len() - 1], 3);
        assert_eq!(s.count(), 4);
        assert_eq!(s.sum_micros, 100 + 101 + 3_000 + 60_000_000);
    }

    #[test]
    fn samples_of_many_threads_add_up_exactly() {
        let h = LatencyHistogram::default();
        let threads = shard_count() * 2 + 1;
        std::thread::scope(|scope| {
            for t in 0..threads {
                let h = &h;
                scope.spawn(move || {
                    for _ in 0..1_000 {
                        h.record(Duration::from_micros(t as u64 * 100));
                    }
                });
            }
        });
        let s = h.snapshot();
        assert_eq!(s.count(), threads as u64 * 1_000);
        assert_eq!(s.cumulative[0], 2_000, "0 µs and 100 µs samples");
        let sum: u64 = (0..threads as u64).map(|t| t * 100 * 1_000).sum();
        assert_eq!(s.sum_micros, sum);
    }

    #[test]
    fn an_empty_histogram_reads_zero_in_every_bucket() {
        let s = LatencyHistogram::default().snapshot();
        assert_eq!(s.cumulative, vec![0; LATENCY_BOUNDS_MICROS.len() + 1]);
        assert_eq!(s.sum_micros, 0);
    }
}
