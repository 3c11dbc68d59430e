//! DeleteTable: removes the table from the catalog and drops its data; the response describes
//! the table as DELETING, with only the members DynamoDB's has then.

use crate::api::{DeleteTableOutput, TableNameInput};
use crate::error::{Error, Result};
use crate::ops::table_name;
use crate::{Database, RequestContext};

impl Database {
    /// DeleteTable.
    ///
    /// # Errors
    /// `ResourceNotFoundException`; `ResourceInUseException` while the table is being created or
    /// updated; `ValidationException` when deletion protection is on.
    pub fn delete_table(
        &self,
        ctx: &RequestContext,
        input: TableNameInput,
    ) -> Result<DeleteTableOutput> {
        let name = table_name(&input.table_name)?;
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let table = self.existing_table(ctx, name)?;
        let d = table.descriptor();
        match d.status(self.clock.now_millis()) {
            "CREATING" => {
                return Err(Error::ResourceInUse(format!(
                    "Attempt to change a resource which is still in use: Table is being created: {name}"
                )))
            }
            "UPDATING" => {
                return Err(Error::ResourceInUse(format!(
                    "Attempt to change a resource which is still in use: Table is being updated: {name}"
                )))
            }
            _ => {}
        }
        if d.deletion_protection {
            return Err(Error::validation(
                "Resource cannot be deleted as it is currently protected against deletion. \
                 Disable deletion protection first.",
            ));
        }
        let description = self.describe(&table, Some("DELETING"))?;
        // Its streams stay readable (DISABLED) for 24 hours, as in DynamoDB; the trimmer drops
        // them once they aged out.
        self.catalog.remove(
            self.store.as_ref(),
            &d,
            self.clock.now_millis(),
            self.config.stream_retention_ms,
        )?;
        Ok(DeleteTableOutput {
            table_description: description.into(),
        })
    }
}
