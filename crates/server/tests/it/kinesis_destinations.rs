//! Kinesis streaming destinations, as DynamoDB answers them for a stream that does not exist
//! (binderdb has no Kinesis): Enable accepted as ENABLING, then ENABLE_FAILED with DynamoDB's
//! description; failed entries accumulating and flipping back on a re-Enable; Disable and
//! Update refused in DynamoDB's words; which tables are addressed (missing, CREATING,
//! DELETING, re-created); request validation; and the list across a durable restart.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    ApproximateCreationDateTimePrecision, EnableKinesisStreamingConfiguration, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use binderdb_engine::{Config, ManualClock};
use serde_json::{json, Value};

use crate::common::{
    call, create_table, error_parts, test_store, RawResponse, TestServer, NOT_FOUND, VALIDATION,
};

const DELAY: u64 = 2_000;
const START: u64 = 1_700_000_000_000;
const A: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/orders-a";
const B: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/orders-b";
const NEVER: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/never-enabled";
const NO_STREAM: &str = "User does not have a permission to use kinesis stream";
const STATE: &str = "Table is not in a valid state to enable Kinesis Streaming Destination: ";

fn enable_refused() -> String {
    format!(
        "{STATE}EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to perform \
         ENABLE operation."
    )
}

fn disable_refused() -> String {
    format!("{STATE}KinesisStreamingDestination must be ACTIVE to perform DISABLE operation.")
}

fn update_not_active(table: &str, arn: &str) -> String {
    format!(
        "{STATE}Kinesis streaming is not in ACTIVE state. Updates are only allowed in ACTIVE \
         state. TableName: {table}, kdsArn: {arn}"
    )
}

/// A server whose time is `clock`'s, tables CREATING (and DELETING) for [`DELAY`].
async fn server_at(clock: &Arc<ManualClock>) -> TestServer {
    let config = Config {
        create_delay_ms: DELAY,
        ..Config::default()
    };
    TestServer::with_clock(test_store(), config, clock.clone()).await
}

/// (StreamArn, DestinationStatus, DestinationStatusDescription, precision) of every listed
/// destination, through the SDK.
async fn destinations(
    client: &Client,
    table: &str,
) -> Vec<(String, String, Option<String>, Option<String>)> {
    let out = client
        .describe_kinesis_streaming_destination()
        .table_name(table)
        .send()
        .await
        .unwrap();
    assert_eq!(out.table_name(), Some(table));
    out.kinesis_data_stream_destinations()
        .iter()
        .map(|d| {
            (
                d.stream_arn().unwrap().to_owned(),
                d.destination_status().unwrap().as_str().to_owned(),
                d.destination_status_description().map(str::to_owned),
                d.approximate_creation_date_time_precision()
                    .map(|p| p.as_str().to_owned()),
            )
        })
        .collect()
}

fn entry(
    arn: &str,
    status: &str,
    precision: Option<&str>,
) -> (String, String, Option<String>, Option<String>) {
    let description = (status == "ENABLE_FAILED").then(|| NO_STREAM.to_owned());
    (
        arn.to_owned(),
        status.to_owned(),
        description,
        precision.map(str::to_owned),
    )
}

async fn send_enable(addr: std::net::SocketAddr, table: &str, arn: &str) -> RawResponse {
    call(
        addr,
        "EnableKinesisStreamingDestination",
        json!({"TableName": table, "StreamArn": arn}),
    )
    .await
}

