//! Tests of the fjall engine: the shared conformance suite plus durability-specific checks.

use std::ops::Bound;
use std::sync::Arc;

use binderdb_storage::conformance::{self, key, put};
use binderdb_storage::{durable, Batch, Keyspace, Store, Write};
use parking_lot::Mutex;

use super::*;

/// Polls `done` every 50 ms for up to 30 s: for the background threads, which run on real
/// time (their timing is not what a test asserts).
pub(crate) fn wait_until(done: impl Fn() -> bool) -> bool {
    for _ in 0..600 {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    done()
}

#[test]
fn conformance_suite() {
    let dirs = Mutex::new(Vec::new());
    conformance::run_all(&|| {
        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(dir.path()).unwrap();
        dirs.lock().push(dir);
        Arc::new(store) as Arc<dyn Store>
    });
}

#[test]
fn reopen_restores_data_and_versions_keep_increasing() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(Keyspace::Items, 3, b"pk", b"sk");
    let last = {
        let store = FjallStore::open(dir.path()).unwrap();
        put(&store, &key(Keyspace::Gsi, 3, b"g", b""), b"gsi");
        put(&store, &k, b"value")
    };
    let store = FjallStore::open(dir.path()).unwrap();
    let got = store.get(&k).unwrap().unwrap();
    assert_eq!((got.version, got.value.as_slice()), (last, &b"value"[..]));
    assert!(store
        .get(&key(Keyspace::Gsi, 3, b"g", b""))
        .unwrap()
        .is_some());
    let next = put(&store, &k, b"again");
    assert!(
        next > last,
        "version {next} after restart is not above {last}"
    );
    drop(store);
    let store = FjallStore::open(dir.path()).unwrap();
    assert_eq!(store.get(&k).unwrap().unwrap().version, next);
}

#[test]
fn versions_stay_above_deleted_ones_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(Keyspace::Items, 3, b"pk", b"");
    let deleted_at = {
        let store = FjallStore::open(dir.path()).unwrap();
        put(&store, &k, b"v");
        store
            .commit(Batch {
                writes: vec![Write::Delete { key: k.clone() }],
                guards: vec![],
            })
            .unwrap()
    };
    let store = FjallStore::open(dir.path()).unwrap();
    assert_eq!(store.get(&k).unwrap(), None);
    let next = put(&store, &k, b"again");
    assert!(next > deleted_at, "version {next} reuses {deleted_at}");
}

#[test]
fn the_version_ceiling_moves_once_per_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let ceiling = || {
        u64::from_be_bytes(
            store.meta.get(HIGH_WATER_KEY).unwrap().unwrap()[..]
                .try_into()
                .unwrap(),
        )
    };
    let first = put(&store, &key(Keyspace::Items, 1, b"a", b""), b"v");
    assert_eq!(ceiling(), first + VERSION_LEASE);
    for i in 0u8..50 {
        put(&store, &key(Keyspace::Items, 1, &[i], b""), b"v");
    }
    assert_eq!(ceiling(), first + VERSION_LEASE);
    // Near the end of the lease: the commit that passes the ceiling writes a new one.
    {
        let mut versions = store.versions.lock();
        versions.ceiling = versions.last + 1;
    }
    let at_ceiling = put(&store, &key(Keyspace::Items, 1, b"b", b""), b"v");
    assert_eq!(ceiling(), first + VERSION_LEASE);
    let past = put(&store, &key(Keyspace::Items, 1, b"c", b""), b"v");
    assert_eq!(past, at_ceiling + 1);
    assert_eq!(ceiling(), past + VERSION_LEASE);
    drop(store);
    let store = FjallStore::open(dir.path()).unwrap();
    let after_restart = put(&store, &key(Keyspace::Items, 1, b"d", b""), b"v");
    assert_eq!(after_restart, past + VERSION_LEASE + 1);
}

