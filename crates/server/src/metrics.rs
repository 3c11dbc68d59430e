//! Request metrics, `GET /metrics` in Prometheus' text format, and `GET /health`.
//!
//! Metric names and labels are CloudWatch's for DynamoDB where CloudWatch has the metric
//! (labels are its dimensions: `TableName`, `GlobalSecondaryIndexName`, `Operation`, plus
//! `Region`), binderdb's own (`binderdb_...`, Prometheus' `process_...`) otherwise:
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `ConsumedReadCapacityUnits`, `ConsumedWriteCapacityUnits` | Region, TableName, [GlobalSecondaryIndexName] | units consumed (from the bill) |
//! | `SuccessfulRequestLatency` (histogram, ms) | Region, TableName, Operation | server time of successful requests |
//! | `ThrottledRequests` | Region, TableName, Operation | requests refused whole by throttling (a batch only when every item was) |
//! | `SystemErrors` | Region, [TableName], Operation | requests answered with HTTP 5xx |
//! | `ReturnedItemCount` | Region, TableName, Operation | items returned by Query, Scan, ExecuteStatement |
//! | `ReadThrottleEvents`, `WriteThrottleEvents` | Region, TableName, [GlobalSecondaryIndexName] | requests and batch items refused by the table's or index's limits |
//! | `ConditionalCheckFailedRequests` | Region, TableName | writes refused by their condition |
//! | `TransactionConflict` | Region, TableName | item-level requests refused because a transaction held the item |
//! | `TimeToLiveDeletedItemCount` | Region, TableName | items deleted by the TTL sweeper |
//! | `UserErrors` | | HTTP 400 answers to API calls, except throttling and failed conditions (as CloudWatch) |
//! | `binderdb_index_backfill_items`, `binderdb_index_backfill_table_items` (gauges) | Region, TableName, GlobalSecondaryIndexName | items an online backfill has read so far, and the table's items, while the index is `Backfilling` |
//!
//! Counting happens at the end of each API call ([`Observer::record`]) on the counters of the
//! table the engine noted in the request's context (`binderdb_engine::metrics`): relaxed
//! atomic additions on the calling thread's shard of the counters, no lock, no lookup, no
//! cache line shared between cores. A request that touched no table (a validation error,
//! a missing table) counts only in `UserErrors` / `SystemErrors`. Tables that were deleted
//! keep their series (counters never go back); series of a deleted and a recreated table of
//! the same name, or of tables of the same name in several accounts, are added together.
//!
//! `--no-metrics` turns the per-request counting off (the bill's counters stay: they are the
//! bill).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use binderdb_engine::capacity::bill::BillReport;
use binderdb_engine::metrics::{BackfillLine, OperationSnapshot, TouchedTable};
use binderdb_engine::Database;
use binderdb_storage::metrics::{Sharded, LATENCY_BOUNDS_MICROS};
use binderdb_storage::HistogramSnapshot;
use hyper::StatusCode;

use crate::error::ApiError;
use crate::operation::Operation;

/// How an API call ended, as the metrics tell outcomes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    /// ProvisionedThroughputExceeded, Throttling or RequestLimitExceeded.
    Throttled,
    /// ConditionalCheckFailedException.
    ConditionFailed,
    /// Any other HTTP 4xx.
    UserError,
    /// HTTP 5xx.
    SystemError,
}

impl Outcome {
    /// The outcome of an API call that failed with `e`.
    pub(crate) fn of(e: &ApiError) -> Outcome {
        if e.status.is_server_error() {
            return Outcome::SystemError;
        }
        let code = e.error_type.rsplit('#').next().unwrap_or_default();
        match code {
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded" => Outcome::Throttled,
            "ConditionalCheckFailedException" => Outcome::ConditionFailed,
            _ => Outcome::UserError,
        }
    }
}

/// The server's own request counters and observability settings.
#[derive(Debug)]
pub struct Observer {
    /// Whether API calls are counted (`--no-metrics` turns it off).
    pub(crate) enabled: bool,
    /// Requests slower than this are logged (`--slow-request-ms`).
    pub(crate) slow_request: Option<Duration>,
    started: Instant,
    started_unix: f64,
    /// Sharded by thread: a client's stream of bad requests is counted on every core.
    user_errors: Sharded<AtomicU64>,
    /// System errors of requests that touched no table, by operation slot (the last slot:
    /// no operation).
    system_errors: [AtomicU64; Operation::ALL.len() + 1],
}

