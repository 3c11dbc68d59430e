//! Request and response shapes of the on-demand backup operations: CreateBackup,
//! DescribeBackup, ListBackups, DeleteBackup and RestoreTableFromBackup, and of point-in-time
//! recovery: UpdateContinuousBackups, DescribeContinuousBackups and RestoreTableToPointInTime.
//!
//! As everywhere in [`crate::api`], every request member is optional and enums are plain
//! strings; the server checks request constraints, the engine the semantics.

use serde::{Deserialize, Serialize};

use super::{
    GlobalSecondaryIndex, KeySchemaElement, LocalSecondaryIndex, OnDemandThroughput,
    ProvisionedThroughput, TableDescription,
};

super::strict::structures!(
    CreateBackupInput,
    BackupArnInput,
    ListBackupsInput,
    RestoreTableFromBackupInput,
    PointInTimeRecoverySpecification,
    UpdateContinuousBackupsInput,
    RestoreTableToPointInTimeInput;
    serialize:
);

/// CreateBackup request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct CreateBackupInput {
    pub table_name: Option<String>,
    pub backup_name: Option<String>,
}

/// DescribeBackup / DeleteBackup request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct BackupArnInput {
    pub backup_arn: Option<String>,
}

/// ListBackups request. The time bounds are epoch seconds, as every DynamoDB timestamp.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ListBackupsInput {
    pub table_name: Option<String>,
    pub limit: Option<i64>,
    pub time_range_lower_bound: Option<f64>,
    pub time_range_upper_bound: Option<f64>,
    pub exclusive_start_backup_arn: Option<String>,
    pub backup_type: Option<String>,
}

/// RestoreTableFromBackup request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct RestoreTableFromBackupInput {
    pub target_table_name: Option<String>,
    pub backup_arn: Option<String>,
    pub billing_mode_override: Option<String>,
    pub global_secondary_index_override: Option<Vec<GlobalSecondaryIndex>>,
    pub local_secondary_index_override: Option<Vec<LocalSecondaryIndex>>,
    pub provisioned_throughput_override: Option<ProvisionedThroughput>,
    pub on_demand_throughput_override: Option<OnDemandThroughput>,
    /// The restored table's encryption (absent: the source table's key, see
    /// [`crate::sse`]).
    #[serde(rename = "SSESpecificationOverride")]
    pub sse_specification_override: Option<crate::api::SseSpecification>,
}

/// `BackupDetails`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupDetails {
    pub backup_arn: String,
    pub backup_name: String,
    pub backup_size_bytes: i64,
    pub backup_status: String,
    pub backup_type: String,
    pub backup_creation_date_time: f64,
    /// When a `SYSTEM` backup expires (absent for `USER` backups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_expiry_date_time: Option<f64>,
}

/// `{"BackupDetails": ...}` (CreateBackup).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateBackupOutput {
    pub backup_details: BackupDetails,
}

/// `ProvisionedThroughput` of a backup's source table (no dates, unlike a table's).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceThroughput {
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
}

/// `SourceTableDetails`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceTableDetails {
    pub table_name: String,
    pub table_id: String,
    pub table_arn: String,
    pub table_size_bytes: i64,
    pub key_schema: Vec<KeySchemaElement>,
    pub table_creation_date_time: f64,
    pub provisioned_throughput: SourceThroughput,
    pub item_count: i64,
    pub billing_mode: String,
}

/// `SourceTableFeatureDetails`: the source table's indexes, stream and TTL at backup time,
/// as its `TableDescription` listed them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceTableFeatureDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_secondary_indexes: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_description: Option<super::StreamSpecification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_live_description: Option<serde_json::Value>,
}

/// `BackupDescription`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupDescription {
    pub backup_details: BackupDetails,
    pub source_table_details: SourceTableDetails,
    pub source_table_feature_details: SourceTableFeatureDetails,
}

/// `{"BackupDescription": ...}` (DescribeBackup, DeleteBackup).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupDescriptionOutput {
    pub backup_description: BackupDescription,
}

/// One `BackupSummaries` member of ListBackups.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupSummary {
    pub table_name: String,
    pub table_id: String,
    pub table_arn: String,
    pub backup_arn: String,
    pub backup_name: String,
    pub backup_creation_date_time: f64,
    pub backup_status: String,
    pub backup_type: String,
    pub backup_size_bytes: i64,
    /// When a `SYSTEM` backup expires (absent for `USER` backups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_expiry_date_time: Option<f64>,
}

/// ListBackups response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListBackupsOutput {
    pub backup_summaries: Vec<BackupSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_backup_arn: Option<String>,
}

/// `RestoreSummary` of a table restored from a backup (in its `TableDescription`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_backup_arn: Option<String>,
    pub source_table_arn: String,
    pub restore_date_time: f64,
    pub restore_in_progress: bool,
}

/// `{"TableDescription": ...}` of RestoreTableFromBackup.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreTableOutput {
    pub table_description: TableDescription,
}

/// `PointInTimeRecoverySpecification` of UpdateContinuousBackups.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct PointInTimeRecoverySpecification {
    pub point_in_time_recovery_enabled: Option<bool>,
    pub recovery_period_in_days: Option<i64>,
}

/// UpdateContinuousBackups request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct UpdateContinuousBackupsInput {
    pub table_name: Option<String>,
    pub point_in_time_recovery_specification: Option<PointInTimeRecoverySpecification>,
}

/// `PointInTimeRecoveryDescription`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PointInTimeRecoveryDescription {
    pub point_in_time_recovery_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_period_in_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_restorable_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_restorable_date_time: Option<f64>,
}

/// `ContinuousBackupsDescription`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContinuousBackupsDescription {
    pub continuous_backups_status: String,
    pub point_in_time_recovery_description: PointInTimeRecoveryDescription,
}

/// `{"ContinuousBackupsDescription": ...}` (UpdateContinuousBackups,
/// DescribeContinuousBackups).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContinuousBackupsOutput {
    pub continuous_backups_description: ContinuousBackupsDescription,
}

/// RestoreTableToPointInTime request. `RestoreDateTime` is epoch seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct RestoreTableToPointInTimeInput {
    pub source_table_arn: Option<String>,
    pub source_table_name: Option<String>,
    pub target_table_name: Option<String>,
    pub use_latest_restorable_time: Option<bool>,
    pub restore_date_time: Option<f64>,
    pub billing_mode_override: Option<String>,
    pub global_secondary_index_override: Option<Vec<GlobalSecondaryIndex>>,
    pub local_secondary_index_override: Option<Vec<LocalSecondaryIndex>>,
    pub provisioned_throughput_override: Option<ProvisionedThroughput>,
    pub on_demand_throughput_override: Option<OnDemandThroughput>,
    /// The restored table's encryption (absent: the source table's key, see
    /// [`crate::sse`]).
    #[serde(rename = "SSESpecificationOverride")]
    pub sse_specification_override: Option<crate::api::SseSpecification>,
}
