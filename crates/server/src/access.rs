//! Access control: whether a verified key may perform an action on a resource.
//!
//! Runs only when SigV4 verification is on (a request of an open server has no principal). Two
//! kinds of policy take part, evaluated as AWS evaluates them within one account:
//! - the key's own (identity-based) policy from the credentials file; a key without one may do
//!   everything in its account, like the account's administrator;
//! - the resource-based policy stored on the table, or on the stream, by PutResourcePolicy
//!   (an index is governed by its table's policy).
//!
//! An explicit `Deny` in either wins; otherwise an `Allow` in either grants; otherwise the
//! request is refused. Refusals are `AccessDeniedException` (HTTP 400) with AWS's text:
//! `User: <principal arn> is not authorized to perform: dynamodb:<Action> on resource:
//! <arn or *> because no identity-based policy allows the dynamodb:<Action> action` (or `with an
//! explicit deny in an identity-based policy` / `... in a resource-based policy`).
//!
//! The policy language is a documented subset of IAM's JSON: `Statement` (one or a list) of
//! `Effect` (`Allow`/`Deny`), `Action` or `NotAction` (`dynamodb:<Action>`, `*` and `?`
//! wildcards, case-insensitive), `Resource` or `NotResource` (ARNs with wildcards,
//! case-sensitive) and, in resource policies, `Principal` (`*`, or `{"AWS": ...}` naming
//! account ids, `arn:aws:iam::<account>:root` or user ARNs). `Condition` is not evaluated; to
//! stay on the safe side an `Allow` with a condition never applies and a `Deny` with one always
//! does. Which action a request needs follows AWS: one per operation, transactions need the
//! action of each item (`dynamodb:GetItem` for TransactGetItems; `PutItem`, `UpdateItem`,
//! `DeleteItem` or `ConditionCheckItem` for TransactWriteItems), batches the batch action on
//! every table, Query and Scan with `IndexName` the index's ARN, PartiQL statements the
//! `dynamodb:PartiQL<Select|Insert|Update|Delete>` action of each statement on its table or
//! index (`EXISTS` needs `PartiQLSelect`), and listings `*`.
//!
//! Must not depend on: storage (it reads stored resource policies through the engine).

use std::collections::HashMap;
use std::sync::Arc;

use binderdb_engine::api::{
    BackupArnInput, CreateBackupInput, ExportArnInput, ExportTableToPointInTimeInput,
    ImportArnInput, ImportTableInput, ListBackupsInput, ListExportsInput, ListImportsInput,
    RestoreTableFromBackupInput, RestoreTableToPointInTimeInput, UpdateContinuousBackupsInput,
};
use binderdb_engine::api::{
    BatchExecuteStatementInput, DescribeLimitsInput, ExecuteStatementInput,
    ExecuteTransactionInput, ListTagsOfResourceInput,
};
use binderdb_engine::api::{
    BatchGetItemInput, BatchWriteItemInput, CreateTableInput, DeleteItemInput, GetItemInput,
    ListTablesInput, PutItemInput, PutResourcePolicyInput, QueryInput, ResourcePolicyInput,
    ScanInput, TableNameInput, TagResourceInput, TransactGetItemsInput, TransactWriteItemsInput,
    UntagResourceInput, UpdateItemInput, UpdateTableInput,
};
use binderdb_engine::api::{
    DescribeContributorInsightsInput, ListContributorInsightsInput, UpdateContributorInsightsInput,
};
use binderdb_engine::api::{
    KinesisStreamingDestinationInput, UpdateKinesisStreamingDestinationInput,
};
use binderdb_engine::stream::wire::{
    DescribeStreamInput, GetRecordsInput, GetShardIteratorInput, ListStreamsInput,
};
use binderdb_engine::{Database, DescribeTimeToLiveInput, RequestContext, UpdateTimeToLiveInput};
use serde_json::Value;

use crate::auth::Principal;
use crate::error::ApiError;

/// A parsed policy document.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    /// `Action` patterns, or `NotAction` ones when `not_action`.
    actions: Vec<String>,
    not_action: bool,
    /// `Resource` patterns, or `NotResource` ones when `not_resource`.
    resources: Vec<String>,
    not_resource: bool,
    /// `Principal` of a resource policy: `None` when absent.
    principals: Option<Vec<String>>,
    has_condition: bool,
}

