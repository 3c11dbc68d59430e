//! On-demand backups: a restore equals the table at backup time, indexes included (writes after
//! the backup are not in it); backups survive DeleteTable and a restart; ListBackups' filters
//! and pages; statuses (CREATING → AVAILABLE, the restored table's RestoreSummary, its name
//! "being used" meanwhile); overrides; and the errors with DynamoDB's types.

use std::sync::Arc;

use aws_sdk_dynamodb::types::BackupStatus;
use binderdb_engine::{Config, ManualClock};
use serde_json::{json, Value};

use crate::common::*;
use crate::indexes_ddl::{
    all, create_indexed, describe, include, index, keys_only, ok, scan_index,
};

const BACKUP_NOT_FOUND: &str = "com.amazonaws.dynamodb.v20120810#BackupNotFoundException";
const BACKUP_IN_USE: &str = "com.amazonaws.dynamodb.v20120810#BackupInUseException";

/// An error answer's `__type`, whatever its message.
trait ErrorType {
    fn assert_type(&self, error_type: &str);
}

impl ErrorType for RawResponse {
    fn assert_type(&self, error_type: &str) {
        assert_eq!(
            self.status,
            400,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.json()["__type"], error_type);
    }
}

/// Table `name`: `pk`/`sk` (S); LSI `byRank` on `rank` (N, ALL); GSI `byTeam` on `team` (S) +
/// `score` (N), INCLUDE `tag`.
pub async fn indexed_table(addr: std::net::SocketAddr, name: &str) {
    create_indexed(
        addr,
        name,
        &[("team", "S"), ("score", "N"), ("rank", "N")],
        json!([index("byRank", &[("pk", "HASH"), ("rank", "RANGE")], all())]),
        json!([index(
            "byTeam",
            &[("team", "HASH"), ("score", "RANGE")],
            include(&["tag"])
        )]),
    )
    .await;
}

pub async fn put_row(addr: std::net::SocketAddr, table: &str, i: u32) {
    ok(
        addr,
        "PutItem",
        json!({"TableName": table, "Item": {
            "pk": {"S": format!("p{}", i % 7)}, "sk": {"S": format!("s{i:03}")},
            "team": {"S": format!("t{}", i % 3)}, "score": {"N": (i * 13 % 50).to_string()},
            "rank": {"N": i.to_string()}, "tag": {"S": format!("tag{i}")},
            "other": {"S": "x".repeat(i as usize % 20)}
        }}),
    )
    .await;
}

/// Every item of `table` (or of one of its indexes), sorted, for comparisons.
pub async fn contents(addr: std::net::SocketAddr, table: &str, idx: Option<&str>) -> Vec<String> {
    let items = match idx {
        Some(i) => scan_index(addr, table, i).await,
        None => {
            let mut items = Vec::new();
            let mut start: Option<Value> = None;
            loop {
                let mut body = json!({"TableName": table});
                if let Some(s) = start.take() {
                    body["ExclusiveStartKey"] = s;
                }
                let out = ok(addr, "Scan", body).await;
                items.extend(out["Items"].as_array().unwrap().iter().cloned());
                match out.get("LastEvaluatedKey") {
                    Some(k) => start = Some(k.clone()),
                    None => break items,
                }
            }
        }
    };
    let mut texts: Vec<String> = items.iter().map(Value::to_string).collect();
    texts.sort();
    texts
}

