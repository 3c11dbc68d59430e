//! Several nodes on one pool: stores opened on the same pool and prefix (each its own RADOS
//! client, sharing nothing but the cluster), and a child process killed with SIGKILL in the
//! middle of multi-object commits. See `common` for how to point the tests at a cluster.
#![cfg(feature = "rados")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::process::{Command, Stdio};
use std::sync::Barrier;

use binderdb_storage::conformance::key;
use binderdb_storage::{
    Batch, Guard, Key, Keyspace, PartitionRange, StorageError, Store, Versioned, Write,
};
use binderdb_storage_rados::{RadosOptions, RadosStore};

use common::options;

const TABLE: u64 = 9;
const ACCOUNTS: u8 = 6;
const OPENING_BALANCE: i64 = 100;
const CHILD_PREFIX: &str = "BINDERDB_TEST_CHILD_PREFIX";

fn put(key: &Key, value: &[u8]) -> Write {
    Write::Put {
        key: key.clone(),
        value: value.to_vec(),
    }
}

fn account(n: u8) -> Key {
    key(Keyspace::Items, TABLE, &[b'a', n], b"")
}

fn journal(id: &str) -> Key {
    key(Keyspace::Items, TABLE, b"journal", id.as_bytes())
}

fn balance(v: Option<&Versioned>) -> i64 {
    let bytes: [u8; 8] = v.unwrap().value.as_slice().try_into().unwrap();
    i64::from_be_bytes(bytes)
}

