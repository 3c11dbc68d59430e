//! The page builder Query and Scan share: decode what storage yields, stop at `Limit` or at
//! DynamoDB's 1 MB page limit, remember where to resume, and bill the page.
//!
//! DynamoDB stops a page once the items it has read add up to 1 MB (the item that crosses the
//! line is part of the page) or once `Limit` items were read, and then returns
//! `LastEvaluatedKey` even if nothing follows; the next page starts strictly after that key.
//! Capacity is the summed size of every item read, rounded up once for the page. A
//! FilterExpression is applied after the read: `ScannedCount` counts what was read (and billed),
//! `Count` what passed the filter.

use std::ops::ControlFlow;

use std::collections::HashMap;

use binderdb_expr::{Condition, Projection};
use binderdb_model::{item_size, Item};
use binderdb_storage::EntryRef;

use binderdb_storage::{Keyspace, TableId};

use crate::api::ReadPageOutput;
use crate::capacity::{read_units, Consumed, ReturnCapacity};
use crate::catalog::TableDescriptor;
use crate::error::{Error, Result};
use crate::expressions::{top_level_name, top_level_names, Expressions};
use crate::index::{BaseKey, IndexDescriptor, IndexKind, ProjectionType};
use crate::keys::{matches_type, schema_attributes};
use crate::legacy::{self, LegacyCondition, Translated};
use crate::Database;

/// DynamoDB's page size limit for Query and Scan.
pub(crate) const PAGE_BYTES: usize = 1024 * 1024;

/// What a Query or Scan returns of each item it reads: the filter that decides which items
/// count, and whether items are returned whole, projected, or only counted (`Select`).
#[derive(Debug)]
pub(crate) struct ReadShape<'a> {
    exprs: &'a Expressions,
    select: Option<&'a str>,
    count_only: bool,
    projection: Option<Projection>,
    /// Read each item whole from the table (a local index asked for attributes it does not
    /// project).
    fetch: bool,
}

impl<'a> ReadShape<'a> {
    /// Checks `Select` against the request's projection (from AttributesToGet when
    /// `attributes_to_get`, else from ProjectionExpression; messages name that parameter), as
    /// DynamoDB does.
    ///
    /// # Errors
    /// `ValidationException` for a Select that contradicts the projection or needs an index.
    pub(crate) fn new(
        exprs: &'a Expressions,
        select: Option<&'a str>,
        attributes_to_get: bool,
        query: bool,
        with_index: bool,
    ) -> Result<Self> {
        let projection_member = if attributes_to_get {
            "AttributesToGet"
        } else {
            "ProjectionExpression"
        };
        let projected = exprs.projection.is_some();
        let problem = match select {
            Some(s) if projected && s != "SPECIFIC_ATTRIBUTES" => Some(format!(
                "Cannot specify the {projection_member} when choosing to get {}",
                if s == "COUNT" { "only the Count" } else { s }
            )),
            Some("ALL_PROJECTED_ATTRIBUTES") if !with_index => Some(
                "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"
                    .to_owned(),
            ),
            Some("SPECIFIC_ATTRIBUTES") if !projected => Some(
                "Must specify the AttributesToGet or ProjectionExpression when choosing to get \
                 SPECIFIC_ATTRIBUTES"
                    .to_owned(),
            ),
            _ => None,
        };
        if let Some(message) = problem {
            // DynamoDB words these as constraint violations on Query, plainly on Scan.
            return Err(Error::validation(if query {
                format!("1 validation error detected: {message}")
            } else {
                message
            }));
        }
        Ok(ReadShape {
            exprs,
            select,
            count_only: select == Some("COUNT"),
            projection: exprs
                .projection
                .as_ref()
                .map(|paths| Projection::new(paths, &exprs.placeholders.names)),
            fetch: false,
        })
    }

