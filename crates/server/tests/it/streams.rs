//! DynamoDB Streams: StreamSpecification on CreateTable/UpdateTable, the Streams API on the same
//! endpoint (raw JSON: the Rust SDK's Streams client is not in the dependency tree), records per
//! view type, shard lineage across rotations, iterator expiry and trimming under a manual clock,
//! and a consumer that rebuilds a table from its stream alone.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, PutRequest, ScalarAttributeType, TransactWriteItem, Update, WriteRequest,
};
use binderdb_engine::{Config, ManualClock};
use serde_json::{json, Value};

use crate::common::{
    call, create_table, n, raw_request, s, test_store, RawResponse, TestServer, VALIDATION,
};

const T0: u64 = 1_700_000_000_000;
const ROTATION: u64 = 60_000;
const NOT_FOUND: &str = "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException";

async fn streams(addr: SocketAddr, op: &str, body: Value) -> RawResponse {
    raw_request(
        addr,
        Some(&format!("DynamoDBStreams_20120810.{op}")),
        &[],
        body.to_string().as_bytes(),
    )
    .await
}

async fn ok(addr: SocketAddr, op: &str, body: Value) -> Value {
    let r = streams(addr, op, body).await;
    assert_eq!(r.status, 200, "{op}: {}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn server(shards: u16) -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let config = Config {
        stream_shards: shards,
        stream_shard_rotation_ms: ROTATION,
        // Busy shards split by size too, so consumers follow both kinds of lineage.
        stream_shard_max_records: 200,
        ttl_sweep_interval_ms: 20,
        ttl_relax_change_limit: true,
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    (server, clock)
}

async fn create_with_stream(addr: SocketAddr, name: &str, view: &str) -> Value {
    let r = call(
        addr,
        "CreateTable",
        json!({
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": view}
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["TableDescription"].clone()
}

/// Every record of the stream, following shard lineage (parents before children), as a
/// consumer such as the Kinesis Client Library does.
pub(crate) async fn read_all(addr: SocketAddr, arn: &str) -> Vec<Value> {
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut body = json!({"StreamArn": arn, "Limit": 3});
        if let Some(s) = &start {
            body["ExclusiveStartShardId"] = json!(s);
        }
        let d = ok(addr, "DescribeStream", body).await["StreamDescription"].clone();
        shards.extend(d["Shards"].as_array().unwrap().iter().cloned());
        match d.get("LastEvaluatedShardId") {
            Some(id) => start = Some(id.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    let ids: HashSet<String> = shards
        .iter()
        .map(|s| s["ShardId"].as_str().unwrap().to_owned())
        .collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    while done.len() < shards.len() {
        for shard in &shards {
            let id = shard["ShardId"].as_str().unwrap();
            if done.contains(id) {
                continue;
            }
            if let Some(parent) = shard["ParentShardId"].as_str() {
                if ids.contains(parent) && !done.contains(parent) {
                    continue;
                }
            }
            let mut it = ok(
                addr,
                "GetShardIterator",
                json!({"StreamArn": arn, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON"}),
            )
            .await["ShardIterator"]
                .as_str()
                .unwrap()
                .to_owned();
            let closed = shard["SequenceNumberRange"]
                .get("EndingSequenceNumber")
                .is_some();
            loop {
                let page = ok(
                    addr,
                    "GetRecords",
                    json!({"ShardIterator": it, "Limit": 100}),
                )
                .await;
                let records = page["Records"].as_array().unwrap();
                out.extend(records.iter().cloned());
                match page.get("NextShardIterator") {
                    Some(next) if closed || !records.is_empty() => {
                        it = next.as_str().unwrap().to_owned()
                    }
                    // An open shard with nothing more to read: done for now.
                    Some(_) => break,
                    None => break,
                }
            }
            done.insert(id.to_owned());
        }
    }
    out
}

#[tokio::test]
async fn stream_specification_is_validated_described_and_replaced() {
    let (server, clock) = server(2).await;
    let addr = server.addr;
    let d = create_with_stream(addr, "orders", "NEW_AND_OLD_IMAGES").await;
    let label = "2023-11-14T22:13:20.000";
    let arn = format!("arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/{label}");
    assert_eq!(
        d["StreamSpecification"],
        json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    );
    assert_eq!(d["LatestStreamLabel"], label);
    assert_eq!(d["LatestStreamArn"], arn.as_str());

    // Validation: a view type is needed to enable, and must be one of the four.
    let r = call(
        addr,
        "CreateTable",
        json!({"TableName": "xyz", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
               "StreamSpecification": {"StreamEnabled": true}}),
    )
    .await;
    r.assert_error(
        VALIDATION,
        Some("One or more parameter values were invalid: Table is being created with a stream enabled, UpdateViewType is required"),
    );
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "orders", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "ALL"}}),
    )
    .await;
    r.assert_error(
        VALIDATION,
        Some("1 validation error detected: Value 'ALL' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [OLD_IMAGE, KEYS_ONLY, NEW_AND_OLD_IMAGES, NEW_IMAGE]"),
    );
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "orders", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}),
    )
    .await;
    r.assert_error(
        VALIDATION,
        Some("Table already has an enabled stream: TableName: orders"),
    );

    // Disabling keeps the stream readable (DISABLED); re-enabling makes a new one.
    clock.advance(1_000);
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "orders", "StreamSpecification": {"StreamEnabled": false}}),
    )
    .await;
    assert_eq!(r.status, 200);
    let d = r.json()["TableDescription"].clone();
    assert!(d.get("StreamSpecification").is_none());
    assert_eq!(d["LatestStreamArn"], arn.as_str());
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "orders", "StreamSpecification": {"StreamEnabled": false}}),
    )
    .await;
    r.assert_error(
        VALIDATION,
        Some("Table has no stream to disable: TableName: orders"),
    );
    let old = ok(addr, "DescribeStream", json!({"StreamArn": arn})).await;
    assert_eq!(old["StreamDescription"]["StreamStatus"], "DISABLED");
    for shard in old["StreamDescription"]["Shards"].as_array().unwrap() {
        assert!(shard["SequenceNumberRange"]["EndingSequenceNumber"].is_string());
    }
    clock.advance(1_000);
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "orders", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}),
    )
    .await;
    let d = r.json()["TableDescription"].clone();
    let new_arn =
        "arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2023-11-14T22:13:22.000";
    assert_eq!(d["LatestStreamArn"], new_arn);
    assert_eq!(d["StreamSpecification"]["StreamViewType"], "KEYS_ONLY");

    // ListStreams: both streams, filter by table, paginate.
    create_with_stream(addr, "accounts", "KEYS_ONLY").await;
    let all = ok(addr, "ListStreams", json!({})).await;
    let arns: Vec<&str> = all["Streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["StreamArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns.len(), 3);
    assert!(arns[0].contains("table/accounts/"));
    assert_eq!(&arns[1..], &[arn.as_str(), new_arn]);
    let page = ok(
        addr,
        "ListStreams",
        json!({"TableName": "orders", "Limit": 1}),
    )
    .await;
    assert_eq!(
        page,
        json!({"Streams": [{"StreamArn": arn, "TableName": "orders", "StreamLabel": label}],
               "LastEvaluatedStreamArn": arn})
    );
    let page = ok(
        addr,
        "ListStreams",
        json!({"TableName": "orders", "ExclusiveStartStreamArn": arn}),
    )
    .await;
    assert_eq!(page["Streams"].as_array().unwrap().len(), 1);
    assert!(page.get("LastEvaluatedStreamArn").is_none());

    // Unknown streams and shards.
    let r = streams(
        addr,
        "DescribeStream",
        json!({"StreamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/nope/stream/x"}),
    )
    .await;
    r.assert_error(
        NOT_FOUND,
        Some("Requested resource not found: Stream: arn:aws:dynamodb:us-east-1:000000000000:table/nope/stream/x not found"),
    );
    let r = streams(
        addr,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": "shardId-1", "ShardIteratorType": "LATEST"}),
    )
    .await;
    r.assert_error(
        NOT_FOUND,
        Some("Requested resource not found: Shard does not exist"),
    );
    let r = streams(addr, "GetRecords", json!({"ShardIterator": "garbage"})).await;
    r.assert_error(VALIDATION, Some("Invalid ShardIterator"));

    // DeleteTable leaves its streams readable (DISABLED) for 24 hours, as DynamoDB does.
    crate::common::put(&server.client(), "orders", &[("pk", s("last"))]).await;
    let r = call(addr, "DeleteTable", json!({"TableName": "orders"})).await;
    assert_eq!(r.status, 200);
    let gone = ok(addr, "DescribeStream", json!({"StreamArn": new_arn})).await;
    assert_eq!(gone["StreamDescription"]["StreamStatus"], "DISABLED");
    assert_eq!(gone["StreamDescription"]["TableName"], "orders");
    assert_eq!(
        gone["StreamDescription"]["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}])
    );
    for shard in gone["StreamDescription"]["Shards"].as_array().unwrap() {
        assert!(shard["SequenceNumberRange"]["EndingSequenceNumber"].is_string());
    }
    let records = read_all(addr, new_arn).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["dynamodb"]["Keys"]["pk"]["S"], "last");
    // A new table of the same name lists its stream beside the deleted one's.
    clock.advance(1_000);
    create_with_stream(addr, "orders", "KEYS_ONLY").await;
    let listed = ok(addr, "ListStreams", json!({"TableName": "orders"})).await;
    assert_eq!(listed["Streams"].as_array().unwrap().len(), 3);
    assert_eq!(listed["Streams"][0]["StreamArn"], arn.as_str());
    assert_eq!(listed["Streams"][1]["StreamArn"], new_arn);
    // 24 hours after the deletion they are gone.
    clock.advance(24 * 60 * 60 * 1000);
    let r = streams(addr, "DescribeStream", json!({"StreamArn": new_arn})).await;
    r.assert_error(
        NOT_FOUND,
        Some(&format!(
            "Requested resource not found: Stream: {new_arn} not found"
        )),
    );
    let listed = ok(addr, "ListStreams", json!({"TableName": "orders"})).await;
    assert_eq!(listed["Streams"].as_array().unwrap().len(), 1);
    assert_ne!(listed["Streams"][0]["StreamArn"], new_arn);
}

