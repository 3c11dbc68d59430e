//! What recovery replays after a crash, and the bound on it: **binderdb's own log alone**, at
//! most a few log segments, however much was written before the crash.
//!
//! fjall 3.1 replays its journals at open, entry by entry, including entries long flushed to
//! table files (it decodes each and looks its keyspace up before skipping it), and it starts a
//! new journal only once the active one passes a fixed 64 MB. So after a kill -9 a start-up
//! read up to 64 MB of journal whatever the memtables held (7–17 ms per MB on the development
//! machine: 0.2–0.5 s after a bulk load), and fjall has no setting that bounds it
//! (`max_journaling_size` has a 64 MiB floor and counts sealed journals only).
//!
//! So fjall's journals are no longer read at all. Every batch fjall commits is also framed
//! into binderdb's log ([`crate::wal`]), and the log now keeps a segment until fjall's *table
//! files* (not its journal) hold everything logged in it:
//! 1. when the log completes a segment ([`crate::wal::Writer::write_frames`]), the group-commit
//!    thread seals every keyspace's memtable that holds writes ([`rotate_every_memtable`]:
//!    lsm-tree's rotation, which neither takes fjall's journal lock nor sends fjall's worker a
//!    message), so everything logged so far is in sealed memtables, and records the segment
//!    as sealed;
//! 2. the flush thread ([`crate::flusher`]) writes sealed memtables to table files (synced, and
//!    registered in a synced version file, by lsm-tree), and after each pass releases the
//!    segments sealed before the pass began ([`crate::wal::Writer::release_through`]): their
//!    files are renamed out of recovery's way and recycled;
//! 3. every open replaces fjall's journals with one empty journal before fjall opens
//!    ([`crate::close::swap_journals`]), so fjall recovers from its table files alone, and then
//!    replays the log's unreleased segments ([`crate::wal::recover`]) in full. Replaying frames
//!    the table files already hold is harmless: every write in a frame is an absolute put or
//!    delete, and the frames are applied in order up to the log's end.
//!
//! After a clean stop nothing is replayed: the close flushes every memtable and leaves a marker
//! saying so ([`crate::close`]).
//!
//! **The bound** is therefore the log that is not released: the active segment, plus the
//! segments completed while their memtables are still being flushed (one, normally; the
//! writer pacing stops writers at [`crate::pacing::MAX_SEALED_MEMTABLES`] sealed memtables of
//! a keyspace, so at most that many more). [`crate::FjallStore::unreleased_log_bytes`] reports
//! it. Its price: a memtable is flushed at each segment switch, so memtables are at most about
//! a segment's size, and a bulk load makes more, smaller level-0 tables (more merges of level
//! 0 into level 1). The segment size ([`crate::wal::DEFAULT_SEGMENT_BYTES`]) is that
//! trade-off; see there for the measurements.
//!
//! **What a seal used to cost every writer** (2026-12-06, `perf trace` of the server's
//! `fsync`s during 2,000,000-item BatchWriteItem loads, 8 MiB segments): seals rotated the
//! memtables through fjall's `Keyspace::rotate_memtable`, one flush message to fjall's worker
//! per keyspace written (items, counters, `meta`: three per segment), and the worker answers
//! each with an `fsync` of fjall's journal (a segment's worth of batches, unsynced since
//! `manual_journal_persist`) *under its journal lock*, which every batch commit takes while
//! binderdb's commit mutex is held: every writer stopped for it. The worker made 523–598
//! `fsync`s per load (these, and those of the flushes it took from the flush thread), 0.8–1.2
//! s in all, up to 20 ms each; and the rotations themselves, on the
//! group-commit thread, waited for that lock inside the round every acknowledgement waits
//! for. With 32 MiB segments there were a quarter as many. Now seals rotate the trees
//! directly, and the flush thread, once per pass, syncs fjall's journal without its lock and
//! then lets fjall rotate one small keyspace (`flusher::tidy_fjall`): 453 worker `fsync`s in
//! the same load, 0.38 s in all, none over 10 ms. (A first version rotated the *largest*
//! keyspace there: items then held two sealed memtables through every flush, and the pacing
//! made 122 writers sleep 2 ms each in that load; none with the smallest.) On a busy machine
//! bulk loads with 8 MiB segments then ran faster than the old build's with 32 MiB; on a
//! quieter one both builds reach 100,000 items/s (see [`crate::wal::DEFAULT_SEGMENT_BYTES`]).
//!
//! What fjall still does with its journal: it writes the batches that still go through fjall
//! to it (commits do not, see the crate docs, "Commits"), syncs it when its worker handles a
//! flush, and deletes journals once flushed. Nothing reads it: what it holds are the dropper's
//! tombstones (flushed to table files before a drop's marker is removed, see
//! [`crate::drops`]) and the store's format record (written again by an open that does not find
//! it). Recovery's replay inserts into the trees directly (`replay` in the crate root).
//!
//! Directories written by older builds (no [`LOG_RECOVERY_MARKER`]) have journals holding
//! writes that their log recycled: their first open replays the journals as fjall always did,
//! flushes every memtable, and only then writes the marker.

