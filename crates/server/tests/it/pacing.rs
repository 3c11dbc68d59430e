//! Writes while the store paces its writers (`Store::pacing_writers`): a paced write sleeps
//! inside the store, and must not hold up the other requests of the runtime worker it arrived
//! on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::ScalarAttributeType;
use binderdb_storage::testing::{Hooked, Hooks};
use binderdb_storage::{Batch, Key, Keyspace, StorageError, Store, Versioned};

use crate::common::*;

/// Hooks making the in-memory engine say it paces its writers while `pacing` is set, and
/// making its next read-modify-write (once armed) hold its thread, as a paced writer's sleep
/// does, until an item read arrives or 10 s pass, noting which came first.
///
/// They wrap the in-memory engine whatever the run's store: the point is a store that paces,
/// which the in-memory and RADOS engines never do.
#[derive(Debug, Default)]
struct Pacing {
    pacing: AtomicBool,
    hold_next_write: AtomicBool,
    holding: AtomicBool,
    item_reads: AtomicU64,
    /// Whether an item read was served while the held write slept (`None`: no write held yet).
    read_while_held: Mutex<Option<bool>>,
}

impl Pacing {
    fn hold(&self) {
        let seen = self.item_reads.load(Ordering::SeqCst);
        self.holding.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut served = false;
        while Instant::now() < deadline {
            if self.item_reads.load(Ordering::SeqCst) > seen {
                served = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        *self.read_while_held.lock().unwrap() = Some(served);
    }
}

impl Hooks for Pacing {
    fn get(&self, inner: &dyn Store, key: &Key) -> Result<Option<Versioned>, StorageError> {
        if key.keyspace == Keyspace::Items {
            self.item_reads.fetch_add(1, Ordering::SeqCst);
        }
        inner.get(key)
    }

    fn read_modify_write(
        &self,
        inner: &dyn Store,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        if key.keyspace == Keyspace::Items && self.hold_next_write.swap(false, Ordering::SeqCst) {
            self.hold();
        }
        inner.read_modify_write(key, f)
    }

    fn pacing_writers(&self, _inner: &dyn Store) -> bool {
        self.pacing.load(Ordering::SeqCst)
    }
}

/// The test runtime has one thread, which also runs the server: a write run inline there
/// would hold every other request (and the test itself) until it ends.
#[tokio::test]
async fn a_paced_write_does_not_hold_up_the_other_requests() {
    let store = Arc::new(Hooked::<Pacing>::default());
    let server = TestServer::with_store(store.clone()).await;
    let client = server.client();
    create_table(&client, "Paced", ("pk", ScalarAttributeType::S), None).await;
    put(&client, "Paced", &[("pk", s("there")), ("v", s("1"))]).await;

    store.hooks.pacing.store(true, Ordering::SeqCst);
    store.hooks.hold_next_write.store(true, Ordering::SeqCst);
    let write = tokio::spawn({
        let client = client.clone();
        async move {
            put(&client, "Paced", &[("pk", s("slow")), ("v", s("2"))]).await;
        }
    });
    while !store.hooks.holding.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // While the write sleeps in the store, another connection's read is answered.
    let got = client
        .get_item()
        .table_name("Paced")
        .key("pk", s("there"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().and_then(|i| i.get("v")), Some(&s("1")));
    write.await.unwrap();
    assert_eq!(*store.hooks.read_while_held.lock().unwrap(), Some(true));
    // And the write itself went through.
    let got = client
        .get_item()
        .table_name("Paced")
        .key("pk", s("slow"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().and_then(|i| i.get("v")), Some(&s("2")));
    server.stop().await;
}
