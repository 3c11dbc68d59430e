//! Contributor Insights: statuses over time for a table and its GSI, DynamoDB's rule names,
//! mode changes, ListContributorInsights paging, not-found and validation errors, and the
//! status across a durable restart.

use std::sync::Arc;

use aws_sdk_dynamodb::operation::describe_contributor_insights::DescribeContributorInsightsOutput;
use aws_sdk_dynamodb::types::{ContributorInsightsAction, ContributorInsightsMode};
use aws_sdk_dynamodb::Client;
use binderdb_engine::{Clock, Config, ManualClock};
use serde_json::json;

use crate::common::{call, error_parts, test_store, TestServer, NOT_FOUND, VALIDATION};

const DELAY: u64 = 60_000;
const START: u64 = 1_700_000_000_000;

/// A table `name` with key (pk, sk), GSI `gsi` on `gk` (hash only) and LSI `lsi` on `lk`.
async fn table(addr: std::net::SocketAddr, name: &str) {
    let res = call(
        addr,
        "CreateTable",
        json!({"TableName": name, "BillingMode": "PAY_PER_REQUEST",
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                        {"AttributeName": "sk", "AttributeType": "S"},
                                        {"AttributeName": "gk", "AttributeType": "S"},
                                        {"AttributeName": "lk", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                             {"AttributeName": "sk", "KeyType": "RANGE"}],
               "GlobalSecondaryIndexes": [{"IndexName": "gsi",
                   "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"}}],
               "LocalSecondaryIndexes": [{"IndexName": "lsi",
                   "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                 {"AttributeName": "lk", "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "KEYS_ONLY"}}]}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
}

async fn describe(
    client: &Client,
    table: &str,
    index: Option<&str>,
) -> DescribeContributorInsightsOutput {
    client
        .describe_contributor_insights()
        .table_name(table)
        .set_index_name(index.map(str::to_owned))
        .send()
        .await
        .unwrap()
}

/// Sends UpdateContributorInsights and returns (status, mode) of its answer.
async fn update(
    client: &Client,
    table: &str,
    index: Option<&str>,
    action: ContributorInsightsAction,
    mode: Option<ContributorInsightsMode>,
) -> (String, Option<String>) {
    let out = client
        .update_contributor_insights()
        .table_name(table)
        .set_index_name(index.map(str::to_owned))
        .contributor_insights_action(action)
        .set_contributor_insights_mode(mode)
        .send()
        .await
        .unwrap();
    assert_eq!(out.table_name(), Some(table));
    assert_eq!(out.index_name(), index);
    (
        out.contributor_insights_status()
            .unwrap()
            .as_str()
            .to_owned(),
        out.contributor_insights_mode()
            .map(|m| m.as_str().to_owned()),
    )
}

/// (table, index, status) of every ListContributorInsights entry, following NextToken with
/// pages of `page`; also returns how many pages it took.
async fn list(
    client: &Client,
    table: Option<&str>,
    page: i32,
) -> (Vec<(String, Option<String>, String)>, usize) {
    let mut entries = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let out = client
            .list_contributor_insights()
            .set_table_name(table.map(str::to_owned))
            .max_results(page)
            .set_next_token(token.take())
            .send()
            .await
            .unwrap();
        pages += 1;
        for s in out.contributor_insights_summaries() {
            assert_eq!(
                s.contributor_insights_mode().map(|m| m.as_str()),
                Some("ACCESSED_AND_THROTTLED_KEYS")
            );
            entries.push((
                s.table_name().unwrap().to_owned(),
                s.index_name().map(str::to_owned),
                s.contributor_insights_status().unwrap().as_str().to_owned(),
            ));
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return (entries, pages);
        }
        assert!(pages < 100, "paging does not end");
    }
}

fn entry(table: &str, index: Option<&str>, status: &str) -> (String, Option<String>, String) {
    (
        table.to_owned(),
        index.map(str::to_owned),
        status.to_owned(),
    )
}

