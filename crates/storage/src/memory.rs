//! The in-memory engine: one `BTreeMap` per keyspace under one `RwLock`, using the shared
//! [`codec`](crate::codec) key layout so its storage order matches the durable engines.
//!
//! Commits check guards and apply under the write lock, so they are atomic without latches.
//! `read_modify_write` additionally holds the key's striped latch across read + closure +
//! commit, so concurrent read-modify-writes of one hot key queue instead of spinning, and
//! `read_modify_write_many` holds the latches of all its keys the same way.
//! Reads hold the read lock for the whole visit (that is the consistent snapshot), so a visitor
//! must not call back into the same store. Counters live in the same `Inner`, so a counter
//! write applies under the same write lock as the data; a recount walks under the read lock
//! (downgraded from the write lock that started it), so writers wait for it to finish: the
//! in-memory engine has no snapshots to walk instead.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use parking_lot::RwLock;

use crate::codec::{self, PhysicalRange};
use crate::counters::CounterTable;
use crate::latch::StripedLatches;
use crate::{
    Batch, CheckpointRecord, CounterId, Counts, EntryRef, Key, Keyspace, PartitionRange,
    SegmentScan, StorageError, Store, TableId, Versioned,
};

/// Number of read-modify-write latch stripes.
const LATCH_STRIPES: usize = 1024;

type Space = BTreeMap<Vec<u8>, Versioned>;

#[derive(Debug, Default)]
struct Inner {
    spaces: [Space; 6],
    high_water: u64,
    counters: CounterTable,
}

/// The in-memory [`Store`]: nothing survives the process.
#[derive(Debug)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
    latches: StripedLatches,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Why an internal commit did not apply.
enum Refused {
    /// The read-modify-write's implicit guard failed: re-read and call the closure again.
    Stale,
    /// A real error (including a failed explicit guard).
    Error(StorageError),
}

fn guard_holds(space: &Space, key: &[u8], expected: Option<u64>) -> bool {
    space.get(key).map(|v| v.version) == expected
}

fn visit_range<'a>(
    entries: impl Iterator<Item = (&'a Vec<u8>, &'a Versioned)>,
    visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
) -> Result<(), StorageError> {
    for (k, v) in entries {
        let (partition, sort) = codec::decode_key(k)?;
        let entry = EntryRef {
            partition,
            sort,
            version: v.version,
            value: &v.value,
        };
        if visit(entry).is_break() {
            break;
        }
    }
    Ok(())
}

