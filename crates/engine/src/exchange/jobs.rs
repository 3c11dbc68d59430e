//! Exports and imports as background jobs, as DynamoDB runs them: ExportTableToPointInTime and
//! ImportTable answer `IN_PROGRESS` at once, the work runs on a worker thread of its own, and
//! DescribeExport / DescribeImport read the job's record, which the job keeps up to date (an
//! import's counters every few thousand lines; the final status, counts and manifest at the
//! end).
//!
//! Records are durable (the `Catalog` keyspace) and written before the request answers, so a
//! job is never lost.
//!
//! # One node
//! A restart does not resume a job: an export or import that was `IN_PROGRESS` when binderdb
//! stopped is marked `FAILED` at the next start (FailureCode `InternalServerError`), and an
//! interrupted import's half-loaded table is deleted, as a failed import leaves no table.
//!
//! # Several nodes on one store (`--storage rados`)
//! A job runs under a lease named after its ARN ([`lease_of`], see `crate::jobs`), taken by
//! the node that answered the request before the record is saved and renewed while the job
//! runs, so a start-up never fails another live node's job. When the node running it dies,
//! its lease lapses and a live node *adopts* the job (`Starter::adopt_orphans`) and runs it
//! again from the start, to completion, rather than failing it: a DynamoDB user expects an
//! accepted export or import to finish, and both can be run again without harm:
//! - an export reads the table as it was at its `ExportTime` through the recovery log, so a
//!   second run writes exactly the same items; it writes new data files and the manifests name
//!   only those (files the dead node wrote before it died stay in the bucket, unnamed, as
//!   DynamoDB's own retried writes may leave objects that no manifest lists);
//! - an import loads every line again into its table (still `CREATING`): a line already loaded
//!   replaces its own item with the same item, so the table, its indexes and its statistics
//!   end up as one run makes them; its counts restart from zero and its error log is written
//!   again on the adopting node.
//!
//! The job's ARN is its identity: a worker that gets the lease first checks that the record is
//! still `IN_PROGRESS` (another node may have finished it meanwhile), and a record the job
//! cannot run again (its table deleted, its parameters unreadable) is failed with
//! FailureCode `InternalServerError` instead.
//!
//! While an import loads, its table is `CREATING` (as in DynamoDB): item operations, UpdateTable
//! and DeleteTable refuse it. Shutting the server down stops a running job where it is.
//!
//! Must not depend on: HTTP, tokio.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use binderdb_model::{decode_item, Item};
use binderdb_storage::Store;

use super::export::{ExportFailure, ExportJob, Increment};
use super::format::{ChangeLine, Compression, LineFormat};
use super::import::{self, ImportFailure, ImportSource};
use super::objects::ObjectStore;
use super::{ExportRecord, ImportRecord, JobStatus};
use crate::catalog::{Catalog, Table, TableDescriptor};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::pitr;

/// How often a running import saves its counters (DescribeImport's progress).
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// `FailureCode` and `FailureMessage` of a job a restart interrupted.
const INTERRUPTED_CODE: &str = "InternalServerError";

/// The lease an export or import runs under on a shared store (see the module doc).
pub(crate) fn lease_of(arn: &str) -> String {
    format!("exchange-{arn}")
}

/// What a job needs of the database: shared handles, so it outlives the request.
#[derive(Debug, Clone)]
pub(crate) struct JobContext {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) pitr_clock: Arc<pitr::log::LogClock>,
    pub(crate) stream_retention_ms: u64,
    /// Where buckets are (`--s3-endpoint`, `--s3-dir`): an adopted job finds its own.
    pub(crate) object_store: Option<Arc<dyn ObjectStore>>,
    pub(crate) s3_dir: Option<PathBuf>,
    /// A pause per item (`Config::job_item_delay_us`, a test hook).
    pub(crate) item_delay: Duration,
}

