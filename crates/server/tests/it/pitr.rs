//! Point-in-time recovery: UpdateContinuousBackups and DescribeContinuousBackups (settings,
//! window, errors), RestoreTableToPointInTime (a scripted history under the manual clock,
//! restored to several instants, each equal to the table at that instant, indexes included;
//! overrides; errors) and the change log's durability across kill -9.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{PointInTimeRecoverySpecification, PointInTimeRecoveryStatus};
use binderdb_engine::{Config, ManualClock};
use serde_json::json;

use crate::backups::{contents, indexed_table, put_row};
use crate::common::*;
use crate::indexes_ddl::{describe, ok};

/// 2026-01-01T00:00:00Z, ms.
const T0: u64 = 1_767_225_600_000;
const DAY: u64 = 24 * 60 * 60 * 1000;

async fn clocked() -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let server = TestServer::with_clock(test_store(), Config::default(), clock.clone()).await;
    (server, clock)
}

async fn plain_table(addr: std::net::SocketAddr, name: &str) {
    ok(
        addr,
        "CreateTable",
        json!({"TableName": name, "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}),
    )
    .await;
}

#[tokio::test]
async fn continuous_backups_settings_and_window() {
    let (server, clock) = clocked().await;
    let addr = server.addr;
    let client = server.client();
    plain_table(addr, "Pitr").await;

    let described = client
        .describe_continuous_backups()
        .table_name("Pitr")
        .send()
        .await
        .unwrap();
    let d = described.continuous_backups_description().unwrap();
    assert_eq!(
        d.continuous_backups_status().as_str(),
        "ENABLED",
        "every table reports continuous backups enabled"
    );
    let p = d.point_in_time_recovery_description().unwrap();
    assert_eq!(
        p.point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Disabled)
    );
    assert!(p.earliest_restorable_date_time().is_none());

    let updated = client
        .update_continuous_backups()
        .table_name("Pitr")
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let p = updated
        .continuous_backups_description()
        .unwrap()
        .point_in_time_recovery_description()
        .unwrap();
    assert_eq!(
        p.point_in_time_recovery_status(),
        Some(&PointInTimeRecoveryStatus::Enabled)
    );
    assert_eq!(p.recovery_period_in_days(), Some(35));
    assert_eq!(
        p.earliest_restorable_date_time().unwrap().secs(),
        (T0 / 1000) as i64
    );

    // Two days on, with a 1-day period: the window starts a day ago.
    clock.advance(2 * DAY);
    let body = ok(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Pitr", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 1}}),
    )
    .await;
    let p = &body["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    assert_eq!(p["RecoveryPeriodInDays"], 1);
    assert_eq!(p["EarliestRestorableDateTime"], ((T0 + DAY) / 1000) as f64);
    assert_eq!(
        p["LatestRestorableDateTime"],
        ((T0 + 2 * DAY) / 1000) as f64
    );
    // Lengthening it again does not bring back what the shorter one let go.
    let body = ok(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Pitr", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 35}}),
    )
    .await;
    let p = &body["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    assert_eq!(p["EarliestRestorableDateTime"], ((T0 + DAY) / 1000) as f64);

    let body = ok(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Pitr", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": false}}),
    )
    .await;
    assert_eq!(
        body["ContinuousBackupsDescription"],
        json!({"ContinuousBackupsStatus": "ENABLED",
               "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}})
    );
    let body = ok(
        addr,
        "DescribeContinuousBackups",
        json!({"TableName": "Pitr"}),
    )
    .await;
    assert_eq!(
        body["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            ["PointInTimeRecoveryStatus"],
        "DISABLED"
    );
}

#[tokio::test]
async fn continuous_backups_errors() {
    let (server, _clock) = clocked().await;
    let addr = server.addr;
    plain_table(addr, "Pitr").await;
    call(
        addr,
        "DescribeContinuousBackups",
        json!({"TableName": "Missing"}),
    )
    .await
    .assert_error(
        "com.amazonaws.dynamodb.v20120810#TableNotFoundException",
        Some("Table not found: Missing"),
    );
    call(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Missing", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true}}),
    )
    .await
    .assert_error(
        "com.amazonaws.dynamodb.v20120810#TableNotFoundException",
        Some("Table not found: Missing"),
    );
    call(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Pitr", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 36}}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "1 validation error detected: Value '36' at \
             'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy \
             constraint: Member must have value less than or equal to 35",
        ),
    );
    call(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Pitr"}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "1 validation error detected: Value null at 'pointInTimeRecoverySpecification' \
             failed to satisfy constraint: Member must not be null",
        ),
    );
    let refused = call(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Pitr", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": false, "RecoveryPeriodInDays": 3}}),
    )
    .await;
    refused.assert_error(
        VALIDATION,
        Some(
            "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time \
             recovery.",
        ),
    );
}

