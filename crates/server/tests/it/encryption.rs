//! Server-side encryption settings (`SSESpecification` / `SSEDescription`), as DynamoDB was
//! observed to keep them (the ack-api-quirks lab's findings cited in `binderdb_engine::sse`):
//! what CreateTable, UpdateTable, restores and ImportTable's table take, how a change shows while
//! it is in flight (the manual clock holds it there), and DynamoDB's refusals with their texts.

use aws_sdk_dynamodb::types::{
    BillingMode, SseDescription, SseSpecification, SseStatus, SseType, TableDescription,
};
use aws_sdk_dynamodb::Client;
use serde_json::json;

use crate::common::{call, create_table, error_parts, TestServer, VALIDATION};
use crate::warm_throughput::{clocked, describe, DELAY};

const INVALID: &str = "One or more parameter values were invalid: ";

/// An `SSESpecification`; one that names a key says `SSEType: KMS` too, which DynamoDB requires
/// (DDB-TABLE-442).
fn spec(enabled: Option<bool>, key: Option<&str>) -> SseSpecification {
    SseSpecification::builder()
        .set_enabled(enabled)
        .set_sse_type(key.map(|_| SseType::Kms))
        .set_kms_master_key_id(key.map(str::to_owned))
        .build()
}

/// Creates on-demand table `name` (key `id`) with `sse` and returns CreateTable's answer.
async fn table_with(
    client: &Client,
    name: &str,
    sse: Option<SseSpecification>,
) -> TableDescription {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(crate::warm_throughput::attr("id"))
        .key_schema(crate::warm_throughput::hash("id"))
        .set_sse_specification(sse)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

async fn update(client: &Client, name: &str, sse: SseSpecification) -> TableDescription {
    client
        .update_table()
        .table_name(name)
        .sse_specification(sse)
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap()
}

async fn update_error(client: &Client, name: &str, sse: SseSpecification) -> (String, String) {
    error_parts(
        client
            .update_table()
            .table_name(name)
            .sse_specification(sse)
            .send()
            .await
            .unwrap_err(),
    )
}

/// `(Status, SSEType, KMSMasterKeyArn)` of a description.
fn sse(d: &TableDescription) -> Option<(String, Option<String>, Option<String>)> {
    d.sse_description().map(|s: &SseDescription| {
        (
            s.status().unwrap().as_str().to_owned(),
            s.sse_type().map(|t| t.as_str().to_owned()),
            s.kms_master_key_arn().map(str::to_owned),
        )
    })
}

/// A description UPDATING away from the KMS key `arn`.
fn updating_from(arn: &str) -> Option<(String, Option<String>, Option<String>)> {
    Some((
        "UPDATING".to_owned(),
        Some("KMS".to_owned()),
        Some(arn.to_owned()),
    ))
}

/// The key ARN of an ENABLED description.
fn enabled_key(d: &TableDescription) -> String {
    let (status, sse_type, arn) = sse(d).expect("an SSEDescription");
    assert_eq!(status, "ENABLED");
    assert_eq!(sse_type.as_deref(), Some("KMS"));
    arn.unwrap()
}

#[tokio::test]
async fn create_table_keeps_the_requested_key() {
    let server = TestServer::memory().await;
    let client = server.client();
    // No SSESpecification, `{}` and `Enabled: false`: an AWS owned key, no SSEDescription.
    for (name, asked) in [
        ("Owned", None),
        ("Empty", Some(SseSpecification::builder().build())),
        ("Off", Some(spec(Some(false), None))),
    ] {
        assert_eq!(sse(&table_with(&client, name, asked).await), None);
        assert_eq!(sse(&describe(&client, name).await), None, "{name}");
    }
    // `Enabled: true`: the account's AWS managed key; `SSEType: KMS` alone and the alias
    // `alias/aws/dynamodb` name the same key (DDB-TABLE-044).
    let managed = enabled_key(&table_with(&client, "Managed", Some(spec(Some(true), None))).await);
    assert!(
        managed.starts_with("arn:aws:kms:us-east-1:000000000000:key/"),
        "{managed}"
    );
    assert_eq!(enabled_key(&describe(&client, "Managed").await), managed);
    let typed = SseSpecification::builder().sse_type(SseType::Kms).build();
    assert_eq!(
        enabled_key(&table_with(&client, "Typed", Some(typed)).await),
        managed
    );
    let alias = spec(Some(true), Some("alias/aws/dynamodb"));
    assert_eq!(
        enabled_key(&table_with(&client, "Alias", Some(alias)).await),
        managed
    );
    // A key ARN is kept as given; a key id becomes its ARN; another alias another key, the
    // same one each time.
    let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_eq!(
        enabled_key(&table_with(&client, "ByArn", Some(spec(Some(true), Some(arn)))).await),
        arn
    );
    let id = spec(Some(true), Some("1234abcd-12ab-34cd-56ef-1234567890ab"));
    assert_eq!(
        enabled_key(&table_with(&client, "KeyId", Some(id)).await),
        "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    );
    let mine =
        enabled_key(&table_with(&client, "Mine", Some(spec(Some(true), Some("alias/mine")))).await);
    assert_ne!(mine, managed);
    assert_eq!(
        enabled_key(
            &table_with(&client, "Mine2", Some(spec(Some(true), Some("alias/mine")))).await
        ),
        mine
    );
}

#[tokio::test]
async fn create_table_refuses_what_dynamodb_refuses() {
    let server = TestServer::memory().await;
    let client = server.client();
    let aes = SseSpecification::builder()
        .enabled(true)
        .sse_type(SseType::Aes256)
        .build();
    let err = client
        .create_table()
        .table_name("Aes")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(crate::warm_throughput::attr("id"))
        .key_schema(crate::warm_throughput::hash("id"))
        .sse_specification(aes)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            format!("{INVALID}SSEType AES256 is not supported")
        )
    );
    // An SSEType outside the enumeration fails the request's shape.
    let body = |sse_type: &str| {
        json!({
            "TableName": "Odd",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "SSESpecification": {"Enabled": true, "SSEType": sse_type},
        })
    };
    call(server.addr, "CreateTable", body("DES"))
        .await
        .assert_error(
            VALIDATION,
            Some(
                "1 validation error detected: Value 'DES' at 'sSESpecification.sSEType' failed \
                 to satisfy constraint: Member must satisfy enum value set: [AES256, KMS]",
            ),
        );
    // Neither created a table.
    let tables = client.list_tables().send().await.unwrap();
    assert!(tables.table_names().is_empty(), "{tables:?}");
}

