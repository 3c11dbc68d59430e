//! Conformance checks of counters ([`Write::Count`], [`Store::counts`], [`Store::recount`]).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Batch, CounterId, Counts, Guard, Key, Keyspace, StorageError, Store, TableId, Write};

use super::{key, MakeStore};

const TABLE: TableId = 40;
const INDEX: TableId = 41;
const T: CounterId = CounterId {
    group: TABLE,
    lane: TABLE,
};
const I: CounterId = CounterId {
    group: TABLE,
    lane: INDEX,
};

fn counts(items: i64, bytes: i64) -> Counts {
    Counts { items, bytes }
}

fn commit(store: &dyn Store, writes: Vec<Write>) -> Result<u64, StorageError> {
    store.commit(Batch {
        writes,
        guards: Vec::new(),
    })
}

fn add(counter: CounterId, items: i64, bytes: i64) -> Write {
    Write::Count {
        counter,
        delta: counts(items, bytes),
    }
}

fn set(counter: CounterId, items: i64, bytes: i64) -> Write {
    Write::SetCount {
        counter,
        value: counts(items, bytes),
    }
}

fn entry(table: TableId, n: u32) -> Key {
    key(Keyspace::Items, table, &n.to_be_bytes(), b"")
}

/// Puts entry `n` (value of `n % 7 + 1` bytes) with the matching delta, as a writer that knows
/// whether it existed would.
fn put_counted(store: &dyn Store, n: u32, existed: Option<usize>) {
    let value = vec![b'v'; (n % 7 + 1) as usize];
    let delta = (
        i64::from(existed.is_none()),
        value.len() as i64 - existed.unwrap_or(0) as i64,
    );
    commit(
        store,
        vec![
            Write::Put {
                key: entry(TABLE, n),
                value,
            },
            add(T, delta.0, delta.1),
        ],
    )
    .unwrap();
}

fn weigh_len(e: crate::EntryRef<'_>) -> Result<i64, StorageError> {
    Ok(e.value.len() as i64)
}

/// Deltas change only known counters; they apply with their batch or not at all; a batch of
/// only counter writes is a commit like any other.
pub fn counters_follow_their_commits(make: MakeStore<'_>) {
    let store = make();
    assert_eq!(store.counts(T).unwrap(), None);
    // Unknown: ignored.
    commit(store.as_ref(), vec![add(T, 5, 5)]).unwrap();
    assert_eq!(store.counts(T).unwrap(), None);
    let v1 = commit(store.as_ref(), vec![set(T, 0, 0), set(I, 1, 2)]).unwrap();
    assert_eq!(store.counts(T).unwrap(), Some(counts(0, 0)));
    assert_eq!(store.counts(I).unwrap(), Some(counts(1, 2)));
    let v2 = commit(
        store.as_ref(),
        vec![add(T, 1, 10), add(I, 1, 3), add(T, 1, -4)],
    )
    .unwrap();
    assert!(v2 > v1);
    assert_eq!(store.counts(T).unwrap(), Some(counts(2, 6)));
    assert_eq!(store.counts(I).unwrap(), Some(counts(2, 5)));
    // A failed guard applies no delta.
    let refused = store.commit(Batch {
        writes: vec![add(T, 100, 100)],
        guards: vec![Guard {
            key: entry(TABLE, 999),
            expected: Some(1),
        }],
    });
    assert!(matches!(refused, Err(StorageError::Conflict)));
    assert_eq!(store.counts(T).unwrap(), Some(counts(2, 6)));
    // Read-modify-write batches carry deltas too.
    let k = entry(TABLE, 1);
    store
        .read_modify_write(&k, &mut |_| {
            Some(Batch {
                writes: vec![
                    Write::Put {
                        key: k.clone(),
                        value: b"x".to_vec(),
                    },
                    add(T, -1, -1),
                ],
                guards: Vec::new(),
            })
        })
        .unwrap();
    assert_eq!(store.counts(T).unwrap(), Some(counts(1, 5)));
    // Other groups are independent.
    let other = CounterId {
        group: TABLE + 10,
        lane: TABLE + 10,
    };
    assert_eq!(store.counts(other).unwrap(), None);
}

/// Concurrent writers: the counter equals the sum of every committed delta.
pub fn concurrent_deltas_are_exact(make: MakeStore<'_>) {
    let store = make();
    commit(store.as_ref(), vec![set(T, 0, 0)]).unwrap();
    std::thread::scope(|scope| {
        for t in 0..4u32 {
            let store = store.as_ref();
            scope.spawn(move || {
                for i in 0..250u32 {
                    put_counted(store, t * 1000 + i, None);
                }
            });
        }
    });
    let expected: i64 = (0..4u32)
        .flat_map(|t| (0..250u32).map(move |i| i64::from((t * 1000 + i) % 7 + 1)))
        .sum();
    assert_eq!(store.counts(T).unwrap(), Some(counts(1000, expected)));
}