/// What one policy says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// No statement applies.
    Silent,
    Allow,
    Deny,
}

impl Policy {
    /// Parses a policy document in the subset the module docs describe.
    ///
    /// # Errors
    /// Text that is not JSON, or a statement without a valid `Effect`, `Action` or `Resource`.
    pub fn parse(document: &str) -> Result<Policy, String> {
        let doc: Value =
            serde_json::from_str(document).map_err(|e| format!("policy is not JSON: {e}"))?;
        let statements = match doc.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Err("policy has no Statement".to_owned()),
        };
        let mut parsed = Vec::with_capacity(statements.len());
        for s in statements {
            let allow = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => true,
                Some("Deny") => false,
                _ => return Err("a statement's Effect must be Allow or Deny".to_owned()),
            };
            let (actions, not_action) = either(s, "Action", "NotAction")?;
            let (resources, not_resource) = either(s, "Resource", "NotResource")?;
            let principals = match s.get("Principal") {
                None => None,
                Some(Value::String(p)) => Some(vec![p.clone()]),
                Some(Value::Object(map)) => {
                    Some(map.get("AWS").map(strings).transpose()?.unwrap_or_default())
                }
                Some(_) => return Err("a statement's Principal is malformed".to_owned()),
            };
            parsed.push(Statement {
                allow,
                actions,
                not_action,
                resources,
                not_resource,
                principals,
                has_condition: s.get("Condition").is_some(),
            });
        }
        Ok(Policy { statements: parsed })
    }

    /// What the policy says of `action` on `resource`; `caller` is `(account, principal ARN)`
    /// for a resource policy (whose statements must name the caller), `None` for the caller's
    /// own policy.
    fn decide(&self, action: &str, resource: &str, caller: Option<(&str, &str)>) -> Decision {
        let mut decision = Decision::Silent;
        for s in &self.statements {
            let action_hit = s.actions.iter().any(|p| glob(p, action, true)) != s.not_action;
            let resource_hit =
                s.resources.iter().any(|p| glob(p, resource, false)) != s.not_resource;
            let principal_hit = match (caller, &s.principals) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some((account, arn)), Some(names)) => names.iter().any(|n| {
                    n == "*"
                        || n == account
                        || n == arn
                        || *n == format!("arn:aws:iam::{account}:root")
                }),
            };
            if !(action_hit && resource_hit && principal_hit) {
                continue;
            }
            if !s.allow {
                // An unevaluated condition on a Deny counts as met: the safe side.
                return Decision::Deny;
            }
            if !s.has_condition {
                decision = Decision::Allow;
            }
        }
        decision
    }
}

/// `Action` or `NotAction` (or the resource pair): exactly one of the two.
fn either(s: &Value, positive: &str, negative: &str) -> Result<(Vec<String>, bool), String> {
    match (s.get(positive), s.get(negative)) {
        (Some(v), None) => Ok((strings(v)?, false)),
        (None, Some(v)) => Ok((strings(v)?, true)),
        _ => Err(format!(
            "a statement needs exactly one of {positive} and {negative}"
        )),
    }
}

fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "policy lists must hold strings".to_owned())
            })
            .collect(),
        _ => Err("policy values must be strings or lists of strings".to_owned()),
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one character.
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let eq = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// What a request's permission is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Account-level listings: resource `*`.
    Any,
    /// A table of the caller's account and region, by name.
    Table(String),
    /// An index of a table.
    Index(String, String),
    /// A resource addressed by its ARN (tags, resource policies, streams).
    Arn(String),
}

/// One permission a request needs.
#[derive(Debug, Clone)]
pub(crate) struct Need {
    pub(crate) action: &'static str,
    pub(crate) target: Target,
}

