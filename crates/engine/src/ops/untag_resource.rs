//! UntagResource: removes tags from a table by key; keys the table does not have are ignored.

use crate::api::{EmptyOutput, UntagResourceInput};
use crate::error::{Error, Result};
use crate::resource::{check_tag_count, check_tag_key, not_found, parse_arn, required_arn, ArnUse};
use crate::{Database, RequestContext};

impl Database {
    /// UntagResource.
    ///
    /// # Errors
    /// `ValidationException` for a malformed ARN or key, or more than 50 keys;
    /// `ResourceNotFoundException` when the table does not exist.
    pub fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceInput,
    ) -> Result<EmptyOutput> {
        let arn = required_arn(input.resource_arn.as_deref())?;
        let Some(keys) = input.tag_keys else {
            return Err(Error::validation(
                "1 validation error detected: Value null at 'tagKeys' failed to satisfy \
                 constraint: Member must not be null",
            ));
        };
        parse_arn(arn, ctx, &self.config.account_id, ArnUse::Tags)?;
        if keys.is_empty() {
            return Err(Error::validation(
                "Atleast one Tag Key needs to be provided as Input.",
            ));
        }
        // DynamoDB applies the tag-count limit to the list of keys to remove, too.
        check_tag_count(keys.len())?;
        for key in &keys {
            check_tag_key(Some(key))?;
        }
        let table = self.table_by_arn(ctx, arn, ArnUse::Tags)?;
        let name = table.descriptor().name.clone();
        self.change_descriptor(
            ctx,
            &table,
            || not_found(arn, &name, ArnUse::Tags),
            |d| {
                for key in &keys {
                    d.tags.remove(key);
                }
                Ok(())
            },
        )?;
        Ok(EmptyOutput::default())
    }
}
