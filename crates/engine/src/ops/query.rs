//! Query: one partition, in sort-key order (or reversed), narrowed by the KeyConditionExpression,
//! a page at a time.
//!
//! DynamoDB's check order is kept: attribute values, then the expression's syntax and
//! placeholders and its shape as a key condition, then unused placeholders, then (with the table
//! known) the key schema and the values' types.

use std::ops::Bound;

use binderdb_expr::key_condition::{analyze_up_to, KeyConditionParts};
use binderdb_expr::{KeyConditionError, SortCondition};
use binderdb_model::{encode_key_value, encode_string_prefix, prefix_successor, AttributeValue};
use binderdb_storage::PartitionRange;

use crate::api::{QueryInput, ReadPageOutput};
use crate::capacity::ReturnCapacity;
use crate::catalog::KeyAttribute;
use crate::error::{Error, Result};
use crate::expressions::{top_level_names, ExpressionTexts, Expressions, RequestPlaceholders};
use crate::keys::{empty_key_error, matches_type};
use crate::legacy;
use crate::ops::read_page::legacy_filter;
use crate::ops::read_page::{page_limit, PageBuilder, ReadShape};
use crate::ops::{table_name, wire_item};
use crate::{Database, RequestContext};

/// Sort-byte bounds of a query, as encoded bytes: `(bytes, inclusive)`.
#[derive(Debug, Default)]
struct SortBounds {
    lower: Option<(Vec<u8>, bool)>,
    upper: Option<(Vec<u8>, bool)>,
}

fn bound(b: &Option<(Vec<u8>, bool)>) -> Bound<&[u8]> {
    match b {
        None => Bound::Unbounded,
        Some((bytes, true)) => Bound::Included(bytes),
        Some((bytes, false)) => Bound::Excluded(bytes),
    }
}

fn encoded(v: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_key_value(v, &mut out);
    out
}

/// `prefix` followed by `tail`.
fn joined(prefix: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + tail.len());
    out.extend_from_slice(prefix);
    out.extend_from_slice(tail);
    out
}

/// The range of sort bytes that start with `prefix` (everything when it is empty).
fn prefix_range(prefix: Vec<u8>) -> SortBounds {
    if prefix.is_empty() {
        return SortBounds::default();
    }
    SortBounds {
        upper: prefix_successor(&prefix).map(|s| (s, false)),
        lower: Some((prefix, true)),
    }
}

/// The sort-byte range of `condition` on the sort component that follows `prefix` (the
/// encoded equality conditions on earlier sort attributes of a multi-attribute key).
///
/// Stored sort bytes are the key components followed by more bytes (an index entry appends the
/// table's key), so every bound is expressed on prefixes: "component = v" is the range of bytes
/// starting with `prefix + enc(v)`, "component > v" starts after all of those, and so on. Every
/// component encoding is self-delimiting, so no other value's encoding starts with `enc(v)`.
fn sort_bounds(
    prefix: &[u8],
    condition: Option<&SortCondition>,
    values: &RequestPlaceholders,
) -> Result<SortBounds> {
    let Some(condition) = condition else {
        return Ok(prefix_range(prefix.to_vec()));
    };
    let at = |p: &str| -> Result<Vec<u8>> { Ok(joined(prefix, &encoded(values.value(p)?))) };
    let after = |bytes: &[u8]| prefix_successor(bytes).map(|s| (s, false));
    let within = prefix_range(prefix.to_vec());
    Ok(match condition {
        SortCondition::Eq(v) => prefix_range(at(v)?),
        SortCondition::Lt(v) => SortBounds {
            lower: within.lower,
            upper: Some((at(v)?, false)),
        },
        SortCondition::Le(v) => SortBounds {
            lower: within.lower,
            upper: after(&at(v)?),
        },
        SortCondition::Gt(v) => SortBounds {
            lower: Some(prefix_successor(&at(v)?).map_or_else(
                // Nothing sorts after an all-0xFF encoding: an empty range.
                || (at(v).unwrap_or_default(), false),
                |s| (s, true),
            )),
            upper: within.upper,
        },
        SortCondition::Ge(v) => SortBounds {
            lower: Some((at(v)?, true)),
            upper: within.upper,
        },
        SortCondition::Between(lo, hi) => SortBounds {
            lower: Some((at(lo)?, true)),
            upper: after(&at(hi)?),
        },
        SortCondition::BeginsWith(p) => {
            let text = match values.value(p)? {
                AttributeValue::S(s) => s.as_bytes().to_vec(),
                AttributeValue::B(b) => b.clone(),
                _ => Vec::new(),
            };
            let mut start = prefix.to_vec();
            encode_string_prefix(&text, &mut start);
            prefix_range(start)
        }
    })
}

