//! Conformance checks of [`Store::read_modify_write_many`]: what the closure sees, what a
//! commit writes, and that concurrent read-modify-writes of overlapping keys (one key or
//! several at once) and plain guarded commits lose no update.

use crate::{Batch, Guard, Key, Keyspace, StorageError, Store, Versioned, Write};

use super::{key, put, MakeStore};

fn counter(i: usize) -> Key {
    key(Keyspace::Items, 1, b"ctr", &[i as u8])
}

fn value_of(current: Option<&Versioned>) -> u64 {
    current.map_or(0, |v| {
        u64::from_be_bytes(v.value.as_slice().try_into().unwrap())
    })
}

fn increment_write(key: &Key, current: Option<&Versioned>) -> Write {
    Write::Put {
        key: key.clone(),
        value: (value_of(current) + 1).to_be_bytes().to_vec(),
    }
}

/// Increments every key of `keys` (distinct) in one call, retrying the call on `Conflict`
/// (which an engine without latches may return when a key moved).
fn increment_many(store: &dyn Store, keys: &[Key]) {
    loop {
        let r = store.read_modify_write_many(keys, &mut |current| {
            assert_eq!(current.len(), keys.len());
            let writes = keys
                .iter()
                .zip(current)
                .map(|(k, c)| increment_write(k, c.as_ref()))
                .collect();
            Some(Batch {
                writes,
                guards: vec![],
            })
        });
        match r {
            Ok(Some(_)) => return,
            Err(StorageError::Conflict) => continue,
            other => panic!("{other:?}"),
        }
    }
}

/// The closure sees every key's value and version, in order (repeats and absent keys
/// included); its batch commits as one version, may write other keys, and an explicit guard
/// that fails is `Conflict` with nothing written; `None` writes nothing; no keys is allowed.
pub fn read_modify_write_many_basics(make: MakeStore<'_>) {
    let store = make();
    let (a, b, side) = (
        key(Keyspace::Items, 1, b"a", b""),
        key(Keyspace::Items, 1, b"b", b"1"),
        key(Keyspace::Lsi, 1, b"a", b"side"),
    );
    let va = put(store.as_ref(), &a, b"1");
    let mut calls = 0;
    let v = store
        .read_modify_write_many(&[a.clone(), b.clone(), a.clone()], &mut |current| {
            calls += 1;
            assert_eq!(current.len(), 3);
            let first = current[0].as_ref().unwrap();
            assert_eq!((first.version, first.value.as_slice()), (va, &b"1"[..]));
            assert_eq!(current[1], None);
            assert_eq!(current[2], current[0]);
            Some(Batch {
                writes: vec![
                    Write::Put {
                        key: a.clone(),
                        value: b"2".to_vec(),
                    },
                    Write::Put {
                        key: b.clone(),
                        value: b"x".to_vec(),
                    },
                    Write::Put {
                        key: side.clone(),
                        value: b"s".to_vec(),
                    },
                ],
                guards: vec![],
            })
        })
        .unwrap()
        .unwrap();
    assert_eq!(calls, 1);
    assert!(v > va);
    for (k, value) in [(&a, &b"2"[..]), (&b, b"x"), (&side, b"s")] {
        let stored = store.get(k).unwrap().unwrap();
        assert_eq!((stored.version, stored.value.as_slice()), (v, value));
    }

    // `None`: nothing written.
    let r = store
        .read_modify_write_many(&[a.clone(), b.clone()], &mut |current| {
            assert_eq!(current[1].as_ref().unwrap().version, v);
            None
        })
        .unwrap();
    assert_eq!(r, None);
    assert_eq!(store.get(&a).unwrap().unwrap().version, v);

    // A failed explicit guard: `Conflict`, nothing written, the closure called once.
    let mut calls = 0;
    let r = store.read_modify_write_many(&[a.clone(), b.clone()], &mut |_| {
        calls += 1;
        Some(Batch {
            writes: vec![Write::Delete { key: a.clone() }],
            guards: vec![Guard {
                key: side.clone(),
                expected: None,
            }],
        })
    });
    assert!(matches!(r, Err(StorageError::Conflict)), "{r:?}");
    assert_eq!(calls, 1);
    assert_eq!(store.get(&a).unwrap().unwrap().value, b"2");

    // The closure may delete keys it read; the next call sees them absent.
    store
        .read_modify_write_many(&[b.clone(), a.clone()], &mut |_| {
            Some(Batch {
                writes: vec![
                    Write::Delete { key: a.clone() },
                    Write::Delete { key: b.clone() },
                ],
                guards: vec![],
            })
        })
        .unwrap()
        .unwrap();
    store
        .read_modify_write_many(&[a.clone(), b.clone()], &mut |current| {
            assert_eq!(current, &[None, None]);
            None
        })
        .unwrap();

    // No keys: the closure sees none, and its batch commits.
    let c = key(Keyspace::Items, 1, b"c", b"");
    store
        .read_modify_write_many(&[], &mut |current| {
            assert!(current.is_empty());
            Some(Batch {
                writes: vec![Write::Put {
                    key: c.clone(),
                    value: b"c".to_vec(),
                }],
                guards: vec![],
            })
        })
        .unwrap()
        .unwrap();
    assert_eq!(store.get(&c).unwrap().unwrap().value, b"c");
}

/// Counters incremented concurrently by read-modify-writes of several keys (overlapping sets,
/// named in different orders), of one key, and by optimistic guarded commits: no increment is
/// lost.
pub fn read_modify_write_many_concurrent(make: MakeStore<'_>) {
    const COUNTERS: usize = 8;
    let store = make();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let store = &store;
            scope.spawn(move || {
                for j in 0..100 {
                    let keys: Vec<Key> = [0, 3, 5]
                        .iter()
                        .map(|d| counter((j + t + d) % COUNTERS))
                        .collect();
                    // Reversed in every other thread: latches must not depend on the order.
                    let keys: Vec<Key> = if t % 2 == 0 {
                        keys
                    } else {
                        keys.into_iter().rev().collect()
                    };
                    increment_many(store.as_ref(), &keys);
                }
            });
        }
        for t in 0..2 {
            let store = &store;
            scope.spawn(move || {
                for j in 0..150 {
                    let k = counter((j + t) % COUNTERS);
                    store
                        .read_modify_write(&k, &mut |current| {
                            Some(Batch {
                                writes: vec![increment_write(&k, current)],
                                guards: vec![],
                            })
                        })
                        .unwrap()
                        .unwrap();
                }
            });
        }
        // Plain commits take no latch: their guard, and the read-modify-writes' re-checks,
        // keep them apart.
        scope.spawn(|| {
            for j in 0..100 {
                let k = counter(j % COUNTERS);
                loop {
                    let current = store.get(&k).unwrap();
                    let batch = Batch {
                        writes: vec![increment_write(&k, current.as_ref())],
                        guards: vec![Guard {
                            key: k.clone(),
                            expected: current.map(|v| v.version),
                        }],
                    };
                    match store.commit(batch) {
                        Ok(_) => break,
                        Err(StorageError::Conflict) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        });
    });
    let total: u64 = (0..COUNTERS)
        .map(|i| value_of(store.get(&counter(i)).unwrap().as_ref()))
        .sum();
    assert_eq!(total, 4 * 100 * 3 + 2 * 150 + 100);
}