use binderdb_storage::StorageError;
use fjall::{AbstractTree, Database};

use crate::retired::Retired;

/// A file in the data directory saying that binderdb's log holds every write fjall's table
/// files may lack, so that fjall's journals are never needed (see the module docs).
pub(crate) const LOG_RECOVERY_MARKER: &str = "binderdb-log-recovery";

/// Seals the memtable of every keyspace of `db` that holds writes: each becomes a sealed
/// memtable of its tree, which the flush thread writes to a table file ([`crate::flusher`]).
///
/// The rotation is lsm-tree's own (`AbstractTree::rotate_memtable`), not fjall's
/// `Keyspace::rotate_memtable`: fjall's takes its journal lock (which every batch commit takes,
/// and which fjall's worker holds through its journal `fsync`s) and sends its worker a flush
/// message, which the worker answers with an `fsync` of fjall's journal under that lock, so
/// every writer waited for that `fsync`. A seal made one such message per keyspace written
/// (three in a bulk load: items, counters, `meta`), at every segment switch, from the
/// group-commit thread, whose round every acknowledged write waits for. What fjall's rotation
/// did besides is done by the flush thread, once per pass and off every writer's path: the
/// garbage collection of old tree versions, and one flush message so that fjall's worker keeps
/// rotating and deleting its journals (see `flusher::tidy_fjall`).
///
/// Correct without fjall's journal lock: a batch a rotation splits between the sealed and the
/// new memtable of a keyspace is read the same (entries carry their sequence numbers), and
/// the seal calls this between commits ([`crate::sequencer::Sequencer::between_commits`]):
/// once every commit that took a sequence number (so every commit whose frame is in the log)
/// has finished its inserts, and before another begins, so every batch logged in a completed
/// segment is whole in the sealed memtables. The sealed memtables go to `retired`, when
/// given, to be freed off the locks (see [`crate::retired`]).
///
/// # Errors
/// `Corrupt` if fjall's keyspace map is poisoned.
pub(crate) fn rotate_every_memtable(
    db: &Database,
    retired: Option<&Retired>,
) -> Result<(), StorageError> {
    // Cloned out: fjall's keyspace map is not held while the trees rotate.
    let spaces: Vec<fjall::Keyspace> = match db.supervisor.keyspaces.read() {
        Ok(map) => map
            .values()
            .filter(|space| space.tree.active_memtable().size() > 0)
            .cloned()
            .collect(),
        Err(_) => {
            return Err(StorageError::Corrupt(
                "fjall's keyspace map is poisoned".into(),
            ))
        }
    };
    for space in spaces {
        let sealed = space.tree.rotate_memtable();
        if let (Some(sealed), Some(retired)) = (sealed, retired) {
            retired.keep(sealed);
        }
    }
    Ok(())
}

