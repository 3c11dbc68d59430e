//! Secondary indexes in CreateTable, DescribeTable and DeleteTable: how an index is described,
//! every semantic validation error with DynamoDB's exact text, and a deleted table taking its
//! indexes with it. Also the small JSON helpers the other `indexes_*` files share.

use std::net::SocketAddr;

use aws_sdk_dynamodb::types::{IndexStatus, ProjectionType, TableStatus};
use serde_json::{json, Value};

use crate::common::*;

/// Calls `op` and returns the response body, which must be a success.
pub(crate) async fn ok(addr: SocketAddr, op: &str, body: Value) -> Value {
    let res = call(addr, op, body).await;
    assert_eq!(
        res.status,
        200,
        "{op} failed: {}",
        String::from_utf8_lossy(&res.body)
    );
    res.json()
}

/// DescribeTable's `Table`.
pub(crate) async fn describe(addr: SocketAddr, table: &str) -> Value {
    ok(addr, "DescribeTable", json!({"TableName": table})).await["Table"].clone()
}

/// The description of index `name` (local or global) in a table description.
pub(crate) fn index_desc<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["LocalSecondaryIndexes"]
        .as_array()
        .into_iter()
        .chain(table["GlobalSecondaryIndexes"].as_array())
        .flatten()
        .find(|i| i["IndexName"] == name)
        .unwrap_or_else(|| panic!("no index {name} in {table}"))
}

/// `{"AttributeName": name, "AttributeType": t}` for each pair.
pub(crate) fn defs(attrs: &[(&str, &str)]) -> Value {
    attrs
        .iter()
        .map(|(n, t)| json!({"AttributeName": n, "AttributeType": t}))
        .collect()
}

/// A KeySchema from `(name, "HASH" | "RANGE")` pairs.
pub(crate) fn keys(elements: &[(&str, &str)]) -> Value {
    elements
        .iter()
        .map(|(n, k)| json!({"AttributeName": n, "KeyType": k}))
        .collect()
}

/// An index definition (LSI or on-demand GSI) with a projection.
pub(crate) fn index(name: &str, key: &[(&str, &str)], projection: Value) -> Value {
    json!({"IndexName": name, "KeySchema": keys(key), "Projection": projection})
}

pub(crate) fn all() -> Value {
    json!({"ProjectionType": "ALL"})
}

pub(crate) fn keys_only() -> Value {
    json!({"ProjectionType": "KEYS_ONLY"})
}

pub(crate) fn include(attrs: &[&str]) -> Value {
    json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": attrs})
}

/// An on-demand table `name` with a `pk` (S) / `sk` (S) key, more attribute definitions and
/// the given LocalSecondaryIndexes / GlobalSecondaryIndexes (`Value::Null` leaves one out).
pub(crate) fn table_request(
    name: &str,
    extra_defs: &[(&str, &str)],
    local: Value,
    global: Value,
) -> Value {
    let mut all_defs = vec![("pk", "S"), ("sk", "S")];
    all_defs.extend_from_slice(extra_defs);
    let mut body = json!({
        "TableName": name,
        "AttributeDefinitions": defs(&all_defs),
        "KeySchema": keys(&[("pk", "HASH"), ("sk", "RANGE")]),
        "BillingMode": "PAY_PER_REQUEST",
    });
    if !local.is_null() {
        body["LocalSecondaryIndexes"] = local;
    }
    if !global.is_null() {
        body["GlobalSecondaryIndexes"] = global;
    }
    body
}

/// Creates a table from [`table_request`]'s arguments; it is ACTIVE at once.
pub(crate) async fn create_indexed(
    addr: SocketAddr,
    name: &str,
    extra_defs: &[(&str, &str)],
    local: Value,
    global: Value,
) -> Value {
    ok(
        addr,
        "CreateTable",
        table_request(name, extra_defs, local, global),
    )
    .await["TableDescription"]
        .clone()
}

