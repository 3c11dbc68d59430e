//! UpdateTable carries one concern per request, as DynamoDB was observed to (the ack-api-quirks
//! lab's DDB-TABLE-433, 382, 174, 156; `binderdb_engine::ops::update_rules`): TableClass,
//! DeletionProtectionEnabled and WarmThroughput must each be the only change, OnDemandThroughput
//! goes with BillingMode only, and a stream change does not go with a provisioned throughput.
//! A refused request changes nothing; the pairs DynamoDB accepts are applied whole.

use serde_json::json;

use crate::common::{call, VALIDATION};
use crate::warm_throughput::{clocked, describe, on_demand_table, provisioned_table, DELAY};

fn only(what: &str) -> String {
    format!(
        "One or more parameter values were invalid: {what} modification must be the only \
         operation in the request"
    )
}

const ON_DEMAND_WITH_BILLING_ONLY: &str =
    "OnDemandThroughput can only be combined with BillingMode in an UpdateTable request";
const STREAM_WITH_IOPS: &str = "You cannot modify stream status while updating table IOPS";

#[tokio::test]
async fn members_that_must_be_alone_are_refused_in_company() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Single", None, None).await;
    clock.advance(DELAY);
    let stream = json!({"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"});
    let on_demand = json!({"MaxReadRequestUnits": 100});
    let cases = [
        // The lab's precedence: TableClass > DeletionProtection > (OnDemandThroughput) > Warm.
        (
            json!({"DeletionProtectionEnabled": true, "BillingMode": "PAY_PER_REQUEST"}),
            only("DeletionProtection"),
        ),
        (
            json!({"DeletionProtectionEnabled": true, "TableClass": "STANDARD_INFREQUENT_ACCESS"}),
            only("TableClass"),
        ),
        (
            json!({"TableClass": "STANDARD_INFREQUENT_ACCESS",
                   "WarmThroughput": {"ReadUnitsPerSecond": 13_000}}),
            only("TableClass"),
        ),
        (
            json!({"DeletionProtectionEnabled": true,
                   "WarmThroughput": {"ReadUnitsPerSecond": 13_000}}),
            only("DeletionProtection"),
        ),
        (
            json!({"DeletionProtectionEnabled": true, "StreamSpecification": stream}),
            only("DeletionProtection"),
        ),
        (
            json!({"DeletionProtectionEnabled": true, "OnDemandThroughput": on_demand}),
            only("DeletionProtection"),
        ),
        (
            json!({"OnDemandThroughput": on_demand, "StreamSpecification": stream}),
            ON_DEMAND_WITH_BILLING_ONLY.to_owned(),
        ),
        (
            json!({"OnDemandThroughput": on_demand,
                   "WarmThroughput": {"ReadUnitsPerSecond": 13_000}}),
            ON_DEMAND_WITH_BILLING_ONLY.to_owned(),
        ),
        (
            json!({"BillingMode": "PROVISIONED", "StreamSpecification": stream,
                   "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                   "GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": "gsi",
                       "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}}]}),
            STREAM_WITH_IOPS.to_owned(),
        ),
        // Next to an index creation too (DDB-TABLE-174).
        (
            json!({"DeletionProtectionEnabled": true,
                   "AttributeDefinitions": [{"AttributeName": "x", "AttributeType": "S"}],
                   "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byX",
                       "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
                       "Projection": {"ProjectionType": "ALL"}}}]}),
            only("DeletionProtection"),
        ),
    ];
    for (members, message) in cases {
        let mut request = members.clone();
        request["TableName"] = json!("Single");
        call(server.addr, "UpdateTable", request)
            .await
            .assert_error(VALIDATION, Some(&message));
        // Checked before the table is looked up: a missing table gets the same answer.
        let mut request = members;
        request["TableName"] = json!("Missing");
        call(server.addr, "UpdateTable", request)
            .await
            .assert_error(VALIDATION, Some(&message));
    }
    // Nothing was applied.
    let d = describe(&client, "Single").await;
    assert_eq!(d.table_status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(d.deletion_protection_enabled(), Some(false));
    assert!(d.table_class_summary().is_none());
    assert!(d.stream_specification().is_none());
    assert!(d.on_demand_throughput().is_none());
    assert_eq!(d.global_secondary_indexes().len(), 1);
}

#[tokio::test]
async fn billing_mode_on_demand_combines_with_a_stream_or_on_demand_throughput() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Ppr", None, None).await;
    provisioned_table(&client, "Prov").await;
    clock.advance(DELAY);

    // On an on-demand table, with the mode re-sent: both applied (DDB-TABLE-382, 433).
    let out = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Ppr", "BillingMode": "PAY_PER_REQUEST",
               "OnDemandThroughput": {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50}}),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.json());
    let d = describe(&client, "Ppr").await;
    let odt = d.on_demand_throughput().unwrap();
    assert_eq!(
        (odt.max_read_request_units(), odt.max_write_request_units()),
        (Some(100), Some(50))
    );
    assert_eq!(d.table_status().map(|s| s.as_str()), Some("ACTIVE"));
    let out = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Ppr", "BillingMode": "PAY_PER_REQUEST",
               "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.json());
    let d = describe(&client, "Ppr").await;
    assert_eq!(
        d.stream_specification().map(|s| s.stream_enabled()),
        Some(true)
    );

    // A switch of a provisioned table to on-demand with a stream change: both applied.
    let out = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Prov", "BillingMode": "PAY_PER_REQUEST",
               "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.json());
    clock.advance(DELAY);
    let d = describe(&client, "Prov").await;
    assert_eq!(
        d.billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str()),
        Some("PAY_PER_REQUEST")
    );
    assert_eq!(
        d.stream_specification().map(|s| s.stream_enabled()),
        Some(true)
    );
}