#[tokio::test]
async fn restore_equals_the_table_at_backup_time_with_its_indexes() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let client = server.client();
    indexed_table(addr, "Scores").await;
    for i in 0..60 {
        put_row(addr, "Scores", i).await;
    }
    let table_before = contents(addr, "Scores", None).await;
    let gsi_before = contents(addr, "Scores", Some("byTeam")).await;
    let lsi_before = contents(addr, "Scores", Some("byRank")).await;

    let created = client
        .create_backup()
        .table_name("Scores")
        .backup_name("nightly")
        .send()
        .await
        .unwrap();
    let details = created.backup_details().unwrap();
    assert_eq!(details.backup_status(), &BackupStatus::Creating);
    assert_eq!(details.backup_name(), "nightly");
    let arn = details.backup_arn().to_owned();
    assert!(
        arn.starts_with("arn:aws:dynamodb:us-east-1:000000000000:table/Scores/backup/"),
        "{arn}"
    );

    // Writes after the backup: a new item, a changed one (moving its index entries), a
    // deleted one. None of them may appear in the restore.
    put_row(addr, "Scores", 100).await;
    ok(
        addr,
        "UpdateItem",
        json!({"TableName": "Scores", "Key": {"pk": {"S": "p1"}, "sk": {"S": "s001"}},
               "UpdateExpression": "SET team = :t, score = :s",
               "ExpressionAttributeValues": {":t": {"S": "zz"}, ":s": {"N": "99"}}}),
    )
    .await;
    ok(
        addr,
        "DeleteItem",
        json!({"TableName": "Scores", "Key": {"pk": {"S": "p2"}, "sk": {"S": "s002"}}}),
    )
    .await;

    let described = client
        .describe_backup()
        .backup_arn(&arn)
        .send()
        .await
        .unwrap();
    let description = described.backup_description().unwrap();
    let details = description.backup_details().unwrap();
    assert_eq!(details.backup_status(), &BackupStatus::Available);
    let source = description.source_table_details().unwrap();
    assert_eq!(source.table_name(), "Scores");
    assert_eq!(source.item_count(), Some(60));
    assert!(details.backup_size_bytes().unwrap() > 0);
    let features = description.source_table_feature_details().unwrap();
    assert_eq!(features.global_secondary_indexes().len(), 1);
    assert_eq!(features.local_secondary_indexes().len(), 1);

    let restored = ok(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "Restored", "BackupArn": arn}),
    )
    .await["TableDescription"]
        .clone();
    assert_eq!(restored["TableStatus"], "CREATING");
    assert_eq!(restored["RestoreSummary"]["SourceBackupArn"], arn.as_str());
    assert_eq!(restored["RestoreSummary"]["RestoreInProgress"], true);

    let table = describe(addr, "Restored").await;
    assert_eq!(table["TableStatus"], "ACTIVE");
    assert_eq!(table["ItemCount"], 60);
    // RestoreSummary is gone once the table is ACTIVE (DDB-TABLE-216); the CREATING answer
    // named the source.
    assert!(table.get("RestoreSummary").is_none(), "{table}");
    assert_eq!(
        restored["RestoreSummary"]["SourceTableArn"],
        "arn:aws:dynamodb:us-east-1:000000000000:table/Scores"
    );
    assert_eq!(table["GlobalSecondaryIndexes"][0]["IndexStatus"], "ACTIVE");
    assert_eq!(
        table["GlobalSecondaryIndexes"][0]["ItemCount"],
        gsi_before.len()
    );
    assert_eq!(
        table["LocalSecondaryIndexes"][0]["ItemCount"],
        lsi_before.len()
    );
    assert_eq!(contents(addr, "Restored", None).await, table_before);
    assert_eq!(contents(addr, "Restored", Some("byTeam")).await, gsi_before);
    assert_eq!(contents(addr, "Restored", Some("byRank")).await, lsi_before);
    // The source went on: it differs from its backup.
    assert_ne!(contents(addr, "Scores", None).await, table_before);

    // The restored table is an ordinary table: its indexes are maintained by writes.
    put_row(addr, "Restored", 200).await;
    let q = ok(
        addr,
        "Query",
        json!({"TableName": "Restored", "IndexName": "byTeam",
               "KeyConditionExpression": "team = :t AND score = :s",
               "ExpressionAttributeValues": {":t": {"S": "t2"}, ":s": {"N": (200 * 13 % 50).to_string()}}}),
    )
    .await;
    assert!(q["Items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["tag"]["S"] == "tag200"));
}

#[tokio::test]
async fn a_backup_survives_delete_table_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let addr = server.addr;
    indexed_table(addr, "Gone").await;
    for i in 0..25 {
        put_row(addr, "Gone", i).await;
    }
    let before = contents(addr, "Gone", None).await;
    let gsi_before = contents(addr, "Gone", Some("byTeam")).await;
    let arn = ok(
        addr,
        "CreateBackup",
        json!({"TableName": "Gone", "BackupName": "keep-me"}),
    )
    .await["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(addr, "DeleteTable", json!({"TableName": "Gone"})).await;
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let addr = server.addr;
    let listed = ok(addr, "ListBackups", json!({})).await;
    assert_eq!(listed["BackupSummaries"][0]["BackupArn"], arn.as_str());
    assert_eq!(listed["BackupSummaries"][0]["BackupStatus"], "AVAILABLE");
    // Restored under the deleted table's own name.
    ok(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "Gone", "BackupArn": arn}),
    )
    .await;
    assert_eq!(contents(addr, "Gone", None).await, before);
    assert_eq!(contents(addr, "Gone", Some("byTeam")).await, gsi_before);
    server.stop().await;
}

