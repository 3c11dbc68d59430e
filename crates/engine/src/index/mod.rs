//! Secondary indexes: their definitions, the storage keys and values of their entries, and the
//! writes that keep them in step with the table.
//!
//! Every index (local or global) has a storage id of its own, allocated from the same
//! never-reused counter as table ids. Its entries live in the `Lsi` or `Gsi` keyspace under that
//! id, so an index is laid out exactly like a table and is routable like one:
//!
//! ```text
//! lsi  [index id][hash(pk)][len][pk]            [index sk][base sk]          → projected item
//! gsi  [index id][hash(ipk)][len][ipk₁..ipk₄]   [isk₁..isk₄][base pk][base sk] → projected item
//! ```
//!
//! Every component is the model's self-delimiting, order-preserving key encoding, so a multi-
//! attribute key is the concatenation of its components and sorts as the tuple. Entries with
//! equal index keys are ordered by the table's primary key (partition key bytes, then sort key),
//! which is what a Query on an index returns for ties. Dropping an index (or its table) is
//! `Store::drop_table` on the index id.
//!
//! Design note: DESIGN.md draws the index key as `[table id][index id]...`; an id per index
//! gives the same layout through the unchanged storage contract (a key has one table id) and
//! lets a deleted GSI's storage be reclaimed with the same call as a table's.
//!
//! Must not depend on: HTTP or any concrete storage engine.

pub(crate) mod backfill;
pub(crate) mod collections;
pub(crate) mod define;
pub(crate) mod maintain;
pub(crate) mod updates;

use std::borrow::Cow;

use binderdb_model::{encode_item, encode_key_value, AttributeValue, Item, KeyType};
use binderdb_storage::{Key, Keyspace, TableId};
use serde::{Deserialize, Serialize};

use crate::catalog::{KeyAttribute, TableDescriptor};
use crate::error::{Error, Result};
use crate::keys::{
    key_type_code, key_value_size, matches_type, schema_attributes, MAX_PARTITION_KEY_BYTES,
    MAX_SORT_KEY_BYTES,
};

/// An item's primary key as stored: its encoded partition and sort bytes.
#[derive(Debug, Clone, Copy)]
pub struct BaseKey<'a> {
    /// Encoded partition key.
    pub partition: &'a [u8],
    /// Encoded sort key (empty for a hash-only table).
    pub sort: &'a [u8],
}

impl<'a> From<&'a Key> for BaseKey<'a> {
    fn from(key: &'a Key) -> Self {
        BaseKey {
            partition: &key.partition,
            sort: &key.sort,
        }
    }
}

/// Local or global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    /// A local secondary index: the table's partition key, another sort key.
    Local,
    /// A global secondary index: any key.
    Global,
}

impl IndexKind {
    fn keyspace(self) -> Keyspace {
        match self {
            IndexKind::Local => Keyspace::Lsi,
            IndexKind::Global => Keyspace::Gsi,
        }
    }
}

/// `ProjectionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectionType {
    /// Every attribute.
    All,
    /// The table's and the index's key attributes.
    KeysOnly,
    /// The keys plus `non_key_attributes`.
    Include,
}

impl ProjectionType {
    /// DynamoDB's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectionType::All => "ALL",
            ProjectionType::KeysOnly => "KEYS_ONLY",
            ProjectionType::Include => "INCLUDE",
        }
    }
}

/// Where an online index creation stands (GSIs added by UpdateTable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuildState {
    /// Complete: created with the table, or backfilled.
    Built,
    /// Being filled from the table by the backfill worker (`Backfilling: true`).
    Backfilling,
    /// Being deleted: no longer maintained or readable; its storage is reclaimed in the
    /// background, then the index disappears from the descriptor.
    Deleting,
}

