//! Accounts and access control with configured keys: each key's account is its own namespace,
//! a key's policy and the tables' resource-based policies decide what it may do, and refusals
//! are AccessDeniedException in AWS's words.

use std::sync::Arc;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use aws_sdk_dynamodb::Client;
use binderdb_engine::{Config, SystemClock};
use binderdb_server::{Auth, Policy, Principal};

use crate::common::{test_store, TestServer};

const ADMIN: &str = "AKIDADMIN";
const OTHER: &str = "AKIDOTHER";
const READER: &str = "AKIDREADER";
const SECRET: &str = "secret";
const OTHER_ACCOUNT: &str = "111122223333";

fn principal(id: &str, account: Option<&str>, policy: Option<&str>) -> Principal {
    let mut p = Principal::new(id, SECRET);
    p.account = account.map(str::to_owned);
    p.policy = policy.map(|doc| Arc::new(Policy::parse(doc).unwrap()));
    p
}

async fn server(reader_policy: &str) -> TestServer {
    TestServer::with_auth(
        test_store(),
        Config::default(),
        Arc::new(SystemClock),
        Auth::with_principals([
            principal(ADMIN, None, None),
            principal(OTHER, Some(OTHER_ACCOUNT), None),
            principal(READER, None, Some(reader_policy)),
        ]),
    )
    .await
}

fn client(server: &TestServer, id: &str) -> Client {
    server.client_with_key("us-east-1", id, SECRET)
}

fn key(pk: &str) -> (String, AttributeValue) {
    ("pk".to_owned(), AttributeValue::S(pk.to_owned()))
}

/// The code and message of a refused call.
fn refusal<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or_default().to_owned(),
        e.message().unwrap_or_default().to_owned(),
    )
}

fn denied(
    user: &str,
    account: &str,
    action: &str,
    resource: &str,
    reason: &str,
) -> (String, String) {
    (
        "AccessDeniedException".to_owned(),
        format!(
            "User: arn:aws:iam::{account}:user/{user} is not authorized to perform: \
             dynamodb:{action} on resource: {resource} {reason}"
        ),
    )
}

const NO_ALLOW: &str = "because no identity-based policy allows the";

