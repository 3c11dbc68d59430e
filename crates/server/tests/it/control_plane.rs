//! The rest of the control plane: resource-based policies (stored with a RevisionId, not
//! enforced), DescribeLimits, TableClass; all durable and gone with the table.

use aws_sdk_dynamodb::types::{ScalarAttributeType, TableClass};
use serde_json::json;

use crate::common::{call, create_table, error_parts, TestServer, NOT_FOUND, VALIDATION};

const POLICY_NOT_FOUND: &str = "com.amazonaws.dynamodb.v20120810#PolicyNotFoundException";

fn arn(table: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}")
}

/// A policy document in the canonical form DynamoDB returns it in (see
/// `resource_policy_documents`), so that GetResourcePolicy hands back the same text.
fn policy(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:root"}},"Action":"{action}","Resource":"*"}}]}}"#
    )
}

#[tokio::test]
async fn resource_policy_revisions() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Guarded", ("id", ScalarAttributeType::S), None).await;
    let table = arn("Guarded");

    let none = format!("Resource-based policy not found for the provided ResourceArn: {table}");
    call(
        server.addr,
        "GetResourcePolicy",
        json!({"ResourceArn": table}),
    )
    .await
    .assert_error(POLICY_NOT_FOUND, Some(&none));
    call(
        server.addr,
        "DeleteResourcePolicy",
        json!({"ResourceArn": table}),
    )
    .await
    .assert_error(POLICY_NOT_FOUND, Some(&none));

    let first = client
        .put_resource_policy()
        .resource_arn(&table)
        .policy(policy("dynamodb:GetItem"))
        .expected_revision_id("NO_POLICY")
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    let got = client
        .get_resource_policy()
        .resource_arn(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.policy.as_deref(),
        Some(policy("dynamodb:GetItem").as_str())
    );
    assert_eq!(got.revision_id.as_deref(), Some(first.as_str()));

    // The same document again keeps its revision; another one gets a later one.
    let same = client
        .put_resource_policy()
        .resource_arn(&table)
        .policy(policy("dynamodb:GetItem"))
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    assert_eq!(same, first);
    let second = client
        .put_resource_policy()
        .resource_arn(&table)
        .policy(policy("dynamodb:PutItem"))
        .expected_revision_id(&first)
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    assert!(second.parse::<u64>().unwrap() > first.parse::<u64>().unwrap());

    // Expectations that do not hold.
    call(
        server.addr,
        "PutResourcePolicy",
        json!({"ResourceArn": table, "Policy": policy("dynamodb:Query"), "ExpectedRevisionId": "NO_POLICY"}),
    )
    .await
    .assert_error(POLICY_NOT_FOUND, Some(&format!("Resource-based policy not found for the provided ResourceArn: Requested policy update expecting none to be present for table Guarded, but a policy exists with revision id {second}.")));
    let stale = format!("Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id {first}, but the policy associated to target table Guarded has revision id {second}.");
    call(
        server.addr,
        "PutResourcePolicy",
        json!({"ResourceArn": table, "Policy": policy("dynamodb:Query"), "ExpectedRevisionId": first}),
    )
    .await
    .assert_error(POLICY_NOT_FOUND, Some(&stale));
    call(
        server.addr,
        "DeleteResourcePolicy",
        json!({"ResourceArn": table, "ExpectedRevisionId": first}),
    )
    .await
    .assert_error(POLICY_NOT_FOUND, Some(&stale));

    let deleted = call(
        server.addr,
        "DeleteResourcePolicy",
        json!({"ResourceArn": table, "ExpectedRevisionId": second}),
    )
    .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json(), json!({"RevisionId": second}));
    call(
        server.addr,
        "GetResourcePolicy",
        json!({"ResourceArn": table}),
    )
    .await
    .assert_error(POLICY_NOT_FOUND, Some(&none));
}