/// The table and both its indexes, for comparisons.
async fn snapshot(addr: std::net::SocketAddr, table: &str) -> [Vec<String>; 3] {
    [
        contents(addr, table, None).await,
        contents(addr, table, Some("byTeam")).await,
        contents(addr, table, Some("byRank")).await,
    ]
}

fn restore_body(target: &str, at_ms: u64) -> serde_json::Value {
    json!({"SourceTableName": "Scores", "TargetTableName": target,
           "RestoreDateTime": at_ms as f64 / 1000.0})
}

#[tokio::test]
async fn restores_to_several_instants_of_a_scripted_history_equal_the_table_then() {
    let (server, clock) = clocked().await;
    let addr = server.addr;
    indexed_table(addr, "Scores").await;
    for i in 0..10 {
        put_row(addr, "Scores", i).await;
    }
    ok(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Scores", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true}}),
    )
    .await;
    let mut history = vec![(T0, snapshot(addr, "Scores").await)];
    // Second by second: puts, updates moving index entries, deletes, a batch, a
    // transaction, a PartiQL statement.
    let steps: Vec<(&str, serde_json::Value)> = vec![
        (
            "PutItem",
            json!({"TableName": "Scores", "Item": {"pk": {"S": "new"}, "sk": {"S": "n1"},
            "team": {"S": "t9"}, "score": {"N": "5"}, "rank": {"N": "500"}}}),
        ),
        (
            "UpdateItem",
            json!({"TableName": "Scores", "Key": {"pk": {"S": "p1"}, "sk": {"S": "s001"}},
            "UpdateExpression": "SET team = :t, score = :s REMOVE #r",
            "ExpressionAttributeNames": {"#r": "rank"},
            "ExpressionAttributeValues": {":t": {"S": "zz"}, ":s": {"N": "99"}}}),
        ),
        (
            "DeleteItem",
            json!({"TableName": "Scores", "Key": {"pk": {"S": "p2"}, "sk": {"S": "s002"}}}),
        ),
        (
            "BatchWriteItem",
            json!({"RequestItems": {"Scores": [
            {"DeleteRequest": {"Key": {"pk": {"S": "p3"}, "sk": {"S": "s003"}}}},
            {"PutRequest": {"Item": {"pk": {"S": "p2"}, "sk": {"S": "s002"}, "team": {"S": "back"},
                "score": {"N": "1"}, "rank": {"N": "2"}}}}]}}),
        ),
        (
            "TransactWriteItems",
            json!({"TransactItems": [
            {"Delete": {"TableName": "Scores", "Key": {"pk": {"S": "new"}, "sk": {"S": "n1"}}}},
            {"Update": {"TableName": "Scores", "Key": {"pk": {"S": "p4"}, "sk": {"S": "s004"}},
                "UpdateExpression": "SET score = score + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}}}}]}),
        ),
        (
            "ExecuteStatement",
            json!({"Statement":
            "UPDATE \"Scores\" SET team = 'pq' WHERE pk = 'p5' AND sk = 's005'"}),
        ),
    ];
    for (op, body) in steps {
        clock.advance(1000);
        ok(addr, op, body).await;
        history.push((
            T0 + 1000 * history.len() as u64,
            snapshot(addr, "Scores").await,
        ));
    }
    for (i, (at_ms, expected)) in history.iter().enumerate() {
        let target = format!("At{i}");
        let restored = ok(
            addr,
            "RestoreTableToPointInTime",
            restore_body(&target, *at_ms),
        )
        .await;
        let summary = &restored["TableDescription"]["RestoreSummary"];
        assert_eq!(summary["RestoreDateTime"], (*at_ms / 1000) as f64);
        assert_eq!(
            summary["SourceTableArn"],
            "arn:aws:dynamodb:us-east-1:000000000000:table/Scores"
        );
        assert!(summary.get("SourceBackupArn").is_none());
        assert_eq!(
            &snapshot(addr, &target).await,
            expected,
            "restored to {at_ms}"
        );
        let table = describe(addr, &target).await;
        assert_eq!(table["ItemCount"], expected[0].len());
        assert_eq!(
            table["GlobalSecondaryIndexes"][0]["ItemCount"],
            expected[1].len()
        );
    }
    // Half a second after a step is the same as the step.
    ok(
        addr,
        "RestoreTableToPointInTime",
        restore_body("Half", T0 + 2500),
    )
    .await;
    assert_eq!(snapshot(addr, "Half").await, history[2].1);
    // The latest restorable time is now: the current table.
    ok(
        addr,
        "RestoreTableToPointInTime",
        json!({"SourceTableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/Scores",
               "TargetTableName": "Latest", "UseLatestRestorableTime": true}),
    )
    .await;
    assert_eq!(
        snapshot(addr, "Latest").await,
        snapshot(addr, "Scores").await
    );
    // The restored table has no point-in-time recovery of its own.
    let body = ok(
        addr,
        "DescribeContinuousBackups",
        json!({"TableName": "Latest"}),
    )
    .await;
    assert_eq!(
        body["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            ["PointInTimeRecoveryStatus"],
        "DISABLED"
    );
}

#[tokio::test]
async fn point_in_time_restore_overrides_and_errors() {
    let (server, clock) = clocked().await;
    let addr = server.addr;
    indexed_table(addr, "Scores").await;
    for i in 0..12 {
        put_row(addr, "Scores", i).await;
    }
    plain_table(addr, "NoPitr").await;
    let not_enabled = call(addr, "RestoreTableToPointInTime",
        json!({"SourceTableName": "NoPitr", "TargetTableName": "Xyz", "UseLatestRestorableTime": true}))
        .await;
    not_enabled.assert_error(
        "com.amazonaws.dynamodb.v20120810#PointInTimeRecoveryUnavailableException",
        Some("Point in time recovery is not enabled for table 'NoPitr'"),
    );
    ok(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Scores", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true}}),
    )
    .await;
    clock.advance(5000);
    for i in 12..20 {
        put_row(addr, "Scores", i).await;
    }

    // Before the log began, and in the future: outside the window (DDB-TABLE-100, 272).
    for (at, shown) in [
        (T0 - 1000, "2025-12-31T23:59:59Z"),
        (T0 + 6000, "2026-01-01T00:00:06Z"),
    ] {
        call(addr, "RestoreTableToPointInTime", restore_body("Xyz", at))
            .await
            .assert_error(
                "com.amazonaws.dynamodb.v20120810#InvalidRestoreTimeException",
                Some(&format!(
                    "RestoreDateTime '{shown}' must be within EarliestRestorableDateTime \
                     '2026-01-01T00:00:00Z' and LatestRestorableDateTime '2026-01-01T00:00:05Z'"
                )),
            );
    }
    call(addr, "RestoreTableToPointInTime",
        json!({"SourceTableName": "Missing", "TargetTableName": "Xyz", "UseLatestRestorableTime": true}))
        .await
        .assert_error(
            "com.amazonaws.dynamodb.v20120810#TableNotFoundException",
            Some("Table not found: Missing"),
        );
    // The time flags are checked first, even before the source is looked up (DDB-TABLE-100).
    for source in ["Scores", "Missing"] {
        call(
            addr,
            "RestoreTableToPointInTime",
            json!({"SourceTableName": source, "TargetTableName": "Xyz",
                   "UseLatestRestorableTime": true, "RestoreDateTime": 1.0}),
        )
        .await
        .assert_error(
            VALIDATION,
            Some(
                "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set \
                 for point-in-time restore request. Please specify either RestoreDateTime time \
                 or UseLatestRestorableTime",
            ),
        );
        call(
            addr,
            "RestoreTableToPointInTime",
            json!({"SourceTableName": source, "TargetTableName": "Xyz",
                   "UseLatestRestorableTime": false}),
        )
        .await
        .assert_error(
            VALIDATION,
            Some(
                "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must \
                 be specified, but not both",
            ),
        );
    }
    // Exactly one source (DDB-TABLE-272).
    call(
        addr,
        "RestoreTableToPointInTime",
        json!({"SourceTableName": "Scores", "TargetTableName": "Xyz",
               "SourceTableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/Scores",
               "UseLatestRestorableTime": true}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("Must provide exactly one of: sourceTableArn, sourceTableName"),
    );
    call(
        addr,
        "RestoreTableToPointInTime",
        json!({"TargetTableName": "Xyz", "UseLatestRestorableTime": true}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("The parameter 'TableName' is required but was not present in the request"),
    );
    call(addr, "RestoreTableToPointInTime",
        json!({"SourceTableName": "Scores", "UseLatestRestorableTime": true}))
        .await
        .assert_error(
            VALIDATION,
            Some("1 validation error detected: Value null at 'targetTableName' failed to satisfy constraint: Member must not be null"),
        );
    call(addr, "RestoreTableToPointInTime",
        json!({"SourceTableName": "Scores", "TargetTableName": "NoPitr", "UseLatestRestorableTime": true}))
        .await
        .assert_error(
            "com.amazonaws.dynamodb.v20120810#TableAlreadyExistsException",
            Some("Table already exists: NoPitr"),
        );

    // Overrides: provisioned billing, no GSI, the LSI kept; restored to the enabling instant.
    let restored = ok(
        addr,
        "RestoreTableToPointInTime",
        json!({"SourceTableName": "Scores", "TargetTableName": "Slim", "RestoreDateTime": T0 as f64 / 1000.0,
               "BillingModeOverride": "PROVISIONED",
               "ProvisionedThroughputOverride": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
               "GlobalSecondaryIndexOverride": []}),
    )
    .await;
    let d = &restored["TableDescription"];
    assert_eq!(d["TableStatus"], "CREATING");
    assert_eq!(d["ProvisionedThroughput"]["ReadCapacityUnits"], 7);
    assert!(d.get("GlobalSecondaryIndexes").is_none());
    let table = describe(addr, "Slim").await;
    assert_eq!(table["ItemCount"], 12);
    assert_eq!(table["LocalSecondaryIndexes"][0]["ItemCount"], 12);
}

/// TableNotFoundException names the missing table as the request did: by name, by the ARN an
/// export sent, and not at all for a restore's `SourceTableArn` (DDB-TABLE-447); an export's
/// empty TableArn is a ValidationException of its own.
#[tokio::test]
async fn table_not_found_names_what_the_request_named() {
    let server = TestServer::memory().await;
    let client = server.client();
    let missing_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Missing";
    let not_found = |text: &str| ("TableNotFoundException".to_owned(), text.to_owned());
    let err = client
        .create_backup()
        .table_name("Missing")
        .backup_name("bk-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(err), not_found("Table not found: Missing"));
    let err = client
        .export_table_to_point_in_time()
        .table_arn(missing_arn)
        .s3_bucket("bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        not_found(&format!("Table not found: {missing_arn}"))
    );
    let err = client
        .restore_table_to_point_in_time()
        .source_table_name("Missing")
        .target_table_name("Restored")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(err), not_found("Table not found: Missing"));
    let err = client
        .restore_table_to_point_in_time()
        .source_table_arn(missing_arn)
        .target_table_name("Restored")
        .use_latest_restorable_time(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(err), not_found("Table not found"));
    // An empty TableArn, which the SDK does not send, has its own text (DDB-TABLE-457).
    call(
        server.addr,
        "ExportTableToPointInTime",
        json!({"TableArn": "", "S3Bucket": "bucket"}),
    )
    .await
    .assert_error(VALIDATION, Some("Invalid TableArn: Invalid Table ARN"));
}
