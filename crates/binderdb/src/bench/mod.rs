//! `binderdb bench`: a closed-loop load generator for any DynamoDB endpoint (binderdb, DynamoDB
//! Local, real DynamoDB), in the spirit of redis-benchmark, and the null server that measures
//! the HTTP path's own ceiling.
//!
//! A run: create the table if missing (`pk` S, `sk` N, on demand; for the index workloads also
//! two LSIs and two GSIs, see [`workload`]) and wait for it and its GSIs to be ACTIVE; preload
//! `--items` items (BatchWriteItem, or concurrent PutItem where the endpoint has no
//! BatchWriteItem); open `--connections` keep-alive connections, each sending one signed request,
//! waiting for its response and sending the next; discard the `--warmup`; count successes,
//! latencies and errors over `--duration`; delete the table unless `--keep-table`. The report is
//! a table on stdout whose last line is always one JSON object ([`report::Summary::json_line`]).
//! With `--interval`, one line per interval of the measured window comes first, printed as the
//! interval ends ([`report::Summary::interval_line`] / [`report::Summary::interval_json_line`]),
//! so stalls (a storage engine flushing, a garbage collector) show where they happen in time.
//!
//! Modules: [`sigv4`] signs, [`client`] sends, [`workload`] builds the requests, [`report`]
//! measures and prints, [`null_server`] answers without a database. Depends on the server crate
//! only for the null server's listener; never on the engine or storage.

pub(crate) mod client;
mod null_server;
mod report;
pub(crate) use binderdb_s3::sigv4;
mod workload;

use std::net::IpAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinSet;

use self::client::{Connection, Endpoint, Operation, Reply};
use self::report::{Recorder, Summary};
use self::sigv4::{Credentials, Signer};
use self::workload::{Generator, KeySpace, Workload};

/// Items in one BatchWriteItem, DynamoDB's maximum.
const BATCH_SIZE: u64 = 25;
/// Attempts at one setup or preload request before the run gives up.
const ATTEMPTS: u32 = 6;
/// How long to wait for the table to become ACTIVE.
const TABLE_WAIT: Duration = Duration::from_secs(120);
/// The shortest `--interval`: shorter ones would mostly measure the reporter's own wake-ups.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The `bench` subcommand's flags.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The endpoint to load, e.g. http://127.0.0.1:8000 (plain HTTP).
    #[arg(long, required_unless_present = "null_server")]
    endpoint: Option<String>,
    /// The load pattern.
    #[arg(long, value_enum, default_value_t = Workload::Get)]
    workload: Workload,
    /// Concurrent connections, each with one request in flight.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// How long to measure (e.g. 10s, 500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// How long to run before measuring.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Items to preload (every workload but put and txn reads or replaces them).
    #[arg(long, default_value_t = 10_000)]
    items: u64,
    /// Approximate item size in bytes, by DynamoDB's item-size rules.
    #[arg(long, default_value_t = 200)]
    item_size: usize,
    /// Payloads of random letters, a different one per item, which compression cannot shrink
    /// (the default repeats one pattern, which compresses about tenfold): for data directories
    /// whose size on disk follows the items'.
    #[arg(long)]
    random_payload: bool,
    /// The table to create and load.
    #[arg(long, default_value = "bench")]
    table: String,
    /// Give the preloaded items a TTL attribute `exp` of this many epoch seconds (for measuring
    /// the TTL sweeper: enable TTL on `exp` first, then they expire together).
    #[arg(long, value_name = "EPOCH_SECONDS")]
    expire_at: Option<u64>,
    /// Also report every interval of the measured window (e.g. 1s, 100ms) as it ends.
    #[arg(long, value_parser = parse_duration)]
    interval: Option<Duration>,
    /// The region in the signature's credential scope.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Keep the table after the run (it is deleted by default).
    #[arg(long)]
    keep_table: bool,
    /// Do not preload: use the `--items` items an earlier run left in the table with
    /// `--keep-table` (so a measurement can run beside other work on a loaded table).
    #[arg(long)]
    no_preload: bool,
    /// Print only the JSON line.
    #[arg(long)]
    json: bool,
    /// Send this `Accept-Encoding` with every request (e.g. `gzip`), to measure response
    /// compression; responses are read as they come, compressed or not.
    #[arg(long)]
    accept_encoding: Option<String>,
    /// Threads of the load generator (1 keeps it on one core, beside the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Run the null server instead: binderdb's HTTP stack answering canned responses.
    #[arg(long, conflicts_with = "endpoint")]
    null_server: bool,
    /// The null server's address.
    #[arg(long, default_value = "127.0.0.1", requires = "null_server")]
    host: IpAddr,
    /// The null server's port (0 picks a free one; the ready line names it).
    #[arg(long, default_value_t = 0, requires = "null_server")]
    port: u16,
}

