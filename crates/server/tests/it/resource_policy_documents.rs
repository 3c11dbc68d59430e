//! Resource-based policy documents as DynamoDB stores them: GetResourcePolicy returns the
//! canonical form, a Put of an equivalent document changes nothing (inside the 15 s cooldown
//! too), and malformed or unbounded documents are refused with DynamoDB's texts. The same
//! holds for a stream's policy and for CreateTable's `ResourcePolicy`.

use aws_sdk_dynamodb::types::{ScalarAttributeType, StreamSpecification, StreamViewType};
use aws_sdk_dynamodb::Client;

use crate::common::{create_table, create_table_request, error_parts, TestServer};

const INVALID: &str = "One or more parameter values were invalid: Invalid policy document: ";
const UNBOUNDED: &str = "Resource-based policy grants unbounded access in one or more elements. \
                         Please revise the policy to ensure least-privilege form of access";

fn arn(table: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}")
}

/// DDB-TABLE-208's example, as DynamoDB returns it, for `table`.
fn canonical(table: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AllowRead","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:root"}},"Action":"dynamodb:GetItem","Resource":"{}"}}]}}"#,
        arn(table)
    )
}

/// The same document pretty-printed, keys reversed, the account as a bare id and the action
/// as a one-element list.
fn pretty(table: &str) -> String {
    format!(
        r#"{{
    "Statement": [
        {{
            "Resource": "{}",
            "Action": [ "dynamodb:GetItem" ],
            "Principal": {{ "AWS": "000000000000" }},
            "Effect": "Allow",
            "Sid": "AllowRead"
        }}
    ],
    "Version": "2012-10-17"
}}"#,
        arn(table)
    )
}

async fn put(client: &Client, resource: &str, document: &str) -> String {
    client
        .put_resource_policy()
        .resource_arn(resource)
        .policy(document)
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap()
}

async fn get(client: &Client, resource: &str) -> (String, String) {
    let got = client
        .get_resource_policy()
        .resource_arn(resource)
        .send()
        .await
        .unwrap();
    (got.policy.unwrap(), got.revision_id.unwrap())
}

async fn refused(client: &Client, resource: &str, document: &str) -> (String, String) {
    error_parts(
        client
            .put_resource_policy()
            .resource_arn(resource)
            .policy(document)
            .send()
            .await
            .unwrap_err(),
    )
}

#[tokio::test]
async fn get_returns_the_canonical_document() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Canon", ("id", ScalarAttributeType::S), None).await;
    let table = arn("Canon");
    let revision = put(&client, &table, &pretty("Canon")).await;
    assert_eq!(get(&client, &table).await, (canonical("Canon"), revision));

    // A Statement object, a lowercase Effect, an escaped Sid, a principal named twice,
    // lists of two kept as sent, a one-element Condition value, and no Version: IAM's
    // default shows.
    let sent = r#"{"Statement": {"Sid": "V15\u0045sc", "Effect": "deny",
        "Principal": {"AWS": ["111122223333", "arn:aws:iam::111122223333:root"]},
        "Action": ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:GetItem"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ["111122223333"]}}}}"#;
    put(&client, &table, sent).await;
    assert_eq!(
        get(&client, &table).await.0,
        r#"{"Version":"2008-10-17","Statement":[{"Sid":"V15Esc","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["dynamodb:Query","dynamodb:GetItem","dynamodb:GetItem"],"Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}]}"#
    );

    // Whitespace counts toward the 20,480-byte limit but is not kept (DDB-TABLE-211).
    let padded = format!(
        "{}{}",
        " ".repeat(19_456 - canonical("Canon").len()),
        canonical("Canon")
    );
    put(&client, &table, &padded).await;
    assert_eq!(get(&client, &table).await.0, canonical("Canon"));
    let too_big = format!(
        "{}{}",
        " ".repeat(20_481 - canonical("Canon").len()),
        canonical("Canon")
    );
    assert_eq!(
        refused(&client, &table, &too_big).await,
        (
            "ValidationException".to_owned(),
            "One or more parameter values were invalid: Maximum policy size of 20480 bytes \
             exceeded"
                .to_owned()
        )
    );
}

