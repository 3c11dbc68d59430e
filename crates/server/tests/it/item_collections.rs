//! Item collections of tables with local secondary indexes: ReturnItemCollectionMetrics=SIZE on
//! every write operation, and the collection size limit (10 GB in DynamoDB; set low here through
//! the engine's configuration so a test can reach it).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, PutRequest, ReturnItemCollectionMetrics, ScalarAttributeType, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use binderdb_engine::Config;

use crate::common::*;

async fn create(client: &Client, name: &str, with_lsi: bool) {
    let def = |n: &str, t: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(t)
            .build()
            .unwrap()
    };
    let key = |n: &str, k: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
            .unwrap()
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .attribute_definitions(def("pk", ScalarAttributeType::S))
        .attribute_definitions(def("sk", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest);
    if with_lsi {
        request = request
            .attribute_definitions(def("rank", ScalarAttributeType::N))
            .local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name("by_rank")
                    .key_schema(key("pk", KeyType::Hash))
                    .key_schema(key("rank", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            );
    }
    request.send().await.unwrap();
}

fn payload(bytes: usize) -> aws_sdk_dynamodb::types::AttributeValue {
    s(&"x".repeat(bytes))
}

#[tokio::test]
async fn writes_report_their_item_collection_on_tables_with_local_indexes() {
    let server = TestServer::memory().await;
    let client = server.client();
    create(&client, "WithLsi", true).await;
    create(&client, "NoLsi", false).await;

    let put = client
        .put_item()
        .table_name("WithLsi")
        .set_item(Some(item(&[
            ("pk", s("team-1")),
            ("sk", n("1")),
            ("rank", n("3")),
        ])))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    let metrics = put.item_collection_metrics().unwrap();
    assert_eq!(
        metrics.item_collection_key().unwrap().get("pk"),
        Some(&s("team-1"))
    );
    assert_eq!(metrics.item_collection_key().unwrap().len(), 1);
    assert_eq!(metrics.size_estimate_range_gb(), &[0.0, 1.0]);

    let update = client
        .update_item()
        .table_name("WithLsi")
        .key("pk", s("team-1"))
        .key("sk", n("1"))
        .update_expression("SET #r = :r")
        .expression_attribute_names("#r", "rank")
        .expression_attribute_values(":r", n("4"))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    assert_eq!(
        update
            .item_collection_metrics()
            .unwrap()
            .item_collection_key()
            .unwrap()
            .get("pk"),
        Some(&s("team-1"))
    );
    let delete = client
        .delete_item()
        .table_name("WithLsi")
        .key("pk", s("team-1"))
        .key("sk", n("1"))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    assert_eq!(
        delete
            .item_collection_metrics()
            .unwrap()
            .size_estimate_range_gb(),
        &[0.0, 1.0]
    );

    // Without SIZE, or on a table without local indexes, there is nothing to report.
    let quiet = client
        .put_item()
        .table_name("WithLsi")
        .set_item(Some(item(&[("pk", s("team-1")), ("sk", n("2"))])))
        .send()
        .await
        .unwrap();
    assert!(quiet.item_collection_metrics().is_none());
    let plain = client
        .put_item()
        .table_name("NoLsi")
        .set_item(Some(item(&[("pk", s("a")), ("sk", n("1"))])))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    assert!(plain.item_collection_metrics().is_none());

    // BatchWriteItem lists one entry per write to a table with local indexes.
    let put_request = |pk: &str, sk: &str| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(item(&[
                        ("pk", s(pk)),
                        ("sk", n(sk)),
                        ("rank", n("1")),
                    ])))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let batch = client
        .batch_write_item()
        .request_items(
            "WithLsi",
            vec![put_request("team-2", "1"), put_request("team-3", "1")],
        )
        .request_items("NoLsi", vec![put_request("b", "1")])
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    let per_table = batch.item_collection_metrics().unwrap();
    assert_eq!(per_table.len(), 1, "{per_table:?}");
    let keys: Vec<_> = per_table["WithLsi"]
        .iter()
        .map(|m| m.item_collection_key().unwrap()["pk"].clone())
        .collect();
    assert_eq!(keys, vec![s("team-2"), s("team-3")]);
}

