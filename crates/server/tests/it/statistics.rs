//! Table and index statistics (ItemCount, TableSizeBytes, each index's ItemCount and
//! IndexSizeBytes) stay exact across every write path — PutItem (new and overwrite),
//! UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, TTL deletes — across a restart of
//! the durable engine, and for a GSI created online, compared each time with a recomputation
//! from a Scan. (A kill -9 is checked by tests/python/test_crash.py.)

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use binderdb_engine::{Config, ManualClock};
use binderdb_model::{number_size, Number};
use serde_json::{json, Value};

use crate::common::{call, TestServer};

const T0: u64 = 1_700_000_000_000;
/// DynamoDB's per-entry overhead in an index's size.
const INDEX_OVERHEAD: i64 = 100;

async fn server(dir: &Path, clock: Arc<ManualClock>) -> TestServer {
    let store = binderdb_storage_fjall::FjallStore::open(dir).unwrap();
    let config = Config {
        ttl_sweep_interval_ms: 20,
        ..Config::default()
    };
    TestServer::with_clock(Arc::new(store), config, clock).await
}

async fn ok(server: &TestServer, op: &str, body: Value) -> Value {
    let r = call(server.addr, op, body).await;
    assert_eq!(r.status, 200, "{op}: {}", String::from_utf8_lossy(&r.body));
    r.json()
}

/// The DynamoDB size of an item of S and N attributes, from its wire JSON.
fn size_of(item: &Value, names: Option<&[&str]>) -> i64 {
    let mut size = 0;
    for (name, value) in item.as_object().unwrap() {
        if names.is_some_and(|n| !n.contains(&name.as_str())) {
            continue;
        }
        size += name.len();
        size += match (value.get("S"), value.get("N")) {
            (Some(s), _) => s.as_str().unwrap().len(),
            (_, Some(n)) => number_size(&Number::parse(n.as_str().unwrap()).unwrap()),
            _ => panic!("unexpected attribute {value}"),
        };
    }
    size as i64
}

async fn scan_all(server: &TestServer) -> Vec<Value> {
    let mut items = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut body = json!({"TableName": "Stats"});
        if let Some(s) = start.take() {
            body["ExclusiveStartKey"] = s;
        }
        let out = ok(server, "Scan", body).await;
        items.extend(out["Items"].as_array().unwrap().iter().cloned());
        match out.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => return items,
        }
    }
}

fn index_figures(d: &Value, group: &str, name: &str) -> Option<(i64, i64)> {
    let index = d[group]
        .as_array()?
        .iter()
        .find(|i| i["IndexName"] == name)?;
    Some((
        index["ItemCount"].as_i64().unwrap(),
        index["IndexSizeBytes"].as_i64().unwrap(),
    ))
}

/// Asserts DescribeTable's statistics equal a recomputation from the table's items: the table,
/// the LSI `byL` (KEYS_ONLY on `lk`) and, when present, the GSIs `byG` (ALL on `gk`) and
/// `byH` (KEYS_ONLY on `hk`).
async fn assert_exact(server: &TestServer, when: &str) {
    let items = scan_all(server).await;
    let d = ok(server, "DescribeTable", json!({"TableName": "Stats"})).await["Table"].clone();
    let table: i64 = items.iter().map(|i| size_of(i, None)).sum();
    assert_eq!(
        (
            d["ItemCount"].as_i64().unwrap(),
            d["TableSizeBytes"].as_i64().unwrap()
        ),
        (items.len() as i64, table),
        "table statistics {when}"
    );
    let index = |attr: &str, keys: Option<&[&str]>| {
        let indexed: Vec<&Value> = items.iter().filter(|i| i.get(attr).is_some()).collect();
        let bytes = indexed
            .iter()
            .map(|i| size_of(i, keys) + INDEX_OVERHEAD)
            .sum::<i64>();
        (indexed.len() as i64, bytes)
    };
    assert_eq!(
        index_figures(&d, "LocalSecondaryIndexes", "byL"),
        Some(index("lk", Some(&["pk", "sk", "lk"]))),
        "LSI statistics {when}"
    );
    if let Some(figures) = index_figures(&d, "GlobalSecondaryIndexes", "byG") {
        assert_eq!(figures, index("gk", None), "GSI statistics {when}");
    }
    if let Some(figures) = index_figures(&d, "GlobalSecondaryIndexes", "byH") {
        assert_eq!(
            figures,
            index("hk", Some(&["pk", "sk", "hk"])),
            "online GSI statistics {when}"
        );
    }
}

