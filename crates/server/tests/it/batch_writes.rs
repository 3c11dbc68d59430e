//! BatchWriteItem commits its writes together (one storage commit per request, under the
//! latches of all its items), yet each write must do exactly what it does alone: the same
//! items, index entries, stream records, statistics, item collection sizes and consumed
//! capacity as the same PutItem and DeleteItem calls one after the other, also while
//! concurrent writers move the same items (no update lost, no index entry left behind).

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::common::*;
use crate::indexes_ddl::{
    all, describe, index, index_desc, keys_only, ok, scan_index, table_request,
};

/// Table `name`: `pk`/`sk` (S); LSI `lsiAll` on `ls` (ALL); GSI `gKeys` on `gk` (KEYS_ONLY);
/// GSI `gAll` on `gk` + `gs` (N, ALL); a NEW_AND_OLD_IMAGES stream. Returns the stream's ARN.
async fn indexed_table(addr: SocketAddr, name: &str) -> String {
    let mut body = table_request(
        name,
        &[("ls", "S"), ("gk", "S"), ("gs", "N")],
        json!([index("lsiAll", &[("pk", "HASH"), ("ls", "RANGE")], all())]),
        json!([
            index("gKeys", &[("gk", "HASH")], keys_only()),
            index("gAll", &[("gk", "HASH"), ("gs", "RANGE")], all()),
        ]),
    );
    body["StreamSpecification"] =
        json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    let out = ok(addr, "CreateTable", body).await;
    out["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn item(pk: &str, sk: &str, ls: Option<&str>, gk: Option<&str>, gs: u32, pad: usize) -> Value {
    let mut item = json!({
        "pk": {"S": pk}, "sk": {"S": sk}, "gs": {"N": gs.to_string()},
        "payload": {"S": "x".repeat(pad)},
    });
    if let Some(ls) = ls {
        item["ls"] = json!({"S": ls});
    }
    if let Some(gk) = gk {
        item["gk"] = json!({"S": gk});
    }
    item
}

fn key(pk: &str, sk: &str) -> Value {
    json!({"pk": {"S": pk}, "sk": {"S": sk}})
}

/// Every item of `table` (a Scan, page after page), sorted.
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

fn sorted(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(|v| v.to_string());
    values
}

/// The statistics DescribeTable shows for the table and each index.
fn statistics(table: &Value) -> Vec<Value> {
    let mut out = vec![json!([table["ItemCount"], table["TableSizeBytes"]])];
    for name in ["lsiAll", "gKeys", "gAll"] {
        let index = index_desc(table, name);
        out.push(json!([name, index["ItemCount"], index["IndexSizeBytes"]]));
    }
    out
}

/// Adds `from`'s capacity units (Table, LocalSecondaryIndexes, GlobalSecondaryIndexes) to `sum`.
fn add_capacity(sum: &mut Value, from: &Value) {
    let add = |to: &mut Value, v: &Value| {
        *to = json!(to.as_f64().unwrap_or(0.0) + v["CapacityUnits"].as_f64().unwrap());
    };
    add(&mut sum["Table"], &from["Table"]);
    add(&mut sum["CapacityUnits"], from);
    for group in ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"] {
        if let Some(indexes) = from[group].as_object() {
            for (name, units) in indexes {
                add(&mut sum[group][name], units);
            }
        }
    }
}

