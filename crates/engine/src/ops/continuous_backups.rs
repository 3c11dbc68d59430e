//! Point-in-time recovery operations: UpdateContinuousBackups, DescribeContinuousBackups and
//! RestoreTableToPointInTime. The settings and the change log live in [`crate::pitr`].
//!
//! Decisions where DynamoDB's documentation is silent or binderdb differs on purpose:
//! - `LatestRestorableDateTime` is now: binderdb writes a table's change log in the same commit
//!   as each write, so there is no replication lag to wait for (DynamoDB's is typically five
//!   minutes). Restoring to an instant restores every write committed at or before it, at
//!   millisecond precision (`RestoreDateTime` may carry a fraction of a second).
//! - `ContinuousBackupsStatus` is always `ENABLED`, as DynamoDB reports it for every table.
//! - Disabling point-in-time recovery drops the table's log at once; enabling it again starts
//!   a new one (`EarliestRestorableDateTime` is the enabling). Lengthening the recovery period
//!   cannot bring back history a shorter one already let go.
//! - DeleteTable of a table with point-in-time recovery keeps, as DynamoDB does, a `SYSTEM`
//!   backup `<table>$DeletedTableBackup` of the table as it was just before the deletion, and
//!   binderdb keeps its recovery log with it: RestoreTableToPointInTime with the deleted
//!   table's `SourceTableArn` restores it to any instant from its `EarliestRestorableDateTime`
//!   to the deletion (`UseLatestRestorableTime`: the deletion). Both are kept for the table's
//!   recovery period after the deletion (DynamoDB: 35 days), then dropped.
//! - Error texts, checked against public sources (2026-12-06): `PointInTimeRecoveryUnavailable`
//!   ("Point in time recovery is not enabled for table '<name>'") matches a test that moto
//!   runs against real DynamoDB. The ack-api-quirks lab's DDB-TABLE-084, 100 and 272 give the
//!   others, which binderdb now uses: "Invalid Request: Both RestoreDateTime and
//!   UseLatestRestorableTime cannot be set ..." and "Invalid Request: Either one of
//!   RestoreDateTime or UseLatestRestorableTime must be specified, but not both" (checked
//!   before anything else), "Must provide exactly one of: sourceTableArn, sourceTableName",
//!   "The parameter 'TableName' is required but was not present in the request" (no source),
//!   `InvalidRestoreTime`'s "RestoreDateTime '<t>' must be within EarliestRestorableDateTime
//!   '<t>' and LatestRestorableDateTime '<t>'" (instants to the second; the lab's record is cut
//!   after "LatestRestor", the rest follows the pattern), "Invalid Request: Cannot specify
//!   RecoveryPeriodInDays when disabling point-in-time recovery." and `TableNotFound`'s "Table
//!   not found: <name>" (bare "Table not found" for a `SourceTableArn`, DDB-TABLE-447). The end of the first one ("Please specify ...") comes from another
//!   emulator's copy of it; the lab's record is cut after "Pleas".
//! - The restored table takes the source's *current* schema, indexes and throughput, as
//!   DynamoDB's documentation says, and none of its streams, TTL, tags, policies or
//!   point-in-time recovery settings.

use std::ops::ControlFlow;

use crate::api::{
    ContinuousBackupsDescription, ContinuousBackupsOutput, PointInTimeRecoveryDescription,
    RestoreTableOutput, RestoreTableToPointInTimeInput, TableNameInput,
    UpdateContinuousBackupsInput,
};
use crate::backup::RestoreSource;
use crate::catalog::TableDescriptor;
use crate::clock::epoch_seconds;
use crate::error::{Error, Result};
use crate::ops::backups::RestoreOverrides;
use crate::ops::table_name;
use crate::pitr::{PitrDescriptor, DEFAULT_RECOVERY_PERIOD_DAYS};
use crate::{Database, RequestContext};

