//! `binderdb export` and `binderdb import`: a table to files and back, against any endpoint
//! that speaks DynamoDB's JSON protocol over plain HTTP, in the same file layout as
//! ExportTableToPointInTime (so either tool reads the other's files).
//!
//! - export: parallel Scan segments (`--segments`, one connection each), each writing its own
//!   gzip data file; then `manifest-files.json` and `manifest-summary.json` with their
//!   checksums. A Scan is not a snapshot: items written during the export may or may not be in
//!   it, as with any Scan-based export tool. Throttled pages are retried with backoff.
//! - import: every data file under `--from` (`.json`, `.ion`, optionally `.gz` or `.zst`),
//!   read line by line into BatchWriteItem requests of 25 over `--connections` connections;
//!   UnprocessedItems and throttling errors are retried with exponential backoff. Lines that
//!   are not items are counted and the first ones printed. The table must exist.
//!
//! Requests are signed with SigV4 from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
//! `AWS_SESSION_TOKEN`. On a terminal a progress line is redrawn every half second.
//! Not yet: `https://` endpoints and `s3://` destinations (the bench's client carries no TLS).

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
use clap::Args;
use serde_json::{json, Value};

use crate::bench::client::{Connection, Endpoint, Operation, Reply};
use crate::bench::sigv4::{Credentials, Signer};

/// `binderdb export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The endpoint, `http://host:port`.
    #[arg(long)]
    endpoint: String,
    /// The region requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The table to export.
    #[arg(long)]
    table: String,
    /// The directory to write into (created if missing); the export goes to
    /// `DIR/AWSDynamoDB/<ExportId>/`.
    #[arg(long, value_name = "DIR")]
    to: String,
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
    /// The endpoint, `http://host:port`.
    #[arg(long)]
    endpoint: String,
    /// The region requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The table to write into (it must exist).
    #[arg(long)]
    table: String,
    /// A directory (searched recursively for data files) or one data file.
    #[arg(long, value_name = "DIR|FILE")]
    from: PathBuf,
    /// Parallel BatchWriteItem connections.
    #[arg(long, default_value_t = 8)]
    connections: u32,
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

/// Runs `binderdb export`.
///
/// # Errors
/// Bad arguments, endpoint errors, file-system errors.
pub fn export(args: ExportArgs) -> Result<(), String> {
    if args.to.starts_with("s3://") {
        return Err("s3:// destinations are not supported yet: write to a directory".to_owned());
    }
    let format = LineFormat::parse(&args.format)
        .filter(|f| *f != LineFormat::Csv)
        .ok_or("--format must be DYNAMODB_JSON or ION")?;
    if args.segments == 0 {
        return Err("--segments must be at least 1".to_owned());
    }
    let dir = PathBuf::from(&args.to);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = dir.canonicalize().map_err(|e| e.to_string())?;
    let (root, bucket) = match (dir.parent(), dir.file_name()) {
        (Some(p), Some(b)) => (p.to_path_buf(), b.to_string_lossy().into_owned()),
        _ => return Err(format!("{}: not a directory to export into", dir.display())),
    };
    let buckets: Arc<dyn ObjectStore> = Arc::new(LocalBuckets::new(root));
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
        let base = export_base("", &export_id);
        buckets
            .put(&bucket, &format!("{base}_started"), b"")
            .map_err(|e| e.message)?;
        let count = Arc::new(AtomicU64::new(0));
        let running = Arc::new(AtomicBool::new(true));
        let bar = progress("exported", count.clone(), running.clone());
        let mut tasks = Vec::new();
        for segment in 0..args.segments {
            let (endpoint, signer, buckets, bucket, base, table, count) = (
                endpoint.clone(),
                signer.clone(),
                buckets.clone(),
                bucket.clone(),
                base.clone(),
                args.table.clone(),
                count.clone(),
            );
            let total = args.segments;
            tasks.push(tokio::spawn(async move {
                let mut conn = Connection::open(endpoint, signer).await?;
                let mut file = DataFileWriter::create(buckets.as_ref(), &bucket, &base, format)
                    .map_err(|e| e.message)?;
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
                    for item in &items {
                        file.write_item(item).map_err(|e| e.message)?;
                    }
                    count.fetch_add(items.len() as u64, Ordering::Relaxed);
                    match page.get("LastEvaluatedKey") {
                        Some(k) if !k.is_null() => start = Some(k.clone()),
                        _ => break,
                    }
                }
                file.finish().map_err(|e| e.message)
            }));
        }
        let mut files = Vec::new();
        for task in tasks {
            files.push(task.await.map_err(|e| e.to_string())??);
        }
        running.store(false, Ordering::Relaxed);
        if let Some(bar) = bar {
            let _ = bar.join();
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
            "s3Bucket": bucket,
            "s3Prefix": null,
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": null,
            "billedSizeBytes": 0,
            "itemCount": items,
            "outputFormat": format.as_str(),
            "exportType": "FULL_EXPORT",
        });
        let key = write_manifests(buckets.as_ref(), &bucket, &base, &files, summary)
            .map_err(|e| e.message)?;
        eprintln!(
            "exported {items} items in {:.1} s to {}",
            (end_ms - start_ms) as f64 / 1000.0,
            dir.join(key).display()
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

/// The data files under `from`, in name order.
fn data_files(from: &Path) -> Result<Vec<PathBuf>, String> {
    if from.is_file() {
        return Ok(vec![from.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut pending = vec![from.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if path.is_dir() {
                pending.push(path);
            } else if !name.starts_with("manifest-")
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
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Runs `binderdb import`.
///
/// # Errors
/// Bad arguments, a missing table, endpoint errors, unreadable files.
pub fn import(args: ImportArgs) -> Result<(), String> {
    if args.connections == 0 {
        return Err("--connections must be at least 1".to_owned());
    }
    let files = data_files(&args.from)?;
    if files.is_empty() {
        return Err(format!(
            "{}: no data files (.json, .ion, optionally .gz or .zst)",
            args.from.display()
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
                for path in files {
                    let name = path.to_string_lossy().into_owned();
                    let compression = if name.ends_with(".gz") {
                        Compression::Gzip
                    } else if name.ends_with(".zst") {
                        Compression::Zstd
                    } else {
                        Compression::None
                    };
                    let ion_file = name.contains(".ion");
                    let file = std::fs::File::open(&path).map_err(|e| format!("{name}: {e}"))?;
                    let lines = compression
                        .lines(Box::new(file))
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
