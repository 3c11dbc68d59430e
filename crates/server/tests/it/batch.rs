//! BatchGetItem and BatchWriteItem: round trips across tables, limits, duplicates, capacity
//! lists, validation texts, all-or-nothing validation, and the 16 MB response limit.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, ReturnConsumedCapacity,
    ScalarAttributeType, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use serde_json::{json, Value};

use crate::common::*;

/// "Hash" (pk S) and "Range" (pk S, sk N).
async fn two_tables(server: &TestServer) -> Client {
    let client = server.client();
    create_table(&client, "Hash", ("pk", ScalarAttributeType::S), None).await;
    create_table(
        &client,
        "Range",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    client
}

fn map(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn put(item: HashMap<String, AttributeValue>) -> WriteRequest {
    WriteRequest::builder()
        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
        .build()
}

fn delete(key: HashMap<String, AttributeValue>) -> WriteRequest {
    WriteRequest::builder()
        .delete_request(DeleteRequest::builder().set_key(Some(key)).build().unwrap())
        .build()
}

fn keys(keys: Vec<HashMap<String, AttributeValue>>, consistent: bool) -> KeysAndAttributes {
    KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(consistent)
        .build()
        .unwrap()
}

async fn item_count(client: &Client, table: &str) -> (i64, i64) {
    let d = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    (d.item_count.unwrap(), d.table_size_bytes.unwrap())
}

/// `{"S": v}` keys for raw calls.
fn raw_keys(n: usize, prefix: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"pk": {"S": format!("{prefix}{i}")}}))
        .collect()
}

fn raw_puts(n: usize, prefix: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"PutRequest": {"Item": {"pk": {"S": format!("{prefix}{i}")}}}}))
        .collect()
}

#[tokio::test]
async fn writes_and_reads_across_two_tables() {
    let server = TestServer::memory().await;
    let client = two_tables(&server).await;
    let a = map(&[("pk", s("a")), ("v", n("1"))]);
    let b = map(&[("pk", s("b")), ("sk", n("2")), ("v", s("x"))]);
    let out = client
        .batch_write_item()
        .request_items("Hash", vec![put(a.clone())])
        .request_items("Range", vec![put(b.clone())])
        .send()
        .await
        .unwrap();
    assert!(out.unprocessed_items.unwrap().is_empty());
    assert!(out.consumed_capacity.is_none());

    let out = client
        .batch_get_item()
        .request_items(
            "Hash",
            keys(
                vec![map(&[("pk", s("a"))]), map(&[("pk", s("missing"))])],
                true,
            ),
        )
        .request_items(
            "Range",
            keys(
                vec![
                    map(&[("pk", s("b")), ("sk", n("2"))]),
                    map(&[("pk", s("b")), ("sk", n("3"))]),
                ],
                false,
            ),
        )
        .send()
        .await
        .unwrap();
    let responses = out.responses.unwrap();
    assert_eq!(responses["Hash"], vec![a]);
    assert_eq!(responses["Range"], vec![b]);
    assert!(out.unprocessed_keys.unwrap().is_empty());
    assert!(out.consumed_capacity.is_none());
}

#[tokio::test]
async fn missing_keys_give_empty_lists_and_the_exact_body() {
    let server = TestServer::memory().await;
    two_tables(&server).await;
    let res = call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {
            "Hash": {"Keys": [{"pk": {"S": "nope"}}]},
            "Range": {"Keys": [{"pk": {"S": "nope"}, "sk": {"N": "1"}}]}
        }}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"Responses": {"Hash": [], "Range": []}, "UnprocessedKeys": {}})
    );
    let res = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": [{"PutRequest": {"Item": {"pk": {"S": "x"}}}}]}}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"UnprocessedItems": {}}));
}

