//! Primary keys: extracting them from items and requests, checking them against the key schema
//! with DynamoDB's messages, and turning them into storage keys.
//!
//! A table item is stored under `(Items, table id, encode(partition key), encode(sort key))`,
//! where `encode` is the model's order-preserving key encoding, so a partition's items come back
//! from storage in DynamoDB's sort-key order.

use binderdb_model::{encode_key_value, AttributeValue, Item, KeyType};
use binderdb_storage::{Key, Keyspace, TableId};

use crate::catalog::{KeyAttribute, KeySchema};
use crate::error::{Error, Result};

/// DynamoDB's maximum partition key size in bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's maximum sort key size in bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// The encoded storage form of an item's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedKey {
    /// Encoded partition key value.
    pub partition: Vec<u8>,
    /// Encoded sort key value (empty for a hash-only table).
    pub sort: Vec<u8>,
}

impl EncodedKey {
    /// The storage key of this item in table `table`.
    pub fn storage_key(&self, table: TableId) -> Key {
        Key {
            keyspace: Keyspace::Items,
            table,
            partition: self.partition.clone(),
            sort: self.sort.clone(),
        }
    }
}

/// The DynamoDB type code of a key type.
pub fn key_type_code(t: KeyType) -> &'static str {
    match t {
        KeyType::S => "S",
        KeyType::N => "N",
        KeyType::B => "B",
    }
}

/// Whether `v` is a scalar of key type `t`.
pub(crate) fn matches_type(v: &AttributeValue, t: KeyType) -> bool {
    matches!(
        (v, t),
        (AttributeValue::S(_), KeyType::S)
            | (AttributeValue::N(_), KeyType::N)
            | (AttributeValue::B(_), KeyType::B)
    )
}

/// Size of a key value in bytes as DynamoDB measures it for the key-size limits.
pub(crate) fn key_value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        other => binderdb_model::value_size(other),
    }
}

/// The "empty key value" message: DynamoDB rejects empty strings and binaries in keys.
pub(crate) fn empty_key_error(v: &AttributeValue, name: &str) -> Option<Error> {
    let kind = match v {
        AttributeValue::S(s) if s.is_empty() => "string",
        AttributeValue::B(b) if b.is_empty() => "binary",
        _ => return None,
    };
    Some(Error::validation(format!(
        "One or more parameter values are not valid. The AttributeValue for a key attribute \
         cannot contain an empty {kind} value. Key: {name}"
    )))
}

