//! The bill (`GET /bill`, `GET /metrics`), injected faults (`/binderdb/faults`) and eventual
//! consistency on demand, under a manual clock.

use std::sync::Arc;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::ScalarAttributeType;
use binderdb_engine::consistency::LagMode;
use binderdb_engine::{Config, ManualClock};
use serde_json::{json, Value};

use crate::common::{call, create_table, raw_http, s, test_store, TestServer};

const START_MS: u64 = 1_800_000_000_000;

async fn server(config: Config) -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START_MS));
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    (server, clock)
}

async fn bill(server: &TestServer) -> Value {
    let r = raw_http(server.addr, "GET", "/bill", b"").await;
    assert_eq!(r.status, 200);
    r.json()
}

fn line<'a>(bill: &'a Value, table: &str, index: Option<&str>) -> &'a Value {
    bill["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["table_name"] == table && l["index_name"].as_str() == index)
        .unwrap_or_else(|| panic!("no line for {table} {index:?} in {bill}"))
}

#[tokio::test]
async fn the_bill_adds_up_a_fixed_workload_as_dynamodb_would() {
    let (server, clock) = server(Config::default()).await;
    let client = server.client();
    create_table(&client, "orders", ("pk", ScalarAttributeType::S), None).await;
    let put = |pk: &str, bytes: usize| {
        call(
            server.addr,
            "PutItem",
            json!({"TableName": "orders", "Item": {"pk": {"S": pk}, "v": {"S": "x".repeat(bytes)}}}),
        )
    };
    // Writes: 1 WCU (small), 2 WCU (1,500 bytes), then 2 WCU replacing that item by a small
    // one (the larger of old and new).
    assert_eq!(put("a", 10).await.status, 200);
    assert_eq!(put("b", 1500).await.status, 200);
    assert_eq!(put("b", 10).await.status, 200);
    // Reads: eventually consistent 0.5, strongly consistent 1, of a missing item 0.5.
    for (pk, consistent) in [("a", false), ("a", true), ("zz", false)] {
        let r = call(
            server.addr,
            "GetItem",
            json!({"TableName": "orders", "Key": {"pk": {"S": pk}}, "ConsistentRead": consistent}),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    // A transaction of two small puts: 2 × 2 WCU, transactional.
    let r = call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "t1"}}}},
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "t2"}}}}
        ]}),
    )
    .await;
    assert_eq!(r.status, 200);
    // A write refused by its condition still consumes: 1 WCU for the small item it read.
    let r = call(
        server.addr,
        "PutItem",
        json!({"TableName": "orders", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}),
    )
    .await;
    assert_eq!(r.status, 400);
    // A minute later, one more write.
    clock.advance(60_000);
    assert_eq!(put("c", 10).await.status, 200);

    let bill = bill(&server).await;
    let orders = line(&bill, "orders", None);
    assert_eq!(orders["billing_mode"], "PAY_PER_REQUEST");
    assert_eq!(orders["write_units"], 1.0 + 2.0 + 2.0 + 4.0 + 1.0 + 1.0);
    assert_eq!(orders["transactional_write_units"], 4.0);
    assert_eq!(orders["read_units"], 0.5 + 1.0 + 0.5);
    let cost = (2.0 * 0.125 + 11.0 * 0.625) / 1_000_000.0;
    assert!((orders["request_cost"].as_f64().unwrap() - cost).abs() < 1e-15);
    let minutes = orders["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 2, "{minutes:?}");
    assert_eq!(minutes[0]["write_units"], 10.0);
    assert_eq!(minutes[0]["minute"], START_MS / 1000);
    assert_eq!(minutes[1]["write_units"], 1.0);

    let metrics = raw_http(server.addr, "GET", "/metrics", b"").await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("ConsumedWriteCapacityUnits{Region=\"us-east-1\",TableName=\"orders\"} 11"),
        "{text}"
    );
}