async fn enable(addr: std::net::SocketAddr, table: &str, arn: &str) -> Value {
    let res = send_enable(addr, table, arn).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

async fn disable(addr: std::net::SocketAddr, table: &str, arn: &str) -> RawResponse {
    call(
        addr,
        "DisableKinesisStreamingDestination",
        json!({"TableName": table, "StreamArn": arn}),
    )
    .await
}

async fn update(addr: std::net::SocketAddr, table: &str, arn: &str) -> RawResponse {
    call(
        addr,
        "UpdateKinesisStreamingDestination",
        json!({"TableName": table, "StreamArn": arn,
               "UpdateKinesisStreamingConfiguration":
                   {"ApproximateCreationDateTimePrecision": "MICROSECOND"}}),
    )
    .await
}

/// While `arn` is `table`'s live (ENABLING) entry, or the table is DELETING: an Enable of
/// `other`, and a Disable and an Update of `arn`, are each refused in DynamoDB's words.
async fn changes_refused(addr: std::net::SocketAddr, table: &str, arn: &str, other: &str) {
    send_enable(addr, table, other)
        .await
        .assert_error(VALIDATION, Some(&enable_refused()));
    disable(addr, table, arn)
        .await
        .assert_error(VALIDATION, Some(&disable_refused()));
    update(addr, table, arn)
        .await
        .assert_error(VALIDATION, Some(&update_not_active(table, arn)));
}

#[tokio::test]
async fn every_enable_fails_and_failed_entries_accumulate_and_flip() {
    let clock = Arc::new(ManualClock::new(START));
    let server = server_at(&clock).await;
    let addr = server.addr;
    let client = server.client();
    create_table(&client, "Orders", ("pk", ScalarAttributeType::S), None).await;
    clock.advance(DELAY);

    // None yet: an empty list, not an absent one.
    let fresh = call(
        addr,
        "DescribeKinesisStreamingDestination",
        json!({"TableName": "Orders"}),
    )
    .await;
    assert_eq!(
        fresh.json(),
        json!({"TableName": "Orders", "KinesisDataStreamDestinations": []})
    );

    // Accepted without looking at the stream; no configuration is echoed as `{}`.
    assert_eq!(
        enable(addr, "Orders", A).await,
        json!({"TableName": "Orders", "StreamArn": A, "DestinationStatus": "ENABLING",
               "EnableKinesisStreamingConfiguration": {}})
    );
    assert_eq!(
        destinations(&client, "Orders").await,
        [entry(A, "ENABLING", None)]
    );
    // While it is ENABLING nothing else is admitted, of its ARN or another.
    changes_refused(addr, "Orders", A, A).await;
    changes_refused(addr, "Orders", A, B).await;

    // The stream does not exist: ENABLE_FAILED, described as DynamoDB describes it.
    clock.advance(DELAY);
    assert_eq!(
        destinations(&client, "Orders").await,
        [entry(A, "ENABLE_FAILED", None)]
    );

    // Another ARN gets its own entry, first, with the precision asked for.
    let out = client
        .enable_kinesis_streaming_destination()
        .table_name("Orders")
        .stream_arn(B)
        .enable_kinesis_streaming_configuration(
            EnableKinesisStreamingConfiguration::builder()
                .approximate_creation_date_time_precision(
                    ApproximateCreationDateTimePrecision::Microsecond,
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.destination_status().unwrap().as_str(), "ENABLING");
    assert_eq!(
        out.enable_kinesis_streaming_configuration()
            .and_then(|c| c.approximate_creation_date_time_precision())
            .map(|p| p.as_str()),
        Some("MICROSECOND")
    );
    clock.advance(DELAY);
    assert_eq!(
        destinations(&client, "Orders").await,
        [
            entry(B, "ENABLE_FAILED", Some("MICROSECOND")),
            entry(A, "ENABLE_FAILED", None)
        ]
    );

    // A re-Enable of a failed ARN flips its entry rather than adding one.
    enable(addr, "Orders", A).await;
    assert_eq!(
        destinations(&client, "Orders").await,
        [
            entry(B, "ENABLE_FAILED", Some("MICROSECOND")),
            entry(A, "ENABLING", None)
        ]
    );
    clock.advance(DELAY);
    assert_eq!(
        destinations(&client, "Orders").await,
        [
            entry(B, "ENABLE_FAILED", Some("MICROSECOND")),
            entry(A, "ENABLE_FAILED", None)
        ]
    );

    // Nothing is ever ACTIVE, so Disable and Update always refuse, never as not found.
    for arn in [A, NEVER, "not-an-arn-but-long-enough-for-the-check"] {
        disable(addr, "Orders", arn)
            .await
            .assert_error(VALIDATION, Some(&disable_refused()));
    }
    update(addr, "Orders", A)
        .await
        .assert_error(VALIDATION, Some(&update_not_active("Orders", A)));
    update(addr, "Orders", NEVER).await.assert_error(
        VALIDATION,
        Some(&format!(
            "{STATE}No streaming destination with streamArn: {NEVER} found for table with \
             tableName: Orders"
        )),
    );
    call(
        addr,
        "DisableKinesisStreamingDestination",
        json!({"TableName": "Orders", "StreamArn": A,
               "EnableKinesisStreamingConfiguration":
                   {"ApproximateCreationDateTimePrecision": "MICROSECOND"}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("Stream cannot be disabled using EnableKinesisStreamingConfiguration parameters"),
    );
    let no_configuration = "Streaming destination cannot be updated with given parameters: \
                            UpdateKinesisStreamingConfiguration cannot be null or contain only \
                            null values";
    for body in [
        json!({"TableName": "Orders", "StreamArn": A}),
        json!({"TableName": "Orders", "StreamArn": A, "UpdateKinesisStreamingConfiguration": {}}),
    ] {
        call(addr, "UpdateKinesisStreamingDestination", body)
            .await
            .assert_error(VALIDATION, Some(no_configuration));
    }
    // The SDK sees the same code, and the table stayed ACTIVE throughout.
    let (code, message) = error_parts(
        client
            .disable_kinesis_streaming_destination()
            .table_name("Orders")
            .stream_arn(A)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), message),
        ("ValidationException", disable_refused())
    );
    let table = client
        .describe_table()
        .table_name("Orders")
        .send()
        .await
        .unwrap();
    assert_eq!(
        table.table().unwrap().table_status().unwrap().as_str(),
        "ACTIVE"
    );
}

#[tokio::test]
async fn missing_and_creating_tables_are_not_found_and_bad_requests_are_refused() {
    let clock = Arc::new(ManualClock::new(START));
    let server = server_at(&clock).await;
    let addr = server.addr;
    let client = server.client();
    // Still CREATING: as missing as a table that does not exist.
    create_table(&client, "Young", ("pk", ScalarAttributeType::S), None).await;
    for table in ["Nope", "Young"] {
        let missing = format!("Requested resource not found: Table: {table} not found");
        for (op, body) in [
            (
                "DescribeKinesisStreamingDestination",
                json!({"TableName": table}),
            ),
            (
                "EnableKinesisStreamingDestination",
                json!({"TableName": table, "StreamArn": A}),
            ),
            (
                "DisableKinesisStreamingDestination",
                json!({"TableName": table, "StreamArn": A}),
            ),
            (
                "UpdateKinesisStreamingDestination",
                json!({"TableName": table, "StreamArn": A,
                       "UpdateKinesisStreamingConfiguration":
                           {"ApproximateCreationDateTimePrecision": "MILLISECOND"}}),
            ),
        ] {
            call(addr, op, body)
                .await
                .assert_error(NOT_FOUND, Some(&missing));
        }
    }
    let (code, _) = error_parts(
        client
            .describe_kinesis_streaming_destination()
            .table_name("Nope")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ResourceNotFoundException");
    // Once ACTIVE it is served, also by its ARN.
    clock.advance(DELAY);
    let res = call(
        addr,
        "DescribeKinesisStreamingDestination",
        json!({"TableName": "arn:aws:dynamodb:us-east-1:000000000000:table/Young"}),
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"TableName": "Young", "KinesisDataStreamDestinations": []})
    );

    let cases = [
        (
            "DescribeKinesisStreamingDestination",
            json!({"TableName": ""}),
            "2 validation errors detected: Value '' at 'tableName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
             Value '' at 'tableName' failed to satisfy constraint: Member must have length \
             greater than or equal to 3",
        ),
        (
            "DescribeKinesisStreamingDestination",
            json!({}),
            "1 validation error detected: Value null at 'tableName' failed to satisfy \
             constraint: Member must not be null",
        ),
        (
            "EnableKinesisStreamingDestination",
            json!({"TableName": "Young", "StreamArn": ""}),
            "1 validation error detected: Value '' at 'streamArn' failed to satisfy \
             constraint: Member must have length greater than or equal to 37",
        ),
        (
            "DisableKinesisStreamingDestination",
            json!({"TableName": "Young"}),
            "1 validation error detected: Value null at 'streamArn' failed to satisfy \
             constraint: Member must not be null",
        ),
        (
            "EnableKinesisStreamingDestination",
            json!({"TableName": "Young", "StreamArn": A,
                   "EnableKinesisStreamingConfiguration":
                       {"ApproximateCreationDateTimePrecision": "SECOND"}}),
            "1 validation error detected: Value 'SECOND' at \
             'enableKinesisStreamingConfiguration.approximateCreationDateTimePrecision' failed \
             to satisfy constraint: Member must satisfy enum value set: [MILLISECOND, \
             MICROSECOND]",
        ),
        (
            "UpdateKinesisStreamingDestination",
            json!({"TableName": "Young", "StreamArn": "short",
                   "UpdateKinesisStreamingConfiguration":
                       {"ApproximateCreationDateTimePrecision": ""}}),
            "2 validation errors detected: Value 'short' at 'streamArn' failed to satisfy \
             constraint: Member must have length greater than or equal to 37; Value '' at \
             'updateKinesisStreamingConfiguration.approximateCreationDateTimePrecision' failed \
             to satisfy constraint: Member must satisfy enum value set: [MILLISECOND, \
             MICROSECOND]",
        ),
    ];
    for (op, body, message) in cases {
        call(addr, op, body)
            .await
            .assert_error(VALIDATION, Some(message));
    }
    // Nothing was enabled by the refused requests.
    assert_eq!(destinations(&client, "Young").await, []);
}

#[tokio::test]
async fn a_deleted_table_keeps_its_list_while_deleting_and_a_new_one_starts_empty() {
    let clock = Arc::new(ManualClock::new(START));
    let server = server_at(&clock).await;
    let addr = server.addr;
    let client = server.client();
    create_table(&client, "Gone", ("pk", ScalarAttributeType::S), None).await;
    clock.advance(DELAY);
    enable(addr, "Gone", A).await;
    clock.advance(DELAY);
    // DeleteTable is accepted with a destination ENABLING, as in DynamoDB.
    enable(addr, "Gone", B).await;
    client
        .delete_table()
        .table_name("Gone")
        .send()
        .await
        .unwrap();

    // DELETING: Describe lists what the table had; changes are refused.
    assert_eq!(
        destinations(&client, "Gone").await,
        [entry(B, "ENABLING", None), entry(A, "ENABLE_FAILED", None)]
    );
    changes_refused(addr, "Gone", A, NEVER).await;

    // Gone: not found, then a table of the same name reads a fresh, empty list.
    clock.advance(DELAY);
    call(
        addr,
        "DescribeKinesisStreamingDestination",
        json!({"TableName": "Gone"}),
    )
    .await
    .assert_error(
        NOT_FOUND,
        Some("Requested resource not found: Table: Gone not found"),
    );
    create_table(&client, "Gone", ("pk", ScalarAttributeType::S), None).await;
    clock.advance(DELAY);
    assert_eq!(destinations(&client, "Gone").await, []);
}

#[tokio::test]
async fn destinations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    create_table(&client, "Kept", ("pk", ScalarAttributeType::S), None).await;
    enable(server.addr, "Kept", A).await;
    enable(server.addr, "Kept", B).await;
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    assert_eq!(
        destinations(&client, "Kept").await,
        [
            entry(B, "ENABLE_FAILED", None),
            entry(A, "ENABLE_FAILED", None)
        ]
    );
}

#[tokio::test]
async fn a_restored_table_has_no_destinations() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Source", ("pk", ScalarAttributeType::S), None).await;
    enable(server.addr, "Source", A).await;
    let backup = client
        .create_backup()
        .table_name("Source")
        .backup_name("before")
        .send()
        .await
        .unwrap();
    let arn = backup.backup_details().unwrap().backup_arn().to_owned();
    client
        .restore_table_from_backup()
        .target_table_name("Restored")
        .backup_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(destinations(&client, "Restored").await, []);
    assert_eq!(
        destinations(&client, "Source").await,
        [entry(A, "ENABLE_FAILED", None)]
    );
}
