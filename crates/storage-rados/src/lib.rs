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
//! A commit reads the guarded keys, checks their versions, takes a version from a block reserved
//! in the `sequence` object (blocks are reserved with a compare-and-set, so versions never repeat
//! and survive restarts), and then:
//! - if everything it writes and guards is in one object: one compound operation whose omap
//!   comparisons re-check the guards at the OSD (another client's write in between makes it fail
//!   whole, and the commit is a conflict);
//! - otherwise (several partitions, or counters, which live in the `counters` object): the
//!   writes are first recorded as an *intent* (one key of the `intents` object), then applied
//!   object by object, then the intent is removed. A crash in between leaves the intent, and the
//!   next open replays it before serving, so a commit is all-or-nothing across a crash.
//!
//! Commits of one process are serialised by one lock, which readers share: a reader never sees
//! half of a multi-object commit. **One binderdb process per pool**: cross-process coordination
//! of multi-object commits (lock records with owners and timeouts, recovery by another node) is
//! not built yet; single-object commits are already safe between processes.
//!
//! # Reads
//! Point reads and partition ranges read one object's omap (pages of [`PAGE`] keys; a backward
//! range reads its bounds forward and visits them in reverse). A segment scan lists the pool's
//! objects, keeps the table's partitions whose hash falls in the segment, and walks them in
//! name order, which is the contract's storage order.

#![cfg(feature = "rados")]

pub mod layout;
mod lease;
mod peers;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Bound, ControlFlow};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use binderdb_rados::{Cluster, IoCtx, KeyValue, RadosError, WriteOp, ECANCELED, EEXIST, ENOENT};
use binderdb_storage::codec::{self, CounterWrite};
use binderdb_storage::counters::{decode_group, CounterTable};
use binderdb_storage::latch::StripedLatches;
use binderdb_storage::{
    segment_bounds, Batch, CounterId, Counts, EntryRef, Key, Keyspace, PartitionRange, SegmentScan,
    StorageError, Store, TableId, Versioned, Write,
};
use parking_lot::RwLock;

use layout::ObjectWrites;

/// Keys read per omap request.
pub const PAGE: u64 = 512;
/// Versions reserved per compare-and-set of the sequence object.
const VERSION_BLOCK: u64 = 1 << 16;
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
    /// How long opening waits for another process's pool lease to lapse (see [`LEASE`]).
    pub wait_for_lease: Duration,
}

pub use lease::LEASE;

#[derive(Debug, Default)]
struct State {
    counters: CounterTable,
    /// The next version to hand out, and the last one reserved in the sequence object.
    next_version: u64,
    reserved_until: u64,
    /// The last version handed out.
    high_water: u64,
    /// A multi-object commit failed after its intent was written: refuse further writes until a
    /// reopen replays it.
    failed: bool,
}

/// The RADOS [`Store`].
#[derive(Debug)]
pub struct RadosStore {
    io: Arc<IoCtx>,
    lease: lease::Lease,
    /// Announcements to and leases among the other processes on the pool.
    peers: peers::Peers,
    prefix: String,
    state: RwLock<State>,
    latches: StripedLatches,
}

