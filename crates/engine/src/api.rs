//! Request and response shapes of the DynamoDB operations, as serde types.
//!
//! Field names follow the DynamoDB JSON protocol (PascalCase). Requests keep every member
//! optional and every enum as a plain `String`: missing members and bad enum values are
//! *validation* errors in DynamoDB (reported with its "N validation errors detected" text by
//! `binderdb_server`), not deserialisation errors, so the shape must accept them. Attribute values
//! arrive as [`WireValue`]s and are validated semantically by the engine.
//!
//! Responses skip absent members, as DynamoDB does.

use std::collections::{BTreeMap, HashMap};

use binderdb_model::{wire::WireValue, Item};

use crate::legacy::{AttributeValueUpdate, ExpectedAttributeValue, LegacyCondition};
use serde::{Deserialize, Serialize};

mod backup;
mod control;
mod exchange;
mod insights;
mod kinesis;
mod partiql;
mod strict;
mod transactions;

pub use backup::*;
pub use control::*;
pub use exchange::*;
pub use insights::*;
pub use kinesis::*;
pub use partiql::*;
pub use transactions::*;

// Every request structure, at every depth, refuses a JSON list (serde's derive would read one
// positionally): each derives with `#[serde(remote = "Self")]` and is listed here (see
// `strict`). A structure listed here but derived without the attribute does not compile; one
// derived with it but not listed has no `Deserialize` impl.
strict::structures!(
    AttributeDefinition,
    KeySchemaElement,
    ProvisionedThroughput,
    OnDemandThroughput,
    WarmThroughput,
    Projection,
    LocalSecondaryIndex,
    GlobalSecondaryIndex,
    UpdateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndexUpdate,
    SseSpecification,
    CreateTableInput,
    TableNameInput,
    UpdateTableInput,
    ListTablesInput,
    PutItemInput,
    GetItemInput,
    DeleteItemInput,
    UpdateItemInput,
    QueryInput,
    ScanInput,
    KeysAndAttributes,
    BatchGetItemInput,
    PutRequest,
    DeleteRequest,
    WriteRequest,
    BatchWriteItemInput,
    ExpectedAttributeValue,
    LegacyCondition,
    AttributeValueUpdate;
    serialize: AttributeDefinition, KeySchemaElement, OnDemandThroughput, Projection
);

/// An attribute map as it arrives on the wire (`Item`, `Key`, `ExclusiveStartKey`, ...).
pub type WireItem = HashMap<String, WireValue>;

/// `AttributeDefinitions` member.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct AttributeDefinition {
    /// `AttributeName`.
    pub attribute_name: Option<String>,
    /// `AttributeType`: S, N or B.
    pub attribute_type: Option<String>,
}

/// `KeySchema` member.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct KeySchemaElement {
    /// `AttributeName`.
    pub attribute_name: Option<String>,
    /// `KeyType`: HASH or RANGE.
    pub key_type: Option<String>,
}

/// `ProvisionedThroughput` in requests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ProvisionedThroughput {
    /// `ReadCapacityUnits`.
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i64")]
    pub read_capacity_units: Option<i64>,
    /// `WriteCapacityUnits`.
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i64")]
    pub write_capacity_units: Option<i64>,
}

/// `OnDemandThroughput` (of a table or a GSI).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct OnDemandThroughput {
    /// `MaxReadRequestUnits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_read_request_units: Option<i64>,
    /// `MaxWriteRequestUnits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_write_request_units: Option<i64>,
}

/// `WarmThroughput` of a table or a GSI in requests (CreateTable, UpdateTable): the read and
/// write units per second to pre-warm for (see [`crate::warm`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct WarmThroughput {
    /// `ReadUnitsPerSecond`.
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i64")]
    pub read_units_per_second: Option<i64>,
    /// `WriteUnitsPerSecond`.
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i64")]
    pub write_units_per_second: Option<i64>,
}

/// `WarmThroughput` as DescribeTable reports it, for the table
/// (`TableWarmThroughputDescription`) and for a GSI
/// (`GlobalSecondaryIndexWarmThroughputDescription`): the same three members.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct WarmThroughputDescription {
    pub read_units_per_second: i64,
    pub write_units_per_second: i64,
    /// The table's (or index's) status, or UPDATING while a pre-warm runs.
    pub status: String,
}

