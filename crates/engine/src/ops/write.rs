//! The one item write path every write operation goes through.
//!
//! The item is read under its latch (the store's read-modify-write), a caller-supplied decision
//! turns the current item into a [`Change`] — or an error, such as a failed ConditionExpression —
//! and the change commits guarded on the version read, together with the entries of every
//! secondary index it moves (one atomic batch). Table and index statistics and the write's cost
//! are derived here once, from the old and new item, so PutItem, UpdateItem, DeleteItem and
//! BatchWriteItem account for an item identically.

use std::borrow::Cow;

use binderdb_model::{encode_item, item_size, Item};
use binderdb_storage::{Batch, Key, Write};

use crate::capacity::{write_units, Consumed};
use crate::catalog::{Table, TableDescriptor};
use crate::error::{Error, Result};
use crate::index::collections::{self, collection_size, limit_exceeded};
use crate::index::maintain::{index_changes, IndexEffect};
use crate::index::IndexKind;
use crate::ops::decode;
use crate::Database;

/// What a write does to the item it read.
#[derive(Debug)]
pub(crate) enum Change<'a> {
    /// Store this item (it carries the key): one the decision built (UpdateItem), or the
    /// caller's own (PutItem), which is encoded without being copied.
    Put(Cow<'a, Item>),
    /// Delete the item (a no-op if it does not exist).
    Delete,
}

/// What one item write did.
#[derive(Debug)]
pub(crate) struct WriteOutcome {
    /// The item before the write.
    pub(crate) old: Option<Item>,
    /// The item after the write, when the decision built it (`Change::Put(Cow::Owned)`);
    /// `None` after a delete or when the caller passed its own item (it has it already).
    pub(crate) new: Option<Item>,
    /// Write capacity consumed on the table and its indexes.
    pub(crate) consumed: Consumed,
    /// The size of the item's collection after the write (tables with local indexes only).
    pub(crate) collection_size: Option<i64>,
}

impl WriteOutcome {
    /// `ItemCollectionMetrics` of the write of the item at `key`, when the request asked for
    /// them (`SIZE`) and the table has item collections (local secondary indexes).
    pub(crate) fn collection_metrics(
        &self,
        requested: Option<&str>,
        descriptor: &TableDescriptor,
        key: &Key,
    ) -> Option<crate::api::ItemCollectionMetrics> {
        if requested != Some("SIZE") {
            return None;
        }
        collections::metrics(descriptor, &key.partition, self.collection_size?)
    }
}

/// What the last run of a write's decision produced.
struct Decided {
    /// The item it was given.
    old: Option<Item>,
    /// That item's size (0 if absent).
    old_size: usize,
    /// The size of the item it stored; `None` for a delete.
    new_size: Option<usize>,
    /// The item it stored, if it built it.
    new: Option<Item>,
    /// What the write did to each index it touched.
    index_effects: Vec<IndexEffect>,
    /// The change to the item's collection (tables with local indexes).
    collection_delta: i64,
}