/// Why an internal commit did not apply.
enum Refused {
    /// The read-modify-write's implicit guard failed: read again and call the closure again.
    Stale,
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

fn backend(e: RadosError) -> StorageError {
    StorageError::Backend(Box::new(e))
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

/// Applies `op`; an op that only removes keys from an object that does not exist has nothing
/// to do (librados answers `ENOENT` for it).
fn write_tolerating_absence(io: &IoCtx, object: &str, op: &WriteOp) -> Result<(), RadosError> {
    match io.write(object, op) {
        Err(e) if e.errno == ENOENT && op.set.is_empty() && !op.create_exclusive => Ok(()),
        other => other,
    }
}

/// A guard as a commit checks it: omap key, expected version, whether it is the implicit
/// guard of a read-modify-write.
type GuardCheck = (Vec<u8>, Option<u64>, bool);
/// What a commit read of each guarded object: `None` when the object did not exist.
type Seen = BTreeMap<String, Option<BTreeMap<Vec<u8>, Vec<u8>>>>;
/// A commit's writes to one object: its partition (if any put), then each omap key's new value
/// (`None`: removed).
type PlannedObject = (Option<Vec<u8>>, BTreeMap<Vec<u8>, Option<Vec<u8>>>);

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
        let lease = lease::Lease::acquire(
            Arc::clone(&io),
            format!("{}binderdb.lease", options.prefix),
            options.wait_for_lease,
        )?;
        let peers = peers::Peers::open(Arc::clone(&io), &options.prefix)?;
        let store = RadosStore {
            io,
            lease,
            peers,
            prefix: options.prefix.clone(),
            state: RwLock::new(State::default()),
            latches: StripedLatches::new(LATCH_STRIPES),
        };
        store.replay_intents()?;
        store.load_counters()?;
        store.finish_drops()?;
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

    /// Applies the intents a crashed process left, oldest first, and removes them.
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

    fn load_counters(&self) -> Result<(), StorageError> {
        let mut state = self.state.write();
        for (key, value) in self.read_all(&self.meta("counters"))? {
            let group = std::str::from_utf8(&key)
                .ok()
                .and_then(|k| u64::from_str_radix(k, 16).ok())
                .ok_or_else(|| StorageError::Corrupt("counter group key".into()))?;
            state.counters.restore(group, decode_group(&value)?);
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

    /// Reserves the next block of versions with a compare-and-set on the sequence object.
    fn reserve_versions(&self, state: &mut State) -> Result<(), StorageError> {
        let sequence = self.meta("sequence");
        loop {
            let read = self
                .io
                .read(&sequence, &[NEXT_KEY.to_vec()], None)
                .map_err(backend)?;
            let current_raw = read
                .as_ref()
                .and_then(|r| r.keys.first().map(|(_, v)| v.clone()));
            let current = current_raw.as_deref().map(u64_of).transpose()?.unwrap_or(0);
            let reserved = current.saturating_add(VERSION_BLOCK);
            let op = WriteOp {
                create_exclusive: read.is_none(),
                compare: if read.is_some() {
                    vec![(NEXT_KEY.to_vec(), current_raw.unwrap_or_default())]
                } else {
                    Vec::new()
                },
                set: vec![(NEXT_KEY.to_vec(), reserved.to_be_bytes().to_vec())],
                ..WriteOp::default()
            };
            match self.io.write(&sequence, &op) {
                Ok(()) => {
                    state.next_version = current + 1;
                    state.reserved_until = reserved;
                    return Ok(());
                }
                // Another process reserved meanwhile: read again.
                Err(e) if e.errno == ECANCELED || e.errno == EEXIST => continue,
                Err(e) => return Err(backend(e)),
            }
        }
    }

    fn next_version(&self, state: &mut State) -> Result<u64, StorageError> {
        if state.next_version == 0 || state.next_version > state.reserved_until {
            self.reserve_versions(state)?;
        }
        let version = state.next_version;
        state.next_version += 1;
        state.high_water = version;
        Ok(version)
    }

    /// Checks the guards and applies `batch` atomically; the caller holds the state lock for
    /// writing. `implicit` is read-modify-write's guard on the key it read.
    fn commit_locked(
        &self,
        state: &mut State,
        batch: Batch,
        implicit: Option<(&Key, Option<u64>)>,
    ) -> Result<u64, Refused> {
        if state.failed || self.lease.lost() {
            return Err(Refused::Error(StorageError::Closed));
        }
        // Guards by object: (omap key, expected version, is the implicit guard).
        let mut guards: BTreeMap<String, Vec<GuardCheck>> = BTreeMap::new();
        for (key, expected, is_implicit) in batch
            .guards
            .iter()
            .map(|g| (&g.key, g.expected, false))
            .chain(implicit.map(|(k, e)| (k, e, true)))
        {
            guards.entry(self.object_of(key)?).or_default().push((
                layout::omap_key(key.keyspace, &key.sort),
                expected,
                is_implicit,
            ));
        }
        // Read the guarded keys and check them; remember what was read for the OSD-side
        // comparison (`None`: the object did not exist).
        let mut seen: Seen = BTreeMap::new();
        for (object, checks) in &guards {
            let keys: Vec<Vec<u8>> = checks.iter().map(|(k, _, _)| k.clone()).collect();
            let read = self.io.read(object, &keys, None)?;
            let values: Option<BTreeMap<Vec<u8>, Vec<u8>>> =
                read.map(|r| r.keys.into_iter().collect());
            for (key, expected, is_implicit) in checks {
                let actual = match values.as_ref().and_then(|v| v.get(key)) {
                    Some(raw) => Some(version_of(raw)?),
                    None => None,
                };
                if actual != *expected {
                    return Err(if *is_implicit {
                        Refused::Stale
                    } else {
                        Refused::Error(StorageError::Conflict)
                    });
                }
            }
            seen.insert(object.clone(), values);
        }
        let has_counters = batch
            .writes
            .iter()
            .any(|w| matches!(w, Write::Count { .. } | Write::SetCount { .. }));
        if batch.writes.iter().all(|w| w.key().is_none()) && !has_counters {
            return Ok(state.high_water);
        }
        let version = self.next_version(state)?;

        // The writes by object, the last write to a key winning.
        let mut objects: BTreeMap<String, PlannedObject> = BTreeMap::new();
        let mut counter_writes = Vec::new();
        for write in batch.writes {
            match write {
                Write::Put { key, value } => {
                    let entry = objects.entry(self.object_of(&key)?).or_default();
                    entry.0 = Some(key.partition.clone());
                    entry.1.insert(
                        layout::omap_key(key.keyspace, &key.sort),
                        Some(codec::encode_value(version, &value)),
                    );
                }
                Write::Delete { key } => {
                    let entry = objects.entry(self.object_of(&key)?).or_default();
                    entry
                        .1
                        .insert(layout::omap_key(key.keyspace, &key.sort), None);
                }
                Write::Count { counter, delta } => {
                    counter_writes.push(CounterWrite::Add(counter, delta));
                }
                Write::SetCount { counter, value } => {
                    counter_writes.push(CounterWrite::Set(counter, value));
                }
            }
        }
        let touched: BTreeSet<TableId> = counter_writes
            .iter()
            .filter_map(|c| c.apply(&mut state.counters))
            .collect();
        let mut plan: Vec<ObjectWrites> = objects
            .into_iter()
            .map(|(object, (partition, keys))| {
                let mut o = ObjectWrites {
                    object,
                    ..ObjectWrites::default()
                };
                if let Some(partition) = partition {
                    o.set.push((layout::PARTITION_KEY.to_vec(), partition));
                }
                for (key, value) in keys {
                    match value {
                        Some(value) => o.set.push((key, value)),
                        None => o.remove.push(key),
                    }
                }
                o
            })
            .collect();
        if !touched.is_empty() {
            let mut o = ObjectWrites {
                object: self.meta("counters"),
                ..ObjectWrites::default()
            };
            for group in touched {
                match state.counters.record(group) {
                    Some(record) => o.set.push((layout::counter_key(group), record)),
                    None => o.remove.push(layout::counter_key(group)),
                }
            }
            plan.push(o);
        }

        let single = plan.len() == 1 && guards.keys().all(|g| *g == plan[0].object);
        let result = if single {
            self.apply_single(&plan[0], guards.get(&plan[0].object), &seen)
                .map_err(|e| match e {
                    // Another process changed a guarded key after we read it.
                    Refused::Error(StorageError::Conflict) if implicit.is_some() => Refused::Stale,
                    e => e,
                })
        } else {
            self.apply_with_intent(state, version, &plan)
        };
        if result.is_err() {
            for c in counter_writes.into_iter().rev() {
                c.undo(&mut state.counters);
            }
        }
        result.map(|()| version)
    }

    /// One compound operation: the guards re-checked by the OSD, then the writes.
    fn apply_single(
        &self,
        o: &ObjectWrites,
        guards: Option<&Vec<GuardCheck>>,
        seen: &Seen,
    ) -> Result<(), Refused> {
        let mut op = WriteOp {
            set: o.set.clone(),
            remove_keys: o.remove.clone(),
            ..WriteOp::default()
        };
        if let Some(checks) = guards {
            match seen.get(&o.object) {
                // The object existed: each guarded key must still hold the bytes we read (a
                // missing key compares as empty, and stored values never are).
                Some(Some(values)) => {
                    for (key, _, _) in checks {
                        op.compare
                            .push((key.clone(), values.get(key).cloned().unwrap_or_default()));
                    }
                }
                // It did not: it still must not when we write.
                _ => op.create_exclusive = true,
            }
        }
        match write_tolerating_absence(&self.io, &o.object, &op) {
            Ok(()) => Ok(()),
            Err(e) if e.errno == ECANCELED || e.errno == EEXIST => {
                Err(Refused::Error(StorageError::Conflict))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records the writes as an intent, applies them object by object, removes the intent.
    fn apply_with_intent(
        &self,
        state: &mut State,
        version: u64,
        plan: &[ObjectWrites],
    ) -> Result<(), Refused> {
        let intents = self.meta("intents");
        let key = format!("{version:016x}").into_bytes();
        let record = WriteOp {
            set: vec![(key.clone(), layout::encode_intent(plan))],
            ..WriteOp::default()
        };
        self.io.write(&intents, &record)?;
        let applied = plan
            .iter()
            .try_for_each(|o| self.apply_plain(o))
            .and_then(|()| {
                let done = WriteOp {
                    remove_keys: vec![key],
                    ..WriteOp::default()
                };
                write_tolerating_absence(&self.io, &intents, &done).map_err(backend)
            });
        if let Err(e) = applied {
            // The intent is durable and will be replayed by the next open; until then this
            // process must not write over a half-applied commit.
            state.failed = true;
            tracing::error!("RADOS store: a commit failed half-applied ({e}); reopen to recover");
            return Err(Refused::Error(e));
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
        let (mut after, mut points) = match lower {
            Bound::Unbounded => (Vec::new(), Vec::new()),
            Bound::Excluded(k) => (k, Vec::new()),
            Bound::Included(k) => (k.clone(), vec![k]),
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
            let Some(read) = self
                .io
                .read(object, &points, Some((&after, &prefix, PAGE)))
                .map_err(backend)?
            else {
                return Ok(ControlFlow::Continue(()));
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

    /// The table's partition objects of `keyspace` whose hash lies in the segment, in storage
    /// order.
    fn segment_objects(&self, s: &SegmentScan<'_>) -> Result<Vec<String>, StorageError> {
        let (lo, hi) = segment_bounds(s.segment, s.total_segments);
        let group = layout::group_objects(&self.prefix, s.table, s.keyspace);
        let mut names: Vec<String> = self
            .io
            .list()
            .map_err(backend)?
            .into_iter()
            .filter(|name| {
                let Some(hash) = name.strip_prefix(&group).and_then(layout::hash_of_name) else {
                    return false;
                };
                hash >= lo
                    && match hi {
                        Bound::Excluded(h) => hash < h,
                        _ => true,
                    }
            })
            .collect();
        names.sort();
        Ok(names)
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
        let start = match s.start_after {
            Some((partition, sort)) => Some((
                layout::object_name(&self.prefix, s.table, s.keyspace, partition)?,
                layout::omap_key(s.keyspace, sort),
            )),
            None => None,
        };
        for object in self.segment_objects(s)? {
            let lower = match &start {
                Some((first, _)) if object < *first => continue,
                Some((first, after)) if object == *first => Bound::Excluded(after.clone()),
                _ => Bound::Unbounded,
            };
            let flow = self.walk_object(
                &object,
                s.keyspace,
                None,
                lower,
                &Bound::Unbounded,
                false,
                visit,
            )?;
            if flow.is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Writes the stored records of `groups` from the in-memory counters.
    fn store_counter_groups(
        &self,
        state: &State,
        groups: impl IntoIterator<Item = TableId>,
        removed: Option<TableId>,
    ) -> Result<(), StorageError> {
        let mut op = WriteOp::default();
        for group in groups {
            match state.counters.record(group) {
                Some(record) => op.set.push((layout::counter_key(group), record)),
                None => op.remove_keys.push(layout::counter_key(group)),
            }
        }
        if let Some(group) = removed {
            op.remove_keys.push(layout::counter_key(group));
        }
        if op.set.is_empty() && op.remove_keys.is_empty() {
            return Ok(());
        }
        write_tolerating_absence(&self.io, &self.meta("counters"), &op).map_err(backend)
    }
}

impl Store for RadosStore {
    fn get(&self, key: &Key) -> Result<Option<Versioned>, StorageError> {
        let object = self.object_of(key)?;
        let omap_key = layout::omap_key(key.keyspace, &key.sort);
        let _state = self.state.read();
        let Some(read) = self
            .io
            .read(&object, std::slice::from_ref(&omap_key), None)
            .map_err(backend)?
        else {
            return Ok(None);
        };
        match read.keys.into_iter().find(|(k, _)| *k == omap_key) {
            Some((_, raw)) => {
                let (version, value) = codec::decode_value(&raw)?;
                Ok(Some(Versioned {
                    version,
                    value: value.to_vec(),
                }))
            }
            None => Ok(None),
        }
    }

    fn range(
        &self,
        r: &PartitionRange<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        let _state = self.state.read();
        self.range_locked(r, visit).map(|_| ())
    }

    fn scan(
        &self,
        s: &SegmentScan<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        let _state = self.state.read();
        self.scan_locked(s, visit)
    }

    fn commit(&self, batch: Batch) -> Result<u64, StorageError> {
        let mut state = self.state.write();
        self.commit_locked(&mut state, batch, None)
            .map_err(|e| match e {
                Refused::Stale => StorageError::Conflict,
                Refused::Error(e) => e,
            })
    }

    fn read_modify_write(
        &self,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        // The latch queues this process's read-modify-writes of one key; the state lock is not
        // held while `f` runs, so `f` may read the store.
        let _latch = self.latches.lock(&[self.latches.stripe_of(key)]);
        loop {
            let current = self.get(key)?;
            let Some(batch) = f(current.as_ref()) else {
                return Ok(None);
            };
            let expected = current.as_ref().map(|v| v.version);
            let mut state = self.state.write();
            match self.commit_locked(&mut state, batch, Some((key, expected))) {
                Ok(version) => return Ok(Some(version)),
                // A plain commit, or another process, changed the key: run `f` again.
                Err(Refused::Stale) => continue,
                Err(Refused::Error(e)) => return Err(e),
            }
        }
    }

    fn counts(&self, counter: CounterId) -> Result<Option<Counts>, StorageError> {
        Ok(self.state.read().counters.get(counter))
    }

    fn recount(
        &self,
        counter: CounterId,
        keyspace: Keyspace,
        table: TableId,
        weigh: &mut dyn FnMut(EntryRef<'_>) -> Result<i64, StorageError>,
    ) -> Result<Option<Counts>, StorageError> {
        // Commits wait while the walk runs (the lock is the snapshot), as in the in-memory
        // engine: no delta can fall between the count and its start.
        let mut state = self.state.write();
        let Some(generation) = state.counters.begin_recount(counter) else {
            return Ok(None);
        };
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
        let value = state.counters.finish_recount(counter, generation, counted);
        if value.is_some() {
            self.store_counter_groups(&state, [counter.group], None)?;
        }
        Ok(value)
    }

    fn drop_table(&self, table: TableId) -> Result<(), StorageError> {
        let mut state = self.state.write();
        // The mark makes a drop interrupted by a crash finish at the next open.
        let drops = self.meta("drops");
        let mark = format!("{table:016x}").into_bytes();
        let op = WriteOp {
            set: vec![(mark.clone(), Vec::new())],
            ..WriteOp::default()
        };
        self.io.write(&drops, &op).map_err(backend)?;
        let objects = layout::table_objects(&self.prefix, table);
        for name in self.io.list().map_err(backend)? {
            if name.starts_with(&objects) {
                self.io.remove(&name).map_err(backend)?;
            }
        }
        let touched = state.counters.drop_table(table);
        self.store_counter_groups(&state, touched, Some(table))?;
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

    fn announce(&self, topic: &[u8]) -> Result<(), StorageError> {
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
