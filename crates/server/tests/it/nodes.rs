//! Two binderdb nodes on one store (two servers, each with its own RADOS client, on one pool
//! and prefix): what belongs to a table rather than to a node is the cluster's. Runs on RADOS
//! only (`BINDERDB_TEST_RADOS_CONF`, see `common::test_store`); on the in-memory engine, which
//! one process owns, there is no second node and the tests say so and pass.

use std::sync::Arc;

use binderdb_engine::{Config, ManualClock};
use serde_json::{json, Value};

use crate::common::{call, raw_http, test_store_pair, RawResponse, TestServer};

const START_MS: u64 = 1_800_000_000_000;
const PTE: &str = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException";

/// Two servers on one store, the second opened after the first (so it counts the first among
/// the live nodes when it opens), with throttling on and a manual clock each.
async fn two_nodes() -> Option<(TestServer, TestServer)> {
    let Some((first, second)) = test_store_pair() else {
        eprintln!("not on RADOS: no second node, test skipped");
        return None;
    };
    let config = Config {
        throttling: true,
        ..Config::default()
    };
    let a =
        TestServer::with_clock(first, config.clone(), Arc::new(ManualClock::new(START_MS))).await;
    let b = TestServer::with_clock(second, config, Arc::new(ManualClock::new(START_MS))).await;
    Some((a, b))
}

async fn create(server: &TestServer, name: &str, throughput: Option<(i64, i64)>) {
    let mut body = json!({
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    });
    if let Some((rcu, wcu)) = throughput {
        body["BillingMode"] = json!("PROVISIONED");
        body["ProvisionedThroughput"] =
            json!({"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu});
    }
    let r = call(server.addr, "CreateTable", body).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

async fn put(server: &TestServer, table: &str, pk: &str) -> RawResponse {
    call(
        server.addr,
        "PutItem",
        json!({"TableName": table, "Item": {"pk": {"S": pk}}}),
    )
    .await
}

async fn bill_line(server: &TestServer, table: &str) -> Value {
    let r = raw_http(server.addr, "GET", "/bill", b"").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["table_name"] == table && l.get("index_name").is_none())
        .cloned()
        .unwrap_or_else(|| panic!("no bill line for {table}"))
}

/// Either node's bill counts both nodes' requests.
#[tokio::test]
async fn the_bill_sums_what_every_node_served() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    create(&a, "Shared", None).await;
    for i in 0..3 {
        assert_eq!(put(&a, "Shared", &format!("a{i}")).await.status, 200);
    }
    for i in 0..2 {
        assert_eq!(put(&b, "Shared", &format!("b{i}")).await.status, 200);
    }
    let r = call(
        b.addr,
        "GetItem",
        json!({"TableName": "Shared", "Key": {"pk": {"S": "a0"}}, "ConsistentRead": true}),
    )
    .await;
    assert_eq!(r.status, 200);
    for node in [&a, &b] {
        let line = bill_line(node, "Shared").await;
        assert_eq!(line["write_units"], 5.0, "{line}");
        assert_eq!(line["read_units"], 1.0, "{line}");
        // The minutes add up across the nodes too.
        let minutes = line["minutes"].as_array().unwrap();
        let written: f64 = minutes
            .iter()
            .map(|m| m["write_units"].as_f64().unwrap())
            .sum();
        assert_eq!(written, 5.0, "{line}");
    }
    b.stop().await;
    // A stopped node's usage stays on the bill.
    assert_eq!(bill_line(&a, "Shared").await["write_units"], 5.0);
    a.stop().await;
}

/// A table's provisioned throughput is the table's, not each node's: with two live nodes, a
/// node admits half of it (a new bucket holds one second of capacity: 10 writes of 1 WCU
/// alone, 5 with two nodes).
#[tokio::test]
async fn each_node_enforces_its_share_of_provisioned_throughput() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    create(&a, "Split", Some((10, 10))).await;
    let mut admitted = 0;
    loop {
        let r = put(&b, "Split", &format!("k{admitted}")).await;
        if r.status != 200 {
            assert_eq!(r.status, 400);
            assert_eq!(r.json()["__type"], PTE);
            break;
        }
        admitted += 1;
        assert!(
            admitted <= 10,
            "node b admitted more than the table's capacity"
        );
    }
    assert_eq!(admitted, 5);
    b.stop().await;
    a.stop().await;
}
