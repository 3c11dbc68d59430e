//! WarmThroughput's edge cases, as DynamoDB answers them (see `binderdb_engine::warm`): an
//! empty `WarmThroughput` (refused alone, dropped next to other members), pre-warms
//! while the table is UPDATING or a new index's resources are allocated, what DescribeTable
//! reports for an index being created, and the value during a billing-mode or throughput
//! switch.

use aws_sdk_dynamodb::types::{BillingMode, TableDescription};
use serde_json::json;

use crate::common::{call, error_parts, VALIDATION};
use crate::warm_throughput::{
    attr, clocked, describe, expect, hash, index_throughput, named_gsi as gsi,
    named_index_warm as index_warm, on_demand_table, prewarm_index, provisioned_table, table_warm,
    throughput, warm, DELAY,
};

const RESOURCE_IN_USE: &str = "com.amazonaws.dynamodb.v20120810#ResourceInUseException";

fn index_status(d: &TableDescription, name: &str) -> String {
    d.global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some(name))
        .and_then(|i| i.index_status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

fn table_status(d: &TableDescription) -> &str {
    d.table_status().map(|s| s.as_str()).unwrap_or_default()
}

/// The refusal of an UpdateTable that changes nothing (DynamoDB answers the shapes tested with
/// it with a bare HTTP 500, which binderdb never sends a client, see `crate::warm`).
const NOTHING_TO_UPDATE: &str = "At least one of ProvisionedThroughput, BillingMode, \
     UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, \
     MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, \
     DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required";

#[tokio::test]
async fn an_empty_warm_throughput_alone_changes_nothing_and_is_refused() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Empty", None, None).await;
    clock.advance(DELAY);

    // Through the SDK (which sends the empty structure as it is) and on the wire.
    let (code, message) = error_parts(
        client
            .update_table()
            .table_name("Empty")
            .warm_throughput(warm(None, None))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", NOTHING_TO_UPDATE)
    );
    for request in [
        json!({"TableName": "Empty", "WarmThroughput": {}}),
        json!({"TableName": "Empty", "OnDemandThroughput": {}}),
        json!({"TableName": "Empty", "WarmThroughput": {}, "OnDemandThroughput": {}}),
        // AttributeDefinitions alone changes nothing and does not count as a member.
        json!({"TableName": "Empty", "WarmThroughput": {},
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}),
    ] {
        call(server.addr, "UpdateTable", request)
            .await
            .assert_error(VALIDATION, Some(NOTHING_TO_UPDATE));
    }
    // A missing table is looked up first.
    call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Missing", "WarmThroughput": {}}),
    )
    .await
    .assert_error(
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        Some("Requested resource not found: Table: Missing not found"),
    );
    // A pre-warm of an index the table does not have is not found, as any other Update of it;
    // an empty pre-warm of it is answered as before.
    for update in [
        json!({"IndexName": "ghost", "WarmThroughput": {"ReadUnitsPerSecond": 12_001}}),
        json!({"IndexName": "ghost", "OnDemandThroughput": {"MaxReadRequestUnits": 10}}),
    ] {
        call(
            server.addr,
            "UpdateTable",
            json!({"TableName": "Empty", "GlobalSecondaryIndexUpdates": [{"Update": update}]}),
        )
        .await
        .assert_error(
            "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
            Some("Requested resource not found: Index ghost for table Empty"),
        );
    }
    call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Empty", "GlobalSecondaryIndexUpdates": [
            {"Update": {"IndexName": "ghost", "WarmThroughput": {}}}]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: WarmThroughput must have at least one \
             of ReadUnitsPerSecond or WriteUnitsPerSecond specified for index: ghost",
        ),
    );

    // Next to any other member the empty structure is dropped: no "must be the only
    // operation", and nothing happens to the warm throughput.
    let out = client
        .update_table()
        .table_name("Empty")
        .warm_throughput(warm(None, None))
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(out.deletion_protection_enabled(), Some(true));
    assert_eq!(table_warm(&out), expect(12_000, 4_000, "ACTIVE"));
    let res = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Empty", "WarmThroughput": {}, "TableClass": "STANDARD"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json());
    let d = describe(&client, "Empty").await;
    assert_eq!(table_status(&d), "ACTIVE");
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d, "gsi"), expect(12_000, 4_000, "ACTIVE"));
}