impl Database {
    /// The `ContinuousBackupsDescription` of `d` at `now_ms`.
    pub(crate) fn continuous_backups(
        &self,
        d: &TableDescriptor,
        now_ms: u64,
    ) -> ContinuousBackupsDescription {
        let recovery = match &d.pitr {
            Some(p) => PointInTimeRecoveryDescription {
                point_in_time_recovery_status: "ENABLED".to_owned(),
                recovery_period_in_days: Some(i64::from(p.recovery_period_days)),
                earliest_restorable_date_time: Some(epoch_seconds(p.earliest_ms(now_ms))),
                latest_restorable_date_time: Some(epoch_seconds(now_ms)),
            },
            None => PointInTimeRecoveryDescription {
                point_in_time_recovery_status: "DISABLED".to_owned(),
                recovery_period_in_days: None,
                earliest_restorable_date_time: None,
                latest_restorable_date_time: None,
            },
        };
        ContinuousBackupsDescription {
            continuous_backups_status: "ENABLED".to_owned(),
            point_in_time_recovery_description: recovery,
        }
    }

    /// DescribeContinuousBackups.
    ///
    /// # Errors
    /// `TableNotFoundException`.
    pub fn describe_continuous_backups(
        &self,
        ctx: &RequestContext,
        input: TableNameInput,
    ) -> Result<ContinuousBackupsOutput> {
        let name = table_name(&input.table_name)?;
        let table = self.source_table(ctx, name)?;
        Ok(ContinuousBackupsOutput {
            continuous_backups_description: self
                .continuous_backups(&table.descriptor(), self.clock.now_millis()),
        })
    }

    /// UpdateContinuousBackups: enables point-in-time recovery (starting the table's change
    /// log, or changing its recovery period) or disables it (dropping the log).
    ///
    /// # Errors
    /// `TableNotFoundException`; `ValidationException` for a recovery period given with
    /// `PointInTimeRecoveryEnabled` false; storage failures.
    pub fn update_continuous_backups(
        &self,
        ctx: &RequestContext,
        input: UpdateContinuousBackupsInput,
    ) -> Result<ContinuousBackupsOutput> {
        let name = table_name(&input.table_name)?;
        let spec = input
            .point_in_time_recovery_specification
            .unwrap_or_default();
        let enabled = spec.point_in_time_recovery_enabled.unwrap_or(false);
        let days = match spec.recovery_period_in_days {
            Some(_) if !enabled => {
                return Err(Error::validation(
                    "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling \
                     point-in-time recovery.",
                ))
            }
            Some(d) => u32::try_from(d).unwrap_or(DEFAULT_RECOVERY_PERIOD_DAYS),
            None => DEFAULT_RECOVERY_PERIOD_DAYS,
        };
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let table = self.created_source_table(ctx, name)?;
        let mut dropped = None;
        let updated = {
            // Exclusively: once the new settings are visible, every later write logs its
            // change, and no write decided without the log commits after the log's start.
            let _gate = table.write_gate.write();
            let now = self.clock.now_millis();
            let current = table.descriptor();
            let pitr = match (&current.pitr, enabled) {
                (Some(p), true) if p.recovery_period_days == days => Some(p.clone()),
                (Some(p), true) => Some(p.with_period(days, now)),
                (None, true) => Some(PitrDescriptor {
                    recovery_period_days: days,
                    log_id: self.catalog.allocate_table_id(self.store.as_ref())?,
                    complete_since_ms: now,
                    enabled_ms: now,
                }),
                (Some(p), false) => {
                    dropped = Some(p.log_id);
                    None
                }
                (None, false) => None,
            };
            if pitr == current.pitr {
                current
            } else {
                let descriptor = TableDescriptor {
                    pitr,
                    ..(*current).clone()
                };
                self.catalog
                    .put(self.store.as_ref(), descriptor)?
                    .descriptor()
            }
        };
        if let Some(log) = dropped {
            self.store.drop_table(log)?;
        }
        Ok(ContinuousBackupsOutput {
            continuous_backups_description: self
                .continuous_backups(&updated, self.clock.now_millis()),
        })
    }