/// One export to run.
#[derive(Debug)]
pub(crate) struct ExportTask {
    pub(crate) record: ExportRecord,
    pub(crate) table: Arc<Table>,
    pub(crate) buckets: Arc<dyn ObjectStore>,
    pub(crate) bucket: String,
    pub(crate) prefix: String,
    pub(crate) export_id: String,
    pub(crate) format: LineFormat,
    pub(crate) sse_algorithm: Option<String>,
    pub(crate) sse_kms_key_id: Option<String>,
    /// `None` for a full export.
    pub(crate) increment: Option<Increment>,
}

/// One import to run, into its table (created `CREATING` by the request).
#[derive(Debug)]
pub(crate) struct ImportTask {
    pub(crate) record: ImportRecord,
    pub(crate) table: Arc<Table>,
    /// The table's `active_at_ms` once loaded.
    pub(crate) active_at_ms: u64,
    pub(crate) buckets: Arc<dyn ObjectStore>,
    pub(crate) bucket: String,
    pub(crate) prefix: String,
    pub(crate) format: LineFormat,
    pub(crate) compression: Compression,
    pub(crate) csv_delimiter: u8,
    pub(crate) csv_header: Option<Vec<String>>,
    pub(crate) log_path: Option<PathBuf>,
}

impl JobContext {
    /// The buckets, checked for `owner` (`S3BucketOwner`); `None` when binderdb has none.
    pub(crate) fn buckets(&self, owner: Option<&str>) -> Option<Arc<dyn ObjectStore>> {
        if let Some(store) = &self.object_store {
            return Some(store.with_expected_owner(owner));
        }
        self.s3_dir
            .clone()
            .map(|dir| Arc::new(super::objects::LocalBuckets::new(dir)) as Arc<dyn ObjectStore>)
    }

    /// Whether the job with ARN `arn` still waits to be done (a worker that just got its lease
    /// asks: another node may have finished it meanwhile).
    pub(crate) fn in_progress<R: super::Record + HasStatus>(&self, arn: &str) -> bool {
        match super::load::<R>(self.store.as_ref(), arn) {
            Ok(Some(record)) => *record.status() == JobStatus::InProgress,
            Ok(None) => false,
            Err(e) => {
                tracing::error!(error = %e, job = arn, "reading an export/import record");
                false
            }
        }
    }

    /// The task of an export another node left unfinished, to run again from the start; `None`
    /// (the record failed) when it cannot run again.
    pub(crate) fn export_task(&self, record: ExportRecord) -> Option<ExportTask> {
        let request: crate::api::ExportTableToPointInTimeInput =
            serde_json::from_value(record.request.clone()).unwrap_or_default();
        let table = self
            .catalog
            .all()
            .into_iter()
            .find(|t| t.descriptor().uuid == record.table_id);
        let format = LineFormat::parse(&record.export_format);
        let buckets = self.buckets(request.s3_bucket_owner.as_deref());
        let increment = match record.export_type.as_str() {
            "INCREMENTAL_EXPORT" => {
                let spec = request
                    .incremental_export_specification
                    .clone()
                    .unwrap_or_default();
                match spec.export_from_time.and_then(seconds_to_ms) {
                    Some(from_ms) => Some(Some(Increment {
                        from_ms,
                        to_ms: record.export_time_ms,
                        view: spec
                            .export_view_type
                            .unwrap_or_else(|| "NEW_AND_OLD_IMAGES".to_owned()),
                    })),
                    None => None,
                }
            }
            _ => Some(None),
        };
        let export_id = record.arn.rsplit('/').next().unwrap_or_default().to_owned();
        match (table, format, buckets, request.s3_bucket.clone(), increment) {
            (Some(table), Some(format), Some(buckets), Some(bucket), Some(increment)) => {
                Some(ExportTask {
                    record,
                    table,
                    buckets,
                    bucket,
                    prefix: request.s3_prefix.clone().unwrap_or_default(),
                    export_id,
                    format,
                    sse_algorithm: request.s3_sse_algorithm.clone(),
                    sse_kms_key_id: request.s3_sse_kms_key_id.clone(),
                    increment,
                })
            }
            _ => {
                self.fail_orphan(record, "export");
                None
            }
        }
    }

