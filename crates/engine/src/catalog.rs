//! The catalog: which tables exist, in which region, with which schema and settings.
//!
//! Tables live in one namespace per (account, region), as in DynamoDB. Each table's
//! [`TableDescriptor`] is stored as versioned JSON in the storage `Catalog` keyspace under
//! partition `"<account>:<region>"`, sort key = table name, and cached in memory; the cache is the
//! read path, the store is the truth restored on open. Table ids come from a counter kept in the
//! catalog too, so they are never reused and a dropped table's leftovers can never reappear.
//!
//! # Several nodes on one store
//! When the store is shared by several binderdb processes ([`Store::shared`], a RADOS pool),
//! each keeps this cache, and every change is announced to the others ([`Store::announce`])
//! after it is committed and before the operation returns: each other node reloads the catalog
//! ([`Catalog::refresh`]) and acknowledges. So a DescribeTable on node B right after
//! CreateTable returned on node A shows the table (stricter than DynamoDB, whose control plane
//! is eventually consistent), and nothing is read from the store per request. A node cut off
//! from the cluster may serve a stale catalog until it reconnects and resynchronises. DDL
//! operations are serialised across nodes by the `ddl` lease ([`Catalog::lock_ddl`]), so two
//! nodes never both create the same table.
//!
//! Statistics (ItemCount, TableSizeBytes, and each index's) are store counters
//! ([`binderdb_storage::counters`]): every write adds its delta in its own commit, so reading
//! them never scans.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use binderdb_model::KeyType;
use binderdb_storage::{
    codec, Batch, CounterId, Counts, Key, Keyspace, PartitionRange, SegmentScan, Store, TableId,
    Write,
};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::{BuildState, IndexDescriptor, IndexKind, INDEX_ENTRY_OVERHEAD};

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
    /// The account that owns the table, when it is not the server's default account
    /// (`Config::account_id`). Absent from the encoding for the default account, so every
    /// descriptor written before accounts existed decodes to a table of the default account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
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
    /// The table's resource-based policy (PutResourcePolicy), enforced by the server's access
    /// control.
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
    /// The table's `OnDemandThroughput` maximum of read request units per second (absent
    /// from the encoding when unset, so earlier descriptors are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_read_request_units: Option<i64>,
    /// Its maximum of write request units per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_write_request_units: Option<i64>,
    /// Where a table restored from a backup came from (absent otherwise, so format 1 is
    /// unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<crate::backup::RestoreSource>,
    /// Point-in-time recovery, while it is enabled (absent otherwise, so format 1 is
    /// unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr: Option<crate::pitr::PitrDescriptor>,
    /// Warm throughput, once a request or a capacity change set it (absent before: the
    /// default of the billing mode, see [`crate::warm`]; format 1 unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm: Option<crate::warm::WarmState>,
    /// Contributor Insights, once UpdateContributorInsights was called (absent: DISABLED;
    /// format 1 unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insights: Option<crate::insights::InsightsState>,
    /// The billing-mode or provisioned-throughput change of the table last requested (absent
    /// before the first; format 1 unchanged). While it is in progress DynamoDB answers another
    /// capacity change according to it (`ops::update_table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_change: Option<CapacityChange>,
    /// Encryption with a KMS key, or the last change of the table's key (absent: an AWS owned
    /// key, never changed; format 1 unchanged). See [`crate::sse`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<crate::sse::SseState>,
    /// The last change of the table class (absent before the first; format 1 unchanged). See
    /// [`ClassChange`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_change: Option<ClassChange>,
    /// When UpdateTable last changed `deletion_protection` (absent before; format 1
    /// unchanged): another DeletionProtectionEnabled is throttled for
    /// [`PROTECTION_COOLDOWN_MS`] after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protection_changed_ms: Option<u64>,
    /// When a resource-based policy of the table (key "") or of one of its streams (key: the
    /// stream's label) last changed, for the changes of the last
    /// [`crate::resource::POLICY_COOLDOWN_MS`] (absent when none; format 1 unchanged).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policy_changes: BTreeMap<String, u64>,
    /// When the table class changed within the last [`CLASS_UPDATE_WINDOW_MS`] (absent when
    /// never; format 1 unchanged): DynamoDB allows [`CLASS_UPDATES_PER_WINDOW`] of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_updates_ms: Vec<u64>,
    /// When TagResource or UntagResource last changed the table's tags (absent before;
    /// format 1 unchanged): see [`TAG_LOCK_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_changed_ms: Option<u64>,
    /// Kinesis streaming destinations, newest first (absent when none; format 1 unchanged).
    /// See [`crate::kinesis`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinesis: Vec<crate::kinesis::KinesisDestination>,
}

