//! Request constraints of the on-demand backup operations, from DynamoDB's API model: table
//! and backup names (pattern, 3 to 255 characters), backup ARNs (37 to 1024 characters for
//! ListBackups' cursor; a `BackupArn` that is not a backup's ARN at all is "Invalid Backup
//! ARN"), ListBackups' Limit (1 to 100) and the enums.

use binderdb_engine::api::{
    BackupArnInput, CreateBackupInput, GlobalSecondaryIndex, ListBackupsInput, LocalSecondaryIndex,
    ProvisionedThroughput, RestoreTableFromBackupInput, RestoreTableToPointInTimeInput,
    TableNameInput, UpdateContinuousBackupsInput,
};

use super::{sse_specification, Violations, BILLING_MODE};
use crate::error::ApiError;

const BACKUP_TYPE_FILTER: &[&str] = &["USER", "SYSTEM", "AWS_BACKUP", "ALL"];

impl Violations {
    fn backup_arn(&mut self, path: &str, v: Option<&String>) {
        if let Some(arn) = v {
            self.length(path, arn, 37, 1024);
        }
    }
}

/// CreateBackup.
pub fn create_backup(r: &CreateBackupInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.table_name(r.table_name.as_ref());
    if v.not_null("backupName", r.backup_name.as_ref()) {
        v.name("backupName", r.backup_name.as_deref());
    }
    v.finish()
}

/// DescribeBackup and DeleteBackup.
pub fn backup_arn(r: &BackupArnInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.not_null("backupArn", r.backup_arn.as_ref());
    v.finish()?;
    backup_arn_shape(r.backup_arn.as_deref())
}

/// A `BackupArn` must be a backup's ARN, `arn:<partition>:dynamodb:<region>:<account>:table/
/// <table>/backup/<id>`: an empty one or a table's ARN is refused with its own text, not the
/// generic length violation (the ack-api-quirks lab's DDB-TABLE-457, 273, 442); a well-formed
/// ARN naming no backup is the engine's BackupNotFoundException.
fn backup_arn_shape(arn: Option<&str>) -> Result<(), ApiError> {
    let well_formed = arn.is_some_and(|arn| {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let resource: Vec<&str> = parts.get(5).map_or(Vec::new(), |r| r.split('/').collect());
        parts.len() == 6
            && parts[0] == "arn"
            && parts[2] == "dynamodb"
            && matches!(resource.as_slice(), ["table", name, "backup", id] if !name.is_empty() && !id.is_empty())
    });
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::validation("Invalid Backup ARN"))
    }
}

/// ListBackups.
pub fn list_backups(r: &ListBackupsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.name("tableName", r.table_name.as_deref());
    v.range("limit", r.limit, 1, Some(100));
    v.backup_arn(
        "exclusiveStartBackupArn",
        r.exclusive_start_backup_arn.as_ref(),
    );
    v.one_of("backupType", r.backup_type.as_ref(), BACKUP_TYPE_FILTER);
    v.finish()
}

/// RestoreTableFromBackup.
pub fn restore_table_from_backup(r: &RestoreTableFromBackupInput) -> Result<(), ApiError> {
    // A target name of the wrong length has its own text, as CreateTable's (the ack-api-quirks
    // lab's DDB-TABLE-457).
    if r.target_table_name
        .as_ref()
        .is_some_and(|n| !(3..=255).contains(&n.chars().count()))
    {
        return Err(ApiError::validation(
            "TableName must be at least 3 characters long and at most 255 characters long",
        ));
    }
    let mut v = Violations::default();
    if v.not_null("targetTableName", r.target_table_name.as_ref()) {
        v.name("targetTableName", r.target_table_name.as_deref());
    }
    v.not_null("backupArn", r.backup_arn.as_ref());
    v.restore_overrides(
        r.billing_mode_override.as_ref(),
        r.global_secondary_index_override.as_deref(),
        r.local_secondary_index_override.as_deref(),
        r.provisioned_throughput_override.as_ref(),
    );
    sse_specification(
        &mut v,
        "sSESpecificationOverride",
        r.sse_specification_override.as_ref(),
    );
    v.finish()?;
    backup_arn_shape(r.backup_arn.as_deref())
}