    /// The rules that depend on the index read: a global index answers only with what it
    /// projects (ALL_ATTRIBUTES needs an ALL projection; a projection or filter may name only
    /// projected attributes); a local index reads the table for whatever it does not project.
    ///
    /// # Errors
    /// `ValidationException` with DynamoDB's message.
    pub(crate) fn for_index(
        &mut self,
        table: &TableDescriptor,
        index: &IndexDescriptor,
    ) -> Result<()> {
        let projects_all = index.projection == ProjectionType::All;
        if self.select == Some("ALL_ATTRIBUTES") && !projects_all {
            if index.kind == IndexKind::Global {
                return Err(Error::invalid_parameter(format!(
                    "Select type ALL_ATTRIBUTES is not supported for global secondary index {} \
                     because its projection type is not ALL",
                    index.name
                )));
            }
            self.fetch = true;
        }
        if projects_all {
            return Ok(());
        }
        let names = &self.exprs.placeholders.names;
        let projected: Vec<&str> = self
            .exprs
            .projection
            .iter()
            .flatten()
            .filter_map(|path| top_level_name(path, names))
            .collect();
        if let Some(missing) = projected.iter().find(|n| !index.projects(table, n)) {
            if index.kind == IndexKind::Global {
                return Err(Error::invalid_parameter(format!(
                    "Global secondary index {} does not project the attribute {missing}",
                    index.name
                )));
            }
            self.fetch = true;
        }
        // A local index reads the table for a filter on attributes it does not project; a
        // global one evaluates the filter on what it stores.
        let mut filtered = Vec::new();
        if let Some(filter) = &self.exprs.filter {
            top_level_names(filter, names, &mut filtered);
        }
        if index.kind == IndexKind::Local && filtered.iter().any(|n| !index.projects(table, n)) {
            self.fetch = true;
        }
        Ok(())
    }
}

/// Accumulates one page of a Query or Scan.
///
/// Entries are collected as read; the filter, the projection and (for a local index that must
/// read the table) the fetch of each whole item happen in [`PageBuilder::finish`], after the
/// storage walk has released its snapshot.
#[derive(Debug)]
pub(crate) struct PageBuilder<'a> {
    key_names: &'a [&'a str],
    shape: &'a ReadShape<'a>,
    limit: usize,
    read: Vec<Item>,
    scanned: usize,
    size: usize,
    last_key: Option<Item>,
    failure: Option<Error>,
}

