//! PartiQL: statements planned as the item API calls that mean the same.
//!
//! A statement is parsed once per distinct text ([`StatementCache`]) by `binderdb_partiql`,
//! then each call plans it against the table's key schema and the request's `Parameters`
//! into a [`Plan`]: the GetItem, Query, Scan, PutItem, UpdateItem or DeleteItem request (or a
//! transaction's ConditionCheck) that the expression API would send, with the WHERE clause as
//! expression text ([`builder`]). The operations in `ops/` run the plan through the same
//! engine calls as the item API, so results, errors and ConsumedCapacity are the same.
//!
//! How statements map (DynamoDB's documented behaviour; where it is silent, the choice is
//! written here):
//! - `SELECT` with equality on every key attribute of the table and nothing else → GetItem.
//!   Equality on the partition key (of the table or the named index) → Query, with at most one
//!   sort-key term (`=`, `<`, `<=`, `>`, `>=`, `BETWEEN`, `begins_with`) as key condition and
//!   the other terms as FilterExpression. Anything else → Scan with the WHERE as filter. So
//!   capacity is charged as DynamoDB charges it: a Scan reads the whole table.
//!   `ORDER BY` needs the partition key pinned and names key attributes only.
//! - `partition-key IN [...]` without an equality on it → one GetItem or Query per value (at
//!   most 100), answered together in list order (key order with `ORDER BY` the partition key),
//!   capacity added up, without a NextToken.
//! - `INSERT` → PutItem that stores only if no item has the key (`only_if_absent`; in a
//!   transaction the Put's `attribute_not_exists(<partition key>)`): an existing item is
//!   DuplicateItemException, never overwritten.
//! - `UPDATE` → UpdateItem with `attribute_exists(<partition key>)` and the other WHERE terms as
//!   condition: PartiQL updates existing items only (a missing one is
//!   ConditionalCheckFailedException). `SET a = set_add(a, <<...>>)` / `set_delete` become
//!   ADD / DELETE actions.
//! - `DELETE` → DeleteItem; extra WHERE terms are a condition only on an item that exists
//!   (`attribute_not_exists(pk) OR (...)`), so deleting a missing item is a no-op, as in
//!   DynamoDB.
//! - `EXISTS(SELECT ...)` (ExecuteTransaction only) → ConditionCheck with
//!   `attribute_exists(pk) AND (...)`.

pub(crate) mod builder;

use std::collections::HashMap;
use std::sync::Arc;

use binderdb_model::wire::WireValue;
use binderdb_partiql::ast::{
    CompareOp, Delete, Expr, Insert, Projection, Select, Statement, Update, UpdateAction,
};
use binderdb_partiql::Parsed;
use parking_lot::RwLock;

use crate::api::{
    ConditionCheck, DeleteItemInput, GetItemInput, PutItemInput, QueryInput, ScanInput,
    UpdateItemInput, WireItem,
};
use crate::catalog::TableDescriptor;
use crate::error::{Error, Result};
use builder::{key_term, parameter_count, Builder};

/// Most distinct statement texts kept parsed; the cache starts over when it is full.
const CACHE_CAPACITY: usize = 4096;

/// Parsed statements by their text, so a statement sent again (as applications and
/// `binderdb bench` do, with new Parameters each time) is not parsed again.
#[derive(Debug, Default)]
pub(crate) struct StatementCache {
    parsed: RwLock<HashMap<String, Arc<Parsed>>>,
}

impl StatementCache {
    /// The parsed `text`.
    ///
    /// # Errors
    /// DynamoDB's ValidationException for a statement that does not parse.
    pub fn parse(&self, text: &str) -> Result<Arc<Parsed>> {
        if let Some(p) = self.parsed.read().get(text) {
            return Ok(Arc::clone(p));
        }
        let parsed =
            Arc::new(binderdb_partiql::parse(text).map_err(|e| Error::validation(e.to_string()))?);
        let mut map = self.parsed.write();
        if map.len() >= CACHE_CAPACITY {
            map.clear();
        }
        map.insert(text.to_owned(), Arc::clone(&parsed));
        Ok(parsed)
    }
}

