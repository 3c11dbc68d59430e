//! DeleteItem: remove the item under its latch; deleting a missing item still costs 1 WCU.

use crate::api::{DeleteItemInput, WriteItemOutput};
use crate::capacity::ReturnCapacity;

use crate::conditions::{ReturnOnFailure, WriteConditions};
use crate::error::Result;
use crate::keys::request_key;
use crate::ops::{return_old_values, table_name, wire_item, Change};
use crate::{Database, RequestContext};

impl Database {
    /// DeleteItem.
    ///
    /// # Errors
    /// `ValidationException` for a key that does not match the schema or invalid expressions;
    /// `ResourceNotFoundException`; `ConditionalCheckFailedException`.
    pub fn delete_item(
        &self,
        ctx: &RequestContext,
        input: DeleteItemInput,
    ) -> Result<WriteItemOutput> {
        let name = table_name(&input.table_name)?;
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let return_old = return_old_values(input.return_values.as_deref())?;
        let on_failure =
            ReturnOnFailure::parse(input.return_values_on_condition_check_failure.as_deref());
        let key_item = wire_item(input.key.unwrap_or_default())?;
        let conditions = WriteConditions::parse(
            input.condition_expression.as_deref(),
            input.expected.as_ref(),
            input.conditional_operator.as_deref(),
            input.expression_attribute_names,
            input.expression_attribute_values,
        )?;
        let (table, descriptor) = self.active_table(ctx, name)?;
        let key = request_key(&descriptor.key_schema, &key_item)?.storage_key(descriptor.id);
        let outcome = self.metered_write(&table, &descriptor, &key, &mut |old| {
            conditions.check(old, on_failure)?;
            Ok(Change::Delete)
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
