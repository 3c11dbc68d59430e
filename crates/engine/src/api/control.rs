//! Request and response shapes of the control-plane operations addressed by resource ARN
//! (TagResource, UntagResource, ListTagsOfResource, the resource-based policy operations) and
//! of DescribeLimits.
//!
//! As everywhere in [`crate::api`], every request member is optional: DynamoDB reports missing
//! members of these operations with its own texts (e.g. "Invalid TableArn"), which the engine
//! produces.

use serde::{Deserialize, Serialize};

super::strict::structures!(
    Tag,
    TagResourceInput,
    UntagResourceInput,
    ListTagsOfResourceInput,
    DescribeLimitsInput,
    PutResourcePolicyInput,
    ResourcePolicyInput;
    serialize: Tag
);

/// A `Tags` member (TagResource, CreateTable) and a listed tag (ListTagsOfResource).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct Tag {
    /// `Key`: 1 to 128 characters.
    pub key: Option<String>,
    /// `Value`: 0 to 256 characters.
    pub value: Option<String>,
}

/// TagResource request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TagResourceInput {
    pub resource_arn: Option<String>,
    pub tags: Option<Vec<Tag>>,
}

/// UntagResource request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct UntagResourceInput {
    pub resource_arn: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

/// ListTagsOfResource request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ListTagsOfResourceInput {
    pub resource_arn: Option<String>,
    pub next_token: Option<String>,
}

/// ListTagsOfResource response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsOfResourceOutput {
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// The empty response of TagResource and UntagResource.
#[derive(Debug, Default, Serialize)]
pub struct EmptyOutput {}

/// DescribeLimits request: no members.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct DescribeLimitsInput {}

/// DescribeLimits response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeLimitsOutput {
    pub account_max_read_capacity_units: i64,
    pub account_max_write_capacity_units: i64,
    pub table_max_read_capacity_units: i64,
    pub table_max_write_capacity_units: i64,
}

/// PutResourcePolicy request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct PutResourcePolicyInput {
    pub resource_arn: Option<String>,
    pub policy: Option<String>,
    pub expected_revision_id: Option<String>,
    /// Accepted and ignored: binderdb does not check whether a new policy would lock its author
    /// out (a key without a policy of its own, or the default account's unsigned requests on
    /// a server without keys, can always replace or delete it unless the policy denies them).
    pub confirm_remove_self_resource_access: Option<bool>,
}

/// GetResourcePolicy and DeleteResourcePolicy request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ResourcePolicyInput {
    pub resource_arn: Option<String>,
    /// DeleteResourcePolicy only.
    pub expected_revision_id: Option<String>,
}

/// PutResourcePolicy / DeleteResourcePolicy response (and GetResourcePolicy's, with `Policy`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourcePolicyOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub revision_id: String,
}
