//! WarmThroughput: the defaults DescribeTable reports for tables and global indexes, CreateTable
//! and UpdateTable pre-warms (UPDATING for the create delay, the table staying ACTIVE),
//! DynamoDB's refusals with its texts, and the value across a durable restart.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    KeySchemaElement, KeyType, Projection, ProjectionType, ProvisionedThroughput,
    ScalarAttributeType, TableDescription, UpdateGlobalSecondaryIndexAction, WarmThroughput,
};
use aws_sdk_dynamodb::Client;
use binderdb_engine::{Config, ManualClock};
use serde_json::json;

use crate::common::{call, test_store, TestServer, VALIDATION};

pub(crate) const DELAY: u64 = 60_000;
const START: u64 = 1_700_000_000_000;

pub(crate) async fn clocked() -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let config = Config {
        create_delay_ms: DELAY,
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    (server, clock)
}

/// A server whose every table is throttled (`--throttling`), on a manual clock at the same
/// start as [`clocked`], without a create delay.
pub(crate) async fn clocked_throttled() -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let config = Config {
        throttling: true,
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    (server, clock)
}

pub(crate) fn warm(read: Option<i64>, write: Option<i64>) -> WarmThroughput {
    WarmThroughput::builder()
        .set_read_units_per_second(read)
        .set_write_units_per_second(write)
        .build()
}

pub(crate) fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

pub(crate) fn hash(name: &str) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(KeyType::Hash)
        .build()
        .unwrap()
}

pub(crate) fn throughput(read: i64, write: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()
        .unwrap()
}

/// A GSI `gsi` on attribute `gk`, with `throughput` on a provisioned table.
fn gsi(
    throughput: Option<ProvisionedThroughput>,
    warm: Option<WarmThroughput>,
) -> GlobalSecondaryIndex {
    named_gsi("gsi", throughput, warm)
}

/// A GSI `name` on attribute `gk`, with `throughput` on a provisioned table.
pub(crate) fn named_gsi(
    name: &str,
    throughput: Option<ProvisionedThroughput>,
    warm: Option<WarmThroughput>,
) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(hash("gk"))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .set_provisioned_throughput(throughput)
        .set_warm_throughput(warm)
        .build()
        .unwrap()
}

/// A GSI `Update` action giving `index` the provisioned throughput `read` / `write`.
pub(crate) fn index_throughput(index: &str, read: i64, write: i64) -> GlobalSecondaryIndexUpdate {
    GlobalSecondaryIndexUpdate::builder()
        .update(
            UpdateGlobalSecondaryIndexAction::builder()
                .index_name(index)
                .provisioned_throughput(throughput(read, write))
                .build()
                .unwrap(),
        )
        .build()
}

/// A GSI `Update` action pre-warming `index`.
pub(crate) fn prewarm_index(index: &str, w: WarmThroughput) -> GlobalSecondaryIndexUpdate {
    GlobalSecondaryIndexUpdate::builder()
        .update(
            UpdateGlobalSecondaryIndexAction::builder()
                .index_name(index)
                .warm_throughput(w)
                .build()
                .unwrap(),
        )
        .build()
}

/// A billing change, a provisioned throughput change, and the warm throughput after them.
type Step = (Option<BillingMode>, Option<(i64, i64)>, (i64, i64));

/// (read, write, status) of a table's WarmThroughput.
pub(crate) fn table_warm(d: &TableDescription) -> Option<(i64, i64, String)> {
    d.warm_throughput().map(|w| {
        (
            w.read_units_per_second().unwrap_or_default(),
            w.write_units_per_second().unwrap_or_default(),
            w.status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        )
    })
}

/// (read, write, status) of the WarmThroughput of GSI `gsi`.
fn index_warm(d: &TableDescription) -> Option<(i64, i64, String)> {
    named_index_warm(d, "gsi")
}

/// (read, write, status) of the WarmThroughput of GSI `name`.
pub(crate) fn named_index_warm(d: &TableDescription, name: &str) -> Option<(i64, i64, String)> {
    let index = d
        .global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some(name))?;
    index.warm_throughput().map(|w| {
        (
            w.read_units_per_second().unwrap_or_default(),
            w.write_units_per_second().unwrap_or_default(),
            w.status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        )
    })
}

pub(crate) fn expect(read: i64, write: i64, status: &str) -> Option<(i64, i64, String)> {
    Some((read, write, status.to_owned()))
}

