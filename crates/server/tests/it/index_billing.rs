//! A global secondary index added by UpdateTable takes its throughput from the table's billing
//! mode, and DynamoDB words the refusal its own way there (the ack-api-quirks lab's
//! DDB-TABLE-442): CreateTable says "ProvisionedThroughput should not be specified for index",
//! UpdateTable "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index".

use aws_sdk_dynamodb::types::{
    CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate, Projection, ProjectionType,
};

use crate::common::{error_parts, TestServer};
use crate::warm_throughput::{attr, describe, hash, on_demand_table, throughput};

#[tokio::test]
async fn an_on_demand_table_refuses_a_new_index_with_provisioned_throughput() {
    let server = TestServer::memory().await;
    let client = server.client();
    on_demand_table(&client, "OnDemand", None, None).await;
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name("byOther")
        .key_schema(hash("other"))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .provisioned_throughput(throughput(4, 5))
        .build()
        .unwrap();
    let err = client
        .update_table()
        .table_name("OnDemand")
        .attribute_definitions(attr("other"))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(create).build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor \
             WriteCapacityUnits can be specified for index: byOther when BillingMode is \
             PAY_PER_REQUEST"
                .to_owned()
        )
    );
    // Nothing was added.
    let indexes = describe(&client, "OnDemand").await;
    assert!(indexes
        .global_secondary_indexes()
        .iter()
        .all(|i| i.index_name() != Some("byOther")));
}