    /// The task of an import another node left unfinished, to run again from the start (into
    /// its table, still `CREATING`); `None` (the record failed, its table deleted) when it
    /// cannot run again.
    pub(crate) fn import_task(&self, record: ImportRecord) -> Option<ImportTask> {
        let member = |name: &str| record.request.get(name).cloned();
        let source: Option<crate::api::S3BucketSource> =
            member("S3BucketSource").and_then(|v| serde_json::from_value(v).ok());
        let options: Option<crate::api::InputFormatOptions> =
            member("InputFormatOptions").and_then(|v| serde_json::from_value(v).ok());
        let format = member("InputFormat").and_then(|v| v.as_str().and_then(LineFormat::parse));
        let compression = member("InputCompressionType").map_or(Some(Compression::None), |v| {
            v.as_str().and_then(Compression::parse)
        });
        let csv = options.and_then(|o| o.csv);
        let delimiter = match csv.as_ref().and_then(|c| c.delimiter.as_deref()) {
            None => Some(b','),
            Some(d) => match d.as_bytes() {
                [c] => Some(*c),
                _ => None,
            },
        };
        let table = self
            .catalog
            .all()
            .into_iter()
            .find(|t| t.descriptor().uuid == record.table_id);
        let buckets = source
            .as_ref()
            .and_then(|s| self.buckets(s.s3_bucket_owner.as_deref()));
        match (table, source, buckets, format, compression, delimiter) {
            (
                Some(table),
                Some(source),
                Some(buckets),
                Some(format),
                Some(compression),
                Some(csv_delimiter),
            ) if source.s3_bucket.is_some() => {
                let import_id = record.arn.rsplit('/').next().unwrap_or_default();
                let log_path = buckets
                    .import_log_dir()
                    .map(|dir| dir.join(format!("{import_id}.log")));
                Some(ImportTask {
                    record,
                    table,
                    active_at_ms: self.clock.now_millis(),
                    buckets,
                    bucket: source.s3_bucket.unwrap_or_default(),
                    prefix: source.s3_key_prefix.unwrap_or_default(),
                    format,
                    compression,
                    csv_delimiter,
                    csv_header: csv.and_then(|c| c.header_list),
                    log_path,
                })
            }
            _ => {
                self.fail_orphan(record, "import");
                None
            }
        }
    }

    /// Fails a job another node left and that cannot run again (an import's table deleted).
    fn fail_orphan<R: super::Record + HasStatus>(&self, mut record: R, what: &str) {
        tracing::error!(job = %record.arn(), "a stopped node's {what} cannot run again: failing it");
        record.finish(
            JobStatus::Failed {
                code: INTERRUPTED_CODE.to_owned(),
                message: format!(
                    "The {what} was interrupted because the binderdb node running it stopped, and \
                     it could not be started again; start it again"
                ),
            },
            self.clock.now_millis(),
        );
        if what == "import" {
            if let Some(table) = self
                .catalog
                .all()
                .into_iter()
                .map(|t| t.descriptor())
                .find(|d| d.uuid == record.table_id())
            {
                if let Err(e) = self.remove_table(&table) {
                    tracing::error!(error = %e, "could not delete a failed import's table");
                }
            }
        }
        self.save(&record);
    }

    fn save<R: super::Record>(&self, record: &R) {
        if let Err(e) = super::save(self.store.as_ref(), record) {
            tracing::error!(error = %e, job = %record.arn(), "could not save an export/import record");
        }
    }

