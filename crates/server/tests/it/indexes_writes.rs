//! Index maintenance on every write path (PutItem, UpdateItem, DeleteItem, BatchWriteItem):
//! what each projection stores, sparse indexes, index keys that move, index key values that
//! are refused before anything is written, and the write capacity each index is charged.

use std::net::SocketAddr;

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use serde_json::{json, Value};

use crate::common::*;
use crate::indexes_ddl::{
    all, create_indexed, describe, include, index, index_desc, keys_only, ok, query_index,
    scan_index,
};

/// Table `Writes`: `pk`/`sk` (S); LSI `lsiAll` on `ls` (S, ALL); GSI `gKeys` on `gk` (S,
/// KEYS_ONLY); GSI `gInc` on `gk` + `gs` (N, INCLUDE `a`); GSI `gBin` on `gb` (B, KEYS_ONLY).
async fn indexed_table(addr: SocketAddr) {
    create_indexed(
        addr,
        "Writes",
        &[("ls", "S"), ("gk", "S"), ("gs", "N"), ("gb", "B")],
        json!([index("lsiAll", &[("pk", "HASH"), ("ls", "RANGE")], all())]),
        json!([
            index("gKeys", &[("gk", "HASH")], keys_only()),
            index("gInc", &[("gk", "HASH"), ("gs", "RANGE")], include(&["a"])),
            index("gBin", &[("gb", "HASH")], keys_only()),
        ]),
    )
    .await;
}

fn key(sk: &str) -> Value {
    json!({"pk": {"S": "p"}, "sk": {"S": sk}})
}

async fn update(addr: SocketAddr, sk: &str, expression: &str, values: Value) {
    let mut body = json!({"TableName": "Writes", "Key": key(sk), "UpdateExpression": expression});
    if !values.is_null() {
        body["ExpressionAttributeValues"] = values;
    }
    ok(addr, "UpdateItem", body).await;
}

#[tokio::test]
async fn each_projection_returns_what_it_stores() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    indexed_table(addr).await;
    let client = server.client();
    put(
        &client,
        "Writes",
        &[
            ("pk", s("p")),
            ("sk", s("1")),
            ("ls", s("x")),
            ("gk", s("k")),
            ("gs", n("5")),
            ("a", s("A")),
            ("b", s("B")),
        ],
    )
    .await;
    let full = json!({
        "pk": {"S": "p"}, "sk": {"S": "1"}, "ls": {"S": "x"}, "gk": {"S": "k"},
        "gs": {"N": "5"}, "a": {"S": "A"}, "b": {"S": "B"}
    });
    assert_eq!(
        query_index(addr, "Writes", "lsiAll", "pk", json!({"S": "p"})).await,
        std::slice::from_ref(&full)
    );
    let keys_only_entry = json!({"pk": {"S": "p"}, "sk": {"S": "1"}, "gk": {"S": "k"}});
    assert_eq!(
        query_index(addr, "Writes", "gKeys", "gk", json!({"S": "k"})).await,
        std::slice::from_ref(&keys_only_entry)
    );
    let included = json!({
        "pk": {"S": "p"}, "sk": {"S": "1"}, "gk": {"S": "k"}, "gs": {"N": "5"}, "a": {"S": "A"}
    });
    assert_eq!(
        query_index(addr, "Writes", "gInc", "gk", json!({"S": "k"})).await,
        std::slice::from_ref(&included)
    );
    // A Scan of an index returns the same entries.
    assert_eq!(scan_index(addr, "Writes", "lsiAll").await, [full]);
    assert_eq!(scan_index(addr, "Writes", "gKeys").await, [keys_only_entry]);
    assert_eq!(scan_index(addr, "Writes", "gInc").await, [included]);
    // The item has no `gb`: the binary-keyed index is empty.
    assert!(scan_index(addr, "Writes", "gBin").await.is_empty());

    // Through the SDK too.
    let out = client
        .query()
        .table_name("Writes")
        .index_name("gInc")
        .key_condition_expression("gk = :k AND gs > :z")
        .expression_attribute_values(":k", s("k"))
        .expression_attribute_values(":z", n("4"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.items(),
        [item(&[
            ("pk", s("p")),
            ("sk", s("1")),
            ("gk", s("k")),
            ("gs", n("5")),
            ("a", s("A")),
        ])]
    );
}

