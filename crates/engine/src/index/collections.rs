//! Item collections: on a table with local secondary indexes, the items that share a partition
//! key together with their local index entries. DynamoDB caps a collection at 10 GB
//! (ItemCollectionSizeLimitExceededException) and reports its size to writes that ask for
//! `ReturnItemCollectionMetrics=SIZE`.
//!
//! A collection's size is computed by one walk of its partition (table items, then each local
//! index's entries for the same partition key) when a write touches it and its size is not
//! known, then kept current by every write's delta. Items count at their size, local index
//! entries at their size plus DynamoDB's 100 bytes of per-entry overhead.
//!
//! Memory is bounded ([`CollectionSizes`]): a table keeps the sizes of at most
//! [`crate::Config::item_collection_cache`] collections, evicting the least recently written
//! first, except collections of at least [`large_collection_bytes`] (a thousandth of the
//! limit), which stay because walking one again costs in proportion to its size. A forgotten
//! size is walked again from the store on the next write, so the limit and the metrics stay
//! exact: the walk reads what every committed write left.
//!
//! A write records its delta only in a size that is still held (never in a forgotten one: the
//! next walk counts it), and a walk keeps a size another write loaded meanwhile. A walk that
//! overlaps a concurrent commit to the same collection may count that commit once too often
//! or not at all until the size is forgotten again; DynamoDB's own figure is an estimate
//! (`SizeEstimateRangeGB`), and the limit check of sequential writes is exact.

use std::collections::HashMap;
use std::ops::{Bound, ControlFlow};

use binderdb_model::{decode_item, decode_key_value, item_size, Item};
use binderdb_storage::{Keyspace, PartitionRange, Store};

use crate::api::ItemCollectionMetrics;
use crate::catalog::{Table, TableDescriptor};
use crate::error::{Error, Result};
use crate::index::{IndexKind, INDEX_ENTRY_OVERHEAD};

const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The known sizes of a table's item collections, bounded (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct CollectionSizes {
    /// Partition key bytes → size and last use.
    sizes: HashMap<Vec<u8>, Held>,
    /// Advances at every use: the order of last uses.
    clock: u64,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    size: i64,
    used: u64,
}

impl CollectionSizes {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The size of `partition`'s collection, if held.
    pub(crate) fn get(&mut self, partition: &[u8]) -> Option<i64> {
        let now = self.tick();
        let held = self.sizes.get_mut(partition)?;
        held.used = now;
        Some(held.size)
    }

    /// Holds `size` (just walked) for `partition` unless a size is held already (a concurrent
    /// write loaded it first and may have recorded its delta since); returns the held size.
    /// Trims the sizes to `capacity` when they exceed it (see [`CollectionSizes::trim`]).
    pub(crate) fn load(&mut self, partition: &[u8], size: i64, capacity: usize, large: i64) -> i64 {
        let now = self.tick();
        let held = self
            .sizes
            .entry(partition.to_vec())
            .or_insert(Held { size, used: now });
        held.used = now;
        let size = held.size;
        if self.sizes.len() > capacity {
            self.trim(capacity, large);
        }
        size
    }

    /// Adds a committed write's `delta` to `partition`'s size, if held; returns the new size.
    pub(crate) fn record(&mut self, partition: &[u8], delta: i64) -> Option<i64> {
        let now = self.tick();
        let held = self.sizes.get_mut(partition)?;
        held.size += delta;
        held.used = now;
        Some(held.size)
    }

    /// Forgets the least recently used sizes below `large` bytes until at most three quarters
    /// of `capacity` are held (so a trim, which sorts, runs once per quarter of `capacity`
    /// new collections), or none below `large` is left.
    fn trim(&mut self, capacity: usize, large: i64) {
        let target = capacity - capacity / 4;
        let mut small: Vec<(u64, &[u8])> = self
            .sizes
            .iter()
            .filter(|(_, held)| held.size < large)
            .map(|(key, held)| (held.used, key.as_slice()))
            .collect();
        let excess = self.sizes.len().saturating_sub(target).min(small.len());
        if excess == 0 {
            return;
        }
        small.select_nth_unstable(excess - 1);
        let evicted: Vec<Vec<u8>> = small[..excess].iter().map(|(_, k)| k.to_vec()).collect();
        for key in evicted {
            self.sizes.remove(&key);
        }
    }

    /// Number of sizes held. For tests.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sizes.len()
    }
}

/// Collections at least this large keep their size whatever the cache's capacity: a 1024th of
/// the limit (10 MiB of DynamoDB's 10 GB), so that no write waits for a long walk of a big
/// collection. Their number is at most the table's size divided by this (a hundred per GB).
pub(crate) fn large_collection_bytes(limit: u64) -> i64 {
    i64::try_from(limit / 1024).unwrap_or(i64::MAX).max(1)
}