/// Everything the catalog stores about one secondary index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDescriptor {
    /// `IndexName`.
    pub name: String,
    /// Local or global.
    pub kind: IndexKind,
    /// Storage id of the index's entries (never reused, never a table's).
    pub id: TableId,
    /// Partition-key attributes, in KeySchema order (one, or up to four for a GSI).
    pub hash: Vec<KeyAttribute>,
    /// Sort-key attributes, in KeySchema order (none, one, or up to four for a GSI).
    pub range: Vec<KeyAttribute>,
    /// `ProjectionType`.
    pub projection: ProjectionType,
    /// `NonKeyAttributes` (INCLUDE only), in request order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_key_attributes: Vec<String>,
    /// Provisioned read capacity of a GSI (0 on-demand and for LSIs).
    #[serde(default)]
    pub read_capacity: i64,
    /// Provisioned write capacity of a GSI.
    #[serde(default)]
    pub write_capacity: i64,
    /// `OnDemandThroughput.MaxReadRequestUnits` of a GSI, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_read_request_units: Option<i64>,
    /// `OnDemandThroughput.MaxWriteRequestUnits` of a GSI, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_write_request_units: Option<i64>,
    /// Online creation / deletion state.
    pub state: BuildState,
    /// Created with its table: `CREATING` until this instant (the table's own deadline).
    /// Created online: its resource-allocation phase ends at this instant (`Backfilling` false
    /// before, true after, as in DynamoDB); the backfill starts then. Being deleted: `DELETING`
    /// until this instant at least.
    #[serde(default)]
    pub active_at_ms: u64,
    /// `UPDATING` before this instant (after a throughput update).
    #[serde(default)]
    pub updating_until_ms: u64,
    /// Last provisioned-throughput increase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_increase_ms: Option<u64>,
    /// Last provisioned-throughput decrease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decrease_ms: Option<u64>,
    /// Throughput decreases on the day of `last_decrease_ms`.
    #[serde(default)]
    pub decreases_today: i64,
    /// Warm throughput of a GSI, once set (absent: the default, see [`crate::warm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm: Option<crate::warm::WarmState>,
    /// Contributor Insights of a GSI, once configured (absent: DISABLED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insights: Option<crate::insights::InsightsState>,
    /// What the index keeps of an item, worked out on first use (not stored).
    #[serde(skip)]
    pub(crate) plan: ProjectionPlan,
}

/// The names of the attributes a KEYS_ONLY or INCLUDE index keeps (the table's and the index's
/// key attributes, then `NonKeyAttributes`), deduplicated and in ascending order, as an item
/// iterates. Worked out once per index, on its first write, instead of testing every attribute
/// of every item against the key schemas on every write.
///
/// The list depends only on fields that never change after an index is created (its key
/// schema and projection, and its table's key schema), so a cloned descriptor keeps a valid
/// plan. It takes no part in equality and is never stored.
#[derive(Default, Clone)]
pub(crate) struct ProjectionPlan(std::sync::OnceLock<Box<[String]>>);

impl PartialEq for ProjectionPlan {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ProjectionPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProjectionPlan")
    }
}

/// What one index entry holds of an item, borrowed from the item.
#[derive(Debug)]
pub(crate) enum Projected<'i> {
    /// ALL: the item itself.
    All(&'i Item),
    /// KEYS_ONLY or INCLUDE: the kept attributes, in ascending name order.
    Some(Vec<(&'i str, &'i AttributeValue)>),
}

impl Projected<'_> {
    /// The entry's size by DynamoDB's item-size rules (`whole`: the item's own size, for ALL).
    pub(crate) fn size(&self, whole: impl FnOnce() -> usize) -> usize {
        match self {
            Projected::All(_) => whole(),
            Projected::Some(attributes) => attributes
                .iter()
                .map(|(n, v)| n.len() + binderdb_model::value_size(v))
                .sum(),
        }
    }

    /// The entry's stored value (`whole`: the item's own encoding, for ALL, when known).
    pub(crate) fn encode(&self, whole: Option<&[u8]>) -> Vec<u8> {
        match (self, whole) {
            (Projected::All(_), Some(bytes)) => bytes.to_vec(),
            (Projected::All(item), None) => IndexDescriptor::encode_entry(item),
            (Projected::Some(attributes), _) => {
                let mut value = Vec::with_capacity(64);
                binderdb_model::encode_attributes(attributes, &mut value);
                value
            }
        }
    }
}

