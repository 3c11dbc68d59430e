//! `binderdb export` and `binderdb import`: a table to files and back, against any endpoint
//! that speaks DynamoDB's JSON protocol (`http://` or `https://`, real DynamoDB included), in
//! the same file layout as ExportTableToPointInTime (so either tool reads the other's files).
//! Files go to and come from a local directory or an S3 bucket (`s3://bucket/prefix`: AWS S3,
//! or an S3-compatible server with `--s3-endpoint`), through the same object-store contract
//! the server's exports use.
//!
//! - export: parallel Scan segments (`--segments`, one connection each), each writing its own
//!   gzip data file; then `manifest-files.json` and `manifest-summary.json` with their
//!   checksums. A Scan is not a snapshot: items written during the export may or may not be in
//!   it, as with any Scan-based export tool. Throttled pages are retried with backoff.
//! - import: every data file under `--from` (`.json`, `.ion`, optionally `.gz` or `.zst`; for
//!   `s3://`, every such object under the prefix, listed page by page and streamed),
//!   read line by line into BatchWriteItem requests of 25 over `--connections` connections;
//!   UnprocessedItems and throttling errors are retried with exponential backoff. Lines that
//!   are not items are counted and the first ones printed. The table must exist.
//!
//! Requests (DynamoDB's and S3's) are signed with SigV4 from `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`; `https://` trusts the system's roots and
//! `AWS_CA_BUNDLE`'s. On a terminal a progress line is redrawn every half second. Object
//! writes and reads block, so they run on blocking threads, fed by the async Scan tasks.

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use binderdb_engine::exchange::export::{export_base, write_manifests, DataFileWriter};
use binderdb_engine::exchange::format::{read_json_line, Compression, LineFormat};
use binderdb_engine::exchange::ion;
use binderdb_engine::exchange::iso8601;
use binderdb_engine::exchange::objects::{LocalBuckets, ObjectStore};
use binderdb_model::Item;
use binderdb_s3::connect::Url;
use binderdb_s3::s3::{S3Buckets, S3Options};
use clap::Args;
use serde_json::{json, Value};

use crate::bench::client::{Connection, Endpoint, Operation, Reply};
use crate::bench::sigv4::{Credentials, Signer};

/// `binderdb export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The endpoint, `http://host:port` or `https://host`.
    #[arg(long)]
    endpoint: String,
    /// The region requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The table to export.
    #[arg(long)]
    table: String,
    /// Where to write: a directory (created if missing; the export goes to
    /// `DIR/AWSDynamoDB/<ExportId>/`) or `s3://bucket[/prefix]` (to
    /// `prefix/AWSDynamoDB/<ExportId>/`).
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    to: String,
    #[command(flatten)]
    s3: S3Args,
    /// DYNAMODB_JSON or ION.
    #[arg(long, default_value = "DYNAMODB_JSON")]
    format: String,
    /// Parallel Scan segments (one connection and one data file each).
    #[arg(long, default_value_t = 4)]
    segments: u32,
}

/// `binderdb import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The endpoint, `http://host:port` or `https://host`.
    #[arg(long)]
    endpoint: String,
    /// The region requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The table to write into (it must exist).
    #[arg(long)]
    table: String,
    /// A directory (searched recursively for data files), one data file, or
    /// `s3://bucket/prefix` (every data file under the prefix).
    #[arg(long, value_name = "DIR|FILE|s3://BUCKET/PREFIX")]
    from: String,
    #[command(flatten)]
    s3: S3Args,
    /// Parallel BatchWriteItem connections.
    #[arg(long, default_value_t = 8)]
    connections: u32,
}

/// Where `s3://` locations are.
#[derive(Debug, Args)]
pub struct S3Args {
    /// For `s3://`: an S3-compatible server, path-style (`http://127.0.0.1:9000`); default
    /// `https://s3.<s3-region>.amazonaws.com`.
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// For `s3://`: the bucket's region (default: `--region`).
    #[arg(long, value_name = "REGION")]
    s3_region: Option<String>,
}

/// A place objects are written to or read from: a store, a bucket in it, and a key prefix.
struct Location {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
    /// How to name it to the user.
    shown: String,
    /// A single local file: the object named by `prefix` alone.
    single: bool,
}

