//! `OnDemandThroughput` values, checked as DynamoDB checks them (the ack-api-quirks lab's
//! DDB-TABLE-038, 039, 051, 128, 153, 182):
//! - CreateTable: each member given must be at least 1 (0, -1 and below are "outside of valid
//!   range"), and none may be given on a PROVISIONED table ("cannot be specified when table
//!   BillingMode is PROVISIONED."); the same for each global index, naming it.
//! - UpdateTable: at least 1, or -1, which removes the maximum; DescribeTable then shows -1 (an
//!   absent member keeps its value).
//! - A switch to PROVISIONED drops the table's and every global index's maxima.
//!
//! And the per-table quota DescribeLimits reports ([`TABLE_MAX_CAPACITY_UNITS`]), which
//! DynamoDB enforces on CreateTable and UpdateTable with LimitExceededException (DDB-TABLE-154,
//! 170, 171, 393): provisioned read or write capacity units above it, for the table or for one
//! global index (counted apart: an index's capacity is not added to its table's), and an
//! on-demand maximum above it. The account-wide quota (80,000 across a region's tables) is not
//! enforced.

use crate::api::OnDemandThroughput;
use crate::error::{Error, Result};
use crate::ops::describe_limits::TABLE_MAX_CAPACITY_UNITS;

/// Refuses provisioned capacity units (`read`, `write`) above the per-table quota, for the
/// table or for the global index `index`, in `region`.
///
/// # Errors
/// `LimitExceededException` with DynamoDB's text.
pub(crate) fn check_capacity_quota(
    read: i64,
    write: i64,
    index: Option<&str>,
    region: &str,
) -> Result<()> {
    for (member, units) in [("ReadCapacityUnits", read), ("WriteCapacityUnits", write)] {
        if units > TABLE_MAX_CAPACITY_UNITS {
            let (of, kind) = match index {
                None => (String::new(), "table"),
                Some(name) => (format!(" for index {name}"), "index"),
            };
            return Err(Error::LimitExceeded(format!(
                "The requested {member}{of}, {units}, is above the per {kind} maximum for the \
                 account in {region}. Per {kind} maximum: {TABLE_MAX_CAPACITY_UNITS}. Refer to \
                 the Amazon DynamoDB Developer Guide for current limits and how to request \
                 higher limits."
            )));
        }
    }
    Ok(())
}

/// Refuses on-demand maxima above the per-table quota (the table's, or the global index
/// `index`'s), in `region`.
///
/// # Errors
/// `LimitExceededException` with DynamoDB's text.
pub(crate) fn check_on_demand_quota(
    o: &OnDemandThroughput,
    index: Option<&str>,
    region: &str,
) -> Result<()> {
    for (member, value) in members(o) {
        if value.is_some_and(|v| v > TABLE_MAX_CAPACITY_UNITS) {
            let quota = member.replace("Request", "Capacity");
            return Err(Error::LimitExceeded(format!(
                "Subscriber limit exceeded: Requested {member} for OnDemandThroughput for {} \
                 exceeds Table{quota} of the account in region {region}",
                range_target(index)
            )));
        }
    }
    Ok(())
}

