//! Query and Scan with IndexName: order by the index key (ties by the table key), pagination
//! whose keys carry the index and the table key, ExclusiveStartKey errors, Select /
//! ProjectionExpression / ConsistentRead rules per index kind, filters on index key attributes,
//! the legacy parameters, parallel Scan of an index, read capacity, and multi-attribute GSI keys
//! with their key-condition rules.

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::Client;
use serde_json::{json, Value};

use crate::common::*;
use crate::indexes_ddl::{all, create_indexed, include, index, keys_only, ok, scan_index};

/// The `tag` of each JSON item.
fn json_tags(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tag"]["S"].as_str().unwrap().to_owned())
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Table `Scores`: `pk`/`sk` (S); GSI `byScore` on `team` (S) + `score` (N), INCLUDE `tag`;
/// LSI `byRank` on `rank` (N), ALL.
async fn scores_table(addr: SocketAddr) {
    create_indexed(
        addr,
        "Scores",
        &[("team", "S"), ("score", "N"), ("rank", "N")],
        json!([index("byRank", &[("pk", "HASH"), ("rank", "RANGE")], all())]),
        json!([index(
            "byScore",
            &[("team", "HASH"), ("score", "RANGE")],
            include(&["tag"])
        )]),
    )
    .await;
}

async fn put_score(client: &Client, pk: &str, sk: &str, team: &str, score: &str) {
    put(
        client,
        "Scores",
        &[
            ("pk", s(pk)),
            ("sk", s(sk)),
            ("team", s(team)),
            ("score", n(score)),
            ("tag", s(&format!("{pk}{sk}"))),
        ],
    )
    .await;
}

fn by_score(client: &Client, team: &str) -> QueryFluentBuilder {
    client
        .query()
        .table_name("Scores")
        .index_name("byScore")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s(team))
}

#[tokio::test]
async fn index_query_orders_by_index_sort_key_then_table_key() {
    let server = TestServer::memory().await;
    let client = server.client();
    scores_table(server.addr).await;
    // Numbers sort numerically; three items tie on 9 and come back in table-key order.
    for (pk, sk, score) in [
        ("b", "1", "9"),
        ("a", "2", "9"),
        ("a", "1", "9"),
        ("c", "1", "10"),
        ("d", "1", "-1"),
        ("e", "1", "1e2"),
        ("f", "1", "0.5"),
    ] {
        put_score(&client, pk, sk, "red", score).await;
    }
    put_score(&client, "z", "1", "blue", "5").await;
    let expected = strings(&["d1", "f1", "a1", "a2", "b1", "c1", "e1"]);
    let out = by_score(&client, "red").send().await.unwrap();
    assert_eq!(tags(out.items()), expected);
    assert_eq!((out.count(), out.scanned_count()), (7, 7));
    let out = by_score(&client, "red")
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(tags(out.items()), reversed);
    // Sort-key conditions on the index key.
    let out = by_score(&client, "red")
        .key_condition_expression("team = :t AND score BETWEEN :lo AND :hi")
        .expression_attribute_values(":lo", n("0"))
        .expression_attribute_values(":hi", n("9"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags(out.items()), strings(&["f1", "a1", "a2", "b1"]));

    // An LSI orders one partition by its own sort key, ties by the table's sort key.
    for (sk, rank) in [
        ("s1", "3"),
        ("s2", "1"),
        ("s3", "2"),
        ("s4", "1"),
        ("s5", "10"),
    ] {
        put(
            &client,
            "Scores",
            &[
                ("pk", s("p")),
                ("sk", s(sk)),
                ("rank", n(rank)),
                ("tag", s(sk)),
            ],
        )
        .await;
    }
    let lsi = client
        .query()
        .table_name("Scores")
        .index_name("byRank")
        .key_condition_expression("pk = :p");
    let out = lsi
        .clone()
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags(out.items()), strings(&["s2", "s4", "s3", "s1", "s5"]));
    let out = lsi
        .expression_attribute_values(":p", s("p"))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    assert_eq!(tags(out.items()), strings(&["s5", "s1", "s3", "s4", "s2"]));
}

async fn query_pages(
    base: QueryFluentBuilder,
) -> Vec<aws_sdk_dynamodb::operation::query::QueryOutput> {
    crate::common::all_pages!(base)
}