/// A recount counts the entries of one table in one keyspace, and adds the deltas of commits
/// that ran while it walked; it leaves other lanes alone.
pub fn recount_is_exact_under_concurrent_writes(make: MakeStore<'_>) {
    let store = make();
    // Entries written before the counter existed (deltas ignored), plus another table's and
    // another keyspace's entries that must not be counted.
    for n in 0..300u32 {
        put_counted(store.as_ref(), n, None);
        if n % 10 == 0 {
            commit(
                store.as_ref(),
                vec![
                    Write::Put {
                        key: entry(TABLE + 1, n),
                        value: b"other".to_vec(),
                    },
                    Write::Put {
                        key: key(Keyspace::Gsi, TABLE, &n.to_be_bytes(), b""),
                        value: b"other".to_vec(),
                    },
                ],
            )
            .unwrap();
        }
    }
    commit(store.as_ref(), vec![set(I, 3, 3)]).unwrap();
    assert_eq!(store.counts(T).unwrap(), None);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            // Overwrites and new entries while the recount runs. Overwrites change the size by
            // the difference, as a writer that read the old value would commit it.
            let mut n = 300u32;
            while !done.load(Ordering::Relaxed) && n < 2300 {
                put_counted(store.as_ref(), n, None);
                let old = n - 300;
                let old_len = (old % 7 + 1) as usize;
                store
                    .read_modify_write(&entry(TABLE, old), &mut |cur| {
                        let len = cur.map_or(0, |v| v.value.len());
                        Some(Batch {
                            writes: vec![
                                Write::Put {
                                    key: entry(TABLE, old),
                                    value: vec![b'w'; old_len + 1],
                                },
                                add(T, 0, (old_len + 1) as i64 - len as i64),
                            ],
                            guards: Vec::new(),
                        })
                    })
                    .unwrap();
                n += 1;
            }
        });
        let recounted = store
            .recount(T, Keyspace::Items, TABLE, &mut weigh_len)
            .unwrap();
        assert!(recounted.is_some());
        done.store(true, Ordering::Relaxed);
        writer.join().unwrap();
    });
    let mut actual = Counts::default();
    let scan = crate::SegmentScan {
        keyspace: Keyspace::Items,
        table: TABLE,
        segment: 0,
        total_segments: 1,
        start_after: None,
    };
    for (_, _, _, value) in super::collect_scan(store.as_ref(), &scan) {
        actual.items += 1;
        actual.bytes += value.len() as i64;
    }
    assert_eq!(store.counts(T).unwrap(), Some(actual));
    assert_eq!(store.counts(I).unwrap(), Some(counts(3, 3)));
    // A failing weigh leaves the counter unknown.
    let failed = store.recount(T, Keyspace::Items, TABLE, &mut |_| {
        Err(StorageError::Corrupt("undecodable".into()))
    });
    assert!(failed.is_err());
    assert_eq!(store.counts(T).unwrap(), None);
    let again = store
        .recount(T, Keyspace::Items, TABLE, &mut weigh_len)
        .unwrap();
    assert_eq!(again, Some(actual));
    // A recount of an empty range is zero.
    let empty = CounterId {
        group: TABLE,
        lane: TABLE + 5,
    };
    assert_eq!(
        store
            .recount(empty, Keyspace::Lsi, TABLE + 5, &mut weigh_len)
            .unwrap(),
        Some(Counts::default())
    );
}

/// `drop_table` forgets a table's group and the lane of a dropped index.
pub fn drop_table_forgets_counters(make: MakeStore<'_>) {
    let store = make();
    commit(store.as_ref(), vec![set(T, 1, 1), set(I, 2, 2)]).unwrap();
    store.drop_table(INDEX).unwrap();
    assert_eq!(store.counts(I).unwrap(), None);
    assert_eq!(store.counts(T).unwrap(), Some(counts(1, 1)));
    commit(store.as_ref(), vec![add(I, 1, 1)]).unwrap();
    assert_eq!(store.counts(I).unwrap(), None);
    store.drop_table(TABLE).unwrap();
    assert_eq!(store.counts(T).unwrap(), None);
    commit(store.as_ref(), vec![add(T, 1, 1)]).unwrap();
    assert_eq!(store.counts(T).unwrap(), None);
    // A recount of a dropped table does not revive it.
    assert_eq!(
        store
            .recount(T, Keyspace::Items, TABLE, &mut weigh_len)
            .unwrap(),
        None
    );
    assert_eq!(store.counts(T).unwrap(), None);
}