#[tokio::test]
async fn update_table_changes_the_key_and_refuses_no_ops() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(
        &client,
        "Tbl",
        ("id", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .await;
    // Disabling on a table with an AWS owned key (DDB-TABLE-018).
    assert_eq!(
        update_error(&client, "Tbl", spec(Some(false), None)).await,
        (
            "ValidationException".to_owned(),
            format!("{INVALID}Table is already encrypted by default")
        )
    );
    // With another change in the same request (DDB-TABLE-433).
    let err = client
        .update_table()
        .table_name("Tbl")
        .sse_specification(spec(Some(true), None))
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            format!(
                "{INVALID}Server-Side Encryption modification must be the only operation in the \
                 request"
            )
        )
    );
    // Enabling (no create delay: done at once); the table stays ACTIVE.
    let out = update(&client, "Tbl", spec(Some(true), None)).await;
    assert_eq!(out.table_status().unwrap().as_str(), "ACTIVE");
    let managed = enabled_key(&out);
    assert_eq!(enabled_key(&describe(&client, "Tbl").await), managed);
    assert!(!describe(&client, "Tbl")
        .await
        .deletion_protection_enabled()
        .unwrap());
    // Naming the current key by its ARN changes nothing and is refused (DDB-TABLE-082, 141);
    // by its alias it re-encrypts with the same key.
    assert_eq!(
        update_error(&client, "Tbl", spec(Some(true), Some(&managed))).await,
        (
            "ValidationException".to_owned(),
            format!(
                "{INVALID}Table is already encrypted with given KMSMasterKeyId. Use \
                 KMSMasterKeyId parameter if you want to change Master Key"
            )
        )
    );
    let again = update(&client, "Tbl", spec(Some(true), Some("alias/aws/dynamodb"))).await;
    assert_eq!(enabled_key(&again), managed);
    // Another key, then back to an AWS owned key.
    let arn = "arn:aws:kms:us-east-1:000000000000:key/5494d1e8-65e0-4fdc-9814-07e049320145";
    assert_eq!(
        enabled_key(&update(&client, "Tbl", spec(Some(true), Some(arn))).await),
        arn
    );
    assert_eq!(
        sse(&update(&client, "Tbl", spec(Some(false), None)).await),
        None
    );
    assert_eq!(sse(&describe(&client, "Tbl").await), None);
    // The UpdateTable member alone is a change: not "nothing to update".
    assert_eq!(
        update_error(&client, "Tbl", spec(Some(false), None))
            .await
            .1,
        format!("{INVALID}Table is already encrypted by default")
    );
}

