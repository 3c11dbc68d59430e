//! Guarded commits: one compound operation when a batch touches one object, the coordinator's
//! protocol (record, locks, commit point, apply, release) when it touches several. See the
//! crate's documentation for the protocol and why it is safe between processes.

use std::collections::{BTreeMap, BTreeSet};

use binderdb_rados::WriteOp;
use binderdb_storage::codec;
use binderdb_storage::{Batch, Key, Keyspace, StorageError, TableId, Write};

use crate::coord::{backend, raced, Backoff, Resolution};
use crate::counters::{self, Epoch, LaneChange, Merge};
use crate::layout::{self, ObjectWrites, TxnRef};
use crate::{RadosStore, Refused, State};

/// A guard as a commit checks it: omap key, expected version, whether it is the implicit
/// guard of a read-modify-write.
type GuardCheck = (Vec<u8>, Option<u64>, bool);

/// One object's part of a commit, before the commit's version is known.
#[derive(Debug, Default)]
pub(crate) struct Share {
    guards: Vec<GuardCheck>,
    /// The partition of the object's entries, if the commit puts one.
    partition: Option<Vec<u8>>,
    /// Each omap key's new value, not yet encoded with the version (`None`: removed).
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Counter keys whose new value is computed from the value read ([`counters`]).
    merges: BTreeMap<Vec<u8>, Merge>,
}