/// What a statement runs as.
#[derive(Debug)]
pub(crate) enum Plan {
    Get(GetItemInput),
    Query(QueryInput),
    Scan(ScanInput),
    Put(PutItemInput),
    Update(UpdateItemInput),
    Delete(DeleteItemInput),
    Check(ConditionCheck),
    /// `partition-key IN [...]`: one read per value, answered in this order.
    Many(Vec<Plan>),
}

/// Most partition-key values one `IN` may read (DynamoDB's limit is not documented; its
/// error text is "Too many decomposed read operations for a given query.").
const MAX_IN_READS: usize = 100;

/// The request members a plan carries over from the call.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallOptions {
    pub consistent_read: Option<bool>,
    pub limit: Option<i32>,
    pub return_consumed_capacity: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub exclusive_start_key: Option<WireItem>,
}

/// Checks that `params` has one value per `?` of the statement.
///
/// # Errors
/// DynamoDB's "Number of parameters in request and statement don't match."
pub(crate) fn check_parameters(parsed: &Parsed, params: &[WireValue]) -> Result<()> {
    if parsed.parameters == params.len() {
        Ok(())
    } else {
        Err(parameter_count())
    }
}

/// The key attribute names of a table: partition key first.
fn table_key_names(table: &TableDescriptor) -> Vec<&str> {
    let mut names = vec![table.key_schema.hash.name.as_str()];
    if let Some(r) = &table.key_schema.range {
        names.push(r.name.as_str());
    }
    names
}

/// The WHERE's equality terms on `key_names` (first one per name) as a key, and the other
/// terms; `None` when some key attribute has no equality.
fn split_key<'e>(
    builder: &Builder<'_>,
    filter: Option<&'e Expr>,
    key_names: &[&str],
) -> Result<(Option<WireItem>, Vec<&'e Expr>)> {
    let terms = filter.map(Expr::conjuncts).unwrap_or_default();
    let mut key = WireItem::new();
    let mut rest = Vec::new();
    for term in terms {
        if let Some((name, CompareOp::Eq, value)) = key_term(term) {
            if key_names.contains(&name) && !key.contains_key(name) {
                if let Some(v) = builder.constant(value)? {
                    key.insert(name.to_owned(), v);
                    continue;
                }
            }
        }
        rest.push(term);
    }
    let complete = key_names.iter().all(|n| key.contains_key(*n));
    Ok((complete.then_some(key), rest))
}

fn incomplete_key() -> Error {
    Error::validation("Where clause does not contain a mandatory equality on all key attributes")
}

fn no_index(source: &binderdb_partiql::ast::Source) -> Result<()> {
    match source.index {
        Some(_) => Err(Error::validation(
            "This operation is not supported on an index",
        )),
        None => Ok(()),
    }
}

/// `terms` joined with AND, as condition text.
fn conjunction(builder: &mut Builder<'_>, terms: &[&Expr]) -> Result<Option<String>> {
    let mut parts = Vec::with_capacity(terms.len());
    for term in terms {
        parts.push(format!("({})", builder.condition(term)?));
    }
    Ok((!parts.is_empty()).then(|| parts.join(" AND ")))
}

/// Plans a parsed statement on `table` (the descriptor of the table it names).
///
/// # Errors
/// DynamoDB's ValidationException texts for what the dialect refuses.
pub(crate) fn plan(
    statement: &Statement,
    table: &TableDescriptor,
    params: &[WireValue],
    options: CallOptions,
) -> Result<Plan> {
    match statement {
        Statement::Select(s) => plan_select(s, table, params, options),
        Statement::Insert(i) => plan_insert(i, table, params, options),
        Statement::Update(u) => plan_update(u, table, params, options),
        Statement::Delete(d) => plan_delete(d, table, params, options),
        Statement::Exists(s) => plan_exists(s, table, params, options),
    }
}

