//! Online index management with UpdateTable's GlobalSecondaryIndexUpdates: a new GSI backfilled
//! from a live table (also under concurrent writers), unreadable until ACTIVE; throughput
//! updates; deletion and reuse of the name; every error with DynamoDB's text; DeleteTable in
//! the middle of a backfill.
//!
//! The backfill runs on a background thread: tests wait for it with a bounded poll of
//! DescribeTable, and never assert how long anything took.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use binderdb_engine::{Config, Database, ManualClock};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::common::*;
use crate::indexes_ddl::{
    all, defs, describe, include, index, index_desc, keys, keys_only, ok, scan_index,
};

const LIMIT_EXCEEDED: &str = "com.amazonaws.dynamodb.v20120810#LimitExceededException";

/// A server whose engine reads `clock` and keeps new tables (and indexes) CREATING for
/// `create_delay_ms`; it stops when the returned sender is dropped.
async fn clocked_server(
    create_delay_ms: u64,
    clock: Arc<ManualClock>,
) -> (SocketAddr, oneshot::Sender<()>) {
    let config = Config {
        create_delay_ms,
        ..Config::default()
    };
    let db = Database::open(test_store(), config, clock).unwrap();
    let (listener, addr) = binderdb_server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(binderdb_server::serve(listener, Arc::new(db), async {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// Creates on-demand table `name` with a `pk`/`sk` (S) key and no index.
async fn plain_table(addr: SocketAddr, name: &str) {
    ok(
        addr,
        "CreateTable",
        json!({"TableName": name, "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": defs(&[("pk", "S"), ("sk", "S")]),
               "KeySchema": keys(&[("pk", "HASH"), ("sk", "RANGE")])}),
    )
    .await;
}

/// Writes `items` into `table` with BatchWriteItem, 25 at a time.
async fn load(addr: SocketAddr, table: &str, items: impl IntoIterator<Item = Value>) {
    let items: Vec<Value> = items.into_iter().collect();
    for chunk in items.chunks(25) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"PutRequest": {"Item": i}}))
            .collect();
        let out = ok(
            addr,
            "BatchWriteItem",
            json!({"RequestItems": {table: requests}}),
        )
        .await;
        assert_eq!(out["UnprocessedItems"], json!({}));
    }
}

/// UpdateTable creating GSI `name` on `gk` (S) with `projection`.
fn create_gsi(table: &str, name: &str, projection: Value) -> Value {
    json!({"TableName": table,
           "AttributeDefinitions": defs(&[("gk", "S")]),
           "GlobalSecondaryIndexUpdates": [{"Create": index(name, &[("gk", "HASH")], projection)}]})
}

