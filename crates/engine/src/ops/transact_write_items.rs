//! TransactWriteItems: up to 100 Put, Update, Delete and ConditionCheck actions on distinct
//! items of any tables of the region, committed all-or-nothing in one guarded storage batch.
//! The protocol (holds, one commit, tokens) is described in [`crate::txn`]; this file is the
//! operation's validate → execute → respond.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use binderdb_model::{item_size, Item};
use binderdb_storage::{Batch, Guard, Key, StorageError, Write};

use crate::api::{
    CancellationReason, TransactWriteItem, TransactWriteItemsInput, TransactWriteItemsOutput,
    WireItem,
};
use crate::capacity::{read_units, write_units, Consumed, ReturnCapacity};
use crate::catalog::{Table, TableDescriptor};
use crate::conditions::{ReturnOnFailure, WriteConditions};
use crate::error::{Error, Result};
use crate::expressions::{ExpressionTexts, Expressions};
use crate::keys::{item_key, request_key};
use crate::ops::put_item::NewItem;
use crate::ops::update_item::{check_key_updates, updated_item};
use crate::ops::{decode, table_name, wire_item, Change, Planned};
use crate::txn::tokens::{token_key, Fingerprint, TokenRecord};
use crate::txn::{self, conflicts_at, no_reason, reason_of};
use crate::{Database, RequestContext};

/// DynamoDB's limit on actions in one transaction.
pub const MAX_TRANSACT_ITEMS: usize = 100;
/// DynamoDB's limit on the aggregate size of a transaction's items.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// What one action does.
enum Kind {
    ConditionCheck(WriteConditions),
    Put(NewItem, WriteConditions),
    Delete(WriteConditions),
    Update(Box<Expressions>, Item),
}

/// One validated action.
struct Action {
    name: String,
    table: Arc<Table>,
    key: Key,
    on_failure: ReturnOnFailure,
    kind: Kind,
}

/// Parses a Put, Delete or ConditionCheck action's condition and its names and values.
fn conditions(
    condition: Option<&str>,
    names: Option<HashMap<String, String>>,
    values: Option<WireItem>,
) -> Result<WriteConditions> {
    WriteConditions::parse(condition, None, None, names, values)
}

/// One action as the request states it, its expressions parsed, its table not yet looked up.
struct ParsedAction {
    name: String,
    key_of: KeyOf,
    on_failure: Option<String>,
    kind: Kind,
}

/// Parses one wire action: its member, item or key values and expressions. Every action is
/// parsed before any table is looked up, as DynamoDB orders it: a malformed expression or an
/// unused value on any action is reported ahead of a missing table on an earlier one
/// (recorded in us-east-1 and eu-west-2 by paritysuite/dynamodb-conformance,
/// `tests/tier3/validation-ordering/transactions.test.ts`).
fn parse_action(action: TransactWriteItem) -> Result<ParsedAction> {
    let TransactWriteItem {
        condition_check,
        put,
        delete,
        update,
    } = action;
    let (name, key_of, on_failure, kind) = match (condition_check, put, delete, update) {
        (Some(c), None, None, None) => {
            let key = wire_item(c.key.unwrap_or_default())?;
            let conds = conditions(
                c.condition_expression.as_deref(),
                c.expression_attribute_names,
                c.expression_attribute_values,
            )?;
            (
                c.table_name,
                KeyOf::Request(key),
                c.return_values_on_condition_check_failure,
                Kind::ConditionCheck(conds),
            )
        }
        (None, Some(p), None, None) => {
            let new = NewItem::from_wire(p.item.unwrap_or_default())?;
            let conds = conditions(
                p.condition_expression.as_deref(),
                p.expression_attribute_names,
                p.expression_attribute_values,
            )?;
            (
                p.table_name,
                KeyOf::Item,
                p.return_values_on_condition_check_failure,
                Kind::Put(new, conds),
            )
        }
        (None, None, Some(d), None) => {
            let key = wire_item(d.key.unwrap_or_default())?;
            let conds = conditions(
                d.condition_expression.as_deref(),
                d.expression_attribute_names,
                d.expression_attribute_values,
            )?;
            (
                d.table_name,
                KeyOf::Request(key),
                d.return_values_on_condition_check_failure,
                Kind::Delete(conds),
            )
        }
        (None, None, None, Some(u)) => {
            let key = wire_item(u.key.unwrap_or_default())?;
            let exprs = Expressions::parse(
                ExpressionTexts {
                    update: u.update_expression.as_deref(),
                    condition: u.condition_expression.as_deref(),
                    value_members: "UpdateExpression and ConditionExpression are null",
                    ..ExpressionTexts::default()
                },
                u.expression_attribute_names,
                u.expression_attribute_values,
            )?;
            let key_item = key.clone();
            (
                u.table_name,
                KeyOf::Request(key),
                u.return_values_on_condition_check_failure,
                Kind::Update(Box::new(exprs), key_item),
            )
        }
        _ => return Err(Error::validation(ONE_ACTION)),
    };
    Ok(ParsedAction {
        name: table_name(&name)?.to_owned(),
        key_of,
        on_failure,
        kind,
    })
}