    /// Runs `task` to its end (or until `stop`), recording the outcome.
    pub(crate) fn run_export(&self, task: ExportTask, stop: &AtomicBool) {
        let mut record = task.record;
        let job = ExportJob {
            buckets: task.buckets.as_ref(),
            bucket: &task.bucket,
            prefix: &task.prefix,
            export_id: &task.export_id,
            export_arn: &record.arn,
            table_arn: &record.table_arn,
            table_id: &record.table_id,
            format: task.format,
            start_ms: record.start_ms,
            export_time_ms: record.export_time_ms,
            sse_algorithm: task.sse_algorithm.as_deref(),
            sse_kms_key_id: task.sse_kms_key_id.as_deref(),
        };
        let outcome = match &task.increment {
            Some(increment) => match self.compacted_changes(&task.table, increment) {
                Ok(changes) => {
                    let mut lines = changes
                        .into_iter()
                        .take_while(|_| !stop.load(Ordering::Relaxed));
                    let result = job.run_incremental(increment, &mut lines);
                    if stop.load(Ordering::Relaxed) {
                        Err(ExportFailure::Interrupted)
                    } else {
                        result
                    }
                }
                Err(e) => Err(ExportFailure::Engine(e)),
            },
            None => {
                let mut stopped = false;
                let result = job.run(&mut |visit| {
                    pitr::log::items_at(
                        self.store.as_ref(),
                        &self.pitr_clock,
                        self.clock.now_millis(),
                        &task.table,
                        record.export_time_ms,
                        &mut |_, _, value| {
                            if !self.item_delay.is_zero() {
                                std::thread::sleep(self.item_delay);
                            }
                            if stop.load(Ordering::Relaxed) {
                                stopped = true;
                                return ControlFlow::Break(());
                            }
                            visit(value)
                        },
                    )
                });
                if stopped {
                    Err(ExportFailure::Interrupted)
                } else {
                    result
                }
            }
        };
        match outcome {
            Ok(outcome) => {
                record.status = JobStatus::Completed;
                record.item_count = outcome.item_count;
                record.billed_size_bytes = outcome.billed_size_bytes;
                record.manifest = Some(outcome.manifest_key);
            }
            Err(ExportFailure::Object(e)) => {
                record.status = JobStatus::Failed {
                    code: e.code,
                    message: e.message,
                };
            }
            Err(ExportFailure::Engine(e)) => {
                tracing::error!(error = %e, export = %record.arn, "export failed");
                record.status = JobStatus::Failed {
                    code: "UNKNOWN".to_owned(),
                    message: "The export failed because of an internal error".to_owned(),
                };
            }
            // The record stays IN_PROGRESS; the next start marks it FAILED.
            Err(ExportFailure::Interrupted) => return,
        }
        record.end_ms = Some(self.clock.now_millis().max(record.start_ms));
        self.save(&record);
    }