/// `Projection` of an index, in requests and descriptions.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct Projection {
    /// `ProjectionType`: ALL, KEYS_ONLY or INCLUDE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection_type: Option<String>,
    /// `NonKeyAttributes` (INCLUDE only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_key_attributes: Option<Vec<String>>,
}

/// One `LocalSecondaryIndexes` member of CreateTable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct LocalSecondaryIndex {
    pub index_name: Option<String>,
    pub key_schema: Option<Vec<KeySchemaElement>>,
    pub projection: Option<Projection>,
}

/// One `GlobalSecondaryIndexes` member of CreateTable (also the shape of an UpdateTable
/// `Create` action).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct GlobalSecondaryIndex {
    pub index_name: Option<String>,
    pub key_schema: Option<Vec<KeySchemaElement>>,
    pub projection: Option<Projection>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub on_demand_throughput: Option<OnDemandThroughput>,
    pub warm_throughput: Option<WarmThroughput>,
}

/// `Update` action of a `GlobalSecondaryIndexUpdates` member.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct UpdateGlobalSecondaryIndexAction {
    pub index_name: Option<String>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub on_demand_throughput: Option<OnDemandThroughput>,
    pub warm_throughput: Option<WarmThroughput>,
}

/// `Delete` action of a `GlobalSecondaryIndexUpdates` member.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct DeleteGlobalSecondaryIndexAction {
    pub index_name: Option<String>,
}

/// One `GlobalSecondaryIndexUpdates` member of UpdateTable: exactly one action.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct GlobalSecondaryIndexUpdate {
    pub create: Option<GlobalSecondaryIndex>,
    pub update: Option<UpdateGlobalSecondaryIndexAction>,
    pub delete: Option<DeleteGlobalSecondaryIndexAction>,
}

/// CreateTable request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct CreateTableInput {
    pub table_name: Option<String>,
    pub attribute_definitions: Option<Vec<AttributeDefinition>>,
    pub key_schema: Option<Vec<KeySchemaElement>>,
    pub billing_mode: Option<String>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub deletion_protection_enabled: Option<bool>,
    pub table_class: Option<String>,
    pub local_secondary_indexes: Option<Vec<LocalSecondaryIndex>>,
    pub global_secondary_indexes: Option<Vec<GlobalSecondaryIndex>>,
    pub stream_specification: Option<StreamSpecification>,
    /// `OnDemandThroughput`: the table's maximum request units per second (on-demand tables).
    pub on_demand_throughput: Option<OnDemandThroughput>,
    /// `Tags`, checked as TagResource checks them.
    pub tags: Option<Vec<Tag>>,
    /// `WarmThroughput` of the table.
    pub warm_throughput: Option<WarmThroughput>,
    /// `SSESpecification` (see [`crate::sse`]).
    #[serde(rename = "SSESpecification")]
    pub sse_specification: Option<SseSpecification>,
    /// `ResourcePolicy`: the table's resource-based policy, checked and stored as
    /// PutResourcePolicy does.
    pub resource_policy: Option<String>,
}

/// `SSESpecification` (CreateTable, UpdateTable, restores), see [`crate::sse`].
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(remote = "Self")]
pub struct SseSpecification {
    #[serde(rename = "Enabled")]
    pub enabled: Option<bool>,
    #[serde(rename = "SSEType")]
    pub sse_type: Option<String>,
    #[serde(rename = "KMSMasterKeyId")]
    pub kms_master_key_id: Option<String>,
}

/// `StreamSpecification` (CreateTable, UpdateTable, and as DescribeTable shows it).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpecification {
    pub stream_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_view_type: Option<String>,
}

/// DescribeTable / DeleteTable request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct TableNameInput {
    pub table_name: Option<String>,
}

