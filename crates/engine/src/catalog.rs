//! The catalog: which tables exist, in which region, with which schema and settings.
//!
//! Tables live in one namespace per (account, region), as in DynamoDB. Each table's
//! [`TableDescriptor`] is stored as versioned JSON in the storage `Catalog` keyspace under
//! partition `"<account>:<region>"`, sort key = table name, and cached in memory; the cache is the
//! read path, the store is the truth restored on open. Table ids come from a counter kept in the
//! catalog too, so they are never reused and a dropped table's leftovers can never reappear.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use binderdb_model::KeyType;
use binderdb_storage::{Batch, Key, Keyspace, SegmentScan, Store, TableId, Write};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::{IndexDescriptor, IndexKind, INDEX_ENTRY_OVERHEAD};

/// The on-disk format version of [`TableDescriptor`].
pub const DESCRIPTOR_FORMAT: u32 = 1;

/// The catalog pseudo-table id: descriptors and the table-id counter live under it.
pub(crate) const CATALOG_TABLE: TableId = 0;
const META_PARTITION: &[u8] = b"#meta";
const NEXT_TABLE_ID: &[u8] = b"next_table_id";

/// One key attribute of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    /// Attribute name.
    pub name: String,
    /// Scalar type.
    pub key_type: KeyType,
}

/// A table's key schema: a partition (HASH) key and an optional sort (RANGE) key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchema {
    /// The partition key.
    pub hash: KeyAttribute,
    /// The sort key, if any.
    pub range: Option<KeyAttribute>,
}

/// Billing mode of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    /// `PROVISIONED`.
    Provisioned,
    /// `PAY_PER_REQUEST` (on-demand).
    PayPerRequest,
}

impl BillingMode {
    /// DynamoDB's name for the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// Everything the catalog stores about a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDescriptor {
    /// Always [`DESCRIPTOR_FORMAT`] when written by this version.
    pub format: u32,
    /// Storage table id, never reused.
    pub id: TableId,
    /// The public `TableId` (a UUID).
    pub uuid: String,
    /// Region the table lives in.
    pub region: String,
    /// Table name.
    pub name: String,
    /// `AttributeDefinitions`, in request order.
    pub attribute_definitions: Vec<(String, KeyType)>,
    /// Key schema.
    pub key_schema: KeySchema,
    /// Billing mode.
    pub billing_mode: BillingMode,
    /// Provisioned read capacity (0 for on-demand).
    pub read_capacity: i64,
    /// Provisioned write capacity (0 for on-demand).
    pub write_capacity: i64,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
    /// The table is `CREATING` before this instant and `ACTIVE` after it.
    pub active_at_ms: u64,
    /// The table is `UPDATING` before this instant (after an UpdateTable).
    pub updating_until_ms: u64,
    /// Last switch to (or creation with) PAY_PER_REQUEST.
    pub last_pay_per_request_ms: Option<u64>,
    /// Last provisioned-throughput increase.
    pub last_increase_ms: Option<u64>,
    /// Last provisioned-throughput decrease.
    pub last_decrease_ms: Option<u64>,
    /// Throughput decreases on the day of `last_decrease_ms`.
    pub decreases_today: i64,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// `STANDARD` or `STANDARD_INFREQUENT_ACCESS`.
    pub table_class: String,
    /// Secondary indexes, local ones first, each group in request order. Absent from the
    /// encoding when empty, so format-1 descriptors of tables without indexes are unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexDescriptor>,
    /// The table's tags, by key (TagResource). Absent from the encoding when empty, like
    /// `indexes`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The table's resource-based policy (PutResourcePolicy), stored but not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<ResourcePolicy>,
    /// Streams, oldest first: at most the last one is enabled; disabled ones stay until their
    /// records aged out. Absent from the encoding when empty (format 1 unchanged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<crate::stream::StreamDescriptor>,
    /// Time to live settings, once UpdateTimeToLive was called (absent from the encoding
    /// before, so format 1 is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<crate::ttl::TtlDescriptor>,
}