#[tokio::test]
async fn sparse_entries_come_and_go_with_their_key_attributes() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    indexed_table(addr).await;
    let gk = |v: &str| json!({"S": v});
    // No `gk`, no `ls`: in no index.
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Writes", "Item": {"pk": {"S": "p"}, "sk": {"S": "1"}, "a": {"S": "A"}}}),
    )
    .await;
    for name in ["lsiAll", "gKeys", "gInc", "gBin"] {
        assert!(scan_index(addr, "Writes", name).await.is_empty(), "{name}");
    }

    // Adding `gk` puts it in gKeys; gInc also needs `gs`.
    update(addr, "1", "SET gk = :k", json!({":k": gk("k1")})).await;
    assert_eq!(
        query_index(addr, "Writes", "gKeys", "gk", gk("k1")).await,
        [json!({"pk": {"S": "p"}, "sk": {"S": "1"}, "gk": {"S": "k1"}})]
    );
    assert!(scan_index(addr, "Writes", "gInc").await.is_empty());
    update(addr, "1", "SET gs = :n", json!({":n": {"N": "7"}})).await;
    assert_eq!(
        query_index(addr, "Writes", "gInc", "gk", gk("k1")).await,
        [
            json!({"pk": {"S": "p"}, "sk": {"S": "1"}, "gk": {"S": "k1"}, "gs": {"N": "7"}, "a": {"S": "A"}})
        ]
    );

    // Moving the key: the old entry goes, the new one comes.
    update(addr, "1", "SET gk = :k", json!({":k": gk("k2")})).await;
    assert!(query_index(addr, "Writes", "gKeys", "gk", gk("k1"))
        .await
        .is_empty());
    assert!(query_index(addr, "Writes", "gInc", "gk", gk("k1"))
        .await
        .is_empty());
    assert_eq!(
        query_index(addr, "Writes", "gKeys", "gk", gk("k2"))
            .await
            .len(),
        1
    );
    // Setting it to the value it has keeps the one entry.
    update(addr, "1", "SET gk = :k", json!({":k": gk("k2")})).await;
    assert_eq!(scan_index(addr, "Writes", "gKeys").await.len(), 1);
    // A projected non-key attribute changes in the entry; an unprojected one is not stored.
    update(
        addr,
        "1",
        "SET a = :a, b = :b",
        json!({":a": {"S": "A2"}, ":b": {"S": "B"}}),
    )
    .await;
    assert_eq!(
        query_index(addr, "Writes", "gInc", "gk", gk("k2")).await,
        [
            json!({"pk": {"S": "p"}, "sk": {"S": "1"}, "gk": {"S": "k2"}, "gs": {"N": "7"}, "a": {"S": "A2"}})
        ]
    );

    // The LSI: its sort key appears, moves, and goes.
    update(addr, "1", "SET ls = :l", json!({":l": {"S": "x"}})).await;
    let lsi = query_index(addr, "Writes", "lsiAll", "pk", json!({"S": "p"})).await;
    assert_eq!(lsi.len(), 1);
    assert_eq!(lsi[0]["b"], json!({"S": "B"}));
    update(addr, "1", "SET ls = :l", json!({":l": {"S": "y"}})).await;
    let out = ok(
        addr,
        "Query",
        json!({"TableName": "Writes", "IndexName": "lsiAll",
               "KeyConditionExpression": "pk = :p AND ls = :l",
               "ExpressionAttributeValues": {":p": {"S": "p"}, ":l": {"S": "x"}}}),
    )
    .await;
    assert_eq!(out["Count"], 0);
    assert_eq!(
        scan_index(addr, "Writes", "lsiAll").await[0]["ls"],
        json!({"S": "y"})
    );

    // Removing one key attribute of a two-attribute key removes the entry; setting it back
    // re-creates it.
    update(addr, "1", "REMOVE gs", Value::Null).await;
    assert!(scan_index(addr, "Writes", "gInc").await.is_empty());
    assert_eq!(scan_index(addr, "Writes", "gKeys").await.len(), 1);
    update(addr, "1", "SET gs = :n", json!({":n": {"N": "8"}})).await;
    assert_eq!(scan_index(addr, "Writes", "gInc").await.len(), 1);
    update(addr, "1", "REMOVE gk, ls", Value::Null).await;
    for name in ["lsiAll", "gKeys", "gInc"] {
        assert!(scan_index(addr, "Writes", name).await.is_empty(), "{name}");
    }

    // A PutItem that replaces an indexed item with one lacking the key attributes removes its
    // entries; DeleteItem removes them all.
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Writes", "Item": {"pk": {"S": "p"}, "sk": {"S": "2"}, "ls": {"S": "l"},
               "gk": {"S": "k"}, "gs": {"N": "1"}, "gb": {"B": "AQI="}}}),
    )
    .await;
    for name in ["lsiAll", "gKeys", "gInc", "gBin"] {
        assert_eq!(scan_index(addr, "Writes", name).await.len(), 1, "{name}");
    }
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Writes", "Item": {"pk": {"S": "p"}, "sk": {"S": "2"}, "gb": {"B": "AQI="}}}),
    )
    .await;
    for name in ["lsiAll", "gKeys", "gInc"] {
        assert!(scan_index(addr, "Writes", name).await.is_empty(), "{name}");
    }
    assert_eq!(
        scan_index(addr, "Writes", "gBin").await,
        [json!({"pk": {"S": "p"}, "sk": {"S": "2"}, "gb": {"B": "AQI="}})]
    );
    ok(
        addr,
        "DeleteItem",
        json!({"TableName": "Writes", "Key": key("2")}),
    )
    .await;
    assert!(scan_index(addr, "Writes", "gBin").await.is_empty());
}