fn check_sizes(
    schema: &KeySchema,
    hash: &AttributeValue,
    range: Option<&AttributeValue>,
) -> Result<()> {
    if key_value_size(hash) > MAX_PARTITION_KEY_BYTES {
        return Err(Error::invalid_parameter(
            "Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ));
    }
    if let (Some(_), Some(r)) = (&schema.range, range) {
        if key_value_size(r) > MAX_SORT_KEY_BYTES {
            return Err(Error::invalid_parameter(
                "Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
            ));
        }
    }
    Ok(())
}

fn encode(schema: &KeySchema, hash: &AttributeValue, range: Option<&AttributeValue>) -> EncodedKey {
    let mut partition = Vec::with_capacity(16);
    encode_key_value(hash, &mut partition);
    let mut sort = Vec::new();
    if let (Some(_), Some(r)) = (&schema.range, range) {
        encode_key_value(r, &mut sort);
    }
    EncodedKey { partition, sort }
}

/// The key of an item being written (PutItem), with DynamoDB's item-key checks in its order:
/// for each key attribute (partition first), missing, then type, then empty value; then sizes.
///
/// # Errors
/// `ValidationException` with DynamoDB's message.
pub fn item_key(schema: &KeySchema, item: &Item) -> Result<EncodedKey> {
    checked_item_key(schema, item, None)
}

/// The key of an item in a BatchWriteItem `PutRequest`: the same checks as [`item_key`], but
/// DynamoDB reports a missing or mistyped key attribute there as "The provided key element does
/// not match the schema" (recorded by dynalite, `actions/batchWriteItem.js`).
///
/// # Errors
/// `ValidationException` with DynamoDB's message.
pub fn batch_item_key(schema: &KeySchema, item: &Item) -> Result<EncodedKey> {
    checked_item_key(schema, item, Some(KEY_MISMATCH))
}

const KEY_MISMATCH: &str = "The provided key element does not match the schema";

/// [`item_key`], with `mismatch` (when given) replacing the missing-key and type-mismatch texts.
fn checked_item_key(schema: &KeySchema, item: &Item, mismatch: Option<&str>) -> Result<EncodedKey> {
    let mut values = Vec::with_capacity(2);
    for attr in schema_attributes(schema) {
        let v = item.get(&attr.name).ok_or_else(|| {
            Error::validation(mismatch.map_or_else(
                || {
                    format!(
                        "One or more parameter values were invalid: Missing the key {} in the item",
                        attr.name
                    )
                },
                str::to_owned,
            ))
        })?;
        if !matches_type(v, attr.key_type) {
            return Err(Error::validation(mismatch.map_or_else(
                || {
                    format!(
                        "One or more parameter values were invalid: Type mismatch for key {} \
                         expected: {} actual: {}",
                        attr.name,
                        key_type_code(attr.key_type),
                        v.type_code()
                    )
                },
                str::to_owned,
            )));
        }
        if let Some(e) = empty_key_error(v, &attr.name) {
            return Err(e);
        }
        values.push(v);
    }
    let (hash, range) = (values[0], values.get(1).copied());
    check_sizes(schema, hash, range)?;
    Ok(encode(schema, hash, range))
}

/// The key named by a request's `Key` (GetItem, DeleteItem): exactly the key attributes, with the
/// right types. Anything else is DynamoDB's "The provided key element does not match the schema".
///
/// # Errors
/// `ValidationException` with DynamoDB's message.
pub fn request_key(schema: &KeySchema, key: &Item) -> Result<EncodedKey> {
    exact_key(schema, key, KEY_MISMATCH)
}

/// The key of an `ExclusiveStartKey` on the table itself.
///
/// # Errors
/// `ValidationException` with DynamoDB's message.
pub fn start_key(schema: &KeySchema, key: &Item) -> Result<EncodedKey> {
    exact_key(
        schema,
        key,
        "The provided starting key is invalid: The provided key element does not match the schema",
    )
}

/// The key named by `key`: exactly the schema's key attributes, each of its type; anything
/// else is `mismatch` (Query words a bad `ExclusiveStartKey` more briefly, "The provided
/// starting key is invalid", than Scan does; recorded from DynamoDB).
///
/// # Errors
/// `ValidationException` with DynamoDB's message.
pub(crate) fn exact_key(schema: &KeySchema, key: &Item, mismatch: &str) -> Result<EncodedKey> {
    let attrs: Vec<&KeyAttribute> = schema_attributes(schema).collect();
    let mut values = Vec::with_capacity(2);
    if key.len() != attrs.len() {
        return Err(Error::validation(mismatch));
    }
    for attr in &attrs {
        match key.get(&attr.name) {
            Some(v) if matches_type(v, attr.key_type) => values.push(v),
            _ => return Err(Error::validation(mismatch)),
        }
    }
    for (attr, v) in attrs.iter().zip(&values) {
        if let Some(e) = empty_key_error(v, &attr.name) {
            return Err(e);
        }
    }
    let (hash, range) = (values[0], values.get(1).copied());
    check_sizes(schema, hash, range)?;
    Ok(encode(schema, hash, range))
}

/// The key attributes of `schema`, partition key first.
pub fn schema_attributes(schema: &KeySchema) -> impl Iterator<Item = &KeyAttribute> {
    std::iter::once(&schema.hash).chain(schema.range.as_ref())
}
