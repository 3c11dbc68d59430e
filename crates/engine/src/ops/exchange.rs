//! Export and import: ExportTableToPointInTime, DescribeExport, ListExports, ImportTable,
//! DescribeImport and ListImports. Formats, files and records live in [`crate::exchange`].
//!
//! Decisions where DynamoDB's documentation is silent, or binderdb differs:
//! - Buckets are an S3-compatible server's (`--s3-endpoint URL`) or directories (`--s3-dir
//!   DIR`: bucket `B` is `DIR/B`); with neither, both operations are refused with a
//!   ValidationException naming the flags. `S3BucketOwner` is sent to S3 as the expected bucket
//!   owner, so a bucket of another account fails the job with `S3AccessDenied`.
//! - The export or import runs in the background ([`crate::exchange::jobs`]): the answer says
//!   `IN_PROGRESS`, as DynamoDB's does, and DescribeExport / DescribeImport show the progress,
//!   then `COMPLETED` (or `FAILED` with FailureCode and FailureMessage).
//! - As in DynamoDB, a table without point-in-time recovery is not exported
//!   (PointInTimeRecoveryUnavailableException). A full export is the table as it was at
//!   `ExportTime` (default: now), read through the recovery log; an ExportTime in the future or
//!   before the recovery window is InvalidExportTimeException. An incremental export holds one
//!   line per item changed in (ExportFromTime, ExportToTime] (15 minutes to 24 hours, inside
//!   the window): its image at the end (`NewImage`, absent if deleted), at the start
//!   (`OldImage`, with NEW_AND_OLD_IMAGES, absent if it did not exist) and its last write's
//!   time; an item created and deleted within the period is left out. Its data files go to the
//!   shared `<prefix>/AWSDynamoDB/data/` folder (the manifests name them).
//! - A ClientToken is remembered for 8 hours, as DynamoDB documents: the same request again
//!   answers the first one's description, another request with it is an
//!   ExportConflictException / ImportConflictException. The token is claimed with a guarded
//!   create in the store ([`crate::exchange::tokens`]), so of requests with one token arriving
//!   at once, on one node or on several nodes sharing a store, exactly one starts a job.
//!   (Tokens used by a binderdb before token records existed are not remembered.)
//! - An import whose source cannot be read (no bucket, no object under the prefix, a stream
//!   that is not of its compression) is `FAILED` and its table deleted; bad lines only count in
//!   `ErrorCount` and are written to a local log file named after the import, under
//!   `DIR/_binderdb-logs/aws-dynamodb/imports/` (DynamoDB: the CloudWatch log group
//!   `/aws-dynamodb/imports`, whose ARN the description still shows).

use std::sync::Arc;

use crate::api::{
    CreateTableInput, ExportArnInput, ExportDescription, ExportDescriptionOutput, ExportSummary,
    ExportTableToPointInTimeInput, ImportArnInput, ImportSummary, ImportTableDescription,
    ImportTableInput, ImportTableOutput, ListExportsInput, ListExportsOutput, ListImportsInput,
    ListImportsOutput,
};
use crate::catalog::{Table, TableDescriptor};
use crate::clock::epoch_seconds;
use crate::error::{Error, Result};
use crate::exchange::export::Increment;
use crate::exchange::format::{Compression, LineFormat};
use crate::exchange::jobs::{ExportTask, ImportTask};
use crate::exchange::objects::ObjectStore;
use crate::exchange::tokens::{self, Claim};
use crate::exchange::{self, ExportRecord, ImportRecord, JobStatus, RECORD_FORMAT};
use crate::{Database, RequestContext};

/// Page size of ListExports and ListImports when none is asked for.
const DEFAULT_PAGE: usize = 25;

fn null(member: &str) -> Error {
    Error::validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
         Member must not be null"
    ))
}

fn job_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// DynamoDB's bounds on an incremental export's period.
const INCREMENT_MIN_MS: u64 = 15 * 60 * 1000;
const INCREMENT_MAX_MS: u64 = 24 * 60 * 60 * 1000;

