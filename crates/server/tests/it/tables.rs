//! Table lifecycle: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable, regions.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TableClass, TableStatus,
};
use serde_json::json;

use crate::common::*;
use crate::warm_throughput::{attr, hash};

#[tokio::test]
async fn create_describe_list_delete_lifecycle() {
    let server = TestServer::memory().await;
    let client = server.client();
    let created = client
        .create_table()
        .table_name("Music")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("Artist")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("Year")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("Artist")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("Year")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(7)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let d = created.table_description.unwrap();
    assert_eq!(d.table_status, Some(TableStatus::Creating));
    assert_eq!(d.table_name.as_deref(), Some("Music"));
    assert_eq!(
        d.table_arn.as_deref(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/Music")
    );
    let pt = d.provisioned_throughput.unwrap();
    assert_eq!(
        (pt.read_capacity_units, pt.write_capacity_units),
        (Some(5), Some(7))
    );
    assert_eq!(d.item_count, Some(0));

    let described = client
        .describe_table()
        .table_name("Music")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(described.table_status, Some(TableStatus::Active));
    assert_eq!(described.table_id, d.table_id);
    assert_eq!(described.key_schema.unwrap().len(), 2);
    // Created provisioned and never on-demand: no BillingModeSummary (DDB-TABLE-025).
    assert!(described.billing_mode_summary.is_none());
    assert_eq!(described.deletion_protection_enabled, Some(false));
    assert!(described.creation_date_time.is_some());

    let listed = client.list_tables().send().await.unwrap();
    assert_eq!(listed.table_names(), ["Music"]);

    let deleted = client
        .delete_table()
        .table_name("Music")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.table_description.unwrap().table_status,
        Some(TableStatus::Deleting)
    );
    let err = client
        .describe_table()
        .table_name("Music")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ResourceNotFoundException".to_owned(),
            "Requested resource not found: Table: Music not found".to_owned()
        )
    );
    assert!(client
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .is_empty());
}

#[tokio::test]
async fn item_count_and_size_follow_writes() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Tbl", ("pk", ScalarAttributeType::S), None).await;
    for i in 0..3 {
        client
            .put_item()
            .table_name("Tbl")
            .item("pk", s(&format!("k{i}")))
            .item("v", s("abcd"))
            .send()
            .await
            .unwrap();
    }
    let d = client
        .describe_table()
        .table_name("Tbl")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(d.item_count, Some(3));
    // Each item: "pk"(2) + "k0"(2) + "v"(1) + "abcd"(4) = 9 bytes.
    assert_eq!(d.table_size_bytes, Some(27));
    client
        .delete_item()
        .table_name("Tbl")
        .key("pk", s("k0"))
        .send()
        .await
        .unwrap();
    let d = client
        .describe_table()
        .table_name("Tbl")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!((d.item_count, d.table_size_bytes), (Some(2), Some(18)));
}

#[tokio::test]
async fn list_tables_paginates_in_name_order() {
    let server = TestServer::memory().await;
    let client = server.client();
    for name in ["delta", "alpha", "charlie", "bravo", "echo"] {
        create_table(&client, name, ("id", ScalarAttributeType::S), None).await;
    }
    let page = client.list_tables().limit(2).send().await.unwrap();
    assert_eq!(page.table_names(), ["alpha", "bravo"]);
    assert_eq!(page.last_evaluated_table_name(), Some("bravo"));
    let page = client
        .list_tables()
        .limit(2)
        .exclusive_start_table_name("bravo")
        .send()
        .await
        .unwrap();
    assert_eq!(page.table_names(), ["charlie", "delta"]);
    let page = client
        .list_tables()
        .exclusive_start_table_name("delta")
        .send()
        .await
        .unwrap();
    assert_eq!(page.table_names(), ["echo"]);
    assert_eq!(page.last_evaluated_table_name(), None);
}

