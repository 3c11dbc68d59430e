//! Export to and import from S3 buckets mapped to a local directory: export → import round
//! trips equal the table (DynamoDB JSON and Ion; GZIP and uncompressed sources), with the
//! manifests DynamoDB writes; bad lines counted and logged; CSV; statuses; and the errors.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, ExportFormat, ExportStatus, GlobalSecondaryIndex,
    ImportStatus, InputCompressionType, InputFormat, KeySchemaElement, KeyType, Projection,
    ProjectionType, S3BucketSource, ScalarAttributeType, TableCreationParameters,
};
use aws_sdk_dynamodb::Client;
use binderdb_engine::{Clock as _, Config};
use serde_json::{json, Value};

use crate::common::*;

const DDB: &str = "com.amazonaws.dynamodb.v20120810#";

async fn server(s3: &Path) -> TestServer {
    let config = Config {
        s3_dir: Some(s3.to_path_buf()),
        ..Config::default()
    };
    TestServer::with_config(test_store(), config).await
}

fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .unwrap()
}

fn def(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .unwrap()
}

fn by_team() -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name("byTeam")
        .key_schema(key("team", KeyType::Hash))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap()
}

fn parameters(name: &str) -> TableCreationParameters {
    TableCreationParameters::builder()
        .table_name(name)
        .attribute_definitions(def("pk", ScalarAttributeType::S))
        .attribute_definitions(def("sk", ScalarAttributeType::N))
        .attribute_definitions(def("team", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(by_team())
        .build()
        .unwrap()
}

/// Table `name` (pk S, sk N, GSI byTeam) holding `count` items of every attribute type.
async fn source_table(client: &Client, addr: std::net::SocketAddr, name: &str, count: usize) {
    let p = parameters(name);
    client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(p.attribute_definitions().to_vec().into())
        .set_key_schema(p.key_schema().to_vec().into())
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(by_team())
        .send()
        .await
        .unwrap();
    enable_pitr(addr, name).await;
    for i in 0..count {
        let mut item = json!({
            "pk": {"S": format!("p{}", i % 7)},
            "sk": {"N": format!("{i}.5")},
            "team": {"S": format!("t{}", i % 3)},
            "text": {"S": format!("line \"{i}\"\n\tünïcödé 'q' \\")},
            "bin": {"B": "AAEC/w=="},
            "flag": {"BOOL": i % 2 == 0},
            "nothing": {"NULL": true},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "-2.25", "1e100"]},
            "bs": {"BS": ["AA==", "AQ=="]},
            "m": {"M": {"deep": {"L": [{"N": "0.001"}, {"M": {}}, {"L": []}]}}},
        });
        if i % 5 == 0 {
            // Sparse in the index.
            item.as_object_mut().unwrap().remove("team");
        }
        let r = call(addr, "PutItem", json!({"TableName": name, "Item": item})).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}

/// Turns point-in-time recovery on for `table` (DynamoDB exports only such tables).
async fn enable_pitr(addr: std::net::SocketAddr, table: &str) {
    let r = call(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": table,
               "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

/// Every item of `table` (or of its index), sorted, as JSON.
async fn all_items(addr: std::net::SocketAddr, table: &str, index: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut body = json!({"TableName": table});
        if let Some(i) = index {
            body["IndexName"] = json!(i);
        }
        if let Some(s) = start.take() {
            body["ExclusiveStartKey"] = s;
        }
        let r = call(addr, "Scan", body).await;
        assert_eq!(r.status, 200);
        let v = r.json();
        out.extend(v["Items"].as_array().unwrap().iter().cloned());
        match v.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    // Sets come back in any order: compare them sorted.
    let mut normal: Vec<Value> = out
        .into_iter()
        .map(|mut item| {
            for (_, v) in item.as_object_mut().unwrap().iter_mut() {
                for set in ["SS", "NS", "BS"] {
                    if let Some(Value::Array(a)) = v.get_mut(set) {
                        a.sort_by_key(|x| x.to_string());
                    }
                }
            }
            item
        })
        .collect();
    normal.sort_by_key(|v| v.to_string());
    normal
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The most polls of a job's status before a test gives up on it.
const POLLS: usize = 3000;

/// DescribeExport or DescribeImport (`operation`) of `arn`, polled as an SDK waiter does
/// until the job leaves IN_PROGRESS (at most [`POLLS`] times, 10 ms apart).
async fn settled(addr: std::net::SocketAddr, operation: &str, arn: &Value) -> Value {
    let (member, description, status) = if operation == "DescribeExport" {
        ("ExportArn", "ExportDescription", "ExportStatus")
    } else {
        ("ImportArn", "ImportTableDescription", "ImportStatus")
    };
    let mut polls = 0;
    loop {
        let d = call(addr, operation, json!({ member: arn })).await.json();
        polls += 1;
        if d[description][status] != "IN_PROGRESS" || polls >= POLLS {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn wait_export(client: &Client, arn: &str) -> aws_sdk_dynamodb::types::ExportDescription {
    for _ in 0..POLLS {
        let d = client
            .describe_export()
            .export_arn(arn)
            .send()
            .await
            .unwrap();
        let d = d.export_description().unwrap().clone();
        if d.export_status() != Some(&ExportStatus::InProgress) {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    unreachable!("export {arn} still IN_PROGRESS after {POLLS} polls")
}

async fn export(client: &Client, table_arn: &str, bucket: &str, format: ExportFormat) -> String {
    let out = client
        .export_table_to_point_in_time()
        .table_arn(table_arn)
        .s3_bucket(bucket)
        .s3_prefix("exports/nightly")
        .export_format(format)
        .send()
        .await
        .unwrap();
    let d = out.export_description().unwrap();
    assert_eq!(d.export_status(), Some(&ExportStatus::InProgress));
    let arn = d.export_arn().unwrap().to_owned();
    let d = wait_export(client, &arn).await;
    assert_eq!(
        d.export_status(),
        Some(&ExportStatus::Completed),
        "{:?}",
        d.failure_message()
    );
    arn
}

async fn import(
    client: &Client,
    bucket: &str,
    prefix: &str,
    format: InputFormat,
    compression: InputCompressionType,
    table: &str,
) -> aws_sdk_dynamodb::types::ImportTableDescription {
    let out = client
        .import_table()
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket(bucket)
                .s3_key_prefix(prefix)
                .build()
                .unwrap(),
        )
        .input_format(format)
        .input_compression_type(compression)
        .table_creation_parameters(parameters(table))
        .send()
        .await
        .unwrap();
    let d = out.import_table_description().unwrap();
    assert_eq!(d.import_status(), Some(&ImportStatus::InProgress));
    let arn = d.import_arn().unwrap();
    for _ in 0..POLLS {
        let described = client
            .describe_import()
            .import_arn(arn)
            .send()
            .await
            .unwrap();
        let d = described.import_table_description().unwrap().clone();
        if d.import_status() != Some(&ImportStatus::InProgress) {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    unreachable!("import {arn} still IN_PROGRESS after {POLLS} polls")
}

#[tokio::test]
async fn export_then_import_equals_the_table_in_both_formats_and_compressions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bucket")).unwrap();
    let server = server(dir.path()).await;
    let client = server.client();
    source_table(&client, server.addr, "Source", 240).await;
    let table_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Source";
    let expected = all_items(server.addr, "Source", None).await;
    let expected_index = all_items(server.addr, "Source", Some("byTeam")).await;
    assert_eq!(expected.len(), 240);

    for (n, format) in [ExportFormat::DynamodbJson, ExportFormat::Ion]
        .into_iter()
        .enumerate()
    {
        let arn = export(&client, table_arn, "bucket", format.clone()).await;
        let export_id = arn.rsplit('/').next().unwrap();
        let base = format!("exports/nightly/AWSDynamoDB/{export_id}/");
        let root = dir.path().join("bucket");
        assert!(root.join(format!("{base}_started")).is_file());

        // The summary and its checksum.
        let summary_bytes = read(&root.join(format!("{base}manifest-summary.json")));
        let summary: Value = serde_json::from_slice(&summary_bytes).unwrap();
        assert_eq!(summary["version"], "2020-06-30");
        assert_eq!(summary["exportArn"], arn.as_str());
        assert_eq!(summary["tableArn"], table_arn);
        assert_eq!(summary["s3Bucket"], "bucket");
        assert_eq!(summary["s3Prefix"], "exports/nightly");
        assert_eq!(summary["itemCount"], 240);
        assert_eq!(summary["outputFormat"], format.as_str());
        assert_eq!(
            summary["manifestFilesS3Key"],
            format!("{base}manifest-files.json")
        );
        assert_eq!(
            String::from_utf8(read(&root.join(format!("{base}manifest-summary.checksum"))))
                .unwrap(),
            md5_hex(&summary_bytes)
        );

        // Each data file: its MD5 and item count as manifest-files.json says.
        let files = read(&root.join(format!("{base}manifest-files.json")));
        assert_eq!(
            String::from_utf8(read(&root.join(format!("{base}manifest-files.checksum")))).unwrap(),
            md5_hex(&files)
        );
        let mut counted = 0;
        let plain = format!("plain{n}/");
        for line in String::from_utf8(files).unwrap().lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            let key = entry["dataFileS3Key"].as_str().unwrap();
            let ext = if n == 0 { ".json.gz" } else { ".ion.gz" };
            assert!(key.starts_with(&format!("{base}data/")) && key.ends_with(ext));
            let gz = read(&root.join(key));
            assert_eq!(entry["etag"], md5_hex(&gz));
            let mut text = String::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_string(&mut text)
                .unwrap();
            let lines = text
                .lines()
                .filter(|l| l.starts_with("{Item:") || l.starts_with("{\"Item\":"))
                .count();
            assert_eq!(entry["itemCount"], lines);
            counted += lines;
            // The same data, uncompressed, for the NONE import below.
            let path = root.join(format!("{plain}{}", key.rsplit('/').next().unwrap()));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::File::create(path.with_extension(""))
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        assert_eq!(counted, 240);

        let input = if n == 0 {
            InputFormat::DynamodbJson
        } else {
            InputFormat::Ion
        };
        for (compression, prefix) in [
            (InputCompressionType::Gzip, format!("{base}data/")),
            (InputCompressionType::None, plain.clone()),
        ] {
            let target = format!("Copy{n}{}", compression.as_str());
            let d = import(
                &client,
                "bucket",
                &prefix,
                input.clone(),
                compression,
                &target,
            )
            .await;
            assert_eq!(d.import_status(), Some(&ImportStatus::Completed));
            assert_eq!(d.imported_item_count(), 240);
            assert_eq!(d.processed_item_count(), 240);
            assert_eq!(d.error_count(), 0);
            assert!(d.processed_size_bytes().unwrap() > 0);
            assert_eq!(all_items(server.addr, &target, None).await, expected);
            assert_eq!(
                all_items(server.addr, &target, Some("byTeam")).await,
                expected_index
            );
            let described = call(server.addr, "DescribeTable", json!({"TableName": target}))
                .await
                .json();
            assert_eq!(described["Table"]["ItemCount"], 240);
        }
    }

    let listed = client
        .list_exports()
        .table_arn(table_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.export_summaries().len(), 2);
    let imports = client.list_imports().page_size(3).send().await.unwrap();
    assert_eq!(imports.import_summary_list().len(), 3);
    assert!(imports.next_token().is_some());
    let rest = client
        .list_imports()
        .next_token(imports.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.import_summary_list().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn bad_lines_are_counted_and_logged_and_csv_reads_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("in");
    std::fs::create_dir_all(root.join("json")).unwrap();
    std::fs::create_dir_all(root.join("csv")).unwrap();
    std::fs::write(
        root.join("json/part-1.json"),
        concat!(
            "{\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"}}}\n",
            "not json at all\n",
            "{\"Item\":{\"pk\":{\"S\":\"b\"}}}\n",
            "\n",
            "{\"Item\":{\"pk\":{\"S\":\"c\"},\"sk\":{\"N\":\"3\"},\"x\":{\"SS\":[]}}}\n",
            "{\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"v\":{\"S\":\"later wins\"}}}\n",
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("csv/people.csv"),
        "pk;sk;name;team\nann;1;\"Ann; \"\"A\"\"\";red\nbob;x;Bob;\n",
    )
    .unwrap();
    let server = server(dir.path()).await;
    let client = server.client();

    let d = import(
        &client,
        "in",
        "json/",
        InputFormat::DynamodbJson,
        InputCompressionType::None,
        "Partial",
    )
    .await;
    assert_eq!(d.import_status(), Some(&ImportStatus::Completed));
    assert_eq!(d.error_count(), 3);
    assert_eq!(d.processed_item_count(), 5);
    assert_eq!(d.imported_item_count(), 2);
    let items = all_items(server.addr, "Partial", None).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["v"]["S"], "later wins");
    let import_id = d
        .import_arn()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let log = std::fs::read_to_string(dir.path().join(format!(
        "_binderdb-logs/aws-dynamodb/imports/{import_id}.log"
    )))
    .unwrap();
    let logged: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        logged
            .iter()
            .map(|l| l["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 3, 5]
    );
    assert!(logged[1]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("Missing the key sk"));

    let r = call(
        server.addr,
        "ImportTable",
        json!({
            "S3BucketSource": {"S3Bucket": "in", "S3KeyPrefix": "csv/"},
            "InputFormat": "CSV",
            "InputFormatOptions": {"Csv": {"Delimiter": ";"}},
            "TableCreationParameters": {
                "TableName": "People",
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"}
                ],
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"}
                ],
                "BillingMode": "PAY_PER_REQUEST"
            }
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let described = settled(
        server.addr,
        "DescribeImport",
        &r.json()["ImportTableDescription"]["ImportArn"],
    )
    .await;
    let d = &described["ImportTableDescription"];
    assert_eq!(d["ImportStatus"], "COMPLETED");
    assert_eq!(d["ErrorCount"], 1);
    assert_eq!(d["InputFormatOptions"]["Csv"]["Delimiter"], ";");
    assert_eq!(d["TableCreationParameters"]["TableName"], "People");
    let people = all_items(server.addr, "People", None).await;
    assert_eq!(
        people,
        vec![
            json!({"pk": {"S": "ann"}, "sk": {"N": "1"}, "name": {"S": "Ann; \"A\""}, "team": {"S": "red"}})
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn failures_and_errors_are_dynamodbs() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path()).await;
    let client = server.client();
    let addr = server.addr;
    source_table(&client, addr, "Tab", 3).await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Tab";

    // A missing bucket: the export fails, with S3's code.
    let r = call(
        addr,
        "ExportTableToPointInTime",
        json!({"TableArn": arn, "S3Bucket": "nobucket"}),
    )
    .await;
    assert_eq!(r.status, 200);
    let export_arn = r.json()["ExportDescription"]["ExportArn"].clone();
    let d = settled(addr, "DescribeExport", &export_arn).await;
    assert_eq!(d["ExportDescription"]["ExportStatus"], "FAILED");
    assert_eq!(d["ExportDescription"]["FailureCode"], "S3NoSuchBucket");

    // A failed import leaves no table.
    let r = call(
        addr,
        "ImportTable",
        json!({
            "S3BucketSource": {"S3Bucket": "nobucket"},
            "InputFormat": "ION",
            "TableCreationParameters": {
                "TableName": "Never",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST"
            }
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let import_arn = r.json()["ImportTableDescription"]["ImportArn"].clone();
    let d = settled(addr, "DescribeImport", &import_arn).await;
    assert_eq!(d["ImportTableDescription"]["ImportStatus"], "FAILED");
    assert_eq!(d["ImportTableDescription"]["FailureCode"], "S3NoSuchBucket");
    let r = call(addr, "DescribeTable", json!({"TableName": "Never"})).await;
    assert_eq!(r.json()["__type"], NOT_FOUND);

    let missing =
        "arn:aws:dynamodb:us-east-1:000000000000:table/Tab/export/01700000000000-00000000";
    let r = call(addr, "DescribeExport", json!({"ExportArn": missing})).await;
    assert_eq!(r.json()["__type"], format!("{DDB}ExportNotFoundException"));
    let r = call(
        addr,
        "DescribeImport",
        json!({"ImportArn": missing.replace("export", "import")}),
    )
    .await;
    assert_eq!(r.json()["__type"], format!("{DDB}ImportNotFoundException"));
    let r = call(
        addr,
        "ExportTableToPointInTime",
        json!({"TableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/Nope", "S3Bucket": "b1"}),
    )
    .await;
    assert_eq!(r.json()["__type"], format!("{DDB}TableNotFoundException"));
    let future = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let r = call(
        addr,
        "ExportTableToPointInTime",
        json!({"TableArn": arn, "S3Bucket": "b1", "ExportTime": future}),
    )
    .await;
    assert_eq!(
        r.json()["__type"],
        format!("{DDB}InvalidExportTimeException")
    );
    let r = call(
        addr,
        "ExportTableToPointInTime",
        json!({"TableArn": arn, "S3Bucket": "bad bucket!", "ExportFormat": "CSV"}),
    )
    .await;
    assert_eq!(r.json()["__type"], VALIDATION);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("2 validation errors detected"));

    // ClientToken: the same request answers the first export; another request conflicts.
    std::fs::create_dir(dir.path().join("b1")).unwrap();
    let body = json!({"TableArn": arn, "S3Bucket": "b1", "ClientToken": "tok"});
    let first = call(addr, "ExportTableToPointInTime", body.clone())
        .await
        .json();
    settled(
        addr,
        "DescribeExport",
        &first["ExportDescription"]["ExportArn"],
    )
    .await;
    let again = call(addr, "ExportTableToPointInTime", body).await.json();
    assert_eq!(
        first["ExportDescription"]["ExportArn"],
        again["ExportDescription"]["ExportArn"]
    );
    assert_eq!(again["ExportDescription"]["ExportStatus"], "COMPLETED");
    assert_eq!(again["ExportDescription"]["ItemCount"], 3);
    let r = call(
        addr,
        "ExportTableToPointInTime",
        json!({"TableArn": arn, "S3Bucket": "b1", "ClientToken": "tok", "ExportFormat": "ION"}),
    )
    .await;
    assert_eq!(r.json()["__type"], format!("{DDB}ExportConflictException"));

    // Importing into a table that exists is CreateTable's ResourceInUseException.
    let r = call(
        addr,
        "ImportTable",
        json!({
            "S3BucketSource": {"S3Bucket": "b1"},
            "InputFormat": "DYNAMODB_JSON",
            "InputCompressionType": "GZIP",
            "TableCreationParameters": {
                "TableName": "Tab",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST"
            }
        }),
    )
    .await;
    assert_eq!(r.json()["__type"], IN_USE);
    server.stop().await;
}

/// 2026-01-01T00:00:00Z, ms.
const T0: u64 = 1_767_225_600_000;
const MINUTE: u64 = 60 * 1000;

/// Every line of an export's data files, gunzipped, parsed as JSON.
fn export_lines(bucket: &Path, summary_key: &str) -> (Value, Vec<Value>) {
    let summary: Value = serde_json::from_slice(&read(&bucket.join(summary_key))).unwrap();
    let files = read(&bucket.join(summary["manifestFilesS3Key"].as_str().unwrap()));
    let mut lines = Vec::new();
    for entry in String::from_utf8(files).unwrap().lines() {
        let entry: Value = serde_json::from_str(entry).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(
            &read(&bucket.join(entry["dataFileS3Key"].as_str().unwrap()))[..],
        )
        .read_to_string(&mut text)
        .unwrap();
        lines.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    (summary, lines)
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|x| x.to_string());
    v
}

#[tokio::test]
async fn exports_read_the_recovery_log_at_export_time_and_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bkt")).unwrap();
    let clock = Arc::new(binderdb_engine::ManualClock::new(T0));
    let config = Config {
        s3_dir: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    let addr = server.addr;
    let ok = |r: RawResponse| {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    };
    ok(call(
        addr,
        "CreateTable",
        json!({"TableName": "Hist", "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}),
    )
    .await);
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Hist";
    // Without point-in-time recovery, DynamoDB exports nothing.
    let r = call(
        addr,
        "ExportTableToPointInTime",
        json!({"TableArn": arn, "S3Bucket": "bkt"}),
    )
    .await;
    assert_eq!(
        r.json()["__type"],
        format!("{DDB}PointInTimeRecoveryUnavailableException")
    );
    enable_pitr(addr, "Hist").await;
    let put = |pk: &str, v: &str| {
        call(
            addr,
            "PutItem",
            json!({"TableName": "Hist", "Item": {"pk": {"S": pk}, "v": {"S": v}}}),
        )
    };
    clock.advance(1000);
    ok(put("a", "1").await);
    ok(put("b", "1").await);
    ok(put("c", "1").await);
    clock.advance(MINUTE);
    let t1 = clock.now_millis();
    clock.advance(1000);
    ok(put("a", "2").await);
    ok(call(
        addr,
        "DeleteItem",
        json!({"TableName": "Hist", "Key": {"pk": {"S": "b"}}}),
    )
    .await);
    ok(put("d", "2").await);
    ok(put("e", "2").await);
    ok(call(
        addr,
        "DeleteItem",
        json!({"TableName": "Hist", "Key": {"pk": {"S": "e"}}}),
    )
    .await);
    clock.advance(30 * MINUTE);

    // A full export at t1 is the table as it was then.
    let described = ok(call(
        addr,
        "ExportTableToPointInTime",
        json!({"TableArn": arn, "S3Bucket": "bkt", "ExportTime": t1 as f64 / 1000.0}),
    )
    .await);
    let d = settled(
        addr,
        "DescribeExport",
        &described["ExportDescription"]["ExportArn"],
    )
    .await;
    let d = &d["ExportDescription"];
    assert_eq!(d["ExportStatus"], "COMPLETED", "{d}");
    assert_eq!(d["ExportTime"].as_f64().unwrap(), t1 as f64 / 1000.0);
    let (_, lines) = export_lines(
        &dir.path().join("bkt"),
        d["ExportManifest"].as_str().unwrap(),
    );
    let item = |pk: &str, v: &str| json!({"pk": {"S": pk}, "v": {"S": v}});
    assert_eq!(
        sorted(lines),
        sorted(
            ["a", "b", "c"]
                .iter()
                .map(|k| json!({"Item": item(k, "1")}))
                .collect()
        )
    );

    // An incremental export of (t1, t1 + 20 min]: one line per changed item.
    let described = ok(call(
        addr,
        "ExportTableToPointInTime",
        json!({"TableArn": arn, "S3Bucket": "bkt", "S3Prefix": "inc",
               "ExportType": "INCREMENTAL_EXPORT",
               "IncrementalExportSpecification": {
                   "ExportFromTime": t1 as f64 / 1000.0,
                   "ExportToTime": (t1 + 20 * MINUTE) as f64 / 1000.0,
                   "ExportViewType": "NEW_AND_OLD_IMAGES"}}),
    )
    .await);
    let d = settled(
        addr,
        "DescribeExport",
        &described["ExportDescription"]["ExportArn"],
    )
    .await;
    let d = &d["ExportDescription"];
    assert_eq!(d["ExportStatus"], "COMPLETED", "{d}");
    assert_eq!(d["ExportType"], "INCREMENTAL_EXPORT");
    let (summary, lines) = export_lines(
        &dir.path().join("bkt"),
        d["ExportManifest"].as_str().unwrap(),
    );
    assert_eq!(summary["exportType"], "INCREMENTAL_EXPORT");
    assert_eq!(summary["outputView"], "NEW_AND_OLD_IMAGES");
    let stamp = json!({"WriteTimestampMicros": {"N": ((t1 + 1000) * 1000).to_string()}});
    assert_eq!(
        sorted(lines.clone()),
        sorted(vec![
            json!({"Metadata": stamp, "Keys": {"pk": {"S": "a"}}, "NewImage": item("a", "2"), "OldImage": item("a", "1")}),
            json!({"Metadata": stamp, "Keys": {"pk": {"S": "b"}}, "OldImage": item("b", "1")}),
            json!({"Metadata": stamp, "Keys": {"pk": {"S": "d"}}, "NewImage": item("d", "2")}),
        ])
    );
    let data_keys = String::from_utf8(read(
        &dir.path()
            .join("bkt")
            .join(summary["manifestFilesS3Key"].as_str().unwrap()),
    ))
    .unwrap();
    assert!(data_keys.contains("\"inc/AWSDynamoDB/data/"), "{data_keys}");

    // The period's bounds and the window.
    for (from, to) in [
        (t1, t1 + MINUTE),      // shorter than 15 minutes
        (t1 + 20 * MINUTE, t1), // backwards
    ] {
        let r = call(
            addr,
            "ExportTableToPointInTime",
            json!({"TableArn": arn, "S3Bucket": "bkt", "ExportType": "INCREMENTAL_EXPORT",
                   "IncrementalExportSpecification": {"ExportFromTime": from as f64 / 1000.0,
                                                      "ExportToTime": to as f64 / 1000.0}}),
        )
        .await;
        assert_eq!(r.json()["__type"], VALIDATION);
    }
    for time in [T0 - 3_600_000, T0 + 3_600_000_000] {
        let r = call(
            addr,
            "ExportTableToPointInTime",
            json!({"TableArn": arn, "S3Bucket": "bkt", "ExportTime": time as f64 / 1000.0}),
        )
        .await;
        assert_eq!(
            r.json()["__type"],
            format!("{DDB}InvalidExportTimeException")
        );
    }
    server.stop().await;
}

/// A restart fails the jobs it interrupted: an export left IN_PROGRESS is FAILED, and an
/// interrupted import is FAILED with its half-loaded table deleted.
#[tokio::test]
async fn a_restart_fails_interrupted_jobs_and_drops_their_tables() {
    use binderdb_engine::exchange::{self, ExportRecord, ImportRecord, JobStatus, RECORD_FORMAT};
    let dir = tempfile::tempdir().unwrap();
    // In-memory explicitly: a node starting on a shared store (RADOS) must not fail jobs
    // another node may be running, so there a restart leaves them alone by design.
    let store: Arc<dyn binderdb_storage::Store> = Arc::new(binderdb_storage::MemoryStore::new());
    let config = Config {
        s3_dir: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let server = TestServer::with_config(store.clone(), config.clone()).await;
    let client = server.client();
    source_table(&client, server.addr, "Half", 5).await;
    let table_id = call(server.addr, "DescribeTable", json!({"TableName": "Half"}))
        .await
        .json()["Table"]["TableId"]
        .as_str()
        .unwrap()
        .to_owned();
    server.stop().await;

    let table_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Half";
    let export_arn = format!("{table_arn}/export/01700000000000-0000aaaa");
    let import_arn = format!("{table_arn}/import/01700000000000-0000bbbb");
    exchange::save(
        store.as_ref(),
        &ExportRecord {
            format: RECORD_FORMAT,
            arn: export_arn.clone(),
            account: None,
            table_arn: table_arn.to_owned(),
            table_id: table_id.clone(),
            request: json!({"TableArn": table_arn, "S3Bucket": "b"}),
            client_token: None,
            export_format: "DYNAMODB_JSON".to_owned(),
            export_type: "FULL_EXPORT".to_owned(),
            export_time_ms: 1_700_000_000_000,
            start_ms: 1_700_000_000_000,
            end_ms: None,
            status: JobStatus::InProgress,
            manifest: None,
            item_count: 0,
            billed_size_bytes: 0,
        },
    )
    .unwrap();
    exchange::save(
        store.as_ref(),
        &ImportRecord {
            format: RECORD_FORMAT,
            arn: import_arn.clone(),
            account: None,
            table_arn: table_arn.to_owned(),
            table_id,
            request: json!({"S3BucketSource": {"S3Bucket": "b"}, "InputFormat": "ION"}),
            client_token: None,
            start_ms: 1_700_000_000_000,
            end_ms: None,
            status: JobStatus::InProgress,
            error_count: 0,
            processed_size_bytes: 0,
            processed_item_count: 0,
            imported_item_count: 0,
            log_path: None,
        },
    )
    .unwrap();

    let server = TestServer::with_config(store, config).await;
    let d = call(
        server.addr,
        "DescribeExport",
        json!({"ExportArn": export_arn}),
    )
    .await
    .json();
    assert_eq!(d["ExportDescription"]["ExportStatus"], "FAILED", "{d}");
    assert_eq!(d["ExportDescription"]["FailureCode"], "InternalServerError");
    let d = call(
        server.addr,
        "DescribeImport",
        json!({"ImportArn": import_arn}),
    )
    .await
    .json();
    assert_eq!(d["ImportTableDescription"]["ImportStatus"], "FAILED", "{d}");
    let r = call(server.addr, "DescribeTable", json!({"TableName": "Half"})).await;
    assert_eq!(r.json()["__type"], NOT_FOUND);
    server.stop().await;
}

/// While an import loads, DescribeImport says IN_PROGRESS and its table is CREATING; both
/// settle when it ends (polled as a waiter does).
#[tokio::test]
async fn an_import_runs_in_the_background_with_its_table_creating() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big").join("in");
    std::fs::create_dir_all(&source).unwrap();
    // Enough items for the import to be seen running: on RADOS, where each item is a few
    // replicated writes, far fewer do.
    let store = test_store();
    let items = if store.shared() { 1_000 } else { 20_000 };
    let mut lines = String::new();
    for i in 0..items {
        lines.push_str(&format!(
            "{{\"Item\":{{\"pk\":{{\"S\":\"k{i}\"}},\"team\":{{\"S\":\"t{}\"}}}}}}\n",
            i % 7
        ));
    }
    std::fs::write(source.join("one.json"), &lines).unwrap();
    let config = Config {
        s3_dir: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let server = TestServer::with_config(store, config).await;
    let r = call(
        server.addr,
        "ImportTable",
        json!({
            "S3BucketSource": {"S3Bucket": "big", "S3KeyPrefix": "in/"},
            "InputFormat": "DYNAMODB_JSON",
            "TableCreationParameters": {
                "TableName": "Loaded",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST"
            }
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let arn = r.json()["ImportTableDescription"]["ImportArn"].clone();
    assert_eq!(
        r.json()["ImportTableDescription"]["ImportStatus"],
        "IN_PROGRESS"
    );
    // The table turns ACTIVE before the import's record says COMPLETED, so a table read
    // before an IN_PROGRESS answer must have been CREATING.
    let table = call(server.addr, "DescribeTable", json!({"TableName": "Loaded"}))
        .await
        .json();
    let first = call(server.addr, "DescribeImport", json!({"ImportArn": arn}))
        .await
        .json();
    if first["ImportTableDescription"]["ImportStatus"] == "IN_PROGRESS" {
        assert_eq!(table["Table"]["TableStatus"], "CREATING", "{table}");
    }
    let d = settled(server.addr, "DescribeImport", &arn).await;
    assert_eq!(
        d["ImportTableDescription"]["ImportStatus"], "COMPLETED",
        "{d}"
    );
    assert_eq!(d["ImportTableDescription"]["ImportedItemCount"], items);
    let table = call(server.addr, "DescribeTable", json!({"TableName": "Loaded"}))
        .await
        .json();
    assert_eq!(table["Table"]["TableStatus"], "ACTIVE");
    assert_eq!(table["Table"]["ItemCount"], items);
    server.stop().await;
}
