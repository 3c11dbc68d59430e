//! Empty strings, empty structures and empty list entries, answered with the generic
//! validator's texts in DynamoDB's order (the ack-api-quirks lab's DDB-TABLE-457): an empty
//! KMSMasterKeyId is a length violation, AttributeType is reported before AttributeName, an
//! index name's length before its pattern, DescribeTable's table name gets the generic
//! violations (length first), not CreateTable's own sentence; an empty OnDemandThroughput is no
//! index update; an incremental export needs its ExportFromTime; UpdateTimeToLive and the
//! restores' index overrides report every missing member.

use serde_json::json;

use crate::common::{call, error_parts, TestServer, VALIDATION};
use crate::warm_throughput::{attr, hash, on_demand_table};

#[tokio::test]
async fn an_empty_kms_master_key_id_is_a_length_violation() {
    use aws_sdk_dynamodb::types::{BillingMode, SseSpecification, SseType};

    let server = TestServer::memory().await;
    let client = server.client();
    let empty_key = || {
        SseSpecification::builder()
            .enabled(true)
            .sse_type(SseType::Kms)
            .kms_master_key_id("")
            .build()
    };
    let violation = |path: &str| {
        (
            "ValidationException".to_owned(),
            format!(
                "1 validation error detected: Value '' at '{path}' failed to satisfy \
                 constraint: Member must have length greater than or equal to 1"
            ),
        )
    };
    let err = client
        .create_table()
        .table_name("Keyless")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("id"))
        .key_schema(hash("id"))
        .sse_specification(empty_key())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        violation("sSESpecification.kMSMasterKeyId")
    );
    on_demand_table(&client, "Tbl", None, None).await;
    let err = client
        .update_table()
        .table_name("Tbl")
        .sse_specification(empty_key())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        violation("sSESpecification.kMSMasterKeyId")
    );
    let backup = crate::backups::backup_of(&client, "Tbl", "bk-tbl").await;
    let err = client
        .restore_table_from_backup()
        .backup_arn(backup)
        .target_table_name("Copy")
        .sse_specification_override(empty_key())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        violation("sSESpecificationOverride.kMSMasterKeyId")
    );
    assert_eq!(
        client.list_tables().send().await.unwrap().table_names(),
        ["Tbl"]
    );
}

#[tokio::test]
async fn generic_violations_come_in_dynamodbs_order() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let null = |path: &str| {
        format!("Value null at '{path}' failed to satisfy constraint: Member must not be null")
    };
    // An empty AttributeDefinitions entry: the type first, on CreateTable and UpdateTable.
    let empty_entry = format!(
        "2 validation errors detected: {}; {}",
        null("attributeDefinitions.1.member.attributeType"),
        null("attributeDefinitions.1.member.attributeName")
    );
    call(
        addr,
        "CreateTable",
        json!({"TableName": "Tbl", "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": [{}],
               "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}),
    )
    .await
    .assert_error(VALIDATION, Some(&empty_entry));
    call(
        addr,
        "UpdateTable",
        json!({"TableName": "Tbl", "AttributeDefinitions": [{}],
               "DeletionProtectionEnabled": false}),
    )
    .await
    .assert_error(VALIDATION, Some(&empty_entry));
    // An empty index name: its length, then its pattern.
    let empty_name = |path: &str| {
        format!(
            "2 validation errors detected: Value '' at '{path}' failed to satisfy constraint: \
             Member must have length greater than or equal to 3; Value '' at '{path}' failed \
             to satisfy constraint: Member must satisfy regular expression pattern: \
             [a-zA-Z0-9_.-]+"
        )
    };
    let gsi = json!({"IndexName": "", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                     "Projection": {"ProjectionType": "ALL"}});
    call(
        addr,
        "CreateTable",
        json!({"TableName": "Tbl", "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                        {"AttributeName": "g", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
               "GlobalSecondaryIndexes": [gsi]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(&empty_name("globalSecondaryIndexes.1.member.indexName")),
    );
    call(
        addr,
        "UpdateTable",
        json!({"TableName": "Tbl",
               "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": gsi}]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(&empty_name(
            "globalSecondaryIndexUpdates.1.member.create.indexName",
        )),
    );
    // DescribeTable: the generic violations, length first; a missing name keeps its text.
    call(addr, "DescribeTable", json!({"TableName": ""}))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "2 validation errors detected: Value '' at 'tableName' failed to satisfy \
                 constraint: Member must have length greater than or equal to 3; Value '' at \
                 'tableName' failed to satisfy constraint: Member must satisfy regular \
                 expression pattern: [a-zA-Z0-9_.-]+",
            ),
        );
    call(addr, "DescribeTable", json!({})).await.assert_error(
        VALIDATION,
        Some("The paramater 'tableName' is required but was not present in the request"),
    );
}

/// A global index Update whose only member is an empty OnDemandThroughput changes nothing and
/// is refused like an Update with no member at all (DDB-TABLE-456, 457).
#[tokio::test]
async fn an_empty_on_demand_throughput_is_no_index_update() {
    use aws_sdk_dynamodb::types::{
        GlobalSecondaryIndexUpdate, OnDemandThroughput, UpdateGlobalSecondaryIndexAction,
    };

    let server = TestServer::memory().await;
    let client = server.client();
    on_demand_table(&client, "Tbl", None, None).await;
    let update = |on_demand: Option<OnDemandThroughput>| {
        UpdateGlobalSecondaryIndexAction::builder()
            .index_name("gsi")
            .set_on_demand_throughput(on_demand)
            .build()
            .unwrap()
    };
    let only = (
        "ValidationException".to_owned(),
        "One or more parameter values were invalid: The only Updates for index: gsi when \
         TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput"
            .to_owned(),
    );
    for on_demand in [None, Some(OnDemandThroughput::builder().build())] {
        let err = client
            .update_table()
            .table_name("Tbl")
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .update(update(on_demand))
                    .build(),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_parts(err), only);
    }
}