#[tokio::test]
async fn regions_are_separate_namespaces() {
    let server = TestServer::memory().await;
    let east = server.client();
    let west = server.client_in("eu-west-1");
    create_table(&east, "Shared", ("id", ScalarAttributeType::S), None).await;
    create_table(&west, "Shared", ("id", ScalarAttributeType::N), None).await;
    east.put_item()
        .table_name("Shared")
        .item("id", s("east"))
        .send()
        .await
        .unwrap();
    let west_table = west
        .describe_table()
        .table_name("Shared")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        west_table.table_arn.as_deref(),
        Some("arn:aws:dynamodb:eu-west-1:000000000000:table/Shared")
    );
    assert_eq!(west_table.item_count, Some(0));
    let scanned = west.scan().table_name("Shared").send().await.unwrap();
    assert_eq!(scanned.count, 0);
    assert_eq!(
        east.scan().table_name("Shared").send().await.unwrap().count,
        1
    );
    assert!(server
        .client_in("ap-south-1")
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .is_empty());
}

#[tokio::test]
async fn creating_an_existing_table_is_resource_in_use() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Dup", ("id", ScalarAttributeType::S), None).await;
    let resp = call(
        server.addr,
        "CreateTable",
        json!({
            "TableName": "Dup",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .await;
    resp.assert_error(IN_USE, Some("Table already exists: Dup"));
}

#[tokio::test]
async fn create_table_semantic_validation() {
    let server = TestServer::memory().await;
    let base = |extra: serde_json::Value| {
        let mut body = json!({
            "TableName": "Tbl",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            base(json!({})),
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ),
        (
            base(json!({"BillingMode": "PAY_PER_REQUEST", "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}})),
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ),
        (
            base(json!({"BillingMode": "PAY_PER_REQUEST", "KeySchema": [{"AttributeName": "id", "KeyType": "RANGE"}]})),
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            base(json!({"BillingMode": "PAY_PER_REQUEST", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}]})),
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
        ),
        (
            base(json!({"BillingMode": "PAY_PER_REQUEST", "KeySchema": [{"AttributeName": "other", "KeyType": "HASH"}]})),
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [other], AttributeDefinitions: [id]",
        ),
        (
            base(json!({"BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "x", "AttributeType": "N"}]})),
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ),
    ];
    for (body, message) in cases {
        call(server.addr, "CreateTable", body)
            .await
            .assert_error(VALIDATION, Some(message));
    }
    // Nothing was created by the failed calls.
    let listed = call(server.addr, "ListTables", json!({})).await.json();
    assert_eq!(listed["TableNames"], json!([]));
}

#[tokio::test]
async fn update_table_billing_throughput_and_deletion_protection() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Upd", ("id", ScalarAttributeType::S), None).await;

    let updated = client
        .update_table()
        .table_name("Upd")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(3)
                .write_capacity_units(4)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(
        updated.billing_mode_summary.unwrap().billing_mode,
        Some(BillingMode::Provisioned)
    );
    let pt = updated.provisioned_throughput.unwrap();
    assert_eq!(
        (pt.read_capacity_units, pt.write_capacity_units),
        (Some(3), Some(4))
    );

    // The same throughput again is DynamoDB's "will not change" error.
    let same = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Upd", "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}}),
    )
    .await;
    same.assert_error(VALIDATION, Some("The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: 3. Requested ReadCapacityUnits: 3. Current WriteCapacityUnits provisioned for the table: 4. Requested WriteCapacityUnits: 4. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."));

    client
        .update_table()
        .table_name("Upd")
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap();
    let err = client
        .delete_table()
        .table_name("Upd")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.".to_owned()
        )
    );
    // DeletionProtectionEnabled must be the only change of its request (DDB-TABLE-156, 433).
    let err = client
        .update_table()
        .table_name("Upd")
        .deletion_protection_enabled(false)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "One or more parameter values were invalid: DeletionProtection modification must be \
             the only operation in the request"
                .to_owned()
        )
    );
    for update in [
        client.update_table().deletion_protection_enabled(false),
        client
            .update_table()
            .billing_mode(BillingMode::PayPerRequest),
    ] {
        update.table_name("Upd").send().await.unwrap();
    }
    let d = client
        .describe_table()
        .table_name("Upd")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let summary = d.billing_mode_summary.unwrap();
    assert_eq!(summary.billing_mode, Some(BillingMode::PayPerRequest));
    assert!(summary.last_update_to_pay_per_request_date_time.is_some());
    client
        .delete_table()
        .table_name("Upd")
        .send()
        .await
        .unwrap();

    call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Upd", "DeletionProtectionEnabled": true}),
    )
    .await
    .assert_error(
        NOT_FOUND,
        Some("Requested resource not found: Table: Upd not found"),
    );
}