impl Observer {
    /// An observer counting (or not) every API call, logging those slower than `slow_request`.
    pub fn new(enabled: bool, slow_request: Option<Duration>) -> Observer {
        Observer {
            enabled,
            slow_request,
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            user_errors: Sharded::default(),
            system_errors: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Counts one API call of `operation` (`None`: unknown) that touched `touched` and ended
    /// with `outcome` after `elapsed`.
    pub(crate) fn record(
        &self,
        operation: Option<Operation>,
        touched: &TouchedTable,
        outcome: Outcome,
        elapsed: Duration,
    ) {
        let table = touched.metrics();
        let op = operation.zip(table).map(|(op, t)| t.operation(op.slot()));
        match outcome {
            Outcome::Success => {
                if let Some(op) = op {
                    op.record_success(elapsed);
                }
            }
            Outcome::Throttled => match op {
                Some(op) => op.count_throttled(),
                // An injected throttling error on a request that touched no table: a user
                // error as far as the metrics can tell.
                None => self.count_user_error(),
            },
            Outcome::ConditionFailed => match table {
                Some(t) => t.count_conditional_check_failed(),
                None => self.count_user_error(),
            },
            Outcome::UserError => self.count_user_error(),
            Outcome::SystemError => match op {
                Some(op) => op.count_system_error(),
                None => {
                    let slot = operation.map_or(Operation::ALL.len(), Operation::slot);
                    self.system_errors[slot].fetch_add(1, Ordering::Relaxed);
                }
            },
        }
    }

    fn count_user_error(&self) {
        self.user_errors.local().fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for Observer {
    fn default() -> Self {
        Observer::new(true, None)
    }
}

/// A label value escaped for the text format (backslash, double quote, newline).
fn escape(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(
        value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n"),
    )
}

/// Labels `{Region="...",TableName="..."...}` from (name, value) pairs.
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"{}\"", escape(value));
    }
    out.push('}');
    out
}

/// One metric family: its header, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{name}{labels} {value}");
    }
}

/// Adds `b` into `a`, bucket by bucket.
fn merge(a: &mut HistogramSnapshot, b: &HistogramSnapshot) {
    if a.cumulative.len() < b.cumulative.len() {
        a.cumulative.resize(b.cumulative.len(), 0);
    }
    for (x, y) in a.cumulative.iter_mut().zip(&b.cumulative) {
        *x += y;
    }
    a.sum_micros += b.sum_micros;
}

/// Writes a histogram's samples, with bounds and sum in `unit_per_micro` units (0.001 for
/// milliseconds, 0.000001 for seconds).
fn histogram(
    family: &mut Family<'_>,
    name: &str,
    pairs: &[(&str, &str)],
    h: &HistogramSnapshot,
    unit_per_micro: f64,
) {
    let bucket = format!("{name}_bucket");
    for (i, count) in h.cumulative.iter().enumerate() {
        let le = match LATENCY_BOUNDS_MICROS.get(i) {
            Some(&bound) => format!("{}", bound as f64 * unit_per_micro),
            None => "+Inf".to_owned(),
        };
        let mut with_le = pairs.to_vec();
        with_le.push(("le", &le));
        family.sample(&bucket, &labels(&with_le), count);
    }
    family.sample(
        &format!("{name}_sum"),
        &labels(pairs),
        h.sum_micros as f64 * unit_per_micro,
    );
    family.sample(&format!("{name}_count"), &labels(pairs), h.count());
}

/// A (region, table, index or operation) key of a series.
type SeriesKey = (String, String, Option<String>);

/// The whole `/metrics` text: the bill's counters, the request metrics, the process's and the
/// store's figures.
pub(crate) fn render(db: &Database, observer: &Observer, bill: &BillReport) -> String {
    let mut out = String::new();
    bill_metrics(&mut out, bill);
    request_metrics(&mut out, db, observer);
    backfill_metrics(&mut out, db);
    process_metrics(&mut out, observer);
    storage_metrics(&mut out, db);
    out
}

