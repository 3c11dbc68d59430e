//! The import loader: every object under `S3BucketSource`'s prefix, decompressed and read line
//! by line, written into the new table with its index entries and statistics, in chunks of
//! guarded-free commits (the table is new and is the import's own until ImportTable answers).
//!
//! A line that is not an importable item (unparsable, a missing or mistyped key attribute, an
//! item over 400 KB) is skipped and counted in `ErrorCount`, as DynamoDB does; DynamoDB writes
//! the first errors to a CloudWatch Logs group, binderdb to a local file (see
//! [`super::objects::ObjectStore::import_log_dir`]), one JSON object per error, at most
//! [`MAX_LOGGED_ERRORS`]. A later line with the key of an earlier one replaces it.

use std::collections::HashMap;
use std::io::BufRead;

use binderdb_model::{decode_item, encode_item, item_size, Item, KeyType, MAX_ITEM_SIZE};
use binderdb_storage::{Batch, CounterId, Counts, Store, Write};

use super::format::{read_json_line, Compression, CsvLayout, LineFormat};
use super::ion;
use super::objects::{ObjectError, ObjectStore};
use crate::catalog::TableDescriptor;
use crate::error::Error;
use crate::index::maintain::index_changes;
use crate::index::BaseKey;
use crate::keys::item_key;

/// DynamoDB logs at most this many of an import's errors.
pub const MAX_LOGGED_ERRORS: i64 = 10_000;

/// Items per commit.
const CHUNK: usize = 2048;

/// Where an import reads from and how.
#[derive(Debug)]
pub struct ImportSource<'a> {
    /// The buckets.
    pub buckets: &'a dyn ObjectStore,
    /// `S3Bucket`.
    pub bucket: &'a str,
    /// `S3KeyPrefix` (may be empty).
    pub prefix: &'a str,
    /// `InputFormat`.
    pub format: LineFormat,
    /// `InputCompressionType`.
    pub compression: Compression,
    /// CSV `Delimiter`.
    pub csv_delimiter: u8,
    /// A pause per line (a test hook, see `Config::job_item_delay_us`; zero otherwise).
    pub line_delay: std::time::Duration,
    /// CSV `HeaderList`.
    pub csv_header: Option<Vec<String>>,
}

/// The counters DescribeImport shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// `ErrorCount`.
    pub errors: i64,
    /// `ProcessedSizeBytes`.
    pub processed_bytes: i64,
    /// `ProcessedItemCount`.
    pub processed_items: i64,
    /// `ImportedItemCount`.
    pub imported_items: i64,
}

/// Why an import failed as a whole.
#[derive(Debug)]
pub enum ImportFailure {
    /// The source could not be read (FailureCode and FailureMessage).
    Object(ObjectError),
    /// The database failed.
    Engine(Error),
    /// The server is shutting down (the next start marks the import `FAILED`).
    Interrupted,
}

impl From<ObjectError> for ImportFailure {
    fn from(e: ObjectError) -> Self {
        ImportFailure::Object(e)
    }
}

impl From<Error> for ImportFailure {
    fn from(e: Error) -> Self {
        ImportFailure::Engine(e)
    }
}

/// Pending writes of one chunk.
struct Chunk<'d> {
    table: &'d TableDescriptor,
    writes: Vec<Write>,
    keys: HashMap<(Vec<u8>, Vec<u8>), ()>,
    table_delta: Counts,
    index_deltas: Vec<(CounterId, Counts)>,
    items: i64,
}

impl<'d> Chunk<'d> {
    fn new(table: &'d TableDescriptor) -> Self {
        Chunk {
            table,
            writes: Vec::with_capacity(CHUNK * 2),
            keys: HashMap::with_capacity(CHUNK),
            table_delta: Counts::default(),
            index_deltas: table
                .indexes
                .iter()
                .map(|i| (table.index_counter(i.id), Counts::default()))
                .collect(),
            items: 0,
        }
    }

    fn commit(&mut self, store: &dyn Store) -> Result<(), Error> {
        if self.items == 0 {
            return Ok(());
        }
        let mut writes = std::mem::take(&mut self.writes);
        if !self.table_delta.is_zero() {
            writes.push(Write::Count {
                counter: self.table.counter(),
                delta: self.table_delta,
            });
        }
        for (counter, delta) in &mut self.index_deltas {
            if !delta.is_zero() {
                writes.push(Write::Count {
                    counter: *counter,
                    delta: *delta,
                });
            }
            *delta = Counts::default();
        }
        store.commit(Batch {
            writes,
            guards: Vec::new(),
        })?;
        self.table_delta = Counts::default();
        self.keys.clear();
        self.items = 0;
        Ok(())
    }

