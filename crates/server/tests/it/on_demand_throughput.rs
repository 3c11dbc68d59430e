//! `OnDemandThroughput` values as DynamoDB checks and keeps them (the ack-api-quirks lab's
//! DDB-TABLE-038, 039, 051, 128, 153, 182; `binderdb_engine::capacity::on_demand`): refused at
//! creation below 1 or on a provisioned table, -1 clears a maximum in an UpdateTable and is
//! shown, a switch to PROVISIONED drops every maximum.

use serde_json::json;

use crate::common::{call, TestServer, VALIDATION};

const INVALID: &str = "One or more parameter values were invalid: ";

fn create(mode: &str, table: serde_json::Value, index: serde_json::Value) -> serde_json::Value {
    let mut gsi = json!({
        "IndexName": "g-a",
        "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        "OnDemandThroughput": index,
    });
    let mut body = json!({
        "TableName": "Odt",
        "BillingMode": mode,
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "gk", "AttributeType": "S"}
        ],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "OnDemandThroughput": table,
    });
    if mode == "PROVISIONED" {
        let t = json!({"ReadCapacityUnits": 5, "WriteCapacityUnits": 5});
        body["ProvisionedThroughput"] = t.clone();
        gsi["ProvisionedThroughput"] = t;
    }
    body["GlobalSecondaryIndexes"] = json!([gsi]);
    body
}

#[tokio::test]
async fn create_table_refuses_maxima_below_one_or_on_provisioned_tables() {
    let server = TestServer::memory().await;
    let range = |member: &str, target: &str| {
        format!("{INVALID}Requested {member} for OnDemandThroughput for {target} is outside of valid range")
    };
    for bad in [0, -1, -2] {
        call(
            server.addr,
            "CreateTable",
            create(
                "PAY_PER_REQUEST",
                json!({"MaxReadRequestUnits": bad, "MaxWriteRequestUnits": bad}),
                json!({}),
            ),
        )
        .await
        .assert_error(VALIDATION, Some(&range("MaxReadRequestUnits", "table")));
    }
    call(
        server.addr,
        "CreateTable",
        create(
            "PAY_PER_REQUEST",
            json!({}),
            json!({"MaxWriteRequestUnits": 0}),
        ),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(&range("MaxWriteRequestUnits", "index : g-a")),
    );
    call(
        server.addr,
        "CreateTable",
        create(
            "PROVISIONED",
            json!({"MaxWriteRequestUnits": 10}),
            json!({}),
        ),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(&format!(
            "{INVALID}MaxWriteRequestUnits for OnDemandThroughput cannot be specified when table \
             BillingMode is PROVISIONED."
        )),
    );
    call(
        server.addr,
        "CreateTable",
        create("PROVISIONED", json!({}), json!({"MaxReadRequestUnits": 10})),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(&format!(
            "{INVALID}MaxReadRequestUnits for OnDemandThroughput for index: g-a cannot be \
             specified when table BillingMode is PROVISIONED."
        )),
    );
    // None of those created it; one member alone is accepted.
    let ok = call(
        server.addr,
        "CreateTable",
        create(
            "PAY_PER_REQUEST",
            json!({"MaxReadRequestUnits": 100}),
            json!({"MaxWriteRequestUnits": 50}),
        ),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.json());
    assert_eq!(
        ok.json()["TableDescription"]["OnDemandThroughput"],
        json!({"MaxReadRequestUnits": 100})
    );
}