#[tokio::test]
async fn batch_write_puts_and_deletes_maintain_indexes() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    indexed_table(addr).await;
    let put_request = |sk: &str, gk: Option<&str>| {
        let mut item = json!({"pk": {"S": "p"}, "sk": {"S": sk}, "ls": {"S": sk}});
        if let Some(gk) = gk {
            item["gk"] = json!({"S": gk});
        }
        json!({"PutRequest": {"Item": item}})
    };
    ok(
        addr,
        "BatchWriteItem",
        json!({"RequestItems": {"Writes": [
            put_request("1", Some("k")),
            put_request("2", Some("k")),
            put_request("3", None),
        ]}}),
    )
    .await;
    assert_eq!(
        query_index(addr, "Writes", "gKeys", "gk", json!({"S": "k"}))
            .await
            .len(),
        2
    );
    assert_eq!(scan_index(addr, "Writes", "lsiAll").await.len(), 3);
    let table = describe(addr, "Writes").await;
    assert_eq!(index_desc(&table, "gKeys")["ItemCount"], 2);
    assert_eq!(index_desc(&table, "lsiAll")["ItemCount"], 3);

    // Deletes, and a put that moves item 2 to another gk.
    ok(
        addr,
        "BatchWriteItem",
        json!({"RequestItems": {"Writes": [
            {"DeleteRequest": {"Key": key("1")}},
            {"DeleteRequest": {"Key": key("3")}},
            put_request("2", Some("other")),
        ]}}),
    )
    .await;
    assert!(
        query_index(addr, "Writes", "gKeys", "gk", json!({"S": "k"}))
            .await
            .is_empty()
    );
    assert_eq!(
        query_index(addr, "Writes", "gKeys", "gk", json!({"S": "other"})).await,
        [json!({"pk": {"S": "p"}, "sk": {"S": "2"}, "gk": {"S": "other"}})]
    );
    assert_eq!(scan_index(addr, "Writes", "lsiAll").await.len(), 1);
    let table = describe(addr, "Writes").await;
    assert_eq!(index_desc(&table, "gKeys")["ItemCount"], 1);
    assert_eq!(index_desc(&table, "lsiAll")["ItemCount"], 1);
}