async fn scan_pages(base: ScanFluentBuilder) -> Vec<aws_sdk_dynamodb::operation::scan::ScanOutput> {
    crate::common::all_pages!(base)
}

#[tokio::test]
async fn index_pages_resume_from_last_evaluated_key_with_index_and_table_keys() {
    let server = TestServer::memory().await;
    let client = server.client();
    scores_table(server.addr).await;
    // 23 items, many tying on score, spread over table partitions.
    for i in 0..23 {
        let score = (i % 5).to_string();
        put_score(
            &client,
            &format!("u{}", i % 4),
            &format!("{i:02}"),
            "red",
            &score,
        )
        .await;
    }
    put_score(&client, "u9", "x", "blue", "1").await;
    for forward in [true, false] {
        let full = by_score(&client, "red")
            .scan_index_forward(forward)
            .send()
            .await
            .unwrap();
        assert_eq!(full.count(), 23);
        for limit in [1, 4, 7] {
            let pages = query_pages(
                by_score(&client, "red")
                    .scan_index_forward(forward)
                    .limit(limit),
            )
            .await;
            let walked: Vec<String> = pages.iter().flat_map(|p| tags(p.items())).collect();
            assert_eq!(
                walked,
                tags(full.items()),
                "limit {limit}, forward {forward}"
            );
            let lek = pages[0].last_evaluated_key().unwrap();
            let mut names: Vec<&str> = lek.keys().map(String::as_str).collect();
            names.sort_unstable();
            assert_eq!(names, ["pk", "score", "sk", "team"]);
            // The key is the last item's own.
            let last = pages[0].items().last().unwrap();
            for name in names {
                assert_eq!(lek[name], last[name]);
            }
        }
    }
    // The same over a Scan of the index (both teams).
    let full = scan_index(server.addr, "Scores", "byScore").await;
    assert_eq!(full.len(), 24);
    let pages = scan_pages(
        client
            .scan()
            .table_name("Scores")
            .index_name("byScore")
            .limit(5),
    )
    .await;
    let walked: Vec<String> = pages.iter().flat_map(|p| tags(p.items())).collect();
    assert_eq!(walked, json_tags(&json!(full)));
}

#[tokio::test]
async fn exclusive_start_key_errors_on_an_index() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    scores_table(addr).await;
    let query = |start: Value| {
        json!({"TableName": "Scores", "IndexName": "byScore",
               "KeyConditionExpression": "team = :t",
               "ExpressionAttributeValues": {":t": {"S": "red"}},
               "ExclusiveStartKey": start})
    };
    let good =
        json!({"team": {"S": "red"}, "score": {"N": "1"}, "pk": {"S": "a"}, "sk": {"S": "b"}});
    ok(addr, "Query", query(good.clone())).await;
    // Only the table key, or the index key missing a part.
    for start in [
        json!({"pk": {"S": "a"}, "sk": {"S": "b"}}),
        json!({"team": {"S": "red"}, "pk": {"S": "a"}, "sk": {"S": "b"}}),
        json!({"team": {"S": "red"}, "score": {"N": "1"}, "pk": {"S": "a"}, "sk": {"S": "b"}, "x": {"S": "y"}}),
    ] {
        call(addr, "Query", query(start))
            .await
            .assert_error(VALIDATION, Some("The provided starting key is invalid"));
    }
    // An index key attribute of the wrong type.
    call(
        addr,
        "Query",
        query(
            json!({"team": {"S": "red"}, "score": {"S": "1"}, "pk": {"S": "a"}, "sk": {"S": "b"}}),
        ),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("The provided key element does not match the schema"),
    );
    // A key of another index partition.
    call(
        addr,
        "Query",
        query(
            json!({"team": {"S": "blue"}, "score": {"N": "1"}, "pk": {"S": "a"}, "sk": {"S": "b"}}),
        ),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("The provided starting key is outside query boundaries based on provided conditions"),
    );
    // Scan words a wrong key its own way.
    ok(
        addr,
        "Scan",
        json!({"TableName": "Scores", "IndexName": "byScore", "ExclusiveStartKey": good}),
    )
    .await;
    call(
        addr,
        "Scan",
        json!({"TableName": "Scores", "IndexName": "byScore",
               "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"S": "b"}}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "The provided starting key is invalid: The provided key element does not match the \
             schema",
        ),
    );
}