fn seconds_to_ms(t: f64) -> Result<u64> {
    crate::exchange::jobs::seconds_to_ms(t)
        .ok_or_else(|| Error::InvalidExportTime("Export time must be a valid timestamp".to_owned()))
}

fn failure(status: &JobStatus) -> (Option<String>, Option<String>) {
    match status {
        JobStatus::Failed { code, message } => (Some(code.clone()), Some(message.clone())),
        _ => (None, None),
    }
}

impl Database {
    /// The buckets, checked for `owner` (`S3BucketOwner`).
    fn buckets(&self, owner: Option<&str>) -> Result<Arc<dyn ObjectStore>> {
        self.job_context().buckets(owner).ok_or_else(|| {
            Error::validation(
                "binderdb has no S3 buckets: start the server with --s3-endpoint URL (an \
                     S3-compatible server) or --s3-dir DIR (bucket B is the directory DIR/B)",
            )
        })
    }

    /// Takes the lease an export or import with ARN `arn` runs under (a fresh job's: free).
    fn take_job_lease(&self, arn: &str) -> Result<()> {
        if self.store.shared()
            && !self.store.lease(
                &crate::exchange::jobs::lease_of(arn),
                crate::jobs::JOB_LEASE,
            )?
        {
            return Err(Error::Internal(format!("the lease of job {arn} is taken")));
        }
        Ok(())
    }

    /// The caller's table named by `arn`.
    fn export_source(&self, ctx: &RequestContext, arn: &str) -> Result<std::sync::Arc<Table>> {
        if arn.is_empty() {
            // DynamoDB's words for an empty one (DDB-TABLE-457).
            return Err(Error::validation("Invalid TableArn: Invalid Table ARN"));
        }
        let name = arn
            .strip_prefix("arn:aws:dynamodb:")
            .and_then(|rest| rest.split_once(":table/"))
            .map(|(_, name)| name)
            .filter(|n| !n.contains('/'))
            .ok_or_else(|| Error::validation(format!("Invalid TableArn: {arn}")))?;
        self.catalog
            .get(ctx.account(), &ctx.region, name)
            .filter(|t| self.table_arn(&t.descriptor()) == arn)
            // The missing table is named by the ARN that was sent (DDB-TABLE-447).
            .ok_or_else(|| Error::TableNotFound(format!("Table not found: {arn}")))
    }

    fn export_description(&self, r: &ExportRecord, status: Option<&str>) -> ExportDescription {
        let request: ExportTableToPointInTimeInput =
            serde_json::from_value(r.request.clone()).unwrap_or_default();
        let (failure_code, failure_message) = failure(&r.status);
        let done = status.is_none() && r.status == JobStatus::Completed;
        ExportDescription {
            export_arn: r.arn.clone(),
            export_status: status.unwrap_or(r.status.as_str()).to_owned(),
            start_time: epoch_seconds(r.start_ms),
            end_time: status
                .is_none()
                .then_some(r.end_ms)
                .flatten()
                .map(epoch_seconds),
            export_manifest: if done { r.manifest.clone() } else { None },
            table_arn: r.table_arn.clone(),
            table_id: r.table_id.clone(),
            export_time: epoch_seconds(r.export_time_ms),
            client_token: r.client_token.clone(),
            s3_bucket: request.s3_bucket.unwrap_or_default(),
            s3_bucket_owner: request.s3_bucket_owner,
            s3_prefix: request.s3_prefix,
            s3_sse_algorithm: request
                .s3_sse_algorithm
                .unwrap_or_else(|| "AES256".to_owned()),
            s3_sse_kms_key_id: request.s3_sse_kms_key_id,
            failure_code: if status.is_none() { failure_code } else { None },
            failure_message: if status.is_none() {
                failure_message
            } else {
                None
            },
            export_format: r.export_format.clone(),
            billed_size_bytes: done.then_some(r.billed_size_bytes),
            item_count: done.then_some(r.item_count),
            export_type: r.export_type.clone(),
            incremental_export_specification: request.incremental_export_specification,
        }
    }

