//! PutResourcePolicy: attaches (or replaces) a table's resource-based policy, optionally only
//! if the current one has an expected revision. The document is stored in its canonical form
//! (`policy_document`), and a document whose canonical form is the current one is no change.
//! The server's access control enforces it when access keys are configured.

use crate::api::{PutResourcePolicyInput, ResourcePolicyOutput};
use crate::catalog::ResourcePolicy;
use crate::error::{Error, Result};
use crate::policy_document::canonical_policy;
use crate::resource::{not_found, parse_arn, policy_slot, required, revision_mismatch, ArnUse};
use crate::{Database, RequestContext};

/// The `ExpectedRevisionId` that asks for the table to have no policy yet.
const NO_POLICY: &str = "NO_POLICY";

impl Database {
    /// PutResourcePolicy.
    ///
    /// # Errors
    /// `ValidationException` for a malformed ARN or policy document;
    /// `ResourceNotFoundException` when the table does not exist; `PolicyNotFoundException`
    /// when `ExpectedRevisionId` does not match.
    pub fn put_resource_policy(
        &self,
        ctx: &RequestContext,
        input: PutResourcePolicyInput,
    ) -> Result<ResourcePolicyOutput> {
        let arn = required(input.resource_arn.as_deref(), "resourceArn")?;
        let document = required(input.policy.as_deref(), "policy")?;
        parse_arn(arn, ctx, self.account_id(ctx), ArnUse::Policy)?;
        let document = canonical_policy(document)?;
        let (table, label) = self.policy_target(ctx, arn, ArnUse::Policy)?;
        let name = table.descriptor().name.clone();
        let expected = input.expected_revision_id.as_deref();
        let revision = self.change_descriptor(
            &table,
            || not_found(arn, &name, ArnUse::Policy),
            |d| {
                // Decided before the slot is borrowed, reported after the checks that come first.
                let cooldown = self.check_policy_cooldown(d, label.as_deref(), expected.is_some());
                let slot = policy_slot(d, label.as_deref())
                    .ok_or_else(|| not_found(arn, &name, ArnUse::Policy))?;
                let current = slot.as_ref();
                match (expected, current) {
                    (Some(NO_POLICY), Some(current)) => {
                        return Err(Error::PolicyNotFound(format!(
                            "Resource-based policy not found for the provided ResourceArn: \
                             Requested policy update expecting none to be present for table \
                             {name}, but a policy exists with revision id {}.",
                            current.revision_id
                        )))
                    }
                    (Some(NO_POLICY), None) | (None, _) => {}
                    (Some(expected), Some(current)) if expected != current.revision_id => {
                        return Err(revision_mismatch(expected, &name, &current.revision_id))
                    }
                    (Some(_), Some(_)) => {}
                    (Some(_), None) => return Err(crate::resource::policy_not_found(arn)),
                }
                // An equivalent document (the same canonical form) changes nothing and keeps
                // its revision, inside the cooldown too (DDB-TABLE-207).
                if let Some(current) = current.filter(|c| c.document == document) {
                    return Ok(current.revision_id.clone());
                }
                cooldown?;
                let revision_id = self.next_revision(current.map(|c| c.revision_id.as_str()));
                *slot = Some(ResourcePolicy {
                    document,
                    revision_id: revision_id.clone(),
                });
                self.record_policy_change(d, label.as_deref());
                Ok(revision_id)
            },
        )?;
        Ok(ResourcePolicyOutput {
            policy: None,
            revision_id: revision,
        })
    }
}