/// Table `Sel`: `pk`/`sk` (S); LSI `lsiKeys` on `ls` (KEYS_ONLY); GSIs `gsiKeys` (KEYS_ONLY)
/// and `gsiAll` (ALL) on `g`; three small items in partition `p`, all with g = `x`.
async fn select_table(addr: SocketAddr) {
    create_indexed(
        addr,
        "Sel",
        &[("ls", "S"), ("g", "S")],
        json!([index(
            "lsiKeys",
            &[("pk", "HASH"), ("ls", "RANGE")],
            keys_only()
        )]),
        json!([
            index("gsiKeys", &[("g", "HASH")], keys_only()),
            index("gsiAll", &[("g", "HASH")], all()),
        ]),
    )
    .await;
    for i in 1..=3 {
        ok(
            addr,
            "PutItem",
            json!({"TableName": "Sel", "Item": {"pk": {"S": "p"}, "sk": {"S": i.to_string()},
                   "ls": {"S": format!("l{i}")}, "g": {"S": "x"}, "data": {"S": "d"},
                   "tag": {"S": i.to_string()}}}),
        )
        .await;
    }
}

fn sel_query(index: &str, extra: Value) -> Value {
    let (attr, value) = if index == "lsiKeys" {
        ("pk", "p")
    } else {
        ("g", "x")
    };
    let mut body = json!({"TableName": "Sel", "IndexName": index,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": attr},
        "ExpressionAttributeValues": {":v": {"S": value}}});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn select_projection_and_consistency_rules_per_index_kind() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    select_table(addr).await;
    let c = |units: f64| json!({"CapacityUnits": units});

    // ALL_ATTRIBUTES on a KEYS_ONLY LSI reads each item whole from the table, billed there one
    // item at a time (strongly consistent: 1 unit each) besides the index page (1 unit).
    let out = ok(
        addr,
        "Query",
        sel_query(
            "lsiKeys",
            json!({"Select": "ALL_ATTRIBUTES", "ConsistentRead": true,
                   "ReturnConsumedCapacity": "INDEXES"}),
        ),
    )
    .await;
    assert_eq!(json_tags(&out["Items"]), ["1", "2", "3"]);
    assert_eq!(out["Items"][0]["data"], json!({"S": "d"}));
    assert_eq!(
        out["ConsumedCapacity"],
        json!({"TableName": "Sel", "CapacityUnits": 4.0, "Table": c(3.0),
               "LocalSecondaryIndexes": {"lsiKeys": c(1.0)}})
    );
    // Without it the LSI answers with what it stores, and the table is charged nothing.
    let out = ok(
        addr,
        "Query",
        sel_query(
            "lsiKeys",
            json!({"ConsistentRead": true, "ReturnConsumedCapacity": "INDEXES"}),
        ),
    )
    .await;
    assert_eq!(
        out["Items"][0],
        json!({"pk": {"S": "p"}, "sk": {"S": "1"}, "ls": {"S": "l1"}})
    );
    assert_eq!(
        out["ConsumedCapacity"],
        json!({"TableName": "Sel", "CapacityUnits": 1.0, "Table": c(0.0),
               "LocalSecondaryIndexes": {"lsiKeys": c(1.0)}})
    );
    let out = ok(
        addr,
        "Query",
        sel_query(
            "lsiKeys",
            json!({"ConsistentRead": true, "ReturnConsumedCapacity": "TOTAL"}),
        ),
    )
    .await;
    assert_eq!(
        out["ConsumedCapacity"],
        json!({"TableName": "Sel", "CapacityUnits": 1.0})
    );
    // A ProjectionExpression naming an attribute the LSI does not store fetches it too.
    let out = ok(
        addr,
        "Query",
        sel_query("lsiKeys", json!({"ProjectionExpression": "tag, ls"})),
    )
    .await;
    assert_eq!(
        out["Items"][2],
        json!({"tag": {"S": "3"}, "ls": {"S": "l3"}})
    );

    // A GSI that does not project everything cannot answer ALL_ATTRIBUTES...
    for op in ["Query", "Scan"] {
        let mut body = sel_query("gsiKeys", json!({"Select": "ALL_ATTRIBUTES"}));
        if op == "Scan" {
            body = json!({"TableName": "Sel", "IndexName": "gsiKeys", "Select": "ALL_ATTRIBUTES"});
        }
        call(addr, op, body).await.assert_error(
            VALIDATION,
            Some(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not \
                 supported for global secondary index gsiKeys because its projection type is not \
                 ALL",
            ),
        );
    }
    // ...nor a projection of an attribute it does not store.
    call(
        addr,
        "Query",
        sel_query("gsiKeys", json!({"ProjectionExpression": "pk, #d", "ExpressionAttributeNames": {"#k": "g", "#d": "data"}})),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: Global secondary index gsiKeys does not \
             project the attribute data",
        ),
    );
    // Its own attributes are fine, and an ALL GSI answers ALL_ATTRIBUTES.
    let out = ok(
        addr,
        "Query",
        sel_query("gsiKeys", json!({"ProjectionExpression": "sk, g"})),
    )
    .await;
    assert_eq!(out["Items"][0], json!({"sk": {"S": "1"}, "g": {"S": "x"}}));
    let out = ok(
        addr,
        "Query",
        sel_query("gsiAll", json!({"Select": "ALL_ATTRIBUTES"})),
    )
    .await;
    assert_eq!(out["Items"][1]["data"], json!({"S": "d"}));
    // ALL_PROJECTED_ATTRIBUTES is what an index stores; COUNT only counts.
    let out = ok(
        addr,
        "Query",
        sel_query("gsiKeys", json!({"Select": "ALL_PROJECTED_ATTRIBUTES"})),
    )
    .await;
    assert_eq!(
        out["Items"][0],
        json!({"pk": {"S": "p"}, "sk": {"S": "1"}, "g": {"S": "x"}})
    );
    let out = ok(
        addr,
        "Scan",
        json!({"TableName": "Sel", "IndexName": "lsiKeys", "Select": "ALL_PROJECTED_ATTRIBUTES"}),
    )
    .await;
    assert_eq!(out["Count"], 3);
    let out = ok(
        addr,
        "Query",
        sel_query("gsiAll", json!({"Select": "COUNT"})),
    )
    .await;
    assert_eq!((&out["Count"], out.get("Items")), (&json!(3), None));

    // Consistent reads: refused on a GSI, fine on an LSI.
    for op in ["Query", "Scan"] {
        let body = if op == "Query" {
            sel_query("gsiAll", json!({"ConsistentRead": true}))
        } else {
            json!({"TableName": "Sel", "IndexName": "gsiAll", "ConsistentRead": true})
        };
        call(addr, op, body).await.assert_error(
            VALIDATION,
            Some("Consistent reads are not supported on global secondary indexes"),
        );
    }
    ok(
        addr,
        "Scan",
        json!({"TableName": "Sel", "IndexName": "lsiKeys", "ConsistentRead": true}),
    )
    .await;

    // An index the table does not have.
    for op in ["Query", "Scan"] {
        let body = json!({"TableName": "Sel", "IndexName": "nope",
                          "KeyConditionExpression": "pk = :p",
                          "ExpressionAttributeValues": {":p": {"S": "p"}}});
        let body = if op == "Query" {
            body
        } else {
            json!({"TableName": "Sel", "IndexName": "nope"})
        };
        call(addr, op, body).await.assert_error(
            VALIDATION,
            Some("The table does not have the specified index: nope"),
        );
    }

    // Reading a GSI charges the GSI, not the table.
    let out = ok(
        addr,
        "Query",
        sel_query("gsiAll", json!({"ReturnConsumedCapacity": "INDEXES"})),
    )
    .await;
    assert_eq!(
        out["ConsumedCapacity"],
        json!({"TableName": "Sel", "CapacityUnits": 0.5, "Table": c(0.0),
               "GlobalSecondaryIndexes": {"gsiAll": c(0.5)}})
    );
    let out = ok(
        addr,
        "Scan",
        json!({"TableName": "Sel", "IndexName": "gsiKeys", "ReturnConsumedCapacity": "INDEXES"}),
    )
    .await;
    assert_eq!(
        out["ConsumedCapacity"],
        json!({"TableName": "Sel", "CapacityUnits": 0.5, "Table": c(0.0),
               "GlobalSecondaryIndexes": {"gsiKeys": c(0.5)}})
    );
}

