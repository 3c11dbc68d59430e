//! Contributor Insights: whether DynamoDB's CloudWatch Contributor Insights rules are enabled
//! on a table or global secondary index, as DescribeContributorInsights,
//! UpdateContributorInsights and ListContributorInsights report and change it.
//!
//! binderdb has no CloudWatch: it keeps the status, mode and rule names DynamoDB would report,
//! but no rule collects data (the README says so). What DynamoDB does, and binderdb with it
//! (observed on DynamoDB in 2026 by the ack-api-quirks lab):
//! - A never-configured table or index is DISABLED, with no mode, rules or
//!   `LastUpdateDateTime`; DISABLE on it answers DISABLED and changes nothing.
//! - ENABLE answers ENABLING, and the status becomes ENABLED a moment later (binderdb: after
//!   the configured `create_delay_ms`, like every other table change); DISABLE answers
//!   DISABLING, then DISABLED. The table stays ACTIVE throughout. No cooldown between toggles.
//! - ENABLE on an ENABLED resource with the same mode is a no-op answering ENABLED; with
//!   another mode (an omitted mode means ACCESSED_AND_THROTTLED_KEYS) it goes through ENABLING
//!   again, keeping the rules' creation timestamp. DISABLE answers with the current mode.
//! - Rules, listed while ENABLING or ENABLED: `DynamoDBContributorInsights-<kind>-<resource>-
//!   <creation ms>`, the resource being the table name or `<table>-<index>`, the kinds PKC
//!   (most accessed partition keys) and PKT (most throttled), plus SKC and SKT when the table
//!   or index has a sort key; THROTTLED_KEYS mode keeps only the throttled (…T) rules.
//! - After a DISABLE the mode and `LastUpdateDateTime` stay; ListContributorInsights lists
//!   every table and GSI whose status is not DISABLED, a table before its indexes.
//! - Deleting the table or index drops its insights with it; a restore does not copy them
//!   (CloudWatch rules are among what a restore leaves to set up again).
//!
//! FAILED (DynamoDB's answer past CloudWatch's rule quota) never happens here: no quota.
//!
//! Must not depend on: HTTP or any storage engine.

use serde::{Deserialize, Serialize};

/// The mode DynamoDB applies when ENABLE names none.
pub const DEFAULT_MODE: &str = "ACCESSED_AND_THROTTLED_KEYS";
/// The mode that keeps only the throttled-keys rules.
pub const THROTTLED_KEYS: &str = "THROTTLED_KEYS";

/// What the catalog stores of a table's or GSI's Contributor Insights once configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsightsState {
    /// The last action was ENABLE.
    pub enabled: bool,
    /// `ContributorInsightsMode`.
    pub mode: String,
    /// `LastUpdateDateTime`, ms since the epoch.
    pub updated_ms: u64,
    /// ENABLING or DISABLING before this instant.
    pub settles_at_ms: u64,
    /// Creation time of the rules, their names' suffix.
    pub rules_created_ms: u64,
}

impl InsightsState {
    /// `ContributorInsightsStatus` at `now_ms`.
    pub fn status(&self, now_ms: u64) -> &'static str {
        match (self.enabled, now_ms < self.settles_at_ms) {
            (true, true) => "ENABLING",
            (true, false) => "ENABLED",
            (false, true) => "DISABLING",
            (false, false) => "DISABLED",
        }
    }

    /// `ContributorInsightsRuleList` of a resource named `resource` (the table, or
    /// `<table>-<index>`) that has a sort key when `sort_key`; `None` unless enabled.
    pub fn rules(&self, resource: &str, sort_key: bool) -> Option<Vec<String>> {
        if !self.enabled {
            return None;
        }
        let throttled_only = self.mode == THROTTLED_KEYS;
        let kinds = [("PKC", false), ("PKT", true), ("SKC", false), ("SKT", true)];
        Some(
            kinds
                .iter()
                .filter(|(kind, throttled)| {
                    (sort_key || kind.starts_with('P')) && (*throttled || !throttled_only)
                })
                .map(|(kind, _)| {
                    format!(
                        "DynamoDBContributorInsights-{kind}-{resource}-{}",
                        self.rules_created_ms
                    )
                })
                .collect(),
        )
    }
}

/// The state after an UpdateContributorInsights action (`enable`, with `mode` or the default)
/// on `state` at `now_ms`, ENABLING or DISABLING for `delay_ms`; `None` when nothing changes
/// (DISABLE of a disabled resource, ENABLE of an enabled one in the same mode).
pub(crate) fn apply(
    state: Option<&InsightsState>,
    enable: bool,
    mode: Option<&str>,
    now_ms: u64,
    delay_ms: u64,
) -> Option<InsightsState> {
    let mode = mode.unwrap_or(DEFAULT_MODE);
    match (state, enable) {
        (None, false) => None,
        (Some(s), false) if !s.enabled => None,
        (Some(s), true) if s.enabled && s.mode == mode => None,
        (Some(s), false) => Some(InsightsState {
            enabled: false,
            updated_ms: now_ms,
            settles_at_ms: now_ms + delay_ms,
            ..s.clone()
        }),
        (previous, true) => Some(InsightsState {
            enabled: true,
            mode: mode.to_owned(),
            updated_ms: now_ms,
            settles_at_ms: now_ms + delay_ms,
            // A mode change keeps the surviving rules; a new ENABLE creates new ones.
            rules_created_ms: previous
                .filter(|s| s.enabled)
                .map_or(now_ms, |s| s.rules_created_ms),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_move_on_with_the_clock() {
        let on = apply(None, true, None, 1_000, 10).unwrap();
        assert_eq!(on.status(1_005), "ENABLING");
        assert_eq!(on.status(1_010), "ENABLED");
        assert_eq!(on.mode, DEFAULT_MODE);
        assert_eq!(apply(Some(&on), true, Some(DEFAULT_MODE), 2_000, 10), None);
        let narrowed = apply(Some(&on), true, Some(THROTTLED_KEYS), 2_000, 10).unwrap();
        assert_eq!(narrowed.rules_created_ms, 1_000);
        assert_eq!(
            narrowed.rules("T-g", true).unwrap(),
            [
                "DynamoDBContributorInsights-PKT-T-g-1000",
                "DynamoDBContributorInsights-SKT-T-g-1000"
            ]
        );
        let off = apply(Some(&narrowed), false, None, 3_000, 10).unwrap();
        assert_eq!(
            (off.status(3_001), off.status(3_010)),
            ("DISABLING", "DISABLED")
        );
        assert_eq!(off.mode, THROTTLED_KEYS);
        assert_eq!(off.rules("T", false), None);
        assert_eq!(apply(Some(&off), false, None, 4_000, 10), None);
        assert_eq!(apply(None, false, None, 4_000, 10), None);
        let again = apply(Some(&off), true, None, 5_000, 10).unwrap();
        assert_eq!(
            again.rules("T", false).unwrap(),
            [
                "DynamoDBContributorInsights-PKC-T-5000",
                "DynamoDBContributorInsights-PKT-T-5000"
            ]
        );
    }
}
