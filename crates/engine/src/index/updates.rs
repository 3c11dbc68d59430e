//! UpdateTable's `GlobalSecondaryIndexUpdates`: creating, updating and deleting global
//! secondary indexes on a live table, checked in DynamoDB's order with its messages.
//!
//! DynamoDB allows one index creation or deletion per table at a time (LimitExceeded
//! otherwise), any number of throughput updates, and each index once per request.

use binderdb_model::KeyType;

use crate::api::{GlobalSecondaryIndexUpdate, UpdateTableInput};
use crate::catalog::{BillingMode, TableDescriptor};
use crate::error::{Error, Result};
use crate::index::define::{check_non_key_total, DefinitionContext, MAX_GLOBAL_INDEXES};
use crate::index::{BuildState, IndexDescriptor, IndexKind};

pub(crate) fn one_at_a_time() -> Error {
    Error::LimitExceeded(
        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously \
         per table"
            .to_owned(),
    )
}

/// One checked index change.
#[derive(Debug)]
pub(crate) enum IndexChange {
    /// Add this index (its id is allocated by the caller).
    Create(super::define::IndexDefinition),
    /// New throughput for an existing index: (name, read, write, max read, max write).
    Update {
        name: String,
        read: Option<(i64, i64)>,
        on_demand: Option<(Option<i64>, Option<i64>)>,
        /// A pre-warm of the index (`crate::warm`).
        warm: Option<crate::api::WarmThroughput>,
    },
    /// Start deleting this index.
    Delete(String),
}

/// The checked changes and the table's attribute definitions after them.
pub(crate) type Plan = (Vec<IndexChange>, Vec<(String, KeyType)>);

