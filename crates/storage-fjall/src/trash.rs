//! Deletions off every lock and off the start path: a table file's blocks are freed by the
//! trash thread, never by the thread that happens to drop the table's last reference.
//!
//! Deleting a file returns its blocks to the filesystem, which for a large file takes time:
//! ext4 frees its extents inside the `unlink` (or the `close` of its last descriptor), and on
//! a filesystem mounted with `discard` without a journal (the development VM's) it also sends
//! the device a discard for them and waits for it (`ext4_free_blocks` → `blkdev_issue_discard`
//! → `submit_bio_wait`): 10–50 ms for one 64 MB table file or fjall journal on the shared disk
//! (`strace -T` of an unlink), and up to ~180 ms during a bulk load, when the disk is busy.
//! Such deletions sat in two places where everything waited for them:
//! - **while the store runs**, lsm-tree deletes a table file when the last tree version holding
//!   it is collected (`Table`'s `Drop`), and it collects versions under the tree's version lock
//!   (at the end of every flush and compaction, `SuperVersions::maintenance`) and from fjall's
//!   `Keyspace::rotate_memtable`, which the flush thread calls between commits
//!   ([`crate::sequencer::Sequencer::between_commits`]). Every commit inserts under that lock's
//!   read side and waits at that gate, so each deletion there stopped every writer at once:
//!   this was one of the two causes of the bulk load's all-connection stalls (see the crate
//!   docs, "What stalls every connection during a bulk load");
//! - **at start-up**, after a kill -9, lsm-tree deletes the table files a flush or a
//!   compaction was writing when the process died (orphans: in no version) while it opens the
//!   tree, one after the other, before it returns (21 orphans and 180 ms of a 420 ms start on a
//!   3 GB directory killed right after a bulk load, `strace -T`); and every open swaps fjall's
//!   journals for an empty one ([`crate::close::swap_journals`]), deleting the old ones.
//!
//! So every table file gets a second name (a hard link) in the [`TRASH`] folder: before fjall
//! opens a directory that was not closed cleanly ([`link_table_files`]), right after each
//! flush and compaction that wrote one ([`keep_tables`], on the thread that wrote it), and on
//! each pass of the trash thread (which catches the rest). lsm-tree's deletion of a table then
//! only removes a name, a directory update of a few microseconds, and leaves the blocks to the
//! [`Emptier`] thread: it deletes a trash name once its table file is gone (no file of that
//! keyspace and id, or another file under it), freeing the blocks in [`FREE_STEP`] slices
//! ([`free_gradually`]) so that no single discard holds the device long in front of the log's
//! writes. The old journals an open replaces are renamed into the trash ([`discard`]) and
//! deleted the same way, and so are the log segments the write-ahead log does not keep as
//! spares (`wal::Writer`, under the lock every acknowledgement needs). A link costs a few microseconds per table file (about 300 files for
//! 20 GB), and a pass lists the tables and the trash every [`EMPTY_TICK`].
//!
//! Crash safety: the trash holds only second names of table files and journals nothing
//! needs; lsm-tree decides what is an orphan, as before. A crash before the thread has freed
//! a dead file leaves its name, which the next open's thread deletes. A name left from an
//! earlier open under an id lsm-tree has since reused names another file than the table: it
//! is deleted (only ever its own blocks: a file with another name is never truncated), and the
//! next pass links the table. A table that lsm-tree deletes before it was linked (the id
//! reuse above, or a table written and merged away between two links) is deleted as before,
//! only slowly.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use binderdb_storage::StorageError;

use crate::worker::{Signal, Worker};

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

/// How often the trash thread links what the flush and compaction threads may have missed and
/// deletes the names of table files lsm-tree has deleted (a delay of at most this before a
/// deleted table's space is free again).
const EMPTY_TICK: Duration = Duration::from_millis(500);

/// A dead file's blocks are freed in slices of this size, from its end ([`free_gradually`]):
/// each slice is one discard of at most this many bytes on a filesystem mounted with
/// `discard`, which the device serves in a few milliseconds, where a whole table file took
/// tens of milliseconds (see the module docs).
const FREE_STEP: u64 = 4 << 20;

/// The pause between two slices, which lets the write-ahead log's writes and syncs reach the
/// device between two discards.
const FREE_PAUSE: Duration = Duration::from_millis(2);

/// Gives every table file of `dir` that has none a second name in the trash (see the module
/// docs); returns how many it linked. Called by the flush and compaction threads right after
/// they wrote table files, so those are linked before any compaction can replace them.
pub(crate) fn keep_tables(dir: &Path) -> usize {
    link_table_files(dir, &crate::warm_up::table_files(dir))
}

/// Owner of the thread that empties the trash (see the module docs). Dropping it stops the
/// thread between two slices of a file and joins it ([`Worker`]).
pub(crate) struct Emptier {
    worker: Worker<Passes>,
}

