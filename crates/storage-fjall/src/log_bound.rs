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
//!    thread rotates every keyspace's memtable that holds writes ([`rotate_every_memtable`]),
//!    so everything logged so far is in sealed memtables, and records the segment as sealed;
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
//! What fjall still does with its journal: it writes every batch to it (it cannot be turned
//! off), syncs it when its worker handles a flush, and deletes journals once flushed. Nothing
//! reads it: writes it holds that the log does not are the dropper's tombstones (flushed to
//! table files before a drop's marker is removed, see [`crate::drops`]) and the store's format
//! record (written again by an open that does not find it).
//!
//! Directories written by older builds (no [`LOG_RECOVERY_MARKER`]) have journals holding
//! writes that their log recycled: their first open replays the journals as fjall always did,
//! flushes every memtable, and only then writes the marker.

use binderdb_storage::StorageError;
use fjall::{AbstractTree, Database};

/// A file in the data directory saying that binderdb's log holds every write fjall's table
/// files may lack, so that fjall's journals are never needed (see the module docs).
pub(crate) const LOG_RECOVERY_MARKER: &str = "binderdb-log-recovery";

/// Rotates the memtable of every keyspace of `db` that holds writes (fjall then queues their
/// flush; the flush thread usually does it first).
///
/// # Errors
/// `Backend` if a rotation fails.
pub(crate) fn rotate_every_memtable(db: &Database) -> Result<(), StorageError> {
    // Cloned out: a rotation takes fjall's keyspace map itself.
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
        space.rotate_memtable().map_err(crate::backend)?;
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

    use crate::wal_tests::{copy_dir, wait_until_released};
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

    /// Writing forty times the log's segment size never leaves more than a few segments for
    /// recovery to replay (the active one, and those whose memtables are still being flushed);
    /// once the flush thread has caught up, only the active one. A kill image taken then, with
    /// overwrites, deletions and counts in the unflushed part, recovers every acknowledged
    /// write, replaying only that part.
    #[test]
    fn the_log_recovery_replays_stays_bounded_and_recovers_everything() {
        let live = tempfile::tempdir().unwrap();
        let options = FjallOptions {
            wal_segment_bytes: SEGMENT,
            ..FjallOptions::default()
        };
        let store = FjallStore::open_with(live.path(), &options).unwrap();
        store
            .commit(Batch {
                writes: vec![Write::SetCount {
                    counter: TABLE,
                    value: Counts::default(),
                }],
                guards: vec![],
            })
            .unwrap();
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
        let image = tempfile::tempdir().unwrap();
        copy_dir(live.path(), image.path());
        let recovered = FjallStore::open(image.path()).unwrap();
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
}