/// Polls DescribeTable until `done` holds for the table description (bounded; the wait has no
/// bearing on the assertions) and returns that description.
async fn wait_until(addr: SocketAddr, table: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..3000 {
        let d = describe(addr, table).await;
        if done(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{table} never reached the awaited state");
}

fn gsi_status(d: &Value, name: &str) -> Option<String> {
    d["GlobalSecondaryIndexes"]
        .as_array()?
        .iter()
        .find(|i| i["IndexName"] == name)
        .map(|i| i["IndexStatus"].as_str().unwrap().to_owned())
}

async fn wait_active(addr: SocketAddr, table: &str, index: &str) -> Value {
    wait_until(addr, table, |d| {
        gsi_status(d, index).as_deref() == Some("ACTIVE")
    })
    .await
}

/// Every item of `table` (a Scan, page after page), sorted by table key.
async fn scan_table(addr: SocketAddr, table: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut body = json!({"TableName": table});
        if let Some(s) = start.take() {
            body["ExclusiveStartKey"] = s;
        }
        let out = ok(addr, "Scan", body).await;
        items.extend(out["Items"].as_array().unwrap().iter().cloned());
        match out.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    sorted(items)
}

fn sorted(mut items: Vec<Value>) -> Vec<Value> {
    let key = |i: &Value| {
        (
            i["pk"]["S"].as_str().unwrap_or_default().to_owned(),
            i["sk"]["S"].as_str().unwrap_or_default().to_owned(),
        )
    };
    items.sort_by_key(key);
    items
}

/// What index `gk` (S) with an INCLUDE `v` projection must hold for these table items: each
/// item with a string `gk`, reduced to the keys and `v`.
fn recompute(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| i["gk"].get("S").is_some())
        .map(|i| {
            let mut entry = json!({});
            for name in ["pk", "sk", "gk", "v"] {
                if let Some(v) = i.get(name) {
                    entry[name] = v.clone();
                }
            }
            entry
        })
        .collect()
}

#[tokio::test]
async fn online_create_backfills_the_existing_items() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    plain_table(addr, "Live").await;
    for i in 0..300 {
        let mut item = json!({"pk": {"S": format!("p{}", i % 17)}, "sk": {"S": format!("{i:03}")},
                              "v": {"N": i.to_string()}, "w": {"S": "unprojected"}});
        match i % 3 {
            0 => {}
            1 => item["gk"] = json!({"S": format!("g{}", i % 5)}),
            // Another type than the new index declares: the backfill leaves these out.
            _ => item["gk"] = json!({"N": "1"}),
        }
        ok(addr, "PutItem", json!({"TableName": "Live", "Item": item})).await;
    }

    let res = ok(
        addr,
        "UpdateTable",
        create_gsi("Live", "byG", include(&["v"])),
    )
    .await;
    let d = &res["TableDescription"];
    assert_eq!(d["TableStatus"], "UPDATING");
    let created = index_desc(d, "byG");
    assert_eq!(created["IndexStatus"], "CREATING");
    assert_eq!(created["Backfilling"], false);
    assert_eq!(created["KeySchema"], keys(&[("gk", "HASH")]));
    assert_eq!(
        created["Projection"],
        json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]})
    );
    assert_eq!(
        created["ProvisionedThroughput"],
        json!({"ReadCapacityUnits": 0, "WriteCapacityUnits": 0, "NumberOfDecreasesToday": 0})
    );
    assert_eq!(
        created["IndexArn"],
        "arn:aws:dynamodb:us-east-1:000000000000:table/Live/index/byG"
    );
    assert_eq!(
        (&created["ItemCount"], &created["IndexSizeBytes"]),
        (&json!(0), &json!(0))
    );
    let mut attrs: Vec<&str> = d["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["AttributeName"].as_str().unwrap())
        .collect();
    attrs.sort_unstable();
    assert_eq!(attrs, ["gk", "pk", "sk"]);

    let d = wait_active(addr, "Live", "byG").await;
    assert_eq!(d["TableStatus"], "ACTIVE");
    let built = index_desc(&d, "byG");
    assert!(built.get("Backfilling").is_none(), "{built}");
    assert_eq!(built["ItemCount"], 100);

    let expected = recompute(&scan_table(addr, "Live").await);
    assert_eq!(expected.len(), 100);
    assert_eq!(sorted(scan_index(addr, "Live", "byG").await), expected);
    // A Query of one index partition is exactly that partition of the recomputation.
    let out = ok(
        addr,
        "Query",
        json!({"TableName": "Live", "IndexName": "byG", "KeyConditionExpression": "gk = :g",
               "ExpressionAttributeValues": {":g": {"S": "g1"}}}),
    )
    .await;
    let partition: Vec<Value> = expected
        .iter()
        .filter(|e| e["gk"]["S"] == "g1")
        .cloned()
        .collect();
    assert_eq!(sorted(out["Items"].as_array().unwrap().clone()), partition);

    // Now that the index exists, a value of the wrong type is refused.
    call(
        addr,
        "PutItem",
        json!({"TableName": "Live", "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}, "gk": {"N": "2"}}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: Type mismatch for Index Key gk \
             Expected: S Actual: N IndexName: byG",
        ),
    );
}

/// A small deterministic pseudo-random sequence (for the writers' choices).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// One writer: puts, updates that move or drop `gk`, and deletes over keys `k0..k{keys}`.
async fn writer(addr: SocketAddr, seed: u64, ops: usize, keys: u64) {
    let mut rng = Lcg(seed);
    for _ in 0..ops {
        let k = rng.next(keys);
        let key = json!({"pk": {"S": format!("k{}", k % 50)}, "sk": {"S": k.to_string()}});
        let g = json!({"S": format!("g{}", rng.next(7))});
        let v = json!({"N": rng.next(1000).to_string()});
        let body = match rng.next(5) {
            0 => {
                let mut item = key.clone();
                item["gk"] = g;
                item["v"] = v;
                ("PutItem", json!({"TableName": "Busy", "Item": item}))
            }
            1 => (
                "UpdateItem",
                json!({"TableName": "Busy", "Key": key, "UpdateExpression": "SET gk = :g, v = :v",
                       "ExpressionAttributeValues": {":g": g, ":v": v}}),
            ),
            2 => (
                "UpdateItem",
                json!({"TableName": "Busy", "Key": key, "UpdateExpression": "REMOVE gk"}),
            ),
            3 => (
                "UpdateItem",
                json!({"TableName": "Busy", "Key": key, "UpdateExpression": "SET v = :v",
                       "ExpressionAttributeValues": {":v": v}}),
            ),
            _ => ("DeleteItem", json!({"TableName": "Busy", "Key": key})),
        };
        ok(addr, body.0, body.1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backfill_under_concurrent_writers_equals_a_recomputation() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    plain_table(addr, "Busy").await;
    // Enough items that the backfill is still walking the table while the writers start.
    const KEYS: u64 = 20_000;
    load(
        addr,
        "Busy",
        (0..KEYS).map(|k| {
            let mut item = json!({"pk": {"S": format!("k{}", k % 50)}, "sk": {"S": k.to_string()},
                                  "v": {"N": k.to_string()}});
            if k % 4 != 0 {
                item["gk"] = json!({"S": format!("g{}", k % 7)});
            }
            item
        }),
    )
    .await;
    ok(
        addr,
        "UpdateTable",
        create_gsi("Busy", "byG", include(&["v"])),
    )
    .await;
    let writers: Vec<_> = (0..4)
        .map(|seed| tokio::spawn(writer(addr, seed + 1, 300, KEYS)))
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let d = wait_active(addr, "Busy", "byG").await;

    let expected = recompute(&scan_table(addr, "Busy").await);
    let actual = sorted(scan_index(addr, "Busy", "byG").await);
    assert_eq!(actual.len(), expected.len());
    assert_eq!(actual, expected);
    assert_eq!(index_desc(&d, "byG")["ItemCount"], expected.len());
}

#[tokio::test]
async fn an_index_cannot_be_read_until_it_is_active() {
    const DELAY: u64 = 60_000;
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let (addr, _stop) = clocked_server(DELAY, clock.clone()).await;
    plain_table(addr, "Slow").await;
    clock.advance(DELAY);
    for i in 0..10 {
        ok(
            addr,
            "PutItem",
            json!({"TableName": "Slow", "Item": {"pk": {"S": "p"}, "sk": {"S": i.to_string()},
                   "gk": {"S": "g"}}}),
        )
        .await;
    }
    let res = ok(addr, "UpdateTable", create_gsi("Slow", "byG", keys_only())).await;
    assert_eq!(
        index_desc(&res["TableDescription"], "byG")["IndexStatus"],
        "CREATING"
    );

    let query = json!({"TableName": "Slow", "IndexName": "byG", "KeyConditionExpression": "gk = :g",
                       "ExpressionAttributeValues": {":g": {"S": "g"}}});
    let backfilling = "Cannot read from backfilling global secondary index: byG";
    call(addr, "Query", query.clone())
        .await
        .assert_error(VALIDATION, Some(backfilling));
    call(
        addr,
        "Scan",
        json!({"TableName": "Slow", "IndexName": "byG"}),
    )
    .await
    .assert_error(VALIDATION, Some(backfilling));
    let d = describe(addr, "Slow").await;
    assert_eq!(gsi_status(&d, "byG").as_deref(), Some("CREATING"));
    // Resources are being allocated: the backfill has not started, and the table is UPDATING.
    assert_eq!(index_desc(&d, "byG")["Backfilling"], false);
    assert_eq!(d["TableStatus"], "UPDATING");
    // An index still allocating its resources cannot be deleted yet (DDB-TABLE-444's text).
    let delete = json!({"TableName": "Slow",
                        "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "byG"}}]});
    call(addr, "UpdateTable", delete).await.assert_error(
        "com.amazonaws.dynamodb.v20120810#ResourceInUseException",
        Some(
            "Attempt to change a resource which is still in use: Index creation is in resource \
             allocation phase. Retry deletion during backfilling phase or when the index is \
             active. Table: Slow Index: byG",
        ),
    );
    // Writes while it is being created are kept in it.
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Slow", "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}, "gk": {"S": "g"}}}),
    )
    .await;

    clock.advance(DELAY);
    wait_active(addr, "Slow", "byG").await;
    let out = ok(addr, "Query", query).await;
    assert_eq!(out["Count"], 11);
}

