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
use binderdb_model::{decode_item, item_size};
use binderdb_storage::{Keyspace, SegmentScan, Store, TableId};
use flate2::write::GzEncoder;
use md5::{Digest, Md5};

use super::format::{write_line, LineFormat};
use super::ion;
use super::iso8601;
use super::objects::{LocalBuckets, ObjectError, ObjectWriter};
use crate::error::Error;

/// Uncompressed bytes of lines after which a data file is closed and the next one begun.
pub const FILE_BYTES: usize = 128 * 1024 * 1024;

/// Lines are gathered into a buffer of this size before they are compressed.
const BUFFER_BYTES: usize = 256 * 1024;

/// What a full export is asked to write.
#[derive(Debug)]
pub struct ExportJob<'a> {
    /// The buckets.
    pub buckets: &'a LocalBuckets,
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
    /// The table's storage id.
    pub storage_id: TableId,
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

fn io_failure(e: &std::io::Error) -> ExportFailure {
    ExportFailure::Object(ObjectError {
        code: "S3AccessDenied".to_owned(),
        message: e.to_string(),
    })
}

/// An object being written through gzip, hashing what reaches the object.
struct DataFile {
    key: String,
    items: i64,
    raw_bytes: usize,
    encoder: GzEncoder<Hashing>,
}

/// Passes bytes on and keeps their MD5 (the manifests name each object's).
struct Hashing {
    inner: ObjectWriter,
    md5: Md5,
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

/// One `manifest-files.json` line's worth.
struct Written {
    key: String,
    items: i64,
    md5: Vec<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ExportJob<'_> {
    /// `<prefix>/AWSDynamoDB/<ExportId>/` (no leading `/` without a prefix).
    pub fn base(&self) -> String {
        let prefix = self.prefix.trim_end_matches('/');
        if prefix.is_empty() {
            format!("AWSDynamoDB/{}/", self.export_id)
        } else {
            format!("{prefix}/AWSDynamoDB/{}/", self.export_id)
        }
    }

    fn open(&self) -> Result<DataFile, ExportFailure> {
        let key = format!(
            "{}data/{}.{}.gz",
            self.base(),
            uuid::Uuid::new_v4().simple(),
            self.format.extension()
        );
        let inner = self.buckets.create(self.bucket, &key)?;
        let mut encoder = GzEncoder::new(
            Hashing {
                inner,
                md5: Md5::new(),
            },
            // The fast level: exports are bound by compression, and DynamoDB's own files are
            // plain gzip that any level decodes.
            flate2::Compression::fast(),
        );
        if self.format == LineFormat::Ion {
            encoder
                .write_all(ion::VERSION_MARKER.as_bytes())
                .and_then(|()| encoder.write_all(b"\n"))
                .map_err(|e| io_failure(&e))?;
        }
        Ok(DataFile {
            key,
            items: 0,
            raw_bytes: 0,
            encoder,
        })
    }

    fn close(file: DataFile) -> Result<Written, ExportFailure> {
        let hashing = file.encoder.finish().map_err(|e| io_failure(&e))?;
        let md5 = hashing.md5.finalize().to_vec();
        hashing.inner.finish()?;
        Ok(Written {
            key: file.key,
            items: file.items,
            md5,
        })
    }

    /// Writes the export. The items are those of one consistent snapshot of the table.
    ///
    /// # Errors
    /// [`ExportFailure::Object`] when the destination refuses (a missing bucket); engine
    /// failures otherwise.
    pub fn run(&self, store: &dyn Store) -> Result<ExportOutcome, ExportFailure> {
        let base = self.base();
        self.buckets
            .put(self.bucket, &format!("{base}_started"), b"")?;
        let mut written: Vec<Written> = Vec::new();
        let mut current = Some(self.open()?);
        let mut failure: Option<ExportFailure> = None;
        let mut text = String::with_capacity(BUFFER_BYTES + 4096);
        let mut total_items = 0i64;
        let mut total_bytes = 0i64;
        let scan = SegmentScan {
            keyspace: Keyspace::Items,
            table: self.storage_id,
            segment: 0,
            total_segments: 1,
            start_after: None,
        };
        let flush = |text: &mut String, file: &mut DataFile| -> Result<(), ExportFailure> {
            file.encoder
                .write_all(text.as_bytes())
                .map_err(|e| io_failure(&e))?;
            file.raw_bytes += text.len();
            text.clear();
            Ok(())
        };
        store
            .scan(&scan, &mut |entry| {
                let step = (|| -> Result<(), ExportFailure> {
                    let item = decode_item(entry.value).map_err(Error::from)?;
                    total_items += 1;
                    total_bytes += item_size(&item) as i64;
                    write_line(self.format, &item, &mut text);
                    let Some(file) = current.as_mut() else {
                        return Ok(());
                    };
                    file.items += 1;
                    if text.len() >= BUFFER_BYTES {
                        flush(&mut text, file)?;
                        if file.raw_bytes >= FILE_BYTES {
                            if let Some(full) = current.take() {
                                written.push(Self::close(full)?);
                            }
                            current = Some(self.open()?);
                        }
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
            })
            .map_err(Error::from)?;
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(mut file) = current.take() {
            flush(&mut text, &mut file)?;
            written.push(Self::close(file)?);
        }
        let mut files = String::new();
        for w in &written {
            let line = serde_json::json!({
                "itemCount": w.items,
                "md5Checksum": base64::engine::general_purpose::STANDARD.encode(&w.md5),
                "etag": hex(&w.md5),
                "dataFileS3Key": w.key,
            });
            files.push_str(&line.to_string());
            files.push('\n');
        }
        let files_key = format!("{base}manifest-files.json");
        self.buckets
            .put(self.bucket, &files_key, files.as_bytes())?;
        self.buckets.put(
            self.bucket,
            &format!("{base}manifest-files.checksum"),
            hex(&Md5::digest(files.as_bytes())).as_bytes(),
        )?;
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
            "manifestFilesS3Key": files_key,
            "billedSizeBytes": total_bytes,
            "itemCount": total_items,
            "outputFormat": self.format.as_str(),
            "exportType": "FULL_EXPORT",
        });
        let summary = summary.to_string();
        let summary_key = format!("{base}manifest-summary.json");
        self.buckets
            .put(self.bucket, &summary_key, summary.as_bytes())?;
        self.buckets.put(
            self.bucket,
            &format!("{base}manifest-summary.checksum"),
            hex(&Md5::digest(summary.as_bytes())).as_bytes(),
        )?;
        Ok(ExportOutcome {
            item_count: total_items,
            billed_size_bytes: total_bytes,
            manifest_key: summary_key,
        })
    }
}
