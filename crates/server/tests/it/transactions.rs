//! TransactWriteItems and TransactGetItems: every action type, every cancellation reason, the
//! limits, idempotency tokens (replay, mismatch, expiry, restart), transactional capacity and
//! index maintenance inside a transaction.

use std::sync::Arc;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::GetBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Get, Put, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TransactGetItem, TransactWriteItem,
    Update,
};
use aws_sdk_dynamodb::Client;
use binderdb_engine::{Config, ManualClock};
use serde_json::json;

use crate::common::*;

const CANCELED: &str = "com.amazonaws.dynamodb.v20120810#TransactionCanceledException";

fn put(table: &str, attrs: &[(&str, AttributeValue)]) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item(attrs)))
                .build()
                .unwrap(),
        )
        .build()
}

fn key(id: &str) -> Item {
    item(&[("id", s(id))])
}

fn update(table: &str, id: &str, expression: &str, values: &[(&str, AttributeValue)]) -> Update {
    Update::builder()
        .table_name(table)
        .set_key(Some(key(id)))
        .update_expression(expression)
        .set_expression_attribute_values(Some(item(values)))
        .build()
        .unwrap()
}

fn upd(u: Update) -> TransactWriteItem {
    TransactWriteItem::builder().update(u).build()
}

/// Each table's ConsumedCapacity units, in the response's order.
fn per_table(capacity: &[aws_sdk_dynamodb::types::ConsumedCapacity]) -> Vec<(String, f64)> {
    capacity
        .iter()
        .map(|c| {
            (
                c.table_name().unwrap().to_owned(),
                c.capacity_units().unwrap(),
            )
        })
        .collect()
}

/// A TransactGetItems Get of the item `id` of `table`.
fn read(table: &str, id: &str) -> TransactGetItem {
    read_with(table, id, |get| get)
}

/// A TransactGetItems Get of the item `id` of `table`, with more members set by `more`.
fn read_with(
    table: &str,
    id: &str,
    more: impl FnOnce(GetBuilder) -> GetBuilder,
) -> TransactGetItem {
    TransactGetItem::builder()
        .get(
            more(Get::builder().table_name(table).set_key(Some(key(id))))
                .build()
                .unwrap(),
        )
        .build()
}

