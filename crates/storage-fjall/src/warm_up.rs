//! The warm-up thread: loads every table file's filter and index block into the block cache
//! after open, so that a start-up costs the same whatever the data size, and reads are as
//! fast as before once it is done.
//!
//! fjall opens every table file of every keyspace while the database opens, and reads the
//! filter and index blocks a keyspace's pinning policy pins right then. The data keyspaces
//! used to pin them at every level ([`crate::read_path::data_keyspace_options`]), which made
//! that part of a start-up proportional to the data: about 4.5 ms per 100 MB of table files of
//! the scale bench's items (39 ms at 10,000,000 items), a few hundred ms for tens of GB. Data
//! keyspaces created by this build pin nothing below level 0: fjall then reads only each file's
//! trailer and metadata at open (and, since filters and indexes are partitioned, their small
//! top-level indexes), and the blocks go through the block cache. Level 0's filters are pinned
//! whole (a bulk load checks them on every write, see `data_keyspace_options`); level 0 holds a
//! bounded number of flushed memtables, so what they add to a start-up does not grow with the
//! data. This thread loads some of them there
//! right after open, one point read per table file (of its smallest key: the read loads the
//! file's first filter and index partitions and one data block), in the background while the server
//! starts serving. Reads made before it reaches a file load that file's blocks themselves, so
//! results never depend on it, only the first reads' latency.
//!
//! What unpinning costs once warm: a point read looks the filter and the index block up in
//! the block cache (two more hash lookups per file it checks) instead of following a pointer.
//! The cache holds them like data blocks; with the default cache (a quarter of memory) they
//! stay (under 30 MB for 10,000,000 items). Keyspaces created by older builds keep the pinning
//! stored with them (fjall reads a keyspace's options from its own metadata), and so keep
//! loading their blocks at open.
//!
//! **The prefetch before open** ([`Prefetch`]). What fjall still reads from each table file at
//! open (the archive's trailer and table of contents, the metadata block, the top-level index
//! and filter index: a few KB) it reads one file after the other, on one thread, with one
//! `pread` waiting for the disk at a time when the page cache does not hold them. That is
//! proportional to the number of table files, about 15 per GB (64 MB each): on a 20 GB
//! directory, 300 files and some 1,500 reads one after the other. So before fjall opens, eight
//! threads read the same sections of every table file, in the order fjall opens them, and
//! fjall's own reads then find them in the page cache; the threads are stopped and joined
//! once fjall has opened. With the page cache warm they read the cached pages again, on the
//! other core, while fjall opens. Measured: see the README's scale section ("start-up against
//! data size"). What they cannot remove: lsm-tree reads each file's trailer and table of
//! contents through an unbuffered file, one field at a time (about 35 `read` calls per file,
//! `strace` of a 21 GB start: 12,561 for 358 files), which costs CPU whatever the cache.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use binderdb_storage::StorageError;
use fjall::AbstractTree;

use crate::worker::{Report, Signal, Worker};

/// Threads reading table files ahead of fjall's open (see [`Prefetch`]): enough reads in
/// flight for a virtual disk's queue, few enough to start in well under a millisecond.
const PREFETCH_THREADS: usize = 8;

/// The sections of a table file (lsm-tree's `sfa` archive) that fjall reads when it opens the
/// file, besides the archive's trailer and table of contents: the metadata, and the top-level
/// index and filter index of partitioned indexes and filters (for a keyspace that pins whole
/// index blocks, `tli` is that whole block, which fjall reads too).
const OPEN_SECTIONS: [&[u8]; 3] = [b"meta", b"tli", b"filter_tli"];

/// Reads, on [`PREFETCH_THREADS`] threads, the parts of every table file that fjall reads when
/// it opens the database, so that fjall's own reads, one file after the other on one thread,
/// find them in the page cache (see the module docs). Dropping it stops the threads and joins
/// them: drop it once fjall has opened.
pub(crate) struct Prefetch {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    files: Arc<AtomicU64>,
    /// Bytes read from the sections (not counting the trailer and table of contents).
    bytes: Arc<AtomicU64>,
}

