//! Request metrics of each table, for `GET /metrics` (CloudWatch's DynamoDB metrics).
//!
//! Every table's [`TableMetrics`] lives in its capacity state (beside its bill counters,
//! reached through the table the request already looked up), so counting takes no lock and no
//! extra lookup: relaxed atomic additions on the table's own counters, sharded by thread
//! ([`Sharded`]) so that cores serving requests of one table never write the same cache line.
//! A reading sums the shards. The engine counts what
//! only it sees (TTL deletes, transaction conflicts per item, throttle events per table and
//! index); the server counts per request what it sees at the end (latency of successful
//! requests, throttled requests, system errors, conditional check failures, returned items),
//! on the table a request touched first, which the engine notes in the request's
//! [`TouchedTable`].
//!
//! Operations are told apart by a slot number the server gives them (below
//! [`OPERATION_SLOTS`]); each slot's counters are allocated on the first request of that
//! operation on that table.
//!
//! Running index backfills report how far they got ([`BackfillProgress`]): DescribeTable has no
//! progress figure (DynamoDB shows only `Backfilling: true`), so the console reads it here.
//!
//! Must not depend on: HTTP (the server names the operations and renders the text format).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use binderdb_storage::metrics::{LatencyBuckets, Sharded};
use binderdb_storage::{HistogramSnapshot, TableId};
use parking_lot::Mutex;

use crate::capacity::bill::TableCapacity;
use crate::index::{BuildState, IndexKind};
use crate::Database;

/// How many operations the per-table metrics tell apart.
pub const OPERATION_SLOTS: usize = 64;

/// The counters of one operation on one table (one copy per shard).
#[derive(Debug, Default)]
pub struct OperationMetrics(Sharded<OperationCounters>);

/// One shard of an operation's counters.
#[derive(Debug, Default)]
struct OperationCounters {
    /// Latency of successful requests (CloudWatch's SuccessfulRequestLatency).
    latency: LatencyBuckets,
    /// Requests refused whole by throttling (ThrottledRequests).
    throttled: AtomicU64,
    /// Requests answered with HTTP 5xx (SystemErrors).
    system_errors: AtomicU64,
    /// Items returned by Query, Scan and ExecuteStatement (ReturnedItemCount).
    returned_items: AtomicU64,
}

impl OperationMetrics {
    /// Counts one successful request that took `elapsed`.
    pub fn record_success(&self, elapsed: Duration) {
        self.0.local().latency.record(elapsed);
    }