#[tokio::test]
async fn invalid_index_key_values_are_refused_before_anything_is_written() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    indexed_table(addr).await;
    let refused_put = move |item: Value, message: String| async move {
        call(
            addr,
            "PutItem",
            json!({"TableName": "Writes", "Item": item}),
        )
        .await
        .assert_error(VALIDATION, Some(&message));
    };
    let base = |extra: Value| {
        let mut item = json!({"pk": {"S": "p"}, "sk": {"S": "1"}});
        for (k, v) in extra.as_object().unwrap() {
            item[k] = v.clone();
        }
        item
    };
    let mismatch = |attr: &str, expected: &str, actual: &str, index: &str| {
        format!(
            "One or more parameter values were invalid: Type mismatch for Index Key {attr} \
             Expected: {expected} Actual: {actual} IndexName: {index}"
        )
    };
    let empty = |kind: &str, index: &str, attr: &str| {
        format!(
            "One or more parameter values are not valid. A value specified for a secondary index \
             key is not supported. The AttributeValue for a key attribute cannot contain an empty \
             {kind} value. IndexName: {index}, IndexKey: {attr}"
        )
    };
    refused_put(
        base(json!({"gk": {"N": "1"}})),
        mismatch("gk", "S", "N", "gKeys"),
    )
    .await;
    refused_put(
        base(json!({"gk": {"SS": ["a"]}})),
        mismatch("gk", "S", "SS", "gKeys"),
    )
    .await;
    refused_put(
        base(json!({"gk": {"S": "k"}, "gs": {"S": "1"}})),
        mismatch("gs", "N", "S", "gInc"),
    )
    .await;
    refused_put(
        base(json!({"ls": {"BOOL": true}})),
        mismatch("ls", "S", "BOOL", "lsiAll"),
    )
    .await;
    refused_put(
        base(json!({"gk": {"S": ""}})),
        empty("string", "gKeys", "gk"),
    )
    .await;
    refused_put(
        base(json!({"ls": {"S": ""}})),
        empty("string", "lsiAll", "ls"),
    )
    .await;
    refused_put(
        base(json!({"gb": {"B": ""}})),
        empty("binary", "gBin", "gb"),
    )
    .await;
    refused_put(
        base(json!({"gk": {"S": "k".repeat(2049)}})),
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum \
         size limit of2048 bytes IndexName: gKeys"
            .to_owned(),
    )
    .await;
    refused_put(
        base(json!({"ls": {"S": "s".repeat(1025)}})),
        "One or more parameter values were invalid: Aggregated size of all range keys has \
         exceeded the size limit of 1024 bytes IndexName: lsiAll"
            .to_owned(),
    )
    .await;
    // Nothing was written by any of them.
    assert_eq!(describe(addr, "Writes").await["ItemCount"], 0);

    // The largest values are fine.
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Writes", "Item": base(json!({
            "gk": {"S": "k".repeat(2048)}, "ls": {"S": "s".repeat(1024)}
        }))}),
    )
    .await;
    assert_eq!(scan_index(addr, "Writes", "gKeys").await.len(), 1);

    // UpdateItem: the item keeps its old value and its old entry.
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Writes", "Item": base(json!({"gk": {"S": "k"}}))}),
    )
    .await;
    call(
        addr,
        "UpdateItem",
        json!({"TableName": "Writes", "Key": key("1"), "UpdateExpression": "SET gk = :v",
               "ExpressionAttributeValues": {":v": {"N": "3"}}}),
    )
    .await
    .assert_error(VALIDATION, Some(&mismatch("gk", "S", "N", "gKeys")));
    call(
        addr,
        "UpdateItem",
        json!({"TableName": "Writes", "Key": key("2"), "UpdateExpression": "SET gk = :v",
               "ExpressionAttributeValues": {":v": {"S": ""}}}),
    )
    .await
    .assert_error(VALIDATION, Some(&empty("string", "gKeys", "gk")));
    let got = ok(
        addr,
        "GetItem",
        json!({"TableName": "Writes", "Key": key("1")}),
    )
    .await;
    assert_eq!(got["Item"]["gk"], json!({"S": "k"}));
    assert!(ok(
        addr,
        "GetItem",
        json!({"TableName": "Writes", "Key": key("2")})
    )
    .await
    .get("Item")
    .is_none());
    assert_eq!(
        query_index(addr, "Writes", "gKeys", "gk", json!({"S": "k"}))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn invalid_index_key_value_in_a_batch_refuses_the_whole_batch() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    indexed_table(addr).await;
    call(
        addr,
        "BatchWriteItem",
        json!({"RequestItems": {"Writes": [
            {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"S": "1"}, "gk": {"S": "ok"}}}},
            {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"S": "2"}, "gk": {"N": "1"}}}},
        ]}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: Type mismatch for Index Key gk \
             Expected: S Actual: N IndexName: gKeys",
        ),
    );
    assert_eq!(describe(addr, "Writes").await["ItemCount"], 0);
    assert!(scan_index(addr, "Writes", "gKeys").await.is_empty());
}