#[tokio::test]
async fn a_table_and_its_index_are_enabled_and_disabled_over_time() {
    let clock = Arc::new(ManualClock::new(START));
    let config = Config {
        create_delay_ms: DELAY,
        ..Config::default()
    };
    let server = TestServer::with_clock(test_store(), config, clock.clone()).await;
    let client = server.client();
    table(server.addr, "Music").await;
    clock.advance(DELAY);

    // Never configured: DISABLED, and nothing else.
    let fresh = call(
        server.addr,
        "DescribeContributorInsights",
        json!({"TableName": "Music"}),
    )
    .await;
    assert_eq!(
        fresh.json(),
        json!({"TableName": "Music", "ContributorInsightsStatus": "DISABLED"})
    );
    assert_eq!(list(&client, Some("Music"), 10).await.0, []);
    // DISABLE of a disabled table changes nothing.
    assert_eq!(
        update(
            &client,
            "Music",
            None,
            ContributorInsightsAction::Disable,
            None
        )
        .await,
        ("DISABLED".to_owned(), None)
    );

    let enabled_at = START + DELAY;
    let mode = Some("ACCESSED_AND_THROTTLED_KEYS".to_owned());
    assert_eq!(
        update(
            &client,
            "Music",
            None,
            ContributorInsightsAction::Enable,
            None
        )
        .await,
        ("ENABLING".to_owned(), mode.clone())
    );
    let d = describe(&client, "Music", None).await;
    assert_eq!(
        d.contributor_insights_status().unwrap().as_str(),
        "ENABLING"
    );
    let rules: Vec<String> = ["PKC", "PKT", "SKC", "SKT"]
        .iter()
        .map(|kind| format!("DynamoDBContributorInsights-{kind}-Music-{enabled_at}"))
        .collect();
    assert_eq!(d.contributor_insights_rule_list(), rules.as_slice());
    assert_eq!(
        d.last_update_date_time().unwrap().to_millis().unwrap(),
        enabled_at as i64
    );
    assert!(d.failure_exception().is_none());
    // The table itself stays ACTIVE.
    let t = client
        .describe_table()
        .table_name("Music")
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.table().unwrap().table_status().unwrap().as_str(),
        "ACTIVE"
    );

    // The GSI has its own status; its rules name table and index, and it has no sort key.
    assert_eq!(
        update(
            &client,
            "Music",
            Some("gsi"),
            ContributorInsightsAction::Enable,
            None
        )
        .await,
        ("ENABLING".to_owned(), mode.clone())
    );
    clock.advance(DELAY);
    let d = describe(&client, "Music", Some("gsi")).await;
    assert_eq!(d.index_name(), Some("gsi"));
    assert_eq!(d.contributor_insights_status().unwrap().as_str(), "ENABLED");
    assert_eq!(
        d.contributor_insights_rule_list(),
        [
            format!("DynamoDBContributorInsights-PKC-Music-gsi-{enabled_at}"),
            format!("DynamoDBContributorInsights-PKT-Music-gsi-{enabled_at}"),
        ]
    );
    assert_eq!(
        describe(&client, "Music", None)
            .await
            .contributor_insights_status()
            .unwrap()
            .as_str(),
        "ENABLED"
    );
    // The same ENABLE again is a no-op; another mode goes through ENABLING, keeping the rules'
    // timestamp and only the throttled-keys rules.
    assert_eq!(
        update(
            &client,
            "Music",
            None,
            ContributorInsightsAction::Enable,
            None
        )
        .await,
        ("ENABLED".to_owned(), mode.clone())
    );
    clock.advance(1_000);
    assert_eq!(
        update(
            &client,
            "Music",
            None,
            ContributorInsightsAction::Enable,
            Some(ContributorInsightsMode::ThrottledKeys)
        )
        .await,
        ("ENABLING".to_owned(), Some("THROTTLED_KEYS".to_owned()))
    );
    clock.advance(DELAY);
    let d = describe(&client, "Music", None).await;
    assert_eq!(
        d.contributor_insights_rule_list(),
        [
            format!("DynamoDBContributorInsights-PKT-Music-{enabled_at}"),
            format!("DynamoDBContributorInsights-SKT-Music-{enabled_at}"),
        ]
    );
    // Back to the default mode by omitting it.
    update(
        &client,
        "Music",
        None,
        ContributorInsightsAction::Enable,
        None,
    )
    .await;
    clock.advance(DELAY);

    // Paging: the table before its index, one per page.
    table(server.addr, "Album").await;
    clock.advance(DELAY);
    update(
        &client,
        "Album",
        Some("gsi"),
        ContributorInsightsAction::Enable,
        None,
    )
    .await;
    clock.advance(DELAY);
    let everything = vec![
        entry("Album", Some("gsi"), "ENABLED"),
        entry("Music", None, "ENABLED"),
        entry("Music", Some("gsi"), "ENABLED"),
    ];
    assert_eq!(list(&client, None, 1).await, (everything.clone(), 3));
    assert_eq!(list(&client, None, 100).await, (everything, 1));
    assert_eq!(list(&client, Some("Music"), 1).await.0.len(), 2);

    // DISABLE: DISABLING (still listed), then DISABLED (not listed), mode and time kept.
    assert_eq!(
        update(
            &client,
            "Music",
            None,
            ContributorInsightsAction::Disable,
            None
        )
        .await,
        ("DISABLING".to_owned(), mode.clone())
    );
    assert_eq!(
        list(&client, Some("Music"), 10).await.0,
        [
            entry("Music", None, "DISABLING"),
            entry("Music", Some("gsi"), "ENABLED")
        ]
    );
    let disabled_at = clock.now_millis();
    clock.advance(DELAY);
    let d = describe(&client, "Music", None).await;
    assert_eq!(
        d.contributor_insights_status().unwrap().as_str(),
        "DISABLED"
    );
    assert!(d.contributor_insights_rule_list().is_empty());
    assert_eq!(
        d.contributor_insights_mode().map(|m| m.as_str()),
        Some("ACCESSED_AND_THROTTLED_KEYS")
    );
    assert_eq!(
        d.last_update_date_time().unwrap().to_millis().unwrap(),
        disabled_at as i64
    );
    assert_eq!(
        list(&client, Some("Music"), 10).await.0,
        [entry("Music", Some("gsi"), "ENABLED")]
    );
}

