//! One file per DynamoDB operation, each an `impl Database` block of the same shape:
//! validate → execute → build the response. Shared lookups and response builders live here.

pub(crate) mod backups;
mod batch_execute_statement;
mod batch_get_item;
mod batch_write_item;
mod continuous_backups;
mod contributor_insights;
mod create_table;
mod delete_item;
mod delete_resource_policy;
mod delete_table;
pub(crate) mod describe_limits;
mod describe_table;
mod exchange;
mod execute_statement;
mod execute_transaction;
mod get_item;
mod get_resource_policy;
mod kinesis;
mod list_tables;
mod list_tags_of_resource;
mod put_item;
mod put_resource_policy;
mod query;
mod read_page;
mod scan;
mod streams;
mod tag_resource;
pub(crate) mod time_to_live;
mod transact_get_items;
mod transact_write_items;
mod untag_resource;
mod update_item;
mod update_rules;
mod update_table;
mod write;

use std::sync::Arc;

use binderdb_model::Item;

use crate::api::{
    AttributeDefinition, BillingModeSummary, GlobalSecondaryIndexDescription, KeySchemaElement,
    LocalSecondaryIndexDescription, OnDemandThroughput, Projection,
    ProvisionedThroughputDescription, RequestMap, TableClassSummary, TableDescription,
    WarmThroughputDescription, WireItem,
};
use crate::catalog::{BillingMode, KeyAttribute, Table, TableDescriptor};
use crate::clock::epoch_seconds;
use crate::error::{Error, Result};
use crate::index::{BuildState, IndexKind, ProjectionType};
use crate::keys::key_type_code;
use crate::warm;
use crate::{Database, RequestContext};