    /// The changes of `table` in `increment`'s period, one per item: its image at the end of
    /// the period and (for NEW_AND_OLD_IMAGES) at its start, stamped with its last write.
    /// An item created and deleted within the period is left out. Memory: the changed keys.
    fn compacted_changes(
        &self,
        table: &Table,
        increment: &Increment,
    ) -> Result<Vec<Result<ChangeLine>>> {
        let descriptor = table.descriptor();
        let pitr = descriptor
            .pitr
            .as_ref()
            .ok_or_else(|| pitr::unavailable(&descriptor.name))?;
        // Nothing was logged after the log clock's last instant: the walk ends there.
        let through_ms = increment
            .to_ms
            .min(self.pitr_clock.last_ms().max(self.clock.now_millis()));
        // Each key's changes, placed in commit order (see `pitr::log::KeyHistory`).
        let mut by_key: std::collections::HashMap<(Vec<u8>, Vec<u8>), pitr::log::KeyHistory> =
            std::collections::HashMap::new();
        pitr::log::changes(
            self.store.as_ref(),
            pitr,
            increment.from_ms,
            through_ms,
            &mut |c| {
                by_key
                    .entry((c.partition.to_vec(), c.sort.to_vec()))
                    .or_insert_with(|| pitr::log::KeyHistory::new(true))
                    .add(&c);
                ControlFlow::Continue(())
            },
        )?;
        let schema = descriptor.key_schema.clone();
        let with_old = increment.view == "NEW_AND_OLD_IMAGES";
        let decode = |b: Option<Vec<u8>>| -> Result<Option<Item>> {
            b.map(|b| decode_item(&b).map_err(Error::from)).transpose()
        };
        Ok(by_key
            .into_values()
            .map(|history| {
                let (time_ms, new) = history.after();
                (
                    time_ms,
                    history.before().map(<[u8]>::to_vec),
                    new.map(<[u8]>::to_vec),
                )
            })
            .filter(|(_, old, new)| old.is_some() || new.is_some())
            .map(|(time_ms, old, new)| {
                let (old, new) = (decode(old)?, decode(new)?);
                let any = new.as_ref().or(old.as_ref());
                let mut keys = Item::new();
                for attr in std::iter::once(&schema.hash).chain(schema.range.as_ref()) {
                    if let Some(v) = any.and_then(|i| i.get(&attr.name)) {
                        keys.insert(attr.name.clone(), v.clone());
                    }
                }
                Ok(ChangeLine {
                    write_micros: time_ms * 1000,
                    keys,
                    new,
                    old: if with_old { old } else { None },
                })
            })
            .collect())
    }

    /// Runs `task` to its end (or until `stop`): loads the objects, then makes the table
    /// `ACTIVE`, or deletes it if the import failed.
    pub(crate) fn run_import(&self, task: ImportTask, stop: &AtomicBool) {
        let mut record = task.record;
        let mut log: Box<dyn std::io::Write> = match &task.log_path {
            Some(path) => match path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::File::create(path))
            {
                Ok(f) => Box::new(std::io::BufWriter::new(f)),
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "import log not writable");
                    Box::new(std::io::sink())
                }
            },
            None => Box::new(std::io::sink()),
        };
        let source = ImportSource {
            buckets: task.buckets.as_ref(),
            bucket: &task.bucket,
            prefix: &task.prefix,
            format: task.format,
            compression: task.compression,
            csv_delimiter: task.csv_delimiter,
            csv_header: task.csv_header,
            line_delay: self.item_delay,
        };
        let descriptor = task.table.descriptor();
        let mut saved_at = Instant::now();
        let outcome = {
            let mut progress = |counts: &import::ImportCounts| {
                if saved_at.elapsed() >= PROGRESS_EVERY {
                    saved_at = Instant::now();
                    let mut live = record.clone();
                    set_counts(&mut live, counts);
                    self.save(&live);
                }
            };
            import::load(
                self.store.as_ref(),
                &descriptor,
                &source,
                log.as_mut(),
                stop,
                &mut progress,
            )
        };
        let _ = log.flush();
        match outcome {
            Ok(counts) => {
                set_counts(&mut record, &counts);
                if let Err(e) = self.activate(&task.table, task.active_at_ms) {
                    tracing::error!(error = %e, import = %record.arn, "import failed");
                    record.status = internal_failure();
                } else {
                    record.status = JobStatus::Completed;
                }
            }
            Err(ImportFailure::Interrupted) => return,
            Err(ImportFailure::Object(e)) => {
                record.status = JobStatus::Failed {
                    code: e.code,
                    message: e.message,
                };
            }
            Err(ImportFailure::Engine(e)) => {
                tracing::error!(error = %e, import = %record.arn, "import failed");
                record.status = internal_failure();
            }
        }
        if record.status != JobStatus::Completed {
            // A failed import leaves no table behind.
            if let Err(e) = self.remove_table(&task.table.descriptor()) {
                tracing::error!(error = %e, import = %record.arn, "could not delete a failed import's table");
            }
        }
        record.end_ms = Some(self.clock.now_millis().max(record.start_ms));
        self.save(&record);
    }

    /// Makes a loaded table `ACTIVE` (at `active_at_ms`, or now if later).
    fn activate(&self, table: &Table, active_at_ms: u64) -> Result<()> {
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let current = table.descriptor();
        self.catalog.put(
            self.store.as_ref(),
            TableDescriptor {
                active_at_ms: active_at_ms.max(self.clock.now_millis()),
                ..(*current).clone()
            },
        )?;
        Ok(())
    }

    fn remove_table(&self, descriptor: &TableDescriptor) -> Result<()> {
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        self.catalog.remove(
            self.store.as_ref(),
            descriptor,
            self.clock.now_millis(),
            self.stream_retention_ms,
        )
    }

    /// At start-up: marks every export and import a stop interrupted `FAILED`, and deletes the
    /// tables of interrupted imports. Returns how many jobs it failed.
    pub(crate) fn fail_interrupted(&self) -> Result<usize> {
        let now = self.clock.now_millis();
        let message = |what: &str| {
            format!(
                "The {what} was interrupted because binderdb stopped while it ran; start it again"
            )
        };
        let mut failed = 0;
        let (exports, _) = super::list::<ExportRecord>(
            self.store.as_ref(),
            None,
            usize::MAX,
            &|r: &ExportRecord| r.status == JobStatus::InProgress,
        )?;
        for mut record in exports {
            record.status = JobStatus::Failed {
                code: INTERRUPTED_CODE.to_owned(),
                message: message("export"),
            };
            record.end_ms = Some(now.max(record.start_ms));
            super::save(self.store.as_ref(), &record)?;
            failed += 1;
        }
        let (imports, _) = super::list::<ImportRecord>(
            self.store.as_ref(),
            None,
            usize::MAX,
            &|r: &ImportRecord| r.status == JobStatus::InProgress,
        )?;
        for mut record in imports {
            if let Some(table) = self
                .catalog
                .all()
                .into_iter()
                .map(|t| t.descriptor())
                .find(|d| d.uuid == record.table_id)
            {
                self.remove_table(&table)?;
            }
            record.status = JobStatus::Failed {
                code: INTERRUPTED_CODE.to_owned(),
                message: message("import"),
            };
            record.end_ms = Some(now.max(record.start_ms));
            super::save(self.store.as_ref(), &record)?;
            failed += 1;
        }
        Ok(failed)
    }
}

