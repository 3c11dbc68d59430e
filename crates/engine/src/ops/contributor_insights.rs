//! DescribeContributorInsights, UpdateContributorInsights and ListContributorInsights: the
//! Contributor Insights status of a table or global secondary index (see [`crate::insights`]
//! for what is kept and how it moves).

use std::sync::Arc;

use crate::api::{
    ContributorInsightsSummary, DescribeContributorInsightsInput,
    DescribeContributorInsightsOutput, ListContributorInsightsInput, ListContributorInsightsOutput,
    UpdateContributorInsightsInput, UpdateContributorInsightsOutput,
};
use crate::catalog::{Table, TableDescriptor};
use crate::clock::epoch_seconds;
use crate::error::{Error, Result};
use crate::index::updates::gone;
use crate::index::{IndexDescriptor, IndexKind};
use crate::insights::{self, InsightsState};
use crate::ops::table_name;
use crate::{Database, RequestContext};

/// ListContributorInsights' default and largest page.
const MAX_RESULTS: usize = 100;

/// The global index called `name` of `d`, as Contributor Insights sees it: an index still in
/// its resource-allocation phase, an LSI or an unknown name is not found.
fn insights_index<'a>(d: &'a TableDescriptor, name: &str, now: u64) -> Result<&'a IndexDescriptor> {
    d.indexes
        .iter()
        .find(|i| {
            i.name == name
                && i.kind == IndexKind::Global
                && !gone(i, now)
                && i.backfilling(now) != Some(false)
        })
        .ok_or_else(|| {
            Error::ResourceNotFound(format!(
                "Requested resource not found: Index: {name} not found for table: {}",
                d.name
            ))
        })
}

/// The rule-name resource and sort-key presence of the table, or of its index `index`.
fn rule_target(d: &TableDescriptor, index: Option<&IndexDescriptor>) -> (String, bool) {
    match index {
        Some(i) => (format!("{}-{}", d.name, i.name), !i.range.is_empty()),
        None => (d.name.clone(), d.key_schema.range.is_some()),
    }
}

impl Database {
    /// The table a Contributor Insights operation addresses: missing and CREATING tables are
    /// not found, as in DynamoDB.
    fn insights_table(&self, ctx: &RequestContext, name: &str) -> Result<Arc<Table>> {
        let table = self.existing_table(ctx, name)?;
        if table.descriptor().status(self.clock.now_millis()) == "CREATING" {
            return Err(Error::ResourceNotFound(format!(
                "Requested resource not found: Table: {name} not found"
            )));
        }
        Ok(table)
    }

    /// DescribeContributorInsights.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for a missing or CREATING table, or an index that is not
    /// one of its global indexes.
    pub fn describe_contributor_insights(
        &self,
        ctx: &RequestContext,
        input: DescribeContributorInsightsInput,
    ) -> Result<DescribeContributorInsightsOutput> {
        let table = self.insights_table(ctx, table_name(&input.table_name)?)?;
        let d = table.descriptor();
        let now = self.clock.now_millis();
        let index = match input.index_name.as_deref() {
            Some(name) => Some(insights_index(&d, name, now)?),
            None => None,
        };
        let state = index.map_or(d.insights.as_ref(), |i| i.insights.as_ref());
        let (resource, sort_key) = rule_target(&d, index);
        Ok(DescribeContributorInsightsOutput {
            table_name: d.name.clone(),
            index_name: input.index_name,
            contributor_insights_rule_list: state.and_then(|s| s.rules(&resource, sort_key)),
            contributor_insights_status: state.map_or("DISABLED", |s| s.status(now)).to_owned(),
            last_update_date_time: state.map(|s| epoch_seconds(s.updated_ms)),
            contributor_insights_mode: state.map(|s| s.mode.clone()),
        })
    }

