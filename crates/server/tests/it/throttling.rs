//! Throttling (`--throttling`, or a table's `binderdb:throttling` tag) under a manual clock:
//! bucket refill and burst, GSI back-pressure, partition limits, batches' unprocessed
//! requests, transactions, the limit on throughput decreases, and the on-demand ceiling a
//! pre-warm (WarmThroughput) raises.

use std::sync::Arc;

use binderdb_engine::{Config, ManualClock};
use serde_json::{json, Value};

use crate::common::{call, test_store, RawResponse, TestServer};

const PTE: &str = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException";
const THROTTLING: &str = "com.amazon.coral.availability#ThrottlingException";
const TABLE_MESSAGE: &str = "The level of configured provisioned throughput for the table was \
     exceeded. Consider increasing your provisioning level with the UpdateTable API.";
const INDEX_MESSAGE: &str = "The level of configured provisioned throughput for one or more \
     global secondary indexes of the table was exceeded. Consider increasing your provisioning \
     level for the under-provisioned global secondary indexes with the UpdateTable API";
const START_MS: u64 = 1_800_000_000_000;

async fn server(throttling: bool) -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START_MS));
    let config = Config {
        throttling,
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    (server, clock)
}

/// A provisioned table `tbl` (key `pk`) with `rcu`/`wcu`, and optionally a GSI `g` on `gk`.
async fn provisioned(server: &TestServer, rcu: i64, wcu: i64, gsi_wcu: Option<i64>) {
    let mut body = json!({
        "TableName": "tbl",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}
    });
    if let Some(gsi_wcu) = gsi_wcu {
        body["AttributeDefinitions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"AttributeName": "gk", "AttributeType": "S"}));
        body["GlobalSecondaryIndexes"] = json!([{
            "IndexName": "gsi",
            "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 100, "WriteCapacityUnits": gsi_wcu}
        }]);
    }
    let r = call(server.addr, "CreateTable", body).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

async fn put(server: &TestServer, pk: &str) -> RawResponse {
    call(
        server.addr,
        "PutItem",
        json!({"TableName": "tbl", "Item": {"pk": {"S": pk}, "gk": {"S": "g"}}}),
    )
    .await
}

fn reasons(r: &RawResponse) -> Value {
    r.json()["ThrottlingReasons"].clone()
}

#[tokio::test]
async fn a_provisioned_bucket_refills_at_its_rate() {
    let (server, clock) = server(true).await;
    provisioned(&server, 1, 1, None).await;
    assert_eq!(put(&server, "a").await.status, 200);
    let refused = put(&server, "b").await;
    refused.assert_error(PTE, Some(TABLE_MESSAGE));
    assert_eq!(
        reasons(&refused),
        json!([{
            "reason": "TableWriteProvisionedThroughputExceeded",
            "resource": "arn:aws:dynamodb:us-east-1:000000000000:table/tbl"
        }])
    );
    clock.advance(999);
    put(&server, "b")
        .await
        .assert_error(PTE, Some(TABLE_MESSAGE));
    clock.advance(1);
    assert_eq!(put(&server, "b").await.status, 200);

    // Reads have their own bucket.
    let get = || {
        call(
            server.addr,
            "GetItem",
            json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}}, "ConsistentRead": true}),
        )
    };
    assert_eq!(get().await.status, 200);
    let r = get().await;
    r.assert_error(PTE, Some(TABLE_MESSAGE));
    assert_eq!(
        reasons(&r)[0]["reason"],
        "TableReadProvisionedThroughputExceeded"
    );
}

#[tokio::test]
async fn unused_capacity_bursts_up_to_five_minutes() {
    let (server, clock) = server(true).await;
    provisioned(&server, 1, 1, None).await;
    assert_eq!(put(&server, "first").await.status, 200);
    // Ten idle seconds: ten more writes.
    clock.advance(10_000);
    for i in 0..10 {
        assert_eq!(
            put(&server, &format!("a{i}")).await.status,
            200,
            "write {i}"
        );
    }
    put(&server, "over")
        .await
        .assert_error(PTE, Some(TABLE_MESSAGE));
    // An idle hour keeps only 300 seconds' worth.
    clock.advance(3_600_000);
    for i in 0..300 {
        assert_eq!(
            put(&server, &format!("b{i}")).await.status,
            200,
            "write {i}"
        );
    }
    put(&server, "over")
        .await
        .assert_error(PTE, Some(TABLE_MESSAGE));
}

