//! Early writeback of the table files flushes and compactions write, so that no thread meets a
//! large burst of their data in the disk's queue: above all not lsm-tree's own syncs under a
//! tree's version lock, which every commit and read waits for.
//!
//! **Why.** lsm-tree writes a table file through the page cache and syncs it once, at its end
//! (a flushed memtable is up to [`crate::MEMTABLE_BYTES`], a merged run's files 64 MB each).
//! The kernel starts writing dirty pages back on its own only past `dirty_background_ratio`
//! (10% of memory: gigabytes here), so each table's whole content reached the disk's queue at
//! once, in that final sync. lsm-tree then registers the new table in a new tree version and
//! persists that version (a small file written and synced, its folder synced, and the
//! `current` pointer replaced the same way: four syncs) **while it holds the tree's version
//! lock for writing** (`SuperVersions::upgrade_version`); every insert and every point read
//! takes that lock's read side. Behind another thread's tens of megabytes of table data, those
//! four small syncs took 30–70 ms, and every connection waited for them.
//!
//! Found (2026-12-07, main at e526f87, BatchWriteItem bulk loads of 32 connections, release
//! builds, `perf trace --duration 30` of the server's syscalls): the two runtime workers
//! waited again and again, 30–70 ms at a time, on a write-locked `RwLock` that the flush and
//! compaction threads also waited on (lsm-tree's version lock), each time while a compaction
//! thread was in `fsync`. In a 10-minute load (60,000,000 items) 86 requests took over 100 ms
//! in the server, in 6 bursts; in 5 of them a sampler of `/proc/<pid>/task/*` every 20 ms saw
//! the compaction threads in disk waits, the runtime workers asleep and the group-commit
//! thread idle (no commit arriving), and in the sixth the group-commit thread itself in a
//! 100 ms `fdatasync`. Starting the kernel's background writeback at 16 MiB of dirty data
//! instead (`vm.dirty_background_bytes`, a machine-wide setting, tried for the diagnosis only)
//! took the same load from 194 requests over 100 ms (client side) to 13, and the longest log
//! sync from 99 to 49 ms.
//!
//! **What this does.** While a flush or a compaction runs (each holds a [`Job`]), the
//! writeback thread looks at the table folders every [`TICK`], and syncs each table file being
//! written ([`std::fs::File::sync_data`]) once another [`STEP`] of it has been written: its
//! pages then go to the disk a few megabytes at a time, in this thread's own syncs, and
//! lsm-tree's final sync of the file, and the version syncs behind it, find little in front of
//! them. When no flush or compaction runs, the thread sleeps without a timeout.
//!
//! Measured (2026-12-07 16:50–17:00, one release build whose writeback an experiment's
//! environment variable turned off, to `sync_data`, or to `posix_fadvise(DONTNEED)` on the
//! new [`STEP`]s, which starts their writeback without a sync; 20,000,000-item loads, `binderdb
//! bench --workload get --items 20000000`, one after the other under a pause of the machine's
//! builds, nothing else running):
//!
//! | writeback | items/s | p99.9 | max | requests over 100 ms | worker waits over 30 ms on the version lock | longest log sync |
//! |---|---|---|---|---|---|---|
//! | off (as before) | 100,796 | 53.5 ms | 112.6 ms | 37 | 47 (2.2 s in all, longest 70 ms) | 53.5 ms |
//! | `sync_data` | 103,330 | 39.8 ms | 70.1 ms | 0 | 0 | 46.2 ms |
//! | `fadvise` | 100,640 | 39.4 ms | 68.7 ms | 0 | 0 | 32.8 ms |
//!
//! Both remove the waits. `sync_data` was kept: it leaves the pages cached, where `fadvise`
//! moves those it cannot drop (the ones still being written back) to the inactive list and
//! drains every CPU's page lists on each call (`lru_add_drain_all`); `sync_file_range`, which
//! would start the writeback without either, has no safe binding in std, rustix or nix.
//!
//! Which files: those in `keyspaces/<keyspace>/tables/` modified within [`FRESH`] when first
//! seen; a file not grown for [`SETTLED_AFTER`] ticks is left alone from then on (and its
//! descriptor closed). Durability is unchanged: lsm-tree still syncs every table before it
//! uses it; these syncs only come earlier.
//!
//! Must not take any of the store's locks: it knows files, not fjall.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use binderdb_storage::StorageError;