impl<'a> PageBuilder<'a> {
    /// A page of at most `limit` items read (`None`: no limit but the 1 MB one), whose
    /// `LastEvaluatedKey` carries the attributes `key_names`.
    pub(crate) fn new(
        key_names: &'a [&'a str],
        limit: Option<usize>,
        shape: &'a ReadShape<'a>,
    ) -> Self {
        PageBuilder {
            key_names,
            shape,
            limit: limit.unwrap_or(usize::MAX),
            read: Vec::new(),
            scanned: 0,
            size: 0,
            last_key: None,
            failure: None,
        }
    }

    /// Storage visitor: takes one entry and says whether the page wants more. `Limit` and the
    /// 1 MB limit count items read, before the filter, as in DynamoDB.
    pub(crate) fn visit(&mut self, entry: EntryRef<'_>) -> ControlFlow<()> {
        let item = match binderdb_model::decode_item(entry.value) {
            Ok(item) => item,
            Err(e) => {
                self.failure = Some(e.into());
                return ControlFlow::Break(());
            }
        };
        self.size += item_size(&item);
        self.scanned += 1;
        let full = self.scanned >= self.limit || self.size >= PAGE_BYTES;
        if full {
            self.last_key = Some(
                self.key_names
                    .iter()
                    .filter_map(|n| item.get(*n).map(|v| ((*n).to_owned(), v.clone())))
                    .collect(),
            );
        }
        self.read.push(item);
        if full {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// The response for the page. `source` says what was read: the table, or an index (and
    /// then `fetch` reads an item whole from the table, for a local index asked for attributes
    /// it does not project; each fetched item is billed to the table on its own).
    ///
    /// # Errors
    /// A stored item that could not be decoded; storage failures while fetching.
    pub(crate) fn finish(
        self,
        table_name: &str,
        source: Option<&IndexDescriptor>,
        capacity: ReturnCapacity,
        consistent: bool,
        fetch: &dyn Fn(&Item) -> Result<Option<Item>>,
    ) -> Result<(ReadPageOutput, Consumed)> {
        if let Some(e) = self.failure {
            return Err(e);
        }
        let page_units = read_units(self.size, consistent);
        let mut consumed = match source {
            None => Consumed::table(page_units),
            Some(index) => {
                let mut c = Consumed::table(0.0);
                c.add_index(index.kind, &index.name, page_units);
                c
            }
        };
        let exprs = self.shape.exprs;
        let mut items = Vec::new();
        let mut count = 0;
        for entry in self.read {
            let item = if self.shape.fetch {
                match fetch(&entry)? {
                    Some(item) => {
                        consumed.table += read_units(item_size(&item), consistent);
                        item
                    }
                    // Deleted since the index was read: nothing to return.
                    None => continue,
                }
            } else {
                entry
            };
            if exprs
                .filter
                .as_ref()
                .is_none_or(|f| exprs.holds(f, Some(&item)))
            {
                count += 1;
                if !self.shape.count_only {
                    items.push(match &self.shape.projection {
                        Some(p) => p.apply(&item),
                        None => item,
                    });
                }
            }
        }
        let output = ReadPageOutput {
            items: (!self.shape.count_only).then_some(items),
            count,
            scanned_count: self.scanned as i64,
            last_evaluated_key: self.last_key,
            consumed_capacity: capacity.report_consumed(table_name, &consumed),
        };
        Ok((output, consumed))
    }
}

impl Database {
    /// The source a Query or Scan reads ([`ReadSource::new`]), with the index's rules applied
    /// to `shape` ([`ReadShape::for_index`]).
    ///
    /// # Errors
    /// As those two.
    pub(crate) fn read_source<'a>(
        &self,
        table: &'a TableDescriptor,
        index_name: Option<&str>,
        consistent: bool,
        shape: &mut ReadShape<'_>,
    ) -> Result<ReadSource<'a>> {
        let source = ReadSource::new(table, index_name, consistent, self.clock.now_millis())?;
        if let Some(index) = source.index {
            shape.for_index(table, index)?;
        }
        Ok(source)
    }

    /// The response for `page`, read from `source` ([`PageBuilder::finish`], fetching from the
    /// table where the source is a local index that must).
    ///
    /// # Errors
    /// As [`PageBuilder::finish`].
    pub(crate) fn finish_page(
        &self,
        mut page: PageBuilder<'_>,
        table: &crate::catalog::Table,
        source: &ReadSource<'_>,
        capacity: ReturnCapacity,
        partition: Option<u64>,
    ) -> Result<ReadPageOutput> {
        let consistent = source.consistent;
        let table_name = &source.table.name;
        if !consistent && self.history.enabled() {
            page.read = self.lagged(source, std::mem::take(&mut page.read))?;
        }
        let (output, consumed) =
            page.finish(table_name, source.index, capacity, consistent, &|entry| {
                // The entry always carries the table's key.
                let key = crate::keys::item_key(&source.table.key_schema, entry)?
                    .storage_key(source.table.id);
                self.store
                    .get(&key)?
                    .map(|v| crate::ops::decode(&v.value))
                    .transpose()
            })?;
        self.charge(
            table,
            source.table,
            crate::capacity::Usage::Read,
            &consumed,
            partition,
        );
        Ok(output)
    }

    /// Eventual consistency on demand (`consistency`): the items (or index entries) a page
    /// read, each as it was a moment ago. An entry whose item changed since is replaced by the
    /// item as it was (projected, for an index), or dropped when the item did not exist then
    /// or had other index key values.
    ///
    /// # Errors
    /// An entry without the table's key attributes (a corrupt store).
    fn lagged(&self, source: &ReadSource<'_>, read: Vec<Item>) -> Result<Vec<Item>> {
        let moment = self.history.read_moment(self.clock.now_millis());
        let table = source.table;
        let mut lagged = Vec::with_capacity(read.len());
        for entry in read {
            // Index entries carry the table's key too.
            let key = crate::keys::item_key(&table.key_schema, &entry)?.storage_key(table.id);
            let Some(old) = self.history.as_of(&key, moment) else {
                lagged.push(entry);
                continue;
            };
            let Some(old) = old else { continue };
            match source.index {
                None => lagged.push(old),
                Some(index) => {
                    let same_keys = index
                        .key_attributes()
                        .all(|a| old.get(&a.name) == entry.get(&a.name));
                    if same_keys {
                        lagged.push(index.project(table, &old).into_owned());
                    }
                }
            }
        }
        Ok(lagged)
    }

    /// Refuses a Query or Scan of `source` its buckets cannot take now: the global index's
    /// read bucket for an index, else the table's (and the queried partition's).
    ///
    /// # Errors
    /// Throttling errors.
    pub(crate) fn admit_page(
        &self,
        table: &crate::catalog::Table,
        source: &ReadSource<'_>,
        partition: Option<u64>,
    ) -> Result<()> {
        let index = source
            .index
            .filter(|i| i.kind == crate::index::IndexKind::Global)
            .map(|i| i.name.as_str());
        self.admit(
            table,
            source.table,
            crate::capacity::Ask {
                direction: crate::capacity::Direction::Read,
                index,
                partition: partition.filter(|_| source.index.is_none()),
            },
        )
    }
}

