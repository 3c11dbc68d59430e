//! One file per DynamoDB operation, each an `impl Database` block of the same shape:
//! validate → execute → build the response. Shared lookups and response builders live here.

mod batch_get_item;
mod batch_write_item;
mod create_table;
mod delete_item;
mod delete_table;
mod describe_table;
mod get_item;
mod list_tables;
mod put_item;
mod query;
mod read_page;
mod scan;
mod update_item;
mod update_table;
mod write;

use std::sync::Arc;

use binderdb_model::Item;

use crate::api::{
    AttributeDefinition, BillingModeSummary, KeySchemaElement, ProvisionedThroughputDescription,
    RequestMap, TableClassSummary, TableDescription, WireItem,
};
use crate::catalog::{BillingMode, Table, TableDescriptor};
use crate::clock::epoch_seconds;
use crate::error::{Error, Result};
use crate::keys::key_type_code;
use crate::{Database, RequestContext};

impl Database {
    /// The table an item operation addresses. Missing tables, and tables still `CREATING`, are
    /// DynamoDB's "Requested resource not found".
    fn active_table(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<(Arc<Table>, Arc<TableDescriptor>)> {
        let table = self
            .catalog
            .get(&ctx.region, name)
            .ok_or_else(Error::table_not_found)?;
        let descriptor = table.descriptor();
        if descriptor.status(self.clock.now_millis()) == "CREATING" {
            return Err(Error::table_not_found());
        }
        Ok((table, descriptor))
    }

    /// The table a DDL operation addresses, with DescribeTable's not-found message.
    fn existing_table(&self, ctx: &RequestContext, name: &str) -> Result<Arc<Table>> {
        self.catalog.get(&ctx.region, name).ok_or_else(|| {
            Error::ResourceNotFound(format!(
                "Requested resource not found: Table: {name} not found"
            ))
        })
    }

    /// The `TableDescription` of `table` as of now, with `status` overriding the computed status
    /// (CreateTable reports CREATING, DeleteTable DELETING).
    fn describe(&self, table: &Table, status: Option<&'static str>) -> Result<TableDescription> {
        let d = table.descriptor();
        let (item_count, size_bytes) = crate::catalog::table_stats(self.store.as_ref(), table)?;
        Ok(self.description(&d, status, item_count, size_bytes))
    }

    fn description(
        &self,
        d: &TableDescriptor,
        status: Option<&'static str>,
        item_count: i64,
        size_bytes: i64,
    ) -> TableDescription {
        let now = self.clock.now_millis();
        let key_schema = std::iter::once((&d.key_schema.hash.name, "HASH"))
            .chain(d.key_schema.range.as_ref().map(|r| (&r.name, "RANGE")))
            .map(|(name, kind)| KeySchemaElement {
                attribute_name: Some(name.clone()),
                key_type: Some(kind.to_owned()),
            })
            .collect();
        TableDescription {
            attribute_definitions: d
                .attribute_definitions
                .iter()
                .map(|(name, t)| AttributeDefinition {
                    attribute_name: Some(name.clone()),
                    attribute_type: Some(key_type_code(*t).to_owned()),
                })
                .collect(),
            table_name: d.name.clone(),
            key_schema,
            table_status: status.unwrap_or_else(|| d.status(now)).to_owned(),
            creation_date_time: epoch_seconds(d.created_at_ms),
            provisioned_throughput: ProvisionedThroughputDescription {
                last_increase_date_time: d.last_increase_ms.map(epoch_seconds),
                last_decrease_date_time: d.last_decrease_ms.map(epoch_seconds),
                number_of_decreases_today: d.decreases_today,
                read_capacity_units: d.read_capacity,
                write_capacity_units: d.write_capacity,
            },
            table_size_bytes: size_bytes,
            item_count,
            table_arn: format!(
                "arn:aws:dynamodb:{}:{}:table/{}",
                d.region, self.config.account_id, d.name
            ),
            table_id: d.uuid.clone(),
            billing_mode_summary: BillingModeSummary {
                billing_mode: d.billing_mode.as_str().to_owned(),
                last_update_to_pay_per_request_date_time: match d.billing_mode {
                    BillingMode::PayPerRequest => d.last_pay_per_request_ms.map(epoch_seconds),
                    BillingMode::Provisioned => None,
                },
            },
            table_class_summary: (d.table_class != "STANDARD").then(|| TableClassSummary {
                table_class: d.table_class.clone(),
            }),
            deletion_protection_enabled: d.deletion_protection,
        }
    }
}

/// The request's `TableName`; the server guarantees it is present, this keeps the engine safe
/// when embedded.
fn table_name(name: &Option<String>) -> Result<&str> {
    name.as_deref().ok_or_else(|| {
        Error::validation(
            "1 validation error detected: Value null at 'tableName' failed to satisfy \
             constraint: Member must not be null",
        )
    })
}

/// Validates a wire attribute map into an item.
fn wire_item(map: WireItem) -> Result<Item> {
    Ok(binderdb_model::item_from_wire(map)?)
}

/// The projection of a GetItem (or of one BatchGetItem table): its ProjectionExpression or
/// legacy AttributesToGet, never both.
///
/// # Errors
/// `ValidationException` for an invalid expression, unused or undefined names, or mixed
/// parameters.
fn read_projection(
    projection_expression: Option<&str>,
    attributes_to_get: Option<&[String]>,
    names: Option<std::collections::HashMap<String, String>>,
) -> Result<Option<binderdb_expr::Projection>> {
    crate::legacy::check_not_mixed(
        &[("AttributesToGet", attributes_to_get.is_some())],
        &[("ProjectionExpression", projection_expression.is_some())],
    )?;
    let mut exprs = crate::expressions::Expressions::parse(
        crate::expressions::ExpressionTexts {
            projection: projection_expression,
            ..Default::default()
        },
        names,
        None,
    )?;
    exprs.set_projection(attributes_to_get)?;
    Ok(exprs
        .projection
        .as_ref()
        .map(|paths| binderdb_expr::Projection::new(paths, &exprs.placeholders.names)))
}

/// A batch's `RequestItems`, which must name at least one table. DynamoDB answers an empty map
/// with its own text rather than the constraint form (recorded from DynamoDB in 2026; dynalite,
/// older, records the constraint form).
fn required_request_items<V>(
    items: Option<RequestMap<V>>,
    operation: &str,
) -> Result<RequestMap<V>> {
    match items {
        Some(items) if !items.is_empty() => Ok(items),
        _ => Err(Error::validation(format!(
            "The requestItems parameter is required for {operation}"
        ))),
    }
}

pub(crate) use write::{Change, WriteOutcome};

/// `ReturnValues` of PutItem and DeleteItem: only NONE and ALL_OLD are allowed there.
fn return_old_values(value: Option<&str>) -> Result<bool> {
    match value {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(_) => Err(Error::validation(
            "ReturnValues can only be ALL_OLD or NONE",
        )),
    }
}

/// Decodes a stored item.
fn decode(bytes: &[u8]) -> Result<Item> {
    Ok(binderdb_model::decode_item(bytes)?)
}