/// Queries index `index` of `table` with `pk`-style condition `attr = :v` and returns the
/// items (one page, which must be the last).
pub(crate) async fn query_index(
    addr: SocketAddr,
    table: &str,
    index: &str,
    attr: &str,
    value: Value,
) -> Vec<Value> {
    let out = ok(
        addr,
        "Query",
        json!({
            "TableName": table, "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": attr},
            "ExpressionAttributeValues": {":v": value},
        }),
    )
    .await;
    assert!(out.get("LastEvaluatedKey").is_none(), "{out}");
    out["Items"].as_array().unwrap().clone()
}

/// Every entry of index `index` (a Scan of it, page after page).
pub(crate) async fn scan_index(addr: SocketAddr, table: &str, index: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut start: Option<Value> = None;
    for _ in 0..10_000 {
        let mut body = json!({"TableName": table, "IndexName": index});
        if let Some(s) = start.take() {
            body["ExclusiveStartKey"] = s;
        }
        let out = ok(addr, "Scan", body).await;
        items.extend(out["Items"].as_array().unwrap().iter().cloned());
        match out.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => return items,
        }
    }
    panic!("index scan does not end");
}

#[tokio::test]
async fn create_and_describe_show_local_and_global_indexes() {
    let server = TestServer::memory().await;
    let created = create_indexed(
        server.addr,
        "Forum",
        &[("posted", "N"), ("topic", "S"), ("views", "N")],
        json!([
            index(
                "byPosted",
                &[("pk", "HASH"), ("posted", "RANGE")],
                keys_only()
            ),
            // An LSI on the table's own sort key is allowed.
            index("bySk", &[("pk", "HASH"), ("sk", "RANGE")], all()),
        ]),
        json!([
            index(
                "byTopic",
                &[("topic", "HASH"), ("views", "RANGE")],
                // Listed back sorted by name.
                include(&["title", "author"])
            ),
            // A GSI with the table's own key, and one with only a partition key, are allowed.
            index("sameKey", &[("pk", "HASH"), ("sk", "RANGE")], all()),
            index("topicOnly", &[("topic", "HASH")], keys_only()),
        ]),
    )
    .await;
    let table_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Forum";
    assert_eq!(created["TableStatus"], "CREATING");
    assert_eq!(created["TableArn"], table_arn);

    let lsis = created["LocalSecondaryIndexes"].as_array().unwrap();
    assert_eq!(lsis.len(), 2);
    assert_eq!(
        lsis[0],
        json!({
            "IndexName": "byPosted",
            "KeySchema": keys(&[("pk", "HASH"), ("posted", "RANGE")]),
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "IndexSizeBytes": 0,
            "ItemCount": 0,
            "IndexArn": format!("{table_arn}/index/byPosted"),
        })
    );
    assert_eq!(lsis[1]["IndexName"], "bySk");
    // An LSI has no status and no throughput of its own.
    assert!(lsis[1].get("IndexStatus").is_none());
    assert!(lsis[1].get("ProvisionedThroughput").is_none());

    let gsis = created["GlobalSecondaryIndexes"].as_array().unwrap();
    let names: Vec<&str> = gsis
        .iter()
        .map(|g| g["IndexName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["byTopic", "sameKey", "topicOnly"]);
    let by_topic = &gsis[0];
    assert_eq!(
        by_topic["KeySchema"],
        keys(&[("topic", "HASH"), ("views", "RANGE")])
    );
    assert_eq!(
        by_topic["Projection"],
        json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["author", "title"]})
    );
    assert_eq!(by_topic["IndexStatus"], "CREATING");
    // Created with the table: no Backfilling member at all.
    assert!(by_topic.get("Backfilling").is_none(), "{by_topic}");
    assert_eq!(
        by_topic["ProvisionedThroughput"],
        json!({"ReadCapacityUnits": 0, "WriteCapacityUnits": 0, "NumberOfDecreasesToday": 0})
    );
    assert_eq!(by_topic["IndexSizeBytes"], 0);
    assert_eq!(by_topic["ItemCount"], 0);
    assert_eq!(by_topic["IndexArn"], format!("{table_arn}/index/byTopic"));
    assert_eq!(gsis[2]["KeySchema"], keys(&[("topic", "HASH")]));

    // DescribeTable through the SDK: the same indexes, now ACTIVE.
    let client = server.client();
    let table = client
        .describe_table()
        .table_name("Forum")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(table.table_status, Some(TableStatus::Active));
    let lsi = &table.local_secondary_indexes()[0];
    assert_eq!(lsi.index_name(), Some("byPosted"));
    assert_eq!(
        lsi.projection().unwrap().projection_type(),
        Some(&ProjectionType::KeysOnly)
    );
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("byTopic"));
    assert_eq!(gsi.index_status(), Some(&IndexStatus::Active));
    assert_eq!(gsi.backfilling(), None);
    assert_eq!(
        gsi.projection().unwrap().non_key_attributes(),
        ["author", "title"]
    );
    assert_eq!(
        gsi.index_arn(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/Forum/index/byTopic")
    );
    let mut attrs: Vec<&str> = table
        .attribute_definitions()
        .iter()
        .map(|d| d.attribute_name())
        .collect();
    attrs.sort_unstable();
    assert_eq!(attrs, ["pk", "posted", "sk", "topic", "views"]);
}

