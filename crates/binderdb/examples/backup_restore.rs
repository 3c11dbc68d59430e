//! Measures an on-demand backup and a restore of a large table on the durable engine, and
//! GetItem latency in the foreground while the backup runs.
//!
//! Loads N items (default 1,000,000; ~120 bytes each, one GSI) through BatchWriteItem, then
//! times CreateBackup while a thread issues GetItem in a loop (its p50/p99/max are printed,
//! with the same loop's figures measured just before, without a backup), then times
//! RestoreTableFromBackup (items and their GSI entries per second). Last, it enables
//! point-in-time recovery, changes 10,000 items (logged) and times RestoreTableToPointInTime
//! to the instant before those changes (the log walked back over them, the table copied with
//! its GSI entries).
//!
//! Run: `cargo run --release -p binderdb --example backup_restore [ITEMS] [DIR]`
//! (DIR defaults to a temporary directory under the current one, on a real disk).

// A measurement tool: a failed request ends it with its message.
#![allow(clippy::expect_used)]

use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use binderdb_engine::{Clock, Config, Database, RequestContext, SystemClock};
use binderdb_storage_fjall::FjallStore;
use serde_json::json;

fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("a valid request")
}

/// GetItem latencies (µs) of a loop over random keys until `stop`.
fn get_loop(db: &Database, items: u64, stop: &AtomicBool) -> hdrhistogram::Histogram<u64> {
    let ctx = RequestContext::default();
    let mut hist = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
    while !stop.load(Ordering::Relaxed) {
        let k = fastrand::u64(0..items);
        let started = Instant::now();
        db.get_item(
            &ctx,
            input(json!({"TableName": "Big", "Key": {"pk": {"S": format!("user{k:08}")}}})),
        )
        .expect("GetItem");
        let _ = hist.record(started.elapsed().as_micros() as u64);
    }
    hist
}

fn report(label: &str, h: &hdrhistogram::Histogram<u64>) {
    println!(
        "{label}: {} GetItem, p50 {} µs, p99 {} µs, max {} µs",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.max()
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let items: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let tmp;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir_in(".")?;
            tmp.path().to_path_buf()
        }
    };
    let store = Arc::new(FjallStore::open(&dir)?);
    let db = Arc::new(Database::open(
        store,
        Config::default(),
        Arc::new(SystemClock),
    )?);
    let ctx = RequestContext::default();
    db.create_table(
        &ctx,
        input(json!({
            "TableName": "Big", "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "team", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [{"IndexName": "byTeam",
                "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"},
                              {"AttributeName": "pk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}]
        })),
    )?;
    let started = Instant::now();
    for first in (0..items).step_by(25) {
        let requests: Vec<_> = (first..(first + 25).min(items))
            .map(|i| {
                json!({"PutRequest": {"Item": {
                    "pk": {"S": format!("user{i:08}")},
                    "team": {"S": format!("team{}", i % 1000)},
                    "score": {"N": (i % 10_007).to_string()},
                    "payload": {"S": "x".repeat(64)}
                }}})
            })
            .collect();
        db.batch_write_item(&ctx, input(json!({"RequestItems": {"Big": requests}})))?;
    }
    db.durable().wait()?;
    println!(
        "loaded {items} items in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Foreground GetItem for 2 s without a backup, then during the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || get_loop(&db, items, &stop))
    };
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    report("idle  ", &reader.join().map_err(|_| "reader panicked")?);

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || get_loop(&db, items, &stop))
    };
    let started = Instant::now();
    let backup = db.create_backup(
        &ctx,
        input(json!({"TableName": "Big", "BackupName": "bench"})),
    )?;
    db.durable().wait()?;
    let took = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    println!("CreateBackup of {items} items: {took:.2} s");
    report("backup", &reader.join().map_err(|_| "reader panicked")?);

    let started = Instant::now();
    db.restore_table_from_backup(
        &ctx,
        input(json!({"TargetTableName": "Restored",
                     "BackupArn": backup.backup_details.backup_arn})),
    )?;
    db.durable().wait()?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "RestoreTableFromBackup: {took:.2} s, {:.0} items/s (with their GSI entries)",
        items as f64 / took
    );

    db.update_continuous_backups(
        &ctx,
        input(json!({"TableName": "Big",
                     "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}})),
    )?;
    std::thread::sleep(Duration::from_millis(5));
    let before_changes = SystemClock.now_millis();
    std::thread::sleep(Duration::from_millis(5));
    for first in (0..10_000.min(items)).step_by(25) {
        let requests: Vec<_> = (first..(first + 25).min(items))
            .map(|i| {
                json!({"PutRequest": {"Item": {
                    "pk": {"S": format!("user{i:08}")},
                    "team": {"S": "changed"},
                    "payload": {"S": "y".repeat(64)}
                }}})
            })
            .collect();
        db.batch_write_item(&ctx, input(json!({"RequestItems": {"Big": requests}})))?;
    }
    db.durable().wait()?;
    let started = Instant::now();
    db.restore_table_to_point_in_time(
        &ctx,
        input(
            json!({"SourceTableName": "Big", "TargetTableName": "AtPoint",
                     "RestoreDateTime": before_changes as f64 / 1000.0}),
        ),
    )?;
    db.durable().wait()?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "RestoreTableToPointInTime (10,000 changes undone): {took:.2} s, {:.0} items/s (with \
         their GSI entries)",
        items as f64 / took
    );
    Ok(())
}
