//! Warm throughput: the read and write units per second a table or global secondary index can
//! serve at once, reported by DescribeTable (`WarmThroughput`) and raised by pre-warming
//! (CreateTable / UpdateTable `WarmThroughput`, and a GSI's `Update` action).
//!
//! What DynamoDB does, and binderdb with it (observed on DynamoDB in 2026, recorded by the
//! ack-api-quirks lab and ScyllaDB's Alternator tests, which run against DynamoDB; the lab's
//! finding numbers are given where one decides a rule):
//! - **Defaults.** An on-demand table or index starts at 12,000 read and 4,000 write units per
//!   second; a provisioned one at its ReadCapacityUnits / WriteCapacityUnits. The value never
//!   decreases: a provisioned table tracks the highest throughput it was ever given (1/1 → 3/3
//!   → 1/1 reports 3/3), a switch to on-demand raises it to at least 12,000/4,000, and a switch
//!   back keeps that.
//! - **Billing and throughput changes** show when they complete: during a PROVISIONED →
//!   PAY_PER_REQUEST switch DynamoDB still reports the provisioned value, `Status` ACTIVE while
//!   the table is UPDATING, and 12,000/4,000 once the table is ACTIVE (DDB-TABLE-064). The
//!   table's or index's UPDATING is never the warm throughput's `Status`. binderdb applies the
//!   same to a provisioned-throughput change of a table or index (not observed mid-change;
//!   DynamoDB's change takes ~2 s). Throttling counts the new capacity at once ([`serving`]).
//! - **Pre-warming** is asynchronous and never makes the table or index UPDATING:
//!   `WarmThroughput.Status` is UPDATING while the old values are still reported, then the new
//!   values appear with ACTIVE (DynamoDB takes minutes; binderdb takes the configured
//!   `create_delay_ms`, like every other table change). A member left out keeps its value.
//!   A request below the settled value of either member is refused ("decreasing WarmThroughput
//!   is not supported"); one below a pre-warm still in flight is accepted and replaces it.
//! - **A pre-warm while something else is in flight.** A second pre-warm during one still
//!   UPDATING is accepted and the last request wins (DDB-TABLE-459). A pre-warm while the table
//!   is UPDATING is admitted too: DynamoDB admits it during a billing-mode switch, where
//!   throughput, stream and OnDemandThroughput changes are ResourceInUseException
//!   (DDB-TABLE-369); binderdb admits it whatever made the table UPDATING (a throughput, stream
//!   or index change were not observed; a pre-warm is a job of its own in DynamoDB, so a user
//!   expects it to go through). The exception: while a new index's resources are allocated
//!   (the index CREATING, `Backfilling` false) DynamoDB answers a pre-warm with HTTP 500
//!   `InternalServerError` "Table is under system maintenance, please try again later"
//!   (DDB-TABLE-458, a table pre-warm); binderdb answers it, and a GSI pre-warm then, with
//!   ResourceInUseException ("Table is being updated"), since it never answers a client's
//!   request with a 500 (the team's rule: a 500 means binderdb failed). A table
//!   still CREATING refuses every change with
//!   ResourceInUseException, as before. "Pre-warm only" means a table `WarmThroughput` and/or
//!   GSI `Update` actions with nothing but a `WarmThroughput`.
//! - **DeleteTable during a pre-warm** is refused although the table is ACTIVE: DynamoDB answers
//!   ResourceInUseException "Attempt to change a resource which is still in use: Table: <name>
//!   is in the process of being updated." while the table's `WarmThroughput.Status` is UPDATING
//!   (DDB-TABLE-069), the words it uses for an UPDATING table (DDB-TABLE-369/370), and accepts
//!   the deletion once the pre-warm completed ([`prewarming`]). A pre-warm of a global index was
//!   not observed; binderdb refuses the deletion then too, since the index's pre-warm is a job
//!   on the table's partitions like the table's own, and a client that waits for ACTIVE and
//!   retries ResourceInUseException (as DynamoDB's finding tells it to) handles both alike.
//! - **CreateTable** refuses values below the table's default ("lower than initial throughput
//!   for OnDemand" / "lower than ReadCapacityUnits of ProvisionedThroughput"); a table created
//!   with a warm throughput has it from the start (UPDATING until the table is ACTIVE). The
//!   CreateTable response names the table's `WarmThroughput` only when the request gave one,
//!   and never an index's, even a configured one (ScyllaDB's test_gsi_create_table_response,
//!   DDB-TABLE-134/138). DescribeTable reports it for every global index, CREATING included
//!   ("the first DescribeTable has it", DDB-TABLE-138): a configured value with `Status`
//!   UPDATING until the index is ACTIVE (DDB-TABLE-134), the default with the index's status.
//!   An index created online (UpdateTable `Create`) is reported the same way through its
//!   resource allocation and backfill, which DynamoDB does not document: binderdb decided it
//!   by DDB-TABLE-138's "always". DescribeTable reports the table's own value once ACTIVE, and
//!   while CREATING only a configured one (not documented either; binderdb's choice).
//! - **UpdateTable**: a table `WarmThroughput` must be the only change of the request (GSI
//!   `Update` actions aside). A GSI `Update` with an empty `WarmThroughput` is refused (before
//!   the table is looked up), and on an on-demand table a GSI may be updated to WarmThroughput
//!   alone.
//! - **An empty `WarmThroughput: {}`** on UpdateTable (DDB-TABLE-437/448/456, reproduced 11/11
//!   in two regions): next to any other member it is dropped (200, nothing changes, no "must be
//!   the only operation"); alone, on a table that exists, DynamoDB answers HTTP 500 with
//!   `__type` `com.amazon.coral.service#InternalFailure` and no message; on a missing table,
//!   ResourceNotFoundException. The service model makes both members optional (the SDKs,
//!   generated from the same model as botocore's service-2.json, send `{}` as it is), so only
//!   the service decides. binderdb does not copy the 500 (a 500 on a client's request is a
//!   bug by the team's rules, and SDKs would retry it): it answers the ValidationException of
//!   an UpdateTable that changes nothing ("At least one of ... is required"), which fails the
//!   same client call, at once. The same holds for `OnDemandThroughput: {}`; a GSI `Update`
//!   pre-warming an index the table does not have (a 500 in DynamoDB, DDB-TABLE-161) is
//!   ResourceNotFoundException, as any other Update of it. CreateTable takes `{}` as absent,
//!   for the table and each index (DDB-TABLE-456).
//! - **Restores** (from a backup or to a point in time) create a new table, which starts at
//!   the default of its billing mode: the pre-warmed partitions belonged to the source.
//!   binderdb decided this; DynamoDB's restore takes no WarmThroughput and documents none.
//! - **Throttling** (`--throttling`): an on-demand table's or index's instant ceiling is at
//!   least its settled warm throughput (`capacity::throttle`); a provisioned table is limited
//!   by its provisioned capacity as before, since warm throughput only says how far that can
//!   be raised at once.
//!
//! Must not depend on: HTTP or any storage engine.