/// How long DynamoDB locks a table's tags after a TagResource or UntagResource changed them
/// (1.6–1.8 s observed, until the change is readable; the ack-api-quirks lab's DDB-TABLE-103,
/// 172, 173, 440). Meanwhile an UntagResource, and a TagResource that would change the tags,
/// are LimitExceededException "Subscriber limit exceeded: Table tags are being updated: T"; a
/// TagResource of pairs the table already has passes; DeleteTable is ResourceInUseException
/// "... Table tags are being updated: T". (DynamoDB also admits a TagResource that repeats the
/// pairs in flight among others; binderdb refuses it.) Enforced on throttled tables
/// (`--throttling` or the table's tag), like the other rate limits.
pub const TAG_LOCK_MS: u64 = 1_700;

/// DynamoDB's quota of table class changes: two in 30 days, after which any `TableClass` in an
/// UpdateTable, the current one included, is LimitExceededException "Subscriber limit exceeded:
/// Updates to TableClass are limited to 2 times in 30 day(s)." (the ack-api-quirks lab's
/// DDB-TABLE-443 and its error catalogue). Enforced on throttled tables (`--throttling` or the
/// table's tag), like the other rate limits.
pub const CLASS_UPDATES_PER_WINDOW: usize = 2;

/// See [`CLASS_UPDATES_PER_WINDOW`].
pub const CLASS_UPDATE_WINDOW_MS: u64 = 30 * 24 * 3_600_000;

/// How long after a change of a table's deletion protection DynamoDB refuses another
/// `DeletionProtectionEnabled` (any value) with a ThrottlingException (the ack-api-quirks lab's
/// DDB-TABLE-018, 445: "... modified within the previous 15000 milliseconds. Please try again
/// after <instant>"). A table's creation does not start it (not observed either way). Enforced
/// on tables that are throttled (`Config::throttling` or the table's tag), like the other rate
/// limits.
pub const PROTECTION_COOLDOWN_MS: u64 = 15_000;

/// A change of a table's class, as DynamoDB was observed to make it (the ack-api-quirks lab's
/// DDB-TABLE-177, 180, 284, 285): the table is UPDATING (about 4 s in DynamoDB,
/// `Config::create_delay_ms` here) and its `TableClassSummary` stays as it was until the change
/// completes; from then on it names the class with the completion as `LastUpdateDateTime`, also
/// once the class is STANDARD again. A table whose class never changed has a summary only when
/// it was created with a class other than STANDARD (without `LastUpdateDateTime`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassChange {
    /// The class before the change.
    pub from: String,
    /// When the change before this one completed (the summary's `LastUpdateDateTime` until
    /// this one completes), if there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_updated_ms: Option<u64>,
    /// When this change completes, ms since the epoch.
    pub until_ms: u64,
}

impl ClassChange {
    /// Whether the change is still in progress at `now_ms`.
    pub fn in_progress(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms
    }
}

/// A billing-mode or provisioned-throughput change of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityChange {
    /// The billing mode the table had before the change.
    pub from: BillingMode,
    /// The instant the change completes (the table is ACTIVE again), ms since the epoch.
    pub until_ms: u64,
    /// The table's `LastUpdateToPayPerRequestDateTime` before a switch to PAY_PER_REQUEST,
    /// shown until the switch completes (absent otherwise, and from earlier encodings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_pay_per_request_ms: Option<u64>,
}

impl CapacityChange {
    /// Whether the change is still in progress at `now_ms`.
    pub fn in_progress(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms
    }
}

/// A stream of a deleted table. DynamoDB keeps it readable (DISABLED) for 24 hours after the
/// deletion; the catalog keeps it, under its own `#streams` partition, until the trimmer found
/// all of it aged out and dropped its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetiredStream {
    /// Always [`DESCRIPTOR_FORMAT`] when written by this version.
    pub format: u32,
    /// The account of the deleted table (`None`: the server's default account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
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

/// A resource-based policy as stored: the document in its canonical form (`policy_document`;
/// documents stored before binderdb canonicalised are kept as they were sent) and its revision
/// (a millisecond timestamp, as DynamoDB's revision ids are).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePolicy {
    /// The policy document (JSON text), without the `Version` IAM would default when it was
    /// sent without one.
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

    /// The store counter of the table's own statistics (ItemCount, TableSizeBytes).
    pub fn counter(&self) -> CounterId {
        CounterId {
            group: self.id,
            lane: self.id,
        }
    }

    /// The store counter of index `index`'s statistics (in the table's group, so one write's
    /// changes to a table and its indexes are one stored record).
    pub fn index_counter(&self, index: TableId) -> CounterId {
        CounterId {
            group: self.id,
            lane: index,
        }
    }

    /// The enabled stream, if any.
    pub fn enabled_stream(&self) -> Option<&crate::stream::StreamDescriptor> {
        self.streams.last().filter(|s| s.enabled())
    }

    /// `LastUpdateToPayPerRequestDateTime` at `now_ms`: when the last switch to PAY_PER_REQUEST
    /// completed (or the table was created on-demand), kept once the table is provisioned again;
    /// while a switch to on-demand is in flight, the one before it, as DynamoDB shows
    /// (DDB-TABLE-055, 058, 064, 183, 452).
    pub fn pay_per_request_since(&self, now_ms: u64) -> Option<u64> {
        match self.last_pay_per_request_ms {
            Some(t) if t > now_ms => self
                .capacity_change
                .and_then(|c| c.previous_pay_per_request_ms),
            since => since,
        }
    }

    /// `TableStatus` at `now_ms`.
    /// The table's `TableClassSummary` at `now_ms`: the class and its `LastUpdateDateTime`
    /// (see [`ClassChange`]), or `None` when DynamoDB shows none.
    pub fn class_summary(&self, now_ms: u64) -> Option<(&str, Option<u64>)> {
        match &self.class_change {
            Some(c) if c.in_progress(now_ms) => (c.from_updated_ms.is_some()
                || c.from != "STANDARD")
                .then_some((c.from.as_str(), c.from_updated_ms)),
            Some(c) => Some((self.table_class.as_str(), Some(c.until_ms))),
            None => (self.table_class != "STANDARD").then_some((self.table_class.as_str(), None)),
        }
    }

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