    /// ExportTableToPointInTime: a full export of the table's current state, from one
    /// consistent snapshot, streamed to `S3Bucket` under `S3Prefix`.
    ///
    /// # Errors
    /// `TableNotFoundException`; `InvalidExportTimeException` for an ExportTime in the
    /// future or before the table existed; `PointInTimeRecoveryUnavailableException` for one in
    /// the past; `ExportConflictException` for a reused ClientToken; `ValidationException`
    /// without buckets (`--s3-endpoint` or `--s3-dir`) and for a bad incremental period. The
    /// export itself runs in the background ([`crate::exchange::jobs`]).
    pub fn export_table_to_point_in_time(
        &self,
        ctx: &RequestContext,
        input: ExportTableToPointInTimeInput,
    ) -> Result<ExportDescriptionOutput> {
        let arn = input.table_arn.as_deref().ok_or_else(|| null("tableArn"))?;
        let bucket = input.s3_bucket.clone().ok_or_else(|| null("s3Bucket"))?;
        let table = self.export_source(ctx, arn)?;
        // The incremental specification's shape is checked before the table's point-in-time
        // recovery, in DynamoDB's words (the ack-api-quirks lab's DDB-TABLE-457, 442).
        let incremental_from = if input.export_type.as_deref() == Some("INCREMENTAL_EXPORT") {
            if input.export_time.is_some() {
                return Err(Error::validation(
                    "ExportTime cannot be specified for an incremental export; use \
                     IncrementalExportSpecification",
                ));
            }
            let from = input
                .incremental_export_specification
                .as_ref()
                .and_then(|spec| spec.export_from_time)
                .ok_or_else(|| {
                    Error::validation(
                        "Invalid Request: ExportFromTime must be provided in \
                         IncrementalExportSpecification",
                    )
                })?;
            Some(from)
        } else {
            None
        };
        let descriptor = table.descriptor();
        let now = self.clock.now_millis();
        // DynamoDB exports only tables with point-in-time recovery, from its window.
        let pitr = descriptor
            .pitr
            .clone()
            .ok_or_else(|| crate::pitr::unavailable(&descriptor.name))?;
        let earliest = pitr.earliest_ms(now);
        let format = input
            .export_format
            .as_deref()
            .map_or(Some(LineFormat::DynamoDbJson), LineFormat::parse)
            .filter(|f| *f != LineFormat::Csv)
            .ok_or_else(|| Error::validation("Invalid ExportFormat"))?;
        let in_window = |what: &str, ms: u64| -> Result<u64> {
            if ms > now {
                return Err(Error::InvalidExportTime(format!(
                    "{what} cannot be in the future"
                )));
            }
            if ms < earliest {
                return Err(Error::InvalidExportTime(format!(
                    "{what} must be within the point in time recovery window of table '{}'",
                    descriptor.name
                )));
            }
            Ok(ms)
        };
        let increment = if let Some(from) = incremental_from {
            let spec = input
                .incremental_export_specification
                .clone()
                .unwrap_or_default();
            let from_ms = in_window("ExportFromTime", seconds_to_ms(from)?)?;
            let to_ms = in_window(
                "ExportToTime",
                spec.export_to_time.map_or(Ok(now), seconds_to_ms)?,
            )?;
            let period = to_ms.saturating_sub(from_ms);
            if to_ms <= from_ms || !(INCREMENT_MIN_MS..=INCREMENT_MAX_MS).contains(&period) {
                return Err(Error::validation(
                    "The incremental export period must be between 15 minutes and 24 hours, \
                     and ExportFromTime before ExportToTime",
                ));
            }
            Some(Increment {
                from_ms,
                to_ms,
                view: spec
                    .export_view_type
                    .unwrap_or_else(|| "NEW_AND_OLD_IMAGES".to_owned()),
            })
        } else {
            None
        };
        let export_time_ms = match (&increment, input.export_time) {
            (Some(i), _) => i.to_ms,
            (None, None) => now,
            (None, Some(t)) => in_window("ExportTime", seconds_to_ms(t)?)?,
        };
        let request = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
        let buckets = self.buckets(input.s3_bucket_owner.as_deref())?;
        let export_id = format!("{now:014}-{}", job_id());
        let export_arn = format!("{arn}/export/{export_id}");
        // The token is claimed in the store: of two requests with it at once (on one node or
        // two), exactly one starts an export.
        let claimed = match &input.client_token {
            None => None,
            Some(token) => match tokens::claim::<ExportRecord>(
                self.store.as_ref(),
                self.clock.as_ref(),
                ctx.account(),
                token,
                &request,
                &export_arn,
                &|| {
                    Error::ExportConflict(format!(
                        "There was a conflict when attempting to export: the ClientToken {token} \
                         was used with a different request"
                    ))
                },
            )? {
                Claim::Earlier(first) => {
                    return Ok(ExportDescriptionOutput {
                        export_description: self.export_description(&first, None),
                    })
                }
                Claim::Won(claimed) => Some(claimed),
            },
        };
        let record = ExportRecord {
            format: RECORD_FORMAT,
            arn: export_arn,
            account: ctx.account.clone(),
            table_arn: arn.to_owned(),
            table_id: descriptor.uuid.clone(),
            request,
            client_token: input.client_token.clone(),
            export_format: format.as_str().to_owned(),
            export_type: if incremental_from.is_some() {
                "INCREMENTAL_EXPORT"
            } else {
                "FULL_EXPORT"
            }
            .to_owned(),
            export_time_ms,
            start_ms: now,
            end_ms: None,
            status: JobStatus::InProgress,
            manifest: None,
            item_count: 0,
            billed_size_bytes: 0,
        };
        // Durable before the answer: a restart finds the job (and marks it FAILED), and on a
        // shared store the job's lease is this node's first, so no other node adopts it.
        if let Err(e) = self
            .take_job_lease(&record.arn)
            .and_then(|()| exchange::save(self.store.as_ref(), &record))
        {
            if let Some(claimed) = claimed {
                tokens::release(self.store.as_ref(), claimed);
            }
            return Err(e);
        }
        let answer = self.export_description(&record, Some("IN_PROGRESS"));
        let task = ExportTask {
            record,
            table,
            buckets,
            bucket,
            prefix: input.s3_prefix.clone().unwrap_or_default(),
            export_id,
            format,
            sse_algorithm: input.s3_sse_algorithm.clone(),
            sse_kms_key_id: input.s3_sse_kms_key_id.clone(),
            increment,
        };
        self.starter().export(task);
        Ok(ExportDescriptionOutput {
            export_description: answer,
        })
    }