impl MemoryStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        MemoryStore {
            inner: RwLock::new(Inner::default()),
            latches: StripedLatches::new(LATCH_STRIPES),
        }
    }

    /// Applies `batch` atomically under the write lock; `implicit` are read-modify-write's
    /// guards on the keys it read.
    fn apply(
        &self,
        batch: Batch,
        implicit: &[(Keyspace, &[u8], Option<u64>)],
    ) -> Result<u64, Refused> {
        let encoded = codec::encode_batch(batch).map_err(Refused::Error)?;
        let mut inner = self.inner.write();
        for &(ks, key, expected) in implicit {
            if !guard_holds(&inner.spaces[ks.index()], key, expected) {
                return Err(Refused::Stale);
            }
        }
        for (ks, key, expected) in &encoded.guards {
            if !guard_holds(&inner.spaces[ks.index()], key, *expected) {
                return Err(Refused::Error(StorageError::Conflict));
            }
        }
        if encoded.writes.is_empty() && encoded.counters.is_empty() {
            return Ok(inner.high_water);
        }
        inner.high_water += 1;
        for change in encoded.counters {
            change.apply(&mut inner.counters);
        }
        let version = inner.high_water;
        for (ks, key, value) in encoded.writes {
            let space = &mut inner.spaces[ks.index()];
            match value {
                Some(value) => {
                    space.insert(key, Versioned { version, value });
                }
                None => {
                    space.remove(&key);
                }
            }
        }
        Ok(version)
    }

    /// [`Store::read_modify_write_many`] (and, with one key, [`Store::read_modify_write`]):
    /// holds the latches of `keys` across read + `f` + commit; the commit's implicit guards
    /// catch the plain commits, which take no latch.
    fn read_modify_write_latched(
        &self,
        keys: &[Key],
        f: &mut dyn FnMut(&[Option<Versioned>]) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        let physical = keys
            .iter()
            .map(codec::encode)
            .collect::<Result<Vec<_>, _>>()?;
        let _latches = self.latches.lock(&self.latches.stripes_of(keys));
        loop {
            let current: Vec<Option<Versioned>> = {
                let inner = self.inner.read();
                keys.iter()
                    .zip(&physical)
                    .map(|(key, p)| inner.spaces[key.keyspace.index()].get(p).cloned())
                    .collect()
            };
            let Some(batch) = f(&current) else {
                return Ok(None);
            };
            let implicit: Vec<_> = keys
                .iter()
                .zip(&physical)
                .zip(&current)
                .map(|((key, p), read)| {
                    (key.keyspace, p.as_slice(), read.as_ref().map(|v| v.version))
                })
                .collect();
            match self.apply(batch, &implicit) {
                Ok(version) => return Ok(Some(version)),
                // A plain commit (which takes no latch) changed a key: run `f` again.
                Err(Refused::Stale) => continue,
                Err(Refused::Error(e)) => return Err(e),
            }
        }
    }

    fn walk(
        &self,
        keyspace: Keyspace,
        range: Option<PhysicalRange>,
        reverse: bool,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        let Some(range) = range else { return Ok(()) };
        let inner = self.inner.read();
        let entries = inner.spaces[keyspace.index()].range::<Vec<u8>, _>(range);
        if reverse {
            visit_range(entries.rev(), visit)
        } else {
            visit_range(entries, visit)
        }
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &Key) -> Result<Option<Versioned>, StorageError> {
        let physical = codec::encode(key)?;
        Ok(self.inner.read().spaces[key.keyspace.index()]
            .get(&physical)
            .cloned())
    }

    fn range(
        &self,
        r: &PartitionRange<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        self.walk(
            r.keyspace,
            codec::partition_range_bounds(r)?,
            r.reverse,
            visit,
        )
    }

    fn scan(
        &self,
        s: &SegmentScan<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        self.walk(s.keyspace, codec::segment_range_bounds(s)?, false, visit)
    }

    fn commit(&self, batch: Batch) -> Result<u64, StorageError> {
        self.apply(batch, &[]).map_err(|e| match e {
            Refused::Stale => StorageError::Conflict,
            Refused::Error(e) => e,
        })
    }

    fn read_modify_write(
        &self,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        self.read_modify_write_latched(std::slice::from_ref(key), &mut |current| {
            f(current.first().and_then(Option::as_ref))
        })
    }

    fn read_modify_write_many(
        &self,
        keys: &[Key],
        f: &mut dyn FnMut(&[Option<Versioned>]) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        self.read_modify_write_latched(keys, f)
    }

    fn counts(&self, counter: CounterId) -> Result<Option<Counts>, StorageError> {
        Ok(self.inner.read().counters.get(counter))
    }

    fn recount(
        &self,
        counter: CounterId,
        keyspace: Keyspace,
        table: TableId,
        weigh: &mut dyn FnMut(EntryRef<'_>) -> Result<i64, StorageError>,
    ) -> Result<Option<Counts>, StorageError> {
        let scan = SegmentScan {
            keyspace,
            table,
            segment: 0,
            total_segments: 1,
            start_after: None,
        };
        let range = codec::segment_range_bounds(&scan)?;
        let mut inner = self.inner.write();
        let Some(generation) = inner.counters.begin_recount(counter) else {
            return Ok(None);
        };
        // Downgraded, not released: no commit can come between the start and the walk.
        let inner = parking_lot::RwLockWriteGuard::downgrade(inner);
        let mut counted = Counts::default();
        if let Some(range) = range {
            for (k, v) in inner.spaces[keyspace.index()].range::<Vec<u8>, _>(range) {
                let (partition, sort) = codec::decode_key(k)?;
                counted.items += 1;
                counted.bytes += weigh(EntryRef {
                    partition,
                    sort,
                    version: v.version,
                    value: &v.value,
                })?;
            }
        }
        drop(inner);
        Ok(self
            .inner
            .write()
            .counters
            .finish_recount(counter, generation, counted))
    }

    fn drop_table(&self, table: TableId) -> Result<(), StorageError> {
        let prefix = codec::table_prefix(table)?.to_vec();
        let end = codec::prefix_successor(&prefix);
        let mut inner = self.inner.write();
        inner.counters.drop_table(table);
        for space in &mut inner.spaces {
            let mut dropped = space.split_off(&prefix);
            if let Some(end) = &end {
                let mut after = dropped.split_off(end);
                space.append(&mut after);
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Walks under the read lock: writers wait for the copy (the in-memory engine has no
    /// snapshots; it serves tests and `--in-memory`, whose data fits in memory anyway).
    fn checkpoint(
        &self,
        visit: &mut dyn FnMut(CheckpointRecord<'_>) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let inner = self.inner.read();
        visit(CheckpointRecord::Snapshot {
            version: inner.high_water,
        })?;
        for keyspace in Keyspace::ALL {
            for (key, stored) in &inner.spaces[keyspace.index()] {
                let value = codec::encode_value(stored.version, &stored.value);
                visit(CheckpointRecord::Entry {
                    keyspace,
                    key,
                    value: &value,
                })?;
            }
        }
        for group in inner.counters.groups() {
            if let Some(record) = inner.counters.record(group) {
                visit(CheckpointRecord::Counters {
                    group,
                    record: &record,
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn conformance() {
        crate::conformance::run_all(&|| Arc::new(MemoryStore::new()) as Arc<dyn Store>);
    }

    /// A store keeping the trait's default `read_modify_write_many` (read, then one guarded
    /// commit), as engines without latches do: the contract's checks hold for it too. The
    /// delegating test store keeps that default (see `crate::testing`).
    type DefaultMany = crate::testing::Hooked<crate::testing::NoHooks>;

    #[test]
    fn default_read_modify_write_many_conforms() {
        let make = || Arc::new(DefaultMany::default()) as Arc<dyn Store>;
        crate::conformance::read_modify_write_many_basics(&make);
        crate::conformance::read_modify_write_many_concurrent(&make);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn matches_oracle(seed in proptest::prelude::any::<u64>(), len in 1usize..400) {
            let store = MemoryStore::new();
            crate::conformance::check_against_oracle(&store, &crate::conformance::random_ops(seed, len));
        }
    }
}