/// What a Query or Scan walks: the table's items, or one index's entries.
#[derive(Debug)]
pub(crate) struct ReadSource<'a> {
    pub(crate) table: &'a TableDescriptor,
    pub(crate) index: Option<&'a IndexDescriptor>,
    /// Whether the read is strongly consistent.
    pub(crate) consistent: bool,
}

impl<'a> ReadSource<'a> {
    /// The source named by a request's `IndexName` (the table itself without one).
    ///
    /// # Errors
    /// `ValidationException`: no such index (or one being deleted), an index still being
    /// built, or ConsistentRead on a global index.
    pub(crate) fn new(
        table: &'a TableDescriptor,
        index_name: Option<&str>,
        consistent: bool,
        now_ms: u64,
    ) -> Result<Self> {
        let Some(name) = index_name else {
            return Ok(ReadSource {
                table,
                index: None,
                consistent,
            });
        };
        let index = table
            .index(name)
            .filter(|i| i.maintained())
            .ok_or_else(|| {
                Error::validation(format!(
                    "The table does not have the specified index: {name}"
                ))
            })?;
        if index.status(now_ms) == "CREATING" {
            return Err(Error::validation(format!(
                "Cannot read from backfilling global secondary index: {name}"
            )));
        }
        if consistent && index.kind == IndexKind::Global {
            return Err(Error::validation(
                "Consistent reads are not supported on global secondary indexes",
            ));
        }
        Ok(ReadSource {
            table,
            index: Some(index),
            consistent,
        })
    }

    /// The keyspace and storage id walked.
    pub(crate) fn storage(&self) -> (Keyspace, TableId) {
        match self.index {
            None => (Keyspace::Items, self.table.id),
            Some(index) => (index.keyspace(), index.id),
        }
    }

    /// The attributes of a `LastEvaluatedKey`: the index's key attributes (if any), then the
    /// table's.
    pub(crate) fn page_key_names(&self) -> Vec<&'a str> {
        match self.index {
            None => schema_attributes(&self.table.key_schema)
                .map(|a| a.name.as_str())
                .collect(),
            Some(index) => index.page_key_attributes(self.table),
        }
    }

    /// The partition and sort bytes an `ExclusiveStartKey` names in this source, with
    /// DynamoDB's checks: exactly the key attributes of the table and the index, each of its
    /// declared type. `short_message` is Query's wording for a key with the wrong attributes.
    ///
    /// # Errors
    /// `ValidationException` with DynamoDB's message.
    pub(crate) fn start_key(
        &self,
        start: &Item,
        wrong_attributes: &str,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let Some(index) = self.index else {
            let key = crate::keys::exact_key(&self.table.key_schema, start, wrong_attributes)?;
            return Ok((key.partition, key.sort));
        };
        let names = index.page_key_attributes(self.table);
        if start.len() != names.len() || names.iter().any(|n| !start.contains_key(*n)) {
            return Err(Error::validation(wrong_attributes));
        }
        for attr in index.key_attributes() {
            if start
                .get(&attr.name)
                .is_some_and(|v| !matches_type(v, attr.key_type))
            {
                return Err(Error::validation(
                    "The provided key element does not match the schema",
                ));
            }
        }
        let table_part: Item = schema_attributes(&self.table.key_schema)
            .filter_map(|a| start.get(&a.name).map(|v| (a.name.clone(), v.clone())))
            .collect();
        let base = crate::keys::start_key(&self.table.key_schema, &table_part)?;
        let key = index
            .entry_key(
                BaseKey {
                    partition: &base.partition,
                    sort: &base.sort,
                },
                start,
            )
            .ok_or_else(|| {
                Error::validation("The provided key element does not match the schema")
            })?;
        Ok((key.partition, key.sort))
    }
}

/// `Limit` as a page size; the server has already checked it is at least 1.
pub(crate) fn page_limit(limit: Option<i32>) -> Option<usize> {
    limit.map(|l| l.max(1) as usize)
}

/// `QueryFilter` / `ScanFilter` + `ConditionalOperator` as a filter (a lone ConditionalOperator
/// is an error).
///
/// # Errors
/// `ValidationException` with DynamoDB's legacy-parameter messages.
pub(crate) fn legacy_filter(
    filter: Option<&HashMap<String, LegacyCondition>>,
    conditional_operator: Option<&str>,
    parameter: &str,
) -> Result<Option<Translated<Condition>>> {
    match filter {
        Some(filter) => legacy::filter_condition(filter, conditional_operator, parameter),
        None => {
            legacy::check_conditional_operator(conditional_operator, 0)?;
            Ok(None)
        }
    }
}