async fn get(client: &Client, table: &str, id: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key(id)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

async fn setup() -> (TestServer, Client) {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Txn", ("id", ScalarAttributeType::S), None).await;
    create_table(&client, "Other", ("id", ScalarAttributeType::S), None).await;
    (server, client)
}

/// The cancellation reasons of a TransactWriteItems error as (code, message) pairs.
fn reasons<R: std::fmt::Debug + Send + Sync + 'static>(
    err: SdkError<TransactWriteItemsError, R>,
) -> Vec<(String, String)> {
    match err.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            assert!(
                e.message().unwrap().starts_with(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons ["
                ),
                "{e:?}"
            );
            e.cancellation_reasons()
                .iter()
                .map(|r| {
                    (
                        r.code().unwrap_or_default().to_owned(),
                        r.message().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
}

#[tokio::test]
async fn all_four_actions_commit_together_across_tables() {
    let (_server, client) = setup().await;
    crate::common::put(&client, "Txn", &[("id", s("upd")), ("n", n("1"))]).await;
    crate::common::put(&client, "Txn", &[("id", s("del"))]).await;
    crate::common::put(&client, "Other", &[("id", s("chk")), ("ok", s("yes"))]).await;
    let out = client
        .transact_write_items()
        .transact_items(put("Txn", &[("id", s("new")), ("v", s("x"))]))
        .transact_items(upd(update("Txn", "upd", "ADD n :one", &[(":one", n("1"))])))
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name("Txn")
                        .set_key(Some(key("del")))
                        .condition_expression("attribute_exists(id)")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name("Other")
                        .set_key(Some(key("chk")))
                        .condition_expression("ok = :y")
                        .expression_attribute_values(":y", s("yes"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(get(&client, "Txn", "new").await.unwrap()["v"], s("x"));
    assert_eq!(get(&client, "Txn", "upd").await.unwrap()["n"], n("2"));
    assert!(get(&client, "Txn", "del").await.is_none());
    // Twice the plain cost: 3 one-unit writes on Txn, one one-unit condition check on Other.
    assert_eq!(
        per_table(out.consumed_capacity()),
        vec![("Txn".to_owned(), 6.0), ("Other".to_owned(), 2.0)]
    );
}

#[tokio::test]
async fn a_failed_condition_cancels_everything_with_reasons_in_action_order() {
    let (_server, client) = setup().await;
    crate::common::put(&client, "Txn", &[("id", s("a")), ("v", s("old"))]).await;
    let err = client
        .transact_write_items()
        .transact_items(put("Txn", &[("id", s("b"))]))
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("Txn")
                        .set_item(Some(item(&[("id", s("a")), ("v", s("new"))])))
                        .condition_expression("attribute_not_exists(id)")
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    let TransactWriteItemsError::TransactionCanceledException(e) = &service else {
        panic!("{service:?}");
    };
    assert_eq!(
        e.message(),
        Some(
            "Transaction cancelled, please refer cancellation reasons for specific reasons \
             [None, ConditionalCheckFailed]"
        )
    );
    let reasons = e.cancellation_reasons();
    assert_eq!(reasons[0].code(), Some("None"));
    assert_eq!(reasons[0].message(), None);
    assert_eq!(reasons[1].code(), Some("ConditionalCheckFailed"));
    assert_eq!(reasons[1].message(), Some("The conditional request failed"));
    assert_eq!(reasons[1].item().unwrap()["v"], s("old"));
    // Nothing was written.
    assert!(get(&client, "Txn", "b").await.is_none());
    assert_eq!(get(&client, "Txn", "a").await.unwrap()["v"], s("old"));
}

#[tokio::test]
async fn the_wire_body_carries_type_message_and_reasons() {
    let (server, client) = setup().await;
    crate::common::put(&client, "Txn", &[("id", s("a")), ("n", s("text"))]).await;
    let answer = call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"ConditionCheck": {"TableName": "Txn", "Key": {"id": {"S": "zz"}},
                                "ConditionExpression": "attribute_exists(id)"}},
            {"Update": {"TableName": "Txn", "Key": {"id": {"S": "a"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "Txn", "Item": {"id": {"S": "c"}}}}
        ]}),
    )
    .await;
    assert_eq!(answer.status, 400);
    let body = answer.json();
    assert_eq!(body["__type"], CANCELED);
    assert_eq!(
        body["Message"],
        "Transaction cancelled, please refer cancellation reasons for specific reasons \
         [ConditionalCheckFailed, ValidationError, None]"
    );
    assert_eq!(
        body["CancellationReasons"],
        json!([
            {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
            {"Code": "ValidationError",
             "Message": "An operand in the update expression has an incorrect data type"},
            {"Code": "None"}
        ])
    );
}

#[tokio::test]
async fn malformed_transactions_are_validation_errors() {
    let (server, client) = setup().await;
    // Two actions on one item.
    let err = client
        .transact_write_items()
        .transact_items(put("Txn", &[("id", s("a"))]))
        .transact_items(upd(update("Txn", "a", "SET v = :v", &[(":v", s("x"))])))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Transaction request cannot include multiple operations on one item".to_owned()
        )
    );
    // The same key in two tables is two items.
    client
        .transact_write_items()
        .transact_items(put("Txn", &[("id", s("a"))]))
        .transact_items(put("Other", &[("id", s("a"))]))
        .send()
        .await
        .unwrap();
    // No actions, or too many.
    call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": []}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy \
                 constraint: Member must have length greater than or equal to 1",
        ),
    );
    call(server.addr, "TransactWriteItems", json!({}))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "1 validation error detected: Value null at 'transactItems' failed to satisfy \
                 constraint: Member must not be null",
            ),
        );
    let many: Vec<_> = (0..101)
        .map(|i| json!({"Put": {"TableName": "Txn", "Item": {"id": {"S": format!("k{i}")}}}}))
        .collect();
    call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": many}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "1 validation error detected: Value at 'TransactItems' failed to satisfy \
                 constraint: Member must have length less than or equal to 100",
        ),
    );
    // 100 is allowed.
    let hundred: Vec<_> = (0..100)
        .map(|i| json!({"Put": {"TableName": "Txn", "Item": {"id": {"S": format!("k{i}")}}}}))
        .collect();
    let ok = call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": hundred}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    // An action with no member, or with two.
    for action in [
        json!({}),
        json!({"Put": {"TableName": "Txn", "Item": {"id": {"S": "x"}}},
                                     "Delete": {"TableName": "Txn", "Key": {"id": {"S": "y"}}}}),
    ] {
        call(
            server.addr,
            "TransactWriteItems",
            json!({"TransactItems": [action]}),
        )
        .await
        .assert_error(
            VALIDATION,
            Some("TransactItems can only contain one of Check, Put, Update or Delete"),
        );
    }
    // A missing table.
    let err = client
        .transact_write_items()
        .transact_items(put("Txn", &[("id", s("z"))]))
        .transact_items(put("Missing", &[("id", s("z"))]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ResourceNotFoundException".to_owned(),
            "Requested resource not found".to_owned()
        )
    );
    assert!(get(&client, "Txn", "z").await.is_none());
    // Every action's expressions are checked before any table is looked up: a malformed
    // condition or an unused value on a later action is reported ahead of a missing table.
    let missing = json!({"Put": {"TableName": "Missing", "Item": {"id": {"S": "a"}}}});
    for (check, message) in [
        (
            json!({"ConditionCheck": {"TableName": "Txn", "Key": {"id": {"S": "c"}},
                                      "ConditionExpression": "attribute_not_exists("}}),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"(\"",
        ),
        (
            json!({"ConditionCheck": {"TableName": "Txn", "Key": {"id": {"S": "c"}},
                                      "ConditionExpression": "attribute_not_exists(id)",
                                      "ExpressionAttributeValues": {":v": {"S": "x"}}}}),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}",
        ),
    ] {
        call(
            server.addr,
            "TransactWriteItems",
            json!({"TransactItems": [missing.clone(), check]}),
        )
        .await
        .assert_error(VALIDATION, Some(message));
    }
    // More than 4 MB in all (eleven items of 390 KB), each item within its own limit: 2 + 4 + 1
    // + 399,360 bytes of names and values each, one more for "big10": 4,393,038.
    let big = "x".repeat(390 * 1024);
    let large: Vec<_> = (0..11)
        .map(|i| {
            json!({"Put": {"TableName": "Txn",
                                "Item": {"id": {"S": format!("big{i}")}, "v": {"S": big}}}})
        })
        .collect();
    call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": large}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "Transaction payload size cannot exceed 4MB. Payload Size: : Transaction payload \
             size cannot exceed 4MB. Payload Size: 4393038",
        ),
    );
    // Request constraints are listed as everywhere else.
    call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": [{"ConditionCheck": {"TableName": "Txn", "Key": {"id": {"S": "a"}}}}],
               "ClientRequestToken": ""}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "2 validation errors detected: Value null at \
             'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy \
             constraint: Member must not be null; Value '' at 'clientRequestToken' failed to \
             satisfy constraint: Member must have length greater than or equal to 1",
        ),
    );
}

