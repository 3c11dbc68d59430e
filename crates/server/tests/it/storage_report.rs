//! binderdb's storage report (`GET /binderdb/storage`): bytes on disk per table, from a real
//! durable server; and which of binderdb's own endpoints take a signature when access keys are
//! configured.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_dynamodb::types::ScalarAttributeType;
use binderdb_engine::{Config, SystemClock};
use binderdb_storage_fjall::FjallStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

/// `GET /binderdb/storage` without a signature: (status, body).
async fn get_report(addr: SocketAddr) -> (u16, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head =
        format!("GET /binderdb/storage HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&buf[..split])
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    (status, serde_json::from_slice(&buf[split + 4..]).unwrap())
}

#[tokio::test]
async fn the_report_shows_each_tables_bytes_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FjallStore::open(dir.path()).unwrap());
    let server = TestServer::with_store(store.clone()).await;
    let client = server.client();
    for table in ["Big", "Small"] {
        create_table(&client, table, ("pk", ScalarAttributeType::S), None).await;
    }
    for i in 0..300 {
        put(
            &client,
            "Big",
            &[
                ("pk", s(&format!("k{i}"))),
                ("payload", s(&"x".repeat(1000))),
            ],
        )
        .await;
    }
    put(&client, "Small", &[("pk", s("only"))]).await;
    store.flush_memtables().unwrap();

    let (status, report) = get_report(server.addr).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["Durable"], true);
    let tables = report["Tables"].as_array().unwrap();
    let names: Vec<&str> = tables
        .iter()
        .map(|t| t["TableName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Big", "Small"]);
    let big = &tables[0];
    assert_eq!(big["Region"], "us-east-1");
    let on_disk = big["OnDiskBytes"].as_u64().unwrap();
    assert!(on_disk >= 300 * 1000 / 2, "{report}");
    assert_eq!(on_disk, big["TableBytes"].as_u64().unwrap());
    assert!(report["TotalBytes"].as_u64().unwrap() >= on_disk);
    assert!(report["JournalBytes"].as_u64().is_some());

    client
        .delete_table()
        .table_name("Big")
        .send()
        .await
        .unwrap();
    let (_, report) = get_report(server.addr).await;
    let names: Vec<&str> = report["Tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["TableName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Small"]);
    server.stop().await;
}

/// Polls the storage report until `done` holds, at most 600 times 50 ms apart (a bound, not a
/// timing assertion: background reclaiming usually takes a few milliseconds); the last report.
async fn report_until(
    addr: SocketAddr,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut report = serde_json::Value::Null;
    for _ in 0..600 {
        report = get_report(addr).await.1;
        if done(&report) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    report
}

/// Bytes of table files on disk (the journals, which keep recent writes until the next
/// checkpoint whatever happens to their tables, left out).
fn table_file_bytes(report: &serde_json::Value) -> u64 {
    report["TotalBytes"].as_u64().unwrap() - report["JournalBytes"].as_u64().unwrap()
}

/// A deleted global secondary index and a deleted table give their disk space back in the
/// background, in durable mode: the files holding only their keys are removed. (A file that
/// also holds another table's keys keeps the deleted keys, tombstoned, until a compaction
/// rewrites it; so the other table's item is written after the big table's files.)
#[tokio::test]
async fn deleted_indexes_and_tables_give_their_disk_space_back() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex,
        GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FjallStore::open(dir.path()).unwrap());
    let server = TestServer::with_store(store.clone()).await;
    let client = server.client();
    let def = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let hash = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name("Doomed")
        .attribute_definitions(def("pk"))
        .attribute_definitions(def("team"))
        .key_schema(hash("pk"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byTeam")
                .key_schema(hash("team"))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    create_table(&client, "Kept", ("pk", ScalarAttributeType::S), None).await;
    for i in 0..400 {
        put(
            &client,
            "Doomed",
            &[
                ("pk", s(&format!("k{i}"))),
                ("team", s(&format!("t{}", i % 7))),
                ("payload", s(&"x".repeat(2000))),
            ],
        )
        .await;
    }
    store.flush_memtables().unwrap();
    put(&client, "Kept", &[("pk", s("only"))]).await;
    let (_, loaded) = get_report(server.addr).await;
    let doomed = &loaded["Tables"][0];
    assert_eq!(doomed["TableName"], "Doomed", "{loaded}");
    let index_bytes = doomed["IndexBytes"].as_u64().unwrap();
    assert!(index_bytes >= 400 * 2000 / 2, "{loaded}");
    let before = table_file_bytes(&loaded);

    client
        .update_table()
        .table_name("Doomed")
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("byTeam")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The report stops counting the index once it is gone from the table, which may be before
    // its files are: wait for the files.
    let report = report_until(server.addr, |r| {
        table_file_bytes(r) + index_bytes / 2 <= before
    })
    .await;
    assert_eq!(report["Tables"][0]["IndexBytes"], 0, "{report}");
    let without_index = table_file_bytes(&report);
    assert!(
        without_index + index_bytes / 2 <= before,
        "{before} -> {without_index}: {report}"
    );

    client
        .delete_table()
        .table_name("Doomed")
        .send()
        .await
        .unwrap();
    let report = report_until(server.addr, |r| table_file_bytes(r) < without_index / 4).await;
    assert!(
        table_file_bytes(&report) < without_index / 4,
        "{without_index} -> {report}"
    );
    let names: Vec<&str> = report["Tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["TableName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kept"]);
    let kept = client
        .get_item()
        .table_name("Kept")
        .key("pk", s("only"))
        .send()
        .await
        .unwrap();
    assert!(kept.item.is_some());
    server.stop().await;
}

#[tokio::test]
async fn an_in_memory_server_has_nothing_on_disk() {
    let server = TestServer::memory().await;
    let (status, report) = get_report(server.addr).await;
    assert_eq!(
        (status, report),
        (200, serde_json::json!({ "Durable": false }))
    );
    server.stop().await;
}

#[tokio::test]
async fn with_access_keys_the_report_needs_a_signature() {
    let auth = binderdb_server::Auth::with_keys(vec![("AKID".to_owned(), "secret".to_owned())]);
    let server =
        TestServer::with_auth(test_store(), Config::default(), Arc::new(SystemClock), auth).await;
    let (status, body) = get_report(server.addr).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#MissingAuthenticationTokenException"
    );
    server.stop().await;
}

/// With access keys, nobody unsigned may change the fault rules (they change every client's
/// answers); the bill stays readable for scrapers.
#[tokio::test]
async fn with_access_keys_fault_rules_need_a_signature() {
    let auth = binderdb_server::Auth::with_keys(vec![("AKID".to_owned(), "secret".to_owned())]);
    let server =
        TestServer::with_auth(test_store(), Config::default(), Arc::new(SystemClock), auth).await;
    let send = |head: String| async move {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    };
    let rules = r#"{"rules":[{"operation":"GetItem","error":"InternalServerError","every":1}]}"#;
    let put = send(format!(
        "PUT /binderdb/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{rules}",
        rules.len()
    ))
    .await;
    assert!(put.starts_with("HTTP/1.1 400"), "{put}");
    assert!(
        put.contains("com.amazon.coral.service#MissingAuthenticationTokenException"),
        "{put}"
    );
    let rules_now =
        send("GET /binderdb/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned())
            .await;
    assert!(rules_now.starts_with("HTTP/1.1 400"), "{rules_now}");
    let bill = send("GET /bill HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned()).await;
    assert!(bill.starts_with("HTTP/1.1 200"), "{bill}");
    server.stop().await;
}
