//! A clean close, and the start-up it buys: after a clean stop fjall replays no journal.
//!
//! fjall 3.1 reads every journal it finds at open, entry by entry, whether or not the entry's
//! keyspace has flushed it to a table file since: each entry costs a decode, a checksum and a
//! lookup of its keyspace's name in fjall's own meta tree (about 5 ms per MB on the
//! development machine, 0.3–0.4 s for the 64 MB fjall fills before it starts a new journal).
//! That cost is the same after a clean stop as after a kill -9, and it was most of a start-up.
//!
//! So a clean close ([`CleanClose`], run when a [`crate::FjallStore`] is dropped, after the
//! group commit's final sync) flushes every memtable of every keyspace to table files, on its
//! own thread (fjall's worker may be busy with a long compaction). When everything fjall holds
//! is then in table files, the journals hold nothing recovery needs, and the close writes out what
//! fjall's journal writer still buffers (the dropper's batches, and recovery's replay until it
//! inserted into the trees directly: left in the buffer it reached the file at the drop, after
//! the marker, and voided it, so the first stop after a kill -9 recovery was never clean) and records that in a
//! marker file, [`MARKER`], listing every journal file and its length. The next open
//! ([`take_marker`] and [`swap_journals`], before fjall opens the directory) checks that the journals
//! are exactly those the marker lists (a journal that grew or appeared after the marker was
//! written means it holds something: the marker is then ignored), and replaces them with one
//! empty journal numbered after them. fjall then opens an active journal with nothing to
//! replay, and recovers its sequence numbers from the table files as after any recovery.
//! (Deleting the journals alone would not do: with no journal at all, fjall 3.1 treats the
//! directory as new and does not recover its sequence number from the tables.)
//!
//! Crash safety: the empty journal is created and synced before the old ones are deleted, and
//! the marker is deleted last. A crash in between leaves either the old journals (replayed as
//! usual, correctly, only slower) or the new empty one as the newest (nothing to replay, the
//! tables hold everything), and a stale marker, which no longer matches and is deleted.
//!
//! What a start-up still costs after a clean stop: opening each table file (its trailer and
//! metadata; filters and index blocks are loaded after open, and what the open reads is read
//! ahead on several threads, see [`crate::warm_up`]), a new log segment and a few `fsync`s.
//! The old journals are renamed into the trash, not deleted, on the start path: deleting a
//! 64 MB journal took 10+ ms ([`crate::trash`]). Since recovery reads binderdb's log alone
//! ([`crate::log_bound`]), the journals are swapped at every open, after a kill -9 too; the
//! marker then also says that the log's segments hold nothing to replay.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use binderdb_storage::StorageError;
use fjall::{AbstractTree, Database, KeyspaceCreateOptions};

/// The marker a clean close leaves in the data directory (see the module docs).
pub(crate) const MARKER: &str = "binderdb-clean-close";

/// Owns a handle on the database until the store's last part is dropped, then flushes
/// everything and leaves the marker (see the module docs). Must be the store's last field:
/// every writer (the group commit, the dropper, the settler) has stopped before it runs.
pub(crate) struct CleanClose {
    db: Option<Database>,
    dir: PathBuf,
}

impl CleanClose {
    pub(crate) fn new(db: Database, dir: &Path) -> CleanClose {
        CleanClose {
            db: Some(db),
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for CleanClose {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        let started = Instant::now();
        match flush_everything(&db) {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    "memtables left after the flush at close; the next start replays the journal"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "flushing at close failed; the next start replays the journal");
                return;
            }
        }
        // fjall's journal writer buffers: what it has not written out yet (the dropper's
        // batches go through it) reaches the file at the drop, after the marker, and voided it. So
        // it is written out first.
        if let Err(e) = db.persist(fjall::PersistMode::SyncAll) {
            tracing::warn!(error = %e, "writing out fjall's journal at close failed; the next start replays the journal");
            return;
        }
        // The journals' lengths are read while fjall still has them open: anything it writes
        // from now on (nothing should) makes them differ from the marker's, which voids it.
        let written = journals(&self.dir).and_then(|list| write_marker(&self.dir, &list));
        drop(db);
        match written {
            Ok(()) => tracing::debug!(
                took_ms = started.elapsed().as_millis(),
                "flushed every memtable at close"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot write the clean-close marker"),
        }
    }
}

/// Flushes the memtables of every keyspace holding unflushed writes to table files, on this
/// thread; `Ok(false)` if some keyspace still holds a memtable afterwards (nothing should be
/// writing any more).
///
/// The flush runs here rather than on fjall's worker because the worker may be in the middle
/// of a long compaction (seconds on a large table), and a stop must not wait for it. It takes
/// the tree's flush lock, as the worker does, so the two never flush the same memtable twice,
/// and it keeps every version (a garbage-collection watermark of 0, as the settler's merges).
pub(crate) fn flush_everything(db: &Database) -> Result<bool, StorageError> {
    let mut spaces = Vec::new();
    for name in db.list_keyspace_names() {
        // Listed, so it exists: the options are not used.
        let space = db
            .keyspace(&name, KeyspaceCreateOptions::default)
            .map_err(crate::backend)?;
        if space.tree.active_memtable().size() > 0 || space.tree.sealed_memtable_count() > 0 {
            space
                .tree
                .flush_active_memtable(0)
                .map_err(|e| crate::backend(e.into()))?;
        }
        spaces.push(space);
    }
    Ok(spaces.iter().all(|space| {
        space.tree.sealed_memtable_count() == 0 && space.tree.active_memtable().size() == 0
    }))
}

/// One of fjall's journal files (`<id>.jnl`) as the marker records it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct JournalFile {
    id: u64,
    /// Length and modification time (ns since the epoch): fjall pre-allocates a journal's
    /// length, so a write inside it shows only in the time.
    len: u64,
    modified_ns: u128,
}