#[test]
fn interrupted_drop_table_is_finished_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (gone, kept) = (
        key(Keyspace::Items, 5, b"p", b""),
        key(Keyspace::Items, 6, b"p", b""),
    );
    {
        let store = FjallStore::open(dir.path()).unwrap();
        put(&store, &gone, b"x");
        put(&store, &kept, b"y");
        // Simulate a crash right after the marker was written.
        let mut batch = store.db.batch();
        batch.insert(&store.meta, drop_marker(5), []);
        batch.commit().unwrap();
        store.flush().unwrap();
    }
    let store = FjallStore::open(dir.path()).unwrap();
    // Hidden at once; removed by the background dropper, not by `open`.
    assert_eq!(store.get(&gone).unwrap(), None);
    store.wait_for_drops();
    let raw = |k: &Key| {
        store
            .get_raw(k.keyspace, &codec::encode(k).unwrap())
            .unwrap()
    };
    assert!(raw(&gone).is_none());
    assert!(raw(&kept).is_some());
    assert!(store.get(&kept).unwrap().is_some());
    assert_eq!(store.meta.prefix(DROP_PREFIX).count(), 0);
}

#[test]
fn a_dropped_table_gives_its_files_back_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let value = vec![7u8; 500];
    // One commit: a log segment switch between two would seal (and flush) them apart.
    let writes = [5, 6]
        .into_iter()
        .flat_map(|table| {
            (0..2000u32).map(move |i| Write::Put {
                key: key(Keyspace::Items, table, &i.to_be_bytes(), b""),
                value: vec![7u8; 500],
            })
        })
        .collect();
    store
        .commit(Batch {
            writes,
            guards: vec![],
        })
        .unwrap();
    // A seal may have rotated the tree first, fjall's rotation then finding nothing to do:
    // the flush thread writes that memtable.
    let items = store.space(Keyspace::Items).unwrap();
    items.rotate_memtable_and_wait().unwrap();
    while items.tree.sealed_memtable_count() > 0 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let on_disk = |table| {
        let usage = store.disk_usage().unwrap().unwrap();
        assert!(usage.total >= usage.journal);
        usage.by_table.get(&table).copied().unwrap_or(0)
    };
    // One flushed file holds both tables: each is counted half of it.
    assert!(on_disk(5) > 2000 * 250, "{}", on_disk(5));
    assert_eq!(on_disk(5), on_disk(6));
    store.drop_table(5).unwrap();
    store.wait_for_drops();
    let gone = key(Keyspace::Items, 5, &7u32.to_be_bytes(), b"");
    assert!(store
        .get_raw(Keyspace::Items, &codec::encode(&gone).unwrap())
        .unwrap()
        .is_none());
    assert!(store
        .get(&key(Keyspace::Items, 6, &7u32.to_be_bytes(), b""))
        .unwrap()
        .is_some());
    assert_eq!(store.meta.prefix(DROP_PREFIX).count(), 0);
    // A table alone in its files gets them back whole, without tombstones.
    items.rotate_memtable_and_wait().unwrap();
    for i in 0..2000u32 {
        put(
            &store,
            &key(Keyspace::Items, 9, &i.to_be_bytes(), b""),
            &value,
        );
    }
    items.rotate_memtable_and_wait().unwrap();
    assert!(on_disk(9) > 2000 * 500, "{}", on_disk(9));
    store.drop_table(9).unwrap();
    store.wait_for_drops();
    assert_eq!(on_disk(9), 0);
}

#[test]
fn concurrent_committers_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let base_syncs = store.sync_count();
    std::thread::scope(|scope| {
        for t in 0u8..16 {
            let store = &store;
            scope.spawn(move || {
                for i in 0u32..50 {
                    put(
                        store,
                        &key(Keyspace::Items, 1, &[t], &i.to_be_bytes()),
                        b"v",
                    );
                    durable(store).wait().unwrap();
                }
            });
        }
    });
    let (commits, syncs) = (store.commit_count(), store.sync_count() - base_syncs);
    assert_eq!(commits, 800);
    assert!(syncs < commits, "{syncs} fsyncs for {commits} commits");
    assert!(syncs >= 1);
}

/// A flush made while concurrent writers keep the syncer pacing between rounds (see
/// `group_commit`, "Pacing") interrupts the pacing: every flush returns, every writer's wait
/// ends, and each flush synced afresh.
#[test]
fn flushes_during_paced_rounds_finish() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let before = store.sync_count();
    std::thread::scope(|scope| {
        for t in 0u8..8 {
            let store = &store;
            scope.spawn(move || {
                for i in 0u32..100 {
                    put(
                        store,
                        &key(Keyspace::Items, 1, &[t], &i.to_be_bytes()),
                        b"v",
                    );
                    durable(store).wait().unwrap();
                }
            });
        }
        let store = &store;
        scope.spawn(move || {
            for _ in 0..50 {
                store.flush().unwrap();
            }
        });
    });
    assert_eq!(store.commit_count(), 800);
    assert!(store.sync_count() >= before + 50);
    for t in 0u8..8 {
        let k = key(Keyspace::Items, 1, &[t], &99u32.to_be_bytes());
        assert!(store.get(&k).unwrap().is_some());
    }
}