/// Runs the bench (or the null server) as `args` say, printing the report to stdout.
///
/// # Errors
/// Bad flags, an unreachable endpoint, or a failed setup, as text for the user.
pub fn run(args: BenchArgs) -> Result<(), String> {
    if args.null_server {
        return null_server::run(args.host, args.port);
    }
    let url = args
        .endpoint
        .as_deref()
        .ok_or("--endpoint is required (or --null-server)")?;
    if args.connections == 0 || args.threads == 0 {
        return Err("--connections and --threads must be at least 1".to_owned());
    }
    if args.duration.is_zero() {
        return Err("--duration must be longer than zero".to_owned());
    }
    if args.interval.is_some_and(|every| every < MIN_INTERVAL) {
        return Err(format!(
            "--interval must be at least {} ms",
            MIN_INTERVAL.as_millis()
        ));
    }
    if args.workload.needs_preload() && args.items == 0 {
        return Err(format!(
            "the {} workload reads preloaded items: --items must be at least 1",
            args.workload.name()
        ));
    }
    let endpoint =
        Arc::new(Endpoint::parse(url)?.with_accept_encoding(args.accept_encoding.as_deref())?);
    let signer = Signer::new(Credentials::from_env(), &args.region, "dynamodb");
    let space = Arc::new(
        KeySpace::new(
            &args.table,
            args.items,
            args.item_size,
            args.workload.shape(),
        )
        .expiring_at(args.expire_at)
        .with_random_payload(args.random_payload),
    );

    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .map_err(|e| format!("cannot start runtime: {e}"))?;
    let summary = runtime.block_on(bench(&args, endpoint, signer, space))?;
    if !args.json {
        println!("{}", summary.table());
    }
    println!("{}", summary.json_line());
    Ok(())
}

/// Setup, measurement, teardown: the table is deleted even when the measurement fails.
async fn bench(
    args: &BenchArgs,
    endpoint: Arc<Endpoint>,
    signer: Signer,
    space: Arc<KeySpace>,
) -> Result<Summary, String> {
    let mut control = Connection::open(endpoint.clone(), signer.clone()).await?;
    ensure_table(&mut control, &space, &args.table).await?;
    let result = async {
        if args.workload.needs_preload() && !args.no_preload {
            preload(&endpoint, &signer, &space, args.connections).await?;
        }
        if args.workload.transactional() {
            // One transaction first (with keys of a connection number no loop uses), so an
            // endpoint without transactions fails the run with its error instead of answering
            // every measured request with it.
            let (operation, body) =
                Generator::new(args.workload, space.clone(), args.connections).next_request();
            call_retrying(&mut control, operation, &body).await?;
        }
        measure(args, &endpoint, &signer, &space).await
    }
    .await;
    if !args.keep_table {
        let body = space.table_name_body();
        match call_retrying(&mut control, Operation::DeleteTable, &body).await {
            Ok(_) => eprintln!("bench: deleted table {}", args.table),
            Err(e) => eprintln!("bench: could not delete table {}: {e}", args.table),
        }
    }
    result
}

