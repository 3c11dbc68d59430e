//! What binderdb admits while a change of a table is in flight, as DynamoDB was observed to
//! (the ack-api-quirks lab's findings, cited in `binderdb_engine::warm`, `ops::update_table` and
//! `ops::update_rules`): DeletionProtectionEnabled while the table is UPDATING, DeleteTable
//! while a pre-warm runs (refused, the table ACTIVE), a second billing-mode or throughput
//! change during a switch (refused, or, back to on-demand during a switch from it, ignored), a
//! re-sent on-demand mode (a no-op), the refusals that name the change in flight (a stream, a
//! billing switch, an index creation or deletion; LastUpdateToPayPerRequestDateTime across
//! switches is `billing_mode_summary.rs`). The manual clock holds each change in flight; nothing
//! here waits or times anything.

use aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder;
use aws_sdk_dynamodb::types::{BillingMode, StreamSpecification, StreamViewType, TableDescription};
use aws_sdk_dynamodb::Client;
use serde_json::json;

use crate::common::{call, error_parts, VALIDATION};
use crate::warm_throughput::{
    clocked, describe, expect, index_throughput, named_index_warm, on_demand_table, prewarm_index,
    provisioned_table, table_warm, throughput, warm, DELAY,
};

const RESOURCE_IN_USE: &str = "com.amazonaws.dynamodb.v20120810#ResourceInUseException";

pub(crate) fn status(d: &TableDescription) -> &str {
    d.table_status().map(|s| s.as_str()).unwrap_or_default()
}

/// (billing mode, read, write) as a description reports them; no `BillingModeSummary` means
/// PROVISIONED (a table created provisioned and never on-demand has none, DDB-TABLE-025).
pub(crate) fn capacity(d: &TableDescription) -> (String, i64, i64) {
    let pt = d.provisioned_throughput().unwrap();
    (
        d.billing_mode_summary().map_or_else(
            || "PROVISIONED".to_owned(),
            |b| {
                b.billing_mode()
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default()
            },
        ),
        pt.read_capacity_units().unwrap_or_default(),
        pt.write_capacity_units().unwrap_or_default(),
    )
}

fn on_demand() -> (String, i64, i64) {
    ("PAY_PER_REQUEST".to_owned(), 0, 0)
}

fn provisioned(read: i64, write: i64) -> (String, i64, i64) {
    ("PROVISIONED".to_owned(), read, write)
}

/// DynamoDB's refusal of a capacity change while one is in progress (DDB-TABLE-369/370/452).
fn iops_busy(table: &str) -> String {
    format!(
        "Attempt to change a resource which is still in use: Table IOPS are currently being \
         updated. Table: {table}"
    )
}

/// DynamoDB's refusal of a DeleteTable while the table is being updated or pre-warmed
/// (DDB-TABLE-069/369/370).
fn delete_busy(table: &str) -> String {
    format!(
        "Attempt to change a resource which is still in use: Table: {table} is in the process \
         of being updated."
    )
}

