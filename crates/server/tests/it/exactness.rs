//! DynamoDB's exact answers in corners an SDK user meets: updates that only remove, numbers
//! that are not numbers, limits, DDL edges and request-shape leftovers. Each expected text is
//! DynamoDB's as recorded by dynalite's tests, ScyllaDB Alternator's tests (which run against
//! DynamoDB too) or public logs of real errors; the test names the source where it matters.

use aws_sdk_dynamodb::types::{
    AttributeAction, AttributeValueUpdate, ReturnValue, ScalarAttributeType,
};

use crate::common::*;

async fn hash_table(server: &TestServer, name: &str) {
    create_table(&server.client(), name, ("pk", ScalarAttributeType::S), None).await;
}

async fn get(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

#[tokio::test]
async fn updates_that_only_remove_create_nothing() {
    let server = TestServer::memory().await;
    hash_table(&server, "Upd").await;
    let client = server.client();
    let cases = [
        ("r1", "REMOVE a"),
        ("r2", "REMOVE a, b"),
        ("r3", "DELETE s :set"),
        ("r4", "REMOVE a DELETE s :set"),
    ];
    for (pk, expression) in cases {
        for rv in [
            ReturnValue::AllNew,
            ReturnValue::UpdatedNew,
            ReturnValue::AllOld,
        ] {
            let mut req = client
                .update_item()
                .table_name("Upd")
                .key("pk", s(pk))
                .update_expression(expression)
                .return_values(rv.clone());
            if expression.contains(":set") {
                req = req.expression_attribute_values(
                    ":set",
                    aws_sdk_dynamodb::types::AttributeValue::Ss(vec!["x".into()]),
                );
            }
            let out = req.send().await.unwrap();
            assert_eq!(out.attributes, None, "{expression} {rv:?}");
            assert_eq!(get(&client, "Upd", pk).await, None, "{expression}");
        }
    }
    // AttributeUpdates made only of DELETEs, with or without a value.
    let out = client
        .update_item()
        .table_name("Upd")
        .key("pk", s("r5"))
        .attribute_updates(
            "a",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Delete)
                .build(),
        )
        .attribute_updates(
            "s",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Delete)
                .value(aws_sdk_dynamodb::types::AttributeValue::Ss(
                    vec!["x".into()],
                ))
                .build(),
        )
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    assert_eq!(out.attributes, None);
    assert_eq!(get(&client, "Upd", "r5").await, None);

    // An update without any action still creates the key-only item ...
    let out = client
        .update_item()
        .table_name("Upd")
        .key("pk", s("k1"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    assert_eq!(out.attributes, Some(item(&[("pk", s("k1"))])));
    assert_eq!(
        get(&client, "Upd", "k1").await,
        Some(item(&[("pk", s("k1"))]))
    );
    // ... and one that sets anything creates the item as before.
    client
        .update_item()
        .table_name("Upd")
        .key("pk", s("k2"))
        .update_expression("SET a = :v REMOVE b")
        .expression_attribute_values(":v", n("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&client, "Upd", "k2").await,
        Some(item(&[("pk", s("k2")), ("a", n("1"))]))
    );
    // On an existing item a REMOVE works as always, and may leave the key alone.
    let out = client
        .update_item()
        .table_name("Upd")
        .key("pk", s("k2"))
        .update_expression("REMOVE a")
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .unwrap();
    assert_eq!(out.attributes, Some(item(&[("pk", s("k2"))])));
    assert_eq!(
        get(&client, "Upd", "k2").await,
        Some(item(&[("pk", s("k2"))]))
    );
    // A condition is still evaluated against the missing item.
    let err = client
        .update_item()
        .table_name("Upd")
        .key("pk", s("r6"))
        .update_expression("REMOVE a")
        .condition_expression("attribute_exists(pk)")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ConditionalCheckFailedException".to_owned(),
            "The conditional request failed".to_owned()
        )
    );
}

/// The message of a ValidationException's (code, message).
#[track_caller]
fn validation((code, message): (String, String)) -> String {
    assert_eq!(code, "ValidationException", "{message}");
    message
}

const NOT_NUMERIC: &str = "The parameter cannot be converted to a numeric value";

#[tokio::test]
async fn non_numbers_are_refused_in_dynamodbs_words_everywhere() {
    let server = TestServer::memory().await;
    hash_table(&server, "Num").await;
    create_table(
        &server.client(),
        "NumKey",
        ("pk", ScalarAttributeType::N),
        None,
    )
    .await;
    let client = server.client();
    for bad in [
        "NaN",
        "Infinity",
        "-Infinity",
        "-NaN",
        "dog",
        " 1",
        "1 ",
        "0x10",
    ] {
        let expected = format!("{NOT_NUMERIC}: {bad}");
        // An item attribute.
        let err = client
            .put_item()
            .table_name("Num")
            .item("pk", s("a"))
            .item("n", n(bad))
            .send()
            .await
            .unwrap_err();
        assert_eq!(validation(error_parts(err)), expected);
        // A key.
        let err = client
            .get_item()
            .table_name("NumKey")
            .key("pk", n(bad))
            .send()
            .await
            .unwrap_err();
        assert_eq!(validation(error_parts(err)), expected);
        // An expression attribute value.
        let err = client
            .update_item()
            .table_name("Num")
            .key("pk", s("a"))
            .update_expression("SET a = :v")
            .expression_attribute_values(":v", n(bad))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            validation(error_parts(err)),
            format!("ExpressionAttributeValues contains invalid value: {expected} for key :v")
        );
        // A legacy condition.
        let err = client
            .put_item()
            .table_name("Num")
            .item("pk", s("a"))
            .expected(
                "n",
                aws_sdk_dynamodb::types::ExpectedAttributeValue::builder()
                    .value(n(bad))
                    .build(),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(validation(error_parts(err)), expected);
        // A number set member.
        let err = client
            .put_item()
            .table_name("Num")
            .item("pk", s("a"))
            .item(
                "ns",
                aws_sdk_dynamodb::types::AttributeValue::Ns(vec!["1".into(), bad.into()]),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(validation(error_parts(err)), expected);
    }
    // An empty number has no text to quote.
    let err = client
        .put_item()
        .table_name("Num")
        .item("pk", s("a"))
        .item("n", n(""))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(err).1, NOT_NUMERIC);
    // DynamoDB's own number syntax is all accepted.
    for good in [
        "3", "-7.1234", "-17e5", "-17.4E37", "+3", ".123", "0001.23", "1e+5", "0e1000",
    ] {
        client
            .put_item()
            .table_name("Num")
            .item("pk", s("a"))
            .item("n", n(good))
            .send()
            .await
            .unwrap();
    }
    assert!(get(&client, "Num", "a").await.is_some());
}
