//! UpdateTable: billing mode, provisioned throughput, deletion protection, table class and
//! online global secondary index changes (create with a background backfill, throughput
//! update, delete), and pre-warming (`WarmThroughput`, see [`crate::warm`]). Throughput,
//! billing and index changes put the table in UPDATING for the configured delay; a pre-warm
//! leaves it ACTIVE and only its `WarmThroughput.Status` is UPDATING as long.
//!
//! Which members may share a request, and the words of a refusal while a change is in
//! flight, are `ops::update_rules` (DDB-TABLE-433, 382, 369, 119, 444). What is admitted while
//! a change is in flight follows the request, not only the table's status, as DynamoDB was
//! observed to (the ack-api-quirks lab's finding numbers):
//! - A CREATING table refuses every change (ResourceInUseException).
//! - `OnDemandThroughput` is checked against the billing mode the table had before a switch in
//!   flight, before the change in flight refuses it: on a table that was PROVISIONED,
//!   "MaxReadRequestUnits for OnDemandThroughput cannot be specified when the table
//!   BillingMode is PROVISIONED" (DDB-TABLE-369, 059).
//! - `DeletionProtectionEnabled` alone is admitted while the table is UPDATING, whatever the
//!   change in flight (a stream, billing-mode, throughput or table class change:
//!   DDB-TABLE-002, 119, 285, 286, 369, 370); the answer and DescribeTable keep UPDATING. An
//!   index creation was not observed: binderdb admits it then too.
//! - A pre-warm alone is admitted too (see [`crate::warm`]).
//! - `BillingMode: PAY_PER_REQUEST` on an on-demand table is a no-op re-send: answered 200 with
//!   TableStatus UPDATING, while DescribeTable stays ACTIVE and keeps its
//!   LastUpdateToPayPerRequestDateTime (DDB-TABLE-177, 057, 156, 383). Alone it is admitted
//!   while the table is UPDATING (seen during a stream change, DDB-TABLE-383; binderdb admits it
//!   during an index change too), except during a switch to on-demand (below). Re-sending the
//!   throughput of a provisioned table is "The provisioned throughput for the table will not
//!   change" (DDB-TABLE-057).
//! - A billing-mode or throughput change while one is in progress is ResourceInUseException
//!   "Table IOPS are currently being updated. Table: <name>" (DDB-TABLE-369, 370, 452), with
//!   one exception: during a switch from PAY_PER_REQUEST to PROVISIONED, `BillingMode:
//!   PAY_PER_REQUEST` alone is answered 200 and ignored, taken as a re-send of the mode the
//!   table had. The answer shows the table UPDATING, PAY_PER_REQUEST, throughput 0/0; the
//!   switch to PROVISIONED goes on and completes as it would have (DDB-TABLE-452: 9 of 9 cells
//!   of the lab's clobber matrix, DDB-TABLE-450). The way back the other direction carries a
//!   throughput, and is refused.
//! - Anything else while the table is UPDATING is ResourceInUseException in words naming the
//!   change asked for and the one in flight (`ops::update_rules`).

use crate::api::{TableDescriptionOutput, UpdateTableInput};
use crate::catalog::{
    BillingMode, CapacityChange, ClassChange, TableDescriptor, CLASS_UPDATES_PER_WINDOW,
    CLASS_UPDATE_WINDOW_MS, PROTECTION_COOLDOWN_MS,
};
use crate::error::{Error, Result};
use crate::index::updates::{self, IndexChange};
use crate::index::{BuildState, IndexKind};
use crate::ops::create_table::billing;
use crate::ops::table_name;
use crate::ops::update_rules::{check_exclusive, check_stream_with_iops, Asked, InFlight, Members};
use crate::{Database, RequestContext};

/// Milliseconds in a day, for "decreases today".
const DAY_MS: u64 = 86_400_000;

/// The throughput-change record of a table or a global index.
struct ThroughputHistory<'a> {
    last_increase_ms: &'a mut Option<u64>,
    last_decrease_ms: &'a mut Option<u64>,
    decreases_today: &'a mut i64,
}