/// A metric of the bill: its name, its help text, and its value on one line of the bill.
type BillMetric = (
    &'static str,
    &'static str,
    fn(&binderdb_engine::capacity::bill::TableBill) -> f64,
);

/// The bill's counters, per table and global index.
fn bill_metrics(out: &mut String, bill: &BillReport) {
    let metrics: [BillMetric; 6] = [
        (
            "ConsumedReadCapacityUnits",
            "Read capacity units consumed (transactional ones included).",
            |l| l.totals.read_units,
        ),
        (
            "ConsumedWriteCapacityUnits",
            "Write capacity units consumed (transactional ones included).",
            |l| l.totals.write_units,
        ),
        (
            "binderdb_transactional_read_units_total",
            "Read capacity units consumed in transactions.",
            |l| l.totals.transactional_read_units,
        ),
        (
            "binderdb_transactional_write_units_total",
            "Write capacity units consumed in transactions.",
            |l| l.totals.transactional_write_units,
        ),
        (
            "binderdb_stream_read_requests_total",
            "Stream GetRecords calls.",
            |l| l.totals.stream_read_requests as f64,
        ),
        (
            "binderdb_estimated_cost_dollars",
            "What the traffic so far would cost on DynamoDB, US dollars.",
            |l| l.cost,
        ),
    ];
    for (name, help, value) in metrics {
        let kind = if name.ends_with("_dollars") {
            "gauge"
        } else {
            "counter"
        };
        let mut series: BTreeMap<SeriesKey, f64> = BTreeMap::new();
        for line in &bill.tables {
            let key = (
                line.region.clone(),
                line.table_name.clone(),
                line.index_name.clone(),
            );
            *series.entry(key).or_default() += value(line);
        }
        let mut family = Family::new(out, name, kind, help);
        for ((region, table, index), v) in &series {
            let mut pairs = vec![("Region", region.as_str()), ("TableName", table.as_str())];
            if let Some(index) = index {
                pairs.push(("GlobalSecondaryIndexName", index));
            }
            family.sample(name, &labels(&pairs), v);
        }
    }
}

/// A per-operation counter: its name, its help text, and its value.
type OperationMetric = (&'static str, &'static str, fn(&OperationSnapshot) -> u64);

