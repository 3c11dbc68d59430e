//! binderdb's storage engine on a Ceph RADOS cluster: the [`Store`] contract on librados, so
//! binderdb's data lives replicated and self-healing in a Ceph pool instead of on one disk.
//!
//! Built only with the `rados` feature (it links librados through `binderdb-rados`, the one
//! crate allowed `unsafe`); without it this crate is empty. It depends on the storage contract
//! and nothing above it.
//!
//! # Layout ([`layout`])
//! One object per `(table, partition)` holds the partition's items and local-index entries in
//! its omap (GSI, stream, TTL and catalog partitions get objects of their own), so every write
//! inside one partition is one RADOS compound operation: an omap comparison per guard and the
//! key writes, applied atomically by the object's primary OSD and acknowledged once every
//! replica has it (that is the durability point: nothing is acknowledged before).
//!
//! # Commits
//! A commit reads what it guards, checks the versions, and takes a version from a block
//! reserved in the `sequence` object (blocks are reserved with a compare-and-set, so versions
//! never repeat across processes and restarts; a commit that read a higher version than its
//! block's moves to a new block, so a key's version always grows). Then:
//! - **one object** (everything it guards and writes is in one partition object): one compound
//!   operation whose omap comparisons re-check, at the OSD, that each guarded key still holds
//!   what was read and that none of the touched keys is locked. If anything moved, the commit
//!   reads again (a moved guard is then a conflict; a lock is resolved, see below).
//! - **several objects**: the coordinator's protocol ([`coord`]), modelled on DynamoDB's
//!   published transaction design, safe with any number of processes on one pool:
//!   1. *record*: a transaction record, state PENDING, is written in the records object of the
//!      node running it (`binderdb.txns.{node}`); its id is a fresh version.
//!   2. *locks*: object by object, in name order (so two transactions never wait on each other
//!      in a cycle), one compound operation checks the guards there and that no touched key is
//!      locked, and sets a lock `#key` naming the transaction on every key it guards or writes.
//!   3. *commit point*: one compare-and-set flips the record from PENDING to COMMITTED and
//!      stores the write plan with it. Before this instant the commit never happened; after
//!      it, it stands.
//!   4. *apply*: object by object, one compound operation (guarded by "the locks are still
//!      this transaction's") applies the writes and removes the locks; then the record goes.
//!
//!   A guard that fails at step 2 releases the locks taken and reports the conflict.
//!
//! # Locks met by others
//! A reader or writer that finds a lock over a key it touches *resolves* it from the record:
//! COMMITTED, it rolls the transaction forward itself (every step is idempotent) and reads
//! again; PENDING with a live owner, a reader reads what is under the lock (the state before
//! that transaction, which has not happened yet) and a writer waits for it, briefly backing off;
//! PENDING with a dead owner, it aborts the transaction (compare-and-set PENDING → ABORTED,
//! which the owner's commit point can then no longer pass) and goes on; no record, or ABORTED,
//! the lock is a leftover and is removed. So a reader never sees half of a committed
//! transaction, and a single-object write never slips under a multi-object one.
//!
//! # Nodes and recovery
//! Any number of processes may open a pool: each is a node ([`node`]) whose liveness is an
//! exclusive RADOS lock with a [`LIVENESS`] lapse, renewed by a thread. A lock's timeout is its
//! owner's liveness, judged by the OSD's clock. Every node sweeps the node registry and
//! recovers a dead node's transactions (roll forward if COMMITTED, abort if PENDING); a node
//! that stops cleanly finishes its own first. The sweep also counts the live nodes
//! ([`Store::live_nodes`]: the engine splits a table's throughput limits between them).
//!
//! Within one process, commits run concurrently (read-modify-writes of one key queue on a
//! latch, so a hot key does not spin).
//!
//! # Statistics
//! Table statistics ([`Store::counts`]) are summed on read from per-object contributions that
//! each counted commit merges into an object it writes anyway ([`counters`]), so a PutItem on a
//! table without global indexes, stream or TTL is a single-object commit, and every node counts
//! every node's writes. A recount holds off every node's commits to the counter it walks, and
//! to the entries it walks.
//!
//! # Reads
//! Point reads and partition ranges read one object's omap (pages of [`PAGE`] keys; a backward
//! range reads its bounds forward and visits them in reverse). A segment scan reads the
//! table's partition index ([`partitions`]) from the segment's first hash (or from where the
//! Scan stopped) and walks the partitions it names in order, which is the contract's storage
//! order: its cost follows the table, never the rest of the pool, which is never listed.

#![cfg(feature = "rados")]

mod commit;
mod coord;
pub mod counters;
pub mod layout;
mod node;
mod partitions;
mod peers;

