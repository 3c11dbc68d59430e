//! `BillingModeSummary` across billing-mode switches, as DynamoDB was observed to (the
//! ack-api-quirks lab's DDB-TABLE-033, 055, 058, 060, 064, 183, 452): a table provisioned
//! again keeps its `LastUpdateToPayPerRequestDateTime`; a switch to on-demand stamps it when it
//! completes; CreateTable and switch answers carry none; a table created provisioned has no
//! summary at all until it was on-demand (DDB-TABLE-025). The manual clock holds each switch in
//! flight; nothing here waits.

use aws_sdk_dynamodb::types::TableDescription;

use crate::updates_in_flight::{capacity, status, switch_to_provisioned, to_on_demand};
use crate::warm_throughput::{
    clocked, describe, on_demand_table, provisioned_table, throughput, DELAY,
};

/// `BillingModeSummary.LastUpdateToPayPerRequestDateTime`, in epoch seconds.
fn pay_per_request_since(d: &TableDescription) -> Option<i64> {
    d.billing_mode_summary()
        .and_then(|b| b.last_update_to_pay_per_request_date_time())
        .map(|t| t.secs())
}

fn mode(d: &TableDescription) -> String {
    capacity(d).0
}

#[tokio::test]
async fn last_update_to_pay_per_request_outlives_a_switch_to_provisioned() {
    let (server, clock) = clocked().await;
    let client = server.client();
    // The CreateTable answer has no LastUpdateToPayPerRequestDateTime; DescribeTable has the
    // creation's (DDB-TABLE-033).
    let created = on_demand_table(&client, "Stamp", None, None).await;
    assert_eq!(pay_per_request_since(&created), None);
    let created_at = created.creation_date_time().unwrap().secs();
    assert_eq!(
        pay_per_request_since(&describe(&client, "Stamp").await),
        Some(created_at)
    );
    clock.advance(DELAY);

    // On-demand -> provisioned: the answer names the new mode only (DDB-TABLE-060); the table
    // keeps the stamp of its on-demand past, during the switch and after (DDB-TABLE-055, 058).
    let out = switch_to_provisioned(&client, "Stamp").await;
    assert_eq!(mode(&out), "PROVISIONED");
    assert_eq!(pay_per_request_since(&out), None);
    for _ in 0..2 {
        let d = describe(&client, "Stamp").await;
        assert_eq!(mode(&d), "PROVISIONED");
        assert_eq!(pay_per_request_since(&d), Some(created_at));
        clock.advance(DELAY);
    }

    // Provisioned -> on-demand: the earlier stamp until the switch completes, then its own
    // (DDB-TABLE-064, 183, 452).
    let out = to_on_demand(&client, "Stamp").await;
    assert_eq!(mode(&out), "PAY_PER_REQUEST");
    assert_eq!(pay_per_request_since(&out), None);
    let d = describe(&client, "Stamp").await;
    assert_eq!(status(&d), "UPDATING");
    assert_eq!(pay_per_request_since(&d), Some(created_at));
    clock.advance(DELAY);
    let d = describe(&client, "Stamp").await;
    assert_eq!(status(&d), "ACTIVE");
    let switched = pay_per_request_since(&d).unwrap();
    assert_eq!(switched, created_at + 4 * DELAY as i64 / 1000);

    // A table created provisioned has none until its first switch completes (DDB-TABLE-183).
    provisioned_table(&client, "Never").await;
    clock.advance(DELAY);
    assert_eq!(
        pay_per_request_since(&describe(&client, "Never").await),
        None
    );
    to_on_demand(&client, "Never").await;
    assert_eq!(
        pay_per_request_since(&describe(&client, "Never").await),
        None
    );
    clock.advance(DELAY);
    assert!(pay_per_request_since(&describe(&client, "Never").await).is_some());
}

/// A table created provisioned has no `BillingModeSummary` in any answer (CreateTable,
/// DescribeTable, a throughput change, DeleteTable) until it has been on-demand; from then on it
/// has one, also once provisioned again (DDB-TABLE-025, 058).
#[tokio::test]
async fn a_table_created_provisioned_has_no_summary_until_it_was_on_demand() {
    let (server, clock) = clocked().await;
    let client = server.client();
    let created = provisioned_table(&client, "Prov").await;
    assert!(created.billing_mode_summary().is_none());
    assert!(created.provisioned_throughput().is_some());
    clock.advance(DELAY);
    assert!(describe(&client, "Prov")
        .await
        .billing_mode_summary()
        .is_none());
    let raised = client
        .update_table()
        .table_name("Prov")
        .provisioned_throughput(throughput(6, 8))
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert!(raised.billing_mode_summary().is_none());
    clock.advance(DELAY);
    let d = describe(&client, "Prov").await;
    assert!(d.billing_mode_summary().is_none());
    assert_eq!(capacity(&d), ("PROVISIONED".to_owned(), 6, 8));
    let deleted = client
        .delete_table()
        .table_name("Prov")
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    assert!(deleted.billing_mode_summary().is_none());

    // On-demand once, then provisioned again: the summary stays, with the on-demand stamp.
    provisioned_table(&client, "Once").await;
    clock.advance(DELAY);
    let out = to_on_demand(&client, "Once").await;
    assert_eq!(mode(&out), "PAY_PER_REQUEST");
    clock.advance(DELAY);
    switch_to_provisioned(&client, "Once").await;
    clock.advance(DELAY);
    let d = describe(&client, "Once").await;
    assert!(d.billing_mode_summary().is_some());
    assert_eq!(mode(&d), "PROVISIONED");
    assert!(pay_per_request_since(&d).is_some());
}