#[test]
fn commits_are_visible_at_once_and_durable_after_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let k = key(Keyspace::Items, 1, b"a", b"");
    let before = store.sync_count();
    let version = put(&store, &k, b"v");
    assert_eq!(store.get(&k).unwrap().unwrap().version, version);
    let wait = durable(&store);
    assert_eq!(wait.point(), version);
    wait.wait().unwrap();
    assert!(store.sync_count() > before);
    // Nothing new committed: the next wait needs no sync.
    let synced = store.sync_count();
    durable(&store).wait().unwrap();
    assert_eq!(store.sync_count(), synced);
}

/// Commits insert into fjall's trees directly and never append to fjall's journal (see the
/// crate docs, "Commits"): 70 MB of puts, through 16 MB log segments and their seals, leave
/// fjall on its first journal (it starts a new one only past 64 MB), and everything reads
/// back after a restart.
#[test]
fn commits_bypass_fjall_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    // Incompressible values (the journal may compress).
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut value = vec![0u8; 64 * 1024];
    let mut last = (0, Vec::new());
    for i in 0u32..1100 {
        for b in &mut value {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        let version = put(
            &store,
            &key(Keyspace::Items, 1, b"big", &i.to_be_bytes()),
            &value,
        );
        last = (version, value.clone());
    }
    durable(&store).wait().unwrap();
    store
        .space(Keyspace::Items)
        .unwrap()
        .rotate_memtable_and_wait()
        .unwrap();
    assert!(
        store.checkpoint_count() >= 4,
        "{}",
        store.checkpoint_count()
    );
    assert!(
        !dir.path().join("1.jnl").exists(),
        "fjall's journal filled up: {:?}",
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
    drop(store);
    let store = FjallStore::open(dir.path()).unwrap();
    let got = store
        .get(&key(Keyspace::Items, 1, b"big", &1099u32.to_be_bytes()))
        .unwrap()
        .unwrap();
    assert_eq!((got.version, got.value), last);
}

#[test]
fn flush_syncs_writes_made_outside_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let before = store.sync_count();
    store.flush().unwrap();
    store.flush().unwrap();
    assert!(store.sync_count() >= before + 2);
}

#[test]
fn on_disk_fixture() {
    // Pinned bytes of one stored item: a change here is a format change.
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let k = key(Keyspace::Items, 0x0102, b"pk", b"sk");
    let v = store
        .commit(Batch {
            writes: vec![Write::Put {
                key: k,
                value: b"xy".to_vec(),
            }],
            guards: vec![],
        })
        .unwrap();
    assert_eq!(v, 1);
    let mut raw_key = vec![0, 0, 0, 0, 0, 0, 1, 2];
    raw_key.extend_from_slice(&binderdb_storage::partition_hash(b"pk").to_be_bytes());
    raw_key.extend_from_slice(&[0, 2, b'p', b'k', b's', b'k']);
    let raw = store
        .space(Keyspace::Items)
        .unwrap()
        .get(&raw_key)
        .unwrap()
        .unwrap();
    assert_eq!(&*raw, &[1, 0, 0, 0, 0, 0, 0, 0, 1, b'x', b'y']);
    assert_eq!(
        &*store.meta.get(FORMAT_KEY).unwrap().unwrap(),
        &[STORE_FORMAT]
    );
    // The first commit leased versions up to 1 + VERSION_LEASE.
    assert_eq!(
        &*store.meta.get(HIGH_WATER_KEY).unwrap().unwrap(),
        &(1 + VERSION_LEASE).to_be_bytes()
    );
    let names: Vec<&str> = Keyspace::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names, ["catalog", "items", "lsi", "gsi", "stream", "ttl"]);
}

#[test]
fn unknown_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FjallStore::open(dir.path()).unwrap();
        let mut batch = store.db.batch();
        batch.insert(&store.meta, FORMAT_KEY, [STORE_FORMAT + 1]);
        batch.commit().unwrap();
        store.flush().unwrap();
    }
    assert!(matches!(
        FjallStore::open(dir.path()),
        Err(StorageError::Corrupt(_))
    ));
}