    /// The table `name` of the caller's account, for the backup operations (which answer
    /// `TableNotFoundException`, not `ResourceNotFoundException`).
    pub(crate) fn source_table(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<std::sync::Arc<crate::catalog::Table>> {
        self.catalog
            .get(ctx.account(), &ctx.region, name)
            .ok_or_else(|| Error::TableNotFound(format!("Table not found: {name}")))
    }

    /// [`Database::source_table`] for a change: a table still CREATING is not found yet, in
    /// the same words (the ack-api-quirks lab's DDB-TABLE-447, 115: CreateBackup and
    /// UpdateContinuousBackups right after CreateTable).
    pub(crate) fn created_source_table(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<std::sync::Arc<crate::catalog::Table>> {
        let table = self.source_table(ctx, name)?;
        if table.descriptor().status(self.clock.now_millis()) == "CREATING" {
            return Err(Error::TableNotFound(format!("Table not found: {name}")));
        }
        Ok(table)
    }
}

impl Database {
    /// RestoreTableToPointInTime: a new table holding the source table's items as they were at
    /// the requested instant, with the source's current schema and indexes (and the
    /// overrides), `CREATING` with a `RestoreSummary` naming the source and the instant.
    ///
    /// # Errors
    /// `TableNotFoundException` (no such source); `PointInTimeRecoveryUnavailableException`;
    /// `InvalidRestoreTimeException` outside the recovery window; `TableAlreadyExistsException`;
    /// `ValidationException` for a missing source or restore time, or inconsistent overrides.
    pub fn restore_table_to_point_in_time(
        &self,
        ctx: &RequestContext,
        input: RestoreTableToPointInTimeInput,
    ) -> Result<RestoreTableOutput> {
        let target = input.target_table_name.clone().ok_or_else(|| {
            Error::validation(
                "1 validation error detected: Value null at 'targetTableName' failed to \
                 satisfy constraint: Member must not be null",
            )
        })?;
        // The time flags are checked before anything else (DDB-TABLE-100, 272).
        let latest = input.use_latest_restorable_time.unwrap_or(false);
        let requested_ms = match (latest, input.restore_date_time) {
            (true, Some(_)) => {
                return Err(Error::validation(
                    "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be \
                     set for point-in-time restore request. Please specify either RestoreDateTime \
                     time or UseLatestRestorableTime",
                ))
            }
            (false, None) => return Err(Error::validation(
                "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must \
                     be specified, but not both",
            )),
            (true, None) => None,
            (false, Some(secs)) => Some(secs),
        };
        let source = self.point_in_time_source(ctx, &input)?;
        let now = self.clock.now_millis();
        // The window: a live table's ends now; a deleted table's at its deletion.
        let (descriptor, earliest, latest_ms) = match &source {
            PointInTimeSource::Live(table) => {
                let descriptor = table.descriptor();
                let pitr = descriptor
                    .pitr
                    .as_ref()
                    .ok_or_else(|| crate::pitr::unavailable(&descriptor.name))?;
                let earliest = pitr.earliest_ms(now);
                (descriptor, earliest, now)
            }
            PointInTimeSource::Deleted(record, deleted) => (
                std::sync::Arc::new(record.table.clone()),
                deleted.pitr.earliest_ms(now),
                deleted.deleted_at_ms,
            ),
        };
        let at_ms = match requested_ms {
            None => latest_ms,
            Some(secs) if secs.is_finite() && secs >= 0.0 => {
                // Whole milliseconds: a fraction below one is not a distinct instant here.
                let ms = (secs * 1000.0).floor();
                if ms > u64::MAX as f64 {
                    u64::MAX
                } else {
                    ms as u64
                }
            }
            Some(_) => 0,
        };
        if at_ms < earliest || at_ms > latest_ms {
            // DynamoDB's words, the instants to the second (DDB-TABLE-100, 272).
            let second = |ms: u64| {
                let iso = crate::stream::iso_millis(ms);
                format!("{}Z", &iso[..iso.len() - 4])
            };
            return Err(Error::InvalidRestoreTime(format!(
                "RestoreDateTime '{}' must be within EarliestRestorableDateTime '{}' and \
                 LatestRestorableDateTime '{}'",
                second(at_ms),
                second(earliest),
                second(latest_ms)
            )));
        }
        let overrides = RestoreOverrides {
            billing_mode: input.billing_mode_override.as_deref(),
            provisioned_throughput: input.provisioned_throughput_override.as_ref(),
            local_indexes: input.local_secondary_index_override.as_deref(),
            global_indexes: input.global_secondary_index_override.as_deref(),
            sse: input.sse_specification_override.as_ref(),
            on_demand: input.on_demand_throughput_override.as_ref(),
        };
        let ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let restored = self.restored_descriptor(
            ctx,
            &descriptor,
            target,
            &overrides,
            RestoreSource {
                backup_arn: None,
                source_table_arn: self.table_arn(&descriptor),
                restored_at_ms: at_ms,
            },
        )?;
        self.create_restored(ddl, restored, &mut |copier| match &source {
            PointInTimeSource::Live(table) => {
                let mut failure = None;
                self.pitr_items_at(table, at_ms, &mut |partition, sort, item| match copier
                    .push(partition, sort, item)
                {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                })?;
                failure.map_or(Ok(()), Err)
            }
            PointInTimeSource::Deleted(record, deleted) => {
                self.deleted_table_items(record.data_id, deleted, at_ms, copier)
            }
        })
    }

    /// The source of a point-in-time restore: the table `SourceTableName` names, or the one
    /// `SourceTableArn` names (both given: they must name the same table). An ARN that names
    /// no live table names the most recently deleted table of that ARN whose system backup is
    /// still kept ([`crate::backup::DeletedTable`]): a table name, like the console's list of
    /// tables, addresses live tables only.
    fn point_in_time_source(
        &self,
        ctx: &RequestContext,
        input: &RestoreTableToPointInTimeInput,
    ) -> Result<PointInTimeSource> {
        // DynamoDB's words (DDB-TABLE-272).
        let name = match (&input.source_table_name, &input.source_table_arn) {
            (Some(_), Some(_)) => {
                return Err(Error::validation(
                    "Must provide exactly one of: sourceTableArn, sourceTableName",
                ))
            }
            (Some(name), None) => name.as_str(),
            (None, Some(arn)) => arn.rsplit_once(":table/").map_or(arn.as_str(), |(_, n)| n),
            (None, None) => {
                return Err(Error::validation(
                    "The parameter 'TableName' is required but was not present in the request",
                ))
            }
        };
        let live = self.source_table(ctx, name);
        match (&input.source_table_arn, live) {
            (None, live) => live.map(PointInTimeSource::Live),
            (Some(arn), Ok(table)) if self.table_arn(&table.descriptor()) == *arn => {
                Ok(PointInTimeSource::Live(table))
            }
            (Some(arn), live) => {
                if input.source_table_name.is_none() || live.is_err() {
                    if let Some(found) = self.deleted_table(ctx, arn)? {
                        return Ok(found);
                    }
                }
                // Named by its ARN, the missing table is not named back (DDB-TABLE-447).
                Err(Error::TableNotFound("Table not found".to_owned()))
            }
        }
    }

    /// The most recently deleted table of ARN `arn` (the caller's account) whose system backup
    /// has not expired.
    fn deleted_table(&self, ctx: &RequestContext, arn: &str) -> Result<Option<PointInTimeSource>> {
        let now = self.clock.now_millis();
        let (records, _) = crate::backup::list(self.store.as_ref(), None, usize::MAX, &|r| {
            r.table.account.as_deref() == ctx.account()
                && r.table.region == ctx.region
                && r.deleted.as_ref().is_some_and(|d| d.expires_at_ms > now)
                && self.table_arn(&r.table) == arn
        })?;
        Ok(records
            .into_iter()
            .filter_map(|r| r.deleted.clone().map(|d| (r, d)))
            .max_by_key(|(_, d)| d.deleted_at_ms)
            .map(|(r, d)| PointInTimeSource::Deleted(Box::new(r), d)))
    }
}

/// Where a point-in-time restore reads from.
enum PointInTimeSource {
    /// A live table.
    Live(std::sync::Arc<crate::catalog::Table>),
    /// A deleted table, through its system backup.
    Deleted(
        Box<crate::backup::BackupRecord>,
        crate::backup::DeletedTable,
    ),
}
