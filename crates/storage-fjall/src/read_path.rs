//! The read path's settings: block cache, filters, index blocks, data blocks, compression and
//! compaction shape of the data keyspaces, and a summary of them for measurements; and the
//! settler, which, while the store is idle, merges level 0 down, merges the runs below it into
//! one (so a Query reads one run, see [`merge_runs_when_idle`]) and warms the block cache.
//!
//! Kept apart from the write path (commits, the write-ahead log, memtables) so that the two
//! can change independently; [`data_keyspace_options`] is the one place a data keyspace's
//! read-side options are chosen.
//!
//! **What an uncached read reads from the disk** (`strace -c -e pread64` of the server and
//! its `/proc/<pid>/io` during `scripts/measure-uncached-reads 1000000 --cache 16`'s reads
//! with the page cache dropped every 20 ms, main's build, 2026-12-06): a GetItem 0.87
//! `pread`s and 7.3 KB read from the disk, a Query (10 items) 1.51 `pread`s and 16.6 KB. So the
//! filter and index partitions stay in even a 16 MiB block cache (a 1,000,000-item table's are
//! about 4 MB, and each is used by a hundred data blocks' reads), and what goes to the disk is
//! the data block: one per GetItem (two pages when it straddles a page boundary), one or two
//! per Query (a 10-item partition spans two 4 KiB blocks about half the time). Item operations
//! ran inline on the server's runtime threads (one per core), so on 2 cores at most two such
//! reads waited for the disk at a time, and the other requests queued behind them: sampling
//! `/sys/block/vda/inflight` during those reads (2026-12-07) found no read in flight 66% of the
//! time, one 29%, two 4%, never more, with 150 µs per read at the disk. So the server now moves
//! the reads of an operation whose recent reads are slow to a bounded blocking pool, where they
//! wait for the disk side by side, and keeps them inline while they are fast (the server's
//! `dispatch.rs`, with its figures). One round with `TOKIO_WORKER_THREADS=8` against the default,
//! on a loaded machine (load average 7–15), had measured uncached GetItem at 6,144 against 4,626
//! ops/s (p99 28 against 68 ms) and Query at 3,170 against 3,017 (p99 101 against 150 ms), and
//! one more on 2026-12-07 at 7,261 against 5,539 and 4,892 against 3,821: more workers help too,
//! but every request, also one that never misses, would share the cores with them (not measured
//! further).
//!
//! **Tried and not kept: reading a Query's far end beside it** (2026-12-08). A 10-item
//! partition lies across two data blocks about half the time, and a walk loads the second only
//! once it has used up the first, so the idea was that half the uncached Queries wait for two
//! disk reads in a row. A build handed each Query's walk, while walks' first steps were slow,
//! one step of a second iterator over the same range from the other end to a pool of 16
//! threads (lsm-tree's table iterators load the low and the high data block lazily, each on
//! the first step from its side, so that step loads exactly the block the walk ends in), so
//! that both blocks were read at once. Measured with `scripts/measure-uncached-reads 10000000
//! --memory-limit 256 --duration 4 --settle 30 --reuse DIR --skip-kept`, four pairs alternated
//! with main's build on an idle machine: Query p99 6.67 / 6.07 / 6.24 / 5.39 ms against 6.17 /
//! 5.15 / 4.75 / 4.63, throughput 9,890–12,001 against 11,706–13,821 ops/s (worse in every
//! pair; GetItem, which it does not touch, the same). The premise does not hold at 32
//! connections: a Query's p50 is 2.2–2.5 ms against 150–250 µs per disk read, so its latency
//! is queueing, not serial reads, and the hand-offs cost CPU on top (what the queue waits for:
//! the next paragraph).
//!
//! **What the uncached Query's p99 is made of, then** (the same command, main's build, 5 s of
//! `perf record -a -g` during its Query phase, and `vmstat`): the two cores are busy (idle
//! 2–4%, half of it in the kernel), the server takes 85% of the samples and the bench client
//! 10%, so about 130 µs of server CPU per uncached Query against about 35 µs cached. Of all
//! samples, `pread` is 28% (the virtio notification `iowrite16`, a VM exit per request,
//! 10.8%; the memory cgroup's charge and reclaim 4.3%; the kernel's readahead path 8.9%), the
//! blocking pool's wake-ups and sleeps (futex, `finish_task_switch`) about 10%, and the
//! responses' socket writes 6%. So at 32 connections the p99 (4.6–5.6 ms in these runs) is
//! CPU time queued on two cores, and most of that CPU is the kernel's and the hypervisor's.
//! The readahead does read more than needed: the development VM's disk has `read_ahead_kb`
//! 8192, and a miss next to cached pages looks sequential to the kernel. Tried
//! (2026-12-08): `posix_fadvise(POSIX_FADV_RANDOM)` on every table file's descriptor (opened
//! by binderdb and put in lsm-tree's descriptor table): a Query read 9.7 KB from the disk
//! instead of 17.4 KB, but in four alternated pairs its throughput (12,421–14,184 against
//! 12,202–14,014 ops/s) and p99 (5.22 / 4.98 / 4.42 / 5.02 against 5.58 / 4.86 / 4.47 / 5.26
//! ms) did not move beyond the noise, and the advice would take readahead from Scans, which
//! read blocks in file order through the same descriptors. Not kept.