#[tokio::test]
async fn a_client_request_token_makes_a_retry_a_no_op_billed_as_reads() {
    let store = test_store();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let server = TestServer::with_clock(store, Config::default(), clock.clone()).await;
    let client = server.client();
    create_table(&client, "Txn", ("id", ScalarAttributeType::S), None).await;
    let send = |token: &'static str, amount: &'static str| {
        client
            .transact_write_items()
            .transact_items(upd(update("Txn", "c", "ADD n :a", &[(":a", n(amount))])))
            .client_request_token(token)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
    };
    let first = send("token-1", "5").await.unwrap();
    assert_eq!(first.consumed_capacity()[0].capacity_units(), Some(2.0));
    let again = send("token-1", "5").await.unwrap();
    // The retry wrote nothing and was billed as a strongly consistent read of the item.
    assert_eq!(again.consumed_capacity()[0].capacity_units(), Some(1.0));
    assert_eq!(get(&client, "Txn", "c").await.unwrap()["n"], n("5"));
    // Same token, other parameters.
    let err = send("token-1", "6").await.unwrap_err();
    let (code, _) = error_parts(err);
    assert_eq!(code, "IdempotentParameterMismatchException");
    // Ten minutes after the commit the token is new again.
    clock.advance(10 * 60 * 1000 - 1);
    send("token-1", "5").await.unwrap();
    assert_eq!(get(&client, "Txn", "c").await.unwrap()["n"], n("5"));
    clock.advance(1);
    send("token-1", "6").await.unwrap();
    assert_eq!(get(&client, "Txn", "c").await.unwrap()["n"], n("11"));
    // A cancelled transaction records no token: its retry runs.
    let cancelled = client
        .transact_write_items()
        .transact_items(upd(Update::builder()
            .table_name("Txn")
            .set_key(Some(key("c")))
            .update_expression("ADD n :a")
            .condition_expression("n > :big")
            .expression_attribute_values(":a", n("1"))
            .expression_attribute_values(":big", n("100"))
            .build()
            .unwrap()))
        .client_request_token("token-2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(reasons(cancelled)[0].0, "ConditionalCheckFailed");
    send("token-2", "1").await.unwrap();
    assert_eq!(get(&client, "Txn", "c").await.unwrap()["n"], n("12"));
}

#[tokio::test]
async fn tokens_survive_a_restart_within_their_window() {
    let dir = tempfile::tempdir().unwrap();
    let body = json!({
        "TransactItems": [{"Update": {"TableName": "Txn", "Key": {"id": {"S": "c"}},
                                      "UpdateExpression": "ADD n :one",
                                      "ExpressionAttributeValues": {":one": {"N": "1"}}}}],
        "ClientRequestToken": "restart-token"
    });
    {
        let server = TestServer::durable(dir.path()).await;
        let client = server.client();
        create_table(&client, "Txn", ("id", ScalarAttributeType::S), None).await;
        let answer = call(server.addr, "TransactWriteItems", body.clone()).await;
        assert_eq!(answer.status, 200);
        server.stop().await;
    }
    let server = TestServer::durable(dir.path()).await;
    let answer = call(server.addr, "TransactWriteItems", body).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        get(&server.client(), "Txn", "c").await.unwrap()["n"],
        n("1")
    );
    server.stop().await;
}

