//! The read path's settings: block cache, filters, index blocks, data blocks, compression and
//! compaction shape of the data keyspaces, and a summary of them for measurements.
//!
//! Kept apart from the write path (commits, the write-ahead log, memtables) so that the two
//! can change independently; [`data_keyspace_options`] is the one place a data keyspace's
//! read-side options are chosen.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use binderdb_storage::StorageError;
use fjall::config::{PartitioningPolicy, PinningPolicy, RestartIntervalPolicy};
use fjall::{AbstractTree, Database, KeyspaceCreateOptions};
use parking_lot::{Condvar, Mutex};

use crate::FjallStore;

/// The smallest default block cache (fjall's own default is 32 MiB).
pub const MIN_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The block cache's default size (`--cache-size`): a quarter of the memory this process may
/// use (the machine's, or its cgroup's limit when lower), at least [`MIN_CACHE_BYTES`].
///
/// The cache holds decompressed data blocks, and it fills only as blocks are read: a small
/// table never uses more than its own size. A quarter leaves the rest to the operating
/// system's page cache (which keeps the table files, compressed, and serves what the block
/// cache misses without disk I/O), to memtables and to the server, as CockroachDB's default
/// `--cache=.25` does. Why large: a read whose block is not cached costs a `pread`, a checksum
/// and possibly a decompression, 1.3–2 µs more per point read at 1,000,000 items than a cached
/// one (`examples/read_cost.rs`), and with 64 MiB nearly every read of a 10,000,000-item table
/// (2.4 GB of blocks) missed.
pub fn default_cache_bytes() -> u64 {
    memory_limit_bytes().map_or(MIN_CACHE_BYTES, |bytes| (bytes / 4).max(MIN_CACHE_BYTES))
}