#[tokio::test]
async fn twenty_five_writes_then_one_batch_get_and_table_stats() {
    let server = TestServer::memory().await;
    let client = two_tables(&server).await;
    let items: Vec<_> = (0..25)
        .map(|i| map(&[("pk", s(&format!("k{i:02}"))), ("v", s("abcd"))]))
        .collect();
    client
        .batch_write_item()
        .request_items("Hash", items.iter().cloned().map(put).collect())
        .send()
        .await
        .unwrap();
    // Each item: "pk"(2) + "kNN"(3) + "v"(1) + "abcd"(4) = 10 bytes.
    assert_eq!(item_count(&client, "Hash").await, (25, 250));

    let key_list = (0..25)
        .map(|i| map(&[("pk", s(&format!("k{i:02}")))]))
        .collect();
    let out = client
        .batch_get_item()
        .request_items("Hash", keys(key_list, true))
        .send()
        .await
        .unwrap();
    let mut got = out.responses.unwrap().remove("Hash").unwrap();
    got.sort_by_key(|i| i["pk"].as_s().unwrap().clone());
    assert_eq!(got, items);

    // Overwrites keep the count; deletes (including of a missing item) lower it.
    client
        .batch_write_item()
        .request_items(
            "Hash",
            vec![
                put(map(&[("pk", s("k00"))])),
                delete(map(&[("pk", s("k01"))])),
                delete(map(&[("pk", s("absent"))])),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(item_count(&client, "Hash").await, (24, 250 - 5 - 10));
}

#[tokio::test]
async fn puts_and_deletes_together() {
    let server = TestServer::memory().await;
    let client = two_tables(&server).await;
    client
        .put_item()
        .table_name("Hash")
        .item("pk", s("old"))
        .send()
        .await
        .unwrap();
    client
        .batch_write_item()
        .request_items(
            "Hash",
            vec![
                delete(map(&[("pk", s("old"))])),
                put(map(&[("pk", s("new"))])),
            ],
        )
        .send()
        .await
        .unwrap();
    let get = |k: &'static str| {
        let client = client.clone();
        async move {
            client
                .get_item()
                .table_name("Hash")
                .key("pk", s(k))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
        }
    };
    assert!(get("old").await.is_none());
    assert!(get("new").await.is_some());
}

#[tokio::test]
async fn consumed_capacity_is_a_list_with_one_entry_per_table() {
    let server = TestServer::memory().await;
    two_tables(&server).await;
    // "pk"(2) + "big"(3) + "b"(1) + 4091 = 4097 bytes: 2 read units, 5 write units.
    let big = "b".repeat(4091);
    let write = |capacity: &str| {
        json!({"ReturnConsumedCapacity": capacity, "RequestItems": {
            "Hash": [
                {"PutRequest": {"Item": {"pk": {"S": "big"}, "b": {"S": big}}}},
                {"PutRequest": {"Item": {"pk": {"S": "small"}}}}
            ],
            "Range": [{"DeleteRequest": {"Key": {"pk": {"S": "x"}, "sk": {"N": "1"}}}}]
        }})
    };
    let res = call(server.addr, "BatchWriteItem", write("TOTAL")).await;
    assert_eq!(
        res.json()["ConsumedCapacity"],
        json!([
            {"TableName": "Hash", "CapacityUnits": 6.0},
            {"TableName": "Range", "CapacityUnits": 1.0}
        ])
    );
    let res = call(server.addr, "BatchWriteItem", write("INDEXES")).await;
    assert_eq!(
        res.json()["ConsumedCapacity"],
        json!([
            {"TableName": "Hash", "CapacityUnits": 6.0, "Table": {"CapacityUnits": 6.0}},
            {"TableName": "Range", "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
        ])
    );
    let res = call(server.addr, "BatchWriteItem", write("NONE")).await;
    assert!(res.json().get("ConsumedCapacity").is_none());

    // Each key is rounded up on its own (a missing one costs like a small one), then summed.
    let read = |consistent: bool| {
        json!({"ReturnConsumedCapacity": "TOTAL", "RequestItems": {
            "Hash": {"ConsistentRead": consistent, "Keys": [
                {"pk": {"S": "big"}}, {"pk": {"S": "small"}}, {"pk": {"S": "missing"}}
            ]},
            "Range": {"ConsistentRead": consistent, "Keys": [{"pk": {"S": "x"}, "sk": {"N": "1"}}]}
        }})
    };
    let res = call(server.addr, "BatchGetItem", read(true)).await;
    assert_eq!(
        res.json()["ConsumedCapacity"],
        json!([
            {"TableName": "Hash", "CapacityUnits": 4.0},
            {"TableName": "Range", "CapacityUnits": 1.0}
        ])
    );
    let res = call(server.addr, "BatchGetItem", read(false)).await;
    assert_eq!(
        res.json()["ConsumedCapacity"],
        json!([
            {"TableName": "Hash", "CapacityUnits": 2.0},
            {"TableName": "Range", "CapacityUnits": 0.5}
        ])
    );

    // Through the SDK too.
    let client = server.client();
    let out = client
        .batch_get_item()
        .request_items("Hash", keys(vec![map(&[("pk", s("small"))])], true))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let cc = out.consumed_capacity.unwrap();
    assert_eq!(cc.len(), 1);
    assert_eq!(cc[0].table_name.as_deref(), Some("Hash"));
    assert_eq!(cc[0].capacity_units, Some(1.0));
    assert_eq!(cc[0].table.as_ref().unwrap().capacity_units, Some(1.0));
}

#[tokio::test]
async fn batch_get_key_limits() {
    let server = TestServer::memory().await;
    two_tables(&server).await;
    let res = call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {"Keys": raw_keys(100, "k")}}}),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    assert_eq!(res.json()["Responses"]["Hash"], json!([]));

    // 101 keys in one table: a constraint on that table's Keys, naming the member without
    // echoing the list (recorded from DynamoDB).
    call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {"Keys": raw_keys(101, "k")}}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "1 validation error detected: Value at 'RequestItems.Hash.member.Keys' failed to \
             satisfy constraint: Member must have length less than or equal to 100",
        ),
    );

    // 100 + 1 across tables.
    let res = call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {
            "Hash": {"Keys": raw_keys(100, "k")},
            "Range": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}]}
        }}),
    )
    .await;
    res.assert_error(
        VALIDATION,
        Some("Too many items requested for the BatchGetItem call"),
    );
}

