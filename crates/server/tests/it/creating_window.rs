//! What a table that is still CREATING answers, as DynamoDB's backends were observed to (the
//! ack-api-quirks lab's DDB-TABLE-444, 446, 447, 101, 115): CreateTable of its name is
//! "being created" (not "already exists"), the tag APIs and UpdateTimeToLive do not find it,
//! CreateBackup and UpdateContinuousBackups answer TableNotFoundException; once ACTIVE, all
//! of them work. ImportTable into its name still says "already exists".

use aws_sdk_dynamodb::types::{
    BillingMode, PointInTimeRecoverySpecification, Tag, TimeToLiveSpecification,
};

use crate::common::error_parts;
use crate::warm_throughput::{attr, clocked, hash, DELAY};

const ARN: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/Young";

#[tokio::test]
async fn a_creating_table_is_not_there_yet_for_its_sub_resources() {
    let (server, clock) = clocked().await;
    let client = server.client();
    let create = || {
        client
            .create_table()
            .table_name("Young")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("id"))
            .key_schema(hash("id"))
            .send()
    };
    create().await.unwrap();
    let tag = || {
        client
            .tag_resource()
            .resource_arn(ARN)
            .tags(Tag::builder().key("k").value("v").build().unwrap())
            .send()
    };
    let ttl = || {
        client
            .update_time_to_live()
            .table_name("Young")
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires")
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let backup = || {
        client
            .create_backup()
            .table_name("Young")
            .backup_name("bk-young")
            .send()
    };
    let pitr = || {
        client
            .update_continuous_backups()
            .table_name("Young")
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let pair = |code: &str, message: &str| (code.to_owned(), message.to_owned());

    assert_eq!(
        error_parts(create().await.unwrap_err()),
        pair(
            "ResourceInUseException",
            "Attempt to change a resource which is still in use: Table is being created: Young"
        )
    );
    let arn_not_found = format!("Requested resource not found: ResourceArn: {ARN} not found");
    assert_eq!(
        error_parts(tag().await.unwrap_err()),
        pair("ResourceNotFoundException", &arn_not_found)
    );
    let listed = client
        .list_tags_of_resource()
        .resource_arn(ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(listed),
        pair("ResourceNotFoundException", &arn_not_found)
    );
    assert_eq!(
        error_parts(ttl().await.unwrap_err()),
        pair(
            "ResourceNotFoundException",
            "Requested resource not found: Table: Young not found"
        )
    );
    assert_eq!(
        error_parts(backup().await.unwrap_err()),
        pair("TableNotFoundException", "Table not found: Young")
    );
    assert_eq!(
        error_parts(pitr().await.unwrap_err()),
        pair("TableNotFoundException", "Table not found: Young")
    );

    clock.advance(DELAY);
    assert_eq!(
        error_parts(create().await.unwrap_err()),
        pair("ResourceInUseException", "Table already exists: Young")
    );
    tag().await.unwrap();
    ttl().await.unwrap();
    backup().await.unwrap();
    pitr().await.unwrap();
}

/// ImportTable into the name of a table still CREATING says "already exists", unlike
/// CreateTable (DDB-TABLE-444).
#[tokio::test]
async fn an_import_into_a_creating_tables_name_finds_it_exists() {
    use aws_sdk_dynamodb::types::{
        InputFormat, KeyType, S3BucketSource, ScalarAttributeType, TableCreationParameters,
    };

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bucket").join("in")).unwrap();
    std::fs::write(dir.path().join("bucket").join("in").join("one.json"), "").unwrap();
    let clock = std::sync::Arc::new(binderdb_engine::ManualClock::new(1_700_000_000_000));
    let config = binderdb_engine::Config {
        create_delay_ms: DELAY,
        s3_dir: Some(dir.path().to_path_buf()),
        ..binderdb_engine::Config::default()
    };
    let server =
        crate::common::TestServer::with_clock(crate::common::test_store(), config, clock).await;
    let client = server.client();
    client
        .create_table()
        .table_name("Young")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("id"))
        .key_schema(hash("id"))
        .send()
        .await
        .unwrap();
    let parameters = TableCreationParameters::builder()
        .table_name("Young")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let err = client
        .import_table()
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket("bucket")
                .s3_key_prefix("in/")
                .build()
                .unwrap(),
        )
        .input_format(InputFormat::DynamodbJson)
        .table_creation_parameters(parameters)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ResourceInUseException".to_owned(),
            "Table already exists: Young".to_owned()
        )
    );
}