/// DynamoDB refuses to resume a Query from a key its sort-key condition excludes (recorded by
/// dynalite and by users of DynamoDB), rather than answering from the condition's own bound.
fn check_start_matches(sort: &[u8], bounds: &SortBounds) -> Result<()> {
    let above = match &bounds.lower {
        None => true,
        Some((b, inclusive)) => sort > b.as_slice() || (*inclusive && sort == b.as_slice()),
    };
    let below = match &bounds.upper {
        None => true,
        Some((b, inclusive)) => sort < b.as_slice() || (*inclusive && sort == b.as_slice()),
    };
    if above && below {
        Ok(())
    } else {
        Err(Error::validation(
            "The provided starting key does not match the range key predicate",
        ))
    }
}

/// The exclusive bound at `edge` if it is inside `current` (per `inside(edge, current)`),
/// otherwise `current`.
fn tighter(
    current: Option<(Vec<u8>, bool)>,
    edge: Vec<u8>,
    inside: impl Fn(&[u8], &[u8]) -> bool,
) -> Option<(Vec<u8>, bool)> {
    match current {
        Some((b, inclusive)) if !inside(&edge, &b) => Some((b, inclusive)),
        _ => Some((edge, false)),
    }
}

/// The key condition resolved against the key schema of the table or index read: the encoded
/// partition and the sort-byte range.
struct ResolvedKey {
    partition: Vec<u8>,
    bounds: SortBounds,
}

/// Matches the key condition to the key schema read (`hash` and `range` attributes), with
/// DynamoDB's checks and messages, and encodes the partition and the sort range.
fn resolve_key(
    parts: &KeyConditionParts,
    hash: &[&KeyAttribute],
    range: &[&KeyAttribute],
    placeholders: &RequestPlaceholders,
) -> Result<ResolvedKey> {
    let attr_of = |n: &str| hash.iter().chain(range).find(|a| a.name == n);
    let value_matches = |attr: &str, p: &str| {
        attr_of(attr).is_some_and(|a| {
            placeholders
                .values
                .get(p)
                .is_some_and(|v| matches_type(v, a.key_type))
        })
    };
    let invalid = |e: KeyConditionError| Error::validation(e.to_string());
    let (partition_values, sort_prefix, sort_last) = if hash.len() == 1 && range.len() <= 1 {
        let c = parts
            .for_schema(
                &hash[0].name,
                range.first().map(|r| r.name.as_str()),
                value_matches,
            )
            .map_err(invalid)?;
        (vec![c.partition_value], Vec::new(), c.sort)
    } else {
        let hash_names: Vec<&str> = hash.iter().map(|a| a.name.as_str()).collect();
        let range_names: Vec<&str> = range.iter().map(|a| a.name.as_str()).collect();
        let c = parts
            .for_multi_schema(&hash_names, &range_names, value_matches)
            .map_err(invalid)?;
        (c.partition_values, c.sort_prefix, c.sort_last)
    };
    let mut partition = Vec::new();
    for (attr, placeholder) in hash.iter().zip(&partition_values) {
        let value = placeholders.value(placeholder)?;
        if let Some(e) = empty_key_error(value, &attr.name) {
            return Err(e);
        }
        encode_key_value(value, &mut partition);
    }
    let mut prefix = Vec::new();
    for placeholder in &sort_prefix {
        encode_key_value(placeholders.value(placeholder)?, &mut prefix);
    }
    Ok(ResolvedKey {
        partition,
        bounds: sort_bounds(&prefix, sort_last.as_ref(), placeholders)?,
    })
}

