//! Table metadata addressed by resource ARN: tags and resource-based policies.
//!
//! Both live in the table's descriptor in the catalog, so they are as durable as the table and
//! disappear with it; every change goes through [`Database::change_descriptor`] under the
//! catalog's DDL lock, so two concurrent TagResource calls never lose each other's tags.
//!
//! The texts are DynamoDB's own, including its spellings ("Atleast"), as recorded from the
//! service. Must not depend on: HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::Tag;
use crate::catalog::{ResourcePolicy, Table, TableDescriptor, TAG_LOCK_MS};
use crate::error::{Error, Result};
use crate::{Database, RequestContext};

/// Most tags a table carries (AWS-assigned `aws:` tags, which binderdb never sets, aside).
pub const MAX_TAGS: usize = 50;
/// Longest tag key, in characters.
pub const MAX_TAG_KEY: usize = 128;
/// Longest tag value, in characters.
pub const MAX_TAG_VALUE: usize = 256;
/// Largest resource-based policy document, in bytes of the text as sent (whitespace counts;
/// see the `policy_document` module).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// Which family of operations reads an ARN: they word the same mistakes differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArnUse {
    /// TagResource, UntagResource, ListTagsOfResource.
    Tags,
    /// PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy.
    Policy,
}

/// What a well-formed DynamoDB ARN of this account and region names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `table/<name>`.
    Table(String),
    /// `table/<name>/stream/<label>`: the table's name and the stream's label.
    Stream(String, String),
}

