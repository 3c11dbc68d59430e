//! Request-level constraints, reported the way DynamoDB reports them.
//!
//! DynamoDB checks every member's declared constraints (not null, length, pattern, range, enum)
//! before any semantics, collects all violations in member order, and answers one
//! ValidationException: `1 validation error detected: Value 'x' at 'tableName' failed to satisfy
//! constraint: Member must ...`, or `N validation errors detected: ...; ...`. Each operation
//! below lists its members in DynamoDB's order; semantic checks live in the engine.

use binderdb_engine::api::{
    AttributeDefinition, BatchGetItemInput, BatchWriteItemInput, CreateTableInput, DeleteItemInput,
    GetItemInput, GlobalSecondaryIndex, KeySchemaElement, ListTablesInput, LocalSecondaryIndex,
    Projection, ProvisionedThroughput, PutItemInput, QueryInput, RequestMap, ScanInput,
    TableNameInput, TransactGetItemsInput, TransactWriteItemsInput, UpdateItemInput,
    UpdateTableInput, WriteRequest,
};

use crate::echo;
use crate::error::ApiError;

mod backup;
mod exchange;
mod insights;
mod kinesis;
mod partiql;
mod resource;

pub use backup::*;
pub use exchange::*;
pub use insights::*;
pub use kinesis::*;
pub use partiql::*;
pub use resource::*;

const TABLE_NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
const RETURN_CONSUMED_CAPACITY: &[&str] = &["INDEXES", "TOTAL", "NONE"];
const RETURN_ITEM_COLLECTION_METRICS: &[&str] = &["SIZE", "NONE"];
/// Enum sets are listed in the order DynamoDB prints them.
const RETURN_VALUES: &[&str] = &["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"];
const RETURN_VALUES_ON_FAILURE: &[&str] = &["ALL_OLD", "NONE"];
const CONDITIONAL_OPERATOR: &[&str] = &["AND", "OR"];
const SELECT: &[&str] = &[
    "SPECIFIC_ATTRIBUTES",
    "COUNT",
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
];
const BILLING_MODE: &[&str] = &["PROVISIONED", "PAY_PER_REQUEST"];

/// TableClass is not one of the generic validator's enums: a value outside the two classes
/// gets its own text, once the generic checks pass (the ack-api-quirks lab's DDB-TABLE-442,
/// CreateTable and UpdateTable).
fn table_class(class: Option<&String>) -> Result<(), ApiError> {
    match class.map(String::as_str) {
        None | Some("STANDARD" | "STANDARD_INFREQUENT_ACCESS") => Ok(()),
        Some(_) => Err(ApiError::validation(
            "Invalid table-class parameter provided. Please try again with a valid table-class \
             value: [STANDARD, STANDARD_INFREQUENT_ACCESS].",
        )),
    }
}

/// DynamoDB lists at most this many violations in one message and ignores the rest (recorded
/// by dynalite, `validations/index.js`).
const MAX_VIOLATIONS: usize = 10;

/// Collected constraint violations of one request.
#[derive(Debug, Default)]
struct Violations(Vec<String>);

/// Renders a value the way DynamoDB's messages quote it.
fn quoted(value: &str) -> String {
    format!("'{value}'")
}