/// The permissions a decoded request needs; `action` is its operation's IAM action.
pub(crate) trait Permissions {
    /// The permissions the request needs (`db` parses PartiQL statements through its cache).
    fn needs(&self, db: &Database, action: &'static str) -> Vec<Need>;

    /// Every table name the request gives (its `TableName`, a batch's `RequestItems` keys, a
    /// transaction's items' `TableName`s), any of which may be the table's ARN
    /// (`crate::table_arn`).
    fn table_names_mut(&mut self) -> Vec<&mut String> {
        Vec::new()
    }
}

fn one(action: &'static str, target: Target) -> Vec<Need> {
    vec![Need { action, target }]
}

fn table(action: &'static str, name: Option<&String>) -> Vec<Need> {
    // A request without a table name fails validation before it could touch anything.
    name.map_or_else(Vec::new, |n| one(action, Target::Table(n.clone())))
}

fn arn(action: &'static str, arn: Option<&String>) -> Vec<Need> {
    arn.map_or_else(Vec::new, |a| one(action, Target::Arn(a.clone())))
}

macro_rules! by_table_name {
    ($($t:ty),* $(,)?) => {$(
        impl Permissions for $t {
            fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
                table(action, self.table_name.as_ref())
            }

            fn table_names_mut(&mut self) -> Vec<&mut String> {
                self.table_name.as_mut().into_iter().collect()
            }
        }
    )*};
}

by_table_name!(
    TableNameInput,
    UpdateTableInput,
    PutItemInput,
    GetItemInput,
    DeleteItemInput,
    UpdateItemInput,
    UpdateTimeToLiveInput,
    DescribeTimeToLiveInput,
    CreateBackupInput,
    UpdateContinuousBackupsInput,
    KinesisStreamingDestinationInput,
    UpdateKinesisStreamingDestinationInput,
);

/// A CreateTable that attaches a `ResourcePolicy` also needs `dynamodb:PutResourcePolicy` on the
/// new table: the API reference asks for both actions to create a table with a resource-based
/// policy. Checked in that order, so a caller allowed neither is refused for CreateTable.
impl Permissions for CreateTableInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        let mut needs = table(action, self.table_name.as_ref());
        if self.resource_policy.is_some() {
            needs.extend(table(
                "dynamodb:PutResourcePolicy",
                self.table_name.as_ref(),
            ));
        }
        needs
    }

    fn table_names_mut(&mut self) -> Vec<&mut String> {
        self.table_name.as_mut().into_iter().collect()
    }
}

/// Export and import records are addressed by ARNs under their table's ARN.
impl Permissions for ExportTableToPointInTimeInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        arn(action, self.table_arn.as_ref())
    }
}

impl Permissions for ExportArnInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        arn(action, self.export_arn.as_ref())
    }
}

impl Permissions for ImportArnInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        arn(action, self.import_arn.as_ref())
    }
}

/// ImportTable creates its table: the action on the new table's ARN.
impl Permissions for ImportTableInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        let name = self
            .table_creation_parameters
            .as_ref()
            .and_then(|p| p.value.table_name.as_ref());
        table(action, name)
    }
}

impl Permissions for BackupArnInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        arn(action, self.backup_arn.as_ref())
    }
}

/// RestoreTableFromBackup creates its target table: the action on the target table's ARN.
impl Permissions for RestoreTableFromBackupInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        table(action, self.target_table_name.as_ref())
    }
}

/// RestoreTableToPointInTime creates its target table: the action on the target table's ARN.
impl Permissions for RestoreTableToPointInTimeInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        table(action, self.target_table_name.as_ref())
    }
}

macro_rules! by_resource_arn {
    ($($t:ty),* $(,)?) => {$(
        impl Permissions for $t {
            fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
                arn(action, self.resource_arn.as_ref())
            }
        }
    )*};
}

by_resource_arn!(
    TagResourceInput,
    UntagResourceInput,
    ListTagsOfResourceInput,
    PutResourcePolicyInput,
    ResourcePolicyInput,
);

macro_rules! account_wide {
    ($($t:ty),* $(,)?) => {$(
        impl Permissions for $t {
            fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
                one(action, Target::Any)
            }
        }
    )*};
}

account_wide!(
    ListTablesInput,
    DescribeLimitsInput,
    ListStreamsInput,
    ListBackupsInput,
    ListExportsInput,
    ListImportsInput,
    ListContributorInsightsInput,
);

