//! TagResource: adds tags to a table (replacing the values of keys it has already), all or
//! nothing, within the 50-tag limit.

use crate::api::{EmptyOutput, TagResourceInput};
use crate::error::Result;
use crate::resource::{check_tag_count, check_tags, tag_request};
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
        let (arn, tags) = tag_request(
            input.resource_arn.as_deref(),
            input.tags,
            "tags",
            "Atleast one Tag needs to be provided as Input.",
            ctx,
            self.account_id(ctx),
        )?;
        let tags = check_tags(&tags)?;
        self.change_tags(ctx, arn, false, |current| {
            current.extend(tags);
            check_tag_count(current.len())
        })?;
        Ok(EmptyOutput::default())
    }
}
