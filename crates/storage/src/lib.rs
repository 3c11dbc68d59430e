//! binderdb storage contract: a partition-aware ordered byte store with guarded atomic commits.
//!
//! The engine talks to storage only through the [`Store`] trait. A store knows keys
//! ([`Key`]: keyspace, table id, partition bytes, sort bytes), versions and bytes; it never sees
//! expressions, attribute values or index definitions, and this crate must not depend on any
//! other binderdb crate.
//!
//! Key types:
//! - [`Store`]: point reads, ordered partition ranges, hash-segment scans, guarded atomic
//!   commits and latched read-modify-write, of one key or of several at once
//!   ([`Store::read_modify_write_many`]).
//! - [`MemoryStore`]: the in-memory engine (tests, `--in-memory`).
//! - [`durable`]: waiting (blocking or async) until commits are on stable storage, which is
//!   separate from committing so a server can acknowledge writes without parking threads.
//! - [`codec`]: the physical key / value encoding shared by every engine, so all engines agree
//!   on storage order.
//! - [`counters`]: entry counts and sizes of tables and indexes ([`Write::Count`]), kept in the
//!   same atomic commit as the data, so statistics cost O(1) to read and never drift.
//! - [`conformance`]: one suite every engine must pass.
//! - [`metrics`]: what a store reports about itself ([`Store::metrics`]), the lock-free
//!   latency histogram used for it, and [`metrics::Sharded`] counters (one copy per thread
//!   shard, summed when read) for counts every request makes.
//! - [`partition_hash`] / [`segment_bounds`]: the fixed hash that orders a Scan and defines
//!   parallel-scan segments.
//! - [`CheckpointRecord`] / [`Store::checkpoint`]: everything a store holds, from one
//!   consistent snapshot, for a copy of the whole store (`binderdb backup --to DIR`).
//! - [`Store::shared`], [`Store::announce`] / [`Store::subscribe`], [`Store::lease`]: what
//!   several processes sharing one store (binderdb nodes on one RADOS pool) coordinate through
//!   the store itself: cache invalidations and background work done by one process at a time.
//!   The engines of one process keep the trivial defaults.
//! - `testing` (feature `testing`, for tests only): one delegating store whose hooks change
//!   the few calls a test cares about.

use std::ops::{Bound, ControlFlow};

pub mod codec;
pub mod conformance;
pub mod counters;
mod durable;
pub mod latch;
mod memory;
pub mod metrics;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use counters::{CounterId, Counts};
pub use durable::{durable, Durable};
pub use memory::MemoryStore;
pub use metrics::{HistogramSnapshot, LatencyHistogram, StoreMetrics};

/// Identifier of a table. Table ids are never reused, so a dropped table's ranges can be
/// removed lazily.
pub type TableId = u64;

/// The kind of record a key belongs to. Each kind lives in its own ordered space, so records of
/// different kinds never interleave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Keyspace {
    /// Table descriptors.
    Catalog = 0,
    /// Base-table items.
    Items = 1,
    /// Local secondary index entries.
    Lsi = 2,
    /// Global secondary index entries.
    Gsi = 3,
    /// Stream records.
    Stream = 4,
    /// Time-to-live entries.
    Ttl = 5,
}

impl Keyspace {
    /// Every keyspace, in tag order.
    pub const ALL: [Keyspace; 6] = [
        Keyspace::Catalog,
        Keyspace::Items,
        Keyspace::Lsi,
        Keyspace::Gsi,
        Keyspace::Stream,
        Keyspace::Ttl,
    ];

    /// Position of this keyspace in [`Keyspace::ALL`] (equal to its tag).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Stable lowercase name (used e.g. as the fjall keyspace name).
    pub fn name(self) -> &'static str {
        match self {
            Keyspace::Catalog => "catalog",
            Keyspace::Items => "items",
            Keyspace::Lsi => "lsi",
            Keyspace::Gsi => "gsi",
            Keyspace::Stream => "stream",
            Keyspace::Ttl => "ttl",
        }
    }
}

/// A logical key. The store always knows which partition a key belongs to.
///
/// `sort` bytes are compared as raw bytes; the caller encodes them order-preservingly.
/// `partition` must be at most [`codec::MAX_PARTITION_LEN`] bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// Which kind of record.
    pub keyspace: Keyspace,
    /// Owning table.
    pub table: TableId,
    /// Partition bytes (hashed with [`partition_hash`]).
    pub partition: Vec<u8>,
    /// Sort bytes, ordered bytewise within the partition.
    pub sort: Vec<u8>,
}

