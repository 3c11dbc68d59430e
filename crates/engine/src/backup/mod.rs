//! On-demand backups: their records, their snapshot copies and the restore of a table from one.
//!
//! A backup is a copy of a table's items taken from ONE consistent storage snapshot (a single
//! [`Store::scan`] of the table), written under a storage id of its own in the `Items`
//! keyspace. Writers are never blocked by it on the durable engine (fjall reads a snapshot;
//! the in-memory engine holds its read lock for the length of the walk), and the copy lives in
//! the data directory with everything else, so it survives DeleteTable (which drops the
//! table's ids, never the backup's) and restarts. The copy streams ([`Copier`]): on fjall it
//! commits each chunk from inside the snapshot's walk, so memory never holds the table.
//!
//! The backup's record (name, ARN, times, sizes and the source table's descriptor as it was)
//! is versioned JSON in the `Catalog` keyspace under partition `#backups`, sort key = ARN, so
//! ListBackups walks them in ARN order (table name, then creation time) and pages by ARN.
//! Index entries are not copied: a restore rebuilds them from the items with the restored
//! table's own index definitions, which is what lets GlobalSecondaryIndexOverride and
//! LocalSecondaryIndexOverride change them.
//!
//! [`data_dir`] copies the whole data directory (`binderdb backup --to DIR`).
//!
//! Must not depend on: HTTP or a concrete storage engine.

pub mod data_dir;

use std::ops::ControlFlow;

use binderdb_model::{decode_item, item_size};
use binderdb_storage::{
    Batch, CounterId, Counts, Key, Keyspace, SegmentScan, Store, TableId, Write,
};
use serde::{Deserialize, Serialize};

use crate::api::RestoreSummary;
use crate::catalog::{TableDescriptor, CATALOG_TABLE};
use crate::clock::epoch_seconds;
use crate::error::{Error, Result};
use crate::index::maintain::index_changes;
use crate::index::BaseKey;

/// The on-disk format version of [`BackupRecord`].
pub const BACKUP_FORMAT: u32 = 1;

/// Catalog partition of backup records.
const BACKUP_PARTITION: &[u8] = b"#backups";

/// Entries per commit when copying items (into a backup or a restored table).
const COPY_CHUNK: usize = 4096;

/// Everything stored about one backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// Always [`BACKUP_FORMAT`] when written by this version.
    pub format: u32,
    /// `BackupArn`.
    pub arn: String,
    /// `BackupName`.
    pub name: String,
    /// Storage id under which the copied items live.
    pub data_id: TableId,
    /// `BackupCreationDateTime`, ms since the epoch.
    pub created_at_ms: u64,
    /// The backup is `CREATING` before this instant and `AVAILABLE` after it.
    pub available_at_ms: u64,
    /// Items in the backup.
    pub item_count: i64,
    /// Their size, measured as TableSizeBytes is.
    pub size_bytes: i64,
    /// The source table's descriptor when the backup was taken.
    pub table: TableDescriptor,
    /// Whether the copy is complete. The record is written first, incomplete, then the copy,
    /// then the record again, complete: a crash in between leaves an incomplete record that
    /// the next start-up removes with its partial copy ([`remove_incomplete`]), so no copy is
    /// ever leaked. Absent from the encoding when true (format 1 unchanged).
    #[serde(default = "complete_by_default", skip_serializing_if = "is_complete")]
    pub complete: bool,
    /// Present for the `SYSTEM` backup DeleteTable keeps of a table with point-in-time
    /// recovery ([`DeletedTable`]); absent from the encoding otherwise (format 1 unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<DeletedTable>,
}

/// What is kept of a table deleted while point-in-time recovery was enabled, as DynamoDB
/// keeps it: a `SYSTEM` backup named `<table>$DeletedTableBackup` holding the table as it was
/// just before the deletion, and the table's recovery log, so the deleted table can also be
/// restored to any instant of its recovery window up to the deletion
/// (RestoreTableToPointInTime by `SourceTableArn`).
///
/// The backup's copy is the deleted table's own items: DeleteTable drops its indexes and
/// streams but not its items (storage id [`BackupRecord::data_id`] = the table's id) nor its
/// log, so deleting costs no copy. Both are dropped when the backup expires (or is deleted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedTable {
    /// The table's point-in-time recovery settings and log when it was deleted.
    pub pitr: crate::pitr::PitrDescriptor,
    /// When the table was deleted, ms since the epoch: the latest restorable instant.
    pub deleted_at_ms: u64,
    /// `BackupExpiryDateTime`, ms: the deletion plus the table's recovery period (DynamoDB
    /// keeps a deleted table's system backup 35 days, its longest period; binderdb bounds the
    /// retention by the period the table had, which is 35 days unless it was set shorter).
    pub expires_at_ms: u64,
}