fn plan_select(
    s: &Select,
    table: &TableDescriptor,
    params: &[WireValue],
    options: CallOptions,
) -> Result<Plan> {
    let mut b = Builder::new(params);
    let projection = match &s.projection {
        Projection::All => None,
        Projection::Paths(paths) => Some(
            paths
                .iter()
                .map(|p| b.path(p))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    let table_keys = table_key_names(table);
    if s.source.index.is_none() && s.order_by.is_empty() {
        let (key, rest) = split_key(&b, s.filter.as_ref(), &table_keys)?;
        if let (Some(key), true) = (key, rest.is_empty()) {
            let (names, _) = b.finish();
            return Ok(Plan::Get(GetItemInput {
                table_name: Some(table.name.clone()),
                key: Some(key),
                consistent_read: options.consistent_read,
                return_consumed_capacity: options.return_consumed_capacity,
                projection_expression: projection,
                expression_attribute_names: names,
                attributes_to_get: None,
            }));
        }
    }
    // The partition and sort key of what is read: the table, or the named index.
    let (hash, range): (Vec<&str>, Option<&str>) = match &s.source.index {
        None => (vec![table_keys[0]], table_keys.get(1).copied()),
        Some(name) => match table.index(name) {
            Some(ix) => (
                ix.hash.iter().map(|k| k.name.as_str()).collect(),
                ix.range.first().map(|k| k.name.as_str()),
            ),
            // The engine's Query/Scan reports the unknown index in its own words.
            None => (Vec::new(), None),
        },
    };
    for (name, _) in &s.order_by {
        if s.filter.is_none() {
            return Err(Error::validation(
                "Must have WHERE clause in the statement when using ORDER BY clause.",
            ));
        }
        if !hash.contains(&name.as_str()) && range != Some(name.as_str()) {
            return Err(Error::validation(format!(
                "Variable reference {name} in ORDER BY clause must be part of the primary key"
            )));
        }
    }
    let (partition, rest) = if hash.is_empty() {
        (
            None,
            s.filter.as_ref().map(Expr::conjuncts).unwrap_or_default(),
        )
    } else {
        split_key(&b, s.filter.as_ref(), &hash)?
    };
    let Some(partition) = partition else {
        if let [hash] = hash.as_slice() {
            if let Some(plan) = plan_partition_in(s, table, params, &options, hash, range)? {
                return Ok(plan);
            }
        }
        if !s.order_by.is_empty() {
            return Err(Error::validation(
                "Must have at least one non-optional hash key condition in WHERE clause when \
                 using ORDER BY clause.",
            ));
        }
        let filter = match &s.filter {
            Some(f) => Some(b.condition(f)?),
            None => None,
        };
        let (names, values) = b.finish();
        return Ok(Plan::Scan(ScanInput {
            table_name: Some(table.name.clone()),
            index_name: s.source.index.clone(),
            limit: options.limit,
            consistent_read: options.consistent_read,
            exclusive_start_key: options.exclusive_start_key,
            return_consumed_capacity: options.return_consumed_capacity,
            filter_expression: filter,
            projection_expression: projection,
            expression_attribute_names: names,
            expression_attribute_values: values,
            ..ScanInput::default()
        }));
    };
    // Key condition: the partition-key equalities, in key-schema order, and the first term
    // on the sort key that a KeyConditionExpression can hold.
    let mut key_parts = Vec::new();
    for name in &hash {
        let Some(value) = partition.get(*name) else {
            continue;
        };
        let n = b.name(name);
        let v = b.value(value.clone());
        key_parts.push(format!("{n} = {v}"));
    }
    let mut filter_terms = Vec::new();
    let mut sort_done = false;
    for term in rest {
        if !sort_done {
            if let Some(range) = range {
                if let Some(text) = sort_key_condition(&mut b, term, range)? {
                    key_parts.push(text);
                    sort_done = true;
                    continue;
                }
            }
        }
        filter_terms.push(term);
    }
    let filter = conjunction(&mut b, &filter_terms)?;
    let descending = s.order_by.last().is_some_and(|(_, desc)| *desc);
    let (names, values) = b.finish();
    Ok(Plan::Query(QueryInput {
        table_name: Some(table.name.clone()),
        index_name: s.source.index.clone(),
        limit: options.limit,
        consistent_read: options.consistent_read,
        scan_index_forward: descending.then_some(false),
        exclusive_start_key: options.exclusive_start_key,
        return_consumed_capacity: options.return_consumed_capacity,
        key_condition_expression: Some(key_parts.join(" AND ")),
        filter_expression: filter,
        projection_expression: projection,
        expression_attribute_names: names,
        expression_attribute_values: values,
        filter_may_read_keys: true,
        ..QueryInput::default()
    }))
}

/// A SELECT whose WHERE has `hash IN [...]` (and no equality on it) as one read per value,
/// in the order of the list (in key order with `ORDER BY` the partition key), as DynamoDB
/// decomposes it. `None` when the WHERE has no such term.
fn plan_partition_in(
    s: &Select,
    table: &TableDescriptor,
    params: &[WireValue],
    options: &CallOptions,
    hash: &str,
    range: Option<&str>,
) -> Result<Option<Plan>> {
    let Some(filter) = &s.filter else {
        return Ok(None);
    };
    let terms = filter.conjuncts();
    let b = Builder::new(params);
    let mut found = None;
    for (i, term) in terms.iter().enumerate() {
        if let Expr::In(left, items) = term {
            if matches!(left.as_ref(), Expr::Path(p) if p.attribute() == Some(hash)) {
                let values: Option<Vec<WireValue>> =
                    items.iter().map(|e| b.constant(e)).collect::<Result<_>>()?;
                if let Some(values) = values {
                    found = Some((i, values));
                    break;
                }
            }
        }
    }
    let Some((at, mut values)) = found else {
        return Ok(None);
    };
    if values.len() > MAX_IN_READS {
        return Err(Error::validation(
            "Too many decomposed read operations for a given query.",
        ));
    }
    // ORDER BY the partition key sorts the reads; the sort key orders within each.
    if let Some(position) = s.order_by.iter().position(|(n, _)| n == hash) {
        values.sort_by(key_order);
        values.dedup();
        if s.order_by[position].1 {
            values.reverse();
        }
    }
    let order_by: Vec<(String, bool)> = s
        .order_by
        .iter()
        .filter(|(n, _)| n != hash && Some(n.as_str()) == range)
        .cloned()
        .collect();
    let mut plans = Vec::with_capacity(values.len());
    for value in values {
        let mut bound = params.to_vec();
        bound.push(value);
        let pinned = Expr::Compare(
            Box::new(Expr::Path(binderdb_partiql::ast::Path {
                name: hash.to_owned(),
                steps: Vec::new(),
            })),
            CompareOp::Eq,
            Box::new(Expr::Param(bound.len() - 1)),
        );
        let filter = terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i == at {
                    pinned.clone()
                } else {
                    (*t).clone()
                }
            })
            .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
        let one = Select {
            projection: s.projection.clone(),
            source: s.source.clone(),
            filter,
            order_by: order_by.clone(),
        };
        let options = CallOptions {
            exclusive_start_key: None,
            ..options.clone()
        };
        plans.push(plan_select(&one, table, &bound, options)?);
    }
    Ok(Some(Plan::Many(plans)))
}