impl IndexDescriptor {
    /// `IndexStatus` at `now_ms`, given the table's own `CREATING` deadline.
    pub fn status(&self, now_ms: u64) -> &'static str {
        match self.state {
            BuildState::Deleting => "DELETING",
            BuildState::Backfilling => "CREATING",
            BuildState::Built if now_ms < self.active_at_ms => "CREATING",
            BuildState::Built if now_ms < self.updating_until_ms => "UPDATING",
            BuildState::Built => "ACTIVE",
        }
    }

    /// The `Backfilling` member of an online index being created: false while its resources
    /// are allocated, true while it is filled.
    pub fn backfilling(&self, now_ms: u64) -> Option<bool> {
        (self.state == BuildState::Backfilling).then_some(now_ms >= self.active_at_ms)
    }

    /// Whether writes must keep this index's entries (everything but a deleting index).
    pub fn maintained(&self) -> bool {
        self.state != BuildState::Deleting
    }

    /// Every key attribute of the index, partition first.
    pub fn key_attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        self.hash.iter().chain(&self.range)
    }

    /// The keyspace of the index's entries.
    pub fn keyspace(&self) -> Keyspace {
        self.kind.keyspace()
    }

    /// Whether `attribute` is stored in the index's entries.
    pub fn projects(&self, table: &TableDescriptor, attribute: &str) -> bool {
        match self.projection {
            ProjectionType::All => true,
            ProjectionType::KeysOnly | ProjectionType::Include => self
                .kept_names(table)
                .binary_search_by(|name| name.as_str().cmp(attribute))
                .is_ok(),
        }
    }

    /// Whether `attribute` is a key attribute of the index or of the table.
    pub fn is_key_attribute(&self, table: &TableDescriptor, attribute: &str) -> bool {
        self.key_attributes()
            .chain(schema_attributes(&table.key_schema))
            .any(|a| a.name == attribute)
    }

    /// The storage key of `item`'s entry, if the item is in the index: `None` when the item
    /// lacks an index key attribute or has one of another type (a sparse index skips it).
    /// `base` is the item's own primary key (partition and sort bytes, as stored).
    pub fn entry_key(&self, base: BaseKey<'_>, item: &Item) -> Option<Key> {
        let mut sort = Vec::with_capacity(base.partition.len() + base.sort.len() + 16);
        for attr in &self.range {
            encode_typed(item.get(&attr.name)?, attr.key_type, &mut sort)?;
        }
        let partition = match self.kind {
            IndexKind::Local => {
                // The LSI's partition key is the table's: the base partition bytes.
                base.partition.to_vec()
            }
            IndexKind::Global => {
                let mut partition = Vec::with_capacity(16);
                for attr in &self.hash {
                    encode_typed(item.get(&attr.name)?, attr.key_type, &mut partition)?;
                }
                sort.extend_from_slice(base.partition);
                partition
            }
        };
        sort.extend_from_slice(base.sort);
        Some(Key {
            keyspace: self.keyspace(),
            table: self.id,
            partition,
            sort,
        })
    }

    /// The names a KEYS_ONLY or INCLUDE projection keeps (see [`ProjectionPlan`]).
    fn kept_names(&self, table: &TableDescriptor) -> &[String] {
        self.plan.0.get_or_init(|| {
            let mut names: Vec<String> = self
                .key_attributes()
                .chain(schema_attributes(&table.key_schema))
                .map(|a| a.name.clone())
                .chain(self.non_key_attributes.iter().cloned())
                .collect();
            names.sort_unstable();
            names.dedup();
            names.into_boxed_slice()
        })
    }

    /// What this index's entry for `item` holds, borrowed from the item.
    pub(crate) fn projected<'i>(&self, table: &TableDescriptor, item: &'i Item) -> Projected<'i> {
        match self.projection {
            ProjectionType::All => Projected::All(item),
            ProjectionType::KeysOnly | ProjectionType::Include => Projected::Some(
                self.kept_names(table)
                    .iter()
                    .filter_map(|name| item.get_key_value(name.as_str()))
                    .map(|(n, v)| (n.as_str(), v))
                    .collect(),
            ),
        }
    }

    /// The attributes of `item` this index stores (the item itself for an ALL projection).
    pub fn project<'i>(&self, table: &TableDescriptor, item: &'i Item) -> Cow<'i, Item> {
        match self.projected(table, item) {
            Projected::All(item) => Cow::Borrowed(item),
            Projected::Some(attributes) => Cow::Owned(
                attributes
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v.clone()))
                    .collect(),
            ),
        }
    }

    /// The encoded value of a projected item.
    pub fn encode_entry(projected: &Item) -> Vec<u8> {
        let mut value = Vec::with_capacity(128);
        encode_item(projected, &mut value);
        value
    }

    /// The names of the attributes that make up a `LastEvaluatedKey` of this index: the
    /// index's key attributes, then the table's.
    pub fn page_key_attributes<'a>(&'a self, table: &'a TableDescriptor) -> Vec<&'a str> {
        let mut names: Vec<&str> = Vec::with_capacity(4);
        for a in self
            .key_attributes()
            .chain(schema_attributes(&table.key_schema))
        {
            if !names.contains(&a.name.as_str()) {
                names.push(&a.name);
            }
        }
        names
    }

    /// The ARN of the index.
    pub fn arn(&self, table_arn: &str) -> String {
        format!("{table_arn}/index/{}", self.name)
    }

    /// Checks the index key attributes `item` carries: each present one must have the declared
    /// type, must not be empty, and must fit DynamoDB's key size limits. A write that breaks one
    /// is refused before anything is written, as DynamoDB refuses it.
    ///
    /// # Errors
    /// `ValidationException` with DynamoDB's message.
    pub fn check_item(&self, item: &Item) -> Result<()> {
        let mut sort_bytes = 0;
        for (i, attr) in self.key_attributes().enumerate() {
            let Some(v) = item.get(&attr.name) else {
                continue;
            };
            if !matches_type(v, attr.key_type) {
                return Err(Error::invalid_parameter(format!(
                    "Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                    attr.name,
                    key_type_code(attr.key_type),
                    v.type_code(),
                    self.name
                )));
            }
            let empty = match v {
                AttributeValue::S(s) => s.is_empty().then_some("string"),
                AttributeValue::B(b) => b.is_empty().then_some("binary"),
                _ => None,
            };
            if let Some(kind) = empty {
                return Err(Error::validation(format!(
                    "One or more parameter values are not valid. A value specified for a \
                     secondary index key is not supported. The AttributeValue for a key \
                     attribute cannot contain an empty {kind} value. IndexName: {}, IndexKey: {}",
                    self.name, attr.name
                )));
            }
            let size = key_value_size(v);
            if i < self.hash.len() {
                if size > MAX_PARTITION_KEY_BYTES {
                    return Err(Error::invalid_parameter(format!(
                        "Size of hashkey has exceeded the maximum size limit of2048 bytes \
                         IndexName: {}",
                        self.name
                    )));
                }
            } else {
                sort_bytes += size;
                if sort_bytes > MAX_SORT_KEY_BYTES {
                    return Err(Error::invalid_parameter(format!(
                        "Aggregated size of all range keys has exceeded the size limit of 1024 \
                         bytes IndexName: {}",
                        self.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Appends `v`'s key encoding if it has type `t`.
fn encode_typed(v: &AttributeValue, t: KeyType, out: &mut Vec<u8>) -> Option<()> {
    if !matches_type(v, t) {
        return None;
    }
    encode_key_value(v, out).then_some(())
}

/// Checks `item`'s index key attributes against every maintained index of `table`.
///
/// # Errors
/// The first index key problem, with DynamoDB's message.
pub fn check_item(table: &TableDescriptor, item: &Item) -> Result<()> {
    table
        .indexes
        .iter()
        .filter(|i| i.maintained())
        .try_for_each(|i| i.check_item(item))
}

/// The size DynamoDB counts for an index entry: the projected attributes (which include the
/// table's and the index's keys) plus 100 bytes of overhead, for `IndexSizeBytes` and the
/// item-collection size.
pub const INDEX_ENTRY_OVERHEAD: usize = 100;
