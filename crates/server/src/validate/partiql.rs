//! Request constraints of the PartiQL operations (ExecuteStatement, BatchExecuteStatement,
//! ExecuteTransaction), from their API reference: statements of 1 to 8192 characters,
//! Parameters of at least one value when present, 25 statements per batch and 100 per
//! transaction. Parsing and planning errors come from the engine.

use binderdb_engine::api::{
    BatchExecuteStatementInput, ExecuteStatementInput, ExecuteTransactionInput,
};
use binderdb_model::wire::WireValue;

use super::{quoted, Violations, RETURN_CONSUMED_CAPACITY, RETURN_VALUES_ON_FAILURE};
use crate::error::ApiError;

const MAX_STATEMENT: usize = 8192;
const MAX_BATCH: usize = 25;
const MAX_TRANSACTION: usize = 100;

impl Violations {
    fn statement(&mut self, path: &str, statement: Option<&String>) {
        if self.not_null(path, statement) {
            if let Some(s) = statement {
                self.length(path, s, 1, MAX_STATEMENT);
            }
        }
    }

    fn parameters(&mut self, path: &str, parameters: Option<&Vec<WireValue>>) {
        if parameters.is_some_and(Vec::is_empty) {
            self.push(
                Some(quoted("[]")),
                path,
                "Member must have length greater than or equal to 1",
            );
        }
    }

    fn statement_list(&mut self, path: &str, len: Option<usize>, max: usize) {
        let Some(len) = len else {
            self.push(None, path, "Member must not be null");
            return;
        };
        if len == 0 {
            self.push(
                Some(quoted("[]")),
                path,
                "Member must have length greater than or equal to 1",
            );
        } else if len > max {
            self.push_unechoed(
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }
}

/// ExecuteStatement.
pub fn execute_statement(r: &ExecuteStatementInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.statement("statement", r.statement.as_ref());
    v.parameters("parameters", r.parameters.as_ref());
    if let Some(token) = &r.next_token {
        v.length("nextToken", token, 1, 32768);
    }
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.range("limit", r.limit, 1, None);
    v.one_of(
        "returnValuesOnConditionCheckFailure",
        r.return_values_on_condition_check_failure.as_ref(),
        RETURN_VALUES_ON_FAILURE,
    );
    v.finish()
}

/// BatchExecuteStatement.
pub fn batch_execute_statement(r: &BatchExecuteStatementInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.statement_list("statements", r.statements.as_ref().map(Vec::len), MAX_BATCH);
    for (i, s) in r.statements.iter().flatten().enumerate() {
        let base = format!("statements.{}.member", i + 1);
        v.statement(&format!("{base}.statement"), s.statement.as_ref());
        v.parameters(&format!("{base}.parameters"), s.parameters.as_ref());
        v.one_of(
            &format!("{base}.returnValuesOnConditionCheckFailure"),
            s.return_values_on_condition_check_failure.as_ref(),
            RETURN_VALUES_ON_FAILURE,
        );
    }
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.finish()
}

/// ExecuteTransaction.
pub fn execute_transaction(r: &ExecuteTransactionInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.statement_list(
        "transactStatements",
        r.transact_statements.as_ref().map(Vec::len),
        MAX_TRANSACTION,
    );
    for (i, s) in r.transact_statements.iter().flatten().enumerate() {
        let base = format!("transactStatements.{}.member", i + 1);
        v.statement(&format!("{base}.statement"), s.statement.as_ref());
        v.parameters(&format!("{base}.parameters"), s.parameters.as_ref());
        v.one_of(
            &format!("{base}.returnValuesOnConditionCheckFailure"),
            s.return_values_on_condition_check_failure.as_ref(),
            RETURN_VALUES_ON_FAILURE,
        );
    }
    if let Some(token) = &r.client_request_token {
        v.length("clientRequestToken", token, 1, 36);
    }
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.finish()
}