/// Records a provisioned-throughput change from `old` to `new` (read, write) at `now`: an
/// increase of either stamps LastIncreaseDateTime; a decrease of either stamps
/// LastDecreaseDateTime and counts toward NumberOfDecreasesToday (reset on a new UTC day).
///
/// With `limit_decreases` (throttling on), a decrease past DynamoDB's daily allowance is refused
/// (`capacity::decreases`) and nothing is recorded.
fn throughput_history(
    old: (i64, i64),
    new: (i64, i64),
    now: u64,
    h: ThroughputHistory<'_>,
    limit_decreases: bool,
) -> Result<()> {
    let decrease = new.0 < old.0 || new.1 < old.1;
    if decrease && limit_decreases {
        crate::capacity::decreases::check_decrease(*h.last_decrease_ms, *h.decreases_today, now)?;
    }
    if new.0 > old.0 || new.1 > old.1 {
        *h.last_increase_ms = Some(now);
    }
    if decrease {
        let same_day = h
            .last_decrease_ms
            .is_some_and(|t| t / DAY_MS == now / DAY_MS);
        *h.decreases_today = if same_day { *h.decreases_today + 1 } else { 1 };
        *h.last_decrease_ms = Some(now);
    }
    Ok(())
}

/// A table's `WarmThroughput` must be the only change of its request (GSI `Update` actions
/// aside), and a GSI's `WarmThroughput` must name a member; checked before the table is looked
/// up, as DynamoDB does (it answers the empty GSI member even for a missing table).
fn check_warm_request(
    table_warm: bool,
    other_changes: bool,
    index_updates: &[crate::api::GlobalSecondaryIndexUpdate],
) -> Result<()> {
    let invalid = |msg: &str| Error::invalid_parameter(msg);
    for update in index_updates {
        if let Some(u) = &update.update {
            if u.warm_throughput.is_some()
                && crate::warm::requested(u.warm_throughput.as_ref()).is_none()
            {
                return Err(invalid(&format!(
                    "WarmThroughput must have at least one of ReadUnitsPerSecond or \
                     WriteUnitsPerSecond specified for index: {}",
                    u.index_name.as_deref().unwrap_or_default()
                )));
            }
        }
    }
    if !table_warm {
        return Ok(());
    }
    if index_updates.iter().any(|u| u.create.is_some()) {
        return Err(invalid(
            "Create global secondary index cannot be specified when updating WarmThroughput",
        ));
    }
    if other_changes || index_updates.iter().any(|u| u.delete.is_some()) {
        return Err(invalid(
            "WarmThroughput must be the only operation in the request",
        ));
    }
    Ok(())
}

/// Whether a request only pre-warms: a table `WarmThroughput` and/or GSI `Update` actions that
/// carry nothing but a `WarmThroughput`.
fn warm_only(
    table_warm: bool,
    other_changes: bool,
    index_updates: &[crate::api::GlobalSecondaryIndexUpdate],
) -> bool {
    let index_warm_only = |u: &crate::api::GlobalSecondaryIndexUpdate| {
        u.create.is_none()
            && u.delete.is_none()
            && u.update.as_ref().is_some_and(|a| {
                a.provisioned_throughput.is_none()
                    && a.on_demand_throughput.is_none()
                    && crate::warm::requested(a.warm_throughput.as_ref()).is_some()
            })
    };
    !other_changes
        && (table_warm || !index_updates.is_empty())
        && index_updates.iter().all(index_warm_only)
}

/// UpdateTable's refusal of a request that changes nothing (DynamoDB's current text, naming
/// every member an UpdateTable can change).
const NOTHING_TO_UPDATE: &str = "At least one of ProvisionedThroughput, BillingMode, \
     UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, \
     MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, \
     DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required";