/// The memory this process may use: `MemTotal` of `/proc/meminfo`, or its cgroup's memory
/// limit (v2 `memory.max`, v1 `memory.limit_in_bytes`) when lower. `None` where none of them
/// can be read (not Linux).
fn memory_limit_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib.saturating_mul(1024))
        });
    let groups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let limit = |prefix: &str, file: &str| {
        let path = groups.lines().find_map(|l| l.split_once(prefix))?.1;
        let limit =
            std::fs::read_to_string(format!("/sys/fs/cgroup{file}").replace("{}", path)).ok()?;
        limit.trim().parse::<u64>().ok()
    };
    [
        total,
        limit("0::", "{}/memory.max"),
        limit(":memory:", "/memory{}/memory.limit_in_bytes"),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// How often the settler looks at the store (see [`Settler`]).
const SETTLE_TICK: Duration = Duration::from_millis(500);

/// Ticks without a single write before the settler merges level 0 (about 2 s).
const IDLE_TICKS: u32 = 4;

/// Table size of the settler's merges. fjall's leveled compaction sizes level 1 as its table
/// size times its level-0 threshold (64 MiB × 4); the settler's strategy has a threshold of 1,
/// so its table size is 4 × 64 MiB to keep level targets where fjall's own worker puts them.
const SETTLE_TABLE_BYTES: u64 = 4 * 64 * 1024 * 1024;

/// The read-side options of a data keyspace created by this build (see the module docs).
/// The options are stored with a keyspace when it is created; keyspaces created by older builds
/// keep theirs.
///
/// Measured with `examples/read_cost.rs` (one thread, CPU time per read from the thread's
/// schedstat, 1,000,000 ~200-byte items merged into one level, block cache holding them all,
/// quiet machine, 2026-12-06): a point read 4.4 µs and a 10-item partition read 10.1 µs with
/// fjall's settings; 3.7 and 9.2 µs with whole filters and indexes; 3.3 and 8.2 µs with
/// restarts every 4 entries besides. (The same reads of a 20,000-item table: 1.35 and 5.1 µs.)
///
/// - **Filters and index blocks are not pinned** (fjall pins filters of level 0 and index
///   blocks of levels 0 and 1): they go through the block cache, loaded there right after
///   open by [`crate::warm_up`]. Pinned, fjall read them when it opened each table file, which
///   made a start-up grow with the data (10 ms at 1,000,000 items, 39 ms at 10,000,000, about
///   4.5 ms per 100 MB of table files). Keyspaces created by builds before this one pinned them
///   at every level, and keep doing so. Their memory grows with the data: about 1.3 bytes of
///   filter per key and one index entry per 4 KiB data block, under 30 MB for 10,000,000
///   ~200-byte items.
/// - **Whole, not partitioned**: fjall splits the filter and the index of files from level 3 on
///   into partitions behind a top-level index, so a point read there made three block-cache
///   lookups (filter partition, index partition, data block) instead of one.
/// - **A restart every 4 entries in data blocks** (fjall: 10 in level 0, 16 below): a point
///   read binary-searches the restart points and then decodes at most 3 prefix-truncated
///   entries instead of up to 15. The files grew by under 1% (keys of ~30 bytes, values of
///   ~200).
/// - **Compression stays fjall's**: none in levels 0 and 1, LZ4 from level 2 on (levels count
///   from the first non-empty one, so a table of a few GB is compressed from its second level
///   on). LZ4 did not slow reads down: the cache holds decompressed blocks, and a cache miss
///   read fewer bytes from the page cache (point read 5.0 µs with LZ4, 5.4 µs without, with a
///   64 MiB cache); the bench's repetitive items took a third of the space.
pub(crate) fn data_keyspace_options(options: KeyspaceCreateOptions) -> KeyspaceCreateOptions {
    options
        .filter_block_pinning_policy(PinningPolicy::all(false))
        .index_block_pinning_policy(PinningPolicy::all(false))
        .filter_block_partitioning_policy(PartitioningPolicy::all(false))
        .index_block_partitioning_policy(PartitioningPolicy::all(false))
        .data_block_restart_interval_policy(RestartIntervalPolicy::all(DATA_BLOCK_RESTART_INTERVAL))
}

/// See [`data_keyspace_options`].
const DATA_BLOCK_RESTART_INTERVAL: u8 = 4;

impl FjallStore {
    /// Merges every data keyspace's table files into one sorted run (fjall's major
    /// compaction), blocking until done. For measurements (`examples/read_cost.rs`).
    ///
    /// # Errors
    /// `Backend` if a compaction fails.
    #[doc(hidden)]
    pub fn compact_fully(&self) -> Result<(), binderdb_storage::StorageError> {
        for space in self.spaces.iter().filter_map(std::sync::OnceLock::get) {
            space.major_compact().map_err(crate::backend)?;
        }
        Ok(())
    }

    /// One line per data keyspace with table files: its levels (runs, files, bytes), then the
    /// block cache's use. For measurements (`examples/read_cost.rs`).
    #[doc(hidden)]
    pub fn read_path_summary(&self) -> String {
        let mut out = String::new();
        for (ks, space) in binderdb_storage::Keyspace::ALL
            .iter()
            .zip(&self.spaces)
            .filter_map(|(ks, s)| s.get().map(|s| (ks, s)))
        {
            let version = space.tree.current_version();
            if version.table_count() == 0 {
                continue;
            }
            out.push_str(ks.name());
            out.push(':');
            for (n, level) in version.iter_levels().enumerate() {
                let tables = level.iter().map(|run| run.len()).sum::<usize>();
                if tables == 0 {
                    continue;
                }
                let bytes: u64 = level
                    .iter()
                    .flat_map(|run| run.iter())
                    .map(|t| t.metadata.file_size)
                    .sum();
                out.push_str(&format!(
                    " L{n} {} runs {tables} files {} MB;",
                    level.run_count(),
                    bytes >> 20
                ));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "block cache {} of {} MB",
            self.db.cache_size() >> 20,
            self.db.cache_capacity() >> 20
        ));
        out
    }
}

/// Owner of the settler thread, which merges level 0 into the level below it once the store has
/// seen no writes for a while (about 2 s). Dropping it stops the thread (after the merge it may be
/// running) and joins it.
///
/// Why: fjall merges level 0 down only once it holds 4 runs, so after a load (or whenever writes
/// stop) up to 3 runs of recent writes stay in level 0 for good. With hash-ordered keys each of
/// them overlaps every key, so every point read checks their filters and every Query opens,
/// seeks and reads a data block in each of them before the one that holds the partition: on a
/// 1,000,000-item table that made a 10-item partition read cost about twice what it costs on a
/// fully merged tree (`examples/read_cost.rs`). Merging them when idle costs no write bandwidth
/// while writes run, and leaves a large table's data in the one or two levels it needs.
///
/// The merge is fjall's own leveled compaction with a level-0 threshold of 1, run on this thread
/// with a version garbage-collection watermark of 0: it drops no overwritten version (fjall's
/// next compaction of those files does), which is always safe for open snapshots; what it may
/// keep is bounded by level 0's size.
pub(crate) struct Settler {
    shared: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Settler {
    /// Starts the settler thread over `db`'s keyspaces.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(
        db: Database,
        compacting: impl Fn() -> bool + Send + 'static,
    ) -> Result<Settler, StorageError> {
        let shared = Arc::new((Mutex::new(false), Condvar::new()));
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("binderdb-settle".into())
            .spawn(move || settle_when_idle(&for_thread, &db, &compacting))?;
        Ok(Settler {
            shared,
            thread: Some(thread),
        })
    }
}

impl Drop for Settler {
    fn drop(&mut self) {
        *self.shared.0.lock() = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The settler thread's loop (see [`Settler`]).
fn settle_when_idle(shared: &(Mutex<bool>, Condvar), db: &Database, compacting: &dyn Fn() -> bool) {
    let mut last_seqno = db.seqno();
    let mut idle_ticks = 0u32;
    loop {
        {
            let mut stop = shared.0.lock();
            if !*stop {
                shared.1.wait_for(&mut stop, SETTLE_TICK);
            }
            if *stop {
                return;
            }
        }
        let seqno = db.seqno();
        if seqno != last_seqno {
            last_seqno = seqno;
            idle_ticks = 0;
            continue;
        }
        idle_ticks = idle_ticks.saturating_add(1);
        // Neither fjall's worker nor binderdb's compaction thread may be merging.
        if idle_ticks < IDLE_TICKS
            || db.outstanding_flushes() > 0
            || db.active_compactions() > 0
            || compacting()
        {
            continue;
        }
        for name in db.list_keyspace_names() {
            if *shared.0.lock() || db.seqno() != last_seqno {
                break;
            }
            // Listed, so it exists: the options are not used.
            let Ok(space) = db.keyspace(&name, KeyspaceCreateOptions::default) else {
                continue;
            };
            if space.tree.l0_run_count() == 0 || space.tree.sealed_memtable_count() > 0 {
                continue;
            }
            let strategy = fjall::compaction::Leveled::default()
                .with_l0_threshold(1)
                .with_table_target_size(SETTLE_TABLE_BYTES);
            if let Err(e) = space.tree.compact(Arc::new(strategy), 0) {
                tracing::warn!(error = %e, keyspace = %&*name, "merging level 0 failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use binderdb_storage::conformance::{key, put};
    use binderdb_storage::{Batch, Keyspace, Store, Write};

    use super::*;

    /// Runs left in level 0 when writes stop are merged into the level below by the settler,
    /// and every read then finds what it found before (the newest version, deletions kept).
    #[test]
    fn an_idle_store_merges_level_0_down() {
        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(dir.path()).unwrap();
        let k = |i: u32| key(Keyspace::Items, 3, &i.to_be_bytes(), b"");
        for round in 0..3u32 {
            let writes = (0..500u32)
                .map(|i| Write::Put {
                    key: k(i),
                    value: vec![u8::try_from(round).unwrap(); 100],
                })
                .collect();
            store
                .commit(Batch {
                    writes,
                    guards: vec![],
                })
                .unwrap();
            if round == 2 {
                store
                    .commit(Batch {
                        writes: vec![Write::Delete { key: k(7) }],
                        guards: vec![],
                    })
                    .unwrap();
            }
            store
                .space(Keyspace::Items)
                .unwrap()
                .rotate_memtable_and_wait()
                .unwrap();
        }
        let items = store.space(Keyspace::Items).unwrap();
        // Below fjall's own threshold (4 runs): without the settler they would stay. (fjall
        // moves the first flush of an empty tree to the last level as it is.)
        assert!(
            items.tree.l0_run_count() >= 2,
            "{}",
            store.read_path_summary()
        );
        for _ in 0..600 {
            if items.tree.l0_run_count() == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(
            items.tree.l0_run_count(),
            0,
            "{}",
            store.read_path_summary()
        );
        assert!(items.tree.current_version().table_count() > 0);
        assert_eq!(store.get(&k(7)).unwrap(), None);
        for i in [0, 6, 8, 499] {
            assert_eq!(store.get(&k(i)).unwrap().unwrap().value, vec![2u8; 100]);
        }
        // Writes go on as before.
        put(&store, &k(7), b"back");
        assert_eq!(store.get(&k(7)).unwrap().unwrap().value, b"back");
    }

    #[test]
    fn the_default_cache_is_a_quarter_of_memory() {
        let memory = memory_limit_bytes().expect("Linux reports its memory");
        assert_eq!(default_cache_bytes(), (memory / 4).max(MIN_CACHE_BYTES));
        let total_kib: u64 = std::fs::read_to_string("/proc/meminfo")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap();
        assert!(memory <= total_kib * 1024);
    }
}