/// `ConsumedCapacity` of a write to table `Cap` with ReturnConsumedCapacity `mode`.
async fn write_capacity(addr: SocketAddr, op: &str, mut body: Value, mode: &str) -> Value {
    body["TableName"] = json!("Cap");
    body["ReturnConsumedCapacity"] = json!(mode);
    ok(addr, op, body).await["ConsumedCapacity"].clone()
}

#[tokio::test]
async fn indexes_capacity_charges_each_index_for_its_change() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    create_indexed(
        addr,
        "Cap",
        &[("ls", "S"), ("gk", "S")],
        json!([index(
            "lsi",
            &[("pk", "HASH"), ("ls", "RANGE")],
            keys_only()
        )]),
        json!([index("gsi", &[("gk", "HASH")], all())]),
    )
    .await;
    let c = |units: f64| json!({"CapacityUnits": units});
    let one = || key("1");
    let set = |expr: &str, values: Value| json!({"Key": one(), "UpdateExpression": expr, "ExpressionAttributeValues": values});

    // A new item in both indexes: one write each.
    let first = json!({"pk": {"S": "p"}, "sk": {"S": "1"}, "ls": {"S": "x"}, "gk": {"S": "a"}});
    assert_eq!(
        write_capacity(addr, "PutItem", json!({"Item": first}), "INDEXES").await,
        json!({"TableName": "Cap", "CapacityUnits": 3.0, "Table": c(1.0),
               "LocalSecondaryIndexes": {"lsi": c(1.0)}, "GlobalSecondaryIndexes": {"gsi": c(1.0)}})
    );
    // Moving the GSI key: a delete plus a put there; the KEYS_ONLY LSI entry is unchanged and
    // costs nothing (and is not listed).
    assert_eq!(
        write_capacity(
            addr,
            "UpdateItem",
            set("SET gk = :g", json!({":g": {"S": "b"}})),
            "INDEXES"
        )
        .await,
        json!({"TableName": "Cap", "CapacityUnits": 3.0, "Table": c(1.0),
               "GlobalSecondaryIndexes": {"gsi": c(2.0)}})
    );
    // A non-key attribute: one write on the ALL GSI, nothing on the KEYS_ONLY LSI.
    assert_eq!(
        write_capacity(
            addr,
            "UpdateItem",
            set("SET xtra = :o", json!({":o": {"S": "o"}})),
            "INDEXES"
        )
        .await,
        json!({"TableName": "Cap", "CapacityUnits": 2.0, "Table": c(1.0),
               "GlobalSecondaryIndexes": {"gsi": c(1.0)}})
    );
    // The same value again: no index changes at all.
    assert_eq!(
        write_capacity(
            addr,
            "UpdateItem",
            set("SET xtra = :o", json!({":o": {"S": "o"}})),
            "INDEXES"
        )
        .await,
        json!({"TableName": "Cap", "CapacityUnits": 1.0, "Table": c(1.0)})
    );
    // Moving the LSI key: delete + put on the LSI; the GSI entry (ALL) changes in place.
    assert_eq!(
        write_capacity(
            addr,
            "UpdateItem",
            set("SET ls = :l", json!({":l": {"S": "y"}})),
            "INDEXES"
        )
        .await,
        json!({"TableName": "Cap", "CapacityUnits": 4.0, "Table": c(1.0),
               "LocalSecondaryIndexes": {"lsi": c(2.0)}, "GlobalSecondaryIndexes": {"gsi": c(1.0)}})
    );
    // TOTAL sums the same units without the split.
    assert_eq!(
        write_capacity(
            addr,
            "UpdateItem",
            set("SET gk = :g", json!({":g": {"S": "c"}})),
            "TOTAL"
        )
        .await,
        json!({"TableName": "Cap", "CapacityUnits": 3.0})
    );
    // A 1.5 KB item: 2 units on the table and on the ALL GSI, 1 on the small KEYS_ONLY LSI
    // entry; its key move on the GSI costs 2 + 2.
    let big = "b".repeat(1500);
    assert_eq!(
        write_capacity(
            addr,
            "UpdateItem",
            set("SET big = :b", json!({":b": {"S": big}})),
            "INDEXES"
        )
        .await,
        json!({"TableName": "Cap", "CapacityUnits": 4.0, "Table": c(2.0),
               "GlobalSecondaryIndexes": {"gsi": c(2.0)}})
    );
    assert_eq!(
        write_capacity(
            addr,
            "UpdateItem",
            set("SET gk = :g", json!({":g": {"S": "d"}})),
            "INDEXES"
        )
        .await,
        json!({"TableName": "Cap", "CapacityUnits": 6.0, "Table": c(2.0),
               "GlobalSecondaryIndexes": {"gsi": c(4.0)}})
    );
    // Removing the item: one delete on each index it was in.
    assert_eq!(
        write_capacity(addr, "DeleteItem", json!({"Key": one()}), "INDEXES").await,
        json!({"TableName": "Cap", "CapacityUnits": 5.0, "Table": c(2.0),
               "LocalSecondaryIndexes": {"lsi": c(1.0)}, "GlobalSecondaryIndexes": {"gsi": c(2.0)}})
    );
    // An item in no index costs the table only.
    assert_eq!(
        write_capacity(
            addr,
            "PutItem",
            json!({"Item": {"pk": {"S": "p"}, "sk": {"S": "9"}}}),
            "INDEXES"
        )
        .await,
        json!({"TableName": "Cap", "CapacityUnits": 1.0, "Table": c(1.0)})
    );

    // BatchWriteItem sums its writes per table and per index.
    let res = ok(
        addr,
        "BatchWriteItem",
        json!({"ReturnConsumedCapacity": "INDEXES", "RequestItems": {"Cap": [
            {"PutRequest": {"Item": {"pk": {"S": "q"}, "sk": {"S": "1"}, "ls": {"S": "x"}, "gk": {"S": "a"}}}},
            {"PutRequest": {"Item": {"pk": {"S": "q"}, "sk": {"S": "2"}, "gk": {"S": "a"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "p"}, "sk": {"S": "9"}}}},
        ]}}),
    )
    .await;
    assert_eq!(
        res["ConsumedCapacity"],
        json!([{"TableName": "Cap", "CapacityUnits": 6.0, "Table": c(3.0),
                "LocalSecondaryIndexes": {"lsi": c(1.0)}, "GlobalSecondaryIndexes": {"gsi": c(2.0)}}])
    );

    // The SDK reads the split.
    let client = server.client();
    let out = client
        .put_item()
        .table_name("Cap")
        .set_item(Some(item(&[
            ("pk", s("r")),
            ("sk", s("1")),
            ("ls", s("x")),
            ("gk", s("a")),
        ])))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let consumed = out.consumed_capacity().unwrap();
    assert_eq!(consumed.capacity_units(), Some(3.0));
    assert_eq!(consumed.table().unwrap().capacity_units(), Some(1.0));
    assert_eq!(
        consumed.local_secondary_indexes().unwrap()["lsi"].capacity_units(),
        Some(1.0)
    );
    assert_eq!(
        consumed.global_secondary_indexes().unwrap()["gsi"].capacity_units(),
        Some(1.0)
    );
}