use serde::{Deserialize, Serialize};

use crate::api::{WarmThroughput, WarmThroughputDescription};
use crate::catalog::BillingMode;
use crate::error::{Error, Result};

/// The warm read units per second of a new on-demand table or index.
pub const ON_DEMAND_READ: i64 = 12_000;
/// The warm write units per second of a new on-demand table or index.
pub const ON_DEMAND_WRITE: i64 = 4_000;

/// The documentation DynamoDB's CreateTable message links to.
const ON_DEMAND_INITIAL_DOC: &str = "https://docs.aws.amazon.com/amazondynamodb/latest/\
     developerguide/on-demand-capacity-mode.html#on-demand-capacity-mode-initial";

/// What the catalog stores of a table's or global index's warm throughput, once anything
/// changed it (absent before: the value is then the default of the billing mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmState {
    /// Settled read units per second (a floor: the default of the current billing mode may
    /// be higher, see [`settled`]).
    pub read: i64,
    /// Settled write units per second.
    pub write: i64,
    /// A pre-warm in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingWarm>,
    /// Whether a request configured the value (CreateTable answers with it only then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub configured: bool,
    /// The instant the current billing mode or provisioned throughput starts to count, ms since
    /// the epoch (0: always did). A capacity change shows in the warm throughput only once the
    /// table (or index) leaves UPDATING, as in DynamoDB, which reports the old value, ACTIVE,
    /// for the whole switch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub capacity_from_ms: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// A pre-warm: its target and when it completes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWarm {
    /// Target read units per second.
    pub read: i64,
    /// Target write units per second.
    pub write: i64,
    /// The instant the target becomes the settled value, ms since the epoch.
    pub done_at_ms: u64,
}

/// The throughput settings warm throughput derives from: the table's billing mode and the
/// provisioned capacity of the table or index.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    /// Billing mode of the table.
    pub billing_mode: BillingMode,
    /// Provisioned read capacity (0 on-demand).
    pub read: i64,
    /// Provisioned write capacity (0 on-demand).
    pub write: i64,
}

