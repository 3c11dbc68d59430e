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

/// A CreateTable request for an on-demand table keyed by `key` alone, with the given attribute
/// definitions (so a test can get them wrong).
fn create_request(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
    definitions: &[(&str, ScalarAttributeType)],
) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        );
    for (name, t) in definitions {
        req = req.attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(t.clone())
                .build()
                .unwrap(),
        );
    }
    req
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

#[tokio::test]
async fn expressions_over_4_kb_are_refused_before_parsing() {
    let server = TestServer::memory().await;
    hash_table(&server, "Big").await;
    let client = server.client();
    let exceeded = "Expression size has exceeded the maximum allowed size;";
    // A path of exactly 4096 bytes is still an expression DynamoDB reads.
    let at_limit = format!("a{}", "z".repeat(4095));
    client
        .get_item()
        .table_name("Big")
        .key("pk", s("a"))
        .projection_expression(&at_limit)
        .send()
        .await
        .unwrap();
    let long = format!("a{}", "z".repeat(4096));
    let err = client
        .get_item()
        .table_name("Big")
        .key("pk", s("a"))
        .projection_expression(&long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        format!("Invalid ProjectionExpression: {exceeded}")
    );
    // Condition and Filter messages give the size; Update and KeyCondition do not.
    let condition = format!("attribute_not_exists({long})");
    let err = client
        .put_item()
        .table_name("Big")
        .item("pk", s("a"))
        .condition_expression(&condition)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        format!(
            "Invalid ConditionExpression: {exceeded} expression size: {}",
            condition.len()
        )
    );
    let filter = format!("{long} = :v");
    let err = client
        .scan()
        .table_name("Big")
        .filter_expression(&filter)
        .expression_attribute_values(":v", s("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        format!(
            "Invalid FilterExpression: {exceeded} expression size: {}",
            filter.len()
        )
    );
    let err = client
        .update_item()
        .table_name("Big")
        .key("pk", s("a"))
        .update_expression(format!("SET {long} = :v"))
        .expression_attribute_values(":v", s("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        format!("Invalid UpdateExpression: {exceeded}")
    );
    let err = client
        .query()
        .table_name("Big")
        .key_condition_expression(format!("pk = :p AND {long} = :q"))
        .expression_attribute_values(":p", s("a"))
        .expression_attribute_values(":q", s("b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        format!("Invalid KeyConditionExpression: {exceeded}")
    );
    // A huge expression is refused as quickly as a small one: nothing parses it.
    let huge = "a,".repeat(2_000_000);
    let started = std::time::Instant::now();
    let answer = call(
        server.addr,
        "GetItem",
        serde_json::json!({"TableName": "Big", "Key": {"pk": {"S": "a"}},
                           "ProjectionExpression": huge}),
    )
    .await;
    answer.assert_error(
        VALIDATION,
        Some(&format!("Invalid ProjectionExpression: {exceeded}")),
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn attribute_names_empty_or_over_64_kb_are_refused() {
    let server = TestServer::memory().await;
    hash_table(&server, "Names").await;
    let client = server.client();
    let longest = "n".repeat(65535);
    let too_long = "n".repeat(65536);
    // The longest name DynamoDB takes is 65535 bytes.
    client
        .put_item()
        .table_name("Names")
        .item("pk", s("a"))
        .item(&longest, n("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&client, "Names", "a").await.unwrap()[&longest], n("1"));
    let err = client
        .put_item()
        .table_name("Names")
        .item("pk", s("b"))
        .item(&too_long, n("1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "Attribute name is too large, must be less than 65536 bytes"
    );
    // An empty name, at the top or inside a map, is refused before the condition is
    // evaluated: the failing condition would otherwise answer first.
    for value in [
        None,
        Some(aws_sdk_dynamodb::types::AttributeValue::M(item(&[(
            "",
            n("1"),
        )]))),
    ] {
        let mut req = client
            .put_item()
            .table_name("Names")
            .item("pk", s("c"))
            .condition_expression("attribute_exists(nothing)");
        req = match value {
            None => req.item("", s("x")),
            Some(m) => req.item("m", m),
        };
        let err = req.send().await.unwrap_err();
        assert_eq!(validation(error_parts(err)), "Empty attribute name");
    }
    assert_eq!(get(&client, "Names", "c").await, None);
    // ExpressionAttributeNames: empty names, long names, long placeholders.
    let err = client
        .get_item()
        .table_name("Names")
        .key("pk", s("a"))
        .projection_expression("#a")
        .expression_attribute_names("#a", "")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #a"
    );
    let err = client
        .get_item()
        .table_name("Names")
        .key("pk", s("a"))
        .projection_expression("#a")
        .expression_attribute_names("#a", &too_long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "ExpressionAttributeNames contains invalid value: Attribute name is too large, must be \
         less than 65536 bytes for key #a"
    );
    let placeholder = format!("#{}", "a".repeat(255));
    let err = client
        .get_item()
        .table_name("Names")
        .key("pk", s("a"))
        .projection_expression(&placeholder)
        .expression_attribute_names(&placeholder, "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "ExpressionAttributeNames contains invalid key: The expression attribute map contains a \
         key that is too long; size of key: 256"
    );
    let placeholder = format!(":{}", "a".repeat(255));
    let err = client
        .scan()
        .table_name("Names")
        .filter_expression(format!("x = {placeholder}"))
        .expression_attribute_values(&placeholder, s("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "ExpressionAttributeValues contains invalid key: The expression attribute map contains a \
         key that is too long;"
    );
    // Key attribute names are capped at 255 by CreateTable's constraints.
    let long = "k".repeat(256);
    let err = create_request(
        &client,
        "LongKey",
        &long,
        &[(&long, ScalarAttributeType::S)],
    )
    .send()
    .await
    .unwrap_err();
    let message = validation(error_parts(err));
    assert!(
        message.contains("Member must have length less than or equal to 255"),
        "{message}"
    );
}

#[tokio::test]
async fn list_indexes_past_a_java_int_name_the_index() {
    let server = TestServer::memory().await;
    hash_table(&server, "Idx").await;
    let client = server.client();
    let err = client
        .get_item()
        .table_name("Idx")
        .key("pk", s("a"))
        .projection_expression("a[99999999999999]")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "Invalid ProjectionExpression: List index is not within the allowable range; index: \
         [99999999999999]"
    );
    let err = client
        .update_item()
        .table_name("Idx")
        .key("pk", s("a"))
        .update_expression("SET a[2147483648] = :v")
        .expression_attribute_values(":v", n("1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "Invalid UpdateExpression: List index is not within the allowable range; index: \
         [2147483648]"
    );
    // The largest Java int is an index like any other.
    client
        .get_item()
        .table_name("Idx")
        .key("pk", s("a"))
        .projection_expression("a[2147483647]")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn orderings_of_unordered_constants_are_refused_while_parsing() {
    let server = TestServer::memory().await;
    hash_table(&server, "Ord").await;
    let client = server.client();
    put(&client, "Ord", &[("pk", s("a")), ("n", n("5"))]).await;
    let bool_value = aws_sdk_dynamodb::types::AttributeValue::Bool(true);
    for (condition, operator) in [
        ("n < :v", "<"),
        ("attribute_not_exists(zz) OR n >= :v", ">="),
        ("NOT (n BETWEEN :v AND :v)", "BETWEEN"),
    ] {
        let err = client
            .put_item()
            .table_name("Ord")
            .item("pk", s("a"))
            .condition_expression(condition)
            .expression_attribute_values(":v", bool_value.clone())
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            validation(error_parts(err)),
            format!(
                "Invalid ConditionExpression: Incorrect operand type for operator or function; \
                 operator or function: {operator}, operand type: BOOL"
            ),
            "{condition}"
        );
    }
    let err = client
        .scan()
        .table_name("Ord")
        .filter_expression("n > :v")
        .expression_attribute_values(
            ":v",
            aws_sdk_dynamodb::types::AttributeValue::L(vec![n("1")]),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "Invalid FilterExpression: Incorrect operand type for operator or function; operator or \
         function: >, operand type: L"
    );
    // Equality takes any type (the condition just fails), and a path of an unordered type
    // is only a false comparison.
    let err = client
        .put_item()
        .table_name("Ord")
        .item("pk", s("a"))
        .condition_expression("n = :v")
        .expression_attribute_values(":v", bool_value.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(err).0, "ConditionalCheckFailedException");
}

#[tokio::test]
async fn empty_attributes_to_get_is_refused_everywhere() {
    let server = TestServer::memory().await;
    hash_table(&server, "Atg").await;
    let client = server.client();
    let expected = "1 validation error detected: Value '[]' at 'attributesToGet' failed to \
                    satisfy constraint: Member must have length greater than or equal to 1";
    let err = client
        .scan()
        .table_name("Atg")
        .set_attributes_to_get(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(validation(error_parts(err)), expected);
    let err = client
        .query()
        .table_name("Atg")
        .set_attributes_to_get(Some(vec![]))
        .key_conditions(
            "pk",
            aws_sdk_dynamodb::types::Condition::builder()
                .comparison_operator(aws_sdk_dynamodb::types::ComparisonOperator::Eq)
                .attribute_value_list(s("a"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(validation(error_parts(err)), expected);
    let err = client
        .get_item()
        .table_name("Atg")
        .key("pk", s("a"))
        .set_attributes_to_get(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(validation(error_parts(err)), expected);
}

#[tokio::test]
async fn ddl_edges_answer_as_dynamodb_does() {
    let server = TestServer::memory().await;
    let client = server.client();
    // A duplicated attribute definition is named.
    let err = create_request(
        &client,
        "Dup",
        "xyz",
        &[
            ("xyz", ScalarAttributeType::S),
            ("xyz", ScalarAttributeType::N),
        ],
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "Attribute Name is duplicated: xyz"
    );

    // DeleteTable describes the table without the members DynamoDB leaves out then.
    hash_table(&server, "Gone").await;
    let answer = call(
        server.addr,
        "DeleteTable",
        serde_json::json!({"TableName": "Gone"}),
    )
    .await;
    assert_eq!(answer.status, 200);
    let description = &answer.json()["TableDescription"];
    let mut members: Vec<&str> = description
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "BillingModeSummary",
            "DeletionProtectionEnabled",
            "ItemCount",
            "ProvisionedThroughput",
            "TableArn",
            "TableId",
            "TableName",
            "TableSizeBytes",
            "TableStatus"
        ]
    );
    assert_eq!(description["TableStatus"], "DELETING");

    // DescribeEndpoints names the address the client used.
    let endpoints = client.describe_endpoints().send().await.unwrap();
    let endpoint = &endpoints.endpoints()[0];
    assert_eq!(endpoint.address(), server.addr.to_string());
    assert_eq!(endpoint.cache_period_in_minutes(), 1440);
}

#[tokio::test]
async fn create_table_racing_delete_table_is_in_use_or_succeeds() {
    let server = TestServer::memory().await;
    let client = server.client();
    for round in 0..20 {
        hash_table(&server, "Race").await;
        let deleting = {
            let client = client.clone();
            tokio::spawn(async move { client.delete_table().table_name("Race").send().await })
        };
        let creating = {
            let client = client.clone();
            tokio::spawn(async move {
                create_request(&client, "Race", "pk", &[("pk", ScalarAttributeType::S)])
                    .send()
                    .await
            })
        };
        deleting.await.unwrap().unwrap();
        let created = match creating.await.unwrap() {
            Ok(_) => true,
            Err(e) => {
                let (code, message) = error_parts(e);
                assert_eq!(code, "ResourceInUseException", "round {round}");
                assert_eq!(message, "Table already exists: Race");
                false
            }
        };
        // Either way the catalog is consistent: the table exists exactly when the create won.
        let listed = client.list_tables().send().await.unwrap();
        assert_eq!(listed.table_names().contains(&"Race".to_owned()), created);
        if created {
            client
                .delete_table()
                .table_name("Race")
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn request_shape_leftovers() {
    let server = TestServer::memory().await;
    hash_table(&server, "Shape").await;
    // A fractional number for an Integer member is truncated, as DynamoDB's front end does.
    let answer = call(server.addr, "ListTables", serde_json::json!({"Limit": 1.9})).await;
    assert_eq!(answer.json(), serde_json::json!({"TableNames": ["Shape"]}));
    call(server.addr, "ListTables", serde_json::json!({"Limit": 0.5}))
        .await
        .assert_error(
            VALIDATION,
            Some("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        );
    let answer = call(
        server.addr,
        "Scan",
        serde_json::json!({"TableName": "Shape", "Limit": 2.5}),
    )
    .await;
    assert_eq!(answer.status, 200);
    // Past an Integer's range it is still the framework's refusal.
    let answer = call(
        server.addr,
        "ListTables",
        serde_json::json!({"Limit": 3e10}),
    )
    .await;
    assert_eq!(
        answer.json(),
        serde_json::json!({"__type": SERIALIZATION, "Message": "NUMBER_VALUE cannot be converted to Integer"})
    );
    // A JSON list where a structure belongs is a SerializationException.
    let answer = call(
        server.addr,
        "GetItem",
        serde_json::json!({"TableName": "Shape", "Key": {"pk": [{"S": "a"}]}}),
    )
    .await;
    assert_eq!(
        answer.json(),
        serde_json::json!({"__type": SERIALIZATION, "Message": "Start of list found where not expected"})
    );
    // At most ten violations are listed.
    let definitions: Vec<serde_json::Value> = (0..11).map(|_| serde_json::json!({})).collect();
    let answer = call(
        server.addr,
        "CreateTable",
        serde_json::json!({"TableName": "Many", "AttributeDefinitions": definitions,
                           "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}),
    )
    .await;
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("10 validation errors detected: "),
        "{message}"
    );
    assert_eq!(message.matches("failed to satisfy constraint").count(), 10);
}

#[tokio::test]
async fn lists_given_for_structures_are_refused_at_every_depth() {
    let server = TestServer::memory().await;
    hash_table(&server, "Shape").await;
    let list_refused = |answer: RawResponse| {
        assert_eq!(
            answer.json(),
            serde_json::json!({"__type": SERIALIZATION, "Message": "Start of list found where not expected"}),
        );
    };
    let key = serde_json::json!({"AttributeName": "pk", "KeyType": "HASH"});
    let definitions = serde_json::json!([{"AttributeName": "pk", "AttributeType": "S"}]);
    // As many elements as the structure has members: serde alone would read them in order.
    list_refused(
        call(
            server.addr,
            "CreateTable",
            serde_json::json!({"TableName": "Listed", "AttributeDefinitions": definitions,
                               "KeySchema": [key], "ProvisionedThroughput": [1, 2]}),
        )
        .await,
    );
    list_refused(
        call(
            server.addr,
            "CreateTable",
            serde_json::json!({"TableName": "Listed", "AttributeDefinitions": definitions,
                               "KeySchema": [["pk", "HASH"]], "BillingMode": "PAY_PER_REQUEST"}),
        )
        .await,
    );
    list_refused(
        call(
            server.addr,
            "CreateTable",
            serde_json::json!({"TableName": "Listed", "AttributeDefinitions": definitions,
                               "KeySchema": [key], "BillingMode": "PAY_PER_REQUEST",
                               "GlobalSecondaryIndexes": [{"IndexName": "byPk", "KeySchema": [key],
                                                           "Projection": ["ALL", []]}]}),
        )
        .await,
    );
    list_refused(
        call(
            server.addr,
            "BatchWriteItem",
            serde_json::json!({"RequestItems": {"Shape": [{"PutRequest": [{"pk": {"S": "a"}}]}]}}),
        )
        .await,
    );
    list_refused(
        call(
            server.addr,
            "BatchGetItem",
            serde_json::json!({"RequestItems": {"Shape": [[{"pk": {"S": "a"}}], true, "pk", {}, ["pk"]]}}),
        )
        .await,
    );
    // A legacy condition structure too.
    list_refused(
        call(
            server.addr,
            "PutItem",
            serde_json::json!({"TableName": "Shape", "Item": {"pk": {"S": "a"}},
                               "Expected": {"pk": [{"S": "a"}, true, "EQ", [{"S": "a"}]]}}),
        )
        .await,
    );
    // The whole request, with as many elements as the input has members.
    list_refused(call(server.addr, "DescribeTable", serde_json::json!(["Shape"])).await);
    // The same requests written as objects are served, so nothing else changed.
    let answer = call(
        server.addr,
        "CreateTable",
        serde_json::json!({"TableName": "Listed", "AttributeDefinitions": definitions,
                           "KeySchema": [key],
                           "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 2}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.json());
    let answer = call(
        server.addr,
        "BatchWriteItem",
        serde_json::json!({"RequestItems": {"Shape": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.json());
    let answer = call(
        server.addr,
        "BatchGetItem",
        serde_json::json!({"RequestItems": {"Shape": {"Keys": [{"pk": {"S": "a"}}]}}}),
    )
    .await;
    assert_eq!(
        answer.json()["Responses"]["Shape"],
        serde_json::json!([{"pk": {"S": "a"}}])
    );
    // Another wrong type for a structure keeps its message.
    let answer = call(
        server.addr,
        "CreateTable",
        serde_json::json!({"TableName": "Other", "AttributeDefinitions": definitions,
                           "KeySchema": [key], "ProvisionedThroughput": 5}),
    )
    .await;
    assert_eq!(
        answer.json(),
        serde_json::json!({"__type": SERIALIZATION, "Message": "Expected null"})
    );
}

#[tokio::test]
async fn batches_handle_tables_in_request_order() {
    let server = TestServer::memory().await;
    hash_table(&server, "Zeta").await;
    hash_table(&server, "Alpha").await;
    let addr = server.addr;
    let batch = |body: &'static str| {
        raw_request(
            addr,
            Some("DynamoDB_20120810.BatchGetItem"),
            &[],
            body.as_bytes(),
        )
    };
    // Capacity is reported table by table in the order the request named them.
    let answer = batch(
        r#"{"RequestItems": {"Zeta": {"Keys": [{"pk": {"S": "a"}}]},
                              "Alpha": {"Keys": [{"pk": {"S": "a"}}]}},
            "ReturnConsumedCapacity": "TOTAL"}"#,
    )
    .await;
    let tables: Vec<String> = answer.json()["ConsumedCapacity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["TableName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tables, ["Zeta", "Alpha"]);
    // The first table's problem is the one reported: a key that does not match Zeta's schema
    // comes before a missing table named after it.
    batch(
        r#"{"RequestItems": {"Zeta": {"Keys": [{"nope": {"S": "a"}}]},
                              "Missing": {"Keys": [{"pk": {"S": "a"}}]}}}"#,
    )
    .await
    .assert_error(
        VALIDATION,
        Some("The provided key element does not match the schema"),
    );
    batch(
        r#"{"RequestItems": {"Missing": {"Keys": [{"pk": {"S": "a"}}]},
                              "Zeta": {"Keys": [{"nope": {"S": "a"}}]}}}"#,
    )
    .await
    .assert_error(NOT_FOUND, Some("Requested resource not found"));
    // The same holds for BatchWriteItem.
    raw_request(
        server.addr,
        Some("DynamoDB_20120810.BatchWriteItem"),
        &[],
        br#"{"RequestItems": {"Zeta": [{"PutRequest": {"Item": {"nope": {"S": "a"}}}}],
                               "Missing": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]}}"#,
    )
    .await
    .assert_error(
        VALIDATION,
        Some("The provided key element does not match the schema"),
    );
}

#[tokio::test]
async fn query_start_keys_are_checked_against_the_key_condition() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(
        &client,
        "Esk",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    for sk in ["1", "5", "7", "9"] {
        put(&client, "Esk", &[("pk", s("a")), ("sk", n(sk))]).await;
    }
    let query = |condition: &str| {
        client
            .query()
            .table_name("Esk")
            .key_condition_expression(condition)
            .expression_attribute_values(":p", s("a"))
            .expression_attribute_values(":s", n("5"))
    };
    let start = |sk: &str| item(&[("pk", s("a")), ("sk", n(sk))]);
    // Outside the sort-key condition: refused, not answered.
    for (condition, sk) in [
        ("pk = :p AND sk > :s", "1"),
        ("pk = :p AND sk > :s", "5"),
        ("pk = :p AND sk <= :s", "7"),
        ("pk = :p AND sk BETWEEN :s AND :s", "9"),
    ] {
        let err = query(condition)
            .set_exclusive_start_key(Some(start(sk)))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            validation(error_parts(err)),
            "The provided starting key does not match the range key predicate",
            "{condition} from {sk}"
        );
    }
    // Inside it, the query resumes after the key.
    let out = query("pk = :p AND sk >= :s")
        .set_exclusive_start_key(Some(start("7")))
        .send()
        .await
        .unwrap();
    assert_eq!(out.items(), [start("9")]);
    // A start key missing a key attribute gets Query's short wording; Scan keeps its longer one.
    let err = client
        .query()
        .table_name("Esk")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .set_exclusive_start_key(Some(item(&[("pk", s("a"))])))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "The provided starting key is invalid"
    );
    let err = client
        .scan()
        .table_name("Esk")
        .set_exclusive_start_key(Some(item(&[("pk", s("a"))])))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "The provided starting key is invalid: The provided key element does not match the schema"
    );
}

#[tokio::test]
async fn limit_and_batch_key_count_messages_name_the_member() {
    let server = TestServer::memory().await;
    hash_table(&server, "Lim").await;
    let client = server.client();
    let err = client
        .query()
        .table_name("Lim")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .limit(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "1 validation error detected: Value at 'Limit' failed to satisfy constraint: Member must \
         have value greater than or equal to 1"
    );
    // Scan keeps the older form, value and all.
    let err = client
        .scan()
        .table_name("Lim")
        .limit(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member \
         must have value greater than or equal to 1"
    );
    let keys: Vec<Item> = (0..101)
        .map(|i| item(&[("pk", s(&i.to_string()))]))
        .collect();
    let err = client
        .batch_get_item()
        .request_items(
            "Lim",
            aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        validation(error_parts(err)),
        "1 validation error detected: Value at 'RequestItems.Lim.member.Keys' failed to satisfy \
         constraint: Member must have length less than or equal to 100"
    );
}

#[tokio::test]
async fn add_and_delete_of_the_wrong_type_name_the_allowed_types() {
    let server = TestServer::memory().await;
    hash_table(&server, "Add").await;
    let client = server.client();
    for (expression, operator, value, operand_type) in [
        ("ADD x :v", "ADD", s("str"), "STRING"),
        (
            "ADD x :v",
            "ADD",
            aws_sdk_dynamodb::types::AttributeValue::M(item(&[("a", n("1"))])),
            "MAP",
        ),
        ("DELETE x :v", "DELETE", n("1"), "NUMBER"),
    ] {
        let err = client
            .update_item()
            .table_name("Add")
            .key("pk", s("a"))
            .update_expression(expression)
            .expression_attribute_values(":v", value)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            validation(error_parts(err)),
            format!(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; \
                 operator: {operator}, operand type: {operand_type}, typeSet: \
                 ALLOWED_FOR_{operator}_OPERAND"
            )
        );
    }
}

#[tokio::test]
async fn bool_values_given_as_words_are_read_as_dynamodb_reads_them() {
    let server = TestServer::memory().await;
    hash_table(&server, "Words").await;
    for (word, value) in [
        ("true", true),
        ("FALSE", false),
        ("yes", true),
        ("0", false),
    ] {
        let body = format!(
            r#"{{"TableName": "Words", "Item": {{"pk": {{"S": "{word}"}}, "b": {{"BOOL": "{word}"}}}}}}"#
        );
        let answer = raw_request(
            server.addr,
            Some("DynamoDB_20120810.PutItem"),
            &[],
            body.as_bytes(),
        )
        .await;
        assert_eq!(answer.status, 200, "{word}");
        let stored = get(&server.client(), "Words", word).await.unwrap();
        assert_eq!(
            stored["b"],
            aws_sdk_dynamodb::types::AttributeValue::Bool(value)
        );
    }
    let answer = raw_request(
        server.addr,
        Some("DynamoDB_20120810.PutItem"),
        &[],
        br#"{"TableName": "Words", "Item": {"pk": {"S": "x"}, "b": {"BOOL": "dog"}}}"#,
    )
    .await;
    assert_eq!(
        answer.json(),
        serde_json::json!({"__type": SERIALIZATION, "Message": "'DOG' can not be converted to an Boolean"})
    );
}