pub(crate) async fn describe(client: &Client, table: &str) -> TableDescription {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
}

/// An on-demand table `name` (key `id`) with GSI `gsi`, optionally pre-warmed at creation.
pub(crate) async fn on_demand_table(
    client: &Client,
    name: &str,
    table: Option<WarmThroughput>,
    index: Option<WarmThroughput>,
) -> TableDescription {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("id"))
        .attribute_definitions(attr("gk"))
        .key_schema(hash("id"))
        .global_secondary_indexes(gsi(None, index))
        .set_warm_throughput(table)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

/// A provisioned 5/7 table `name` (key `id`) with GSI `gsi` on `gk`, provisioned 3/4.
pub(crate) async fn provisioned_table(client: &Client, name: &str) -> TableDescription {
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("id"))
        .attribute_definitions(attr("gk"))
        .key_schema(hash("id"))
        .provisioned_throughput(throughput(5, 7))
        .global_secondary_indexes(gsi(Some(throughput(3, 4)), None))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

#[tokio::test]
async fn every_table_and_index_reports_the_default_of_its_billing_mode() {
    let (server, clock) = clocked().await;
    let client = server.client();
    // DynamoDB's CreateTable answer names no WarmThroughput unless the request gave one.
    let created = on_demand_table(&client, "OnDemand", None, None).await;
    assert_eq!(table_warm(&created), None);
    assert_eq!(index_warm(&created), None);
    let created = provisioned_table(&client, "Provisioned").await;
    assert_eq!(table_warm(&created), None);
    clock.advance(DELAY);

    let d = describe(&client, "OnDemand").await;
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    let d = describe(&client, "Provisioned").await;
    assert_eq!(table_warm(&d), expect(5, 7, "ACTIVE"));
    assert_eq!(index_warm(&d), expect(3, 4, "ACTIVE"));

    // It follows the highest throughput ever provisioned and never decreases: up to 10/10,
    // back down to 2/2, then on-demand (12000/4000), then provisioned 1/1 again.
    let steps: [Step; 4] = [
        (None, Some((10, 10)), (10, 10)),
        (None, Some((2, 2)), (10, 10)),
        (Some(BillingMode::PayPerRequest), None, (12_000, 4_000)),
        (
            Some(BillingMode::Provisioned),
            Some((1, 1)),
            (12_000, 4_000),
        ),
    ];
    for (billing, provisioned, (read, write)) in steps {
        let mut update = client
            .update_table()
            .table_name("Provisioned")
            .set_billing_mode(billing.clone())
            .set_provisioned_throughput(provisioned.map(|(r, w)| throughput(r, w)));
        if billing == Some(BillingMode::Provisioned) {
            update = update.global_secondary_index_updates(index_throughput("gsi", 1, 1));
        }
        update.send().await.unwrap();
        clock.advance(DELAY);
        let d = describe(&client, "Provisioned").await;
        assert_eq!(
            table_warm(&d),
            expect(read, write, "ACTIVE"),
            "{billing:?} {provisioned:?}"
        );
    }
    // The index went the same way: 3/4, on-demand 12000/4000, then 1/1 kept 12000/4000.
    let d = describe(&client, "Provisioned").await;
    assert_eq!(index_warm(&d), expect(12_000, 4_000, "ACTIVE"));
}