#[tokio::test]
async fn a_prewarm_is_admitted_while_the_table_is_updating() {
    let (server, clock) = clocked().await;
    let client = server.client();
    provisioned_table(&client, "Switch").await;
    // While the table is CREATING every change is refused, a pre-warm too.
    call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Switch", "WarmThroughput": {"ReadUnitsPerSecond": 20}}),
    )
    .await
    .assert_error(
        RESOURCE_IN_USE,
        Some("Attempt to change a resource which is still in use: Table is being created: Switch"),
    );
    clock.advance(DELAY);

    // A billing-mode switch makes the table UPDATING: a stream change is refused, a pre-warm
    // of the table or of its index is admitted, answered with the table UPDATING.
    client
        .update_table()
        .table_name("Switch")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let refused = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Switch", "StreamSpecification":
               {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["__type"], RESOURCE_IN_USE);
    let out = client
        .update_table()
        .table_name("Switch")
        .warm_throughput(warm(Some(13_000), None))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(table_status(&out), "UPDATING");
    assert_eq!(table_warm(&out), expect(5, 7, "UPDATING"));
    client
        .update_table()
        .table_name("Switch")
        .global_secondary_index_updates(prewarm_index("gsi", warm(None, Some(5_000))))
        .send()
        .await
        .unwrap();
    // Both settle with the switch: the pre-warmed member, the on-demand default for the other.
    clock.advance(DELAY);
    let d = describe(&client, "Switch").await;
    assert_eq!(table_status(&d), "ACTIVE");
    assert_eq!(table_warm(&d), expect(13_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d, "gsi"), expect(12_000, 5_000, "ACTIVE"));

    // While a new index's resources are allocated DynamoDB answers a pre-warm with an HTTP 500,
    // binderdb with ResourceInUseException.
    let created = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Switch",
               "AttributeDefinitions": [{"AttributeName": "other", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "online",
                   "KeySchema": [{"AttributeName": "other", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"}}}]}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.json());
    for request in [
        json!({"TableName": "Switch", "WarmThroughput": {"ReadUnitsPerSecond": 14_000}}),
        json!({"TableName": "Switch", "GlobalSecondaryIndexUpdates": [
            {"Update": {"IndexName": "gsi", "WarmThroughput": {"ReadUnitsPerSecond": 14_000}}}]}),
    ] {
        call(server.addr, "UpdateTable", request).await.assert_error(
            "com.amazonaws.dynamodb.v20120810#ResourceInUseException",
            Some("Attempt to change a resource which is still in use: Table is being updated: Switch"),
        );
    }
    clock.advance(DELAY);
    // Once the index backfills (the table ACTIVE again) the pre-warm goes through.
    client
        .update_table()
        .table_name("Switch")
        .warm_throughput(warm(Some(14_000), None))
        .send()
        .await
        .unwrap();
    clock.advance(DELAY);
    let d = describe(&client, "Switch").await;
    assert_eq!(table_warm(&d), expect(14_000, 4_000, "ACTIVE"));
}

#[tokio::test]
async fn an_index_being_created_reports_its_warm_throughput() {
    let (server, clock) = clocked().await;
    let client = server.client();
    let created = client
        .create_table()
        .table_name("Creating")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("id"))
        .attribute_definitions(attr("gk"))
        .key_schema(hash("id"))
        .global_secondary_indexes(gsi("plain", None, None))
        .global_secondary_indexes(gsi("warm", None, Some(warm(Some(13_000), None))))
        .warm_throughput(warm(None, Some(5_000)))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    // CreateTable answers with the table's configured value, never an index's.
    assert_eq!(table_warm(&created), expect(12_000, 5_000, "UPDATING"));
    assert_eq!(index_warm(&created, "plain"), None);
    assert_eq!(index_warm(&created, "warm"), None);
    // DescribeTable reports every index while CREATING: a configured value UPDATING until the
    // index is ACTIVE, the default with the index's own status.
    let d = describe(&client, "Creating").await;
    assert_eq!(table_status(&d), "CREATING");
    assert_eq!(index_warm(&d, "plain"), expect(12_000, 4_000, "CREATING"));
    assert_eq!(index_warm(&d, "warm"), expect(13_000, 4_000, "UPDATING"));
    clock.advance(DELAY);
    let d = describe(&client, "Creating").await;
    assert_eq!(index_warm(&d, "plain"), expect(12_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d, "warm"), expect(13_000, 4_000, "ACTIVE"));

    // An index created online, on a provisioned table: its provisioned throughput, CREATING
    // through the resource allocation.
    client
        .create_table()
        .table_name("Online")
        .attribute_definitions(attr("id"))
        .key_schema(hash("id"))
        .provisioned_throughput(throughput(5, 5))
        .send()
        .await
        .unwrap();
    clock.advance(DELAY);
    let out = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Online",
               "AttributeDefinitions": [{"AttributeName": "gk", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [
                   {"Create": {"IndexName": "late",
                    "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 8, "WriteCapacityUnits": 9}}}]}),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.json());
    assert_eq!(
        out.json()["TableDescription"]["GlobalSecondaryIndexes"][0]["WarmThroughput"],
        json!({"ReadUnitsPerSecond": 8, "WriteUnitsPerSecond": 9, "Status": "CREATING"})
    );
    let d = describe(&client, "Online").await;
    assert_eq!(index_status(&d, "late"), "CREATING");
    assert_eq!(index_warm(&d, "late"), expect(8, 9, "CREATING"));
}

#[tokio::test]
async fn a_billing_or_throughput_change_shows_once_it_completes() {
    let (server, clock) = clocked().await;
    let client = server.client();
    provisioned_table(&client, "Modes").await;
    clock.advance(DELAY);

    // A throughput increase: the old value, ACTIVE, while the table is UPDATING.
    client
        .update_table()
        .table_name("Modes")
        .provisioned_throughput(throughput(10, 10))
        .send()
        .await
        .unwrap();
    let d = describe(&client, "Modes").await;
    assert_eq!(table_status(&d), "UPDATING");
    assert_eq!(table_warm(&d), expect(5, 7, "ACTIVE"));
    clock.advance(DELAY);
    let d = describe(&client, "Modes").await;
    assert_eq!(table_warm(&d), expect(10, 10, "ACTIVE"));

    // An index's throughput: the same while the index is UPDATING.
    client
        .update_table()
        .table_name("Modes")
        .global_secondary_index_updates(index_throughput("gsi", 6, 6))
        .send()
        .await
        .unwrap();
    let d = describe(&client, "Modes").await;
    assert_eq!(index_status(&d, "gsi"), "UPDATING");
    assert_eq!(index_warm(&d, "gsi"), expect(3, 4, "ACTIVE"));
    clock.advance(DELAY);
    let d = describe(&client, "Modes").await;
    assert_eq!(index_warm(&d, "gsi"), expect(6, 6, "ACTIVE"));

    // PROVISIONED -> PAY_PER_REQUEST: the provisioned values until the switch completes, then
    // the on-demand defaults, for the table and its index.
    let out = client
        .update_table()
        .table_name("Modes")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(table_status(&out), "UPDATING");
    assert_eq!(table_warm(&out), expect(10, 10, "ACTIVE"));
    let d = describe(&client, "Modes").await;
    assert_eq!(table_warm(&d), expect(10, 10, "ACTIVE"));
    assert_eq!(index_warm(&d, "gsi"), expect(6, 6, "ACTIVE"));
    clock.advance(DELAY);
    let d = describe(&client, "Modes").await;
    assert_eq!(table_status(&d), "ACTIVE");
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d, "gsi"), expect(12_000, 4_000, "ACTIVE"));

    // And back to PROVISIONED 1/1: nothing decreases, during the switch or after it.
    client
        .update_table()
        .table_name("Modes")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(1, 1))
        .global_secondary_index_updates(index_throughput("gsi", 1, 1))
        .send()
        .await
        .unwrap();
    let d = describe(&client, "Modes").await;
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d, "gsi"), expect(12_000, 4_000, "ACTIVE"));
    clock.advance(DELAY);
    let d = describe(&client, "Modes").await;
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    assert_eq!(index_warm(&d, "gsi"), expect(12_000, 4_000, "ACTIVE"));
}