#[tokio::test]
async fn tables_pass_through_creating_when_a_delay_is_configured() {
    use std::sync::Arc;
    let store = test_store();
    let clock = Arc::new(binderdb_engine::ManualClock::new(1_700_000_000_000));
    let config = binderdb_engine::Config {
        create_delay_ms: 5_000,
        ..Default::default()
    };
    let db = binderdb_engine::Database::open(store, config, clock.clone()).unwrap();
    let ctx = binderdb_engine::RequestContext::default();
    let input: binderdb_engine::api::CreateTableInput = serde_json::from_value(json!({
        "TableName": "Slow",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    }))
    .unwrap();
    db.create_table(&ctx, input).unwrap();
    let describe = |db: &binderdb_engine::Database| {
        db.describe_table(
            &ctx,
            binderdb_engine::api::TableNameInput {
                table_name: Some("Slow".into()),
            },
        )
        .unwrap()
        .table
        .table_status
    };
    assert_eq!(describe(&db), "CREATING");
    // Item operations on a CREATING table are "not found", as in DynamoDB.
    let get: binderdb_engine::api::GetItemInput =
        serde_json::from_value(json!({"TableName": "Slow", "Key": {"id": {"S": "a"}}})).unwrap();
    assert!(matches!(
        db.get_item(&ctx, get),
        Err(binderdb_engine::Error::ResourceNotFound(_))
    ));
    clock.advance(5_000);
    assert_eq!(describe(&db), "ACTIVE");
}

