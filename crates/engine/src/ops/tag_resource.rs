//! TagResource: adds tags to a table (replacing the values of keys it has already), all or
//! nothing, within the 50-tag limit.

use crate::api::{EmptyOutput, TagResourceInput};
use crate::error::{Error, Result};
use crate::resource::{check_tag_count, check_tags, not_found, parse_arn, required_arn, ArnUse};
use crate::{Database, RequestContext};

impl Database {
    /// TagResource.
    ///
    /// # Errors
    /// `ValidationException` for a malformed ARN or tag, or more than 50 tags on the table;
    /// `ResourceNotFoundException` when the table does not exist.
    pub fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceInput,
    ) -> Result<EmptyOutput> {
        let arn = required_arn(input.resource_arn.as_deref())?;
        let Some(tags) = input.tags else {
            return Err(Error::validation(
                "1 validation error detected: Value null at 'tags' failed to satisfy \
                 constraint: Member must not be null",
            ));
        };
        parse_arn(arn, ctx, &self.config.account_id, ArnUse::Tags)?;
        if tags.is_empty() {
            return Err(Error::validation(
                "Atleast one Tag needs to be provided as Input.",
            ));
        }
        let tags = check_tags(&tags)?;
        let table = self.table_by_arn(ctx, arn, ArnUse::Tags)?;
        let name = table.descriptor().name.clone();
        self.change_descriptor(
            ctx,
            &table,
            || not_found(arn, &name, ArnUse::Tags),
            |d| {
                d.tags.extend(tags);
                check_tag_count(d.tags.len())
            },
        )?;
        Ok(EmptyOutput::default())
    }
}
