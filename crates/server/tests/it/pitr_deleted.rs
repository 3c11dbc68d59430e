//! Deleting a table with point-in-time recovery enabled, under the manual clock: DynamoDB's
//! `SYSTEM` backup `<table>$DeletedTableBackup` appears in ListBackups (BackupType SYSTEM or
//! ALL, never the default USER) with its expiry; RestoreTableFromBackup of it gives the table as
//! it was just before the deletion; RestoreTableToPointInTime by the deleted table's
//! `SourceTableArn` restores any instant of its window up to the deletion, indexes included;
//! everything is gone once the recovery period has passed since the deletion.

use std::sync::Arc;

use binderdb_engine::{Config, ManualClock};
use serde_json::{json, Value};

use crate::backups::{contents, indexed_table, put_row};
use crate::common::*;
use crate::indexes_ddl::ok;

/// 2026-01-01T00:00:00Z, ms.
const T0: u64 = 1_767_225_600_000;
const DAY: u64 = 24 * 60 * 60 * 1000;
const TABLE_NOT_FOUND: &str = "com.amazonaws.dynamodb.v20120810#TableNotFoundException";
const INVALID_TIME: &str = "com.amazonaws.dynamodb.v20120810#InvalidRestoreTimeException";

/// The table and both its indexes, for comparisons.
async fn snapshot(addr: std::net::SocketAddr, table: &str) -> [Vec<String>; 3] {
    [
        contents(addr, table, None).await,
        contents(addr, table, Some("byTeam")).await,
        contents(addr, table, Some("byRank")).await,
    ]
}