#[tokio::test]
async fn a_starved_global_index_holds_back_table_writes() {
    let (server, clock) = server(true).await;
    provisioned(&server, 100, 100, Some(1)).await;
    assert_eq!(put(&server, "a").await.status, 200);
    let r = put(&server, "b").await;
    r.assert_error(PTE, Some(INDEX_MESSAGE));
    assert_eq!(
        reasons(&r),
        json!([{
            "reason": "IndexWriteProvisionedThroughputExceeded",
            "resource": "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/index/gsi"
        }])
    );
    clock.advance(1000);
    assert_eq!(put(&server, "b").await.status, 200);
}

#[tokio::test]
async fn a_hot_key_throttles_at_the_partition_limit_while_others_pass() {
    let (server, _clock) = server(true).await;
    let r = call(
        server.addr,
        "CreateTable",
        json!({
            "TableName": "tbl",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await;
    assert_eq!(r.status, 200);
    // A 300 KB item costs 300 WCU; a partition takes 1,000 per second.
    let big = "x".repeat(300 * 1024);
    let put_big = |pk: &str| {
        call(
            server.addr,
            "PutItem",
            json!({"TableName": "tbl", "Item": {"pk": {"S": pk}, "v": {"S": big}}}),
        )
    };
    for _ in 0..4 {
        assert_eq!(put_big("hot").await.status, 200);
    }
    let r = put_big("hot").await;
    assert_eq!(r.json()["__type"], THROTTLING, "{}", r.json());
    assert_eq!(
        reasons(&r)[0]["reason"],
        "TableWriteKeyRangeThroughputExceeded"
    );
    assert_eq!(put_big("cold").await.status, 200);
}

#[tokio::test]
async fn batches_leave_throttled_requests_unprocessed() {
    let (server, clock) = server(true).await;
    provisioned(&server, 1, 1, None).await;
    let items: Vec<Value> = (0..3)
        .map(|i| json!({"PutRequest": {"Item": {"pk": {"S": format!("k{i}")}}}}))
        .collect();
    let r = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {"tbl": items}}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["UnprocessedItems"]["tbl"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Every write refused: the call fails whole, as DynamoDB's does.
    let r = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {"tbl": r.json()["UnprocessedItems"]["tbl"]}}),
    )
    .await;
    r.assert_error(PTE, Some(TABLE_MESSAGE));

    let keys: Vec<Value> = (0..3)
        .map(|i| json!({"pk": {"S": format!("k{i}")}}))
        .collect();
    let get = |keys: Value| {
        call(
            server.addr,
            "BatchGetItem",
            json!({"RequestItems": {"tbl": {"Keys": keys, "ConsistentRead": true}}}),
        )
    };
    let r = get(json!(keys)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Responses"]["tbl"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.json()["UnprocessedKeys"]["tbl"]["Keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    get(json!(keys))
        .await
        .assert_error(PTE, Some(TABLE_MESSAGE));
    clock.advance(2000);
    assert_eq!(get(json!(keys)).await.status, 200);
}

#[tokio::test]
async fn a_throttled_transaction_is_cancelled_with_throttling_error() {
    let (server, _clock) = server(true).await;
    provisioned(&server, 1, 1, None).await;
    assert_eq!(put(&server, "a").await.status, 200);
    let r = call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": [{"Put": {"TableName": "tbl", "Item": {"pk": {"S": "x"}}}}]}),
    )
    .await;
    assert_eq!(
        r.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
    );
    assert_eq!(
        r.json()["CancellationReasons"][0]["Code"],
        "ThrottlingError"
    );
}

