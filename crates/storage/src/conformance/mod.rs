//! The conformance suite every [`Store`] engine must pass.
//!
//! Each check takes a factory returning a fresh, empty store and panics (via `assert!`) on
//! failure; [`run_all`] runs them all. Engines call it from a `#[test]`. This is test code
//! compiled into the library so that every engine crate can run it, hence the relaxed lints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod counters;
mod many;
mod oracle;
mod reads;
mod tables;

use std::ops::{Bound, ControlFlow};
use std::sync::Arc;

pub use counters::{
    concurrent_deltas_are_exact, counters_follow_their_commits, drop_table_forgets_counters,
    recount_is_exact_under_concurrent_writes,
};
pub use many::{read_modify_write_many_basics, read_modify_write_many_concurrent};
pub use oracle::{check_against_oracle, random_ops, OracleOp};
pub use reads::{
    partitions_do_not_bleed, range_bounds, scan_segments, scan_start_after, storage_order,
};
pub use tables::legacy_and_compact_tables_stay_apart;

use crate::{
    Batch, EntryRef, Guard, Key, Keyspace, PartitionRange, SegmentScan, StorageError, Store,
    TableId, Versioned, Write,
};

/// An entry copied out of a walk: `(partition, sort, version, value)`.
pub type OwnedEntry = (Vec<u8>, Vec<u8>, u64, Vec<u8>);

/// A store factory: each call returns a fresh, empty store.
pub type MakeStore<'a> = &'a dyn Fn() -> Arc<dyn Store>;

/// Runs every check against a fresh, empty store from `make`. Panics (assert) on failure.
pub fn run_all(make: MakeStore<'_>) {
    get_put_delete(make);
    versions_increase(make);
    guards(make);
    atomic_multi_key_batch(make);
    invalid_arguments(make);
    range_bounds(make);
    partitions_do_not_bleed(make);
    scan_segments(make);
    scan_start_after(make);
    read_modify_write_concurrent(make);
    read_modify_write_abort(make);
    read_modify_write_guards(make);
    read_modify_write_many_basics(make);
    read_modify_write_many_concurrent(make);
    concurrent_guarded_commits(make);
    drop_table(make);
    legacy_and_compact_tables_stay_apart(make);
    counters_follow_their_commits(make);
    concurrent_deltas_are_exact(make);
    recount_is_exact_under_concurrent_writes(make);
    drop_table_forgets_counters(make);
    for seed in 0..8 {
        let store = make();
        check_against_oracle(store.as_ref(), &random_ops(seed, 300));
    }
}

/// Builds a key.
pub fn key(keyspace: Keyspace, table: TableId, partition: &[u8], sort: &[u8]) -> Key {
    Key {
        keyspace,
        table,
        partition: partition.to_vec(),
        sort: sort.to_vec(),
    }
}

fn items(partition: &[u8], sort: &[u8]) -> Key {
    key(Keyspace::Items, 1, partition, sort)
}

/// Commits one unguarded put and returns its version.
pub fn put(store: &dyn Store, key: &Key, value: &[u8]) -> u64 {
    let writes = vec![Write::Put {
        key: key.clone(),
        value: value.to_vec(),
    }];
    store
        .commit(Batch {
            writes,
            guards: vec![],
        })
        .unwrap()
}

fn delete(store: &dyn Store, key: &Key) -> u64 {
    let writes = vec![Write::Delete { key: key.clone() }];
    store
        .commit(Batch {
            writes,
            guards: vec![],
        })
        .unwrap()
}

fn owned(e: EntryRef<'_>) -> OwnedEntry {
    (
        e.partition.to_vec(),
        e.sort.to_vec(),
        e.version,
        e.value.to_vec(),
    )
}

/// Collects a whole partition range as `(partition, sort, version, value)`.
pub fn collect_range(store: &dyn Store, r: &PartitionRange<'_>) -> Vec<OwnedEntry> {
    let mut out = Vec::new();
    store
        .range(r, &mut |e| {
            out.push(owned(e));
            ControlFlow::Continue(())
        })
        .unwrap();
    out
}

/// Collects a whole segment scan as `(partition, sort, version, value)`.
pub fn collect_scan(store: &dyn Store, s: &SegmentScan<'_>) -> Vec<OwnedEntry> {
    let mut out = Vec::new();
    store
        .scan(s, &mut |e| {
            out.push(owned(e));
            ControlFlow::Continue(())
        })
        .unwrap();
    out
}

fn sorts(entries: &[OwnedEntry]) -> Vec<Vec<u8>> {
    entries.iter().map(|e| e.1.clone()).collect()
}