impl Prefetch {
    /// Starts reading `tables` (the table files of a data directory, [`table_files`]).
    /// Failures are ignored: fjall reports them when it reads the same file.
    pub(crate) fn start(tables: Vec<PathBuf>) -> Prefetch {
        let tables = Arc::new(tables);
        let stop = Arc::new(AtomicBool::new(false));
        let (files, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let next = Arc::new(AtomicUsize::new(0));
        let threads = (0..PREFETCH_THREADS.min(tables.len()))
            .filter_map(|_| {
                let (tables, stop, next) = (tables.clone(), stop.clone(), next.clone());
                let (files, bytes) = (files.clone(), bytes.clone());
                std::thread::Builder::new()
                    .name("binderdb-prefetch".into())
                    .spawn(move || {
                        let mut buffer = Vec::new();
                        while !stop.load(Ordering::Relaxed) {
                            let Some(path) = tables.get(next.fetch_add(1, Ordering::Relaxed))
                            else {
                                return;
                            };
                            if let Ok(read) = read_open_sections(path, &mut buffer) {
                                files.fetch_add(1, Ordering::Relaxed);
                                bytes.fetch_add(read, Ordering::Relaxed);
                            }
                        }
                    })
                    .ok()
            })
            .collect();
        Prefetch {
            stop,
            threads,
            files,
            bytes,
        }
    }

    /// Stops the threads between two files and returns how many files and section bytes they
    /// read.
    pub(crate) fn finish(mut self) -> (u64, u64) {
        self.stop_and_join();
        (
            self.files.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// Waits until every file is read; returns how many files and section bytes were read.
    #[cfg(test)]
    fn complete(mut self) -> (u64, u64) {
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.finish()
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Every table file of every keyspace of `dir`, in the order fjall opens them: keyspace `0`
/// (fjall's own) first, then the keyspace folders and each one's `tables` folder as the
/// directory lists them (fjall walks them with the same `read_dir`).
pub(crate) fn table_files(dir: &Path) -> Vec<PathBuf> {
    let list = |dir: PathBuf| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    };
    let mut spaces = list(dir.join("keyspaces"));
    spaces.sort_by_key(|space| space.file_name().is_none_or(|name| name != "0"));
    spaces
        .into_iter()
        .flat_map(|space| list(space.join("tables")))
        .collect()
}

/// Reads the archive trailer and table of contents of the table file at `path`, then each of
/// its [`OPEN_SECTIONS`], into `buffer`; returns the sections' bytes.
fn read_open_sections(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<u64> {
    let toc = sfa::Reader::new(path).map_err(std::io::Error::other)?;
    let file = std::fs::File::open(path)?;
    let mut read = 0;
    for name in OPEN_SECTIONS {
        if let Some(section) = toc.toc().section(name) {
            buffer.resize(usize::try_from(section.len()).unwrap_or(0), 0);
            file.read_exact_at(buffer, section.pos())?;
            read += section.len();
        }
    }
    Ok(read)
}

/// Owner of the warm-up thread (see the module docs). Dropping it stops the thread between two
/// table files and joins it ([`Worker`]).
pub(crate) struct WarmUp {
    worker: Worker<Report>,
}

impl WarmUp {
    /// Starts warming the table files of `spaces` (the data keyspaces as opened).
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(spaces: Vec<fjall::Keyspace>) -> Result<WarmUp, StorageError> {
        let worker = Worker::start("binderdb-warm-up", Report::default(), move |signal| {
            warm(signal, &spaces);
        })?;
        Ok(WarmUp { worker })
    }

    /// Blocks until every table file has been warmed; returns how many were. For tests and
    /// measurements.
    pub(crate) fn wait(&self) -> u64 {
        self.worker.wait_for_report()
    }
}

fn warm(signal: &Signal<Report>, spaces: &[fjall::Keyspace]) {
    let started = std::time::Instant::now();
    let mut tables = 0u64;
    'spaces: for space in spaces {
        let version = space.tree.current_version();
        for table in version.iter_tables() {
            if signal.stopping() {
                break 'spaces;
            }
            // The smallest key of the file is in it: the read passes its filter and loads its
            // index block and a data block (a newer file holding the same key answers first;
            // this file's blocks are then loaded by the first read that needs them).
            if let Err(e) = space.tree.get(table.metadata.key_range.min(), u64::MAX) {
                tracing::warn!(error = %e, "warming a table file failed");
            }
            tables += 1;
        }
    }
    tracing::debug!(
        tables,
        took_ms = started.elapsed().as_millis(),
        "loaded the filters and index blocks of the table files"
    );
    signal.report(tables);
}

#[cfg(test)]
mod tests {
    use binderdb_storage::conformance::{key, put};
    use binderdb_storage::{Batch, Key, Keyspace, Store, Write};
    use fjall::AbstractTree;

    use crate::FjallStore;

    fn item(i: u32) -> Key {
        key(Keyspace::Items, 5, &i.to_be_bytes(), b"")
    }

    /// Opening pins no filter or index block below level 0 (nothing proportional to the data is
    /// read; level 0's few flushed files pin their filters), the
    /// warm-up loads them into the block cache by itself, and reads right after open find
    /// exactly what they find once it is done.
    #[test]
    fn reads_right_after_open_match_reads_after_warm_up() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = FjallStore::open(dir.path()).unwrap();
            for round in 0..3u32 {
                for i in (round * 700)..(round * 700 + 1_000) {
                    put(&store, &item(i), format!("{i} in round {round}").as_bytes());
                }
                store.flush_memtables().unwrap();
            }
            let deletes = (0..2_400)
                .step_by(9)
                .map(|i| Write::Delete { key: item(i) });
            store
                .commit(Batch {
                    writes: deletes.collect(),
                    guards: vec![],
                })
                .unwrap();
        }
        let expected = |i: u32| {
            let round = (0..3u32)
                .rev()
                .find(|r| (r * 700..r * 700 + 1_000).contains(&i));
            match round {
                Some(round) if i % 9 != 0 => Some(format!("{i} in round {round}").into_bytes()),
                _ => None,
            }
        };
        let read_all = |store: &FjallStore| -> Vec<Option<Vec<u8>>> {
            (0..2_500)
                .map(|i| store.get(&item(i)).unwrap().map(|v| v.value))
                .collect()
        };

        let store = FjallStore::open(dir.path()).unwrap();
        let version = store.space(Keyspace::Items).unwrap().tree.current_version();
        assert!(version.table_count() >= 2);
        for (level, tables) in version.iter_levels().enumerate() {
            for table in tables.iter().flat_map(|run| run.iter()) {
                // Level 0's filters are whole and pinned, the others go through the cache.
                assert_eq!(table.pinned_filter_size() > 0, level == 0, "level {level}");
                // At most the top-level index of a partitioned index, a few entries here.
                assert!(table.pinned_block_index_size() < 1024);
            }
        }
        let before = read_all(&store);
        assert!(store.wait_for_warm_up() >= 2);
        assert_eq!(read_all(&store), before);
        for (i, got) in before.into_iter().enumerate() {
            assert_eq!(got, expected(i as u32), "item {i}");
        }
        drop(store);

        let store = FjallStore::open(dir.path()).unwrap();
        assert!(store.wait_for_warm_up() >= 2);
        assert!(store.db.cache_size() > 0, "the warm-up loaded no block");
    }

    /// The prefetch before open goes through every table file of the directory and reads
    /// what fjall reads when it opens one (its metadata and top-level indexes), never its
    /// data blocks, filters or index partitions: a small share of each file. A directory
    /// without table files (a new store) starts no thread.
    #[test]
    fn the_prefetch_reads_each_table_files_open_sections_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            super::Prefetch::start(super::table_files(dir.path())).complete(),
            (0, 0)
        );
        {
            let store = FjallStore::open(dir.path()).unwrap();
            for round in 0..4u32 {
                for i in (round * 3_000)..(round * 3_000 + 3_000) {
                    put(&store, &item(i), &[u8::try_from(i % 251).unwrap(); 200]);
                }
                store.flush_memtables().unwrap();
            }
        }
        let tables = super::table_files(dir.path());
        assert!(tables.len() >= 4, "{tables:?}");
        let table_bytes: u64 = tables
            .iter()
            .map(|path| std::fs::metadata(path).unwrap().len())
            .sum();
        let (files, bytes) = super::Prefetch::start(tables.clone()).complete();
        assert_eq!(files, tables.len() as u64);
        assert!(bytes > 0);
        assert!(
            bytes * 20 < table_bytes,
            "{bytes} of {table_bytes} bytes read"
        );
        // A start stops it between two files, whatever it has read.
        let store = FjallStore::open(dir.path()).unwrap();
        assert!(store.get(&item(4_321)).unwrap().is_some());
    }
}