#[tokio::test]
async fn equivalent_reputs_keep_the_revision() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Same", ("id", ScalarAttributeType::S), None).await;
    let table = arn("Same");
    let first = put(&client, &table, &pretty("Same")).await;
    // Minified, reordered, list or string, id or root ARN: one document (DDB-TABLE-207).
    let root = pretty("Same").replace(
        r#""AWS": "000000000000""#,
        r#""AWS": "arn:aws:iam::000000000000:root""#,
    );
    for equivalent in [canonical("Same"), root] {
        assert_eq!(put(&client, &table, &equivalent).await, first);
    }
    let other = canonical("Same").replace("GetItem", "Query");
    let second = put(&client, &table, &other).await;
    assert_ne!(second, first);
    // Revisions are change times, not content hashes: back to the first document is a change.
    let third = put(&client, &table, &pretty("Same")).await;
    assert!(third.parse::<u64>().unwrap() > second.parse::<u64>().unwrap());
    assert_eq!(
        get(&client, &table).await,
        (canonical("Same"), third.clone())
    );

    // A document without Version and its Get output (Version 2008-10-17) are different
    // documents; the same Version-less document twice is not (DDB-TABLE-354).
    let bare = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"dynamodb:GetItem","Resource":"*"}]}"#;
    let without = put(&client, &table, bare).await;
    assert_ne!(without, third);
    let (shown, _) = get(&client, &table).await;
    assert!(
        shown.starts_with(r#"{"Version":"2008-10-17","Statement":"#),
        "{shown}"
    );
    let with = put(&client, &table, &shown).await;
    assert_ne!(with, without);
    let again = put(&client, &table, bare).await;
    assert_ne!(again, with);
    assert_eq!(put(&client, &table, bare).await, again);
}

#[tokio::test]
async fn equivalent_reputs_pass_inside_the_cooldown() {
    let (server, clock) = crate::warm_throughput::clocked_throttled().await;
    let client = server.client();
    create_table(&client, "Cooling", ("id", ScalarAttributeType::S), None).await;
    let table = arn("Cooling");
    let revision = put(&client, &table, &canonical("Cooling")).await;
    // Both inside the first 2 s (ResourceInUse for a change) and later in the window
    // (Throttling for a change), an equivalent document is answered with the revision.
    for step in [1_000, 2_000] {
        clock.advance(step);
        assert_eq!(put(&client, &table, &pretty("Cooling")).await, revision);
    }
    let (code, _) = refused(
        &client,
        &table,
        &canonical("Cooling").replace("GetItem", "Query"),
    )
    .await;
    assert_eq!(code, "ThrottlingException");
    assert_eq!(get(&client, &table).await, (canonical("Cooling"), revision));
}