#[tokio::test]
async fn list_backups_filters_by_table_time_and_type_and_pages() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let server = TestServer::with_clock(test_store(), Config::default(), clock.clone()).await;
    let addr = server.addr;
    let client = server.client();
    for name in ["Alpha", "Beta"] {
        create_table(
            &client,
            name,
            ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
            None,
        )
        .await;
    }
    let mut arns = Vec::new();
    for (table, backup) in [
        ("Alpha", "bk-a1"),
        ("Beta", "bk-b1"),
        ("Alpha", "bk-a2"),
        ("Alpha", "bk-a3"),
    ] {
        clock.advance(10_000);
        let out = ok(
            addr,
            "CreateBackup",
            json!({"TableName": table, "BackupName": backup}),
        )
        .await;
        arns.push(
            out["BackupDetails"]["BackupArn"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let names = |out: &Value| -> Vec<String> {
        out["BackupSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["BackupName"].as_str().unwrap().to_owned())
            .collect()
    };
    let everything = ok(addr, "ListBackups", json!({})).await;
    assert_eq!(names(&everything), ["bk-a1", "bk-a2", "bk-a3", "bk-b1"]);
    assert!(everything.get("LastEvaluatedBackupArn").is_none());
    let alpha = ok(addr, "ListBackups", json!({"TableName": "Alpha"})).await;
    assert_eq!(names(&alpha), ["bk-a1", "bk-a2", "bk-a3"]);
    assert_eq!(alpha["BackupSummaries"][0]["BackupType"], "USER");
    assert_eq!(alpha["BackupSummaries"][0]["TableName"], "Alpha");

    // Lower bound inclusive, upper bound exclusive: a2 was made at +30 s, a3 at +40 s.
    let start = 1_700_000_000.0;
    let window = ok(
        addr,
        "ListBackups",
        json!({"TableName": "Alpha", "TimeRangeLowerBound": start + 30.0,
               "TimeRangeUpperBound": start + 40.0}),
    )
    .await;
    assert_eq!(names(&window), ["bk-a2"]);

    for kind in ["SYSTEM", "AWS_BACKUP"] {
        let none = ok(addr, "ListBackups", json!({"BackupType": kind})).await;
        assert!(names(&none).is_empty());
    }
    assert_eq!(
        names(&ok(addr, "ListBackups", json!({"BackupType": "ALL"})).await).len(),
        4
    );

    // Pages of one, resumed by ExclusiveStartBackupArn.
    let mut seen = Vec::new();
    let mut start_arn: Option<String> = None;
    loop {
        let mut body = json!({"Limit": 1});
        if let Some(a) = start_arn.take() {
            body["ExclusiveStartBackupArn"] = json!(a);
        }
        let page = ok(addr, "ListBackups", body).await;
        seen.extend(names(&page));
        match page.get("LastEvaluatedBackupArn") {
            Some(a) => start_arn = Some(a.as_str().unwrap().to_owned()),
            None => break,
        }
        assert!(seen.len() <= 4, "pagination does not end");
    }
    assert_eq!(seen, ["bk-a1", "bk-a2", "bk-a3", "bk-b1"]);

    // The SDK's paginator agrees.
    let summaries = client
        .list_backups()
        .table_name("Beta")
        .send()
        .await
        .unwrap();
    assert_eq!(summaries.backup_summaries().len(), 1);
    assert_eq!(
        summaries.backup_summaries()[0].backup_arn(),
        Some(arns[1].as_str())
    );
}

#[tokio::test]
async fn backup_status_follows_the_create_delay() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let config = Config {
        create_delay_ms: 5_000,
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    let addr = server.addr;
    ok(
        addr,
        "CreateTable",
        json!({
        "TableName": "Slow", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}),
    )
    .await;
    clock.advance(5_000);
    let arn = ok(
        addr,
        "CreateBackup",
        json!({"TableName": "Slow", "BackupName": "bk-b1"}),
    )
    .await["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = |v: Value| v["BackupDescription"]["BackupDetails"]["BackupStatus"].clone();
    assert_eq!(
        status(ok(addr, "DescribeBackup", json!({"BackupArn": arn})).await),
        "CREATING"
    );
    call(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "Copy", "BackupArn": arn}),
    )
    .await
    .assert_type(BACKUP_IN_USE);
    call(addr, "DeleteBackup", json!({"BackupArn": arn}))
        .await
        .assert_type(BACKUP_IN_USE);
    clock.advance(5_000);
    assert_eq!(
        status(ok(addr, "DescribeBackup", json!({"BackupArn": arn})).await),
        "AVAILABLE"
    );
    let restored = ok(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "Copy", "BackupArn": arn}),
    )
    .await;
    assert_eq!(restored["TableDescription"]["TableStatus"], "CREATING");
    assert_eq!(
        describe(addr, "Copy").await["RestoreSummary"]["RestoreInProgress"],
        true
    );
    // CreateTable of the name meanwhile: "being used", not "already exists" (DDB-TABLE-219).
    let client = server.client();
    let create_copy = || {
        client
            .create_table()
            .table_name("Copy")
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .attribute_definitions(crate::warm_throughput::attr("pk"))
            .key_schema(crate::warm_throughput::hash("pk"))
            .send()
    };
    assert_eq!(
        error_parts(create_copy().await.unwrap_err()),
        (
            "ResourceInUseException".to_owned(),
            "Attempt to change a resource which is still in use: Table is being used: Copy"
                .to_owned()
        )
    );
    // Another restore into it meanwhile: TableInUseException naming the backup being restored
    // (DDB-TABLE-219); once it is ACTIVE, TableAlreadyExistsException.
    let restore_copy = || {
        client
            .restore_table_from_backup()
            .backup_arn(&arn)
            .target_table_name("Copy")
            .send()
    };
    assert_eq!(
        error_parts(restore_copy().await.unwrap_err()),
        (
            "TableInUseException".to_owned(),
            format!("Table: Copy is already being restored from backup: {arn}")
        )
    );
    clock.advance(5_000);
    assert_eq!(
        error_parts(restore_copy().await.unwrap_err()),
        (
            "TableAlreadyExistsException".to_owned(),
            "Table already exists: Copy".to_owned()
        )
    );
    let table = describe(addr, "Copy").await;
    assert_eq!(table["TableStatus"], "ACTIVE");
    // Gone once the table is ACTIVE (DDB-TABLE-216).
    assert!(table.get("RestoreSummary").is_none(), "{table}");
    assert_eq!(
        error_parts(create_copy().await.unwrap_err()),
        (
            "ResourceInUseException".to_owned(),
            "Table already exists: Copy".to_owned()
        )
    );
}