async fn system_backups(addr: std::net::SocketAddr, filter: Option<&str>) -> Vec<Value> {
    let body = match filter {
        Some(t) => json!({ "BackupType": t }),
        None => json!({}),
    };
    ok(addr, "ListBackups", body).await["BackupSummaries"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_deleted_table_stays_restorable_for_its_recovery_period() {
    let clock = Arc::new(ManualClock::new(T0));
    let server = TestServer::with_clock(test_store(), Config::default(), clock.clone()).await;
    let addr = server.addr;
    indexed_table(addr, "Gone").await;
    ok(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Gone", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 2}}),
    )
    .await;
    for i in 0..10 {
        put_row(addr, "Gone", i).await;
    }
    let arn = ok(addr, "DescribeTable", json!({"TableName": "Gone"})).await["Table"]["TableArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let at_first = snapshot(addr, "Gone").await;
    clock.advance(1000);
    for i in 10..20 {
        put_row(addr, "Gone", i).await;
    }
    ok(
        addr,
        "DeleteItem",
        json!({"TableName": "Gone", "Key": {"pk": {"S": "p0"}, "sk": {"S": "s000"}}}),
    )
    .await;
    let before_deletion = snapshot(addr, "Gone").await;
    clock.advance(1000);
    let deleted_at = T0 + 2000;
    ok(addr, "DeleteTable", json!({"TableName": "Gone"})).await;

    // The system backup: listed with SYSTEM or ALL, not with the default (USER).
    assert!(system_backups(addr, None).await.is_empty());
    assert!(system_backups(addr, Some("USER")).await.is_empty());
    let listed = system_backups(addr, Some("SYSTEM")).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(system_backups(addr, Some("ALL")).await, listed);
    let summary = &listed[0];
    assert_eq!(summary["BackupName"], "Gone$DeletedTableBackup");
    assert_eq!(summary["BackupType"], "SYSTEM");
    assert_eq!(summary["BackupStatus"], "AVAILABLE");
    assert_eq!(summary["TableName"], "Gone");
    assert_eq!(summary["TableArn"], arn.as_str());
    assert_eq!(
        summary["BackupCreationDateTime"],
        deleted_at as f64 / 1000.0
    );
    assert_eq!(
        summary["BackupExpiryDateTime"],
        (deleted_at + 2 * DAY) as f64 / 1000.0
    );
    let backup_arn = summary["BackupArn"].as_str().unwrap().to_owned();
    let described = ok(addr, "DescribeBackup", json!({"BackupArn": backup_arn})).await;
    let details = &described["BackupDescription"];
    assert_eq!(details["BackupDetails"]["BackupType"], "SYSTEM");
    assert_eq!(details["SourceTableDetails"]["ItemCount"], 19);
    // Nobody deletes it before it expires (DDB-TABLE-167, 453): T0 + 2 s + the 2-day period.
    call(addr, "DeleteBackup", json!({"BackupArn": backup_arn}))
        .await
        .assert_error(
            VALIDATION,
            Some(&format!(
                "Invalid Request: User is not allowed to delete the system backup with arn \
                 {backup_arn}. It will automatically expire on 2026-01-03T00:00:02.000Z"
            )),
        );

    // Restored from the system backup: the table just before the deletion, indexes rebuilt.
    ok(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "FromSystem", "BackupArn": backup_arn}),
    )
    .await;
    assert_eq!(snapshot(addr, "FromSystem").await, before_deletion);

    // To a point in time, by the deleted table's ARN.
    let restored = ok(
        addr,
        "RestoreTableToPointInTime",
        json!({"SourceTableArn": arn, "TargetTableName": "AtFirst",
               "RestoreDateTime": T0 as f64 / 1000.0}),
    )
    .await;
    let restore_summary = &restored["TableDescription"]["RestoreSummary"];
    assert_eq!(restore_summary["SourceTableArn"], arn.as_str());
    assert!(restore_summary.get("SourceBackupArn").is_none());
    assert_eq!(snapshot(addr, "AtFirst").await, at_first);
    ok(
        addr,
        "RestoreTableToPointInTime",
        json!({"SourceTableArn": arn, "TargetTableName": "Latest",
               "UseLatestRestorableTime": true}),
    )
    .await;
    assert_eq!(snapshot(addr, "Latest").await, before_deletion);

    // After the deletion there is nothing to restore to.
    let late = call(
        addr,
        "RestoreTableToPointInTime",
        json!({"SourceTableArn": arn, "TargetTableName": "TooLate",
               "RestoreDateTime": (deleted_at + 1000) as f64 / 1000.0}),
    )
    .await;
    late.assert_error(
        INVALID_TIME,
        Some(
            "RestoreDateTime '2026-01-01T00:00:03Z' must be within EarliestRestorableDateTime \
             '2026-01-01T00:00:00Z' and LatestRestorableDateTime '2026-01-01T00:00:02Z'",
        ),
    );
    // A table name addresses live tables only.
    let by_name = call(
        addr,
        "RestoreTableToPointInTime",
        json!({"SourceTableName": "Gone", "TargetTableName": "ByName",
               "UseLatestRestorableTime": true}),
    )
    .await;
    by_name.assert_error(TABLE_NOT_FOUND, Some("Table not found: Gone"));

    // Once the recovery period has passed since the deletion, all of it is gone.
    clock.advance(2 * DAY);
    assert!(system_backups(addr, Some("SYSTEM")).await.is_empty());
    let expired = call(
        addr,
        "RestoreTableToPointInTime",
        json!({"SourceTableArn": arn, "TargetTableName": "Expired",
               "UseLatestRestorableTime": true}),
    )
    .await;
    // Named by its ARN, the table is not named back (DDB-TABLE-447).
    expired.assert_error(TABLE_NOT_FOUND, Some("Table not found"));
    let gone = call(addr, "DescribeBackup", json!({"BackupArn": backup_arn})).await;
    assert_eq!(gone.status, 400);
    assert_eq!(
        gone.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#BackupNotFoundException"
    );
}

#[tokio::test]
async fn a_table_without_point_in_time_recovery_leaves_no_system_backup() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    indexed_table(addr, "Plain").await;
    put_row(addr, "Plain", 1).await;
    ok(addr, "DeleteTable", json!({"TableName": "Plain"})).await;
    assert!(system_backups(addr, Some("ALL")).await.is_empty());
}
