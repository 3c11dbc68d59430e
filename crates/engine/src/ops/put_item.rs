//! PutItem: validate the item (values, size, key), replace it atomically under its latch, and
//! bill the larger of the old and new item.

use std::borrow::Cow;

use binderdb_model::{item_size, Item, MAX_ITEM_SIZE};

use crate::api::{PutItemInput, WireItem, WriteItemOutput};
use crate::capacity::ReturnCapacity;

use crate::conditions::{ReturnOnFailure, WriteConditions};
use crate::error::{Error, Result};
use crate::keys::item_key;
use crate::ops::{return_old_values, table_name, wire_item, Change};
use crate::{Database, RequestContext};

/// An item a client asks to store, with its values validated and its size within DynamoDB's
/// limit (PutItem and BatchWriteItem's PutRequest).
#[derive(Debug)]
pub(super) struct NewItem {
    pub(super) item: Item,
}

impl NewItem {
    /// Validates the wire item's values, then its size.
    ///
    /// # Errors
    /// `ValidationException` for an invalid value or an item over 400 KB.
    pub(super) fn from_wire(map: WireItem) -> Result<Self> {
        let item = wire_item(map)?;
        if item_size(&item) > MAX_ITEM_SIZE {
            return Err(Error::validation(
                "Item size has exceeded the maximum allowed size",
            ));
        }
        Ok(NewItem { item })
    }
}

impl Database {
    /// PutItem.
    ///
    /// # Errors
    /// `ValidationException` for invalid values, keys, sizes or expressions;
    /// `ResourceNotFoundException`; `ConditionalCheckFailedException`.
    pub fn put_item(&self, ctx: &RequestContext, input: PutItemInput) -> Result<WriteItemOutput> {
        let name = table_name(&input.table_name)?;
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let return_old = return_old_values(input.return_values.as_deref())?;
        let on_failure =
            ReturnOnFailure::parse(input.return_values_on_condition_check_failure.as_deref());
        let new = NewItem::from_wire(input.item.unwrap_or_default())?;
        let conditions = WriteConditions::parse(
            input.condition_expression.as_deref(),
            input.expected.as_ref(),
            input.conditional_operator.as_deref(),
            input.expression_attribute_names,
            input.expression_attribute_values,
        )?;
        let (table, descriptor) = self.active_table(ctx, name)?;
        let key = item_key(&descriptor.key_schema, &new.item)?.storage_key(descriptor.id);
        // Index key values are part of validation: refused before any condition is evaluated.
        crate::index::check_item(&descriptor, &new.item)?;
        let only_if_absent = input.only_if_absent;
        let outcome = self.metered_write(&table, &descriptor, &key, &mut |old| {
            if only_if_absent && old.is_some() {
                return Err(Error::ConditionalCheckFailed { item: None });
            }
            conditions.check(old, on_failure)?;
            Ok(Change::Put(Cow::Borrowed(&new.item)))
        })?;
        let metrics = outcome.collection_metrics(
            input.return_item_collection_metrics.as_deref(),
            &descriptor,
            &key,
        );
        Ok(WriteItemOutput {
            attributes: if return_old { outcome.old } else { None },
            consumed_capacity: capacity.report_consumed(name, &outcome.consumed),
            item_collection_metrics: metrics,
        })
    }
}