#[tokio::test]
async fn resource_policy_validation() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Checked", ("id", ScalarAttributeType::S), None).await;
    let table = arn("Checked");
    let invalid = "One or more parameter values were invalid: ";
    let cases = [
        (
            json!({}),
            "2 validation errors detected: Value null at 'resourceArn' failed to satisfy constraint: Member must not be null; Value null at 'policy' failed to satisfy constraint: Member must not be null".to_owned(),
        ),
        (
            json!({"ResourceArn": table, "Policy": "{", "ExpectedRevisionId": ""}),
            "1 validation error detected: Value '' at 'expectedRevisionId' failed to satisfy constraint: Member must have length greater than or equal to 1".to_owned(),
        ),
        (
            json!({"ResourceArn": "arn:aws:dynamodb:eu-west-1:000000000000:table/Checked", "Policy": policy("dynamodb:GetItem")}),
            format!("{invalid}Invalid resource Arn: arn:aws:dynamodb:eu-west-1:000000000000:table/Checked"),
        ),
        (
            json!({"ResourceArn": table, "Policy": "{"}),
            format!("{invalid}Invalid policy document: This policy contains invalid Json"),
        ),
        (
            json!({"ResourceArn": table, "Policy": r#"{"Statement": []}"#}),
            format!("{invalid}Invalid policy document: Could not parse the policy: Statement is empty!"),
        ),
        (
            json!({"ResourceArn": table, "Policy": format!(r#"{{"Statement": [{{"Effect": "Allow", "Sid": "{}"}}]}}"#, "x".repeat(20480))}),
            format!("{invalid}Maximum policy size of 20480 bytes exceeded"),
        ),
    ];
    for (body, message) in cases {
        call(server.addr, "PutResourcePolicy", body)
            .await
            .assert_error(VALIDATION, Some(&message));
    }
    call(
        server.addr,
        "GetResourcePolicy",
        json!({"ResourceArn": format!("{table}/index/gsi")}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some(&format!("{invalid}Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {table}/index/gsi")),
    );
    for op in ["GetResourcePolicy", "DeleteResourcePolicy"] {
        call(server.addr, op, json!({"ResourceArn": arn("Nope")}))
            .await
            .assert_error(
                NOT_FOUND,
                Some("Requested resource not found: Table: Nope not found"),
            );
    }
    call(
        server.addr,
        "PutResourcePolicy",
        json!({"ResourceArn": arn("Nope"), "Policy": policy("dynamodb:GetItem")}),
    )
    .await
    .assert_error(
        NOT_FOUND,
        Some("Requested resource not found: Table: Nope not found"),
    );
}

#[tokio::test]
async fn describe_limits() {
    let server = TestServer::memory().await;
    let limits = server.client().describe_limits().send().await.unwrap();
    assert_eq!(limits.account_max_read_capacity_units, Some(80000));
    assert_eq!(limits.account_max_write_capacity_units, Some(80000));
    assert_eq!(limits.table_max_read_capacity_units, Some(40000));
    assert_eq!(limits.table_max_write_capacity_units, Some(40000));
    let raw = call(server.addr, "DescribeLimits", json!({})).await;
    assert_eq!(
        raw.json(),
        json!({
            "AccountMaxReadCapacityUnits": 80000,
            "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": 40000,
            "TableMaxWriteCapacityUnits": 40000
        })
    );
}

#[tokio::test]
async fn table_class_is_stored_described_and_changed() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Classy", ("id", ScalarAttributeType::S), None).await;
    // A STANDARD table describes no TableClassSummary.
    let raw = call(server.addr, "DescribeTable", json!({"TableName": "Classy"})).await;
    assert!(raw.json()["Table"].get("TableClassSummary").is_none());

    let updated = client
        .update_table()
        .table_name("Classy")
        .table_class(TableClass::StandardInfrequentAccess)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    // No create delay: the change is done at once, stamped with its completion.
    let summary = updated.table_class_summary.unwrap();
    assert_eq!(
        summary.table_class,
        Some(TableClass::StandardInfrequentAccess)
    );
    let stamped = summary.last_update_date_time.unwrap().secs();
    let raw = call(server.addr, "DescribeTable", json!({"TableName": "Classy"})).await;
    assert_eq!(
        raw.json()["Table"]["TableClassSummary"]["TableClass"],
        json!("STANDARD_INFREQUENT_ACCESS")
    );
    assert_eq!(
        raw.json()["Table"]["TableClassSummary"]["LastUpdateDateTime"]
            .as_f64()
            .unwrap() as i64,
        stamped
    );
    let bad = client
        .update_table()
        .table_name("Classy")
        .table_class(TableClass::from("GLACIER"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(bad),
        (
            "ValidationException".to_owned(),
            // Not the generic enum text (DDB-TABLE-442).
            "Invalid table-class parameter provided. Please try again with a valid table-class value: [STANDARD, STANDARD_INFREQUENT_ACCESS].".to_owned()
        )
    );
}

#[tokio::test]
async fn control_plane_metadata_survives_a_restart_and_goes_with_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    create_table(&client, "Kept", ("id", ScalarAttributeType::S), None).await;
    let revision = client
        .put_resource_policy()
        .resource_arn(arn("Kept"))
        .policy(policy("dynamodb:GetItem"))
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    // Each must be the only change of its request (DDB-TABLE-433).
    client
        .update_table()
        .table_name("Kept")
        .table_class(TableClass::StandardInfrequentAccess)
        .send()
        .await
        .unwrap();
    client
        .update_table()
        .table_name("Kept")
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap();
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    let got = client
        .get_resource_policy()
        .resource_arn(arn("Kept"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.revision_id, Some(revision));
    let d = client
        .describe_table()
        .table_name("Kept")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        d.table_class_summary.unwrap().table_class,
        Some(TableClass::StandardInfrequentAccess)
    );
    assert_eq!(d.deletion_protection_enabled, Some(true));
    let err = client
        .delete_table()
        .table_name("Kept")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.".to_owned()
        )
    );
    client
        .update_table()
        .table_name("Kept")
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    client
        .delete_table()
        .table_name("Kept")
        .send()
        .await
        .unwrap();
    server.stop().await;

    // Recreated after a restart: no policy from the old table.
    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    create_table(&client, "Kept", ("id", ScalarAttributeType::S), None).await;
    call(
        server.addr,
        "GetResourcePolicy",
        json!({"ResourceArn": arn("Kept")}),
    )
    .await
    .assert_error(
        POLICY_NOT_FOUND,
        Some(&format!(
            "Resource-based policy not found for the provided ResourceArn: {}",
            arn("Kept")
        )),
    );
}

/// A stream's ARN takes a policy of its own, beside the table's; an ARN naming a stream the
/// table does not have is not found.
#[tokio::test]
async fn resource_policies_attach_to_streams_too() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    let created = call(
        addr,
        "CreateTable",
        json!({"TableName": "Streamed",
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
               "BillingMode": "PAY_PER_REQUEST",
               "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.json());
    let stream = created.json()["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_owned();

    let put = call(
        addr,
        "PutResourcePolicy",
        json!({"ResourceArn": stream, "Policy": policy("dynamodb:GetRecords")}),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.json());
    let revision = put.json()["RevisionId"].as_str().unwrap().to_owned();
    let got = call(addr, "GetResourcePolicy", json!({"ResourceArn": stream})).await;
    assert_eq!(got.status, 200, "{}", got.json());
    assert_eq!(got.json()["Policy"], policy("dynamodb:GetRecords").as_str());
    assert_eq!(got.json()["RevisionId"], revision.as_str());

    // The table's own policy is a separate one: still none.
    let table = arn("Streamed");
    call(addr, "GetResourcePolicy", json!({"ResourceArn": table}))
        .await
        .assert_error(
            POLICY_NOT_FOUND,
            Some(&format!(
                "Resource-based policy not found for the provided ResourceArn: {table}"
            )),
        );

    let deleted = call(addr, "DeleteResourcePolicy", json!({"ResourceArn": stream})).await;
    assert_eq!(deleted.status, 200, "{}", deleted.json());
    assert_eq!(deleted.json()["RevisionId"], revision.as_str());
    call(addr, "GetResourcePolicy", json!({"ResourceArn": stream}))
        .await
        .assert_error(
            POLICY_NOT_FOUND,
            Some(&format!(
                "Resource-based policy not found for the provided ResourceArn: {stream}"
            )),
        );

    let missing = format!("{table}/stream/2001-01-01T00:00:00.000");
    let r = call(
        addr,
        "PutResourcePolicy",
        json!({"ResourceArn": missing, "Policy": policy("dynamodb:GetRecords")}),
    )
    .await;
    assert_eq!(r.json()["__type"], NOT_FOUND, "{}", r.json());
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn policy_changes_are_refused_for_15_seconds_under_throttling() {
    let (server, clock) = crate::warm_throughput::clocked_throttled().await;
    create_table(
        &server.client(),
        "Cool",
        ("id", ScalarAttributeType::S),
        None,
    )
    .await;
    let table = arn("Cool");
    let put = |document: String, expected: Option<&str>| {
        let mut body = json!({"ResourceArn": table, "Policy": document});
        if let Some(expected) = expected {
            body["ExpectedRevisionId"] = json!(expected);
        }
        call(server.addr, "PutResourcePolicy", body)
    };
    let first = put(policy("dynamodb:GetItem"), None).await;
    assert_eq!(first.status, 200, "{}", first.json());
    let revision = first.json()["RevisionId"].as_str().unwrap().to_owned();
    let in_use = "Attempt to change a resource which is still in use: Table is pending previous \
                  resource-based policy update: Cool";
    let throttled = "Resource-based policy for table Cool modified within the previous 15000 \
                     milliseconds. Please try again after 2023-11-14T22:13:35.000Z.";
    // While the change is applied: ResourceInUseException (DDB-TABLE-206).
    clock.advance(1_000);
    put(policy("dynamodb:PutItem"), None)
        .await
        .assert_error(crate::common::IN_USE, Some(in_use));
    // The same document again is answered as always, with its revision.
    let again = put(policy("dynamodb:GetItem"), None).await;
    assert_eq!(again.json()["RevisionId"], json!(revision));
    // Then ThrottlingException until 15 s after the change, for a Put or a Delete; with the
    // current ExpectedRevisionId, ResourceInUseException; with a stale one, the revision check
    // first (PolicyNotFoundException).
    clock.advance(1_500);
    put(policy("dynamodb:PutItem"), None).await.assert_error(
        "com.amazon.coral.availability#ThrottlingException",
        Some(throttled),
    );
    call(
        server.addr,
        "DeleteResourcePolicy",
        json!({"ResourceArn": table}),
    )
    .await
    .assert_error(
        "com.amazon.coral.availability#ThrottlingException",
        Some(throttled),
    );
    put(policy("dynamodb:PutItem"), Some(&revision))
        .await
        .assert_error(crate::common::IN_USE, Some(in_use));
    let stale = put(policy("dynamodb:PutItem"), Some("1")).await;
    assert_eq!(stale.json()["__type"], json!(POLICY_NOT_FOUND));
    clock.advance(12_500);
    let later = put(policy("dynamodb:PutItem"), Some(&revision)).await;
    assert_eq!(later.status, 200, "{}", later.json());
    // A Delete starts a window too.
    clock.advance(15_000);
    let deleted = call(
        server.addr,
        "DeleteResourcePolicy",
        json!({"ResourceArn": table}),
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.json());
    clock.advance(3_000);
    let refused = put(policy("dynamodb:GetItem"), None).await;
    assert_eq!(
        refused.json()["__type"],
        json!("com.amazon.coral.availability#ThrottlingException")
    );
}

/// On a throttled table, DeleteTable waits for a table policy change to be applied, in its own
/// words (DDB-TABLE-444), then goes ahead: the policy's 15 s cooldown does not bind it.
#[tokio::test]
async fn delete_table_waits_for_a_policy_change_under_throttling() {
    let (server, clock) = crate::warm_throughput::clocked_throttled().await;
    let client = server.client();
    create_table(&client, "Doomed", ("id", ScalarAttributeType::S), None).await;
    client
        .put_resource_policy()
        .resource_arn(arn("Doomed"))
        .policy(policy("dynamodb:GetItem"))
        .send()
        .await
        .unwrap();
    clock.advance(1_000);
    let err = client
        .delete_table()
        .table_name("Doomed")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ResourceInUseException".to_owned(),
            "Attempt to change a resource which is still in use: Table: Doomed has a pending \
             resource-based policy update."
                .to_owned()
        )
    );
    clock.advance(1_500);
    client
        .delete_table()
        .table_name("Doomed")
        .send()
        .await
        .unwrap();
}
