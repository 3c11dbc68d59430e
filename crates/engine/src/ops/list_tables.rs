//! ListTables: the region's table names in order, paginated by name.

use crate::api::{ListTablesInput, ListTablesOutput};
use crate::error::Result;
use crate::{Database, RequestContext};

/// DynamoDB's default and maximum page size for ListTables.
const MAX_LIMIT: usize = 100;

impl Database {
    /// ListTables. `LastEvaluatedTableName` is present only when more names follow the page.
    ///
    /// # Errors
    /// None in practice; the signature matches the other operations.
    pub fn list_tables(
        &self,
        ctx: &RequestContext,
        input: ListTablesInput,
    ) -> Result<ListTablesOutput> {
        let limit = input
            .limit
            .map_or(MAX_LIMIT, |l| (l.max(1) as usize).min(MAX_LIMIT));
        let mut names = self.catalog.names(
            ctx.account(),
            &ctx.region,
            input.exclusive_start_table_name.as_deref(),
        );
        // A DELETING table is still listed (DDB-TABLE-012, 076; `crate::deleting`).
        let now = self.clock.now_millis();
        let deleting = self.deleting.names(ctx.account(), &ctx.region, now);
        if !deleting.is_empty() {
            let after = input.exclusive_start_table_name.as_deref();
            names.extend(
                deleting
                    .into_iter()
                    .filter(|n| after.is_none_or(|a| n.as_str() > a)),
            );
            names.sort();
            names.dedup();
        }
        let more = names.len() > limit;
        names.truncate(limit);
        Ok(ListTablesOutput {
            last_evaluated_table_name: if more { names.last().cloned() } else { None },
            table_names: names,
        })
    }
}
