//! Exports to and imports from S3 (ExportTableToPointInTime, ImportTable): the records kept
//! about them, the file formats, the streaming export writer and the import loader.
//!
//! - [`objects`]: the object-store contract exports and imports use, and buckets mapped to
//!   local directories (`--s3-dir`); an S3-compatible server (`--s3-endpoint`) implements the
//!   same contract in `binderdb-s3`.
//! - [`format`] and [`ion`]: DynamoDB JSON, Ion and CSV lines; GZIP, ZSTD and no compression.
//! - [`export`]: writes a table's items from one consistent snapshot, streaming, in DynamoDB's
//!   layout (`AWSDynamoDB/<ExportId>/manifest-summary.json`, `manifest-files.json`, their
//!   `.checksum`s, `_started`, `data/*.json.gz` or `data/*.ion.gz`).
//! - [`import`]: reads every object under a prefix into a new table, counting and logging the
//!   lines that are not items.
//! - [`jobs`]: both run as background jobs with durable records; a restart fails the ones it
//!   interrupted.
//!
//! Records are versioned JSON in the `Catalog` keyspace, partitions `#exports` and `#imports`,
//! sort key = ARN, so a listing walks them in ARN order (table, then start time).
//!
//! Must not depend on: HTTP or a concrete storage engine.

pub mod export;
pub mod format;
pub mod import;
pub mod ion;
pub(crate) mod jobs;
pub mod objects;
pub(crate) mod tokens;

use binderdb_storage::{Batch, Key, Keyspace, Store, Write};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::catalog::CATALOG_TABLE;
use crate::error::{Error, Result};

/// The on-disk format version of [`ExportRecord`] and [`ImportRecord`].
pub const RECORD_FORMAT: u32 = 1;

/// Catalog partition of export records.
pub const EXPORT_PARTITION: &[u8] = b"#exports";
/// Catalog partition of import records.
pub const IMPORT_PARTITION: &[u8] = b"#imports";

/// `IN_PROGRESS`, `COMPLETED` or `FAILED` with DynamoDB's `FailureCode` and `FailureMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    /// Running.
    InProgress,
    /// Done.
    Completed,
    /// Given up, with its code and message.
    Failed {
        /// `FailureCode`.
        code: String,
        /// `FailureMessage`.
        message: String,
    },
}

impl JobStatus {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed { .. } => "FAILED",
        }
    }
}

/// Everything stored about one export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// Always [`RECORD_FORMAT`].
    pub format: u32,
    /// `ExportArn`.
    pub arn: String,
    /// The caller's account (another account neither lists nor finds it).
    pub account: Option<String>,
    /// `TableArn`.
    pub table_arn: String,
    /// `TableId`.
    pub table_id: String,
    /// The request as given (ClientToken idempotency compares it), as JSON.
    pub request: serde_json::Value,
    /// `ClientToken`.
    pub client_token: Option<String>,
    /// `ExportFormat`.
    pub export_format: String,
    /// `ExportType`.
    pub export_type: String,
    /// `ExportTime`, ms.
    pub export_time_ms: u64,
    /// `StartTime`, ms.
    pub start_ms: u64,
    /// `EndTime`, ms, once finished.
    pub end_ms: Option<u64>,
    /// The status.
    pub status: JobStatus,
    /// `ExportManifest`: the key of `manifest-summary.json`, once written.
    pub manifest: Option<String>,
    /// `ItemCount`.
    pub item_count: i64,
    /// `BilledSizeBytes`.
    pub billed_size_bytes: i64,
}

/// Everything stored about one import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    /// Always [`RECORD_FORMAT`].
    pub format: u32,
    /// `ImportArn`.
    pub arn: String,
    /// The caller's account.
    pub account: Option<String>,
    /// `TableArn`.
    pub table_arn: String,
    /// `TableId`.
    pub table_id: String,
    /// The request as given, as JSON (echoed in the description, compared for ClientToken).
    pub request: serde_json::Value,
    /// `ClientToken`.
    pub client_token: Option<String>,
    /// `StartTime`, ms.
    pub start_ms: u64,
    /// `EndTime`, ms, once finished.
    pub end_ms: Option<u64>,
    /// The status.
    pub status: JobStatus,
    /// `ErrorCount`: lines that were not importable items.
    pub error_count: i64,
    /// `ProcessedSizeBytes`: bytes of the source objects read.
    pub processed_size_bytes: i64,
    /// `ProcessedItemCount`: lines read as items or errors.
    pub processed_item_count: i64,
    /// `ImportedItemCount`.
    pub imported_item_count: i64,
    /// Where the error log of this import is (a local file; see the server docs).
    pub log_path: Option<String>,
}

/// A record kept in a catalog partition, by ARN.
pub trait Record: Serialize + DeserializeOwned {
    /// The catalog partition.
    const PARTITION: &'static [u8];
    /// Where the ClientTokens of these jobs are claimed ([`tokens`]).
    const TOKEN_PARTITION: &'static [u8];
    /// Its ARN.
    fn arn(&self) -> &str;
    /// Its format version.
    fn format(&self) -> u32;
}