#[test]
fn open_twice_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let _first = FjallStore::open(dir.path()).unwrap();
    assert!(FjallStore::open(dir.path()).is_err());
}

#[test]
fn keyspaces_are_created_by_their_first_write() {
    let dir = tempfile::tempdir().unwrap();
    let exists = |store: &FjallStore, ks: Keyspace| store.db.keyspace_exists(ks.name());
    let store = FjallStore::open(dir.path()).unwrap();
    assert!(Keyspace::ALL.iter().all(|&ks| !exists(&store, ks)));
    // Reads, walks and guards of a keyspace that does not exist find nothing and create nothing.
    let k = key(Keyspace::Items, 7, b"pk", b"sk");
    assert!(store.get(&k).unwrap().is_none());
    let in_partition = |store: &FjallStore| {
        let range = PartitionRange {
            keyspace: Keyspace::Items,
            table: 7,
            partition: b"pk",
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            reverse: false,
        };
        let mut seen = 0;
        store
            .range(&range, &mut |_| {
                seen += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
        seen
    };
    assert_eq!(in_partition(&store), 0);
    let guarded = |expected| Batch {
        writes: vec![],
        guards: vec![binderdb_storage::Guard {
            key: k.clone(),
            expected,
        }],
    };
    store.commit(guarded(None)).unwrap();
    assert!(matches!(
        store.commit(guarded(Some(1))),
        Err(StorageError::Conflict)
    ));
    assert!(!exists(&store, Keyspace::Items));
    // The first write creates its keyspace, and only that one.
    let version = put(&store, &k, b"v");
    assert!(exists(&store, Keyspace::Items));
    assert_eq!(
        Keyspace::ALL
            .iter()
            .filter(|&&ks| exists(&store, ks))
            .count(),
        1
    );
    assert_eq!(in_partition(&store), 1);
    durable(&store).wait().unwrap();
    drop(store);
    // A restart opens the keyspace that exists and still creates the others on demand.
    let store = FjallStore::open(dir.path()).unwrap();
    let got = store.get(&k).unwrap().unwrap();
    assert_eq!((got.version, got.value.as_slice()), (version, &b"v"[..]));
    assert!(!exists(&store, Keyspace::Gsi));
    put(&store, &key(Keyspace::Gsi, 7, b"g", b""), b"gsi");
    assert!(exists(&store, Keyspace::Gsi));
}

#[test]
fn the_first_catalog_write_also_creates_the_items_keyspace() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    put(
        &store,
        &key(Keyspace::Catalog, 0, b"table", b""),
        b"descriptor",
    );
    for ks in Keyspace::ALL {
        assert_eq!(
            store.db.keyspace_exists(ks.name()),
            matches!(ks, Keyspace::Catalog | Keyspace::Items),
            "{ks:?}"
        );
    }
}

/// A sustained write load keeps fjall's memtables bounded: the commit that fills a memtable
/// rotates it before returning, the flush thread flushes it, and writers are paced before four
/// wait.
/// When the rotation was left to fjall's worker, that worker deadlocked on its own request
/// queue under a heavy load (see the module docs) and everything written stayed in one
/// ever-growing memtable.
#[test]
fn every_commit_leaves_its_memtable_within_the_limit() {
    use fjall::AbstractTree;
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let value = vec![7u8; 1024];
    let written = 3 * MEMTABLE_BYTES;
    let mut peak_sealed = 0;
    for i in 0..written / 1024 {
        let batch = Batch {
            writes: vec![Write::Put {
                key: key(Keyspace::Items, 1, &i.to_be_bytes(), b""),
                value: value.clone(),
            }],
            guards: Vec::new(),
        };
        store.commit(batch).unwrap();
        let items = store.spaces[Keyspace::Items.index()].get().unwrap();
        let active = items.tree.active_memtable().size();
        assert!(
            active <= MEMTABLE_BYTES,
            "commit {i} left a memtable of {active} bytes"
        );
        peak_sealed = peak_sealed.max(items.tree.sealed_memtable_count());
    }
    // At most the active memtable and sealed ones below fjall's own brake (4).
    assert!(
        peak_sealed < 4,
        "{peak_sealed} sealed memtables with {written} bytes written"
    );
    store.flush().unwrap();
    let items = store.spaces[Keyspace::Items.index()].get().unwrap();
    assert!(items.table_count() > 0, "nothing was flushed");
}

/// A keyspace written once (the catalog) does not keep every journal alive: the log's next
/// segment switch rotates its memtable (see `log_bound`; so does the next memtable rotation
/// once fjall starts a new journal), so the journal before can be deleted. Without it, every journal written since the catalog's last flush
/// stayed on disk (and was replayed at each start) until fjall's own `max_journaling_size`.
#[test]
fn rarely_written_keyspaces_do_not_keep_old_journals() {
    use fjall::AbstractTree;
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    put(
        &store,
        &key(Keyspace::Catalog, 0, b"table", b""),
        b"descriptor",
    );
    let catalog = store.space(Keyspace::Catalog).unwrap();
    assert!(catalog.tree.active_memtable().size() > 0);
    // Incompressible values: fjall compresses large journal entries.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = || {
        (0..64 * 1024 / 8)
            .flat_map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()
            })
            .collect::<Vec<u8>>()
    };
    let mut written = 0u64;
    let mut i = 0u32;
    while catalog.tree.active_memtable().size() > 0 {
        // Far below fjall's own limit (MAX_JOURNALING_BYTES), which would flush it too.
        assert!(
            written < 128 << 20,
            "the catalog still holds the first journal after {written} bytes"
        );
        let writes = (0..16)
            .map(|_| {
                i += 1;
                Write::Put {
                    key: key(Keyspace::Items, 1, &i.to_be_bytes(), b""),
                    value: noise(),
                }
            })
            .collect();
        store
            .commit(Batch {
                writes,
                guards: vec![],
            })
            .unwrap();
        // Syncs follow fjall's journal rotations (see `group_commit`).
        store.flush().unwrap();
        written += 16 * 64 * 1024;
    }
    // The log's first segment switch rotated it (see `log_bound`), before fjall even started a
    // new journal.
    assert!(
        written <= 2 * wal::DEFAULT_SEGMENT_BYTES,
        "the catalog's memtable was rotated after {written} bytes"
    );
}