/// `BackupType` of a backup record.
pub fn backup_type(record: &BackupRecord) -> &'static str {
    if record.deleted.is_some() {
        "SYSTEM"
    } else {
        "USER"
    }
}

/// The `BackupName` DynamoDB gives the system backup of deleted table `table`.
pub fn deleted_table_backup_name(table: &str) -> String {
    format!("{table}$DeletedTableBackup")
}

fn complete_by_default() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_complete(complete: &bool) -> bool {
    *complete
}

impl BackupRecord {
    /// `BackupStatus` at `now_ms`.
    pub fn status(&self, now_ms: u64) -> &'static str {
        if !self.complete || now_ms < self.available_at_ms {
            "CREATING"
        } else {
            "AVAILABLE"
        }
    }
}

/// Where a restored table came from (kept in its descriptor for DescribeTable's
/// `RestoreSummary`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreSource {
    /// `SourceBackupArn` (absent after a point-in-time restore; written as a plain string
    /// when present, so format 1 is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_arn: Option<String>,
    /// `SourceTableArn`.
    pub source_table_arn: String,
    /// `RestoreDateTime`, ms since the epoch: when the restore ran (from a backup) or the
    /// point in time restored to.
    pub restored_at_ms: u64,
}

impl RestoreSource {
    /// The `RestoreSummary`; the restore is in progress while the table is `CREATING`.
    pub fn summary(&self, in_progress: bool) -> RestoreSummary {
        RestoreSummary {
            source_backup_arn: self.backup_arn.clone(),
            source_table_arn: self.source_table_arn.clone(),
            restore_date_time: epoch_seconds(self.restored_at_ms),
            restore_in_progress: in_progress,
        }
    }
}

fn record_key(arn: &str) -> Key {
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: BACKUP_PARTITION.to_vec(),
        sort: arn.as_bytes().to_vec(),
    }
}

fn decode_record(bytes: &[u8]) -> Result<BackupRecord> {
    match serde_json::from_slice::<BackupRecord>(bytes) {
        Ok(r) if r.format == BACKUP_FORMAT => Ok(r),
        Ok(r) => Err(Error::Internal(format!(
            "unknown backup record format {}",
            r.format
        ))),
        Err(e) => Err(Error::Internal(format!("corrupt backup record: {e}"))),
    }
}

/// The backup with ARN `arn`, if there is one.
///
/// # Errors
/// Storage failures or an undecodable record.
pub fn load(store: &dyn Store, arn: &str) -> Result<Option<BackupRecord>> {
    store
        .get(&record_key(arn))?
        .map(|v| decode_record(&v.value))
        .transpose()
}

/// Stores (or replaces) `record`.
///
/// # Errors
/// Storage or encoding failures.
pub fn save(store: &dyn Store, record: &BackupRecord) -> Result<()> {
    let value = serde_json::to_vec(record).map_err(|e| Error::Internal(e.to_string()))?;
    store.commit(Batch {
        writes: vec![Write::Put {
            key: record_key(&record.arn),
            value,
        }],
        guards: Vec::new(),
    })?;
    Ok(())
}

/// Deletes `record` and drops its copied items (and, for a deleted table's system backup,
/// its recovery log).
///
/// # Errors
/// Storage failures.
pub fn remove(store: &dyn Store, record: &BackupRecord) -> Result<()> {
    store.commit(Batch {
        writes: vec![Write::Delete {
            key: record_key(&record.arn),
        }],
        guards: Vec::new(),
    })?;
    store.drop_table(record.data_id)?;
    if let Some(deleted) = &record.deleted {
        store.drop_table(deleted.pitr.log_id)?;
    }
    Ok(())
}

/// The write that stores `record` (for a commit that writes other things with it).
///
/// # Errors
/// Encoding failures.
pub fn record_write(record: &BackupRecord) -> Result<Write> {
    Ok(Write::Put {
        key: record_key(&record.arn),
        value: serde_json::to_vec(record).map_err(|e| Error::Internal(e.to_string()))?,
    })
}