#[tokio::test]
async fn provisioned_table_gives_each_gsi_its_throughput() {
    let server = TestServer::memory().await;
    let mut body = table_request(
        "Prov",
        &[("g", "S")],
        Value::Null,
        json!([{
            "IndexName": "gsi1", "KeySchema": keys(&[("g", "HASH")]), "Projection": all(),
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3}
        }]),
    );
    body["BillingMode"] = json!("PROVISIONED");
    body["ProvisionedThroughput"] = json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
    ok(server.addr, "CreateTable", body).await;
    let table = describe(server.addr, "Prov").await;
    assert_eq!(
        index_desc(&table, "gsi1")["ProvisionedThroughput"],
        json!({"ReadCapacityUnits": 5, "WriteCapacityUnits": 3, "NumberOfDecreasesToday": 0})
    );
}

#[tokio::test]
async fn item_count_and_index_size_bytes_follow_writes() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    create_indexed(
        addr,
        "Sized",
        &[("l", "S"), ("g", "S")],
        json!([index("lsi", &[("pk", "HASH"), ("l", "RANGE")], all())]),
        json!([index("gsi", &[("g", "HASH")], keys_only())]),
    )
    .await;
    // Strings only, so sizes are name bytes + value bytes.
    // Item 1: pk(2+1) sk(2+1) l(1+2) g(1+3) data(4+10) = 27 bytes; in both indexes.
    // Item 2: pk(2+1) sk(2+1) l(1+2) = 9 bytes; only in the LSI.
    for body in [
        json!({"pk": {"S": "a"}, "sk": {"S": "1"}, "l": {"S": "xx"}, "g": {"S": "ggg"}, "data": {"S": "0123456789"}}),
        json!({"pk": {"S": "a"}, "sk": {"S": "2"}, "l": {"S": "yy"}}),
    ] {
        ok(addr, "PutItem", json!({"TableName": "Sized", "Item": body})).await;
    }
    let table = describe(addr, "Sized").await;
    assert_eq!(table["ItemCount"], 2);
    assert_eq!(table["TableSizeBytes"], 36);
    // ALL: the items themselves plus 100 bytes of overhead each.
    let lsi = index_desc(&table, "lsi");
    assert_eq!(
        (&lsi["ItemCount"], &lsi["IndexSizeBytes"]),
        (&json!(2), &json!(236))
    );
    // KEYS_ONLY: pk, sk and g of item 1 (3 + 3 + 4 = 10) plus 100.
    let gsi = index_desc(&table, "gsi");
    assert_eq!(
        (&gsi["ItemCount"], &gsi["IndexSizeBytes"]),
        (&json!(1), &json!(110))
    );

    // Removing `g` takes item 1 out of the GSI; removing `data` shrinks its LSI entry.
    ok(
        addr,
        "UpdateItem",
        json!({"TableName": "Sized", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
               "UpdateExpression": "REMOVE g, #d", "ExpressionAttributeNames": {"#d": "data"}}),
    )
    .await;
    let table = describe(addr, "Sized").await;
    let lsi = index_desc(&table, "lsi");
    assert_eq!(
        (&lsi["ItemCount"], &lsi["IndexSizeBytes"]),
        (&json!(2), &json!(218))
    );
    let gsi = index_desc(&table, "gsi");
    assert_eq!(
        (&gsi["ItemCount"], &gsi["IndexSizeBytes"]),
        (&json!(0), &json!(0))
    );

    ok(
        addr,
        "DeleteItem",
        json!({"TableName": "Sized", "Key": {"pk": {"S": "a"}, "sk": {"S": "2"}}}),
    )
    .await;
    let table = describe(addr, "Sized").await;
    let lsi = index_desc(&table, "lsi");
    assert_eq!(
        (&lsi["ItemCount"], &lsi["IndexSizeBytes"]),
        (&json!(1), &json!(109))
    );
}

