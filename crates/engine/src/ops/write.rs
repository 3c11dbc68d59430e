//! The one item write path every write operation goes through.
//!
//! The item is read under its latch (the store's read-modify-write), a caller-supplied decision
//! turns the current item into a [`Change`] — or an error, such as a failed ConditionExpression —
//! and the change commits guarded on the version read, together with the entries of every
//! secondary index it moves (one atomic batch). Table and index statistics (as store counter
//! deltas in the same batch) and the write's cost are derived here once, from the old and new
//! item, so PutItem, UpdateItem, DeleteItem, BatchWriteItem, transactions and TTL deletes
//! account for an item identically. A table with point-in-time recovery gets its change-log
//! entry here too (`pitr::log`), so every write path keeps the log in the write's own commit.

use std::borrow::Cow;

use binderdb_model::{encode_item, item_size, Item};
use binderdb_storage::{Batch, Counts, Key, Write};

use crate::capacity::{write_units, Consumed};
use crate::catalog::{Table, TableDescriptor};
use crate::error::{Error, Result};
use crate::index::collections::{self, collection_size, limit_exceeded};
use crate::index::maintain::{index_changes, IndexEffect};
use crate::index::IndexKind;
use crate::ops::decode;
use crate::stream::{encode_record, RecordEvent, StreamDescriptor, Ticket};
use crate::ttl::{entry_key, expiry_of};
use crate::Database;

/// The key attributes of `item` (a record's `Keys`).
fn key_attributes(descriptor: &TableDescriptor, item: &Item) -> Item {
    let schema = &descriptor.key_schema;
    std::iter::once(&schema.hash)
        .chain(schema.range.as_ref())
        .filter_map(|k| item.get(&k.name).map(|v| (k.name.clone(), v.clone())))
        .collect()
}

/// What a write does to the item it read.
#[derive(Debug)]
pub(crate) enum Change<'a> {
    /// Store this item (it carries the key): one the decision built (UpdateItem), or the
    /// caller's own (PutItem), which is encoded without being copied.
    Put(Cow<'a, Item>),
    /// Delete the item (a no-op if it does not exist).
    Delete,
    /// Delete the item because its TTL passed: a delete whose stream record names the TTL
    /// service as its `userIdentity`.
    Expire,
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

/// What a write's decision produced, before it commits.
#[derive(Debug)]
pub(crate) struct Decided {
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
    /// The collection's size before the write, as its limit check saw it (tables with local
    /// indexes).
    collection_before: Option<i64>,
    /// The sequence number of the write's stream record, in flight until the write settled.
    stream_ticket: Option<crate::stream::Ticket>,
}

impl Decided {
    /// The change the write makes to its item collection (tables with local indexes).
    pub(crate) fn collection_delta(&self) -> i64 {
        self.collection_delta
    }
}

/// A decided write and the storage writes that carry it out: the item's own write first, then
/// its index entries. Empty for a delete of a missing item.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) decided: Decided,
    pub(crate) writes: Vec<Write>,
}

/// Adds the write's changes to the statistics of its table and of each index it touched
/// (store counters, committed with the write itself, so they survive exactly what the write
/// survives).
fn push_counts(
    writes: &mut Vec<Write>,
    descriptor: &TableDescriptor,
    had_old: bool,
    old_size: usize,
    new_size: Option<usize>,
    index_effects: &[IndexEffect],
) {
    let table = Counts {
        items: i64::from(new_size.is_some()) - i64::from(had_old),
        bytes: new_size.unwrap_or(0) as i64 - old_size as i64,
    };
    if !table.is_zero() {
        writes.push(Write::Count {
            counter: descriptor.counter(),
            delta: table,
        });
    }
    for effect in index_effects {
        let delta = Counts {
            items: effect.items,
            bytes: effect.bytes,
        };
        if !delta.is_zero() {
            writes.push(Write::Count {
                counter: descriptor.index_counter(effect.id),
                delta,
            });
        }
    }
}

