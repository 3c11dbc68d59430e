//! BatchWriteItem: up to 25 puts and deletes across tables.
//!
//! Every request is validated before anything is written, so an invalid request rejects the
//! whole batch, in dynalite's recorded order (`validations/batchWriteItem.js`,
//! `actions/batchWriteItem.js`): first the values and sizes of every request, then per table
//! that the table exists, that each key matches the schema and that no item is written twice.
//!
//! The writes then apply together: the store latches every item, each write is planned on its
//! item as read, by the same write path PutItem and DeleteItem use, and all of them commit in
//! ONE storage batch under those latches (one journal append and one shared fsync per request,
//! not one per item: bulk loads are what BatchWriteItem is for), without the second read of
//! every item a guarded commit needed (`write_together`). Each write keeps its own semantics —
//! its index entries, stream record, TTL entry, statistics, item collection size and consumed
//! capacity are exactly those of the same write made alone, and a write of an item a
//! transaction holds is left unprocessed while the others apply. The batch is not a
//! transaction in DynamoDB, and nothing here makes it one for clients to rely on: on a store
//! without latches, if a concurrent writer moves one of the items between its read and the
//! commit, nothing is committed and every write goes alone, one item at a time. Tables with
//! throttling on go item by item too, so each write's admission sees what the writes before it
//! paid. binderdb never throttles otherwise: `UnprocessedItems` then only lists the writes of
//! items a transaction held at that moment.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use binderdb_model::Item;
use binderdb_storage::{Batch, Key, StorageError};

use crate::api::{BatchWriteItemInput, BatchWriteItemOutput, WriteRequest};
use crate::capacity::{Consumed, ReturnCapacity, Usage};
use crate::catalog::{KeySchema, Table, TableDescriptor};
use crate::error::{Error, Result};
use crate::keys::{batch_item_key, request_key, EncodedKey};
use crate::ops::put_item::NewItem;
use crate::ops::{
    decode, required_request_items, wire_item, Change, Decided, Planned, WriteOutcome,
};
use crate::{Database, RequestContext};

/// DynamoDB's limit on requests in one BatchWriteItem, across all tables.
pub const MAX_BATCH_WRITES: usize = 25;

/// One validated write of the batch.
enum BatchWrite {
    Put(NewItem),
    Delete(Item),
}

impl BatchWrite {
    fn from_wire(request: WriteRequest) -> Result<Self> {
        match (request.put_request, request.delete_request) {
            (Some(put), None) => Ok(BatchWrite::Put(NewItem::from_wire(
                put.item.unwrap_or_default(),
            )?)),
            (None, Some(delete)) => Ok(BatchWrite::Delete(wire_item(
                delete.key.unwrap_or_default(),
            )?)),
            // DynamoDB validates a WriteRequest as a union, with the same words as an
            // AttributeValue (recorded by dynalite for an empty request).
            _ => Err(Error::validation(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly \
                 one of the supported datatypes",
            )),
        }
    }

    /// The write as a `WriteRequest` of `UnprocessedItems`, for the client to send again.
    fn unprocessed(&self) -> serde_json::Value {
        match self {
            BatchWrite::Put(new) => serde_json::json!({"PutRequest": {"Item": new.item}}),
            BatchWrite::Delete(key) => serde_json::json!({"DeleteRequest": {"Key": key}}),
        }
    }

    /// What the write does to its item.
    fn change(&self) -> Change<'_> {
        match self {
            BatchWrite::Put(new) => Change::Put(Cow::Borrowed(&new.item)),
            BatchWrite::Delete(_) => Change::Delete,
        }
    }

    fn key(&self, schema: &KeySchema) -> Result<EncodedKey> {
        match self {
            BatchWrite::Put(new) => batch_item_key(schema, &new.item),
            BatchWrite::Delete(key) => request_key(schema, key),
        }
    }
}

/// One table's writes of the batch, validated, with their storage keys.
struct TableWrites {
    name: String,
    table: Arc<Table>,
    descriptor: Arc<TableDescriptor>,
    writes: Vec<BatchWrite>,
    keys: Vec<Key>,
}

/// Where one write of the batch stands after [`Database::write_together`].
enum Step {
    /// Done (committed, refused, or failed).
    Done(Result<WriteOutcome>),
    /// To be written alone.
    Alone,
}

/// Each table's writes' steps.
type Outcomes = Vec<Vec<Step>>;

/// Every write of `planned` to be written alone.
fn alone(planned: &[TableWrites]) -> Outcomes {
    planned
        .iter()
        .map(|t| t.writes.iter().map(|_| Step::Alone).collect())
        .collect()
}