use std::sync::Arc;
use std::time::Duration;

use binderdb_storage::StorageError;
use fjall::config::{PartitioningPolicy, PinningPolicy, RestartIntervalPolicy};
use fjall::{AbstractTree, Database, KeyspaceCreateOptions};

use crate::worker::{Signal, Worker};
use crate::writeback::Jobs;
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
///   blocks of levels 0 and 1): they go through the block cache, loaded there on first use
///   (and partly by [`crate::warm_up`]). Pinned, fjall read them when it opened each table file, which
///   made a start-up grow with the data (10 ms at 1,000,000 items, 39 ms at 10,000,000, about
///   4.5 ms per 100 MB of table files). Keyspaces created by builds before this one pinned them
///   at every level, and keep doing so. Their memory grows with the data: about 1.3 bytes of
///   filter per key and one index entry per 4 KiB data block, under 30 MB for 10,000,000
///   ~200-byte items.
/// - **Partitioned at every level** (fjall: from level 3 on): a file's filter and index are
///   split into blocks of about 4 KiB behind a small top-level index, which fjall reads when it
///   opens the file and keeps. Unpinned *whole* blocks (the choice of the build before this
///   one) were as large as a file's whole filter or index, about 1.3 MB and 2.4 MB for a file
///   of 1,000,000 ~200-byte items, and the block cache's shards (8 on 2 cores, 4 per core)
///   refuse an entry larger than 80% of a shard: with `--cache-size 16` (2 MiB shards) every
///   read loaded and parsed the whole index block from the file again, and uncached GetItem
///   and Query fell from 13,292 and 8,458 ops/s (whole blocks pinned) to 1,200–2,300;
///   partitioned, 13,757 and 11,155 ops/s with p99 4.33 and 5.04 ms on the quietest of three
///   runs, 6,000–10,500 ops/s with p99 10–15 ms on the two others (the disk is shared)
///   (`scripts/measure-uncached-reads 1000000 --cache 16`, see the README's scale section). On a machine with many
///   cores (a shard per core × 4) a default-sized cache would refuse them too. Partitions fit
///   any cache, and only the parts of a filter and an index that reads touch are loaded. A
///   point read makes two more block-cache lookups than with pinned whole blocks (filter
///   partition, index partition): 4.4 against 3.7 µs at 1,000,000 items in the measurement
///   above, about 3% of a GetItem's server CPU.
/// - **Except level 0's filters: whole and pinned.** Level 0 holds the memtables just flushed
///   (each at most about a log segment's worth of writes, see [`crate::log_bound`]), and every
///   point read checks the filter of each of its runs; a BatchWriteItem reads every item it
///   writes (twice when this was measured: the plan and the commit's guard; once since
///   [`binderdb_storage::Store::read_modify_write_many`]), and in a bulk load of new items
///   nearly all of these reads miss, so they cost the filters of every run. Partitioned, each check
///   was a seek in the file's top-level filter index and a block-cache lookup before the
///   filter itself: `perf` of a 16,000,000-item BatchWriteItem load (2026-12-06) put those
///   two at 13% of the server's CPU and the filter probes at 5%, over the files of every level
///   (level 0 holds up to [`crate::compactor::L0_TRIGGER`] of the runs a read checks while
///   compactions keep up, the levels below up to 6). A pinned whole filter is checked
///   directly. What it keeps in memory and reads at open is bounded by level 0's size
///   (at most [`crate::pacing::MAX_L0_RUNS`] runs of one flush each, about 1.3 bytes per key),
///   not by the data; merged runs are partitioned and unpinned as above.
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
        .filter_block_pinning_policy(PinningPolicy::new([true, false]))
        .index_block_pinning_policy(PinningPolicy::all(false))
        .filter_block_partitioning_policy(PartitioningPolicy::new([false, true]))
        .index_block_partitioning_policy(PartitioningPolicy::all(true))
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
    _worker: Worker<()>,
}