/// Creates the table unless it exists, then waits until DescribeTable says it and its global
/// secondary indexes are ACTIVE.
async fn ensure_table(
    control: &mut Connection,
    space: &KeySpace,
    table: &str,
) -> Result<(), String> {
    let describe = space.table_name_body();
    let reply = control
        .call(Operation::DescribeTable, describe.clone())
        .await?;
    if !reply.is_ok() {
        if reply.error_code() != "ResourceNotFoundException" {
            return Err(format!("DescribeTable {table} failed: {}", explain(&reply)));
        }
        let created = control
            .call(Operation::CreateTable, space.create_table_body())
            .await?;
        // Another bench may have created it meanwhile; that table will do.
        if !created.is_ok() && created.error_code() != "ResourceInUseException" {
            return Err(format!("CreateTable {table} failed: {}", explain(&created)));
        }
        eprintln!("bench: created table {table}");
    }
    let deadline = Instant::now() + TABLE_WAIT;
    loop {
        let reply = call_retrying(control, Operation::DescribeTable, &describe).await?;
        let status = reply.json()["Table"]["TableStatus"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let table_json = &reply.json()["Table"];
        let indexes = table_json["GlobalSecondaryIndexes"].as_array();
        if space.indexed() && status == "ACTIVE" {
            // An existing table without the bench's indexes would make every index request
            // fail; say so once instead.
            let queried = indexes.and_then(|all| {
                all.iter()
                    .find(|i| i["IndexName"] == workload::QUERIED_INDEX)
            });
            if queried.is_none() {
                return Err(format!(
                    "table {table} exists without the index workloads' indexes; \
                     name another --table"
                ));
            }
        }
        let indexes_active = indexes
            .into_iter()
            .flatten()
            .all(|i| i["IndexStatus"] == "ACTIVE");
        if status == "ACTIVE" && indexes_active {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "table {table} is still {status:?} after {} s",
                TABLE_WAIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Request latencies the preload counts the requests above (`"stalls"` in its JSON line).
const STALL_LIMITS_MS: [u64; 4] = [100, 250, 500, 1000];

/// Writes the preloaded items with `connections` concurrent writers: BatchWriteItem of 25 when
/// the endpoint serves it (tried once on the first batch), otherwise one PutItem per item.
///
/// The preload is a bulk load worth measuring: it ends with a line on stderr giving its items/s
/// and the latency percentiles of its requests (each BatchWriteItem or PutItem, from sending it
/// to its answer; resending UnprocessedItems counts as further requests), then the same as JSON
/// (`bench: preload {"workload":"preload",..,"p999_ms":..,"max_ms":..,"items":..,
/// "items_per_s":..,"stalls":{"over_100_ms":..,..}}`).
async fn preload(
    endpoint: &Arc<Endpoint>,
    signer: &Signer,
    space: &Arc<KeySpace>,
    connections: u32,
) -> Result<(), String> {
    let started = Instant::now();
    let total = space.items();
    let mut probe = Connection::open(endpoint.clone(), signer.clone()).await?;
    let first = 0..total.min(BATCH_SIZE);
    let batched = probe
        .call(
            Operation::BatchWriteItem,
            space.batch_write_body(first.clone()),
        )
        .await?;
    let use_batches = batched.is_ok();
    if use_batches {
        finish_batch(&mut probe, batched).await?;
    } else {
        eprintln!(
            "bench: BatchWriteItem answered {}; preloading with PutItem",
            batched.error_code()
        );
    }
    drop(probe);
    // Units of work: batches after the first, or single items.
    let (next, units) = if use_batches {
        (AtomicU64::new(1), total.div_ceil(BATCH_SIZE))
    } else {
        (AtomicU64::new(0), total)
    };
    let next = Arc::new(next);
    let mut writers = JoinSet::new();
    let load_started = Instant::now();
    for _ in 0..u64::from(connections).min(units) {
        let (endpoint, signer, space, next) = (
            endpoint.clone(),
            signer.clone(),
            space.clone(),
            next.clone(),
        );
        writers.spawn(async move {
            let mut conn = Connection::open(endpoint, signer).await?;
            let mut recorder = Recorder::new()?;
            loop {
                let unit = next.fetch_add(1, Ordering::Relaxed);
                if unit >= units {
                    return Ok::<Recorder, String>(recorder);
                }
                let sent = Instant::now();
                if use_batches {
                    let range: Range<u64> = unit * BATCH_SIZE..((unit + 1) * BATCH_SIZE).min(total);
                    let body = space.batch_write_body(range);
                    let reply = call_retrying(&mut conn, Operation::BatchWriteItem, &body).await?;
                    recorder.ok(sent.elapsed());
                    finish_batch(&mut conn, reply).await?;
                } else {
                    let (pk, sk) = KeySpace::preloaded_key(unit);
                    call_retrying(&mut conn, Operation::PutItem, &space.put_body(&pk, sk)).await?;
                    recorder.ok(sent.elapsed());
                }
            }
        });
    }
    let mut recorded = Recorder::new()?;
    while let Some(joined) = writers.join_next().await {
        recorded.merge(&joined.map_err(|e| format!("preload task failed: {e}"))??);
    }
    let loading = load_started.elapsed();
    let summary = Summary::new("preload", connections, loading, &recorded);
    let items_per_s = total as f64 / started.elapsed().as_secs_f64();
    eprintln!(
        "bench: preloaded {total} items in {:.1} s ({}): {items_per_s:.0} items/s, request \
         latency ms p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}",
        started.elapsed().as_secs_f64(),
        if use_batches {
            "BatchWriteItem"
        } else {
            "PutItem"
        },
        summary.p50_ms,
        summary.p99_ms,
        summary.p999_ms,
        summary.max_ms,
    );
    let mut json: serde_json::Value =
        serde_json::from_str(&summary.json_line()).map_err(|e| format!("preload summary: {e}"))?;
    json["items"] = total.into();
    json["items_per_s"] = ((items_per_s * 10.0).round() / 10.0).into();
    // Stalls: requests that waited far longer than a write should (compaction, flushes).
    let stalls: serde_json::Map<String, serde_json::Value> = STALL_LIMITS_MS
        .iter()
        .map(|ms| {
            let over = recorded.count_over(Duration::from_millis(*ms));
            (format!("over_{ms}_ms"), over.into())
        })
        .collect();
    json["stalls"] = stalls.into();
    eprintln!("bench: preload {json}");
    Ok(())
}

/// Resends a BatchWriteItem's UnprocessedItems (with backoff) until none are left.
async fn finish_batch(conn: &mut Connection, mut reply: Reply) -> Result<(), String> {
    for attempt in 1..=u64::from(ATTEMPTS) * 2 {
        let unprocessed = reply.json()["UnprocessedItems"].take();
        if unprocessed.as_object().is_none_or(|m| m.is_empty()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
        let body = serde_json::json!({ "RequestItems": unprocessed }).to_string();
        reply = call_retrying(conn, Operation::BatchWriteItem, &body).await?;
    }
    Err("BatchWriteItem kept returning UnprocessedItems".to_owned())
}

/// Sends a setup request, retrying throttling, server errors and broken connections with
/// backoff; a client error (4xx other than throttling) fails at once.
async fn call_retrying(
    conn: &mut Connection,
    operation: Operation,
    body: &str,
) -> Result<Reply, String> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        match conn.call(operation, body.to_owned()).await {
            Ok(reply) if reply.is_ok() => return Ok(reply),
            Ok(reply) => {
                let code = reply.error_code();
                let retryable = reply.status >= 500
                    || matches!(
                        code.as_str(),
                        "ProvisionedThroughputExceededException"
                            | "ThrottlingException"
                            | "RequestLimitExceeded"
                    );
                last = explain(&reply);
                if !retryable {
                    break;
                }
            }
            Err(e) => {
                last = e;
                if let Ok(fresh) = conn.reopen().await {
                    *conn = fresh;
                }
            }
        }
    }
    Err(format!("{} failed: {last}", operation.target()))
}

/// `Code: message` of an error reply.
fn explain(reply: &Reply) -> String {
    let json = reply.json();
    let message = json["message"]
        .as_str()
        .or_else(|| json["Message"].as_str())
        .unwrap_or("");
    format!("{}: {message}", reply.error_code())
}

/// Opens the connections, runs the closed loops through warm-up and the measured window, and
/// merges what they recorded.
async fn measure(
    args: &BenchArgs,
    endpoint: &Arc<Endpoint>,
    signer: &Signer,
    space: &Arc<KeySpace>,
) -> Result<Summary, String> {
    let mut opening = JoinSet::new();
    for _ in 0..args.connections {
        opening.spawn(Connection::open(endpoint.clone(), signer.clone()));
    }
    let mut connections = Vec::new();
    while let Some(opened) = opening.join_next().await {
        connections.push(opened.map_err(|e| format!("connect task failed: {e}"))??);
    }
    eprintln!(
        "bench: {} on {} connections: warm-up {:.1} s, measuring {:.1} s",
        args.workload.name(),
        args.connections,
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64()
    );
    let from = Instant::now() + args.warmup;
    let until = from + args.duration;
    let window = Window { from, until };
    let intervals = match args.interval {
        Some(every) => {
            let current = Arc::new(Mutex::new(Recorder::new()?));
            let printer = IntervalPrinter {
                workload: args.workload.name(),
                connections: args.connections,
                json: args.json,
            };
            let reporter = tokio::spawn(report_intervals(
                current.clone(),
                window,
                every,
                printer.clone(),
            ));
            Some((current, reporter, printer))
        }
        None => None,
    };
    let mut workers = JoinSet::new();
    for (n, conn) in (0u32..).zip(connections) {
        let generator = Generator::new(args.workload, space.clone(), n);
        let current = intervals.as_ref().map(|(current, ..)| current.clone());
        workers.spawn(closed_loop(conn, generator, window, current));
    }
    let mut total = Recorder::new()?;
    while let Some(done) = workers.join_next().await {
        total.merge(&done.map_err(|e| format!("bench task failed: {e}"))??);
    }
    if let Some((current, reporter, printer)) = intervals {
        // The reporter returns at the window's end without printing the last interval: a
        // request answered just before the end may be recorded after it wakes, so the last
        // interval is taken once every loop has finished.
        let last_start = reporter
            .await
            .map_err(|e| format!("interval reporter failed: {e}"))?;
        printer.print(&take(&current)?, last_start - from, until - last_start);
    }
    Ok(Summary::new(
        args.workload.name(),
        args.connections,
        args.duration,
        &total,
    ))
}

/// The measured window: requests sent at or after `from` and answered by `until` count.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Instant,
    until: Instant,
}

/// Prints interval reports in the run's output format.
#[derive(Debug, Clone)]
struct IntervalPrinter {
    workload: &'static str,
    connections: u32,
    json: bool,
}

impl IntervalPrinter {
    /// Prints what `recorder` saw in the interval starting `start` into the window, lasting
    /// `length`.
    fn print(&self, recorder: &Recorder, start: Duration, length: Duration) {
        let summary = Summary::new(self.workload, self.connections, length, recorder);
        let end = start + length;
        if self.json {
            println!("{}", summary.interval_json_line(start, end));
        } else {
            println!("{}", summary.interval_line(start, end));
        }
    }
}

/// Takes what `current` recorded so far, leaving it empty.
fn take(current: &Mutex<Recorder>) -> Result<Recorder, String> {
    let mut current = current
        .lock()
        .map_err(|_| "interval recorder poisoned".to_owned())?;
    Ok(std::mem::replace(&mut *current, Recorder::new()?))
}

/// Prints one report per `every` of the window as each ends, and returns when the window is
/// over with the start of the last, unprinted interval: the caller prints it once every loop
/// has finished. A request counts in the interval in which its response arrived (give or take
/// the reporter's wake-up).
async fn report_intervals(
    current: Arc<Mutex<Recorder>>,
    window: Window,
    every: Duration,
    printer: IntervalPrinter,
) -> Instant {
    let mut start = window.from;
    // Requests answered during warm-up are not counted, so nothing is recorded before `from`.
    loop {
        let end = start + every;
        if end >= window.until {
            tokio::time::sleep_until(window.until.into()).await;
            return start;
        }
        tokio::time::sleep_until(end.into()).await;
        match take(&current) {
            Ok(recorder) => printer.print(&recorder, start - window.from, end - start),
            Err(e) => eprintln!("bench: {e}"),
        }
        start = end;
    }
}

/// One connection's loop: send, wait for the whole response, send the next, until the window
/// ends. Only requests inside the [`Window`] are recorded, also into `interval` when reporting
/// intervals.
async fn closed_loop(
    mut conn: Connection,
    mut generator: Generator,
    Window { from, until }: Window,
    interval: Option<Arc<Mutex<Recorder>>>,
) -> Result<Recorder, String> {
    let mut recorder = Recorder::new()?;
    let also = |record: &dyn Fn(&mut Recorder)| {
        if let Some(current) = &interval {
            if let Ok(mut current) = current.lock() {
                record(&mut current);
            }
        }
    };
    while Instant::now() < until {
        let (operation, body) = generator.next_request();
        let request = conn.prepare(operation, Bytes::from(body));
        let sent = Instant::now();
        let result = conn.send(request).await;
        let done = Instant::now();
        let counted = sent >= from && done <= until;
        match result {
            Ok(reply) if reply.is_ok() => {
                generator.observe(operation, &reply);
                if counted {
                    recorder.ok(done - sent);
                    also(&|r| r.ok(done - sent));
                }
            }
            Ok(reply) => {
                generator.reset();
                if counted {
                    let code = reply.error_code();
                    recorder.error(&code);
                    also(&|r| r.error(&code));
                }
            }
            Err(_) => {
                generator.reset();
                if counted {
                    recorder.error("ConnectionError");
                    also(&|r| r.error("ConnectionError"));
                }
                loop {
                    match conn.reopen().await {
                        Ok(fresh) => {
                            conn = fresh;
                            break;
                        }
                        Err(_) if Instant::now() >= until => return Ok(recorder),
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            }
        }
    }
    Ok(recorder)
}

/// Parses `10s`, `500ms`, `1.5s`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 10s, 500ms or 1m)"))?;
    Duration::try_from_secs_f64(value * unit).map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