impl Share {
    /// A share of the counter registry object: `merges` and plain `writes`.
    pub(crate) fn for_registry(
        merges: Vec<(Vec<u8>, Merge)>,
        writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Share {
        let mut share = Share::default();
        for (key, merge) in merges {
            share.merge(key, merge);
        }
        share.writes.extend(writes);
        share
    }

    /// Every omap key the commit guards or writes in this object: the keys it locks.
    fn keys(&self) -> BTreeSet<Vec<u8>> {
        self.guards
            .iter()
            .map(|(k, _, _)| k.clone())
            .chain(self.writes.keys().cloned())
            .chain(self.merges.keys().cloned())
            .collect()
    }

    /// The keys whose values the commit must read: guarded and merged keys.
    fn read_keys(&self) -> Vec<Vec<u8>> {
        self.guards
            .iter()
            .map(|(k, _, _)| k.clone())
            .chain(self.merges.keys().cloned())
            .collect()
    }

    fn writes_anything(&self) -> bool {
        !self.writes.is_empty() || !self.merges.is_empty()
    }

    fn merge(&mut self, key: Vec<u8>, merge: Merge) {
        match self.merges.get_mut(&key) {
            Some(existing) => existing.absorb(merge),
            None => {
                self.merges.insert(key, merge);
            }
        }
    }

    /// The share's writes, encoded with `version`; merged keys computed from `seen`.
    fn plan(
        &self,
        object: &str,
        version: u64,
        locks: Vec<Vec<u8>>,
        seen: &Seen,
    ) -> Result<ObjectWrites, StorageError> {
        let mut o = ObjectWrites {
            object: object.to_owned(),
            locks,
            ..ObjectWrites::default()
        };
        if let Some(partition) = &self.partition {
            o.set
                .push((layout::PARTITION_KEY.to_vec(), partition.clone()));
        }
        for (key, value) in &self.writes {
            match value {
                Some(value) => o
                    .set
                    .push((key.clone(), codec::encode_value(version, value))),
                None => o.remove.push(key.clone()),
            }
        }
        for (key, merge) in &self.merges {
            let old = seen.values.as_ref().and_then(|v| v.get(key));
            match merge.apply(old.map(Vec::as_slice), version)? {
                Some(value) => o.set.push((key.clone(), value)),
                None => o.remove.push(key.clone()),
            }
        }
        Ok(o)
    }
}

/// What one read of a share's object found: the values of its guarded keys (`None`: the
/// object does not exist), the locks present, and the version the commit must exceed: the
/// highest among the guarded keys, and among the lane epochs of a registry record it changes
/// ([`Merge::floor`]).
struct Seen {
    values: Option<BTreeMap<Vec<u8>, Vec<u8>>>,
    max_version: u64,
}

impl RadosStore {
    /// Checks the guards and applies `batch` atomically. `implicit` is read-modify-write's guard
    /// on the key it read.
    pub(crate) fn commit_inner(
        &self,
        batch: &Batch,
        implicit: Option<(&Key, Option<u64>)>,
    ) -> Result<u64, Refused> {
        let _gate = self.gate.read();
        let mut shares: BTreeMap<String, Share> = BTreeMap::new();
        for (key, expected, is_implicit) in batch
            .guards
            .iter()
            .map(|g| (&g.key, g.expected, false))
            .chain(implicit.map(|(k, e)| (k, e, true)))
        {
            shares
                .entry(self.object_of(key)?)
                .or_default()
                .guards
                .push((
                    layout::omap_key(key.keyspace, &key.sort),
                    expected,
                    is_implicit,
                ));
        }
        // Entries that a commit may move without a delta (see `counters::moves_entries`): while
        // another node's recount walks them, the commit waits for the walk, as a counted one
        // does (see `counters`).
        let moved: BTreeSet<(Keyspace, TableId)> = batch
            .writes
            .iter()
            .filter_map(|write| match write {
                Write::Put { key, .. } | Write::Delete { key }
                    if counters::moves_entries(key.keyspace) =>
                {
                    Some((key.keyspace, key.table))
                }
                _ => None,
            })
            .collect();
        for (keyspace, table) in moved {
            if let Some(counter) = self.walk_counter(keyspace, table)? {
                self.lane_epoch(counter.group, counter.lane)?;
            }
        }
        // Counter writes, per group: lane changes for the registry, deltas for a contribution.
        let mut lanes: BTreeMap<TableId, Vec<LaneChange>> = BTreeMap::new();
        let mut deltas: BTreeMap<TableId, Vec<(TableId, Epoch, binderdb_storage::Counts)>> =
            BTreeMap::new();
        for write in &batch.writes {
            match write {
                Write::Put { key, value } => {
                    let share = shares.entry(self.object_of(key)?).or_default();
                    share.partition = Some(key.partition.clone());
                    share.writes.insert(
                        layout::omap_key(key.keyspace, &key.sort),
                        Some(value.clone()),
                    );
                }
                Write::Delete { key } => {
                    shares
                        .entry(self.object_of(key)?)
                        .or_default()
                        .writes
                        .insert(layout::omap_key(key.keyspace, &key.sort), None);
                }
                Write::SetCount { counter, value } => {
                    // A set overrides the deltas before it in the batch.
                    if let Some(d) = deltas.get_mut(&counter.group) {
                        d.retain(|(lane, _, _)| *lane != counter.lane);
                    }
                    lanes
                        .entry(counter.group)
                        .or_default()
                        .push(LaneChange::Set(counter.lane, *value));
                }
                Write::Count { counter, delta } => {
                    let set_here = lanes.get(&counter.group).is_some_and(|changes| {
                        changes
                            .iter()
                            .any(|c| matches!(c, LaneChange::Set(l, _) if *l == counter.lane))
                    });
                    let epoch = if set_here {
                        Some(Epoch::ThisCommit)
                    } else {
                        self.lane_epoch(counter.group, counter.lane)?
                            .map(Epoch::Known)
                    };
                    // An unknown lane ignores deltas.
                    if let Some(epoch) = epoch {
                        deltas.entry(counter.group).or_default().push((
                            counter.lane,
                            epoch,
                            *delta,
                        ));
                    }
                }
            }
        }
        for (group, deltas) in &deltas {
            if deltas.is_empty() {
                continue;
            }
            // Into an object of the table the commit writes anyway, so counting adds no object.
            let table_prefix = layout::table_objects(&self.prefix, *group);
            let home = shares
                .keys()
                .find(|o| o.starts_with(&table_prefix))
                .cloned()
                .unwrap_or_else(|| layout::counter_object(&self.prefix, *group));
            shares.entry(home).or_default().merge(
                counters::contribution_key(*group),
                Merge::Add(deltas.clone()),
            );
        }
        if !lanes.is_empty() {
            let registry = shares.entry(self.meta("counters")).or_default();
            for (group, changes) in &lanes {
                registry.merge(
                    counters::registry_key(*group),
                    Merge::Lanes(changes.clone()),
                );
                // Setting a counter revives a dropped id.
                registry
                    .writes
                    .insert(counters::tombstone_key(*group), None);
                for change in changes {
                    if let LaneChange::Set(lane, _) = change {
                        registry.writes.insert(counters::tombstone_key(*lane), None);
                    }
                }
            }
        }
        let result = if shares.len() <= 1 {
            match shares.iter().next() {
                Some((object, share)) => self.commit_single(object, share),
                None => Ok(self.state.lock().high_water),
            }
        } else {
            self.commit_multi(&shares)
        };
        if result.is_ok() && (!deltas.is_empty() || !lanes.is_empty()) {
            let mut caches = self.caches.lock();
            for group in deltas.keys().chain(lanes.keys()) {
                caches.sums.remove(group);
            }
            for group in lanes.keys() {
                caches.registry.remove(group);
            }
        }
        result
    }