impl Database {
    /// Query.
    ///
    /// # Errors
    /// `ValidationException` for invalid key conditions, placeholders or start keys;
    /// `ResourceNotFoundException`.
    pub fn query(&self, ctx: &RequestContext, input: QueryInput) -> Result<ReadPageOutput> {
        let name = table_name(&input.table_name)?;
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let kce = input.key_condition_expression.as_deref();
        legacy::check_not_mixed(
            &[
                ("AttributesToGet", input.attributes_to_get.is_some()),
                ("QueryFilter", input.query_filter.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
                (
                    "KeyConditions",
                    input.key_conditions.is_some() && kce.is_some(),
                ),
            ],
            &[
                (
                    "ProjectionExpression",
                    input.projection_expression.is_some(),
                ),
                ("FilterExpression", input.filter_expression.is_some()),
                ("KeyConditionExpression", kce.is_some()),
            ],
        )?;
        if kce.is_none() && input.key_conditions.is_none() {
            return Err(Error::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            ));
        }
        let mut exprs = Expressions::parse(
            ExpressionTexts {
                key_condition: kce,
                filter: input.filter_expression.as_deref(),
                projection: input.projection_expression.as_deref(),
                value_members: "FilterExpression and KeyConditionExpression are null",
                ..ExpressionTexts::default()
            },
            input.expression_attribute_names,
            input.expression_attribute_values,
        )?;
        if let (None, Some(key_conditions)) = (kce, &input.key_conditions) {
            exprs.set_key_condition(legacy::key_conditions(key_conditions)?);
        }
        let legacy_query_filter = input.query_filter.is_some();
        exprs.set_filter(legacy_filter(
            input.query_filter.as_ref(),
            input.conditional_operator.as_deref(),
            "QueryFilter",
        )?);
        exprs.set_projection(input.attributes_to_get.as_deref())?;
        let placeholders = &exprs.placeholders;
        let condition = exprs
            .key_condition
            .as_ref()
            .ok_or_else(|| Error::Internal("key condition missing after parsing".to_owned()))?;
        // A multi-attribute index key may take up to eight conditions; the two-condition rule of
        // every other key is checked once the key schema is known.
        let max_conditions = if input.index_name.is_some() { 8 } else { 2 };
        let parts = analyze_up_to(condition, placeholders, max_conditions)
            .map_err(|e| Error::validation(e.to_string()))?;
        let mut shape = ReadShape::new(
            &exprs,
            input.select.as_deref(),
            input.attributes_to_get.is_some(),
            true,
            input.index_name.is_some(),
        )?;
        let start = input.exclusive_start_key.map(wire_item).transpose()?;

        let (table, descriptor) = self.active_table(ctx, name)?;
        let consistent = input.consistent_read.unwrap_or(false);
        let source = self.read_source(
            &descriptor,
            input.index_name.as_deref(),
            consistent,
            &mut shape,
        )?;
        let (hash, range): (Vec<&KeyAttribute>, Vec<&KeyAttribute>) = match source.index {
            None => (
                vec![&descriptor.key_schema.hash],
                descriptor.key_schema.range.iter().collect(),
            ),
            Some(index) => (index.hash.iter().collect(), index.range.iter().collect()),
        };
        parts
            .check_count(hash.len() + range.len())
            .map_err(|e| Error::validation(e.to_string()))?;
        let resolved = resolve_key(&parts, &hash, &range, placeholders)?;
        if let Some(filter) = exprs
            .filter
            .as_ref()
            .filter(|_| !input.filter_may_read_keys)
        {
            let mut read = Vec::new();
            top_level_names(filter, &placeholders.names, &mut read);
            if let Some(key_attr) = read
                .into_iter()
                .find(|n| hash.iter().chain(&range).any(|a| a.name == *n))
            {
                let member = if legacy_query_filter {
                    "QueryFilter"
                } else {
                    "Filter Expression"
                };
                return Err(Error::validation(format!(
                    "{member} can only contain non-primary key attributes: Primary key attribute: \
                     {key_attr}"
                )));
            }
        }
        let ResolvedKey {
            partition,
            mut bounds,
        } = resolved;
        let forward = input.scan_index_forward.unwrap_or(true);
        if let Some(start) = start {
            let (start_partition, start_sort) =
                source.start_key(&start, "The provided starting key is invalid")?;
            if start_partition != partition {
                return Err(Error::validation(
                    "The provided starting key is outside query boundaries based on provided conditions",
                ));
            }
            check_start_matches(&start_sort, &bounds)?;
            // Resume strictly after the start key, in the direction of the walk.
            if forward {
                bounds.lower = tighter(bounds.lower.take(), start_sort, |edge, b| edge >= b);
            } else {
                bounds.upper = tighter(bounds.upper.take(), start_sort, |edge, b| edge <= b);
            }
        }
        let key_names = source.page_key_names();
        let mut page = PageBuilder::new(&key_names, page_limit(input.limit), &shape);
        let (keyspace, id) = source.storage();
        let walk = PartitionRange {
            keyspace,
            table: id,
            partition: &partition,
            lower: bound(&bounds.lower),
            upper: bound(&bounds.upper),
            reverse: !forward,
        };
        let partition_hash = Some(binderdb_storage::partition_hash(&partition));
        self.admit_page(&table, &source, partition_hash)?;
        // An empty or inverted range (e.g. `sk < :a` resumed past it) reads nothing.
        self.store.range(&walk, &mut |entry| page.visit(entry))?;
        self.finish_page(page, &table, &source, capacity, partition_hash)
    }
}