#[tokio::test]
async fn a_full_item_collection_refuses_growth_but_not_shrinking() {
    // A 4 KB limit instead of 10 GB: the rule is the same.
    let config = Config {
        item_collection_limit_bytes: 4096,
        ..Config::default()
    };
    let server = TestServer::with_config(test_store(), config).await;
    let client = server.client();
    create(&client, "Capped", true).await;
    let put = |sk: &'static str, bytes: usize| {
        client
            .put_item()
            .table_name("Capped")
            .set_item(Some(item(&[
                ("pk", s("full")),
                ("sk", n(sk)),
                ("rank", n("1")),
                ("data", payload(bytes)),
            ])))
            .send()
    };
    // Each ~1 KB item costs its size in the table plus its entry (and 100 bytes) in the LSI.
    put("1", 1000).await.unwrap();
    let err = put("2", 1000).await.unwrap_err();
    assert_eq!(
        error_parts(err),
        (
            "ItemCollectionSizeLimitExceededException".to_owned(),
            "Collection size exceeded.".to_owned()
        )
    );
    // Nothing of the refused write is there.
    let got = client
        .get_item()
        .table_name("Capped")
        .key("pk", s("full"))
        .key("sk", n("2"))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_none());
    // Other partitions have their own collections.
    client
        .put_item()
        .table_name("Capped")
        .set_item(Some(item(&[
            ("pk", s("other")),
            ("sk", n("1")),
            ("data", payload(1500)),
        ])))
        .send()
        .await
        .unwrap();
    // A write that shrinks the full collection goes through, and then there is room again.
    put("1", 10).await.unwrap();
    put("2", 1000).await.unwrap();
}

#[tokio::test]
async fn transactions_report_collections_and_cancel_growth_past_the_limit() {
    let config = Config {
        item_collection_limit_bytes: 4096,
        ..Config::default()
    };
    let server = TestServer::with_config(test_store(), config).await;
    let client = server.client();
    create(&client, "WithLsi", true).await;
    let put = |sk: &str, bytes: usize| {
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(
                aws_sdk_dynamodb::types::Put::builder()
                    .table_name("WithLsi")
                    .set_item(Some(item(&[
                        ("pk", s("team-1")),
                        ("sk", n(sk)),
                        ("rank", n(sk)),
                        ("payload", payload(bytes)),
                    ])))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let out = client
        .transact_write_items()
        .transact_items(put("1", 10))
        .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
        .send()
        .await
        .unwrap();
    let metrics = &out.item_collection_metrics().unwrap()["WithLsi"];
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0].item_collection_key().unwrap()["pk"], s("team-1"));
    assert_eq!(metrics[0].size_estimate_range_gb(), &[0.0, 1.0]);
    // Each of these items takes about 3.1 KB with its index entry: the first fits under the
    // 4 KB limit, the second (seeing the first's growth) does not, and neither is written.
    let err = client
        .transact_write_items()
        .transact_items(put("2", 1500))
        .transact_items(put("3", 1500))
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) = &service else {
        panic!("{service:?}");
    };
    let reasons: Vec<_> = e
        .cancellation_reasons()
        .iter()
        .map(|r| (r.code().unwrap(), r.message()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("None", None),
            (
                "ItemCollectionSizeLimitExceeded",
                Some("Collection size exceeded.")
            )
        ]
    );
    let count = client
        .query()
        .table_name("WithLsi")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("team-1"))
        .send()
        .await
        .unwrap()
        .count();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_forgotten_collection_size_is_walked_again_exactly() {
    // Two sizes kept per table: writes to other partitions push the full one out, and the
    // limit must still see every byte already in it.
    let config = Config {
        item_collection_limit_bytes: 4096,
        item_collection_cache: 2,
        ..Config::default()
    };
    let server = TestServer::with_config(test_store(), config).await;
    let client = server.client();
    create(&client, "Forgetful", true).await;
    let put = |pk: String, sk: &'static str, bytes: usize| {
        client
            .put_item()
            .table_name("Forgetful")
            .set_item(Some(item(&[
                ("pk", s(&pk)),
                ("sk", n(sk)),
                ("rank", n("1")),
                ("data", payload(bytes)),
            ])))
            .return_item_collection_metrics(ReturnItemCollectionMetrics::Size)
            .send()
    };
    let mut round = 0;
    let mut push_out = || {
        round += 1;
        let puts: Vec<_> = (0..3)
            .map(|i| put(format!("other-{round}-{i}"), "1", 10))
            .collect();
        async move {
            for p in puts {
                p.await.unwrap();
            }
        }
    };
    // About 2.2 KB with its index entry: the collection holds one such item, not two.
    let first = put("full".to_owned(), "1", 1000).await.unwrap();
    let metrics = first.item_collection_metrics().unwrap();
    assert_eq!(metrics.item_collection_key().unwrap()["pk"], s("full"));
    assert_eq!(metrics.size_estimate_range_gb(), &[0.0, 1.0]);
    push_out().await;
    let refused = put("full".to_owned(), "2", 1000).await.unwrap_err();
    assert_eq!(
        error_parts(refused).0,
        "ItemCollectionSizeLimitExceededException"
    );
    // Shrunk while remembered, then forgotten: the walk sees the shrunk item.
    put("full".to_owned(), "1", 10).await.unwrap();
    push_out().await;
    put("full".to_owned(), "2", 1000).await.unwrap();
    push_out().await;
    let refused = put("full".to_owned(), "3", 1000).await.unwrap_err();
    assert_eq!(
        error_parts(refused).0,
        "ItemCollectionSizeLimitExceededException"
    );
    // A small item still fits, remembered or walked.
    put("full".to_owned(), "3", 10).await.unwrap();
    push_out().await;
    put("full".to_owned(), "4", 10).await.unwrap();
}