#[tokio::test]
async fn transactions_maintain_indexes_and_bill_them_double() {
    let server = TestServer::memory().await;
    let client = server.client();
    let body = json!({
        "TableName": "Idx",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                 {"AttributeName": "g", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{"IndexName": "byG",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}],
        "BillingMode": "PAY_PER_REQUEST"
    });
    assert_eq!(call(server.addr, "CreateTable", body).await.status, 200);
    let out = client
        .transact_write_items()
        .transact_items(put("Idx", &[("id", s("1")), ("g", s("red"))]))
        .transact_items(put("Idx", &[("id", s("2")), ("g", s("red"))]))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    let c = &out.consumed_capacity()[0];
    assert_eq!(c.capacity_units(), Some(8.0));
    assert_eq!(c.table().unwrap().capacity_units(), Some(4.0));
    assert_eq!(
        c.global_secondary_indexes().unwrap()["byG"].capacity_units(),
        Some(4.0)
    );
    let query = |g: &'static str| {
        client
            .query()
            .table_name("Idx")
            .index_name("byG")
            .key_condition_expression("g = :g")
            .expression_attribute_values(":g", s(g))
            .send()
    };
    assert_eq!(query("red").await.unwrap().count(), 2);
    // Moving one item's index key and deleting the other, in one transaction.
    client
        .transact_write_items()
        .transact_items(upd(Update::builder()
            .table_name("Idx")
            .set_key(Some(item(&[("id", s("1"))])))
            .update_expression("SET g = :b")
            .expression_attribute_values(":b", s("blue"))
            .build()
            .unwrap()))
        .transact_items(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name("Idx")
                        .set_key(Some(item(&[("id", s("2"))])))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(query("red").await.unwrap().count(), 0);
    assert_eq!(query("blue").await.unwrap().count(), 1);
}