/// UpdateTable request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct UpdateTableInput {
    pub table_name: Option<String>,
    pub attribute_definitions: Option<Vec<AttributeDefinition>>,
    pub billing_mode: Option<String>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub deletion_protection_enabled: Option<bool>,
    pub table_class: Option<String>,
    pub global_secondary_index_updates: Option<Vec<GlobalSecondaryIndexUpdate>>,
    pub stream_specification: Option<StreamSpecification>,
    /// `OnDemandThroughput`; -1 removes a maximum.
    pub on_demand_throughput: Option<OnDemandThroughput>,
    /// `WarmThroughput` of the table: a pre-warm.
    pub warm_throughput: Option<WarmThroughput>,
    /// `SSESpecification`: a change of the table's encryption key (see [`crate::sse`]).
    #[serde(rename = "SSESpecification")]
    pub sse_specification: Option<SseSpecification>,
}

/// ListTables request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ListTablesInput {
    pub exclusive_start_table_name: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub limit: Option<i32>,
}

/// ListTables response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTablesOutput {
    pub table_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_table_name: Option<String>,
}

/// `ProvisionedThroughput` as DescribeTable reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedThroughputDescription {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_increase_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_decrease_date_time: Option<f64>,
    pub number_of_decreases_today: i64,
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
}

/// `BillingModeSummary`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BillingModeSummary {
    pub billing_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_to_pay_per_request_date_time: Option<f64>,
}

/// `TableClassSummary`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableClassSummary {
    pub table_class: String,
    /// When the last change of the class completed (absent until the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_date_time: Option<f64>,
}

/// `TableDescription`, as CreateTable, DescribeTable, UpdateTable and DeleteTable return it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDescription {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub table_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub table_status: String,
    pub creation_date_time: f64,
    pub provisioned_throughput: ProvisionedThroughputDescription,
    pub table_size_bytes: i64,
    pub item_count: i64,
    pub table_arn: String,
    pub table_id: String,
    /// Absent on a table created PROVISIONED that was never on-demand (DDB-TABLE-025, 058).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_mode_summary: Option<BillingModeSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_class_summary: Option<TableClassSummary>,
    pub deletion_protection_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_secondary_indexes: Option<Vec<LocalSecondaryIndexDescription>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<Vec<GlobalSecondaryIndexDescription>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_specification: Option<StreamSpecification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_stream_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_stream_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_summary: Option<RestoreSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_throughput: Option<WarmThroughputDescription>,
    /// Absent for a table encrypted with an AWS owned key (see [`crate::sse`]).
    #[serde(rename = "SSEDescription", skip_serializing_if = "Option::is_none")]
    pub sse_description: Option<crate::sse::SseDescription>,
}

/// A `LocalSecondaryIndexes` member of a `TableDescription`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocalSecondaryIndexDescription {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
    pub index_size_bytes: i64,
    pub item_count: i64,
    pub index_arn: String,
}

/// A `GlobalSecondaryIndexes` member of a `TableDescription`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndexDescription {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
    pub index_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfilling: Option<bool>,
    pub provisioned_throughput: ProvisionedThroughputDescription,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_throughput: Option<WarmThroughputDescription>,
    pub index_size_bytes: i64,
    pub item_count: i64,
    pub index_arn: String,
}

/// `{"TableDescription": ...}` (CreateTable, UpdateTable, DeleteTable).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDescriptionOutput {
    pub table_description: TableDescription,
}

/// DeleteTable's `{"TableDescription": ...}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteTableOutput {
    pub table_description: DeletingTableDescription,
}

/// A table as DynamoDB describes it while deleting it: its name, status, sizes, throughput
/// and identity, but no key schema, attribute definitions, creation time or indexes (the AWS
/// CLI reference's DeleteTable example; the API reference says a DELETING table describes no
/// indexes).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletingTableDescription {
    pub table_name: String,
    pub table_status: String,
    pub provisioned_throughput: ProvisionedThroughputDescription,
    pub table_size_bytes: i64,
    pub item_count: i64,
    pub table_arn: String,
    pub table_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_mode_summary: Option<BillingModeSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_class_summary: Option<TableClassSummary>,
    pub deletion_protection_enabled: bool,
}