fn put(pk: &str, sk: &str, extra: Value) -> Value {
    let mut item = json!({"pk": {"S": pk}, "sk": {"S": sk}});
    for (k, v) in extra.as_object().unwrap() {
        item[k] = v.clone();
    }
    item
}

#[tokio::test]
async fn statistics_are_exact_across_every_write_path_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let server = server(dir.path(), clock.clone()).await;
    let defs = |names: &[&str]| -> Vec<Value> {
        names
            .iter()
            .map(|n| json!({"AttributeName": n, "AttributeType": "S"}))
            .collect()
    };
    ok(
        &server,
        "CreateTable",
        json!({
            "TableName": "Stats", "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": defs(&["pk", "sk", "lk", "gk"]),
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "LocalSecondaryIndexes": [{"IndexName": "byL",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                              {"AttributeName": "lk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
            "GlobalSecondaryIndexes": [{"IndexName": "byG",
                "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}]
        }),
    )
    .await;
    assert_exact(&server, "of a new table").await;
    ok(
        &server,
        "UpdateTimeToLive",
        json!({"TableName": "Stats",
               "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}}),
    )
    .await;
    let now = T0 / 1000;

    // PutItem: new items, then overwrites that grow, shrink, enter and leave the indexes.
    for i in 0..20 {
        let mut extra = json!({"v": {"S": "x".repeat(i)}});
        if i % 2 == 0 {
            extra["gk"] = json!({"S": format!("g{}", i % 3)});
        }
        if i % 3 == 0 {
            extra["lk"] = json!({"S": format!("l{i}")});
        }
        if i % 5 == 0 {
            extra["exp"] = json!({"N": (now + 10).to_string()});
        }
        let item = put(&format!("p{}", i % 4), &format!("s{i}"), extra);
        ok(
            &server,
            "PutItem",
            json!({"TableName": "Stats", "Item": item}),
        )
        .await;
    }
    assert_exact(&server, "after new items").await;
    for i in 0..6 {
        let extra = if i % 2 == 0 {
            json!({"v": {"S": "longer value"}, "lk": {"S": "moved"}})
        } else {
            json!({"gk": {"S": "newly indexed"}})
        };
        let item = put(&format!("p{}", i % 4), &format!("s{i}"), extra);
        ok(
            &server,
            "PutItem",
            json!({"TableName": "Stats", "Item": item}),
        )
        .await;
    }
    assert_exact(&server, "after overwrites").await;

    // UpdateItem: grow an existing item, remove an index key, create an item by update.
    let key = |pk: &str, sk: &str| json!({"pk": {"S": pk}, "sk": {"S": sk}});
    ok(
        &server,
        "UpdateItem",
        json!({"TableName": "Stats", "Key": key("p2", "s6"),
               "UpdateExpression": "SET w = :w, gk = :g",
               "ExpressionAttributeValues": {":w": {"S": "abcdef"}, ":g": {"S": "g9"}}}),
    )
    .await;
    ok(
        &server,
        "UpdateItem",
        json!({"TableName": "Stats", "Key": key("p1", "s9"), "UpdateExpression": "REMOVE lk, v"}),
    )
    .await;
    ok(
        &server,
        "UpdateItem",
        json!({"TableName": "Stats", "Key": key("p9", "new"),
               "UpdateExpression": "SET lk = :l", "ExpressionAttributeValues": {":l": {"S": "l"}}}),
    )
    .await;
    assert_exact(&server, "after updates").await;

    // DeleteItem: existing items, and one that does not exist.
    for (pk, sk) in [("p3", "s7"), ("p0", "s8"), ("p0", "missing")] {
        ok(
            &server,
            "DeleteItem",
            json!({"TableName": "Stats", "Key": key(pk, sk)}),
        )
        .await;
    }
    assert_exact(&server, "after deletes").await;

    // BatchWriteItem: puts (new and overwrite) and deletes together.
    let mut requests = Vec::new();
    for i in 0..10 {
        let item = put(
            "batch",
            &format!("b{i}"),
            json!({"gk": {"S": "b"}, "lk": {"S": format!("bl{i}")}}),
        );
        requests.push(json!({"PutRequest": {"Item": item}}));
    }
    requests.push(json!({"PutRequest": {"Item": put("p1", "s1", json!({"v": {"S": "batch"}}))}}));
    requests.push(json!({"DeleteRequest": {"Key": key("p2", "s2")}}));
    requests.push(json!({"DeleteRequest": {"Key": key("nobody", "here")}}));
    let out = ok(
        &server,
        "BatchWriteItem",
        json!({"RequestItems": {"Stats": requests}}),
    )
    .await;
    assert_eq!(out["UnprocessedItems"], json!({}));
    assert_exact(&server, "after a batch write").await;

    // TransactWriteItems: put, update, delete and a condition check in one transaction.
    ok(
        &server,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "Stats", "Item": put("tx", "t1", json!({"gk": {"S": "t"}}))}},
            {"Update": {"TableName": "Stats", "Key": key("batch", "b3"),
                        "UpdateExpression": "REMOVE gk SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": "in a transaction"}}}},
            {"Delete": {"TableName": "Stats", "Key": key("batch", "b4")}},
            {"ConditionCheck": {"TableName": "Stats", "Key": key("batch", "b5"),
                                "ConditionExpression": "attribute_exists(pk)"}}
        ]}),
    )
    .await;
    // A cancelled transaction changes nothing.
    let r = call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "Stats", "Item": put("tx", "t2", json!({}))}},
            {"ConditionCheck": {"TableName": "Stats", "Key": key("batch", "b4"),
                                "ConditionExpression": "attribute_exists(pk)"}}
        ]}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_exact(&server, "after transactions").await;

    // TTL deletes: the items with `exp` expire and the sweeper deletes them.
    let before = scan_all(&server).await.len();
    let expiring = scan_all(&server)
        .await
        .iter()
        .filter(|i| i.get("exp").is_some())
        .count();
    assert!(expiring > 0);
    clock.advance(60_000);
    for _ in 0..500 {
        if scan_all(&server).await.len() == before - expiring {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(scan_all(&server).await.len(), before - expiring);
    assert_exact(&server, "after TTL deletes").await;

    // A GSI created online: counted once its backfill ends, then kept by writes.
    ok(
        &server,
        "UpdateTable",
        json!({"TableName": "Stats",
               "AttributeDefinitions": [{"AttributeName": "hk", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byH",
                   "KeySchema": [{"AttributeName": "hk", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "KEYS_ONLY"}}}]}),
    )
    .await;
    for i in 0..8 {
        let item = put(
            "h",
            &format!("h{i}"),
            json!({"hk": {"S": format!("hk{}", i % 2)}}),
        );
        ok(
            &server,
            "PutItem",
            json!({"TableName": "Stats", "Item": item}),
        )
        .await;
    }
    for _ in 0..500 {
        let d = ok(&server, "DescribeTable", json!({"TableName": "Stats"})).await;
        let status = d["Table"]["GlobalSecondaryIndexes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["IndexName"] == "byH")
            .map(|i| i["IndexStatus"].clone());
        if status == Some(json!("ACTIVE")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let item = put("h", "after", json!({"hk": {"S": "late"}}));
    ok(
        &server,
        "PutItem",
        json!({"TableName": "Stats", "Item": item}),
    )
    .await;
    ok(
        &server,
        "DeleteItem",
        json!({"TableName": "Stats", "Key": key("h", "h0")}),
    )
    .await;
    assert_exact(&server, "after an online index creation").await;

    // A restart restores every figure without counting anything.
    server.stop().await;
    let server = self::server(dir.path(), clock.clone()).await;
    assert_exact(&server, "after a restart").await;

    // Deleting an index drops its statistics with it; the others stay exact.
    ok(
        &server,
        "UpdateTable",
        json!({"TableName": "Stats",
               "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "byG"}}]}),
    )
    .await;
    for _ in 0..500 {
        let d = ok(&server, "DescribeTable", json!({"TableName": "Stats"})).await;
        if index_figures(&d["Table"], "GlobalSecondaryIndexes", "byG").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let item = put("after", "delete", json!({"gk": {"S": "unindexed now"}}));
    ok(
        &server,
        "PutItem",
        json!({"TableName": "Stats", "Item": item}),
    )
    .await;
    assert_exact(&server, "after an index deletion").await;

    // A table created again under the same name starts from zero.
    ok(&server, "DeleteTable", json!({"TableName": "Stats"})).await;
    ok(
        &server,
        "CreateTable",
        json!({
            "TableName": "Stats", "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": defs(&["pk", "sk", "lk"]),
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "LocalSecondaryIndexes": [{"IndexName": "byL",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                              {"AttributeName": "lk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}]
        }),
    )
    .await;
    let d = ok(&server, "DescribeTable", json!({"TableName": "Stats"})).await;
    assert_eq!(d["Table"]["ItemCount"], 0);
    assert_eq!(d["Table"]["TableSizeBytes"], 0);
    let item = put("again", "1", json!({"lk": {"S": "x"}}));
    ok(
        &server,
        "PutItem",
        json!({"TableName": "Stats", "Item": item}),
    )
    .await;
    assert_exact(&server, "in a table created again").await;
}
