//! Request and response shapes of the Contributor Insights operations
//! (DescribeContributorInsights, UpdateContributorInsights, ListContributorInsights).

use serde::{Deserialize, Serialize};

super::strict::structures!(
    DescribeContributorInsightsInput,
    UpdateContributorInsightsInput,
    ListContributorInsightsInput;
    serialize:
);

/// DescribeContributorInsights request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct DescribeContributorInsightsInput {
    pub table_name: Option<String>,
    pub index_name: Option<String>,
}

/// DescribeContributorInsights response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeContributorInsightsOutput {
    pub table_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contributor_insights_rule_list: Option<Vec<String>>,
    pub contributor_insights_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contributor_insights_mode: Option<String>,
}

/// UpdateContributorInsights request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct UpdateContributorInsightsInput {
    pub table_name: Option<String>,
    pub index_name: Option<String>,
    /// `ENABLE` or `DISABLE`.
    pub contributor_insights_action: Option<String>,
    /// `ACCESSED_AND_THROTTLED_KEYS` (the default) or `THROTTLED_KEYS`.
    pub contributor_insights_mode: Option<String>,
}

/// UpdateContributorInsights response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateContributorInsightsOutput {
    pub table_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    pub contributor_insights_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contributor_insights_mode: Option<String>,
}

/// ListContributorInsights request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ListContributorInsightsInput {
    pub table_name: Option<String>,
    pub next_token: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub max_results: Option<i32>,
}

/// One `ContributorInsightsSummaries` member.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContributorInsightsSummary {
    pub table_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    pub contributor_insights_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contributor_insights_mode: Option<String>,
}

/// ListContributorInsights response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListContributorInsightsOutput {
    pub contributor_insights_summaries: Vec<ContributorInsightsSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