/// A table known to the catalog.
#[derive(Debug)]
pub struct Table {
    /// The descriptor; replaced by UpdateTable.
    pub descriptor: RwLock<Arc<TableDescriptor>>,
    /// Sizes of the item collections (partition key → bytes of its items and their local
    /// index entries) of a table with local secondary indexes, each computed by one walk of
    /// its partition when a write needs it, then kept by every write; bounded
    /// (`index::collections`).
    pub(crate) collections: Mutex<crate::index::collections::CollectionSizes>,
    /// Held shared by every item write from before it reads the descriptor until its commit,
    /// and exclusively while the set of indexes changes: once a change of the index set
    /// returns, no write decided with the old set can still commit. An online index backfill
    /// relies on this (every write after its start maintains the new index).
    pub write_gate: RwLock<()>,
    /// The table's bill counters and throttling buckets, created on first use (`capacity`).
    pub(crate) capacity: std::sync::OnceLock<Arc<crate::capacity::bill::TableCapacity>>,
}

impl Table {
    fn new(descriptor: TableDescriptor) -> Table {
        Table {
            descriptor: RwLock::new(Arc::new(descriptor)),
            collections: Mutex::default(),
            write_gate: RwLock::new(()),
            capacity: std::sync::OnceLock::new(),
        }
    }

    /// A snapshot of the descriptor.
    pub fn descriptor(&self) -> Arc<TableDescriptor> {
        self.descriptor.read().clone()
    }
}

/// The in-memory catalog over the store.
#[derive(Debug)]
pub struct Catalog {
    /// The server's default account: the catalog partition of tables whose descriptor names
    /// no account.
    account: String,
    /// (account, region, name) → table, `None` standing for the default account; BTreeMap so
    /// ListTables walks names in order.
    tables: RwLock<BTreeMap<TableKey, Arc<Table>>>,
    /// Serialises catalog changes (create/delete/update) so checks and writes cannot interleave.
    ddl: Mutex<()>,
    /// Serialises reloads from the store ([`Catalog::refresh`]).
    reloading: Mutex<()>,
    /// Whether any table or stream has a resource-based policy, kept on every change.
    policies: AtomicBool,
    /// Streams of deleted tables still readable, by stream id.
    retired: RwLock<BTreeMap<TableId, Arc<RetiredStream>>>,
}

fn any_policy(tables: &BTreeMap<TableKey, Arc<Table>>) -> bool {
    tables.values().any(|t| {
        let d = t.descriptor();
        d.resource_policy.is_some() || d.streams.iter().any(|s| s.policy.is_some())
    })
}

/// Where the catalog keeps a table in memory: (account, region, name), `None` for the
/// server's default account.
type TableKey = (Option<String>, String, String);

/// A table key seen as borrowed parts, so that the catalog's map is searched without building
/// an owned key (three `String`s) on every request.
trait TableKeyView {
    fn parts(&self) -> (Option<&str>, &str, &str);
}

impl TableKeyView for TableKey {
    fn parts(&self) -> (Option<&str>, &str, &str) {
        (self.0.as_deref(), &self.1, &self.2)
    }
}

impl TableKeyView for (Option<&str>, &str, &str) {
    fn parts(&self) -> (Option<&str>, &str, &str) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn TableKeyView + 'a> for TableKey {
    fn borrow(&self) -> &(dyn TableKeyView + 'a) {
        self
    }
}

// The order of the parts is the owned tuple's own order, as `Borrow` requires.
impl PartialEq for dyn TableKeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn TableKeyView + '_ {}

impl PartialOrd for dyn TableKeyView + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn TableKeyView + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

fn table_key(d: &TableDescriptor) -> TableKey {
    (d.account.clone(), d.region.clone(), d.name.clone())
}

fn catalog_key(account: &str, region: &str, name: &str) -> Key {
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: format!("{account}:{region}").into_bytes(),
        sort: name.as_bytes().to_vec(),
    }
}

/// Descriptors and retired streams as the store holds them.
type Loaded = (
    BTreeMap<TableKey, TableDescriptor>,
    BTreeMap<TableId, Arc<RetiredStream>>,
);