#[tokio::test]
async fn batch_write_request_limits() {
    let server = TestServer::memory().await;
    let client = two_tables(&server).await;
    let res = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": raw_puts(25, "k")}}),
    )
    .await;
    assert_eq!(res.status, 200, "{:?}", res.json());
    assert_eq!(item_count(&client, "Hash").await.0, 25);

    let res = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": raw_puts(26, "m")}}),
    )
    .await;
    let message = res.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(
            "1 validation error detected: Value '{Hash=[WriteRequest(putRequest=PutRequest(\
             item={pk=com.amazonaws.dynamodb.v20120810.AttributeValue@"
        ),
        "{message}"
    );
    assert!(
        message.ends_with(
            ", workloadProfileName=null), deleteRequest=null)]}' at 'requestItems' failed to \
             satisfy constraint: Map value must satisfy constraint: [Member must have length \
             less than or equal to 25, Member must have length greater than or equal to 1]"
        ),
        "{message}"
    );

    // 13 + 13 across tables.
    let range_puts: Vec<Value> = (0..13)
        .map(|i| json!({"PutRequest": {"Item": {"pk": {"S": "r"}, "sk": {"N": i.to_string()}}}}))
        .collect();
    let res = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": raw_puts(13, "n"), "Range": range_puts}}),
    )
    .await;
    res.assert_error(
        VALIDATION,
        Some("Too many items requested for the BatchWriteItem call"),
    );
    assert_eq!(item_count(&client, "Hash").await.0, 25);
    assert_eq!(item_count(&client, "Range").await.0, 0);
}

