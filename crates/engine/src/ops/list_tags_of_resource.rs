//! ListTagsOfResource: a table's tags, in key order.
//!
//! A table has at most 50 tags and DynamoDB lists them all in one page, so binderdb never
//! returns a `NextToken` either; a `NextToken` sent anyway (the last key a client saw) resumes
//! after that key.

use crate::api::{ListTagsOfResourceInput, ListTagsOfResourceOutput, Tag};
use crate::error::Result;
use crate::resource::{required_arn, ArnUse};
use crate::{Database, RequestContext};

impl Database {
    /// ListTagsOfResource.
    ///
    /// # Errors
    /// `ValidationException` for a malformed ARN; `ResourceNotFoundException` when the table
    /// does not exist.
    pub fn list_tags_of_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsOfResourceInput,
    ) -> Result<ListTagsOfResourceOutput> {
        let arn = required_arn(input.resource_arn.as_deref())?;
        let table = self.table_by_arn(ctx, arn, ArnUse::Tags)?;
        let d = table.descriptor();
        let after = input.next_token.as_deref();
        let tags = d
            .tags
            .iter()
            .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
            .map(|(k, v)| Tag {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect();
        Ok(ListTagsOfResourceOutput {
            tags,
            next_token: None,
        })
    }
}