impl Database {
    /// Looks up a parsed action's table and encodes its key into an [`Action`].
    fn transact_action(&self, ctx: &RequestContext, parsed: ParsedAction) -> Result<Action> {
        let ParsedAction {
            name,
            key_of,
            on_failure,
            kind,
        } = parsed;
        let (table, descriptor) = self.active_table(ctx, &name)?;
        let schema = &descriptor.key_schema;
        let encoded = match (&key_of, &kind) {
            (KeyOf::Item, Kind::Put(new, _)) => {
                let key = item_key(schema, &new.item)?;
                crate::index::check_item(&descriptor, &new.item)?;
                key
            }
            (KeyOf::Request(key), _) => request_key(schema, key)?,
            (KeyOf::Item, _) => return Err(Error::validation(ONE_ACTION)),
        };
        if let Kind::Update(exprs, _) = &kind {
            check_key_updates(exprs, schema)?;
        }
        Ok(Action {
            name,
            table,
            key: encoded.storage_key(descriptor.id),
            on_failure: ReturnOnFailure::parse(on_failure.as_deref()),
            kind,
        })
    }

    /// TransactWriteItems.
    ///
    /// # Errors
    /// `ValidationException` for an invalid action, two actions on one item, no action, more
    /// than 100 or more than 4 MB; `ResourceNotFoundException` for a missing table;
    /// TransactionCanceledException with one reason per action;
    /// IdempotentParameterMismatchException; TransactionInProgressException.
    pub fn transact_write_items(
        &self,
        ctx: &RequestContext,
        input: TransactWriteItemsInput,
    ) -> Result<TransactWriteItemsOutput> {
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let want_metrics = input.return_item_collection_metrics.clone();
        let token = input.client_request_token.clone();
        let fingerprint = token.as_ref().map(|_| fingerprint(&input));
        let items = input.transact_items.unwrap_or_default();
        check_action_count(items.len())?;
        let parsed = items
            .into_iter()
            .map(parse_action)
            .collect::<Result<Vec<_>>>()?;
        let mut actions = Vec::with_capacity(parsed.len());
        let mut size = 0usize;
        for parsed in parsed {
            let action = self.transact_action(ctx, parsed)?;
            size += match &action.kind {
                Kind::Put(new, _) => item_size(&new.item),
                Kind::Update(_, key) => item_size(key),
                Kind::Delete(_) | Kind::ConditionCheck(_) => {
                    action.key.partition.len() + action.key.sort.len()
                }
            };
            if actions.iter().any(|a: &Action| a.key == action.key) {
                return Err(Error::validation(MULTIPLE_OPERATIONS));
            }
            actions.push(action);
        }
        check_transaction_size(size)?;

        // The token is held for the whole request: a second request with it waits for nothing
        // and is told the first is still running.
        let mut token_state = None;
        let _token_hold = match (&token, fingerprint) {
            (Some(token), Some(fingerprint)) => {
                let key = token_key(ctx, token);
                let hold = self
                    .txn
                    .holds
                    .try_hold(std::slice::from_ref(&key))
                    .map_err(|_| {
                        // DynamoDB's text, as an SDK reported it from the service
                        // (aws/aws-sdk-java-v2#2518).
                        Error::TransactionInProgress(
                            "Transaction from previous request is still in progress".to_owned(),
                        )
                    })?;
                let current = self.store.get(&key)?;
                let now = self.clock.now_millis();
                if let Some(record) = current
                    .as_ref()
                    .and_then(|v| TokenRecord::decode(&v.value))
                    .filter(|r| r.live(now))
                {
                    if record.fingerprint != fingerprint {
                        return Err(token_mismatch());
                    }
                    return self.replay(&actions, capacity);
                }
                token_state = Some((key, current.map(|v| v.version), fingerprint));
                Some(hold)
            }
            _ => None,
        };

        self.admit_transaction(
            crate::capacity::Direction::Write,
            actions.iter().map(|a| (a.table.as_ref(), &a.key)),
        )?;
        let keys: Vec<Key> = actions.iter().map(|a| a.key.clone()).collect();
        let _held = self.txn.holds.try_hold(&keys).map_err(|conflicts| {
            for &i in &conflicts {
                self.count_conflict(&actions[i].table);
            }
            conflicts_at(actions.len(), &conflicts)
        })?;
        // Shared write gates in table-id order: the index sets cannot change until the commit.
        let mut tables: Vec<&Arc<Table>> = actions.iter().map(|a| &a.table).collect();
        tables.sort_by_key(|t| t.descriptor().id);
        tables.dedup_by_key(|t| t.descriptor().id);
        let _gates: Vec<_> = tables.iter().map(|t| t.write_gate.read()).collect();

        let mut decided = Vec::with_capacity(actions.len());
        let mut reasons: Vec<CancellationReason> = Vec::with_capacity(actions.len());
        let mut failed = false;
        let mut guards = Vec::with_capacity(actions.len() + 1);
        let mut writes = Vec::new();
        // Item collections several actions grow: each sees the others' growth.
        let mut pending: HashMap<(u64, Vec<u8>), i64> = HashMap::new();
        for action in &actions {
            let descriptor = action.table.descriptor();
            let current = self.store.get(&action.key)?;
            guards.push(Guard {
                key: action.key.clone(),
                expected: current.as_ref().map(|v| v.version),
            });
            let old_version = current.as_ref().map(|v| v.version);
            let old = current.map(|v| decode(&v.value)).transpose()?;
            let collection = self
                .collection_before(&action.table, &descriptor, &action.key)?
                .map(|size| {
                    size + pending
                        .get(&(descriptor.id, action.key.partition.clone()))
                        .copied()
                        .unwrap_or(0)
                });
            match self.decide_action(action, &descriptor, (old, old_version), collection) {
                Ok(outcome) => {
                    if let Decision::Write(planned) = &outcome {
                        if collection.is_some() {
                            *pending
                                .entry((descriptor.id, action.key.partition.clone()))
                                .or_default() += planned.decided.collection_delta();
                        }
                        writes.extend(planned.writes.iter().cloned());
                    }
                    reasons.push(no_reason());
                    decided.push(Some((outcome, descriptor)));
                }
                Err(e) => {
                    reasons.push(reason_of(e)?);
                    failed = true;
                    decided.push(None);
                }
            }
        }
        if failed {
            return Err(Error::TransactionCanceled { reasons });
        }
        if let Some((key, version, fingerprint)) = &token_state {
            guards.push(Guard {
                key: key.clone(),
                expected: *version,
            });
            let record = TokenRecord {
                committed_ms: self.clock.now_millis(),
                fingerprint: *fingerprint,
            };
            writes.push(Write::Put {
                key: key.clone(),
                value: record.encode(),
            });
        }
        let item_guards = guards[..actions.len()].to_vec();
        match self.store.commit(Batch { writes, guards }) {
            Ok(_) => {}
            Err(StorageError::Conflict) => {
                // The same token committed meanwhile by another request (on another node
                // sharing the store: this node's token hold cannot see it): answered as a
                // repeat of that request, or refused if its parameters differ.
                if let Some((key, version, fingerprint)) = &token_state {
                    let current = self.store.get(key)?;
                    if current.as_ref().map(|v| v.version) != *version {
                        let now = self.clock.now_millis();
                        if let Some(record) = current
                            .as_ref()
                            .and_then(|v| TokenRecord::decode(&v.value))
                            .filter(|r| r.live(now))
                        {
                            if record.fingerprint != *fingerprint {
                                return Err(token_mismatch());
                            }
                            return self.replay(&actions, capacity);
                        }
                    }
                }
                let e = self.moved_items(&item_guards)?;
                if let Error::TransactionCanceled { reasons } = &e {
                    for (action, reason) in actions.iter().zip(reasons) {
                        if reason.code == "TransactionConflict" {
                            self.count_conflict(&action.table);
                        }
                    }
                }
                return Err(e);
            }
            Err(e) => return Err(e.into()),
        }
        if token_state.is_some() && self.txn.token_written() {
            if let Err(e) = txn::tokens::purge_expired(self.store.as_ref(), self.clock.now_millis())
            {
                tracing::warn!(error = %e, "purging expired transaction tokens failed");
            }
        }

        let mut per_table: Vec<(String, Consumed)> = Vec::new();
        let mut metrics: BTreeMap<String, Vec<crate::api::ItemCollectionMetrics>> = BTreeMap::new();
        for (action, decided) in actions.iter().zip(decided) {
            let Some((decision, descriptor)) = decided else {
                continue;
            };
            let consumed = match decision {
                Decision::Write(planned) => {
                    let outcome = self.settle_write(&action.table, &action.key, planned.decided);
                    if let Some(m) = outcome.collection_metrics(
                        want_metrics.as_deref(),
                        &descriptor,
                        &action.key,
                    ) {
                        metrics.entry(action.name.clone()).or_default().push(m);
                    }
                    outcome.consumed
                }
                Decision::Checked(size) => Consumed::table(write_units(size, 0)),
            };
            let consumed = consumed.doubled();
            self.charge(
                &action.table,
                &descriptor,
                crate::capacity::Usage::TransactionalWrite,
                &consumed,
                Some(crate::capacity::partition_of(&action.key)),
            );
            add_consumed(&mut per_table, &action.name, &consumed);
        }
        Ok(TransactWriteItemsOutput {
            consumed_capacity: report(capacity, &per_table),
            item_collection_metrics: (!metrics.is_empty()).then_some(metrics),
        })
    }

