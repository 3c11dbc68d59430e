//! Durability: everything survives a clean restart, and writes are acknowledged only once durable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use aws_sdk_dynamodb::types::ScalarAttributeType;
use binderdb_storage::testing::{Hooked, Hooks};
use binderdb_storage::{Batch, Key, StorageError, Store, Versioned};

use crate::common::*;

#[tokio::test]
async fn tables_and_items_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    create_table(
        &client,
        "Keep",
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
    create_table(
        &server.client_in("eu-west-1"),
        "Keep",
        ("id", ScalarAttributeType::S),
        None,
    )
    .await;
    create_table(&client, "Dropped", ("pk", ScalarAttributeType::S), None).await;
    for i in 0..50 {
        client
            .put_item()
            .table_name("Keep")
            .item("pk", s(&format!("p{}", i % 5)))
            .item("sk", n(&i.to_string()))
            .item("payload", s(&"v".repeat(i)))
            .send()
            .await
            .unwrap();
    }
    client
        .put_item()
        .table_name("Dropped")
        .item("pk", s("x"))
        .send()
        .await
        .unwrap();
    client
        .delete_table()
        .table_name("Dropped")
        .send()
        .await
        .unwrap();
    client
        .delete_item()
        .table_name("Keep")
        .key("pk", s("p0"))
        .key("sk", n("0"))
        .send()
        .await
        .unwrap();
    server.stop().await;

    let server = TestServer::durable(dir.path()).await;
    let client = server.client();
    let names = client.list_tables().send().await.unwrap();
    assert_eq!(names.table_names(), ["Keep"]);
    assert_eq!(
        server
            .client_in("eu-west-1")
            .list_tables()
            .send()
            .await
            .unwrap()
            .table_names(),
        ["Keep"]
    );
    let scanned = client.scan().table_name("Keep").send().await.unwrap();
    assert_eq!(scanned.count, 49);
    let got = client
        .get_item()
        .table_name("Keep")
        .key("pk", s("p2"))
        .key("sk", n("7"))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(got["payload"], s(&"v".repeat(7)));
    let d = client
        .describe_table()
        .table_name("Keep")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(d.item_count, Some(49));
    // A table created after the restart gets a fresh id: the dropped table's data never returns.
    create_table(&client, "Dropped", ("pk", ScalarAttributeType::S), None).await;
    assert_eq!(
        client
            .scan()
            .table_name("Dropped")
            .send()
            .await
            .unwrap()
            .count,
        0
    );
    server.stop().await;
}

/// Hooks withholding durability until the test opens their gate (or fails it), to observe
/// when the server acknowledges writes.
///
/// They wrap the in-memory engine whatever the run's store: the point is a store whose
/// durability lags its commits, which a RADOS commit never does (it is on every replica when
/// it returns), so the RADOS pass has nothing to add here.
#[derive(Debug, Default)]
struct Gated {
    commits: AtomicU64,
    gate: Mutex<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    /// Every commit up to this point is durable.
    durable: u64,
    failed: bool,
    wakers: Vec<Waker>,
}

impl Gated {
    fn committed(&self) {
        self.commits.fetch_add(1, Ordering::SeqCst);
    }

    /// Makes everything committed so far durable.
    fn open(&self) {
        let mut gate = self.gate.lock().unwrap();
        gate.durable = self.commits.load(Ordering::SeqCst);
        gate.wakers.drain(..).for_each(Waker::wake);
    }

    fn fail(&self) {
        let mut gate = self.gate.lock().unwrap();
        gate.failed = true;
        gate.wakers.drain(..).for_each(Waker::wake);
    }
}

impl Hooks for Gated {
    fn commit(&self, inner: &dyn Store, batch: Batch) -> Result<u64, StorageError> {
        let version = inner.commit(batch)?;
        self.committed();
        Ok(version)
    }

    fn read_modify_write(
        &self,
        inner: &dyn Store,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        let written = inner.read_modify_write(key, f)?;
        if written.is_some() {
            self.committed();
        }
        Ok(written)
    }

    fn commit_point(&self, _inner: &dyn Store) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    fn poll_durable(
        &self,
        _inner: &dyn Store,
        point: u64,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), StorageError>> {
        let mut gate = self.gate.lock().unwrap();
        if gate.failed {
            return Poll::Ready(Err(StorageError::Io(std::io::Error::other("disk gone"))));
        }
        if gate.durable >= point {
            return Poll::Ready(Ok(()));
        }
        gate.wakers.push(cx.waker().clone());
        Poll::Pending
    }
}

/// Sends `op` on its own task, so the test can watch whether it has been answered.
fn spawn_call(
    addr: std::net::SocketAddr,
    op: &'static str,
    body: serde_json::Value,
) -> tokio::task::JoinHandle<RawResponse> {
    tokio::spawn(async move { call(addr, op, body).await })
}

#[tokio::test]
async fn writes_are_acknowledged_only_once_durable() {
    let store = Arc::new(Hooked::<Gated>::default());
    let server = TestServer::with_store(store.clone()).await;
    let client = server.client();
    let created = tokio::spawn({
        let client = client.clone();
        async move { create_table(&client, "Gated", ("pk", ScalarAttributeType::S), None).await }
    });
    // CreateTable waits for its catalog write too.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !created.is_finished(),
        "CreateTable answered before its write was durable"
    );
    store.hooks.open();
    created.await.unwrap();

    let addr = server.addr;
    let put = spawn_call(
        addr,
        "PutItem",
        serde_json::json!({"TableName": "Gated", "Item": {"pk": {"S": "a"}}}),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !put.is_finished(),
        "PutItem answered before its write was durable"
    );
    // The write is visible before it is durable (as in most databases); reads never wait.
    let read = call(
        addr,
        "GetItem",
        serde_json::json!({"TableName": "Gated", "Key": {"pk": {"S": "a"}}}),
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["Item"]["pk"]["S"], "a");
    // A refused condition was decided on that unacknowledged item: it waits as well.
    let refused = spawn_call(
        addr,
        "PutItem",
        serde_json::json!({"TableName": "Gated", "Item": {"pk": {"S": "a"}},
                "ConditionExpression": "attribute_not_exists(pk)"}),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !refused.is_finished(),
        "a condition failure answered before what it read was durable"
    );
    store.hooks.open();
    let put = put.await.unwrap();
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    refused.await.unwrap().assert_error(
        "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        Some("The conditional request failed"),
    );

    // A failed sync is a server fault, never a success.
    let failing = spawn_call(
        addr,
        "PutItem",
        serde_json::json!({"TableName": "Gated", "Item": {"pk": {"S": "b"}}}),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    store.hooks.fail();
    let failing = failing.await.unwrap();
    assert_eq!(failing.status, 500);
    assert_eq!(
        failing.json()["__type"],
        "com.amazonaws.dynamodb.v20120810#InternalServerError"
    );
    server.stop().await;
}