fn whole_partition<'a>(table: TableId, partition: &'a [u8]) -> PartitionRange<'a> {
    PartitionRange {
        keyspace: Keyspace::Items,
        table,
        partition,
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
        reverse: false,
    }
}

fn segment(table: TableId, segment: u32, total_segments: u32) -> SegmentScan<'static> {
    SegmentScan {
        keyspace: Keyspace::Items,
        table,
        segment,
        total_segments,
        start_after: None,
    }
}

/// Point reads see puts and deletes; overwrites replace the value.
pub fn get_put_delete(make: MakeStore<'_>) {
    let store = make();
    let k = items(b"p", b"s");
    assert_eq!(store.get(&k).unwrap(), None);
    let v1 = put(store.as_ref(), &k, b"one");
    assert_eq!(
        store.get(&k).unwrap(),
        Some(Versioned {
            version: v1,
            value: b"one".to_vec()
        })
    );
    let v2 = put(store.as_ref(), &k, b"two");
    assert_eq!(store.get(&k).unwrap().unwrap().value, b"two");
    assert!(v2 > v1);
    delete(store.as_ref(), &k);
    assert_eq!(store.get(&k).unwrap(), None);
    // Deleting an absent key is fine; empty partition, sort and value are valid.
    delete(store.as_ref(), &k);
    let empty = items(b"", b"");
    put(store.as_ref(), &empty, b"");
    assert_eq!(store.get(&empty).unwrap().unwrap().value, b"");
    // A later write to the same key within a batch wins.
    let writes = vec![
        Write::Put {
            key: k.clone(),
            value: b"a".to_vec(),
        },
        Write::Put {
            key: k.clone(),
            value: b"b".to_vec(),
        },
    ];
    store
        .commit(Batch {
            writes,
            guards: vec![],
        })
        .unwrap();
    assert_eq!(store.get(&k).unwrap().unwrap().value, b"b");
    store.flush().unwrap();
}

/// Every commit gets a larger version; all puts of one batch share it.
pub fn versions_increase(make: MakeStore<'_>) {
    let store = make();
    let mut last = 0;
    for i in 0..20u8 {
        let v = put(store.as_ref(), &items(&[i], b""), b"x");
        assert!(v > last, "version {v} after {last}");
        last = v;
    }
    let (a, b) = (items(b"a", b"1"), items(b"b", b"2"));
    let writes = vec![
        Write::Put {
            key: a.clone(),
            value: vec![1],
        },
        Write::Put {
            key: b.clone(),
            value: vec![2],
        },
    ];
    let v = store
        .commit(Batch {
            writes,
            guards: vec![],
        })
        .unwrap();
    assert!(v > last);
    assert_eq!(store.get(&a).unwrap().unwrap().version, v);
    assert_eq!(store.get(&b).unwrap().unwrap().version, v);
    // A batch without writes checks guards and returns the current high-water version.
    let guards = vec![Guard {
        key: a.clone(),
        expected: Some(v),
    }];
    assert_eq!(
        store
            .commit(Batch {
                writes: vec![],
                guards
            })
            .unwrap(),
        v
    );
    let guards = vec![Guard {
        key: a,
        expected: None,
    }];
    assert!(matches!(
        store.commit(Batch {
            writes: vec![],
            guards
        }),
        Err(StorageError::Conflict)
    ));
}

/// Absent / exists-at-version guards; failures are `Conflict` and write nothing.
pub fn guards(make: MakeStore<'_>) {
    let store = make();
    let k = items(b"p", b"s");
    let guarded = |expected: Option<u64>, value: &[u8]| Batch {
        writes: vec![Write::Put {
            key: k.clone(),
            value: value.to_vec(),
        }],
        guards: vec![Guard {
            key: k.clone(),
            expected,
        }],
    };
    let v1 = store.commit(guarded(None, b"first")).unwrap();
    assert!(matches!(
        store.commit(guarded(None, b"again")),
        Err(StorageError::Conflict)
    ));
    assert!(matches!(
        store.commit(guarded(Some(v1 + 1), b"bad")),
        Err(StorageError::Conflict)
    ));
    assert_eq!(store.get(&k).unwrap().unwrap().value, b"first");
    let v2 = store.commit(guarded(Some(v1), b"second")).unwrap();
    assert!(matches!(
        store.commit(guarded(Some(v1), b"stale")),
        Err(StorageError::Conflict)
    ));
    assert_eq!(
        store.get(&k).unwrap(),
        Some(Versioned {
            version: v2,
            value: b"second".to_vec()
        })
    );
    delete(store.as_ref(), &k);
    assert!(matches!(
        store.commit(guarded(Some(v2), b"gone")),
        Err(StorageError::Conflict)
    ));
    store.commit(guarded(None, b"back")).unwrap();
    // A guard on one keyspace does not see the same key bytes in another keyspace or table.
    let other_ks = key(Keyspace::Gsi, 1, b"p", b"s");
    let other_table = key(Keyspace::Items, 2, b"p", b"s");
    for other in [other_ks, other_table] {
        let batch = Batch {
            writes: vec![Write::Put {
                key: other.clone(),
                value: vec![],
            }],
            guards: vec![Guard {
                key: other,
                expected: None,
            }],
        };
        store.commit(batch).unwrap();
    }
}