    /// Decides one action on the item as read.
    fn decide_action(
        &self,
        action: &Action,
        descriptor: &TableDescriptor,
        (old, old_version): (Option<Item>, Option<u64>),
        collection: Option<i64>,
    ) -> Result<Decision> {
        let change = match &action.kind {
            Kind::ConditionCheck(conds) => {
                conds.check(old.as_ref(), action.on_failure)?;
                return Ok(Decision::Checked(old.as_ref().map_or(0, item_size)));
            }
            Kind::Put(new, conds) => {
                conds.check(old.as_ref(), action.on_failure)?;
                Change::Put(Cow::Borrowed(&new.item))
            }
            Kind::Delete(conds) => {
                conds.check(old.as_ref(), action.on_failure)?;
                Change::Delete
            }
            Kind::Update(exprs, key_item) => {
                updated_item(exprs, false, key_item, old.as_ref(), action.on_failure)?.0
            }
        };
        Ok(Decision::Write(self.plan_write(
            descriptor,
            &action.key,
            (old, old_version),
            change,
            collection,
        )?))
    }

    /// The cancellation of a transaction whose commit found items changed since it read them:
    /// TransactionConflict for each item whose version moved.
    fn moved_items(&self, guards: &[Guard]) -> Result<Error> {
        let mut moved = self.moved_since(guards)?;
        if moved.is_empty() {
            // Changed and changed back between the commit and this look: still a conflict.
            moved = (0..guards.len()).collect();
        }
        Ok(conflicts_at(guards.len(), &moved))
    }