/// One CreateTable that must fail with a ValidationException and `message`.
async fn refused(addr: SocketAddr, body: Value, message: &str) {
    call(addr, "CreateTable", body)
        .await
        .assert_error(VALIDATION, Some(message));
}

fn invalid(msg: &str) -> String {
    format!("One or more parameter values were invalid: {msg}")
}

#[tokio::test]
async fn create_table_index_definition_errors() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let lsi = |key: &[(&str, &str)]| json!([index("lsi1", key, all())]);
    let gsi = |key: &[(&str, &str)]| json!([index("gsi1", key, all())]);

    // Every attribute definition must be used by some key once there are indexes (checked
    // before anything else about the indexes).
    refused(
        addr,
        table_request(
            "Bad",
            &[("x", "S"), ("unused", "S")],
            Value::Null,
            json!([index("gsi1", &[("x", "HASH")], json!({}))]),
        ),
        &invalid(
            "Some AttributeDefinitions are not used. AttributeDefinitions: [pk, sk, x, unused], \
             keys used: [pk, sk, x]",
        ),
    )
    .await;
    // Index key attributes must be defined.
    refused(
        addr,
        table_request("Bad", &[], Value::Null, gsi(&[("y", "HASH")])),
        &invalid(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [y], \
             AttributeDefinitions: [pk, sk]",
        ),
    )
    .await;
    refused(
        addr,
        table_request(
            "Bad",
            &[],
            lsi(&[("pk", "HASH"), ("y", "RANGE")]),
            Value::Null,
        ),
        &invalid(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [pk, y], \
             AttributeDefinitions: [pk, sk]",
        ),
    )
    .await;
    // An LSI needs a table with a sort key...
    refused(
        addr,
        json!({
            "TableName": "Bad", "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": defs(&[("pk", "S"), ("l", "S")]),
            "KeySchema": keys(&[("pk", "HASH")]),
            "LocalSecondaryIndexes": lsi(&[("pk", "HASH"), ("l", "RANGE")]),
        }),
        &invalid(
            "Table KeySchema does not have a range key, which is required when specifying a \
             LocalSecondaryIndex",
        ),
    )
    .await;
    // ...the table's partition key...
    refused(
        addr,
        table_request(
            "Bad",
            &[("other", "S"), ("l", "S")],
            lsi(&[("other", "HASH"), ("l", "RANGE")]),
            Value::Null,
        ),
        &invalid(
            "Index KeySchema does not have the same leading hash key as table KeySchema for \
             index: lsi1. index hash key: other, table hash key: pk",
        ),
    )
    .await;
    // ...and a sort key of its own.
    refused(
        addr,
        table_request("Bad", &[], lsi(&[("pk", "HASH")]), Value::Null),
        &invalid("Index KeySchema does not have a range key for index: lsi1"),
    )
    .await;
    refused(
        addr,
        table_request(
            "Bad",
            &[("l", "S")],
            lsi(&[("pk", "HASH"), ("l", "HASH")]),
            Value::Null,
        ),
        "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
    )
    .await;
    refused(
        addr,
        table_request("Bad", &[("l", "S")], lsi(&[("l", "RANGE")]), Value::Null),
        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
    )
    .await;
    refused(
        addr,
        table_request(
            "Bad",
            &[("g", "S")],
            Value::Null,
            gsi(&[("g", "HASH"), ("g", "RANGE")]),
        ),
        "Both the Hash Key and the Range Key element in the KeySchema have the same name",
    )
    .await;

    // Counts: at most 5 LSIs and 20 GSIs; lists not empty.
    let six: Vec<(String, Value)> = (1..=6)
        .map(|i| {
            let attr = format!("l{i}");
            let def = attr.clone();
            (
                def,
                index(
                    &format!("lsi{i}"),
                    &[("pk", "HASH"), (&attr, "RANGE")],
                    all(),
                ),
            )
        })
        .collect();
    let six_defs: Vec<(&str, &str)> = six.iter().map(|(a, _)| (a.as_str(), "S")).collect();
    refused(
        addr,
        table_request(
            "Bad",
            &six_defs,
            six.iter().map(|(_, i)| i.clone()).collect(),
            Value::Null,
        ),
        &invalid("Number of LocalSecondaryIndexes exceeds per-table limit of 5"),
    )
    .await;
    let twenty_one: Value = (0..21)
        .map(|i| index(&format!("gsi{i}"), &[("g", "HASH")], keys_only()))
        .collect();
    refused(
        addr,
        table_request("Bad", &[("g", "S")], Value::Null, twenty_one),
        &invalid("GlobalSecondaryIndex count exceeds the per-table limit of 20"),
    )
    .await;
    refused(
        addr,
        table_request("Bad", &[], json!([]), Value::Null),
        &invalid("List of LocalSecondaryIndexes is empty"),
    )
    .await;
    refused(
        addr,
        table_request("Bad", &[], Value::Null, json!([])),
        &invalid("List of GlobalSecondaryIndexes is empty"),
    )
    .await;

    // Index names are unique across LSIs and GSIs.
    refused(
        addr,
        table_request(
            "Bad",
            &[("l", "S"), ("g", "S")],
            json!([index("dup", &[("pk", "HASH"), ("l", "RANGE")], all())]),
            json!([index("dup", &[("g", "HASH")], all())]),
        ),
        &invalid("Duplicate index name: dup"),
    )
    .await;
    refused(
        addr,
        table_request(
            "Bad",
            &[("g", "S")],
            Value::Null,
            json!([
                index("dup", &[("g", "HASH")], all()),
                index("dup", &[("g", "HASH")], keys_only())
            ]),
        ),
        &invalid("Duplicate index name: dup"),
    )
    .await;

    // Projections.
    let projected = |p: Value| {
        table_request(
            "Bad",
            &[("g", "S")],
            Value::Null,
            json!([index("gsi1", &[("g", "HASH")], p)]),
        )
    };
    refused(
        addr,
        projected(json!({})),
        &invalid("Unknown ProjectionType: null"),
    )
    .await;
    refused(
        addr,
        projected(json!({"NonKeyAttributes": ["a"]})),
        &invalid("Unknown ProjectionType: null"),
    )
    .await;
    refused(
        addr,
        projected(json!({"ProjectionType": "KEYS_ONLY", "NonKeyAttributes": ["a"]})),
        &invalid("ProjectionType is KEYS_ONLY, but NonKeyAttributes is specified"),
    )
    .await;
    refused(
        addr,
        projected(json!({"ProjectionType": "ALL", "NonKeyAttributes": ["a"]})),
        &invalid("ProjectionType is ALL, but NonKeyAttributes is specified"),
    )
    .await;
    refused(
        addr,
        projected(json!({"ProjectionType": "INCLUDE"})),
        &invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified"),
    )
    .await;
    refused(
        addr,
        projected(include(&["a", "b", "a"])),
        &invalid("Duplicate element in NonKeyAttributes: a"),
    )
    .await;
    // 100 projected attributes over all indexes is the limit (the same name in two indexes
    // counts twice).
    let twenty: Vec<String> = (0..20).map(|i| format!("a{i}")).collect();
    let twenty: Vec<&str> = twenty.iter().map(String::as_str).collect();
    let five: Vec<Value> = (0..5)
        .map(|i| index(&format!("gsi{i}"), &[("g", "HASH")], include(&twenty)))
        .collect();
    ok(
        addr,
        "CreateTable",
        table_request("Hundred", &[("g", "S")], Value::Null, json!(five)),
    )
    .await;
    let mut six = five.clone();
    six.push(index("gsi5", &[("g", "HASH")], include(&["one_more"])));
    refused(
        addr,
        table_request("Bad", &[("g", "S")], Value::Null, json!(six)),
        &invalid(
            "The sum of NonKeyAttributes across all secondary indexes exceeds the limit of 100",
        ),
    )
    .await;
    // Naming a key attribute in NonKeyAttributes is accepted.
    ok(
        addr,
        "CreateTable",
        table_request(
            "KeyNamed",
            &[("g", "S")],
            Value::Null,
            json!([index("gix", &[("g", "HASH")], include(&["pk", "g", "x"]))]),
        ),
    )
    .await;

    // GSI throughput follows the table's billing mode.
    let mut provisioned = table_request(
        "Bad",
        &[("g", "S")],
        Value::Null,
        json!([index("g-a", &[("g", "HASH")], all())]),
    );
    provisioned["BillingMode"] = json!("PROVISIONED");
    provisioned["ProvisionedThroughput"] = json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
    refused(
        addr,
        provisioned,
        &invalid("ProvisionedThroughput is not specified for index: g-a"),
    )
    .await;
    let mut on_demand = table_request(
        "Bad",
        &[("g", "S")],
        Value::Null,
        json!([index("g-a", &[("g", "HASH")], all())]),
    );
    on_demand["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] =
        json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
    refused(
        addr,
        on_demand,
        &invalid(
            "ProvisionedThroughput should not be specified for index: g-a when BillingMode is \
             PAY_PER_REQUEST",
        ),
    )
    .await;

    // Only the tables created on purpose exist.
    let tables = ok(addr, "ListTables", json!({})).await;
    assert_eq!(tables["TableNames"], json!(["Hundred", "KeyNamed"]));
}

