//! Tags: TagResource, UntagResource, ListTagsOfResource and CreateTable's Tags, with DynamoDB's
//! validation texts and order; tags survive a restart and go with the table.

use aws_sdk_dynamodb::types::{ScalarAttributeType, Tag};
use serde_json::json;

use crate::common::{call, create_table, error_parts, TestServer, NOT_FOUND, VALIDATION};

const ARN_PREFIX: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/";

fn arn(table: &str) -> String {
    format!("{ARN_PREFIX}{table}")
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn listed(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<(String, String)> {
    client
        .list_tags_of_resource()
        .resource_arn(arn(table))
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn tag_untag_and_list() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Tagged", ("id", ScalarAttributeType::S), None).await;
    assert!(listed(&client, "Tagged").await.is_empty());

    client
        .tag_resource()
        .resource_arn(arn("Tagged"))
        .tags(tag("team", "storage"))
        .tags(tag("env", "prod"))
        .tags(tag("ключ café", "a+b-c=d.e_f:g/h@i"))
        .tags(tag("empty", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed(&client, "Tagged").await,
        pairs(&[
            ("empty", ""),
            ("env", "prod"),
            ("team", "storage"),
            ("ключ café", "a+b-c=d.e_f:g/h@i"),
        ])
    );

    // A key tagged again takes the new value; removing absent keys is fine.
    client
        .tag_resource()
        .resource_arn(arn("Tagged"))
        .tags(tag("env", "test"))
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(arn("Tagged"))
        .tag_keys("team")
        .tag_keys("never-there")
        .tag_keys("ключ café")
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed(&client, "Tagged").await,
        pairs(&[("empty", ""), ("env", "test")])
    );

    // The raw answers: TagResource's body is empty; all tags come in one page, without a
    // NextToken; a NextToken resumes after that key.
    let tagged = call(
        server.addr,
        "TagResource",
        json!({"ResourceArn": arn("Tagged"), "Tags": [{"Key": "z", "Value": "1"}]}),
    )
    .await;
    assert_eq!(tagged.status, 200);
    assert_eq!(tagged.json(), json!({}));
    let all = call(
        server.addr,
        "ListTagsOfResource",
        json!({"ResourceArn": arn("Tagged")}),
    )
    .await;
    assert_eq!(
        all.json(),
        json!({"Tags": [{"Key": "empty", "Value": ""}, {"Key": "env", "Value": "test"}, {"Key": "z", "Value": "1"}]})
    );
    let rest = call(
        server.addr,
        "ListTagsOfResource",
        json!({"ResourceArn": arn("Tagged"), "NextToken": "env"}),
    )
    .await;
    assert_eq!(rest.json(), json!({"Tags": [{"Key": "z", "Value": "1"}]}));
}

#[tokio::test]
async fn fifty_tags_at_most() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Many", ("id", ScalarAttributeType::S), None).await;
    let first: Vec<Tag> = (0..30).map(|i| tag(&format!("k{i:02}"), "v")).collect();
    client
        .tag_resource()
        .resource_arn(arn("Many"))
        .set_tags(Some(first))
        .send()
        .await
        .unwrap();
    // Overlapping keys count once: 30 + 20 new = 50.
    let second: Vec<Tag> = (10..50).map(|i| tag(&format!("k{i:02}"), "w")).collect();
    client
        .tag_resource()
        .resource_arn(arn("Many"))
        .set_tags(Some(second))
        .send()
        .await
        .unwrap();
    let limit = "Number of Tags exceed the current limit for the provided ResourceArn";
    let err = client
        .tag_resource()
        .resource_arn(arn("Many"))
        .tags(tag("one-more", "v"))
        .tags(tag("k00", "changed"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        ("ValidationException".to_owned(), limit.to_owned())
    );
    // All or nothing: the refused request changed nothing.
    let now = listed(&client, "Many").await;
    assert_eq!(now.len(), 50);
    assert!(now.contains(&("k00".to_owned(), "v".to_owned())));
    // UntagResource applies the limit to its key list as well.
    let keys: Vec<String> = (0..51).map(|i| format!("x{i}")).collect();
    let err = client
        .untag_resource()
        .resource_arn(arn("Many"))
        .set_tag_keys(Some(keys))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        ("ValidationException".to_owned(), limit.to_owned())
    );
}

#[tokio::test]
async fn tag_validation_texts_and_order() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Checked", ("id", ScalarAttributeType::S), None).await;
    let table = arn("Checked");
    let cases = [
        (json!({"Tags": [{"Key": "k", "Value": "v"}]}), "Invalid TableArn"),
        (
            json!({"ResourceArn": table}),
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
        ),
        (
            json!({"ResourceArn": "Checked", "Tags": []}),
            "One or more parameter values were invalid: ARNs must start with 'arn:': Checked",
        ),
        (
            json!({"ResourceArn": "arn:aws:s3:::bucket", "Tags": []}),
            "One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: arn:aws:s3:::bucket",
        ),
        (
            json!({"ResourceArn": format!("{table}/index/gsi"), "Tags": []}),
            &format!("One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {table}/index/gsi"),
        ),
        (
            json!({"ResourceArn": "arn:aws:dynamodb:eu-west-1:000000000000:table/Checked", "Tags": []}),
            "Invalid TableArn: Invalid ResourceArn provided as input arn:aws:dynamodb:eu-west-1:000000000000:table/Checked",
        ),
        (json!({"ResourceArn": table, "Tags": []}), "Atleast one Tag needs to be provided as Input."),
        (
            json!({"ResourceArn": table, "Tags": [{"Value": "v"}]}),
            "The Tag Key provided is invalid, Key: null",
        ),
        (
            json!({"ResourceArn": table, "Tags": [{"Key": ""}]}),
            "The Tag Key provided is invalid, Key: ",
        ),
        (
            json!({"ResourceArn": table, "Tags": [{"Key": "k".repeat(129), "Value": "v"}]}),
            &format!("The Tag Key provided is invalid, Key: {}", "k".repeat(129)),
        ),
        (
            json!({"ResourceArn": table, "Tags": [{"Key": "k"}]}),
            "The Tag Value provided is invalid, Value: null",
        ),
        (
            json!({"ResourceArn": table, "Tags": [{"Key": "k", "Value": "a,b"}]}),
            "The Tag Value provided is invalid, Value: a,b",
        ),
        (
            json!({"ResourceArn": table, "Tags": [{"Key": "k", "Value": "v".repeat(257)}]}),
            &format!("The Tag Value provided is invalid, Value: {}", "v".repeat(257)),
        ),
        (
            json!({"ResourceArn": table, "Tags": [{"Key": "ok", "Value": "v"}, {"Key": "aws:zzz", "Value": "v"}]}),
            "Tag Key cannot be prefixed with aws:, Key: aws:zzz",
        ),
        (
            json!({"ResourceArn": table, "Tags": [{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}]}),
            "Duplicate Tag Keys provided as input: Duplicate Tag Key found dup",
        ),
        (
            json!({"ResourceArn": "a".repeat(1284), "Tags": []}),
            &format!("1 validation error detected: Value '{}' at 'resourceArn' failed to satisfy constraint: Member must have length less than or equal to 1283", "a".repeat(1284)),
        ),
    ];
    for (body, message) in cases {
        call(server.addr, "TagResource", body.clone())
            .await
            .assert_error(VALIDATION, Some(message));
    }
    // The reserved prefix in any case, and on UntagResource too (DDB-TABLE-105); "myaws:" is a
    // key like any other.
    call(
        server.addr,
        "TagResource",
        json!({"ResourceArn": table, "Tags": [{"Key": "AWS:foo", "Value": "v"}]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("Tag Key cannot be prefixed with aws:, Key: AWS:foo"),
    );
    call(
        server.addr,
        "UntagResource",
        json!({"ResourceArn": table, "TagKeys": ["aws:foo"]}),
    )
    .await
    .assert_error(
        VALIDATION,
        Some("Tag Key cannot be prefixed with aws:, Key: aws:foo"),
    );
    // Nothing of the refused requests was applied.
    assert!(listed(&client, "Checked").await.is_empty());
    let mine = call(
        server.addr,
        "TagResource",
        json!({"ResourceArn": table, "Tags": [{"Key": "myaws:foo", "Value": "v"}]}),
    )
    .await;
    assert_eq!(mine.status, 200, "{}", mine.json());

    for (op, body, message) in [
        ("UntagResource", json!({"TagKeys": ["k"]}), "Invalid TableArn"),
        (
            "UntagResource",
            json!({"ResourceArn": table}),
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
        ),
        (
            "UntagResource",
            json!({"ResourceArn": table, "TagKeys": []}),
            "Atleast one Tag Key needs to be provided as Input.",
        ),
        (
            "UntagResource",
            json!({"ResourceArn": table, "TagKeys": [""]}),
            "The Tag Key provided is invalid, Key: ",
        ),
        ("ListTagsOfResource", json!({}), "Invalid TableArn"),
    ] {
        call(server.addr, op, body)
            .await
            .assert_error(VALIDATION, Some(message));
    }

    // A well-formed ARN naming no table (DDB-TABLE-446: "ResourceArn", spelled out).
    let missing = arn("Nope");
    for (op, body) in [
        (
            "TagResource",
            json!({"ResourceArn": missing, "Tags": [{"Key": "k", "Value": "v"}]}),
        ),
        (
            "UntagResource",
            json!({"ResourceArn": missing, "TagKeys": ["k"]}),
        ),
        ("ListTagsOfResource", json!({"ResourceArn": missing})),
    ] {
        call(server.addr, op, body).await.assert_error(
            NOT_FOUND,
            Some(&format!(
                "Requested resource not found: ResourceArn: {missing} not found"
            )),
        );
    }

    // Wrong member types are SerializationExceptions, never a panic.
    let bad = call(
        server.addr,
        "TagResource",
        json!({"ResourceArn": table, "Tags": [["k", "v"]]}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["__type"],
        "com.amazon.coral.service#SerializationException"
    );
}

#[tokio::test]
async fn create_table_with_tags() {
    let server = TestServer::memory().await;
    let client = server.client();
    let create = |name: &str, tags: Vec<Tag>| {
        crate::common::create_table_request(&client, name, ("id", ScalarAttributeType::S), None)
            .set_tags(Some(tags))
            .send()
    };
    create("WithTags", vec![tag("owner", "me"), tag("cost", "42")])
        .await
        .unwrap();
    assert_eq!(
        listed(&client, "WithTags").await,
        pairs(&[("cost", "42"), ("owner", "me")])
    );
    // An empty list is accepted on CreateTable.
    create("NoTags", vec![]).await.unwrap();
    assert!(listed(&client, "NoTags").await.is_empty());

    // Bad tags refuse the whole table.
    let too_many: Vec<Tag> = (0..51).map(|i| tag(&i.to_string(), "v")).collect();
    let err = create("TooMany", too_many).await.unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Number of Tags exceed the current limit for the provided ResourceArn".to_owned()
        )
    );
    let err = create("Reserved", vec![tag("aws:cloudformation", "x")])
        .await
        .unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ValidationException".to_owned(),
            "Tag Key cannot be prefixed with aws:, Key: aws:cloudformation".to_owned()
        )
    );
    let names = client.list_tables().send().await.unwrap().table_names;
    assert_eq!(
        names.unwrap_or_default(),
        vec!["NoTags".to_owned(), "WithTags".to_owned()]
    );

    // Tags go with the table: a new table of the same name starts untagged.
    client
        .delete_table()
        .table_name("WithTags")
        .send()
        .await
        .unwrap();
    call(
        server.addr,
        "ListTagsOfResource",
        json!({"ResourceArn": arn("WithTags")}),
    )
    .await
    .assert_error(
        NOT_FOUND,
        Some(&format!(
            "Requested resource not found: ResourceArn: {} not found",
            arn("WithTags")
        )),
    );
    create_table(&client, "WithTags", ("id", ScalarAttributeType::S), None).await;
    assert!(listed(&client, "WithTags").await.is_empty());
}