#[tokio::test]
async fn restore_overrides_billing_and_indexes() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    indexed_table(addr, "Src").await;
    for i in 0..10 {
        put_row(addr, "Src", i).await;
    }
    let arn = ok(
        addr,
        "CreateBackup",
        json!({"TableName": "Src", "BackupName": "bkp"}),
    )
    .await["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();

    // An override restores one of the source's indexes, under another name if it likes, never
    // a new one (DDB-TABLE-273, 280).
    call(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "NewIndex", "BackupArn": arn,
               "LocalSecondaryIndexOverride": [
                   index("byScore", &[("pk", "HASH"), ("score", "RANGE")], keys_only())]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "Invalid Request: Index byScore does not match a secondary index that existed in \
             the source table and cannot be created during the restore operation",
        ),
    );
    // Provisioned, without the GSI, with the LSI renamed.
    let out = ok(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "Prov", "BackupArn": arn,
               "BillingModeOverride": "PROVISIONED",
               "ProvisionedThroughputOverride": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
               "GlobalSecondaryIndexOverride": [],
               "LocalSecondaryIndexOverride": [
                   index("byScore", &[("pk", "HASH"), ("rank", "RANGE")], all())]}),
    )
    .await["TableDescription"]
        .clone();
    // A new table, provisioned since its creation: no BillingModeSummary, as a table created
    // provisioned has none (DDB-TABLE-025; a restore's was not observed).
    assert!(out.get("BillingModeSummary").is_none());
    assert_eq!(out["ProvisionedThroughput"]["ReadCapacityUnits"], 7);
    assert!(out.get("GlobalSecondaryIndexes").is_none());
    assert_eq!(out["LocalSecondaryIndexes"][0]["IndexName"], "byScore");
    assert_eq!(contents(addr, "Prov", Some("byScore")).await.len(), 10);
    let scores = ok(
        addr,
        "Query",
        json!({"TableName": "Prov", "IndexName": "byScore",
               "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p0"}}}),
    )
    .await;
    assert_eq!(scores["Count"], 2);

    // PROVISIONED from an on-demand source needs a throughput; a throughput needs PROVISIONED
    // (DDB-TABLE-273).
    for (body, message) in [
        (
            json!({"BillingModeOverride": "PROVISIONED"}),
            "Invalid Request: Must override ProvisionedThroughput if BillingMode is overridden \
             to PROVISIONED",
        ),
        (
            json!({"ProvisionedThroughputOverride":
                {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
            "Invalid Request: Cannot override ProvisionedThroughput unless BillingMode is \
             PROVISIONED",
        ),
        (
            json!({"BillingModeOverride": "PAY_PER_REQUEST", "ProvisionedThroughputOverride":
                {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
            "Invalid Request: Cannot override ProvisionedThroughput if BillingMode is overridden \
             to PAY_PER_REQUEST",
        ),
    ] {
        let mut request = body;
        request["TargetTableName"] = json!("NoThroughput");
        request["BackupArn"] = json!(arn);
        call(addr, "RestoreTableFromBackup", request)
            .await
            .assert_error(VALIDATION, Some(message));
    }
    // An index override is checked like CreateTable's indexes.
    let bad = call(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "BadIndex", "BackupArn": arn,
               "GlobalSecondaryIndexOverride": [
                   index("byNothing", &[("undefined", "HASH")], all())]}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["__type"], VALIDATION);
    call(addr, "DescribeTable", json!({"TableName": "BadIndex"}))
        .await
        .assert_type(NOT_FOUND);
}

#[tokio::test]
async fn backup_errors_carry_dynamodb_types_and_texts() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let client = server.client();
    let missing =
        "arn:aws:dynamodb:us-east-1:000000000000:table/Nope/backup/01700000000000-abcdef12";
    for op in ["DescribeBackup", "DeleteBackup"] {
        call(addr, op, json!({"BackupArn": missing}))
            .await
            .assert_error(
                BACKUP_NOT_FOUND,
                Some(&format!("Backup not found: {missing}")),
            );
    }
    call(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "Tgt", "BackupArn": missing}),
    )
    .await
    .assert_error(
        BACKUP_NOT_FOUND,
        Some(&format!("Backup not found: {missing}")),
    );
    call(
        addr,
        "CreateBackup",
        json!({"TableName": "Nope", "BackupName": "bk-b1"}),
    )
    .await
    .assert_error(
        "com.amazonaws.dynamodb.v20120810#TableNotFoundException",
        Some("Table not found: Nope"),
    );

    create_table(
        &client,
        "Here",
        ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .await;
    let arn = ok(
        addr,
        "CreateBackup",
        json!({"TableName": "Here", "BackupName": "bk-b1"}),
    )
    .await["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        addr,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "Here", "BackupArn": arn}),
    )
    .await
    .assert_error(
        "com.amazonaws.dynamodb.v20120810#TableAlreadyExistsException",
        Some("Table already exists: Here"),
    );
    // Through the SDK too: its typed error.
    let err = client
        .restore_table_from_backup()
        .target_table_name("Here")
        .backup_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_table_already_exists_exception());

    // DeleteBackup answers DELETED, then the backup is gone.
    let deleted = ok(addr, "DeleteBackup", json!({"BackupArn": arn})).await;
    assert_eq!(
        deleted["BackupDescription"]["BackupDetails"]["BackupStatus"],
        "DELETED"
    );
    call(addr, "DescribeBackup", json!({"BackupArn": arn}))
        .await
        .assert_type(BACKUP_NOT_FOUND);

    // Request constraints.
    call(
        addr,
        "CreateBackup",
        json!({"TableName": "Here", "BackupName": "b"}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "1 validation error detected: Value 'b' at 'backupName' failed to satisfy \
                 constraint: Member must have length greater than or equal to 3",
        ),
    );
    call(addr, "CreateBackup", json!({"TableName": "Here"}))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "1 validation error detected: Value null at 'backupName' failed to satisfy \
                 constraint: Member must not be null",
            ),
        );
    call(addr, "ListBackups", json!({"Limit": 0}))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "1 validation error detected: Value '0' at 'limit' failed to satisfy \
                 constraint: Member must have value greater than or equal to 1",
            ),
        );
    call(addr, "ListBackups", json!({"BackupType": "MINE"}))
        .await
        .assert_type(VALIDATION);
    call(addr, "DescribeBackup", json!({"BackupArn": "short"}))
        .await
        .assert_type(VALIDATION);
    call(
        addr,
        "DescribeBackup",
        json!({"BackupArn": ["not", "a", "string"]}),
    )
    .await
    .assert_type(SERIALIZATION);
}