    /// DescribeExport.
    ///
    /// # Errors
    /// `ExportNotFoundException`.
    pub fn describe_export(
        &self,
        ctx: &RequestContext,
        input: ExportArnInput,
    ) -> Result<ExportDescriptionOutput> {
        let arn = input
            .export_arn
            .as_deref()
            .ok_or_else(|| null("exportArn"))?;
        let record = exchange::load::<ExportRecord>(self.store.as_ref(), arn)?
            .filter(|r| r.account.as_deref() == ctx.account())
            .ok_or_else(|| Error::ExportNotFound(format!("Export not found: {arn}")))?;
        Ok(ExportDescriptionOutput {
            export_description: self.export_description(&record, None),
        })
    }

    /// ListExports: the region's exports (of one table, with TableArn), in ARN order.
    ///
    /// # Errors
    /// Storage failures.
    pub fn list_exports(
        &self,
        ctx: &RequestContext,
        input: ListExportsInput,
    ) -> Result<ListExportsOutput> {
        let limit = input
            .max_results
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(DEFAULT_PAGE);
        let region = format!("arn:aws:dynamodb:{}:", ctx.region);
        let (records, more) = exchange::list::<ExportRecord>(
            self.store.as_ref(),
            input.next_token.as_deref(),
            limit,
            &|r: &ExportRecord| {
                r.account.as_deref() == ctx.account()
                    && r.arn.starts_with(&region)
                    && input.table_arn.as_deref().is_none_or(|t| r.table_arn == t)
            },
        )?;
        Ok(ListExportsOutput {
            next_token: more
                .then(|| records.last().map(|r| r.arn.clone()))
                .flatten(),
            export_summaries: records
                .iter()
                .map(|r| ExportSummary {
                    export_arn: r.arn.clone(),
                    export_status: r.status.as_str().to_owned(),
                    export_type: r.export_type.clone(),
                })
                .collect(),
        })
    }