#[tokio::test]
async fn a_deleted_table_stays_on_the_bill_and_indexes_have_their_lines() {
    let (server, _clock) = server(Config::default()).await;
    let r = call(
        server.addr,
        "CreateTable",
        json!({
            "TableName": "tbl",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "gk", "AttributeType": "S"}
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [{
                "IndexName": "gsi",
                "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}
            }]
        }),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(
        server.addr,
        "PutItem",
        json!({"TableName": "tbl", "Item": {"pk": {"S": "a"}, "gk": {"S": "b"}}}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(server.addr, "DeleteTable", json!({"TableName": "tbl"})).await;
    assert_eq!(r.status, 200);
    let bill = bill(&server).await;
    assert_eq!(line(&bill, "tbl", None)["write_units"], 1.0);
    assert_eq!(line(&bill, "tbl", None)["deleted"], true);
    assert_eq!(line(&bill, "tbl", Some("gsi"))["write_units"], 1.0);
    assert_eq!(bill["total"]["write_units"], 2.0);
}

#[tokio::test]
async fn faults_fire_by_rule_and_the_sdk_retries_throttles_until_it_succeeds() {
    let (server, _clock) = server(Config::default()).await;
    let client = server.client();
    create_table(&client, "tbl", ("pk", ScalarAttributeType::S), None).await;
    let rules = json!({"rules": [
        {"table": "tbl", "operation": "PutItem", "error": "ProvisionedThroughputExceededException", "nth": 1},
        {"table": "tbl", "operation": "PutItem", "error": "ThrottlingException", "nth": 2},
        {"table": "tbl", "operation": "GetItem", "error": "InternalServerError", "every": 2}
    ]});
    let r = raw_http(
        server.addr,
        "PUT",
        "/binderdb/faults",
        rules.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // The SDK's standard retry strategy retries both throttles and succeeds on the third try.
    let retrying = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(server.endpoint())
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .build(),
    );
    retrying
        .put_item()
        .table_name("tbl")
        .item("pk", s("a"))
        .send()
        .await
        .unwrap();

    // Every second GetItem fails with a server error (HTTP 500).
    let get = || {
        call(
            server.addr,
            "GetItem",
            json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}}}),
        )
    };
    assert_eq!(get().await.status, 200);
    let r = get().await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#InternalServerError"
    );
    assert_eq!(get().await.status, 200);

    let described = raw_http(server.addr, "GET", "/binderdb/faults", b"")
        .await
        .json();
    assert_eq!(described["rules"][0]["fired"], 1);
    assert_eq!(described["rules"][1]["fired"], 1);
    assert_eq!(described["rules"][1]["calls"], 3);
    assert_eq!(described["rules"][2]["calls"], 3);

    let bad = raw_http(
        server.addr,
        "PUT",
        "/binderdb/faults",
        br#"{"rules":[{"error":"NoSuchError"}]}"#,
    )
    .await;
    assert_eq!(bad.status, 400);
    let r = raw_http(server.addr, "DELETE", "/binderdb/faults", b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(get().await.status, 200);
    assert_eq!(get().await.status, 200);
}

#[tokio::test]
async fn eventually_consistent_reads_lag_when_asked_to() {
    let config = Config {
        consistency_lag_ms: 1000,
        consistency_lag_mode: LagMode::Fixed,
        ..Config::default()
    };
    let (server, clock) = server(config).await;
    let client = server.client();
    create_table(&client, "tbl", ("pk", ScalarAttributeType::S), None).await;
    let put = |v: &str| {
        call(
            server.addr,
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": "k"}, "v": {"S": v}}}),
        )
    };
    let get = |consistent: bool| {
        call(
            server.addr,
            "GetItem",
            json!({"TableName": "tbl", "Key": {"pk": {"S": "k"}}, "ConsistentRead": consistent}),
        )
    };
    let scan = |consistent: bool| {
        call(
            server.addr,
            "Scan",
            json!({"TableName": "tbl", "ConsistentRead": consistent}),
        )
    };
    assert_eq!(put("1").await.status, 200);
    // Read-after-write: only a strongly consistent read is sure to see it.
    assert!(get(false).await.json().get("Item").is_none());
    assert_eq!(get(true).await.json()["Item"]["v"]["S"], "1");
    assert_eq!(scan(false).await.json()["Count"], 0);
    assert_eq!(scan(true).await.json()["Count"], 1);
    clock.advance(1000);
    assert_eq!(get(false).await.json()["Item"]["v"]["S"], "1");
    assert_eq!(put("2").await.status, 200);
    clock.advance(999);
    assert_eq!(get(false).await.json()["Item"]["v"]["S"], "1");
    assert_eq!(scan(false).await.json()["Items"][0]["v"]["S"], "1");
    clock.advance(1);
    assert_eq!(get(false).await.json()["Item"]["v"]["S"], "2");
}

#[tokio::test]
async fn global_index_reads_lag_like_the_table() {
    let config = Config {
        consistency_lag_ms: 500,
        ..Config::default()
    };
    let (server, clock) = server(config).await;
    let r = call(
        server.addr,
        "CreateTable",
        json!({
            "TableName": "tbl",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "gk", "AttributeType": "S"}
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [{
                "IndexName": "gsi",
                "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}
            }]
        }),
    )
    .await;
    assert_eq!(r.status, 200);
    let put = |v: &str| {
        call(
            server.addr,
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": "a"}, "gk": {"S": "g"}, "v": {"S": v}, "w": {"S": "x"}}}),
        )
    };
    let query = || {
        call(
            server.addr,
            "Query",
            json!({
                "TableName": "tbl",
                "IndexName": "gsi",
                "KeyConditionExpression": "gk = :g",
                "ExpressionAttributeValues": {":g": {"S": "g"}}
            }),
        )
    };
    assert_eq!(put("1").await.status, 200);
    assert_eq!(query().await.json()["Count"], 0);
    clock.advance(500);
    assert_eq!(put("2").await.status, 200);
    let r = query().await.json();
    assert_eq!(
        r["Items"],
        json!([{"pk": {"S": "a"}, "gk": {"S": "g"}, "v": {"S": "1"}}])
    );
    clock.advance(500);
    assert_eq!(query().await.json()["Items"][0]["v"]["S"], "2");
}