    /// UpdateContributorInsights.
    ///
    /// # Errors
    /// As DescribeContributorInsights; `ValidationException` to enable an index still being
    /// backfilled; storage failures.
    pub fn update_contributor_insights(
        &self,
        ctx: &RequestContext,
        input: UpdateContributorInsightsInput,
    ) -> Result<UpdateContributorInsightsOutput> {
        let name = table_name(&input.table_name)?;
        let enable = match input.contributor_insights_action.as_deref() {
            Some("ENABLE") => true,
            Some("DISABLE") => false,
            // The server checks the enum; this keeps the engine safe when embedded.
            _ => {
                return Err(Error::validation(
                    "1 validation error detected: Value null at 'contributorInsightsAction' \
                     failed to satisfy constraint: Member must not be null",
                ))
            }
        };
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let table = self.insights_table(ctx, name)?;
        let current = table.descriptor();
        let now = self.clock.now_millis();
        let position = match input.index_name.as_deref() {
            Some(index_name) => {
                let index = insights_index(&current, index_name, now)?;
                if enable && index.status(now) != "ACTIVE" {
                    return Err(Error::validation(
                        "Table or Index is not in a valid state to update Key Access Insights: \
                         IndexStatus must be ACTIVE to enable ContributorInsights.",
                    ));
                }
                current.indexes.iter().position(|i| std::ptr::eq(i, index))
            }
            None => None,
        };
        let state = position.map_or(current.insights.as_ref(), |p| {
            current.indexes[p].insights.as_ref()
        });
        let answer: Option<InsightsState> = match insights::apply(
            state,
            enable,
            input.contributor_insights_mode.as_deref(),
            now,
            self.config.create_delay_ms,
        ) {
            Some(changed) => {
                let mut next = (*current).clone();
                let slot = match position {
                    Some(p) => &mut next.indexes[p].insights,
                    None => &mut next.insights,
                };
                *slot = Some(changed.clone());
                self.catalog.put(self.store.as_ref(), next)?;
                Some(changed)
            }
            None => state.cloned(),
        };
        Ok(UpdateContributorInsightsOutput {
            table_name: current.name.clone(),
            index_name: input.index_name,
            contributor_insights_status: answer
                .as_ref()
                .map_or("DISABLED", |s| s.status(now))
                .to_owned(),
            contributor_insights_mode: answer.map(|s| s.mode),
        })
    }

    /// ListContributorInsights: every table and global index of the region (or of
    /// `TableName`) whose status is not DISABLED, by table name, each table before its
    /// indexes (by name); `NextToken` names the last one returned.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for a missing or CREATING `TableName`.
    pub fn list_contributor_insights(
        &self,
        ctx: &RequestContext,
        input: ListContributorInsightsInput,
    ) -> Result<ListContributorInsightsOutput> {
        let tables = match input.table_name.as_deref() {
            Some(name) => vec![self.insights_table(ctx, name)?],
            None => self
                .catalog
                .names(ctx.account(), &ctx.region, None)
                .iter()
                .filter_map(|name| self.catalog.get(ctx.account(), &ctx.region, name))
                .collect(),
        };
        let limit = input
            .max_results
            .map_or(MAX_RESULTS, |m| (m.max(1) as usize).min(MAX_RESULTS));
        let after = input
            .next_token
            .as_deref()
            .map(|t| t.split_once('/').unwrap_or((t, "")));
        let now = self.clock.now_millis();
        let mut summaries = Vec::new();
        let mut more = false;
        'tables: for table in tables {
            let d = table.descriptor();
            if d.status(now) == "CREATING" {
                continue;
            }
            let mut indexes: Vec<&IndexDescriptor> = d
                .indexes
                .iter()
                .filter(|i| i.kind == IndexKind::Global && !gone(i, now))
                .collect();
            indexes.sort_by(|a, b| a.name.cmp(&b.name));
            let entries = std::iter::once(("", d.insights.as_ref())).chain(
                indexes
                    .iter()
                    .map(|i| (i.name.as_str(), i.insights.as_ref())),
            );
            for (index, state) in entries {
                let Some(state) = state.filter(|s| s.status(now) != "DISABLED") else {
                    continue;
                };
                if after.is_some_and(|a| (d.name.as_str(), index) <= a) {
                    continue;
                }
                if summaries.len() == limit {
                    more = true;
                    break 'tables;
                }
                summaries.push(ContributorInsightsSummary {
                    table_name: d.name.clone(),
                    index_name: (!index.is_empty()).then(|| index.to_owned()),
                    contributor_insights_status: state.status(now).to_owned(),
                    contributor_insights_mode: Some(state.mode.clone()),
                });
            }
        }
        let next_token = more
            .then(|| summaries.last())
            .flatten()
            .map(|s| match &s.index_name {
                Some(index) => format!("{}/{index}", s.table_name),
                None => s.table_name.clone(),
            });
        Ok(ListContributorInsightsOutput {
            contributor_insights_summaries: summaries,
            next_token,
        })
    }
}