impl Database {
    /// Reads the item at `key` under its latch, asks `decide` what to do with it, and commits
    /// that, keeping the table's statistics right.
    ///
    /// `decide` may run more than once if a concurrent writer slipped in between read and
    /// commit; it must be a pure function of the item it is given.
    ///
    /// # Errors
    /// `TransactionConflictException` while a transaction holds the item; the first error
    /// `decide` returned (nothing is written then); storage failures; an undecodable stored
    /// item.
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
        let collection = self.collection_before(table, &descriptor, key)?;
        self.store.read_modify_write(key, &mut |current| {
            // Checked under the item's latch: a transaction holding the item refuses the write
            // (a try, never a wait). One that takes its hold later sees this commit through
            // the version guard of its own commit (see `txn`).
            if self.txn.holds.is_held(key) {
                outcome = Some(Err(crate::txn::item_conflict()));
                return None;
            }
            let old_version = current.map(|v| v.version);
            let planned = match current.map(|v| decode(&v.value)).transpose() {
                Ok(old) => decide(old.as_ref()).and_then(|change| {
                    self.plan_write(&descriptor, key, (old, old_version), change, collection)
                }),
                Err(e) => Err(e),
            };
            match planned {
                Ok(Planned { decided, writes }) => {
                    outcome = Some(Ok(decided));
                    (!writes.is_empty()).then(|| Batch {
                        writes,
                        guards: Vec::new(),
                    })
                }
                Err(e) => {
                    outcome = Some(Err(e));
                    None
                }
            }
        })?;
        let decided = outcome
            .unwrap_or_else(|| Err(Error::Internal("write decision never ran".to_owned())))?;
        Ok(self.settle_write(table, key, decided))
    }

    /// The size of the item collection `key` belongs to, on a table with local indexes.
    ///
    /// # Errors
    /// Storage failures; undecodable items.
    pub(crate) fn collection_before(
        &self,
        table: &Table,
        descriptor: &TableDescriptor,
        key: &Key,
    ) -> Result<Option<i64>> {
        if !descriptor.has_local_indexes() {
            return Ok(None);
        }
        Ok(Some(collection_size(
            self.store.as_ref(),
            table,
            descriptor,
            &key.partition,
            (
                self.config.item_collection_cache,
                self.config.item_collection_limit_bytes,
            ),
        )?))
    }

    /// Turns `change` of the item `old` at `key` into storage writes (the item's and its index
    /// entries'), refusing growth of a full item collection (`collection` is its size before).
    ///
    /// # Errors
    /// Invalid index key values of a new item; ItemCollectionSizeLimitExceeded.
    pub(crate) fn plan_write(
        &self,
        descriptor: &TableDescriptor,
        key: &Key,
        (old, old_version): (Option<Item>, Option<u64>),
        change: Change<'_>,
        collection: Option<i64>,
    ) -> Result<Planned> {
        let has_indexes = !descriptor.indexes.is_empty();
        let by_service = matches!(change, Change::Expire);
        let change = if by_service { Change::Delete } else { change };
        // The expiry-index entries to drop and add (tables with TTL enabled).
        let expiry = descriptor
            .ttl
            .as_ref()
            .filter(|t| t.enabled)
            .map(|t| {
                let before = old.as_ref().and_then(|o| expiry_of(o, &t.attribute));
                let after = match &change {
                    Change::Put(item) => expiry_of(item, &t.attribute),
                    _ => None,
                };
                (before, after)
            })
            .filter(|(before, after)| before != after);
        // Decided before the item moves into its write: the record's keys, and whether the
        // write changes anything (DynamoDB writes no record for a write that changed nothing).
        let stream = descriptor.enabled_stream().and_then(|stream| {
            let (source, event) = match (&change, &old) {
                (Change::Put(item), Some(old)) if **item == *old => return None,
                (Change::Put(item), Some(_)) => (&**item, RecordEvent::Modify),
                (Change::Put(item), None) => (&**item, RecordEvent::Insert),
                (_, Some(old)) => (old, RecordEvent::Remove),
                (_, None) => return None,
            };
            Some((stream, event, key_attributes(descriptor, source)))
        });
        let (write, new_size, new, changes) = match change {
            Change::Put(item) => {
                if has_indexes {
                    crate::index::check_item(descriptor, &item)?;
                }
                let mut value = Vec::with_capacity(256);
                encode_item(&item, &mut value);
                let changes = has_indexes.then(|| {
                    index_changes(
                        descriptor,
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
            Change::Delete | Change::Expire => (
                old.as_ref().map(|_| Write::Delete { key: key.clone() }),
                None,
                None,
                has_indexes
                    .then(|| index_changes(descriptor, key.into(), old.as_ref(), None, None)),
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
            let limit = i64::try_from(self.config.item_collection_limit_bytes).unwrap_or(i64::MAX);
            // Only growth is refused: a write that shrinks a full collection goes through.
            if collection_delta > 0 && size + collection_delta > limit {
                return Err(limit_exceeded());
            }
        }
        let mut stream_ticket = None;
        let writes = match write {
            Some(w) => {
                let mut writes = Vec::with_capacity(3 + index_writes.len());
                // The point-in-time recovery log's entry, in this same commit (see `pitr::log`).
                let log = descriptor.pitr.as_ref().map(|pitr| {
                    let old_image = old.as_ref().map(|item| {
                        let mut bytes = Vec::with_capacity(256);
                        encode_item(item, &mut bytes);
                        bytes
                    });
                    let new_image = match &w {
                        Write::Put { value, .. } => Some(value.as_slice()),
                        _ => None,
                    };
                    crate::pitr::log::entry(
                        pitr.log_id,
                        self.pitr_clock.stamp(self.clock.now_millis()),
                        key,
                        old_image.as_deref().zip(old_version),
                        new_image,
                    )
                });
                if let Some((stream, event, keys)) = stream {
                    let new_image = match &w {
                        Write::Put { value, .. } if stream.view_type.keeps_new() => {
                            Some(value.as_slice())
                        }
                        _ => None,
                    };
                    let flags = if by_service {
                        crate::stream::records::FLAG_SERVICE
                    } else {
                        0
                    };
                    let (ticket, record, marker) = self.stream_record(
                        stream,
                        key,
                        (event, flags),
                        &keys,
                        old.as_ref(),
                        new_image,
                    )?;
                    stream_ticket = Some(ticket);
                    writes.push(w);
                    writes.push(record);
                    writes.extend(marker);
                } else {
                    writes.push(w);
                }
                writes.extend(index_writes);
                writes.extend(log);
                push_counts(
                    &mut writes,
                    descriptor,
                    old.is_some(),
                    old_size,
                    new_size,
                    &index_effects,
                );
                if let Some((before, after)) = expiry {
                    if let Some(at) = before {
                        writes.push(Write::Delete {
                            key: entry_key(descriptor.id, key, at),
                        });
                    }
                    if let Some(at) = after {
                        writes.push(Write::Put {
                            key: entry_key(descriptor.id, key, at),
                            value: Vec::new(),
                        });
                    }
                }
                writes
            }
            None => Vec::new(),
        };
        Ok(Planned {
            decided: Decided {
                old,
                old_size,
                new_size,
                new,
                index_effects,
                collection_delta,
                collection_before: collection,
                stream_ticket,
            },
            writes,
        })
    }

    /// The stream record of a change of the item at `key`, with its sequence number (in
    /// flight until the ticket drops) and the shard marker its batch must carry, if any (see
    /// `stream::shards`). `new_image` is the item's encoding when the view type keeps it; the
    /// old image is encoded here when the view type keeps it.
    ///
    /// # Errors
    /// Storage failures reading the stream's shard successions.
    fn stream_record(
        &self,
        stream: &StreamDescriptor,
        key: &Key,
        (event, flags): (RecordEvent, u8),
        keys: &Item,
        old: Option<&Item>,
        new_image: Option<&[u8]>,
    ) -> Result<(Ticket, Write, Option<Write>)> {
        let now = self.clock.now_millis();
        let old_image = old.filter(|_| stream.view_type.keeps_old()).map(|item| {
            let mut bytes = Vec::with_capacity(256);
            encode_item(item, &mut bytes);
            bytes
        });
        let value = encode_record(event, now, flags, keys, old_image.as_deref(), new_image);
        let (ticket, marker) = self.sequencers.allocate(
            stream,
            stream.shard_index(&key.partition),
            self.clock.as_ref(),
            value.len() as u64,
        )?;
        let write = Write::Put {
            key: stream.record_key(ticket.shard, ticket.seq),
            value,
        };
        Ok((ticket, write, marker))
    }

    /// Records a committed write in its item collection's size and returns what it did and
    /// cost (the table's and indexes' statistics committed with the write).
    pub(crate) fn settle_write(&self, table: &Table, key: &Key, decided: Decided) -> WriteOutcome {
        let Decided {
            old,
            old_size,
            new_size,
            new,
            index_effects,
            collection_delta,
            collection_before,
            stream_ticket,
        } = decided;
        // The record committed with the item: readers may pass its sequence number now.
        if let Some(ticket) = stream_ticket {
            ticket.committed();
        }
        if self.history.enabled() {
            self.history
                .record(key, old.as_ref(), self.clock.now_millis());
        }
        let mut consumed = Consumed::table(write_units(old_size, new_size.unwrap_or(0)));
        for effect in index_effects {
            consumed.add_index_named(effect.kind, effect.name, effect.units);
        }
        let collection_size = collection_before
            .map(|before| collections::record(table, &key.partition, before, collection_delta));
        WriteOutcome {
            old,
            new,
            consumed,
            collection_size,
        }
    }
}
