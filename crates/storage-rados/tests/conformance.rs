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

fn scan_all(store: &dyn Store, table: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let scan = binderdb_storage::SegmentScan {
        keyspace: binderdb_storage::Keyspace::Items,
        table,
        segment: 0,
        total_segments: 1,
        start_after: None,
    };
    store
        .scan(&scan, &mut |e| {
            out.push(e.partition.to_vec());
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    out
}

fn pool_objects(options: &RadosOptions) -> Vec<String> {
    let cluster = binderdb_rados::Cluster::connect(&options.conf, None, &[]).unwrap();
    let io = cluster.ioctx(&options.pool).unwrap();
    let mut names: Vec<String> = io
        .list()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(&options.prefix))
        .collect();
    names.sort();
    names
}

/// A store whose partitions were written before the partition index existed (simulated by
/// removing the index and its mark) is indexed when it is opened: a Scan finds every item.
#[test]
fn a_store_written_before_the_partition_index_is_indexed_at_open() {
    let Some(options) = options() else { return };
    let partitions: Vec<Vec<u8>> = (0..40u8).map(|i| vec![b'p', i]).collect();
    {
        let store = RadosStore::open(&options).unwrap();
        for p in &partitions {
            let key = conformance::key(binderdb_storage::Keyspace::Items, 4, p, b"s");
            conformance::put(&store, &key, b"v");
        }
        assert_eq!(scan_all(&store, 4).len(), partitions.len());
    }
    let cluster = binderdb_rados::Cluster::connect(&options.conf, None, &[]).unwrap();
    let io = cluster.ioctx(&options.pool).unwrap();
    let mut removed = 0;
    for name in pool_objects(&options) {
        let rest = &name[options.prefix.len()..];
        if rest.starts_with("binderdb.parts.") || rest == "binderdb.layout" {
            assert!(io.remove(&name).unwrap());
            removed += 1;
        }
    }
    assert!(removed > 1, "the index and its mark existed");
    let store = RadosStore::open(&options).unwrap();
    let mut found = scan_all(&store, 4);
    found.sort();
    let mut expected = partitions.clone();
    expected.sort();
    assert_eq!(found, expected);
}

/// Dropping a table removes its partition objects and its index, and leaves other tables'.
#[test]
fn dropping_a_table_removes_its_objects_and_index() {
    let Some(options) = options() else { return };
    let store = RadosStore::open(&options).unwrap();
    for table in [6, 7] {
        for i in 0..10u8 {
            let key = conformance::key(binderdb_storage::Keyspace::Items, table, &[i], b"s");
            conformance::put(&store, &key, b"v");
        }
    }
    store.drop_table(6).unwrap();
    let names = pool_objects(&options);
    let of = |table: u64| {
        names
            .iter()
            .filter(|n| {
                n.contains(&format!("p.{table:016x}."))
                    || n.contains(&format!("parts.{table:016x}."))
            })
            .count()
    };
    assert_eq!(of(6), 0, "{names:?}");
    assert!(of(7) > 10, "table 7's objects and index stay");
    assert_eq!(scan_all(&store, 6).len(), 0);
    assert_eq!(scan_all(&store, 7).len(), 10);
}