macro_rules! maybe_index {
    ($($t:ty),* $(,)?) => {$(
        impl Permissions for $t {
            fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
                match (&self.table_name, &self.index_name) {
                    (Some(t), Some(i)) => one(action, Target::Index(t.clone(), i.clone())),
                    (t, _) => table(action, t.as_ref()),
                }
            }

            fn table_names_mut(&mut self) -> Vec<&mut String> {
                self.table_name.as_mut().into_iter().collect()
            }
        }
    )*};
}

// Contributor Insights of an index is authorised on the index's ARN, as DynamoDB does.
maybe_index!(
    QueryInput,
    ScanInput,
    DescribeContributorInsightsInput,
    UpdateContributorInsightsInput,
);

impl Permissions for BatchGetItemInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        let tables = self.request_items.iter().flat_map(|m| m.0.iter());
        tables.flat_map(|(t, _)| table(action, Some(t))).collect()
    }

    fn table_names_mut(&mut self) -> Vec<&mut String> {
        let tables = self.request_items.iter_mut().flat_map(|m| m.0.iter_mut());
        tables.map(|(t, _)| t).collect()
    }
}

impl Permissions for BatchWriteItemInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        let tables = self.request_items.iter().flat_map(|m| m.0.iter());
        tables.flat_map(|(t, _)| table(action, Some(t))).collect()
    }

    fn table_names_mut(&mut self) -> Vec<&mut String> {
        let tables = self.request_items.iter_mut().flat_map(|m| m.0.iter_mut());
        tables.map(|(t, _)| t).collect()
    }
}

impl Permissions for TransactGetItemsInput {
    fn needs(&self, _db: &Database, _action: &'static str) -> Vec<Need> {
        let items = self.transact_items.iter().flatten();
        items
            .filter_map(|i| i.get.as_ref())
            .flat_map(|g| table("dynamodb:GetItem", g.table_name.as_ref()))
            .collect()
    }

    fn table_names_mut(&mut self) -> Vec<&mut String> {
        let items = self.transact_items.iter_mut().flatten();
        items
            .filter_map(|i| i.get.as_mut())
            .filter_map(|g| g.table_name.as_mut())
            .collect()
    }
}

impl Permissions for TransactWriteItemsInput {
    fn needs(&self, _db: &Database, _action: &'static str) -> Vec<Need> {
        let mut needs = Vec::new();
        for item in self.transact_items.iter().flatten() {
            let (action, name) = if let Some(p) = &item.put {
                ("dynamodb:PutItem", p.table_name.as_ref())
            } else if let Some(u) = &item.update {
                ("dynamodb:UpdateItem", u.table_name.as_ref())
            } else if let Some(d) = &item.delete {
                ("dynamodb:DeleteItem", d.table_name.as_ref())
            } else if let Some(c) = &item.condition_check {
                ("dynamodb:ConditionCheckItem", c.table_name.as_ref())
            } else {
                continue;
            };
            needs.extend(table(action, name));
        }
        needs
    }

    fn table_names_mut(&mut self) -> Vec<&mut String> {
        let mut names = Vec::new();
        for item in self.transact_items.iter_mut().flatten() {
            let name = if let Some(p) = &mut item.put {
                p.table_name.as_mut()
            } else if let Some(u) = &mut item.update {
                u.table_name.as_mut()
            } else if let Some(d) = &mut item.delete {
                d.table_name.as_mut()
            } else if let Some(c) = &mut item.condition_check {
                c.table_name.as_mut()
            } else {
                None
            };
            names.extend(name);
        }
        names
    }
}

/// The permission one PartiQL statement needs: `dynamodb:PartiQLSelect` (also for `EXISTS`),
/// `PartiQLInsert`, `PartiQLUpdate` or `PartiQLDelete` on its table, or on its index for a
/// SELECT from `"table"."index"`. A statement that does not parse needs nothing: the engine
/// refuses it before it touches any table.
fn statement_needs(db: &Database, statement: Option<&String>) -> Vec<Need> {
    use binderdb_partiql::ast::Statement;
    let Some(Ok(parsed)) = statement.map(|s| db.parse_statement(s)) else {
        return Vec::new();
    };
    let (action, source) = match &parsed.statement {
        Statement::Select(s) | Statement::Exists(s) => ("dynamodb:PartiQLSelect", &s.source),
        Statement::Insert(i) => ("dynamodb:PartiQLInsert", &i.source),
        Statement::Update(u) => ("dynamodb:PartiQLUpdate", &u.source),
        Statement::Delete(d) => ("dynamodb:PartiQLDelete", &d.source),
    };
    let target = match &source.index {
        Some(index) => Target::Index(source.table.clone(), index.clone()),
        None => Target::Table(source.table.clone()),
    };
    one(action, target)
}