    /// The positions of the guarded items whose version is no longer the one guarded.
    ///
    /// # Errors
    /// Storage failures.
    pub(super) fn moved_since(&self, guards: &[Guard]) -> Result<Vec<usize>> {
        let mut moved = Vec::new();
        for (i, guard) in guards.iter().enumerate() {
            if self.store.get(&guard.key)?.map(|v| v.version) != guard.expected {
                moved.push(i);
            }
        }
        Ok(moved)
    }

    /// The answer to a repeated request (same token and parameters within 10 minutes): nothing
    /// is written; the items are read, and billed as reads, as DynamoDB does.
    fn replay(
        &self,
        actions: &[Action],
        capacity: ReturnCapacity,
    ) -> Result<TransactWriteItemsOutput> {
        let mut per_table: Vec<(String, Consumed)> = Vec::new();
        for action in actions {
            let size = match self.store.get(&action.key)? {
                Some(v) => item_size(&decode(&v.value)?),
                None => 0,
            };
            add_consumed(
                &mut per_table,
                &action.name,
                &Consumed::table(read_units(size, true)),
            );
        }
        Ok(TransactWriteItemsOutput {
            consumed_capacity: report(capacity, &per_table),
            item_collection_metrics: None,
        })
    }
}

/// Where an action's key comes from.
enum KeyOf {
    /// The Put's item.
    Item,
    /// A Key member.
    Request(Item),
}