    /// Reads a share's guarded keys and the locks over everything it touches, resolving locks
    /// until none is held by another transaction than `mine`, and checks the guards.
    fn read_share(
        &self,
        object: &str,
        share: &Share,
        locks: &[Vec<u8>],
        mine: Option<&[u8]>,
    ) -> Result<Seen, Refused> {
        let mut keys = share.read_keys();
        keys.extend(locks.iter().cloned());
        let mut backoff = Backoff::new();
        'read: loop {
            let read = self.io.read(object, &keys, None).map_err(backend)?;
            let values: Option<BTreeMap<Vec<u8>, Vec<u8>>> =
                read.map(|r| r.keys.into_iter().collect());
            if let Some(values) = &values {
                for lock in locks {
                    let Some(holder) = values.get(lock) else {
                        continue;
                    };
                    if Some(holder.as_slice()) == mine {
                        continue;
                    }
                    match self.coord.resolve(object, lock, holder)? {
                        Resolution::Held => backoff.wait()?,
                        Resolution::Applied | Resolution::Free => {}
                    }
                    continue 'read;
                }
            }
            let mut max_version = 0;
            for (key, expected, is_implicit) in &share.guards {
                let actual = match values.as_ref().and_then(|v| v.get(key)) {
                    Some(raw) => Some(crate::version_of(raw)?),
                    None => None,
                };
                if actual != *expected {
                    return Err(if *is_implicit {
                        Refused::Stale
                    } else {
                        Refused::Error(StorageError::Conflict)
                    });
                }
                max_version = max_version.max(actual.unwrap_or(0));
            }
            for (key, merge) in &share.merges {
                let old = values.as_ref().and_then(|v| v.get(key));
                max_version = max_version.max(merge.floor(old.map(Vec::as_slice)));
            }
            return Ok(Seen {
                values,
                max_version,
            });
        }
    }

    /// The comparisons that make a compound write apply only to the state `seen` read: each
    /// guarded key still holds the bytes read, and no lock appeared. An object that did not
    /// exist must still not exist.
    fn assert_unchanged(share: &Share, seen: &Seen, locks: &[Vec<u8>], op: &mut WriteOp) {
        match &seen.values {
            Some(values) => {
                for key in share.read_keys() {
                    // A missing key compares as empty, and stored values never are.
                    let value = values.get(&key).cloned().unwrap_or_default();
                    op.compare.push((key, value));
                }
                for lock in locks {
                    op.compare.push((lock.clone(), Vec::new()));
                }
            }
            None => op.create_exclusive = true,
        }
    }

    /// Commits one object's share (the caller holds the gate).
    pub(crate) fn commit_share(&self, object: &str, share: &Share) -> Result<u64, Refused> {
        self.commit_single(object, share)
    }