#[tokio::test]
async fn filters_may_not_name_the_index_key_and_legacy_parameters_work_on_indexes() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    select_table(addr).await;
    for (index, attr) in [("gsiAll", "g"), ("lsiKeys", "ls"), ("lsiKeys", "pk")] {
        call(
            addr,
            "Query",
            sel_query(
                index,
                json!({"FilterExpression": "#f = :v",
                       "ExpressionAttributeNames": {"#k": if index == "gsiAll" { "g" } else { "pk" }, "#f": attr}}),
            ),
        )
        .await
        .assert_error(
            VALIDATION,
            Some(&format!(
                "Filter Expression can only contain non-primary key attributes: Primary key \
                 attribute: {attr}"
            )),
        );
    }
    // Filters on other attributes (the table's sort key included, on a GSI) are fine.
    let out = ok(
        addr,
        "Query",
        sel_query(
            "gsiAll",
            json!({"FilterExpression": "sk <> :one", "ExpressionAttributeValues": {":v": {"S": "x"}, ":one": {"S": "1"}}}),
        ),
    )
    .await;
    assert_eq!(
        (&out["Count"], &out["ScannedCount"]),
        (&json!(2), &json!(3))
    );

    // Legacy KeyConditions and QueryFilter on an index.
    let legacy = |filter: Value| {
        json!({"TableName": "Sel", "IndexName": "gsiAll",
               "KeyConditions": {"g": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]}},
               "QueryFilter": filter})
    };
    let out = ok(
        addr,
        "Query",
        legacy(json!({"tag": {"ComparisonOperator": "GE", "AttributeValueList": [{"S": "2"}]}})),
    )
    .await;
    assert_eq!(json_tags(&out["Items"]), ["2", "3"]);
    call(
        addr,
        "Query",
        legacy(json!({"g": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]}})),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("QueryFilter can only contain non-primary key attributes: Primary key attribute: g"),
    );
    let out = ok(
        addr,
        "Query",
        json!({"TableName": "Sel", "IndexName": "lsiKeys",
        "KeyConditions": {
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "ls": {"ComparisonOperator": "GT", "AttributeValueList": [{"S": "l1"}]}
        }}),
    )
    .await;
    assert_eq!(out["Count"], 2);
    // ScanFilter on an index.
    let out = ok(
        addr,
        "Scan",
        json!({"TableName": "Sel", "IndexName": "gsiAll",
               "ScanFilter": {"tag": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "3"}]}}}),
    )
    .await;
    assert_eq!(json_tags(&out["Items"]), ["3"]);
    assert_eq!(out["ScannedCount"], 3);
}