impl Violations {
    /// The overrides both restores take: the billing mode and provisioned throughput.
    fn restore_overrides(
        &mut self,
        mode: Option<&String>,
        global: Option<&[GlobalSecondaryIndex]>,
        local: Option<&[LocalSecondaryIndex]>,
        throughput: Option<&ProvisionedThroughput>,
    ) {
        let v = self;
        v.one_of("billingModeOverride", mode, BILLING_MODE);
        // Each index override names its index, key schema and projection (the ack-api-quirks
        // lab's DDB-TABLE-457: an empty entry is three violations, in this order).
        let globals = global.into_iter().flatten().map(|g| {
            (
                &g.index_name,
                g.key_schema.is_some(),
                g.projection.is_some(),
            )
        });
        let locals = local.into_iter().flatten().map(|l| {
            (
                &l.index_name,
                l.key_schema.is_some(),
                l.projection.is_some(),
            )
        });
        for (list, entries) in [
            ("globalSecondaryIndexOverride", globals.collect::<Vec<_>>()),
            ("localSecondaryIndexOverride", locals.collect()),
        ] {
            for (i, (name, has_key_schema, has_projection)) in entries.into_iter().enumerate() {
                let base = format!("{list}.{}.member", i + 1);
                super::index_name(v, &format!("{base}.indexName"), name.as_ref());
                if !has_key_schema {
                    v.push(
                        None,
                        &format!("{base}.keySchema"),
                        "Member must not be null",
                    );
                }
                if !has_projection {
                    v.push(
                        None,
                        &format!("{base}.projection"),
                        "Member must not be null",
                    );
                }
            }
        }
        if let Some(t) = throughput {
            for (path, value) in [
                (
                    "provisionedThroughputOverride.writeCapacityUnits",
                    t.write_capacity_units,
                ),
                (
                    "provisionedThroughputOverride.readCapacityUnits",
                    t.read_capacity_units,
                ),
            ] {
                if v.not_null(path, value.as_ref()) {
                    v.range(path, value, 1, None);
                }
            }
        }
    }
}

/// DescribeContinuousBackups.
pub fn describe_continuous_backups(r: &TableNameInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.table_name(r.table_name.as_ref());
    v.finish()
}

/// UpdateContinuousBackups: the table name, the specification and its members (a recovery
/// period of 1 to 35 days).
pub fn update_continuous_backups(r: &UpdateContinuousBackupsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.table_name(r.table_name.as_ref());
    let spec = r.point_in_time_recovery_specification.as_ref();
    if v.not_null("pointInTimeRecoverySpecification", spec) {
        if let Some(spec) = spec {
            v.not_null(
                "pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled",
                spec.point_in_time_recovery_enabled.as_ref(),
            );
            v.range(
                "pointInTimeRecoverySpecification.recoveryPeriodInDays",
                spec.recovery_period_in_days,
                1,
                Some(35),
            );
        }
    }
    v.finish()
}

/// RestoreTableToPointInTime: the target's name, the source's name or ARN, the overrides.
pub fn restore_table_to_point_in_time(r: &RestoreTableToPointInTimeInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.name("sourceTableName", r.source_table_name.as_deref());
    if let Some(arn) = &r.source_table_arn {
        v.length("sourceTableArn", arn, 1, 1024);
    }
    if v.not_null("targetTableName", r.target_table_name.as_ref()) {
        v.name("targetTableName", r.target_table_name.as_deref());
    }
    v.restore_overrides(
        r.billing_mode_override.as_ref(),
        r.global_secondary_index_override.as_deref(),
        r.local_secondary_index_override.as_deref(),
        r.provisioned_throughput_override.as_ref(),
    );
    sse_specification(
        &mut v,
        "sSESpecificationOverride",
        r.sse_specification_override.as_ref(),
    );
    v.finish()
}
