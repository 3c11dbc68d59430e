//! ExecuteTransaction: up to 100 PartiQL statements, all-or-nothing, run as one
//! TransactWriteItems (INSERT, UPDATE, DELETE, EXISTS) or one TransactGetItems (SELECTs by
//! full key), so holds, conflicts, idempotency tokens and capacity are the transactions'.

use binderdb_partiql::ast::Statement;

use crate::api::{
    ExecuteTransactionInput, ExecuteTransactionOutput, TransactDelete, TransactGet,
    TransactGetItem, TransactGetItemsInput, TransactPut, TransactUpdate, TransactWriteItem,
    TransactWriteItemsInput,
};
use crate::error::{Error, Result};
use crate::ops::execute_statement::DUPLICATE_ITEM;
use crate::partiql::{check_parameters, plan, CallOptions, Plan};
use crate::{Database, RequestContext};

/// The error for a transaction that mixes SELECTs with writes (DynamoDB runs a PartiQL
/// transaction as either a read or a write transaction; the wording is binderdb's).
const MIXED: &str = "Unsupported operation: A transaction must contain either only read statements or only write statements";

impl Database {
    /// ExecuteTransaction.
    ///
    /// # Errors
    /// ValidationException for a statement that does not parse or plan, a SELECT without the
    /// full key or on an index, or a mix of reads and writes; then every error of
    /// TransactWriteItems / TransactGetItems. An INSERT whose item exists is cancelled with
    /// reason `DuplicateItem`.
    pub fn execute_transaction(
        &self,
        ctx: &RequestContext,
        input: ExecuteTransactionInput,
    ) -> Result<ExecuteTransactionOutput> {
        let statements = input.transact_statements.unwrap_or_default();
        let mut plans = Vec::with_capacity(statements.len());
        let mut inserts = Vec::with_capacity(statements.len());
        let mut reads = 0;
        for request in statements {
            let parsed = self
                .statements
                .parse(request.statement.as_deref().unwrap_or_default())?;
            let params = request.parameters.unwrap_or_default();
            check_parameters(&parsed, &params)?;
            let statement = &parsed.statement;
            if let Statement::Select(s) = statement {
                reads += 1;
                if s.source.index.is_some() {
                    return Err(Error::validation(
                        "Reads on indices are not supported within transactions.",
                    ));
                }
            }
            let (_, table) = self.active_table(ctx, statement.table())?;
            let options = CallOptions {
                return_values_on_condition_check_failure: request
                    .return_values_on_condition_check_failure,
                ..CallOptions::default()
            };
            inserts.push(matches!(statement, Statement::Insert(_)));
            let mut planned = plan(statement, &table, &params, options)?;
            if let Plan::Put(put) = &mut planned {
                // A transaction's Put says it as a condition, which its checks and its
                // idempotency fingerprint read.
                if put.only_if_absent {
                    put.only_if_absent = false;
                    put.condition_expression = Some("attribute_not_exists(#k)".to_owned());
                    put.expression_attribute_names = Some(
                        [("#k".to_owned(), table.key_schema.hash.name.clone())]
                            .into_iter()
                            .collect(),
                    );
                }
            }
            plans.push(planned);
        }
        if reads > 0 && reads < plans.len() {
            return Err(Error::validation(MIXED));
        }
        if reads > 0 {
            let transact_items = plans
                .into_iter()
                .map(|p| match p {
                    Plan::Get(g) => Ok(TransactGetItem {
                        get: Some(TransactGet {
                            key: g.key,
                            table_name: g.table_name,
                            projection_expression: g.projection_expression,
                            expression_attribute_names: g.expression_attribute_names,
                        }),
                    }),
                    _ => Err(Error::validation(
                        "Select statements within ExecuteTransaction must specify the primary \
                         key in the where clause.",
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            let out = self.transact_get_items(
                ctx,
                TransactGetItemsInput {
                    transact_items: Some(transact_items),
                    return_consumed_capacity: input.return_consumed_capacity,
                },
            )?;
            return Ok(ExecuteTransactionOutput {
                responses: out.responses,
                consumed_capacity: out.consumed_capacity,
            });
        }
        let transact_items = plans.into_iter().map(write_action).collect::<Vec<_>>();
        let out = self
            .transact_write_items(
                ctx,
                TransactWriteItemsInput {
                    transact_items: Some(transact_items),
                    return_consumed_capacity: input.return_consumed_capacity,
                    return_item_collection_metrics: None,
                    client_request_token: input.client_request_token,
                },
            )
            .map_err(|e| match e {
                // An INSERT's failed `attribute_not_exists` is a duplicate item, as for
                // ExecuteStatement.
                Error::TransactionCanceled { mut reasons } => {
                    for (reason, insert) in reasons.iter_mut().zip(&inserts) {
                        if *insert && reason.code == "ConditionalCheckFailed" {
                            reason.code = "DuplicateItem".to_owned();
                            reason.message = Some(DUPLICATE_ITEM.to_owned());
                            reason.item = None;
                        }
                    }
                    Error::TransactionCanceled { reasons }
                }
                e => e,
            })?;
        Ok(ExecuteTransactionOutput {
            responses: None,
            consumed_capacity: out.consumed_capacity,
        })
    }
}

/// A planned write as a TransactWriteItems action.
fn write_action(p: Plan) -> TransactWriteItem {
    let mut action = TransactWriteItem::default();
    match p {
        Plan::Put(p) => {
            action.put = Some(TransactPut {
                item: p.item,
                table_name: p.table_name,
                condition_expression: p.condition_expression,
                expression_attribute_names: p.expression_attribute_names,
                expression_attribute_values: p.expression_attribute_values,
                return_values_on_condition_check_failure: p
                    .return_values_on_condition_check_failure,
            })
        }
        Plan::Update(u) => {
            action.update = Some(TransactUpdate {
                key: u.key,
                update_expression: u.update_expression,
                table_name: u.table_name,
                condition_expression: u.condition_expression,
                expression_attribute_names: u.expression_attribute_names,
                expression_attribute_values: u.expression_attribute_values,
                return_values_on_condition_check_failure: u
                    .return_values_on_condition_check_failure,
            })
        }
        Plan::Delete(d) => {
            action.delete = Some(TransactDelete {
                key: d.key,
                table_name: d.table_name,
                condition_expression: d.condition_expression,
                expression_attribute_names: d.expression_attribute_names,
                expression_attribute_values: d.expression_attribute_values,
                return_values_on_condition_check_failure: d
                    .return_values_on_condition_check_failure,
            })
        }
        Plan::Check(c) => action.condition_check = Some(c),
        // Reads were handled before; a SELECT never reaches a write transaction.
        Plan::Get(_) | Plan::Query(_) | Plan::Scan(_) | Plan::Many(_) => {}
    }
    action
}