/// A time range whose lower bound is after its upper bound is refused; equal bounds are an
/// empty range, at millisecond precision (DDB-BACKUP-014, text from DDB-TABLE-442). So is a
/// cursor of another region.
#[tokio::test]
async fn list_backups_refuses_a_reversed_time_range_and_another_regions_cursor() {
    let server = TestServer::memory().await;
    let client = server.client();
    let at = |seconds: f64| aws_sdk_dynamodb::primitives::DateTime::from_secs_f64(seconds);
    let err = client
        .list_backups()
        .time_range_lower_bound(at(1_700_000_000.002))
        .time_range_upper_bound(at(1_700_000_000.001))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "One or more parameter values were invalid: Time range lower bound must be less \
             than or equal to upper bound"
                .to_owned()
        )
    );
    let equal = client
        .list_backups()
        .time_range_lower_bound(at(1_700_000_000.0))
        .time_range_upper_bound(at(1_700_000_000.0))
        .send()
        .await
        .unwrap();
    assert!(equal.backup_summaries().is_empty());
    // A cursor from another region's backups (DDB-TABLE-442); any position in this one is fine.
    let elsewhere =
        "arn:aws:dynamodb:eu-west-1:000000000000:table/T/backup/01700000000000-abcdefgh";
    let err = client
        .list_backups()
        .exclusive_start_backup_arn(elsewhere)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Invalid Request: The supplied ExclusiveStartBackupArn does not match the region"
                .to_owned()
        )
    );
    let here = elsewhere.replace("eu-west-1", "us-east-1");
    let resumed = client
        .list_backups()
        .exclusive_start_backup_arn(here)
        .send()
        .await
        .unwrap();
    assert!(resumed.backup_summaries().is_empty());
}