impl From<TableDescription> for DeletingTableDescription {
    fn from(d: TableDescription) -> Self {
        DeletingTableDescription {
            table_name: d.table_name,
            table_status: d.table_status,
            provisioned_throughput: d.provisioned_throughput,
            table_size_bytes: d.table_size_bytes,
            item_count: d.item_count,
            table_arn: d.table_arn,
            table_id: d.table_id,
            billing_mode_summary: d.billing_mode_summary,
            table_class_summary: d.table_class_summary,
            deletion_protection_enabled: d.deletion_protection_enabled,
        }
    }
}

/// `{"Table": ...}` (DescribeTable).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTableOutput {
    pub table: TableDescription,
}

/// `ConsumedCapacity` of one table.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumedCapacity {
    pub table_name: String,
    pub capacity_units: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Capacity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_secondary_indexes: Option<BTreeMap<String, Capacity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<BTreeMap<String, Capacity>>,
}

/// `{"CapacityUnits": n}` (the per-table part of INDEXES mode).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Capacity {
    pub capacity_units: f64,
}

/// PutItem request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct PutItemInput {
    pub table_name: Option<String>,
    pub item: Option<WireItem>,
    pub return_values: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub return_item_collection_metrics: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub expected: Option<HashMap<String, ExpectedAttributeValue>>,
    pub conditional_operator: Option<String>,
    /// Not a request member (never read from the wire): store the item only if none has its
    /// key, else ConditionalCheckFailed — a PartiQL INSERT, without parsing an
    /// `attribute_not_exists` condition on every call.
    #[serde(skip)]
    pub only_if_absent: bool,
}

/// GetItem request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct GetItemInput {
    pub table_name: Option<String>,
    pub key: Option<WireItem>,
    pub consistent_read: Option<bool>,
    pub return_consumed_capacity: Option<String>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub attributes_to_get: Option<Vec<String>>,
}

/// DeleteItem request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct DeleteItemInput {
    pub table_name: Option<String>,
    pub key: Option<WireItem>,
    pub return_values: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub return_item_collection_metrics: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub expected: Option<HashMap<String, ExpectedAttributeValue>>,
    pub conditional_operator: Option<String>,
}

/// UpdateItem request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct UpdateItemInput {
    pub table_name: Option<String>,
    pub key: Option<WireItem>,
    pub update_expression: Option<String>,
    pub condition_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub return_values: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub return_item_collection_metrics: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub attribute_updates: Option<HashMap<String, AttributeValueUpdate>>,
    pub expected: Option<HashMap<String, ExpectedAttributeValue>>,
    pub conditional_operator: Option<String>,
}

/// `ItemCollectionMetrics`: the size of the item collection a write touched (tables with
/// local secondary indexes only).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ItemCollectionMetrics {
    /// The collection's partition key, as `{name: value}`.
    pub item_collection_key: Item,
    /// Lower and upper bound of the collection's size, in GB.
    #[serde(rename = "SizeEstimateRangeGB")]
    pub size_estimate_range_gb: [f64; 2],
}

/// PutItem / UpdateItem / DeleteItem response.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriteItemOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_collection_metrics: Option<ItemCollectionMetrics>,
}

/// GetItem response.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetItemOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
}

/// Query request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct QueryInput {
    pub table_name: Option<String>,
    pub index_name: Option<String>,
    pub select: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub limit: Option<i32>,
    pub consistent_read: Option<bool>,
    pub scan_index_forward: Option<bool>,
    pub exclusive_start_key: Option<WireItem>,
    pub return_consumed_capacity: Option<String>,
    pub key_condition_expression: Option<String>,
    pub filter_expression: Option<String>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub attributes_to_get: Option<Vec<String>>,
    pub key_conditions: Option<HashMap<String, LegacyCondition>>,
    pub query_filter: Option<HashMap<String, LegacyCondition>>,
    pub conditional_operator: Option<String>,
    /// Not a request member (never read from the wire): lets the FilterExpression name key
    /// attributes, which a PartiQL SELECT's WHERE may (`SongTitle <> 'B'` beside the key
    /// condition) while the Query API refuses it.
    #[serde(skip)]
    pub filter_may_read_keys: bool,
}