impl Database {
    /// Reads the item at `key` under its latch, asks `decide` what to do with it, and commits
    /// that, keeping the table's statistics right.
    ///
    /// `decide` may run more than once if a concurrent writer slipped in between read and
    /// commit; it must be a pure function of the item it is given.
    ///
    /// # Errors
    /// The first error `decide` returned (nothing is written then); storage failures; an
    /// undecodable stored item.
    pub(crate) fn write_item<'a>(
        &self,
        table: &Table,
        key: &Key,
        decide: &mut dyn FnMut(Option<&Item>) -> Result<Change<'a>>,
    ) -> Result<WriteOutcome> {
        let mut outcome: Option<Result<Decided>> = None;
        // Held until the commit: the index set cannot change under a decided write.
        let _gate = table.write_gate.read();
        let descriptor = table.descriptor();
        let collection = if descriptor.has_local_indexes() {
            Some(collection_size(
                self.store.as_ref(),
                table,
                &descriptor,
                &key.partition,
            )?)
        } else {
            None
        };
        let limit = i64::try_from(self.config.item_collection_limit_bytes).unwrap_or(i64::MAX);
        self.store.read_modify_write(key, &mut |current| {
            let old = match current.map(|v| decode(&v.value)).transpose() {
                Ok(old) => old,
                Err(e) => {
                    outcome = Some(Err(e));
                    return None;
                }
            };
            let change = match decide(old.as_ref()) {
                Ok(change) => change,
                Err(e) => {
                    outcome = Some(Err(e));
                    return None;
                }
            };
            let has_indexes = !descriptor.indexes.is_empty();
            let (write, new_size, new, changes) = match change {
                Change::Put(item) => {
                    if has_indexes {
                        if let Err(e) = crate::index::check_item(&descriptor, &item) {
                            outcome = Some(Err(e));
                            return None;
                        }
                    }
                    let mut value = Vec::with_capacity(256);
                    encode_item(&item, &mut value);
                    let changes = has_indexes.then(|| {
                        index_changes(
                            &descriptor,
                            key.into(),
                            old.as_ref(),
                            Some(&item),
                            Some(&value),
                        )
                    });
                    (
                        Some(Write::Put {
                            key: key.clone(),
                            value,
                        }),
                        Some(item_size(&item)),
                        match item {
                            Cow::Owned(item) => Some(item),
                            Cow::Borrowed(_) => None,
                        },
                        changes,
                    )
                }
                Change::Delete => (
                    old.as_ref().map(|_| Write::Delete { key: key.clone() }),
                    None,
                    None,
                    has_indexes
                        .then(|| index_changes(&descriptor, key.into(), old.as_ref(), None, None)),
                ),
            };
            let (index_writes, index_effects) =
                changes.map(|c| (c.writes, c.effects)).unwrap_or_default();
            let old_size = old.as_ref().map_or(0, item_size);
            let mut collection_delta = 0;
            if let Some(size) = collection {
                collection_delta = new_size.unwrap_or(0) as i64 - old_size as i64
                    + index_effects
                        .iter()
                        .filter(|e| e.kind == IndexKind::Local)
                        .map(|e| e.bytes)
                        .sum::<i64>();
                // Only growth is refused: a write that shrinks a full collection goes through.
                if collection_delta > 0 && size + collection_delta > limit {
                    outcome = Some(Err(limit_exceeded()));
                    return None;
                }
            }
            outcome = Some(Ok(Decided {
                old,
                old_size,
                new_size,
                new,
                index_effects,
                collection_delta,
            }));
            write.map(|w| {
                let mut writes = Vec::with_capacity(1 + index_writes.len());
                writes.push(w);
                writes.extend(index_writes);
                Batch {
                    writes,
                    guards: Vec::new(),
                }
            })
        })?;
        let Decided {
            old,
            old_size,
            new_size,
            new,
            index_effects,
            collection_delta,
        } = outcome
            .unwrap_or_else(|| Err(Error::Internal("write decision never ran".to_owned())))?;
        let items = i64::from(new_size.is_some()) - i64::from(old.is_some());
        let new_size = new_size.unwrap_or(0);
        if items != 0 || old_size != new_size {
            table.stats.record(items, new_size as i64 - old_size as i64);
        }
        let mut consumed = Consumed::table(write_units(old_size, new_size));
        for effect in &index_effects {
            if effect.items != 0 || effect.bytes != 0 {
                table
                    .index_stats(effect.id)
                    .record(effect.items, effect.bytes);
            }
            consumed.add_index(effect.kind, &effect.name, effect.units);
        }
        let collection_size =
            collection.map(|_| collections::record(table, &key.partition, collection_delta));
        Ok(WriteOutcome {
            old,
            new,
            consumed,
            collection_size,
        })
    }
}