impl Database {
    /// UpdateTable.
    ///
    /// # Errors
    /// `ResourceNotFoundException`; `ResourceInUseException` while the table is not ACTIVE
    /// (a pre-warm or `DeletionProtectionEnabled` alone is admitted while it is UPDATING, and a
    /// way back to on-demand during a switch from it is ignored, see the module docs);
    /// `ValidationException` for an empty
    /// or no-op update, or throughput inconsistent with the billing mode; and the 400s binderdb
    /// answers where DynamoDB answers HTTP 500 (an empty `WarmThroughput` / `OnDemandThroughput`
    /// alone, a pre-warm of a missing index, or one during an index's resource allocation: see
    /// [`crate::warm`]).
    pub fn update_table(
        &self,
        ctx: &RequestContext,
        input: UpdateTableInput,
    ) -> Result<TableDescriptionOutput> {
        let name = table_name(&input.table_name)?;
        let index_updates = input
            .global_secondary_index_updates
            .as_deref()
            .unwrap_or_default();
        let warm = crate::warm::requested(input.warm_throughput.as_ref());
        // An empty `WarmThroughput` or `OnDemandThroughput` is dropped next to any other member
        // (DynamoDB answers 200 and changes nothing for it); alone, it is answered below.
        let on_demand = input
            .on_demand_throughput
            .as_ref()
            .filter(|o| o.max_read_request_units.is_some() || o.max_write_request_units.is_some());
        let other_changes = input.billing_mode.is_some()
            || input.provisioned_throughput.is_some()
            || input.deletion_protection_enabled.is_some()
            || input.table_class.is_some()
            || input.stream_specification.is_some()
            || input.sse_specification.is_some()
            || on_demand.is_some();
        let only_empty_structs = !other_changes
            && warm.is_none()
            && input.global_secondary_index_updates.is_none()
            && (input.warm_throughput.is_some() || input.on_demand_throughput.is_some());
        if !other_changes && warm.is_none() && index_updates.is_empty() && !only_empty_structs {
            // DynamoDB's current text (it names every member an UpdateTable can change).
            return Err(Error::validation(NOTHING_TO_UPDATE));
        }
        if input.global_secondary_index_updates.is_some() && index_updates.is_empty() {
            return Err(Error::invalid_parameter(
                "List of GlobalSecondaryIndexUpdates is empty",
            ));
        }
        // One concern per request (DDB-TABLE-433): checked before the table is looked up.
        check_exclusive(Members::of(&input, on_demand.is_some(), warm.is_some()))?;
        check_warm_request(warm.is_some(), other_changes, index_updates)?;
        check_stream_with_iops(&input)?;
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let table = self.table_to_change(ctx, name)?;
        let current = table.descriptor();
        let now = self.clock.now_millis();
        let status = current.status(now);
        let prewarm_only = warm_only(warm.is_some(), other_changes, index_updates);
        let capacity_change = current.capacity_change.filter(|c| c.in_progress(now));
        if let Some(on_demand) = on_demand {
            // Checked against the billing mode the table had before a switch in flight, and
            // before the change in flight refuses the request (DDB-TABLE-369, 059).
            let before = capacity_change.map_or(current.billing_mode, |c| c.from);
            let mode = input.billing_mode.as_deref().unwrap_or(before.as_str());
            if mode == BillingMode::Provisioned.as_str() {
                let member = if on_demand.max_read_request_units.is_some() {
                    "MaxReadRequestUnits"
                } else {
                    "MaxWriteRequestUnits"
                };
                return Err(Error::invalid_parameter(format!(
                    "{member} for OnDemandThroughput cannot be specified when the table \
                     BillingMode is PROVISIONED"
                )));
            }
        }
        let changes_billing =
            input.billing_mode.is_some() || input.provisioned_throughput.is_some();
        if let Some(change) = capacity_change.filter(|_| status == "UPDATING" && changes_billing) {
            let billing_only = input.provisioned_throughput.is_none()
                && input.deletion_protection_enabled.is_none()
                && input.table_class.is_none()
                && input.stream_specification.is_none()
                && on_demand.is_none()
                && warm.is_none()
                && index_updates.is_empty();
            return self.during_capacity_change(&current, change, &input, billing_only);
        }
        // `BillingMode: PAY_PER_REQUEST` on an on-demand table with no switch in flight changes
        // nothing: answered 200 with the table UPDATING, while DescribeTable stays as it was
        // (ACTIVE, the same LastUpdateToPayPerRequestDateTime: DDB-TABLE-177, 057, 383, 156).
        // Re-sending the throughput of a provisioned table is the "will not change"
        // ValidationException below (DDB-TABLE-057).
        let billing_noop = input.billing_mode.as_deref()
            == Some(BillingMode::PayPerRequest.as_str())
            && input.provisioned_throughput.is_none()
            && current.billing_mode == BillingMode::PayPerRequest;
        let changes_billing = changes_billing && !billing_noop;
        // DeletionProtectionEnabled is the only change of its request (checked above).
        let protection_only = input.deletion_protection_enabled.is_some();
        // So is SSESpecification, which never makes the table UPDATING (`crate::sse`).
        let sse_only = input.sse_specification.is_some();
        let noop_only = billing_noop && Asked::of(&input, on_demand.is_some(), true).is_none();
        if status == "UPDATING" && sse_only {
            // The encryption key is changed apart from the table (its status stays ACTIVE,
            // and a stream or table class change is admitted during it: DDB-TABLE-120), so
            // binderdb admits it the other way round too (not observed).
        } else if status == "UPDATING" && protection_only {
            // DynamoDB admits it whatever made the table UPDATING (a stream, billing-mode,
            // throughput or table class change: DDB-TABLE-002, 119, 285, 286, 369, 370), and
            // the table stays UPDATING. Not observed during an index creation; binderdb admits
            // it then too, since no change of the table was ever seen to refuse it.
        } else if status == "UPDATING" && prewarm_only {
            // A pre-warm is its own job in DynamoDB: admitted while the table is UPDATING (seen
            // during a billing-mode switch, where the throughput, stream and OnDemandThroughput
            // changes are ResourceInUseException), except while a new index's resources are
            // being allocated, which DynamoDB answers with an HTTP 500 and binderdb, whose
            // answers to client requests are never 500s, with ResourceInUseException
            // (`crate::warm`).
            if current
                .indexes
                .iter()
                .any(|i| i.backfilling(now) == Some(false))
            {
                return Err(Error::in_use(format!("Table is being updated: {name}")));
            }
        } else if status == "UPDATING" && noop_only {
            // Admitted whatever is in flight (seen during a stream change: DDB-TABLE-383); a
            // switch to on-demand in flight refused it above (DDB-TABLE-369).
        } else if status != "ACTIVE" {
            let deleting: Vec<&str> = index_updates
                .iter()
                .filter_map(|u| u.delete.as_ref()?.index_name.as_deref())
                .collect();
            let asked = Asked::of(&input, on_demand.is_some(), billing_noop);
            if let (Some(busy), Some(asked)) = (
                InFlight::of(&current, now, self.config.create_delay_ms),
                asked,
            ) {
                return Err(busy.refusal(asked, name, &deleting));
            }
            return Err(Error::in_use(format!(
                "Table is being {}: {name}",
                if status == "CREATING" {
                    "created"
                } else {
                    "updated"
                }
            )));
        }
        if only_empty_structs {
            // `WarmThroughput: {}` (or `OnDemandThroughput: {}`) as the only change, on a table
            // that exists: DynamoDB's bare HTTP 500, a ValidationException here (`crate::warm`).
            return Err(Error::validation(NOTHING_TO_UPDATE));
        }
        let mut next = (*current).clone();
        let throttled = self.throttles(&current);
        let mut changes_capacity = false;
        if let Some(warm) = warm {
            next.warm = Some(crate::warm::prewarm(
                current.warm.as_ref(),
                crate::warm::Capacity::of_table(&current),
                warm,
                None,
                now,
                self.config.create_delay_ms,
            )?);
        }
        if changes_billing {
            // Warm throughput never decreases: what the old capacity gave becomes its floor, and
            // the new capacity shows once the table is ACTIVE again.
            let applies_at = now + self.config.create_delay_ms;
            next.warm = Some(crate::warm::before_capacity_change(
                current.warm.as_ref(),
                crate::warm::Capacity::of_table(&current),
                now,
                applies_at,
            ));
            for index in next
                .indexes
                .iter_mut()
                .filter(|i| i.kind == IndexKind::Global)
            {
                index.warm = Some(crate::warm::before_capacity_change(
                    index.warm.as_ref(),
                    crate::warm::Capacity::of_index(current.billing_mode, index),
                    now,
                    applies_at,
                ));
            }
            let mode = input
                .billing_mode
                .as_deref()
                .unwrap_or(current.billing_mode.as_str());
            let (mode, read, write) =
                match billing(Some(mode), input.provisioned_throughput.as_ref()) {
                    Err(_) if mode == "PROVISIONED" => {
                        return Err(Error::invalid_parameter(
                            "ProvisionedThroughput must be specified when BillingMode is \
                             PROVISIONED",
                        ))
                    }
                    other => other?,
                };
            if mode == BillingMode::Provisioned
                && current.billing_mode == BillingMode::Provisioned
                && read == current.read_capacity
                && write == current.write_capacity
            {
                return Err(Error::validation(format!(
                    "The provisioned throughput for the table will not change. The requested value \
                     equals the current value. Current ReadCapacityUnits provisioned for the table: \
                     {}. Requested ReadCapacityUnits: {read}. Current WriteCapacityUnits \
                     provisioned for the table: {}. Requested WriteCapacityUnits: {write}. Refer \
                     to the Amazon DynamoDB Developer Guide for current limits and how to request \
                     higher limits.",
                    current.read_capacity, current.write_capacity
                )));
            }
            if mode == BillingMode::Provisioned && current.billing_mode == BillingMode::Provisioned
            {
                throughput_history(
                    (current.read_capacity, current.write_capacity),
                    (read, write),
                    now,
                    ThroughputHistory {
                        last_increase_ms: &mut next.last_increase_ms,
                        last_decrease_ms: &mut next.last_decrease_ms,
                        decreases_today: &mut next.decreases_today,
                    },
                    throttled,
                )?;
            }
            if mode == BillingMode::PayPerRequest && current.billing_mode != mode {
                // Stamped when the switch completes; DescribeTable shows the earlier stamp (or
                // none) until then (DDB-TABLE-064, 183, 452).
                next.last_pay_per_request_ms = Some(applies_at);
            }
            crate::capacity::on_demand::check_capacity_quota(read, write, None, &current.region)?;
            if mode == BillingMode::Provisioned {
                // A provisioned table has no on-demand maxima, nor have its global indexes
                // (DDB-TABLE-153: the members are gone, not zeroed).
                next.max_read_request_units = None;
                next.max_write_request_units = None;
                for index in &mut next.indexes {
                    index.max_read_request_units = None;
                    index.max_write_request_units = None;
                }
            }
            next.billing_mode = mode;
            next.read_capacity = read;
            next.write_capacity = write;
            changes_capacity = true;
        }
        if let Some(on_demand) = &input.on_demand_throughput {
            // An absent member keeps its maximum; -1 removes it, and DescribeTable shows -1
            // (DDB-TABLE-128, 182).
            crate::capacity::on_demand::check_update(on_demand, None)?;
            crate::capacity::on_demand::check_on_demand_quota(on_demand, None, &current.region)?;
            if let Some(max) = on_demand.max_read_request_units {
                next.max_read_request_units = Some(max);
            }
            if let Some(max) = on_demand.max_write_request_units {
                next.max_write_request_units = Some(max);
            }
        }
        let (index_changes, definitions) =
            updates::plan(&current, &input, index_updates, next.billing_mode, now)?;
        if next.billing_mode == BillingMode::Provisioned
            && current.billing_mode == BillingMode::PayPerRequest
        {
            // Every global index needs its own throughput in the same request.
            for index in current
                .indexes
                .iter()
                .filter(|i| i.kind == IndexKind::Global && !updates::gone(i, now) && i.maintained())
            {
                let updated = index_changes.iter().any(|c| {
                    matches!(c, IndexChange::Update { name, read: Some(_), .. } if *name == index.name)
                });
                if !updated {
                    return Err(Error::invalid_parameter(format!(
                        "ProvisionedThroughput must be specified for index: {}",
                        index.name
                    )));
                }
            }
        }
        if next.billing_mode == BillingMode::PayPerRequest {
            for index in &mut next.indexes {
                index.read_capacity = 0;
                index.write_capacity = 0;
            }
        }
        next.indexes.retain(|i| !updates::gone(i, now));
        let mut changes_index_set = false;
        let mut updated_throughput: Vec<String> = Vec::new();
        for change in index_changes {
            match change {
                IndexChange::Create(definition) => {
                    // A `WarmThroughput` in the Create action pre-warms the new index.
                    let asked = index_updates.iter().find_map(|u| {
                        u.create
                            .as_ref()
                            .filter(|c| c.index_name.as_deref() == Some(definition.name.as_str()))
                    });
                    let warm = crate::warm::at_creation(
                        asked.and_then(|c| c.warm_throughput.as_ref()),
                        crate::warm::Capacity {
                            billing_mode: next.billing_mode,
                            read: definition.read_capacity,
                            write: definition.write_capacity,
                        },
                        Some(&definition.name),
                        now + self.config.create_delay_ms,
                    )?;
                    let id = self.catalog.allocate_table_id(self.store.as_ref())?;
                    let mut index = definition.into_descriptor(
                        id,
                        BuildState::Backfilling,
                        now + self.config.create_delay_ms,
                    );
                    index.warm = warm;
                    next.indexes.push(index);
                    next.attribute_definitions = definitions.clone();
                    changes_index_set = true;
                }
                IndexChange::Update {
                    name,
                    read,
                    on_demand,
                    warm,
                } => {
                    let Some(index) = next.indexes.iter_mut().find(|i| i.name == name) else {
                        continue;
                    };
                    if let Some(warm) = &warm {
                        index.warm = Some(crate::warm::prewarm(
                            index.warm.as_ref(),
                            crate::warm::Capacity::of_index(current.billing_mode, index),
                            warm,
                            Some(&name),
                            now,
                            self.config.create_delay_ms,
                        )?);
                    }
                    if let Some((r, w)) = read {
                        index.warm = Some(crate::warm::before_capacity_change(
                            index.warm.as_ref(),
                            crate::warm::Capacity::of_index(current.billing_mode, index),
                            now,
                            now + self.config.create_delay_ms,
                        ));
                        updated_throughput.push(name.clone());
                        throughput_history(
                            (index.read_capacity, index.write_capacity),
                            (r, w),
                            now,
                            ThroughputHistory {
                                last_increase_ms: &mut index.last_increase_ms,
                                last_decrease_ms: &mut index.last_decrease_ms,
                                decreases_today: &mut index.decreases_today,
                            },
                            throttled,
                        )?;
                        index.read_capacity = r;
                        index.write_capacity = w;
                        index.updating_until_ms = now + self.config.create_delay_ms;
                    }
                    if let Some((max_read, max_write)) = on_demand {
                        // -1 clears a limit and is shown as -1, as for the table.
                        if max_read.is_some() {
                            index.max_read_request_units = max_read;
                        }
                        if max_write.is_some() {
                            index.max_write_request_units = max_write;
                        }
                    }
                }
                IndexChange::Delete(name) => {
                    if let Some(index) = next.indexes.iter_mut().find(|i| i.name == name) {
                        index.state = BuildState::Deleting;
                        index.active_at_ms = now + self.config.create_delay_ms;
                    }
                    changes_index_set = true;
                }
            }
        }
        if changes_index_set {
            // Attribute definitions only list attributes some key still uses.
            let used = |attr: &str| {
                crate::keys::schema_attributes(&next.key_schema).any(|a| a.name == attr)
                    || next
                        .indexes
                        .iter()
                        .any(|i| i.maintained() && i.key_attributes().any(|a| a.name == attr))
            };
            let kept: Vec<_> = next
                .attribute_definitions
                .iter()
                .filter(|(n, _)| used(n))
                .cloned()
                .collect();
            next.attribute_definitions = kept;
            next.updating_until_ms = now + self.config.create_delay_ms;
        }
        if let Some(protect) = input.deletion_protection_enabled {
            // Within the cooldown of the last change, any value is throttled; outside it, a
            // value the table has changes nothing (and starts no cooldown). Enforced where
            // throttling is (`--throttling` or the table's tag), like the daily allowance of
            // throughput decreases, so that by default a local test suite may toggle it.
            let cooldown = current
                .protection_changed_ms
                .map(|t| t.saturating_add(PROTECTION_COOLDOWN_MS))
                .filter(|until| throttled && now < *until);
            if let Some(until) = cooldown {
                return Err(Error::Throttling {
                    message: format!(
                        "Deletion protection setting for table {name} modified within the \
                         previous {PROTECTION_COOLDOWN_MS} milliseconds. Please try again after {}",
                        crate::stream::iso_millis(until)
                    ),
                    reasons: Vec::new(),
                });
            }
            if protect != current.deletion_protection {
                next.deletion_protection = protect;
                next.protection_changed_ms = Some(now);
            }
        }
        if let Some(spec) = &input.sse_specification {
            if let Some(state) = crate::sse::update(
                current.sse.as_ref(),
                spec,
                &current.region,
                current
                    .account
                    .as_deref()
                    .unwrap_or(&self.config.account_id),
                now,
                now + self.config.create_delay_ms,
            )? {
                next.sse = Some(state);
            }
        }
        // A change of class makes the table UPDATING; the class it has already changes nothing,
        // though the answer says UPDATING (DDB-TABLE-177, 180, 284; `ClassChange`).
        let class_noop = input.table_class.as_deref() == Some(current.table_class.as_str());
        if input.table_class.is_some() && throttled {
            let recent = current
                .class_updates_ms
                .iter()
                .filter(|t| now < t.saturating_add(CLASS_UPDATE_WINDOW_MS))
                .count();
            if recent >= CLASS_UPDATES_PER_WINDOW {
                return Err(Error::LimitExceeded(format!(
                    "Subscriber limit exceeded: Updates to TableClass are limited to \
                     {CLASS_UPDATES_PER_WINDOW} times in 30 day(s)."
                )));
            }
        }
        if let Some(class) = input.table_class.clone().filter(|_| !class_noop) {
            next.class_updates_ms
                .retain(|t| now < t.saturating_add(CLASS_UPDATE_WINDOW_MS));
            next.class_updates_ms.push(now);
            next.updating_until_ms = now + self.config.create_delay_ms;
            next.class_change = Some(ClassChange {
                from: current.table_class.clone(),
                from_updated_ms: current.class_change.as_ref().map(|c| c.until_ms),
                until_ms: next.updating_until_ms,
            });
            next.table_class = class;
        }
        if changes_capacity {
            next.updating_until_ms = now + self.config.create_delay_ms;
            next.capacity_change = Some(CapacityChange {
                from: current.billing_mode,
                until_ms: next.updating_until_ms,
                previous_pay_per_request_ms: current.pay_per_request_since(now),
            });
        }
        let mut changes_stream = false;
        if let Some(spec) = &input.stream_specification {
            if changes_index_set {
                return Err(Error::invalid_parameter(
                    "You cannot create or delete index while changing stream status",
                ));
            }
            match crate::stream::requested(spec, false)? {
                Some(_) if next.enabled_stream().is_some() => {
                    return Err(Error::validation(format!(
                        "Table already has an enabled stream: TableName: {name}"
                    )))
                }
                Some(view) => next.streams.push(self.new_stream(view, now)?),
                None => match next.streams.last_mut().filter(|s| s.enabled()) {
                    Some(stream) => stream.disabled_ms = Some(now),
                    None => {
                        return Err(Error::validation(format!(
                            "Table has no stream to disable: TableName: {name}"
                        )))
                    }
                },
            }
            changes_stream = true;
            // Enabling or disabling a stream puts the table in UPDATING for a few seconds, as
            // in DynamoDB (the stream is ENABLING or DISABLING as long).
            next.updating_until_ms = now + self.config.create_delay_ms;
        }
        let table = if changes_index_set || changes_stream {
            // No write decided with the old set of indexes (or the old stream) may commit after
            // the new set is in place (a backfill starting now relies on it, and a new stream
            // gets a record of every change committed after it).
            let _gate = table.write_gate.write();
            self.catalog.put(self.store.as_ref(), next)?
        } else {
            self.catalog.put(self.store.as_ref(), next)?
        };
        let d = table.descriptor();
        for index in &d.indexes {
            let started = !current
                .indexes
                .iter()
                .any(|i| i.id == index.id && i.state == index.state);
            if started && index.state != BuildState::Built {
                self.start_index_work(&d, index);
            }
        }
        let mut description = self.describe(&table, None)?;
        // A throughput update answers with the index UPDATING and its throughput as it was
        // before the request, as DynamoDB does.
        for index in description.global_secondary_indexes.iter_mut().flatten() {
            let Some(before) = current.index(&index.index_name) else {
                continue;
            };
            if updated_throughput.contains(&index.index_name) {
                index.index_status = "UPDATING".to_owned();
                index.provisioned_throughput.read_capacity_units = before.read_capacity;
                index.provisioned_throughput.write_capacity_units = before.write_capacity;
            }
        }
        if billing_noop || class_noop {
            // The answer to a re-sent on-demand mode or table class says UPDATING; nothing
            // else does.
            description.table_status = "UPDATING".to_owned();
        }
        if d.billing_mode != current.billing_mode {
            // The answer to a switch names the new mode without a
            // LastUpdateToPayPerRequestDateTime, which DescribeTable adds (DDB-TABLE-060, 183).
            if let Some(summary) = &mut description.billing_mode_summary {
                summary.last_update_to_pay_per_request_date_time = None;
            }
        }
        if changes_index_set {
            // DynamoDB answers an index creation or deletion with the table UPDATING and a new
            // index still allocating resources (Backfilling false).
            description.table_status = "UPDATING".to_owned();
            for index in description.global_secondary_indexes.iter_mut().flatten() {
                if index.backfilling.is_some() {
                    index.backfilling = Some(false);
                }
            }
        }
        Ok(TableDescriptionOutput {
            table_description: description,
        })
    }
}