/// What the trash thread has done, for [`Emptier::wait`] (and the tests' `Emptier::settle`).
#[derive(Default)]
struct Passes {
    /// Passes begun and finished.
    started: u64,
    finished: u64,
    /// Names the first pass (the one after the open) deleted, once it has finished.
    first: Option<u64>,
    /// Names the last finished pass deleted.
    last: u64,
}

impl Emptier {
    /// Starts the trash thread on `dir`: its first pass empties what the open left, the later
    /// ones what lsm-tree deletes while the store runs.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(dir: &Path) -> Result<Emptier, StorageError> {
        // Created now, not at the first table file's link: the log moves the segments it does
        // not recycle here (`wal::Writer`) once it sees the folder.
        std::fs::create_dir_all(dir.join(TRASH))?;
        let dir = dir.to_path_buf();
        let worker = Worker::start("binderdb-trash", Passes::default(), move |signal| {
            empty_loop(signal, &dir);
        })?;
        Ok(Emptier { worker })
    }

    /// Blocks until the first pass, which deletes what the open left in the trash, is done;
    /// returns how many names it deleted. For tests and measurements.
    pub(crate) fn wait(&self) -> u64 {
        let signal = self.worker.signal();
        let mut control = signal.lock();
        loop {
            if let Some(deleted) = control.state.first {
                return deleted;
            }
            signal.wait(&mut control, None);
        }
    }

    /// Wakes the thread and blocks until a whole pass begun after the call is done; returns
    /// how many names it deleted.
    #[cfg(test)]
    pub(crate) fn settle(&self) -> u64 {
        let signal = self.worker.signal();
        let target = signal.lock().state.started + 1;
        signal.broadcast();
        let mut control = signal.lock();
        while control.state.finished < target && !control.stop {
            signal.wait(&mut control, None);
        }
        control.state.last
    }
}

/// The trash thread's loop: a pass ([`empty_pass`]), then a wait of [`EMPTY_TICK`] or until
/// woken, until the owner stops it.
fn empty_loop(signal: &Signal<Passes>, dir: &Path) {
    let trash = dir.join(TRASH);
    loop {
        signal.lock().state.started += 1;
        keep_tables(dir);
        let deleted = empty_pass(signal, dir, &trash);
        {
            let mut control = signal.lock();
            let passes = &mut control.state;
            passes.finished += 1;
            passes.last = deleted;
            passes.first.get_or_insert(deleted);
            signal.broadcast();
            if control.stop {
                return;
            }
            signal.wait(&mut control, Some(EMPTY_TICK));
            if control.stop {
                return;
            }
        }
    }
}

/// Deletes every name in `trash` that is not a live table file's second name; returns how
/// many. Stops early (between two slices) when the owner stops the thread.
fn empty_pass(signal: &Signal<Passes>, dir: &Path, trash: &Path) -> u64 {
    let started = std::time::Instant::now();
    let mut deleted = 0u64;
    let Ok(entries) = std::fs::read_dir(trash) else {
        return 0;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if signal.stopping() {
            break;
        }
        if names_live_table(dir, &path) {
            continue;
        }
        if !free_gradually(signal, &path) {
            break;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, path = %path.display(),
                "cannot delete a file in the trash"),
        }
    }
    if deleted > 0 {
        tracing::debug!(
            deleted,
            took_ms = started.elapsed().as_millis(),
            "emptied the trash"
        );
    }
    deleted
}

/// Whether the trash name `path` (`<keyspace>-<id>`) is a second name of the live table file
/// `keyspaces/<keyspace>/tables/<id>` of `dir`: that file exists and is the same file.
fn names_live_table(dir: &Path, path: &Path) -> bool {
    let Some((keyspace, id)) = path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.rsplit_once('-'))
    else {
        return false;
    };
    let table = dir.join("keyspaces").join(keyspace).join("tables").join(id);
    match (
        std::fs::symlink_metadata(path),
        std::fs::symlink_metadata(table),
    ) {
        (Ok(name), Ok(table)) => name.dev() == table.dev() && name.ino() == table.ino(),
        _ => false,
    }
}