#[tokio::test]
async fn minus_one_clears_and_a_switch_to_provisioned_drops_every_maximum() {
    let server = TestServer::memory().await;
    let body = create(
        "PAY_PER_REQUEST",
        json!({"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50}),
        json!({"MaxReadRequestUnits": 30}),
    );
    assert_eq!(call(server.addr, "CreateTable", body).await.status, 200);
    let update = |odt: serde_json::Value| {
        call(
            server.addr,
            "UpdateTable",
            json!({"TableName": "Odt", "OnDemandThroughput": odt}),
        )
    };
    update(json!({"MaxWriteRequestUnits": 0}))
        .await
        .assert_error(
            VALIDATION,
            Some(&format!(
                "{INVALID}Requested MaxWriteRequestUnits for OnDemandThroughput for table is \
                 outside of valid range"
            )),
        );
    // -1 clears one member and is shown as -1; the other member keeps its value.
    let cleared = update(json!({"MaxWriteRequestUnits": -1})).await;
    assert_eq!(cleared.status, 200, "{}", cleared.json());
    let describe = || call(server.addr, "DescribeTable", json!({"TableName": "Odt"}));
    let d = describe().await.json();
    assert_eq!(
        d["Table"]["OnDemandThroughput"],
        json!({"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1})
    );
    assert_eq!(
        d["Table"]["GlobalSecondaryIndexes"][0]["OnDemandThroughput"],
        json!({"MaxReadRequestUnits": 30})
    );
    // To PROVISIONED: the table's and the index's maxima are gone (DDB-TABLE-153).
    let switched = call(
        server.addr,
        "UpdateTable",
        json!({
            "TableName": "Odt",
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            "GlobalSecondaryIndexUpdates": [{"Update": {
                "IndexName": "g-a",
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            }}]
        }),
    )
    .await;
    assert_eq!(switched.status, 200, "{}", switched.json());
    let d = describe().await.json();
    assert!(d["Table"].get("OnDemandThroughput").is_none(), "{d}");
    assert!(
        d["Table"]["GlobalSecondaryIndexes"][0]
            .get("OnDemandThroughput")
            .is_none(),
        "{d}"
    );
}

const LIMIT: &str = "com.amazonaws.dynamodb.v20120810#LimitExceededException";

#[tokio::test]
async fn capacity_above_the_per_table_quota_is_refused() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let suffix = "Refer to the Amazon DynamoDB Developer Guide for current limits and how to \
                  request higher limits.";
    // The table's throughput (DDB-TABLE-170, 393).
    let mut body = create("PROVISIONED", json!({}), json!({}));
    body["ProvisionedThroughput"] = json!({"ReadCapacityUnits": 40001, "WriteCapacityUnits": 5});
    call(addr, "CreateTable", body).await.assert_error(
        LIMIT,
        Some(&format!(
            "The requested ReadCapacityUnits, 40001, is above the per table maximum for the \
             account in us-east-1. Per table maximum: 40000. {suffix}"
        )),
    );
    // A global index's, on its own: the table's 40,000 and the index's 40,000 are both fine.
    let mut body = create("PROVISIONED", json!({}), json!({}));
    body["ProvisionedThroughput"] = json!({"ReadCapacityUnits": 40000, "WriteCapacityUnits": 5});
    body["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] =
        json!({"ReadCapacityUnits": 5, "WriteCapacityUnits": 40002});
    call(addr, "CreateTable", body.clone()).await.assert_error(
        LIMIT,
        Some(&format!(
            "The requested WriteCapacityUnits for index g-a, 40002, is above the per index \
             maximum for the account in us-east-1. Per index maximum: 40000. {suffix}"
        )),
    );
    body["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] =
        json!({"ReadCapacityUnits": 40000, "WriteCapacityUnits": 40000});
    let created = call(addr, "CreateTable", body).await;
    assert_eq!(created.status, 200, "{}", created.json());
    // An UpdateTable above it (DDB-TABLE-171).
    call(
        addr,
        "UpdateTable",
        json!({"TableName": "Odt",
               "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 40001}}),
    )
    .await
    .assert_error(
        LIMIT,
        Some(&format!(
            "The requested WriteCapacityUnits, 40001, is above the per table maximum for the \
             account in us-east-1. Per table maximum: 40000. {suffix}"
        )),
    );
    // An on-demand maximum above it (DDB-TABLE-154).
    call(
        addr,
        "CreateTable",
        create(
            "PAY_PER_REQUEST",
            json!({"MaxReadRequestUnits": 40001}),
            json!({}),
        ),
    )
    .await
    .assert_error(
        LIMIT,
        Some(
            "Subscriber limit exceeded: Requested MaxReadRequestUnits for OnDemandThroughput for \
             table exceeds TableMaxReadCapacityUnits of the account in region us-east-1",
        ),
    );
}