#[tokio::test]
async fn the_same_table_name_in_two_accounts_is_two_tables() {
    let server = server(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#).await;
    let (admin, other) = (client(&server, ADMIN), client(&server, OTHER));
    for c in [&admin, &other] {
        crate::common::create_table(c, "Shared", ("pk", ScalarAttributeType::S), None).await;
    }
    admin
        .put_item()
        .table_name("Shared")
        .item("pk", AttributeValue::S("a".into()))
        .item("owner", AttributeValue::S("admin".into()))
        .send()
        .await
        .unwrap();
    let seen = other
        .get_item()
        .table_name("Shared")
        .key("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
    assert!(seen.item().is_none(), "another account's item leaked");

    let arn = |c: &Client| {
        let c = c.clone();
        async move {
            c.describe_table()
                .table_name("Shared")
                .send()
                .await
                .unwrap()
                .table()
                .unwrap()
                .table_arn()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(
        arn(&admin).await,
        "arn:aws:dynamodb:us-east-1:000000000000:table/Shared"
    );
    assert_eq!(
        arn(&other).await,
        format!("arn:aws:dynamodb:us-east-1:{OTHER_ACCOUNT}:table/Shared")
    );
    // A table only one account has is invisible to the other.
    crate::common::create_table(&other, "Mine", ("pk", ScalarAttributeType::S), None).await;
    let names = |c: &Client| {
        let c = c.clone();
        async move { c.list_tables().send().await.unwrap().table_names().to_vec() }
    };
    assert_eq!(names(&admin).await, ["Shared"]);
    assert_eq!(names(&other).await, ["Mine", "Shared"]);
    let e = admin
        .describe_table()
        .table_name("Mine")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    // Tagging another account's table by its ARN finds nothing.
    let e = admin
        .list_tags_of_resource()
        .resource_arn(format!(
            "arn:aws:dynamodb:us-east-1:{OTHER_ACCOUNT}:table/Mine"
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn a_keys_policy_allows_and_denies_with_awss_messages() {
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["dynamodb:Get*","dynamodb:Describe*","dynamodb:Query"],
         "Resource":"arn:aws:dynamodb:*:*:table/Music*"},
        {"Effect":"Deny","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:*:*:table/MusicSecret"}
    ]}"#;
    let server = server(policy).await;
    let (admin, reader) = (client(&server, ADMIN), client(&server, READER));
    for name in ["Music", "MusicSecret", "Other"] {
        crate::common::create_table(&admin, name, ("pk", ScalarAttributeType::S), None).await;
    }
    let (k, v) = key("a");
    reader
        .get_item()
        .table_name("Music")
        .key(&k, v.clone())
        .send()
        .await
        .unwrap();
    let arn = |t: &str| format!("arn:aws:dynamodb:us-east-1:000000000000:table/{t}");

    let e = reader
        .put_item()
        .table_name("Music")
        .item(&k, v.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            "PutItem",
            &arn("Music"),
            &format!("{NO_ALLOW} dynamodb:PutItem action")
        )
    );
    let e = reader
        .get_item()
        .table_name("MusicSecret")
        .key(&k, v.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            "GetItem",
            &arn("MusicSecret"),
            "with an explicit deny in an identity-based policy"
        )
    );
    let e = reader.list_tables().send().await.unwrap_err();
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            "ListTables",
            "*",
            &format!("{NO_ALLOW} dynamodb:ListTables action")
        )
    );
    // A query on an index is checked against the index's ARN (which `table/Music*` covers).
    let e = reader
        .query()
        .table_name("Other")
        .index_name("ByYear")
        .key_condition_expression("pk = :a")
        .expression_attribute_values(":a", v.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            "Query",
            &format!("{}/index/ByYear", arn("Other")),
            &format!("{NO_ALLOW} dynamodb:Query action")
        )
    );
    // A transaction needs the action of each of its items.
    let e = reader
        .transact_get_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactGetItem::builder()
                .get(
                    aws_sdk_dynamodb::types::Get::builder()
                        .table_name("Other")
                        .key(&k, v.clone())
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            "GetItem",
            &arn("Other"),
            &format!("{NO_ALLOW} dynamodb:GetItem action")
        )
    );
    // The key without a policy may do everything.
    admin
        .put_item()
        .table_name("MusicSecret")
        .item(&k, v)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn resource_policies_grant_and_deny_too() {
    // The reader's own policy allows nothing on `Shared`.
    let server =
        server(r#"{"Statement":{"Effect":"Allow","Action":"dynamodb:ListTables","Resource":"*"}}"#)
            .await;
    let (admin, reader) = (client(&server, ADMIN), client(&server, READER));
    crate::common::create_table(&admin, "Shared", ("pk", ScalarAttributeType::S), None).await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Shared";
    let (k, v) = key("a");
    let get = |c: &Client| c.get_item().table_name("Shared").key(&k, v.clone()).send();
    assert!(get(&reader).await.is_err());

    // Stored in its canonical form (one-element lists as strings, the principal named twice
    // as one, `allow` as `Allow`), which is what access control evaluates.
    let reader_arn = format!("arn:aws:iam::000000000000:user/{READER}");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"allow","Principal":{{"AWS":["{reader_arn}","{reader_arn}"]}},
              "Action":["dynamodb:GetItem"],"Resource":["{arn}"]}},
            {{"Effect":"Deny","Principal":"*","Action":"dynamodb:DeleteItem","Resource":"{arn}"}}
        ]}}"#
    );
    admin
        .put_resource_policy()
        .resource_arn(arn)
        .policy(policy)
        .send()
        .await
        .unwrap();
    get(&reader).await.unwrap();
    // Explicit deny in the table's policy binds even a key with full access.
    let e = admin
        .delete_item()
        .table_name("Shared")
        .key(&k, v.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        denied(
            ADMIN,
            "000000000000",
            "DeleteItem",
            arn,
            "with an explicit deny in a resource-based policy"
        )
    );
    admin
        .delete_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    admin
        .delete_item()
        .table_name("Shared")
        .key(&k, v.clone())
        .send()
        .await
        .unwrap();
    assert!(get(&reader).await.is_err());
}

