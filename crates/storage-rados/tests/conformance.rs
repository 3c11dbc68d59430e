//! The storage conformance suite against a real Ceph cluster.
//!
//! Needs `BINDERDB_CEPH_CONF` (a ceph.conf with its keyring) and optionally `BINDERDB_CEPH_POOL`
//! (default `binderdb`); `scripts/ceph-cluster start` makes both and `scripts/test` sets them.
//! Without `BINDERDB_CEPH_CONF` the tests say so and pass: the cluster is an optional part of
//! the test command, which reports plainly when it skips it.
#![cfg(feature = "rados")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use binderdb_storage::conformance;
use binderdb_storage::Store;
use binderdb_storage_rados::{RadosOptions, RadosStore};

fn options() -> Option<RadosOptions> {
    let Some(conf) = std::env::var_os("BINDERDB_CEPH_CONF") else {
        eprintln!("BINDERDB_CEPH_CONF is not set: no Ceph cluster, RADOS conformance skipped");
        return None;
    };
    Some(RadosOptions {
        conf: conf.into(),
        pool: std::env::var("BINDERDB_CEPH_POOL").unwrap_or_else(|_| "binderdb".to_owned()),
        user: None,
        // Every store gets its own object-name prefix, so each starts empty in a shared pool.
        prefix: format!("t{:016x}.", fastrand::u64(..)),
        wait_for_lease: std::time::Duration::ZERO,
    })
}

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
fn a_second_node_is_refused_while_the_first_holds_the_pool() {
    let Some(options) = options() else { return };
    let first = RadosStore::open(&options).unwrap();
    let second = RadosStore::open(&options);
    assert!(
        matches!(&second, Err(binderdb_storage::StorageError::InvalidArgument(m)) if m.contains("another binderdb node")),
        "{second:?}"
    );
    drop(first);
    // A node that stops cleanly releases the pool at once.
    RadosStore::open(&options).unwrap();
}
