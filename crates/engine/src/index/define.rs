//! Index definitions from requests: CreateTable's LocalSecondaryIndexes and
//! GlobalSecondaryIndexes, and UpdateTable's `Create` action, checked in DynamoDB's order with
//! its messages.

use binderdb_model::KeyType;

use crate::api::{GlobalSecondaryIndex, KeySchemaElement, LocalSecondaryIndex, Projection};
use crate::catalog::{BillingMode, KeyAttribute, KeySchema};
use crate::error::{Error, Result};
use crate::index::{BuildState, IndexDescriptor, IndexKind, ProjectionType};

/// DynamoDB's per-table limit of local secondary indexes.
pub const MAX_LOCAL_INDEXES: usize = 5;
/// DynamoDB's per-table limit of global secondary indexes.
pub const MAX_GLOBAL_INDEXES: usize = 20;
/// DynamoDB's limit on projected non-key attributes, summed over all indexes of a table.
pub const MAX_NON_KEY_ATTRIBUTES: usize = 100;
/// Most attributes in a multi-attribute GSI partition key, and in its sort key.
pub const MAX_KEY_ATTRIBUTES_PER_ROLE: usize = 4;

/// An index definition checked on its own, before it gets a storage id.
#[derive(Debug, Clone)]
pub(crate) struct IndexDefinition {
    pub(crate) name: String,
    pub(crate) kind: IndexKind,
    pub(crate) hash: Vec<KeyAttribute>,
    pub(crate) range: Vec<KeyAttribute>,
    pub(crate) projection: ProjectionType,
    pub(crate) non_key_attributes: Vec<String>,
    pub(crate) read_capacity: i64,
    pub(crate) write_capacity: i64,
    pub(crate) max_read_request_units: Option<i64>,
    pub(crate) max_write_request_units: Option<i64>,
}

impl IndexDefinition {
    /// The descriptor of this index with storage id `id`.
    pub(crate) fn into_descriptor(
        self,
        id: binderdb_storage::TableId,
        state: BuildState,
        active_at_ms: u64,
    ) -> IndexDescriptor {
        IndexDescriptor {
            name: self.name,
            kind: self.kind,
            id,
            hash: self.hash,
            range: self.range,
            projection: self.projection,
            non_key_attributes: self.non_key_attributes,
            read_capacity: self.read_capacity,
            write_capacity: self.write_capacity,
            max_read_request_units: self.max_read_request_units,
            max_write_request_units: self.max_write_request_units,
            state,
            active_at_ms,
            updating_until_ms: 0,
            last_increase_ms: None,
            last_decrease_ms: None,
            decreases_today: 0,
            warm: None,
            insights: None,
            plan: Default::default(),
        }
    }
}

/// What an index definition is checked against: the table's attribute definitions, key schema
/// and billing mode.
#[derive(Debug)]
pub(crate) struct DefinitionContext<'a> {
    pub(crate) definitions: &'a [(String, KeyType)],
    pub(crate) table_key: &'a KeySchema,
    pub(crate) billing_mode: BillingMode,
}

