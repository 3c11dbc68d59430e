//! Tests of whole-store copies ([`write_checkpoint`] from [`Store::checkpoint`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use binderdb_storage::conformance::{key, put};
use binderdb_storage::{
    Batch, CheckpointSummary, CounterId, Counts, Keyspace, MemoryStore, Store, Write,
};

use super::*;

fn counted_put(store: &dyn Store, table: u64, pk: &[u8]) -> u64 {
    store
        .commit(Batch {
            writes: vec![
                Write::Put {
                    key: key(Keyspace::Items, table, pk, b""),
                    value: pk.to_vec(),
                },
                Write::Count {
                    counter: CounterId {
                        group: table,
                        lane: table,
                    },
                    delta: Counts { items: 1, bytes: 1 },
                },
            ],
            guards: Vec::new(),
        })
        .unwrap()
}

fn set_counter(store: &dyn Store, table: u64) {
    store
        .commit(Batch {
            writes: vec![Write::SetCount {
                counter: CounterId {
                    group: table,
                    lane: table,
                },
                value: Counts::default(),
            }],
            guards: Vec::new(),
        })
        .unwrap();
}

fn copy(store: &dyn Store, dir: &std::path::Path) -> CheckpointSummary {
    write_checkpoint(dir, &mut |visit| store.checkpoint(visit)).unwrap()
}

#[test]
fn a_copy_opens_with_every_entry_counter_and_a_higher_version() {
    let src = tempfile::tempdir().unwrap();
    let store = FjallStore::open(src.path()).unwrap();
    set_counter(&store, 7);
    for i in 0..500u32 {
        counted_put(&store, 7, format!("pk{i}").as_bytes());
    }
    put(&store, &key(Keyspace::Gsi, 8, b"g", b"s"), b"index entry");
    put(
        &store,
        &key(Keyspace::Catalog, 0, b"c", b"t"),
        b"descriptor",
    );
    // A dropped table is left out of the copy.
    put(&store, &key(Keyspace::Items, 9, b"gone", b""), b"x");
    store.drop_table(9).unwrap();
    let last = put(&store, &key(Keyspace::Items, 7, b"last", b""), b"v");

    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("copy");
    let summary = copy(&store, &target);
    assert_eq!(summary.version, last);
    assert_eq!(summary.entries, 503);

    let copied = FjallStore::open(&target).unwrap();
    let got = copied
        .get(&key(Keyspace::Items, 7, b"pk499", b""))
        .unwrap()
        .unwrap();
    assert_eq!(got.value, b"pk499");
    let original = store
        .get(&key(Keyspace::Items, 7, b"pk499", b""))
        .unwrap()
        .unwrap();
    assert_eq!(
        got.version, original.version,
        "versions are copied as stored"
    );
    assert!(copied
        .get(&key(Keyspace::Gsi, 8, b"g", b"s"))
        .unwrap()
        .is_some());
    assert!(copied
        .get(&key(Keyspace::Items, 9, b"gone", b""))
        .unwrap()
        .is_none());
    assert_eq!(
        copied.counts(CounterId { group: 7, lane: 7 }).unwrap(),
        Some(Counts {
            items: 500,
            bytes: 500
        })
    );
    let next = put(&copied, &key(Keyspace::Items, 7, b"new", b""), b"v");
    assert!(
        next > last,
        "the copy's versions continue above the source's"
    );
}

#[test]
fn a_copy_goes_only_into_an_empty_or_new_directory() {
    let store = MemoryStore::new();
    put(&store, &key(Keyspace::Items, 1, b"p", b""), b"v");
    let dest = tempfile::tempdir().unwrap();
    std::fs::write(dest.path().join("file"), b"x").unwrap();
    let err = write_checkpoint(dest.path(), &mut |visit| store.checkpoint(visit)).unwrap_err();
    assert!(
        matches!(&err, StorageError::InvalidArgument(m) if m.contains("is not empty")),
        "{err}"
    );
    // An empty directory is fine, and the in-memory engine copies into a durable one.
    let empty = tempfile::tempdir().unwrap();
    copy(&store, empty.path());
    let copied = FjallStore::open(empty.path()).unwrap();
    assert_eq!(
        copied
            .get(&key(Keyspace::Items, 1, b"p", b""))
            .unwrap()
            .unwrap()
            .value,
        b"v"
    );
}

#[test]
fn records_out_of_order_are_refused_not_written() {
    let dest = tempfile::tempdir().unwrap();
    let mut a = binderdb_storage::codec::encode(&key(Keyspace::Items, 1, b"b", b"")).unwrap();
    let mut b = binderdb_storage::codec::encode(&key(Keyspace::Items, 1, b"a", b"")).unwrap();
    if a < b {
        // Descending: the second key sorts before the first.
        std::mem::swap(&mut a, &mut b);
    }
    let value = binderdb_storage::codec::encode_value(1, b"v");
    let err = write_checkpoint(dest.path(), &mut |visit| {
        visit(CheckpointRecord::Snapshot { version: 1 })?;
        for k in [&a, &b] {
            visit(CheckpointRecord::Entry {
                keyspace: Keyspace::Items,
                key: k,
                value: &value,
            })?;
        }
        Ok(())
    })
    .unwrap_err();
    assert!(matches!(err, StorageError::Corrupt(_)), "{err}");
}

/// Writers go on while the copy is taken, and the copy holds a prefix of their commits: every
/// commit that returned before the copy began, and of the later ones exactly those up to the
/// snapshot's version.
#[test]
fn a_copy_under_concurrent_writes_holds_a_prefix_of_the_commits() {
    let src = tempfile::tempdir().unwrap();
    let store = Arc::new(FjallStore::open(src.path()).unwrap());
    for i in 0..2000u32 {
        put(
            store.as_ref(),
            &key(Keyspace::Items, 3, format!("before{i}").as_bytes(), b""),
            b"v",
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut versions = Vec::new();
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let k = key(Keyspace::Items, 3, format!("during{i:08}").as_bytes(), b"");
                versions.push((k.clone(), put(store.as_ref(), &k, b"v")));
                i += 1;
            }
            versions
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(20));
    let dest = tempfile::tempdir().unwrap();
    let summary = copy(store.as_ref(), dest.path());
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    let copied = FjallStore::open(dest.path()).unwrap();
    for i in 0..2000u32 {
        let k = key(Keyspace::Items, 3, format!("before{i}").as_bytes(), b"");
        assert!(copied.get(&k).unwrap().is_some(), "before{i} missing");
    }
    for (k, version) in &written {
        let held = copied.get(k).unwrap().is_some();
        assert_eq!(
            held,
            *version <= summary.version,
            "commit {version} against snapshot {}",
            summary.version
        );
    }
}