/// A stored value and the version of the commit that wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    /// Version of the commit that last wrote this key.
    pub version: u64,
    /// The stored bytes.
    pub value: Vec<u8>,
}

/// One entry visited by [`Store::range`] or [`Store::scan`]; borrowed from the store's snapshot
/// for the duration of the visit.
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    /// Partition bytes of the entry.
    pub partition: &'a [u8],
    /// Sort bytes of the entry.
    pub sort: &'a [u8],
    /// Version of the commit that last wrote the entry.
    pub version: u64,
    /// The stored bytes.
    pub value: &'a [u8],
}

/// One write of a [`Batch`].
#[derive(Clone, Debug)]
pub enum Write {
    /// Insert or overwrite `key` with `value`.
    Put {
        /// Key to write.
        key: Key,
        /// New value.
        value: Vec<u8>,
    },
    /// Remove `key` (no-op if absent).
    Delete {
        /// Key to remove.
        key: Key,
    },
    /// Add `delta` to `counter`, atomically with the rest of the batch (see [`counters`]).
    /// Ignored while the counter is unknown (never set, or being recounted).
    Count {
        /// The counter changed.
        counter: CounterId,
        /// What to add.
        delta: Counts,
    },
    /// Set `counter` to `value`, making it known (e.g. zero in the commit creating a table).
    SetCount {
        /// The counter set.
        counter: CounterId,
        /// Its new value.
        value: Counts,
    },
}

impl Write {
    /// The key this write touches; `None` for a counter write.
    pub fn key(&self) -> Option<&Key> {
        match self {
            Write::Put { key, .. } | Write::Delete { key } => Some(key),
            Write::Count { .. } | Write::SetCount { .. } => None,
        }
    }
}

/// A precondition of a [`Batch`].
#[derive(Clone, Debug)]
pub struct Guard {
    /// Key the guard inspects.
    pub key: Key,
    /// `None`: the key must be absent. `Some(v)`: the key must exist with version `v`.
    pub expected: Option<u64>,
}

/// Writes applied atomically if and only if every guard holds.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Puts and deletes, applied in order (a later write to the same key wins).
    pub writes: Vec<Write>,
    /// Preconditions, checked against the state just before the batch applies.
    pub guards: Vec<Guard>,
}

/// An ordered walk over one partition's sort keys.
#[derive(Clone, Debug)]
pub struct PartitionRange<'a> {
    /// Keyspace to read.
    pub keyspace: Keyspace,
    /// Table to read.
    pub table: TableId,
    /// The partition walked.
    pub partition: &'a [u8],
    /// Lower bound on the sort bytes.
    pub lower: Bound<&'a [u8]>,
    /// Upper bound on the sort bytes.
    pub upper: Bound<&'a [u8]>,
    /// Walk from the upper end down.
    pub reverse: bool,
}

/// A walk over one hash segment of a table, in storage order.
#[derive(Clone, Debug)]
pub struct SegmentScan<'a> {
    /// Keyspace to read.
    pub keyspace: Keyspace,
    /// Table to read.
    pub table: TableId,
    /// Segment number, `0..total_segments`.
    pub segment: u32,
    /// Number of segments (≥ 1).
    pub total_segments: u32,
    /// Resume strictly after this `(partition, sort)` (e.g. the last key of a previous page).
    pub start_after: Option<(&'a [u8], &'a [u8])>,
}

/// Errors of every storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A guard of the batch did not hold; nothing was written.
    #[error("guard failed")]
    Conflict,
    /// The caller passed something the store cannot represent (e.g. an oversized partition,
    /// an invalid segment).
    #[error("invalid storage request: {0}")]
    InvalidArgument(String),
    /// An operating-system I/O error.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An error of the underlying engine (e.g. fjall), source kept.
    #[error("storage engine error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// Stored bytes could not be decoded, or an on-disk format version is unknown.
    #[error("corrupt storage: {0}")]
    Corrupt(String),
    /// The store is shut down (or failed fatally) and accepts no more writes.
    #[error("storage is closed")]
    Closed,
    /// The engine does not offer this operation (e.g. [`Store::checkpoint`] on RADOS).
    #[error("not supported by this storage engine: {0}")]
    Unsupported(String),
}