#[tokio::test]
async fn malformed_and_unbounded_documents_are_refused() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Strict", ("id", ScalarAttributeType::S), None).await;
    let table = arn("Strict");
    let revision = put(&client, &table, &canonical("Strict")).await;
    let statement = |sid: &str, effect: &str, principal: &str| {
        format!(
            r#"{{"Sid":"{sid}","Effect":"{effect}","Principal":{principal},"Action":"dynamodb:GetItem","Resource":"*"}}"#
        )
    };
    let validation = |message: String| ("ValidationException".to_owned(), message);
    let cases = [
        // DDB-TABLE-356.
        (
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{},{}]}}"#,
                statement("A", "Allow", r#"{"AWS":"000000000000"}"#),
                statement("A", "Deny", r#""*""#)
            ),
            validation(format!(
                "{INVALID}The Statement Ids in the policy are not unique"
            )),
        ),
        // DDB-TABLE-352/356: the value starts at column 81 of line 1.
        (
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
                statement("Bare", "Allow", r#""000000000000""#)
            ),
            validation(format!("{INVALID}Syntax error at position (1,81)")),
        ),
        (
            format!(
                r#"{{"Statement":[{}]}}"#,
                statement("Star", "Allow", r#""*""#)
            ),
            validation(UNBOUNDED.to_owned()),
        ),
        (
            format!(
                r#"{{"Statement":[{}]}}"#,
                statement("AwsStar", "allow", r#"{"AWS":"*"}"#)
            ),
            validation(UNBOUNDED.to_owned()),
        ),
        // DDB-TABLE-211.
        (
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"dynamodb:GetItem"}]}"#
                .to_owned(),
            validation(format!("{INVALID}Missing required field Resource")),
        ),
    ];
    for (document, expected) in cases {
        assert_eq!(
            refused(&client, &table, &document).await,
            expected,
            "{document}"
        );
    }
    // Refusals leave the policy as it was (DDB-TABLE-356); a Deny to everyone is accepted.
    assert_eq!(get(&client, &table).await, (canonical("Strict"), revision));
    put(
        &client,
        &table,
        &format!(r#"{{"Statement":[{}]}}"#, statement("D", "Deny", r#""*""#)),
    )
    .await;
}

#[tokio::test]
async fn stream_and_create_table_policies_are_canonical_too() {
    let (server, clock) = crate::warm_throughput::clocked_throttled().await;
    let client = server.client();
    let create = |name: &str, policy: String| {
        create_table_request(&client, name, ("id", ScalarAttributeType::S), None)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::KeysOnly)
                    .build()
                    .unwrap(),
            )
            .resource_policy(policy)
            .send()
    };
    // CreateTable checks the document as PutResourcePolicy does and creates nothing when it
    // is refused.
    let unbounded = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"dynamodb:GetItem","Resource":"*"}]}"#;
    let e = create("Born", unbounded.to_owned()).await.unwrap_err();
    assert_eq!(
        error_parts(e),
        ("ValidationException".to_owned(), UNBOUNDED.to_owned())
    );
    assert!(client
        .describe_table()
        .table_name("Born")
        .send()
        .await
        .is_err());
    // Stored canonical, with the creation time as its RevisionId (DDB-TABLE-233).
    let created = create("Born", pretty("Born")).await.unwrap();
    let table = created.table_description.unwrap();
    let created_at = table.creation_date_time.unwrap();
    let (document, revision) = get(&client, &arn("Born")).await;
    assert_eq!(document, canonical("Born"));
    assert_eq!(
        revision.parse::<i64>().unwrap(),
        created_at.to_millis().unwrap()
    );
    // Re-Putting an equivalent document is no change.
    clock.advance(1_000);
    assert_eq!(
        put(&client, &arn("Born"), &canonical("Born")).await,
        revision
    );

    // A stream's policy.
    let stream = table.latest_stream_arn.unwrap();
    let sent = format!(
        r#"{{ "Statement": {{ "Resource": ["{stream}"], "Action": ["dynamodb:GetRecords"],
             "Principal": {{"AWS": ["000000000000"]}}, "Effect": "allow" }} }}"#
    );
    let stream_revision = put(&client, &stream, &sent).await;
    let expected = format!(
        r#"{{"Version":"2008-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:root"}},"Action":"dynamodb:GetRecords","Resource":"{stream}"}}]}}"#
    );
    assert_eq!(
        get(&client, &stream).await,
        (expected, stream_revision.clone())
    );
    clock.advance(1_000);
    let reordered = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Resource":"{stream}","Principal":{{"AWS":"arn:aws:iam::000000000000:root"}},"Action":"dynamodb:GetRecords"}}]}}"#
    );
    assert_eq!(put(&client, &stream, &reordered).await, stream_revision);
    let (code, message) = refused(&client, &stream, unbounded).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", UNBOUNDED)
    );
}
