//! DeleteResourcePolicy: removes a table's resource-based policy, optionally only if it has an
//! expected revision.

use crate::api::{ResourcePolicyInput, ResourcePolicyOutput};
use crate::error::Result;
use crate::resource::{
    not_found, policy_not_found, policy_slot, required, revision_mismatch, ArnUse,
};
use crate::{Database, RequestContext};

impl Database {
    /// DeleteResourcePolicy. Answers with the revision id of the policy it removed.
    ///
    /// # Errors
    /// `ValidationException` for a malformed ARN; `ResourceNotFoundException` when the table
    /// does not exist; `PolicyNotFoundException` when it has no policy or another revision.
    pub fn delete_resource_policy(
        &self,
        ctx: &RequestContext,
        input: ResourcePolicyInput,
    ) -> Result<ResourcePolicyOutput> {
        let arn = required(input.resource_arn.as_deref(), "resourceArn")?;
        let (table, label) = self.policy_target(ctx, arn, ArnUse::Policy)?;
        let name = table.descriptor().name.clone();
        let expected = input.expected_revision_id.as_deref();
        let revision_id = self.change_descriptor(
            &table,
            || not_found(arn, &name, ArnUse::Policy),
            |d| {
                let slot = policy_slot(d, label.as_deref())
                    .ok_or_else(|| not_found(arn, &name, ArnUse::Policy))?;
                let current = slot.take().ok_or_else(|| policy_not_found(arn))?;
                if let Some(expected) = expected.filter(|e| *e != current.revision_id) {
                    return Err(revision_mismatch(expected, &name, &current.revision_id));
                }
                self.check_policy_cooldown(d, label.as_deref(), expected.is_some())?;
                self.record_policy_change(d, label.as_deref());
                Ok(current.revision_id)
            },
        )?;
        Ok(ResourcePolicyOutput {
            policy: None,
            revision_id,
        })
    }
}
