//! The full export writer: a table's items from ONE consistent storage snapshot, streamed into
//! gzip-compressed data files, then the manifests, laid out as DynamoDB lays them out:
//!
//! ```text
//! <S3Prefix>/AWSDynamoDB/<ExportId>/_started                      (empty, written first)
//! <S3Prefix>/AWSDynamoDB/<ExportId>/data/<random>.json.gz         (or .ion.gz)
//! <S3Prefix>/AWSDynamoDB/<ExportId>/manifest-files.json           (one JSON line per data file)
//! <S3Prefix>/AWSDynamoDB/<ExportId>/manifest-files.checksum       (hex MD5 of the above)
//! <S3Prefix>/AWSDynamoDB/<ExportId>/manifest-summary.json
//! <S3Prefix>/AWSDynamoDB/<ExportId>/manifest-summary.checksum
//! ```
//!
//! A `manifest-files.json` line is `{"itemCount":N,"md5Checksum":"<base64 MD5 of the object>",
//! "etag":"<hex MD5>","dataFileS3Key":"<key>"}`. Keys named in manifests are whole object keys
//! (the prefix included), so a reader finds the files wherever the export was written.
//!
//! Memory does not grow with the table: each item is decoded, written and dropped inside the
//! storage walk; a data file is closed after [`FILE_BYTES`] of uncompressed lines, so large
//! exports come in several files (DynamoDB writes at least one per partition).

use std::io::Write;
use std::ops::ControlFlow;

use base64::Engine as _;
use binderdb_model::{decode_item, item_size, Item};
use binderdb_storage::{Keyspace, SegmentScan, Store, TableId};
use flate2::write::GzEncoder;
use md5::{Digest, Md5};

use super::format::{write_change_line, write_line, ChangeLine, LineFormat};
use super::ion;
use super::iso8601;
use super::objects::{ObjectError, ObjectSink, ObjectStore};
use crate::error::Error;

/// Uncompressed bytes of lines after which a data file is closed and the next one begun.
pub const FILE_BYTES: usize = 128 * 1024 * 1024;

/// Lines are gathered into a buffer of this size before they are compressed.
const BUFFER_BYTES: usize = 256 * 1024;

/// What a full export is asked to write.
#[derive(Debug)]
pub struct ExportJob<'a> {
    /// The buckets.
    pub buckets: &'a dyn ObjectStore,
    /// `S3Bucket`.
    pub bucket: &'a str,
    /// `S3Prefix` (may be empty).
    pub prefix: &'a str,
    /// The last part of the ExportArn.
    pub export_id: &'a str,
    /// `ExportArn`.
    pub export_arn: &'a str,
    /// `TableArn`.
    pub table_arn: &'a str,
    /// `TableId`.
    pub table_id: &'a str,
    /// `ExportFormat`.
    pub format: LineFormat,
    /// `StartTime`, ms.
    pub start_ms: u64,
    /// `ExportTime`, ms.
    pub export_time_ms: u64,
    /// `S3SseAlgorithm`, echoed in the summary.
    pub sse_algorithm: Option<&'a str>,
    /// `S3SseKmsKeyId`, echoed in the summary.
    pub sse_kms_key_id: Option<&'a str>,
}

/// Visits encoded items until the visitor breaks.
pub type ItemWalk<'w> =
    &'w mut dyn FnMut(&mut dyn FnMut(&[u8]) -> ControlFlow<()>) -> Result<(), Error>;

/// The current items of storage id `table`, from one consistent snapshot.
///
/// # Errors
/// Storage failures.
pub fn current_items(
    store: &dyn Store,
    table: TableId,
    visit: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
) -> Result<(), Error> {
    let scan = SegmentScan {
        keyspace: Keyspace::Items,
        table,
        segment: 0,
        total_segments: 1,
        start_after: None,
    };
    store.scan(&scan, &mut |entry| visit(entry.value))?;
    Ok(())
}

