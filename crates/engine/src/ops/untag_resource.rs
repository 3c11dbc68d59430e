//! UntagResource: removes tags from a table by key; keys the table does not have are ignored.

use crate::api::{EmptyOutput, UntagResourceInput};
use crate::error::Result;
use crate::resource::{check_tag_count, check_tag_key, tag_request};
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
        let (arn, keys) = tag_request(
            input.resource_arn.as_deref(),
            input.tag_keys,
            "tagKeys",
            "Atleast one Tag Key needs to be provided as Input.",
            ctx,
            self.account_id(ctx),
        )?;
        // DynamoDB applies the tag-count limit to the list of keys to remove, too.
        check_tag_count(keys.len())?;
        for key in &keys {
            check_tag_key(Some(key))?;
            crate::resource::check_not_reserved(key)?;
        }
        self.change_tags(ctx, arn, true, |current| {
            for key in &keys {
                current.remove(key);
            }
            Ok(())
        })?;
        Ok(EmptyOutput::default())
    }
}