/// What a copy of a whole store wrote (the durable engine's checkpoint writer reports it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointSummary {
    /// The snapshot's last commit version.
    pub version: u64,
    /// Entries copied (items, index entries, stream and log records, catalog records...).
    pub entries: u64,
    /// Bytes of keys and values copied.
    pub bytes: u64,
}

/// What [`Store::checkpoint`] visits its records with.
pub type CheckpointVisitor<'v> =
    &'v mut dyn FnMut(CheckpointRecord<'_>) -> Result<(), StorageError>;

/// One record of a whole-store copy, visited by [`Store::checkpoint`] in this order: the
/// [`CheckpointRecord::Snapshot`] once, then every entry (keyspaces in tag order, physical keys
/// ascending within each), then every known counter group (groups ascending).
#[derive(Clone, Copy, Debug)]
pub enum CheckpointRecord<'a> {
    /// The snapshot is taken: it holds every commit that returned before the checkpoint was
    /// called and none that starts after this record is visited. `version` is the version of
    /// the last commit it holds.
    Snapshot {
        /// The snapshot's last commit version.
        version: u64,
    },
    /// One stored entry, exactly as the engine keeps it.
    Entry {
        /// Its keyspace.
        keyspace: Keyspace,
        /// Its physical key ([`codec::encode`]).
        key: &'a [u8],
        /// Its stored value ([`codec::encode_value`]: the commit version, then the bytes).
        value: &'a [u8],
    },
    /// A counter group's stored record ([`counters::encode_group`]), for every group with a
    /// known lane.
    Counters {
        /// The group.
        group: TableId,
        /// Its record.
        record: &'a [u8],
    },
}

/// The fixed partition hash: xxh3-64 (seed 0) of the partition bytes.
///
/// It orders a Scan and defines parallel-scan segments (and is part of the on-disk key), so it
/// must never change.
pub fn partition_hash(partition: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(partition)
}

/// The hash range owned by `segment` of `total`: `[segment·2⁶⁴/total, (segment+1)·2⁶⁴/total)`,
/// computed with `u128`; the last segment's upper bound is `Unbounded`.
///
/// An invalid request (`total == 0` or `segment >= total`) yields an empty range
/// `(u64::MAX, Excluded(u64::MAX))`; stores reject it in [`Store::scan`].
pub fn segment_bounds(segment: u32, total: u32) -> (u64, Bound<u64>) {
    if total == 0 || segment >= total {
        return (u64::MAX, Bound::Excluded(u64::MAX));
    }
    let start = |i: u32| -> u64 {
        let v = (u128::from(i) << 64) / u128::from(total);
        u64::try_from(v).unwrap_or(u64::MAX)
    };
    let upper = if segment + 1 == total {
        Bound::Unbounded
    } else {
        Bound::Excluded(start(segment + 1))
    };
    (start(segment), upper)
}