async fn protect(client: &Client, table: &str, on: bool) -> TableDescription {
    client
        .update_table()
        .table_name(table)
        .deletion_protection_enabled(on)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

async fn delete_error(client: &Client, table: &str) -> (String, String) {
    error_parts(
        client
            .delete_table()
            .table_name(table)
            .send()
            .await
            .unwrap_err(),
    )
}

/// Enables a KEYS_ONLY stream on `table`; the answer.
async fn enable_stream_keys_only(client: &Client, table: &str) -> TableDescription {
    client
        .update_table()
        .table_name(table)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::KeysOnly)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

/// `table` (on-demand, GSI `gsi`) switched to provisioned 1/1, its index 1/1.
pub(crate) async fn switch_to_provisioned(client: &Client, table: &str) -> TableDescription {
    client
        .update_table()
        .table_name(table)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(1, 1))
        .global_secondary_index_updates(index_throughput("gsi", 1, 1))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

/// UpdateTable `BillingMode: PAY_PER_REQUEST` alone, and its answer.
pub(crate) async fn to_on_demand(client: &Client, table: &str) -> TableDescription {
    client
        .update_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

/// The UpdateTable that switches `table` (made by `provisioned_table`) back to its provisioned
/// 5/7, its index 3/4.
fn back_to_provisioned(client: &Client, table: &str) -> UpdateTableFluentBuilder {
    client
        .update_table()
        .table_name(table)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(5, 7))
        .global_secondary_index_updates(index_throughput("gsi", 3, 4))
}

#[tokio::test]
async fn deletion_protection_is_admitted_while_the_table_is_updating() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Guarded", None, None).await;
    // While the table is CREATING every change is refused, this one too.
    let (code, _) = error_parts(
        client
            .update_table()
            .table_name("Guarded")
            .deletion_protection_enabled(true)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ResourceInUseException");
    clock.advance(DELAY);

    // During a billing-mode switch (DDB-TABLE-369): admitted, the table stays UPDATING.
    switch_to_provisioned(&client, "Guarded").await;
    let out = protect(&client, "Guarded", true).await;
    assert_eq!(status(&out), "UPDATING");
    assert_eq!(out.deletion_protection_enabled(), Some(true));
    let d = describe(&client, "Guarded").await;
    assert_eq!(status(&d), "UPDATING");
    assert_eq!(d.deletion_protection_enabled(), Some(true));
    assert_eq!(capacity(&d), provisioned(1, 1));
    clock.advance(DELAY);

    // During a stream change (DDB-TABLE-002).
    enable_stream_keys_only(&client, "Guarded").await;
    let out = protect(&client, "Guarded", false).await;
    assert_eq!(status(&out), "UPDATING");
    assert_eq!(out.deletion_protection_enabled(), Some(false));
    clock.advance(DELAY);

    // During a throughput change (DDB-TABLE-370) and while a new index's resources are
    // allocated (not observed; binderdb admits it as in every other UPDATING window).
    client
        .update_table()
        .table_name("Guarded")
        .provisioned_throughput(throughput(2, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&protect(&client, "Guarded", true).await), "UPDATING");
    clock.advance(DELAY);
    let created = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Guarded",
               "AttributeDefinitions": [{"AttributeName": "other", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "online",
                   "KeySchema": [{"AttributeName": "other", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"},
                   "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}}]}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.json());
    let out = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Guarded", "DeletionProtectionEnabled": false}),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.json());
    assert_eq!(out.json()["TableDescription"]["TableStatus"], "UPDATING");
    assert_eq!(
        out.json()["TableDescription"]["DeletionProtectionEnabled"],
        false
    );

    // Next to another change it is no longer alone: the change in flight refuses the request.
    let mixed = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Guarded", "DeletionProtectionEnabled": true, "TableClass": "STANDARD"}),
    )
    .await;
    assert_eq!(mixed.status, 400, "{}", mixed.json());
    clock.advance(DELAY);
    let d = describe(&client, "Guarded").await;
    assert_eq!(status(&d), "ACTIVE");
    assert_eq!(d.deletion_protection_enabled(), Some(false));
}

#[tokio::test]
async fn delete_table_waits_for_a_prewarm() {
    let (server, clock) = clocked().await;
    let client = server.client();
    for name in ["WarmTable", "WarmIndex"] {
        on_demand_table(&client, name, None, None).await;
    }
    clock.advance(DELAY);
    client
        .update_table()
        .table_name("WarmTable")
        .warm_throughput(warm(Some(13_000), None))
        .send()
        .await
        .unwrap();
    client
        .update_table()
        .table_name("WarmIndex")
        .global_secondary_index_updates(prewarm_index("gsi", warm(None, Some(5_000))))
        .send()
        .await
        .unwrap();

    // The tables are ACTIVE, their pre-warms in flight: DynamoDB refuses the deletion
    // (DDB-TABLE-069, a table pre-warm; an index's is taken the same way).
    let d = describe(&client, "WarmTable").await;
    assert_eq!(status(&d), "ACTIVE");
    assert_eq!(table_warm(&d), expect(12_000, 4_000, "UPDATING"));
    let d = describe(&client, "WarmIndex").await;
    assert_eq!(status(&d), "ACTIVE");
    assert_eq!(
        named_index_warm(&d, "gsi"),
        expect(12_000, 4_000, "UPDATING")
    );
    for name in ["WarmTable", "WarmIndex"] {
        assert_eq!(
            delete_error(&client, name).await,
            ("ResourceInUseException".to_owned(), delete_busy(name))
        );
        call(server.addr, "DeleteTable", json!({"TableName": name}))
            .await
            .assert_error(RESOURCE_IN_USE, Some(&delete_busy(name)));
        // Nothing was deleted.
        assert_eq!(status(&describe(&client, name).await), "ACTIVE");
    }

    // Once the pre-warm completed, the deletion goes through.
    clock.advance(DELAY);
    for name in ["WarmTable", "WarmIndex"] {
        let out = client
            .delete_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table_description
            .unwrap();
        assert_eq!(status(&out), "DELETING");
    }

    // A table UPDATING is refused in the same words (DDB-TABLE-369, 370).
    on_demand_table(&client, "Switching", None, None).await;
    clock.advance(DELAY);
    switch_to_provisioned(&client, "Switching").await;
    assert_eq!(
        delete_error(&client, "Switching").await,
        (
            "ResourceInUseException".to_owned(),
            delete_busy("Switching")
        )
    );
}

#[tokio::test]
async fn a_switch_back_to_on_demand_during_the_switch_is_ignored() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Back", None, None).await;
    clock.advance(DELAY);
    let before = describe(&client, "Back").await;
    let out = switch_to_provisioned(&client, "Back").await;
    assert_eq!(status(&out), "UPDATING");

    // Right after the switch and half-way through it (DDB-TABLE-369, 452): 200, the answer
    // describes the table on-demand and UPDATING, and nothing changes.
    for _ in 0..2 {
        let out = to_on_demand(&client, "Back").await;
        assert_eq!(status(&out), "UPDATING");
        assert_eq!(capacity(&out), on_demand());
        assert_eq!(
            out.billing_mode_summary()
                .and_then(|b| b.last_update_to_pay_per_request_date_time()),
            before
                .billing_mode_summary()
                .and_then(|b| b.last_update_to_pay_per_request_date_time())
        );
        let d = describe(&client, "Back").await;
        assert_eq!(status(&d), "UPDATING");
        assert_eq!(capacity(&d), provisioned(1, 1));
        assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));
        clock.advance(DELAY / 2 - 1);
    }
    // On the wire, the answer is the same.
    let raw = call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Back", "BillingMode": "PAY_PER_REQUEST"}),
    )
    .await;
    assert_eq!(raw.status, 200, "{}", raw.json());
    let t = &raw.json()["TableDescription"];
    assert_eq!(t["TableStatus"], "UPDATING");
    assert_eq!(t["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(t["ProvisionedThroughput"]["ReadCapacityUnits"], 0);

    // Any other capacity change meanwhile is refused.
    let (code, message) = error_parts(
        client
            .update_table()
            .table_name("Back")
            .provisioned_throughput(throughput(2, 2))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), message),
        ("ResourceInUseException", iops_busy("Back"))
    );

    // The switch completes as if nothing had been asked.
    clock.advance(2);
    let d = describe(&client, "Back").await;
    assert_eq!(status(&d), "ACTIVE");
    assert_eq!(capacity(&d), provisioned(1, 1));
    // Once ACTIVE, the same request switches the table.
    let out = to_on_demand(&client, "Back").await;
    assert_eq!(status(&out), "UPDATING");
    let d = describe(&client, "Back").await;
    assert_eq!(capacity(&d), on_demand());
    clock.advance(DELAY);
    assert_eq!(status(&describe(&client, "Back").await), "ACTIVE");
}