/// A stream of a deleted table. DynamoDB keeps it readable (DISABLED) for 24 hours after the
/// deletion; the catalog keeps it, under its own `#streams` partition, until the trimmer found
/// all of it aged out and dropped its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetiredStream {
    /// Always [`DESCRIPTOR_FORMAT`] when written by this version.
    pub format: u32,
    /// Region the table lived in.
    pub region: String,
    /// The deleted table's name.
    pub table_name: String,
    /// The deleted table's key schema (DescribeStream shows it).
    pub key_schema: KeySchema,
    /// The stream, disabled at the deletion at the latest.
    pub stream: crate::stream::StreamDescriptor,
}

/// Catalog partition of retired streams (sort key: the stream id).
const RETIRED_PARTITION: &[u8] = b"#streams";

fn retired_key(id: TableId) -> Key {
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: RETIRED_PARTITION.to_vec(),
        sort: id.to_be_bytes().to_vec(),
    }
}

/// A resource-based policy as stored: the document exactly as the client sent it and its
/// revision (a millisecond timestamp, as DynamoDB's revision ids are).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePolicy {
    /// The policy document (JSON text).
    pub document: String,
    /// `RevisionId`.
    pub revision_id: String,
}

impl TableDescriptor {
    /// The index called `name` (deleting ones included).
    pub fn index(&self, name: &str) -> Option<&IndexDescriptor> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// Whether the table has a local secondary index (and so item collections).
    pub fn has_local_indexes(&self) -> bool {
        self.indexes.iter().any(|i| i.kind == IndexKind::Local)
    }

    /// The enabled stream, if any.
    pub fn enabled_stream(&self) -> Option<&crate::stream::StreamDescriptor> {
        self.streams.last().filter(|s| s.enabled())
    }

    /// `TableStatus` at `now_ms`.
    pub fn status(&self, now_ms: u64) -> &'static str {
        if now_ms < self.active_at_ms {
            "CREATING"
        } else if now_ms < self.updating_until_ms {
            "UPDATING"
        } else {
            "ACTIVE"
        }
    }
}

/// Live statistics of a table (ItemCount, TableSizeBytes).
///
/// DynamoDB refreshes these about every six hours; binderdb keeps them current. They are
/// computed by one scan the first time they are asked for, then maintained by every write, so
/// opening a large data dir costs nothing up front.
#[derive(Debug, Default)]
pub struct TableStats {
    loaded: Mutex<bool>,
    items: AtomicI64,
    bytes: AtomicI64,
}

