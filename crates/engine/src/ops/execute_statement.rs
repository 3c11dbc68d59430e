//! ExecuteStatement: one PartiQL statement, run as the item API call it plans to
//! (see [`crate::partiql`]).

use std::collections::BTreeMap;

use binderdb_model::{wire::WireValue, AttributeValue};
use xxhash_rust::xxh3::Xxh3;

use crate::api::{ExecuteStatementInput, ExecuteStatementOutput, QueryInput, WireItem};
use crate::error::{Error, Result};
use crate::partiql::{check_parameters, plan, CallOptions, Plan};
use crate::{Database, RequestContext};

/// DynamoDB's message for an INSERT of a key that exists.
pub(crate) const DUPLICATE_ITEM: &str = "Duplicate primary key exists in table";

impl Database {
    /// ExecuteStatement.
    ///
    /// # Errors
    /// ValidationException for a statement that does not parse or that the dialect refuses,
    /// a parameter count that does not match, or a bad NextToken; and every error of the item
    /// operation the statement runs as (DuplicateItemException for an INSERT of an existing
    /// key).
    pub fn execute_statement(
        &self,
        ctx: &RequestContext,
        input: ExecuteStatementInput,
    ) -> Result<ExecuteStatementOutput> {
        let text = input.statement.unwrap_or_default();
        let parsed = self.statements.parse(&text)?;
        let params = input.parameters.unwrap_or_default();
        check_parameters(&parsed, &params)?;
        if matches!(
            parsed.statement,
            binderdb_partiql::ast::Statement::Exists(_)
        ) {
            return Err(Error::validation(
                "EXISTS can only be used in ExecuteTransaction write requests.",
            ));
        }
        let exclusive_start_key = input
            .next_token
            .as_deref()
            .map(|t| decode_next_token(t, &text, &params))
            .transpose()?;
        let (_, table) = self.active_table(ctx, parsed.statement.table())?;
        let options = CallOptions {
            consistent_read: input.consistent_read,
            limit: input.limit,
            return_consumed_capacity: input.return_consumed_capacity,
            return_values_on_condition_check_failure: input
                .return_values_on_condition_check_failure,
            exclusive_start_key,
        };
        let planned = plan(&parsed.statement, &table, &params, options)?;
        self.run_plan(ctx, planned, &text, &params)
    }

    /// Runs a planned statement and shapes ExecuteStatement's answer.
    pub(super) fn run_plan(
        &self,
        ctx: &RequestContext,
        planned: Plan,
        text: &str,
        params: &[WireValue],
    ) -> Result<ExecuteStatementOutput> {
        let write = |attributes: Option<binderdb_model::Item>, capacity| ExecuteStatementOutput {
            items: attributes.into_iter().collect(),
            consumed_capacity: capacity,
            ..ExecuteStatementOutput::default()
        };
        Ok(match planned {
            Plan::Get(input) => {
                let out = self.get_item(ctx, input)?;
                ExecuteStatementOutput {
                    items: out.item.into_iter().collect(),
                    consumed_capacity: out.consumed_capacity,
                    ..ExecuteStatementOutput::default()
                }
            }
            Plan::Query(input) => self.page_output(self.query(ctx, input)?, text, params)?,
            Plan::Scan(input) => self.page_output(self.scan(ctx, input)?, text, params)?,
            Plan::Put(input) => match self.put_item(ctx, input) {
                Ok(out) => write(None, out.consumed_capacity),
                Err(Error::ConditionalCheckFailed { .. }) => {
                    return Err(Error::DuplicateItem(DUPLICATE_ITEM.to_owned()))
                }
                Err(e) => return Err(e),
            },
            Plan::Update(input) => {
                let out = self.update_item(ctx, input)?;
                write(out.attributes, out.consumed_capacity)
            }
            Plan::Delete(input) => {
                let out = self.delete_item(ctx, input)?;
                write(out.attributes, out.consumed_capacity)
            }
            Plan::Check(_) => {
                return Err(Error::validation(
                    "EXISTS can only be used in ExecuteTransaction write requests.",
                ))
            }
            Plan::Many(plans) => self.run_reads(ctx, plans)?,
        })
    }