use std::ops::{Bound, ControlFlow};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use binderdb_rados::{Cluster, IoCtx, KeyValue, OmapPage, RadosError, WriteOp, ENOENT};
use binderdb_storage::codec;
use binderdb_storage::latch::StripedLatches;
use binderdb_storage::{
    segment_bounds, Batch, CounterId, Counts, EntryRef, Key, Keyspace, PartitionRange, SegmentScan,
    StorageError, Store, TableId, Versioned,
};
use parking_lot::{Mutex, RwLock};

use coord::{backend, write_tolerating_absence, Coordinator, Resolution};
use layout::ObjectWrites;

/// Keys read per omap request.
pub const PAGE: u64 = 512;
/// Versions reserved per compare-and-set of the sequence object.
const VERSION_BLOCK: u64 = 1 << 12;
/// Read-modify-write latch stripes.
const LATCH_STRIPES: usize = 1024;
/// The omap key of the sequence object holding the next unreserved version.
const NEXT_KEY: &[u8] = b"next";

/// Where the store lives.
#[derive(Debug, Clone)]
pub struct RadosOptions {
    /// Ceph configuration file naming the monitors and the keyring.
    pub conf: PathBuf,
    /// The pool (it must exist).
    pub pool: String,
    /// Ceph client id (`admin` when `None`).
    pub user: Option<String>,
    /// Prefix of every object name, so several stores can share a pool (tests); empty in
    /// production.
    pub prefix: String,
}

pub use node::LIVENESS;

#[derive(Debug, Default)]
struct State {
    /// The next version to hand out, and the last one reserved in the sequence object.
    next_version: u64,
    reserved_until: u64,
    /// The highest version handed out.
    high_water: u64,
}

/// The RADOS [`Store`].
#[derive(Debug)]
pub struct RadosStore {
    io: Arc<IoCtx>,
    coord: Arc<Coordinator>,
    /// This process's membership of the pool (left when the store is dropped).
    node: Option<node::Node>,
    /// Announcements to and leases among the other processes on the pool.
    peers: peers::Peers,
    prefix: String,
    state: Mutex<State>,
    /// Commits share it; a recount or a table drop takes it alone (their walk is the snapshot
    /// that this process's commits must not change).
    gate: Arc<RwLock<()>>,
    /// What this node remembers of the counters ([`counters`]).
    caches: Arc<Mutex<counters::Caches>>,
    latches: StripedLatches,
    /// Queue this process's single-object commits that merge a counter record of one object,
    /// which would otherwise race on it and retry (a stripe per object-name hash).
    object_latches: StripedLatches,
}

/// Why an internal commit did not apply.
enum Refused {
    /// The read-modify-write's implicit guard failed: read again and call the closure again.
    Stale,
    /// Recovery aborted the transaction before its commit point (this node looked dead):
    /// nothing was written; run it again.
    Aborted,
    /// The commit has a delta to a counter another live node is recounting: nothing was
    /// written; wait a little and run it again (see `counters`).
    Recounting,
    Error(StorageError),
}

impl From<StorageError> for Refused {
    fn from(e: StorageError) -> Self {
        Refused::Error(e)
    }
}

impl From<RadosError> for Refused {
    fn from(e: RadosError) -> Self {
        Refused::Error(backend(e))
    }
}

fn version_of(raw: &[u8]) -> Result<u64, StorageError> {
    codec::decode_value(raw).map(|(v, _)| v)
}

fn u64_of(raw: &[u8]) -> Result<u64, StorageError> {
    let bytes: [u8; 8] = raw
        .try_into()
        .map_err(|_| StorageError::Corrupt("sequence value is not 8 bytes".into()))?;
    Ok(u64::from_be_bytes(bytes))
}

/// What a walk over one object saw: whether the visitor asked to stop.
type Walk = Result<ControlFlow<()>, StorageError>;