/// Every index entry in `store` (all tables and indexes of a fresh store) with the version of
/// the commit that last wrote it.
fn index_entry_versions(
    store: &dyn binderdb_storage::Store,
) -> std::collections::BTreeMap<(u8, u64, Vec<u8>, Vec<u8>), u64> {
    use binderdb_storage::{Keyspace, SegmentScan};
    let mut entries = std::collections::BTreeMap::new();
    for keyspace in [Keyspace::Lsi, Keyspace::Gsi] {
        // Table and index ids of a fresh store are the first compact ids.
        for table in (0..32).filter_map(binderdb_storage::codec::compact_table_id) {
            let scan = SegmentScan {
                keyspace,
                table,
                segment: 0,
                total_segments: 1,
                start_after: None,
            };
            store
                .scan(&scan, &mut |e| {
                    let key = (keyspace as u8, table, e.partition.to_vec(), e.sort.to_vec());
                    entries.insert(key, e.version);
                    std::ops::ControlFlow::Continue(())
                })
                .unwrap();
        }
    }
    entries
}

#[tokio::test]
async fn entries_whose_projection_is_unchanged_are_not_rewritten() {
    let store = test_store();
    let server = TestServer::with_store(store.clone()).await;
    let addr = server.addr;
    indexed_table(addr).await;
    let item = json!({"pk": {"S": "p"}, "sk": {"S": "1"}, "ls": {"S": "l"}, "gk": {"S": "k"},
                      "gs": {"N": "1"}, "a": {"S": "x"}, "note": {"S": "o"}});
    ok(
        addr,
        "PutItem",
        json!({"TableName": "Writes", "Item": item}),
    )
    .await;
    let before = index_entry_versions(store.as_ref());
    // lsiAll, gKeys and gInc hold the item (gBin's key attribute is missing).
    assert_eq!(before.len(), 3, "{before:?}");
    let update = |expr: &str, value: Value| {
        json!({"TableName": "Writes", "Key": {"pk": {"S": "p"}, "sk": {"S": "1"}},
               "UpdateExpression": expr, "ExpressionAttributeValues": {":v": value}})
    };
    // Not projected into gKeys (KEYS_ONLY) or gInc (INCLUDE a): only the ALL entry is written.
    ok(
        addr,
        "UpdateItem",
        update("SET note = :v", json!({"S": "p"})),
    )
    .await;
    let after = index_entry_versions(store.as_ref());
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    let rewritten: Vec<_> = before
        .iter()
        .filter(|(key, version)| after[*key] != **version)
        .map(|(key, _)| key.0)
        .collect();
    assert_eq!(rewritten, vec![binderdb_storage::Keyspace::Lsi as u8]);
    // The same value again changes no entry at all.
    ok(
        addr,
        "UpdateItem",
        update("SET note = :v", json!({"S": "p"})),
    )
    .await;
    assert_eq!(index_entry_versions(store.as_ref()), after);
    // An included attribute rewrites gInc's entry (and the ALL one), not gKeys'.
    ok(addr, "UpdateItem", update("SET a = :v", json!({"S": "y"}))).await;
    let last = index_entry_versions(store.as_ref());
    let rewritten = after.iter().filter(|(k, v)| last[*k] != **v).count();
    assert_eq!(rewritten, 2);
}