/// An incremental export without ExportFromTime is refused in DynamoDB's words, before the
/// table's point-in-time recovery is looked at (DDB-TABLE-457, 442).
#[tokio::test]
async fn an_incremental_export_needs_its_start() {
    use aws_sdk_dynamodb::types::{ExportType, IncrementalExportSpecification};

    let server = TestServer::memory().await;
    let client = server.client();
    on_demand_table(&client, "Tbl", None, None).await;
    for spec in [
        None,
        Some(IncrementalExportSpecification::builder().build()),
    ] {
        let err = client
            .export_table_to_point_in_time()
            .table_arn("arn:aws:dynamodb:us-east-1:000000000000:table/Tbl")
            .s3_bucket("bucket")
            .export_type(ExportType::IncrementalExport)
            .set_incremental_export_specification(spec)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            error_parts(err),
            (
                "ValidationException".to_owned(),
                "Invalid Request: ExportFromTime must be provided in \
                 IncrementalExportSpecification"
                    .to_owned()
            )
        );
    }
}

/// UpdateTimeToLive reports its specification's members together, AttributeName first; a
/// restore's empty index override entry is three violations, and its target name of the wrong
/// length CreateTable's sentence (DDB-TABLE-457).
#[tokio::test]
async fn ttl_specifications_and_restore_overrides_report_every_member() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let client = server.client();
    on_demand_table(&client, "Tbl", None, None).await;
    let null = |path: &str| {
        format!("Value null at '{path}' failed to satisfy constraint: Member must not be null")
    };
    let ttl = |spec: serde_json::Value| {
        call(
            addr,
            "UpdateTimeToLive",
            json!({"TableName": "Tbl", "TimeToLiveSpecification": spec}),
        )
    };
    ttl(json!({})).await.assert_error(
        VALIDATION,
        Some(&format!(
            "2 validation errors detected: {}; {}",
            null("timeToLiveSpecification.attributeName"),
            null("timeToLiveSpecification.enabled")
        )),
    );
    ttl(json!({"Enabled": true})).await.assert_error(
        VALIDATION,
        Some(&format!(
            "1 validation error detected: {}",
            null("timeToLiveSpecification.attributeName")
        )),
    );
    ttl(json!({"Enabled": true, "AttributeName": ""}))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "1 validation error detected: Value '' at \
                 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member \
                 must have length greater than or equal to 1",
            ),
        );

    let backup = crate::backups::backup_of(&client, "Tbl", "bk-tbl").await;
    let restore = |extra: serde_json::Value| {
        let mut body = json!({"TargetTableName": "Copy", "BackupArn": backup});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        call(addr, "RestoreTableFromBackup", body)
    };
    for list in [
        "globalSecondaryIndexOverride",
        "localSecondaryIndexOverride",
    ] {
        let member = format!("{}{}", &list[..1].to_uppercase(), &list[1..]);
        restore(json!({ member: [{}] })).await.assert_error(
            VALIDATION,
            Some(&format!(
                "3 validation errors detected: {}; {}; {}",
                null(&format!("{list}.1.member.indexName")),
                null(&format!("{list}.1.member.keySchema")),
                null(&format!("{list}.1.member.projection"))
            )),
        );
    }
    restore(json!({"GlobalSecondaryIndexOverride": [{"IndexName": "x"}]}))
        .await
        .assert_error(
            VALIDATION,
            Some(&format!(
                "3 validation errors detected: Value 'x' at \
                 'globalSecondaryIndexOverride.1.member.indexName' failed to satisfy constraint: \
                 Member must have length greater than or equal to 3; {}; {}",
                null("globalSecondaryIndexOverride.1.member.keySchema"),
                null("globalSecondaryIndexOverride.1.member.projection")
            )),
        );
    restore(json!({"TargetTableName": ""})).await.assert_error(
        VALIDATION,
        Some("TableName must be at least 3 characters long and at most 255 characters long"),
    );
}