impl Permissions for ExecuteStatementInput {
    fn needs(&self, db: &Database, _action: &'static str) -> Vec<Need> {
        statement_needs(db, self.statement.as_ref())
    }
}

impl Permissions for BatchExecuteStatementInput {
    fn needs(&self, db: &Database, _action: &'static str) -> Vec<Need> {
        let statements = self.statements.iter().flatten();
        statements
            .flat_map(|s| statement_needs(db, s.statement.as_ref()))
            .collect()
    }
}

impl Permissions for ExecuteTransactionInput {
    fn needs(&self, db: &Database, _action: &'static str) -> Vec<Need> {
        let statements = self.transact_statements.iter().flatten();
        statements
            .flat_map(|s| statement_needs(db, s.statement.as_ref()))
            .collect()
    }
}

impl Permissions for DescribeStreamInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        arn(action, self.stream_arn.as_ref())
    }
}

impl Permissions for GetShardIteratorInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        arn(action, self.stream_arn.as_ref())
    }
}

impl Permissions for GetRecordsInput {
    fn needs(&self, _db: &Database, action: &'static str) -> Vec<Need> {
        let stream = self
            .shard_iterator
            .as_deref()
            .and_then(binderdb_engine::stream::shard_iterator_stream_arn);
        arn(action, stream.as_ref())
    }
}

/// Refuses the request unless `principal` may do everything `needs` lists (see the module
/// docs). Cheap when nothing can refuse: a key without a policy, and no resource policy stored
/// anywhere, skips the walk.
///
/// # Errors
/// `AccessDeniedException` naming the first permission refused.
pub(crate) fn authorize(
    db: &Database,
    ctx: &RequestContext,
    principal: &Principal,
    needs: &[Need],
) -> Result<(), ApiError> {
    if principal.policy.is_none() && !db.has_resource_policies() {
        return Ok(());
    }
    let account = db.account_id(ctx);
    let user_arn = format!("arn:aws:iam::{account}:user/{}", principal.user);
    for need in needs {
        let (resource, stored) = resource_of(db, ctx, account, &need.target);
        let resource_policy = stored.and_then(parsed);
        let identity = principal
            .policy
            .as_ref()
            .map_or(Decision::Allow, |p| p.decide(need.action, &resource, None));
        let resource_based = resource_policy.as_ref().map_or(Decision::Silent, |p| {
            p.decide(need.action, &resource, Some((account, &user_arn)))
        });
        let reason = if identity == Decision::Deny {
            "with an explicit deny in an identity-based policy".to_owned()
        } else if resource_based == Decision::Deny {
            "with an explicit deny in a resource-based policy".to_owned()
        } else if identity == Decision::Allow || resource_based == Decision::Allow {
            continue;
        } else {
            format!(
                "because no identity-based policy allows the {} action",
                need.action
            )
        };
        return Err(ApiError::access_denied(format!(
            "User: {user_arn} is not authorized to perform: {} on resource: {resource} {reason}",
            need.action
        )));
    }
    Ok(())
}