impl Capacity {
    /// The capacity of table `d`.
    pub fn of_table(d: &crate::catalog::TableDescriptor) -> Capacity {
        Capacity {
            billing_mode: d.billing_mode,
            read: d.read_capacity,
            write: d.write_capacity,
        }
    }

    /// The capacity of global index `index` of a table billed by `billing_mode`.
    pub fn of_index(billing_mode: BillingMode, index: &crate::index::IndexDescriptor) -> Capacity {
        Capacity {
            billing_mode,
            read: index.read_capacity,
            write: index.write_capacity,
        }
    }

    /// The warm throughput this capacity gives by itself: DynamoDB's on-demand initial values,
    /// or the provisioned capacity.
    fn default_warm(self) -> (i64, i64) {
        match self.billing_mode {
            BillingMode::PayPerRequest => (ON_DEMAND_READ, ON_DEMAND_WRITE),
            BillingMode::Provisioned => (self.read, self.write),
        }
    }
}

/// The settled (read, write) warm throughput at `now_ms`, as DescribeTable reports it: the
/// stored value (a completed pre-warm included), never below what `capacity` gives by itself
/// once that capacity counts (see [`WarmState::capacity_from_ms`]).
pub fn settled(state: Option<&WarmState>, capacity: Capacity, now_ms: u64) -> (i64, i64) {
    let counts = state.is_none_or(|s| now_ms >= s.capacity_from_ms);
    settled_with(state, capacity, now_ms, counts)
}

/// The (read, write) units per second a table or index can serve at once, for throttling:
/// [`settled`], with a capacity change counted from its request (an on-demand table serves its
/// on-demand floor as soon as it is on-demand, whatever DescribeTable still reports).
pub fn serving(state: Option<&WarmState>, capacity: Capacity, now_ms: u64) -> (i64, i64) {
    settled_with(state, capacity, now_ms, true)
}

fn settled_with(
    state: Option<&WarmState>,
    capacity: Capacity,
    now_ms: u64,
    capacity_counts: bool,
) -> (i64, i64) {
    let (mut read, mut write) = if capacity_counts {
        capacity.default_warm()
    } else {
        (0, 0)
    };
    if let Some(s) = state {
        read = read.max(s.read);
        write = write.max(s.write);
        if let Some(p) = s.pending.as_ref().filter(|p| now_ms >= p.done_at_ms) {
            read = read.max(p.read);
            write = write.max(p.write);
        }
    }
    (read, write)
}

/// Whether a pre-warm is in progress at `now_ms`.
fn updating(state: Option<&WarmState>, now_ms: u64) -> bool {
    state
        .and_then(|s| s.pending.as_ref())
        .is_some_and(|p| now_ms < p.done_at_ms)
}

/// Whether a pre-warm of table `d` or of one of its global indexes is in progress at `now_ms`
/// (DeleteTable waits for it, see the module docs).
pub(crate) fn prewarming(d: &crate::catalog::TableDescriptor, now_ms: u64) -> bool {
    updating(d.warm.as_ref(), now_ms)
        || d.indexes
            .iter()
            .any(|i| i.maintained() && updating(i.warm.as_ref(), now_ms))
}

/// The state to store after a change of `capacity` (billing mode or provisioned throughput)
/// that completes at `applies_at_ms`: the value settled before the change becomes the floor, so
/// warm throughput never decreases, and the new capacity counts from `applies_at_ms`.
pub(crate) fn before_capacity_change(
    state: Option<&WarmState>,
    capacity: Capacity,
    now_ms: u64,
    applies_at_ms: u64,
) -> WarmState {
    let (read, write) = settled(state, capacity, now_ms);
    WarmState {
        read,
        write,
        pending: state
            .and_then(|s| s.pending.clone())
            .filter(|p| now_ms < p.done_at_ms),
        configured: state.is_some_and(|s| s.configured),
        capacity_from_ms: applies_at_ms,
    }
}

/// `WarmThroughput` as DescribeTable reports it, for a table or index whose own status is
/// `resource_status`. `Status` is UPDATING during a pre-warm, and for a configured value while
/// its table or index is CREATING (DynamoDB: "UPDATING while IndexStatus=CREATING", ACTIVE
/// together with the index). Otherwise it follows the table's or index's status, except that
/// their UPDATING (a billing, throughput, stream or index change) is not the warm throughput's:
/// DynamoDB reports ACTIVE during a billing switch.
pub fn description(
    state: Option<&WarmState>,
    capacity: Capacity,
    now_ms: u64,
    resource_status: &str,
) -> WarmThroughputDescription {
    let (read, write) = settled(state, capacity, now_ms);
    let configured = state.is_some_and(|s| s.configured);
    let status = match resource_status {
        _ if updating(state, now_ms) => "UPDATING",
        "CREATING" if configured => "UPDATING",
        "UPDATING" => "ACTIVE",
        other => other,
    };
    WarmThroughputDescription {
        read_units_per_second: read,
        write_units_per_second: write,
        status: status.to_owned(),
    }
}

