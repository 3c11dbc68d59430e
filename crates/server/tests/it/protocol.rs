//! The wire protocol: targets, headers, error bodies, malformed requests.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn responses_carry_request_id_and_crc32() {
    let server = TestServer::memory().await;
    let resp = call(server.addr, "ListTables", json!({})).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let id = resp.header("x-amzn-requestid").unwrap();
    assert_eq!(id.len(), 52);
    let crc: u32 = resp.header("x-amz-crc32").unwrap().parse().unwrap();
    assert_eq!(crc, crc32fast_hash(&resp.body));
    assert_eq!(resp.json(), json!({"TableNames": []}));

    // Errors carry them too.
    let err = call(server.addr, "DescribeTable", json!({"TableName": "nope"})).await;
    let crc: u32 = err.header("x-amz-crc32").unwrap().parse().unwrap();
    assert_eq!(crc, crc32fast_hash(&err.body));
    assert!(err.header("x-amzn-requestid").is_some());
}

/// CRC-32 (IEEE), computed bit by bit: an independent oracle for the header.
fn crc32fast_hash(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn unknown_or_missing_target_is_unknown_operation() {
    let server = TestServer::memory().await;
    for target in [Some("DynamoDB_20120810.Frobnicate"), Some("Nonsense"), None] {
        raw_request(server.addr, target, &[], b"{}")
            .await
            .assert_error("com.amazon.coral.service#UnknownOperationException", None);
    }
}

#[tokio::test]
async fn malformed_json_and_wrong_types_are_serialization_errors() {
    let server = TestServer::memory().await;
    let target = Some("DynamoDB_20120810.ListTables");
    for body in [&b"{"[..], b"not json", b"", b"{\"Limit\": 5,}"] {
        let resp = raw_request(server.addr, target, &[], body).await;
        assert_eq!(resp.status, 400);
        assert_eq!(resp.json(), json!({"__type": SERIALIZATION}));
    }
    let cases = [
        ("DescribeTable", json!({"TableName": 5}), "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
        ("DescribeTable", json!({"TableName": false}), "class java.lang.Boolean can not be converted to an String"),
        ("DescribeTable", json!({"TableName": ["a"]}), "Start of list found where not expected"),
        ("DescribeTable", json!({"TableName": {"a": 1}}), "Start of structure or map found where not expected."),
        ("ListTables", json!({"Limit": "5"}), "class java.lang.String can not be converted to an Integer"),
        ("PutItem", json!({"TableName": "abc", "Item": "x"}), "Expected map or null"),
        ("PutItem", json!({"TableName": "abc", "Item": {"a": {"S": 5}}}), "NUMBER_VALUE cannot be converted to String"),
        ("PutItem", json!({"TableName": "abc", "Item": {"a": {"B": "abcde"}}}), "'abcde' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 5"),
        ("CreateTable", json!({"TableName": "abc", "KeySchema": "x"}), "Expected list or null"),
        ("GetItem", json!({"TableName": "abc", "Key": {}, "ConsistentRead": "yes"}), "'YES' can not be converted to an Boolean"),
        ("ListTables", json!([]), "Start of list found where not expected"),
    ];
    for (op, body, message) in cases {
        let resp = call(server.addr, op, body.clone()).await;
        assert_eq!(resp.status, 400, "{op} {body}");
        assert_eq!(
            resp.json(),
            json!({"__type": SERIALIZATION, "Message": message}),
            "{op} {body}"
        );
    }
}

#[tokio::test]
async fn constraint_violations_are_combined_in_dynamodbs_form() {
    let server = TestServer::memory().await;
    call(server.addr, "ListTables", json!({"Limit": 0})).await.assert_error(
        VALIDATION,
        Some("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    );
    call(server.addr, "PutItem", json!({"TableName": "a;", "ReturnValues": "NOPE"})).await.assert_error(
        VALIDATION,
        Some("4 validation errors detected: Value 'a;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value 'a;' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; Value null at 'item' failed to satisfy constraint: Member must not be null; Value 'NOPE' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"),
    );
    call(server.addr, "DescribeTable", json!({}))
        .await
        .assert_error(
            VALIDATION,
            Some("The paramater 'tableName' is required but was not present in the request"),
        );
    call(server.addr, "CreateTable", json!({"TableName": "ab"}))
        .await
        .assert_error(
            VALIDATION,
            Some("TableName must be at least 3 characters long and at most 255 characters long"),
        );
}

#[tokio::test]
async fn health_check_answers_get() {
    let server = TestServer::memory().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = String::new();
    stream.read_to_string(&mut buf).await.unwrap();
    assert!(buf.starts_with("HTTP/1.1 200"), "{buf}");
    assert!(buf.ends_with("healthy: x"), "{buf}");
}