impl Location {
    /// `s3://bucket[/prefix]`, or a local directory (`create`: made if missing) or file.
    fn parse(spec: &str, s3: &S3Args, region: &str, create: bool) -> Result<Location, String> {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{spec}: no bucket (s3://bucket/prefix)"));
            }
            let region = s3.s3_region.clone().unwrap_or_else(|| region.to_owned());
            let endpoint = s3
                .s3_endpoint
                .clone()
                .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
            let store = S3Buckets::new(S3Options {
                endpoint: Url::parse(&endpoint)?,
                region,
                credentials: Credentials::from_env(),
                list_page_size: 1000,
                import_log_dir: None,
            })?;
            return Ok(Location {
                store: Arc::new(store),
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
                shown: spec.trim_end_matches('/').to_owned(),
                single: false,
            });
        }
        let path = PathBuf::from(spec);
        if create {
            std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let path = path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // A directory is a bucket of its parent; a file is a key of its directory's bucket.
        let (dir, file) = if path.is_file() {
            (path.parent().map(Path::to_path_buf), path.file_name())
        } else {
            (Some(path.clone()), None)
        };
        let (root, bucket) = match dir.as_deref().map(|d| (d.parent(), d.file_name())) {
            Some((Some(root), Some(bucket))) => (root.to_path_buf(), bucket.to_string_lossy()),
            _ => {
                return Err(format!(
                    "{}: not a directory below the root",
                    path.display()
                ))
            }
        };
        Ok(Location {
            store: Arc::new(LocalBuckets::new(root)),
            bucket: bucket.into_owned(),
            single: file.is_some(),
            prefix: file
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            shown: path.display().to_string(),
        })
    }
}

/// Errors worth retrying: throttling and server faults.
fn retryable(reply: &Reply) -> bool {
    reply.status >= 500
        || matches!(
            reply.error_code().as_str(),
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
        )
}

