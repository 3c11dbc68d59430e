//! GetResourcePolicy: a table's resource-based policy and its revision, in the canonical form
//! it is stored in (with IAM's default `Version` when it has none).

use crate::api::{ResourcePolicyInput, ResourcePolicyOutput};
use crate::error::Result;
use crate::policy_document::readable_policy;
use crate::resource::{policy_not_found, policy_slot, required, ArnUse};
use crate::{Database, RequestContext};

impl Database {
    /// GetResourcePolicy.
    ///
    /// # Errors
    /// `ValidationException` for a malformed ARN; `ResourceNotFoundException` when the table
    /// does not exist; `PolicyNotFoundException` when it has no policy.
    pub fn get_resource_policy(
        &self,
        ctx: &RequestContext,
        input: ResourcePolicyInput,
    ) -> Result<ResourcePolicyOutput> {
        let arn = required(input.resource_arn.as_deref(), "resourceArn")?;
        let (table, label) = self.policy_target(ctx, arn, ArnUse::Policy)?;
        let mut d = (*table.descriptor()).clone();
        let policy = policy_slot(&mut d, label.as_deref())
            .and_then(|slot| slot.take())
            .ok_or_else(|| policy_not_found(arn))?;
        Ok(ResourcePolicyOutput {
            policy: Some(readable_policy(&policy.document)),
            revision_id: policy.revision_id,
        })
    }
}