/// DynamoDB's key order for two key values of one type (numbers numerically).
fn key_order(a: &WireValue, b: &WireValue) -> std::cmp::Ordering {
    use binderdb_model::AttributeValue as V;
    match (V::from_wire(a.clone()), V::from_wire(b.clone())) {
        (Ok(V::N(x)), Ok(V::N(y))) => x.cmp(&y),
        (Ok(V::S(x)), Ok(V::S(y))) => x.cmp(&y),
        (Ok(V::B(x)), Ok(V::B(y))) => x.cmp(&y),
        _ => std::cmp::Ordering::Equal,
    }
}

/// `term` as a sort-key condition on `range`, if it is one a KeyConditionExpression takes.
fn sort_key_condition(b: &mut Builder<'_>, term: &Expr, range: &str) -> Result<Option<String>> {
    let is_range = |e: &Expr| matches!(e, Expr::Path(p) if p.attribute() == Some(range));
    match term {
        Expr::Between(a, low, high) if is_range(a) => match (b.constant(low)?, b.constant(high)?) {
            (Some(low), Some(high)) => {
                let n = b.name(range);
                let (l, h) = (b.value(low), b.value(high));
                Ok(Some(format!("{n} BETWEEN {l} AND {h}")))
            }
            _ => Ok(None),
        },
        Expr::Call(f, args) if f == "begins_with" && args.len() == 2 && is_range(&args[0]) => {
            match b.constant(&args[1])? {
                Some(prefix) => {
                    let n = b.name(range);
                    let v = b.value(prefix);
                    Ok(Some(format!("begins_with({n}, {v})")))
                }
                None => Ok(None),
            }
        }
        _ => match key_term(term) {
            Some((name, op, value)) if name == range && op != CompareOp::Ne => {
                match b.constant(value)? {
                    Some(v) => {
                        let n = b.name(range);
                        let v = b.value(v);
                        Ok(Some(format!("{n} {} {v}", op.symbol())))
                    }
                    None => Ok(None),
                }
            }
            _ => Ok(None),
        },
    }
}