#[tokio::test]
async fn multi_attribute_gsi_key_schema_errors() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let attrs = [("a", "S"), ("b", "S"), ("c", "N"), ("d", "B"), ("e", "S")];
    let with_key = |key: &[(&str, &str)]| {
        let used: Vec<(&str, &str)> = attrs
            .iter()
            .filter(|(n, _)| key.iter().any(|(k, _)| k == n))
            .copied()
            .collect();
        table_request(
            "Bad",
            &used,
            Value::Null,
            json!([index("multi", key, keys_only())]),
        )
    };
    refused(
        addr,
        with_key(&[
            ("a", "HASH"),
            ("b", "HASH"),
            ("c", "HASH"),
            ("d", "HASH"),
            ("e", "HASH"),
        ]),
        &invalid("The KeySchema exceeds the maximum allowed number of HASH key attributes"),
    )
    .await;
    refused(
        addr,
        with_key(&[
            ("a", "HASH"),
            ("b", "RANGE"),
            ("c", "RANGE"),
            ("d", "RANGE"),
            ("e", "RANGE"),
            ("pk", "RANGE"),
        ]),
        &invalid("The KeySchema exceeds the maximum allowed number of RANGE key attributes"),
    )
    .await;
    refused(
        addr,
        with_key(&[("a", "HASH"), ("b", "RANGE"), ("c", "HASH")]),
        &invalid("All HASH key attributes must precede RANGE key attributes in the KeySchema"),
    )
    .await;
    refused(
        addr,
        with_key(&[("a", "HASH"), ("b", "RANGE"), ("a", "RANGE")]),
        &invalid("The KeySchema contains multiple key attributes with the same name"),
    )
    .await;
    refused(
        addr,
        with_key(&[("b", "RANGE"), ("a", "HASH")]),
        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
    )
    .await;
    // Four of each, each attribute with its own type, is fine.
    let created = ok(
        addr,
        "CreateTable",
        table_request(
            "Multi",
            &[
                ("a", "S"),
                ("b", "N"),
                ("c", "B"),
                ("d", "S"),
                ("e", "N"),
                ("f", "S"),
                ("g", "B"),
                ("h", "S"),
            ],
            Value::Null,
            json!([index(
                "multi",
                &[
                    ("a", "HASH"),
                    ("b", "HASH"),
                    ("c", "HASH"),
                    ("d", "HASH"),
                    ("e", "RANGE"),
                    ("f", "RANGE"),
                    ("g", "RANGE"),
                    ("h", "RANGE")
                ],
                keys_only()
            )]),
        ),
    )
    .await;
    assert_eq!(
        created["TableDescription"]["GlobalSecondaryIndexes"][0]["KeySchema"],
        keys(&[
            ("a", "HASH"),
            ("b", "HASH"),
            ("c", "HASH"),
            ("d", "HASH"),
            ("e", "RANGE"),
            ("f", "RANGE"),
            ("g", "RANGE"),
            ("h", "RANGE")
        ])
    );
}