    /// A commit inside one object: one compound operation whose comparisons re-check, at the
    /// OSD, the guards and the absence of locks that a read found.
    fn commit_single(&self, object: &str, share: &Share) -> Result<u64, Refused> {
        let locks: Vec<Vec<u8>> = share.keys().iter().map(|k| layout::lock_key(k)).collect();
        // Never held while waiting for anything but RADOS, and never with another latch of
        // this kind, so it cannot deadlock.
        let _queue = (!share.merges.is_empty()).then(|| {
            let stripe =
                xxhash_rust::xxh3::xxh3_64(object.as_bytes()) % crate::LATCH_STRIPES as u64;
            self.object_latches
                .lock(&[usize::try_from(stripe).unwrap_or_default()])
        });
        loop {
            let seen = self.read_share(object, share, &locks, None)?;
            if !share.writes_anything() {
                return Ok(self.state.lock().high_water);
            }
            let version = self.next_version_above(seen.max_version)?;
            let plan = share.plan(object, version, Vec::new(), &seen)?;
            if seen.values.is_none() && plan.set.is_empty() {
                // Only removals, in an object that does not exist: nothing to do.
                return Ok(version);
            }
            if seen.values.is_none() {
                // This write creates the object: into the partition index first.
                self.index_partition(object)?;
            }
            let mut op = WriteOp {
                set: plan.set,
                remove_keys: plan.remove,
                ..WriteOp::default()
            };
            Self::assert_unchanged(share, &seen, &locks, &mut op);
            match self.io.write(object, &op) {
                Ok(()) => return Ok(version),
                // Removing keys of an object that is gone: nothing to do.
                Err(e) if e.errno == binderdb_rados::ENOENT && op.set.is_empty() => {
                    return Ok(version)
                }
                // Changed since read: read again (a moved guard is then a conflict).
                Err(e) if raced(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A commit over several objects, through a transaction record and locks.
    fn commit_multi(&self, shares: &BTreeMap<String, Share>) -> Result<u64, Refused> {
        loop {
            let txn = TxnRef {
                node: self.coord.node_id(),
                id: self.next_version_above(0)?,
            };
            match self.run_transaction(txn, shares) {
                // Recovery aborted it (this node looked dead): run it again.
                Err(Refused::Aborted) => continue,
                other => return other,
            }
        }
    }

    fn run_transaction(
        &self,
        txn: TxnRef,
        shares: &BTreeMap<String, Share>,
    ) -> Result<u64, Refused> {
        let value = txn.encode();
        self.coord.begin(txn)?;
        let mut held: Vec<(&str, Vec<Vec<u8>>, Seen)> = Vec::with_capacity(shares.len());
        let mut max_version = txn.id;
        let locked = shares.iter().try_for_each(|(object, share)| {
            let locks: Vec<Vec<u8>> = share.keys().iter().map(|k| layout::lock_key(k)).collect();
            loop {
                let seen = self.read_share(object, share, &locks, Some(&value))?;
                if seen.values.is_none() {
                    // The locks create the object: into the partition index first.
                    self.index_partition(object)?;
                }
                let mut op = WriteOp {
                    set: locks.iter().map(|l| (l.clone(), value.clone())).collect(),
                    ..WriteOp::default()
                };
                Self::assert_unchanged(share, &seen, &locks, &mut op);
                match self.io.write(object, &op) {
                    Ok(()) => {
                        max_version = max_version.max(seen.max_version);
                        held.push((object.as_str(), locks, seen));
                        return Ok(());
                    }
                    Err(e) if raced(&e) => continue,
                    Err(e) => return Err(Refused::from(e)),
                }
            }
        });
        let writes = shares.values().any(Share::writes_anything);
        if locked.is_err() || !writes {
            // A failed guard, or a check of guards only: let everything go.
            for (object, locks, _) in &held {
                self.coord.release(txn, object, locks)?;
            }
            self.coord.forget(txn)?;
            return locked.map(|()| self.state.lock().high_water);
        }
        let version = self.next_version_above(max_version)?;
        let plan = shares
            .iter()
            .zip(held)
            .map(|((object, share), (_, locks, seen))| share.plan(object, version, locks, &seen))
            .collect::<Result<Vec<ObjectWrites>, StorageError>>();
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => {
                for (object, share) in shares {
                    let locks: Vec<Vec<u8>> =
                        share.keys().iter().map(|k| layout::lock_key(k)).collect();
                    self.coord.release(txn, object, &locks)?;
                }
                self.coord.forget(txn)?;
                return Err(e.into());
            }
        };
        if !self.coord.commit_point(txn, &plan)? {
            for share in &plan {
                self.coord.release(txn, &share.object, &share.locks)?;
            }
            return Err(Refused::Aborted);
        }
        // Committed: from here on the commit stands. If applying fails, the record and the
        // locks stay, and whoever meets a lock (or sweeps this node once it is gone) rolls the
        // commit forward.
        let applied = plan
            .iter()
            .try_for_each(|share| self.coord.apply_share(txn, share))
            .and_then(|()| self.coord.forget(txn));
        if let Err(e) = applied {
            tracing::warn!("RADOS store: applying a committed transaction failed ({e}); it is rolled forward by the next reader or by recovery");
        }
        Ok(version)
    }

    /// The next version, strictly above `floor` (a version this commit read: another node's
    /// block may be ahead of this node's, and a key's version must grow).
    pub(crate) fn next_version_above(&self, floor: u64) -> Result<u64, StorageError> {
        let mut state = self.state.lock();
        if state.next_version == 0
            || state.next_version > state.reserved_until
            || state.next_version <= floor
        {
            self.reserve_versions(&mut state)?;
        }
        let version = state.next_version;
        state.next_version += 1;
        state.high_water = state.high_water.max(version);
        Ok(version)
    }

    /// Reserves the next block of versions with a compare-and-set on the sequence object.
    fn reserve_versions(&self, state: &mut State) -> Result<(), StorageError> {
        let sequence = self.meta("sequence");
        loop {
            let read = self
                .io
                .read(&sequence, &[crate::NEXT_KEY.to_vec()], None)
                .map_err(backend)?;
            let current_raw = read
                .as_ref()
                .and_then(|r| r.keys.first().map(|(_, v)| v.clone()));
            let current = current_raw
                .as_deref()
                .map(crate::u64_of)
                .transpose()?
                .unwrap_or(0);
            let reserved = current.saturating_add(crate::VERSION_BLOCK);
            let op = WriteOp {
                create_exclusive: read.is_none(),
                compare: if read.is_some() {
                    vec![(crate::NEXT_KEY.to_vec(), current_raw.unwrap_or_default())]
                } else {
                    Vec::new()
                },
                set: vec![(crate::NEXT_KEY.to_vec(), reserved.to_be_bytes().to_vec())],
                ..WriteOp::default()
            };
            match self.io.write(&sequence, &op) {
                Ok(()) => {
                    state.next_version = current + 1;
                    state.reserved_until = reserved;
                    return Ok(());
                }
                // Another process reserved meanwhile: read again.
                Err(e) if raced(&e) => continue,
                Err(e) => return Err(backend(e)),
            }
        }
    }
}