#[tokio::test]
async fn parallel_scan_segments_partition_an_index() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let client = server.client();
    scores_table(addr).await;
    for i in 0..60 {
        let team = format!("t{}", i % 9);
        put_score(&client, &format!("u{i}"), "s", &team, &(i % 4).to_string()).await;
    }
    // Items without `team` are not in the index and so in no segment.
    put(&client, "Scores", &[("pk", s("none")), ("sk", s("s"))]).await;
    let everything: BTreeSet<String> =
        json_tags(&json!(scan_index(addr, "Scores", "byScore").await))
            .into_iter()
            .collect();
    assert_eq!(everything.len(), 60);
    let mut union = BTreeSet::new();
    let mut non_empty = 0;
    for segment in 0..4 {
        let pages = scan_pages(
            client
                .scan()
                .table_name("Scores")
                .index_name("byScore")
                .segment(segment)
                .total_segments(4)
                .limit(7),
        )
        .await;
        let seen: Vec<String> = pages.iter().flat_map(|p| tags(p.items())).collect();
        non_empty += usize::from(!seen.is_empty());
        for tag in seen {
            assert!(union.insert(tag.clone()), "{tag} is in two segments");
        }
    }
    assert_eq!(union, everything);
    assert!(non_empty > 1, "the entries were not spread over segments");
}