impl Database {
    /// BatchWriteItem.
    ///
    /// # Errors
    /// `ValidationException` for an invalid request, item or key, more than 25 requests, or two
    /// requests on one item; `ResourceNotFoundException` for a missing table. Nothing is written
    /// when any of these is reported.
    pub fn batch_write_item(
        &self,
        ctx: &RequestContext,
        input: BatchWriteItemInput,
    ) -> Result<BatchWriteItemOutput> {
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let request_items = required_request_items(input.request_items, "BatchWriteItem")?;
        if request_items.values().map(Vec::len).sum::<usize>() > MAX_BATCH_WRITES {
            return Err(Error::validation(
                "Too many items requested for the BatchWriteItem call",
            ));
        }
        let mut tables = Vec::with_capacity(request_items.len());
        for (name, requests) in request_items {
            let writes = requests
                .into_iter()
                .map(BatchWrite::from_wire)
                .collect::<Result<Vec<_>>>()?;
            tables.push((name, writes));
        }

        let mut planned = Vec::with_capacity(tables.len());
        for (name, writes) in tables {
            let (table, descriptor) = self.active_table(ctx, &name)?;
            let mut keys: Vec<Key> = Vec::with_capacity(writes.len());
            for write in &writes {
                let key = write
                    .key(&descriptor.key_schema)?
                    .storage_key(descriptor.id);
                // A put whose index key values are invalid refuses the whole batch.
                if let BatchWrite::Put(new) = write {
                    crate::index::check_item(&descriptor, &new.item)?;
                }
                if keys.contains(&key) {
                    return Err(Error::validation(
                        "Provided list of item keys contains duplicates",
                    ));
                }
                keys.push(key);
            }
            planned.push(TableWrites {
                name,
                table,
                descriptor,
                writes,
                keys,
            });
        }

        let want_metrics = input.return_item_collection_metrics.as_deref();
        let mut outcomes = self.write_together(&planned)?;
        let mut unprocessed = BTreeMap::new();
        let mut consumed = Vec::with_capacity(planned.len());
        let mut metrics = BTreeMap::new();
        let mut throttled: Option<Error> = None;
        let mut processed = 0usize;
        for (tw, outcomes) in planned.iter().zip(&mut outcomes) {
            let TableWrites {
                name,
                table,
                descriptor,
                writes,
                keys,
            } = tw;
            let mut units = Consumed::default();
            let mut table_metrics = Vec::new();
            for ((write, key), outcome) in writes.iter().zip(keys).zip(outcomes) {
                let outcome = match std::mem::replace(outcome, Step::Alone) {
                    Step::Done(outcome) => outcome,
                    // Exactly as PutItem and DeleteItem write: admitted by the table's buckets,
                    // under the item's latch.
                    Step::Alone => {
                        self.metered_write(table, descriptor, key, &mut |_| Ok(write.change()))
                    }
                };
                let outcome = match outcome {
                    // A write its table's buckets refuse is left for the client to send again
                    // (the whole call fails only when every write was refused, below).
                    Err(
                        e
                        @ (Error::ProvisionedThroughputExceeded { .. } | Error::Throttling { .. }),
                    ) => {
                        throttled = Some(e);
                        unprocessed
                            .entry(name.clone())
                            .or_insert_with(Vec::new)
                            .push(write.unprocessed());
                        continue;
                    }
                    // An item a transaction holds right now is left for the client to send
                    // again, as a throttled write would be; the batch's other writes apply.
                    Err(Error::TransactionConflict(_)) => {
                        unprocessed
                            .entry(name.clone())
                            .or_insert_with(Vec::new)
                            .push(write.unprocessed());
                        continue;
                    }
                    other => other?,
                };
                processed += 1;
                units.merge(&outcome.consumed);
                table_metrics.extend(outcome.collection_metrics(want_metrics, descriptor, key));
            }
            consumed.push(capacity.report_consumed(name, &units));
            if !table_metrics.is_empty() {
                metrics.insert(name.clone(), table_metrics);
            }
        }
        if let (Some(e), 0) = (throttled, processed) {
            return Err(e);
        }
        Ok(BatchWriteItemOutput {
            unprocessed_items: unprocessed,
            consumed_capacity: consumed.into_iter().collect(),
            // Only tables with local indexes have item collections to report.
            item_collection_metrics: (!metrics.is_empty()).then_some(metrics),
        })
    }