#[tokio::test]
async fn tags_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    create_table(&client, "Kept", ("id", ScalarAttributeType::S), None).await;
    client
        .tag_resource()
        .resource_arn(arn("Kept"))
        .tags(tag("a", "1"))
        .tags(tag("b", "2"))
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(arn("Kept"))
        .tag_keys("a")
        .send()
        .await
        .unwrap();
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    assert_eq!(listed(&client, "Kept").await, pairs(&[("b", "2")]));
}

#[tokio::test]
async fn concurrent_tagging_loses_nothing() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Busy", ("id", ScalarAttributeType::S), None).await;
    let writers: Vec<_> = (0..20)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .tag_resource()
                    .resource_arn(arn("Busy"))
                    .tags(tag(&format!("k{i:02}"), "v"))
                    .send()
                    .await
                    .unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let expected: Vec<(String, String)> = (0..20)
        .map(|i| (format!("k{i:02}"), "v".to_owned()))
        .collect();
    assert_eq!(listed(&client, "Busy").await, expected);
}

/// The tag APIs name a missing table by its ARN, "ResourceArn" spelled out (DDB-TABLE-446).
#[tokio::test]
async fn tag_apis_on_a_missing_table_are_not_found_by_arn() {
    let server = TestServer::memory().await;
    let client = server.client();
    let missing = arn("Nowhere");
    let expected = (
        "ResourceNotFoundException".to_owned(),
        format!("Requested resource not found: ResourceArn: {missing} not found"),
    );
    let listed = client
        .list_tags_of_resource()
        .resource_arn(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(listed), expected);
    let tagged = client
        .tag_resource()
        .resource_arn(&missing)
        .tags(tag("k", "v"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(tagged), expected);
    let untagged = client
        .untag_resource()
        .resource_arn(&missing)
        .tag_keys("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_parts(untagged), expected);
}