impl Settler {
    /// Starts the settler thread over `db`'s keyspaces.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(
        db: Database,
        compacting: impl Fn() -> bool + Send + 'static,
        jobs: Jobs,
    ) -> Result<Settler, StorageError> {
        let worker = Worker::start("binderdb-settle", (), move |signal| {
            settle_when_idle(signal, &db, &compacting, &jobs);
        })?;
        Ok(Settler { _worker: worker })
    }
}

/// The settler thread's loop (see [`Settler`]).
fn settle_when_idle(
    signal: &Signal<()>,
    db: &Database,
    compacting: &dyn Fn() -> bool,
    jobs: &Jobs,
) {
    let mut last_seqno = db.seqno();
    let mut idle_ticks = 0u32;
    let mut warmer = CacheWarmer::default();
    loop {
        {
            let mut control = signal.lock();
            if !control.stop {
                signal.wait(&mut control, Some(SETTLE_TICK));
            }
            if control.stop {
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
            if signal.stopping() || db.seqno() != last_seqno {
                break;
            }
            // Listed, so it exists: the options are not used.
            let Ok(space) = db.keyspace(&name, KeyspaceCreateOptions::default) else {
                continue;
            };
            if space.tree.sealed_memtable_count() > 0 {
                continue;
            }
            if space.tree.l0_run_count() == 0 {
                merge_runs_when_idle(db, &space, &name, jobs);
                continue;
            }
            let strategy = fjall::compaction::Leveled::default()
                .with_l0_threshold(1)
                .with_table_target_size(SETTLE_TABLE_BYTES);
            let _job = jobs.begin();
            if let Err(e) = space.tree.compact(Arc::new(strategy), 0) {
                tracing::warn!(error = %e, keyspace = %&*name, "merging level 0 failed");
            }
        }
        warmer.warm(db, &|| signal.stopping() || db.seqno() != last_seqno);
    }
}

/// A run is merged into the last run of its tree when idle once it holds at least
/// 1/`SETTLE_MERGE_SHARE` of the last run's data (see [`merge_runs_when_idle`]).
const SETTLE_MERGE_SHARE: u64 = 16;

/// One step towards a tree of a single sorted run below level 0, made by the settler once the
/// store is idle and level 0 is empty: the two lowest runs above the last one are merged, or,
/// when only one is left above it, that run into the last one if it holds at least
/// 1/[`SETTLE_MERGE_SHARE`] of the last one's data blocks.
///
/// Why: a point read checks each run's filter and reads one of them, but a partition read
/// (Query) cannot skip a run (lsm-tree 3.1 has no prefix filters): it opens an iterator in
/// each, binary-searches its index and loads a data block, so its cost grows with the runs a
/// settled table keeps. The size-tiered compaction ([`crate::compactor`]) leaves up to six runs
/// after a load, and data directories of older builds two (a level holding a ninth of the
/// data above the last). With a single run a Query at 10,000,000 items reads one index and
/// one data block, as at 20,000 items; uncached, it reads one block from the disk instead of
/// one per run.
///
/// What it costs: merging into the last run rewrites it, so the share keeps a table that
/// keeps growing between idle moments from being rewritten for every small run: the last run
/// is rewritten at most once per 1/16 of growth (a write amplification of 16 at most, on
/// idle time). A run under that share stays until more writes join it. Merges above the last
/// run rewrite only those runs. The merge is lsm-tree's `PullDown` with the snapshot
/// watermark, as [`crate::compactor`]'s merges: overwritten versions no open snapshot can see
/// are dropped, and tombstones once they reach the last level. It cannot be interrupted: a
/// write arriving meanwhile goes to the memtable, and the compaction threads merge level 0
/// into the levels this merge does not hold (lsm-tree refuses a step on tables another
/// compaction holds). Measured after a 10,000,000-item load (`binderdb bench` preload, 2026-12-06,
/// busy 2-core VM): the compaction threads left three runs (levels 4, 5 and 6); once idle, the
/// settler merged 4 into 5 in 1.4 s and 5 into 6 in 5.4 s, leaving one run of 5 files (299 MB on
/// disk). Read throughput: the README's scale section.
fn merge_runs_when_idle(db: &Database, space: &fjall::Keyspace, name: &str, jobs: &Jobs) {
    let version = space.tree.current_version();
    // (level, data blocks) of each non-empty level below level 0, top to bottom.
    let runs: Vec<(usize, u64)> = version
        .iter_levels()
        .enumerate()
        .skip(1)
        .filter_map(|(n, level)| {
            let blocks: u64 = level
                .iter()
                .flat_map(|run| run.iter())
                .map(|t| t.metadata.data_block_count)
                .sum();
            (level.table_count() > 0).then_some((n, blocks))
        })
        .collect();
    let Some((upper, lower)) = settle_step(&runs) else {
        return;
    };
    let level = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
    let strategy = Arc::new(lsm_tree::compaction::PullDown(level(upper), level(lower)));
    let watermark = db.supervisor.snapshot_tracker.get_seqno_safe_to_gc();
    let started = std::time::Instant::now();
    let _job = jobs.begin();
    match space.tree.compact(strategy, watermark) {
        Ok(()) => tracing::info!(
            keyspace = name,
            upper,
            lower,
            took_ms = started.elapsed().as_millis(),
            runs_left = runs.len() - 1,
            "merged two runs while idle"
        ),
        Err(e) => tracing::warn!(error = %e, keyspace = name, "merging runs failed"),
    }
}

/// The settler's next merge (upper level, lower level) for a tree whose runs below level 0 are
/// `runs` (level, data blocks), top to bottom; see [`merge_runs_when_idle`].
fn settle_step(runs: &[(usize, u64)]) -> Option<(usize, usize)> {
    match runs {
        [.., (upper, _), (lower, _), _] => Some((*upper, *lower)),
        [(upper, above), (lower, below)] if above.saturating_mul(SETTLE_MERGE_SHARE) >= *below => {
            Some((*upper, *lower))
        }
        _ => None,
    }
}

/// Estimated bytes of one data block once decompressed: fjall's data block size (4 KiB, kept
/// by [`data_keyspace_options`]).
const DATA_BLOCK_BYTES: u64 = 4096;

/// The share of the block cache that warming may fill (see [`CacheWarmer`]): the rest stays
/// free for the blocks reads bring in themselves.
const WARM_CACHE_SHARE: u64 = 2;

/// Items a warming pass reads between two looks at whether it must stop.
const WARM_CHECK_EVERY: usize = 4096;

/// Loads the data blocks of table files into the block cache while the store is idle, so
/// that reads of a table that fits in the cache find their blocks there from the start
/// instead of paying a `pread`, a checksum, a decompression and a cache insertion each, one
/// block at a time, for as long as it takes random reads to touch every block once.
///
/// Why: fjall's cache fills only as reads miss, and every file a compaction writes starts
/// cold, so after a bulk load (or a restart) a 10,000,000-item table is read through misses
/// until random reads have touched every block once: three 5-second rounds of reads right
/// after a restart measured GetItem at 48, 68 and 87% of its 20,000-item rate and 59, 71 and
/// 80% in another run (main's build, 2026-12-06). A miss served from the page cache cost 3.2
/// µs more store CPU per point read and 1.7 µs more per partition read at 1,000,000 items
/// (`examples/read_cost.rs`, 16 MiB cache against 6 GiB: 6.8 against 3.6 µs, 10.7 against 9.0
/// µs); in the server, `perf` of cold GetItems showed the `pread` copies, page faults of the
/// cache's new memory, zeroed allocations, LZ4 and cache insertions besides.
///
/// What it warms: every table file of every data keyspace not warmed yet, newest level first, as
/// long as the cache would then hold at most 1/[`WARM_CACHE_SHARE`] of its capacity (each
/// file's size estimated from its data block count), so a table larger than the cache is left
/// to the cache's own eviction as before; what does not fit is skipped. A file is read through
/// fjall's own table iterator, which loads each data block once through the cache; the pass
/// stops as soon as a write arrives or the store closes, and goes on at the next idle moment.
/// Cost: once per table file written, the file read and decompressed into the cache: at
/// 10,000,000 ~200-byte items (8 files, 2.4 GB of decompressed blocks) 17 s of wall time on
/// the shared, busy 2-core VM, 2026-12-06, while reads ran. The cache's memory is then in
/// use at once (server RSS 3.0 GB after the reads, against 0.9–1.4 GB when only reads fill
/// it), within `--cache-size`.
///
/// Measured (`scripts/scale-bench --reads-only DIR --read-settle 10 --duration 4`, copies of
/// one settled 10,000,000-item directory, this build and main's alternated, 2026-12-06,
/// machine very noisy: the 20,000-item baselines ranged from 18,000 to 57,000 GetItem/s):
/// GetItem's first round at 94, 57 and 75% of the 20,000-item rate against 59, 90, 30 and
/// 62% without warming; Query's first round 77, 71 and 97% against 65, 75, 77 and 71%.
///
/// The budget counts the blocks of the live table files it warmed, not the cache's use: after
/// a merge the cache still holds the blocks of the files merged away until its eviction
/// drops them, and counting those would keep the merged files cold.
#[derive(Default)]
struct CacheWarmer {
    /// Table files already read, by keyspace name and table id (pruned to the live ones), with
    /// their estimated bytes in the cache.
    warmed: std::collections::HashMap<(String, u64), u64>,
}

impl CacheWarmer {
    /// One warming pass over `db`'s keyspaces; `interrupted` says when to stop.
    fn warm(&mut self, db: &Database, interrupted: &dyn Fn() -> bool) {
        let budget = db.cache_capacity() / WARM_CACHE_SHARE;
        let started = std::time::Instant::now();
        let (cached_before, mut files) = (db.cache_size(), 0u32);
        // The data keyspaces' table files, newest level first (the others are read at
        // start-up, if at all).
        let mut tables = Vec::new();
        for name in binderdb_storage::Keyspace::ALL.iter().map(|ks| ks.name()) {
            if !db.keyspace_exists(name) {
                continue;
            }
            let Ok(space) = db.keyspace(name, KeyspaceCreateOptions::default) else {
                continue;
            };
            let version = space.tree.current_version();
            tables.extend(
                version
                    .iter_levels()
                    .flat_map(|level| level.iter())
                    .flat_map(|run| run.iter())
                    .map(|table| ((name.to_string(), table.id()), table.clone())),
            );
        }
        let live: std::collections::HashSet<_> = tables.iter().map(|(id, _)| id).collect();
        self.warmed.retain(|id, _| live.contains(id));
        let mut warm_bytes: u64 = self.warmed.values().sum();
        for (id, table) in tables {
            if self.warmed.contains_key(&id) || interrupted() {
                continue;
            }
            let estimate = table.metadata.data_block_count * DATA_BLOCK_BYTES;
            if warm_bytes.saturating_add(estimate) > budget {
                continue;
            }
            if warm_table(table.iter(), interrupted) {
                self.warmed.insert(id, estimate);
                warm_bytes += estimate;
                files += 1;
            }
        }
        if files > 0 {
            tracing::info!(
                files,
                cached_mb = db.cache_size().saturating_sub(cached_before) >> 20,
                took_ms = started.elapsed().as_millis(),
                "warmed the block cache"
            );
        }
    }
}

/// Reads every item of a table file (its iterator, which loads each data block through the
/// block cache); false if `interrupted` (or a read failed: a later pass tries again, and reads
/// report the error themselves).
fn warm_table<T, E>(
    items: impl Iterator<Item = Result<T, E>>,
    interrupted: &dyn Fn() -> bool,
) -> bool {
    for (n, item) in items.enumerate() {
        if item.is_err() || (n % WARM_CHECK_EVERY == 0 && interrupted()) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use binderdb_storage::conformance::{key, put};
    use binderdb_storage::{Batch, Keyspace, Store, Write};

    use super::*;
    use crate::tests::wait_until;

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

    /// Table files written while the store was busy are loaded into the block cache once it is
    /// idle, without a single read (fjall's cache otherwise fills only as reads miss), and
    /// reads then find what was written; a table larger than half the cache is left alone.
    #[test]
    fn an_idle_store_warms_the_block_cache_with_what_fits() {
        let k = |i: u32| {
            key(
                Keyspace::Items,
                3,
                &(i / 10).to_be_bytes(),
                &i.to_be_bytes(),
            )
        };
        let write_and_flush = |store: &FjallStore| {
            for chunk in 0..20u32 {
                let writes = (chunk * 250..(chunk + 1) * 250)
                    .map(|i| Write::Put {
                        key: k(i),
                        value: i.to_be_bytes().repeat(50),
                    })
                    .collect();
                store
                    .commit(Batch {
                        writes,
                        guards: vec![],
                    })
                    .unwrap();
            }
            let items = store.space(Keyspace::Items).unwrap();
            items.rotate_memtable_and_wait().unwrap();
            // binderdb's flush thread may hold the sealed memtable while fjall's flush returns.
            assert!(wait_until(|| items.tree.current_version().table_count() > 0));
        };
        // 5,000 items of ~220 bytes: about 1.1 MB of data blocks.
        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(dir.path()).unwrap();
        write_and_flush(&store);
        assert!(
            wait_until(|| store.db.cache_size() >= 1 << 20),
            "cache holds {} bytes; {}",
            store.db.cache_size(),
            store.read_path_summary()
        );
        for i in [0, 1, 2_499, 4_999] {
            assert_eq!(
                store.get(&k(i)).unwrap().unwrap().value,
                i.to_be_bytes().repeat(50)
            );
        }
        let mut partition = Vec::new();
        let range = binderdb_storage::PartitionRange {
            keyspace: Keyspace::Items,
            table: 3,
            partition: &42u32.to_be_bytes(),
            lower: std::ops::Bound::Unbounded,
            upper: std::ops::Bound::Unbounded,
            reverse: false,
        };
        store
            .range(&range, &mut |e| {
                partition.push(e.sort.to_vec());
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        let expected: Vec<Vec<u8>> = (420..430u32).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(partition, expected);
        drop(store);

        // The same data with a 1 MiB cache: over half of it, so the cache stays empty until
        // something is read (the idle store merges its level 0 meanwhile: waiting for that
        // shows the settler has had its idle moments).
        let dir = tempfile::tempdir().unwrap();
        let options = crate::FjallOptions {
            cache_bytes: 1 << 20,
            ..crate::FjallOptions::default()
        };
        let store = FjallStore::open_with(dir.path(), &options).unwrap();
        write_and_flush(&store);
        write_and_flush(&store);
        let items = store.space(Keyspace::Items).unwrap();
        assert!(wait_until(|| items.tree.l0_run_count() == 0));
        std::thread::sleep(SETTLE_TICK * 2);
        assert_eq!(store.db.cache_size(), 0, "{}", store.read_path_summary());
        assert!(store.get(&k(7)).unwrap().is_some());
        assert!(store.db.cache_size() > 0);
    }

    /// Runs above the last are merged pairwise from the bottom up, and into the last run once
    /// they hold a sixteenth of it.
    #[test]
    fn the_settler_merges_runs_down_to_one() {
        assert_eq!(settle_step(&[]), None);
        assert_eq!(settle_step(&[(6, 1000)]), None);
        assert_eq!(settle_step(&[(5, 100), (6, 1000)]), Some((5, 6)));
        assert_eq!(settle_step(&[(5, 63), (6, 1000)]), Some((5, 6)));
        assert_eq!(settle_step(&[(5, 62), (6, 1000)]), None);
        assert_eq!(settle_step(&[(2, 1), (4, 5), (6, 1000)]), Some((2, 4)));
        assert_eq!(
            settle_step(&[(1, 1), (2, 1), (4, 500), (6, 1000)]),
            Some((2, 4))
        );
    }

    /// Writes separated by idle moments leave one run below level 0 once the store is idle,
    /// and every partition read (forward, backward, with bounds) and point read finds exactly
    /// what was written: the newest version of each item, deleted items gone.
    #[test]
    fn an_idle_store_settles_into_one_run_and_reads_the_same() {
        use std::collections::BTreeMap;
        use std::ops::Bound;

        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(dir.path()).unwrap();
        let k = |p: u32, s: u32| key(Keyspace::Items, 3, &p.to_be_bytes(), &s.to_be_bytes());
        let mut oracle: BTreeMap<(u32, u32), Vec<u8>> = BTreeMap::new();
        let runs_below_0 = |items: &fjall::Keyspace| {
            items
                .tree
                .current_version()
                .iter_levels()
                .skip(1)
                .filter(|level| level.table_count() > 0)
                .count()
        };
        for round in 0..5u32 {
            let mut writes = Vec::new();
            // A large first run, then four small ones: the compaction threads merge the small
            // ones into one run above the first, too small for their own ratio to merge it
            // into the first (a tenth of it), large enough for the settler's.
            for i in 0..if round == 0 { 10_000 } else { 250 } {
                let (p, s) = (i % 50, i / 50 + round * 7);
                let value = format!("{round}-{i}").into_bytes();
                oracle.insert((p, s), value.clone());
                writes.push(Write::Put {
                    key: k(p, s),
                    value,
                });
            }
            if round == 4 {
                for s in 0..20 {
                    oracle.remove(&(9, s));
                    writes.push(Write::Delete { key: k(9, s) });
                }
            }
            store
                .commit(Batch {
                    writes,
                    guards: vec![],
                })
                .unwrap();
            let items = store.space(Keyspace::Items).unwrap();
            items.rotate_memtable_and_wait().unwrap();
            if round == 0 {
                // The first run settles in the last level; the next four, flushed one after
                // the other, are merged by the compaction threads into a run above it.
                assert!(wait_until(|| items.tree.sealed_memtable_count() == 0
                    && items.tree.l0_run_count() == 0
                    && items.tree.current_version().table_count() > 0));
            }
        }
        let items = store.space(Keyspace::Items).unwrap();
        assert!(
            wait_until(|| items.tree.sealed_memtable_count() == 0
                && items.tree.l0_run_count() == 0
                && runs_below_0(items) == 1),
            "{}",
            store.read_path_summary()
        );
        for p in 0..50u32 {
            let want: Vec<(Vec<u8>, Vec<u8>)> = oracle
                .range((p, 0)..(p, u32::MAX))
                .map(|((_, s), v)| (s.to_be_bytes().to_vec(), v.clone()))
                .collect();
            for reverse in [false, true] {
                let mut got = Vec::new();
                let range = binderdb_storage::PartitionRange {
                    keyspace: Keyspace::Items,
                    table: 3,
                    partition: &p.to_be_bytes(),
                    lower: Bound::Excluded(&3u32.to_be_bytes()),
                    upper: Bound::Included(&30u32.to_be_bytes()),
                    reverse,
                };
                store
                    .range(&range, &mut |e| {
                        got.push((e.sort.to_vec(), e.value.to_vec()));
                        std::ops::ControlFlow::Continue(())
                    })
                    .unwrap();
                if reverse {
                    got.reverse();
                }
                let bounded: Vec<_> = want
                    .iter()
                    .filter(|(s, _)| s.as_slice() > &3u32.to_be_bytes()[..])
                    .filter(|(s, _)| s.as_slice() <= &30u32.to_be_bytes()[..])
                    .cloned()
                    .collect();
                assert_eq!(got, bounded, "partition {p}, reverse {reverse}");
            }
        }
        for ((p, s), v) in oracle.iter().step_by(7) {
            assert_eq!(&store.get(&k(*p, *s)).unwrap().unwrap().value, v);
        }
        assert_eq!(store.get(&k(9, 0)).unwrap(), None);
    }

    /// Bytes this thread has read with `read`/`pread` so far (Linux's per-thread I/O
    /// accounting), whether the page cache served them or the disk.
    fn thread_read_bytes() -> u64 {
        std::fs::read_to_string("/proc/thread-self/io")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("rchar:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    }

    /// Through a block cache far smaller than the table, a point read loads a few small blocks
    /// (a filter partition, an index partition, a data block), never a whole filter or index
    /// block of the file: the cache's shards refuse entries that large, so an unpartitioned,
    /// unpinned index was read from the file again by every read.
    #[test]
    fn reads_through_a_small_cache_load_small_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let options = crate::FjallOptions {
            cache_bytes: 512 << 10,
            ..crate::FjallOptions::default()
        };
        let store = FjallStore::open_with(dir.path(), &options).unwrap();
        let k = |i: u32| {
            key(
                Keyspace::Items,
                3,
                &(i / 10).to_be_bytes(),
                &i.to_be_bytes(),
            )
        };
        for chunk in 0..100u32 {
            let writes = (chunk * 1_000..(chunk + 1) * 1_000)
                .map(|i| Write::Put {
                    key: k(i),
                    value: i.to_le_bytes().repeat(50),
                })
                .collect();
            store
                .commit(Batch {
                    writes,
                    guards: vec![],
                })
                .unwrap();
        }
        store.flush_memtables().unwrap();
        let items = store.space(Keyspace::Items).unwrap();
        assert!(wait_until(|| items.tree.sealed_memtable_count() == 0
            && items.tree.current_version().table_count() > 0));
        // About 100,000 × 230 bytes: 5,600 data blocks, an index of ~200 KB if whole.
        let before = thread_read_bytes();
        let reads = 200u32;
        for n in 0..reads {
            let i = n.wrapping_mul(7_919) % 100_000;
            let got = store.get(&k(i)).unwrap().unwrap();
            assert_eq!(got.value, i.to_le_bytes().repeat(50));
        }
        let per_read = (thread_read_bytes() - before) / u64::from(reads);
        assert!(per_read < 32 << 10, "{per_read} bytes read per point read");
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
