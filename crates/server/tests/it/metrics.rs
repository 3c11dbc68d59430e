//! `GET /metrics` after a known workload, counter by counter; `GET /health`; metrics off.
//!
//! The workload runs through the AWS SDK for Rust under a manual clock: puts, gets, a Query on
//! a global secondary index, a failed condition, a throttled PutItem, a request on a missing
//! table and a TTL delete.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType, Tag,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use binderdb_engine::{Config, ManualClock};

use crate::common::{raw_http, test_store, TestServer};

const T0: u64 = 1_800_000_000_000;

async fn server(observer: binderdb_server::Observer) -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let config = Config {
        ttl_sweep_interval_ms: 20,
        ..Config::default()
    };
    let options = binderdb_server::ServeOptions {
        observer: Arc::new(observer),
        ..binderdb_server::ServeOptions::default()
    };
    let server = TestServer::with_options(test_store(), config, clock.clone(), options).await;
    (server, clock)
}

/// `/metrics` as text and as a map from `name{labels}` to value.
async fn scrape(server: &TestServer) -> (String, BTreeMap<String, f64>) {
    let r = raw_http(server.addr, "GET", "/metrics", b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4"));
    let text = String::from_utf8(r.body).unwrap();
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse::<f64>().unwrap())
        })
        .collect();
    (text, samples)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