/// Whether a request's `WarmThroughput` asks for anything (`{}` does not).
pub(crate) fn requested(warm: Option<&WarmThroughput>) -> Option<&WarmThroughput> {
    warm.filter(|w| w.read_units_per_second.is_some() || w.write_units_per_second.is_some())
}

/// "table" or "index <name>", as DynamoDB's messages name the resource.
fn resource(index: Option<&str>) -> String {
    index.map_or_else(|| "table".to_owned(), |name| format!("index {name}"))
}

/// The warm throughput a new table or global index is created with, checked against the
/// default of its `capacity` (`index`: the index's name, `None` for the table).
///
/// # Errors
/// `ValidationException` for a member below the default, with DynamoDB's messages.
pub(crate) fn at_creation(
    warm: Option<&WarmThroughput>,
    capacity: Capacity,
    index: Option<&str>,
    active_at_ms: u64,
) -> Result<Option<WarmState>> {
    let Some(warm) = requested(warm) else {
        return Ok(None);
    };
    let (default_read, default_write) = capacity.default_warm();
    let members = [
        (
            "ReadUnitsPerSecond",
            "ReadCapacityUnits",
            warm.read_units_per_second,
            default_read,
        ),
        (
            "WriteUnitsPerSecond",
            "WriteCapacityUnits",
            warm.write_units_per_second,
            default_write,
        ),
    ];
    for (member, capacity_member, asked, default) in members {
        if asked.is_some_and(|v| v < default) {
            let floor = match capacity.billing_mode {
                BillingMode::PayPerRequest => {
                    format!("initial throughput for OnDemand. See: {ON_DEMAND_INITIAL_DOC}")
                }
                BillingMode::Provisioned => {
                    format!("{capacity_member} of ProvisionedThroughput")
                }
            };
            return Err(Error::invalid_parameter(format!(
                "Requested {member} for WarmThroughput for {} is lower than {floor}",
                resource(index)
            )));
        }
    }
    let read = warm.read_units_per_second.unwrap_or(default_read);
    let write = warm.write_units_per_second.unwrap_or(default_write);
    Ok(Some(WarmState {
        read,
        write,
        pending: Some(PendingWarm {
            read,
            write,
            done_at_ms: active_at_ms,
        }),
        configured: true,
        capacity_from_ms: 0,
    }))
}

