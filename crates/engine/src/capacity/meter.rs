//! The bill's counters: capacity consumed per table and per index, since the server started
//! and per minute.
//!
//! Counting is always on and costs a few relaxed atomic additions per request. Units are
//! counted in half units (an eventually consistent read of a small item costs 0.5 RCU), so
//! the counters are exact integers. Per-minute figures are kept without a timer: the first
//! request of a new minute takes a snapshot of the running totals, so everything between two
//! snapshots was consumed in the minute of the first (see [`Meter::roll`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// How many minutes of per-minute figures are kept.
pub const MINUTES_KEPT: usize = 60;

/// What a request consumed, by kind, for the bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A read (GetItem, BatchGetItem, Query, Scan).
    Read,
    /// A write (PutItem, UpdateItem, DeleteItem, BatchWriteItem).
    Write,
    /// A read inside TransactGetItems (its units are already doubled).
    TransactionalRead,
    /// A write inside TransactWriteItems (its units are already doubled).
    TransactionalWrite,
}

/// Running totals of one table or index.
#[derive(Debug, Default)]
pub struct Counters {
    read_half_units: AtomicU64,
    write_half_units: AtomicU64,
    transactional_read_half_units: AtomicU64,
    transactional_write_half_units: AtomicU64,
    stream_read_requests: AtomicU64,
    throttled_requests: AtomicU64,
}

/// A snapshot of [`Counters`], in units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Read capacity units, transactional ones included.
    pub read_units: f64,
    /// Write capacity units, transactional ones included.
    pub write_units: f64,
    /// Of `read_units`, those spent in transactions.
    pub transactional_read_units: f64,
    /// Of `write_units`, those spent in transactions.
    pub transactional_write_units: f64,
    /// Stream GetRecords calls (stream read request units).
    pub stream_read_requests: u64,
    /// Requests refused by throttling.
    pub throttled_requests: u64,
}

impl Totals {
    /// Adds everything `other` counted.
    pub fn add(&mut self, other: &Totals) {
        self.read_units += other.read_units;
        self.write_units += other.write_units;
        self.transactional_read_units += other.transactional_read_units;
        self.transactional_write_units += other.transactional_write_units;
        self.stream_read_requests += other.stream_read_requests;
        self.throttled_requests += other.throttled_requests;
    }

    fn minus(&self, earlier: &Totals) -> Totals {
        Totals {
            read_units: self.read_units - earlier.read_units,
            write_units: self.write_units - earlier.write_units,
            transactional_read_units: self.transactional_read_units
                - earlier.transactional_read_units,
            transactional_write_units: self.transactional_write_units
                - earlier.transactional_write_units,
            stream_read_requests: self.stream_read_requests - earlier.stream_read_requests,
            throttled_requests: self.throttled_requests - earlier.throttled_requests,
        }
    }
}

fn half_units(units: f64) -> u64 {
    (units * 2.0).round().max(0.0) as u64
}

impl Counters {
    fn add(&self, usage: Usage, units: f64) {
        let half = half_units(units);
        if half == 0 {
            return;
        }
        let counter = match usage {
            Usage::Read => &self.read_half_units,
            Usage::Write => &self.write_half_units,
            Usage::TransactionalRead => {
                self.read_half_units.fetch_add(half, Ordering::Relaxed);
                &self.transactional_read_half_units
            }
            Usage::TransactionalWrite => {
                self.write_half_units.fetch_add(half, Ordering::Relaxed);
                &self.transactional_write_half_units
            }
        };
        counter.fetch_add(half, Ordering::Relaxed);
    }