#[tokio::test]
async fn create_table_prewarms_and_refuses_values_below_the_default() {
    let (server, clock) = clocked().await;
    let client = server.client();
    // One member given: the other keeps the default.
    let created = on_demand_table(
        &client,
        "Warm",
        Some(warm(Some(13_000), None)),
        Some(warm(None, Some(5_000))),
    )
    .await;
    // The CreateTable answer names the table's configured value, never an index's.
    assert_eq!(table_warm(&created), expect(13_000, 4_000, "UPDATING"));
    assert_eq!(index_warm(&created), None);
    let d = describe(&client, "Warm").await;
    assert_eq!(index_warm(&d), expect(12_000, 5_000, "UPDATING"));
    clock.advance(DELAY);
    let d = describe(&client, "Warm").await;
    assert_eq!(d.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(table_warm(&d), expect(13_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d), expect(12_000, 5_000, "ACTIVE"));

    let definitions = json!([{"AttributeName": "id", "AttributeType": "S"},
                             {"AttributeName": "gk", "AttributeType": "S"}]);
    let index = |warm: serde_json::Value, throughput: Option<serde_json::Value>| {
        let mut g = json!({"IndexName": "gsi", "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                           "Projection": {"ProjectionType": "ALL"}, "WarmThroughput": warm});
        if let Some(t) = throughput {
            g["ProvisionedThroughput"] = t;
        }
        g
    };
    let on_demand_floor = "One or more parameter values were invalid: Requested {} for \
        WarmThroughput for {} is lower than initial throughput for OnDemand. See: \
        https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html#on-demand-capacity-mode-initial";
    let cases = [
        (
            json!({"TableName": "Low", "BillingMode": "PAY_PER_REQUEST",
                   "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                   "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                   "WarmThroughput": {"ReadUnitsPerSecond": 1, "WriteUnitsPerSecond": 1}}),
            on_demand_floor
                .replacen("{}", "ReadUnitsPerSecond", 1)
                .replacen("{}", "table", 1),
        ),
        (
            json!({"TableName": "Low", "BillingMode": "PAY_PER_REQUEST",
                   "AttributeDefinitions": definitions,
                   "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                   "GlobalSecondaryIndexes": [index(json!({"WriteUnitsPerSecond": 0}), None)]}),
            on_demand_floor
                .replacen("{}", "WriteUnitsPerSecond", 1)
                .replacen("{}", "index gsi", 1),
        ),
        (
            json!({"TableName": "Low",
                   "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                   "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                   "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
                   "WarmThroughput": {"ReadUnitsPerSecond": 5, "WriteUnitsPerSecond": 5}}),
            "One or more parameter values were invalid: Requested ReadUnitsPerSecond for \
             WarmThroughput for table is lower than ReadCapacityUnits of ProvisionedThroughput"
                .to_owned(),
        ),
    ];
    for (request, message) in cases {
        call(server.addr, "CreateTable", request)
            .await
            .assert_error(VALIDATION, Some(&message));
    }
    // An empty WarmThroughput asks for nothing, and is accepted.
    let res = call(
        server.addr,
        "CreateTable",
        json!({"TableName": "Empty", "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
               "WarmThroughput": {}}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(res.json()["TableDescription"]
        .get("WarmThroughput")
        .is_none());
}

#[tokio::test]
async fn update_table_prewarms_while_the_table_stays_active() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Pre", None, None).await;
    clock.advance(DELAY);

    let out = client
        .update_table()
        .table_name("Pre")
        .warm_throughput(warm(Some(20_000), Some(8_000)))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    // The old values, UPDATING, with the table ACTIVE; the new ones once settled.
    assert_eq!(out.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(table_warm(&out), expect(12_000, 4_000, "UPDATING"));
    let d = describe(&client, "Pre").await;
    assert_eq!(d.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "UPDATING"));
    // Below a pre-warm still in flight is accepted, and replaces it.
    client
        .update_table()
        .table_name("Pre")
        .warm_throughput(warm(Some(15_000), None))
        .send()
        .await
        .unwrap();
    clock.advance(DELAY);
    let d = describe(&client, "Pre").await;
    assert_eq!(table_warm(&d), expect(15_000, 8_000, "ACTIVE"));

    // Below the settled value is refused, for either member.
    let decrease = "One or more parameter values were invalid: Requested {} for WarmThroughput \
                    for {} is lower than current WarmThroughput, decreasing WarmThroughput is not \
                    supported";
    for (w, member) in [
        (json!({"ReadUnitsPerSecond": 14_999}), "ReadUnitsPerSecond"),
        (
            json!({"ReadUnitsPerSecond": 15_000, "WriteUnitsPerSecond": 0}),
            "WriteUnitsPerSecond",
        ),
    ] {
        call(
            server.addr,
            "UpdateTable",
            json!({"TableName": "Pre", "WarmThroughput": w}),
        )
        .await
        .assert_error(
            VALIDATION,
            Some(
                &decrease
                    .replacen("{}", member, 1)
                    .replacen("{}", "table", 1),
            ),
        );
    }
    // Nothing else may change in the same request (an empty WarmThroughput: see
    // warm_throughput_edges.rs); next to DeletionProtectionEnabled, DynamoDB names the latter
    // (DDB-TABLE-433).
    call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Pre", "WarmThroughput": {"ReadUnitsPerSecond": 16_000},
               "DeletionProtectionEnabled": true}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("One or more parameter values were invalid: DeletionProtection modification must be the only operation in the request"),
    );
    call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Pre", "WarmThroughput": {"ReadUnitsPerSecond": 16_000},
               "AttributeDefinitions": [{"AttributeName": "x", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byX",
                   "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"}}}]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("One or more parameter values were invalid: Create global secondary index cannot be specified when updating WarmThroughput"),
    );
}

#[tokio::test]
async fn a_global_index_is_prewarmed_through_its_update_action() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Idx", None, None).await;
    clock.advance(DELAY);
    let update = |w: WarmThroughput| prewarm_index("gsi", w);
    // On an on-demand table WarmThroughput alone is a valid update of an index.
    let out = client
        .update_table()
        .table_name("Idx")
        .global_secondary_index_updates(update(warm(Some(12_002), None)))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(out.table_status().unwrap().as_str(), "ACTIVE");
    let index = &out.global_secondary_indexes()[0];
    assert_eq!(index.index_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(index_warm(&out), expect(12_000, 4_000, "UPDATING"));
    clock.advance(DELAY);
    let d = describe(&client, "Idx").await;
    assert_eq!(index_warm(&d), expect(12_002, 4_000, "ACTIVE"));
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));

    let gsi_update = |w: serde_json::Value| {
        json!({"TableName": "Idx", "GlobalSecondaryIndexUpdates": [
            {"Update": {"IndexName": "gsi", "WarmThroughput": w}}]})
    };
    call(
        server.addr,
        "UpdateTable",
        gsi_update(json!({"ReadUnitsPerSecond": 100})),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: Requested ReadUnitsPerSecond for \
                  WarmThroughput for index gsi is lower than current WarmThroughput, decreasing \
                  WarmThroughput is not supported",
        ),
    );
    // An index created online may be pre-warmed by its Create action.
    let out = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Idx",
               "AttributeDefinitions": [{"AttributeName": "other", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "online",
                   "KeySchema": [{"AttributeName": "other", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"},
                   "WarmThroughput": {"ReadUnitsPerSecond": 13_000}}}]}),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.json());
    let online = out.json()["TableDescription"]["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["IndexName"] == "online")
        .cloned()
        .unwrap();
    assert_eq!(
        online["WarmThroughput"],
        json!({"ReadUnitsPerSecond": 13_000, "WriteUnitsPerSecond": 4_000, "Status": "UPDATING"})
    );
    call(server.addr, "UpdateTable", gsi_update(json!({})))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "One or more parameter values were invalid: WarmThroughput must have at least \
                  one of ReadUnitsPerSecond or WriteUnitsPerSecond specified for index: gsi",
            ),
        );
}

