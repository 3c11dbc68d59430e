//! Query's validation: key-condition expressions that DynamoDB rejects, with its exact messages,
//! and queries on missing tables.

use serde_json::json;

use crate::common::{call, error_parts, s, TestServer, NOT_FOUND, VALIDATION};
use crate::query::{numbered_partition, query_p};

async fn query_error(server: &TestServer, body: serde_json::Value, message: &str) {
    let mut body = body;
    body["TableName"] = json!("tbl");
    call(server.addr, "Query", body)
        .await
        .assert_error(VALIDATION, Some(message));
}

#[tokio::test]
async fn key_condition_errors() {
    let server = TestServer::memory().await;
    let client = server.client();
    numbered_partition(&client, 1).await;
    let p = json!({":p": {"S": "p"}});

    query_error(
        &server,
        json!({"ExpressionAttributeValues": p}),
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
    )
    .await;
    query_error(
        &server,
        json!({"KeyConditionExpression": "nonkey = :p", "ExpressionAttributeValues": p}),
        "Query condition missed key schema element: pk",
    )
    .await;
    query_error(
        &server,
        json!({
            "KeyConditionExpression": "pk = :p AND nonkey = :v",
            "ExpressionAttributeValues": {":p": {"S": "p"}, ":v": {"N": "1"}}
        }),
        "Query condition missed key schema element: sk",
    )
    .await;
    query_error(
        &server,
        json!({"KeyConditionExpression": "pk < :p", "ExpressionAttributeValues": p}),
        "Query key condition not supported",
    )
    .await;
    query_error(
        &server,
        json!({
            "KeyConditionExpression": "pk = :p OR sk = :v",
            "ExpressionAttributeValues": {":p": {"S": "p"}, ":v": {"N": "1"}}
        }),
        "Invalid operator used in KeyConditionExpression: OR",
    )
    .await;
    query_error(
        &server,
        json!({"KeyConditionExpression": "pk = :p AND", "ExpressionAttributeValues": p}),
        "Invalid KeyConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\"",
    )
    .await;
    query_error(
        &server,
        json!({"KeyConditionExpression": "pk = :p AND sk = :x", "ExpressionAttributeValues": p}),
        "Invalid KeyConditionExpression: An expression attribute value used in expression is not \
         defined; attribute value: :x",
    )
    .await;
    query_error(
        &server,
        json!({"KeyConditionExpression": "#k = :p", "ExpressionAttributeValues": p}),
        "Invalid KeyConditionExpression: An expression attribute name used in the document path is \
         not defined; attribute name: #k",
    )
    .await;
    query_error(
        &server,
        json!({
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "p"}, ":extra": {"S": "e"}}
        }),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:extra}",
    )
    .await;
    query_error(
        &server,
        json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"N": "1"}}}),
        "One or more parameter values were invalid: Condition parameter type does not match schema type",
    )
    .await;
    query_error(
        &server,
        json!({
            "KeyConditionExpression": "pk = :p AND sk = :v",
            "ExpressionAttributeValues": {":p": {"S": "p"}, ":v": {"S": "1"}}
        }),
        "One or more parameter values were invalid: Condition parameter type does not match schema type",
    )
    .await;
    query_error(
        &server,
        json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": p, "Limit": 0}),
        // Query names the member without its value (recorded from DynamoDB; Scan differs).
        "1 validation error detected: Value at 'Limit' failed to satisfy constraint: Member \
         must have value greater than or equal to 1",
    )
    .await;
}

#[tokio::test]
async fn key_condition_errors_through_the_sdk() {
    let server = TestServer::memory().await;
    let client = server.client();
    numbered_partition(&client, 1).await;
    let err = client
        .query()
        .table_name("tbl")
        .key_condition_expression("pk = :p OR pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Invalid operator used in KeyConditionExpression: OR".to_owned()
        )
    );
    let err = query_p(&client).limit(0).send().await.unwrap_err();
    assert_eq!(
        error_parts(err).1,
        "1 validation error detected: Value at 'Limit' failed to satisfy constraint: Member \
         must have value greater than or equal to 1"
    );
}

#[tokio::test]
async fn query_on_an_unknown_table() {
    let server = TestServer::memory().await;
    let client = server.client();
    let err = client
        .query()
        .table_name("missing")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
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
    call(
        server.addr,
        "Query",
        json!({
            "TableName": "missing",
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "p"}}
        }),
    )
    .await
    .assert_error(NOT_FOUND, Some("Requested resource not found"));
}
