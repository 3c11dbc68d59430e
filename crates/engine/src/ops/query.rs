//! Query: one partition, in sort-key order (or reversed), narrowed by the KeyConditionExpression,
//! a page at a time.
//!
//! DynamoDB's check order is kept: attribute values, then the expression's syntax and
//! placeholders and its shape as a key condition, then unused placeholders, then (with the table
//! known) the key schema and the values' types.

use std::ops::Bound;

use binderdb_expr::key_condition::analyze;
use binderdb_expr::SortCondition;
use binderdb_model::{encode_key_value, encode_string_prefix, AttributeValue};
use binderdb_storage::{Keyspace, PartitionRange};

use crate::api::{QueryInput, ReadPageOutput};
use crate::capacity::ReturnCapacity;
use crate::error::{Error, Result};
use crate::expressions::{top_level_names, ExpressionTexts, Expressions, RequestPlaceholders};
use crate::keys::{empty_key_error, matches_type, query_start_key, schema_attributes};
use crate::legacy;
use crate::ops::read_page::legacy_filter;
use crate::ops::read_page::{page_limit, PageBuilder, ReadShape};
use crate::ops::{table_name, wire_item};
use crate::{Database, RequestContext};

/// Sort-key bounds of a query, as encoded bytes.
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

/// The smallest byte string greater than every string with prefix `p`, if any.
fn prefix_successor(p: &[u8]) -> Option<Vec<u8>> {
    let mut s = p.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

fn encoded(v: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_key_value(v, &mut out);
    out
}

fn sort_bounds(condition: &SortCondition, values: &RequestPlaceholders) -> Result<SortBounds> {
    let enc = |p: &str| values.value(p).map(encoded);
    Ok(match condition {
        SortCondition::Eq(v) => {
            let e = enc(v)?;
            SortBounds {
                lower: Some((e.clone(), true)),
                upper: Some((e, true)),
            }
        }
        SortCondition::Lt(v) => SortBounds {
            upper: Some((enc(v)?, false)),
            ..SortBounds::default()
        },
        SortCondition::Le(v) => SortBounds {
            upper: Some((enc(v)?, true)),
            ..SortBounds::default()
        },
        SortCondition::Gt(v) => SortBounds {
            lower: Some((enc(v)?, false)),
            ..SortBounds::default()
        },
        SortCondition::Ge(v) => SortBounds {
            lower: Some((enc(v)?, true)),
            ..SortBounds::default()
        },
        SortCondition::Between(lo, hi) => SortBounds {
            lower: Some((enc(lo)?, true)),
            upper: Some((enc(hi)?, true)),
        },
        SortCondition::BeginsWith(p) => {
            let prefix = match values.value(p)? {
                AttributeValue::S(s) => s.as_bytes().to_vec(),
                AttributeValue::B(b) => b.clone(),
                _ => Vec::new(),
            };
            let mut start = Vec::new();
            encode_string_prefix(&prefix, &mut start);
            SortBounds {
                upper: prefix_successor(&start).map(|s| (s, false)),
                lower: Some((start, true)),
            }
        }
    })
}

/// The exclusive bound at `edge` if it is inside `current` (per `inside(edge, current)`),
/// otherwise `current`.
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
        let parts =
            analyze(condition, placeholders).map_err(|e| Error::validation(e.to_string()))?;
        let projection_member = if input.attributes_to_get.is_some() {
            "AttributesToGet"
        } else {
            "ProjectionExpression"
        };
        let shape = ReadShape::new(&exprs, input.select.as_deref(), projection_member, true)?;
        let start = input.exclusive_start_key.map(wire_item).transpose()?;

        let (_, descriptor) = self.active_table(ctx, name)?;
        if let Some(index) = &input.index_name {
            return Err(Error::validation(format!(
                "The table does not have the specified index: {index}"
            )));
        }
        let schema = &descriptor.key_schema;
        let attr_of = |n: &str| {
            std::iter::once(&schema.hash)
                .chain(schema.range.as_ref())
                .find(|a| a.name == n)
        };
        let key_condition = parts
            .for_schema(
                &schema.hash.name,
                schema.range.as_ref().map(|r| r.name.as_str()),
                |attr, p| {
                    attr_of(attr).is_some_and(|a| {
                        placeholders
                            .values
                            .get(p)
                            .is_some_and(|v| matches_type(v, a.key_type))
                    })
                },
            )
            .map_err(|e| Error::validation(e.to_string()))?;
        if let Some(filter) = &exprs.filter {
            let mut read = Vec::new();
            top_level_names(filter, &placeholders.names, &mut read);
            if let Some(key_attr) = read
                .into_iter()
                .find(|n| schema_attributes(schema).any(|a| a.name == *n))
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
        let partition_value = placeholders.value(&key_condition.partition_value)?;
        if let Some(e) = empty_key_error(partition_value, &schema.hash.name) {
            return Err(e);
        }
        let partition = encoded(partition_value);
        let mut bounds = match &key_condition.sort {
            Some(c) => sort_bounds(c, placeholders)?,
            None => SortBounds::default(),
        };
        let forward = input.scan_index_forward.unwrap_or(true);
        if let Some(start) = start {
            let start = query_start_key(schema, &start)?;
            if start.partition != partition {
                return Err(Error::validation(
                    "The provided starting key is outside query boundaries based on provided conditions",
                ));
            }
            check_start_matches(&start.sort, &bounds)?;
            // Resume strictly after the start key, in the direction of the walk.
            if forward {
                bounds.lower = tighter(bounds.lower.take(), start.sort, |edge, b| edge >= b);
            } else {
                bounds.upper = tighter(bounds.upper.take(), start.sort, |edge, b| edge <= b);
            }
        }
        let mut page = PageBuilder::new(schema, page_limit(input.limit), &shape);
        let range = PartitionRange {
            keyspace: Keyspace::Items,
            table: descriptor.id,
            partition: &partition,
            lower: bound(&bounds.lower),
            upper: bound(&bounds.upper),
            reverse: !forward,
        };
        // An empty or inverted range (e.g. `sk < :a` resumed past it) reads nothing.
        self.store.range(&range, &mut |entry| page.visit(entry))?;
        page.finish(name, capacity, input.consistent_read.unwrap_or(false))
    }
}