/// Reads every table descriptor and retired stream from `store`.
///
/// # Errors
/// Storage failures, or a record that cannot be decoded.
fn load(store: &dyn Store) -> Result<Loaded> {
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
                tables.insert(table_key(&d), d);
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
    match failure {
        Some(msg) => Err(Error::Internal(msg)),
        None => Ok((tables, retired)),
    }
}

/// The lease serialising DDL operations across the nodes sharing a store.
const DDL_LEASE: &str = "ddl";
/// How long the `ddl` lease lasts if its holder dies mid-operation.
const DDL_LEASE_DURATION: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a DDL operation waits for another node's to finish.
pub const DDL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// A held DDL lock ([`Catalog::lock_ddl`]): this process's, and the store's `ddl` lease when
/// the store is shared; both released on drop.
#[must_use]
pub struct DdlGuard<'a> {
    _local: parking_lot::MutexGuard<'a, ()>,
    shared: Option<&'a dyn Store>,
}

impl std::fmt::Debug for DdlGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DdlGuard")
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Drop for DdlGuard<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.shared {
            if let Err(e) = store.release_lease(DDL_LEASE) {
                // It lapses by itself after `DDL_LEASE_DURATION`.
                tracing::warn!(error = %e, "releasing the catalog's change lock");
            }
        }
    }
}

/// The topic a catalog change is announced under to other nodes sharing the store.
pub(crate) const CATALOG_TOPIC: &[u8] = b"catalog";

/// Tells the other nodes sharing `store` (if any) that the catalog changed, and waits until
/// each refreshed its cache (see [`Catalog::refresh`]). The change is committed already: a
/// failure to announce is logged, not returned, since the caller's change stands either way.
fn announce_change(store: &dyn Store) {
    if store.shared() {
        if let Err(e) = store.announce(CATALOG_TOPIC).map(|_| ()) {
            tracing::error!(error = %e, "announcing a catalog change to the other nodes failed");
        }
    }
}

impl Catalog {
    /// Loads every table descriptor from `store`.
    ///
    /// # Errors
    /// Storage failures, or a descriptor that cannot be decoded.
    pub fn open(store: &dyn Store, account: &str) -> Result<Catalog> {
        let (descriptors, retired) = load(store)?;
        let tables: BTreeMap<TableKey, Arc<Table>> = descriptors
            .into_iter()
            .map(|(k, d)| (k, Arc::new(Table::new(d))))
            .collect();
        Ok(Catalog {
            account: account.to_owned(),
            policies: AtomicBool::new(any_policy(&tables)),
            tables: RwLock::new(tables),
            ddl: Mutex::new(()),
            reloading: Mutex::new(()),
            retired: RwLock::new(retired),
        })
    }

    /// Makes the cache what the store holds now: what another binderdb node sharing the store
    /// changed (it announced it, see [`Store::announce`]) becomes visible here. A table whose
    /// set of indexes or streams changed gets its new descriptor under its write gate held
    /// exclusively, exactly as on the node that changed it: once this returns, no write of
    /// this node decided with the old set can still commit, so the other node's backfill (or
    /// new stream) misses nothing. Returns the ids of the tables that disappeared.
    ///
    /// # Errors
    /// Storage failures, or a descriptor that cannot be decoded (the cache is then unchanged).
    pub fn refresh(&self, store: &dyn Store) -> Result<Vec<TableId>> {
        // One reload at a time: an older snapshot must never be applied after a newer one.
        let _reloading = self.reloading.lock();
        let (descriptors, retired) = load(store)?;
        let mut gone = Vec::new();
        let mut changed = Vec::new();
        {
            let mut tables = self.tables.write();
            tables.retain(|key, table| {
                let keep = descriptors
                    .get(key)
                    .is_some_and(|d| d.id == table.descriptor().id);
                if !keep {
                    gone.push(table.descriptor().id);
                }
                keep
            });
            for (key, d) in descriptors {
                match tables.get(&key) {
                    Some(table) if *table.descriptor() != d => changed.push((table.clone(), d)),
                    Some(_) => {}
                    None => {
                        tables.insert(key, Arc::new(Table::new(d)));
                    }
                }
            }
        }
        // Outside the map's lock: a write holding a gate may look a table up meanwhile.
        for (table, d) in changed {
            let current = table.descriptor();
            let gated = current.indexes != d.indexes || current.streams != d.streams;
            let _gate = gated.then(|| table.write_gate.write());
            *table.descriptor.write() = Arc::new(d);
        }
        let policies = any_policy(&self.tables.read());
        self.policies.store(policies, Ordering::Relaxed);
        *self.retired.write() = retired;
        Ok(gone)
    }

    /// The table `name` of `account` (`None`: the default account) in `region`, if it exists.
    pub fn get(&self, account: Option<&str>, region: &str, name: &str) -> Option<Arc<Table>> {
        let key = (account, region, name);
        self.tables.read().get(&key as &dyn TableKeyView).cloned()
    }

