//! Where item reads run (`ServeOptions::read_dispatch`): inline on the runtime's workers, on the
//! blocking pool, or adaptively. The answers, errors and metrics must not depend on it.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{KeysAndAttributes, ScalarAttributeType, TransactGetItem};
use binderdb_engine::{Config, SystemClock};
use binderdb_server::{ReadDispatch, ServeOptions};

use crate::common::{create_table, n, put, raw_http, s, Item, TestServer};

/// Everything a client can see of the five read operations on one small table, in a form that
/// compares across servers.
async fn read_everything(server: &TestServer) -> Vec<String> {
    let client = server.client();
    create_table(
        &client,
        "reads",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    for p in ["a", "b"] {
        for i in 0..5 {
            put(
                &client,
                "reads",
                &[
                    ("pk", s(p)),
                    ("sk", n(&i.to_string())),
                    ("v", s(&format!("{p}{i}"))),
                ],
            )
            .await;
        }
    }
    let sorted = |items: &[Item]| {
        let mut out: Vec<String> = items.iter().map(|i| format!("{:?}", i.get("v"))).collect();
        out.sort();
        out
    };
    let key = |p: &str, i: u32| {
        [
            ("pk".to_owned(), s(p)),
            ("sk".to_owned(), n(&i.to_string())),
        ]
        .into_iter()
        .collect::<Item>()
    };
    let mut seen = Vec::new();

    let got = client
        .get_item()
        .table_name("reads")
        .set_key(Some(key("a", 3)))
        .send()
        .await
        .unwrap();
    seen.push(format!("get {:?}", got.item().and_then(|i| i.get("v"))));
    let missing = client
        .get_item()
        .table_name("reads")
        .set_key(Some(key("c", 0)))
        .send()
        .await
        .unwrap();
    seen.push(format!("get missing {:?}", missing.item()));

    let query = client
        .query()
        .table_name("reads")
        .key_condition_expression("pk = :p AND sk >= :s")
        .expression_attribute_values(":p", s("b"))
        .expression_attribute_values(":s", n("2"))
        .send()
        .await
        .unwrap();
    seen.push(format!(
        "query {} {:?}",
        query.count(),
        sorted(query.items())
    ));

    let scan = client.scan().table_name("reads").send().await.unwrap();
    seen.push(format!("scan {} {:?}", scan.count(), sorted(scan.items())));

    let batch = client
        .batch_get_item()
        .request_items(
            "reads",
            KeysAndAttributes::builder()
                .keys(key("a", 0))
                .keys(key("b", 4))
                .keys(key("z", 9))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let returned = batch
        .responses()
        .and_then(|r| r.get("reads"))
        .map(|items| sorted(items));
    seen.push(format!("batch {returned:?}"));

    let transact = client
        .transact_get_items()
        .transact_items(
            TransactGetItem::builder()
                .get(
                    aws_sdk_dynamodb::types::Get::builder()
                        .table_name("reads")
                        .set_key(Some(key("b", 1)))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let items: Vec<String> = transact
        .responses()
        .iter()
        .map(|r| format!("{:?}", r.item().and_then(|i| i.get("v"))))
        .collect();
    seen.push(format!("transact {items:?}"));

    // An error comes back as such from wherever the read ran.
    let error = client
        .query()
        .table_name("nowhere")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    seen.push(format!(
        "missing table {}",
        error.is_resource_not_found_exception()
    ));

    // The request metrics still see the table a read touched and the items it returned.
    let metrics =
        String::from_utf8(raw_http(server.addr, "GET", "/metrics", b"").await.body).unwrap();
    for series in [
        "ReturnedItemCount{Region=\"us-east-1\",TableName=\"reads\",Operation=\"Query\"}",
        "SuccessfulRequestLatency_count{Region=\"us-east-1\",TableName=\"reads\",Operation=\"GetItem\"}",
    ] {
        let line = metrics.lines().find(|l| l.starts_with(series));
        seen.push(format!("metric {line:?}"));
    }
    seen
}

async fn server(dir: &std::path::Path, read_dispatch: ReadDispatch) -> TestServer {
    let store = binderdb_storage_fjall::FjallStore::open(dir).unwrap();
    let options = ServeOptions {
        read_dispatch,
        ..ServeOptions::default()
    };
    TestServer::with_options(
        Arc::new(store),
        Config::default(),
        Arc::new(SystemClock),
        options,
    )
    .await
}

#[tokio::test]
async fn reads_answer_the_same_inline_on_the_pool_and_adaptively() {
    let mut answers = Vec::new();
    for mode in [
        ReadDispatch::Inline,
        ReadDispatch::Pool,
        ReadDispatch::Adaptive,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path(), mode).await;
        answers.push((mode, read_everything(&server).await));
        server.stop().await;
    }
    let (_, inline) = &answers[0];
    assert!(
        inline.contains(&"get Some(S(\"a3\"))".to_owned()),
        "{inline:?}"
    );
    assert!(
        inline.contains(
            &"query 3 [\"Some(S(\\\"b2\\\"))\", \"Some(S(\\\"b3\\\"))\", \"Some(S(\\\"b4\\\"))\"]"
                .to_owned()
        ),
        "{inline:?}"
    );
    assert!(
        inline.contains(&"missing table true".to_owned()),
        "{inline:?}"
    );
    assert!(inline.iter().all(|l| l != "metric None"), "{inline:?}");
    for (mode, seen) in &answers[1..] {
        assert_eq!(seen, inline, "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_reads_on_the_pool_all_answer() {
    // More reads at once than the pool admits: the others wait for a permit and then run.
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), ReadDispatch::Pool).await;
    let client = server.client();
    create_table(&client, "many", ("pk", ScalarAttributeType::S), None).await;
    for i in 0..20 {
        put(
            &client,
            "many",
            &[("pk", s(&format!("k{i}"))), ("v", n(&i.to_string()))],
        )
        .await;
    }
    let reads = (0..200).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            let k = format!("k{}", i % 20);
            let got = client
                .get_item()
                .table_name("many")
                .key("pk", s(&k))
                .send()
                .await
                .unwrap();
            got.item().and_then(|i| i.get("v")).cloned()
        })
    });
    let reads: Vec<_> = reads.collect();
    for (i, read) in reads.into_iter().enumerate() {
        assert_eq!(read.await.unwrap(), Some(n(&(i % 20).to_string())));
    }
    server.stop().await;
}