    /// Counts one request refused whole by throttling.
    pub fn count_throttled(&self) {
        self.0.local().throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request answered with HTTP 5xx.
    pub fn count_system_error(&self) {
        self.0.local().system_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` items returned.
    pub fn count_returned_items(&self, n: u64) {
        self.0
            .local()
            .returned_items
            .fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> OperationSnapshot {
        let mut sum = OperationSnapshot::default();
        for shard in self.0.shards() {
            shard.latency.add_to(&mut sum.latency);
            sum.throttled += shard.throttled.load(Ordering::Relaxed);
            sum.system_errors += shard.system_errors.load(Ordering::Relaxed);
            sum.returned_items += shard.returned_items.load(Ordering::Relaxed);
        }
        sum
    }
}

/// The request metrics of one table.
#[derive(Debug)]
pub struct TableMetrics {
    /// The table's name (for the slow-request log; a table's name never changes).
    table_name: String,
    operations: [OnceLock<Box<OperationMetrics>>; OPERATION_SLOTS],
    /// The table-wide counters, one copy per shard.
    counters: Sharded<TableCounters>,
    /// The same for each global secondary index that refused one: (reads, writes). Touched only
    /// when a request is throttled.
    index_throttle_events: Mutex<BTreeMap<String, (u64, u64)>>,
}

/// One shard of a table's table-wide counters.
#[derive(Debug, Default)]
struct TableCounters {
    /// Writes refused by their condition (ConditionalCheckFailedRequests).
    conditional_check_failed: AtomicU64,
    /// Item-level requests refused because a transaction held the item (TransactionConflict).
    transaction_conflicts: AtomicU64,
    /// Items the TTL sweeper deleted (TimeToLiveDeletedItemCount).
    ttl_deleted: AtomicU64,
    /// Read and write requests (or batch items) the table's own limits refused.
    read_throttle_events: AtomicU64,
    write_throttle_events: AtomicU64,
}

impl TableMetrics {
    /// No counts yet, for table `table_name`.
    pub(crate) fn new(table_name: &str) -> Self {
        TableMetrics {
            table_name: table_name.to_owned(),
            operations: std::array::from_fn(|_| OnceLock::new()),
            counters: Sharded::default(),
            index_throttle_events: Mutex::default(),
        }
    }
}

impl TableMetrics {
    /// The counters of operation `slot` (a slot past [`OPERATION_SLOTS`] shares the last one).
    pub fn operation(&self, slot: usize) -> &OperationMetrics {
        self.operations[slot.min(OPERATION_SLOTS - 1)].get_or_init(Box::default)
    }

    /// Counts one write refused because its condition was false.
    pub fn count_conditional_check_failed(&self) {
        let c = self.counters.local();
        c.conditional_check_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one item-level request refused because a transaction held the item.
    pub(crate) fn count_transaction_conflict(&self) {
        let c = self.counters.local();
        c.transaction_conflicts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` items the TTL sweeper deleted.
    pub(crate) fn count_ttl_deleted(&self, n: u64) {
        self.counters
            .local()
            .ttl_deleted
            .fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one throttle event on the table (`index: None`) or one of its global indexes.
    pub(crate) fn throttle_event(&self, index: Option<&str>, write: bool) {
        match index {
            None if write => {
                let c = self.counters.local();
                c.write_throttle_events.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                let c = self.counters.local();
                c.read_throttle_events.fetch_add(1, Ordering::Relaxed);
            }
            Some(name) => {
                let mut indexes = self.index_throttle_events.lock();
                let counts = indexes.entry(name.to_owned()).or_default();
                if write {
                    counts.1 += 1;
                } else {
                    counts.0 += 1;
                }
            }
        }
    }

    fn snapshot(&self) -> TableMetricsSnapshot {
        let mut snapshot = TableMetricsSnapshot {
            operations: self
                .operations
                .iter()
                .enumerate()
                .filter_map(|(slot, m)| Some((slot, m.get()?.snapshot())))
                .collect(),
            index_throttle_events: self.index_throttle_events.lock().clone(),
            ..TableMetricsSnapshot::default()
        };
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        for c in self.counters.shards() {
            snapshot.conditional_check_failed += load(&c.conditional_check_failed);
            snapshot.transaction_conflicts += load(&c.transaction_conflicts);
            snapshot.ttl_deleted += load(&c.ttl_deleted);
            snapshot.read_throttle_events += load(&c.read_throttle_events);
            snapshot.write_throttle_events += load(&c.write_throttle_events);
        }
        snapshot
    }
}

/// A reading of one operation's counters on one table.
#[derive(Debug, Clone, Default)]
pub struct OperationSnapshot {
    pub latency: HistogramSnapshot,
    pub throttled: u64,
    pub system_errors: u64,
    pub returned_items: u64,
}

/// A reading of one table's request metrics.
#[derive(Debug, Clone, Default)]
pub struct TableMetricsSnapshot {
    /// By operation slot, for the operations the table has seen.
    pub operations: Vec<(usize, OperationSnapshot)>,
    pub conditional_check_failed: u64,
    pub transaction_conflicts: u64,
    pub ttl_deleted: u64,
    pub read_throttle_events: u64,
    pub write_throttle_events: u64,
    /// By global index name: (read, write) throttle events.
    pub index_throttle_events: BTreeMap<String, (u64, u64)>,
}

/// One table's line of the metrics: who it is and its counters.
#[derive(Debug, Clone)]
pub struct TableMetricsLine {
    pub region: String,
    pub table_name: String,
    /// The table's global secondary indexes (deleted ones' lines keep their last set).
    pub global_indexes: Vec<String>,
    pub metrics: TableMetricsSnapshot,
}

/// The table a request touched first (set by the engine when it looks the table up), so the
/// server can count the request on that table without looking it up again.
#[derive(Debug, Clone, Default)]
pub struct TouchedTable(OnceLock<Arc<Pinned>>);

impl TouchedTable {
    /// Notes `capacity`'s table, unless a table was noted before.
    pub(crate) fn note(&self, capacity: &TableCapacity) {
        self.0
            .get_or_init(|| Arc::clone(capacity.metric_handles.0.local()));
    }

    /// The metrics of the table touched, if one was.
    pub fn metrics(&self) -> Option<&TableMetrics> {
        self.0.get().map(|handle| &*handle.0)
    }

    /// The name of the table touched, if one was.
    pub fn table_name(&self) -> Option<&str> {
        self.0.get().map(|handle| handle.0.table_name.as_str())
    }
}

/// Handles on one table's metrics, one per shard, for requests to hold while they run.
///
/// Every request holds its table's metrics from the engine's lookup to the server's count.
/// Were they all clones of one `Arc`, every request would add to and subtract from one shared
/// reference count, a cache line both cores write in turn. Each shard has its own handle
/// instead, with its own count on its own cache lines ([`Pinned`]), and a thread clones its
/// shard's handle.
#[derive(Debug)]
pub(crate) struct MetricsHandles(Sharded<Arc<Pinned>>);

/// One shard's handle on a table's metrics, aligned so that the reference count of the `Arc`
/// around it has its cache lines to itself.
#[derive(Debug)]
#[repr(align(128))]
struct Pinned(Arc<TableMetrics>);

impl MetricsHandles {
    pub(crate) fn new(metrics: &Arc<TableMetrics>) -> Self {
        MetricsHandles(Sharded::from_fn(|| Arc::new(Pinned(Arc::clone(metrics)))))
    }
}

impl Database {
    /// The request metrics of every table the server has served (deleted ones included, so
    /// counters never go back), in order of first use.
    pub fn request_metrics(&self) -> Vec<TableMetricsLine> {
        self.refresh_capacity();
        self.capacity
            .all()
            .iter()
            .map(|capacity| {
                let d = capacity.descriptor();
                TableMetricsLine {
                    region: d.region.clone(),
                    table_name: d.name.clone(),
                    global_indexes: d
                        .indexes
                        .iter()
                        .filter(|i| i.kind == IndexKind::Global)
                        .map(|i| i.name.clone())
                        .collect(),
                    metrics: capacity.metrics.snapshot(),
                }
            })
            .collect()
    }

    /// What the store reports about itself (sync latency, disk bytes, compactions).
    pub fn store_metrics(&self) -> binderdb_storage::StoreMetrics {
        self.store.metrics()
    }

    /// How far each online index backfill has got, for the indexes in `Backfilling` state now
    /// (none once an index is ACTIVE).
    pub fn index_backfills(&self) -> Vec<BackfillLine> {
        let mut lines = Vec::new();
        for table in self.catalog.all() {
            let d = table.descriptor();
            let backfilling = d
                .indexes
                .iter()
                .filter(|i| i.kind == IndexKind::Global && i.state == BuildState::Backfilling);
            for index in backfilling {
                lines.push(BackfillLine {
                    region: d.region.clone(),
                    table_name: d.name.clone(),
                    index_name: index.name.clone(),
                    items_read: self.backfills.read(index.id),
                    table_items: crate::catalog::table_stats(self.store.as_ref(), &d)
                        .map_or(0, |(items, _)| u64::try_from(items).unwrap_or(0)),
                });
            }
        }
        lines
    }
}

/// How far one index backfill has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillLine {
    pub region: String,
    pub table_name: String,
    pub index_name: String,
    /// Table items the backfill has read and indexed so far (after a restart, those before its
    /// saved position are estimated from the position's place in the table's hash order).
    pub items_read: u64,
    /// The table's items now (its ItemCount, read in O(1)): what the backfill reads in all,
    /// give or take the writes made meanwhile.
    pub table_items: u64,
}

/// The items read so far by each running index backfill, by index id. A backfill's worker adds
/// to its counter after each committed chunk; the counter goes when the worker ends.
#[derive(Debug, Default)]
pub(crate) struct BackfillProgress(Mutex<BTreeMap<TableId, Arc<AtomicU64>>>);

impl BackfillProgress {
    /// The counter of `index`'s backfill, new (0) unless a worker of it already has one.
    pub(crate) fn start(&self, index: TableId) -> Arc<AtomicU64> {
        Arc::clone(self.0.lock().entry(index).or_default())
    }

    /// Forgets `index`'s counter (its worker ended).
    pub(crate) fn finish(&self, index: TableId) {
        self.0.lock().remove(&index);
    }

    /// Items `index`'s backfill has read (0 before its worker starts).
    fn read(&self, index: TableId) -> u64 {
        self.0
            .lock()
            .get(&index)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}