/// Checks the request's index updates against `table` (whose billing mode is `billing_mode`
/// once the request applies) and returns the changes, with the attribute definitions a new
/// index adds.
///
/// # Errors
/// `ValidationException`, `LimitExceededException` or `ResourceNotFoundException` with
/// DynamoDB's messages.
pub(crate) fn plan(
    table: &TableDescriptor,
    input: &UpdateTableInput,
    updates: &[GlobalSecondaryIndexUpdate],
    billing_mode: BillingMode,
    now_ms: u64,
) -> Result<Plan> {
    let mut names: Vec<&str> = Vec::new();
    let mut creates_or_deletes = 0;
    for update in updates {
        let actions = [
            update.create.as_ref().map(|c| c.index_name.as_deref()),
            update.update.as_ref().map(|u| u.index_name.as_deref()),
            update.delete.as_ref().map(|d| d.index_name.as_deref()),
        ];
        let given: Vec<Option<&str>> = actions.into_iter().flatten().collect();
        match given.len() {
            0 => {
                return Err(Error::invalid_parameter(
                    "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, \
                     GlobalSecondaryIndexUpdate.Delete must not be null",
                ))
            }
            1 => {}
            _ => {
                return Err(Error::invalid_parameter(
                    "Only one global secondary index action is allowed per \
                     GlobalSecondaryIndexUpdate object",
                ))
            }
        }
        let name = given[0].unwrap_or_default();
        if names.contains(&name) {
            return Err(Error::invalid_parameter(format!(
                "Only one global secondary index update per index is allowed simultaneously. \
                 Index: {name}"
            )));
        }
        names.push(name);
        if update.update.is_none() {
            creates_or_deletes += 1;
        }
    }
    if creates_or_deletes > 1 {
        return Err(one_at_a_time());
    }
    if creates_or_deletes == 1 {
        if input.provisioned_throughput.is_some() {
            return Err(Error::validation(
                "You cannot create or delete index while updating table IOPS",
            ));
        }
        // DeletionProtectionEnabled and TableClass next to an index creation or deletion were
        // refused before (`ops::update_rules`: each must be the only change of its request).
        // Deleting the index that is being created is allowed (it cancels the backfill);
        // any other creation or deletion waits for the one in progress.
        let deleting: Vec<&str> = updates
            .iter()
            .filter_map(|u| u.delete.as_ref()?.index_name.as_deref())
            .collect();
        let busy = table.indexes.iter().any(|i| {
            matches!(i.status(now_ms), "CREATING" | "DELETING")
                && !gone(i, now_ms)
                && !(i.state == BuildState::Backfilling && deleting.contains(&i.name.as_str()))
        });
        if busy {
            return Err(one_at_a_time());
        }
    }

    let mut definitions: Vec<(String, KeyType)> = table.attribute_definitions.clone();
    let mut changes = Vec::with_capacity(updates.len());
    for update in updates {
        if let Some(create) = &update.create {
            let name = create.index_name.clone().unwrap_or_default();
            let Some(defs) = &input.attribute_definitions else {
                return Err(Error::invalid_parameter(format!(
                    "AttributeDefinitions is not specified for index: {name}"
                )));
            };
            for d in defs {
                let attr = d.attribute_name.clone().unwrap_or_default();
                let key_type = crate::ops::parse_key_type(d.attribute_type.as_deref())?;
                match definitions.iter().find(|(n, _)| *n == attr) {
                    Some((_, existing)) if *existing != key_type => {
                        // DynamoDB renders each side as the key element of the new index.
                        let role = create
                            .key_schema
                            .iter()
                            .flatten()
                            .find(|e| e.attribute_name.as_deref() == Some(attr.as_str()))
                            .and_then(|e| e.key_type.clone())
                            .unwrap_or_else(|| "HASH".to_owned());
                        return Err(Error::invalid_parameter(format!(
                            "Attributes cannot be redefined. Please check that your attribute \
                             has the same type as previously defined. Existing schema: \
                             Schema:[SchemaElement: key{{{attr}:{}:{role}}}] New schema: \
                             Schema:[SchemaElement: key{{{attr}:{}:{role}}}]",
                            existing.as_str(),
                            key_type.as_str()
                        )));
                    }
                    Some(_) => {}
                    None => definitions.push((attr, key_type)),
                }
            }
            if table
                .indexes
                .iter()
                .any(|i| i.name == name && !gone(i, now_ms))
            {
                // DynamoDB's words, without the index's name (DDB-TABLE-137).
                return Err(Error::validation(
                    "Attempting to create an index which already exists",
                ));
            }
            let live_globals = table
                .indexes
                .iter()
                .filter(|i| i.kind == IndexKind::Global && !gone(i, now_ms))
                .count();
            if live_globals >= MAX_GLOBAL_INDEXES {
                return Err(Error::LimitExceeded(format!(
                    "Subscriber limit exceeded: Number of global secondary indexes exceeds \
                     per-table limit of {MAX_GLOBAL_INDEXES}"
                )));
            }
            if billing_mode == BillingMode::Provisioned
                && create.provisioned_throughput.as_ref().is_none_or(|t| {
                    t.read_capacity_units.is_none() || t.write_capacity_units.is_none()
                })
            {
                return Err(Error::invalid_parameter(format!(
                    "Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: \
                     {name}"
                )));
            }
            if billing_mode == BillingMode::PayPerRequest && create.provisioned_throughput.is_some()
            {
                // UpdateTable words it differently from CreateTable's "ProvisionedThroughput
                // should not be specified for index" (the ack-api-quirks lab's DDB-TABLE-442).
                return Err(Error::invalid_parameter(format!(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index: \
                     {name} when BillingMode is PAY_PER_REQUEST"
                )));
            }
            let context = DefinitionContext {
                definitions: &definitions,
                table_key: &table.key_schema,
                billing_mode,
            };
            let definition = context.global(create)?;
            check_non_key_total(
                table
                    .indexes
                    .iter()
                    .filter(|i| !gone(i, now_ms))
                    .map(|i| i.non_key_attributes.as_slice())
                    .chain(std::iter::once(definition.non_key_attributes.as_slice())),
            )?;
            crate::capacity::on_demand::check_capacity_quota(
                definition.read_capacity,
                definition.write_capacity,
                Some(&definition.name),
                &table.region,
            )?;
            changes.push(IndexChange::Create(definition));
        } else if let Some(u) = &update.update {
            let name = u.index_name.clone().unwrap_or_default();
            // DynamoDB answers a pre-warm of an index the table does not have with a bare HTTP
            // 500; binderdb with ResourceNotFoundException, as any other Update of it
            // (`crate::warm`).
            let index = find_global(table, &name, now_ms, "update")?;
            refuse_if_deleting(table, index)?;
            let only_on_demand = || {
                Error::invalid_parameter(format!(
                    "The only Updates for index: {name} when TableThroughputMode is \
                     PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput"
                ))
            };
            let read = match (&u.provisioned_throughput, billing_mode) {
                (Some(_), BillingMode::PayPerRequest) => return Err(only_on_demand()),
                // An empty OnDemandThroughput counts as absent (DDB-TABLE-456, 457).
                (None, BillingMode::PayPerRequest)
                    if u.on_demand_throughput.as_ref().is_none_or(|o| {
                        o.max_read_request_units.is_none() && o.max_write_request_units.is_none()
                    }) && u.warm_throughput.is_none() =>
                {
                    return Err(only_on_demand())
                }
                (Some(t), BillingMode::Provisioned) => {
                    let (r, w) = (
                        t.read_capacity_units.unwrap_or(0),
                        t.write_capacity_units.unwrap_or(0),
                    );
                    if r == index.read_capacity && w == index.write_capacity {
                        return Err(Error::validation(format!(
                            "The provisioned throughput for the index {name} will not change. The \
                             requested value equals the current value. Current ReadCapacityUnits \
                             provisioned for index {name}: {}. Requested ReadCapacityUnits: {r}. \
                             Current WriteCapacityUnits provisioned for index {name}: {}. \
                             Requested WriteCapacityUnits: {w}. Refer to the Amazon DynamoDB \
                             Developer Guide for current limits and how to request higher limits.",
                            index.read_capacity, index.write_capacity
                        )));
                    }
                    Some((r, w))
                }
                (None, _) => None,
            };
            if let Some(o) = &u.on_demand_throughput {
                crate::capacity::on_demand::check_update(o, Some(&name))?;
                crate::capacity::on_demand::check_on_demand_quota(o, Some(&name), &table.region)?;
            }
            if let Some((r, w)) = read {
                crate::capacity::on_demand::check_capacity_quota(r, w, Some(&name), &table.region)?;
            }
            let on_demand = u
                .on_demand_throughput
                .as_ref()
                .map(|o| (o.max_read_request_units, o.max_write_request_units));
            changes.push(IndexChange::Update {
                name,
                read,
                on_demand,
                warm: u.warm_throughput.clone(),
            });
        } else if let Some(d) = &update.delete {
            let name = d.index_name.clone().unwrap_or_default();
            let index = find_global(table, &name, now_ms, "delete")?;
            refuse_if_deleting(table, index)?;
            if index.backfilling(now_ms) == Some(false) {
                return Err(allocating(&table.name, &name));
            }
            changes.push(IndexChange::Delete(name));
        }
    }
    Ok((changes, definitions))
}