impl TableStats {
    /// Records a write that changed the item count by `items` and the size by `bytes`.
    pub fn record(&self, items: i64, bytes: i64) {
        self.items.fetch_add(items, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A table known to the catalog.
#[derive(Debug)]
pub struct Table {
    /// The descriptor; replaced by UpdateTable.
    pub descriptor: RwLock<Arc<TableDescriptor>>,
    /// Live statistics.
    pub stats: TableStats,
    /// Live statistics of each index, by index id; created unloaded on first use.
    index_stats: Mutex<std::collections::HashMap<TableId, Arc<TableStats>>>,
    /// Sizes of the item collections (partition key → bytes of its items and their local
    /// index entries) of a table with local secondary indexes, each computed by one walk of
    /// its partition the first time a write touches it, then kept by every write.
    pub(crate) collections: Mutex<std::collections::HashMap<Vec<u8>, i64>>,
    /// Held shared by every item write from before it reads the descriptor until its commit,
    /// and exclusively while the set of indexes changes: once a change of the index set
    /// returns, no write decided with the old set can still commit. An online index backfill
    /// relies on this (every write after its start maintains the new index).
    pub write_gate: RwLock<()>,
}

impl Table {
    fn new(descriptor: TableDescriptor, loaded: bool) -> Table {
        Table {
            descriptor: RwLock::new(Arc::new(descriptor)),
            stats: TableStats {
                loaded: Mutex::new(loaded),
                ..TableStats::default()
            },
            index_stats: Mutex::new(std::collections::HashMap::new()),
            collections: Mutex::new(std::collections::HashMap::new()),
            write_gate: RwLock::new(()),
        }
    }

    /// A snapshot of the descriptor.
    pub fn descriptor(&self) -> Arc<TableDescriptor> {
        self.descriptor.read().clone()
    }

    /// The statistics of index `id` (unloaded until first computed).
    pub fn index_stats(&self, id: TableId) -> Arc<TableStats> {
        self.index_stats.lock().entry(id).or_default().clone()
    }

    /// Forgets index `id`'s statistics, so they are computed again on next use (after a
    /// backfill, which writes entries without counting them).
    pub fn reset_index_stats(&self, id: TableId) {
        self.index_stats.lock().remove(&id);
    }

    /// Marks the statistics of every index of a new, empty table as computed.
    fn start_empty_index_stats(&self) {
        let d = self.descriptor();
        let mut stats = self.index_stats.lock();
        for index in &d.indexes {
            stats.insert(
                index.id,
                Arc::new(TableStats {
                    loaded: Mutex::new(true),
                    ..TableStats::default()
                }),
            );
        }
    }
}

/// The in-memory catalog over the store.
#[derive(Debug)]
pub struct Catalog {
    account: String,
    /// (region, name) → table; BTreeMap so ListTables walks names in order.
    tables: RwLock<BTreeMap<(String, String), Arc<Table>>>,
    /// Serialises catalog changes (create/delete/update) so checks and writes cannot interleave.
    ddl: Mutex<()>,
    /// Streams of deleted tables still readable, by stream id.
    retired: RwLock<BTreeMap<TableId, Arc<RetiredStream>>>,
}

fn catalog_key(account: &str, region: &str, name: &str) -> Key {
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: format!("{account}:{region}").into_bytes(),
        sort: name.as_bytes().to_vec(),
    }
}

impl Catalog {
    /// Loads every table descriptor from `store`.
    ///
    /// # Errors
    /// Storage failures, or a descriptor that cannot be decoded.
    pub fn open(store: &dyn Store, account: &str) -> Result<Catalog> {
        let mut tables = BTreeMap::new();
        let mut retired = BTreeMap::new();
        let mut failure = None;
        let scan = SegmentScan {
            keyspace: Keyspace::Catalog,
            table: CATALOG_TABLE,
            segment: 0,
            total_segments: 1,
            start_after: None,
        };
        store.scan(&scan, &mut |entry| {
            // `#`-partitions hold the catalog's own records (the table-id counter, backfill
            // progress); descriptors live under `<account>:<region>`.
            if entry.partition == RETIRED_PARTITION {
                return match serde_json::from_slice::<RetiredStream>(entry.value) {
                    Ok(r) if r.format == DESCRIPTOR_FORMAT => {
                        retired.insert(r.stream.id, Arc::new(r));
                        ControlFlow::Continue(())
                    }
                    Ok(r) => {
                        failure = Some(format!("unknown retired stream format {}", r.format));
                        ControlFlow::Break(())
                    }
                    Err(e) => {
                        failure = Some(format!("corrupt retired stream: {e}"));
                        ControlFlow::Break(())
                    }
                };
            }
            if entry.partition.starts_with(b"#") {
                return ControlFlow::Continue(());
            }
            match serde_json::from_slice::<TableDescriptor>(entry.value) {
                Ok(d) if d.format == DESCRIPTOR_FORMAT => {
                    let map_key = (d.region.clone(), d.name.clone());
                    tables.insert(map_key, Arc::new(Table::new(d, false)));
                    ControlFlow::Continue(())
                }
                Ok(d) => {
                    failure = Some(format!("unknown table descriptor format {}", d.format));
                    ControlFlow::Break(())
                }
                Err(e) => {
                    failure = Some(format!("corrupt table descriptor: {e}"));
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(msg) = failure {
            return Err(Error::Internal(msg));
        }
        Ok(Catalog {
            account: account.to_owned(),
            tables: RwLock::new(tables),
            ddl: Mutex::new(()),
            retired: RwLock::new(retired),
        })
    }

    /// The table `name` in `region`, if it exists.
    pub fn get(&self, region: &str, name: &str) -> Option<Arc<Table>> {
        self.tables
            .read()
            .get(&(region.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Table names of `region` in ascending order, strictly after `after` if given.
    pub fn names(&self, region: &str, after: Option<&str>) -> Vec<String> {
        self.tables
            .read()
            .keys()
            .filter(|(r, n)| r == region && after.is_none_or(|a| n.as_str() > a))
            .map(|(_, n)| n.clone())
            .collect()
    }

    /// The storage key of the descriptor of table `name` in `region` (background workers guard
    /// their commits on its version: a DDL change in between makes them look again).
    pub(crate) fn descriptor_key(&self, region: &str, name: &str) -> Key {
        catalog_key(&self.account, region, name)
    }

    /// Holds the catalog's change lock for the duration of a DDL operation.
    pub fn lock_ddl(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.ddl.lock()
    }

    /// Allocates a new, never used table id.
    ///
    /// # Errors
    /// Storage failures.
    pub fn allocate_table_id(&self, store: &dyn Store) -> Result<TableId> {
        let key = Key {
            keyspace: Keyspace::Catalog,
            table: CATALOG_TABLE,
            partition: META_PARTITION.to_vec(),
            sort: NEXT_TABLE_ID.to_vec(),
        };
        let mut allocated = 0;
        store.read_modify_write(&key, &mut |current| {
            let next = current
                .and_then(|v| v.value.get(..8))
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(1);
            allocated = next;
            Some(Batch {
                writes: vec![Write::Put {
                    key: key.clone(),
                    value: (next + 1).to_be_bytes().to_vec(),
                }],
                guards: Vec::new(),
            })
        })?;
        Ok(allocated)
    }

    /// Persists `descriptor` and makes it visible.
    ///
    /// # Errors
    /// Storage or encoding failures.
    pub fn put(&self, store: &dyn Store, descriptor: TableDescriptor) -> Result<Arc<Table>> {
        let value = serde_json::to_vec(&descriptor).map_err(|e| Error::Internal(e.to_string()))?;
        let key = catalog_key(&self.account, &descriptor.region, &descriptor.name);
        store.commit(Batch {
            writes: vec![Write::Put { key, value }],
            guards: Vec::new(),
        })?;
        let map_key = (descriptor.region.clone(), descriptor.name.clone());
        let mut tables = self.tables.write();
        if let Some(existing) = tables.get(&map_key) {
            if existing.descriptor().id == descriptor.id {
                *existing.descriptor.write() = Arc::new(descriptor);
                return Ok(existing.clone());
            }
        }
        let table = Arc::new(Table::new(descriptor, true));
        table.start_empty_index_stats();
        tables.insert(map_key, table.clone());
        Ok(table)
    }

    /// Removes the table from the catalog and drops its data. Its streams that still have
    /// readable records at `now_ms` (with `retention_ms`) are retired instead: disabled now,
    /// kept in the catalog and readable until they age out, as in DynamoDB.
    ///
    /// # Errors
    /// Storage failures.
    pub fn remove(
        &self,
        store: &dyn Store,
        descriptor: &TableDescriptor,
        now_ms: u64,
        retention_ms: u64,
    ) -> Result<()> {
        let key = catalog_key(&self.account, &descriptor.region, &descriptor.name);
        let mut writes = vec![Write::Delete { key }];
        let mut retired = Vec::new();
        let mut dropped = Vec::new();
        for stream in &descriptor.streams {
            let disabled = stream.disabled_ms.map_or(now_ms, |d| d.min(now_ms));
            if disabled.saturating_add(retention_ms) <= now_ms {
                dropped.push(stream.id);
                continue;
            }
            let r = RetiredStream {
                format: DESCRIPTOR_FORMAT,
                region: descriptor.region.clone(),
                table_name: descriptor.name.clone(),
                key_schema: descriptor.key_schema.clone(),
                stream: crate::stream::StreamDescriptor {
                    disabled_ms: Some(disabled),
                    ..stream.clone()
                },
            };
            let value = serde_json::to_vec(&r).map_err(|e| Error::Internal(e.to_string()))?;
            writes.push(Write::Put {
                key: retired_key(stream.id),
                value,
            });
            retired.push(r);
        }
        // One commit: the table is gone exactly when its streams are retired.
        store.commit(Batch {
            writes,
            guards: Vec::new(),
        })?;
        {
            let mut map = self.retired.write();
            for r in retired {
                map.insert(r.stream.id, Arc::new(r));
            }
        }
        self.tables
            .write()
            .remove(&(descriptor.region.clone(), descriptor.name.clone()));
        store.drop_table(descriptor.id)?;
        for index in &descriptor.indexes {
            store.drop_table(index.id)?;
        }
        for id in dropped {
            store.drop_table(id)?;
        }
        Ok(())
    }

    /// The streams of deleted tables still kept, oldest stream first.
    pub fn retired_streams(&self) -> Vec<Arc<RetiredStream>> {
        self.retired.read().values().cloned().collect()
    }

    /// Forgets the retired stream `id` for good and drops its records (it aged out).
    ///
    /// # Errors
    /// Storage failures.
    pub fn drop_retired(&self, store: &dyn Store, id: TableId) -> Result<()> {
        // Records first: a crash in between leaves the entry, and the next pass drops again.
        store.drop_table(id)?;
        store.commit(Batch {
            writes: vec![Write::Delete {
                key: retired_key(id),
            }],
            guards: Vec::new(),
        })?;
        self.retired.write().remove(&id);
        Ok(())
    }

    /// All tables of every region (for the background workers restarted at open).
    pub fn all(&self) -> Vec<Arc<Table>> {
        self.tables.read().values().cloned().collect()
    }

    /// The live table whose storage id is `id`, if it still exists.
    pub fn by_id(&self, region: &str, name: &str, id: TableId) -> Option<Arc<Table>> {
        self.get(region, name).filter(|t| t.descriptor().id == id)
    }

    /// All tables (for shutdown and diagnostics).
    pub fn len(&self) -> usize {
        self.tables.read().len()
    }

    /// Whether no table exists.
    pub fn is_empty(&self) -> bool {
        self.tables.read().is_empty()
    }
}

/// (ItemCount, TableSizeBytes) of `table`, computing them with one scan on first use.
///
/// # Errors
/// Storage failures or undecodable items.
pub fn table_stats(store: &dyn Store, table: &Table) -> Result<(i64, i64)> {
    counted(
        store,
        &table.stats,
        Keyspace::Items,
        table.descriptor().id,
        0,
    )
}

/// (ItemCount, IndexSizeBytes) of `index` of `table`, computing them with one scan on first use.
///
/// # Errors
/// Storage failures or undecodable entries.
pub fn index_stats(
    store: &dyn Store,
    table: &Table,
    index: &IndexDescriptor,
) -> Result<(i64, i64)> {
    let stats = table.index_stats(index.id);
    counted(
        store,
        &stats,
        index.keyspace(),
        index.id,
        INDEX_ENTRY_OVERHEAD,
    )
}

/// The counters of `stats`, loading them first (one scan of `id` in `keyspace`, each entry
/// counted at its item size plus `overhead`) if they were never computed.
fn counted(
    store: &dyn Store,
    stats: &TableStats,
    keyspace: Keyspace,
    id: TableId,
    overhead: usize,
) -> Result<(i64, i64)> {
    let mut loaded = stats.loaded.lock();
    if !*loaded {
        let (mut items, mut bytes, mut failure) = (0i64, 0i64, None);
        let scan = SegmentScan {
            keyspace,
            table: id,
            segment: 0,
            total_segments: 1,
            start_after: None,
        };
        store.scan(
            &scan,
            &mut |entry| match binderdb_model::decode_item(entry.value) {
                Ok(item) => {
                    items += 1;
                    bytes += (binderdb_model::item_size(&item) + overhead) as i64;
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            },
        )?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        stats.items.store(items, Ordering::Relaxed);
        stats.bytes.store(bytes, Ordering::Relaxed);
        *loaded = true;
    }
    Ok((
        stats.items.load(Ordering::Relaxed),
        stats.bytes.load(Ordering::Relaxed),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A descriptor as format 1 wrote it. If this stops decoding, the on-disk catalog format
    /// changed: bump [`DESCRIPTOR_FORMAT`] and add a migration instead of editing the fixture.
    const FORMAT_1_FIXTURE: &str = r#"{"format":1,"id":7,"uuid":"0b0a3b2e-1c52-4d3c-9f1e-2c1f4d6e8a90","region":"us-east-1","name":"PokerHands","attribute_definitions":[["user_id","S"],["hand_timestamp","N"]],"key_schema":{"hash":{"name":"user_id","key_type":"S"},"range":{"name":"hand_timestamp","key_type":"N"}},"billing_mode":"PayPerRequest","read_capacity":0,"write_capacity":0,"created_at_ms":1700000000000,"active_at_ms":1700000000000,"updating_until_ms":0,"last_pay_per_request_ms":1700000000000,"last_increase_ms":null,"last_decrease_ms":null,"decreases_today":0,"deletion_protection":false,"table_class":"STANDARD"}"#;

    #[test]
    fn format_1_descriptor_fixture_still_decodes() {
        let d: TableDescriptor = serde_json::from_str(FORMAT_1_FIXTURE).unwrap();
        assert_eq!(d.format, DESCRIPTOR_FORMAT);
        assert_eq!(d.id, 7);
        assert_eq!(d.key_schema.hash.name, "user_id");
        assert_eq!(d.key_schema.range.as_ref().unwrap().key_type, KeyType::N);
        assert_eq!(d.billing_mode, BillingMode::PayPerRequest);
        // And the current encoder writes exactly the same bytes.
        assert_eq!(serde_json::to_string(&d).unwrap(), FORMAT_1_FIXTURE);
    }

    /// Format 1 with the members added for tags and resource policies (absent when unset, so
    /// the fixture above is unchanged by them).
    const FORMAT_1_TAGS_POLICY_FIXTURE: &str = r#"{"format":1,"id":9,"uuid":"6f1d8d2a-3c1e-4b7a-9a51-0d2f1c7e4b10","region":"us-east-1","name":"Tagged","attribute_definitions":[["id","S"]],"key_schema":{"hash":{"name":"id","key_type":"S"},"range":null},"billing_mode":"PayPerRequest","read_capacity":0,"write_capacity":0,"created_at_ms":1700000000000,"active_at_ms":1700000000000,"updating_until_ms":0,"last_pay_per_request_ms":1700000000000,"last_increase_ms":null,"last_decrease_ms":null,"decreases_today":0,"deletion_protection":true,"table_class":"STANDARD_INFREQUENT_ACCESS","tags":{"env":"prod","owner":"me"},"resource_policy":{"document":"{\"Statement\":[{\"Effect\":\"Allow\"}]}","revision_id":"1700000000123"}}"#;

    #[test]
    fn format_1_tags_and_policy_fixture_still_decodes() {
        let d: TableDescriptor = serde_json::from_str(FORMAT_1_TAGS_POLICY_FIXTURE).unwrap();
        assert_eq!(d.tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(d.tags.len(), 2);
        let policy = d.resource_policy.as_ref().unwrap();
        assert_eq!(policy.revision_id, "1700000000123");
        assert_eq!(policy.document, r#"{"Statement":[{"Effect":"Allow"}]}"#);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            FORMAT_1_TAGS_POLICY_FIXTURE
        );
    }

    #[test]
    fn status_follows_the_clock() {
        let mut d: TableDescriptor = serde_json::from_str(FORMAT_1_FIXTURE).unwrap();
        d.active_at_ms = 100;
        d.updating_until_ms = 200;
        assert_eq!(d.status(99), "CREATING");
        assert_eq!(d.status(100), "UPDATING");
        assert_eq!(d.status(200), "ACTIVE");
    }
}