impl RadosStore {
    /// Connects to the cluster and opens the store in `options.pool`: replays commit intents and
    /// table drops a previous process left unfinished, and loads the counters.
    ///
    /// # Errors
    /// `InvalidArgument` if the pool does not exist; `Backend` if the cluster cannot be reached.
    pub fn open(options: &RadosOptions) -> Result<RadosStore, StorageError> {
        let cluster =
            Cluster::connect(&options.conf, options.user.as_deref(), &[]).map_err(backend)?;
        let io = cluster.ioctx(&options.pool).map_err(|e| {
            if e.errno == ENOENT {
                StorageError::InvalidArgument(format!(
                    "RADOS pool `{}` does not exist (create it: ceph osd pool create {})",
                    options.pool, options.pool
                ))
            } else {
                backend(e)
            }
        })?;
        let io = Arc::new(io);
        let coord = Arc::new(Coordinator::new(Arc::clone(&io), options.prefix.clone()));
        let sweeper = Arc::clone(&coord);
        let node = node::Node::join(
            Arc::clone(&io),
            &options.prefix,
            Box::new(move || {
                if let Err(e) = sweeper.sweep() {
                    tracing::warn!("RADOS store: recovering dead nodes' transactions: {e}");
                }
            }),
        )?;
        coord
            .node
            .store(node.id(), std::sync::atomic::Ordering::Relaxed);
        let peers = peers::Peers::open(Arc::clone(&io), &options.prefix)?;
        let store = RadosStore {
            io,
            coord,
            node: Some(node),
            peers,
            prefix: options.prefix.clone(),
            state: Mutex::new(State::default()),
            gate: Arc::new(RwLock::new(())),
            caches: Arc::new(Mutex::new(counters::Caches::default())),
            latches: StripedLatches::new(LATCH_STRIPES),
            object_latches: StripedLatches::new(LATCH_STRIPES),
        };
        {
            // Another node began a recount: forget the lane epochs read, once the commits in
            // flight that used them are done (they hold the gate's read side), so the next
            // commit reads the registry and waits for the recount (see `counters`).
            let (gate, caches) = (Arc::clone(&store.gate), Arc::clone(&store.caches));
            store.peers.subscribe(Arc::new(move |topic: Option<&[u8]>| {
                if topic.is_some_and(|t| t != counters::EPOCHS_TOPIC) {
                    return;
                }
                let _gate = gate.write();
                let mut caches = caches.lock();
                caches.registry.clear();
                caches.walks.clear();
            }));
        }
        store.replay_intents()?;
        store.ensure_index()?;
        store.finish_drops()?;
        // Transactions of nodes that died before this one opened need not wait for the first
        // sweep (readers and writers resolve them anyway when they meet their locks).
        if let Err(e) = store.coord.sweep() {
            tracing::warn!("RADOS store: recovering dead nodes' transactions: {e}");
        }
        Ok(store)
    }

    fn meta(&self, name: &str) -> String {
        format!("{}binderdb.{name}", self.prefix)
    }

    fn object_of(&self, key: &Key) -> Result<String, StorageError> {
        layout::object_name(&self.prefix, key.table, key.keyspace, &key.partition)
    }

    /// Every key/value of one object's omap (meta objects), in key order.
    fn read_all(&self, object: &str) -> Result<Vec<KeyValue>, StorageError> {
        let mut out = Vec::new();
        let mut after = Vec::new();
        loop {
            let Some(read) = self
                .io
                .read(object, &[], Some((&after, b"", PAGE)))
                .map_err(backend)?
            else {
                return Ok(out);
            };
            let more = read.more;
            if let Some((last, _)) = read.page.last() {
                after = last.clone();
            }
            out.extend(read.page);
            if !more {
                return Ok(out);
            }
        }
    }

    fn apply_plain(&self, o: &ObjectWrites) -> Result<(), StorageError> {
        let op = WriteOp {
            set: o.set.clone(),
            remove_keys: o.remove.clone(),
            ..WriteOp::default()
        };
        write_tolerating_absence(&self.io, &o.object, &op).map_err(backend)
    }

    /// Applies the intents a crashed process of the single-node protocol (before transaction
    /// records) left, oldest first, and removes them.
    fn replay_intents(&self) -> Result<(), StorageError> {
        let intents = self.meta("intents");
        for (key, value) in self.read_all(&intents)? {
            for o in layout::decode_intent(&value)? {
                self.apply_plain(&o)?;
            }
            let done = WriteOp {
                remove_keys: vec![key],
                ..WriteOp::default()
            };
            self.io.write(&intents, &done).map_err(backend)?;
            tracing::info!("RADOS store: replayed an unfinished commit");
        }
        Ok(())
    }

    fn finish_drops(&self) -> Result<(), StorageError> {
        for (key, _) in self.read_all(&self.meta("drops"))? {
            let table = std::str::from_utf8(&key)
                .ok()
                .and_then(|k| u64::from_str_radix(k, 16).ok())
                .ok_or_else(|| StorageError::Corrupt("dropped table key".into()))?;
            self.drop_table(table)?;
        }
        Ok(())
    }