/// DynamoDB's refusal to delete index `index` of table `table` while its resources are still
/// being allocated (the index CREATING, not yet backfilling).
pub(crate) fn allocating(table: &str, index: &str) -> Error {
    Error::in_use(format!(
        "Index creation is in resource allocation phase. Retry deletion during backfilling \
         phase or when the index is active. Table: {table} Index: {index}"
    ))
}

/// DynamoDB's answer to a change of an index that is being deleted.
fn refuse_if_deleting(table: &TableDescriptor, index: &IndexDescriptor) -> Result<()> {
    if index.state == BuildState::Deleting {
        return Err(Error::in_use(format!(
            "Index is being deleted. Table: {} Index: {}",
            table.name, index.name
        )));
    }
    Ok(())
}

/// Whether a deleted index's DELETING period is over (it no longer counts anywhere).
pub(crate) fn gone(index: &IndexDescriptor, now_ms: u64) -> bool {
    index.state == BuildState::Deleting && now_ms >= index.active_at_ms
}

/// The global index `name` of `table` that an Update or Delete action (`verb`) names. A local
/// index's name is refused in DynamoDB's words (DDB-TABLE-137).
fn find_global<'a>(
    table: &'a TableDescriptor,
    name: &str,
    now_ms: u64,
    verb: &str,
) -> Result<&'a IndexDescriptor> {
    match table.index(name).filter(|i| !gone(i, now_ms)) {
        Some(index) if index.kind == IndexKind::Global => Ok(index),
        Some(_) => Err(Error::validation(format!(
            "Cannot {verb} an index that is not a GlobalSecondaryIndex: {name}"
        ))),
        None => Err(Error::ResourceNotFound(format!(
            "Requested resource not found: Index {name} for table {}",
            table.name
        ))),
    }
}