/// What an action decided.
enum Decision {
    /// A condition check that held on an item of this size.
    Checked(usize),
    /// A write.
    Write(Planned),
}

/// DynamoDB's answer to two actions (or two Gets) on one item.
pub(super) const MULTIPLE_OPERATIONS: &str =
    "Transaction request cannot include multiple operations on one item";

/// DynamoDB's answer to an action with none or several of its members.
const ONE_ACTION: &str = "TransactItems can only contain one of Check, Put, Update or Delete";

/// Refuses a transaction without actions or with more than 100, as DynamoDB words it (the
/// server checks this first, with the same texts; the engine keeps itself safe when embedded).
///
/// DynamoDB is moving this member to its validation framework's newer wording, and regions
/// answer in either form (recorded per region by paritysuite/dynamodb-conformance,
/// `tests/tier3/error-messages/transact*Items.test.ts`): the older echoes the list (`'[]'`
/// when empty, a Java `toString` dump of every item when too long), the newer names the member
/// `'TransactItems'` and echoes nothing. An empty list gets the older form, which is exact;
/// a long one the newer, since the older one's dump cannot be reproduced (the same choice as
/// BatchGetItem's `Keys`).
///
/// # Errors
/// `ValidationException`.
pub(super) fn check_action_count(len: usize) -> Result<()> {
    if len == 0 {
        return Err(Error::validation(
            "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy \
             constraint: Member must have length greater than or equal to 1",
        ));
    }
    if len > MAX_TRANSACT_ITEMS {
        return Err(Error::validation(
            "1 validation error detected: Value at 'TransactItems' failed to satisfy \
             constraint: Member must have length less than or equal to 100",
        ));
    }
    Ok(())
}

