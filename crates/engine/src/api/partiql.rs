//! Request and response shapes of ExecuteStatement, BatchExecuteStatement and
//! ExecuteTransaction (DynamoDB's PartiQL API).
//!
//! As everywhere in [`crate::api`], every request member is optional and every enum a plain
//! string: missing members and bad enum values are validation errors, reported by
//! `binderdb_server` in DynamoDB's words.

use std::collections::BTreeMap;

use binderdb_model::{wire::WireValue, AttributeValue, Item};
use serde::{Deserialize, Serialize};

use super::{ConsumedCapacity, ItemResponse};

super::strict::structures!(
    ExecuteStatementInput,
    BatchExecuteStatementInput,
    BatchStatementRequest,
    ExecuteTransactionInput,
    ParameterizedStatement;
    serialize:
);

/// ExecuteStatement request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ExecuteStatementInput {
    pub statement: Option<String>,
    pub parameters: Option<Vec<WireValue>>,
    pub consistent_read: Option<bool>,
    pub next_token: Option<String>,
    pub return_consumed_capacity: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub limit: Option<i32>,
    pub return_values_on_condition_check_failure: Option<String>,
}

/// ExecuteStatement response. `Items` is always present (empty for a write that returns
/// nothing), as DynamoDB answers.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteStatementOutput {
    pub items: Vec<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_key: Option<BTreeMap<String, AttributeValue>>,
}

/// BatchExecuteStatement request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct BatchExecuteStatementInput {
    pub statements: Option<Vec<BatchStatementRequest>>,
    pub return_consumed_capacity: Option<String>,
}

/// One statement of a BatchExecuteStatement.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct BatchStatementRequest {
    pub statement: Option<String>,
    pub parameters: Option<Vec<WireValue>>,
    pub consistent_read: Option<bool>,
    pub return_values_on_condition_check_failure: Option<String>,
}

/// Why one statement of a batch failed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BatchStatementError {
    /// `ConditionalCheckFailed`, `DuplicateItem`, `ValidationError`, `ResourceNotFound`,
    /// `TransactionConflict`, `ItemCollectionSizeLimitExceeded` or `InternalServerError`.
    pub code: String,
    pub message: String,
    /// The item as it was, for a failed condition with ALL_OLD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

/// One member of BatchExecuteStatement's `Responses`, in statement order.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BatchStatementResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BatchStatementError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

/// BatchExecuteStatement response.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchExecuteStatementOutput {
    pub responses: Vec<BatchStatementResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

/// ExecuteTransaction request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ExecuteTransactionInput {
    pub transact_statements: Option<Vec<ParameterizedStatement>>,
    pub client_request_token: Option<String>,
    pub return_consumed_capacity: Option<String>,
}

/// One statement of an ExecuteTransaction.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ParameterizedStatement {
    pub statement: Option<String>,
    pub parameters: Option<Vec<WireValue>>,
    pub return_values_on_condition_check_failure: Option<String>,
}

/// ExecuteTransaction response: `Responses` for a read transaction (one per statement, `{}`
/// for an item that does not exist).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteTransactionOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responses: Option<Vec<ItemResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}