#[tokio::test]
async fn gsi_throughput_updates_on_a_provisioned_table() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    ok(
        addr,
        "CreateTable",
        json!({"TableName": "Prov", "BillingMode": "PROVISIONED",
               "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
               "AttributeDefinitions": defs(&[("pk", "S"), ("gk", "S")]),
               "KeySchema": keys(&[("pk", "HASH")]),
               "GlobalSecondaryIndexes": [{
                   "IndexName": "gsi", "KeySchema": keys(&[("gk", "HASH")]), "Projection": all(),
                   "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}]}),
    )
    .await;
    let update = |read: i64, write: i64| {
        json!({"TableName": "Prov", "GlobalSecondaryIndexUpdates": [{"Update": {
            "IndexName": "gsi",
            "ProvisionedThroughput": {"ReadCapacityUnits": read, "WriteCapacityUnits": write}}}]})
    };
    let res = ok(addr, "UpdateTable", update(10, 8)).await;
    assert_eq!(res["TableDescription"]["TableStatus"], "ACTIVE");
    // The answer shows the index UPDATING with the throughput it had before the request.
    let answered = index_desc(&res["TableDescription"], "gsi");
    assert_eq!(answered["IndexStatus"], "UPDATING");
    assert_eq!(answered["ProvisionedThroughput"]["ReadCapacityUnits"], 5);
    assert_eq!(answered["ProvisionedThroughput"]["WriteCapacityUnits"], 5);
    let d = describe(addr, "Prov").await;
    let pt = &index_desc(&d, "gsi")["ProvisionedThroughput"];
    assert_eq!(
        (&pt["ReadCapacityUnits"], &pt["WriteCapacityUnits"]),
        (&json!(10), &json!(8))
    );
    assert!(pt.get("LastIncreaseDateTime").is_some(), "{pt}");
    assert_eq!(pt["NumberOfDecreasesToday"], 0);
    // The table's own throughput is untouched.
    assert_eq!(d["ProvisionedThroughput"]["ReadCapacityUnits"], 1);

    ok(addr, "UpdateTable", update(10, 2)).await;
    let d = describe(addr, "Prov").await;
    let pt = &index_desc(&d, "gsi")["ProvisionedThroughput"];
    assert_eq!(pt["WriteCapacityUnits"], 2);
    assert_eq!(pt["NumberOfDecreasesToday"], 1);
    assert!(pt.get("LastDecreaseDateTime").is_some(), "{pt}");

    call(addr, "UpdateTable", update(10, 2)).await.assert_error(
        VALIDATION,
        Some(
            "The provisioned throughput for the index gsi will not change. The requested value \
             equals the current value. Current ReadCapacityUnits provisioned for index gsi: 10. \
             Requested ReadCapacityUnits: 10. Current WriteCapacityUnits provisioned for index \
             gsi: 2. Requested WriteCapacityUnits: 2. Refer to the Amazon DynamoDB Developer \
             Guide for current limits and how to request higher limits.",
        ),
    );
    // A new index on a provisioned table needs its throughput.
    call(
        addr,
        "UpdateTable",
        json!({"TableName": "Prov", "AttributeDefinitions": defs(&[("gk", "S")]),
               "GlobalSecondaryIndexUpdates": [{"Create": index("gsi2", &[("gk", "HASH")], all())}]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: Both ReadCapacityUnits and \
             WriteCapacityUnits must be specified for index: gsi2",
        ),
    );
}

#[tokio::test]
async fn a_deleted_gsi_goes_away_and_its_name_can_be_reused() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    plain_table(addr, "Del").await;
    for i in 0..20 {
        ok(
            addr,
            "PutItem",
            json!({"TableName": "Del", "Item": {"pk": {"S": "p"}, "sk": {"S": format!("{i:02}")},
                   "gk": {"S": format!("g{}", i % 2)}, "v": {"N": i.to_string()}}}),
        )
        .await;
    }
    ok(
        addr,
        "UpdateTable",
        create_gsi("Del", "byG", include(&["v"])),
    )
    .await;
    wait_active(addr, "Del", "byG").await;

    let res = ok(
        addr,
        "UpdateTable",
        json!({"TableName": "Del", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "byG"}}]}),
    )
    .await;
    let d = &res["TableDescription"];
    assert_eq!(d["TableStatus"], "UPDATING");
    assert_eq!(index_desc(d, "byG")["IndexStatus"], "DELETING");
    // A deleting index is no longer readable.
    call(
        addr,
        "Scan",
        json!({"TableName": "Del", "IndexName": "byG"}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("The table does not have the specified index: byG"),
    );

    let d = wait_until(addr, "Del", |d| d.get("GlobalSecondaryIndexes").is_none()).await;
    // Its key attribute is no longer defined.
    let attrs: Vec<&str> = d["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["AttributeName"].as_str().unwrap())
        .collect();
    assert!(!attrs.contains(&"gk"), "{attrs:?}");

    // The name is free again, and the new index is built from the table as it is now.
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Del", "Item": {"pk": {"S": "q"}, "sk": {"S": "x"}, "gk": {"S": "g0"}}}),
    )
    .await;
    ok(
        addr,
        "UpdateTable",
        create_gsi("Del", "byG", include(&["v"])),
    )
    .await;
    let d = wait_active(addr, "Del", "byG").await;
    assert_eq!(index_desc(&d, "byG")["ItemCount"], 21);
    let expected = recompute(&scan_table(addr, "Del").await);
    assert_eq!(sorted(scan_index(addr, "Del", "byG").await), expected);
}

#[tokio::test]
async fn global_secondary_index_update_errors() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    ok(
        addr,
        "CreateTable",
        json!({"TableName": "Errs", "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": defs(&[("pk", "S"), ("sk", "S"), ("gk", "S"), ("ls", "S")]),
               "KeySchema": keys(&[("pk", "HASH"), ("sk", "RANGE")]),
               "LocalSecondaryIndexes": [index("lsi", &[("pk", "HASH"), ("ls", "RANGE")], all())],
               "GlobalSecondaryIndexes": [index("gsi", &[("gk", "HASH")], all())]}),
    )
    .await;
    let updates = |list: Value| {
        json!({"TableName": "Errs", "AttributeDefinitions": defs(&[("gk", "S")]),
               "GlobalSecondaryIndexUpdates": list})
    };
    let create = |name: &str| json!({"Create": index(name, &[("gk", "HASH")], keys_only())});
    let delete = |name: &str| json!({"Delete": {"IndexName": name}});
    let update = |name: &str| {
        json!({"Update": {"IndexName": name,
               "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}})
    };
    let one_at_a_time = "Subscriber limit exceeded: Only 1 online index can be created or deleted \
                         simultaneously per table";
    call(
        addr,
        "UpdateTable",
        updates(json!([create("gsiA"), create("gsiB")])),
    )
    .await
    .assert_error(LIMIT_EXCEEDED, Some(one_at_a_time));
    call(
        addr,
        "UpdateTable",
        updates(json!([create("gsiA"), delete("gsi")])),
    )
    .await
    .assert_error(LIMIT_EXCEEDED, Some(one_at_a_time));

    let twice = "One or more parameter values were invalid: Only one global secondary index \
                 update per index is allowed simultaneously. Index: gsi";
    call(
        addr,
        "UpdateTable",
        updates(json!([update("gsi"), update("gsi")])),
    )
    .await
    .assert_error(VALIDATION, Some(twice));
    call(
        addr,
        "UpdateTable",
        updates(json!([delete("gsi"), create("gsi")])),
    )
    .await
    .assert_error(VALIDATION, Some(twice));

    call(addr, "UpdateTable", updates(json!([{}])))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "One or more parameter values were invalid: One of \
                 GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, \
                 GlobalSecondaryIndexUpdate.Delete must not be null",
            ),
        );
    call(
        addr,
        "UpdateTable",
        updates(json!([{"Update": update("gsi")["Update"], "Delete": {"IndexName": "gsi"}}])),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: Only one global secondary index action \
             is allowed per GlobalSecondaryIndexUpdate object",
        ),
    );

    for action in [delete("nope"), update("nope")] {
        call(addr, "UpdateTable", updates(json!([action])))
            .await
            .assert_error(
                NOT_FOUND,
                Some("Requested resource not found: Index nope for table Errs"),
            );
    }
    call(
        addr,
        "UpdateTable",
        json!({"TableName": "Errs", "GlobalSecondaryIndexUpdates": [create("gsiA")]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: AttributeDefinitions is not specified \
             for index: gsiA",
        ),
    );
    for taken in ["gsi", "lsi"] {
        call(addr, "UpdateTable", updates(json!([create(taken)])))
            .await
            .assert_error(
                VALIDATION,
                Some("Attempting to create an index which already exists"),
            );
    }
    // A local index's name in a Delete or Update action (DDB-TABLE-137).
    for (action, verb) in [(delete("lsi"), "delete"), (update("lsi"), "update")] {
        call(addr, "UpdateTable", updates(json!([action])))
            .await
            .assert_error(
                VALIDATION,
                Some(&format!(
                    "Cannot {verb} an index that is not a GlobalSecondaryIndex: lsi"
                )),
            );
    }
    // `gk` is defined as S by the table's existing index: it cannot become N.
    call(
        addr,
        "UpdateTable",
        json!({"TableName": "Errs", "AttributeDefinitions": defs(&[("gk", "N")]),
               "GlobalSecondaryIndexUpdates": [create("gsiN")]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: Attributes cannot be redefined. Please \
             check that your attribute has the same type as previously defined. Existing schema: \
             Schema:[SchemaElement: key{gk:S:HASH}] New schema: Schema:[SchemaElement: \
             key{gk:N:HASH}]",
        ),
    );
    call(addr, "UpdateTable", updates(json!([update("gsi")])))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "One or more parameter values were invalid: The only Updates for index: gsi when \
                 TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, \
                 WarmThroughput",
            ),
        );
    call(
        addr,
        "UpdateTable",
        json!({"TableName": "Errs", "AttributeDefinitions": defs(&[("gk", "S")]),
               "GlobalSecondaryIndexUpdates": []}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, \
             GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, \
             MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, \
             DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is \
             required",
        ),
    );

    // None of it changed the table.
    let d = describe(addr, "Errs").await;
    let gsis: Vec<&str> = d["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["IndexName"].as_str().unwrap())
        .collect();
    assert_eq!(gsis, ["gsi"]);
    assert_eq!(d["TableStatus"], "ACTIVE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_table_during_a_backfill() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    plain_table(addr, "Doomed").await;
    load(
        addr,
        "Doomed",
        (0..10_000).map(|i| {
            json!({"pk": {"S": format!("p{}", i % 100)}, "sk": {"S": i.to_string()},
                   "gk": {"S": "g"}})
        }),
    )
    .await;
    ok(addr, "UpdateTable", create_gsi("Doomed", "byG", all())).await;
    let res = ok(addr, "DeleteTable", json!({"TableName": "Doomed"})).await;
    assert_eq!(res["TableDescription"]["TableStatus"], "DELETING");
    call(addr, "DescribeTable", json!({"TableName": "Doomed"}))
        .await
        .assert_error(
            NOT_FOUND,
            Some("Requested resource not found: Table: Doomed not found"),
        );

    // The same name again, with an index of the same name: it starts empty and stays exactly
    // what is written to it, whatever the old backfill is still doing.
    ok(
        addr,
        "CreateTable",
        json!({"TableName": "Doomed", "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": defs(&[("pk", "S"), ("sk", "S"), ("gk", "S")]),
               "KeySchema": keys(&[("pk", "HASH"), ("sk", "RANGE")]),
               "GlobalSecondaryIndexes": [index("byG", &[("gk", "HASH")], all())]}),
    )
    .await;
    assert!(scan_index(addr, "Doomed", "byG").await.is_empty());
    let one = json!({"pk": {"S": "p1"}, "sk": {"S": "1"}, "gk": {"S": "g"}});
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Doomed", "Item": one.clone()}),
    )
    .await;
    for _ in 0..20 {
        assert_eq!(
            scan_index(addr, "Doomed", "byG").await,
            std::slice::from_ref(&one)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let d = describe(addr, "Doomed").await;
    assert_eq!(d["ItemCount"], 1);
    assert_eq!(index_desc(&d, "byG")["ItemCount"], 1);
}

#[tokio::test]
async fn deleting_an_index_during_its_backfill_cancels_it() {
    // A slow backfill (500 items/s over 2,000 items) is still running when the delete arrives.
    let config = Config {
        backfill_items_per_second: 500,
        ..Config::default()
    };
    let server = TestServer::with_config(test_store(), config).await;
    let addr = server.addr;
    plain_table(addr, "Cancel").await;
    load(
        addr,
        "Cancel",
        (0..2000)
            .map(|i| json!({"pk": {"S": format!("p{i}")}, "sk": {"S": "s"}, "gk": {"S": "x"}})),
    )
    .await;
    ok(addr, "UpdateTable", create_gsi("Cancel", "byG", all())).await;
    let d = describe(addr, "Cancel").await;
    assert_eq!(gsi_status(&d, "byG").as_deref(), Some("CREATING"));
    let deleted = ok(
        addr,
        "UpdateTable",
        json!({"TableName": "Cancel", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "byG"}}]}),
    )
    .await;
    assert_eq!(
        gsi_status(&deleted["TableDescription"], "byG").as_deref(),
        Some("DELETING")
    );
    let gone = wait_until(addr, "Cancel", |d| gsi_status(d, "byG").is_none()).await;
    assert!(gone.get("GlobalSecondaryIndexes").is_none(), "{gone}");
    // The name can be used again, and the new index is built from scratch.
    ok(addr, "UpdateTable", create_gsi("Cancel", "byG", all())).await;
    let d = describe(addr, "Cancel").await;
    assert_eq!(gsi_status(&d, "byG").as_deref(), Some("CREATING"));
}