fn members(o: &OnDemandThroughput) -> [(&'static str, Option<i64>); 2] {
    [
        ("MaxReadRequestUnits", o.max_read_request_units),
        ("MaxWriteRequestUnits", o.max_write_request_units),
    ]
}

/// `for table` or `for index : <name>` (DynamoDB's spacing), in the range refusal.
fn range_target(index: Option<&str>) -> String {
    index.map_or_else(|| "table".to_owned(), |name| format!("index : {name}"))
}

/// Checks `o`, the `OnDemandThroughput` of a new table (`index`: of its global index so named)
/// whose billing mode is `provisioned` or on-demand.
///
/// # Errors
/// `ValidationException` with DynamoDB's texts.
pub(crate) fn check_at_creation(
    o: &OnDemandThroughput,
    index: Option<&str>,
    provisioned: bool,
) -> Result<()> {
    if provisioned {
        if let Some((member, _)) = members(o).into_iter().find(|(_, v)| v.is_some()) {
            let of = index.map_or_else(String::new, |name| format!(" for index: {name}"));
            return Err(Error::invalid_parameter(format!(
                "{member} for OnDemandThroughput{of} cannot be specified when table BillingMode \
                 is PROVISIONED."
            )));
        }
    }
    for (member, value) in members(o) {
        if value.is_some_and(|v| v < 1) {
            return Err(Error::invalid_parameter(format!(
                "Requested {member} for OnDemandThroughput for {} is outside of valid range",
                range_target(index)
            )));
        }
    }
    Ok(())
}

/// Checks `o` in an UpdateTable (`index`: of the global index so named): at least 1, or -1.
///
/// # Errors
/// `ValidationException` with DynamoDB's text.
pub(crate) fn check_update(o: &OnDemandThroughput, index: Option<&str>) -> Result<()> {
    for (member, value) in members(o) {
        if value.is_some_and(|v| v < 1 && v != -1) {
            return Err(Error::invalid_parameter(format!(
                "Requested {member} for OnDemandThroughput for {} is outside of valid range",
                range_target(index)
            )));
        }
    }
    Ok(())
}

/// Checks a restore's `OnDemandThroughputOverride` (`provisioned`: the restored table would be
/// PROVISIONED), in the restores' own words (the ack-api-quirks lab's DDB-TABLE-280, 442).
///
/// # Errors
/// `ValidationException` with DynamoDB's text.
pub(crate) fn check_restore_override(o: &OnDemandThroughput, provisioned: bool) -> Result<()> {
    if provisioned {
        if let Some((member, _)) = members(o).into_iter().find(|(_, v)| v.is_some()) {
            return Err(Error::validation(format!(
                "Invalid Request: Cannot override {member} for OnDemandThroughput unless \
                 BillingModeOverride is PAY_PER_REQUEST"
            )));
        }
    }
    for (member, value) in members(o) {
        if value.is_some_and(|v| v < 1) {
            return Err(Error::validation(format!(
                "Invalid Request: Requested {member} for OnDemandThroughput is outside of valid \
                 range"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn odt(read: Option<i64>, write: Option<i64>) -> OnDemandThroughput {
        OnDemandThroughput {
            max_read_request_units: read,
            max_write_request_units: write,
        }
    }

    #[test]
    fn creation_refuses_what_dynamodb_refuses() {
        assert!(check_at_creation(&odt(Some(100), None), None, false).is_ok());
        assert!(check_at_creation(&odt(None, None), None, true).is_ok());
        for bad in [0, -1, -2] {
            assert!(check_at_creation(&odt(Some(bad), Some(bad)), None, false)
                .unwrap_err()
                .to_string()
                .ends_with(
                    "Requested MaxReadRequestUnits for OnDemandThroughput for table is outside \
                     of valid range"
                ));
        }
        assert!(check_at_creation(&odt(None, Some(0)), Some("g-a"), false)
            .unwrap_err()
            .to_string()
            .ends_with("MaxWriteRequestUnits for OnDemandThroughput for index : g-a is outside of valid range"));
        assert!(check_at_creation(&odt(None, Some(5)), None, true)
            .unwrap_err()
            .to_string()
            .ends_with(
                "MaxWriteRequestUnits for OnDemandThroughput cannot be specified when table \
                 BillingMode is PROVISIONED."
            ));
    }

    #[test]
    fn an_update_may_clear_with_minus_one() {
        assert!(check_update(&odt(Some(-1), Some(7)), None).is_ok());
        assert!(check_update(&odt(Some(0), None), None).is_err());
        assert!(check_update(&odt(None, Some(-2)), Some("g")).is_err());
    }
}