/// What [`JobContext::fail_orphan`] needs of a record.
pub(crate) trait HasStatus {
    /// Its status.
    fn status(&self) -> &JobStatus;
    /// `TableId`.
    fn table_id(&self) -> &str;
    /// Ends it with `status` at `now_ms`.
    fn finish(&mut self, status: JobStatus, now_ms: u64);
}

/// Both job records keep their status, table and times in fields of the same names.
macro_rules! has_status {
    ($($record:ty),*) => {$(
        impl HasStatus for $record {
            fn status(&self) -> &JobStatus {
                &self.status
            }
            fn table_id(&self) -> &str {
                &self.table_id
            }
            fn finish(&mut self, status: JobStatus, now_ms: u64) {
                self.status = status;
                self.end_ms = Some(now_ms.max(self.start_ms));
            }
        }
    )*};
}

has_status!(ExportRecord, ImportRecord);

/// Seconds since the epoch (a request's time member) in ms; `None` when not a time.
pub(crate) fn seconds_to_ms(t: f64) -> Option<u64> {
    (t.is_finite() && t >= 0.0).then_some((t * 1000.0) as u64)
}

fn internal_failure() -> JobStatus {
    JobStatus::Failed {
        code: "UNKNOWN".to_owned(),
        message: "The import failed because of an internal error".to_owned(),
    }
}

fn set_counts(record: &mut ImportRecord, counts: &import::ImportCounts) {
    record.error_count = counts.errors;
    record.processed_size_bytes = counts.processed_bytes;
    record.processed_item_count = counts.processed_items;
    record.imported_item_count = counts.imported_items;
}