    /// The totals now.
    pub fn totals(&self) -> Totals {
        let units = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 2.0;
        Totals {
            read_units: units(&self.read_half_units),
            write_units: units(&self.write_half_units),
            transactional_read_units: units(&self.transactional_read_half_units),
            transactional_write_units: units(&self.transactional_write_half_units),
            stream_read_requests: self.stream_read_requests.load(Ordering::Relaxed),
            throttled_requests: self.throttled_requests.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of a table's and its indexes' totals at the start of a minute.
#[derive(Debug, Clone)]
struct Snapshot {
    minute: u64,
    table: Totals,
    indexes: BTreeMap<String, Totals>,
}

/// One minute's consumption.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Minute {
    /// Start of the minute, seconds since the epoch.
    pub minute: u64,
    /// Units the table and its indexes consumed in it, in all.
    #[serde(flatten)]
    pub totals: Totals,
    /// Of which each index, by name (indexes that consumed nothing are left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indexes: BTreeMap<String, Totals>,
}

/// The counters of one table and its indexes.
#[derive(Debug, Default)]
pub struct Meter {
    /// Units spent on the table itself (local indexes included: they share its throughput).
    pub table: Counters,
    /// Units spent on each global secondary index (and, for reads, each local one).
    indexes: Mutex<BTreeMap<String, std::sync::Arc<Counters>>>,
    /// The minute of the newest snapshot.
    minute: AtomicU64,
    snapshots: Mutex<VecDeque<Snapshot>>,
}

impl Meter {
    /// Counts what a request consumed on the table and its indexes at `now_ms`.
    pub fn record(&self, usage: Usage, consumed: &super::Consumed, now_ms: u64) {
        self.roll(now_ms);
        // Local indexes share the table's throughput: their units are the table's too.
        self.table
            .add(usage, consumed.table + consumed.local.values().sum::<f64>());
        if consumed.local.is_empty() && consumed.global.is_empty() {
            return;
        }
        // One lock for all of the request's indexes.
        let mut indexes = self.indexes.lock();
        for (name, units) in consumed.local.iter().chain(&consumed.global) {
            match indexes.get(name.as_str()) {
                Some(counters) => counters.add(usage, *units),
                None => indexes.entry(name.clone()).or_default().add(usage, *units),
            }
        }
    }

    /// Counts one stream GetRecords call.
    pub fn record_stream_read(&self, now_ms: u64) {
        self.roll(now_ms);
        self.table
            .stream_read_requests
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one throttled request.
    pub fn record_throttled(&self, now_ms: u64) {
        self.roll(now_ms);
        self.table
            .throttled_requests
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The totals of each index that consumed anything.
    pub fn index_totals(&self) -> BTreeMap<String, Totals> {
        self.indexes
            .lock()
            .iter()
            .map(|(name, c)| (name.clone(), c.totals()))
            .collect()
    }

    /// Takes a snapshot when `now_ms` is in a newer minute than the last one: the totals at
    /// that moment are the totals at the end of every minute since, as nothing was counted in
    /// between. One atomic load on the hot path.
    pub fn roll(&self, now_ms: u64) {
        let minute = now_ms / 60_000;
        if self.minute.load(Ordering::Relaxed) >= minute {
            return;
        }
        let mut snapshots = self.snapshots.lock();
        if self.minute.load(Ordering::Relaxed) >= minute {
            return;
        }
        snapshots.push_back(Snapshot {
            minute,
            table: self.table.totals(),
            indexes: self.index_totals(),
        });
        while snapshots.len() > MINUTES_KEPT + 1 {
            snapshots.pop_front();
        }
        self.minute.store(minute, Ordering::Relaxed);
    }

    /// Consumption per minute, oldest first, up to and including the current minute at
    /// `now_ms`; minutes without any request are left out.
    pub fn minutes(&self, now_ms: u64) -> Vec<Minute> {
        self.roll(now_ms);
        let snapshots = self.snapshots.lock();
        let current = Snapshot {
            minute: u64::MAX,
            table: self.table.totals(),
            indexes: self.index_totals(),
        };
        snapshots
            .iter()
            .zip(snapshots.iter().skip(1).chain(std::iter::once(&current)))
            .filter_map(|(start, end)| {
                let totals = end.table.minus(&start.table);
                let indexes: BTreeMap<String, Totals> = end
                    .indexes
                    .iter()
                    .map(|(name, t)| {
                        let before = start.indexes.get(name).copied().unwrap_or_default();
                        (name.clone(), t.minus(&before))
                    })
                    .filter(|(_, t)| *t != Totals::default())
                    .collect();
                (totals != Totals::default() || !indexes.is_empty()).then(|| Minute {
                    minute: start.minute * 60,
                    totals,
                    indexes,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::Consumed;

    #[test]
    fn minutes_split_consumption_at_the_first_request_of_each_minute() {
        let m = Meter::default();
        m.record(Usage::Write, &Consumed::table(1.0), 60_000);
        m.record(Usage::Read, &Consumed::table(0.5), 61_000);
        m.record(Usage::TransactionalWrite, &Consumed::table(4.0), 185_000);
        let minutes = m.minutes(186_000);
        assert_eq!(minutes.len(), 2);
        assert_eq!(minutes[0].minute, 60);
        assert_eq!(minutes[0].totals.write_units, 1.0);
        assert_eq!(minutes[0].totals.read_units, 0.5);
        assert_eq!(minutes[1].minute, 180);
        assert_eq!(minutes[1].totals.write_units, 4.0);
        assert_eq!(minutes[1].totals.transactional_write_units, 4.0);
        assert_eq!(m.table.totals().write_units, 5.0);
    }
}