#[tokio::test]
async fn delete_table_removes_its_indexes_and_a_new_table_starts_empty() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let create = move || async move {
        create_indexed(
            addr,
            "Gone",
            &[("l", "S"), ("g", "S")],
            json!([index("lsi", &[("pk", "HASH"), ("l", "RANGE")], all())]),
            json!([index("gsi", &[("g", "HASH")], all())]),
        )
        .await
    };
    create().await;
    for i in 0..5 {
        ok(
            addr,
            "PutItem",
            json!({"TableName": "Gone", "Item": {
                "pk": {"S": "p"}, "sk": {"S": i.to_string()}, "l": {"S": "l"}, "g": {"S": "g"}
            }}),
        )
        .await;
    }
    assert_eq!(
        query_index(addr, "Gone", "gsi", "g", json!({"S": "g"}))
            .await
            .len(),
        5
    );
    let deleted = ok(addr, "DeleteTable", json!({"TableName": "Gone"})).await;
    let description = &deleted["TableDescription"];
    assert_eq!(description["TableStatus"], "DELETING");
    // A table being deleted is described without its indexes (see DeletingTableDescription).
    assert!(
        description.get("GlobalSecondaryIndexes").is_none(),
        "{description}"
    );
    assert!(
        description.get("LocalSecondaryIndexes").is_none(),
        "{description}"
    );
    call(addr, "DescribeTable", json!({"TableName": "Gone"}))
        .await
        .assert_error(
            NOT_FOUND,
            Some("Requested resource not found: Table: Gone not found"),
        );

    create().await;
    assert!(query_index(addr, "Gone", "gsi", "g", json!({"S": "g"}))
        .await
        .is_empty());
    assert!(query_index(addr, "Gone", "lsi", "pk", json!({"S": "p"}))
        .await
        .is_empty());
    assert!(scan_index(addr, "Gone", "gsi").await.is_empty());
    let table = describe(addr, "Gone").await;
    for name in ["lsi", "gsi"] {
        assert_eq!(index_desc(&table, name)["ItemCount"], 0);
        assert_eq!(index_desc(&table, name)["IndexSizeBytes"], 0);
    }
}