#[tokio::test]
async fn duplicate_keys_are_rejected() {
    let server = TestServer::memory().await;
    let client = two_tables(&server).await;
    const DUPLICATES: &str = "Provided list of item keys contains duplicates";
    // Duplicates in a BatchGetItem are found from the values, before the table is looked up.
    for table in ["Range", "NoSuchTable"] {
        let key = json!({"pk": {"S": "a"}, "sk": {"N": "1"}});
        let same = json!({"sk": {"N": "1.0"}, "pk": {"S": "a"}});
        let res = call(
            server.addr,
            "BatchGetItem",
            json!({"RequestItems": {table: {"Keys": [key, same]}}}),
        )
        .await;
        res.assert_error(VALIDATION, Some(DUPLICATES));
    }
    // A put and a delete of the same item, in either order.
    for requests in [
        json!([
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "v": {"S": "x"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}
        ]),
        json!([
            {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}},
            {"PutRequest": {"Item": {"pk": {"S": "a"}}}}
        ]),
    ] {
        let res = call(
            server.addr,
            "BatchWriteItem",
            json!({"RequestItems": {"Hash": requests}}),
        )
        .await;
        res.assert_error(VALIDATION, Some(DUPLICATES));
    }
    // The same key in two tables is two items.
    client
        .batch_write_item()
        .request_items("Hash", vec![put(map(&[("pk", s("a"))]))])
        .request_items("Range", vec![put(map(&[("pk", s("a")), ("sk", n("1"))]))])
        .send()
        .await
        .unwrap();
    // The table is checked before duplicates in a BatchWriteItem.
    let res = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {"NoSuchTable": [
            {"PutRequest": {"Item": {"pk": {"S": "a"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}
        ]}}),
    )
    .await;
    res.assert_error(NOT_FOUND, Some("Requested resource not found"));
}

#[tokio::test]
async fn one_invalid_request_writes_nothing() {
    let server = TestServer::memory().await;
    let client = two_tables(&server).await;
    let too_big = "x".repeat(400 * 1024);
    for bad in [
        // A key that does not match the schema, in another table.
        json!({"Range": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]}),
        // An item over 400 KB, in the same table.
        json!({"Hash": [{"PutRequest": {"Item": {"pk": {"S": "z"}, "b": {"S": too_big}}}}]}),
        // A table that does not exist.
        json!({"Nope": [{"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]}),
    ] {
        let mut request_items = bad.as_object().unwrap().clone();
        let hash = request_items
            .entry("Hash")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .unwrap();
        hash.insert(0, json!({"PutRequest": {"Item": {"pk": {"S": "a"}}}}));
        hash.insert(0, json!({"PutRequest": {"Item": {"pk": {"S": "b"}}}}));
        let res = call(
            server.addr,
            "BatchWriteItem",
            json!({"RequestItems": request_items}),
        )
        .await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(item_count(&client, "Hash").await, (0, 0), "{bad}");
        assert_eq!(item_count(&client, "Range").await, (0, 0), "{bad}");
    }
}

#[tokio::test]
async fn item_and_key_validation_matches_the_single_item_operations() {
    let server = TestServer::memory().await;
    two_tables(&server).await;
    const MISMATCH: &str = "The provided key element does not match the schema";
    let write = |request: Value| json!({"RequestItems": {"Range": [request]}});
    // A missing or mistyped key attribute in a PutRequest is "does not match the schema".
    for item in [
        json!({"pk": {"S": "a"}}),
        json!({"pk": {"S": "a"}, "sk": {"S": "1"}}),
        json!({"sk": {"N": "1"}}),
    ] {
        let res = call(
            server.addr,
            "BatchWriteItem",
            write(json!({"PutRequest": {"Item": item}})),
        )
        .await;
        res.assert_error(VALIDATION, Some(MISMATCH));
    }
    for key in [
        json!({"pk": {"S": "a"}}),
        json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}}),
    ] {
        let res = call(
            server.addr,
            "BatchWriteItem",
            write(json!({"DeleteRequest": {"Key": key.clone()}})),
        )
        .await;
        res.assert_error(VALIDATION, Some(MISMATCH));
        let res = call(
            server.addr,
            "BatchGetItem",
            json!({"RequestItems": {"Range": {"Keys": [key]}}}),
        )
        .await;
        res.assert_error(VALIDATION, Some(MISMATCH));
    }
    // Values, sizes and key sizes: the same words as PutItem.
    for item in [
        json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"NULL": false}}),
        json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"SS": ["x", "x"]}}),
        json!({"pk": {"S": "a"}, "sk": {"N": "1e126"}}),
        json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x".repeat(400 * 1024)}}),
        json!({"pk": {"S": "a".repeat(2049)}, "sk": {"N": "1"}}),
        json!({"pk": {"S": ""}, "sk": {"N": "1"}}),
    ] {
        let single = call(
            server.addr,
            "PutItem",
            json!({"TableName": "Range", "Item": item.clone()}),
        )
        .await;
        let expected = single.json()["message"].as_str().unwrap().to_owned();
        let res = call(
            server.addr,
            "BatchWriteItem",
            write(json!({"PutRequest": {"Item": item}})),
        )
        .await;
        res.assert_error(VALIDATION, Some(&expected));
    }
    // A request with neither or both of PutRequest and DeleteRequest.
    const ONE_OF: &str = "Supplied AttributeValue has more than one datatypes set, must \
                          contain exactly one of the supported datatypes";
    for request in [
        json!({}),
        json!({
            "PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}},
            "DeleteRequest": {"Key": {"pk": {"S": "b"}, "sk": {"N": "1"}}}
        }),
    ] {
        let res = call(server.addr, "BatchWriteItem", write(request)).await;
        res.assert_error(VALIDATION, Some(ONE_OF));
    }
}

