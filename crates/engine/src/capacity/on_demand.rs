//! `OnDemandThroughput` values, checked as DynamoDB checks them (the ack-api-quirks lab's
//! DDB-TABLE-038, 039, 051, 128, 153, 182):
//! - CreateTable: each member given must be at least 1 (0, -1 and below are "outside of valid
//!   range"), and none may be given on a PROVISIONED table ("cannot be specified when table
//!   BillingMode is PROVISIONED."); the same for each global index, naming it.
//! - UpdateTable: at least 1, or -1, which removes the maximum; DescribeTable then shows -1 (an
//!   absent member keeps its value).
//! - A switch to PROVISIONED drops the table's and every global index's maxima.

use crate::api::OnDemandThroughput;
use crate::error::{Error, Result};

fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::validation(format!("One or more parameter values were invalid: {msg}"))
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
            return Err(invalid(format!(
                "{member} for OnDemandThroughput{of} cannot be specified when table BillingMode \
                 is PROVISIONED."
            )));
        }
    }
    for (member, value) in members(o) {
        if value.is_some_and(|v| v < 1) {
            return Err(invalid(format!(
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
            return Err(invalid(format!(
                "Requested {member} for OnDemandThroughput for {} is outside of valid range",
                range_target(index)
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