/// Scan request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ScanInput {
    pub table_name: Option<String>,
    pub index_name: Option<String>,
    pub select: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub limit: Option<i32>,
    pub consistent_read: Option<bool>,
    pub exclusive_start_key: Option<WireItem>,
    pub return_consumed_capacity: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub segment: Option<i32>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub total_segments: Option<i32>,
    pub filter_expression: Option<String>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub expression_attribute_values: Option<WireItem>,
    pub attributes_to_get: Option<Vec<String>>,
    pub scan_filter: Option<HashMap<String, LegacyCondition>>,
    pub conditional_operator: Option<String>,
}

/// Query / Scan response.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReadPageOutput {
    /// Absent with `Select=COUNT`, as in DynamoDB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Item>>,
    pub count: i64,
    pub scanned_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_key: Option<BTreeMap<String, binderdb_model::AttributeValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
}

/// One table's part of a BatchGetItem request (`KeysAndAttributes`).
/// A batch's `RequestItems`: table name → requests, in the order the client wrote the tables,
/// because DynamoDB handles a batch's tables in request order (the first table's error is the
/// one reported, its capacity comes first). A table named twice keeps its first place and its
/// last value, as the service's Java map does.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMap<V>(pub Vec<(String, V)>);

impl<V> Default for RequestMap<V> {
    fn default() -> Self {
        RequestMap(Vec::new())
    }
}

impl<V> RequestMap<V> {
    /// Number of tables.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no table is named.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tables in request order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The requests of each table, in request order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    /// The table names, in request order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl<V> IntoIterator for RequestMap<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, V> IntoIterator for &'a RequestMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, V)>,
        fn(&'a (String, V)) -> (&'a String, &'a V),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<V> FromIterator<(String, V)> for RequestMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = RequestMap(Vec::new());
        for (k, v) in iter {
            match map.0.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = v,
                None => map.0.push((k, v)),
            }
        }
        map
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for RequestMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = RequestMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // The text serde's own maps use, which the server maps to DynamoDB's words.
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = access.next_entry::<String, V>()? {
                    entries.push(entry);
                }
                Ok(entries.into_iter().collect())
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct KeysAndAttributes {
    pub keys: Option<Vec<WireItem>>,
    pub consistent_read: Option<bool>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Option<HashMap<String, String>>,
    pub attributes_to_get: Option<Vec<String>>,
}

/// BatchGetItem request. Tables are kept in request order (see [`RequestMap`]).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct BatchGetItemInput {
    pub request_items: Option<RequestMap<KeysAndAttributes>>,
    pub return_consumed_capacity: Option<String>,
}

/// The keys of one table BatchGetItem did not read, in the request's own shape, so a client can
/// send them again as they are.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnprocessedKeys {
    pub keys: Vec<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
}

/// BatchGetItem response.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetItemOutput {
    pub responses: BTreeMap<String, Vec<Item>>,
    pub unprocessed_keys: BTreeMap<String, UnprocessedKeys>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

/// `PutRequest` of a BatchWriteItem `WriteRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct PutRequest {
    pub item: Option<WireItem>,
}

/// `DeleteRequest` of a BatchWriteItem `WriteRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct DeleteRequest {
    pub key: Option<WireItem>,
}

/// One write of a BatchWriteItem: exactly one of the two must be present.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct WriteRequest {
    pub put_request: Option<PutRequest>,
    pub delete_request: Option<DeleteRequest>,
}

/// BatchWriteItem request. Tables are kept in request order, as in [`BatchGetItemInput`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct BatchWriteItemInput {
    pub request_items: Option<RequestMap<Vec<WriteRequest>>>,
    pub return_consumed_capacity: Option<String>,
    pub return_item_collection_metrics: Option<String>,
}

/// BatchWriteItem response. binderdb does not throttle: `UnprocessedItems` lists only writes of
/// items a transaction held at the time.
/// `ItemCollectionMetrics` lists, per table with local secondary indexes, one entry per write
/// (with ReturnItemCollectionMetrics=SIZE).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchWriteItemOutput {
    pub unprocessed_items: BTreeMap<String, Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_collection_metrics: Option<BTreeMap<String, Vec<ItemCollectionMetrics>>>,
}