/// What a completed export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    /// Items written.
    pub item_count: i64,
    /// Their size as DynamoDB bills it (the table's size).
    pub billed_size_bytes: i64,
    /// The key of `manifest-summary.json`.
    pub manifest_key: String,
}

/// Why an export failed.
#[derive(Debug)]
pub enum ExportFailure {
    /// The destination refused (recorded as the export's FailureCode and FailureMessage).
    Object(ObjectError),
    /// The database failed (a real server fault).
    Engine(Error),
    /// The server is shutting down: the export stops where it is (its record stays
    /// `IN_PROGRESS`, and the next start marks it `FAILED`).
    Interrupted,
}

impl From<ObjectError> for ExportFailure {
    fn from(e: ObjectError) -> Self {
        ExportFailure::Object(e)
    }
}

impl From<Error> for ExportFailure {
    fn from(e: Error) -> Self {
        ExportFailure::Engine(e)
    }
}

/// One data file being written: lines are buffered, compressed with gzip, and hashed as they
/// reach the object (the manifests name each object's MD5). Used by the server's exports and
/// by `binderdb export`.
#[derive(Debug)]
pub struct DataFileWriter {
    key: String,
    format: LineFormat,
    items: i64,
    raw_bytes: usize,
    text: String,
    encoder: GzEncoder<Hashing>,
}

/// Passes bytes on and keeps their MD5.
struct Hashing {
    inner: Box<dyn ObjectSink>,
    md5: Md5,
}

impl std::fmt::Debug for Hashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashing").finish_non_exhaustive()
    }
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One `manifest-files.json` line's worth: a finished data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFileEntry {
    /// `dataFileS3Key`.
    pub key: String,
    /// `itemCount`.
    pub items: i64,
    /// The object's MD5.
    pub md5: Vec<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(e: &std::io::Error) -> ObjectError {
    ObjectError::io(e)
}

impl DataFileWriter {
    /// Starts the data file `<base>data/<random>.<ext>.gz` in `bucket`.
    ///
    /// # Errors
    /// The bucket's.
    pub fn create(
        buckets: &dyn ObjectStore,
        bucket: &str,
        base: &str,
        format: LineFormat,
    ) -> Result<DataFileWriter, ObjectError> {
        let key = format!(
            "{base}data/{}.{}.gz",
            uuid::Uuid::new_v4().simple(),
            format.extension()
        );
        let inner = buckets.create(bucket, &key)?;
        // The fast level: exports are bound by compression, and any level decodes the same.
        let encoder = GzEncoder::new(
            Hashing {
                inner,
                md5: Md5::new(),
            },
            flate2::Compression::fast(),
        );
        let mut text = String::with_capacity(BUFFER_BYTES + 4096);
        if format == LineFormat::Ion {
            text.push_str(ion::VERSION_MARKER);
            text.push('\n');
        }
        Ok(DataFileWriter {
            key,
            format,
            items: 0,
            raw_bytes: 0,
            text,
            encoder,
        })
    }

    /// Appends `item`'s line.
    ///
    /// # Errors
    /// The object's.
    pub fn write_item(&mut self, item: &Item) -> Result<(), ObjectError> {
        write_line(self.format, item, &mut self.text);
        self.items += 1;
        if self.text.len() >= BUFFER_BYTES {
            self.flush_text()?;
        }
        Ok(())
    }

    fn flush_text(&mut self) -> Result<(), ObjectError> {
        self.encoder
            .write_all(self.text.as_bytes())
            .map_err(|e| io_error(&e))?;
        self.raw_bytes += self.text.len();
        self.text.clear();
        Ok(())
    }

    /// Appends an incremental export's change line.
    ///
    /// # Errors
    /// The object's.
    pub fn write_change(&mut self, change: &ChangeLine) -> Result<(), ObjectError> {
        write_change_line(self.format, change, &mut self.text);
        self.items += 1;
        if self.text.len() >= BUFFER_BYTES {
            self.flush_text()?;
        }
        Ok(())
    }

    /// Uncompressed bytes written so far.
    pub fn raw_bytes(&self) -> usize {
        self.raw_bytes + self.text.len()
    }