/// The current size of the collection of `partition` (encoded partition key bytes), walked
/// from the store if it is not held; `capacity` is the most sizes `table` holds.
///
/// # Errors
/// Storage failures; undecodable items.
pub(crate) fn collection_size(
    store: &dyn Store,
    table: &Table,
    descriptor: &TableDescriptor,
    partition: &[u8],
    (capacity, limit): (usize, u64),
) -> Result<i64> {
    if let Some(size) = table.collections.lock().get(partition) {
        return Ok(size);
    }
    let mut size = walk(store, Keyspace::Items, descriptor.id, partition, 0)?;
    for index in descriptor
        .indexes
        .iter()
        .filter(|i| i.kind == IndexKind::Local)
    {
        size += walk(
            store,
            Keyspace::Lsi,
            index.id,
            partition,
            INDEX_ENTRY_OVERHEAD as i64,
        )?;
    }
    Ok(table.collections.lock().load(
        partition,
        size,
        capacity.max(1),
        large_collection_bytes(limit),
    ))
}

/// Records a committed write's change to the collection of `partition`, whose size before the
/// write was `before` (as the write's limit check saw it); returns the new size.
pub(crate) fn record(table: &Table, partition: &[u8], before: i64, delta: i64) -> i64 {
    table
        .collections
        .lock()
        .record(partition, delta)
        // Forgotten since the write looked: the next walk counts this write.
        .unwrap_or(before + delta)
}

fn walk(
    store: &dyn Store,
    keyspace: Keyspace,
    id: u64,
    partition: &[u8],
    overhead: i64,
) -> Result<i64> {
    let mut size = 0i64;
    let mut failure = None;
    let range = PartitionRange {
        keyspace,
        table: id,
        partition,
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
        reverse: false,
    };
    store.range(&range, &mut |entry| match decode_item(entry.value) {
        Ok(item) => {
            size += item_size(&item) as i64 + overhead;
            ControlFlow::Continue(())
        }
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    })?;
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(size),
    }
}

/// DynamoDB's answer to a write that would grow a collection past the limit.
pub(crate) fn limit_exceeded() -> Error {
    Error::ItemCollectionSizeLimitExceeded("Collection size exceeded.".to_owned())
}

/// `ItemCollectionMetrics` for the collection of `partition` at `size` bytes: its partition
/// key and the whole gigabytes around its size.
pub(crate) fn metrics(
    descriptor: &TableDescriptor,
    partition: &[u8],
    size: i64,
) -> Option<ItemCollectionMetrics> {
    let hash = &descriptor.key_schema.hash;
    let (value, _) = decode_key_value(hash.key_type, partition).ok()?;
    let mut key = Item::new();
    key.insert(hash.name.clone(), value);
    let lower = (size.max(0) as f64 / GB).floor();
    Some(ItemCollectionMetrics {
        item_collection_key: key,
        size_estimate_range_gb: [lower, lower + 1.0],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_kept_until_the_capacity_then_the_least_recently_used_small_ones_go() {
        let mut sizes = CollectionSizes::default();
        let large = 1000;
        sizes.load(b"big", 5000, 8, large);
        for i in 0..8u8 {
            sizes.load(&[i], 10, 8, large);
        }
        // Nine held: the trim leaves six, the three least recently used small ones gone.
        assert_eq!(sizes.len(), 6);
        assert_eq!(sizes.get(b"big"), Some(5000));
        for i in 0..3u8 {
            assert_eq!(sizes.get(&[i]), None, "{i}");
        }
        for i in 3..8u8 {
            assert_eq!(sizes.get(&[i]), Some(10), "{i}");
        }
    }

    #[test]
    fn a_write_touches_its_size_and_only_held_sizes_record_deltas() {
        let mut sizes = CollectionSizes::default();
        for key in [b"a", b"b", b"c", b"d"] {
            sizes.load(key, 10, 4, 1000);
        }
        assert_eq!(sizes.record(b"a", 5), Some(15));
        assert_eq!(sizes.record(b"zz", 5), None);
        // A walk does not replace a held size (a concurrent writer's delta may be in it).
        assert_eq!(sizes.load(b"d", 99, 4, 1000), 10);
        // Five held: "b" and "c" were used least recently ("a" was written).
        sizes.load(b"e", 1, 4, 1000);
        assert_eq!(sizes.len(), 3);
        assert_eq!(sizes.get(b"b"), None);
        assert_eq!(sizes.get(b"c"), None);
        assert_eq!(sizes.get(b"a"), Some(15));
        assert_eq!(sizes.get(b"d"), Some(10));
        assert_eq!(sizes.get(b"zz"), None);
    }

    #[test]
    fn large_collections_stay_even_past_the_capacity() {
        let mut sizes = CollectionSizes::default();
        for i in 0..10u8 {
            sizes.load(&[i], 2000, 4, 1000);
        }
        assert_eq!(sizes.len(), 10);
        assert_eq!(
            large_collection_bytes(10 * 1024 * 1024 * 1024),
            10 * 1024 * 1024
        );
        assert_eq!(large_collection_bytes(10), 1);
    }
}