#[tokio::test]
async fn stream_status_moves_through_enabling_and_disabling_by_the_clock() {
    let clock = Arc::new(ManualClock::new(T0));
    let config = Config {
        create_delay_ms: 5_000,
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    let addr = server.addr;
    let status = |arn: String| async move {
        ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"]
            ["StreamStatus"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let arn = create_with_stream(addr, "tbl", "KEYS_ONLY").await["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status(arn.clone()).await, "ENABLING");
    clock.advance(5_000);
    assert_eq!(status(arn.clone()).await, "ENABLED");
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "tbl", "StreamSpecification": {"StreamEnabled": false}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // Changing the stream puts the table in UPDATING for the same delay, as in DynamoDB.
    assert_eq!(r.json()["TableDescription"]["TableStatus"], "UPDATING");
    assert_eq!(status(arn.clone()).await, "DISABLING");
    clock.advance(4_999);
    assert_eq!(status(arn.clone()).await, "DISABLING");
    clock.advance(1);
    assert_eq!(status(arn.clone()).await, "DISABLED");
    let r = call(addr, "DescribeTable", json!({"TableName": "tbl"})).await;
    assert_eq!(r.json()["Table"]["TableStatus"], "ACTIVE");
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "tbl", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}),
    )
    .await;
    let new_arn = r.json()["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status(new_arn.clone()).await, "ENABLING");
    assert_eq!(status(arn).await, "DISABLED");
    clock.advance(5_000);
    assert_eq!(status(new_arn).await, "ENABLED");
}

/// A reader that follows lineage sees every record once, each key's records in write order,
/// and every shard's parent listed (and so read) before it.
fn assert_lineage(shards: &[Value], records: &[Value], writes: &[(String, u32)]) {
    let mut seen: HashSet<&str> = HashSet::new();
    for shard in shards {
        if let Some(parent) = shard["ParentShardId"].as_str() {
            assert!(
                seen.contains(parent),
                "parent {parent} listed after its child"
            );
        }
        seen.insert(shard["ShardId"].as_str().unwrap());
    }
    let mut by_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for r in records {
        let key = r["dynamodb"]["Keys"]["pk"]["S"]
            .as_str()
            .unwrap()
            .to_owned();
        let v = r["dynamodb"]["NewImage"]["v"]["N"].as_str().unwrap();
        by_key.entry(key).or_default().push(v.parse().unwrap());
    }
    let mut expected: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (key, v) in writes {
        expected.entry(key.clone()).or_default().push(*v);
    }
    assert_eq!(by_key, expected);
}

#[tokio::test]
async fn busy_shards_split_by_size_and_a_consumer_follows_their_lineage() {
    let clock = Arc::new(ManualClock::new(T0));
    let config = Config {
        stream_shards: 2,
        stream_shard_rotation_ms: ROTATION,
        stream_shard_max_records: 4,
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    let addr = server.addr;
    let client = server.client();
    let arn = create_with_stream(addr, "busy", "NEW_IMAGE").await["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut writes = Vec::new();
    // Two generations (an age rotation between them), each writing 30 records over 6 keys.
    for round in 0..2u32 {
        for i in 0..30u32 {
            let key = format!("k{}", i % 6);
            let v = round * 100 + i;
            crate::common::put(
                &client,
                "busy",
                &[("pk", s(&key)), ("v", n(&v.to_string()))],
            )
            .await;
            writes.push((key, v));
        }
        if round == 0 {
            clock.advance(ROTATION);
        }
    }
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut body = json!({"StreamArn": arn, "Limit": 4});
        if let Some(s) = &start {
            body["ExclusiveStartShardId"] = json!(s);
        }
        let d = ok(addr, "DescribeStream", body).await["StreamDescription"].clone();
        shards.extend(d["Shards"].as_array().unwrap().iter().cloned());
        match d.get("LastEvaluatedShardId") {
            Some(id) => start = Some(id.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    // 60 records in shards of at most 4: at least 15 shards, most of them size successions
    // (a child of a shard of the same generation, with a longer id).
    assert!(shards.len() >= 15, "{}", shards.len());
    let children_by_size = shards
        .iter()
        .filter(|s| s["ShardId"].as_str().unwrap().len() > 41)
        .count();
    assert!(children_by_size >= 11, "{children_by_size}");
    // Every closed shard holds at most 4 records, and its range is inside its parent's future.
    let records = read_all(addr, &arn).await;
    assert_eq!(records.len(), 60);
    assert_lineage(&shards, &records, &writes);
    let open: Vec<&Value> = shards
        .iter()
        .filter(|s| {
            s["SequenceNumberRange"]
                .get("EndingSequenceNumber")
                .is_none()
        })
        .collect();
    assert_eq!(open.len(), 2, "one open shard per hash slot");
    for shard in &shards {
        let id = shard["ShardId"].as_str().unwrap();
        let it = ok(
            addr,
            "GetShardIterator",
            json!({"StreamArn": arn, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .await["ShardIterator"]
            .as_str()
            .unwrap()
            .to_owned();
        let page = ok(addr, "GetRecords", json!({"ShardIterator": it})).await;
        let n = page["Records"].as_array().unwrap().len();
        assert!(n <= 4, "{id} holds {n} records");
        if let Some(end) = shard["SequenceNumberRange"]["EndingSequenceNumber"].as_str() {
            let start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
                .as_str()
                .unwrap();
            assert!(start <= end);
            // A drained closed shard ends its lineage: no next iterator.
            let next = page["NextShardIterator"].as_str().unwrap_or_default();
            if !next.is_empty() {
                let page = ok(addr, "GetRecords", json!({"ShardIterator": next})).await;
                assert_eq!(page["Records"], json!([]));
                assert!(page.get("NextShardIterator").is_none());
            }
        }
    }
    // An epoch that does not exist (yet) is not a shard.
    let last_id = open[0]["ShardId"].as_str().unwrap();
    let (head, epoch) = last_id.split_at(last_id.len() - 4);
    let beyond = if last_id.len() > 41 {
        format!("{head}{:04x}", u16::from_str_radix(epoch, 16).unwrap() + 1)
    } else {
        format!("{last_id}0001")
    };
    let r = streams(
        addr,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": beyond, "ShardIteratorType": "TRIM_HORIZON"}),
    )
    .await;
    r.assert_error(
        NOT_FOUND,
        Some("Requested resource not found: Shard does not exist"),
    );
}

/// Records with their sequence numbers and event ids blanked (checked separately).
fn normalised(records: &[Value]) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            assert_eq!(r["eventID"].as_str().unwrap().len(), 32);
            assert_eq!(r["dynamodb"]["SequenceNumber"].as_str().unwrap().len(), 21);
            r["eventID"] = json!("-");
            r["dynamodb"]["SequenceNumber"] = json!("-");
            r
        })
        .collect()
}

#[tokio::test]
async fn records_carry_exactly_what_the_view_type_keeps() {
    let (server, _clock) = server(1).await;
    let addr = server.addr;
    let client = server.client();
    for view in ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"] {
        let table = format!("t_{}", view.to_lowercase());
        let arn = create_with_stream(addr, &table, view).await["LatestStreamArn"]
            .as_str()
            .unwrap()
            .to_owned();
        let put = |v: &str| {
            client
                .put_item()
                .table_name(&table)
                .item("pk", s("k"))
                .item("v", n(v))
        };
        put("1").send().await.unwrap();
        put("2").send().await.unwrap();
        // Writes that change nothing leave no record.
        put("2").send().await.unwrap();
        client
            .delete_item()
            .table_name(&table)
            .key("pk", s("gone"))
            .send()
            .await
            .unwrap();
        client
            .delete_item()
            .table_name(&table)
            .key("pk", s("k"))
            .send()
            .await
            .unwrap();

        let records = read_all(addr, &arn).await;
        let image = |v: &str| json!({"pk": {"S": "k"}, "v": {"N": v}});
        let record = |event: &str, old: Option<Value>, new: Option<Value>, size: i64| {
            let mut body = json!({
                "ApproximateCreationDateTime": 1_700_000_000.0,
                "Keys": {"pk": {"S": "k"}},
                "SequenceNumber": "-",
                "SizeBytes": size,
                "StreamViewType": view,
            });
            let keep_old = view == "OLD_IMAGE" || view == "NEW_AND_OLD_IMAGES";
            let keep_new = view == "NEW_IMAGE" || view == "NEW_AND_OLD_IMAGES";
            if let (Some(o), true) = (old, keep_old) {
                body["OldImage"] = o;
            }
            if let (Some(n), true) = (new, keep_new) {
                body["NewImage"] = n;
            }
            json!({"eventID": "-", "eventName": event, "eventVersion": "1.1",
                   "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": body})
        };
        // Sizes: keys 3 bytes; an image 3 + 2 ("v" + 1-digit number) = 5... per DynamoDB rules.
        let (keys, img) = (3, 6);
        let size = |old: bool, new: bool| {
            let keep_old = old && (view == "OLD_IMAGE" || view == "NEW_AND_OLD_IMAGES");
            let keep_new = new && (view == "NEW_IMAGE" || view == "NEW_AND_OLD_IMAGES");
            keys + img * (i64::from(keep_old) + i64::from(keep_new))
        };
        assert_eq!(
            normalised(&records),
            vec![
                record("INSERT", None, Some(image("1")), size(false, true)),
                record(
                    "MODIFY",
                    Some(image("1")),
                    Some(image("2")),
                    size(true, true)
                ),
                record("REMOVE", Some(image("2")), None, size(true, false)),
            ],
            "{view}"
        );
        let seqs: Vec<&str> = records
            .iter()
            .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap())
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    }
}

#[tokio::test]
async fn shards_rotate_with_lineage_and_iterators_expire_and_trim() {
    let (server, clock) = server(2).await;
    let addr = server.addr;
    let client = server.client();
    let arn = create_with_stream(addr, "events", "KEYS_ONLY").await["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..20 {
        crate::common::put(&client, "events", &[("pk", s(&format!("a{i}")))]).await;
    }
    let d =
        ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"].clone();
    assert_eq!(d["StreamStatus"], "ENABLED");
    assert_eq!(d["StreamViewType"], "KEYS_ONLY");
    assert_eq!(d["TableName"], "events");
    assert_eq!(
        d["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}])
    );
    assert_eq!(
        d["Shards"],
        json!([
            {"ShardId": "shardId-00000001700000000000-000000000000",
             "SequenceNumberRange": {"StartingSequenceNumber": "001700000000000000000"}},
            {"ShardId": "shardId-00000001700000000000-000000000001",
             "SequenceNumberRange": {"StartingSequenceNumber": "001700000000000000000"}},
        ])
    );
    let shard0 = "shardId-00000001700000000000-000000000000";
    let latest = ok(
        addr,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard0, "ShardIteratorType": "LATEST"}),
    )
    .await["ShardIterator"]
        .as_str()
        .unwrap()
        .to_owned();

    // The next generation: both shards close and have children.
    clock.advance(ROTATION);
    for i in 0..20 {
        crate::common::put(&client, "events", &[("pk", s(&format!("b{i}")))]).await;
    }
    let d =
        ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"].clone();
    let shards = d["Shards"].as_array().unwrap();
    assert_eq!(shards.len(), 4);
    assert!(shards[0]["SequenceNumberRange"]["EndingSequenceNumber"].is_string());
    assert_eq!(shards[2]["ParentShardId"], shard0);
    assert_eq!(
        shards[2]["ShardId"],
        "shardId-00000001700000060000-000000010000"
    );
    assert!(shards[2]["SequenceNumberRange"]
        .get("EndingSequenceNumber")
        .is_none());

    // A LATEST iterator taken before the rotation: nothing new in the closed shard, and once
    // drained it has no next iterator.
    let page = ok(addr, "GetRecords", json!({"ShardIterator": latest})).await;
    assert_eq!(page["Records"], json!([]));
    assert!(page.get("NextShardIterator").is_none());

    // Every record, following lineage: 40 distinct keys.
    let records = read_all(addr, &arn).await;
    let keys: HashSet<String> = records
        .iter()
        .map(|r| {
            r["dynamodb"]["Keys"]["pk"]["S"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(records.len(), 40);
    assert_eq!(keys.len(), 40);

    // AT / AFTER_SEQUENCE_NUMBER, Limit.
    let first = &records[0];
    let seq = first["dynamodb"]["SequenceNumber"].as_str().unwrap();
    // read_all starts with the first shard, which has no parent.
    let shard_of_first = shard0;
    let at = ok(
        addr,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard_of_first, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": seq}),
    )
    .await["ShardIterator"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = ok(addr, "GetRecords", json!({"ShardIterator": at, "Limit": 1})).await;
    assert_eq!(page["Records"][0], *first);
    let after = ok(
        addr,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard_of_first, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq}),
    )
    .await["ShardIterator"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = ok(
        addr,
        "GetRecords",
        json!({"ShardIterator": after, "Limit": 1}),
    )
    .await;
    assert_eq!(page["Records"][0], records[1]);
    let r = streams(
        addr,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard_of_first, "ShardIteratorType": "AT_SEQUENCE_NUMBER"}),
    )
    .await;
    r.assert_error(
        VALIDATION,
        Some("Must provide a SequenceNumber for ShardIteratorType AT_SEQUENCE_NUMBER"),
    );
    let r = streams(
        addr,
        "GetRecords",
        json!({"ShardIterator": at, "Limit": 1001}),
    )
    .await;
    r.assert_error(
        VALIDATION,
        Some("1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"),
    );

    // Iterators expire after 15 minutes.
    clock.advance(15 * 60 * 1000 + 1);
    let r = streams(addr, "GetRecords", json!({"ShardIterator": at})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#ExpiredIteratorException"
    );
    assert!(r.json()["message"].as_str().unwrap().starts_with(
        "Iterator expired. The iterator was created at time Tue Nov 14 22:14:20 UTC 2023"
    ));

    // 24 hours on, half of the first generation is trimmed: TRIM_HORIZON starts at the
    // horizon, and once that passes too the iterator points at trimmed data.
    clock.advance(24 * 60 * 60 * 1000 + 30_000 - 60_000 - (15 * 60 * 1000 + 1));
    let horizon_it = ok(
        addr,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard0, "ShardIteratorType": "TRIM_HORIZON"}),
    )
    .await["ShardIterator"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(40_000);
    let r = streams(addr, "GetRecords", json!({"ShardIterator": horizon_it})).await;
    r.assert_error(
        "com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException",
        Some("The operation attempted to read past the oldest stream record in a shard."),
    );
    let newest = shards[2]["ShardId"].as_str().unwrap();
    let r = streams(
        addr,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": newest, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": seq}),
    )
    .await;
    r.assert_error(
        "com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException",
        Some("The operation attempted to read past the oldest stream record in a shard."),
    );
    let d =
        ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"].clone();
    assert!(d["Shards"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["ShardId"] != shard0));
}

fn clock_secs(clock: &ManualClock) -> u64 {
    use binderdb_engine::Clock;
    clock.now_millis() / 1000
}

fn key(i: u32) -> AttributeValue {
    s(&format!("k{i}"))
}

/// 10,000 random writes (puts, updates, deletes, batch writes, transactions) over many shard
/// generations; a reader that follows lineage rebuilds the table from the records alone.
#[tokio::test]
async fn a_consumer_rebuilds_the_table_from_the_stream() {
    let (server, clock) = server(3).await;
    let addr = server.addr;
    let client = server.client();
    create_table(&client, "src", ("pk", ScalarAttributeType::S), None).await;
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "src", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    )
    .await;
    let arn = r.json()["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call(
        addr,
        "UpdateTimeToLive",
        json!({"TableName": "src", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}}),
    )
    .await;
    assert_eq!(r.status, 200);
    // A small deterministic generator (xorshift), so failures reproduce.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |m: u32| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % u64::from(m)) as u32
    };
    let mut writes = 0;
    let mut step = 0;
    while writes < 10_000 {
        step += 1;
        if step % 500 == 0 {
            clock.advance(ROTATION / 2);
        }
        let k = rand(150);
        match rand(10) {
            0..=3 => {
                let mut put = client
                    .put_item()
                    .table_name("src")
                    .item("pk", key(k))
                    .item("v", n(&rand(5).to_string()));
                // A quarter of the puts expire within two minutes (of the manual clock).
                if rand(4) == 0 {
                    let now = clock_secs(&clock);
                    put = put.item("exp", n(&(now + u64::from(rand(120))).to_string()));
                }
                put.send().await.unwrap();
                writes += 1;
            }
            4..=5 => {
                client
                    .update_item()
                    .table_name("src")
                    .key("pk", key(k))
                    .update_expression("ADD c :one")
                    .expression_attribute_values(":one", n("1"))
                    .send()
                    .await
                    .unwrap();
                writes += 1;
            }
            6 => {
                client
                    .delete_item()
                    .table_name("src")
                    .key("pk", key(k))
                    .send()
                    .await
                    .unwrap();
                writes += 1;
            }
            7..=8 => {
                let other = (k + 1 + rand(148)) % 150;
                client
                    .transact_write_items()
                    .transact_items(
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name("src")
                                    .item("pk", key(k))
                                    .item("t", n("1"))
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .transact_items(
                        TransactWriteItem::builder()
                            .update(
                                Update::builder()
                                    .table_name("src")
                                    .key("pk", key(other))
                                    .update_expression("SET u = :u")
                                    .expression_attribute_values(":u", n(&rand(3).to_string()))
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
                writes += 2;
            }
            _ => {
                let mut batch = client.batch_write_item();
                let mut reqs = Vec::new();
                let mut seen = HashSet::new();
                for _ in 0..5 {
                    let k = rand(150);
                    if seen.insert(k) {
                        reqs.push(
                            WriteRequest::builder()
                                .put_request(
                                    PutRequest::builder()
                                        .item("pk", key(k))
                                        .item("b", n("1"))
                                        .build()
                                        .unwrap(),
                                )
                                .build(),
                        );
                    }
                }
                writes += reqs.len();
                batch = batch.request_items("src", reqs);
                let out = batch.send().await.unwrap();
                assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
            }
        }
    }
    // Everything with a TTL expires; wait for the sweeper (it runs every 20 ms of real time).
    clock.advance(10 * ROTATION);
    let now = clock_secs(&clock);
    for _ in 0..200 {
        let scan = call(addr, "Scan", json!({"TableName": "src"})).await.json();
        let expired = scan["Items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| {
                i.get("exp")
                    .is_some_and(|e| e["N"].as_str().unwrap().parse::<u64>().unwrap() <= now)
            })
            .count();
        if expired == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let records = read_all(addr, &arn).await;
    let by_ttl = records
        .iter()
        .filter(|r| r.get("userIdentity").is_some())
        .count();
    assert!(by_ttl >= 20, "{by_ttl} TTL deletes");
    for r in records.iter().filter(|r| r.get("userIdentity").is_some()) {
        assert_eq!(
            r["userIdentity"],
            json!({"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"})
        );
        assert_eq!(r["eventName"], "REMOVE");
    }
    let mut rebuilt: BTreeMap<String, Value> = BTreeMap::new();
    for r in &records {
        let k = r["dynamodb"]["Keys"]["pk"]["S"]
            .as_str()
            .unwrap()
            .to_owned();
        match r["eventName"].as_str().unwrap() {
            "INSERT" | "MODIFY" => {
                if r["eventName"] == "MODIFY" {
                    assert_eq!(rebuilt.get(&k), Some(&r["dynamodb"]["OldImage"]), "{k}");
                } else {
                    assert!(!rebuilt.contains_key(&k), "{k}");
                }
                rebuilt.insert(k, r["dynamodb"]["NewImage"].clone());
            }
            "REMOVE" => {
                assert_eq!(rebuilt.remove(&k), Some(r["dynamodb"]["OldImage"].clone()));
            }
            other => panic!("{other}"),
        }
    }
    let scan = call(addr, "Scan", json!({"TableName": "src"})).await.json();
    let scanned: BTreeMap<String, Value> = scan["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["pk"]["S"].as_str().unwrap().to_owned(), i.clone()))
        .collect();
    assert_eq!(rebuilt, scanned);
    assert!(records.len() > 5_000, "{}", records.len());
}

#[tokio::test]
async fn streams_and_their_records_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // Shards of at most 3 records: the size successions must survive the restart too.
    let config = Config {
        stream_shards: 2,
        stream_shard_max_records: 3,
        ..Config::default()
    };
    let start = |config: Config| {
        let store = binderdb_storage_fjall::FjallStore::open(dir.path()).unwrap();
        TestServer::with_config(Arc::new(store), config)
    };
    let server = start(config.clone()).await;
    let addr = server.addr;
    let arn = create_with_stream(addr, "kept", "NEW_IMAGE").await["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut writes = Vec::new();
    for i in 0..10 {
        let key = format!("k{i}");
        crate::common::put(&server.client(), "kept", &[("pk", s(&key)), ("v", n("0"))]).await;
        writes.push((key, 0));
    }
    let shards = ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"]
        ["Shards"]
        .clone();
    assert!(shards.as_array().unwrap().len() >= 4, "{shards}");
    let before = read_all(addr, &arn).await;
    assert_eq!(before.len(), 10);
    server.stop().await;

    let server = start(config).await;
    let addr = server.addr;
    let after = ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"]
        ["Shards"]
        .clone();
    assert_eq!(after, shards);
    assert_eq!(read_all(addr, &arn).await, before);
    // New records sort after the old ones, in the open shard of their slot (which still
    // counts the records it had before the restart).
    for v in 1..=4 {
        crate::common::put(
            &server.client(),
            "kept",
            &[("pk", s("k0")), ("v", n(&v.to_string()))],
        )
        .await;
        writes.push(("k0".to_owned(), v));
    }
    let records = read_all(addr, &arn).await;
    assert_eq!(records.len(), 14);
    let shards = ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"]
        ["Shards"]
        .as_array()
        .unwrap()
        .clone();
    assert_lineage(&shards, &records, &writes);
    let last = records
        .iter()
        .filter(|r| r["dynamodb"]["Keys"]["pk"]["S"] == "k0")
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(last.len(), 5);
    assert!(last.windows(2).all(|w| w[0] < w[1]));
}
