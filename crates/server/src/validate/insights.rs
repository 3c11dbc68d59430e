//! Request constraints of the Contributor Insights operations. DynamoDB reports a bad
//! `IndexName` in its own words rather than the constraint form (recorded by the ack-api-quirks
//! lab in 2026: "IndexName must be at least 3 characters long and at most 255 characters
//! long").

use binderdb_engine::api::{
    DescribeContributorInsightsInput, ListContributorInsightsInput, UpdateContributorInsightsInput,
};

use super::Violations;
use crate::error::ApiError;

const ACTION: &[&str] = &["ENABLE", "DISABLE"];
const MODE: &[&str] = &["THROTTLED_KEYS", "ACCESSED_AND_THROTTLED_KEYS"];
/// ListContributorInsights' largest page.
const MAX_RESULTS: i64 = 100;

/// The optional `IndexName`: 3 to 255 characters, checked after the members' constraints.
fn insights_index_name(name: Option<&String>) -> Result<(), ApiError> {
    match name.map(|n| n.chars().count()) {
        Some(len) if !(3..=255).contains(&len) => Err(ApiError::validation(
            "IndexName must be at least 3 characters long and at most 255 characters long",
        )),
        _ => Ok(()),
    }
}

/// DescribeContributorInsights.
pub fn describe_contributor_insights(r: &DescribeContributorInsightsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.table_name(r.table_name.as_ref());
    v.finish()?;
    insights_index_name(r.index_name.as_ref())
}

/// UpdateContributorInsights.
pub fn update_contributor_insights(r: &UpdateContributorInsightsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.table_name(r.table_name.as_ref());
    let action = r.contributor_insights_action.as_ref();
    if v.not_null("contributorInsightsAction", action) {
        v.one_of("contributorInsightsAction", action, ACTION);
    }
    v.one_of(
        "contributorInsightsMode",
        r.contributor_insights_mode.as_ref(),
        MODE,
    );
    v.finish()?;
    insights_index_name(r.index_name.as_ref())
}

/// ListContributorInsights.
pub fn list_contributor_insights(r: &ListContributorInsightsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    if r.table_name.is_some() {
        v.table_name(r.table_name.as_ref());
    }
    v.range("maxResults", r.max_results, i64::MIN, Some(MAX_RESULTS));
    v.finish()
}