#[tokio::test]
async fn a_change_in_flight_shows_updating_and_blocks_deletion() {
    let (server, clock) = clocked().await;
    let client = server.client();
    table_with(&client, "Tbl", None).await;
    clock.advance(DELAY);
    // From an AWS owned key: `{Status: UPDATING}` alone, the table ACTIVE (DDB-TABLE-065).
    let out = update(&client, "Tbl", spec(Some(true), None)).await;
    assert_eq!(out.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(sse(&out), Some(("UPDATING".to_owned(), None, None)));
    let d = describe(&client, "Tbl").await;
    assert_eq!(d.table_status().unwrap().as_str(), "ACTIVE");
    assert_eq!(
        d.sse_description().unwrap().status(),
        Some(&SseStatus::Updating)
    );
    // The same request again is admitted and changes nothing; another change is refused;
    // so is DeleteTable; a deletion-protection change is admitted (DDB-TABLE-065, 120).
    assert_eq!(
        sse(&update(&client, "Tbl", spec(Some(true), None)).await)
            .unwrap()
            .0,
        "UPDATING"
    );
    assert_eq!(
        update_error(&client, "Tbl", spec(Some(false), None)).await,
        (
            "ResourceInUseException".to_owned(),
            "Attempt to change a resource which is still in use: Server-Side Encryption is still \
             being updated"
                .to_owned()
        )
    );
    let err = client
        .delete_table()
        .table_name("Tbl")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ResourceInUseException".to_owned(),
            "Attempt to change a resource which is still in use: Table: Tbl is in the process of \
             being updated."
                .to_owned()
        )
    );
    client
        .update_table()
        .table_name("Tbl")
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    clock.advance(DELAY);
    let managed = enabled_key(&describe(&client, "Tbl").await);
    // From a KMS key: the old key is named while the change is in flight, as UPDATING.
    let arn = "arn:aws:kms:us-east-1:000000000000:key/8963cda5-0fac-4af1-8635-0af67d16fe14";
    let out = update(&client, "Tbl", spec(Some(true), Some(arn))).await;
    assert_eq!(sse(&out), updating_from(&managed));
    clock.advance(DELAY);
    assert_eq!(enabled_key(&describe(&client, "Tbl").await), arn);
    let out = update(&client, "Tbl", spec(Some(false), None)).await;
    assert_eq!(sse(&out), updating_from(arn));
    clock.advance(DELAY);
    assert_eq!(sse(&describe(&client, "Tbl").await), None);
    client
        .delete_table()
        .table_name("Tbl")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn restores_keep_the_source_key_unless_overridden() {
    let server = TestServer::memory().await;
    let client = server.client();
    let arn = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    table_with(&client, "Src", Some(spec(Some(true), Some(arn)))).await;
    // The table class is not carried over (DDB-TABLE-215): the restored table is STANDARD.
    client
        .update_table()
        .table_name("Src")
        .table_class(aws_sdk_dynamodb::types::TableClass::StandardInfrequentAccess)
        .send()
        .await
        .unwrap();
    let backup = client
        .create_backup()
        .table_name("Src")
        .backup_name("bk1")
        .send()
        .await
        .unwrap()
        .backup_details
        .unwrap()
        .backup_arn;
    let restore = |target: &'static str, sse: Option<SseSpecification>| {
        let client = client.clone();
        let backup = backup.clone();
        async move {
            client
                .restore_table_from_backup()
                .target_table_name(target)
                .backup_arn(backup)
                .set_sse_specification_override(sse)
                .send()
                .await
                .unwrap()
                .table_description
                .unwrap()
        }
    };
    assert_eq!(enabled_key(&restore("Same", None).await), arn);
    let same = describe(&client, "Same").await;
    assert_eq!(enabled_key(&same), arn);
    assert_eq!(same.table_class_summary(), None);
    assert_eq!(
        sse(&restore("Owned", Some(spec(Some(false), None))).await),
        None
    );
    let managed = enabled_key(&restore("Managed", Some(spec(Some(true), None))).await);
    assert!(managed.starts_with("arn:aws:kms:us-east-1:000000000000:key/"));
    assert_ne!(managed, arn);
}