/// Table `Multi`: `pk`/`sk` (S) and GSI `multi` with partition key (`t` S, `r` N) and sort key
/// (`y` N, `m` N, `d` S), ALL.
async fn multi_table(addr: SocketAddr, client: &Client) {
    create_indexed(
        addr,
        "Multi",
        &[("t", "S"), ("r", "N"), ("y", "N"), ("m", "N"), ("d", "S")],
        Value::Null,
        json!([index(
            "multi",
            &[
                ("t", "HASH"),
                ("r", "HASH"),
                ("y", "RANGE"),
                ("m", "RANGE"),
                ("d", "RANGE")
            ],
            all()
        )]),
    )
    .await;
    let full = |pk: &str, r: &str, y: &str, m: &str, d: &str| {
        vec![
            ("pk", s(pk)),
            ("sk", s("0")),
            ("t", s("x")),
            ("r", n(r)),
            ("y", n(y)),
            ("m", n(m)),
            ("d", s(d)),
            ("tag", s(pk)),
        ]
    };
    for attrs in [
        full("i1", "1", "2020", "5", "b1"),
        full("i2", "1", "2020", "5", "a"),
        full("i3", "1", "2020", "3", "z"),
        full("i4", "1", "2019", "12", "q"),
        full("i5", "1", "2021", "1", "a"),
        full("i6", "1", "2020", "7", "b2"),
        full("i7", "1", "2020", "5", "b1"),
        // Another index partition.
        full("i9", "2", "2020", "5", "a"),
    ] {
        put(client, "Multi", &attrs).await;
    }
    // Lacking one key attribute: not indexed.
    let mut no_d = full("i8", "1", "2020", "5", "a");
    no_d.retain(|(name, _)| *name != "d");
    put(client, "Multi", &no_d).await;
    let mut no_t = full("i10", "1", "2020", "5", "a");
    no_t.retain(|(name, _)| *name != "t");
    put(client, "Multi", &no_t).await;
}

fn multi_query(client: &Client, condition: &str) -> QueryFluentBuilder {
    client
        .query()
        .table_name("Multi")
        .index_name("multi")
        .key_condition_expression(condition)
        .expression_attribute_values(":t", s("x"))
        .expression_attribute_values(":r", n("1"))
}

#[tokio::test]
async fn multi_attribute_gsi_keys_order_by_the_tuple() {
    let server = TestServer::memory().await;
    let client = server.client();
    multi_table(server.addr, &client).await;
    let all_in_partition = strings(&["i4", "i3", "i2", "i1", "i7", "i6", "i5"]);
    let out = multi_query(&client, "t = :t AND r = :r")
        .send()
        .await
        .unwrap();
    assert_eq!(tags(out.items()), all_in_partition);
    let out = multi_query(&client, "r = :r AND t = :t")
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let mut reversed = all_in_partition.clone();
    reversed.reverse();
    assert_eq!(tags(out.items()), reversed);
    assert_eq!(scan_index(server.addr, "Multi", "multi").await.len(), 8);

    let check = |condition: &'static str,
                 values: Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>,
                 expected: &'static [&'static str]| {
        let client = client.clone();
        async move {
            let mut q = multi_query(&client, condition);
            for (k, v) in values {
                q = q.expression_attribute_values(k, v);
            }
            let out = q.send().await.unwrap();
            assert_eq!(tags(out.items()), strings(expected), "{condition}");
        }
    };
    check(
        "t = :t AND r = :r AND y = :y",
        vec![(":y", n("2020"))],
        &["i3", "i2", "i1", "i7", "i6"],
    )
    .await;
    check(
        "t = :t AND r = :r AND y >= :y",
        vec![(":y", n("2020"))],
        &["i3", "i2", "i1", "i7", "i6", "i5"],
    )
    .await;
    check(
        "t = :t AND r = :r AND y < :y",
        vec![(":y", n("2020"))],
        &["i4"],
    )
    .await;
    check(
        "t = :t AND r = :r AND y = :y AND m BETWEEN :lo AND :hi",
        vec![(":y", n("2020")), (":lo", n("4")), (":hi", n("7"))],
        &["i2", "i1", "i7", "i6"],
    )
    .await;
    check(
        "t = :t AND r = :r AND y = :y AND m = :m AND begins_with(d, :d)",
        vec![(":y", n("2020")), (":m", n("5")), (":d", s("b"))],
        &["i1", "i7"],
    )
    .await;
    check(
        "t = :t AND r = :r AND y = :y AND m = :m AND d = :d",
        vec![(":y", n("2020")), (":m", n("5")), (":d", s("b1"))],
        &["i1", "i7"],
    )
    .await;
    check(
        "t = :t AND r = :r AND y = :y AND m > :m",
        vec![(":y", n("2020")), (":m", n("5"))],
        &["i6"],
    )
    .await;

    // Pages carry every key attribute of the index and of the table.
    let pages = query_pages(multi_query(&client, "t = :t AND r = :r").limit(2)).await;
    let walked: Vec<String> = pages.iter().flat_map(|p| tags(p.items())).collect();
    assert_eq!(walked, all_in_partition);
    let names: HashSet<&str> = pages[0]
        .last_evaluated_key()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, HashSet::from(["t", "r", "y", "m", "d", "pk", "sk"]));
}