/// The state after an UpdateTable pre-warm of a table or global index: `warm` becomes the
/// pending target (members left out keep the target in flight, else the settled value).
///
/// # Errors
/// `ValidationException` for a member below the settled value.
pub(crate) fn prewarm(
    state: Option<&WarmState>,
    capacity: Capacity,
    warm: &WarmThroughput,
    index: Option<&str>,
    now_ms: u64,
    delay_ms: u64,
) -> Result<WarmState> {
    let (read, write) = settled(state, capacity, now_ms);
    let in_flight = state
        .and_then(|s| s.pending.as_ref())
        .filter(|p| now_ms < p.done_at_ms);
    let members = [
        ("ReadUnitsPerSecond", warm.read_units_per_second, read),
        ("WriteUnitsPerSecond", warm.write_units_per_second, write),
    ];
    for (member, asked, current) in members {
        if asked.is_some_and(|v| v < current) {
            return Err(Error::invalid_parameter(format!(
                "Requested {member} for WarmThroughput for {} is lower than current \
                 WarmThroughput, decreasing WarmThroughput is not supported",
                resource(index)
            )));
        }
    }
    let target_read = warm
        .read_units_per_second
        .unwrap_or_else(|| in_flight.map_or(read, |p| p.read));
    let target_write = warm
        .write_units_per_second
        .unwrap_or_else(|| in_flight.map_or(write, |p| p.write));
    Ok(WarmState {
        read,
        write,
        pending: Some(PendingWarm {
            read: target_read,
            write: target_write,
            done_at_ms: now_ms + delay_ms,
        }),
        configured: true,
        capacity_from_ms: state.map_or(0, |s| s.capacity_from_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON_DEMAND: Capacity = Capacity {
        billing_mode: BillingMode::PayPerRequest,
        read: 0,
        write: 0,
    };

    fn provisioned(read: i64, write: i64) -> Capacity {
        Capacity {
            billing_mode: BillingMode::Provisioned,
            read,
            write,
        }
    }

    fn warm(read: Option<i64>, write: Option<i64>) -> WarmThroughput {
        WarmThroughput {
            read_units_per_second: read,
            write_units_per_second: write,
        }
    }

    #[test]
    fn defaults_follow_the_billing_mode_and_never_decrease() {
        assert_eq!(settled(None, ON_DEMAND, 0), (12_000, 4_000));
        assert_eq!(settled(None, provisioned(5, 7), 0), (5, 7));
        // 3/3, then back down to 1/1: the floor keeps 3/3.
        let s = before_capacity_change(None, provisioned(3, 3), 0, 0);
        assert_eq!(settled(Some(&s), provisioned(1, 1), 0), (3, 3));
        // On-demand, then provisioned 1/1 again: 12000/4000 stays.
        let s = before_capacity_change(Some(&s), ON_DEMAND, 0, 0);
        assert_eq!(settled(Some(&s), provisioned(1, 1), 0), (12_000, 4_000));
    }

    #[test]
    fn a_capacity_change_shows_once_it_completes() {
        // Provisioned 2/2 switched to on-demand at 100, the switch completing at 200: 2/2,
        // ACTIVE, until then (what DynamoDB reports during the switch), 12000/4000 after.
        let s = before_capacity_change(None, provisioned(2, 2), 100, 200);
        assert_eq!(settled(Some(&s), ON_DEMAND, 150), (2, 2));
        let d = description(Some(&s), ON_DEMAND, 150, "UPDATING");
        assert_eq!(d.status, "ACTIVE");
        assert_eq!(settled(Some(&s), ON_DEMAND, 200), (12_000, 4_000));
        // Throttling counts the on-demand floor at once.
        assert_eq!(serving(Some(&s), ON_DEMAND, 150), (12_000, 4_000));
        // A pre-warm during the switch keeps the instant the new capacity counts from.
        let s = prewarm(Some(&s), ON_DEMAND, &warm(Some(5), None), None, 150, 10).unwrap();
        assert_eq!(settled(Some(&s), ON_DEMAND, 170), (5, 2));
        assert_eq!(settled(Some(&s), ON_DEMAND, 200), (12_000, 4_000));
    }

    #[test]
    fn a_prewarm_settles_after_the_delay_and_refuses_decreases() {
        let s = prewarm(None, ON_DEMAND, &warm(Some(13_000), None), None, 100, 50).unwrap();
        let d = description(Some(&s), ON_DEMAND, 120, "ACTIVE");
        assert_eq!(
            (d.read_units_per_second, d.status.as_str()),
            (12_000, "UPDATING")
        );
        let d = description(Some(&s), ON_DEMAND, 150, "ACTIVE");
        assert_eq!(
            (
                d.read_units_per_second,
                d.write_units_per_second,
                d.status.as_str()
            ),
            (13_000, 4_000, "ACTIVE")
        );
        let err = prewarm(Some(&s), ON_DEMAND, &warm(None, Some(3_999)), None, 200, 50)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Requested WriteUnitsPerSecond for WarmThroughput for table is lower than current WarmThroughput"), "{err}");
        // Below a target still in flight is fine: it replaces it.
        let s = prewarm(None, ON_DEMAND, &warm(Some(20_000), None), None, 0, 50).unwrap();
        let s = prewarm(Some(&s), ON_DEMAND, &warm(Some(15_000), None), None, 10, 50).unwrap();
        assert_eq!(settled(Some(&s), ON_DEMAND, 60), (15_000, 4_000));
    }

    #[test]
    fn creation_refuses_values_below_the_default() {
        let err = at_creation(Some(&warm(Some(1), Some(1))), ON_DEMAND, None, 0)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("Requested ReadUnitsPerSecond for WarmThroughput for table is lower than initial throughput for OnDemand. See: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html#on-demand-capacity-mode-initial"), "{err}");
        let err = at_creation(
            Some(&warm(Some(10), Some(4))),
            provisioned(10, 10),
            Some("g"),
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(err.ends_with("Requested WriteUnitsPerSecond for WarmThroughput for index g is lower than WriteCapacityUnits of ProvisionedThroughput"), "{err}");
        assert_eq!(
            at_creation(Some(&warm(None, None)), ON_DEMAND, None, 0).unwrap(),
            None
        );
        let s = at_creation(Some(&warm(Some(12_001), None)), ON_DEMAND, None, 5)
            .unwrap()
            .unwrap();
        assert_eq!(settled(Some(&s), ON_DEMAND, 0), (12_001, 4_000));
        assert_eq!(
            description(Some(&s), ON_DEMAND, 4, "CREATING").status,
            "UPDATING"
        );
    }
}