    fn log_group_arn(&self, ctx: &RequestContext) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:/aws-dynamodb/imports:*",
            ctx.region,
            ctx.account().unwrap_or(&self.config.account_id)
        )
    }

    fn import_description(
        &self,
        ctx: &RequestContext,
        r: &ImportRecord,
        status: Option<&str>,
    ) -> ImportTableDescription {
        let member = |name: &str| r.request.get(name).cloned();
        let (failure_code, failure_message) = failure(&r.status);
        let live = status.is_none();
        ImportTableDescription {
            import_arn: r.arn.clone(),
            import_status: status.unwrap_or(r.status.as_str()).to_owned(),
            table_arn: r.table_arn.clone(),
            table_id: r.table_id.clone(),
            client_token: r.client_token.clone(),
            s3_bucket_source: member("S3BucketSource").unwrap_or_default(),
            error_count: if live { r.error_count } else { 0 },
            cloud_watch_log_group_arn: self.log_group_arn(ctx),
            input_format: member("InputFormat")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            input_format_options: member("InputFormatOptions"),
            input_compression_type: member("InputCompressionType")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "NONE".to_owned()),
            table_creation_parameters: member("TableCreationParameters").unwrap_or_default(),
            start_time: epoch_seconds(r.start_ms),
            end_time: live.then_some(r.end_ms).flatten().map(epoch_seconds),
            processed_size_bytes: if live { r.processed_size_bytes } else { 0 },
            processed_item_count: if live { r.processed_item_count } else { 0 },
            imported_item_count: if live { r.imported_item_count } else { 0 },
            failure_code: if live { failure_code } else { None },
            failure_message: if live { failure_message } else { None },
        }
    }

    /// ImportTable: creates the table of `TableCreationParameters` and loads every object
    /// under `S3BucketSource` into it.
    ///
    /// # Errors
    /// CreateTable's errors for the parameters (ResourceInUseException when the table exists);
    /// `ImportConflictException` for a reused ClientToken; `ValidationException` without
    /// buckets (`--s3-endpoint` or `--s3-dir`). The load itself runs in the background, the
    /// table `CREATING` meanwhile ([`crate::exchange::jobs`]).
    pub fn import_table(
        &self,
        ctx: &RequestContext,
        input: ImportTableInput,
    ) -> Result<ImportTableOutput> {
        let source = input
            .s3_bucket_source
            .clone()
            .ok_or_else(|| null("s3BucketSource"))?;
        let bucket = source
            .s3_bucket
            .clone()
            .ok_or_else(|| null("s3BucketSource.s3Bucket"))?;
        let format = input
            .input_format
            .as_deref()
            .and_then(LineFormat::parse)
            .ok_or_else(|| null("inputFormat"))?;
        let compression = input
            .input_compression_type
            .as_deref()
            .map_or(Some(Compression::None), Compression::parse)
            .ok_or_else(|| Error::validation("Invalid InputCompressionType"))?;
        let parameters = input
            .table_creation_parameters
            .as_ref()
            .ok_or_else(|| null("tableCreationParameters"))?;
        let csv = input
            .input_format_options
            .as_ref()
            .and_then(|o| o.csv.clone());
        if csv.is_some() && format != LineFormat::Csv {
            return Err(Error::validation(
                "InputFormatOptions can only be specified with InputFormat CSV",
            ));
        }
        let delimiter =
            csv.as_ref()
                .and_then(|c| c.delimiter.as_deref())
                .map_or(Ok(b','), |d| match d.as_bytes() {
                    [c] => Ok(*c),
                    _ => Err(Error::validation("The CSV delimiter must be one character")),
                })?;
        let mut request = serde_json::json!({
            "S3BucketSource": source,
            "InputFormat": format.as_str(),
            "InputCompressionType": compression.as_str(),
            "TableCreationParameters": parameters.raw,
        });
        if let Some(options) = &input.input_format_options {
            request["InputFormatOptions"] =
                serde_json::to_value(options).map_err(|e| Error::Internal(e.to_string()))?;
        }
        let now = self.clock.now_millis();
        let buckets = self.buckets(source.s3_bucket_owner.as_deref())?;
        // ImportTable takes only these of CreateTable's members.
        let p = &parameters.value;
        let create = CreateTableInput {
            table_name: p.table_name.clone(),
            attribute_definitions: p.attribute_definitions.clone(),
            key_schema: p.key_schema.clone(),
            billing_mode: p.billing_mode.clone(),
            provisioned_throughput: p.provisioned_throughput.clone(),
            on_demand_throughput: p.on_demand_throughput.clone(),
            global_secondary_indexes: p.global_secondary_indexes.clone(),
            sse_specification: p.sse_specification.clone(),
            ..CreateTableInput::default()
        };
        let name = p
            .table_name
            .clone()
            .ok_or_else(|| null("tableCreationParameters.tableName"))?;
        let import_id = format!("{now:014}-{}", job_id());
        let table_arn = format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            ctx.region,
            self.account_id(ctx)
        );
        let import_arn = format!("{table_arn}/import/{import_id}");
        // The token is claimed in the store before the table is created: of two requests with
        // it at once (on one node or two), exactly one creates the table and imports; the
        // other answers with that import.
        let claimed = match &input.client_token {
            None => None,
            Some(token) => match tokens::claim::<ImportRecord>(
                self.store.as_ref(),
                self.clock.as_ref(),
                ctx.account(),
                token,
                &request,
                &import_arn,
                &|| {
                    Error::ImportConflict(format!(
                        "There was a conflict when importing from the specified S3 source: the \
                         ClientToken {token} was used with a different request"
                    ))
                },
            )? {
                Claim::Earlier(first) => {
                    return Ok(ImportTableOutput {
                        import_table_description: self.import_description(ctx, &first, None),
                    })
                }
                Claim::Won(claimed) => Some(claimed),
            },
        };
        let release = |claimed: Option<tokens::Claimed>| {
            if let Some(claimed) = claimed {
                tokens::release(self.store.as_ref(), claimed);
            }
        };
        // ImportTable names a CREATING table "already exists", where CreateTable says "being
        // created" (the ack-api-quirks lab's DDB-TABLE-444).
        let creating = self
            .catalog
            .get(ctx.account(), &ctx.region, &name)
            .is_some_and(|t| t.descriptor().status(self.clock.now_millis()) == "CREATING");
        let created = if creating {
            Err(Error::ResourceInUse(format!(
                "Table already exists: {name}"
            )))
        } else {
            self.create_table(ctx, create)
        };
        if let Err(e) = created {
            release(claimed);
            return Err(e);
        }
        // The table stays CREATING while it loads, as an imported table does in DynamoDB.
        let (table, active_at_ms) = {
            let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
            let created = self
                .catalog
                .get(ctx.account(), &ctx.region, &name)
                .ok_or_else(|| Error::Internal("the imported table vanished".to_owned()))?;
            let descriptor = created.descriptor();
            let table = self.catalog.put(
                self.store.as_ref(),
                TableDescriptor {
                    active_at_ms: crate::ops::backups::RESTORING,
                    ..(*descriptor).clone()
                },
            )?;
            (table, descriptor.active_at_ms)
        };
        let descriptor = table.descriptor();
        let log_path = buckets
            .import_log_dir()
            .map(|dir| dir.join(format!("{import_id}.log")));
        let record = ImportRecord {
            format: RECORD_FORMAT,
            arn: import_arn,
            account: ctx.account.clone(),
            table_arn,
            table_id: descriptor.uuid.clone(),
            request,
            client_token: input.client_token.clone(),
            start_ms: now,
            end_ms: None,
            status: JobStatus::InProgress,
            error_count: 0,
            processed_size_bytes: 0,
            processed_item_count: 0,
            imported_item_count: 0,
            log_path: log_path.as_ref().map(|p| p.to_string_lossy().into_owned()),
        };
        // Durable before the answer: a restart finds the job (and marks it FAILED), and on a
        // shared store the job's lease is this node's first, so no other node adopts it.
        if let Err(e) = self
            .take_job_lease(&record.arn)
            .and_then(|()| exchange::save(self.store.as_ref(), &record))
        {
            release(claimed);
            return Err(e);
        }
        let answer = self.import_description(ctx, &record, Some("IN_PROGRESS"));
        let task = ImportTask {
            record,
            table,
            active_at_ms,
            buckets,
            bucket,
            prefix: source.s3_key_prefix.clone().unwrap_or_default(),
            format,
            compression,
            csv_delimiter: delimiter,
            csv_header: csv.and_then(|c| c.header_list),
            log_path,
        };
        self.starter().import(task);
        Ok(ImportTableOutput {
            import_table_description: answer,
        })
    }

    /// DescribeImport.
    ///
    /// # Errors
    /// `ImportNotFoundException`.
    pub fn describe_import(
        &self,
        ctx: &RequestContext,
        input: ImportArnInput,
    ) -> Result<ImportTableOutput> {
        let arn = input
            .import_arn
            .as_deref()
            .ok_or_else(|| null("importArn"))?;
        let record = exchange::load::<ImportRecord>(self.store.as_ref(), arn)?
            .filter(|r| r.account.as_deref() == ctx.account())
            .ok_or_else(|| Error::ImportNotFound(format!("Import not found: {arn}")))?;
        Ok(ImportTableOutput {
            import_table_description: self.import_description(ctx, &record, None),
        })
    }

    /// ListImports: the region's imports (into one table, with TableArn), in ARN order.
    ///
    /// # Errors
    /// Storage failures.
    pub fn list_imports(
        &self,
        ctx: &RequestContext,
        input: ListImportsInput,
    ) -> Result<ListImportsOutput> {
        let limit = input
            .page_size
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(DEFAULT_PAGE);
        let region = format!("arn:aws:dynamodb:{}:", ctx.region);
        let (records, more) = exchange::list::<ImportRecord>(
            self.store.as_ref(),
            input.next_token.as_deref(),
            limit,
            &|r: &ImportRecord| {
                r.account.as_deref() == ctx.account()
                    && r.arn.starts_with(&region)
                    && input.table_arn.as_deref().is_none_or(|t| r.table_arn == t)
            },
        )?;
        Ok(ListImportsOutput {
            next_token: more
                .then(|| records.last().map(|r| r.arn.clone()))
                .flatten(),
            import_summary_list: records
                .iter()
                .map(|r| {
                    let d = self.import_description(ctx, r, None);
                    ImportSummary {
                        import_arn: d.import_arn,
                        import_status: d.import_status,
                        table_arn: d.table_arn,
                        s3_bucket_source: d.s3_bucket_source,
                        cloud_watch_log_group_arn: d.cloud_watch_log_group_arn,
                        input_format: d.input_format,
                        start_time: d.start_time,
                        end_time: d.end_time,
                    }
                })
                .collect(),
        })
    }
}
