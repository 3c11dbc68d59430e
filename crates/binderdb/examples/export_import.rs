//! Measures ExportTableToPointInTime (MB/s of DynamoDB JSON written) and ImportTable (items/s)
//! of a large table on the durable engine.
//!
//! Loads N items (default 1,000,000; ~200 bytes of DynamoDB JSON each) through BatchWriteItem,
//! exports them as DynamoDB JSON to a bucket directory, counts the uncompressed JSON bytes the
//! export wrote (after the timing), then imports the export's data files into a new table.
//!
//! Run: `cargo run --release -p binderdb --example export_import [ITEMS] [DIR]`
//! (DIR defaults to a temporary directory under the current one, on a real disk).

// A measurement tool: a failed request ends it with its message.
#![allow(clippy::expect_used)]

use std::error::Error;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use binderdb_engine::{Config, Database, RequestContext, SystemClock};
use binderdb_storage_fjall::FjallStore;
use serde_json::json;

fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("a valid request")
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
    let s3 = dir.join("s3");
    std::fs::create_dir_all(s3.join("bucket"))?;
    let store = Arc::new(FjallStore::open(&dir.join("data"))?);
    let config = Config {
        s3_dir: Some(s3.clone()),
        ..Config::default()
    };
    let db = Arc::new(Database::open(store, config, Arc::new(SystemClock))?);
    let ctx = RequestContext::default();
    let schema = json!({
        "TableName": "Big", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}]
    });
    db.create_table(&ctx, input(schema.clone()))?;
    // DynamoDB exports only tables with point-in-time recovery.
    db.update_continuous_backups(
        &ctx,
        input(json!({"TableName": "Big",
                     "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}})),
    )?;
    let started = Instant::now();
    for first in (0..items).step_by(25) {
        let requests: Vec<_> = (first..(first + 25).min(items))
            .map(|i| {
                json!({"PutRequest": {"Item": {
                    "pk": {"S": format!("user{:08}", i / 10)},
                    "sk": {"N": (i % 10).to_string()},
                    "team": {"S": format!("team{}", i % 1000)},
                    "score": {"N": format!("{}.{}", i % 10_007, i % 97)},
                    "active": {"BOOL": i % 2 == 0},
                    "tags": {"SS": ["alpha", "beta"]},
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

    let started = Instant::now();
    let export = db.export_table_to_point_in_time(
        &ctx,
        input(
            json!({"TableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/Big",
                     "S3Bucket": "bucket", "ExportFormat": "DYNAMODB_JSON"}),
        ),
    )?;
    let arn = export.export_description.export_arn;
    // The export runs in the background: poll as a waiter does.
    loop {
        let d = db.describe_export(&ctx, input(json!({ "ExportArn": arn })))?;
        match d.export_description.export_status.as_str() {
            "IN_PROGRESS" => std::thread::sleep(std::time::Duration::from_millis(5)),
            "COMPLETED" => break,
            other => {
                return Err(
                    format!("export {other}: {:?}", d.export_description.failure_message).into(),
                )
            }
        }
    }
    let took = started.elapsed().as_secs_f64();
    let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
    let data = s3.join("bucket").join("AWSDynamoDB").join(&id).join("data");
    let (mut json_bytes, mut gz_bytes) = (0u64, 0u64);
    for file in std::fs::read_dir(&data)? {
        let path = file?.path();
        gz_bytes += std::fs::metadata(&path)?.len();
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path)?).read_to_end(&mut text)?;
        json_bytes += text.len() as u64;
    }
    println!(
        "export: {took:.2} s, {:.1} MB of DynamoDB JSON ({:.1} MB gzip) = {:.1} MB/s, {:.0} items/s",
        json_bytes as f64 / 1e6,
        gz_bytes as f64 / 1e6,
        json_bytes as f64 / 1e6 / took,
        items as f64 / took
    );

    let mut parameters = schema;
    parameters["TableName"] = json!("Imported");
    let started = Instant::now();
    let import = db.import_table(
        &ctx,
        input(json!({
            "S3BucketSource": {"S3Bucket": "bucket",
                               "S3KeyPrefix": format!("AWSDynamoDB/{id}/data/")},
            "InputFormat": "DYNAMODB_JSON", "InputCompressionType": "GZIP",
            "TableCreationParameters": parameters
        })),
    )?;
    let arn = import.import_table_description.import_arn;
    loop {
        let d = db.describe_import(&ctx, input(json!({ "ImportArn": arn })))?;
        match d.import_table_description.import_status.as_str() {
            "IN_PROGRESS" => std::thread::sleep(std::time::Duration::from_millis(5)),
            "COMPLETED" => break,
            other => {
                return Err(format!(
                    "import {other}: {:?}",
                    d.import_table_description.failure_message
                )
                .into())
            }
        }
    }
    db.durable().wait()?;
    let took = started.elapsed().as_secs_f64();
    println!("import: {took:.2} s, {:.0} items/s", items as f64 / took);
    Ok(())
}
