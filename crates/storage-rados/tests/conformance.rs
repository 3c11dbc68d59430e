//! The storage conformance suite against a real Ceph cluster (see `common` for how to point
//! the tests at one; without one they say so and pass).
#![cfg(feature = "rados")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use binderdb_storage::conformance;
use binderdb_storage::Store;
use binderdb_storage_rados::{RadosOptions, RadosStore};

use common::options;

fn fresh(options: &RadosOptions) -> Arc<dyn Store> {
    let mut options = options.clone();
    options.prefix = format!("t{:016x}.", fastrand::u64(..));
    Arc::new(RadosStore::open(&options).expect("open the RADOS store"))
}

#[test]
fn conformance() {
    let Some(options) = options() else { return };
    conformance::run_all(&|| fresh(&options));
}

#[test]
fn reopening_keeps_data_versions_and_counters() {
    let Some(options) = options() else { return };
    let key = conformance::key(binderdb_storage::Keyspace::Items, 3, b"p", b"s");
    let counter = binderdb_storage::CounterId { group: 3, lane: 3 };
    let first = {
        let store = RadosStore::open(&options).unwrap();
        store
            .commit(binderdb_storage::Batch {
                writes: vec![
                    binderdb_storage::Write::Put {
                        key: key.clone(),
                        value: b"v".to_vec(),
                    },
                    binderdb_storage::Write::SetCount {
                        counter,
                        value: binderdb_storage::Counts { items: 1, bytes: 9 },
                    },
                ],
                guards: vec![],
            })
            .unwrap()
    };
    let store = RadosStore::open(&options).unwrap();
    let got = store.get(&key).unwrap().unwrap();
    assert_eq!((got.version, got.value.as_slice()), (first, &b"v"[..]));
    assert_eq!(
        store.counts(counter).unwrap(),
        Some(binderdb_storage::Counts { items: 1, bytes: 9 })
    );
    let second = conformance::put(&store, &key, b"w");
    assert!(second > first, "versions keep increasing across reopening");
}

#[test]
fn several_nodes_open_one_pool_at_once() {
    let Some(options) = options() else { return };
    let key = conformance::key(binderdb_storage::Keyspace::Items, 3, b"p", b"s");
    let first = RadosStore::open(&options).unwrap();
    let second = RadosStore::open(&options).unwrap();
    let version = conformance::put(&first, &key, b"v");
    let seen = second.get(&key).unwrap().unwrap();
    assert_eq!((seen.version, seen.value.as_slice()), (version, &b"v"[..]));
    assert!(conformance::put(&second, &key, b"w") > version);
    drop(first);
    assert_eq!(second.get(&key).unwrap().unwrap().value, b"w");
}