/// Calls `operation`, retrying throttling and faults with exponential backoff (10 ms to 2 s,
/// at most 12 tries).
async fn call_retrying(
    conn: &mut Connection,
    operation: Operation,
    body: &Value,
) -> Result<Value, String> {
    let bytes = body.to_string();
    let mut delay = Duration::from_millis(10);
    for _ in 0..12 {
        let reply = match conn.call(operation, bytes.clone()).await {
            Ok(r) => r,
            Err(_) => {
                *conn = conn.reopen().await?;
                continue;
            }
        };
        if reply.is_ok() {
            return Ok(reply.json());
        }
        if !retryable(&reply) {
            return Err(format!(
                "{}: {}",
                reply.error_code(),
                reply.json()["message"].as_str().unwrap_or_default()
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
    Err(format!(
        "{} kept failing after 12 tries",
        operation.target()
    ))
}

/// Redraws `label: N items (R/s)` on stderr every half second while `running`, on a terminal.
fn progress(
    label: &'static str,
    count: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    Some(std::thread::spawn(move || {
        let started = Instant::now();
        while running.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(500));
            let n = count.load(Ordering::Relaxed);
            let rate = n as f64 / started.elapsed().as_secs_f64().max(0.001);
            eprint!("\r{label}: {n} items ({rate:.0}/s)   ");
            let _ = std::io::stderr().flush();
        }
        eprintln!();
    }))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Runs `f` (blocking object-store work) on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

/// Runs `binderdb export`.
///
/// # Errors
/// Bad arguments, endpoint errors, object-store errors.
pub fn export(args: ExportArgs) -> Result<(), String> {
    let format = LineFormat::parse(&args.format)
        .filter(|f| *f != LineFormat::Csv)
        .ok_or("--format must be DYNAMODB_JSON or ION")?;
    if args.segments == 0 {
        return Err("--segments must be at least 1".to_owned());
    }
    let to = Arc::new(Location::parse(&args.to, &args.s3, &args.region, true)?);
    let endpoint = Arc::new(Endpoint::parse(&args.endpoint)?);
    let signer = Signer::new(Credentials::from_env(), &args.region, "dynamodb");
    let rt = runtime()?;
    rt.block_on(async move {
        let mut conn = Connection::open(endpoint.clone(), signer.clone()).await?;
        let table = call_retrying(
            &mut conn,
            Operation::DescribeTable,
            &json!({"TableName": args.table}),
        )
        .await?;
        let table_arn = table["Table"]["TableArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let table_id = table["Table"]["TableId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let start_ms = now_ms();
        let export_id = format!("{start_ms:014}-{}", &uuid_hex()[..8]);
        let base = export_base(&to.prefix, &export_id);
        {
            let (to, key) = (to.clone(), format!("{base}_started"));
            blocking(move || {
                to.store
                    .put(&to.bucket, &key, b"")
                    .map_err(|e| format!("{}: {}", to.shown, e))
            })
            .await?;
        }
        let count = Arc::new(AtomicU64::new(0));
        let running = Arc::new(AtomicBool::new(true));
        let bar = progress("exported", count.clone(), running.clone());
        let mut tasks = Vec::new();
        for segment in 0..args.segments {
            let (endpoint, signer, to, base, table, count) = (
                endpoint.clone(),
                signer.clone(),
                to.clone(),
                base.clone(),
                args.table.clone(),
                count.clone(),
            );
            let total = args.segments;
            // Pages go from the Scan task to a blocking writer thread (an object store blocks).
            let (pages, mut inbox) = tokio::sync::mpsc::channel::<Vec<Item>>(4);
            let writer = tokio::task::spawn_blocking(move || -> Result<_, String> {
                let shown = |e: binderdb_engine::exchange::objects::ObjectError| {
                    format!("{}: {e}", to.shown)
                };
                let mut file = DataFileWriter::create(to.store.as_ref(), &to.bucket, &base, format)
                    .map_err(shown)?;
                while let Some(items) = inbox.blocking_recv() {
                    for item in &items {
                        file.write_item(item).map_err(shown)?;
                    }
                    count.fetch_add(items.len() as u64, Ordering::Relaxed);
                }
                file.finish().map_err(shown)
            });
            let scanner = tokio::spawn(async move {
                let mut conn = Connection::open(endpoint, signer).await?;
                let mut start: Option<Value> = None;
                loop {
                    let mut body =
                        json!({"TableName": table, "Segment": segment, "TotalSegments": total});
                    if let Some(s) = start.take() {
                        body["ExclusiveStartKey"] = s;
                    }
                    let page = call_retrying(&mut conn, Operation::Scan, &body).await?;
                    let items: Vec<Item> = serde_json::from_value(page["Items"].clone())
                        .map_err(|e| format!("Scan answered items that are not items: {e}"))?;
                    if pages.send(items).await.is_err() {
                        // The writer failed; its error is reported.
                        return Ok(());
                    }
                    match page.get("LastEvaluatedKey") {
                        Some(k) if !k.is_null() => start = Some(k.clone()),
                        _ => return Ok::<(), String>(()),
                    }
                }
            });
            tasks.push((scanner, writer));
        }
        let mut files = Vec::new();
        let mut failure = None;
        for (scanner, writer) in tasks {
            let scanned = scanner.await.map_err(|e| e.to_string()).and_then(|r| r);
            let written = writer.await.map_err(|e| e.to_string()).and_then(|r| r);
            match (scanned, written) {
                (Err(e), _) | (_, Err(e)) => {
                    failure.get_or_insert(e);
                }
                (Ok(()), Ok(file)) => files.push(file),
            }
        }
        running.store(false, Ordering::Relaxed);
        if let Some(bar) = bar {
            let _ = bar.join();
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let items: i64 = files.iter().map(|f| f.items).sum();
        let end_ms = now_ms();
        let summary = json!({
            "version": "2020-06-30",
            "exportArn": format!("{table_arn}/export/{export_id}"),
            "startTime": iso8601(start_ms),
            "endTime": iso8601(end_ms),
            "tableArn": table_arn,
            "tableId": table_id,
            "exportTime": iso8601(start_ms),
            "s3Bucket": to.bucket,
            "s3Prefix": if to.prefix.is_empty() { None } else { Some(&to.prefix) },
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": null,
            "billedSizeBytes": 0,
            "itemCount": items,
            "outputFormat": format.as_str(),
            "exportType": "FULL_EXPORT",
        });
        let key = {
            let to = to.clone();
            blocking(move || {
                write_manifests(to.store.as_ref(), &to.bucket, &base, &files, summary)
                    .map_err(|e| format!("{}: {e}", to.shown))
            })
            .await?
        };
        eprintln!(
            "exported {items} items in {:.1} s to {}/{}",
            (end_ms - start_ms) as f64 / 1000.0,
            to.shown,
            key.strip_prefix(&to.prefix)
                .unwrap_or(&key)
                .trim_start_matches('/')
        );
        Ok(())
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn uuid_hex() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// The keys of the data files at `from`, in name order: every object under its prefix whose
/// name ends in `.json` or `.ion` (optionally `.gz` or `.zst`), manifests excepted.
fn data_files(from: &Location) -> Result<Vec<String>, String> {
    let listed = from
        .store
        .list(&from.bucket, &from.prefix)
        .map_err(|e| format!("{}: {e}", from.shown))?;
    Ok(listed
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| !from.single || *key == from.prefix)
        .filter(|key| {
            let name = key.rsplit('/').next().unwrap_or(key);
            !name.starts_with("manifest-")
                && [
                    ".json",
                    ".ion",
                    ".json.gz",
                    ".ion.gz",
                    ".json.zst",
                    ".ion.zst",
                ]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .collect())
}

/// Runs `binderdb import`.
///
/// # Errors
/// Bad arguments, a missing table, endpoint errors, unreadable files.
pub fn import(args: ImportArgs) -> Result<(), String> {
    if args.connections == 0 {
        return Err("--connections must be at least 1".to_owned());
    }
    let from = Location::parse(&args.from, &args.s3, &args.region, false)?;
    let files = data_files(&from)?;
    if files.is_empty() {
        return Err(format!(
            "{}: no data files (.json, .ion, optionally .gz or .zst)",
            from.shown
        ));
    }
    let endpoint = Arc::new(Endpoint::parse(&args.endpoint)?);
    let signer = Signer::new(Credentials::from_env(), &args.region, "dynamodb");
    let rt = runtime()?;
    let started = Instant::now();
    let count = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        let mut conn = Connection::open(endpoint.clone(), signer.clone()).await?;
        call_retrying(
            &mut conn,
            Operation::DescribeTable,
            &json!({"TableName": args.table}),
        )
        .await
        .map_err(|e| format!("{e} (create the table first)"))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Item>>(args.connections as usize * 4);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let running = Arc::new(AtomicBool::new(true));
        let bar = progress("imported", count.clone(), running.clone());
        let mut writers = Vec::new();
        for _ in 0..args.connections {
            let (endpoint, signer, rx, table, count) = (
                endpoint.clone(),
                signer.clone(),
                rx.clone(),
                args.table.clone(),
                count.clone(),
            );
            writers.push(tokio::spawn(async move {
                let mut conn = Connection::open(endpoint, signer).await?;
                loop {
                    let Some(batch) = rx.lock().await.recv().await else {
                        return Ok::<(), String>(());
                    };
                    let n = batch.len() as u64;
                    let mut requests: Value = batch
                        .into_iter()
                        .map(|item| json!({"PutRequest": {"Item": item}}))
                        .collect();
                    let mut delay = Duration::from_millis(10);
                    loop {
                        let answer = call_retrying(
                            &mut conn,
                            Operation::BatchWriteItem,
                            &json!({"RequestItems": {table.clone(): requests}}),
                        )
                        .await?;
                        match answer["UnprocessedItems"].get(&table) {
                            Some(Value::Array(left)) if !left.is_empty() => {
                                requests = Value::Array(left.clone());
                                tokio::time::sleep(delay).await;
                                delay = (delay * 2).min(Duration::from_secs(2));
                            }
                            _ => break,
                        }
                    }
                    count.fetch_add(n, Ordering::Relaxed);
                }
            }));
        }
        // Files are read on a blocking thread; batches of 25 go to the writers.
        let reader = {
            let bad = bad.clone();
            tokio::task::spawn_blocking(move || -> Result<(), String> {
                let mut batch = Vec::with_capacity(25);
                for key in files {
                    let name = if from.single {
                        from.shown.clone()
                    } else {
                        let relative = key.strip_prefix(&from.prefix).unwrap_or(&key);
                        format!("{}/{}", from.shown, relative.trim_start_matches('/'))
                    };
                    let compression = if name.ends_with(".gz") {
                        Compression::Gzip
                    } else if name.ends_with(".zst") {
                        Compression::Zstd
                    } else {
                        Compression::None
                    };
                    let ion_file = name.contains(".ion");
                    let object = from
                        .store
                        .open(&from.bucket, &key)
                        .map_err(|e| format!("{name}: {e}"))?;
                    let lines = compression
                        .lines(object)
                        .map_err(|e| format!("{name}: {e}"))?;
                    for (number, line) in lines.lines().enumerate() {
                        let line = line.map_err(|e| format!("{name}: {e}"))?;
                        let parsed = if ion_file {
                            ion::read_item(&line).map_err(|e| e.0)
                        } else {
                            read_json_line(&line)
                        };
                        match parsed {
                            Ok(Some(item)) => {
                                batch.push(item);
                                if batch.len() == 25 {
                                    let full =
                                        std::mem::replace(&mut batch, Vec::with_capacity(25));
                                    if tx.blocking_send(full).is_err() {
                                        return Ok(());
                                    }
                                }
                            }
                            Ok(None) => {}
                            Err(e) => {
                                if bad.fetch_add(1, Ordering::Relaxed) < 10 {
                                    eprintln!("{name}:{}: not an item: {e}", number + 1);
                                }
                            }
                        }
                    }
                }
                if !batch.is_empty() {
                    let _ = tx.blocking_send(batch);
                }
                Ok(())
            })
        };
        let read = reader.await.map_err(|e| e.to_string())?;
        let mut failure = read.err();
        for w in writers {
            if let Err(e) = w.await.map_err(|e| e.to_string()).and_then(|r| r) {
                failure.get_or_insert(e);
            }
        }
        running.store(false, Ordering::Relaxed);
        if let Some(bar) = bar {
            let _ = bar.join();
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })?;
    eprintln!(
        "imported {} items in {:.1} s ({} lines were not items)",
        count.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        bad.load(Ordering::Relaxed)
    );
    Ok(())
}