/// Two nodes commit, at the same instant, a batch guarded on the version both read of one
/// key: exactly one of them wins each round, whether the batch stays in the key's object or
/// spans several objects (the coordinator's protocol).
#[test]
fn racing_guarded_commits_from_two_nodes_have_exactly_one_winner() {
    let Some(options) = options() else { return };
    let nodes = [
        RadosStore::open(&options).unwrap(),
        RadosStore::open(&options).unwrap(),
    ];
    let contested = key(Keyspace::Items, TABLE, b"contested", b"");
    let barrier = Barrier::new(2);
    for round in 0..16u8 {
        let multi_object = round % 2 == 1;
        let expected = nodes[0].get(&contested).unwrap().map(|v| v.version);
        let outcomes: Vec<Result<u64, StorageError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = nodes
                .iter()
                .enumerate()
                .map(|(n, node)| {
                    let (barrier, contested) = (&barrier, &contested);
                    scope.spawn(move || {
                        let mut writes = vec![put(contested, &[round, n as u8])];
                        if multi_object {
                            let side = key(Keyspace::Items, TABLE, &[b's', n as u8], &[round]);
                            writes.push(put(&side, &[round]));
                        }
                        barrier.wait();
                        node.commit(Batch {
                            writes,
                            guards: vec![Guard {
                                key: contested.clone(),
                                expected,
                            }],
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<usize> = (0..2).filter(|&n| outcomes[n].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let loser = 1 - winners[0];
        assert!(
            matches!(outcomes[loser], Err(StorageError::Conflict)),
            "round {round}: {outcomes:?}"
        );
        for node in &nodes {
            let now = node.get(&contested).unwrap().unwrap();
            assert_eq!(now.value, [round, winners[0] as u8]);
            assert_eq!(
                Some(now.version),
                outcomes[winners[0]].as_ref().ok().copied()
            );
        }
        if multi_object {
            // The winner's other write landed with it; the loser's did not.
            let side = |n: u8| key(Keyspace::Items, TABLE, &[b's', n], &[round]);
            assert!(nodes[loser].get(&side(winners[0] as u8)).unwrap().is_some());
            assert!(nodes[winners[0]].get(&side(loser as u8)).unwrap().is_none());
        }
    }
}

/// Read-modify-writes of one counter from two nodes, each also writing a log entry in another
/// partition: no increment is lost and every log entry matches one.
#[test]
fn concurrent_read_modify_writes_from_two_nodes_lose_nothing() {
    let Some(options) = options() else { return };
    let nodes = [
        RadosStore::open(&options).unwrap(),
        RadosStore::open(&options).unwrap(),
    ];
    let counter = key(Keyspace::Items, TABLE, b"counter", b"");
    let per_thread = 12u32;
    std::thread::scope(|scope| {
        for (n, node) in nodes.iter().enumerate() {
            for t in 0..2 {
                let counter = &counter;
                scope.spawn(move || {
                    for i in 0..per_thread {
                        node.read_modify_write(counter, &mut |current| {
                            let next = current.map_or(0, |v| balance(Some(v))) + 1;
                            let entry = key(
                                Keyspace::Items,
                                TABLE,
                                b"log",
                                format!("{n}-{t}-{i}").as_bytes(),
                            );
                            Some(Batch {
                                writes: vec![
                                    put(counter, &next.to_be_bytes()),
                                    put(&entry, &next.to_be_bytes()),
                                ],
                                guards: vec![],
                            })
                        })
                        .unwrap();
                    }
                });
            }
        }
    });
    let total = i64::from(per_thread) * 4;
    let mut values = Vec::new();
    nodes[1]
        .range(
            &PartitionRange {
                keyspace: Keyspace::Items,
                table: TABLE,
                partition: b"log",
                lower: std::ops::Bound::Unbounded,
                upper: std::ops::Bound::Unbounded,
                reverse: false,
            },
            &mut |e| {
                values.push(i64::from_be_bytes(e.value.try_into().unwrap()));
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    values.sort_unstable();
    // Each increment saw the one before it: the log holds 1..=total exactly once.
    assert_eq!(values, (1..=total).collect::<Vec<_>>());
    assert_eq!(balance(nodes[0].get(&counter).unwrap().as_ref()), total);
}

/// Moves one unit between two accounts (each in its own partition) and journals the move in a
/// third: a three-object commit guarded on both balances. Retries conflicts.
fn transfer(store: &dyn Store, from: u8, to: u8, id: &str) {
    loop {
        let a = store.get(&account(from)).unwrap();
        let b = store.get(&account(to)).unwrap();
        let batch = Batch {
            writes: vec![
                put(&account(from), &(balance(a.as_ref()) - 1).to_be_bytes()),
                put(&account(to), &(balance(b.as_ref()) + 1).to_be_bytes()),
                put(&journal(id), &[from, to]),
            ],
            guards: vec![
                Guard {
                    key: account(from),
                    expected: a.map(|v| v.version),
                },
                Guard {
                    key: account(to),
                    expected: b.map(|v| v.version),
                },
            ],
        };
        match store.commit(batch) {
            Ok(_) => return,
            Err(StorageError::Conflict) => continue,
            Err(e) => panic!("transfer: {e}"),
        }
    }
}

/// Every transaction all-or-nothing: the balances are exactly what the journal's moves made of
/// the opening balances.
fn assert_books_balance(store: &dyn Store) -> usize {
    let mut expected = [OPENING_BALANCE; ACCOUNTS as usize];
    let mut moves = 0;
    store
        .range(
            &PartitionRange {
                keyspace: Keyspace::Items,
                table: TABLE,
                partition: b"journal",
                lower: std::ops::Bound::Unbounded,
                upper: std::ops::Bound::Unbounded,
                reverse: false,
            },
            &mut |e| {
                expected[usize::from(e.value[0])] -= 1;
                expected[usize::from(e.value[1])] += 1;
                moves += 1;
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    let actual: Vec<i64> = (0..ACCOUNTS)
        .map(|n| balance(store.get(&account(n)).unwrap().as_ref()))
        .collect();
    assert_eq!(actual, expected, "after {moves} journaled moves");
    moves
}

/// The child process of `a_node_killed_mid_transaction_is_recovered_by_another`: transfers on
/// three threads until it is killed, printing a line every ten.
#[test]
#[ignore = "run as a child process by a_node_killed_mid_transaction_is_recovered_by_another"]
fn child_transfers_until_killed() {
    let (Some(mut options), Ok(prefix)) = (options(), std::env::var(CHILD_PREFIX)) else {
        return;
    };
    options.prefix = prefix;
    let store = RadosStore::open(&options).unwrap();
    let pid = std::process::id();
    std::thread::scope(|scope| {
        for t in 0..3u32 {
            let store = &store;
            scope.spawn(move || {
                for i in 0u32.. {
                    let from = fastrand::u8(..ACCOUNTS);
                    let to = (from + 1 + fastrand::u8(..ACCOUNTS - 1)) % ACCOUNTS;
                    transfer(store, from, to, &format!("{pid}-{t}-{i}"));
                    if i % 10 == 9 {
                        println!("committed {i}");
                    }
                }
            });
        }
    });
}

/// A node killed (SIGKILL) while three threads run multi-object commits: another node reading
/// right away never sees half a transaction, its writes to the locked keys go through once the
/// dead node's liveness lapses (its running transactions aborted, its committed ones rolled
/// forward), and the books balance throughout.
#[test]
fn a_node_killed_mid_transaction_is_recovered_by_another() {
    let Some(options) = options() else { return };
    let survivor = RadosStore::open(&options).unwrap();
    let opening: Vec<Write> = (0..ACCOUNTS)
        .map(|n| put(&account(n), &OPENING_BALANCE.to_be_bytes()))
        .collect();
    survivor
        .commit(Batch {
            writes: opening,
            guards: vec![],
        })
        .unwrap();
    for round in 0..2 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_transfers_until_killed",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_PREFIX, &options.prefix)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it commit a while (each line is ten transfers of one thread).
        let mut seen = 0;
        while seen < 6 + round * 3 {
            let line = lines.next().expect("the child stopped early").unwrap();
            if line.starts_with("committed") {
                seen += 1;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // At once: reads resolve what they meet (a committed transaction is rolled forward, a
        // running one of the dead node is read through).
        let before = assert_books_balance(&survivor);
        assert!(before >= 60, "{before} moves");
        // Writes to every account: they wait for the dead node's liveness to lapse wherever it
        // left a lock, then abort its running transactions and go through.
        for n in 0..ACCOUNTS {
            transfer(
                &survivor,
                n,
                (n + 1) % ACCOUNTS,
                &format!("survivor-{round}-{n}"),
            );
        }
        let after = assert_books_balance(&survivor);
        assert_eq!(after, before + usize::from(ACCOUNTS));
    }
    // A node opened now sees the same books.
    let late = RadosStore::open(&RadosOptions { ..options }).unwrap();
    assert_books_balance(&late);
}

/// Table statistics add up across nodes: both nodes commit counted puts (some into the same
/// partitions, so their contributions race on one record), and every node, including one
/// opened afterwards, reads the same exact total.
#[test]
fn statistics_add_up_across_nodes() {
    let Some(options) = options() else { return };
    let nodes = [
        RadosStore::open(&options).unwrap(),
        RadosStore::open(&options).unwrap(),
    ];
    let counter = binderdb_storage::CounterId {
        group: TABLE,
        lane: TABLE,
    };
    nodes[0]
        .commit(Batch {
            writes: vec![Write::SetCount {
                counter,
                value: binderdb_storage::Counts::default(),
            }],
            guards: vec![],
        })
        .unwrap();
    let per_thread = 15u32;
    std::thread::scope(|scope| {
        for (n, node) in nodes.iter().enumerate() {
            for t in 0..2u32 {
                scope.spawn(move || {
                    for i in 0..per_thread {
                        // Four shared partitions: the nodes' deltas meet in their records.
                        let item = key(
                            Keyspace::Items,
                            TABLE,
                            &[b'p', (i % 4) as u8],
                            format!("{n}-{t}-{i}").as_bytes(),
                        );
                        node.commit(Batch {
                            writes: vec![
                                put(&item, b"12345"),
                                Write::Count {
                                    counter,
                                    delta: binderdb_storage::Counts { items: 1, bytes: 5 },
                                },
                            ],
                            guards: vec![],
                        })
                        .unwrap();
                    }
                });
            }
        }
    });
    let total = i64::from(per_thread) * 4;
    let expected = Some(binderdb_storage::Counts {
        items: total,
        bytes: total * 5,
    });
    for node in &nodes {
        assert_eq!(node.counts(counter).unwrap(), expected);
    }
    let late = RadosStore::open(&options).unwrap();
    assert_eq!(late.counts(counter).unwrap(), expected);
}

/// A recount on one node shuts the gate for the other node's counted commits until its walk
/// ends, whatever the recounter's id: each round opens a new recounter (a new random node id),
/// whose walk pauses at its first entry while the other node commits a counted write. That
/// commit returns only after the walk ended, and the count is exact. (A node id with its top
/// bit set once came back from the registry's flag word as another, nonexistent node's, which
/// the writer took for a dead recounter and wrote through the walk.)
#[test]
fn a_recount_holds_the_other_nodes_counted_commits_whatever_the_recounters_id() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(options) = options() else { return };
    let writer = RadosStore::open(&options).unwrap();
    let counter = binderdb_storage::CounterId {
        group: TABLE,
        lane: TABLE,
    };
    let counted_write = |n: u32| Batch {
        writes: vec![
            put(
                &key(Keyspace::Items, TABLE, b"late", format!("{n}").as_bytes()),
                b"1",
            ),
            Write::Count {
                counter,
                delta: binderdb_storage::Counts { items: 1, bytes: 1 },
            },
        ],
        guards: vec![],
    };
    let mut items = 0i64;
    for n in 0..10u32 {
        writer.commit(counted_write(1000 + n)).unwrap();
        items += 1;
    }
    for round in 0..8u32 {
        let recounter = RadosStore::open(&options).unwrap();
        let walked = AtomicBool::new(false);
        let walking = Barrier::new(2);
        let committed_after_walk = std::thread::scope(|scope| {
            let committer = scope.spawn(|| {
                walking.wait();
                writer.commit(counted_write(round)).unwrap();
                walked.load(Ordering::SeqCst)
            });
            let mut seen = 0i64;
            let recounted = recounter
                .recount(counter, Keyspace::Items, TABLE, &mut |_| {
                    seen += 1;
                    if seen == 1 {
                        walking.wait();
                        // Long enough for an ungated commit to land meanwhile.
                        std::thread::sleep(std::time::Duration::from_millis(300));
                    }
                    if seen == items {
                        walked.store(true, Ordering::SeqCst);
                    }
                    Ok(1)
                })
                .unwrap();
            // (It may include the other node's commit already, made once the gate opened.)
            assert!(recounted.is_some(), "round {round}");
            committer.join().unwrap()
        });
        items += 1;
        assert!(
            committed_after_walk,
            "round {round}: the other node committed before the walk ended"
        );
        // The writer (its commit dropped its cached sums) and a node that has cached nothing;
        // the recounter may show its sums of the recount's end for `SUM_CACHE`.
        let fresh = RadosStore::open(&options).unwrap();
        for (name, node) in [("writer", &writer), ("fresh", &fresh)] {
            assert_eq!(
                node.counts(counter).unwrap().map(|c| c.items),
                Some(items),
                "round {round}, {name}"
            );
        }
    }
}

/// A recount also holds the other node's commits that move an entry it walks without changing
/// the count: an index entry deleted from one partition and put in another, the same size (an
/// UpdateItem that changes only the indexed attribute's value), carries no delta, but a walk
/// that had passed the entry's new partition and not yet reached its old one would miss it
/// for good. Each round, the recounter's walk pauses in the first partition it reads while the
/// other node moves an entry of the last one into it: the move lands after the walk, and the
/// count is exact. (Before such moves waited, every round counted one entry short.)
#[test]
fn a_recount_holds_the_other_nodes_uncounted_moves_of_the_entries_it_walks() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(options) = options() else { return };
    const INDEX: u64 = TABLE + 1;
    const PER_PARTITION: u32 = 4;
    let writer = RadosStore::open(&options).unwrap();
    let counter = binderdb_storage::CounterId {
        group: TABLE,
        lane: INDEX,
    };
    // The index's partitions in the order a walk visits them (see `layout`).
    let mut partitions: Vec<Vec<u8>> = (0..6).map(|g| format!("g{g}").into_bytes()).collect();
    partitions.sort_by_key(|p| (binderdb_storage::partition_hash(p), p.len(), p.clone()));
    let (first, last) = (&partitions[0], &partitions[partitions.len() - 1]);
    let entry = |partition: &[u8], n: u32| {
        key(
            Keyspace::Gsi,
            INDEX,
            partition,
            format!("{n:03}").as_bytes(),
        )
    };
    let item = |n: u32| key(Keyspace::Items, TABLE, format!("{n:03}").as_bytes(), b"");
    let mut n = 0u32;
    let mut in_last = Vec::new();
    for partition in &partitions {
        for _ in 0..PER_PARTITION {
            writer
                .commit(Batch {
                    writes: vec![put(&item(n), b"1"), put(&entry(partition, n), b"1")],
                    guards: vec![],
                })
                .unwrap();
            if partition == last {
                in_last.push(n);
            }
            n += 1;
        }
    }
    let total = i64::from(n);
    for (round, moved) in in_last.into_iter().enumerate() {
        let recounter = RadosStore::open(&options).unwrap();
        let walked = AtomicBool::new(false);
        let walking = Barrier::new(2);
        let moved_after_walk = std::thread::scope(|scope| {
            let mover = scope.spawn(|| {
                walking.wait();
                // What the engine commits for such an update: the item, the entry's delete
                // and put, and no count (nothing changed in number or size).
                writer
                    .commit(Batch {
                        writes: vec![
                            put(&item(moved), b"2"),
                            Write::Delete {
                                key: entry(last, moved),
                            },
                            put(&entry(first, moved), b"1"),
                        ],
                        guards: vec![],
                    })
                    .unwrap();
                walked.load(Ordering::SeqCst)
            });
            let mut seen = 0i64;
            let recounted = recounter
                .recount(counter, Keyspace::Gsi, INDEX, &mut |_| {
                    seen += 1;
                    if seen == 1 {
                        walking.wait();
                        // Long enough for an ungated commit to land meanwhile.
                        std::thread::sleep(std::time::Duration::from_millis(300));
                    }
                    if seen == total {
                        walked.store(true, Ordering::SeqCst);
                    }
                    Ok(1)
                })
                .unwrap();
            assert_eq!(
                recounted.map(|c| c.items),
                Some(total),
                "round {round}: the walk missed the moved entry"
            );
            mover.join().unwrap()
        });
        assert!(
            moved_after_walk,
            "round {round}: the other node moved the entry before the walk ended"
        );
        let fresh = RadosStore::open(&options).unwrap();
        for (name, node) in [("writer", &writer), ("fresh", &fresh)] {
            assert_eq!(
                node.counts(counter).unwrap().map(|c| c.items),
                Some(total),
                "round {round}, {name}"
            );
        }
    }
}

/// A lane's epochs grow with time whichever node moves them. Versions come from blocks each
/// node reserved, so a node may hand out versions below those another node hands out at the
/// same time: a recount begun by the node whose block is behind once took an epoch below the
/// lane's current one, and a delta tagged with it, merged into a contribution that the older
/// (higher) epoch had tagged, was added under that epoch and counted for nothing.
#[test]
fn a_recount_by_a_node_whose_versions_run_behind_keeps_the_deltas_after_it() {
    let Some(options) = options() else { return };
    let counter = binderdb_storage::CounterId {
        group: TABLE,
        lane: TABLE,
    };
    let counted_put = |n: u32| Batch {
        writes: vec![
            put(
                &key(Keyspace::Items, TABLE, b"shared", format!("{n}").as_bytes()),
                b"1",
            ),
            Write::Count {
                counter,
                delta: binderdb_storage::Counts { items: 1, bytes: 1 },
            },
        ],
        guards: vec![],
    };
    // The behind node reserves its block of versions first, the ahead node the next one.
    let behind = RadosStore::open(&options).unwrap();
    behind
        .commit(Batch {
            writes: vec![put(&key(Keyspace::Items, TABLE, b"other", b""), b"1")],
            guards: vec![],
        })
        .unwrap();
    let ahead = RadosStore::open(&options).unwrap();
    ahead
        .commit(Batch {
            writes: vec![Write::SetCount {
                counter,
                value: binderdb_storage::Counts::default(),
            }],
            guards: vec![],
        })
        .unwrap();
    ahead.commit(counted_put(0)).unwrap();
    let recounted = behind
        .recount(counter, Keyspace::Items, TABLE, &mut |_| Ok(1))
        .unwrap();
    assert_eq!(recounted.map(|c| c.items), Some(2));
    // Into the partition whose contribution the set's epoch tagged.
    ahead.commit(counted_put(1)).unwrap();
    behind.commit(counted_put(2)).unwrap();
    let fresh = RadosStore::open(&options).unwrap();
    for (name, node) in [("ahead", &ahead), ("behind", &behind), ("fresh", &fresh)] {
        assert_eq!(
            node.counts(counter).unwrap().map(|c| c.items),
            Some(4),
            "{name}"
        );
    }
}