/// The storage contract every engine implements.
///
/// Versions are a monotonically increasing commit sequence (surviving restarts on durable
/// engines); every Put of a commit gets that commit's version, and guards compare versions.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Point read: the value and version of `key`, or `None` if absent.
    ///
    /// # Errors
    /// `InvalidArgument` for an unrepresentable key; `Io`/`Backend`/`Corrupt` on engine failure.
    fn get(&self, key: &Key) -> Result<Option<Versioned>, StorageError>;

    /// Ordered walk over ONE partition's sort keys within bounds, forward or reverse, from one
    /// consistent snapshot; stops when `visit` returns `ControlFlow::Break(())`.
    ///
    /// # Errors
    /// As [`Store::get`].
    fn range(
        &self,
        r: &PartitionRange<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError>;

    /// Walk of one hash segment of a table in storage order (partition hash, then partition
    /// length, then partition bytes, then sort bytes — see [`codec`]), from one consistent
    /// snapshot, starting strictly after `start_after`.
    ///
    /// # Errors
    /// `InvalidArgument` if `total_segments == 0` or `segment >= total_segments`; otherwise as
    /// [`Store::get`].
    fn scan(
        &self,
        s: &SegmentScan<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError>;

    /// Atomic guarded commit: all guards hold and all writes apply, or nothing does. Returns the
    /// commit's version (every Put in the batch gets it). A batch without writes only checks
    /// its guards and returns the current high-water version.
    ///
    /// The batch is visible to readers when this returns, but a durable engine may not have it
    /// on stable storage yet: acknowledge a write only after [`durable`] taken after the commit
    /// has resolved.
    ///
    /// # Errors
    /// `Conflict` if a guard fails (nothing written); `Closed` after a fatal failure or
    /// shutdown; `InvalidArgument`/`Io`/`Backend` otherwise.
    fn commit(&self, batch: Batch) -> Result<u64, StorageError>;

    /// Read-modify-write of one key: reads `key`, calls `f`; if `f` returns `Some(batch)`,
    /// commits it with an implicit guard that `key` is still at the version read (absent if it
    /// was absent). Single-node engines hold the key's latch across read + `f` + commit so a hot
    /// key never spins; if a concurrent plain commit slipped in anyway, `f` is called again with
    /// the fresh value (so `f` may run more than once). Returns `Ok(None)` if `f` returned
    /// `None` (nothing written), `Ok(Some(version))` after a commit.
    ///
    /// # Errors
    /// `Conflict` only if one of the batch's own guards fails; otherwise as [`Store::commit`].
    fn read_modify_write(
        &self,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError>;

    /// Read-modify-write of several keys at once (BatchWriteItem's writes): reads every key of
    /// `keys`, calls `f` with their values in the same order (`None` for an absent key), and
    /// if `f` returns `Some(batch)`, commits it on the condition that none of `keys` changed
    /// since it was read. The batch may write any keys (those read, their index entries...)
    /// and carry guards of its own. Returns `Ok(None)` if `f` returned `None` (nothing
    /// written), `Ok(Some(version))` after a commit.
    ///
    /// Single-node engines hold the latches of every key (stripes taken in ascending order, so
    /// concurrent callers cannot deadlock) across read + `f` + commit, and so commit without
    /// reading the keys again; like [`Store::read_modify_write`], they call `f` again with
    /// fresh values if a plain commit slipped in anyway, so `f` may run more than once and must
    /// start afresh each time (and `f` must not call back into the store's writes). `keys` may
    /// repeat a key; it may be empty.
    ///
    /// The default suits engines without latches: it reads the keys, calls `f` once, and
    /// commits the batch with a guard on each key's version as read, so a key that moved
    /// between the read and the commit fails it with `Conflict`. Callers must therefore treat
    /// `Conflict` as "nothing was written; the keys may have moved" and fall back (e.g. to one
    /// [`Store::read_modify_write`] per key).
    ///
    /// # Errors
    /// `Conflict` if one of the batch's own guards fails, or (engines without latches) one of
    /// `keys` changed before the commit; nothing is written then. Otherwise as
    /// [`Store::commit`].
    fn read_modify_write_many(
        &self,
        keys: &[Key],
        f: &mut dyn FnMut(&[Option<Versioned>]) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        let current = keys
            .iter()
            .map(|key| self.get(key))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(mut batch) = f(&current) else {
            return Ok(None);
        };
        batch
            .guards
            .extend(keys.iter().zip(&current).map(|(key, read)| Guard {
                key: key.clone(),
                expected: read.as_ref().map(|v| v.version),
            }));
        self.commit(batch).map(Some)
    }

    /// The value of a counter kept by [`Write::Count`], or `None` while it is unknown (never
    /// set, or being recounted). Never reads entries: O(1).
    ///
    /// # Errors
    /// `Closed`/`Backend` on engine failure.
    fn counts(&self, counter: CounterId) -> Result<Option<Counts>, StorageError>;

    /// Recounts `counter` from the entries of `table` in `keyspace`: walks one consistent
    /// snapshot (each entry counts 1 item and `weigh(entry)` bytes) while other writers go on,
    /// then makes the counter known as that count plus every delta committed after the
    /// snapshot. The counter is unknown while this runs, and stays unknown if it is
    /// interrupted (a crash): run it again then. For data written before the counter existed
    /// and for an index filled without counting; background work, never a request's.
    ///
    /// Returns the counter's new value, or `None` if it was overtaken meanwhile (set, recounted
    /// again, its table dropped, or, on a shared store, given up by another node that took this
    /// one for dead): the counter is then not known from this walk.
    ///
    /// # Errors
    /// The first error `weigh` returns (the counter stays unknown); storage failures.
    fn recount(
        &self,
        counter: CounterId,
        keyspace: Keyspace,
        table: TableId,
        weigh: &mut dyn FnMut(EntryRef<'_>) -> Result<i64, StorageError>,
    ) -> Result<Option<Counts>, StorageError>;

    /// Deletes every key of `table` in every keyspace, and the counters of group `table` and
    /// lane `table` of every group. Afterwards nothing of the table is visible; a durable engine
    /// may reclaim the space in the background (and finish after a restart). Table ids are
    /// never reused, so callers must not write to `table` again.
    ///
    /// # Errors
    /// `Io`/`Backend` on engine failure.
    fn drop_table(&self, table: TableId) -> Result<(), StorageError>;

    /// Makes everything written so far durable with a fresh sync, including writes made outside
    /// [`Store::commit`] (`drop_table`); for shutdown. In-memory: no-op.
    ///
    /// # Errors
    /// `Io`/`Backend` on engine failure.
    fn flush(&self) -> Result<(), StorageError>;

    /// What the store reports about itself for the server's metrics (sync latency, disk bytes,
    /// flushes and compactions). Cheap: counters and in-memory figures, no file walk. The
    /// default reports nothing.
    fn metrics(&self) -> StoreMetrics {
        StoreMetrics::default()
    }

    /// Whether the engine is slowing its writers down now, because its background work (flushes,
    /// compactions) fell behind: a commit may then sleep before it runs, so a caller on an
    /// async runtime should run writes where such a sleep holds up no other request (the
    /// server moves them to its blocking pool while this is true). Cheap: an atomic load and
    /// a clock read. Engines that never pace say false.
    fn pacing_writers(&self) -> bool {
        false
    }

    /// A point in the commit sequence at or after every commit that has returned so far.
    /// [`durable`] waits for it. Engines without a log return 0.
    fn commit_point(&self) -> u64 {
        0
    }

    /// Whether every commit up to `point` is durable; if not, arranges for `cx`'s waker to be
    /// woken once it is (or once the engine failed). Engines without a log are always ready.
    /// Use through [`durable`].
    ///
    /// # Errors
    /// `Io`/`Backend` if the engine failed to make its log durable; every later call fails too.
    fn poll_durable(
        &self,
        point: u64,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), StorageError>> {
        let _ = (point, cx);
        std::task::Poll::Ready(Ok(()))
    }

    /// What the engine's files take on disk, for engines that keep files (`None` otherwise).
    /// Cheap: computed from file metadata, never by reading data.
    ///
    /// # Errors
    /// `Io`/`Backend` if the engine cannot list its files.
    fn disk_usage(&self) -> Result<Option<DiskUsage>, StorageError> {
        Ok(None)
    }

    /// Whether a [`Store::range`] or [`Store::scan`] in progress holds off commits until it
    /// returns (the in-memory engine holds its read lock for the walk). A caller that wants
    /// to commit from inside a walk's `visit` (copying a table in chunks from one snapshot)
    /// must gather the entries first where this is true, or it would wait on itself. Engines
    /// that walk an MVCC snapshot (fjall) say false.
    fn scans_block_commits(&self) -> bool {
        true
    }

    /// Visits everything the store holds from ONE consistent snapshot, as [`CheckpointRecord`]s
    /// in their documented order, so that a copy of the whole store can be written elsewhere
    /// (what a crash at the snapshot's instant would have left, without the crash). Entries of
    /// tables being dropped ([`Store::drop_table`]) are left out. Stops at the first error
    /// `visit` returns.
    ///
    /// Engines with snapshots (fjall) take the snapshot under their commit ordering and walk it
    /// while writers go on; the in-memory engine holds its read lock for the walk, so writers
    /// wait for it. The default refuses: a distributed engine has no single snapshot to copy.
    ///
    /// # Errors
    /// `Unsupported` where the engine cannot copy itself; the first error of `visit`; engine
    /// failures.
    fn checkpoint(
        &self,
        visit: &mut dyn FnMut(CheckpointRecord<'_>) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let _ = visit;
        Err(StorageError::Unsupported(
            "this storage engine cannot copy its data directory".to_owned(),
        ))
    }

    /// Whether other processes may use this store at the same time (a cluster engine, several
    /// binderdb nodes on one pool). The engines one process owns (in-memory, fjall) say false,
    /// and the engine then skips every cross-process step below, at no cost per request.
    fn shared(&self) -> bool {
        false
    }

    /// How many processes use the store now, this one included, as last seen (a shared store
    /// refreshes it every few seconds). Limits that belong to the whole cluster, such as a
    /// table's provisioned throughput, are split between them. Engines of one process: 1.
    fn live_nodes(&self) -> usize {
        1
    }

    /// Tells every other process sharing the store that `topic` changed, and returns once each
    /// live one has run its [`Subscriber`]s on it, or a timeout passed (a process that does not
    /// answer is dead, or cut off from the store; it resynchronises when it reconnects, see
    /// [`Store::subscribe`]). The announcing process's own subscribers are not called. Returns
    /// how many other processes it was sent to (those that did not answer included). Engines
    /// of one process: nothing to do, 0.
    ///
    /// # Errors
    /// `Backend` if the announcement could not be sent.
    fn announce(&self, topic: &[u8]) -> Result<usize, StorageError> {
        let _ = topic;
        Ok(0)
    }

    /// Registers `subscriber`, called with each topic another process announces, and with
    /// `None` when announcements may have been missed (the connection to the store broke and was
    /// re-established): the subscriber must then resynchronise everything it caches. Engines
    /// of one process never call it.
    ///
    /// # Errors
    /// `Backend` if the subscription could not be registered.
    fn subscribe(&self, subscriber: Subscriber) -> Result<(), StorageError> {
        let _ = subscriber;
        Ok(())
    }

    /// Takes the named lease for `duration`, or renews it if this process holds it: `Ok(true)`
    /// while this process holds it, `Ok(false)` while another does. A holder that dies stops
    /// renewing, so another process takes the lease over once it lapsed; background work done
    /// under a lease is therefore done by one process at a time, and resumed elsewhere when its
    /// process died. Engines of one process: always `Ok(true)`.
    ///
    /// # Errors
    /// `Backend` if the store cannot be asked.
    fn lease(&self, name: &str, duration: std::time::Duration) -> Result<bool, StorageError> {
        let _ = (name, duration);
        Ok(true)
    }

    /// Gives up the named lease if this process holds it (another process may take it at
    /// once).
    ///
    /// # Errors
    /// `Backend` if the store cannot be asked.
    fn release_lease(&self, name: &str) -> Result<(), StorageError> {
        let _ = name;
        Ok(())
    }
}

/// What [`Store::subscribe`] calls: `Some(topic)` for another process's announcement, `None`
/// when announcements may have been missed.
pub type Subscriber = std::sync::Arc<dyn Fn(Option<&[u8]>) + Send + Sync>;

/// Bytes on disk of a durable engine ([`Store::disk_usage`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Everything: table files, journals and the engine's own metadata.
    pub total: u64,
    /// The write-ahead journals (replayed at start-up).
    pub journal: u64,
    /// Bytes of table files by table id, an estimate: a file holding keys of several tables is
    /// shared between the first and the last of them.
    pub by_table: std::collections::BTreeMap<TableId, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_hash_is_pinned() {
        // xxh3-64, seed 0. If this fails, every on-disk key and every Scan order changed.
        assert_eq!(partition_hash(b""), 0x2d06_8005_38d3_94c2);
        assert_eq!(partition_hash(b"a"), 0xe6c6_32b6_1e96_4e1f);
    }

    #[test]
    fn segments_tile_the_hash_space() {
        for total in [1u32, 2, 3, 7, 1000] {
            let mut expected_start = 0u64;
            for seg in 0..total {
                let (lo, hi) = segment_bounds(seg, total);
                assert_eq!(lo, expected_start);
                match hi {
                    Bound::Excluded(h) => expected_start = h,
                    Bound::Unbounded => assert_eq!(seg + 1, total),
                    Bound::Included(_) => unreachable!(),
                }
            }
        }
        assert_eq!(segment_bounds(1, 2).0, 1 << 63);
        assert_eq!(segment_bounds(0, 0), (u64::MAX, Bound::Excluded(u64::MAX)));
    }
}