#[tokio::test]
async fn a_second_capacity_change_during_one_is_refused() {
    let (server, clock) = clocked().await;
    let client = server.client();
    provisioned_table(&client, "Fwd").await;
    clock.advance(DELAY);
    to_on_demand(&client, "Fwd").await;

    // PROVISIONED -> PAY_PER_REQUEST in flight: the way back (it carries a throughput), a
    // re-send of the new mode and a throughput change are refused (DDB-TABLE-369, 452).
    for request in [
        json!({"TableName": "Fwd", "BillingMode": "PROVISIONED",
               "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
               "GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": "gsi",
                   "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}}}]}),
        json!({"TableName": "Fwd", "BillingMode": "PROVISIONED",
               "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
        json!({"TableName": "Fwd", "BillingMode": "PAY_PER_REQUEST"}),
        json!({"TableName": "Fwd",
               "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}}),
    ] {
        call(server.addr, "UpdateTable", request)
            .await
            .assert_error(RESOURCE_IN_USE, Some(&iops_busy("Fwd")));
    }
    let (code, message) = error_parts(
        back_to_provisioned(&client, "Fwd")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code.as_str(), message),
        ("ResourceInUseException", iops_busy("Fwd"))
    );
    clock.advance(DELAY);
    let d = describe(&client, "Fwd").await;
    assert_eq!(status(&d), "ACTIVE");
    assert_eq!(capacity(&d), on_demand());

    // Back to provisioned once ACTIVE, then a throughput change during that switch
    // (DDB-TABLE-370 saw the same during a throughput change).
    back_to_provisioned(&client, "Fwd").send().await.unwrap();
    clock.advance(DELAY);
    client
        .update_table()
        .table_name("Fwd")
        .provisioned_throughput(throughput(6, 7))
        .send()
        .await
        .unwrap();
    for request in [
        json!({"TableName": "Fwd",
               "ProvisionedThroughput": {"ReadCapacityUnits": 8, "WriteCapacityUnits": 8}}),
        // Not a way back from a switch: a throughput change was in flight.
        json!({"TableName": "Fwd", "BillingMode": "PAY_PER_REQUEST"}),
    ] {
        call(server.addr, "UpdateTable", request)
            .await
            .assert_error(RESOURCE_IN_USE, Some(&iops_busy("Fwd")));
    }
    clock.advance(DELAY);
    let d = describe(&client, "Fwd").await;
    assert_eq!(status(&d), "ACTIVE");
    assert_eq!(capacity(&d), provisioned(6, 7));
}

/// "Attempt to change a resource which is still in use: " and `detail`.
fn in_use(detail: &str) -> String {
    format!("Attempt to change a resource which is still in use: {detail}")
}

/// The (code, message) of a ResourceInUseException with `detail`.
fn in_use_error(detail: &str) -> (String, String) {
    ("ResourceInUseException".to_owned(), in_use(detail))
}

/// UpdateTable `body` on `table` must be ResourceInUseException with `detail`.
async fn refused(addr: std::net::SocketAddr, table: &str, body: serde_json::Value, detail: &str) {
    let mut request = body;
    request["TableName"] = json!(table);
    call(addr, "UpdateTable", request)
        .await
        .assert_error(RESOURCE_IN_USE, Some(&in_use(detail)));
}

fn enable_stream() -> serde_json::Value {
    json!({"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}})
}

fn to_infrequent_access() -> serde_json::Value {
    json!({"TableClass": "STANDARD_INFREQUENT_ACCESS"})
}

fn max_reads() -> serde_json::Value {
    json!({"OnDemandThroughput": {"MaxReadRequestUnits": 100}})
}

#[tokio::test]
async fn a_resent_on_demand_mode_changes_nothing() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Again", None, None).await;
    clock.advance(DELAY);
    let before = describe(&client, "Again").await;
    let since = |d: &TableDescription| {
        d.billing_mode_summary()
            .and_then(|b| b.last_update_to_pay_per_request_date_time())
            .cloned()
    };
    assert!(since(&before).is_some());

    // The answer says UPDATING; the table stays ACTIVE and keeps its
    // LastUpdateToPayPerRequestDateTime (DDB-TABLE-177, 057, 383).
    clock.advance(1_000);
    for _ in 0..3 {
        let out = to_on_demand(&client, "Again").await;
        assert_eq!(status(&out), "UPDATING");
        assert_eq!(capacity(&out), on_demand());
        let d = describe(&client, "Again").await;
        assert_eq!(status(&d), "ACTIVE");
        assert_eq!(since(&d), since(&before));
        assert_eq!(table_warm(&d), expect(12_000, 4_000, "ACTIVE"));
    }
    // Nothing is in flight: the next change goes through at once.
    enable_stream_keys_only(&client, "Again").await;
    // While the stream change is in flight the re-send is admitted too (DDB-TABLE-383).
    let out = to_on_demand(&client, "Again").await;
    assert_eq!(status(&out), "UPDATING");
    let d = describe(&client, "Again").await;
    assert_eq!(status(&d), "UPDATING");
    assert_eq!(capacity(&d), on_demand());
    clock.advance(DELAY);
    assert_eq!(status(&describe(&client, "Again").await), "ACTIVE");
}

#[tokio::test]
async fn refusals_during_a_stream_change_name_it() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Flow", None, None).await;
    clock.advance(DELAY);
    let out = enable_stream_keys_only(&client, "Flow").await;
    let label = out.latest_stream_label().unwrap().to_owned();
    let suffix = |op: &str| format!("Table: Flow Stream: {label} Operation: {op}");
    let addr = server.addr;
    let switch = json!({"BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        "GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": "gsi",
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}}]});
    for (body, detail) in [
        (
            switch,
            format!(
                "Can't change table IOPS when stream status is being updated. {}",
                suffix("ENABLE")
            ),
        ),
        (
            json!({"StreamSpecification": {"StreamEnabled": false}}),
            format!(
                "A stream status change is currently in progress. {}",
                suffix("ENABLE")
            ),
        ),
        (
            max_reads(),
            "OnDemandThroughput cannot be updated while stream status update is in progress"
                .to_owned(),
        ),
        (
            to_infrequent_access(),
            format!(
                "Can't update table class when stream status is being updated. {}",
                suffix("ENABLE")
            ),
        ),
    ] {
        refused(addr, "Flow", body, &detail).await;
    }
    // DeleteTable (DDB-TABLE-002, 119).
    assert_eq!(
        delete_error(&client, "Flow").await,
        in_use_error("Cannot delete table while stream is being enabled/disabled.")
    );

    // Disabling: the operation is DISABLE.
    clock.advance(DELAY);
    call(
        addr,
        "UpdateTable",
        json!({"TableName": "Flow", "StreamSpecification": {"StreamEnabled": false}}),
    )
    .await;
    refused(
        addr,
        "Flow",
        to_infrequent_access(),
        &format!(
            "Can't update table class when stream status is being updated. {}",
            suffix("DISABLE")
        ),
    )
    .await;
    clock.advance(DELAY);
    let d = describe(&client, "Flow").await;
    assert_eq!(status(&d), "ACTIVE");
    assert!(d.table_class_summary().is_none());
    assert!(d.on_demand_throughput().is_none());
}

#[tokio::test]
async fn refusals_during_a_billing_switch_name_it() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Upward", None, None).await;
    provisioned_table(&client, "Downward").await;
    clock.advance(DELAY);
    let addr = server.addr;

    // PAY_PER_REQUEST -> PROVISIONED in flight (DDB-TABLE-369).
    switch_to_provisioned(&client, "Upward").await;
    refused(
        addr,
        "Upward",
        enable_stream(),
        "Can't enable or disable stream while table IOPS are being updated. Table: Upward",
    )
    .await;
    // The table was on-demand before the switch: OnDemandThroughput passes its check and is
    // refused for the switch.
    refused(
        addr,
        "Upward",
        max_reads(),
        "OnDemandThroughput cannot be updated while BillingMode update is in progress",
    )
    .await;
    refused(
        addr,
        "Upward",
        to_infrequent_access(),
        "Can't update table class while table IOPS are being updated. Table: Upward",
    )
    .await;

    // PROVISIONED -> PAY_PER_REQUEST in flight: OnDemandThroughput is checked against the
    // billing mode the table had before the switch, before the switch refuses it (DDB-TABLE-369).
    to_on_demand(&client, "Downward").await;
    for (body, member) in [
        (max_reads(), "MaxReadRequestUnits"),
        (
            json!({"OnDemandThroughput": {"MaxWriteRequestUnits": 100}}),
            "MaxWriteRequestUnits",
        ),
    ] {
        let mut request = body;
        request["TableName"] = json!("Downward");
        call(addr, "UpdateTable", request).await.assert_error(
            VALIDATION,
            Some(&format!(
                "One or more parameter values were invalid: {member} for OnDemandThroughput \
                 cannot be specified when the table BillingMode is PROVISIONED"
            )),
        );
    }
    clock.advance(DELAY);
    // Once the switch completed the table is on-demand, and it is accepted.
    let mut request = max_reads();
    request["TableName"] = json!("Downward");
    let out = call(addr, "UpdateTable", request).await;
    assert_eq!(out.status, 200, "{}", out.json());
    // On a provisioned table it never is (DDB-TABLE-059).
    let mut request = max_reads();
    request["TableName"] = json!("Upward");
    call(addr, "UpdateTable", request).await.assert_error(
        VALIDATION,
        Some(
            "One or more parameter values were invalid: MaxReadRequestUnits for \
             OnDemandThroughput cannot be specified when the table BillingMode is PROVISIONED",
        ),
    );
    let d = describe(&client, "Upward").await;
    assert_eq!(capacity(&d), provisioned(1, 1));
    assert!(d.table_class_summary().is_none());
    assert!(d.stream_specification().is_none());
}

#[tokio::test]
async fn refusals_during_an_index_change_name_it() {
    let (server, clock) = clocked().await;
    let client = server.client();
    provisioned_table(&client, "Grow").await;
    on_demand_table(&client, "GrowPpr", None, None).await;
    clock.advance(DELAY);
    let addr = server.addr;
    for (table, throughput) in [
        (
            "Grow",
            json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}),
        ),
        ("GrowPpr", serde_json::Value::Null),
    ] {
        let mut create = json!({"IndexName": "online",
            "KeySchema": [{"AttributeName": "other", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}});
        if !throughput.is_null() {
            create["ProvisionedThroughput"] = throughput;
        }
        let created = call(
            addr,
            "UpdateTable",
            json!({"TableName": table,
                   "AttributeDefinitions": [{"AttributeName": "other", "AttributeType": "S"}],
                   "GlobalSecondaryIndexUpdates": [{"Create": create}]}),
        )
        .await;
        assert_eq!(created.status, 200, "{}", created.json());
    }
    // While its resources are allocated (the table UPDATING: DDB-TABLE-444, 458).
    let raise = json!({"ProvisionedThroughput": {"ReadCapacityUnits": 9, "WriteCapacityUnits": 9}});
    for (table, body, detail) in [
        (
            "Grow",
            raise.clone(),
            "Can't change table IOPS when an index is being created. Table: Grow Indexes: [online]",
        ),
        (
            "Grow",
            enable_stream(),
            "Can't change stream status when an index is being created. Table: Grow Indexes: \
             [online]",
        ),
        (
            "GrowPpr",
            max_reads(),
            "OnDemandThroughput cannot be updated while index creation is in progress for \
             indexes: [online]",
        ),
    ] {
        refused(addr, table, body, detail).await;
    }
    assert_eq!(
        delete_error(&client, "Grow").await,
        in_use_error("Cannot delete table while indexes are being created, updated, or deleted.")
    );
    // Once it backfills the table is ACTIVE and the index can go (cancelling the backfill);
    // its deletion is in flight.
    clock.advance(DELAY);
    let deleted = call(
        addr,
        "UpdateTable",
        json!({"TableName": "Grow",
               "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "online"}}]}),
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.json());
    refused(
        addr,
        "Grow",
        raise,
        "Can't change table IOPS when an index is being deleted. Table: Grow Indexes: [online]",
    )
    .await;
    clock.advance(DELAY);
    let d = describe(&client, "Grow").await;
    assert_eq!(capacity(&d), provisioned(5, 7));
}

/// `(TableClass, LastUpdateDateTime in epoch seconds)` of a `TableClassSummary`.
fn class_summary(d: &TableDescription) -> Option<(String, Option<i64>)> {
    d.table_class_summary().map(|s| {
        (
            s.table_class().unwrap().as_str().to_owned(),
            s.last_update_date_time().map(|t| t.secs()),
        )
    })
}

async fn set_class(client: &Client, table: &str, class: &str) -> TableDescription {
    client
        .update_table()
        .table_name(table)
        .table_class(aws_sdk_dynamodb::types::TableClass::from(class))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

#[tokio::test]
async fn a_table_class_change_is_updating_until_it_completes() {
    let (server, clock) = clocked().await;
    let client = server.client();
    let created = on_demand_table(&client, "Class", None, None).await;
    let start = created.creation_date_time().unwrap().secs();
    clock.advance(DELAY);
    // The class the table has: answered UPDATING, nothing changes (DDB-TABLE-177).
    let out = set_class(&client, "Class", "STANDARD").await;
    assert_eq!((status(&out), class_summary(&out)), ("UPDATING", None));
    let d = describe(&client, "Class").await;
    assert_eq!((status(&d), class_summary(&d)), ("ACTIVE", None));

    // A change: UPDATING with the summary as it was, in the answer and in DescribeTable, until
    // it completes (DDB-TABLE-180, 284); DeletionProtectionEnabled is admitted meanwhile
    // (DDB-TABLE-285), another class change and DeleteTable are not.
    let ia = "STANDARD_INFREQUENT_ACCESS";
    let out = set_class(&client, "Class", ia).await;
    assert_eq!((status(&out), class_summary(&out)), ("UPDATING", None));
    let d = describe(&client, "Class").await;
    assert_eq!((status(&d), class_summary(&d)), ("UPDATING", None));
    client
        .update_table()
        .table_name("Class")
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    call(
        server.addr,
        "UpdateTable",
        json!({"TableName": "Class", "TableClass": ia}),
    )
    .await
    .assert_error(
        RESOURCE_IN_USE,
        Some(&in_use("Table is being updated: Class")),
    );
    let err = client
        .delete_table()
        .table_name("Class")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        in_use_error("Table: Class is in the process of being updated.")
    );
    clock.advance(DELAY);
    let first = start + 2 * DELAY as i64 / 1000;
    let d = describe(&client, "Class").await;
    assert_eq!(
        (status(&d), class_summary(&d)),
        ("ACTIVE", Some((ia.to_owned(), Some(first))))
    );

    // Back to STANDARD: the summary stays, naming STANDARD once done.
    let out = set_class(&client, "Class", "STANDARD").await;
    assert_eq!(
        (status(&out), class_summary(&out)),
        ("UPDATING", Some((ia.to_owned(), Some(first))))
    );
    clock.advance(DELAY);
    let d = describe(&client, "Class").await;
    assert_eq!(
        (status(&d), class_summary(&d)),
        (
            "ACTIVE",
            Some(("STANDARD".to_owned(), Some(first + DELAY as i64 / 1000)))
        )
    );
    client
        .delete_table()
        .table_name("Class")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn deletion_protection_changes_are_throttled_for_15_seconds_under_throttling() {
    let (server, clock) = crate::warm_throughput::clocked_throttled().await;
    on_demand_table(&server.client(), "Guard", None, None).await;
    let protect = |on: bool| {
        call(
            server.addr,
            "UpdateTable",
            json!({"TableName": "Guard", "DeletionProtectionEnabled": on}),
        )
    };
    // The table's creation starts no cooldown; a re-sent value outside one changes nothing and
    // starts none.
    assert_eq!(protect(false).await.status, 200);
    assert_eq!(protect(true).await.status, 200);
    // Any value within 15 s of that change (DDB-TABLE-018, 445), with the instant to retry at.
    let throttled = "Deletion protection setting for table Guard modified within the previous \
                     15000 milliseconds. Please try again after 2023-11-14T22:13:35.000";
    clock.advance(14_999);
    for on in [true, false] {
        protect(on).await.assert_error(
            "com.amazon.coral.availability#ThrottlingException",
            Some(throttled),
        );
    }
    clock.advance(1);
    assert_eq!(protect(false).await.status, 200);
    assert!(!describe(&server.client(), "Guard")
        .await
        .deletion_protection_enabled()
        .unwrap());
    // Without throttling (the default, `tables.rs`), a table may toggle it at once; with the
    // table's tag off, so may this one.
    let arn = describe(&server.client(), "Guard")
        .await
        .table_arn()
        .unwrap()
        .to_owned();
    server
        .client()
        .tag_resource()
        .resource_arn(arn)
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("binderdb:throttling")
                .value("off")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(protect(true).await.status, 200);
}

#[tokio::test]
async fn an_index_creation_during_another_change_is_refused_in_dynamodb_words() {
    let (server, clock) = clocked().await;
    let client = server.client();
    let create = |table: &str| {
        json!({"TableName": table,
               "AttributeDefinitions": [{"AttributeName": "other", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "late",
                   "KeySchema": [{"AttributeName": "other", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"}}}]})
    };
    for table in ["ByIops", "ByStream", "ByClass"] {
        on_demand_table(&client, table, None, None).await;
    }
    clock.advance(DELAY);
    // After a throughput change, a stream change and a table class change (DDB-TABLE-175).
    switch_to_provisioned(&client, "ByIops").await;
    enable_stream_keys_only(&client, "ByStream").await;
    set_class(&client, "ByClass", "STANDARD_INFREQUENT_ACCESS").await;
    for (table, detail) in [
        (
            "ByIops",
            "Can't create or delete indexes while table IOPS are being updated. Table: ByIops",
        ),
        (
            "ByStream",
            "Can't create or delete an index when stream status is being updated.",
        ),
        (
            "ByClass",
            "Can't create or delete an index when a table class update is in progress.",
        ),
    ] {
        call(server.addr, "UpdateTable", create(table))
            .await
            .assert_error(RESOURCE_IN_USE, Some(&in_use(detail)));
    }
    // Once they completed, the same creations go through.
    clock.advance(DELAY);
    for table in ["ByIops", "ByStream", "ByClass"] {
        let mut body = create(table);
        if table == "ByIops" {
            body["GlobalSecondaryIndexUpdates"][0]["Create"]["ProvisionedThroughput"] =
                json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
        }
        let out = call(server.addr, "UpdateTable", body).await;
        assert_eq!(out.status, 200, "{}", out.json());
    }
}

#[tokio::test]
async fn a_deleted_table_is_deleting_for_the_create_delay() {
    let (server, clock) = clocked().await;
    let client = server.client();
    on_demand_table(&client, "Going", None, None).await;
    clock.advance(DELAY);
    let out = client
        .delete_table()
        .table_name("Going")
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert_eq!(out.table_status().unwrap().as_str(), "DELETING");
    // Described and listed, DELETING (DDB-TABLE-006, 008, 012, 076).
    let d = describe(&client, "Going").await;
    assert_eq!(status(&d), "DELETING");
    assert_eq!(d.table_name(), Some("Going"));
    let listed = client.list_tables().send().await.unwrap();
    assert_eq!(listed.table_names(), ["Going"]);
    // Changes are refused; the name is taken (DDB-TABLE-104, 455, 100).
    let busy = in_use("Table is being deleted: Going");
    for body in [
        json!({"TableName": "Going", "DeletionProtectionEnabled": true}),
        json!({"TableName": "Going", "BillingMode": "PAY_PER_REQUEST"}),
    ] {
        call(server.addr, "UpdateTable", body)
            .await
            .assert_error(RESOURCE_IN_USE, Some(&busy));
    }
    call(server.addr, "DeleteTable", json!({"TableName": "Going"}))
        .await
        .assert_error(RESOURCE_IN_USE, Some(&busy));
    let err = client
        .create_table()
        .table_name("Going")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(crate::warm_throughput::attr("id"))
        .key_schema(crate::warm_throughput::hash("id"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ResourceInUseException".to_owned(),
            "Table already exists: Going".to_owned()
        )
    );
    call(
        server.addr,
        "DescribeTimeToLive",
        json!({"TableName": "Going"}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(
            "Cannot describe time to live while table is in DELETING state: Current table state \
             is DELETING",
        ),
    );
    // Its items are gone at once.
    let get = call(
        server.addr,
        "GetItem",
        json!({"TableName": "Going", "Key": {"id": {"S": "a"}}}),
    )
    .await;
    assert_eq!(
        get.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    );
    // Then it is gone, and the name is free.
    clock.advance(DELAY);
    let gone = call(server.addr, "DescribeTable", json!({"TableName": "Going"})).await;
    assert_eq!(
        gone.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    );
    assert!(client
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .is_empty());
    on_demand_table(&client, "Going", None, None).await;
}

#[tokio::test]
async fn two_table_class_changes_in_30_days_under_throttling() {
    let (server, clock) = crate::warm_throughput::clocked_throttled().await;
    let client = server.client();
    on_demand_table(&client, "Classes", None, None).await;
    let class = |c: &str| {
        call(
            server.addr,
            "UpdateTable",
            json!({"TableName": "Classes", "TableClass": c}),
        )
    };
    // A re-send of the class it has is no change; two changes are.
    assert_eq!(class("STANDARD").await.status, 200);
    assert_eq!(class("STANDARD_INFREQUENT_ACCESS").await.status, 200);
    assert_eq!(class("STANDARD").await.status, 200);
    // Then any TableClass, even the current one, for 30 days (DDB-TABLE-443).
    let limited = "Subscriber limit exceeded: Updates to TableClass are limited to 2 times in 30 \
                   day(s).";
    for c in ["STANDARD_INFREQUENT_ACCESS", "STANDARD"] {
        class(c).await.assert_error(
            "com.amazonaws.dynamodb.v20120810#LimitExceededException",
            Some(limited),
        );
    }
    clock.advance(30 * 24 * 3_600_000);
    assert_eq!(class("STANDARD_INFREQUENT_ACCESS").await.status, 200);
}

#[tokio::test]
async fn a_tag_change_locks_the_tags_briefly_under_throttling() {
    let (server, clock) = crate::warm_throughput::clocked_throttled().await;
    let client = server.client();
    on_demand_table(&client, "Tagged", None, None).await;
    let arn = describe(&client, "Tagged")
        .await
        .table_arn()
        .unwrap()
        .to_owned();
    let tag = |k: &str, v: &str| {
        call(
            server.addr,
            "TagResource",
            json!({"ResourceArn": arn, "Tags": [{"Key": k, "Value": v}]}),
        )
    };
    let untag = |k: &str| {
        call(
            server.addr,
            "UntagResource",
            json!({"ResourceArn": arn, "TagKeys": [k]}),
        )
    };
    assert_eq!(tag("team", "a").await.status, 200);
    // Within the lock (DDB-TABLE-103, 172): another change, or any UntagResource, is refused;
    // the same pair again passes; DeleteTable is refused.
    let locked = "Subscriber limit exceeded: Table tags are being updated: Tagged";
    tag("team", "b").await.assert_error(
        "com.amazonaws.dynamodb.v20120810#LimitExceededException",
        Some(locked),
    );
    untag("absent").await.assert_error(
        "com.amazonaws.dynamodb.v20120810#LimitExceededException",
        Some(locked),
    );
    assert_eq!(tag("team", "a").await.status, 200);
    call(server.addr, "DeleteTable", json!({"TableName": "Tagged"}))
        .await
        .assert_error(
            RESOURCE_IN_USE,
            Some(&in_use("Table tags are being updated: Tagged")),
        );
    // Released once the change is readable.
    clock.advance(1_700);
    assert_eq!(untag("team").await.status, 200);
    clock.advance(1_700);
    assert_eq!(
        call(server.addr, "DeleteTable", json!({"TableName": "Tagged"}))
            .await
            .status,
        200
    );
}