/// A restore's index and on-demand overrides follow the restored table's billing mode, refused
/// in the restores' own words (DDB-TABLE-280, 442).
#[tokio::test]
async fn restore_overrides_follow_the_billing_mode_in_the_restores_words() {
    use aws_sdk_dynamodb::types::{BillingMode, OnDemandThroughput};

    use crate::warm_throughput::{named_gsi, provisioned_table, throughput};

    let server = TestServer::memory().await;
    let client = server.client();
    provisioned_table(&client, "Prov").await;
    let backup = crate::backups::backup_of(&client, "Prov", "bk-prov").await;
    let restore = || {
        client
            .restore_table_from_backup()
            .backup_arn(&backup)
            .target_table_name("Copy")
    };
    let refused = |text: &str| ("ValidationException".to_owned(), text.to_owned());
    let err = restore()
        .global_secondary_index_override(named_gsi("gsi", None, None))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        refused("Invalid Request: Must specify provisioned throughput for index gsi")
    );
    let err = restore()
        .billing_mode_override(BillingMode::PayPerRequest)
        .global_secondary_index_override(named_gsi("gsi", Some(throughput(3, 4)), None))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        refused(
            "Invalid Request: Cannot override ProvisionedThroughput if BillingMode is \
             overridden to PAY_PER_REQUEST for index gsi"
        )
    );
    let on_demand = |read: i64| {
        OnDemandThroughput::builder()
            .max_read_request_units(read)
            .build()
    };
    let err = restore()
        .on_demand_throughput_override(on_demand(100))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        refused(
            "Invalid Request: Cannot override MaxReadRequestUnits for OnDemandThroughput unless \
             BillingModeOverride is PAY_PER_REQUEST"
        )
    );
    let err = restore()
        .billing_mode_override(BillingMode::PayPerRequest)
        .on_demand_throughput_override(on_demand(0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        refused(
            "Invalid Request: Requested MaxReadRequestUnits for OnDemandThroughput is outside \
             of valid range"
        )
    );
    // Nothing was restored; a consistent request is.
    assert!(client
        .describe_table()
        .table_name("Copy")
        .send()
        .await
        .is_err());
    restore()
        .billing_mode_override(BillingMode::PayPerRequest)
        .on_demand_throughput_override(on_demand(100))
        .send()
        .await
        .unwrap();
}