/// Stored resource-based policies parsed once: a call on a table with a policy looks its
/// document up here instead of parsing it again. Keyed by the document's text, so a changed
/// policy is simply another entry; cleared when it holds [`PARSED_POLICIES`] documents.
fn parsed(doc: String) -> Option<Arc<Policy>> {
    type Parsed = HashMap<String, Option<Arc<Policy>>>;
    static CACHE: std::sync::OnceLock<std::sync::Mutex<Parsed>> = std::sync::OnceLock::new();
    // A panic while holding the lock leaves a map that is still whole: keep using it.
    let lock = || {
        CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(policy) = lock().get(&doc) {
        return policy.clone();
    }
    let policy = Policy::parse(&doc).ok().map(Arc::new);
    let mut cache = lock();
    if cache.len() >= PARSED_POLICIES {
        cache.clear();
    }
    cache.insert(doc, policy.clone());
    policy
}

/// How many distinct policy documents [`parsed`] keeps.
const PARSED_POLICIES: usize = 1024;

/// The resource ARN a permission is checked on, and the resource policy stored for it.
fn resource_of(
    db: &Database,
    ctx: &RequestContext,
    account: &str,
    target: &Target,
) -> (String, Option<String>) {
    let table_arn = |name: &str| format!("arn:aws:dynamodb:{}:{account}:table/{name}", ctx.region);
    match target {
        Target::Any => ("*".to_owned(), None),
        Target::Table(name) => (table_arn(name), db.resource_policy(ctx, name, None)),
        Target::Index(name, index) => (
            format!("{}/index/{index}", table_arn(name)),
            db.resource_policy(ctx, name, None),
        ),
        Target::Arn(arn) => {
            // Only a resource of the caller's own account and region can carry a policy the
            // engine would then act on; anything else is refused by the engine as not found.
            let prefix = format!("arn:aws:dynamodb:{}:{account}:table/", ctx.region);
            let policy =
                arn.strip_prefix(&prefix)
                    .and_then(|rest| match rest.split_once("/stream/") {
                        Some((name, label)) => db.resource_policy(ctx, name, Some(label)),
                        None => db.resource_policy(ctx, rest, None),
                    });
            (arn.clone(), policy)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(glob("dynamodb:*", "dynamodb:GetItem", true));
        assert!(glob("DynamoDB:get*", "dynamodb:GetItem", true));
        assert!(glob("dynamodb:?etItem", "dynamodb:GetItem", true));
        assert!(!glob("dynamodb:Get", "dynamodb:GetItem", true));
        assert!(glob(
            "arn:aws:dynamodb:*:*:table/Music*",
            "arn:aws:dynamodb:us-east-1:1:table/Music/index/ByYear",
            false
        ));
        assert!(!glob("arn:*:table/music", "arn:x:table/Music", false));
        assert!(glob("*", "", false));
        assert!(glob("a*b*c", "aXbYbZc", false));
    }

    #[test]
    fn explicit_deny_wins_and_conditions_are_safe() {
        let policy = Policy::parse(
            r#"{"Statement":[
                {"Effect":"Allow","Action":"dynamodb:*","Resource":"*"},
                {"Effect":"Deny","Action":["dynamodb:DeleteItem"],"Resource":"arn:aws:dynamodb:*:*:table/T"},
                {"Effect":"Allow","Action":"dynamodb:Scan","Resource":"*","Condition":{"Bool":{"x":"true"}}}
            ]}"#,
        )
        .unwrap();
        let t = "arn:aws:dynamodb:us-east-1:1:table/T";
        assert_eq!(policy.decide("dynamodb:GetItem", t, None), Decision::Allow);
        assert_eq!(
            policy.decide("dynamodb:DeleteItem", t, None),
            Decision::Deny
        );
        let conditional = Policy::parse(
            r#"{"Statement":{"Effect":"Allow","NotAction":"dynamodb:Scan","Resource":"*","Condition":{}}}"#,
        )
        .unwrap();
        assert_eq!(
            conditional.decide("dynamodb:GetItem", t, None),
            Decision::Silent
        );
        for bad in [
            "",
            "{}",
            r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#,
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_policies_must_name_the_caller() {
        let policy = Policy::parse(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":"dynamodb:GetItem","Resource":"*"}]}"#,
        )
        .unwrap();
        let caller = Some(("111122223333", "arn:aws:iam::111122223333:user/u"));
        let other = Some(("444455556666", "arn:aws:iam::444455556666:user/u"));
        assert_eq!(
            policy.decide("dynamodb:GetItem", "r", caller),
            Decision::Allow
        );
        assert_eq!(
            policy.decide("dynamodb:GetItem", "r", other),
            Decision::Silent
        );
    }
}