/// A multi-key batch with one failing guard applies none of its writes.
pub fn atomic_multi_key_batch(make: MakeStore<'_>) {
    let store = make();
    let (a, b, c) = (
        items(b"a", b""),
        items(b"b", b""),
        key(Keyspace::Lsi, 1, b"c", b""),
    );
    let va = put(store.as_ref(), &a, b"a0");
    let batch = |guard_a: Option<u64>| Batch {
        writes: vec![
            Write::Put {
                key: b.clone(),
                value: b"b1".to_vec(),
            },
            Write::Put {
                key: c.clone(),
                value: b"c1".to_vec(),
            },
            Write::Delete { key: a.clone() },
        ],
        guards: vec![
            Guard {
                key: b.clone(),
                expected: None,
            },
            Guard {
                key: a.clone(),
                expected: guard_a,
            },
        ],
    };
    assert!(matches!(
        store.commit(batch(Some(va + 100))),
        Err(StorageError::Conflict)
    ));
    assert_eq!(store.get(&a).unwrap().unwrap().value, b"a0");
    assert_eq!(store.get(&b).unwrap(), None);
    assert_eq!(store.get(&c).unwrap(), None);
    let v = store.commit(batch(Some(va))).unwrap();
    assert_eq!(store.get(&a).unwrap(), None);
    assert_eq!(store.get(&b).unwrap().unwrap().version, v);
    assert_eq!(store.get(&c).unwrap().unwrap().value, b"c1");
}

/// Oversized partitions and invalid segments are `InvalidArgument`, not panics.
pub fn invalid_arguments(make: MakeStore<'_>) {
    let store = make();
    let big = items(&vec![7u8; crate::codec::MAX_PARTITION_LEN + 1], b"");
    assert!(matches!(
        store.get(&big),
        Err(StorageError::InvalidArgument(_))
    ));
    let batch = Batch {
        writes: vec![Write::Put {
            key: big,
            value: vec![],
        }],
        guards: vec![],
    };
    assert!(matches!(
        store.commit(batch),
        Err(StorageError::InvalidArgument(_))
    ));
    for (seg, total) in [(0, 0), (3, 3), (u32::MAX, 1)] {
        let r = store.scan(&segment(1, seg, total), &mut |_| ControlFlow::Continue(()));
        assert!(matches!(r, Err(StorageError::InvalidArgument(_))));
    }
}

fn increment(store: &dyn Store, k: &Key) -> u64 {
    store
        .read_modify_write(k, &mut |cur| {
            let n = cur.map_or(0, |v| {
                u64::from_be_bytes(v.value.as_slice().try_into().unwrap())
            });
            let writes = vec![Write::Put {
                key: k.clone(),
                value: (n + 1).to_be_bytes().to_vec(),
            }];
            Some(Batch {
                writes,
                guards: vec![],
            })
        })
        .unwrap()
        .unwrap()
}

/// 8 threads × 200 read-modify-write increments of one key lose nothing.
pub fn read_modify_write_concurrent(make: MakeStore<'_>) {
    let store = make();
    let k = items(b"counter", b"");
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..200 {
                    increment(store.as_ref(), &k);
                }
            });
        }
        // Plain commits to other keys meanwhile must not disturb the counter.
        scope.spawn(|| {
            for i in 0..200u32 {
                put(store.as_ref(), &items(b"noise", &i.to_be_bytes()), b"n");
            }
        });
    });
    let v = store.get(&k).unwrap().unwrap();
    assert_eq!(v.value, 1600u64.to_be_bytes());
}