#[tokio::test]
async fn a_batch_does_what_the_same_writes_do_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let addr = server.addr;
    let batch_stream = indexed_table(addr, "Batched").await;
    let alone_stream = indexed_table(addr, "Alone").await;
    // The same starting items in both tables: two item collections, indexed and not.
    let existing = [
        item("p", "1", Some("a"), Some("k1"), 1, 100),
        item("p", "2", Some("b"), Some("k1"), 2, 200),
        item("p", "3", None, Some("k2"), 3, 300),
        item("q", "1", Some("a"), None, 4, 400),
        item("q", "2", Some("b"), Some("k2"), 5, 1500),
    ];
    for table in ["Batched", "Alone"] {
        for it in &existing {
            ok(addr, "PutItem", json!({"TableName": table, "Item": it})).await;
        }
    }
    // New items in both collections (several in one), overwrites that move LSI and GSI keys,
    // leave or enter the sparse indexes and grow past 1 KB, deletes of present and missing
    // items, and a put that changes nothing.
    let mut writes = vec![
        json!({"PutRequest": {"Item": item("p", "1", Some("z"), Some("k3"), 9, 2500)}}),
        json!({"PutRequest": {"Item": item("p", "2", Some("b"), Some("k1"), 2, 200)}}),
        json!({"PutRequest": {"Item": item("p", "3", Some("c"), None, 3, 50)}}),
        json!({"DeleteRequest": {"Key": key("q", "1")}}),
        json!({"DeleteRequest": {"Key": key("q", "9")}}),
        json!({"PutRequest": {"Item": item("q", "2", None, Some("k4"), 6, 10)}}),
    ];
    for i in 0..19 {
        let pk = if i % 2 == 0 { "p" } else { "r" };
        let gk = (i % 3 != 0).then(|| format!("k{}", i % 4));
        writes.push(json!({"PutRequest": {"Item": item(
            pk, &format!("n{i:02}"), Some(&format!("l{i}")), gk.as_deref(), i, 30 * i as usize,
        )}}));
    }
    assert_eq!(writes.len(), 25);

    let batch = ok(
        addr,
        "BatchWriteItem",
        json!({
            "RequestItems": {"Batched": writes},
            "ReturnConsumedCapacity": "INDEXES",
            "ReturnItemCollectionMetrics": "SIZE",
        }),
    )
    .await;
    assert_eq!(batch["UnprocessedItems"], json!({}));

    let mut alone_capacity = json!({"TableName": "Alone"});
    let mut alone_metrics = Vec::new();
    for write in &writes {
        let (op, mut body) = match (write.get("PutRequest"), write.get("DeleteRequest")) {
            (Some(put), _) => ("PutItem", json!({"Item": put["Item"]})),
            (_, Some(delete)) => ("DeleteItem", json!({"Key": delete["Key"]})),
            _ => unreachable!(),
        };
        body["TableName"] = json!("Alone");
        body["ReturnConsumedCapacity"] = json!("INDEXES");
        body["ReturnItemCollectionMetrics"] = json!("SIZE");
        let out = ok(addr, op, body).await;
        add_capacity(&mut alone_capacity, &out["ConsumedCapacity"]);
        alone_metrics.push(out["ItemCollectionMetrics"].clone());
    }

    // Capacity: the batch's one entry for the table adds up what the single writes consumed.
    let batch_capacity = &batch["ConsumedCapacity"].as_array().unwrap()[0];
    let mut expected = alone_capacity.clone();
    expected["TableName"] = json!("Batched");
    let mut summed = json!({"TableName": "Batched"});
    add_capacity(&mut summed, batch_capacity);
    assert_eq!(summed, expected, "{batch_capacity}");
    // Item collection sizes, each after its own write, in request order.
    assert_eq!(
        batch["ItemCollectionMetrics"]["Batched"],
        Value::Array(alone_metrics)
    );
    // The items, every index, the statistics and the stream records are the same.
    assert_eq!(
        scan_table(addr, "Batched").await,
        scan_table(addr, "Alone").await
    );
    for name in ["lsiAll", "gKeys", "gAll"] {
        assert_eq!(
            sorted(scan_index(addr, "Batched", name).await),
            sorted(scan_index(addr, "Alone", name).await),
            "{name}"
        );
    }
    assert_eq!(
        statistics(&describe(addr, "Batched").await),
        statistics(&describe(addr, "Alone").await)
    );
    let records = |records: Vec<Value>| {
        sorted(
            records
                .iter()
                .map(|r| {
                    let d = &r["dynamodb"];
                    json!([r["eventName"], d["Keys"], d["OldImage"], d["NewImage"]])
                })
                .collect(),
        )
    };
    let batched = records(crate::streams::read_all(addr, &batch_stream).await);
    // The starting puts (5) and every write that changed something (all but two).
    assert_eq!(batched.len(), 5 + 23);
    assert_eq!(
        batched,
        records(crate::streams::read_all(addr, &alone_stream).await)
    );
}