/// `orders` (on demand, GSI `by_status`, TTL on `exp`) and `tiny` (1 RCU / 1 WCU, throttled
/// by its tag).
async fn create_tables(client: &Client) {
    client
        .create_table()
        .table_name("orders")
        .attribute_definitions(string_attribute("pk"))
        .attribute_definitions(string_attribute("status"))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_status")
                .key_schema(key("status", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    client
        .update_time_to_live()
        .table_name("orders")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("exp")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .create_table()
        .table_name("tiny")
        .attribute_definitions(string_attribute("pk"))
        .key_schema(key("pk", KeyType::Hash))
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(1)
                .write_capacity_units(1)
                .build()
                .unwrap(),
        )
        .tags(
            Tag::builder()
                .key("binderdb:throttling")
                .value("on")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_known_workload_gives_exact_counters() {
    let (server, clock) = server(binderdb_server::Observer::default()).await;
    let client = server.client();
    create_tables(&client).await;
    let now_secs = T0 / 1000;

    // Three puts (one expiring in 10 s), three gets (one of a missing item).
    for (pk, status, exp) in [
        ("o1", "open", None),
        ("o2", "open", None),
        ("o3", "closed", Some(now_secs + 10)),
    ] {
        let mut put = client
            .put_item()
            .table_name("orders")
            .item("pk", s(pk))
            .item("status", s(status));
        if let Some(exp) = exp {
            put = put.item("exp", AttributeValue::N(exp.to_string()));
        }
        put.send().await.unwrap();
    }
    for pk in ["o1", "o2", "missing"] {
        client
            .get_item()
            .table_name("orders")
            .key("pk", s(pk))
            .send()
            .await
            .unwrap();
    }
    // A Query on the index: two items.
    let open = client
        .query()
        .table_name("orders")
        .index_name("by_status")
        .key_condition_expression("#s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", s("open"))
        .send()
        .await
        .unwrap();
    assert_eq!(open.count(), 2);
    // A failed condition.
    let refused = client
        .put_item()
        .table_name("orders")
        .item("pk", s("o1"))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap_err();
    assert!(refused
        .into_service_error()
        .is_conditional_check_failed_exception());
    // A throttled write: the first takes the one unit, the second is refused.
    client
        .put_item()
        .table_name("tiny")
        .item("pk", s("a"))
        .send()
        .await
        .unwrap();
    let throttled = client
        .put_item()
        .table_name("tiny")
        .item("pk", s("b"))
        .send()
        .await
        .unwrap_err();
    assert!(throttled
        .into_service_error()
        .is_provisioned_throughput_exceeded_exception());
    // A user error on a table that does not exist.
    let missing = client
        .get_item()
        .table_name("nowhere")
        .key("pk", s("x"))
        .send()
        .await
        .unwrap_err();
    assert!(missing
        .into_service_error()
        .is_resource_not_found_exception());

    // o3 expires; the sweeper (a background task on the manual clock) deletes it.
    clock.advance(60_000);
    let mut swept = false;
    for _ in 0..500 {
        let (_, m) = scrape(&server).await;
        if m.get("TimeToLiveDeletedItemCount{Region=\"us-east-1\",TableName=\"orders\"}")
            == Some(&1.0)
        {
            swept = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(swept, "the sweeper never deleted the expired item");

    let (text, m) = scrape(&server).await;
    let orders = |name: &str, op: &str| {
        format!("{name}{{Region=\"us-east-1\",TableName=\"orders\",Operation=\"{op}\"}}")
    };
    let expected: &[(String, f64)] = &[
        (orders("SuccessfulRequestLatency_count", "PutItem"), 3.0),
        (orders("SuccessfulRequestLatency_count", "GetItem"), 3.0),
        (orders("SuccessfulRequestLatency_count", "Query"), 1.0),
        (orders("SuccessfulRequestLatency_count", "UpdateTimeToLive"), 1.0),
        (
            orders("SuccessfulRequestLatency_bucket", "GetItem").replace('}', ",le=\"+Inf\"}"),
            3.0,
        ),
        (orders("ReturnedItemCount", "Query"), 2.0),
        (
            "ConditionalCheckFailedRequests{Region=\"us-east-1\",TableName=\"orders\"}".into(),
            1.0,
        ),
        (
            "TimeToLiveDeletedItemCount{Region=\"us-east-1\",TableName=\"orders\"}".into(),
            1.0,
        ),
        (
            "TransactionConflict{Region=\"us-east-1\",TableName=\"orders\"}".into(),
            0.0,
        ),
        // Three puts and the refused one (1 WCU each); three eventually consistent gets.
        (
            "ConsumedWriteCapacityUnits{Region=\"us-east-1\",TableName=\"orders\"}".into(),
            4.0,
        ),
        (
            "ConsumedWriteCapacityUnits{Region=\"us-east-1\",TableName=\"orders\",GlobalSecondaryIndexName=\"by_status\"}".into(),
            3.0,
        ),
        (
            "ConsumedReadCapacityUnits{Region=\"us-east-1\",TableName=\"orders\"}".into(),
            1.5,
        ),
        (
            "ConsumedReadCapacityUnits{Region=\"us-east-1\",TableName=\"orders\",GlobalSecondaryIndexName=\"by_status\"}".into(),
            0.5,
        ),
        (
            "ThrottledRequests{Region=\"us-east-1\",TableName=\"tiny\",Operation=\"PutItem\"}".into(),
            1.0,
        ),
        (
            "SuccessfulRequestLatency_count{Region=\"us-east-1\",TableName=\"tiny\",Operation=\"PutItem\"}".into(),
            1.0,
        ),
        (
            "WriteThrottleEvents{Region=\"us-east-1\",TableName=\"tiny\"}".into(),
            1.0,
        ),
        (
            "ReadThrottleEvents{Region=\"us-east-1\",TableName=\"tiny\"}".into(),
            0.0,
        ),
        // The missing table only; throttling and the failed condition are not user errors.
        ("UserErrors".into(), 1.0),
    ];
    for (series, value) in expected {
        assert_eq!(m.get(series), Some(value), "{series}\n{text}");
    }
    // Nothing failed on the server side, and nothing was throttled on `orders`.
    assert!(!text.contains("\nSystemErrors{"), "{text}");
    assert!(
        !m.keys()
            .any(|k| k.starts_with("ThrottledRequests{") && k.contains("\"orders\"")),
        "{text}"
    );
    // Process figures are there.
    assert!(m["process_resident_memory_bytes"] > 0.0, "{text}");
    assert!(m["process_open_fds"] > 0.0, "{text}");
}

#[tokio::test]
async fn health_answers_ok_while_serving() {
    let (server, _clock) = server(binderdb_server::Observer::default()).await;
    let r = raw_http(server.addr, "GET", "/health", b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"ok\n");
    assert!(r.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn with_metrics_off_requests_are_not_counted_but_the_bill_is() {
    let (server, _clock) = server(binderdb_server::Observer::new(false, None)).await;
    let client = server.client();
    create_tables(&client).await;
    client
        .put_item()
        .table_name("orders")
        .item("pk", s("o1"))
        .item("status", s("open"))
        .send()
        .await
        .unwrap();
    let (text, m) = scrape(&server).await;
    assert!(!text.contains("SuccessfulRequestLatency_count{"), "{text}");
    assert_eq!(
        m.get("ConsumedWriteCapacityUnits{Region=\"us-east-1\",TableName=\"orders\"}"),
        Some(&1.0),
        "{text}"
    );
}

#[tokio::test]
async fn an_index_backfill_reports_how_far_it_got() {
    // The backfill waits out the index's allocation (`create_delay_ms`) on the manual clock,
    // then reads one chunk of 512 items and paces itself at one item a second: its next chunk
    // is 512 s away, so the test sees exactly the first chunk's progress, however slow the
    // machine is.
    let clock = Arc::new(ManualClock::new(T0));
    let config = Config {
        create_delay_ms: 1000,
        backfill_items_per_second: 1,
        ..Config::default()
    };
    let server = TestServer::with_options(
        test_store(),
        config,
        clock.clone(),
        binderdb_server::ServeOptions::default(),
    )
    .await;
    let client = server.client();
    client
        .create_table()
        .table_name("wide")
        .attribute_definitions(string_attribute("pk"))
        .key_schema(key("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    clock.advance(1000);
    for batch in 0..40 {
        let puts = (0..25).map(|i| {
            let item = [
                ("pk".to_owned(), s(&format!("k{}", batch * 25 + i))),
                ("color".to_owned(), s(["red", "blue"][i % 2])),
            ];
            aws_sdk_dynamodb::types::WriteRequest::builder()
                .put_request(
                    aws_sdk_dynamodb::types::PutRequest::builder()
                        .set_item(Some(item.into_iter().collect()))
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let out = client
            .batch_write_item()
            .request_items("wide", puts.collect())
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }
    let (text, _) = scrape(&server).await;
    assert!(
        !text.contains("\nbinderdb_index_backfill_items{"),
        "no backfill yet\n{text}"
    );

    client
        .update_table()
        .table_name("wide")
        .attribute_definitions(string_attribute("color"))
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                        .index_name("by_color")
                        .key_schema(key("color", KeyType::Hash))
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::KeysOnly)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let labels = "{Region=\"us-east-1\",TableName=\"wide\",GlobalSecondaryIndexName=\"by_color\"}";
    let read = format!("binderdb_index_backfill_items{labels}");
    let total = format!("binderdb_index_backfill_table_items{labels}");
    // Allocating: nothing read yet, of the table's 1,000 items.
    let (text, m) = scrape(&server).await;
    assert_eq!(m.get(&read), Some(&0.0), "{text}");
    assert_eq!(m.get(&total), Some(&1000.0), "{text}");

    // Reading: the first chunk, once its commit is in.
    clock.advance(1000);
    let mut polls = 0;
    let (text, m) = loop {
        let (text, m) = scrape(&server).await;
        if m.get(&read).is_some_and(|v| *v > 0.0) {
            break (text, m);
        }
        polls += 1;
        assert!(polls < 3000, "the backfill never committed a chunk\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(m.get(&read), Some(&512.0), "{text}");
    assert_eq!(m.get(&total), Some(&1000.0), "{text}");
    let described = client
        .describe_table()
        .table_name("wide")
        .send()
        .await
        .unwrap();
    let index = &described.table().unwrap().global_secondary_indexes()[0];
    assert_eq!(index.backfilling(), Some(true));

    // A deleted index is no longer backfilling: its series go.
    client
        .update_table()
        .table_name("wide")
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .delete(
                    aws_sdk_dynamodb::types::DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("by_color")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (text, m) = scrape(&server).await;
    assert!(!m.contains_key(&read) && !m.contains_key(&total), "{text}");
}

/// Every operation has its metrics slot: the operations declared after the first 37 (point-in-time
/// recovery, exports and imports, Contributor Insights) were missing from the slot list, and
/// the per-table request metrics of those that address a table never appeared.
#[tokio::test]
async fn every_operation_is_counted_under_its_name() {
    let (server, _clock) = server(binderdb_server::Observer::default()).await;
    let client = server.client();
    create_tables(&client).await;
    client
        .update_contributor_insights()
        .table_name("orders")
        .contributor_insights_action(aws_sdk_dynamodb::types::ContributorInsightsAction::Enable)
        .send()
        .await
        .unwrap();
    client
        .describe_contributor_insights()
        .table_name("orders")
        .send()
        .await
        .unwrap();
    client
        .describe_time_to_live()
        .table_name("orders")
        .send()
        .await
        .unwrap();
    let (_, m) = scrape(&server).await;
    for op in [
        "UpdateContributorInsights",
        "DescribeContributorInsights",
        "DescribeTimeToLive",
    ] {
        let series = format!(
            "SuccessfulRequestLatency_count{{Region=\"us-east-1\",TableName=\"orders\",Operation=\"{op}\"}}"
        );
        assert_eq!(m.get(&series), Some(&1.0), "{series}");
    }
}