/// A closure returning `None` writes nothing.
pub fn read_modify_write_abort(make: MakeStore<'_>) {
    let store = make();
    let k = items(b"k", b"");
    let mut seen = Vec::new();
    let r = store
        .read_modify_write(&k, &mut |cur| {
            seen.push(cur.cloned());
            None
        })
        .unwrap();
    assert_eq!(r, None);
    assert_eq!(seen, vec![None]);
    assert_eq!(store.get(&k).unwrap(), None);
    let v = put(store.as_ref(), &k, b"x");
    let r = store.read_modify_write(&k, &mut |cur| {
        assert_eq!(cur.unwrap().version, v);
        None
    });
    assert_eq!(r.unwrap(), None);
    assert_eq!(store.get(&k).unwrap().unwrap().version, v);
}

/// The closure's batch may touch other keys and carry its own guards; an explicit guard
/// failure is `Conflict`, not a retry.
pub fn read_modify_write_guards(make: MakeStore<'_>) {
    let store = make();
    let (k, side) = (items(b"k", b""), key(Keyspace::Lsi, 1, b"k", b"side"));
    let v = store
        .read_modify_write(&k, &mut |cur| {
            assert!(cur.is_none());
            Some(Batch {
                writes: vec![
                    Write::Put {
                        key: k.clone(),
                        value: b"main".to_vec(),
                    },
                    Write::Put {
                        key: side.clone(),
                        value: b"side".to_vec(),
                    },
                ],
                guards: vec![Guard {
                    key: side.clone(),
                    expected: None,
                }],
            })
        })
        .unwrap()
        .unwrap();
    assert_eq!(store.get(&side).unwrap().unwrap().version, v);
    let mut calls = 0;
    let r = store.read_modify_write(&k, &mut |_| {
        calls += 1;
        Some(Batch {
            writes: vec![Write::Delete { key: k.clone() }],
            guards: vec![Guard {
                key: side.clone(),
                expected: None,
            }],
        })
    });
    assert!(matches!(r, Err(StorageError::Conflict)));
    assert_eq!(calls, 1);
    assert_eq!(store.get(&k).unwrap().unwrap().value, b"main");
    // The closure may delete the key it read; the next call then sees it absent.
    store
        .read_modify_write(&k, &mut |_| {
            Some(Batch {
                writes: vec![Write::Delete { key: k.clone() }],
                guards: vec![],
            })
        })
        .unwrap();
    store
        .read_modify_write(&k, &mut |cur| {
            assert!(cur.is_none());
            None
        })
        .unwrap();
}

/// Optimistic guarded increments from many threads: exactly the winners' writes land.
pub fn concurrent_guarded_commits(make: MakeStore<'_>) {
    let store = make();
    let k = items(b"hot", b"");
    let total = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..50 {
                    loop {
                        let cur = store.get(&k).unwrap();
                        let n = cur.as_ref().map_or(0, |v| v.value.len());
                        let batch = Batch {
                            writes: vec![Write::Put {
                                key: k.clone(),
                                value: vec![0; n + 1],
                            }],
                            guards: vec![Guard {
                                key: k.clone(),
                                expected: cur.map(|v| v.version),
                            }],
                        };
                        match store.commit(batch) {
                            Ok(_) => break,
                            Err(StorageError::Conflict) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(store.get(&k).unwrap().unwrap().value.len(), 400);
}

/// `drop_table` removes the table in every keyspace and nothing else.
pub fn drop_table(make: MakeStore<'_>) {
    let store = make();
    for ks in Keyspace::ALL {
        for table in [6u64, 7, 8] {
            for p in 0u8..20 {
                put(store.as_ref(), &key(ks, table, &[p], &[p]), b"v");
            }
        }
    }
    store.drop_table(7).unwrap();
    store.drop_table(1234).unwrap();
    for ks in Keyspace::ALL {
        assert_eq!(store.get(&key(ks, 7, &[3], &[3])).unwrap(), None);
        assert!(store.get(&key(ks, 6, &[3], &[3])).unwrap().is_some());
        let count = |table: TableId| {
            let mut n = 0;
            let s = SegmentScan {
                keyspace: ks,
                ..segment(table, 0, 1)
            };
            store
                .scan(&s, &mut |_| {
                    n += 1;
                    ControlFlow::Continue(())
                })
                .unwrap();
            n
        };
        assert_eq!((count(6), count(7), count(8)), (20, 0, 20), "{ks:?}");
        let r = PartitionRange {
            keyspace: ks,
            ..whole_partition(7, &[3])
        };
        assert!(collect_range(store.as_ref(), &r).is_empty());
    }
    store.drop_table(u64::MAX).unwrap();
    store.drop_table(0).unwrap();
    assert!(store
        .get(&key(Keyspace::Items, 6, &[1], &[1]))
        .unwrap()
        .is_some());
}