/// Writes [`LOG_RECOVERY_MARKER`] into `dir`, synced.
///
/// # Errors
/// `Io` if it cannot be written or synced.
pub(crate) fn write_marker(dir: &std::path::Path) -> Result<(), StorageError> {
    let path = dir.join(LOG_RECOVERY_MARKER);
    std::fs::write(&path, b"1\n")?;
    std::fs::File::open(&path)?.sync_all()?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use binderdb_storage::conformance::key;
    use binderdb_storage::{durable, Batch, CounterId, Counts, Key, Keyspace, Store, Write};

    use crate::wal_tests::{open_kill_image, wait_until_released};
    use crate::{FjallOptions, FjallStore};

    const SEGMENT: u64 = 64 * 1024;
    const TABLE: CounterId = CounterId { group: 9, lane: 9 };

    fn item(i: u32) -> Key {
        key(Keyspace::Items, 9, &i.to_be_bytes(), b"")
    }

    fn value(i: u32, round: u32) -> Vec<u8> {
        format!("item {i} round {round} ").repeat(40).into_bytes()
    }

    /// Puts (or with `delete`, deletes) item `i` with its table's count, acknowledged.
    fn write(store: &FjallStore, i: u32, round: u32, delete: bool) -> u64 {
        let (write, delta) = if delete {
            (Write::Delete { key: item(i) }, -1)
        } else {
            let value = value(i, round);
            (
                Write::Put {
                    key: item(i),
                    value,
                },
                i64::from(round == 0),
            )
        };
        let count = Write::Count {
            counter: TABLE,
            delta: Counts {
                items: delta,
                bytes: 0,
            },
        };
        let version = store
            .commit(Batch {
                writes: vec![write, count],
                guards: vec![],
            })
            .unwrap();
        durable(store).wait().unwrap();
        version
    }

    /// After forty segments of writes: the most log left unreleased at any acknowledgement
    /// (`most`) stayed within the sealed memtables the pacing allows plus a few segments, and
    /// segments were switched (and checkpointed) all along.
    fn assert_log_bound(store: &FjallStore, most: u64) {
        let bound = (crate::pacing::MAX_SEALED_MEMTABLES as u64 + 3) * SEGMENT;
        assert!(
            most <= bound,
            "{most} bytes of log unreleased (bound {bound})"
        );
        assert!(
            store.checkpoint_count() >= 30,
            "{}",
            store.checkpoint_count()
        );
    }

    /// Writing forty times the log's segment size never leaves more than a few segments for
    /// recovery to replay (the active one, and those whose memtables are still being flushed);
    /// once the flush thread has caught up, only the active one. A kill image taken then, with
    /// overwrites, deletions and counts in the unflushed part, recovers every acknowledged
    /// write, replaying only that part.
    #[test]
    fn the_log_recovery_replays_stays_bounded_and_recovers_everything() {
        let live = tempfile::tempdir().unwrap();
        let store = small_segment_store(live.path());
        let mut versions = std::collections::BTreeMap::new();
        let mut most = 0;
        let mut commits = 0u32;
        let mut i = 0u32;
        while u64::from(i) * value(i, 0).len() as u64 <= 40 * SEGMENT {
            versions.insert(i, (write(&store, i, 0, false), 0));
            most = most.max(store.unreleased_log_bytes());
            i += 1;
            commits += 1;
        }
        assert_log_bound(&store, most);
        wait_until_released(&store, SEGMENT);
        // The unflushed part: overwrites, deletions and counts only in memtables and the log.
        for n in (0..i).step_by(7) {
            versions.insert(n, (write(&store, n, 1, false), 1));
            commits += 1;
        }
        for n in (3..i).step_by(11) {
            write(&store, n, 0, true);
            versions.remove(&n);
            commits += 1;
        }
        let count = store.counts(TABLE).unwrap().unwrap();
        assert_eq!(count.items, versions.len() as i64);
        let (_image, recovered) = open_kill_image(live.path());
        assert!(
            (1..commits as usize / 2).contains(&recovered.replayed_frames()),
            "{} of {commits} commits replayed",
            recovered.replayed_frames()
        );
        for n in 0..i {
            let got = recovered.get(&item(n)).unwrap();
            match versions.get(&n) {
                Some((version, round)) => {
                    let got = got.unwrap_or_else(|| panic!("item {n} lost"));
                    assert_eq!((got.version, got.value), (*version, value(n, *round)));
                }
                None => assert_eq!(got, None, "deleted item {n} is back"),
            }
        }
        assert_eq!(recovered.counts(TABLE).unwrap(), Some(count));
    }

    /// A store at `dir` with [`SEGMENT`]-byte log segments and `TABLE`'s count set to zero.
    fn small_segment_store(dir: &std::path::Path) -> FjallStore {
        let options = FjallOptions {
            wal_segment_bytes: SEGMENT,
            ..FjallOptions::default()
        };
        let store = FjallStore::open_with(dir, &options).unwrap();
        store
            .commit(Batch {
                writes: vec![Write::SetCount {
                    counter: TABLE,
                    value: Counts::default(),
                }],
                guards: vec![],
            })
            .unwrap();
        store
    }

    /// Old versions of a tree (`v<id>` files in its keyspace's folder) that fjall has not
    /// collected yet.
    fn version_files(store: &FjallStore, ks: Keyspace) -> usize {
        let space = store.space(ks).unwrap();
        std::fs::read_dir(space.path())
            .unwrap()
            .filter(|entry| {
                let name = entry.as_ref().unwrap().file_name();
                let name = name.to_str().unwrap();
                name.strip_prefix('v')
                    .is_some_and(|id| id.parse::<u64>().is_ok())
            })
            .count()
    }

    /// Seals rotate the trees themselves, and the flush thread does what fjall's rotation did
    /// (see `rotate_every_memtable`). With four writers at once over forty segments, the log
    /// left for recovery stays within the bound at every acknowledgement; fjall still collects
    /// the trees' old versions (without it, every flush and merge of the load would leave one
    /// behind); and a kill image recovers every acknowledged write and the table's count.
    #[test]
    fn concurrent_writers_keep_the_log_bound_and_fjall_tidy() {
        const WRITERS: u32 = 4;
        let live = tempfile::tempdir().unwrap();
        let store = small_segment_store(live.path());
        let per_writer = (40 * SEGMENT / value(0, 0).len() as u64) as u32 / WRITERS;
        let most = std::sync::atomic::AtomicU64::new(0);
        let written: Vec<(u32, u64)> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let (store, most) = (&store, &most);
                    scope.spawn(move || {
                        (0..per_writer)
                            .map(|n| {
                                let i = w * per_writer + n;
                                let version = write(store, i, 0, false);
                                most.fetch_max(
                                    store.unreleased_log_bytes(),
                                    std::sync::atomic::Ordering::Relaxed,
                                );
                                (i, version)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            writers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        let most = most.into_inner();
        assert_log_bound(&store, most);
        wait_until_released(&store, SEGMENT);
        // fjall drops old versions at a rotation through it, so the versions that flushes and
        // compactions made since the last pass's rotation (`flusher::tidy_fjall`) are still
        // there: 2 to 11 in runs on a 2-core machine. Without the per-pass rotation they pile
        // up for the whole load (72 to 78 here).
        let versions = version_files(&store, Keyspace::Items);
        assert!(
            versions <= 30,
            "{versions} old versions of the items tree kept"
        );
        let count = store.counts(TABLE).unwrap().unwrap();
        assert_eq!(count.items, i64::from(WRITERS * per_writer));
        let (_image, recovered) = open_kill_image(live.path());
        drop(store);
        for (i, version) in written {
            let got = recovered
                .get(&item(i))
                .unwrap()
                .unwrap_or_else(|| panic!("item {i} lost"));
            assert_eq!((got.version, got.value), (version, value(i, 0)));
        }
        assert_eq!(recovered.counts(TABLE).unwrap(), Some(count));
    }
}