#[tokio::test]
async fn warm_throughput_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    on_demand_table(&client, "Kept", Some(warm(Some(30_000), None)), None).await;
    client
        .update_table()
        .table_name("Kept")
        .warm_throughput(warm(None, Some(9_000)))
        .send()
        .await
        .unwrap();
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let d = describe(&server.client(), "Kept").await;
    assert_eq!(table_warm(&d), expect(30_000, 9_000, "ACTIVE"));
    assert_eq!(index_warm(&d), expect(12_000, 4_000, "ACTIVE"));
}

#[tokio::test]
async fn a_restored_table_starts_from_the_defaults() {
    let server = TestServer::memory().await;
    let client = server.client();
    on_demand_table(
        &client,
        "Source",
        Some(warm(Some(20_000), None)),
        Some(warm(None, Some(6_000))),
    )
    .await;
    client
        .update_contributor_insights()
        .table_name("Source")
        .contributor_insights_action(aws_sdk_dynamodb::types::ContributorInsightsAction::Enable)
        .send()
        .await
        .unwrap();
    let backup = client
        .create_backup()
        .table_name("Source")
        .backup_name("before-restore")
        .send()
        .await
        .unwrap()
        .backup_details
        .unwrap()
        .backup_arn;
    client
        .restore_table_from_backup()
        .target_table_name("Restored")
        .backup_arn(backup)
        .send()
        .await
        .unwrap();
    let d = describe(&client, "Restored").await;
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    let insights = client
        .describe_contributor_insights()
        .table_name("Restored")
        .send()
        .await
        .unwrap();
    assert_eq!(
        insights.contributor_insights_status().unwrap().as_str(),
        "DISABLED"
    );
    assert!(insights.contributor_insights_mode().is_none());
    // The source keeps both.
    let d = describe(&client, "Source").await;
    assert_eq!(table_warm(&d), expect(20_000, 4_000, "ACTIVE"));
}