#[tokio::test]
async fn throttling_is_off_by_default_and_a_tag_turns_it_on() {
    let (server, _clock) = server(false).await;
    provisioned(&server, 1, 1, None).await;
    for i in 0..5 {
        assert_eq!(put(&server, &format!("k{i}")).await.status, 200);
    }
    let r = call(
        server.addr,
        "TagResource",
        json!({
            "ResourceArn": "arn:aws:dynamodb:us-east-1:000000000000:table/tbl",
            "Tags": [{"Key": "binderdb:throttling", "Value": "on"}]
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json());
    assert_eq!(put(&server, "x").await.status, 200);
    put(&server, "y")
        .await
        .assert_error(PTE, Some(TABLE_MESSAGE));
}

#[tokio::test]
async fn throughput_decreases_are_limited_per_day() {
    let (server, clock) = server(true).await;
    provisioned(&server, 100, 100, None).await;
    let update = |rcu: i64| {
        call(
            server.addr,
            "UpdateTable",
            json!({
                "TableName": "tbl",
                "ProvisionedThroughput": {"ReadCapacityUnits": rcu, "WriteCapacityUnits": 100}
            }),
        )
    };
    for rcu in [90, 80, 70, 60] {
        assert_eq!(update(rcu).await.status, 200);
    }
    let r = update(50).await;
    assert_eq!(
        r.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#LimitExceededException"
    );
    // 1_800_000_000_000 ms is Friday, January 15, 2027 8:00:00 AM UTC.
    assert_eq!(
        r.json()["message"],
        "Subscriber limit exceeded: Provisioned throughput decreases are limited within a \
         given UTC day. After the first 4 decreases, each subsequent decrease in the same UTC \
         day can be performed at most once every 3600 seconds. Number of decreases today: 4. \
         Last decrease at Friday, January 15, 2027 at 8:00:00 AM Coordinated Universal Time. \
         Next decrease can be made at Friday, January 15, 2027 at 9:00:00 AM Coordinated \
         Universal Time"
    );
    // Increases are never limited.
    assert_eq!(update(200).await.status, 200);
    clock.advance(3_600_000);
    assert_eq!(update(50).await.status, 200);
}

#[tokio::test]
async fn an_on_demand_maximum_is_described_and_enforced() {
    let (server, clock) = server(true).await;
    let r = call(
        server.addr,
        "CreateTable",
        json!({
            "TableName": "tbl",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "OnDemandThroughput": {"MaxWriteRequestUnits": 2}
        }),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["TableDescription"]["OnDemandThroughput"],
        json!({"MaxWriteRequestUnits": 2})
    );
    assert_eq!(put(&server, "a").await.status, 200);
    assert_eq!(put(&server, "b").await.status, 200);
    let r = put(&server, "c").await;
    r.assert_error(
        THROTTLING,
        Some("Throughput exceeds the maximum OnDemandThroughput configured on table or index"),
    );
    assert_eq!(
        reasons(&r)[0]["reason"],
        "TableWriteMaxOnDemandThroughputExceeded"
    );
    // The next second has room again.
    clock.advance(1000);
    assert_eq!(put(&server, "c").await.status, 200);
    // -1 removes the maximum, and is shown as -1 (DDB-TABLE-128, 182).
    let r = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "tbl", "OnDemandThroughput": {"MaxWriteRequestUnits": -1}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json());
    assert_eq!(
        r.json()["TableDescription"]["OnDemandThroughput"],
        json!({"MaxWriteRequestUnits": -1})
    );
    for pk in ["d", "e", "f"] {
        assert_eq!(put(&server, pk).await.status, 200);
    }
}

#[tokio::test]
async fn a_prewarmed_on_demand_table_takes_its_warm_throughput_at_once() {
    let (server, _clock) = server(true).await;
    for table in ["cold", "warm"] {
        let r = call(
            server.addr,
            "CreateTable",
            json!({
                "TableName": table,
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST"
            }),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let r = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "warm", "WarmThroughput": {"WriteUnitsPerSecond": 6000}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json());
    // 300 KB items (301 WCU each) on distinct keys, all within one second of the manual clock:
    // a new on-demand table takes 4,000 WCU at once, the pre-warmed one 6,000.
    let big = "x".repeat(300 * 1024);
    let put_big = |table: &'static str, pk: String| {
        call(
            server.addr,
            "PutItem",
            json!({"TableName": table, "Item": {"pk": {"S": pk}, "v": {"S": big}}}),
        )
    };
    for i in 0..14 {
        assert_eq!(put_big("cold", i.to_string()).await.status, 200, "put {i}");
    }
    let r = put_big("cold", "14".to_owned()).await;
    assert_eq!(r.json()["__type"], THROTTLING, "{}", r.json());
    for i in 0..15 {
        assert_eq!(put_big("warm", i.to_string()).await.status, 200, "put {i}");
    }
}
