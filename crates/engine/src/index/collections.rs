//! Item collections: on a table with local secondary indexes, the items that share a partition
//! key together with their local index entries. DynamoDB caps a collection at 10 GB
//! (ItemCollectionSizeLimitExceededException) and reports its size to writes that ask for
//! `ReturnItemCollectionMetrics=SIZE`.
//!
//! A collection's size is computed by one walk of its partition (table items, then each local
//! index's entries for the same partition key) the first time a write touches it, then kept
//! current by every write's delta. Items count at their size, local index entries at their
//! size plus DynamoDB's 100 bytes of per-entry overhead.

use std::ops::{Bound, ControlFlow};

use binderdb_model::{decode_item, decode_key_value, item_size, Item};
use binderdb_storage::{Keyspace, PartitionRange, Store};

use crate::api::ItemCollectionMetrics;
use crate::catalog::{Table, TableDescriptor};
use crate::error::{Error, Result};
use crate::index::{IndexKind, INDEX_ENTRY_OVERHEAD};

const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The current size of the collection of `partition` (encoded partition key bytes).
///
/// # Errors
/// Storage failures; undecodable items.
pub(crate) fn collection_size(
    store: &dyn Store,
    table: &Table,
    descriptor: &TableDescriptor,
    partition: &[u8],
) -> Result<i64> {
    if let Some(size) = table.collections.lock().get(partition) {
        return Ok(*size);
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
    // A concurrent write may have loaded (and updated) it meanwhile: keep that value.
    Ok(*table
        .collections
        .lock()
        .entry(partition.to_vec())
        .or_insert(size))
}

/// Records a write's change to the collection of `partition`; returns the new size.
pub(crate) fn record(table: &Table, partition: &[u8], delta: i64) -> i64 {
    let mut collections = table.collections.lock();
    // Looked up by the borrowed bytes first: the key is copied only for a new collection.
    let size = match collections.get_mut(partition) {
        Some(size) => size,
        None => collections.entry(partition.to_vec()).or_insert(0),
    };
    *size += delta;
    *size
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
