//! DescribeTable: the table's current description, with live ItemCount and TableSizeBytes.

use crate::api::{DescribeTableOutput, TableNameInput};
use crate::error::Result;
use crate::ops::table_name;
use crate::{Database, RequestContext};

impl Database {
    /// DescribeTable.
    ///
    /// # Errors
    /// `ResourceNotFoundException` ("Requested resource not found: Table: X not found").
    pub fn describe_table(
        &self,
        ctx: &RequestContext,
        input: TableNameInput,
    ) -> Result<DescribeTableOutput> {
        let name = table_name(&input.table_name)?;
        let table = match self.existing_table(ctx, name) {
            Ok(table) => table,
            // Deleted less than the create delay ago: DELETING (`crate::deleting`).
            Err(e) => {
                let now = self.clock.now_millis();
                return match self.deleting.get(ctx.account(), &ctx.region, name, now) {
                    Some(table) => Ok(DescribeTableOutput { table }),
                    None => Err(e),
                };
            }
        };
        Ok(DescribeTableOutput {
            table: self.describe(&table, None)?,
        })
    }
}
