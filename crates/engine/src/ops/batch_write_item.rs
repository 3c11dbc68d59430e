//! BatchWriteItem: up to 25 puts and deletes across tables.
//!
//! Every request is validated before anything is written, so an invalid request rejects the
//! whole batch, in dynalite's recorded order (`validations/batchWriteItem.js`,
//! `actions/batchWriteItem.js`): first the values and sizes of every request, then per table
//! that the table exists, that each key matches the schema and that no item is written twice.
//! The writes then apply one item at a time, each under its latch exactly as PutItem and
//! DeleteItem apply them (the same functions), so the batch is not atomic across items — as in
//! DynamoDB. binderdb never throttles: `UnprocessedItems` only lists the writes of items a
//! transaction held at that moment (each write on its own is serializable with transactions).

use std::collections::BTreeMap;

use binderdb_model::Item;

use crate::api::{BatchWriteItemInput, BatchWriteItemOutput, WriteRequest};
use crate::capacity::{Consumed, ReturnCapacity};
use crate::catalog::KeySchema;
use crate::error::{Error, Result};
use crate::keys::{batch_item_key, request_key, EncodedKey};
use crate::ops::put_item::NewItem;
use crate::ops::{required_request_items, wire_item};
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

    fn key(&self, schema: &KeySchema) -> Result<EncodedKey> {
        match self {
            BatchWrite::Put(new) => batch_item_key(schema, &new.item),
            BatchWrite::Delete(key) => request_key(schema, key),
        }
    }
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
            let mut keys: Vec<EncodedKey> = Vec::with_capacity(writes.len());
            for write in &writes {
                let key = write.key(&descriptor.key_schema)?;
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
            planned.push((name, table, descriptor, writes, keys));
        }

        let want_metrics = input.return_item_collection_metrics.as_deref();
        let mut unprocessed = BTreeMap::new();
        let mut consumed = Vec::with_capacity(planned.len());
        let mut metrics = BTreeMap::new();
        let mut throttled: Option<Error> = None;
        let mut processed = 0usize;
        for (name, table, descriptor, writes, keys) in planned {
            let mut units = Consumed::default();
            let mut table_metrics = Vec::new();
            for (write, key) in writes.iter().zip(&keys) {
                let key = key.storage_key(descriptor.id);
                let outcome = match write {
                    BatchWrite::Put(new) => self.store_item(&table, &descriptor, &key, new),
                    BatchWrite::Delete(_) => self.remove_item(&table, &descriptor, &key),
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
                table_metrics.extend(outcome.collection_metrics(want_metrics, &descriptor, &key));
            }
            consumed.push(capacity.report_consumed(&name, &units));
            if !table_metrics.is_empty() {
                metrics.insert(name, table_metrics);
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
}