fn is_table_name(s: &str) -> bool {
    (3..=255).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Parses `arn` as DynamoDB does for the ARN-addressed operations, checking in its order: the
/// `arn:` prefix, the service, the resource type (tables and streams only, never indexes), then
/// the region and table name.
///
/// # Errors
/// `ValidationException` with the text of `usage`'s operations.
pub(crate) fn parse_arn(
    arn: &str,
    ctx: &RequestContext,
    account: &str,
    usage: ArnUse,
) -> Result<Resource> {
    if !arn.starts_with("arn:") {
        return Err(Error::invalid_parameter(format!(
            "ARNs must start with 'arn:': {arn}"
        )));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let not_dynamodb = || {
        Error::invalid_parameter(format!(
            "Provided Arn is not a DynamoDB resource arn: {arn}"
        ))
    };
    let [_, _partition, service, region, owner, resource] = parts.as_slice() else {
        return Err(not_dynamodb());
    };
    if *service != "dynamodb" {
        return Err(not_dynamodb());
    }
    let Some(path) = resource.strip_prefix("table/") else {
        return Err(not_dynamodb());
    };
    let segments: Vec<&str> = path.split('/').collect();
    let resource = match segments.as_slice() {
        [name] => Resource::Table((*name).to_owned()),
        [name, "stream", label] if !label.is_empty() => {
            Resource::Stream((*name).to_owned(), (*label).to_owned())
        }
        _ => {
            return Err(Error::invalid_parameter(format!(
                "Invalid resource arn provided, only table or stream is accepted. Provided \
                 resource arn: {arn}"
            )))
        }
    };
    let bad_name = segments.first().is_none_or(|n| !is_table_name(n));
    if *region != ctx.region
        || bad_name
        || (usage == ArnUse::Tags && matches!(resource, Resource::Stream(..)))
    {
        return Err(match usage {
            ArnUse::Tags => Error::validation(format!(
                "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
            )),
            ArnUse::Policy => Error::invalid_parameter(format!("Invalid resource Arn: {arn}")),
        });
    }
    if *owner != account {
        // Another account's tables are not visible to this caller.
        return Err(not_found(arn, segments[0], usage));
    }
    Ok(resource)
}

/// The not-found text of each family. The tag family's reads "ResourceArn": older emulators
/// spell it "ResourcArn", but the ack-api-quirks lab recorded the service's current text live
/// in two regions (DDB-TABLE-446, also DDB-TABLE-101).
pub(crate) fn not_found(arn: &str, name: &str, usage: ArnUse) -> Error {
    Error::ResourceNotFound(match usage {
        ArnUse::Tags => format!("Requested resource not found: ResourceArn: {arn} not found"),
        ArnUse::Policy => format!("Requested resource not found: Table: {name} not found"),
    })
}

/// Whether `c` may appear in a tag key or value: letters and digits of any script, spaces
/// (but not control characters such as tab), and `_ . : / = + - @` (DynamoDB's tag pattern
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`).
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

/// Checks one tag key (TagResource, UntagResource, CreateTable).
///
/// # Errors
/// `ValidationException` "The Tag Key provided is invalid, Key: ...".
pub(crate) fn check_tag_key(key: Option<&str>) -> Result<&str> {
    match key {
        Some(k) if (1..=MAX_TAG_KEY).contains(&k.chars().count()) && k.chars().all(tag_char) => {
            Ok(k)
        }
        k => Err(Error::validation(format!(
            "The Tag Key provided is invalid, Key: {}",
            k.unwrap_or("null")
        ))),
    }
}

/// Checks a list of tags to add, in request order, and returns them as a map: each key and
/// value (length, characters), the reserved `aws:` prefix, duplicate keys, and the 50-tag
/// limit of the list itself.
///
/// # Errors
/// `ValidationException` with DynamoDB's text for the first problem.
pub(crate) fn check_tags(tags: &[Tag]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for tag in tags {
        let key = check_tag_key(tag.key.as_deref())?;
        check_not_reserved(key)?;
        let value = match tag.value.as_deref() {
            Some(v) if v.chars().count() <= MAX_TAG_VALUE && v.chars().all(tag_char) => v,
            v => {
                return Err(Error::validation(format!(
                    "The Tag Value provided is invalid, Value: {}",
                    v.unwrap_or("null")
                )))
            }
        };
        if out.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(Error::validation(format!(
                "Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}"
            )));
        }
    }
    check_tag_count(out.len())?;
    Ok(out)
}

/// Refuses a tag key with the reserved `aws:` prefix, in any case, as TagResource and
/// UntagResource both do (the ack-api-quirks lab's DDB-TABLE-105: "AWS:foo" is refused too).
///
/// # Errors
/// `ValidationException` with DynamoDB's text.
pub(crate) fn check_not_reserved(key: &str) -> Result<()> {
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Err(Error::validation(format!(
            "Tag Key cannot be prefixed with aws:, Key: {key}"
        )));
    }
    Ok(())
}

/// The 50-tag limit (a ValidationException in DynamoDB, not a LimitExceededException).
///
/// # Errors
/// `ValidationException` when `count` exceeds [`MAX_TAGS`].
pub(crate) fn check_tag_count(count: usize) -> Result<()> {
    if count > MAX_TAGS {
        return Err(Error::validation(
            "Number of Tags exceed the current limit for the provided ResourceArn",
        ));
    }
    Ok(())
}

/// The request's `ResourceArn`: DynamoDB answers a missing one with this bare text for the tag
/// operations.
pub(crate) fn required_arn(arn: Option<&str>) -> Result<&str> {
    arn.ok_or_else(|| Error::validation("Invalid TableArn"))
}

/// A required member of the policy operations (the server reports it first; this keeps the
/// engine safe when embedded).
pub(crate) fn required<'a>(member: Option<&'a str>, path: &str) -> Result<&'a str> {
    member.ok_or_else(|| {
        Error::validation(format!(
            "1 validation error detected: Value null at '{path}' failed to satisfy constraint: \
             Member must not be null"
        ))
    })
}

/// GetResourcePolicy / DeleteResourcePolicy on a table without a policy.
pub(crate) fn policy_not_found(arn: &str) -> Error {
    Error::PolicyNotFound(format!(
        "Resource-based policy not found for the provided ResourceArn: {arn}"
    ))
}

/// An `ExpectedRevisionId` that is not the table's current policy revision.
pub(crate) fn revision_mismatch(expected: &str, table: &str, current: &str) -> Error {
    Error::PolicyNotFound(format!(
        "Resource-based policy not found for the provided ResourceArn: Requested update for \
         policy with revision id {expected}, but the policy associated to target table {table} \
         has revision id {current}."
    ))
}

/// The checks TagResource and UntagResource open with, in DynamoDB's order: the ARN present,
/// the list (`member`, as DynamoDB's constraint messages name it) present, the ARN well-formed,
/// the list not empty (`empty` is the operation's text for that).
pub(crate) fn tag_request<'a, T>(
    arn: Option<&'a str>,
    list: Option<Vec<T>>,
    member: &str,
    empty: &str,
    ctx: &RequestContext,
    account: &str,
) -> Result<(&'a str, Vec<T>)> {
    let arn = required_arn(arn)?;
    let list = list.ok_or_else(|| {
        Error::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy \
             constraint: Member must not be null"
        ))
    })?;
    parse_arn(arn, ctx, account, ArnUse::Tags)?;
    if list.is_empty() {
        return Err(Error::validation(empty));
    }
    Ok((arn, list))
}

impl Database {
    /// Applies `change` to the tags of the table `arn` names (TagResource, UntagResource),
    /// all or nothing.
    pub(crate) fn change_tags(
        &self,
        ctx: &RequestContext,
        arn: &str,
        untag: bool,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> Result<()>,
    ) -> Result<()> {
        let table = self.table_by_arn(ctx, arn, ArnUse::Tags)?;
        let name = table.descriptor().name.clone();
        self.change_descriptor(
            &table,
            || not_found(arn, &name, ArnUse::Tags),
            |d| {
                // Judged on the tags before the change (they may name `binderdb:throttling`).
                let now = self.clock.now_millis();
                let locked = self.tags_locked(d, now);
                let before = d.tags.clone();
                change(&mut d.tags)?;
                let changes = d.tags != before;
                if locked && (changes || untag) {
                    return Err(Error::LimitExceeded(format!(
                        "Subscriber limit exceeded: Table tags are being updated: {name}"
                    )));
                }
                if changes {
                    d.tags_changed_ms = Some(now);
                }
                Ok(())
            },
        )
    }

    /// Whether the tags of `d` are locked by a recent change at `now_ms` on a throttled table
    /// ([`TAG_LOCK_MS`]).
    pub(crate) fn tags_locked(&self, d: &TableDescriptor, now_ms: u64) -> bool {
        self.throttles(d)
            && d.tags_changed_ms
                .is_some_and(|t| now_ms < t.saturating_add(TAG_LOCK_MS))
    }

    /// Whether the table policy of `d` is still being applied at `now_ms` after its last change,
    /// on a throttled table ([`POLICY_APPLYING_MS`]; a stream's policy does not count).
    pub(crate) fn table_policy_pending(&self, d: &TableDescriptor, now_ms: u64) -> bool {
        self.throttles(d)
            && d.policy_changes
                .get(&slot_key(None))
                .is_some_and(|&t| now_ms < t.saturating_add(POLICY_APPLYING_MS))
    }

    /// The table an ARN-addressed operation names, with the not-found text of its family.
    pub(crate) fn table_by_arn(
        &self,
        ctx: &RequestContext,
        arn: &str,
        usage: ArnUse,
    ) -> Result<Arc<Table>> {
        let table = self.policy_target(ctx, arn, usage)?.0;
        // The tag APIs do not see a table that is still CREATING (the ack-api-quirks lab's
        // DDB-TABLE-101, 446; DynamoDB's last second of the window, ResourceInUseException for
        // TagResource, is not modelled).
        let d = table.descriptor();
        if usage == ArnUse::Tags && d.status(self.clock.now_millis()) == "CREATING" {
            return Err(not_found(arn, &d.name, usage));
        }
        Ok(table)
    }

    /// The table an ARN names, and the label of the stream when it names one of the table's
    /// streams (resource-based policies attach to tables and to streams).
    pub(crate) fn policy_target(
        &self,
        ctx: &RequestContext,
        arn: &str,
        usage: ArnUse,
    ) -> Result<(Arc<Table>, Option<String>)> {
        let (name, label) = match parse_arn(arn, ctx, self.account_id(ctx), usage)? {
            Resource::Table(name) => (name, None),
            Resource::Stream(name, label) => (name, Some(label)),
        };
        let table = self
            .catalog
            .get(ctx.account(), &ctx.region, &name)
            .ok_or_else(|| not_found(arn, &name, usage))?;
        if let Some(label) = &label {
            if !table
                .descriptor()
                .streams
                .iter()
                .any(|s| s.label() == *label)
            {
                return Err(not_found(arn, &name, usage));
            }
        }
        Ok((table, label))
    }

    /// Applies `change` to the current descriptor of `table` and stores the result, under the
    /// catalog's DDL lock so that concurrent changes of one table's metadata serialise. The
    /// table is looked up again under the lock: if it was deleted (or replaced) meanwhile, the
    /// change fails as for a missing table.
    pub(crate) fn change_descriptor<T>(
        &self,
        table: &Table,
        missing: impl FnOnce() -> Error,
        change: impl FnOnce(&mut TableDescriptor) -> Result<T>,
    ) -> Result<T> {
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let current = table.descriptor();
        if self.catalog.by_id(current.id).is_none() {
            return Err(missing());
        }
        let mut next = (*current).clone();
        let answer = change(&mut next)?;
        if next != *current {
            self.catalog.put(self.store.as_ref(), next)?;
        }
        Ok(answer)
    }

    /// A new policy revision id: the current time in milliseconds, strictly after `previous`.
    pub(crate) fn next_revision(&self, previous: Option<&str>) -> String {
        let now = self.clock.now_millis();
        let after = previous
            .and_then(|p| p.parse::<u64>().ok())
            .map_or(0, |p| p + 1);
        now.max(after).to_string()
    }
}

/// How long after a change of a resource-based policy (a Put of another document, or a
/// Delete) DynamoDB refuses another change of the same policy (the table's, or one stream's,
/// each on its own): ResourceInUseException "... is pending previous resource-based policy
/// update" while the change is applied (about [`POLICY_APPLYING_MS`], and for the whole window
/// when the request names the current `ExpectedRevisionId`), then ThrottlingException
/// "Resource-based policy for table T modified within the previous 15000 milliseconds. Please
/// try again after <instant>Z." (the ack-api-quirks lab's DDB-TABLE-206, 347, 445). A re-Put
/// of the current document, or of an equivalent one (the same canonical form, DDB-TABLE-207),
/// is answered as always (no change), inside the window too; a wrong
/// `ExpectedRevisionId` is refused first. Enforced on throttled tables (`--throttling` or the
/// table's tag), like the other rate limits.
pub(crate) const POLICY_COOLDOWN_MS: u64 = 15_000;

/// See [`POLICY_COOLDOWN_MS`].
pub(crate) const POLICY_APPLYING_MS: u64 = 2_000;

/// The key of a policy slot in `TableDescriptor::policy_changes`.
fn slot_key(label: Option<&str>) -> String {
    label.unwrap_or_default().to_owned()
}

impl Database {
    /// Refuses a change of the policy slot `label` of `d` within [`POLICY_COOLDOWN_MS`] of its
    /// last change (`expected`: the request names an `ExpectedRevisionId`).
    ///
    /// # Errors
    /// `ResourceInUseException` or `ThrottlingException`, see [`POLICY_COOLDOWN_MS`].
    pub(crate) fn check_policy_cooldown(
        &self,
        d: &TableDescriptor,
        label: Option<&str>,
        expected: bool,
    ) -> Result<()> {
        let now = self.clock.now_millis();
        let Some(changed) = d.policy_changes.get(&slot_key(label)).copied() else {
            return Ok(());
        };
        let until = changed.saturating_add(POLICY_COOLDOWN_MS);
        if now >= until || !self.throttles(d) {
            return Ok(());
        }
        let (kind, what) = match label {
            None => ("Table", format!("table {}", d.name)),
            Some(label) => ("Stream", format!("stream {label}")),
        };
        if expected || now < changed.saturating_add(POLICY_APPLYING_MS) {
            let id = what.split_once(' ').map_or("", |(_, id)| id);
            return Err(Error::in_use(format!(
                "{kind} is pending previous resource-based policy update: {id}"
            )));
        }
        Err(Error::Throttling {
            message: format!(
                "Resource-based policy for {what} modified within the previous \
                 {POLICY_COOLDOWN_MS} milliseconds. Please try again after {}.",
                crate::exchange::iso8601(until)
            ),
            reasons: Vec::new(),
        })
    }

    /// Records a change of the policy slot `label` of `d` now (and forgets changes whose
    /// cooldown is over).
    pub(crate) fn record_policy_change(&self, d: &mut TableDescriptor, label: Option<&str>) {
        let now = self.clock.now_millis();
        d.policy_changes
            .retain(|_, t| now < t.saturating_add(POLICY_COOLDOWN_MS));
        d.policy_changes.insert(slot_key(label), now);
    }
}

/// The policy slot of the table, or of its stream labelled `label`; `None` when that stream is
/// gone.
pub(crate) fn policy_slot<'d>(
    d: &'d mut TableDescriptor,
    label: Option<&str>,
) -> Option<&'d mut Option<ResourcePolicy>> {
    match label {
        None => Some(&mut d.resource_policy),
        Some(label) => d
            .streams
            .iter_mut()
            .find(|s| s.label() == label)
            .map(|s| &mut s.policy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        RequestContext::default()
    }

    #[test]
    fn arns_are_checked_in_dynamodb_order() {
        let parse = |arn: &str| parse_arn(arn, &ctx(), "000000000000", ArnUse::Tags);
        assert_eq!(
            parse("arn:aws:dynamodb:us-east-1:000000000000:table/Music").unwrap(),
            Resource::Table("Music".to_owned())
        );
        let message = |arn: &str| parse(arn).unwrap_err().to_string();
        assert_eq!(
            message("Music"),
            "One or more parameter values were invalid: ARNs must start with 'arn:': Music"
        );
        assert!(message("arn:aws:s3:::bucket").contains("not a DynamoDB resource arn"));
        assert!(message("arn:aws:dynamodb:us-east-1:000000000000:backup/x")
            .contains("not a DynamoDB resource arn"));
        assert!(
            message("arn:aws:dynamodb:us-east-1:000000000000:table/Music/index/gsi")
                .contains("only table or stream is accepted")
        );
        assert_eq!(
            message("arn:aws:dynamodb:eu-west-1:000000000000:table/Music"),
            "Invalid TableArn: Invalid ResourceArn provided as input \
             arn:aws:dynamodb:eu-west-1:000000000000:table/Music"
        );
        assert!(message("arn:aws:dynamodb:us-east-1:000000000000:table/ab")
            .starts_with("Invalid TableArn"));
    }

    #[test]
    fn tag_rules() {
        let tag = |k: Option<&str>, v: Option<&str>| Tag {
            key: k.map(str::to_owned),
            value: v.map(str::to_owned),
        };
        let err = |tags: &[Tag]| check_tags(tags).unwrap_err().to_string();
        assert!(check_tags(&[tag(Some("ключ café 表"), Some("a+b-c=d.e_f:g/h@i"))]).is_ok());
        assert!(check_tags(&[tag(Some("k"), Some(""))]).is_ok());
        assert_eq!(
            err(&[tag(None, Some("v"))]),
            "The Tag Key provided is invalid, Key: null"
        );
        assert_eq!(
            err(&[tag(Some("k"), None)]),
            "The Tag Value provided is invalid, Value: null"
        );
        assert_eq!(
            err(&[tag(Some("a,b"), Some("v"))]),
            "The Tag Key provided is invalid, Key: a,b"
        );
        assert_eq!(
            err(&[tag(Some("k"), Some("100%"))]),
            "The Tag Value provided is invalid, Value: 100%"
        );
        assert_eq!(
            err(&[tag(Some("aws:x"), Some("v"))]),
            "Tag Key cannot be prefixed with aws:, Key: aws:x"
        );
        assert_eq!(
            err(&[tag(Some("d"), Some("1")), tag(Some("d"), Some("2"))]),
            "Duplicate Tag Keys provided as input: Duplicate Tag Key found d"
        );
        let long_key = "k".repeat(MAX_TAG_KEY + 1);
        assert!(err(&[tag(Some(&long_key), Some("v"))]).starts_with("The Tag Key provided"));
        let long_value = "v".repeat(MAX_TAG_VALUE + 1);
        assert!(err(&[tag(Some("k"), Some(&long_value))]).starts_with("The Tag Value provided"));
        let many: Vec<Tag> = (0..=MAX_TAGS)
            .map(|i| tag(Some(&i.to_string()), Some("v")))
            .collect();
        assert_eq!(
            err(&many),
            "Number of Tags exceed the current limit for the provided ResourceArn"
        );
    }
}