impl Database {
    /// A billing-mode or provisioned-throughput change requested while `change` is in
    /// progress on the table `current` (`billing_only`: the request carries a `BillingMode` and
    /// nothing else).
    ///
    /// DynamoDB refuses it with ResourceInUseException, "Table IOPS are currently being
    /// updated" (a second throughput change, a switch back, a re-send of the new mode:
    /// DDB-TABLE-369, 370, 452), with one exception: during a switch from PAY_PER_REQUEST to
    /// PROVISIONED, `BillingMode: PAY_PER_REQUEST` alone is answered 200 and ignored, as a
    /// re-send of the mode the table had (DDB-TABLE-369, 452, 9 of 9 in the lab's clobber matrix
    /// DDB-TABLE-450). The answer describes the table as on-demand (`BillingModeSummary`
    /// PAY_PER_REQUEST, throughput 0/0) and UPDATING; nothing is stored: DescribeTable keeps
    /// the switch to PROVISIONED, which completes as it would have.
    ///
    /// # Errors
    /// `ResourceInUseException` but for that exception.
    fn during_capacity_change(
        &self,
        current: &TableDescriptor,
        change: CapacityChange,
        input: &UpdateTableInput,
        billing_only: bool,
    ) -> Result<TableDescriptionOutput> {
        let back_to_on_demand = billing_only
            && change.from == BillingMode::PayPerRequest
            && current.billing_mode == BillingMode::Provisioned
            && input.billing_mode.as_deref() == Some(BillingMode::PayPerRequest.as_str());
        if !back_to_on_demand {
            return Err(crate::ops::update_rules::iops_busy(&current.name));
        }
        let mut answer = current.clone();
        answer.billing_mode = BillingMode::PayPerRequest;
        answer.read_capacity = 0;
        answer.write_capacity = 0;
        Ok(TableDescriptionOutput {
            table_description: self.describe_as(&answer, Some("UPDATING"))?,
        })
    }
}