impl Database {
    /// The table an item operation addresses. Missing tables, and tables still `CREATING`, are
    /// DynamoDB's "Requested resource not found".
    pub(crate) fn active_table(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<(Arc<Table>, Arc<TableDescriptor>)> {
        let table = self
            .catalog
            .get(ctx.account(), &ctx.region, name)
            .ok_or_else(Error::table_not_found)?;
        ctx.touched.note(self.table_capacity(&table));
        let descriptor = table.descriptor();
        if descriptor.status(self.clock.now_millis()) == "CREATING" {
            return Err(Error::table_not_found());
        }
        Ok((table, descriptor))
    }

    /// The table a DDL operation addresses, with DescribeTable's not-found message.
    /// The table `name` for a change of it: `existing_table`, except that a table DELETING
    /// (`crate::deleting`) is ResourceInUseException "Table is being deleted: T".
    ///
    /// # Errors
    /// As [`Database::existing_table`], and the above.
    fn table_to_change(&self, ctx: &RequestContext, name: &str) -> Result<Arc<Table>> {
        self.existing_table(ctx, name).map_err(|missing| {
            if self.is_deleting(ctx, name) {
                Error::in_use(format!("Table is being deleted: {name}"))
            } else {
                missing
            }
        })
    }

    /// Whether the table `name` is DELETING (`crate::deleting`).
    fn is_deleting(&self, ctx: &RequestContext, name: &str) -> bool {
        self.deleting
            .get(ctx.account(), &ctx.region, name, self.clock.now_millis())
            .is_some()
    }

    fn existing_table(&self, ctx: &RequestContext, name: &str) -> Result<Arc<Table>> {
        let table = self
            .catalog
            .get(ctx.account(), &ctx.region, name)
            .ok_or_else(|| {
                Error::ResourceNotFound(format!(
                    "Requested resource not found: Table: {name} not found"
                ))
            })?;
        ctx.touched.note(self.table_capacity(&table));
        Ok(table)
    }

    /// The `TableDescription` of `table` as of now, with `status` overriding the computed status
    /// (CreateTable reports CREATING, DeleteTable DELETING).
    fn describe(&self, table: &Table, status: Option<&'static str>) -> Result<TableDescription> {
        self.describe_as(&table.descriptor(), status)
    }

    /// The `TableDescription` of a table whose descriptor is `d` (its item and index counts
    /// as of now), with `status` as for [`Database::describe`]. UpdateTable answers some
    /// requests it ignores with a descriptor it does not store.
    fn describe_as(
        &self,
        d: &TableDescriptor,
        status: Option<&'static str>,
    ) -> Result<TableDescription> {
        let (item_count, size_bytes) = crate::catalog::table_stats(self.store.as_ref(), d)?;
        let mut index_stats = Vec::with_capacity(d.indexes.len());
        for index in &d.indexes {
            index_stats.push(if index.state == BuildState::Built {
                crate::catalog::index_stats(self.store.as_ref(), d, index)?
            } else {
                (0, 0)
            });
        }
        Ok(self.description(d, status, item_count, size_bytes, &index_stats))
    }

    fn description(
        &self,
        d: &TableDescriptor,
        status: Option<&'static str>,
        item_count: i64,
        size_bytes: i64,
        index_stats: &[(i64, i64)],
    ) -> TableDescription {
        let now = self.clock.now_millis();
        let key_schema = key_schema_elements(
            std::iter::once(&d.key_schema.hash),
            d.key_schema.range.iter(),
        );
        let table_arn = self.table_arn(d);
        let mut local = Vec::new();
        let mut global = Vec::new();
        for (index, (count, bytes)) in d.indexes.iter().zip(index_stats) {
            let key_schema = key_schema_elements(index.hash.iter(), index.range.iter());
            let projection = Projection {
                projection_type: Some(index.projection.as_str().to_owned()),
                // DynamoDB lists NonKeyAttributes sorted by name, whatever the request's order.
                non_key_attributes: (index.projection == ProjectionType::Include).then(|| {
                    let mut names = index.non_key_attributes.clone();
                    names.sort_unstable();
                    names
                }),
            };
            match index.kind {
                IndexKind::Local => local.push(LocalSecondaryIndexDescription {
                    index_name: index.name.clone(),
                    key_schema,
                    projection,
                    index_size_bytes: *bytes,
                    item_count: *count,
                    index_arn: index.arn(&table_arn),
                }),
                // DynamoDB's CreateTable (and restore) answers carry no index WarmThroughput,
                // even a configured one; DescribeTable reports it for every index, CREATING
                // (with the table, or online while backfilling) included.
                IndexKind::Global => global.push(GlobalSecondaryIndexDescription {
                    warm_throughput: (status != Some("CREATING")).then(|| {
                        warm::description(
                            index.warm.as_ref(),
                            warm::Capacity::of_index(d.billing_mode, index),
                            now,
                            match status {
                                Some(s @ "DELETING") if index.maintained() => s,
                                _ => index.status(now),
                            },
                        )
                    }),
                    index_name: index.name.clone(),
                    key_schema,
                    projection,
                    index_status: match status {
                        Some(s @ ("CREATING" | "DELETING")) if index.maintained() => s.to_owned(),
                        _ => index.status(now).to_owned(),
                    },
                    backfilling: index.backfilling(now),
                    provisioned_throughput: ProvisionedThroughputDescription {
                        last_increase_date_time: index.last_increase_ms.map(epoch_seconds),
                        last_decrease_date_time: index.last_decrease_ms.map(epoch_seconds),
                        number_of_decreases_today: index.decreases_today,
                        read_capacity_units: index.read_capacity,
                        write_capacity_units: index.write_capacity,
                    },
                    on_demand_throughput: (index.max_read_request_units.is_some()
                        || index.max_write_request_units.is_some())
                    .then_some(OnDemandThroughput {
                        max_read_request_units: index.max_read_request_units,
                        max_write_request_units: index.max_write_request_units,
                    }),
                    index_size_bytes: *bytes,
                    item_count: *count,
                    index_arn: index.arn(&table_arn),
                }),
            }
        }
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
            latest_stream_arn: d.streams.last().map(|s| s.arn(&table_arn)),
            table_arn,
            table_id: d.uuid.clone(),
            billing_mode_summary: {
                // Kept once the table is provisioned again (DDB-TABLE-055, 058, 183); absent
                // while a table created PROVISIONED was never on-demand (DDB-TABLE-025, 058).
                let since = d.pay_per_request_since(now);
                (d.billing_mode != BillingMode::Provisioned || since.is_some()).then(|| {
                    BillingModeSummary {
                        billing_mode: d.billing_mode.as_str().to_owned(),
                        last_update_to_pay_per_request_date_time: since.map(epoch_seconds),
                    }
                })
            },
            table_class_summary: d
                .class_summary(now)
                .map(|(class, updated)| TableClassSummary {
                    table_class: class.to_owned(),
                    last_update_date_time: updated.map(epoch_seconds),
                }),
            deletion_protection_enabled: d.deletion_protection,
            local_secondary_indexes: (!local.is_empty()).then_some(local),
            global_secondary_indexes: (!global.is_empty()).then_some(global),
            stream_specification: d.enabled_stream().map(|s| crate::api::StreamSpecification {
                stream_enabled: Some(true),
                stream_view_type: Some(s.view_type.as_str().to_owned()),
            }),
            latest_stream_label: d.streams.last().map(|s| s.label()),
            on_demand_throughput: (d.max_read_request_units.is_some()
                || d.max_write_request_units.is_some())
            .then_some(OnDemandThroughput {
                max_read_request_units: d.max_read_request_units,
                max_write_request_units: d.max_write_request_units,
            }),
            // Only while the restore runs: DynamoDB drops it once the table is ACTIVE
            // (DDB-TABLE-216).
            restore_summary: d
                .restored_from
                .as_ref()
                .filter(|_| status.unwrap_or_else(|| d.status(now)) == "CREATING")
                .map(|r| r.summary(true)),
            warm_throughput: warm_description(
                d.warm.as_ref(),
                warm::Capacity::of_table(d),
                now,
                status.unwrap_or_else(|| d.status(now)),
            ),
            sse_description: crate::sse::description(d.sse.as_ref(), now),
        }
    }