#[tokio::test]
async fn transact_get_items_reads_projects_and_bills_double() {
    let (server, client) = setup().await;
    crate::common::put(
        &client,
        "Txn",
        &[("id", s("a")), ("v", s("1")), ("w", s("2"))],
    )
    .await;
    crate::common::put(&client, "Other", &[("id", s("b")), ("v", s("3"))]).await;
    let out = client
        .transact_get_items()
        .transact_items(read_with("Txn", "a", |get| {
            get.projection_expression("#v")
                .expression_attribute_names("#v", "v")
        }))
        .transact_items(read("Txn", "missing"))
        .transact_items(read("Other", "b"))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let responses = out.responses();
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[0].item().unwrap(), &item(&[("v", s("1"))]));
    assert!(responses[1].item().is_none());
    assert_eq!(responses[2].item().unwrap()["v"], s("3"));
    assert_eq!(
        per_table(out.consumed_capacity()),
        vec![("Txn".to_owned(), 4.0), ("Other".to_owned(), 2.0)]
    );
    // The wire form of a missing item is an empty object.
    let raw = call(
        server.addr,
        "TransactGetItems",
        json!({"TransactItems": [{"Get": {"TableName": "Txn", "Key": {"id": {"S": "nope"}}}}]}),
    )
    .await;
    assert_eq!(raw.json(), json!({"Responses": [{}]}));
    let err = client
        .transact_get_items()
        .transact_items(read("Missing", "a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(err).0, "ResourceNotFoundException");
    let twice = json!({"Get": {"TableName": "Txn", "Key": {"id": {"S": "a"}}}});
    call(
        server.addr,
        "TransactGetItems",
        json!({"TransactItems": [twice.clone(), twice]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("Transaction request cannot include multiple operations on one item"),
    );
    call(
        server.addr,
        "TransactGetItems",
        json!({"TransactItems": [{}]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "1 validation error detected: Value null at 'transactItems.1.member.get' failed \
                 to satisfy constraint: Member must not be null",
        ),
    );
}

#[tokio::test]
async fn transact_get_items_over_4_mb_in_all_is_a_validation_error() {
    let (_server, client) = setup().await;
    // Eleven stored items of 390 KB: each within the item limit, 4,393,038 bytes in all (2 + 4
    // + 1 + 399,360 each for `id`, "bigN", `v` and the value, one more for "big10").
    let big = "x".repeat(390 * 1024);
    for i in 0..11 {
        crate::common::put(
            &client,
            "Txn",
            &[("id", s(&format!("big{i}"))), ("v", s(&big))],
        )
        .await;
    }
    let read_first = |count: usize| {
        (0..count).fold(client.transact_get_items(), |request, i| {
            request.transact_items(read("Txn", &format!("big{i}")))
        })
    };
    // Ten of them (3,993,670 bytes) are read.
    let ten = read_first(10).send().await.unwrap();
    assert_eq!(ten.responses().len(), 10);
    assert!(ten.responses().iter().all(|r| r.item().is_some()));
    // All eleven are refused whole, even when a projection would make the answer small.
    let err = read_first(11).send().await.unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Transaction payload size cannot exceed 4MB. Payload Size: : Transaction payload \
             size cannot exceed 4MB. Payload Size: 4393038"
                .to_owned()
        )
    );
    let projected = (0..11)
        .fold(client.transact_get_items(), |request, i| {
            request.transact_items(read_with("Txn", &format!("big{i}"), |get| {
                get.projection_expression("id")
            }))
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(projected).0, "ValidationException");
}
