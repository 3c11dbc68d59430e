//! BatchExecuteStatement: up to 25 PartiQL statements, all reads (each a GetItem by full
//! key) or all writes, each succeeding or failing on its own.

use binderdb_partiql::ast::Statement;

use crate::api::{
    BatchExecuteStatementInput, BatchExecuteStatementOutput, BatchStatementError,
    BatchStatementRequest, BatchStatementResponse, ConsumedCapacity,
};
use crate::error::{Error, Result};
use crate::partiql::{check_parameters, plan, CallOptions, Plan};
use crate::{Database, RequestContext};

/// The whole-request error for a batch that mixes SELECTs with writes (DynamoDB documents the
/// rule, not its text; this wording is binderdb's).
const MIXED: &str = "Unsupported operation: A batch must contain either only read statements or only write statements";

impl Database {
    /// BatchExecuteStatement.
    ///
    /// # Errors
    /// ValidationException for a batch that mixes reads and writes. Every other failure is
    /// reported in the statement's own `Error` member.
    pub fn batch_execute_statement(
        &self,
        ctx: &RequestContext,
        input: BatchExecuteStatementInput,
    ) -> Result<BatchExecuteStatementOutput> {
        let capacity_mode = input.return_consumed_capacity;
        let statements = input.statements.unwrap_or_default();
        let parsed: Vec<_> = statements
            .iter()
            .map(|s| {
                self.statements
                    .parse(s.statement.as_deref().unwrap_or_default())
            })
            .collect();
        let reads = parsed
            .iter()
            .flatten()
            .filter(|p| p.statement.is_read())
            .count();
        let ok = parsed.iter().flatten().count();
        if reads > 0 && reads < ok {
            return Err(Error::validation(MIXED));
        }
        let mut responses = Vec::with_capacity(statements.len());
        let mut consumed: Vec<ConsumedCapacity> = Vec::new();
        for (request, parsed) in statements.into_iter().zip(parsed) {
            let table = parsed.as_ref().ok().map(|p| p.statement.table().to_owned());
            let result = parsed.and_then(|parsed| {
                self.batch_statement(
                    ctx,
                    &parsed.statement,
                    parsed.parameters,
                    request,
                    &capacity_mode,
                )
            });
            responses.push(match result {
                Ok((item, capacity)) => {
                    if let Some(c) = capacity {
                        merge_capacity(&mut consumed, c);
                    }
                    BatchStatementResponse {
                        table_name: table,
                        item,
                        error: None,
                    }
                }
                Err(e) => BatchStatementResponse {
                    table_name: table,
                    item: None,
                    error: Some(statement_error(e)),
                },
            });
        }
        Ok(BatchExecuteStatementOutput {
            responses,
            consumed_capacity: (!consumed.is_empty()).then_some(consumed),
        })
    }

    /// Runs one statement of a batch: its item (for a read) and its capacity.
    fn batch_statement(
        &self,
        ctx: &RequestContext,
        statement: &Statement,
        parameters: usize,
        request: BatchStatementRequest,
        capacity_mode: &Option<String>,
    ) -> Result<(Option<binderdb_model::Item>, Option<ConsumedCapacity>)> {
        let text = request.statement.unwrap_or_default();
        let params = request.parameters.unwrap_or_default();
        check_parameters(
            &binderdb_partiql::Parsed {
                statement: statement.clone(),
                parameters,
            },
            &params,
        )?;
        let (_, table) = self.active_table(ctx, statement.table())?;
        let options = CallOptions {
            consistent_read: request.consistent_read,
            return_consumed_capacity: capacity_mode.clone(),
            return_values_on_condition_check_failure: request
                .return_values_on_condition_check_failure,
            ..CallOptions::default()
        };
        let planned = plan(statement, &table, &params, options)?;
        match planned {
            Plan::Get(_) | Plan::Put(_) | Plan::Update(_) | Plan::Delete(_) => {}
            Plan::Query(_) | Plan::Scan(_) | Plan::Many(_) => {
                return Err(Error::validation(
                    "Where clause does not contain a mandatory equality on all key attributes",
                ))
            }
            Plan::Check(_) => {
                return Err(Error::validation(
                    "EXISTS can only be used in ExecuteTransaction write requests.",
                ))
            }
        }
        let out = self.run_plan(ctx, planned, &text, &params)?;
        let item = if statement.is_read() {
            out.items.into_iter().next()
        } else {
            None
        };
        Ok((item, out.consumed_capacity))
    }
}

/// A failed statement's `Error` member: the exception's name without `Exception`.
fn statement_error(e: Error) -> BatchStatementError {
    let message = e.to_string();
    let (code, item) = match e {
        Error::Validation(_) => ("ValidationError", None),
        Error::ResourceNotFound(_) => ("ResourceNotFound", None),
        Error::ConditionalCheckFailed { item } => ("ConditionalCheckFailed", item),
        Error::DuplicateItem(_) => ("DuplicateItem", None),
        Error::TransactionConflict(_) => ("TransactionConflict", None),
        Error::ItemCollectionSizeLimitExceeded(_) => ("ItemCollectionSizeLimitExceeded", None),
        _ => {
            tracing::error!(error = %message, "batch statement failed");
            ("InternalServerError", None)
        }
    };
    BatchStatementError {
        code: code.to_owned(),
        message,
        item,
    }
}

/// Adds `c` to the entry of its table (one entry per table, in first-use order).
pub(super) fn merge_capacity(list: &mut Vec<ConsumedCapacity>, c: ConsumedCapacity) {
    let Some(entry) = list.iter_mut().find(|e| e.table_name == c.table_name) else {
        list.push(c);
        return;
    };
    entry.capacity_units += c.capacity_units;
    if let (Some(t), Some(add)) = (&mut entry.table, c.table) {
        t.capacity_units += add.capacity_units;
    }
    for (mine, theirs) in [
        (
            &mut entry.local_secondary_indexes,
            c.local_secondary_indexes,
        ),
        (
            &mut entry.global_secondary_indexes,
            c.global_secondary_indexes,
        ),
    ] {
        for (name, add) in theirs.into_iter().flatten() {
            mine.get_or_insert_with(Default::default)
                .entry(name)
                .and_modify(|e| e.capacity_units += add.capacity_units)
                .or_insert(add);
        }
    }
}
