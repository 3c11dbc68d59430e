//! What each table takes on disk: the store's per-id file sizes ([`Store::disk_usage`]) summed
//! over a table's ids (the table's own, its indexes' and its streams'), for binderdb's storage
//! report (`GET /binderdb/storage`). Nothing here reads items: the figures come from file
//! metadata, so the report costs the same at ten items and at a hundred million.
//!
//! [`Store::disk_usage`]: binderdb_storage::Store::disk_usage

use crate::error::Result;
use crate::Database;

/// Bytes on disk of the whole store and of each table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageReport {
    /// Everything in the data directory the store knows of (table files and journals).
    pub total_bytes: u64,
    /// The journals (what a restart replays).
    pub journal_bytes: u64,
    /// One entry per table, ordered by region and name.
    pub tables: Vec<TableDiskUsage>,
}

/// One table's files on disk, an estimate (see [`binderdb_storage::DiskUsage::by_table`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDiskUsage {
    /// The table's region.
    pub region: String,
    /// The table's name.
    pub name: String,
    /// Bytes of the table's items (and their time-to-live entries).
    pub table_bytes: u64,
    /// Bytes of its secondary indexes' entries.
    pub index_bytes: u64,
    /// Bytes of its stream records.
    pub stream_bytes: u64,
}

impl Database {
    /// Bytes on disk of the store and of every table, or `None` on an engine without files
    /// (`--in-memory`).
    ///
    /// # Errors
    /// Storage failures while listing the store's files.
    pub fn storage_report(&self) -> Result<Option<StorageReport>> {
        let Some(usage) = self.store.disk_usage()? else {
            return Ok(None);
        };
        let bytes = |id| usage.by_table.get(&id).copied().unwrap_or(0);
        let mut tables: Vec<TableDiskUsage> = self
            .catalog
            .all()
            .iter()
            .map(|table| {
                let d = table.descriptor();
                TableDiskUsage {
                    region: d.region.clone(),
                    name: d.name.clone(),
                    table_bytes: bytes(d.id),
                    index_bytes: d.indexes.iter().map(|i| bytes(i.id)).sum(),
                    stream_bytes: d.streams.iter().map(|s| bytes(s.id)).sum(),
                }
            })
            .collect();
        tables.sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
        Ok(Some(StorageReport {
            total_bytes: usage.total,
            journal_bytes: usage.journal,
            tables,
        }))
    }
}
