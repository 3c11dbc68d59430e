//! Deletions off the start path: large files that an open gets rid of are deleted by a
//! background thread after the store is ready, not while it opens.
//!
//! Deleting a file returns its blocks to the filesystem, which for a large file takes time
//! (ext4 frees its extents and journals that inside the `unlink`): 10–50 ms for one 64 MB
//! table file or fjall journal on the development VM's shared disk. Two such deletions were
//! on the start path:
//! - after a kill -9, lsm-tree deletes the table files a flush or a compaction was writing
//!   when the process died (orphans: in no version) while it opens the tree, one after the
//!   other, before it returns. A compaction killed in the middle of merging gigabytes leaves
//!   as many 64 MB files as it had written, so this grew with the data: 21 orphans and 180 ms
//!   of a 420 ms start on a 3 GB directory killed right after a bulk load (`strace -T`);
//! - every open swaps fjall's journals for an empty one ([`crate::close::swap_journals`]), and
//!   deleted the old ones, up to 64 MB each.
//!
//! So, before fjall opens a directory that was not closed cleanly, every table file gets a
//! second name (a hard link) in the [`TRASH`] folder ([`link_table_files`]), and the old
//! journals are renamed into it ([`discard`]): lsm-tree's deletion of an orphan then only
//! removes a name, and the [`Emptier`] thread, started once the store is open, deletes the
//! trash's names, which frees the orphans' and journals' blocks and leaves the live table
//! files as they were (one name each again). A link costs a few microseconds per table file
//! (about 300 files for 20 GB); after a clean close there are no orphans and nothing is
//! linked.
//!
//! Crash safety: the trash holds only second names of table files and journals nothing
//! needs; lsm-tree decides what is an orphan, as before. A crash before the thread has emptied
//! the trash leaves names that the next open's thread deletes; a name left from an earlier open
//! is not linked again (a table file with a reused id then keeps its single name, and its
//! deletion, if it is an orphan, is back on the start path, as without the trash).

use std::path::{Path, PathBuf};

use binderdb_storage::StorageError;

use crate::worker::{Report, Signal, Worker};

/// The trash folder in the data directory (see the module docs).
pub(crate) const TRASH: &str = "binderdb-trash";

/// Gives each of `tables` (table files of `dir`, `keyspaces/<keyspace>/tables/<id>`) a second
/// name in the trash, `<keyspace>-<id>`; returns how many it linked. A file that cannot be
/// linked (a name already there, any error) is left alone: its deletion, if it is an orphan,
/// just stays slow.
pub(crate) fn link_table_files(dir: &Path, tables: &[PathBuf]) -> usize {
    let trash = dir.join(TRASH);
    if std::fs::create_dir_all(&trash).is_err() {
        return 0;
    }
    tables
        .iter()
        .filter(|table| {
            let keyspace = table
                .parent()
                .and_then(Path::parent)
                .and_then(Path::file_name);
            let (Some(keyspace), Some(id)) = (keyspace, table.file_name()) else {
                return false;
            };
            let mut name = keyspace.to_os_string();
            name.push("-");
            name.push(id);
            std::fs::hard_link(table, trash.join(name)).is_ok()
        })
        .count()
}

/// Moves the file `path` of `dir`, which nothing needs any more, into the trash as `name`.
///
/// # Errors
/// `Io` if the trash cannot be created or the file not renamed.
pub(crate) fn discard(dir: &Path, path: &Path, name: &str) -> Result<(), StorageError> {
    let trash = dir.join(TRASH);
    std::fs::create_dir_all(&trash)?;
    std::fs::rename(path, trash.join(name))?;
    Ok(())
}

/// Owner of the thread that empties the trash once the store is open. Dropping it stops the
/// thread between two files and joins it ([`Worker`]).
pub(crate) struct Emptier {
    worker: Worker<Report>,
}

impl Emptier {
    /// Starts emptying `dir`'s trash (nothing to do if it has none).
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(dir: &Path) -> Result<Emptier, StorageError> {
        let trash = dir.join(TRASH);
        let worker = Worker::start("binderdb-trash", Report::default(), move |signal| {
            empty(signal, &trash);
        })?;
        Ok(Emptier { worker })
    }

    /// Blocks until the trash is empty; returns how many names were deleted. For tests and
    /// measurements.
    pub(crate) fn wait(&self) -> u64 {
        self.worker.wait_for_report()
    }
}

fn empty(signal: &Signal<Report>, trash: &Path) {
    let started = std::time::Instant::now();
    let mut deleted = 0u64;
    if let Ok(entries) = std::fs::read_dir(trash) {
        for entry in entries.flatten() {
            if signal.stopping() {
                break;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!(error = %e, path = %entry.path().display(),
                    "cannot delete a file in the trash"),
            }
        }
    }
    if deleted > 0 {
        tracing::debug!(
            deleted,
            took_ms = started.elapsed().as_millis(),
            "emptied the trash"
        );
    }
    signal.report(deleted);
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use binderdb_storage::conformance::{key, put};
    use binderdb_storage::{Key, Keyspace, Store};

    use crate::FjallStore;

    fn item(i: u32) -> Key {
        key(Keyspace::Items, 6, &i.to_be_bytes(), b"")
    }

    /// After a crash, a table file in no version (an orphan, as a compaction killed midway
    /// leaves) is gone once the store has opened, and so is every name in the trash; the live
    /// table files keep exactly one name each, and every item reads back.
    #[test]
    fn orphans_left_by_a_crash_are_deleted_through_the_trash() {
        let (dir, image) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        {
            let store = FjallStore::open(dir.path()).unwrap();
            for i in 0..2_000u32 {
                put(&store, &item(i), &i.to_le_bytes().repeat(40));
            }
            store.flush_memtables().unwrap();
            // The directory as a kill -9 would leave it: no clean close.
            crate::wal_tests::copy_dir(dir.path(), image.path());
        }
        let tables = crate::warm_up::table_files(image.path());
        assert!(!tables.is_empty());
        let orphan = tables[0].with_file_name("999999");
        std::fs::copy(&tables[0], &orphan).unwrap();

        let store = FjallStore::open(image.path()).unwrap();
        assert!(!orphan.exists(), "the orphan was kept");
        assert!(store.wait_for_trash() > tables.len() as u64);
        let trash = image.path().join(super::TRASH);
        assert_eq!(std::fs::read_dir(&trash).unwrap().count(), 0);
        for table in crate::warm_up::table_files(image.path()) {
            assert_eq!(std::fs::metadata(&table).unwrap().nlink(), 1, "{table:?}");
        }
        for i in 0..2_000u32 {
            assert_eq!(
                store.get(&item(i)).unwrap().unwrap().value,
                i.to_le_bytes().repeat(40)
            );
        }
        drop(store);
        // The next open empties its trash again and finds everything.
        let store = FjallStore::open(image.path()).unwrap();
        store.wait_for_trash();
        assert_eq!(std::fs::read_dir(&trash).unwrap().count(), 0);
        assert!(store.get(&item(7)).unwrap().is_some());
    }
}