#[tokio::test]
async fn multi_attribute_gsi_key_condition_errors() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    multi_table(addr, &server.client()).await;
    let refused = |condition: &'static str, values: Value, message: &'static str| async move {
        let mut all_values = json!({});
        for (k, v) in [(":t", json!({"S": "x"})), (":r", json!({"N": "1"}))] {
            if condition.contains(k) {
                all_values[k] = v;
            }
        }
        for (k, v) in values.as_object().unwrap() {
            all_values[k] = v.clone();
        }
        call(
            addr,
            "Query",
            json!({"TableName": "Multi", "IndexName": "multi",
                   "KeyConditionExpression": condition,
                   "ExpressionAttributeValues": all_values}),
        )
        .await
        .assert_error(VALIDATION, Some(message));
    };
    // Every partition-key attribute, with `=`.
    refused(
        "t = :t",
        json!({}),
        "Query condition missed key schema element: r",
    )
    .await;
    refused(
        "t = :t AND r > :r",
        json!({}),
        "Query key condition not supported",
    )
    .await;
    // Sort-key attributes left to right, no gaps.
    refused(
        "t = :t AND r = :r AND m = :m",
        json!({":m": {"N": "5"}}),
        "Query condition missed key schema element: y",
    )
    .await;
    refused(
        "t = :t AND r = :r AND y = :y AND d = :d",
        json!({":y": {"N": "2020"}, ":d": {"S": "a"}}),
        "Query condition missed key schema element: m",
    )
    .await;
    // Only the last one may be a range.
    refused(
        "t = :t AND r = :r AND y > :y AND m = :m",
        json!({":y": {"N": "2020"}, ":m": {"N": "5"}}),
        "Query key condition not supported",
    )
    .await;
    refused(
        "t = :t AND r = :r AND y BETWEEN :y AND :z AND m = :m",
        json!({":y": {"N": "2020"}, ":z": {"N": "2021"}, ":m": {"N": "5"}}),
        "Query key condition not supported",
    )
    .await;
    // Each attribute has its own type.
    refused(
        "t = :t AND r = :r AND y = :y",
        json!({":y": {"S": "2020"}}),
        "One or more parameter values were invalid: Condition parameter type does not match \
         schema type",
    )
    .await;
    refused(
        "t = :r AND r = :t",
        json!({}),
        "One or more parameter values were invalid: Condition parameter type does not match \
         schema type",
    )
    .await;
    // A condition on an attribute outside the key.
    refused(
        "t = :t AND r = :r AND y = :y AND tag = :g",
        json!({":y": {"N": "2020"}, ":g": {"S": "i1"}}),
        "Query condition missed key schema element: m",
    )
    .await;
    // The filter may not name any index key attribute.
    call(
        addr,
        "Query",
        json!({"TableName": "Multi", "IndexName": "multi",
               "KeyConditionExpression": "t = :t AND r = :r",
               "FilterExpression": "m = :m",
               "ExpressionAttributeValues": {":t": {"S": "x"}, ":r": {"N": "1"}, ":m": {"N": "5"}}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("Filter Expression can only contain non-primary key attributes: Primary key attribute: m"),
    );
}