impl Violations {
    fn push(&mut self, value: Option<String>, path: &str, constraint: &str) {
        if self.0.len() >= MAX_VIOLATIONS {
            return;
        }
        let value = value.unwrap_or_else(|| "null".to_owned());
        self.0.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A violation in the newer form DynamoDB uses for some members: the member named as the
    /// API spells it and no value echoed ("Value at 'Limit' failed to satisfy constraint:
    /// ...", recorded from DynamoDB for Query's Limit and BatchGetItem's Keys).
    fn push_unechoed(&mut self, path: &str, constraint: &str) {
        if self.0.len() < MAX_VIOLATIONS {
            self.0.push(format!(
                "Value at '{path}' failed to satisfy constraint: {constraint}"
            ));
        }
    }

    fn not_null<T>(&mut self, path: &str, v: Option<&T>) -> bool {
        if v.is_none() {
            self.push(None, path, "Member must not be null");
        }
        v.is_some()
    }

    /// A name member (table or index): pattern, then length 3..=255.
    fn name(&mut self, path: &str, v: Option<&str>) {
        let Some(s) = v else { return };
        if !matches_name_pattern(s) {
            self.push(
                Some(quoted(s)),
                path,
                &format!("Member must satisfy regular expression pattern: {TABLE_NAME_PATTERN}"),
            );
        }
        self.length(path, s, 3, 255);
    }

    /// A name member whose constraints DynamoDB reports length first (index names, and
    /// DescribeTable's table name).
    fn name_length_first(&mut self, path: &str, v: Option<&str>) {
        let Some(s) = v else { return };
        self.length(path, s, 3, 255);
        if !matches_name_pattern(s) {
            self.push(
                Some(quoted(s)),
                path,
                &format!("Member must satisfy regular expression pattern: {TABLE_NAME_PATTERN}"),
            );
        }
    }

    fn length(&mut self, path: &str, s: &str, min: usize, max: usize) {
        let len = s.chars().count();
        if len < min {
            self.push(
                Some(quoted(s)),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                Some(quoted(s)),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// [`Violations::length`] of `v` when it is given.
    fn optional_length(&mut self, path: &str, v: Option<&String>, min: usize, max: usize) {
        if let Some(s) = v {
            self.length(path, s, min, max);
        }
    }

    fn table_name(&mut self, v: Option<&String>) {
        if self.not_null("tableName", v) {
            self.name("tableName", v.map(String::as_str));
        }
    }

    fn one_of(&mut self, path: &str, v: Option<&String>, allowed: &[&str]) {
        if let Some(s) = v {
            if !allowed.contains(&s.as_str()) {
                self.push(
                    Some(quoted(s)),
                    path,
                    &format!(
                        "Member must satisfy enum value set: [{}]",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn range<T: Into<i64> + Copy>(&mut self, path: &str, v: Option<T>, min: i64, max: Option<i64>) {
        let Some(n) = v.map(Into::into) else { return };
        if n < min {
            self.push(
                Some(quoted(&n.to_string())),
                path,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if let Some(max) = max.filter(|m| n > *m) {
            self.push(
                Some(quoted(&n.to_string())),
                path,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// AttributesToGet, when given, names at least one attribute.
    fn attributes_to_get(&mut self, path: &str, v: Option<&Vec<String>>) {
        if v.is_some_and(Vec::is_empty) {
            self.push(
                Some(quoted("[]")),
                path,
                "Member must have length greater than or equal to 1",
            );
        }
    }

    fn throughput(&mut self, t: Option<&ProvisionedThroughput>) {
        let Some(t) = t else { return };
        for (path, v) in [
            (
                "provisionedThroughput.writeCapacityUnits",
                t.write_capacity_units,
            ),
            (
                "provisionedThroughput.readCapacityUnits",
                t.read_capacity_units,
            ),
        ] {
            if self.not_null(path, v.as_ref()) {
                self.range(path, v, 1, None);
            }
        }
    }

    fn attribute_name(&mut self, path: &str, v: Option<&String>) {
        if self.not_null(path, v) {
            if let Some(s) = v {
                self.length(path, s, 1, 255);
            }
        }
    }

    fn finish(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(ApiError::validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// Whether `s` matches DynamoDB's table and index name pattern, `[a-zA-Z0-9_.-]+`.
fn matches_name_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Whether `s` is a valid table name (pattern and length).
fn is_table_name(s: &str) -> bool {
    matches_name_pattern(s) && (3..=255).contains(&s.chars().count())
}

/// Java-style rendering of a key schema list, as DynamoDB quotes it in length violations.
fn key_schema_text(elements: &[KeySchemaElement]) -> String {
    let parts: Vec<String> = elements
        .iter()
        .map(|e| {
            format!(
                "KeySchemaElement(attributeName={}, keyType={})",
                e.attribute_name.as_deref().unwrap_or("null"),
                e.key_type.as_deref().unwrap_or("null")
            )
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn attribute_definitions(v: &mut Violations, defs: Option<&Vec<AttributeDefinition>>) {
    if !v.not_null("attributeDefinitions", defs) {
        return;
    }
    // AttributeType is reported before AttributeName (the ack-api-quirks lab's DDB-TABLE-457).
    for (i, d) in defs.into_iter().flatten().enumerate() {
        let base = format!("attributeDefinitions.{}.member", i + 1);
        let path = format!("{base}.attributeType");
        if v.not_null(&path, d.attribute_type.as_ref()) {
            v.one_of(&path, d.attribute_type.as_ref(), &["B", "N", "S"]);
        }
        v.attribute_name(&format!("{base}.attributeName"), d.attribute_name.as_ref());
    }
}

/// The table-management operations check TableName on its own first, with their own texts
/// (recorded from DynamoDB; "paramater" is DynamoDB's spelling in DescribeTable).
fn table_name_first(name: Option<&String>, missing: &str) -> Result<(), ApiError> {
    match name {
        None => Err(ApiError::validation(missing)),
        Some(n) if !(3..=255).contains(&n.chars().count()) => Err(ApiError::validation(
            "TableName must be at least 3 characters long and at most 255 characters long",
        )),
        Some(_) => Ok(()),
    }
}

/// For requests whose constraints the engine checks itself (the Streams API).
///
/// # Errors
/// Never.
pub fn nothing<T>(_: &T) -> Result<(), ApiError> {
    Ok(())
}

/// CreateTable.
pub fn create_table(r: &CreateTableInput) -> Result<(), ApiError> {
    table_name_first(
        r.table_name.as_ref(),
        "The parameter 'TableName' is required but was not present in the request",
    )?;
    let mut v = Violations::default();
    attribute_definitions(&mut v, r.attribute_definitions.as_ref());
    v.table_name(r.table_name.as_ref());
    if v.not_null("keySchema", r.key_schema.as_ref()) {
        let ks = r.key_schema.as_deref().unwrap_or_default();
        if ks.is_empty() || ks.len() > 2 {
            let constraint = if ks.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 2"
            };
            v.push(Some(quoted(&key_schema_text(ks))), "keySchema", constraint);
        }
        for (i, e) in ks.iter().enumerate() {
            let base = format!("keySchema.{}.member", i + 1);
            v.attribute_name(&format!("{base}.attributeName"), e.attribute_name.as_ref());
            let path = format!("{base}.keyType");
            if v.not_null(&path, e.key_type.as_ref()) {
                v.one_of(&path, e.key_type.as_ref(), &["HASH", "RANGE"]);
            }
        }
    }
    local_secondary_indexes(&mut v, r.local_secondary_indexes.as_deref());
    for (i, gsi) in r.global_secondary_indexes.iter().flatten().enumerate() {
        global_secondary_index(
            &mut v,
            &format!("globalSecondaryIndexes.{}.member", i + 1),
            gsi,
        );
    }
    v.one_of("billingMode", r.billing_mode.as_ref(), BILLING_MODE);
    v.throughput(r.provisioned_throughput.as_ref());
    stream_specification(&mut v, r.stream_specification.as_ref());
    sse_specification(&mut v, "sSESpecification", r.sse_specification.as_ref());
    v.finish()?;
    table_class(r.table_class.as_ref())
}

/// An `SSESpecification` (`path`: `sSESpecification`, or a restore's
/// `sSESpecificationOverride`): SSEType one of the two (AES256 is refused later, by the
/// engine), KMSMasterKeyId not empty (the ack-api-quirks lab's DDB-TABLE-457).
fn sse_specification(
    v: &mut Violations,
    path: &str,
    spec: Option<&binderdb_engine::api::SseSpecification>,
) {
    let Some(spec) = spec else { return };
    v.one_of(
        &format!("{path}.sSEType"),
        spec.sse_type.as_ref(),
        &["AES256", "KMS"],
    );
    if let Some(key) = &spec.kms_master_key_id {
        v.length(&format!("{path}.kMSMasterKeyId"), key, 1, usize::MAX);
    }
}

/// A `StreamSpecification`: StreamEnabled present, StreamViewType one of the four.
fn stream_specification(
    v: &mut Violations,
    spec: Option<&binderdb_engine::api::StreamSpecification>,
) {
    let Some(spec) = spec else { return };
    v.not_null(
        "streamSpecification.streamEnabled",
        spec.stream_enabled.as_ref(),
    );
    v.one_of(
        "streamSpecification.streamViewType",
        spec.stream_view_type.as_ref(),
        // In the order DynamoDB lists them.
        &["OLD_IMAGE", "KEYS_ONLY", "NEW_AND_OLD_IMAGES", "NEW_IMAGE"],
    );
}

/// The members of one index's KeySchema: length (1 to `max`), each element's name and key type.
fn index_key_schema(
    v: &mut Violations,
    path: &str,
    ks: Option<&Vec<KeySchemaElement>>,
    max: usize,
) {
    if !v.not_null(path, ks) {
        return;
    }
    let ks = ks.map(Vec::as_slice).unwrap_or_default();
    if ks.is_empty() {
        v.push(
            Some(quoted(&key_schema_text(ks))),
            path,
            "Member must have length greater than or equal to 1",
        );
    } else if ks.len() > max {
        v.push(
            Some(quoted(&key_schema_text(ks))),
            path,
            &format!("Member must have length less than or equal to {max}"),
        );
    }
    for (i, e) in ks.iter().enumerate() {
        let base = format!("{path}.{}.member", i + 1);
        v.attribute_name(&format!("{base}.attributeName"), e.attribute_name.as_ref());
        let key_type = format!("{base}.keyType");
        if v.not_null(&key_type, e.key_type.as_ref()) {
            v.one_of(&key_type, e.key_type.as_ref(), &["HASH", "RANGE"]);
        }
    }
}

/// An index's Projection: not null; ProjectionType in its enum; NonKeyAttributes 1 to 20.
fn index_projection(v: &mut Violations, path: &str, p: Option<&Projection>) {
    if !v.not_null(path, p) {
        return;
    }
    let Some(p) = p else { return };
    v.one_of(
        &format!("{path}.projectionType"),
        p.projection_type.as_ref(),
        &["ALL", "INCLUDE", "KEYS_ONLY"],
    );
    if let Some(attrs) = &p.non_key_attributes {
        let count = attrs.len();
        if count == 0 || count > 20 {
            v.push(
                Some(quoted(&format!("[{}]", attrs.join(", ")))),
                &format!("{path}.nonKeyAttributes"),
                if count == 0 {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 20"
                },
            );
        }
    }
}

/// An IndexName: unlike a table name, its length is reported before its pattern (the
/// ack-api-quirks lab's DDB-TABLE-457, CreateTable and UpdateTable).
fn index_name(v: &mut Violations, path: &str, name: Option<&String>) {
    if v.not_null(path, name) {
        v.name_length_first(path, name.map(String::as_str));
    }
}

/// CreateTable's LocalSecondaryIndexes, each member in DynamoDB's order: IndexName,
/// KeySchema (at most 2 elements), Projection.
fn local_secondary_indexes(v: &mut Violations, lsis: Option<&[LocalSecondaryIndex]>) {
    for (i, lsi) in lsis.into_iter().flatten().enumerate() {
        let base = format!("localSecondaryIndexes.{}.member", i + 1);
        index_name(v, &format!("{base}.indexName"), lsi.index_name.as_ref());
        index_key_schema(v, &format!("{base}.keySchema"), lsi.key_schema.as_ref(), 2);
        index_projection(v, &format!("{base}.projection"), lsi.projection.as_ref());
    }
}

/// One GlobalSecondaryIndexes member (or UpdateTable Create action) at `base`, in the order
/// DynamoDB reports it: KeySchema (up to 4 HASH + 4 RANGE elements), Projection, IndexName,
/// ProvisionedThroughput.
fn global_secondary_index(v: &mut Violations, base: &str, gsi: &GlobalSecondaryIndex) {
    index_key_schema(v, &format!("{base}.keySchema"), gsi.key_schema.as_ref(), 8);
    index_projection(v, &format!("{base}.projection"), gsi.projection.as_ref());
    index_name(v, &format!("{base}.indexName"), gsi.index_name.as_ref());
    index_throughput(v, base, gsi.provisioned_throughput.as_ref());
}

fn index_throughput(v: &mut Violations, base: &str, t: Option<&ProvisionedThroughput>) {
    let Some(t) = t else { return };
    for (member, value) in [
        ("writeCapacityUnits", t.write_capacity_units),
        ("readCapacityUnits", t.read_capacity_units),
    ] {
        let path = format!("{base}.provisionedThroughput.{member}");
        if v.not_null(&path, value.as_ref()) {
            v.range(&path, value, 1, None);
        }
    }
}

/// DescribeTable: a missing TableName has its own text; a malformed one gets the generic
/// violations, length first (the ack-api-quirks lab's DDB-TABLE-457), not CreateTable's
/// "TableName must be at least 3 characters long ...".
pub fn describe_table(r: &TableNameInput) -> Result<(), ApiError> {
    let Some(name) = r.table_name.as_deref() else {
        return Err(ApiError::validation(
            "The paramater 'tableName' is required but was not present in the request",
        ));
    };
    let mut v = Violations::default();
    v.name_length_first("tableName", Some(name));
    v.finish()
}

/// DeleteTable (and the common TableName check).
pub fn table_name_only(r: &TableNameInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.table_name(r.table_name.as_ref());
    v.finish()
}

/// UpdateTable.
pub fn update_table(r: &UpdateTableInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    if let Some(defs) = &r.attribute_definitions {
        attribute_definitions(&mut v, Some(defs));
    }
    v.table_name(r.table_name.as_ref());
    for (i, update) in r
        .global_secondary_index_updates
        .iter()
        .flatten()
        .enumerate()
    {
        let base = format!("globalSecondaryIndexUpdates.{}.member", i + 1);
        if let Some(create) = &update.create {
            global_secondary_index(&mut v, &format!("{base}.create"), create);
        }
        if let Some(u) = &update.update {
            let path = format!("{base}.update");
            index_name(&mut v, &format!("{path}.indexName"), u.index_name.as_ref());
            index_throughput(&mut v, &path, u.provisioned_throughput.as_ref());
        }
        if let Some(d) = &update.delete {
            index_name(
                &mut v,
                &format!("{base}.delete.indexName"),
                d.index_name.as_ref(),
            );
        }
    }
    v.one_of("billingMode", r.billing_mode.as_ref(), BILLING_MODE);
    v.throughput(r.provisioned_throughput.as_ref());
    stream_specification(&mut v, r.stream_specification.as_ref());
    sse_specification(&mut v, "sSESpecification", r.sse_specification.as_ref());
    v.finish()?;
    table_class(r.table_class.as_ref())
}

/// ListTables.
pub fn list_tables(r: &ListTablesInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.range("limit", r.limit, 1, Some(100));
    v.name(
        "exclusiveStartTableName",
        r.exclusive_start_table_name.as_deref(),
    );
    v.finish()
}

/// The members every single-item write shares, in DynamoDB's order: returnConsumedCapacity,
/// tableName, the item or key, returnValues, returnItemCollectionMetrics, conditionalOperator,
/// returnValuesOnConditionCheckFailure.
#[derive(Debug)]
struct ItemWrite<'a> {
    table_name: Option<&'a String>,
    target: (&'static str, bool),
    return_consumed_capacity: Option<&'a String>,
    return_values: Option<&'a String>,
    return_item_collection_metrics: Option<&'a String>,
    conditional_operator: Option<&'a String>,
    return_values_on_condition_check_failure: Option<&'a String>,
}

fn item_write(w: ItemWrite<'_>) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.one_of(
        "returnConsumedCapacity",
        w.return_consumed_capacity,
        RETURN_CONSUMED_CAPACITY,
    );
    v.table_name(w.table_name);
    v.not_null(w.target.0, w.target.1.then_some(&()));
    v.one_of("returnValues", w.return_values, RETURN_VALUES);
    v.one_of(
        "returnItemCollectionMetrics",
        w.return_item_collection_metrics,
        RETURN_ITEM_COLLECTION_METRICS,
    );
    v.one_of(
        "conditionalOperator",
        w.conditional_operator,
        CONDITIONAL_OPERATOR,
    );
    v.one_of(
        "returnValuesOnConditionCheckFailure",
        w.return_values_on_condition_check_failure,
        RETURN_VALUES_ON_FAILURE,
    );
    v.finish()
}

/// PutItem.
pub fn put_item(r: &PutItemInput) -> Result<(), ApiError> {
    item_write(ItemWrite {
        table_name: r.table_name.as_ref(),
        target: ("item", r.item.is_some()),
        return_consumed_capacity: r.return_consumed_capacity.as_ref(),
        return_values: r.return_values.as_ref(),
        return_item_collection_metrics: r.return_item_collection_metrics.as_ref(),
        conditional_operator: r.conditional_operator.as_ref(),
        return_values_on_condition_check_failure: r
            .return_values_on_condition_check_failure
            .as_ref(),
    })
}

/// DeleteItem.
pub fn delete_item(r: &DeleteItemInput) -> Result<(), ApiError> {
    item_write(ItemWrite {
        table_name: r.table_name.as_ref(),
        target: ("key", r.key.is_some()),
        return_consumed_capacity: r.return_consumed_capacity.as_ref(),
        return_values: r.return_values.as_ref(),
        return_item_collection_metrics: r.return_item_collection_metrics.as_ref(),
        conditional_operator: r.conditional_operator.as_ref(),
        return_values_on_condition_check_failure: r
            .return_values_on_condition_check_failure
            .as_ref(),
    })
}

/// UpdateItem.
pub fn update_item(r: &UpdateItemInput) -> Result<(), ApiError> {
    item_write(ItemWrite {
        table_name: r.table_name.as_ref(),
        target: ("key", r.key.is_some()),
        return_consumed_capacity: r.return_consumed_capacity.as_ref(),
        return_values: r.return_values.as_ref(),
        return_item_collection_metrics: r.return_item_collection_metrics.as_ref(),
        conditional_operator: r.conditional_operator.as_ref(),
        return_values_on_condition_check_failure: r
            .return_values_on_condition_check_failure
            .as_ref(),
    })
}

/// GetItem.
pub fn get_item(r: &GetItemInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.attributes_to_get("attributesToGet", r.attributes_to_get.as_ref());
    v.table_name(r.table_name.as_ref());
    v.not_null("key", r.key.as_ref());
    v.finish()
}

/// Query.
pub fn query(r: &QueryInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.attributes_to_get("attributesToGet", r.attributes_to_get.as_ref());
    v.table_name(r.table_name.as_ref());
    v.name("indexName", r.index_name.as_deref());
    v.one_of("select", r.select.as_ref(), SELECT);
    if r.limit.is_some_and(|l| l < 1) {
        v.push_unechoed("Limit", "Member must have value greater than or equal to 1");
    }
    v.one_of(
        "conditionalOperator",
        r.conditional_operator.as_ref(),
        CONDITIONAL_OPERATOR,
    );
    v.finish()?;
    if r.key_condition_expression.is_none() && r.key_conditions.is_none() {
        return Err(ApiError::validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
        ));
    }
    Ok(())
}

/// Scan.
pub fn scan(r: &ScanInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.attributes_to_get("attributesToGet", r.attributes_to_get.as_ref());
    v.table_name(r.table_name.as_ref());
    v.name("indexName", r.index_name.as_deref());
    v.one_of("select", r.select.as_ref(), SELECT);
    v.range("limit", r.limit, 1, None);
    v.range("segment", r.segment, 0, Some(999_999));
    v.range("totalSegments", r.total_segments, 1, Some(1_000_000));
    v.one_of(
        "conditionalOperator",
        r.conditional_operator.as_ref(),
        CONDITIONAL_OPERATOR,
    );
    v.finish()?;
    match (r.segment, r.total_segments) {
        (Some(_), None) => Err(ApiError::validation(
            "The TotalSegments parameter is required but was not present in the request when \
             Segment parameter is present",
        )),
        (None, Some(_)) => Err(ApiError::validation(
            "The Segment parameter is required but was not present in the request when parameter \
             TotalSegments is present",
        )),
        (Some(s), Some(t)) if s >= t => Err(ApiError::validation(format!(
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: \
             Segment: {s} is not less than TotalSegments: {t}"
        ))),
        _ => Ok(()),
    }
}

/// The constraint on the table names of a batch's `RequestItems`, as DynamoDB lists it.
const TABLE_NAME_KEYS: &str = "Map keys must satisfy constraint: [Member must have length less \
     than or equal to 255, Member must have length greater than or equal to 3, Member must \
     satisfy regular expression pattern: [a-zA-Z0-9_.-]+]";

/// The `RequestItems` map of BatchGetItem and BatchWriteItem: not null, then its table names
/// (one violation for the whole map, quoting it). `render` is how DynamoDB quotes one table's
/// value. An empty map is not a constraint violation here: DynamoDB answers it with its own
/// text, which the engine gives.
///
/// The map is rendered only when a violation quotes it: rendering every request of a
/// BatchWriteItem took 7% of a durable server's CPU in a bulk load (`perf`, 2026-12-06),
/// for a text that a valid request never shows.
fn request_items<V>(
    v: &mut Violations,
    items: Option<&RequestMap<V>>,
    render: impl Fn(&V) -> String,
) {
    let Some(items) = items else { return };
    if items.keys().any(|k| !is_table_name(k)) {
        let text = echo::request_items(items, render);
        v.push(Some(quoted(&text)), "requestItems", TABLE_NAME_KEYS);
    }
}

/// BatchGetItem.
pub fn batch_get_item(r: &BatchGetItemInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.not_null("requestItems", r.request_items.as_ref());
    request_items(&mut v, r.request_items.as_ref(), echo::keys_and_attributes);
    for (table, request) in r.request_items.iter().flatten() {
        let path = format!("requestItems.{table}.member.keys");
        if v.not_null(&path, request.keys.as_ref()) {
            let keys = request.keys.as_deref().unwrap_or_default();
            if keys.is_empty() {
                v.push(
                    Some(quoted("[]")),
                    &path,
                    "Member must have length greater than or equal to 1",
                );
            } else if keys.len() > MAX_BATCH_GET_KEYS_PER_TABLE {
                v.push_unechoed(
                    &format!("RequestItems.{table}.member.Keys"),
                    "Member must have length less than or equal to 100",
                );
            }
        }
        v.attributes_to_get(
            &format!("requestItems.{table}.member.attributesToGet"),
            request.attributes_to_get.as_ref(),
        );
    }
    v.finish()
}

/// DynamoDB's limit on one table's `Keys` in BatchGetItem (the engine checks the total).
const MAX_BATCH_GET_KEYS_PER_TABLE: usize = 100;
/// DynamoDB's limit on one table's requests in BatchWriteItem (the engine checks the total).
const MAX_BATCH_WRITES_PER_TABLE: usize = 25;

/// BatchWriteItem.
pub fn batch_write_item(r: &BatchWriteItemInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.one_of(
        "returnItemCollectionMetrics",
        r.return_item_collection_metrics.as_ref(),
        RETURN_ITEM_COLLECTION_METRICS,
    );
    v.not_null("requestItems", r.request_items.as_ref());
    let render = |requests: &Vec<WriteRequest>| echo::write_requests(requests);
    request_items(&mut v, r.request_items.as_ref(), render);
    if let Some(items) = &r.request_items {
        if items
            .values()
            .any(|w| w.is_empty() || w.len() > MAX_BATCH_WRITES_PER_TABLE)
        {
            v.push(
                Some(quoted(&echo::request_items(items, render))),
                "requestItems",
                "Map value must satisfy constraint: [Member must have length less than or equal \
                 to 25, Member must have length greater than or equal to 1]",
            );
        }
    }
    for (table, requests) in r.request_items.iter().flatten() {
        // The paths are formatted only for a violation (a bulk load sends 25 requests a call).
        let base = |i: usize| format!("requestItems.{table}.member.{}.member", i + 1);
        for (i, request) in requests.iter().enumerate() {
            if let Some(d) = &request.delete_request {
                if d.key.is_none() {
                    v.push(
                        None,
                        &format!("{}.deleteRequest.key", base(i)),
                        "Member must not be null",
                    );
                }
            }
            if let Some(p) = &request.put_request {
                if p.item.is_none() {
                    v.push(
                        None,
                        &format!("{}.putRequest.item", base(i)),
                        "Member must not be null",
                    );
                }
            }
        }
    }
    v.finish()
}

/// DynamoDB's limit on the actions of one transaction.
const MAX_TRANSACT_ITEMS: usize = 100;

impl Violations {
    /// A transaction's `TransactItems`: present, 1 to 100 actions. An empty list is echoed
    /// (`'[]'`); a long one is not, in the newer form DynamoDB's regions are moving to (why
    /// both: `binderdb_engine`'s `check_action_count`, which words them the same).
    fn transact_items(&mut self, len: Option<usize>) {
        let Some(len) = len else {
            self.push(None, "transactItems", "Member must not be null");
            return;
        };
        if len == 0 {
            self.push(
                Some(quoted("[]")),
                "transactItems",
                "Member must have length greater than or equal to 1",
            );
        } else if len > MAX_TRANSACT_ITEMS {
            self.push_unechoed(
                "TransactItems",
                "Member must have length less than or equal to 100",
            );
        }
    }

    /// The members every action of a transaction has: its table, its key (or item) and, for
    /// writes, ReturnValuesOnConditionCheckFailure.
    fn transact_action(
        &mut self,
        base: &str,
        table_name: Option<&String>,
        target: (&str, bool),
        on_failure: Option<&String>,
    ) {
        let path = format!("{base}.tableName");
        if self.not_null(&path, table_name) {
            self.name(&path, table_name.map(String::as_str));
        }
        self.not_null(&format!("{base}.{}", target.0), target.1.then_some(&()));
        self.one_of(
            &format!("{base}.returnValuesOnConditionCheckFailure"),
            on_failure,
            RETURN_VALUES_ON_FAILURE,
        );
    }
}

/// TransactWriteItems.
pub fn transact_write_items(r: &TransactWriteItemsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.transact_items(r.transact_items.as_ref().map(Vec::len));
    for (i, action) in r.transact_items.iter().flatten().enumerate() {
        let base = format!("transactItems.{}.member", i + 1);
        if let Some(c) = &action.condition_check {
            let base = format!("{base}.conditionCheck");
            v.transact_action(
                &base,
                c.table_name.as_ref(),
                ("key", c.key.is_some()),
                c.return_values_on_condition_check_failure.as_ref(),
            );
            v.not_null(
                &format!("{base}.conditionExpression"),
                c.condition_expression.as_ref(),
            );
        }
        if let Some(p) = &action.put {
            v.transact_action(
                &format!("{base}.put"),
                p.table_name.as_ref(),
                ("item", p.item.is_some()),
                p.return_values_on_condition_check_failure.as_ref(),
            );
        }
        if let Some(d) = &action.delete {
            v.transact_action(
                &format!("{base}.delete"),
                d.table_name.as_ref(),
                ("key", d.key.is_some()),
                d.return_values_on_condition_check_failure.as_ref(),
            );
        }
        if let Some(u) = &action.update {
            let base = format!("{base}.update");
            v.transact_action(
                &base,
                u.table_name.as_ref(),
                ("key", u.key.is_some()),
                u.return_values_on_condition_check_failure.as_ref(),
            );
            v.not_null(
                &format!("{base}.updateExpression"),
                u.update_expression.as_ref(),
            );
        }
    }
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.one_of(
        "returnItemCollectionMetrics",
        r.return_item_collection_metrics.as_ref(),
        RETURN_ITEM_COLLECTION_METRICS,
    );
    if let Some(token) = &r.client_request_token {
        v.length("clientRequestToken", token, 1, 36);
    }
    v.finish()
}

/// TransactGetItems.
pub fn transact_get_items(r: &TransactGetItemsInput) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.transact_items(r.transact_items.as_ref().map(Vec::len));
    for (i, item) in r.transact_items.iter().flatten().enumerate() {
        let base = format!("transactItems.{}.member.get", i + 1);
        match &item.get {
            None => {
                v.push(None, &base, "Member must not be null");
            }
            Some(get) => {
                let path = format!("{base}.tableName");
                if v.not_null(&path, get.table_name.as_ref()) {
                    v.name(&path, get.table_name.as_deref());
                }
                v.not_null(&format!("{base}.key"), get.key.as_ref());
            }
        }
    }
    v.one_of(
        "returnConsumedCapacity",
        r.return_consumed_capacity.as_ref(),
        RETURN_CONSUMED_CAPACITY,
    );
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multiple_violations() {
        let e = table_name_only(&TableNameInput { table_name: None }).unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
        );
        let e = table_name_only(&TableNameInput {
            table_name: Some("a;".into()),
        })
        .unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some("2 validation errors detected: Value 'a;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value 'a;' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3")
        );
    }
}