/// The request metrics of every table, and the server's own.
fn request_metrics(out: &mut String, db: &Database, observer: &Observer) {
    // (region, table, operation) → the operation's counters, added over same-named tables.
    let mut operations: BTreeMap<SeriesKey, OperationSnapshot> = BTreeMap::new();
    // (region, table) → table counters; (region, table, index) → throttle events.
    let mut tables: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    let mut index_events: BTreeMap<SeriesKey, (u64, u64)> = BTreeMap::new();
    for line in db.request_metrics() {
        let m = &line.metrics;
        for (slot, op) in &m.operations {
            let Some(operation) = Operation::ALL.get(*slot) else {
                continue;
            };
            let key = (
                line.region.clone(),
                line.table_name.clone(),
                Some(operation.name().to_owned()),
            );
            let sum = operations.entry(key).or_default();
            merge(&mut sum.latency, &op.latency);
            sum.throttled += op.throttled;
            sum.system_errors += op.system_errors;
            sum.returned_items += op.returned_items;
        }
        let t = tables
            .entry((line.region.clone(), line.table_name.clone()))
            .or_default();
        for (i, v) in [
            m.conditional_check_failed,
            m.transaction_conflicts,
            m.ttl_deleted,
            m.read_throttle_events,
            m.write_throttle_events,
        ]
        .into_iter()
        .enumerate()
        {
            t[i] += v;
        }
        for (index, (reads, writes)) in &m.index_throttle_events {
            let e = index_events
                .entry((
                    line.region.clone(),
                    line.table_name.clone(),
                    Some(index.clone()),
                ))
                .or_default();
            e.0 += reads;
            e.1 += writes;
        }
    }
    let op_pairs = |(region, table, op): &SeriesKey| -> Vec<(&'static str, String)> {
        vec![
            ("Region", region.clone()),
            ("TableName", table.clone()),
            ("Operation", op.clone().unwrap_or_default()),
        ]
    };
    {
        let mut family = Family::new(
            out,
            "SuccessfulRequestLatency",
            "histogram",
            "Server-side latency of successful requests, milliseconds.",
        );
        for (key, op) in &operations {
            if op.latency.count() == 0 {
                continue;
            }
            let owned = op_pairs(key);
            let pairs: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
            histogram(
                &mut family,
                "SuccessfulRequestLatency",
                &pairs,
                &op.latency,
                0.001,
            );
        }
    }
    let per_operation: [OperationMetric; 3] = [
        (
            "ThrottledRequests",
            "Requests refused whole by throttling (a batch only when all its items were).",
            |op| op.throttled,
        ),
        (
            "ReturnedItemCount",
            "Items returned by Query, Scan and ExecuteStatement.",
            |op| op.returned_items,
        ),
        (
            "SystemErrors",
            "Requests answered with an HTTP 5xx status.",
            |op| op.system_errors,
        ),
    ];
    for (name, help, value) in per_operation {
        let mut family = Family::new(out, name, "counter", help);
        for (key, op) in &operations {
            if value(op) == 0 {
                continue;
            }
            let owned = op_pairs(key);
            let pairs: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
            family.sample(name, &labels(&pairs), value(op));
        }
        if name == "SystemErrors" {
            // Requests that failed before touching a table.
            for (slot, counter) in observer.system_errors.iter().enumerate() {
                let n = counter.load(Ordering::Relaxed);
                if n == 0 {
                    continue;
                }
                let op = Operation::ALL.get(slot).map_or("", |o| o.name());
                family.sample(name, &labels(&[("Operation", op)]), n);
            }
        }
    }
    let per_table: [(&str, &str, usize); 3] = [
        (
            "ConditionalCheckFailedRequests",
            "Writes refused because their condition was false.",
            0,
        ),
        (
            "TransactionConflict",
            "Item-level requests refused because a transaction held the item.",
            1,
        ),
        (
            "TimeToLiveDeletedItemCount",
            "Items deleted by the time-to-live sweeper.",
            2,
        ),
    ];
    for (name, help, i) in per_table {
        let mut family = Family::new(out, name, "counter", help);
        for ((region, table), counts) in &tables {
            family.sample(
                name,
                &labels(&[("Region", region), ("TableName", table)]),
                counts[i],
            );
        }
    }
    for (name, help, i, write) in [
        (
            "ReadThrottleEvents",
            "Read requests (or batch items) refused by the table's or the index's limits.",
            3,
            false,
        ),
        (
            "WriteThrottleEvents",
            "Write requests (or batch items) refused by the table's or the index's limits.",
            4,
            true,
        ),
    ] {
        let mut family = Family::new(out, name, "counter", help);
        for ((region, table), counts) in &tables {
            family.sample(
                name,
                &labels(&[("Region", region), ("TableName", table)]),
                counts[i],
            );
        }
        for ((region, table, index), (reads, writes)) in &index_events {
            let n = if write { *writes } else { *reads };
            let index = index.as_deref().unwrap_or_default();
            family.sample(
                name,
                &labels(&[
                    ("Region", region),
                    ("TableName", table),
                    ("GlobalSecondaryIndexName", index),
                ]),
                n,
            );
        }
    }
    let mut family = Family::new(
        out,
        "UserErrors",
        "counter",
        "API calls answered with HTTP 400, except throttling and failed conditions.",
    );
    let user_errors: u64 = observer
        .user_errors
        .shards()
        .map(|c| c.load(Ordering::Relaxed))
        .sum();
    family.sample("UserErrors", "", user_errors);
}

/// A backfill gauge: its name, its help text, and its value on one backfill's line.
type BackfillGauge = (&'static str, &'static str, fn(&BackfillLine) -> u64);

