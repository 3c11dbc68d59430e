//! BatchGetItem: up to 100 point reads across tables, answered as one response.
//!
//! The whole batch is validated before anything is read, in dynalite's recorded order
//! (`validations/batchGetItem.js`, `actions/batchGetItem.js`): per table, the key values, then
//! duplicates and the 100-key total as each key is counted; then each table must exist and
//! every key must match its schema. Each key is billed like a GetItem (rounded up to 4 KB on its
//! own, half when eventually consistent; a missing item costs as much as a small one), and the
//! units are summed per table. The response stops at 16 MB of items: the keys not read are
//! returned in `UnprocessedKeys`, in the request's shape, for the client to send again.

use binderdb_model::{item_size, Item};
use binderdb_storage::Key;

use crate::api::{BatchGetItemInput, BatchGetItemOutput, UnprocessedKeys};
use crate::capacity::ReturnCapacity;
use crate::error::{Error, Result};
use crate::keys::request_key;
use crate::ops::{read_projection, required_request_items, wire_item};
use crate::{Database, RequestContext};
use binderdb_expr::Projection;

/// DynamoDB's limit on keys in one BatchGetItem, across all tables.
pub const MAX_BATCH_GET_KEYS: usize = 100;
/// DynamoDB's limit on the items one BatchGetItem returns (sum of item sizes).
pub const MAX_BATCH_GET_BYTES: usize = 16 * 1024 * 1024;

/// One table's validated part of the batch.
struct TableKeys {
    name: String,
    keys: Vec<Item>,
    consistent_read: Option<bool>,
    projection: Option<Projection>,
}

impl Database {
    /// BatchGetItem.
    ///
    /// # Errors
    /// `ValidationException` for invalid or duplicate keys, more than 100 keys, or a key that
    /// does not match its table's schema; `ResourceNotFoundException` for a missing table.
    pub fn batch_get_item(
        &self,
        ctx: &RequestContext,
        input: BatchGetItemInput,
    ) -> Result<BatchGetItemOutput> {
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let request_items = required_request_items(input.request_items, "BatchGetItem")?;
        let mut requested = 0;
        let mut tables = Vec::with_capacity(request_items.len());
        for (name, request) in request_items {
            let projection = read_projection(
                request.projection_expression.as_deref(),
                request.attributes_to_get.as_deref(),
                request.expression_attribute_names,
            )?;
            let mut keys: Vec<Item> = Vec::new();
            for wire in request.keys.unwrap_or_default() {
                let key = wire_item(wire)?;
                if keys.contains(&key) {
                    return Err(Error::validation(
                        "Provided list of item keys contains duplicates",
                    ));
                }
                keys.push(key);
                requested += 1;
                if requested > MAX_BATCH_GET_KEYS {
                    return Err(Error::validation(
                        "Too many items requested for the BatchGetItem call",
                    ));
                }
            }
            tables.push(TableKeys {
                name,
                keys,
                consistent_read: request.consistent_read,
                projection,
            });
        }

        let mut storage_keys = Vec::with_capacity(tables.len());
        for table in &tables {
            let (handle, descriptor) = self.active_table(ctx, &table.name)?;
            let keys = table
                .keys
                .iter()
                .map(|k| Ok(request_key(&descriptor.key_schema, k)?.storage_key(descriptor.id)))
                .collect::<Result<Vec<Key>>>()?;
            storage_keys.push((handle, descriptor, keys));
        }

        let mut output = BatchGetItemOutput::default();
        let mut consumed = Vec::with_capacity(tables.len());
        let mut response_bytes = 0;
        let mut full = false;
        // A key its table's buckets refuse is left unprocessed, like one past the size limit;
        // only when every key was refused does the whole call fail with the throttling error,
        // as DynamoDB's does.
        let mut throttled: Option<Error> = None;
        let mut processed = 0usize;
        for (table, (handle, descriptor, keys)) in tables.into_iter().zip(storage_keys) {
            let consistent = table.consistent_read.unwrap_or(false);
            let mut items = Vec::new();
            let mut unprocessed = Vec::new();
            let mut units = 0.0;
            for (key_item, key) in table.keys.into_iter().zip(&keys) {
                if full {
                    unprocessed.push(key_item);
                    continue;
                }
                let partition = crate::capacity::partition_of(key);
                let ask = crate::capacity::Ask {
                    direction: crate::capacity::Direction::Read,
                    index: None,
                    partition: Some(partition),
                };
                match self.admit(&handle, &descriptor, ask) {
                    Err(
                        e
                        @ (Error::ProvisionedThroughputExceeded { .. } | Error::Throttling { .. }),
                    ) => {
                        throttled = Some(e);
                        unprocessed.push(key_item);
                        continue;
                    }
                    other => other?,
                }
                let (item, cost) = self.read_item(key, consistent)?;
                let size = item.as_ref().map_or(0, item_size);
                if response_bytes + size > MAX_BATCH_GET_BYTES {
                    // The response never exceeds 16 MB: this key and every later one are left
                    // for the client's next call, and are not billed now.
                    full = true;
                    unprocessed.push(key_item);
                    continue;
                }
                processed += 1;
                self.charge(
                    &handle,
                    &descriptor,
                    crate::capacity::Usage::Read,
                    &crate::capacity::Consumed::table(cost),
                    Some(partition),
                );
                response_bytes += size;
                units += cost;
                items.extend(match (item, &table.projection) {
                    (Some(item), Some(p)) => Some(p.apply(&item)),
                    (item, _) => item,
                });
            }
            if !unprocessed.is_empty() {
                output.unprocessed_keys.insert(
                    table.name.clone(),
                    UnprocessedKeys {
                        keys: unprocessed,
                        consistent_read: table.consistent_read,
                    },
                );
            }
            consumed.push(capacity.report(&table.name, units));
            output.responses.insert(table.name, items);
        }
        if let (Some(e), 0) = (throttled, processed) {
            return Err(e);
        }
        output.consumed_capacity = consumed.into_iter().collect();
        Ok(output)
    }
}
