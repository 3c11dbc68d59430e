//! Request and response shapes of TransactWriteItems and TransactGetItems.
//!
//! As everywhere in [`crate::api`], every request member is optional and every enum a plain
//! string: missing members and bad enum values are validation errors, reported by
//! `binderdb_server` in DynamoDB's words.

use std::collections::{BTreeMap, HashMap};

use binderdb_model::Item;
use serde::{Deserialize, Serialize};

use super::{ConsumedCapacity, ItemCollectionMetrics, WireItem};

super::strict::structures!(
    TransactWriteItemsInput,
    TransactWriteItem,
    ConditionCheck,
    TransactPut,
    TransactDelete,
    TransactUpdate,
    TransactGetItemsInput,
    TransactGetItem,
    TransactGet;
    serialize:
);

/// TransactWriteItems request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TransactWriteItemsInput {
    pub transact_items: Option<Vec<TransactWriteItem>>,
    pub return_consumed_capacity: Option<String>,
    pub return_item_collection_metrics: Option<String>,
    pub client_request_token: Option<String>,
}

/// One action of a TransactWriteItems: exactly one member must be present.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TransactWriteItem {
    pub condition_check: Option<ConditionCheck>,
    pub put: Option<TransactPut>,
    pub delete: Option<TransactDelete>,
    pub update: Option<TransactUpdate>,
}

/// `ConditionCheck`: a condition on an item the transaction does not write.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ConditionCheck {
    pub key: Option<WireItem>,
    pub table_name: Option<String>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub return_values_on_condition_check_failure: Option<String>,
}

/// `Put` of a transaction.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TransactPut {
    pub item: Option<WireItem>,
    pub table_name: Option<String>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub return_values_on_condition_check_failure: Option<String>,
}

/// `Delete` of a transaction.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TransactDelete {
    pub key: Option<WireItem>,
    pub table_name: Option<String>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub return_values_on_condition_check_failure: Option<String>,
}

/// `Update` of a transaction.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TransactUpdate {
    pub key: Option<WireItem>,
    pub update_expression: Option<String>,
    pub table_name: Option<String>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub return_values_on_condition_check_failure: Option<String>,
}

/// TransactWriteItems response.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItemsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_collection_metrics: Option<BTreeMap<String, Vec<ItemCollectionMetrics>>>,
}

/// TransactGetItems request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TransactGetItemsInput {
    pub transact_items: Option<Vec<TransactGetItem>>,
    pub return_consumed_capacity: Option<String>,
}

/// One read of a TransactGetItems.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TransactGetItem {
    pub get: Option<TransactGet>,
}

/// `Get` of a TransactGetItems.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TransactGet {
    pub key: Option<WireItem>,
    pub table_name: Option<String>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
}

/// One member of TransactGetItems' `Responses`: `{}` for an item that does not exist.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

/// TransactGetItems response.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItemsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responses: Option<Vec<ItemResponse>>,
}

/// One member of a TransactionCanceledException's `CancellationReasons`, in action order.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CancellationReason {
    /// `None`, `ConditionalCheckFailed`, `TransactionConflict`, `ValidationError`,
    /// `ItemCollectionSizeLimitExceeded`.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The item as it was, for a failed condition with `ReturnValuesOnConditionCheckFailure`
    /// `ALL_OLD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

/// One member of a throttling exception's `ThrottlingReasons`: what was throttled
/// (`TableWriteProvisionedThroughputExceeded`, ...) and the ARN of the table or index.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ThrottlingReason {
    /// `reason`: resource type, operation type and limit type, concatenated.
    pub reason: String,
    /// `resource`: the ARN of the throttled table or index.
    pub resource: String,
}