fn plan_insert(
    i: &Insert,
    table: &TableDescriptor,
    params: &[WireValue],
    options: CallOptions,
) -> Result<Plan> {
    no_index(&i.source)?;
    let b = Builder::new(params);
    let item = match b.constant(&i.item)? {
        Some(WireValue { m: Some(m), .. }) => m,
        _ => {
            return Err(Error::validation(
                "Unsupported format in item expression. Please use struct format {...} to \
                 express item values for insert statement.",
            ))
        }
    };
    Ok(Plan::Put(PutItemInput {
        table_name: Some(table.name.clone()),
        item: Some(item),
        return_consumed_capacity: options.return_consumed_capacity,
        only_if_absent: true,
        ..PutItemInput::default()
    }))
}

fn plan_update(
    u: &Update,
    table: &TableDescriptor,
    params: &[WireValue],
    options: CallOptions,
) -> Result<Plan> {
    no_index(&u.source)?;
    let mut b = Builder::new(params);
    let (key, rest) = split_key(&b, u.filter.as_ref(), &table_key_names(table))?;
    let key = key.ok_or_else(incomplete_key)?;
    let (mut set, mut remove, mut add, mut delete) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for action in &u.actions {
        match action {
            UpdateAction::Set(path, Expr::Call(f, args))
                if (f == "set_add" || f == "set_delete") && args.len() == 2 =>
            {
                let target = b.path(path);
                let Some(v) = b.constant(&args[1])? else {
                    return Err(Error::validation(format!(
                        "The second argument to {} must be a value with type SET",
                        f.to_ascii_uppercase()
                    )));
                };
                let v = b.value(v);
                let list = if f == "set_add" {
                    &mut add
                } else {
                    &mut delete
                };
                list.push(format!("{target} {v}"));
            }
            UpdateAction::Set(path, value) => {
                let target = b.path(path);
                let value = b.set_value(value)?;
                set.push(format!("{target} = {value}"));
            }
            UpdateAction::Remove(path) => remove.push(b.path(path)),
        }
    }
    let mut update = Vec::new();
    for (word, parts) in [
        ("SET", set),
        ("REMOVE", remove),
        ("ADD", add),
        ("DELETE", delete),
    ] {
        if !parts.is_empty() {
            update.push(format!("{word} {}", parts.join(", ")));
        }
    }
    let exists = format!("attribute_exists({})", b.name(&table.key_schema.hash.name));
    let condition = match conjunction(&mut b, &rest)? {
        Some(c) => format!("{exists} AND {c}"),
        None => exists,
    };
    let (names, values) = b.finish();
    Ok(Plan::Update(UpdateItemInput {
        table_name: Some(table.name.clone()),
        key: Some(key),
        update_expression: Some(update.join(" ")),
        condition_expression: Some(condition),
        expression_attribute_names: names,
        expression_attribute_values: values,
        return_values: u.returning.map(|r| r.return_values().to_owned()),
        return_consumed_capacity: options.return_consumed_capacity,
        return_values_on_condition_check_failure: options.return_values_on_condition_check_failure,
        ..UpdateItemInput::default()
    }))
}

