//! TransactGetItems: up to 100 Gets read from one consistent snapshot, billed at twice a
//! strongly consistent read. How the snapshot is made is described in [`crate::txn`].

use binderdb_model::item_size;
use binderdb_storage::{Batch, Guard, Key, StorageError};

use crate::api::{ItemResponse, TransactGetItem, TransactGetItemsInput, TransactGetItemsOutput};
use crate::capacity::{read_units, Consumed, ReturnCapacity};
use crate::error::{Error, Result};
use crate::keys::request_key;
use crate::ops::transact_write_items::{
    check_action_count, check_transaction_size, report, MULTIPLE_OPERATIONS,
};
use crate::ops::{decode, read_projection, table_name, wire_item};
use crate::txn::conflicts_at;
use crate::{Database, RequestContext};

/// How often the reads are repeated when items change under them before the request is
/// cancelled with TransactionConflict.
const SNAPSHOT_ATTEMPTS: usize = 8;

/// One validated Get.
struct Read {
    name: String,
    table: std::sync::Arc<crate::catalog::Table>,
    key: Key,
    projection: Option<binderdb_expr::Projection>,
}

impl Database {
    fn transact_read(&self, ctx: &RequestContext, item: TransactGetItem) -> Result<Read> {
        let get = item.get.ok_or_else(|| {
            Error::validation(
                "1 validation error detected: Value null at 'transactItems.member.get' failed to \
                 satisfy constraint: Member must not be null",
            )
        })?;
        let name = table_name(&get.table_name)?.to_owned();
        let projection = read_projection(
            get.projection_expression.as_deref(),
            None,
            get.expression_attribute_names,
        )?;
        let key_item = wire_item(get.key.unwrap_or_default())?;
        let (table, descriptor) = self.active_table(ctx, &name)?;
        let key = request_key(&descriptor.key_schema, &key_item)?.storage_key(descriptor.id);
        Ok(Read {
            name,
            table,
            key,
            projection,
        })
    }

    /// TransactGetItems.
    ///
    /// # Errors
    /// `ValidationException` for an invalid Get, no Get, more than 100, or items totalling
    /// more than 4 MB; `ResourceNotFoundException`; TransactionCanceledException with
    /// TransactionConflict for items a write transaction holds, or that kept changing under
    /// the reads.
    pub fn transact_get_items(
        &self,
        ctx: &RequestContext,
        input: TransactGetItemsInput,
    ) -> Result<TransactGetItemsOutput> {
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let items = input.transact_items.unwrap_or_default();
        check_action_count(items.len())?;
        let mut reads: Vec<Read> = Vec::with_capacity(items.len());
        for item in items {
            let read = self.transact_read(ctx, item)?;
            if reads.iter().any(|r| r.key == read.key) {
                return Err(Error::validation(MULTIPLE_OPERATIONS));
            }
            reads.push(read);
        }
        self.admit_transaction(
            crate::capacity::Direction::Read,
            reads.iter().map(|r| (r.table.as_ref(), &r.key)),
        )?;
        let held: Vec<usize> = (0..reads.len())
            .filter(|&i| self.txn.holds.is_held(&reads[i].key))
            .collect();
        if !held.is_empty() {
            for &i in &held {
                self.count_conflict(&reads[i].table);
            }
            return Err(conflicts_at(reads.len(), &held));
        }
        let mut values = Vec::with_capacity(reads.len());
        for attempt in 1..=SNAPSHOT_ATTEMPTS {
            values.clear();
            let mut guards = Vec::with_capacity(reads.len());
            for read in &reads {
                let current = self.store.get(&read.key)?;
                guards.push(Guard {
                    key: read.key.clone(),
                    expected: current.as_ref().map(|v| v.version),
                });
                values.push(current.map(|v| v.value));
            }
            // No writes: the store only checks that every item is still as read, all at one
            // instant — that instant is the snapshot.
            match self.store.commit(Batch {
                writes: Vec::new(),
                guards: guards.clone(),
            }) {
                Ok(_) => break,
                Err(StorageError::Conflict) if attempt < SNAPSHOT_ATTEMPTS => {}
                Err(StorageError::Conflict) => {
                    let moved = self.moved_since(&guards)?;
                    for &i in &moved {
                        self.count_conflict(&reads[i].table);
                    }
                    return Err(conflicts_at(reads.len(), &moved));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let items = values
            .into_iter()
            .map(|v| v.map(|v| decode(&v)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let sizes: Vec<usize> = items
            .iter()
            .map(|i| i.as_ref().map_or(0, item_size))
            .collect();
        // DynamoDB "rejects the entire TransactGetItems request if ... the aggregate size of the
        // items in the transaction exceeded 4 MB" (API reference, TransactGetItems), listed with
        // the user errors, while its TransactionCanceledException page names no such cause for
        // reads. No recorded answer of DynamoDB's to it was found, so this is a decision: the
        // ValidationException, with its text, that a write transaction over 4 MB gets; whole
        // items count (before any projection), since they are what is read and billed.
        check_transaction_size(sizes.iter().sum())?;
        let mut per_table: Vec<(String, Consumed)> = Vec::new();
        let mut responses = Vec::with_capacity(reads.len());
        for ((read, item), size) in reads.iter().zip(items).zip(sizes) {
            let units = read_units(size, true) * 2.0;
            self.charge(
                &read.table,
                &read.table.descriptor(),
                crate::capacity::Usage::TransactionalRead,
                &Consumed::table(units),
                Some(crate::capacity::partition_of(&read.key)),
            );
            match per_table.iter_mut().find(|(name, _)| *name == read.name) {
                Some((_, total)) => total.table += units,
                None => per_table.push((read.name.clone(), Consumed::table(units))),
            }
            responses.push(ItemResponse {
                item: match (item, &read.projection) {
                    (Some(item), Some(p)) => Some(p.apply(&item)),
                    (item, _) => item,
                },
            });
        }
        Ok(TransactGetItemsOutput {
            consumed_capacity: report(capacity, &per_table),
            responses: Some(responses),
        })
    }
}