    /// Adds `item`'s writes. A key already in this chunk commits the chunk first, so the
    /// replaced item is read back from storage like any other.
    fn add(&mut self, store: &dyn Store, item: &Item) -> Result<Result<(), String>, Error> {
        let key = match item_key(&self.table.key_schema, item) {
            Ok(k) => k,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let size = item_size(item);
        if size > MAX_ITEM_SIZE {
            return Ok(Err(format!(
                "Item size {size} has exceeded the maximum allowed size of {MAX_ITEM_SIZE}"
            )));
        }
        if self
            .keys
            .contains_key(&(key.partition.clone(), key.sort.clone()))
        {
            self.commit(store)?;
        }
        let storage_key = key.storage_key(self.table.id);
        let old = store
            .get(&storage_key)?
            .map(|v| decode_item(&v.value))
            .transpose()?;
        let mut value = Vec::with_capacity(size + 16);
        encode_item(item, &mut value);
        let changes = index_changes(
            self.table,
            BaseKey {
                partition: &key.partition,
                sort: &key.sort,
            },
            old.as_ref(),
            Some(item),
            Some(&value),
        );
        self.writes.extend(changes.writes);
        for effect in changes.effects {
            if let Some((_, c)) = self
                .index_deltas
                .iter_mut()
                .find(|(c, _)| c.lane == effect.id)
            {
                c.items += effect.items;
                c.bytes += effect.bytes;
            }
        }
        self.table_delta.items += 1 - i64::from(old.is_some());
        self.table_delta.bytes += size as i64 - old.as_ref().map_or(0, |o| item_size(o) as i64);
        self.writes.push(Write::Put {
            key: storage_key,
            value,
        });
        self.keys.insert((key.partition, key.sort), ());
        self.items += 1;
        if self.items as usize >= CHUNK {
            self.commit(store)?;
        }
        Ok(Ok(()))
    }
}

/// Loads every object of `source` into `table` (already created, empty), logging bad lines to
/// `log`. Returns the counters; `progress` sees them every few thousand lines and after each
/// object (DescribeImport shows them while the import runs). Stops when `stop` is set.
///
/// # Errors
/// [`ImportFailure::Object`] when the bucket is missing or holds no object under the prefix,
/// or an object cannot be read or decompressed; engine failures.
pub fn load(
    store: &dyn Store,
    table: &TableDescriptor,
    source: &ImportSource<'_>,
    log: &mut dyn std::io::Write,
    stop: &std::sync::atomic::AtomicBool,
    progress: &mut dyn FnMut(&ImportCounts),
) -> Result<ImportCounts, ImportFailure> {
    let objects = source.buckets.list(source.bucket, source.prefix)?;
    if objects.is_empty() {
        return Err(ImportFailure::Object(ObjectError {
            code: "S3NoSuchKey".to_owned(),
            message: format!(
                "No objects found in bucket {} with prefix {}",
                source.bucket, source.prefix
            ),
        }));
    }
    let typed: HashMap<String, KeyType> = table
        .attribute_definitions
        .iter()
        .map(|(n, t)| (n.clone(), *t))
        .collect();
    let mut counts = ImportCounts::default();
    let mut chunk = Chunk::new(table);
    for (key, size) in &objects {
        let raw = source.buckets.open(source.bucket, key)?;
        let mut lines = source
            .compression
            .lines(raw)
            .map_err(|message| ObjectError {
                code: "InvalidCompression".to_owned(),
                message: format!("{key}: {message}"),
            })?;
        let mut csv = CsvLayout {
            delimiter: source.csv_delimiter,
            header: source.csv_header.clone(),
            typed: typed.clone(),
        };
        let mut line = String::new();
        let mut number = 0u64;
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    // The store's own failure (a dropped S3 connection) keeps its code.
                    let store_error = e
                        .get_ref()
                        .and_then(|i| i.downcast_ref::<ObjectError>())
                        .cloned();
                    return Err(ImportFailure::Object(store_error.unwrap_or_else(|| {
                        ObjectError {
                            code: "InvalidData".to_owned(),
                            message: format!("{key}: {e}"),
                        }
                    })));
                }
            }
            number += 1;
            if !source.line_delay.is_zero() {
                std::thread::sleep(source.line_delay);
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(ImportFailure::Interrupted);
                }
            }
            if number % CHUNK as u64 == 0 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(ImportFailure::Interrupted);
                }
                progress(&counts);
            }
            let parsed = match source.format {
                LineFormat::DynamoDbJson => read_json_line(&line),
                LineFormat::Ion => ion::read_item(&line).map_err(|e| e.0),
                LineFormat::Csv => csv.read_line(&line),
            };
            let outcome = match parsed {
                Ok(None) => continue,
                Ok(Some(item)) => chunk.add(store, &item)?,
                Err(e) => Err(e),
            };
            counts.processed_items += 1;
            match outcome {
                Ok(()) => counts.imported_items += 1,
                Err(message) => {
                    counts.errors += 1;
                    if counts.errors <= MAX_LOGGED_ERRORS {
                        let entry = serde_json::json!({
                            "objectKey": key,
                            "line": number,
                            "errorMessage": message,
                        });
                        // The log is best effort: a full disk must not fail the import.
                        let _ = writeln!(log, "{entry}");
                    }
                }
            }
        }
        counts.processed_bytes += *size as i64;
        progress(&counts);
    }
    chunk.commit(store)?;
    Ok(counts)
}