    /// Completes the object.
    ///
    /// # Errors
    /// The object's.
    pub fn finish(mut self) -> Result<DataFileEntry, ObjectError> {
        self.flush_text()?;
        let hashing = self.encoder.finish().map_err(|e| io_error(&e))?;
        let md5 = hashing.md5.finalize().to_vec();
        hashing.inner.finish()?;
        Ok(DataFileEntry {
            key: self.key,
            items: self.items,
            md5,
        })
    }
}

/// `<prefix>/AWSDynamoDB/<ExportId>/` (no leading `/` without a prefix).
pub fn export_base(prefix: &str, export_id: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        format!("AWSDynamoDB/{export_id}/")
    } else {
        format!("{prefix}/AWSDynamoDB/{export_id}/")
    }
}

/// Writes `manifest-files.json` for `files` and `manifest-summary.json` (`summary`, with
/// `manifestFilesS3Key` added), each with its `.checksum`; returns the summary's key.
///
/// # Errors
/// The bucket's.
pub fn write_manifests(
    buckets: &dyn ObjectStore,
    bucket: &str,
    base: &str,
    files: &[DataFileEntry],
    mut summary: serde_json::Value,
) -> Result<String, ObjectError> {
    let mut lines = String::new();
    for f in files {
        let line = serde_json::json!({
            "itemCount": f.items,
            "md5Checksum": base64::engine::general_purpose::STANDARD.encode(&f.md5),
            "etag": hex(&f.md5),
            "dataFileS3Key": f.key,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let files_key = format!("{base}manifest-files.json");
    buckets.put(bucket, &files_key, lines.as_bytes())?;
    buckets.put(
        bucket,
        &format!("{base}manifest-files.checksum"),
        hex(&Md5::digest(lines.as_bytes())).as_bytes(),
    )?;
    summary["manifestFilesS3Key"] = serde_json::Value::String(files_key);
    let summary = summary.to_string();
    let summary_key = format!("{base}manifest-summary.json");
    buckets.put(bucket, &summary_key, summary.as_bytes())?;
    buckets.put(
        bucket,
        &format!("{base}manifest-summary.checksum"),
        hex(&Md5::digest(summary.as_bytes())).as_bytes(),
    )?;
    Ok(summary_key)
}

impl ExportJob<'_> {
    /// `<prefix>/AWSDynamoDB/<ExportId>/`.
    pub fn base(&self) -> String {
        export_base(self.prefix, self.export_id)
    }

    /// Writes a full export of the items `walk` visits (encoded), which are those of one
    /// consistent state of the table: the current snapshot, or the table at ExportTime read
    /// through the point-in-time recovery log.
    ///
    /// # Errors
    /// [`ExportFailure::Object`] when the destination refuses (a missing bucket); engine
    /// failures otherwise.
    pub fn run(&self, walk: ItemWalk<'_>) -> Result<ExportOutcome, ExportFailure> {
        let base = self.base();
        self.buckets
            .put(self.bucket, &format!("{base}_started"), b"")?;
        let mut written: Vec<DataFileEntry> = Vec::new();
        let mut current = Some(DataFileWriter::create(
            self.buckets,
            self.bucket,
            &base,
            self.format,
        )?);
        let mut failure: Option<ExportFailure> = None;
        let mut total_items = 0i64;
        let mut total_bytes = 0i64;
        walk(&mut |value| {
            let step = (|| -> Result<(), ExportFailure> {
                let item = decode_item(value).map_err(Error::from)?;
                total_items += 1;
                total_bytes += item_size(&item) as i64;
                let Some(file) = current.as_mut() else {
                    return Ok(());
                };
                file.write_item(&item)?;
                if file.raw_bytes() >= FILE_BYTES {
                    if let Some(full) = current.take() {
                        written.push(full.finish()?);
                    }
                    current = Some(DataFileWriter::create(
                        self.buckets,
                        self.bucket,
                        &base,
                        self.format,
                    )?);
                }
                Ok(())
            })();
            match step {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(file) = current.take() {
            written.push(file.finish()?);
        }
        let end_ms = self.start_ms.max(self.export_time_ms);
        let summary = serde_json::json!({
            "version": "2020-06-30",
            "exportArn": self.export_arn,
            "startTime": iso8601(self.start_ms),
            "endTime": iso8601(end_ms),
            "tableArn": self.table_arn,
            "tableId": self.table_id,
            "exportTime": iso8601(self.export_time_ms),
            "s3Bucket": self.bucket,
            "s3Prefix": if self.prefix.is_empty() { None } else { Some(self.prefix) },
            "s3SseAlgorithm": self.sse_algorithm.unwrap_or("AES256"),
            "s3SseKmsKeyId": self.sse_kms_key_id,
            "billedSizeBytes": total_bytes,
            "itemCount": total_items,
            "outputFormat": self.format.as_str(),
            "exportType": "FULL_EXPORT",
        });
        let summary_key = write_manifests(self.buckets, self.bucket, &base, &written, summary)?;
        Ok(ExportOutcome {
            item_count: total_items,
            billed_size_bytes: total_bytes,
            manifest_key: summary_key,
        })
    }
}

/// An incremental export's period and view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    /// `ExportFromTime`, ms.
    pub from_ms: u64,
    /// `ExportToTime`, ms.
    pub to_ms: u64,
    /// `ExportViewType`.
    pub view: String,
}

impl ExportJob<'_> {
    /// Writes an incremental export of `changes` (one compacted change per item, in any
    /// order). Its data files go to the shared `<prefix>/AWSDynamoDB/data/` folder, its
    /// manifests beside a full export's, as DynamoDB lays incremental exports out.
    ///
    /// # Errors
    /// As [`ExportJob::run`].
    pub fn run_incremental(
        &self,
        increment: &Increment,
        changes: &mut dyn Iterator<Item = Result<ChangeLine, Error>>,
    ) -> Result<ExportOutcome, ExportFailure> {
        let base = self.base();
        let shared = export_base(self.prefix, "").replace("AWSDynamoDB//", "AWSDynamoDB/");
        self.buckets
            .put(self.bucket, &format!("{base}_started"), b"")?;
        let mut written = Vec::new();
        let mut file = DataFileWriter::create(self.buckets, self.bucket, &shared, self.format)?;
        let mut total_items = 0i64;
        let mut total_bytes = 0i64;
        for change in changes {
            let change = change?;
            total_items += 1;
            total_bytes += change
                .new
                .as_ref()
                .or(change.old.as_ref())
                .map_or(0, |i| item_size(i) as i64);
            file.write_change(&change)?;
            if file.raw_bytes() >= FILE_BYTES {
                let full = std::mem::replace(
                    &mut file,
                    DataFileWriter::create(self.buckets, self.bucket, &shared, self.format)?,
                );
                written.push(full.finish()?);
            }
        }
        written.push(file.finish()?);
        let summary = serde_json::json!({
            "version": "2023-08-01",
            "exportArn": self.export_arn,
            "startTime": iso8601(self.start_ms),
            "endTime": iso8601(self.start_ms),
            "tableArn": self.table_arn,
            "tableId": self.table_id,
            "exportFromTime": iso8601(increment.from_ms),
            "exportToTime": iso8601(increment.to_ms),
            "s3Bucket": self.bucket,
            "s3Prefix": if self.prefix.is_empty() { None } else { Some(self.prefix) },
            "s3SseAlgorithm": self.sse_algorithm.unwrap_or("AES256"),
            "s3SseKmsKeyId": self.sse_kms_key_id,
            "billedSizeBytes": total_bytes,
            "itemCount": total_items,
            "outputFormat": self.format.as_str(),
            "outputView": increment.view,
            "exportType": "INCREMENTAL_EXPORT",
        });
        let summary_key = write_manifests(self.buckets, self.bucket, &base, &written, summary)?;
        Ok(ExportOutcome {
            item_count: total_items,
            billed_size_bytes: total_bytes,
            manifest_key: summary_key,
        })
    }
}