    /// The reads of a partition-key `IN`, each to its end, answered as one list of items with
    /// their capacity added up. There is no NextToken: the reads are few (at most 100) and
    /// each stops at DynamoDB's 1 MB page only to go on.
    fn run_reads(&self, ctx: &RequestContext, plans: Vec<Plan>) -> Result<ExecuteStatementOutput> {
        let mut items = Vec::new();
        let mut consumed = Vec::new();
        let mut add = |c: Option<crate::api::ConsumedCapacity>| {
            if let Some(c) = c {
                super::batch_execute_statement::merge_capacity(&mut consumed, c);
            }
        };
        for plan in plans {
            match plan {
                Plan::Get(input) => {
                    let out = self.get_item(ctx, input)?;
                    items.extend(out.item);
                    add(out.consumed_capacity);
                }
                Plan::Query(mut input) => loop {
                    let again = QueryInput {
                        exclusive_start_key: None,
                        ..clone_query(&input)
                    };
                    let page = self.query(ctx, input)?;
                    items.extend(page.items.unwrap_or_default());
                    add(page.consumed_capacity);
                    match page.last_evaluated_key {
                        Some(key) => {
                            input = again;
                            input.exclusive_start_key = Some(to_wire(&key)?);
                        }
                        None => break,
                    }
                },
                _ => return Err(Error::Internal("unexpected read plan".to_owned())),
            }
        }
        Ok(ExecuteStatementOutput {
            items,
            consumed_capacity: consumed.pop(),
            ..ExecuteStatementOutput::default()
        })
    }

    fn page_output(
        &self,
        page: crate::api::ReadPageOutput,
        text: &str,
        params: &[WireValue],
    ) -> Result<ExecuteStatementOutput> {
        let next_token = page
            .last_evaluated_key
            .as_ref()
            .map(|k| encode_next_token(k, text, params))
            .transpose()?;
        Ok(ExecuteStatementOutput {
            items: page.items.unwrap_or_default(),
            next_token,
            consumed_capacity: page.consumed_capacity,
            last_evaluated_key: page.last_evaluated_key,
        })
    }
}

/// What a NextToken is bound to: the statement text and its parameters. A token handed to
/// another statement is refused, as DynamoDB refuses it.
fn request_hash(text: &str, params: &[WireValue]) -> Result<u64> {
    let mut h = Xxh3::new();
    h.update(text.as_bytes());
    h.update(&[0]);
    for param in params {
        // Through the validated value, whose maps are ordered: a wire map's order is not.
        match AttributeValue::from_wire(param.clone()) {
            Ok(v) => h.update(&serde_json::to_vec(&v).map_err(|e| Error::Internal(e.to_string()))?),
            Err(e) => h.update(e.to_string().as_bytes()),
        }
        h.update(&[0]);
    }
    Ok(h.digest())
}

/// A NextToken: hex of `{"h": request hash, "k": LastEvaluatedKey}`. Opaque to clients, as
/// DynamoDB's tokens are; binderdb keeps no state for it.
fn encode_next_token(
    key: &BTreeMap<String, AttributeValue>,
    text: &str,
    params: &[WireValue],
) -> Result<String> {
    let body = serde_json::json!({"h": request_hash(text, params)?, "k": key});
    let bytes = serde_json::to_vec(&body).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[derive(serde::Deserialize)]
struct TokenBody {
    h: u64,
    k: WireItem,
}

/// The ExclusiveStartKey a NextToken carries.
///
/// # Errors
/// "Invalid NextToken" for anything binderdb did not make; "NextToken does not match
/// request" for a token of another statement or other parameters.
fn decode_next_token(token: &str, text: &str, params: &[WireValue]) -> Result<WireItem> {
    let invalid = || Error::validation("Invalid NextToken");
    if token.len() % 2 != 0 || !token.is_ascii() {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16))
        .collect::<std::result::Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    let body: TokenBody = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if body.h != request_hash(text, params)? {
        return Err(Error::validation("NextToken does not match request"));
    }
    Ok(body.k)
}

/// A copy of a Query request (the request type is not `Clone`: it is read once elsewhere).
fn clone_query(q: &QueryInput) -> QueryInput {
    QueryInput {
        table_name: q.table_name.clone(),
        index_name: q.index_name.clone(),
        limit: q.limit,
        consistent_read: q.consistent_read,
        scan_index_forward: q.scan_index_forward,
        return_consumed_capacity: q.return_consumed_capacity.clone(),
        key_condition_expression: q.key_condition_expression.clone(),
        filter_expression: q.filter_expression.clone(),
        projection_expression: q.projection_expression.clone(),
        expression_attribute_names: q.expression_attribute_names.clone(),
        expression_attribute_values: q.expression_attribute_values.clone(),
        filter_may_read_keys: q.filter_may_read_keys,
        ..QueryInput::default()
    }
}

/// A key as the wire form a request takes.
fn to_wire(key: &BTreeMap<String, AttributeValue>) -> Result<WireItem> {
    serde_json::to_value(key)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Internal(e.to_string()))
}