fn plan_delete(
    d: &Delete,
    table: &TableDescriptor,
    params: &[WireValue],
    options: CallOptions,
) -> Result<Plan> {
    no_index(&d.source)?;
    if let Some(r) = d.returning {
        if r != binderdb_partiql::ast::Returning::AllOld {
            return Err(Error::validation(format!(
                "Invalid returning clause: RETURNING {}. Only RETURNING ALL OLD * is allowed in \
                 DELETE statements.",
                r.text()
            )));
        }
    }
    let mut b = Builder::new(params);
    let (key, rest) = split_key(&b, d.filter.as_ref(), &table_key_names(table))?;
    let key = key.ok_or_else(incomplete_key)?;
    let condition = match conjunction(&mut b, &rest)? {
        Some(c) => {
            let hash = b.name(&table.key_schema.hash.name);
            // One term is already parenthesised; DynamoDB refuses `((...))`.
            Some(if rest.len() == 1 {
                format!("attribute_not_exists({hash}) OR {c}")
            } else {
                format!("attribute_not_exists({hash}) OR ({c})")
            })
        }
        None => None,
    };
    let (names, values) = b.finish();
    Ok(Plan::Delete(DeleteItemInput {
        table_name: Some(table.name.clone()),
        key: Some(key),
        return_values: d.returning.map(|_| "ALL_OLD".to_owned()),
        return_consumed_capacity: options.return_consumed_capacity,
        return_values_on_condition_check_failure: options.return_values_on_condition_check_failure,
        condition_expression: condition,
        expression_attribute_names: names,
        expression_attribute_values: values,
        ..DeleteItemInput::default()
    }))
}

fn plan_exists(
    s: &Select,
    table: &TableDescriptor,
    params: &[WireValue],
    options: CallOptions,
) -> Result<Plan> {
    if s.source.index.is_some() {
        return Err(Error::validation(
            "Operations on indices are not supported in transactions",
        ));
    }
    let mut b = Builder::new(params);
    let (key, rest) = split_key(&b, s.filter.as_ref(), &table_key_names(table))?;
    let key = key.ok_or_else(|| {
        Error::validation("EXISTS() must contain a single item read with additional condition")
    })?;
    let exists = format!("attribute_exists({})", b.name(&table.key_schema.hash.name));
    let condition = match conjunction(&mut b, &rest)? {
        Some(c) => format!("{exists} AND {c}"),
        None => exists,
    };
    let (names, values) = b.finish();
    Ok(Plan::Check(ConditionCheck {
        key: Some(key),
        table_name: Some(table.name.clone()),
        condition_expression: Some(condition),
        expression_attribute_names: names,
        expression_attribute_values: values,
        return_values_on_condition_check_failure: options.return_values_on_condition_check_failure,
    }))
}