/// A PartiQL statement needs the PartiQL action of its kind on its table (or index), whatever
/// the operation that carries it.
#[tokio::test]
async fn partiql_statements_need_their_partiql_actions() {
    let policy = r#"{"Statement":[
        {"Effect":"Allow","Action":"dynamodb:PartiQLSelect","Resource":"*"},
        {"Effect":"Allow","Action":"dynamodb:PartiQLInsert","Resource":"arn:aws:dynamodb:*:*:table/Open"}
    ]}"#;
    let server = server(policy).await;
    let (admin, reader) = (client(&server, ADMIN), client(&server, READER));
    for name in ["Open", "Closed"] {
        crate::common::create_table(&admin, name, ("pk", ScalarAttributeType::S), None).await;
    }
    let arn = |t: &str| format!("arn:aws:dynamodb:us-east-1:000000000000:table/{t}");
    let out = reader
        .execute_statement()
        .statement(r#"SELECT * FROM "Closed" WHERE pk = 'a'"#)
        .send()
        .await
        .unwrap();
    assert!(out.items().is_empty());
    reader
        .execute_statement()
        .statement(r#"INSERT INTO "Open" VALUE {'pk': 'a'}"#)
        .send()
        .await
        .unwrap();
    let e = reader
        .execute_statement()
        .statement(r#"INSERT INTO "Closed" VALUE {'pk': 'a'}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            "PartiQLInsert",
            &arn("Closed"),
            &format!("{NO_ALLOW} dynamodb:PartiQLInsert action")
        )
    );
    let e = reader
        .execute_transaction()
        .transact_statements(
            aws_sdk_dynamodb::types::ParameterizedStatement::builder()
                .statement(r#"DELETE FROM "Open" WHERE pk = 'a'"#)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            "PartiQLDelete",
            &arn("Open"),
            &format!("{NO_ALLOW} dynamodb:PartiQLDelete action")
        )
    );
}

/// Backups belong to their table's account: another account neither lists nor finds them.
#[tokio::test]
async fn backups_stay_in_their_account() {
    let server = server(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#).await;
    let (admin, other) = (client(&server, ADMIN), client(&server, OTHER));
    crate::common::create_table(&admin, "Kept", ("pk", ScalarAttributeType::S), None).await;
    let arn = admin
        .create_backup()
        .table_name("Kept")
        .backup_name("nightly")
        .send()
        .await
        .unwrap()
        .backup_details()
        .unwrap()
        .backup_arn()
        .to_owned();
    assert!(arn.starts_with("arn:aws:dynamodb:us-east-1:000000000000:table/Kept/backup/"));
    let listed = admin.list_backups().send().await.unwrap();
    assert_eq!(listed.backup_summaries().len(), 1);
    let listed = other.list_backups().send().await.unwrap();
    assert!(listed.backup_summaries().is_empty());
    let e = other
        .describe_backup()
        .backup_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&e),
        (
            "BackupNotFoundException".to_owned(),
            format!("Backup not found: {arn}")
        )
    );
    let e = other
        .restore_table_from_backup()
        .backup_arn(&arn)
        .target_table_name("Copy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&e).0, "BackupNotFoundException");
}