    /// Table names of `account` in `region` in ascending order, strictly after `after` if
    /// given.
    pub fn names(&self, account: Option<&str>, region: &str, after: Option<&str>) -> Vec<String> {
        self.tables
            .read()
            .keys()
            .filter(|(acc, r, n)| {
                acc.as_deref() == account && r == region && after.is_none_or(|a| n.as_str() > a)
            })
            .map(|(_, _, n)| n.clone())
            .collect()
    }

    /// Whether any table or stream has a resource-based policy.
    pub fn has_policies(&self) -> bool {
        self.policies.load(Ordering::Relaxed)
    }

    /// The catalog partition of `descriptor`'s account.
    fn account_of<'a>(&'a self, descriptor: &'a TableDescriptor) -> &'a str {
        descriptor.account.as_deref().unwrap_or(&self.account)
    }

    /// The storage key of the descriptor of table `name` of `account` (`None`: the default
    /// account) in `region` (background workers guard their commits on its version: a DDL
    /// change in between makes them look again).
    pub(crate) fn descriptor_key(&self, account: Option<&str>, region: &str, name: &str) -> Key {
        catalog_key(account.unwrap_or(&self.account), region, name)
    }

    /// Holds the catalog's change lock for the duration of a DDL operation. On a store shared
    /// by several nodes it also takes the `ddl` lease, so DDL operations of all nodes are
    /// serialised, and then reloads the catalog, so the checks that follow see every change
    /// other nodes made (even one whose announcement this node missed).
    ///
    /// # Errors
    /// Storage failures taking the lease or reloading; `InternalServerError` if another node
    /// kept the lease for [`DDL_WAIT`].
    pub fn lock_ddl<'a>(&'a self, store: &'a dyn Store) -> Result<DdlGuard<'a>> {
        let local = self.ddl.lock();
        if !store.shared() {
            return Ok(DdlGuard {
                _local: local,
                shared: None,
            });
        }
        let deadline = std::time::Instant::now() + DDL_WAIT;
        while !store.lease(DDL_LEASE, DDL_LEASE_DURATION)? {
            if std::time::Instant::now() >= deadline {
                return Err(Error::Internal(
                    "another node held the catalog's change lock for too long".to_owned(),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let guard = DdlGuard {
            _local: local,
            shared: Some(store),
        };
        self.refresh(store)?;
        Ok(guard)
    }

    /// Allocates a new, never used table id: a compact id
    /// ([`binderdb_storage::codec::compact_table_id`]) numbered by the catalog's counter, whose
    /// keys start with 2 id bytes (4 past 16,384 allocations) where older builds wrote 8. The
    /// counter is the one older builds numbered their ids with, so a data directory they wrote
    /// keeps its tables under their old ids and gets new ones of the compact kind.
    ///
    /// # Errors
    /// Storage failures; `InternalServerError` once the counter has passed the compact range
    /// (2^30 ids), which would otherwise encode into another table's keys.
    pub fn allocate_table_id(&self, store: &dyn Store) -> Result<TableId> {
        let key = Key {
            keyspace: Keyspace::Catalog,
            table: CATALOG_TABLE,
            partition: META_PARTITION.to_vec(),
            sort: NEXT_TABLE_ID.to_vec(),
        };
        let mut allocated = None;
        store.read_modify_write(&key, &mut |current| {
            let next = current
                .and_then(|v| v.value.get(..8))
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(1);
            allocated = codec::compact_table_id(next);
            allocated.is_some().then(|| Batch {
                writes: vec![Write::Put {
                    key: key.clone(),
                    value: (next + 1).to_be_bytes().to_vec(),
                }],
                guards: Vec::new(),
            })
        })?;
        allocated.ok_or_else(|| Error::Internal("no table ids are left".to_owned()))
    }

    /// Persists `descriptor` and makes it visible. A new table's statistics (and those of the
    /// indexes it is created with) start at zero in the same commit, so they are known from
    /// the first write on.
    ///
    /// # Errors
    /// Storage or encoding failures.
    pub fn put(&self, store: &dyn Store, descriptor: TableDescriptor) -> Result<Arc<Table>> {
        self.put_with_counts(store, descriptor, &[])
    }

    /// [`Catalog::put`], where a new table's statistics start at `initial` (by counter) instead
    /// of zero: a restored table is visible only once its items are in, with their counts.
    ///
    /// # Errors
    /// Storage or encoding failures.
    pub fn put_with_counts(
        &self,
        store: &dyn Store,
        descriptor: TableDescriptor,
        initial: &[(CounterId, Counts)],
    ) -> Result<Arc<Table>> {
        let value = serde_json::to_vec(&descriptor).map_err(|e| Error::Internal(e.to_string()))?;
        let key = catalog_key(
            self.account_of(&descriptor),
            &descriptor.region,
            &descriptor.name,
        );
        let map_key = table_key(&descriptor);
        let is_new = self
            .tables
            .read()
            .get(&map_key)
            .is_none_or(|t| t.descriptor().id != descriptor.id);
        let mut writes = vec![Write::Put { key, value }];
        if is_new {
            let zero = |counter| Write::SetCount {
                counter,
                value: initial
                    .iter()
                    .find(|(c, _)| *c == counter)
                    .map(|(_, v)| *v)
                    .unwrap_or_default(),
            };
            writes.push(zero(descriptor.counter()));
            writes.extend(
                descriptor
                    .indexes
                    .iter()
                    .filter(|i| i.state == BuildState::Built)
                    .map(|i| zero(descriptor.index_counter(i.id))),
            );
        }
        store.commit(Batch {
            writes,
            guards: Vec::new(),
        })?;
        let table = {
            let mut tables = self.tables.write();
            let table = match tables.get(&map_key) {
                Some(existing) if existing.descriptor().id == descriptor.id => {
                    *existing.descriptor.write() = Arc::new(descriptor);
                    existing.clone()
                }
                _ => {
                    let table = Arc::new(Table::new(descriptor));
                    tables.insert(map_key, table.clone());
                    table
                }
            };
            self.policies.store(any_policy(&tables), Ordering::Relaxed);
            table
        };
        announce_change(store);
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
        self.remove_keeping(store, descriptor, now_ms, retention_ms, None)
    }

    /// [`Catalog::remove`], keeping the table's items and point-in-time recovery log for
    /// `system_backup` (a deleted table's, [`crate::backup::DeletedTable`]), whose record is
    /// stored in the same commit that removes the table: the table is gone exactly when its
    /// system backup exists.
    ///
    /// # Errors
    /// Storage failures.
    pub fn remove_keeping(
        &self,
        store: &dyn Store,
        descriptor: &TableDescriptor,
        now_ms: u64,
        retention_ms: u64,
        system_backup: Option<&crate::backup::BackupRecord>,
    ) -> Result<()> {
        let key = catalog_key(
            self.account_of(descriptor),
            &descriptor.region,
            &descriptor.name,
        );
        let mut writes = vec![Write::Delete { key }];
        if let Some(record) = system_backup {
            writes.push(crate::backup::record_write(record)?);
        }
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
                account: descriptor.account.clone(),
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
        {
            let mut tables = self.tables.write();
            tables.remove(&table_key(descriptor));
            self.policies.store(any_policy(&tables), Ordering::Relaxed);
        }
        // The other nodes forget the table before its data goes.
        announce_change(store);
        if system_backup.is_none() {
            store.drop_table(descriptor.id)?;
        }
        for index in &descriptor.indexes {
            store.drop_table(index.id)?;
        }
        if let Some(pitr) = descriptor.pitr.as_ref().filter(|_| system_backup.is_none()) {
            store.drop_table(pitr.log_id)?;
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
        // Not announced: the other nodes drop it from their caches at their next reload (a
        // retired stream whose records are gone reads as empty meanwhile).
        self.retired.write().remove(&id);
        Ok(())
    }

    /// All tables of every region (for the background workers restarted at open).
    pub fn all(&self) -> Vec<Arc<Table>> {
        self.tables.read().values().cloned().collect()
    }

    /// The live table whose storage id is `id`, if it still exists (a walk over the tables:
    /// background workers ask once per chunk of work, never per request).
    pub fn by_id(&self, id: TableId) -> Option<Arc<Table>> {
        self.tables
            .read()
            .values()
            .find(|t| t.descriptor().id == id)
            .cloned()
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

/// (ItemCount, TableSizeBytes) of `table`, read from its store counter: O(1), never a scan.
/// While the counter is unknown (data written by a version of binderdb that kept no counters,
/// until the background recount started at open finishes) both are 0: DynamoDB's own figures
/// lag by up to six hours, and a request never waits for a count.
///
/// # Errors
/// Storage failures.
pub fn table_stats(store: &dyn Store, descriptor: &TableDescriptor) -> Result<(i64, i64)> {
    Ok(pair(store.counts(descriptor.counter())?))
}

/// (ItemCount, IndexSizeBytes) of `index` of `table`, read from its store counter (0 while it
/// is unknown: during a backfill, or before the recount after an upgrade).
///
/// # Errors
/// Storage failures.
pub fn index_stats(
    store: &dyn Store,
    descriptor: &TableDescriptor,
    index: &IndexDescriptor,
) -> Result<(i64, i64)> {
    Ok(pair(store.counts(descriptor.index_counter(index.id))?))
}

fn pair(counts: Option<Counts>) -> (i64, i64) {
    let c = counts.unwrap_or_default();
    (c.items, c.bytes)
}

/// How much an entry of `keyspace` weighs in its table's or index's statistics: its item size,
/// plus DynamoDB's 100 bytes of per-entry overhead in an index. What recounts sum; every
/// write's delta uses the same measure.
///
/// # Errors
/// `Corrupt` for an undecodable entry.
pub(crate) fn entry_weight(
    keyspace: Keyspace,
    value: &[u8],
) -> std::result::Result<i64, binderdb_storage::StorageError> {
    let overhead = match keyspace {
        Keyspace::Items => 0,
        _ => INDEX_ENTRY_OVERHEAD,
    };
    binderdb_model::decode_item(value)
        .map(|item| (binderdb_model::item_size(&item) + overhead) as i64)
        .map_err(|e| binderdb_storage::StorageError::Corrupt(e.to_string()))
}

/// Recounts, in the background, every statistic of `tables` that the store does not know:
/// those of tables written by a version of binderdb without counters, and of built indexes
/// whose count was interrupted. Runs until done or `stop`; each recount walks one snapshot
/// while writes go on (see [`Store::recount`]).
///
/// # Errors
/// Storage failures or undecodable entries (the recount runs again at the next start).
pub(crate) fn recount_unknown(
    store: &dyn Store,
    catalog: &Catalog,
    tables: &[Arc<Table>],
    stop: &std::sync::atomic::AtomicBool,
) -> Result<()> {
    for table in tables {
        let d = table.descriptor();
        let lanes = std::iter::once((d.counter(), Keyspace::Items, d.id)).chain(
            d.indexes
                .iter()
                .filter(|i| i.state == BuildState::Built)
                .map(|i| (d.index_counter(i.id), i.keyspace(), i.id)),
        );
        for (counter, keyspace, id) in lanes {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(());
            }
            // Checked again: the table may have been deleted meanwhile.
            if store.counts(counter)?.is_some() || catalog.by_id(d.id).is_none() {
                continue;
            }
            tracing::info!(table = %d.name, id, "counting a table's statistics once");
            store.recount(counter, keyspace, id, &mut |e| {
                entry_weight(keyspace, e.value)
            })?;
        }
    }
    Ok(())
}

/// One page of the records a catalog partition keeps by ARN (backups, exports, imports):
/// those strictly after `after`, in ARN order, for which `keep` holds, at most `limit`, plus
/// whether more matched.
///
/// # Errors
/// Storage failures or a record `decode` refuses.
pub(crate) fn list_records<R>(
    store: &dyn Store,
    partition: &[u8],
    after: Option<&str>,
    limit: usize,
    decode: &dyn Fn(&[u8]) -> Result<R>,
    keep: &dyn Fn(&R) -> bool,
) -> Result<(Vec<R>, bool)> {
    let mut out = Vec::new();
    let mut more = false;
    let mut failure = None;
    let range = PartitionRange {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition,
        lower: after.map_or(std::ops::Bound::Unbounded, |a| {
            std::ops::Bound::Excluded(a.as_bytes())
        }),
        upper: std::ops::Bound::Unbounded,
        reverse: false,
    };
    store.range(&range, &mut |entry| match decode(entry.value) {
        Ok(record) if keep(&record) => {
            if out.len() == limit {
                more = true;
                return ControlFlow::Break(());
            }
            out.push(record);
            ControlFlow::Continue(())
        }
        Ok(_) => ControlFlow::Continue(()),
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok((out, more)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A descriptor as format 1 wrote it. If this stops decoding, the on-disk catalog format
    /// changed: bump [`DESCRIPTOR_FORMAT`] and add a migration instead of editing the fixture.
    const FORMAT_1_FIXTURE: &str = r#"{"format":1,"id":7,"uuid":"0b0a3b2e-1c52-4d3c-9f1e-2c1f4d6e8a90","region":"us-east-1","name":"PokerHands","attribute_definitions":[["user_id","S"],["hand_timestamp","N"]],"key_schema":{"hash":{"name":"user_id","key_type":"S"},"range":{"name":"hand_timestamp","key_type":"N"}},"billing_mode":"PayPerRequest","read_capacity":0,"write_capacity":0,"created_at_ms":1700000000000,"active_at_ms":1700000000000,"updating_until_ms":0,"last_pay_per_request_ms":1700000000000,"last_increase_ms":null,"last_decrease_ms":null,"decreases_today":0,"deletion_protection":false,"table_class":"STANDARD"}"#;

    #[test]
    fn borrowed_lookups_find_exactly_the_owned_keys() {
        let keys = [
            (None, "eu-west-1", "a"),
            (None, "us-east-1", "a"),
            (None, "us-east-1", "ab"),
            (Some(""), "us-east-1", "a"),
            (Some("111122223333"), "us-east-1", "a"),
            (Some("111122223333"), "us-east-10", "a"),
        ];
        let map: BTreeMap<TableKey, usize> = keys
            .iter()
            .enumerate()
            .map(|(i, (a, r, n))| ((a.map(str::to_owned), r.to_string(), n.to_string()), i))
            .collect();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(map.get(key as &dyn TableKeyView), Some(&i), "{key:?}");
        }
        for missing in [(None, "us-east-1", "b"), (Some("1"), "us-east-1", "a")] {
            assert_eq!(map.get(&missing as &dyn TableKeyView), None);
        }
    }

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

    /// Format 1 with the members added for warm throughput and Contributor Insights (absent
    /// when unset, so the fixtures above are unchanged by them).
    const FORMAT_1_WARM_INSIGHTS_FIXTURE: &str = r#"{"format":1,"id":11,"uuid":"1c6b2f0e-5d3a-4e8b-8f21-3a9d7c4e2b61","region":"us-east-1","name":"Warm","attribute_definitions":[["id","S"]],"key_schema":{"hash":{"name":"id","key_type":"S"},"range":null},"billing_mode":"PayPerRequest","read_capacity":0,"write_capacity":0,"created_at_ms":1700000000000,"active_at_ms":1700000000000,"updating_until_ms":0,"last_pay_per_request_ms":1700000000000,"last_increase_ms":null,"last_decrease_ms":null,"decreases_today":0,"deletion_protection":false,"table_class":"STANDARD","warm":{"read":13000,"write":4000,"pending":{"read":13000,"write":5000,"done_at_ms":1700000060000},"configured":true},"insights":{"enabled":true,"mode":"THROTTLED_KEYS","updated_ms":1700000001000,"settles_at_ms":1700000061000,"rules_created_ms":1700000001000}}"#;

    #[test]
    fn format_1_warm_and_insights_fixture_still_decodes() {
        let d: TableDescriptor = serde_json::from_str(FORMAT_1_WARM_INSIGHTS_FIXTURE).unwrap();
        let warm = d.warm.as_ref().unwrap();
        assert_eq!(
            (warm.read, warm.write, warm.configured),
            (13_000, 4_000, true)
        );
        assert_eq!(warm.pending.as_ref().unwrap().done_at_ms, 1_700_000_060_000);
        let insights = d.insights.as_ref().unwrap();
        assert_eq!(insights.status(1_700_000_061_000), "ENABLED");
        assert_eq!(insights.mode, "THROTTLED_KEYS");
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            FORMAT_1_WARM_INSIGHTS_FIXTURE
        );
    }

    /// Format 1 with the member added for Kinesis streaming destinations (absent when none, so
    /// the fixtures above are unchanged by it).
    const FORMAT_1_KINESIS_FIXTURE: &str = r#"{"format":1,"id":12,"uuid":"4d2c9a7e-8b1f-4c6a-a3e5-7f0b2d9c1e84","region":"us-east-1","name":"Streamed","attribute_definitions":[["id","S"]],"key_schema":{"hash":{"name":"id","key_type":"S"},"range":null},"billing_mode":"PayPerRequest","read_capacity":0,"write_capacity":0,"created_at_ms":1700000000000,"active_at_ms":1700000000000,"updating_until_ms":0,"last_pay_per_request_ms":1700000000000,"last_increase_ms":null,"last_decrease_ms":null,"decreases_today":0,"deletion_protection":false,"table_class":"STANDARD","kinesis":[{"stream_arn":"arn:aws:kinesis:us-east-1:000000000000:stream/b","precision":"MICROSECOND","enabled_ms":1700000002000,"fails_at_ms":1700000004000},{"stream_arn":"arn:aws:kinesis:us-east-1:000000000000:stream/a","enabled_ms":1700000001000,"fails_at_ms":1700000001000}]}"#;

    #[test]
    fn format_1_kinesis_fixture_still_decodes() {
        let d: TableDescriptor = serde_json::from_str(FORMAT_1_KINESIS_FIXTURE).unwrap();
        let statuses: Vec<_> = d
            .kinesis
            .iter()
            .map(|k| k.status(1_700_000_003_000))
            .collect();
        assert_eq!(statuses, ["ENABLING", "ENABLE_FAILED"]);
        assert_eq!(d.kinesis[0].precision.as_deref(), Some("MICROSECOND"));
        assert_eq!(d.kinesis[1].precision, None);
        assert_eq!(serde_json::to_string(&d).unwrap(), FORMAT_1_KINESIS_FIXTURE);
    }

    /// A table of another account: its descriptor names the account and lives in that
    /// account's catalog partition; reopening the catalog puts it back in that namespace only,
    /// beside the default account's table of the same name.
    #[test]
    fn tables_of_other_accounts_reopen_in_their_namespace() {
        let store = binderdb_storage::MemoryStore::new();
        let catalog = Catalog::open(&store, "000000000000").unwrap();
        let mut d: TableDescriptor = serde_json::from_str(FORMAT_1_FIXTURE).unwrap();
        catalog.put(&store, d.clone()).unwrap();
        d.id = 8;
        d.account = Some("111122223333".to_owned());
        catalog.put(&store, d.clone()).unwrap();
        assert!(serde_json::to_string(&d)
            .unwrap()
            .contains(r#""account":"111122223333""#));

        let reopened = Catalog::open(&store, "000000000000").unwrap();
        let found = |account| {
            reopened
                .get(account, "us-east-1", "PokerHands")
                .map(|t| t.descriptor().id)
        };
        assert_eq!(found(None), Some(7));
        assert_eq!(found(Some("111122223333")), Some(8));
        assert_eq!(found(Some("444455556666")), None);
        assert_eq!(
            reopened.names(Some("111122223333"), "us-east-1", None),
            ["PokerHands"]
        );
        assert!(!reopened.has_policies());
        assert_eq!(
            reopened
                .by_id(8)
                .map(|t| t.descriptor().name.clone())
                .as_deref(),
            Some("PokerHands")
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

#[cfg(test)]
#[path = "catalog_ids_tests.rs"]
mod ids_tests;
