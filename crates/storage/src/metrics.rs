//! What a store reports about itself for `GET /metrics`, and the latency histogram every layer
//! uses for it.
//!
//! [`LatencyHistogram`] is a fixed set of atomic bucket counters: recording is a bucket search
//! over a few bounds and two relaxed atomic additions, with no lock, so it can sit on a hot
//! path (every request, every group-commit sync). Readers take a [`HistogramSnapshot`] whose
//! buckets are cumulative, as Prometheus' exposition format wants them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the histogram buckets, in microseconds: 100 µs to 10 s, roughly 1-2.5-5
/// per decade. Above the last bound a sample counts only in the `+Inf` bucket.
pub const LATENCY_BOUNDS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// A latency histogram with the buckets of [`LATENCY_BOUNDS_MICROS`] (and `+Inf`).
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Samples per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; LATENCY_BOUNDS_MICROS.len() + 1],
    /// Sum of every sample, microseconds.
    sum_micros: AtomicU64,
}

impl LatencyHistogram {
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

    /// The counts now. Samples recorded meanwhile may be in the buckets and not yet in the sum
    /// (or the reverse): a scrape is not a transaction, as with any Prometheus client.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = Vec::with_capacity(self.buckets.len());
        let mut running = 0;
        for bucket in &self.buckets {
            running += bucket.load(Ordering::Relaxed);
            cumulative.push(running);
        }
        HistogramSnapshot {
            cumulative,
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
        }
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
}