#[test]
fn counters_are_restored_on_open() {
    use binderdb_storage::{CounterId, Counts};
    let dir = tempfile::tempdir().unwrap();
    let table = CounterId { group: 5, lane: 5 };
    let index = CounterId { group: 5, lane: 6 };
    let gone = CounterId { group: 5, lane: 7 };
    let counts = |items, bytes| Counts { items, bytes };
    {
        let store = FjallStore::open(dir.path()).unwrap();
        put(&store, &key(Keyspace::Gsi, 6, b"g", b""), b"entry");
        let writes = vec![
            Write::SetCount {
                counter: table,
                value: counts(0, 0),
            },
            Write::SetCount {
                counter: gone,
                value: counts(9, 9),
            },
        ];
        store
            .commit(Batch {
                writes,
                guards: vec![],
            })
            .unwrap();
        for _ in 0..3 {
            let writes = vec![Write::Count {
                counter: table,
                delta: counts(1, 100),
            }];
            store
                .commit(Batch {
                    writes,
                    guards: vec![],
                })
                .unwrap();
        }
        let recounted = store
            .recount(index, Keyspace::Gsi, 6, &mut |e| Ok(e.value.len() as i64))
            .unwrap();
        assert_eq!(recounted, Some(counts(1, 5)));
        store.drop_table(7).unwrap();
    }
    let store = FjallStore::open(dir.path()).unwrap();
    assert_eq!(store.counts(table).unwrap(), Some(counts(3, 300)));
    assert_eq!(store.counts(index).unwrap(), Some(counts(1, 5)));
    assert_eq!(store.counts(gone).unwrap(), None);
    store.drop_table(5).unwrap();
    drop(store);
    let store = FjallStore::open(dir.path()).unwrap();
    assert_eq!(store.counts(table).unwrap(), None);
    assert_eq!(store.counts(index).unwrap(), None);
}

