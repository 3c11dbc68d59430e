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
use binderdb_storage::MemoryStore;
use serde_json::{json, Value};

use crate::common::{call, create_table, n, raw_request, s, RawResponse, TestServer, VALIDATION};

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
        ttl_sweep_interval_ms: 20,
        ttl_relax_change_limit: true,
        ..Config::default()
    };
    let server = TestServer::with_clock(Arc::new(MemoryStore::new()), config, clock.clone()).await;
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
async fn read_all(addr: SocketAddr, arn: &str) -> Vec<Value> {
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
        Some("One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true"),
    );
    let r = call(
        addr,
        "UpdateTable",
        json!({"TableName": "orders", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "ALL"}}),
    )
    .await;
    r.assert_error(
        VALIDATION,
        Some("1 validation error detected: Value 'ALL' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]"),
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
        Some("Table does not have an enabled stream: TableName: orders"),
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
        Some("Requested resource not found: Shard does not exist: shardId-1"),
    );
    let r = streams(addr, "GetRecords", json!({"ShardIterator": "garbage"})).await;
    r.assert_error(VALIDATION, Some("Invalid ShardIterator"));

    // DeleteTable drops its streams.
    call(addr, "DeleteTable", json!({"TableName": "orders"})).await;
    let r = streams(addr, "DescribeStream", json!({"StreamArn": arn})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        ok(addr, "ListStreams", json!({})).await["Streams"]
            .as_array()
            .unwrap()
            .len(),
        1
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
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("Iterator expired. The iterator was created at time 2023-11-14T22:14:20.000"));

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
    let server = TestServer::durable(dir.path()).await;
    let addr = server.addr;
    let arn = create_with_stream(addr, "kept", "NEW_IMAGE").await["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..10 {
        crate::common::put(&server.client(), "kept", &[("pk", s(&format!("k{i}")))]).await;
    }
    let shards = ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"]
        ["Shards"]
        .clone();
    let before = read_all(addr, &arn).await;
    assert_eq!(before.len(), 10);
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let addr = server.addr;
    let after = ok(addr, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"]
        ["Shards"]
        .clone();
    assert_eq!(after, shards);
    assert_eq!(read_all(addr, &arn).await, before);
    // New records sort after the old ones in their shard.
    crate::common::put(&server.client(), "kept", &[("pk", s("k0")), ("v", n("1"))]).await;
    let records = read_all(addr, &arn).await;
    assert_eq!(records.len(), 11);
    let last = records
        .iter()
        .filter(|r| r["dynamodb"]["Keys"]["pk"]["S"] == "k0")
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(last.len(), 2);
    assert!(last[0] < last[1]);
}
