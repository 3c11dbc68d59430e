//! PutItem, GetItem, DeleteItem: values of every type, ReturnValues, capacity, key validation.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValue, ScalarAttributeType,
};
use serde_json::json;

use crate::common::*;

async fn table_with_sort(server: &TestServer, name: &str) {
    create_table(
        &server.client(),
        name,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
}

#[tokio::test]
async fn every_attribute_type_round_trips() {
    let server = TestServer::memory().await;
    table_with_sort(&server, "Tbl").await;
    let client = server.client();
    let item: HashMap<String, AttributeValue> = [
        ("pk", s("p")),
        ("sk", n("1")),
        ("str", s("héllo")),
        ("empty", s("")),
        ("num", n("-12.50")),
        ("bin", AttributeValue::B(Blob::new(vec![0, 1, 255]))),
        ("ss", AttributeValue::Ss(vec!["a".into(), "b".into()])),
        ("ns", AttributeValue::Ns(vec!["1".into(), "2.5".into()])),
        (
            "bs",
            AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![2])]),
        ),
        (
            "map",
            AttributeValue::M(
                [(
                    "inner".to_owned(),
                    AttributeValue::L(vec![n("1"), AttributeValue::Null(true)]),
                )]
                .into(),
            ),
        ),
        (
            "list",
            AttributeValue::L(vec![AttributeValue::Bool(true), s("x")]),
        ),
        ("null", AttributeValue::Null(true)),
        ("bool", AttributeValue::Bool(false)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    client
        .put_item()
        .table_name("Tbl")
        .set_item(Some(item.clone()))
        .send()
        .await
        .unwrap();
    let got = client
        .get_item()
        .table_name("Tbl")
        .key("pk", s("p"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let mut expected = item;
    // DynamoDB returns numbers in normalised form.
    expected.insert("num".into(), n("-12.5"));
    assert_eq!(got, expected);
}

#[tokio::test]
async fn numbers_are_exact_and_equal_however_written() {
    let server = TestServer::memory().await;
    table_with_sort(&server, "Tbl").await;
    let client = server.client();
    client
        .put_item()
        .table_name("Tbl")
        .item("pk", s("p"))
        .item("sk", n("10E-1"))
        .item("big", n("12345678901234567890123456789012345678"))
        .item("tiny", n("1E-130"))
        .item("huge", n("9.9999999999999999999999999999999999999E+125"))
        .send()
        .await
        .unwrap();
    // "1", "1.0" and "10E-1" are the same key.
    for spelling in ["1", "1.0", "0.1e1"] {
        let got = client
            .get_item()
            .table_name("Tbl")
            .key("pk", s("p"))
            .key("sk", n(spelling))
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_else(|| panic!("{spelling} did not find the item"));
        assert_eq!(got["sk"], n("1"));
        assert_eq!(got["big"], n("12345678901234567890123456789012345678"));
        assert_eq!(got["tiny"], n(&format!("0.{}1", "0".repeat(129))));
        assert_eq!(
            got["huge"],
            n(&format!(
                "99999999999999999999999999999999999999{}",
                "0".repeat(88)
            ))
        );
    }
}

#[tokio::test]
async fn return_values_all_old_on_put_and_delete() {
    let server = TestServer::memory().await;
    table_with_sort(&server, "Tbl").await;
    let client = server.client();
    let first = client
        .put_item()
        .table_name("Tbl")
        .item("pk", s("a"))
        .item("sk", n("1"))
        .item("v", s("one"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(first.attributes.is_none());
    let second = client
        .put_item()
        .table_name("Tbl")
        .item("pk", s("a"))
        .item("sk", n("1"))
        .item("v", s("two"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(second.attributes.unwrap()["v"], s("one"));
    let deleted = client
        .delete_item()
        .table_name("Tbl")
        .key("pk", s("a"))
        .key("sk", n("1"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.attributes.unwrap()["v"], s("two"));
    let again = client
        .delete_item()
        .table_name("Tbl")
        .key("pk", s("a"))
        .key("sk", n("1"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(again.attributes.is_none());
    let gone = client
        .get_item()
        .table_name("Tbl")
        .key("pk", s("a"))
        .key("sk", n("1"))
        .send()
        .await
        .unwrap();
    assert!(gone.item.is_none());

    call(
        server.addr,
        "PutItem",
        json!({"TableName": "Tbl", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ReturnValues": "ALL_NEW"}),
    )
    .await
    .assert_error(VALIDATION, Some("ReturnValues can only be ALL_OLD or NONE"));
}

#[tokio::test]
async fn write_capacity_is_per_started_kilobyte_of_the_larger_item() {
    let server = TestServer::memory().await;
    create_table(
        &server.client(),
        "Tbl",
        ("pk", ScalarAttributeType::S),
        None,
    )
    .await;
    let client = server.client();
    let put = |payload: usize| {
        client
            .put_item()
            .table_name("Tbl")
            .item("pk", s("k"))
            .item("p", s(&"x".repeat(payload)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
    };
    // Item size = "pk"(2) + "k"(1) + "p"(1) + payload.
    let units = |r: aws_sdk_dynamodb::operation::put_item::PutItemOutput| {
        let c = r.consumed_capacity.unwrap();
        assert_eq!(c.table_name.as_deref(), Some("Tbl"));
        c.capacity_units.unwrap()
    };
    assert_eq!(units(put(10).await.unwrap()), 1.0);
    assert_eq!(units(put(1020).await.unwrap()), 1.0); // exactly 1024 bytes
    assert_eq!(units(put(1021).await.unwrap()), 2.0); // 1025 bytes
    assert_eq!(units(put(3000).await.unwrap()), 3.0);
    // Replacing a 3 KB item by a tiny one still bills the larger (old) item.
    assert_eq!(units(put(1).await.unwrap()), 3.0);

    let deleted = client
        .delete_item()
        .table_name("Tbl")
        .key("pk", s("k"))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap()
        .consumed_capacity
        .unwrap();
    assert_eq!(deleted.capacity_units, Some(1.0));
    assert_eq!(deleted.table.unwrap().capacity_units, Some(1.0));
}

#[tokio::test]
async fn read_capacity_is_per_started_four_kilobytes_halved_when_eventual() {
    let server = TestServer::memory().await;
    create_table(
        &server.client(),
        "Tbl",
        ("pk", ScalarAttributeType::S),
        None,
    )
    .await;
    let client = server.client();
    client
        .put_item()
        .table_name("Tbl")
        .item("pk", s("big"))
        .item("p", s(&"x".repeat(4100)))
        .send()
        .await
        .unwrap();
    let get = |key: &str, consistent: bool| {
        client
            .get_item()
            .table_name("Tbl")
            .key("pk", s(key))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
    };
    let units = |r: aws_sdk_dynamodb::operation::get_item::GetItemOutput| {
        r.consumed_capacity.unwrap().capacity_units.unwrap()
    };
    assert_eq!(units(get("big", true).await.unwrap()), 2.0);
    assert_eq!(units(get("big", false).await.unwrap()), 1.0);
    // A miss still costs the minimum.
    assert_eq!(units(get("missing", true).await.unwrap()), 1.0);
    assert_eq!(units(get("missing", false).await.unwrap()), 0.5);
    // Without ReturnConsumedCapacity nothing is reported.
    let plain = client
        .get_item()
        .table_name("Tbl")
        .key("pk", s("big"))
        .send()
        .await
        .unwrap();
    assert!(plain.consumed_capacity.is_none());
}

#[tokio::test]
async fn key_validation_messages() {
    let server = TestServer::memory().await;
    table_with_sort(&server, "Tbl").await;
    let put = |item: serde_json::Value| {
        call(
            server.addr,
            "PutItem",
            json!({"TableName": "Tbl", "Item": item}),
        )
    };
    put(json!({"pk": {"N": "1"}, "sk": {"N": "1"}})).await.assert_error(
        VALIDATION,
        Some("One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
    );
    put(json!({"sk": {"N": "1"}})).await.assert_error(
        VALIDATION,
        Some("One or more parameter values were invalid: Missing the key pk in the item"),
    );
    put(json!({"pk": {"S": "a"}})).await.assert_error(
        VALIDATION,
        Some("One or more parameter values were invalid: Missing the key sk in the item"),
    );
    put(json!({"pk": {"S": ""}, "sk": {"N": "1"}})).await.assert_error(
        VALIDATION,
        Some("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"),
    );
    put(json!({"pk": {"S": "x".repeat(2049)}, "sk": {"N": "1"}})).await.assert_error(
        VALIDATION,
        Some("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"),
    );
    // Exactly 2048 bytes is allowed.
    assert_eq!(
        put(json!({"pk": {"S": "x".repeat(2048)}, "sk": {"N": "1"}}))
            .await
            .status,
        200
    );

    let get = |key: serde_json::Value| {
        call(
            server.addr,
            "GetItem",
            json!({"TableName": "Tbl", "Key": key}),
        )
    };
    for key in [
        json!({"pk": {"S": "a"}}),
        json!({"pk": {"S": "a"}, "sk": {"S": "1"}}),
        json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "extra": {"S": "x"}}),
        json!({"pk": {"S": "a"}, "other": {"N": "1"}}),
    ] {
        get(key).await.assert_error(
            VALIDATION,
            Some("The provided key element does not match the schema"),
        );
    }
    call(
        server.addr,
        "GetItem",
        json!({"TableName": "Nope", "Key": {"pk": {"S": "a"}}}),
    )
    .await
    .assert_error(NOT_FOUND, Some("Requested resource not found"));
}

#[tokio::test]
async fn sort_key_size_limit_is_1024_bytes() {
    let server = TestServer::memory().await;
    create_table(
        &server.client(),
        "Srt",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::B)),
    )
    .await;
    let put = |len: usize| {
        call(
            server.addr,
            "PutItem",
            json!({"TableName": "Srt", "Item": {"pk": {"S": "a"}, "sk": {"B": base64_of(len)}}}),
        )
    };
    assert_eq!(put(1024).await.status, 200);
    put(1025).await.assert_error(
        VALIDATION,
        Some("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"),
    );
    call(
        server.addr,
        "PutItem",
        json!({"TableName": "Srt", "Item": {"pk": {"S": "a"}, "sk": {"B": ""}}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: sk"),
    );
}

/// Base64 of `len` zero bytes (`AAAA` encodes three).
fn base64_of(len: usize) -> String {
    let mut out = "AAAA".repeat(len / 3);
    match len % 3 {
        1 => out.push_str("AA=="),
        2 => out.push_str("AAA="),
        _ => {}
    }
    out
}

#[tokio::test]
async fn item_size_limit_is_400_kilobytes() {
    let server = TestServer::memory().await;
    create_table(
        &server.client(),
        "Tbl",
        ("pk", ScalarAttributeType::S),
        None,
    )
    .await;
    // "pk"(2) + "a"(1) + "p"(1) + payload: 400 KB exactly is accepted, one more byte is not.
    let exact = 400 * 1024 - 4;
    let ok = call(
        server.addr,
        "PutItem",
        json!({"TableName": "Tbl", "Item": {"pk": {"S": "a"}, "p": {"S": "x".repeat(exact)}}}),
    )
    .await;
    assert_eq!(ok.status, 200);
    call(
        server.addr,
        "PutItem",
        json!({"TableName": "Tbl", "Item": {"pk": {"S": "a"}, "p": {"S": "x".repeat(exact + 1)}}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("Item size has exceeded the maximum allowed size"),
    );
}

#[tokio::test]
async fn attribute_value_validation_messages() {
    let server = TestServer::memory().await;
    create_table(
        &server.client(),
        "Tbl",
        ("pk", ScalarAttributeType::S),
        None,
    )
    .await;
    let put = |v: serde_json::Value| {
        call(
            server.addr,
            "PutItem",
            json!({"TableName": "Tbl", "Item": {"pk": {"S": "a"}, "v": v}}),
        )
    };
    let cases = [
        (json!({"N": "123456789012345678901234567890123456789"}), "Attempting to store more than 38 significant digits in a Number"),
        (json!({"N": "abc"}), "The parameter cannot be converted to a numeric value: abc"),
        (json!({"N": "1e126"}), "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        (json!({"N": "1e-131"}), "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
        (json!({"SS": []}), "One or more parameter values were invalid: An string set  may not be empty"),
        (json!({"NS": []}), "One or more parameter values were invalid: An number set  may not be empty"),
        (json!({"SS": ["a", "a"]}), "One or more parameter values were invalid: Input collection [a, a] contains duplicates."),
        (json!({}), "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
        (json!({"S": "a", "BOOL": true}), "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"),
        (json!({"NULL": false}), "One or more parameter values were invalid: Null attribute value types must have the value of true"),
    ];
    for (value, message) in cases {
        put(value).await.assert_error(VALIDATION, Some(message));
    }
}