impl DefinitionContext<'_> {
    fn lookup(&self, name: &str) -> Option<KeyType> {
        self.definitions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
    }

    /// The key schema of one index: every attribute defined, the leading element HASH, no
    /// attribute twice, HASH elements before RANGE ones (multi-attribute GSI keys: up to four
    /// of each; otherwise one HASH and at most one RANGE).
    fn key_schema(
        &self,
        elements: &[KeySchemaElement],
        multi_attribute: bool,
    ) -> Result<(Vec<KeyAttribute>, Vec<KeyAttribute>)> {
        let names: Vec<String> = elements
            .iter()
            .map(|e| e.attribute_name.clone().unwrap_or_default())
            .collect();
        if names.iter().any(|n| self.lookup(n).is_none()) {
            let defs: Vec<&str> = self.definitions.iter().map(|(n, _)| n.as_str()).collect();
            return Err(Error::invalid_parameter(format!(
                "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], \
                 AttributeDefinitions: [{}]",
                names.join(", "),
                defs.join(", ")
            )));
        }
        if names.len() == 2 && names[0] == names[1] {
            return Err(Error::validation(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name",
            ));
        }
        if names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n))
        {
            return Err(Error::invalid_parameter(
                "The KeySchema contains multiple key attributes with the same name",
            ));
        }
        let kind = |i: usize| elements.get(i).and_then(|e| e.key_type.as_deref());
        if kind(0) != Some("HASH") {
            return Err(Error::validation(
                "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
            ));
        }
        let mut hash = Vec::new();
        let mut range = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let attr = KeyAttribute {
                name: name.clone(),
                key_type: self.lookup(name).unwrap_or(KeyType::S),
            };
            match kind(i) {
                Some("HASH") if range.is_empty() && (multi_attribute || i == 0) => hash.push(attr),
                Some("HASH") if !multi_attribute => {
                    return Err(Error::validation(
                        "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
                    ))
                }
                Some("HASH") => return Err(Error::invalid_parameter(
                    "All HASH key attributes must precede RANGE key attributes in the KeySchema",
                )),
                _ => range.push(attr),
            }
        }
        for (role, count) in [("HASH", hash.len()), ("RANGE", range.len())] {
            if count > MAX_KEY_ATTRIBUTES_PER_ROLE {
                return Err(Error::invalid_parameter(format!(
                    "The KeySchema exceeds the maximum allowed number of {role} key attributes"
                )));
            }
        }
        Ok((hash, range))
    }

    fn projection(&self, projection: Option<&Projection>) -> Result<(ProjectionType, Vec<String>)> {
        let projection = projection.cloned().unwrap_or_default();
        let kind = match projection.projection_type.as_deref() {
            Some("ALL") => ProjectionType::All,
            Some("KEYS_ONLY") => ProjectionType::KeysOnly,
            Some("INCLUDE") => ProjectionType::Include,
            Some(other) => {
                return Err(Error::invalid_parameter(format!(
                    "Unknown ProjectionType: {other}"
                )))
            }
            None => return Err(Error::invalid_parameter("Unknown ProjectionType: null")),
        };
        let non_key = projection.non_key_attributes.unwrap_or_default();
        if !non_key.is_empty() && kind != ProjectionType::Include {
            return Err(Error::invalid_parameter(format!(
                "ProjectionType is {}, but NonKeyAttributes is specified",
                kind.as_str()
            )));
        }
        if kind == ProjectionType::Include && non_key.is_empty() {
            return Err(Error::invalid_parameter(
                "ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
            ));
        }
        if let Some(dup) = non_key
            .iter()
            .enumerate()
            .find(|(i, n)| non_key[..*i].contains(n))
            .map(|(_, n)| n)
        {
            return Err(Error::invalid_parameter(format!(
                "Duplicate element in NonKeyAttributes: {dup}"
            )));
        }
        Ok((kind, non_key))
    }

    /// One LocalSecondaryIndexes member.
    pub(crate) fn local(&self, lsi: &LocalSecondaryIndex) -> Result<IndexDefinition> {
        let name = lsi.index_name.clone().unwrap_or_default();
        let elements = lsi.key_schema.as_deref().unwrap_or_default();
        let (hash, range) = self.key_schema(elements, false)?;
        if range.is_empty() {
            return Err(Error::invalid_parameter(format!(
                "Index KeySchema does not have a range key for index: {name}"
            )));
        }
        let table_hash = &self.table_key.hash.name;
        if hash[0].name != *table_hash {
            return Err(Error::invalid_parameter(format!(
                "Index KeySchema does not have the same leading hash key as table KeySchema for \
                 index: {name}. index hash key: {}, table hash key: {table_hash}",
                hash[0].name
            )));
        }
        let (projection, non_key_attributes) = self.projection(lsi.projection.as_ref())?;
        Ok(IndexDefinition {
            name,
            kind: IndexKind::Local,
            hash,
            range,
            projection,
            non_key_attributes,
            read_capacity: 0,
            write_capacity: 0,
            max_read_request_units: None,
            max_write_request_units: None,
        })
    }

    /// One GlobalSecondaryIndexes member (or an UpdateTable `Create` action).
    pub(crate) fn global(&self, gsi: &GlobalSecondaryIndex) -> Result<IndexDefinition> {
        let name = gsi.index_name.clone().unwrap_or_default();
        let elements = gsi.key_schema.as_deref().unwrap_or_default();
        let (hash, range) = self.key_schema(elements, true)?;
        let (projection, non_key_attributes) = self.projection(gsi.projection.as_ref())?;
        let (read_capacity, write_capacity) = match (self.billing_mode, &gsi.provisioned_throughput)
        {
            (BillingMode::Provisioned, Some(t)) => (
                t.read_capacity_units.unwrap_or(0),
                t.write_capacity_units.unwrap_or(0),
            ),
            (BillingMode::Provisioned, None) => {
                return Err(Error::invalid_parameter(format!(
                    "ProvisionedThroughput is not specified for index: {name}"
                )))
            }
            (BillingMode::PayPerRequest, Some(_)) => {
                return Err(Error::invalid_parameter(format!(
                    "ProvisionedThroughput should not be specified for index: {name} when \
                         BillingMode is PAY_PER_REQUEST"
                )))
            }
            (BillingMode::PayPerRequest, None) => (0, 0),
        };
        let on_demand = gsi.on_demand_throughput.clone().unwrap_or_default();
        Ok(IndexDefinition {
            name,
            kind: IndexKind::Global,
            hash,
            range,
            projection,
            non_key_attributes,
            read_capacity,
            write_capacity,
            max_read_request_units: on_demand.max_read_request_units,
            max_write_request_units: on_demand.max_write_request_units,
        })
    }
}

/// The projected non-key attributes summed over all of a table's indexes (an attribute
/// projected into two indexes counts twice, as in DynamoDB).
///
/// # Errors
/// `ValidationException` with DynamoDB's message.
pub(crate) fn check_non_key_total<'a>(indexes: impl Iterator<Item = &'a [String]>) -> Result<()> {
    let total: usize = indexes.map(<[String]>::len).sum();
    if total > MAX_NON_KEY_ATTRIBUTES {
        return Err(Error::invalid_parameter(format!(
            "The sum of NonKeyAttributes across all secondary indexes exceeds the limit of \
             {MAX_NON_KEY_ATTRIBUTES}"
        )));
    }
    Ok(())
}

/// DynamoDB's duplicate-name message.
pub(crate) fn duplicate_name(name: &str) -> Error {
    Error::invalid_parameter(format!("Duplicate index name: {name}"))
}