/// Refuses a transaction whose items total more than 4 MB, with DynamoDB's text. The text,
/// repetition included, is the one DynamoDB answered to an oversized TransactWriteItems as
/// quoted in a client's test double of it (a `com.amazon.coral.validate#ValidationException`);
/// the size it reports is binderdb's aggregate item size, which DynamoDB does not document.
///
/// # Errors
/// `ValidationException` when `size` is over [`MAX_TRANSACTION_BYTES`].
pub(super) fn check_transaction_size(size: usize) -> Result<()> {
    if size <= MAX_TRANSACTION_BYTES {
        return Ok(());
    }
    Err(Error::validation(format!(
        "Transaction payload size cannot exceed 4MB. Payload Size: : Transaction payload size \
         cannot exceed 4MB. Payload Size: {size}"
    )))
}

/// Adds `consumed` to `table`'s share, keeping tables in the order the request first names them.
fn add_consumed(per_table: &mut Vec<(String, Consumed)>, table: &str, consumed: &Consumed) {
    match per_table.iter_mut().find(|(name, _)| name == table) {
        Some((_, total)) => total.merge(consumed),
        None => per_table.push((table.to_owned(), consumed.clone())),
    }
}

/// The response's ConsumedCapacity list (one entry per table), when asked for.
pub(super) fn report(
    capacity: ReturnCapacity,
    per_table: &[(String, Consumed)],
) -> Option<Vec<crate::api::ConsumedCapacity>> {
    per_table
        .iter()
        .map(|(name, consumed)| capacity.report_consumed(name, consumed))
        .collect()
}

/// The fingerprint of a request's parameters for its ClientRequestToken: everything but the
/// token and ReturnConsumedCapacity (which only shapes the answer), with every map sorted.
fn fingerprint(input: &TransactWriteItemsInput) -> u128 {
    let mut f = Fingerprint::default();
    let item = |m: &Option<WireItem>| {
        m.as_ref()
            .map(|m| binderdb_model::item_from_wire(m.clone()).map_err(|e| e.to_string()))
    };
    fn sorted(m: &Option<HashMap<String, String>>) -> Option<BTreeMap<&String, &String>> {
        m.as_ref().map(|m| m.iter().collect())
    }
    f.add(&input.return_item_collection_metrics);
    for action in input.transact_items.iter().flatten() {
        // (kind, table, key or item, update, condition, names, values, on failure)
        let parts = match action {
            TransactWriteItem {
                condition_check: Some(c),
                ..
            } => Some((
                "ConditionCheck",
                &c.table_name,
                &c.key,
                &None,
                &c.condition_expression,
                &c.expression_attribute_names,
                &c.expression_attribute_values,
                &c.return_values_on_condition_check_failure,
            )),
            TransactWriteItem { put: Some(p), .. } => Some((
                "Put",
                &p.table_name,
                &p.item,
                &None,
                &p.condition_expression,
                &p.expression_attribute_names,
                &p.expression_attribute_values,
                &p.return_values_on_condition_check_failure,
            )),
            TransactWriteItem {
                delete: Some(d), ..
            } => Some((
                "Delete",
                &d.table_name,
                &d.key,
                &None,
                &d.condition_expression,
                &d.expression_attribute_names,
                &d.expression_attribute_values,
                &d.return_values_on_condition_check_failure,
            )),
            TransactWriteItem {
                update: Some(u), ..
            } => Some((
                "Update",
                &u.table_name,
                &u.key,
                &u.update_expression,
                &u.condition_expression,
                &u.expression_attribute_names,
                &u.expression_attribute_values,
                &u.return_values_on_condition_check_failure,
            )),
            _ => None,
        };
        if let Some((kind, table, target, update, condition, names, values, on_failure)) = parts {
            f.add(&(kind, table, item(target), update, condition));
            f.add(&(sorted(names), item(values), on_failure));
        }
        f.add(&"|");
    }
    f.finish()
}

/// DynamoDB's answer to a ClientRequestToken reused with other parameters.
fn token_mismatch() -> Error {
    Error::IdempotentParameterMismatch(
        "Request with the same client token has different parameters than the request that \
         used it first"
            .to_owned(),
    )
}