/// fjall's journal files in `dir`, oldest first.
fn journals(dir: &Path) -> std::io::Result<Vec<JournalFile>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|name| name.strip_suffix(".jnl"))
            .and_then(|id| id.parse::<u64>().ok())
        else {
            continue;
        };
        let metadata = entry.metadata()?;
        let modified_ns = metadata
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        found.push(JournalFile {
            id,
            len: metadata.len(),
            modified_ns,
        });
    }
    found.sort_unstable();
    Ok(found)
}

fn journal_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id}.jnl"))
}

/// The marker's text: one `<id> <length> <modified ns>` line per journal.
fn marker_text(list: &[JournalFile]) -> String {
    list.iter()
        .map(|j| format!("{} {} {}\n", j.id, j.len, j.modified_ns))
        .collect()
}

fn write_marker(dir: &Path, list: &[JournalFile]) -> std::io::Result<()> {
    let path = dir.join(MARKER);
    let mut file = std::fs::File::create(&path)?;
    file.write_all(marker_text(list).as_bytes())?;
    file.sync_all()?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Before fjall opens `dir`: whether a clean close left its marker and every journal there is
/// one it lists, unchanged (fjall may have deleted a fully flushed journal after the marker was
/// written; a journal that is new or changed since voids the marker). Then everything the
/// store held is in table files. Deletes the marker either way.
///
/// # Errors
/// `Io` if the directory cannot be read or the marker not deleted.
pub(crate) fn take_marker(dir: &Path) -> Result<bool, StorageError> {
    let marker = dir.join(MARKER);
    let recorded = match std::fs::read_to_string(&marker) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let recorded: Vec<&str> = recorded.lines().collect();
    let list = journals(dir)?;
    let matches = !list.is_empty()
        && marker_text(&list)
            .lines()
            .all(|line| recorded.contains(&line));
    std::fs::remove_file(&marker)?;
    sync_dir(dir)?;
    Ok(matches)
}

/// Before fjall opens `dir`: replaces its journals with one empty journal numbered after them,
/// so fjall replays nothing and recovers its sequence numbers from the table files. Only when
/// nothing recovery needs is in the journals: after a clean close ([`take_marker`]), or always
/// once binderdb's log holds everything the table files lack ([`crate::log_bound`]).
///
/// # Errors
/// `Io` if the directory cannot be read or a file not created, synced or deleted.
pub(crate) fn swap_journals(dir: &Path) -> Result<(), StorageError> {
    let list = journals(dir)?;
    let Some(last) = list.last() else {
        return Ok(());
    };
    if list.len() == 1 && last.len == 0 {
        return Ok(()); // already one empty journal
    }
    let fresh = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(journal_path(dir, last.id + 1))?;
    fresh.sync_all()?;
    sync_dir(dir)?;
    // Renamed, not deleted: deleting 64 MB journals took 10+ ms each (see `trash`).
    for journal in &list {
        crate::trash::discard(
            dir,
            &journal_path(dir, journal.id),
            &format!("{}.jnl-old", journal.id),
        )?;
    }
    sync_dir(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use binderdb_storage::conformance::{key, put};
    use binderdb_storage::{Batch, CounterId, Counts, Key, Keyspace, Store, Write};

    use super::*;
    use crate::FjallStore;

    fn item(i: u32) -> Key {
        key(Keyspace::Items, 4, &i.to_be_bytes(), b"")
    }

    const TABLE: CounterId = CounterId { group: 4, lane: 4 };

    /// Writes items `from..to` (one commit each, counted) and deletes item `from`.
    fn write(store: &FjallStore, from: u32, to: u32) -> Vec<u64> {
        if store.counts(TABLE).unwrap().is_none() {
            let start = Write::SetCount {
                counter: TABLE,
                value: Counts::default(),
            };
            store
                .commit(Batch {
                    writes: vec![start],
                    guards: vec![],
                })
                .unwrap();
        }
        let versions = (from..to)
            .map(|i| {
                store
                    .commit(Batch {
                        writes: vec![
                            Write::Put {
                                key: item(i),
                                value: vec![7; 200],
                            },
                            Write::Count {
                                counter: TABLE,
                                delta: Counts {
                                    items: 1,
                                    bytes: 200,
                                },
                            },
                        ],
                        guards: vec![],
                    })
                    .unwrap()
            })
            .collect();
        store
            .commit(Batch {
                writes: vec![
                    Write::Delete { key: item(from) },
                    Write::Count {
                        counter: TABLE,
                        delta: Counts {
                            items: -1,
                            bytes: -200,
                        },
                    },
                ],
                guards: vec![],
            })
            .unwrap();
        versions
    }

    fn journal_ids(dir: &Path) -> Vec<u64> {
        journals(dir).unwrap().iter().map(|j| j.id).collect()
    }

    /// After a clean close the next open replaces the journals with an empty one, and
    /// everything (items, deletions, counters, versions) is read back from the table files;
    /// writes after it (overwrites of flushed keys included) win over the flushed data, and
    /// survive the next close and open.
    #[test]
    fn a_clean_close_leaves_no_journal_to_replay() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let store = FjallStore::open(dir.path()).unwrap();
            write(&store, 0, 2_000)
        };
        assert!(dir.path().join(MARKER).exists());
        let before = journal_ids(dir.path());
        let store = FjallStore::open(dir.path()).unwrap();
        assert!(!dir.path().join(MARKER).exists());
        let after = journal_ids(dir.path());
        assert!(
            after.iter().all(|id| before.iter().all(|old| id > old)),
            "journals {before:?} were kept: {after:?}"
        );
        assert_eq!(store.get(&item(0)).unwrap(), None);
        for i in [1, 2, 999, 1_999] {
            let got = store.get(&item(i)).unwrap().unwrap();
            assert_eq!(got.version, first[i as usize]);
            assert_eq!(got.value, vec![7; 200]);
        }
        let counts = |items| Counts {
            items,
            bytes: items * 200,
        };
        assert_eq!(store.counts(TABLE).unwrap(), Some(counts(1_999)));
        // Writes after it win over what the tables hold.
        let newer = put(&store, &item(5), b"newer");
        assert!(newer > first[1_999]);
        assert_eq!(store.get(&item(5)).unwrap().unwrap().value, b"newer");
        write(&store, 2_000, 2_100);
        drop(store);
        let store = FjallStore::open(dir.path()).unwrap();
        let got = store.get(&item(5)).unwrap().unwrap();
        assert_eq!((got.version, got.value.as_slice()), (newer, &b"newer"[..]));
        assert_eq!(store.get(&item(2_000)).unwrap(), None);
        assert!(store.get(&item(2_099)).unwrap().is_some());
        assert_eq!(store.counts(TABLE).unwrap(), Some(counts(2_098)));
    }

    /// A clean close right after a recovery leaves a marker that matches the journals: the next
    /// open replays nothing. (The replay used to write through fjall's journal, which buffers,
    /// and the close then voided its own marker.)
    #[test]
    fn a_clean_close_after_a_recovery_leaves_a_matching_marker() {
        let live = tempfile::tempdir().unwrap();
        let store = FjallStore::open(live.path()).unwrap();
        write(&store, 0, 300);
        binderdb_storage::durable(&store).wait().unwrap();
        let (image, recovered) = crate::wal_tests::open_kill_image(live.path());
        assert!(recovered.replayed_frames() > 0);
        drop(recovered);
        assert!(
            take_marker(image.path()).unwrap(),
            "the marker does not describe the journals"
        );
        drop(store);
    }

    /// A marker that does not describe the journals (one changed after it was written) is
    /// dropped, and the store recovers as after a crash (replaying its log).
    #[test]
    fn a_marker_that_does_not_match_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let store = FjallStore::open(dir.path()).unwrap();
            write(&store, 0, 100)
        };
        let marker = dir.path().join(MARKER);
        let text = std::fs::read_to_string(&marker).unwrap();
        let changed: String = text.lines().map(|line| format!("{line}1\n")).collect();
        std::fs::write(&marker, changed).unwrap();
        let before = journal_ids(dir.path());
        assert!(!take_marker(dir.path()).unwrap());
        assert!(!marker.exists());
        assert_eq!(journal_ids(dir.path()), before);
        let store = FjallStore::open(dir.path()).unwrap();
        assert!(store.replayed_frames() > 0);
        assert_eq!(store.get(&item(50)).unwrap().unwrap().version, first[50]);
    }
}