use crate::worker::{Signal, Worker};

/// How often the thread looks at the table folders while a flush or compaction runs.
pub(crate) const TICK: Duration = Duration::from_millis(20);

/// How much more of a table file must have been written since its last sync for another one.
pub(crate) const STEP: u64 = 4 * 1024 * 1024;

/// A table file first seen later than this after its last change is not being written.
const FRESH: Duration = Duration::from_secs(2);

/// Ticks without growth after which a file is no longer looked at (its writer is done).
const SETTLED_AFTER: u32 = 50;

/// The flushes and compactions running now (the thread polls only while there are any).
#[derive(Default)]
pub(crate) struct State {
    jobs: u32,
    /// Table-file syncs made since open.
    syncs: u64,
}

/// The writeback thread (see the module docs).
pub(crate) struct Writeback {
    worker: Worker<State>,
}

/// What a flush or compaction thread holds while it writes table files (see [`Jobs::begin`]).
#[derive(Clone)]
pub(crate) struct Jobs(Arc<Signal<State>>);

/// One flush or compaction in progress; dropping it ends it.
pub(crate) struct Job(Arc<Signal<State>>);

impl Jobs {
    /// Marks a flush or compaction as running until the returned [`Job`] is dropped, and wakes
    /// the writeback thread.
    pub(crate) fn begin(&self) -> Job {
        self.0.update(|state| state.jobs += 1);
        Job(Arc::clone(&self.0))
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let mut control = self.0.lock();
        control.state.jobs = control.state.jobs.saturating_sub(1);
    }
}

impl Writeback {
    /// Starts the writeback thread over the table folders of the data directory `dir`.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(dir: &Path) -> Result<Writeback, StorageError> {
        let keyspaces = dir.join("keyspaces");
        let worker = Worker::start("binderdb-writeback", State::default(), move |signal| {
            let mut files = Files::default();
            loop {
                if signal.lock().state.jobs == 0 {
                    // The writers are done with their files: their descriptors are closed
                    // (outside the lock: closing a deleted file's last one frees its blocks),
                    // so that a deleted table's blocks are not held while nothing runs.
                    files.finish();
                }
                {
                    let mut control = signal.lock();
                    while control.state.jobs == 0 && !control.stop {
                        signal.wait(&mut control, None);
                    }
                    if control.stop {
                        return;
                    }
                }
                let syncs = files.pass(&keyspaces);
                let mut control = signal.lock();
                control.state.syncs += syncs;
                if control.stop {
                    return;
                }
                signal.wait(&mut control, Some(TICK));
            }
        })?;
        Ok(Writeback { worker })
    }

    /// The handle flushes and compactions mark their work with.
    pub(crate) fn jobs(&self) -> Jobs {
        Jobs(self.worker.handle())
    }

    /// Table-file syncs this thread has made since open.
    #[cfg(test)]
    pub(crate) fn syncs(&self) -> u64 {
        self.worker.signal().lock().state.syncs
    }
}

/// A table file being written.
struct Tracked {
    file: Option<File>,
    /// Its length at its last sync (0 before the first).
    synced: u64,
    /// Its length at the last look.
    last: u64,
    /// Looks since it last grew.
    still: u32,
}

/// What the thread knows about the table files, by path.
#[derive(Default)]
struct Files {
    tracked: HashMap<PathBuf, Tracked>,
    /// Files found finished: never looked at again while they exist.
    settled: HashSet<PathBuf>,
}

impl Files {
    /// One look at every table folder: syncs the files being written that grew by a [`STEP`];
    /// returns how many it synced.
    fn pass(&mut self, keyspaces: &Path) -> u64 {
        let mut syncs = 0;
        let mut seen = HashSet::with_capacity(self.tracked.len() + self.settled.len());
        let Ok(spaces) = std::fs::read_dir(keyspaces) else {
            return 0;
        };
        for space in spaces.flatten() {
            let Ok(tables) = std::fs::read_dir(space.path().join("tables")) else {
                continue;
            };
            for table in tables.flatten() {
                let path = table.path();
                if !self.settled.contains(&path) && self.look_at(&path) {
                    syncs += 1;
                }
                seen.insert(path);
            }
        }
        // Deleted files (merged away) are forgotten, with their descriptors.
        self.tracked.retain(|path, _| seen.contains(path));
        self.settled.retain(|path| seen.contains(path));
        syncs
    }