    /// Applies every write of the batch in ONE storage commit (one journal append and one
    /// group-commit wait for the request, instead of one per item), with each write's semantics
    /// exactly as if it went alone.
    ///
    /// The items are read and written by ONE
    /// [`binderdb_storage::Store::read_modify_write_many`]: the store holds
    /// the latches of every item across the read, the plans and the commit, so the commit does
    /// not read them again to check that they did not move. Under those latches each write is
    /// checked against the transactions' holds (a held item is left unprocessed, the others go
    /// ahead), then planned on its item by the one write path every operation uses (index
    /// entries, stream record, TTL entry, statistics, item collections:
    /// [`Database::plan_write`]). Writes of one item collection see each other's growth, as
    /// they would one after the other. If planning a write fails (a full item collection, an
    /// undecodable item), the writes before it commit and it carries the error, as when each
    /// write went alone; the writes after it go alone. If the store could not keep the items
    /// still (`Conflict`: an engine without latches found one moved), nothing was written and
    /// every write is left [`Step::Alone`].
    ///
    /// Tables whose requests are throttled are left to go item by item: each write's admission
    /// must see what the writes before it paid, as DynamoDB admits a batch's writes.
    ///
    /// # Errors
    /// Storage failures other than a failed guard.
    fn write_together(&self, planned: &[TableWrites]) -> Result<Outcomes> {
        let mut outcomes = alone(planned);
        // Shared write gates in table-id order, as a transaction takes them: the index sets
        // cannot change between the plans and the commit.
        let mut gated: Vec<&Table> = planned.iter().map(|t| t.table.as_ref()).collect();
        gated.sort_by_key(|t| t.descriptor().id);
        let _gates: Vec<_> = gated.iter().map(|t| t.write_gate.read()).collect();

        // The writes made together, `(table, write)`, with their descriptors (read under the
        // gates) and item collections' sizes before the batch (read before the latches are
        // taken, as a write alone reads it).
        let mut together = Vec::new();
        let mut descriptors = Vec::with_capacity(planned.len());
        for (t, tw) in planned.iter().enumerate() {
            let descriptor = tw.table.descriptor();
            if !self.throttles(&descriptor) {
                for (i, key) in tw.keys.iter().enumerate() {
                    let collection = self.collection_before(&tw.table, &descriptor, key)?;
                    together.push((t, i, collection));
                }
            }
            descriptors.push(descriptor);
        }
        if together.is_empty() {
            return Ok(outcomes);
        }
        let keys: Cow<'_, [Key]> = match planned {
            [only] if together.len() == only.keys.len() => Cow::Borrowed(&only.keys),
            _ => together
                .iter()
                .map(|&(t, i, _)| planned[t].keys[i].clone())
                .collect(),
        };

        // Each write's plan (or why it has none), from the last call of the closure.
        let mut steps: Vec<(usize, usize, Result<Decided>)> = Vec::new();
        let committed = self.store.read_modify_write_many(&keys, &mut |current| {
            steps.clear();
            let mut writes = Vec::new();
            // Item collections several writes grow: each sees the others' growth.
            let mut growth: HashMap<(u64, &[u8]), i64> = HashMap::new();
            for (&(t, i, collection), current) in together.iter().zip(current) {
                let (tw, descriptor) = (&planned[t], &descriptors[t]);
                let key = &tw.keys[i];
                // Checked under the item's latch, as a write alone checks it: one whose hold
                // comes later sees this commit through its own version guards.
                if self.txn.holds.is_held(key) {
                    steps.push((t, i, Err(crate::txn::item_conflict())));
                    continue;
                }
                let collection_key = (descriptor.id, key.partition.as_slice());
                let plan = current
                    .as_ref()
                    .map(|v| decode(&v.value))
                    .transpose()
                    .and_then(|old| {
                        let collection = collection
                            .map(|size| size + growth.get(&collection_key).copied().unwrap_or(0));
                        self.plan_write(
                            descriptor,
                            key,
                            (old, current.as_ref().map(|v| v.version)),
                            tw.writes[i].change(),
                            collection,
                        )
                    });
                match plan {
                    Ok(Planned { decided, writes: w }) => {
                        if collection.is_some() {
                            *growth.entry(collection_key).or_default() +=
                                decided.collection_delta();
                        }
                        writes.extend(w);
                        steps.push((t, i, Ok(decided)));
                    }
                    Err(e) => {
                        steps.push((t, i, Err(e)));
                        break;
                    }
                }
            }
            (!writes.is_empty()).then(|| Batch {
                writes,
                guards: Vec::new(),
            })
        });
        match committed {
            Ok(_) => {}
            // Nothing was written: every write goes alone (a failed plan too: it is planned
            // again on the item as it is now; a held item is checked again).
            Err(StorageError::Conflict) => return Ok(alone(planned)),
            Err(e) => return Err(e.into()),
        }
        for (t, i, step) in steps {
            let tw = &planned[t];
            outcomes[t][i] = Step::Done(step.map(|decided| {
                let outcome = self.settle_write(&tw.table, &tw.keys[i], decided);
                self.charge(
                    &tw.table,
                    &tw.descriptor,
                    Usage::Write,
                    &outcome.consumed,
                    None,
                );
                outcome
            }));
        }
        Ok(outcomes)
    }
}