#[tokio::test]
async fn the_key_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    table_with(&client, "Kept", None).await;
    let arn = "arn:aws:kms:us-east-1:000000000000:key/3ae36f3d-c39c-4ca2-ad5c-65b410eaa7ef";
    update(&client, "Kept", spec(Some(true), Some(arn))).await;
    table_with(&client, "Owned", None).await;
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    assert_eq!(enabled_key(&describe(&client, "Kept").await), arn);
    assert_eq!(sse(&describe(&client, "Owned").await), None);
}

/// A disabled specification names no type or key, and a key needs `SSEType: KMS`
/// (DDB-TABLE-442), on CreateTable (which then creates nothing) and on UpdateTable.
#[tokio::test]
async fn sse_specifications_that_contradict_themselves_are_refused() {
    let server = TestServer::memory().await;
    let client = server.client();
    let key = "alias/mine";
    let cases = [
        (
            SseSpecification::builder()
                .enabled(false)
                .sse_type(SseType::Kms)
                .build(),
            "SSEType can not be specified if Enabled is false",
        ),
        (
            SseSpecification::builder()
                .enabled(false)
                .kms_master_key_id(key)
                .build(),
            "KMSMasterKeyId can not be specified if Enabled is false",
        ),
        (
            SseSpecification::builder()
                .enabled(true)
                .kms_master_key_id(key)
                .build(),
            "SSEType KMS is required if KMSMasterKeyId is specified",
        ),
    ];
    for (asked, rule) in &cases {
        let err = client
            .create_table()
            .table_name("Contradictory")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(crate::warm_throughput::attr("id"))
            .key_schema(crate::warm_throughput::hash("id"))
            .sse_specification(asked.clone())
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            error_parts(err),
            ("ValidationException".to_owned(), format!("{INVALID}{rule}"))
        );
    }
    assert!(client
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .is_empty());
    table_with(&client, "Tbl", None).await;
    for (asked, rule) in cases {
        assert_eq!(
            update_error(&client, "Tbl", asked).await,
            ("ValidationException".to_owned(), format!("{INVALID}{rule}"))
        );
    }
    assert_eq!(sse(&describe(&client, "Tbl").await), None);
}