/// Expires the deleted tables' system backups whose time is up at `now_ms` (dropping their
/// items and logs) and prunes the logs of the others to their recovery windows, as the live
/// tables' logs are pruned; returns how many backups expired. The point-in-time recovery
/// pruner runs this with each pass.
///
/// # Errors
/// Storage failures or an undecodable record.
pub fn expire_deleted_tables(
    store: &dyn Store,
    progress: &parking_lot::Mutex<std::collections::HashMap<TableId, u64>>,
    now_ms: u64,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<usize> {
    let (kept, _) = list(store, None, usize::MAX, &|r| r.deleted.is_some())?;
    let mut expired = 0;
    for record in &kept {
        let Some(deleted) = &record.deleted else {
            continue;
        };
        if now_ms >= deleted.expires_at_ms {
            remove(store, record)?;
            expired += 1;
        } else {
            crate::pitr::log::prune_log(store, &deleted.pitr, progress, now_ms, stop)?;
        }
    }
    Ok(expired)
}

/// Removes every incomplete backup (a copy a crash interrupted) and its partial copy; returns
/// how many. Run at start-up, before any backup can be in progress.
///
/// # Errors
/// Storage failures or an undecodable record.
pub fn remove_incomplete(store: &dyn Store) -> Result<usize> {
    let (incomplete, _) = list(store, None, usize::MAX, &|r| !r.complete)?;
    for record in &incomplete {
        remove(store, record)?;
    }
    Ok(incomplete.len())
}

/// Every backup record strictly after `after` (an ARN), in ARN order, for which `keep` holds,
/// at most `limit` of them plus whether more matched.
///
/// # Errors
/// Storage failures or an undecodable record.
pub fn list(
    store: &dyn Store,
    after: Option<&str>,
    limit: usize,
    keep: &dyn Fn(&BackupRecord) -> bool,
) -> Result<(Vec<BackupRecord>, bool)> {
    crate::catalog::list_records(store, BACKUP_PARTITION, after, limit, &decode_record, keep)
}

/// One stored item: partition bytes, sort bytes, encoded item.
type Entry = (Vec<u8>, Vec<u8>, Vec<u8>);

/// What a copy counted: the items (count and size, as TableSizeBytes measures it) and, for a
/// restored table, each index's entries by counter, for
/// [`crate::catalog::Catalog::put_with_counts`].
pub type CopyCounts = (Counts, Vec<(CounterId, Counts)>);

/// Writes items into storage id `dest`, in chunks of [`COPY_CHUNK`] per commit.
///
/// With `indexed` (a restored table's descriptor), each item's index entries are written with
/// it and counted by index. Items are pushed from inside a store walk: where the store lets a
/// walk's visitor commit ([`Store::scans_block_commits`] false, fjall), each full chunk
/// commits at once, so memory holds one chunk whatever the table's size; elsewhere (the
/// in-memory engine, whose data is in memory anyway) the entries wait for [`Copier::finish`].
#[derive(Debug)]
pub struct Copier<'a> {
    store: &'a dyn Store,
    dest: TableId,
    indexed: Option<&'a TableDescriptor>,
    streaming: bool,
    pending: Vec<Entry>,
    total: Counts,
    index_counts: Vec<(CounterId, Counts)>,
}