#[tokio::test]
async fn unknown_tables_and_indexes_and_bad_requests_are_refused() {
    let server = TestServer::memory().await;
    let addr = server.addr;
    table(addr, "Tab").await;
    let missing = "Requested resource not found: Table: Nope not found";
    for (op, body) in [
        ("DescribeContributorInsights", json!({"TableName": "Nope"})),
        (
            "UpdateContributorInsights",
            json!({"TableName": "Nope", "ContributorInsightsAction": "ENABLE"}),
        ),
        ("ListContributorInsights", json!({"TableName": "Nope"})),
    ] {
        call(addr, op, body)
            .await
            .assert_error(NOT_FOUND, Some(missing));
    }
    // LSIs have no Contributor Insights of their own; unknown names are not found either.
    for index in ["lsi", "ghost"] {
        let message =
            format!("Requested resource not found: Index: {index} not found for table: Tab");
        call(
            addr,
            "DescribeContributorInsights",
            json!({"TableName": "Tab", "IndexName": index}),
        )
        .await
        .assert_error(NOT_FOUND, Some(&message));
        call(
            addr,
            "UpdateContributorInsights",
            json!({"TableName": "Tab", "IndexName": index, "ContributorInsightsAction": "ENABLE"}),
        )
        .await
        .assert_error(NOT_FOUND, Some(&message));
    }
    let cases = [
        (
            "UpdateContributorInsights",
            json!({"TableName": "Tab"}),
            "1 validation error detected: Value null at 'contributorInsightsAction' failed to \
             satisfy constraint: Member must not be null",
        ),
        (
            "UpdateContributorInsights",
            json!({"TableName": "Tab", "ContributorInsightsAction": ""}),
            "1 validation error detected: Value '' at 'contributorInsightsAction' failed to \
             satisfy constraint: Member must satisfy enum value set: [ENABLE, DISABLE]",
        ),
        (
            "UpdateContributorInsights",
            json!({"TableName": "Tab", "ContributorInsightsAction": "ENABLE",
                   "ContributorInsightsMode": ""}),
            "1 validation error detected: Value '' at 'contributorInsightsMode' failed to \
             satisfy constraint: Member must satisfy enum value set: [THROTTLED_KEYS, \
             ACCESSED_AND_THROTTLED_KEYS]",
        ),
        (
            "DescribeContributorInsights",
            json!({"TableName": "Tab", "IndexName": ""}),
            "IndexName must be at least 3 characters long and at most 255 characters long",
        ),
        (
            "UpdateContributorInsights",
            json!({"TableName": "Tab", "IndexName": "ab", "ContributorInsightsAction": "DISABLE"}),
            "IndexName must be at least 3 characters long and at most 255 characters long",
        ),
        (
            "ListContributorInsights",
            json!({"MaxResults": 101}),
            "1 validation error detected: Value '101' at 'maxResults' failed to satisfy \
             constraint: Member must have value less than or equal to 100",
        ),
    ];
    for (op, body, message) in cases {
        call(addr, op, body)
            .await
            .assert_error(VALIDATION, Some(message));
    }
    // The SDK sees the same codes.
    let (code, _) = error_parts(
        server
            .client()
            .describe_contributor_insights()
            .table_name("Nope")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn contributor_insights_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    table(server.addr, "Kept").await;
    let client = server.client();
    update(
        &client,
        "Kept",
        Some("gsi"),
        ContributorInsightsAction::Enable,
        Some(ContributorInsightsMode::ThrottledKeys),
    )
    .await;
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    let d = describe(&client, "Kept", Some("gsi")).await;
    assert_eq!(d.contributor_insights_status().unwrap().as_str(), "ENABLED");
    assert_eq!(
        d.contributor_insights_mode().map(|m| m.as_str()),
        Some("THROTTLED_KEYS")
    );
    assert_eq!(d.contributor_insights_rule_list().len(), 1);
    assert_eq!(
        describe(&client, "Kept", None)
            .await
            .contributor_insights_status()
            .unwrap()
            .as_str(),
        "DISABLED"
    );
}