/// Commits insert their entries outside the version mutex and are published to snapshots in
/// order (see `sequencer`): while writers commit pairs of keys with equal values (the two sort
/// keys of one partition, plus an index entry), readers walking the partitions and checkpoints
/// never see one half of a pair without the other, or halves of two commits. Small log
/// segments make seals, memtable flushes and fjall's own sequence-number bumps (each flush
/// publishes one) happen while the writers run.
#[test]
fn concurrent_batches_are_never_seen_half_applied() {
    use std::sync::atomic::AtomicU32;
    const WRITERS: u32 = 4;
    const PAIRS: u32 = 8;
    const ROUNDS: u32 = 500;
    const FILLER: u32 = 16;
    const TABLE: TableId = 5;
    let dir = tempfile::tempdir().unwrap();
    let options = FjallOptions {
        wal_segment_bytes: 64 * 1024,
        ..FjallOptions::default()
    };
    let store = FjallStore::open_with(dir.path(), &options).unwrap();
    let pair_key = |pair: u32, sort: &[u8]| key(Keyspace::Items, TABLE, &pair.to_be_bytes(), sort);
    let running = AtomicU32::new(WRITERS);
    let (store, running) = (&store, &running);
    // `reader` names the walk that saw it: a partition walk (`range`) or a `checkpoint`.
    let check_pair = |reader: &str, pair: u32, seen: &[(Vec<u8>, u64, Vec<u8>)]| match seen {
        [] => {}
        [(a, va, xa), (b, vb, xb)] => {
            assert_eq!((a.as_slice(), b.as_slice()), (&b"a"[..], &b"b"[..]));
            assert_eq!(
                (va, xa),
                (vb, xb),
                "{reader}: pair {pair} seen half applied"
            );
        }
        other => panic!("{reader}: pair {pair}: {} of 2 keys seen", other.len()),
    };
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    let pair = (round * 3 + w) % PAIRS;
                    let value = format!("writer {w} round {round} ").repeat(8).into_bytes();
                    let put = |key: Key| Write::Put {
                        key,
                        value: value.clone(),
                    };
                    // The pair's halves first and last, index entries between them: the
                    // window in which a reader could see one half alone.
                    let mut writes = vec![put(pair_key(pair, b"a"))];
                    writes.extend((0..FILLER).map(|i: u32| {
                        let sort = [w.to_be_bytes(), i.to_be_bytes()].concat();
                        put(key(Keyspace::Gsi, TABLE, &round.to_be_bytes(), &sort))
                    }));
                    writes.push(put(pair_key(pair, b"b")));
                    store
                        .commit(Batch {
                            writes,
                            guards: vec![],
                        })
                        .unwrap();
                }
                running.fetch_sub(1, Ordering::Release);
            });
        }
        // Readers: partition walks (fjall snapshots) and checkpoints.
        scope.spawn(move || {
            while running.load(Ordering::Acquire) > 0 {
                for pair in 0..PAIRS {
                    let partition = pair.to_be_bytes();
                    let mut seen = Vec::new();
                    store
                        .range(
                            &PartitionRange {
                                keyspace: Keyspace::Items,
                                table: TABLE,
                                partition: &partition,
                                lower: Bound::Unbounded,
                                upper: Bound::Unbounded,
                                reverse: false,
                            },
                            &mut |entry| {
                                seen.push((
                                    entry.sort.to_vec(),
                                    entry.version,
                                    entry.value.to_vec(),
                                ));
                                ControlFlow::Continue(())
                            },
                        )
                        .unwrap();
                    check_pair("range", pair, &seen);
                }
            }
        });
        scope.spawn(move || {
            let mut checkpoints = 0;
            while running.load(Ordering::Acquire) > 0 || checkpoints == 0 {
                let mut pairs: std::collections::BTreeMap<u32, Vec<_>> = Default::default();
                store
                    .checkpoint(&mut |record| {
                        if let CheckpointRecord::Entry {
                            keyspace: Keyspace::Items,
                            key,
                            value,
                        } = record
                        {
                            let (partition, sort) = codec::decode_key(key)?;
                            let (version, value) = codec::decode_value(value)?;
                            let pair = u32::from_be_bytes(partition.try_into().unwrap());
                            pairs.entry(pair).or_default().push((
                                sort.to_vec(),
                                version,
                                value.to_vec(),
                            ));
                        }
                        Ok(())
                    })
                    .unwrap();
                for (pair, seen) in pairs {
                    check_pair("checkpoint", pair, &seen);
                }
                checkpoints += 1;
            }
        });
    });
    assert!(store.checkpoint_count() > 0, "no seal during the test");
}