impl<'a> Copier<'a> {
    /// A copier into `dest`, building the index entries of `indexed` if given.
    pub fn new(store: &'a dyn Store, dest: TableId, indexed: Option<&'a TableDescriptor>) -> Self {
        Copier {
            store,
            dest,
            indexed,
            streaming: !store.scans_block_commits(),
            pending: Vec::new(),
            total: Counts::default(),
            index_counts: indexed
                .map(|d| {
                    d.indexes
                        .iter()
                        .map(|i| (d.index_counter(i.id), Counts::default()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Adds one item (its storage key and encoding).
    ///
    /// # Errors
    /// Storage failures or an undecodable item (when a chunk commits).
    pub fn push(&mut self, partition: &[u8], sort: &[u8], value: &[u8]) -> Result<()> {
        self.pending
            .push((partition.to_vec(), sort.to_vec(), value.to_vec()));
        if self.streaming && self.pending.len() >= COPY_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let mut entries = std::mem::take(&mut self.pending).into_iter().peekable();
        while entries.peek().is_some() {
            let mut writes = Vec::with_capacity(COPY_CHUNK * 2);
            // Entries are moved into their writes, so the copy allocates nothing more per item.
            for (partition, sort, value) in entries.by_ref().take(COPY_CHUNK) {
                let item = decode_item(&value)?;
                self.total.items += 1;
                self.total.bytes += item_size(&item) as i64;
                if let Some(d) = self.indexed {
                    let base = BaseKey {
                        partition: &partition,
                        sort: &sort,
                    };
                    let changes = index_changes(d, base, None, Some(&item), Some(&value));
                    writes.extend(changes.writes);
                    for effect in changes.effects {
                        if let Some((_, c)) = self
                            .index_counts
                            .iter_mut()
                            .find(|(c, _)| c.lane == effect.id)
                        {
                            c.items += effect.items;
                            c.bytes += effect.bytes;
                        }
                    }
                }
                writes.push(Write::Put {
                    key: Key {
                        keyspace: Keyspace::Items,
                        table: self.dest,
                        partition,
                        sort,
                    },
                    value,
                });
            }
            self.store.commit(Batch {
                writes,
                guards: Vec::new(),
            })?;
        }
        Ok(())
    }

    /// Writes what is still pending; returns what the copy counted.
    ///
    /// # Errors
    /// Storage failures or an undecodable item.
    pub fn finish(mut self) -> Result<CopyCounts> {
        self.flush()?;
        Ok((self.total, self.index_counts))
    }
}

/// Copies every item of storage id `source` (its `Items` keyspace), read from ONE consistent
/// snapshot, into `dest` through a [`Copier`].
///
/// # Errors
/// Storage failures or an undecodable item.
pub fn copy_table(
    store: &dyn Store,
    source: TableId,
    dest: TableId,
    indexed: Option<&TableDescriptor>,
) -> Result<CopyCounts> {
    let mut copier = Copier::new(store, dest, indexed);
    copy_into(store, source, &mut copier)?;
    copier.finish()
}

/// Pushes every item of storage id `source`, read from ONE consistent snapshot, into `copier`.
///
/// # Errors
/// Storage failures or an undecodable item.
pub fn copy_into(store: &dyn Store, source: TableId, copier: &mut Copier<'_>) -> Result<()> {
    let mut failure = None;
    let scan = SegmentScan {
        keyspace: Keyspace::Items,
        table: source,
        segment: 0,
        total_segments: 1,
        start_after: None,
    };
    store.scan(
        &scan,
        &mut |e| match copier.push(e.partition, e.sort, e.value) {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                failure = Some(err);
                ControlFlow::Break(())
            }
        },
    )?;
    match failure {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_clock() {
        let table: TableDescriptor = serde_json::from_str(
            r#"{"format":1,"id":7,"uuid":"u","region":"us-east-1","name":"T","attribute_definitions":[["k","S"]],"key_schema":{"hash":{"name":"k","key_type":"S"},"range":null},"billing_mode":"PayPerRequest","read_capacity":0,"write_capacity":0,"created_at_ms":0,"active_at_ms":0,"updating_until_ms":0,"last_pay_per_request_ms":null,"last_increase_ms":null,"last_decrease_ms":null,"decreases_today":0,"deletion_protection":false,"table_class":"STANDARD"}"#,
        )
        .unwrap();
        let record = BackupRecord {
            format: BACKUP_FORMAT,
            arn: "a".to_owned(),
            name: "b".to_owned(),
            data_id: 9,
            created_at_ms: 100,
            available_at_ms: 200,
            item_count: 0,
            size_bytes: 0,
            table,
            complete: true,
            deleted: None,
        };
        assert_eq!(record.status(199), "CREATING");
        assert_eq!(record.status(200), "AVAILABLE");
        let round = decode_record(&serde_json::to_vec(&record).unwrap()).unwrap();
        assert_eq!(round, record);
    }

    #[test]
    fn an_interrupted_backup_is_removed_with_its_partial_copy() {
        let store = binderdb_storage::MemoryStore::new();
        let mut record = decode_record(FORMAT_1_FIXTURE.as_bytes()).unwrap();
        record.complete = false;
        save(&store, &record).unwrap();
        let item_key = Key {
            keyspace: Keyspace::Items,
            table: record.data_id,
            partition: b"p".to_vec(),
            sort: Vec::new(),
        };
        store
            .commit(Batch {
                writes: vec![Write::Put {
                    key: item_key.clone(),
                    value: b"x".to_vec(),
                }],
                guards: Vec::new(),
            })
            .unwrap();
        assert_eq!(
            load(&store, &record.arn).unwrap().unwrap().status(u64::MAX),
            "CREATING"
        );
        let mut complete = record.clone();
        complete.arn.push('2');
        complete.data_id = 99;
        complete.complete = true;
        save(&store, &complete).unwrap();
        assert_eq!(remove_incomplete(&store).unwrap(), 1);
        assert!(load(&store, &record.arn).unwrap().is_none());
        assert!(store.get(&item_key).unwrap().is_none());
        assert!(load(&store, &complete.arn).unwrap().is_some());
    }

    /// A backup record as format 1 writes it. If this stops decoding, the stored format
    /// changed: bump [`BACKUP_FORMAT`] and migrate instead of editing the fixture.
    const FORMAT_1_FIXTURE: &str = r#"{"format":1,"arn":"arn:aws:dynamodb:us-east-1:000000000000:table/T/backup/01700000000000-0a1b2c3d","name":"nightly","data_id":12,"created_at_ms":1700000000000,"available_at_ms":1700000000000,"item_count":3,"size_bytes":42,"table":{"format":1,"id":7,"uuid":"u","region":"us-east-1","name":"T","attribute_definitions":[["k","S"]],"key_schema":{"hash":{"name":"k","key_type":"S"},"range":null},"billing_mode":"PayPerRequest","read_capacity":0,"write_capacity":0,"created_at_ms":0,"active_at_ms":0,"updating_until_ms":0,"last_pay_per_request_ms":null,"last_increase_ms":null,"last_decrease_ms":null,"decreases_today":0,"deletion_protection":false,"table_class":"STANDARD"}}"#;

    #[test]
    fn format_1_record_fixture_still_decodes() {
        let record = decode_record(FORMAT_1_FIXTURE.as_bytes()).unwrap();
        assert_eq!(record.data_id, 12);
        assert_eq!(record.table.name, "T");
        assert_eq!(serde_json::to_string(&record).unwrap(), FORMAT_1_FIXTURE);
    }
}

#[cfg(test)]
mod system_backup_tests {
    use super::*;

    /// A deleted table's system backup record as format 1 writes it (the `deleted` member
    /// added to format 1). If this stops decoding, the stored format changed.
    const SYSTEM_FIXTURE: &str = r#"{"format":1,"arn":"arn:aws:dynamodb:us-east-1:000000000000:table/T/backup/01700000000000-0a1b2c3d","name":"T$DeletedTableBackup","data_id":7,"created_at_ms":1700000000000,"available_at_ms":1700000000000,"item_count":3,"size_bytes":42,"table":{"format":1,"id":7,"uuid":"u","region":"us-east-1","name":"T","attribute_definitions":[["k","S"]],"key_schema":{"hash":{"name":"k","key_type":"S"},"range":null},"billing_mode":"PayPerRequest","read_capacity":0,"write_capacity":0,"created_at_ms":0,"active_at_ms":0,"updating_until_ms":0,"last_pay_per_request_ms":null,"last_increase_ms":null,"last_decrease_ms":null,"decreases_today":0,"deletion_protection":false,"table_class":"STANDARD"},"deleted":{"pitr":{"recovery_period_days":35,"log_id":8,"complete_since_ms":1600000000000,"enabled_ms":1600000000000},"deleted_at_ms":1700000000000,"expires_at_ms":1703024000000}}"#;

    #[test]
    fn system_backup_fixture_still_decodes() {
        let record = decode_record(SYSTEM_FIXTURE.as_bytes()).unwrap();
        assert_eq!(backup_type(&record), "SYSTEM");
        let deleted = record.deleted.as_ref().unwrap();
        assert_eq!(deleted.pitr.log_id, 8);
        assert_eq!(
            deleted.expires_at_ms - deleted.deleted_at_ms,
            35 * 86_400_000
        );
        assert_eq!(serde_json::to_string(&record).unwrap(), SYSTEM_FIXTURE);
        assert_eq!(deleted_table_backup_name("T"), record.name);
    }
}