/// A BackupArn that is not a backup's ARN (empty, or a table's) is "Invalid Backup ARN"; a
/// well-formed one naming no backup is BackupNotFoundException (DDB-TABLE-457, 273, 442).
#[tokio::test]
async fn a_backup_arn_must_be_one() {
    let server = TestServer::memory().await;
    let client = server.client();
    let invalid = (
        "ValidationException".to_owned(),
        "Invalid Backup ARN".to_owned(),
    );
    // The SDK does not send an empty BackupArn; a raw request does.
    for op in ["DescribeBackup", "DeleteBackup"] {
        call(server.addr, op, json!({"BackupArn": ""}))
            .await
            .assert_error(VALIDATION, Some("Invalid Backup ARN"));
    }
    let table_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Music";
    for arn in ["arn:aws:dynamodb:us-east-1:000000000000:table", table_arn] {
        let err = client
            .describe_backup()
            .backup_arn(arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_parts(err), invalid, "{arn:?}");
        let err = client
            .delete_backup()
            .backup_arn(arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_parts(err), invalid, "{arn:?}");
        let err = client
            .restore_table_from_backup()
            .backup_arn(arn)
            .target_table_name("Copy")
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_parts(err), invalid, "{arn:?}");
    }
    let missing = format!("{table_arn}/backup/01700000000000-abcdefgh");
    let err = client
        .describe_backup()
        .backup_arn(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "BackupNotFoundException".to_owned(),
            format!("Backup not found: {missing}")
        )
    );
}

/// CreateBackup `name` of `table` through the SDK, which must succeed; the backup's ARN.
pub(crate) async fn backup_of(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    name: &str,
) -> String {
    client
        .create_backup()
        .table_name(table)
        .backup_name(name)
        .send()
        .await
        .unwrap()
        .backup_details
        .unwrap()
        .backup_arn
}