impl Record for ExportRecord {
    const PARTITION: &'static [u8] = EXPORT_PARTITION;
    const TOKEN_PARTITION: &'static [u8] = b"#export-tokens";
    fn arn(&self) -> &str {
        &self.arn
    }
    fn format(&self) -> u32 {
        self.format
    }
}

impl Record for ImportRecord {
    const PARTITION: &'static [u8] = IMPORT_PARTITION;
    const TOKEN_PARTITION: &'static [u8] = b"#import-tokens";
    fn arn(&self) -> &str {
        &self.arn
    }
    fn format(&self) -> u32 {
        self.format
    }
}

fn record_key<R: Record>(arn: &str) -> Key {
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: R::PARTITION.to_vec(),
        sort: arn.as_bytes().to_vec(),
    }
}

fn decode<R: Record>(bytes: &[u8]) -> Result<R> {
    match serde_json::from_slice::<R>(bytes) {
        Ok(r) if r.format() == RECORD_FORMAT => Ok(r),
        Ok(r) => Err(Error::Internal(format!(
            "unknown export/import record format {}",
            r.format()
        ))),
        Err(e) => Err(Error::Internal(format!(
            "corrupt export/import record: {e}"
        ))),
    }
}

/// The record with ARN `arn`, if there is one.
///
/// # Errors
/// Storage failures or an undecodable record.
pub fn load<R: Record>(store: &dyn Store, arn: &str) -> Result<Option<R>> {
    store
        .get(&record_key::<R>(arn))?
        .map(|v| decode(&v.value))
        .transpose()
}

/// Stores (or replaces) `record`.
///
/// # Errors
/// Storage or encoding failures.
pub fn save<R: Record>(store: &dyn Store, record: &R) -> Result<()> {
    let value = serde_json::to_vec(record).map_err(|e| Error::Internal(e.to_string()))?;
    store.commit(Batch {
        writes: vec![Write::Put {
            key: record_key::<R>(record.arn()),
            value,
        }],
        guards: Vec::new(),
    })?;
    Ok(())
}

/// Records strictly after `after` (an ARN), in ARN order, for which `keep` holds: at most
/// `limit`, plus whether more matched.
///
/// # Errors
/// Storage failures or an undecodable record.
pub fn list<R: Record>(
    store: &dyn Store,
    after: Option<&str>,
    limit: usize,
    keep: &dyn Fn(&R) -> bool,
) -> Result<(Vec<R>, bool)> {
    crate::catalog::list_records(store, R::PARTITION, after, limit, &decode::<R>, keep)
}

/// An ISO-8601 UTC timestamp with milliseconds (`2020-11-04T07:28:34.028Z`), as the manifests
/// write times.
pub fn iso8601(ms: u64) -> String {
    format!("{}Z", crate::stream::iso_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_604_474_914_028), "2020-11-04T07:28:34.028Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    /// An export record as format 1 writes it. If this stops decoding, the stored format
    /// changed: bump [`RECORD_FORMAT`] and migrate instead of editing the fixture.
    const EXPORT_FIXTURE: &str = r#"{"format":1,"arn":"arn:aws:dynamodb:us-east-1:000000000000:table/T/export/01700000000000-0a1b2c3d","account":null,"table_arn":"arn:aws:dynamodb:us-east-1:000000000000:table/T","table_id":"u","request":{"S3Bucket":"b"},"client_token":"t","export_format":"DYNAMODB_JSON","export_type":"FULL_EXPORT","export_time_ms":1700000000000,"start_ms":1700000000000,"end_ms":1700000000100,"status":{"Failed":{"code":"S3NoSuchBucket","message":"m"}},"manifest":null,"item_count":3,"billed_size_bytes":42}"#;
    const IMPORT_FIXTURE: &str = r#"{"format":1,"arn":"arn:aws:dynamodb:us-east-1:000000000000:table/T/import/01700000000000-0a1b2c3d","account":"111122223333","table_arn":"arn:aws:dynamodb:us-east-1:000000000000:table/T","table_id":"u","request":{},"client_token":null,"start_ms":1,"end_ms":null,"status":"InProgress","error_count":2,"processed_size_bytes":10,"processed_item_count":5,"imported_item_count":3,"log_path":"/x.log"}"#;

    #[test]
    fn format_1_fixtures_still_decode() {
        let e: ExportRecord = decode(EXPORT_FIXTURE.as_bytes()).unwrap();
        assert_eq!(e.status.as_str(), "FAILED");
        assert_eq!(serde_json::to_string(&e).unwrap(), EXPORT_FIXTURE);
        let i: ImportRecord = decode(IMPORT_FIXTURE.as_bytes()).unwrap();
        assert_eq!(i.status, JobStatus::InProgress);
        assert_eq!(serde_json::to_string(&i).unwrap(), IMPORT_FIXTURE);
    }
}