    /// Marks every file being written as finished (no flush or compaction runs any more).
    fn finish(&mut self) {
        self.settled
            .extend(self.tracked.drain().map(|(path, _)| path));
    }

    /// Looks at one table file; returns whether it synced it.
    fn look_at(&mut self, path: &Path) -> bool {
        let Ok(meta) = std::fs::metadata(path) else {
            return false;
        };
        let len = meta.len();
        let tracked = match self.tracked.get_mut(path) {
            Some(tracked) => tracked,
            None => {
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|modified| SystemTime::now().duration_since(modified).ok());
                if age.is_none_or(|age| age > FRESH) {
                    self.settled.insert(path.to_path_buf());
                    return false;
                }
                self.tracked.entry(path.to_path_buf()).or_insert(Tracked {
                    file: None,
                    synced: 0,
                    last: len,
                    still: 0,
                })
            }
        };
        if len == tracked.last {
            tracked.still += 1;
        } else {
            tracked.last = len;
            tracked.still = 0;
        }
        if len < tracked.synced + STEP {
            if tracked.still >= SETTLED_AFTER {
                self.tracked.remove(path);
                self.settled.insert(path.to_path_buf());
            }
            return false;
        }
        if tracked.file.is_none() {
            tracked.file = File::open(path).ok();
        }
        let Some(file) = &tracked.file else {
            return false;
        };
        // A failure is lsm-tree's to see in its own sync; this one only comes early.
        let _ = file.sync_data();
        tracked.synced = len;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use crate::tests::wait_until;

    /// A table file of `dir`'s keyspace 0 (created empty).
    fn table(dir: &Path, id: u32) -> File {
        let tables = dir.join("keyspaces").join("0").join("tables");
        std::fs::create_dir_all(&tables).unwrap();
        File::create(tables.join(id.to_string())).unwrap()
    }

    /// While a job runs, a table file being written is synced each time another [`STEP`] of
    /// it is there; nothing is synced while no job runs.
    #[test]
    fn a_growing_table_file_is_synced_by_steps_only_while_a_job_runs() {
        let dir = tempfile::tempdir().unwrap();
        let writeback = Writeback::start(dir.path()).unwrap();
        let mut file = table(dir.path(), 1);
        let chunk = vec![7u8; usize::try_from(STEP).unwrap()];

        // No job: the thread sleeps, whatever is written.
        file.write_all(&chunk).unwrap();
        std::thread::sleep(TICK * 5);
        assert_eq!(writeback.syncs(), 0);

        let job = writeback.jobs().begin();
        assert!(
            wait_until(|| writeback.syncs() == 1),
            "the first step was not synced"
        );
        file.write_all(&chunk[..chunk.len() / 2]).unwrap();
        std::thread::sleep(TICK * 5);
        assert_eq!(writeback.syncs(), 1, "half a step is not synced");
        file.write_all(&chunk).unwrap();
        assert!(
            wait_until(|| writeback.syncs() == 2),
            "the next step was not synced"
        );

        drop(job);
        file.write_all(&chunk).unwrap();
        std::thread::sleep(TICK * 5);
        assert_eq!(writeback.syncs(), 2, "synced after the job ended");
    }

    /// Files last changed long before a job began are finished tables: they are never synced
    /// (nor opened), however large.
    #[test]
    fn table_files_not_changed_recently_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = table(dir.path(), 3);
        old.write_all(&vec![1u8; usize::try_from(STEP * 2).unwrap()])
            .unwrap();
        old.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        let writeback = Writeback::start(dir.path()).unwrap();
        let _job = writeback.jobs().begin();
        let mut new = table(dir.path(), 4);
        new.write_all(&vec![2u8; usize::try_from(STEP).unwrap()])
            .unwrap();
        assert!(
            wait_until(|| writeback.syncs() == 1),
            "the new table was not synced"
        );
        std::thread::sleep(TICK * 5);
        assert_eq!(writeback.syncs(), 1, "the old table was synced");
    }
}