/// How far each online index backfill has got: items read so far and the table's items, per
/// (table, global index), while the index is `Backfilling` (DescribeTable only says that it is).
fn backfill_metrics(out: &mut String, db: &Database) {
    let lines = db.index_backfills();
    let gauges: [BackfillGauge; 2] = [
        (
            "binderdb_index_backfill_items",
            "Table items an online index backfill has read and indexed so far.",
            |l| l.items_read,
        ),
        (
            "binderdb_index_backfill_table_items",
            "Items of the table a backfilling index is filled from (its ItemCount now).",
            |l| l.table_items,
        ),
    ];
    for (name, help, value) in gauges {
        let mut family = Family::new(out, name, "gauge", help);
        for line in &lines {
            let pairs = [
                ("Region", line.region.as_str()),
                ("TableName", line.table_name.as_str()),
                ("GlobalSecondaryIndexName", line.index_name.as_str()),
            ];
            family.sample(name, &labels(&pairs), value(line));
        }
    }
}

/// The process's figures, under Prometheus' standard names.
fn process_metrics(out: &mut String, observer: &Observer) {
    // VmRSS from /proc (Linux); absent elsewhere.
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024)
        });
    if let Some(rss) = rss {
        Family::new(
            out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of the server process, bytes.",
        )
        .sample("process_resident_memory_bytes", "", rss);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        Family::new(
            out,
            "process_open_fds",
            "gauge",
            "Open file descriptors of the server process.",
        )
        .sample("process_open_fds", "", fds.count());
    }
    Family::new(
        out,
        "process_start_time_seconds",
        "gauge",
        "When the server started, seconds since the Unix epoch.",
    )
    .sample("process_start_time_seconds", "", observer.started_unix);
    Family::new(
        out,
        "binderdb_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
    )
    .sample(
        "binderdb_uptime_seconds",
        "",
        observer.started.elapsed().as_secs_f64(),
    );
}

/// The store's figures (nothing for the in-memory store but what it reports).
fn storage_metrics(out: &mut String, db: &Database) {
    let m = db.store_metrics();
    let gauges: [(&str, &str, &str, Option<u64>); 6] = [
        (
            "binderdb_storage_disk_bytes",
            "gauge",
            "Bytes the durable store's files take on disk (data files and journals).",
            m.disk_bytes,
        ),
        (
            "binderdb_storage_write_buffer_bytes",
            "gauge",
            "Bytes of data in memtables, not yet flushed to a file.",
            m.write_buffer_bytes,
        ),
        (
            "binderdb_storage_journal_files",
            "gauge",
            "Journal files kept for recovery.",
            m.journal_files,
        ),
        (
            "binderdb_storage_pending_flushes",
            "gauge",
            "Memtable flushes queued and not finished.",
            m.pending_flushes,
        ),
        (
            "binderdb_storage_active_compactions",
            "gauge",
            "Compactions running now.",
            m.active_compactions,
        ),
        (
            "binderdb_storage_compactions_total",
            "counter",
            "Compactions finished since the store was opened.",
            m.compactions_completed,
        ),
    ];
    for (name, kind, help, value) in gauges {
        if let Some(v) = value {
            Family::new(out, name, kind, help).sample(name, "", v);
        }
    }
    if let Some(syncs) = &m.sync_latency {
        let mut family = Family::new(
            out,
            "binderdb_storage_sync_seconds",
            "histogram",
            "Duration of each group-commit sync (the fdatasync acknowledged writes wait for).",
        );
        histogram(
            &mut family,
            "binderdb_storage_sync_seconds",
            &[],
            syncs,
            0.000_001,
        );
    }
}

/// How long `/health` waits for the store to make the writes committed so far durable.
const HEALTH_SYNC_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health`, for load balancers: `200 ok` while the server serves and its store makes
/// writes durable; `503` with the reason when the store has failed (a failed journal sync
/// makes every later write fail) or cannot make the writes committed so far durable within
/// [`HEALTH_SYNC_TIMEOUT`]. A stopping server no longer accepts connections, so a load
/// balancer sees it go as it drains.
pub(crate) async fn health(db: &Database) -> (StatusCode, String) {
    match tokio::time::timeout(HEALTH_SYNC_TIMEOUT, db.durable()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n".to_owned()),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: storage failed: {e}\n"),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "unhealthy: writes not durable within {} s\n",
                HEALTH_SYNC_TIMEOUT.as_secs()
            ),
        ),
    }
}