/// Frees the blocks of the file `path` from its end, [`FREE_STEP`] bytes at a time with a
/// [`FREE_PAUSE`] between slices, if `path` is its only name (otherwise removing the name frees
/// nothing, and the file must stay whole: it may be a live table's). Returns false if the
/// owner stopped the thread meanwhile (the file is then left, partly freed, for the next open).
fn free_gradually(signal: &Signal<Passes>, path: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) else {
        return true;
    };
    let Ok(meta) = file.metadata() else {
        return true;
    };
    if meta.nlink() != 1 || !meta.is_file() {
        return true;
    }
    let mut len = meta.len();
    while len > FREE_STEP {
        if signal.stopping() {
            return false;
        }
        len -= FREE_STEP;
        if file.set_len(len).is_err() {
            break;
        }
        std::thread::sleep(FREE_PAUSE);
    }
    true
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

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
        // The orphan (and the old journals, and the copies `copy_dir` made of the second names
        // the first store gave its tables); the live tables keep (or get again) theirs.
        assert!(store.wait_for_trash() >= 1);
        assert!(trash_matches_tables(&store, image.path()));
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
        assert!(trash_matches_tables(&store, image.path()));
        assert!(store.get(&item(7)).unwrap().is_some());
    }

    /// Whether, after a few passes of the trash thread, the trash holds exactly the second
    /// names of `dir`'s table files and every table file has its two names (the settler's and
    /// the compactor's merges may replace tables meanwhile, also between two checks: a pass that
    /// overlapped one is followed by another, and both checks are made after the same pass).
    fn trash_matches_tables(store: &FjallStore, dir: &Path) -> bool {
        (0..50).any(|_| {
            store.trash.settle();
            names(&dir.join(super::TRASH)) == live_names(dir)
                && crate::warm_up::table_files(dir)
                    .iter()
                    .all(|t| std::fs::metadata(t).is_ok_and(|m| m.nlink() == 2))
        })
    }

    /// The names in the trash folder `trash`.
    fn names(trash: &Path) -> BTreeSet<String> {
        std::fs::read_dir(trash)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    /// The trash names of the table files of `dir` (`<keyspace>-<id>`).
    fn live_names(dir: &Path) -> BTreeSet<String> {
        crate::warm_up::table_files(dir)
            .iter()
            .map(|table| live_names_of(table))
            .collect()
    }

    /// The trash name of the table file `table` (`<keyspace>-<id>`).
    fn live_names_of(table: &Path) -> String {
        let keyspace = table
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .file_name()
            .unwrap();
        let id = table.file_name().unwrap();
        format!("{}-{}", keyspace.to_str().unwrap(), id.to_str().unwrap())
    }

    /// While the store runs, every table file gets a second name in the trash, so lsm-tree's
    /// deletion of a table that a compaction replaced only removes a name (under its locks,
    /// where every commit waits), and the trash thread frees the file afterwards. A stale name
    /// under a live table's id (another file, as an id reused after a crash leaves) is deleted
    /// without touching the table, which is then linked again.
    #[test]
    fn table_files_replaced_while_the_store_runs_are_freed_by_the_trash_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(dir.path()).unwrap();
        let trash = dir.path().join(super::TRASH);
        let value = |round: u32| round.to_le_bytes().repeat(50);
        // Enough flushes of the items keyspace for a level-0 merge (`compactor`).
        let mut flushed = BTreeSet::new();
        for round in 0..crate::compactor::L0_TRIGGER as u32 + 1 {
            for i in 0..500u32 {
                put(&store, &item(i), &value(round));
            }
            store.flush_memtables().unwrap();
            assert!(trash_matches_tables(&store, dir.path()), "round {round}");
            flushed.extend(crate::warm_up::table_files(dir.path()));
        }
        // Wait (polled; no time is asserted) until the merge has replaced some of them. lsm-tree
        // deletes a replaced table once no tree version holds it, which later flushes check.
        let replaced = || {
            flushed
                .iter()
                .filter(|table| !table.exists())
                .cloned()
                .collect::<Vec<PathBuf>>()
        };
        for _ in 0..1200 {
            if !replaced().is_empty() && store.compactor.active() == 0 {
                break;
            }
            put(&store, &item(1_000_000), b"a later flush");
            store.flush_memtables().unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        let replaced = replaced();
        assert!(!replaced.is_empty(), "no table file was replaced");
        assert!(trash_matches_tables(&store, dir.path()));
        for table in &replaced {
            let name = live_names_of(table);
            assert!(!trash.join(name).exists(), "{table:?}");
        }

        // A stale name: another file under a live table's trash name (the items keyspace's
        // newest table, which no merge replaces while nothing is written).
        let newest = crate::warm_up::table_files(dir.path())
            .into_iter()
            .filter(|table| table.starts_with(store.space(Keyspace::Items).unwrap().path()))
            .max_by_key(|table| {
                table
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .unwrap();
        let stale = trash.join(live_names_of(&newest));
        std::fs::remove_file(&stale).unwrap();
        std::fs::write(&stale, b"another file").unwrap();
        let table = std::fs::metadata(&newest).unwrap();
        let relinked = (0..50).any(|_| {
            store.trash.settle();
            std::fs::metadata(&stale).is_ok_and(|name| name.ino() == table.ino())
        });
        assert!(relinked, "the stale name was kept");
        assert_eq!(std::fs::metadata(&newest).unwrap().nlink(), 2);
        assert!(trash_matches_tables(&store, dir.path()));
        for i in 0..500u32 {
            let got = store.get(&item(i)).unwrap().unwrap().value;
            assert_eq!(got, value(crate::compactor::L0_TRIGGER as u32));
        }
    }
}