#[tokio::test]
async fn missing_tables_and_unsupported_parameters() {
    let server = TestServer::memory().await;
    two_tables(&server).await;
    let res = call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {"Nope": {"Keys": [{"pk": {"S": "a"}}]}}}),
    )
    .await;
    res.assert_error(NOT_FOUND, Some("Requested resource not found"));
    let res = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {"Nope": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]}}),
    )
    .await;
    res.assert_error(NOT_FOUND, Some("Requested resource not found"));
    for (extra, message) in [
        (
            json!({"ProjectionExpression": "pk", "AttributesToGet": ["pk"]}),
            "Can not use both expression and non-expression parameters in the same request: \
             Non-expression parameters: {AttributesToGet} Expression parameters: \
             {ProjectionExpression}",
        ),
        (
            json!({"ExpressionAttributeNames": {"#p": "pk"}}),
            "ExpressionAttributeNames can only be specified when using expressions",
        ),
        (
            json!({"ProjectionExpression": "#p", "ExpressionAttributeNames": {"#p": "pk", "#q": "x"}}),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#q}",
        ),
    ] {
        let mut request = json!({"Keys": [{"pk": {"S": "a"}}]});
        request
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let res = call(
            server.addr,
            "BatchGetItem",
            json!({"RequestItems": {"Hash": request}}),
        )
        .await;
        res.assert_error(VALIDATION, Some(message));
    }
}

#[tokio::test]
async fn projections_shape_each_tables_items() {
    let server = TestServer::memory().await;
    two_tables(&server).await;
    call(
        server.addr,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}, "x": {"N": "1"}, "m": {"M": {"k": {"S": "v"}, "j": {"S": "w"}}}}}),
    )
    .await;
    let res = call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {
            "Keys": [{"pk": {"S": "a"}}],
            "ProjectionExpression": "#m.k, x",
            "ExpressionAttributeNames": {"#m": "m"}
        }}}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        res.json()["Responses"]["Hash"],
        json!([{"x": {"N": "1"}, "m": {"M": {"k": {"S": "v"}}}}])
    );
    let res = call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {"Keys": [{"pk": {"S": "a"}}], "AttributesToGet": ["pk"]}}}),
    )
    .await;
    assert_eq!(res.json()["Responses"]["Hash"], json!([{"pk": {"S": "a"}}]));
}