    /// Walks one object's entries of `keyspace` between omap-key bounds. `partition` is the
    /// object's partition if the caller knows it; otherwise it is read with the first page.
    #[allow(clippy::too_many_arguments)]
    fn walk_object(
        &self,
        object: &str,
        keyspace: Keyspace,
        partition: Option<&[u8]>,
        lower: Bound<Vec<u8>>,
        upper: &Bound<Vec<u8>>,
        reverse: bool,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Walk {
        let prefix = [layout::keyspace_prefix(keyspace)];
        let lock_prefix = layout::lock_prefix(keyspace);
        let (mut after, mut points) = match lower {
            Bound::Unbounded => (Vec::new(), Vec::new()),
            Bound::Excluded(k) => (k, Vec::new()),
            Bound::Included(k) => (k.clone(), vec![layout::lock_key(&k), k]),
        };
        let mut known_partition = partition.map(<[u8]>::to_vec);
        if known_partition.is_none() {
            points.push(layout::PARTITION_KEY.to_vec());
        }
        let within = |k: &[u8]| match upper {
            Bound::Unbounded => true,
            Bound::Included(u) => k <= u.as_slice(),
            Bound::Excluded(u) => k < u.as_slice(),
        };
        let mut collected: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        loop {
            // The entries and the locks over them, seen at one instant.
            let lock_after = if after.is_empty() {
                Vec::new()
            } else {
                layout::lock_key(&after)
            };
            let pages = [
                OmapPage {
                    start_after: &after,
                    prefix: &prefix,
                    max: PAGE,
                },
                OmapPage {
                    start_after: &lock_after,
                    prefix: &lock_prefix,
                    max: PAGE,
                },
            ];
            let Some(mut read) = self
                .io
                .read_pages(object, &points, &pages)
                .map_err(backend)?
            else {
                return Ok(ControlFlow::Continue(()));
            };
            let (lock_page, _) = read.pages.pop().unwrap_or_default();
            let (data_page, more) = read.pages.pop().unwrap_or_default();
            let (point_locks, point_values): (Vec<KeyValue>, Vec<KeyValue>) = read
                .keys
                .into_iter()
                .partition(|(k, _)| k.first() == Some(&layout::LOCK_MARK));
            if self.resolve_locks(object, point_locks.iter().chain(&lock_page))? {
                // A committed transaction was rolled forward here: read this page again.
                continue;
            }
            let read = binderdb_rados::OmapRead {
                keys: point_values,
                page: data_page,
                more,
            };
            let mut page = Vec::with_capacity(read.page.len() + 1);
            for (k, v) in read.keys {
                if k == layout::PARTITION_KEY {
                    known_partition = Some(v);
                } else {
                    page.push((k, v));
                }
            }
            let more = read.more;
            if let Some((last, _)) = read.page.last() {
                after = last.clone();
            }
            page.extend(read.page);
            let mut done = !more;
            let part = known_partition.clone().unwrap_or_default();
            for (k, v) in page {
                if !within(&k) {
                    done = true;
                    break;
                }
                if reverse {
                    collected.push((k, v));
                } else if self.visit_one(&part, &k, &v, visit)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
            points.clear();
            if done {
                break;
            }
        }
        let part = known_partition.unwrap_or_default();
        for (k, v) in collected.iter().rev() {
            if self.visit_one(&part, k, v, visit)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Resolves the locks a read met; `true` if one of them was a committed transaction that
    /// is now applied (what was read is out of date).
    fn resolve_locks<'a>(
        &self,
        object: &str,
        locks: impl Iterator<Item = &'a KeyValue>,
    ) -> Result<bool, StorageError> {
        let mut applied = false;
        for (lock, holder) in locks {
            applied |= self.coord.resolve(object, lock, holder)? == Resolution::Applied;
        }
        Ok(applied)
    }

    fn visit_one(
        &self,
        partition: &[u8],
        key: &[u8],
        raw: &[u8],
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Walk {
        let sort = layout::sort_of(key)?;
        let (version, value) = codec::decode_value(raw)?;
        Ok(visit(EntryRef {
            partition,
            sort: &sort,
            version,
            value,
        }))
    }

    fn range_locked(
        &self,
        r: &PartitionRange<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Walk {
        let object = layout::object_name(&self.prefix, r.table, r.keyspace, r.partition)?;
        let bound = |b: Bound<&[u8]>| match b {
            Bound::Included(s) => Bound::Included(layout::omap_key(r.keyspace, s)),
            Bound::Excluded(s) => Bound::Excluded(layout::omap_key(r.keyspace, s)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let (lower, upper) = (bound(r.lower), bound(r.upper));
        let empty = match (&lower, &upper) {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u))
            | (Bound::Excluded(l), Bound::Included(u)) => l >= u,
            _ => false,
        };
        if empty {
            return Ok(ControlFlow::Continue(()));
        }
        self.walk_object(
            &object,
            r.keyspace,
            Some(r.partition),
            lower,
            &upper,
            r.reverse,
            visit,
        )
    }

    fn scan_locked(
        &self,
        s: &SegmentScan<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        if s.total_segments == 0 || s.segment >= s.total_segments {
            return Err(StorageError::InvalidArgument(format!(
                "segment {} of {} does not exist",
                s.segment, s.total_segments
            )));
        }
        let bounds = segment_bounds(s.segment, s.total_segments);
        // A resumed Scan first finishes the object it stopped in, then goes on after it in the
        // partition index.
        let start = match s.start_after {
            Some((partition, sort)) => {
                let object = layout::object_name(&self.prefix, s.table, s.keyspace, partition)?;
                let hash = binderdb_storage::partition_hash(partition);
                let (lo, hi) = bounds;
                let in_segment = hash >= lo
                    && match hi {
                        Bound::Excluded(h) => hash < h,
                        _ => true,
                    };
                let flow = if !in_segment {
                    ControlFlow::Continue(())
                } else {
                    self.walk_object(
                        &object,
                        s.keyspace,
                        Some(partition),
                        Bound::Excluded(layout::omap_key(s.keyspace, sort)),
                        &Bound::Unbounded,
                        false,
                        visit,
                    )?
                };
                if flow.is_break() {
                    return Ok(());
                }
                Some(object)
            }
            None => None,
        };
        self.each_partition_object(
            s.table,
            s.keyspace,
            bounds,
            start.as_deref(),
            &mut |object| {
                self.walk_object(
                    object,
                    s.keyspace,
                    None,
                    Bound::Unbounded,
                    &Bound::Unbounded,
                    false,
                    visit,
                )
            },
        )
    }

    /// The registry record of `group`, read now (resolving a lock over it), and cached for
    /// [`Self::lane_epoch`].
    ///
    /// Only under the commit gate (either side): the cache must never receive a record read
    /// before a recount began after the recount's announcement cleared it, or this node's
    /// commits would tag their deltas with the epoch before the recount and not wait for its
    /// walk (see `counters`). Readers outside the gate use [`Self::fetch_registry`].
    fn read_registry(&self, group: TableId) -> Result<counters::Registry, StorageError> {
        let registry = self.fetch_registry(group)?;
        self.caches
            .lock()
            .registry
            .insert(group, (std::time::Instant::now(), registry.clone()));
        Ok(registry)
    }

    /// The registry record of `group`, read now (resolving a lock over it), not cached.
    fn fetch_registry(&self, group: TableId) -> Result<counters::Registry, StorageError> {
        match self.fetch_registry_key(&counters::registry_key(group))? {
            Some(v) => counters::decode_registry(&v),
            None => Ok(counters::Registry::new()),
        }
    }

    /// One key of the registry object, read now (resolving a lock over it).
    fn fetch_registry_key(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let object = self.meta("counters");
        let lock = layout::lock_key(key);
        let points = [lock.clone(), key.to_vec()];
        loop {
            let Some(read) = self.io.read(&object, &points, None).map_err(backend)? else {
                return Ok(None);
            };
            if self.resolve_locks(&object, read.keys.iter().filter(|(k, _)| *k == lock))? {
                continue;
            }
            return Ok(read
                .keys
                .into_iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v));
        }
    }

    /// The counter that recounts count the entries of `table` in `keyspace` into (their walk
    /// record; `None` if no recount ever walked them), as this node read it at most
    /// [`counters::EPOCH_CACHE`] ago.
    ///
    /// Only under the commit gate, as [`Self::read_registry`]: a recount's announcement
    /// clears what was read before it began.
    pub(crate) fn walk_counter(
        &self,
        keyspace: Keyspace,
        table: TableId,
    ) -> Result<Option<CounterId>, StorageError> {
        if let Some((at, found)) = self.caches.lock().walks.get(&(keyspace, table)) {
            if at.elapsed() < counters::EPOCH_CACHE {
                return Ok(*found);
            }
        }
        // Timed from before the read: the cache never outlives `EPOCH_CACHE` after it.
        let read_at = std::time::Instant::now();
        let found = self
            .fetch_registry_key(&counters::walk_key(keyspace, table))?
            .map(|raw| codec::decode_value(&raw).and_then(|(_, v)| counters::decode_walk(v)))
            .transpose()?;
        self.caches
            .lock()
            .walks
            .insert((keyspace, table), (read_at, found));
        Ok(found)
    }

    /// The epoch a delta to `lane` of `group` carries (`None`: the lane is unknown), from the
    /// registry as this node read it at most [`counters::EPOCH_CACHE`] ago.
    ///
    /// # Errors
    /// `Refused::Recounting` while another live node recounts the lane: its walk is the
    /// snapshot that no other commit may change (see `counters`).
    pub(crate) fn lane_epoch(&self, group: TableId, lane: TableId) -> Result<Option<u64>, Refused> {
        let cached = self
            .caches
            .lock()
            .registry
            .get(&group)
            .filter(|(at, _)| at.elapsed() < counters::EPOCH_CACHE)
            .map(|(_, registry)| registry.get(&lane).copied());
        let mut found = match cached {
            Some(found) => found,
            None => self.read_registry(group)?.get(&lane).copied(),
        };
        let me = self.coord.node_id();
        let elsewhere = |l: &counters::Lane| l.recounting && l.recounter != 0 && l.recounter != me;
        if cached.is_some() && found.as_ref().is_some_and(elsewhere) {
            // That recount may be over: ask the registry itself.
            found = self.read_registry(group)?.get(&lane).copied();
        }
        if let Some(l) = found.filter(|l| elsewhere(l)) {
            if self.coord.owner_alive(l.recounter)? {
                return Err(Refused::Recounting);
            }
            // The recounter died mid-walk: give its recount up, so the gate opens for good
            // and its finish can no longer apply (see `counters`).
            tracing::warn!(
                group,
                lane,
                recounter = l.recounter,
                "a node died while recounting a table's statistics: they stay unknown until \
                 counted again"
            );
            let share = commit::Share::for_registry(
                vec![(
                    counters::registry_key(group),
                    counters::Merge::Lanes(vec![counters::LaneChange::AbandonRecount(
                        lane, l.epoch,
                    )]),
                )],
                Vec::new(),
            );
            self.commit_share(&self.meta("counters"), &share)?;
            found = self.read_registry(group)?.get(&lane).copied();
            if found.as_ref().is_some_and(elsewhere) {
                // Another node began a recount meanwhile: wait for that one.
                return Err(Refused::Recounting);
            }
        }
        Ok(found.map(|l| l.epoch))
    }

    /// The contributions of `group` in every object of its table, summed by (lane, epoch):
    /// one read per object, spread over a few threads.
    fn sum_contributions(&self, group: TableId) -> Result<counters::Sums, StorageError> {
        if let Some((at, sums)) = self.caches.lock().sums.get(&group) {
            if at.elapsed() < counters::SUM_CACHE {
                return Ok(sums.clone());
            }
        }
        let started = std::time::Instant::now();
        let objects = self.table_objects(group)?;
        let key = counters::contribution_key(group);
        let lock = layout::lock_key(&key);
        let read_one = |object: &str| -> Result<Option<counters::Contribution>, StorageError> {
            let points = [lock.clone(), key.clone()];
            loop {
                let Some(read) = self.io.read(object, &points, None).map_err(backend)? else {
                    return Ok(None);
                };
                if self.resolve_locks(object, read.keys.iter().filter(|(k, _)| *k == lock))? {
                    continue;
                }
                return read
                    .keys
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| counters::decode_contribution(v))
                    .transpose();
            }
        };
        const READERS: usize = 8;
        let chunk = objects.len().div_ceil(READERS).max(1);
        let found: Vec<Result<Vec<counters::Contribution>, StorageError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = objects
                    .chunks(chunk)
                    .map(|names| {
                        let read_one = &read_one;
                        scope.spawn(move || {
                            let mut out = Vec::new();
                            for name in names {
                                out.extend(read_one(name)?);
                            }
                            Ok(out)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(StorageError::Backend("a counter reader panicked".into()))
                        })
                    })
                    .collect()
            });
        let mut sums = counters::Sums::new();
        for contributions in found {
            for contribution in contributions? {
                for (lane, (epoch, c)) in contribution {
                    let sum = sums.entry((lane, epoch)).or_default();
                    sum.items = sum.items.saturating_add(c.items);
                    sum.bytes = sum.bytes.saturating_add(c.bytes);
                }
            }
        }
        self.caches
            .lock()
            .sums
            .insert(group, (started, sums.clone()));
        Ok(sums)
    }

    /// Whether `id` (a table or an index) was dropped.
    fn dropped(&self, ids: &[TableId]) -> Result<bool, StorageError> {
        let keys: Vec<Vec<u8>> = ids.iter().map(|&id| counters::tombstone_key(id)).collect();
        Ok(self
            .io
            .read(&self.meta("counters"), &keys, None)
            .map_err(backend)?
            .is_some_and(|r| !r.keys.is_empty()))
    }

    /// Applies `merges` (and `writes`) to the registry object as one commit; returns its
    /// version. For the caller that holds the gate alone (recount, drop).
    fn change_registry(
        &self,
        merges: Vec<(Vec<u8>, counters::Merge)>,
        writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<u64, StorageError> {
        let share = commit::Share::for_registry(merges, writes);
        let result = self.commit_share(&self.meta("counters"), &share);
        self.caches.lock().registry.clear();
        result.map_err(|e| match e {
            Refused::Stale | Refused::Aborted | Refused::Recounting => StorageError::Conflict,
            Refused::Error(e) => e,
        })
    }
}

/// How long a commit waits before trying again while another node recounts a counter it
/// changes.
const RECOUNT_WAIT: Duration = Duration::from_millis(20);

impl Store for RadosStore {
    fn get(&self, key: &Key) -> Result<Option<Versioned>, StorageError> {
        let object = self.object_of(key)?;
        let omap_key = layout::omap_key(key.keyspace, &key.sort);
        let lock_key = layout::lock_key(&omap_key);
        let points = [lock_key.clone(), omap_key.clone()];
        loop {
            let Some(read) = self.io.read(&object, &points, None).map_err(backend)? else {
                return Ok(None);
            };
            let lock = read.keys.iter().filter(|(k, _)| *k == lock_key);
            if self.resolve_locks(&object, lock)? {
                continue;
            }
            return match read.keys.into_iter().find(|(k, _)| *k == omap_key) {
                Some((_, raw)) => {
                    let (version, value) = codec::decode_value(&raw)?;
                    Ok(Some(Versioned {
                        version,
                        value: value.to_vec(),
                    }))
                }
                None => Ok(None),
            };
        }
    }

    fn range(
        &self,
        r: &PartitionRange<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        self.range_locked(r, visit).map(|_| ())
    }

    fn scan(
        &self,
        s: &SegmentScan<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        self.scan_locked(s, visit)
    }

    fn commit(&self, batch: Batch) -> Result<u64, StorageError> {
        loop {
            return match self.commit_inner(&batch, None) {
                Ok(version) => Ok(version),
                Err(Refused::Recounting) => {
                    std::thread::sleep(RECOUNT_WAIT);
                    continue;
                }
                Err(Refused::Stale | Refused::Aborted) => Err(StorageError::Conflict),
                Err(Refused::Error(e)) => Err(e),
            };
        }
    }

    fn read_modify_write(
        &self,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        // The latch queues this process's read-modify-writes of one key; nothing is held
        // while `f` runs, so `f` may read the store.
        let _latch = self.latches.lock(&[self.latches.stripe_of(key)]);
        loop {
            let current = self.get(key)?;
            let Some(batch) = f(current.as_ref()) else {
                return Ok(None);
            };
            let expected = current.as_ref().map(|v| v.version);
            match self.commit_inner(&batch, Some((key, expected))) {
                Ok(version) => return Ok(Some(version)),
                // Another writer changed the key, or recovery aborted the commit: run `f`
                // again on what is there now.
                Err(Refused::Stale | Refused::Aborted) => continue,
                Err(Refused::Recounting) => std::thread::sleep(RECOUNT_WAIT),
                Err(Refused::Error(e)) => return Err(e),
            }
        }
    }

    fn counts(&self, counter: CounterId) -> Result<Option<Counts>, StorageError> {
        // Not cached: this runs outside the commit gate (see `read_registry`).
        let registry = self.fetch_registry(counter.group)?;
        match registry.get(&counter.lane) {
            None => return Ok(None),
            Some(lane) if lane.recounting => return Ok(None),
            Some(_) => {}
        }
        let sums = self.sum_contributions(counter.group)?;
        Ok(counters::value_of(counter, &registry, &sums))
    }

    fn recount(
        &self,
        counter: CounterId,
        keyspace: Keyspace,
        table: TableId,
        weigh: &mut dyn FnMut(EntryRef<'_>) -> Result<i64, StorageError>,
    ) -> Result<Option<Counts>, StorageError> {
        // This process's commits wait while the walk runs (the gate is the snapshot), as in
        // the in-memory engine: no delta can fall between the count and its start. Other
        // nodes' commits with a delta to the lane, or moving the entries walked, wait for the
        // recount through the registry (see `counters`).
        let _gate = self.gate.write();
        if self.dropped(&[counter.group, counter.lane])? {
            return Ok(None);
        }
        let key = counters::registry_key(counter.group);
        // Entries a commit may move without a delta: the walk record makes the other nodes'
        // commits that write them wait for the walk too (see `counters`).
        let walk = counters::moves_entries(keyspace).then(|| {
            (
                counters::walk_key(keyspace, table),
                Some(counters::encode_walk(counter)),
            )
        });
        // A new epoch, unknown until the walk ends: a failed walk leaves it unknown.
        let epoch = self.change_registry(
            vec![(
                key.clone(),
                counters::Merge::Lanes(vec![counters::LaneChange::BeginRecount(
                    counter.lane,
                    self.coord.node_id(),
                )]),
            )],
            walk.into_iter().collect(),
        )?;
        // Every other node forgets the epochs it cached before the walk starts, so its next
        // commit with a delta to this lane reads the registry, finds the recount and waits
        // for its end: the walk then counts what they committed before, and their deltas
        // what they commit after (see `counters`).
        if let Err(e) = self.peers.announce(counters::EPOCHS_TOPIC) {
            tracing::warn!("RADOS store: announcing a recount to the other nodes: {e}");
        }
        let scan = SegmentScan {
            keyspace,
            table,
            segment: 0,
            total_segments: 1,
            start_after: None,
        };
        let mut counted = Counts::default();
        let mut failure = None;
        self.scan_locked(&scan, &mut |e| match weigh(e) {
            Ok(bytes) => {
                counted.items += 1;
                counted.bytes += bytes;
                ControlFlow::Continue(())
            }
            Err(err) => {
                failure = Some(err);
                ControlFlow::Break(())
            }
        })?;
        if let Some(err) = failure {
            return Err(err);
        }
        self.change_registry(
            vec![(
                key,
                counters::Merge::Lanes(vec![counters::LaneChange::FinishRecount(
                    counter.lane,
                    epoch,
                    counted,
                )]),
            )],
            Vec::new(),
        )?;
        self.caches.lock().sums.remove(&counter.group);
        // Overtaken (set, or recounted again, meanwhile): the lane is not at this epoch.
        match self.fetch_registry(counter.group)?.get(&counter.lane) {
            Some(lane) if lane.epoch == epoch && !lane.recounting => self.counts(counter),
            _ => Ok(None),
        }
    }

    fn drop_table(&self, table: TableId) -> Result<(), StorageError> {
        let _gate = self.gate.write();
        // The mark makes a drop interrupted by a crash finish at the next open.
        let drops = self.meta("drops");
        let mark = format!("{table:016x}").into_bytes();
        let op = WriteOp {
            set: vec![(mark.clone(), Vec::new())],
            ..WriteOp::default()
        };
        self.io.write(&drops, &op).map_err(backend)?;
        for name in self.table_objects(table)? {
            self.io.remove(&name).map_err(backend)?;
        }
        // Last: a drop interrupted before this finds the objects again.
        self.remove_index(table)?;
        // The registry forgets group `table` and lane `table` of every group, and remembers
        // the id as dropped.
        let (mut merges, mut walks) = (Vec::new(), Vec::new());
        for (key, value) in self.read_all(&self.meta("counters"))? {
            if counters::is_registry_key(&key)
                && counters::decode_registry(&value)?.contains_key(&table)
            {
                merges.push((
                    key,
                    counters::Merge::Lanes(vec![counters::LaneChange::Remove(table)]),
                ));
            } else if counters::walk_table(&key) == Some(table) {
                walks.push((key, None));
            }
        }
        let mut writes = vec![
            (counters::registry_key(table), None),
            (counters::tombstone_key(table), Some(Vec::new())),
        ];
        writes.extend(walks);
        merges.retain(|(k, _)| *k != counters::registry_key(table));
        self.change_registry(merges, writes)?;
        {
            let mut caches = self.caches.lock();
            caches.sums.clear();
            caches.walks.retain(|(_, t), _| *t != table);
        }
        let done = WriteOp {
            remove_keys: vec![mark],
            ..WriteOp::default()
        };
        write_tolerating_absence(&self.io, &drops, &done).map_err(backend)
    }

    fn flush(&self) -> Result<(), StorageError> {
        // Every acknowledged RADOS write is already on all replicas: nothing is buffered here.
        Ok(())
    }

    fn shared(&self) -> bool {
        true
    }

    fn live_nodes(&self) -> usize {
        self.coord.live.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn announce(&self, topic: &[u8]) -> Result<usize, StorageError> {
        self.peers.announce(topic)
    }

    fn subscribe(&self, subscriber: binderdb_storage::Subscriber) -> Result<(), StorageError> {
        self.peers.subscribe(subscriber);
        Ok(())
    }

    fn lease(&self, name: &str, duration: Duration) -> Result<bool, StorageError> {
        self.peers.lease(name, duration)
    }

    fn release_lease(&self, name: &str) -> Result<(), StorageError> {
        self.peers.release_lease(name)
    }
}

impl Drop for RadosStore {
    fn drop(&mut self) {
        // No commit runs any more: finish whatever this node left (a commit whose apply failed)
        // before leaving the pool, so nobody waits for this node's liveness to lapse.
        if let Some(node) = self.node.take() {
            let id = node.id();
            // Leave first (lock released, registry entry removed), then finish the leftovers
            // (recovery is idempotent, should another node's sweep meet them too).
            drop(node);
            if let Err(e) = self.coord.recover_node(id) {
                tracing::warn!("RADOS store: finishing this node's transactions: {e}");
            }
        }
    }
}
