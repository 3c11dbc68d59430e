//! Request constraints of the ARN-addressed control-plane operations (tags, resource-based
//! policies) and DescribeLimits. Their other checks carry DynamoDB's own texts ("Invalid
//! TableArn", "Atleast one Tag ...") and live in the engine.

use binderdb_engine::api::{
    DescribeLimitsInput, ListTagsOfResourceInput, PutResourcePolicyInput, ResourcePolicyInput,
    TagResourceInput, UntagResourceInput,
};

use super::Violations;
use crate::error::ApiError;

/// DynamoDB's longest resource ARN.
const MAX_ARN: usize = 1283;

impl Violations {
    /// `resourceArn`: 1 to 1283 characters when present (the tag operations report a missing
    /// one in their own words, from the engine).
    fn resource_arn(&mut self, arn: Option<&String>) {
        if let Some(arn) = arn {
            self.length("resourceArn", arn, 1, MAX_ARN);
        }
    }

    fn revision_id(&mut self, id: Option<&String>) {
        if let Some(id) = id {
            self.length("expectedRevisionId", id, 1, 255);
        }
    }
}

/// TagResource.
pub fn tag_resource(r: &TagResourceInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.resource_arn(r.resource_arn.as_ref());
    v.finish()
}

/// UntagResource.
pub fn untag_resource(r: &UntagResourceInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.resource_arn(r.resource_arn.as_ref());
    v.finish()
}

/// ListTagsOfResource.
pub fn list_tags_of_resource(r: &ListTagsOfResourceInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.resource_arn(r.resource_arn.as_ref());
    v.finish()
}

/// PutResourcePolicy.
pub fn put_resource_policy(r: &PutResourcePolicyInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    if v.not_null("resourceArn", r.resource_arn.as_ref()) {
        v.resource_arn(r.resource_arn.as_ref());
    }
    v.not_null("policy", r.policy.as_ref());
    v.revision_id(r.expected_revision_id.as_ref());
    v.finish()
}

/// GetResourcePolicy and DeleteResourcePolicy.
pub fn resource_policy(r: &ResourcePolicyInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    if v.not_null("resourceArn", r.resource_arn.as_ref()) {
        v.resource_arn(r.resource_arn.as_ref());
    }
    v.revision_id(r.expected_revision_id.as_ref());
    v.finish()
}

/// DescribeLimits: no members.
pub fn describe_limits(_: &DescribeLimitsInput) -> Result<(), ApiError> {
    Ok(())
}
