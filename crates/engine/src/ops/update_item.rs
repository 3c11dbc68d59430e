//! UpdateItem: read the item under its latch (or start from its key), check the condition,
//! apply the UpdateExpression to a copy, check the result's size, and store it.

use std::borrow::Cow;

use binderdb_expr::{apply_update, UpdateExpression, UpdatedPaths};
use binderdb_model::{item_size, Item, MAX_ITEM_SIZE};

use crate::api::{UpdateItemInput, WriteItemOutput};
use crate::capacity::ReturnCapacity;
use crate::catalog::KeySchema;
use crate::conditions::{check_condition, legacy_expected, ReturnOnFailure};
use crate::error::{Error, Result};
use crate::expressions::{top_level_name, ExpressionTexts, Expressions};
use crate::keys::{request_key, schema_attributes};
use crate::legacy;
use crate::ops::{table_name, wire_item, Change};
use crate::{Database, RequestContext};

/// UpdateItem's `ReturnValues`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReturnValues {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl ReturnValues {
    fn parse(value: Option<&str>) -> Self {
        match value {
            Some("ALL_OLD") => ReturnValues::AllOld,
            Some("UPDATED_OLD") => ReturnValues::UpdatedOld,
            Some("ALL_NEW") => ReturnValues::AllNew,
            Some("UPDATED_NEW") => ReturnValues::UpdatedNew,
            _ => ReturnValues::None,
        }
    }
}

/// Whether an update has actions and all of them only take something away (`REMOVE`, `DELETE`;
/// AttributeUpdates' `DELETE` becomes one of these). An update without any action is not one:
/// it still creates the key-only item, as in DynamoDB.
fn only_removes(update: &UpdateExpression) -> bool {
    update.set.is_empty()
        && update.add.is_empty()
        && !(update.remove.is_empty() && update.delete.is_empty())
}

/// Refuses an update that targets a key attribute, with DynamoDB's message.
///
/// # Errors
/// `ValidationException`.
pub(super) fn check_key_updates(exprs: &Expressions, schema: &KeySchema) -> Result<()> {
    if let Some(update) = &exprs.update {
        for path in update.target_paths() {
            let top = top_level_name(path, &exprs.placeholders.names);
            if let Some(top) = top.filter(|t| schema_attributes(schema).any(|a| a.name == *t)) {
                return Err(Error::invalid_parameter(format!(
                    "Cannot update attribute {top}. This attribute is part of the key"
                )));
            }
        }
    }
    Ok(())
}

/// What an update does to `old` (absent: the item is made from `key_item`), once its
/// condition holds: the change to store and the paths the update touched (for UPDATED_OLD /
/// UPDATED_NEW). Shared by UpdateItem and a transaction's Update.
///
/// # Errors
/// ConditionalCheckFailedException; `ValidationException` for a runtime update error (legacy
/// wording for AttributeUpdates) or a result over 400 KB.
pub(super) fn updated_item(
    exprs: &Expressions,
    legacy_update: bool,
    key_item: &Item,
    old: Option<&Item>,
    on_failure: ReturnOnFailure,
) -> Result<(Change<'static>, Option<UpdatedPaths>)> {
    check_condition(exprs, old, on_failure)?;
    let mut item = old.cloned().unwrap_or_else(|| key_item.clone());
    let mut updated = None;
    if let Some(update) = &exprs.update {
        let paths = apply_update(
            update,
            &mut item,
            &exprs.placeholders.names,
            &exprs.placeholders.values,
        )
        .map_err(|e| {
            if legacy_update {
                legacy::update_error(&e)
            } else {
                Error::validation(e.to_string())
            }
        })?;
        updated = Some(paths);
    }
    if old.is_none() && exprs.update.as_ref().is_some_and(only_removes) {
        // DynamoDB creates no item from an update that only takes attributes away:
        // the missing item stays missing (and ALL_NEW / UPDATED_NEW return nothing).
        return Ok((Change::Delete, updated));
    }
    if item_size(&item) > MAX_ITEM_SIZE {
        return Err(Error::validation(
            "Item size to update has exceeded the maximum allowed size",
        ));
    }
    Ok((Change::Put(Cow::Owned(item)), updated))
}

impl Database {
    /// UpdateItem.
    ///
    /// # Errors
    /// `ValidationException` for invalid keys, expressions, key-attribute updates, runtime
    /// update errors or an oversized result; `ResourceNotFoundException`;
    /// `ConditionalCheckFailedException`.
    pub fn update_item(
        &self,
        ctx: &RequestContext,
        input: UpdateItemInput,
    ) -> Result<WriteItemOutput> {
        let name = table_name(&input.table_name)?;
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let return_values = ReturnValues::parse(input.return_values.as_deref());
        let on_failure =
            ReturnOnFailure::parse(input.return_values_on_condition_check_failure.as_deref());
        let key_item = wire_item(input.key.unwrap_or_default())?;
        legacy::check_not_mixed(
            &[
                ("AttributeUpdates", input.attribute_updates.is_some()),
                ("Expected", input.expected.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &[
                ("UpdateExpression", input.update_expression.is_some()),
                ("ConditionExpression", input.condition_expression.is_some()),
            ],
        )?;
        let mut exprs = Expressions::parse(
            ExpressionTexts {
                update: input.update_expression.as_deref(),
                condition: input.condition_expression.as_deref(),
                value_members: "UpdateExpression and ConditionExpression are null",
                ..ExpressionTexts::default()
            },
            input.expression_attribute_names,
            input.expression_attribute_values,
        )?;
        let legacy_update = input.attribute_updates.is_some();
        if let Some(updates) = &input.attribute_updates {
            exprs.set_update(legacy::attribute_updates(updates)?);
        }
        exprs.set_condition(legacy_expected(
            input.expected.as_ref(),
            input.conditional_operator.as_deref(),
        )?);
        let (table, descriptor) = self.active_table(ctx, name)?;
        let schema = &descriptor.key_schema;
        let key = request_key(schema, &key_item)?.storage_key(descriptor.id);
        check_key_updates(&exprs, schema)?;

        let mut updated: Option<UpdatedPaths> = None;
        let outcome = self.metered_write(&table, &descriptor, &key, &mut |old| {
            let (change, paths) = updated_item(&exprs, legacy_update, &key_item, old, on_failure)?;
            updated = paths;
            Ok(change)
        })?;

        let metrics = outcome.collection_metrics(
            input.return_item_collection_metrics.as_deref(),
            &descriptor,
            &key,
        );
        let consumed_capacity = capacity.report_consumed(name, &outcome.consumed);
        let project = |item: Option<Item>| -> Option<Item> {
            let item = item?;
            let paths = updated.as_ref()?;
            Some(paths.projection(&exprs.placeholders.names).apply(&item))
        };
        let attributes = match return_values {
            ReturnValues::None => None,
            ReturnValues::AllOld => outcome.old,
            ReturnValues::AllNew => outcome.new,
            ReturnValues::UpdatedOld => project(outcome.old),
            ReturnValues::UpdatedNew => project(outcome.new),
        }
        .filter(|item| !item.is_empty());
        Ok(WriteItemOutput {
            attributes,
            consumed_capacity,
            item_collection_metrics: metrics,
        })
    }
}