// Several runtime threads: item operations run inline on them, so this is what lets the
// writers race.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_leave_an_index_entry_behind() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let addr = server.addr;
    indexed_table(addr, "Contended").await;
    // Batches and single puts fight over the same ten items, moving their index keys each
    // time (on a store without latches, an item that moves between a batch's read and its
    // commit fails the commit, and the batch's writes go one by one).
    let mut tasks = Vec::new();
    for writer in 0..6u32 {
        tasks.push(tokio::spawn(async move {
            for round in 0..25u32 {
                let tag = format!("w{writer}r{round}");
                if writer % 3 == 0 {
                    let i = round % 10;
                    let body = json!({"TableName": "Contended", "Item": item(
                        "p", &i.to_string(), Some(&tag), Some(&tag), round, 10,
                    )});
                    ok(addr, "PutItem", body).await;
                } else {
                    let writes: Vec<Value> = (0..10)
                        .map(|i| {
                            json!({"PutRequest": {"Item": item(
                                "p", &i.to_string(), Some(&tag), Some(&tag), round, 10,
                            )}})
                        })
                        .collect();
                    let out = ok(
                        addr,
                        "BatchWriteItem",
                        json!({"RequestItems": {"Contended": writes}}),
                    )
                    .await;
                    assert_eq!(out["UnprocessedItems"], json!({}));
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let items = scan_table(addr, "Contended").await;
    assert_eq!(items.len(), 10);
    // Each index holds exactly the entries recomputed from the table.
    let project = |attrs: &[&str]| -> Vec<Value> {
        sorted(
            items
                .iter()
                .map(|it| {
                    let mut entry = json!({});
                    for a in attrs {
                        entry[*a] = it[*a].clone();
                    }
                    entry
                })
                .collect(),
        )
    };
    assert_eq!(sorted(scan_index(addr, "Contended", "lsiAll").await), items);
    assert_eq!(sorted(scan_index(addr, "Contended", "gAll").await), items);
    assert_eq!(
        sorted(scan_index(addr, "Contended", "gKeys").await),
        project(&["pk", "sk", "gk"])
    );
    let table = describe(addr, "Contended").await;
    for name in ["lsiAll", "gKeys", "gAll"] {
        assert_eq!(index_desc(&table, name)["ItemCount"], 10, "{name}");
    }
    assert_eq!(table["ItemCount"], 10);
}

// Several runtime threads: item operations run inline on them, so this is what lets the
// writers race.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_puts_racing_counter_updates_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let addr = server.addr;
    indexed_table(addr, "Counted").await;
    indexed_table(addr, "Copy").await;
    let put_all = |tag: String, round: u32| {
        let writes: Vec<Value> = (0..10)
            .map(|i| {
                json!({"PutRequest": {"Item": item(
                    "p", &i.to_string(), Some(&tag), Some(&tag), round, 10,
                )}})
            })
            .collect();
        json!({"RequestItems": {"Counted": writes}})
    };
    let out = ok(addr, "BatchWriteItem", put_all("start".into(), 0)).await;
    assert_eq!(out["UnprocessedItems"], json!({}));
    // Batches put all ten items (a fresh tag each, no counter) and single puts one, while
    // updaters add 1 to a counter of the same items, each reading back the item it made.
    let mut writers = Vec::new();
    for writer in 0..3u32 {
        writers.push(tokio::spawn(async move {
            for round in 1..=20u32 {
                let tag = format!("w{writer}r{round}");
                if writer == 2 {
                    let body = json!({"TableName": "Counted", "Item": item(
                        "p", &(round % 10).to_string(), Some(&tag), Some(&tag), round, 10,
                    )});
                    ok(addr, "PutItem", body).await;
                } else {
                    let out = ok(addr, "BatchWriteItem", put_all(tag, round)).await;
                    assert_eq!(out["UnprocessedItems"], json!({}));
                }
            }
        }));
    }
    let mut updaters = Vec::new();
    for updater in 0..3usize {
        updaters.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for j in 0..60usize {
                let sk = ((j * 7 + updater) % 10).to_string();
                let out = ok(
                    addr,
                    "UpdateItem",
                    json!({
                        "TableName": "Counted",
                        "Key": key("p", &sk),
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                        "ReturnValues": "ALL_NEW",
                    }),
                )
                .await;
                let new = &out["Attributes"];
                let n: u64 = new["n"]["N"].as_str().unwrap().parse().unwrap();
                seen.push((sk, new["ls"]["S"].as_str().unwrap().to_owned(), n));
            }
            seen
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // (item, tag of the put the update landed on) -> the counter values the updates made.
    let mut counted: std::collections::BTreeMap<(String, String), Vec<u64>> = Default::default();
    for updater in updaters {
        for (sk, tag, n) in updater.await.unwrap() {
            counted.entry((sk, tag)).or_default().push(n);
        }
    }
    // The updates landing on one put counted 1, 2, 3...: none read a value another had
    // already moved past, and every put replaced the whole item (its counter included).
    for (what, values) in &mut counted {
        values.sort_unstable();
        let expected: Vec<u64> = (1..=values.len() as u64).collect();
        assert_eq!(*values, expected, "{what:?}");
    }
    let items = scan_table(addr, "Counted").await;
    assert_eq!(items.len(), 10);
    for it in &items {
        let (sk, tag) = (
            it["sk"]["S"].as_str().unwrap(),
            it["ls"]["S"].as_str().unwrap(),
        );
        let updates = counted
            .get(&(sk.to_owned(), tag.to_owned()))
            .map_or(0, Vec::len);
        let n = it["n"]["N"].as_str().map_or(0, |n| n.parse().unwrap());
        assert_eq!(n, updates, "{it}");
    }
    // The indexes hold exactly what the items say, and the statistics are those of the same
    // items written once into a fresh table.
    assert_eq!(sorted(scan_index(addr, "Counted", "lsiAll").await), items);
    assert_eq!(sorted(scan_index(addr, "Counted", "gAll").await), items);
    for it in &items {
        ok(addr, "PutItem", json!({"TableName": "Copy", "Item": it})).await;
    }
    assert_eq!(
        statistics(&describe(addr, "Counted").await),
        statistics(&describe(addr, "Copy").await)
    );
}