/// Why memtable rotations run between commits (see `sequencer`, where this interleaving is
/// written down): lsm-tree reads a snapshot from the newest tree version numbered below it,
/// and a rotation adds its new memtable to the newest version only. So a commit split by a
/// rotation, after its own tree registered a version numbered above the commit, is seen half
/// by a snapshot numbered between the two. The steps are replayed one by one, with lsm-tree's
/// rotation called directly where the old seal called it (after waiting for the commits in
/// flight, which let this commit begin just after the wait). If lsm-tree ever stops behaving
/// so, this fails, and the gate may be worth revisiting.
#[test]
fn a_rotation_inside_a_commit_after_a_newer_tree_version_splits_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let encode = |sort: &[u8]| codec::encode(&key(Keyspace::Items, 5, b"p", sort)).unwrap();
    let (a, b) = (encode(b"a"), encode(b"b"));
    // A table in each tree, for the compactions below to rewrite.
    put(&store, &key(Keyspace::Items, 5, b"q", b""), b"x");
    put(&store, &key(Keyspace::Gsi, 5, b"q", b""), b"x");
    store.flush_memtables().unwrap();
    let items = store.space(Keyspace::Items).unwrap().clone();
    let gsi = store.space(Keyspace::Gsi).unwrap().clone();
    let ticket = store.sequencer.begin();
    let seqno = ticket.seqno();
    items.tree.insert(a.clone(), b"1".to_vec(), seqno);
    // Another tree's new version makes fjall's visible sequence number pass the commit's...
    gsi.tree.major_compact(u64::MAX, 0).unwrap();
    let snapshot = store.db.snapshot();
    assert!(snapshot.seqno() > seqno);
    // ... the commit's own tree registers a version numbered above the snapshot, and a rotation
    // gives that version a new memtable, where the commit's last insert lands.
    items.tree.major_compact(u64::MAX, 0).unwrap();
    items.tree.rotate_memtable();
    items.tree.insert(b.clone(), b"1".to_vec(), seqno);
    drop(ticket);
    let snapshot = store.sequencer.settle(snapshot);
    let seen: Vec<Vec<u8>> = snapshot
        .range(&items, a.clone()..=b.clone())
        .map(|guard| guard.key().unwrap().to_vec())
        .collect();
    assert_eq!(seen, vec![a], "the commit's first key alone");
    // A snapshot taken after the version sees both.
    let later = store.sequencer.settle(store.db.snapshot());
    assert_eq!(later.range(&items, encode(b"a")..=b).count(), 2);
}

#[test]
fn rotated_memtables_are_kept_until_flushed_and_then_freed_by_the_flush_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    let k = key(Keyspace::Items, 3, b"pk", b"");
    put(&store, &k, b"v");
    let items = store.space(Keyspace::Items).unwrap();
    let memtable = items.tree.active_memtable();
    assert!(memtable.size() > 0);
    // A rotation between commits hands the sealed memtable over (here the test's own, as the
    // store's full-memtable rotation does).
    store.sequencer.between_commits(|| {
        let sealed = items.tree.rotate_memtable().expect("a memtable to seal");
        assert!(Arc::ptr_eq(&sealed, &memtable));
        store.sequencer.retired.keep(sealed);
    });
    assert!(store.sequencer.retired.len() >= 1);
    store.flusher.wake();
    // Flushed, and its old tree versions collected (fjall collects them at its next rotation,
    // which a later write's flush makes): only the list and this test hold it.
    let mut waited = 0;
    while items.tree.sealed_memtable_count() > 0 {
        assert!(
            waited < 3000,
            "the sealed memtable is not flushed after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += 1;
    }
    put(&store, &key(Keyspace::Items, 3, b"other", b""), b"w");
    store.flush_memtables().unwrap();
    let mut waited = 0;
    while Arc::strong_count(&memtable) > 2 {
        assert!(
            waited < 3000,
            "the sealed memtable is still held after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += 1;
    }
    let weak = Arc::downgrade(&memtable);
    drop(memtable);
    // The flush thread frees it at its next look (every 50 ms).
    let mut waited = 0;
    while weak.strong_count() > 0 {
        assert!(waited < 3000, "the retired memtable was never freed");
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += 1;
    }
    assert_eq!(store.get(&k).unwrap().unwrap().value, b"v");
}