#[tokio::test]
async fn a_table_arn_may_stand_for_its_name() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "ByArn", ("id", ScalarAttributeType::S), None).await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/ByArn";
    // DescribeTable, the item operations, UpdateTable (DDB-TABLE-011, 072): answered under the
    // table's name.
    let d = call(server.addr, "DescribeTable", json!({"TableName": arn})).await;
    assert_eq!(d.status, 200, "{}", d.json());
    assert_eq!(d.json()["Table"]["TableName"], "ByArn");
    let put = call(
        server.addr,
        "PutItem",
        json!({"TableName": arn, "Item": {"id": {"S": "a"}}, "ReturnConsumedCapacity": "TOTAL"}),
    )
    .await;
    assert_eq!(put.json()["ConsumedCapacity"]["TableName"], "ByArn");
    let got = client
        .get_item()
        .table_name(arn)
        .key("id", s("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["id"], s("a"));
    client
        .update_table()
        .table_name(arn)
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    // A missing table is not found under its name.
    call(
        server.addr,
        "DescribeTable",
        json!({"TableName": "arn:aws:dynamodb:us-east-1:000000000000:table/Nope"}),
    )
    .await
    .assert_error(
        NOT_FOUND,
        Some("Requested resource not found: Table: Nope not found"),
    );
    // Another region, an index, another account.
    let other_region = "arn:aws:dynamodb:eu-west-1:000000000000:table/ByArn";
    call(
        server.addr,
        "DescribeTable",
        json!({"TableName": other_region}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(&format!(
            "1 validation error detected: Invalid AWS region in '{other_region}'"
        )),
    );
    let index = format!("{arn}/index/byX");
    call(server.addr, "DescribeTable", json!({"TableName": index}))
        .await
        .assert_error(
            VALIDATION,
            Some(&format!(
                "1 validation error detected: Invalid resource type in '{index}'"
            )),
        );
    call(
        server.addr,
        "DescribeTable",
        json!({"TableName": "arn:aws:dynamodb:us-east-1:111122223333:table/ByArn"}),
    )
    .await
    .assert_error(
        "com.amazon.coral.service#AccessDeniedException",
        Some("Access is denied"),
    );
    // DeleteTable by ARN.
    let deleted = call(server.addr, "DeleteTable", json!({"TableName": arn})).await;
    assert_eq!(deleted.json()["TableDescription"]["TableName"], "ByArn");
}

#[tokio::test]
async fn batches_and_transactions_take_table_arns_too() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Multi", ("id", ScalarAttributeType::S), None).await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Multi";
    let written = call(
        server.addr,
        "BatchWriteItem",
        json!({"RequestItems": {arn: [{"PutRequest": {"Item": {"id": {"S": "a"}}}}]},
               "ReturnConsumedCapacity": "TOTAL"}),
    )
    .await;
    assert_eq!(written.status, 200, "{}", written.json());
    assert_eq!(written.json()["ConsumedCapacity"][0]["TableName"], "Multi");
    // The answer is keyed as the request was (the API reference: "a map of table name or table
    // ARN").
    let read = call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {arn: {"Keys": [{"id": {"S": "a"}}]}}}),
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.json());
    assert_eq!(read.json()["Responses"][arn][0]["id"], json!({"S": "a"}));
    assert!(read.json()["Responses"].get("Multi").is_none());
    let txn = call(
        server.addr,
        "TransactWriteItems",
        json!({"TransactItems": [{"Put": {"TableName": arn, "Item": {"id": {"S": "b"}}}}]}),
    )
    .await;
    assert_eq!(txn.status, 200, "{}", txn.json());
    let got = call(
        server.addr,
        "TransactGetItems",
        json!({"TransactItems": [{"Get": {"TableName": arn, "Key": {"id": {"S": "b"}}}}]}),
    )
    .await;
    assert_eq!(got.json()["Responses"][0]["Item"]["id"], json!({"S": "b"}));
    // Another region's ARN in a batch is refused like anywhere else.
    call(
        server.addr,
        "BatchGetItem",
        json!({"RequestItems": {"arn:aws:dynamodb:eu-west-1:000000000000:table/Multi":
            {"Keys": [{"id": {"S": "a"}}]}}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "1 validation error detected: Invalid AWS region in \
             'arn:aws:dynamodb:eu-west-1:000000000000:table/Multi'",
        ),
    );
}

/// An empty AttributeDefinitions list has its own text (DDB-TABLE-042), and creates nothing.
#[tokio::test]
async fn empty_attribute_definitions_have_their_own_text() {
    let server = TestServer::memory().await;
    let client = server.client();
    let err = client
        .create_table()
        .table_name("NoDefs")
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(Vec::new()))
        .key_schema(hash("id"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Invalid KeySchema: Some index key attribute have no definition".to_owned()
        )
    );
    let listed = client.list_tables().send().await.unwrap();
    assert!(listed.table_names().is_empty());
}

/// TableClass is not one of the generic validator's enums: an unknown class has its own text
/// on CreateTable and UpdateTable (DDB-TABLE-442).
#[tokio::test]
async fn an_unknown_table_class_has_its_own_text() {
    let server = TestServer::memory().await;
    let client = server.client();
    let class_text = (
        "ValidationException".to_owned(),
        "Invalid table-class parameter provided. Please try again with a valid table-class \
         value: [STANDARD, STANDARD_INFREQUENT_ACCESS]."
            .to_owned(),
    );
    let create = |class: &str| {
        client
            .create_table()
            .table_name("Classy")
            .billing_mode(BillingMode::PayPerRequest)
            .table_class(TableClass::from(class))
            .attribute_definitions(attr("id"))
            .key_schema(hash("id"))
            .send()
    };
    for class in ["GLACIER", "standard"] {
        assert_eq!(error_parts(create(class).await.unwrap_err()), class_text);
    }
    create("STANDARD_INFREQUENT_ACCESS").await.unwrap();
    let err = client
        .update_table()
        .table_name("Classy")
        .table_class(TableClass::from("ARCHIVE"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(err), class_text);
}
