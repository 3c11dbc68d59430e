//! What stores sharing one pool coordinate through it: announcements reach every other store
//! (and not the announcer) before `announce` returns, and a named lease is held by one store at
//! a time. See `common` for how to point the tests at a cluster.
#![cfg(feature = "rados")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use binderdb_storage::Store;
use binderdb_storage_rados::RadosStore;

use common::options;

type Heard = Arc<Mutex<Vec<Option<Vec<u8>>>>>;

fn listen(store: &RadosStore) -> Heard {
    let heard: Heard = Arc::default();
    let sink = heard.clone();
    store
        .subscribe(Arc::new(move |topic: Option<&[u8]>| {
            sink.lock().unwrap().push(topic.map(<[u8]>::to_vec));
        }))
        .unwrap();
    heard
}

#[test]
fn an_announcement_reaches_every_other_store_before_it_returns() {
    let Some(options) = options() else { return };
    let stores = [
        RadosStore::open(&options).unwrap(),
        RadosStore::open(&options).unwrap(),
        RadosStore::open(&options).unwrap(),
    ];
    assert!(stores[0].shared());
    let heard: Vec<Heard> = stores.iter().map(listen).collect();
    assert_eq!(stores[0].announce(b"catalog").unwrap(), 2);
    // Delivered synchronously: nothing to wait for once `announce` returned.
    assert!(
        heard[0].lock().unwrap().is_empty(),
        "the announcer hears itself"
    );
    for h in &heard[1..] {
        assert_eq!(*h.lock().unwrap(), vec![Some(b"catalog".to_vec())]);
    }
    stores[2].announce(b"other").unwrap();
    assert_eq!(*heard[0].lock().unwrap(), vec![Some(b"other".to_vec())]);
    assert_eq!(heard[1].lock().unwrap().len(), 2);
    assert_eq!(heard[2].lock().unwrap().len(), 1);
}

#[test]
fn a_named_lease_has_one_holder_at_a_time() {
    let Some(options) = options() else { return };
    let a = RadosStore::open(&options).unwrap();
    let b = RadosStore::open(&options).unwrap();
    let long = Duration::from_secs(60);
    assert!(a.lease("job", long).unwrap());
    // Renewing by the holder succeeds; the other store is refused.
    assert!(a.lease("job", long).unwrap());
    assert!(!b.lease("job", long).unwrap());
    // Other names are independent.
    assert!(b.lease("other-job", long).unwrap());
    assert!(!a.lease("other-job", long).unwrap());
    // Released: the other store takes it at once.
    a.release_lease("job").unwrap();
    assert!(b.lease("job", long).unwrap());
    assert!(!a.lease("job", long).unwrap());
    // A holder that stops renewing (a dead node) loses it once it lapsed.
    let short = Duration::from_secs(1);
    assert!(a.lease("brief", short).unwrap());
    assert!(!b.lease("brief", short).unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !b.lease("brief", short).unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lapsed lease was never free"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