#[tokio::test]
async fn request_constraint_messages() {
    let server = TestServer::memory().await;
    two_tables(&server).await;
    let cases = [
        (
            "BatchGetItem",
            json!({}),
            "1 validation error detected: Value null at 'requestItems' failed to satisfy \
             constraint: Member must not be null"
                .to_owned(),
        ),
        (
            "BatchWriteItem",
            json!({"ReturnConsumedCapacity": "hi", "ReturnItemCollectionMetrics": "hi"}),
            "3 validation errors detected: Value 'hi' at 'returnConsumedCapacity' failed to \
             satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; \
             Value 'hi' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member \
             must satisfy enum value set: [SIZE, NONE]; Value null at 'requestItems' failed to \
             satisfy constraint: Member must not be null"
                .to_owned(),
        ),
        (
            "BatchGetItem",
            json!({"RequestItems": {}}),
            "The requestItems parameter is required for BatchGetItem".to_owned(),
        ),
        (
            "BatchWriteItem",
            json!({"RequestItems": {}}),
            "The requestItems parameter is required for BatchWriteItem".to_owned(),
        ),
        (
            "BatchGetItem",
            json!({"RequestItems": {"abc": {"Keys": []}}}),
            "1 validation error detected: Value '[]' at 'requestItems.abc.member.keys' failed \
             to satisfy constraint: Member must have length greater than or equal to 1"
                .to_owned(),
        ),
        (
            "BatchGetItem",
            json!({"RequestItems": {"a": {}}, "ReturnConsumedCapacity": "hi"}),
            format!(
                "3 validation errors detected: Value 'hi' at 'returnConsumedCapacity' failed to \
                 satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; \
                 Value '{{a=KeysAndAttributes(keys=null, attributesToGet=null, \
                 consistentRead=null, projectionExpression=null, \
                 expressionAttributeNames=null)}}' at 'requestItems' failed to satisfy \
                 constraint: {TABLE_KEYS}; Value null at 'requestItems.a.member.keys' failed to \
                 satisfy constraint: Member must not be null"
            ),
        ),
        (
            "BatchWriteItem",
            json!({"RequestItems": {"aa;": [{"PutRequest": {}, "DeleteRequest": {}}]}}),
            format!(
                "3 validation errors detected: Value '{{aa;=[WriteRequest(putRequest=\
                 PutRequest(item=null, workloadProfileName=null), deleteRequest=\
                 DeleteRequest(key=null, workloadProfileName=null))]}}' at 'requestItems' \
                 failed to satisfy constraint: {TABLE_KEYS}; Value null at \
                 'requestItems.aa;.member.1.member.deleteRequest.key' failed to satisfy \
                 constraint: Member must not be null; Value null at \
                 'requestItems.aa;.member.1.member.putRequest.item' failed to satisfy \
                 constraint: Member must not be null"
            ),
        ),
        (
            "BatchWriteItem",
            json!({"RequestItems": {"abc": []}}),
            "1 validation error detected: Value '{abc=[]}' at 'requestItems' failed to satisfy \
             constraint: Map value must satisfy constraint: [Member must have length less than \
             or equal to 25, Member must have length greater than or equal to 1]"
                .to_owned(),
        ),
    ];
    for (op, body, message) in cases {
        let res = call(server.addr, op, body.clone()).await;
        res.assert_error(VALIDATION, Some(&message));
    }
}

const TABLE_KEYS: &str = "Map keys must satisfy constraint: [Member must have length less than \
                          or equal to 255, Member must have length greater than or equal to 3, \
                          Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]";

#[tokio::test]
async fn response_stops_at_sixteen_megabytes() {
    let server = TestServer::memory().await;
    let client = two_tables(&server).await;
    // 45 items of exactly 400 KB: "pk"(2) + "kNN"(3) + "b"(1) + 409594 = 409600 bytes.
    // 40 of them fit in 16 MB (16,384,000 <= 16,777,216 bytes); a 41st would not.
    let b = "b".repeat(409_594);
    let item = |i: usize| map(&[("pk", s(&format!("k{i:02}"))), ("b", s(&b))]);
    for chunk in [0..25, 25..45] {
        client
            .batch_write_item()
            .request_items("Hash", chunk.map(|i| put(item(i))).collect())
            .send()
            .await
            .unwrap();
    }
    let all_keys: Vec<_> = (0..45)
        .map(|i| map(&[("pk", s(&format!("k{i:02}")))]))
        .collect();
    let out = client
        .batch_get_item()
        .request_items("Hash", keys(all_keys.clone(), true))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(out.responses.unwrap()["Hash"].len(), 40);
    // Only what was read is billed: 100 units per 400 KB item.
    assert_eq!(
        out.consumed_capacity.unwrap()[0].capacity_units,
        Some(4000.0)
    );
    let unprocessed = out.unprocessed_keys.unwrap().remove("Hash").unwrap();
    assert_eq!(unprocessed.consistent_read, Some(true));
    assert_eq!(unprocessed.keys, all_keys[40..].to_vec());

    // The unprocessed keys can be sent again as they are.
    let out = client
        .batch_get_item()
        .request_items("Hash", unprocessed)
        .send()
        .await
        .unwrap();
    assert_eq!(out.responses.unwrap()["Hash"].len(), 5);
    assert!(out.unprocessed_keys.unwrap().is_empty());
}