    /// A new stream's descriptor, created at `now`, with this database's shard settings.
    ///
    /// # Errors
    /// Storage failures (allocating its id).
    fn new_stream(
        &self,
        view: crate::stream::ViewType,
        now: u64,
    ) -> Result<crate::stream::StreamDescriptor> {
        Ok(crate::stream::StreamDescriptor {
            id: self.catalog.allocate_table_id(self.store.as_ref())?,
            created_ms: now,
            view_type: view,
            disabled_ms: None,
            shards: self.config.stream_shards.max(1),
            rotation_ms: self.config.stream_shard_rotation_ms.max(1),
            policy: None,
        })
    }
}

/// The `WarmThroughput` of a table whose status is `status`: absent while it is being created,
/// unless its request configured one (`crate::warm`).
fn warm_description(
    state: Option<&warm::WarmState>,
    capacity: warm::Capacity,
    now: u64,
    status: &str,
) -> Option<WarmThroughputDescription> {
    let configured = state.is_some_and(|s| s.configured);
    (status != "CREATING" || configured).then(|| warm::description(state, capacity, now, status))
}

/// A key schema as DynamoDB lists it: the HASH attributes, then the RANGE ones.
pub(crate) fn key_schema_elements<'a>(
    hash: impl Iterator<Item = &'a KeyAttribute>,
    range: impl Iterator<Item = &'a KeyAttribute>,
) -> Vec<KeySchemaElement> {
    hash.map(|a| (a, "HASH"))
        .chain(range.map(|a| (a, "RANGE")))
        .map(|(a, kind)| KeySchemaElement {
            attribute_name: Some(a.name.clone()),
            key_type: Some(kind.to_owned()),
        })
        .collect()
}

/// The request's `TableName`; the server guarantees it is present, this keeps the engine safe
/// when embedded.
pub(crate) fn table_name(name: &Option<String>) -> Result<&str> {
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

pub(crate) use create_table::parse_key_type;
pub(crate) use write::{Change, Decided, Planned, WriteOutcome};

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