#[tokio::test]
async fn contributor_insights_need_their_own_actions() {
    // DescribeContributorInsights is allowed on the table; UpdateContributorInsights on an index
    // is checked on the index's ARN; ListContributorInsights on `*`.
    let policy = r#"{"Statement":[
        {"Effect":"Allow","Action":"dynamodb:DescribeContributorInsights",
         "Resource":"arn:aws:dynamodb:*:*:table/Music"}
    ]}"#;
    let server = server(policy).await;
    let (admin, reader) = (client(&server, ADMIN), client(&server, READER));
    crate::common::create_table(&admin, "Music", ("pk", ScalarAttributeType::S), None).await;
    let out = reader
        .describe_contributor_insights()
        .table_name("Music")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.contributor_insights_status().unwrap().as_str(),
        "DISABLED"
    );
    let table = "arn:aws:dynamodb:us-east-1:000000000000:table/Music";
    let e = reader
        .update_contributor_insights()
        .table_name("Music")
        .index_name("byGenre")
        .contributor_insights_action(aws_sdk_dynamodb::types::ContributorInsightsAction::Enable)
        .send()
        .await
        .unwrap_err();
    let action = "UpdateContributorInsights";
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            action,
            &format!("{table}/index/byGenre"),
            &format!("{NO_ALLOW} dynamodb:{action} action")
        )
    );
    let e = reader.list_contributor_insights().send().await.unwrap_err();
    let action = "ListContributorInsights";
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            action,
            "*",
            &format!("{NO_ALLOW} dynamodb:{action} action")
        )
    );
}

#[tokio::test]
async fn creating_a_table_with_a_resource_policy_needs_put_resource_policy_too() {
    // The reader may create tables, and attach policies only to the table `Owned`.
    let policy = r#"{"Statement":[
        {"Effect":"Allow","Action":"dynamodb:CreateTable","Resource":"*"},
        {"Effect":"Allow","Action":"dynamodb:PutResourcePolicy",
         "Resource":"arn:aws:dynamodb:*:*:table/Owned"}
    ]}"#;
    let server = server(policy).await;
    let (admin, reader) = (client(&server, ADMIN), client(&server, READER));
    let doc = |table: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:user/{ADMIN}"}},"Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/{table}"}}]}}"#
        )
    };
    let create = |name: &str, with_policy: bool| {
        let mut request = reader
            .create_table()
            .table_name(name)
            .attribute_definitions(
                aws_sdk_dynamodb::types::AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                aws_sdk_dynamodb::types::KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest);
        if with_policy {
            request = request.resource_policy(doc(name));
        }
        request.send()
    };
    // Without a policy, CreateTable alone is enough.
    create("Plain", false).await.unwrap();
    // With one, PutResourcePolicy on the new table is needed as well, and nothing is created.
    let e = create("Other", true).await.unwrap_err();
    let action = "PutResourcePolicy";
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            action,
            "arn:aws:dynamodb:us-east-1:000000000000:table/Other",
            &format!("{NO_ALLOW} dynamodb:{action} action")
        )
    );
    let tables = admin.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["Plain"]);
    // Where both are allowed, the table is created with its policy.
    create("Owned", true).await.unwrap();
    let stored = admin
        .get_resource_policy()
        .resource_arn("arn:aws:dynamodb:us-east-1:000000000000:table/Owned")
        .send()
        .await
        .unwrap();
    assert!(stored.policy().unwrap().contains("table/Owned"));
}

#[tokio::test]
async fn kinesis_destinations_need_their_own_actions() {
    // DescribeKinesisStreamingDestination is allowed on the table, Enable is not.
    let policy = r#"{"Statement":[
        {"Effect":"Allow","Action":"dynamodb:DescribeKinesisStreamingDestination",
         "Resource":"arn:aws:dynamodb:*:*:table/Orders"}
    ]}"#;
    let server = server(policy).await;
    let (admin, reader) = (client(&server, ADMIN), client(&server, READER));
    crate::common::create_table(&admin, "Orders", ("pk", ScalarAttributeType::S), None).await;
    let out = reader
        .describe_kinesis_streaming_destination()
        .table_name("Orders")
        .send()
        .await
        .unwrap();
    assert!(out.kinesis_data_stream_destinations().is_empty());
    let e = reader
        .enable_kinesis_streaming_destination()
        .table_name("Orders")
        .stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/orders")
        .send()
        .await
        .unwrap_err();
    let action = "EnableKinesisStreamingDestination";
    assert_eq!(
        refusal(&e),
        denied(
            READER,
            "000000000000",
            action,
            "arn:aws:dynamodb:us-east-1:000000000000:table/Orders",
            &format!("{NO_ALLOW} dynamodb:{action} action")
        )
    );
}
