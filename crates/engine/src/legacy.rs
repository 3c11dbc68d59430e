//! DynamoDB's legacy (pre-expression) request parameters, translated into the syntax trees
//! the expression language produces, so one evaluator and one update applier serve both.
//!
//! | legacy parameter | becomes |
//! | --- | --- |
//! | `Expected` + `ConditionalOperator` | a [`Condition`] ([`expected_condition`]) |
//! | `QueryFilter` / `ScanFilter` + `ConditionalOperator` | a [`Condition`] ([`filter_condition`]) |
//! | `KeyConditions` | `pk = :v AND <sort condition>` ([`key_conditions`]) for `key_condition::analyze` |
//! | `AttributeUpdates` | an [`UpdateExpression`] ([`attribute_updates`]) |
//! | `AttributesToGet` | top-level [`Path`]s ([`attributes_to_get`]) |
//!
//! Attribute names become [`NameRef::Literal`] top-level paths: legacy names are never
//! parsed, so `a.b` is one attribute and reserved words are fine. Values become synthetic
//! placeholders returned beside the tree. Their names carry a `-`, which no client
//! placeholder may contain (`:[0-9a-zA-Z_]+`), and a per-parameter prefix (`:expected-0`,
//! `:filter-0`, `:key-0`, `:update-0`), so they can be merged with a request's
//! ExpressionAttributeValues (Query allows `KeyConditions` with a `FilterExpression`) and
//! with each other without clashing.
//!
//! Semantics, checked against DynamoDB by ScyllaDB's `test/alternator/test_expected.py`
//! and DynamoDB Local's `LocalDBComparisonOperator`:
//! - `NE` is true when the attribute is absent (the expression `<>` agrees);
//! - `NOT_CONTAINS` is *false* when the attribute is absent (unlike `NOT contains(..)`), so
//!   it becomes `attribute_exists(a) AND NOT contains(a, :v)`; `CONTAINS` is false then;
//! - `NULL` / `NOT_NULL` are `attribute_not_exists` / `attribute_exists`;
//! - `IN` is equality with any listed value, `BETWEEN` inclusive, `BEGINS_WITH` on `S`/`B`;
//! - `Expected` with `Value` (and `Exists` absent or true) is `a = :v`; `Exists: false`
//!   is `attribute_not_exists(a)`.
//!
//! Messages and their order come from DynamoDB Local (`LocalDBInputConverter`,
//! `LocalDBValidatorUtils.validateArgumentsForComparisonOperator`, `ErrorFactory`) and
//! dynalite (`validations/index.js`, recorded against DynamoDB); the sources are named at
//! each check. Conditions are translated in attribute-name order, so a request with several
//! faulty conditions always reports the same one.
//!
//! Must not depend on storage or tables: everything here is request-local. Checks that
//! need the key schema (key types, "Query condition missed key schema element", QueryFilter
//! on key attributes) stay with the operations.

use std::collections::{BTreeMap, HashMap};

use binderdb_expr::{
    Comparator, Condition, Function, NameRef, Operand, Path, PathElement, SetAction, SetValue,
    UpdateError, UpdateExpression, UpdateOperand, ValueAction,
};
use binderdb_model::{AttributeValue, WireValue};
use serde::Deserialize;

use crate::error::{Error, Result};

/// One member of `Expected` (PutItem, UpdateItem, DeleteItem).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct ExpectedAttributeValue {
    /// `Value`: the value the attribute must equal (or the single comparison argument).
    pub value: Option<WireValue>,
    /// `Exists`: `false` demands the attribute be absent.
    pub exists: Option<bool>,
    /// `ComparisonOperator`: `EQ`, `NE`, ..., as sent.
    pub comparison_operator: Option<String>,
    /// `AttributeValueList`: the comparison's arguments.
    pub attribute_value_list: Option<Vec<WireValue>>,
}

/// One member of `KeyConditions`, `QueryFilter` or `ScanFilter` (DynamoDB's `Condition`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct LegacyCondition {
    /// `ComparisonOperator`, as sent (required; the server reports it missing).
    pub comparison_operator: Option<String>,
    /// `AttributeValueList`: the comparison's arguments.
    pub attribute_value_list: Option<Vec<WireValue>>,
}

/// One member of `AttributeUpdates` (UpdateItem).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct AttributeValueUpdate {
    /// `Value`: what to put, add or delete.
    pub value: Option<WireValue>,
    /// `Action`: `PUT` (the default), `ADD` or `DELETE`, as sent.
    pub action: Option<String>,
}

/// A translated legacy condition and the values its placeholders stand for.
pub type Translated<T> = (T, BTreeMap<String, AttributeValue>);

/// The ComparisonOperator enum in DynamoDB's constraint messages (dynalite's recorded order).
const OPERATORS: &str =
    "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]";

/// A legacy `ComparisonOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Eq,
    Ne,
    Le,
    Lt,
    Ge,
    Gt,
    NotNull,
    Null,
    Contains,
    NotContains,
    BeginsWith,
    In,
    Between,
}

impl Operator {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "EQ" => Self::Eq,
            "NE" => Self::Ne,
            "LE" => Self::Le,
            "LT" => Self::Lt,
            "GE" => Self::Ge,
            "GT" => Self::Gt,
            "NOT_NULL" => Self::NotNull,
            "NULL" => Self::Null,
            "CONTAINS" => Self::Contains,
            "NOT_CONTAINS" => Self::NotContains,
            "BEGINS_WITH" => Self::BeginsWith,
            "IN" => Self::In,
            "BETWEEN" => Self::Between,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Eq => "EQ",
            Self::Ne => "NE",
            Self::Le => "LE",
            Self::Lt => "LT",
            Self::Ge => "GE",
            Self::Gt => "GT",
            Self::NotNull => "NOT_NULL",
            Self::Null => "NULL",
            Self::Contains => "CONTAINS",
            Self::NotContains => "NOT_CONTAINS",
            Self::BeginsWith => "BEGINS_WITH",
            Self::In => "IN",
            Self::Between => "BETWEEN",
        }
    }

    /// How many values `AttributeValueList` may hold.
    fn takes(self, count: usize) -> bool {
        match self {
            Self::NotNull | Self::Null => count == 0,
            Self::In => count >= 1,
            Self::Between => count == 2,
            _ => count == 1,
        }
    }

    /// Which value types the operator takes (DynamoDB Local `isTypeSupported`: equality
    /// takes any type, ordering takes S/N/B, CONTAINS any scalar).
    fn takes_type(self, type_code: &str) -> bool {
        match self {
            Self::Eq | Self::Ne | Self::NotNull | Self::Null => true,
            Self::Contains | Self::NotContains => {
                matches!(type_code, "S" | "N" | "B" | "BOOL" | "NULL")
            }
            Self::BeginsWith => matches!(type_code, "S" | "B"),
            Self::Le | Self::Lt | Self::Ge | Self::Gt | Self::In | Self::Between => {
                matches!(type_code, "S" | "N" | "B")
            }
        }
    }

    /// Whether Query can use it on a key (DynamoDB's KeyConditions operators).
    fn indexable(self) -> bool {
        matches!(
            self,
            Self::Eq | Self::Le | Self::Lt | Self::Ge | Self::Gt | Self::BeginsWith | Self::Between
        )
    }
}

/// Allocates the synthetic placeholders of one legacy parameter.
struct Values {
    prefix: &'static str,
    map: BTreeMap<String, AttributeValue>,
}

impl Values {
    fn new(prefix: &'static str) -> Self {
        Values {
            prefix,
            map: BTreeMap::new(),
        }
    }

    /// Stores `value` and returns its placeholder.
    fn add(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":{}-{}", self.prefix, self.map.len());
        self.map.insert(placeholder.clone(), value);
        placeholder
    }

    fn operand(&mut self, value: AttributeValue) -> Operand {
        Operand::Value(self.add(value))
    }
}

/// The top-level attribute `name`, as a path.
fn attribute(name: &str) -> Path {
    Path(vec![PathElement::Name(NameRef::Literal(name.to_owned()))])
}

/// Entries in name order, so the first faulty one is always the same.
fn sorted<V>(map: &HashMap<String, V>) -> Vec<(&String, &V)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn from_wire_all(values: &[WireValue]) -> Result<Vec<AttributeValue>> {
    values
        .iter()
        .map(|v| Ok(AttributeValue::from_wire(v.clone())?))
        .collect()
}

/// `ConditionalOperator` against the number of conditions it joins: `true` for OR.
///
/// Call it also when `Expected` / `QueryFilter` / `ScanFilter` is absent (count 0); the
/// translators call it themselves. DynamoDB Local `externalToInternalConditionalOperator`;
/// confirmed against DynamoDB by ExtendDB's `test_conditional_operator` (which also shows
/// this check fires before Query's missing-KeyConditions error).
///
/// # Errors
/// "ConditionalOperator cannot be used without Filter or Expected" (no conditions),
/// "ConditionalOperator can only be used when Filter or Expected has two or more
/// elements" (one), or the enum constraint for a value other than AND/OR.
pub fn check_conditional_operator(operator: Option<&str>, conditions: usize) -> Result<bool> {
    let Some(operator) = operator else {
        return Ok(false);
    };
    if !matches!(operator, "AND" | "OR") {
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{operator}' at 'conditionalOperator' failed to \
             satisfy constraint: Member must satisfy enum value set: [OR, AND]"
        )));
    }
    match conditions {
        0 => Err(Error::validation(
            "ConditionalOperator cannot be used without Filter or Expected",
        )),
        1 => Err(Error::validation(
            "ConditionalOperator can only be used when Filter or Expected has two or more elements",
        )),
        _ => Ok(operator == "OR"),
    }
}

/// Joins conditions left-associatively, as the parser would (`a AND b AND c`).
fn join(conditions: Vec<Condition>, or: bool) -> Option<Condition> {
    conditions.into_iter().reduce(|a, b| {
        if or {
            Condition::Or(Box::new(a), Box::new(b))
        } else {
            Condition::And(Box::new(a), Box::new(b))
        }
    })
}

/// `Expected` (+ `ConditionalOperator`) as a condition; `None` for an empty map, which
/// DynamoDB treats as no condition at all.
///
/// Per attribute, in DynamoDB Local's order (`validateExpectedAttribute`): Exists with
/// ComparisonOperator; Value with AttributeValueList; AttributeValueList without
/// ComparisonOperator; Value with `Exists: false`; a missing Value/AttributeValueList;
/// then the values themselves; then the operator's arguments. With a ComparisonOperator,
/// `Value` counts as its one-element AttributeValueList.
///
/// # Errors
/// `ValidationException` with DynamoDB's text, e.g. "One or more parameter values were
/// invalid: Value must be provided when Exists is null for Attribute: a".
pub fn expected_condition(
    expected: &HashMap<String, ExpectedAttributeValue>,
    conditional_operator: Option<&str>,
) -> Result<Option<Translated<Condition>>> {
    let or = check_conditional_operator(conditional_operator, expected.len())?;
    let mut values = Values::new("expected");
    let mut conditions = Vec::with_capacity(expected.len());
    for (name, condition) in sorted(expected) {
        conditions.push(expected_one(name, condition, &mut values)?);
    }
    Ok(join(conditions, or).map(|c| (c, values.map)))
}

fn expected_one(
    name: &str,
    condition: &ExpectedAttributeValue,
    values: &mut Values,
) -> Result<Condition> {
    let ExpectedAttributeValue {
        value,
        exists,
        comparison_operator,
        attribute_value_list,
    } = condition;
    if exists.is_some() && comparison_operator.is_some() {
        return Err(Error::invalid_parameter(format!(
            "Exists and ComparisonOperator cannot be used together for Attribute: {name}"
        )));
    }
    if value.is_some() && attribute_value_list.is_some() {
        return Err(Error::invalid_parameter(format!(
            "Value and AttributeValueList cannot be used together for Attribute: {name}"
        )));
    }
    if comparison_operator.is_none() && attribute_value_list.is_some() {
        return Err(Error::invalid_parameter(format!(
            "AttributeValueList can only be used with a ComparisonOperator for Attribute: {name}"
        )));
    }
    if *exists == Some(false) && value.is_some() {
        return Err(Error::invalid_parameter(format!(
            "Value cannot be used when Exists is false for Attribute: {name}"
        )));
    }
    if value.is_none() && attribute_value_list.is_none() {
        match (comparison_operator.as_deref(), exists) {
            (Some("NULL" | "NOT_NULL"), _) | (None, Some(false)) => {}
            (Some(operator), _) => {
                return Err(Error::invalid_parameter(format!(
                    "Value or AttributeValueList must be used with ComparisonOperator: \
                     {operator} for Attribute: {name}"
                )))
            }
            (None, exists) => {
                let exists = if exists.is_some() { "true" } else { "null" };
                return Err(Error::invalid_parameter(format!(
                    "Value must be provided when Exists is {exists} for Attribute: {name}"
                )));
            }
        }
    }
    let arguments = match (value, attribute_value_list) {
        (Some(value), _) => vec![AttributeValue::from_wire(value.clone())?],
        (None, Some(list)) => from_wire_all(list)?,
        (None, None) => Vec::new(),
    };
    let Some(operator) = comparison_operator else {
        // The Value/Exists form.
        return Ok(match arguments.into_iter().next() {
            Some(value) => Condition::Compare(
                Operand::Path(attribute(name)),
                Comparator::Eq,
                values.operand(value),
            ),
            None => Condition::Function(Function::AttributeNotExists(attribute(name))),
        });
    };
    let operator = parse_operator(operator, "expected", name)?;
    check_arguments(operator, &arguments)?;
    Ok(comparison(name, operator, arguments, values))
}

/// Resolves an operator name; unknown names get the constraint text the server would
/// report (it checks the enum before the engine sees the request).
fn parse_operator(operator: &str, parameter: &str, name: &str) -> Result<Operator> {
    Operator::parse(operator).ok_or_else(|| {
        Error::validation(format!(
            "1 validation error detected: Value '{operator}' at \
             '{parameter}.{name}.member.comparisonOperator' failed to satisfy constraint: \
             Member must satisfy enum value set: {OPERATORS}"
        ))
    })
}

/// DynamoDB Local `validateArgumentsForComparisonOperator`: the count, then each value's
/// type (allowed for the operator, then the same as the first), then BETWEEN's bounds.
fn check_arguments(operator: Operator, arguments: &[AttributeValue]) -> Result<()> {
    let name = operator.name();
    if !operator.takes(arguments.len()) {
        return Err(Error::invalid_parameter(format!(
            "Invalid number of argument(s) for the {name} ComparisonOperator"
        )));
    }
    if let Some(first) = arguments.first() {
        for value in arguments {
            let type_code = value.type_code();
            if !operator.takes_type(type_code) {
                return Err(Error::invalid_parameter(format!(
                    "ComparisonOperator {name} is not valid for {type_code} AttributeValue type"
                )));
            }
            if type_code != first.type_code() {
                return Err(Error::invalid_parameter(
                    "AttributeValues inside AttributeValueList must be of same type",
                ));
            }
        }
    }
    if let [low, high] = arguments {
        if operator == Operator::Between && bound_order(low, high).is_gt() {
            return Err(Error::validation(
                "The BETWEEN condition was provided a range where the lower bound is greater \
                 than the upper bound",
            ));
        }
    }
    Ok(())
}

/// The order of two values of one sortable type (checked before): numbers numerically,
/// strings and binaries bytewise, as DynamoDB sorts keys.
fn bound_order(low: &AttributeValue, high: &AttributeValue) -> std::cmp::Ordering {
    match (low, high) {
        (AttributeValue::N(a), AttributeValue::N(b)) => a.cmp(b),
        (AttributeValue::S(a), AttributeValue::S(b)) => a.as_bytes().cmp(b.as_bytes()),
        (AttributeValue::B(a), AttributeValue::B(b)) => a.cmp(b),
        _ => std::cmp::Ordering::Equal,
    }
}

/// The condition a checked operator and its arguments stand for.
fn comparison(
    name: &str,
    operator: Operator,
    arguments: Vec<AttributeValue>,
    values: &mut Values,
) -> Condition {
    let path = || Operand::Path(attribute(name));
    let mut operands: Vec<Operand> = arguments.into_iter().map(|v| values.operand(v)).collect();
    // `check_arguments` guaranteed the count, so the empty fallback is never taken.
    let mut first = || {
        if operands.is_empty() {
            Operand::Value(String::new())
        } else {
            operands.remove(0)
        }
    };
    let compare = |comparator, value| Condition::Compare(path(), comparator, value);
    match operator {
        Operator::Eq => compare(Comparator::Eq, first()),
        Operator::Ne => compare(Comparator::Ne, first()),
        Operator::Le => compare(Comparator::Le, first()),
        Operator::Lt => compare(Comparator::Lt, first()),
        Operator::Ge => compare(Comparator::Ge, first()),
        Operator::Gt => compare(Comparator::Gt, first()),
        Operator::NotNull => Condition::Function(Function::AttributeExists(attribute(name))),
        Operator::Null => Condition::Function(Function::AttributeNotExists(attribute(name))),
        Operator::Contains => Condition::Function(Function::Contains(path(), first())),
        // Legacy NOT_CONTAINS is false on an absent attribute (see the module docs).
        Operator::NotContains => Condition::And(
            Box::new(Condition::Function(Function::AttributeExists(attribute(
                name,
            )))),
            Box::new(Condition::Not(Box::new(Condition::Function(
                Function::Contains(path(), first()),
            )))),
        ),
        Operator::BeginsWith => Condition::Function(Function::BeginsWith(path(), first())),
        Operator::In => Condition::In(path(), operands),
        Operator::Between => {
            let low = first();
            Condition::Between(path(), low, first())
        }
    }
}

/// Validates one `Condition` member: the operator, the values, then the arguments
/// (dynalite `validateConditions`, DynamoDB Local `externalToInternalConditions`).
fn condition_member(
    parameter: &str,
    name: &str,
    condition: &LegacyCondition,
) -> Result<(Operator, Vec<AttributeValue>)> {
    let Some(operator) = condition.comparison_operator.as_deref() else {
        return Err(Error::validation(format!(
            "1 validation error detected: Value null at \
             '{parameter}.{name}.member.comparisonOperator' failed to satisfy constraint: \
             Member must not be null"
        )));
    };
    let operator = parse_operator(operator, parameter, name)?;
    let arguments = from_wire_all(condition.attribute_value_list.as_deref().unwrap_or(&[]))?;
    check_arguments(operator, &arguments)?;
    Ok((operator, arguments))
}

/// Lower-cases the first letter, as DynamoDB's constraint messages name members.
fn member_name(parameter: &str) -> String {
    let mut chars = parameter.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `QueryFilter` or `ScanFilter` (+ `ConditionalOperator`) as a condition; `None` for an
/// empty map. `parameter` is `"QueryFilter"` or `"ScanFilter"`, for messages.
///
/// # Errors
/// The ConditionalOperator errors, an invalid value, or the first bad condition's
/// argument error ("One or more parameter values were invalid: Invalid number of
/// argument(s) for the EQ ComparisonOperator", "... ComparisonOperator BEGINS_WITH is not
/// valid for N AttributeValue type", ...).
pub fn filter_condition(
    filter: &HashMap<String, LegacyCondition>,
    conditional_operator: Option<&str>,
    parameter: &str,
) -> Result<Option<Translated<Condition>>> {
    let or = check_conditional_operator(conditional_operator, filter.len())?;
    let member = member_name(parameter);
    let mut values = Values::new("filter");
    let mut conditions = Vec::with_capacity(filter.len());
    for (name, condition) in sorted(filter) {
        let (operator, arguments) = condition_member(&member, name, condition)?;
        conditions.push(comparison(name, operator, arguments, &mut values));
    }
    Ok(join(conditions, or).map(|c| (c, values.map)))
}

/// `KeyConditions` as `pk = :v AND <sort condition>`, ready for
/// `binderdb_expr::key_condition::analyze` and `KeyConditionParts::for_schema` (which
/// report the schema errors: "Query key condition not supported", "Query condition missed
/// key schema element: sk", "... Condition parameter type does not match schema type").
///
/// Checks, in dynalite's order (validation, then the action): every condition's values and
/// arguments; one or two conditions; operators Query can use on a key (EQ, LE, LT, GE, GT,
/// BEGINS_WITH, BETWEEN). DynamoDB checks the last only for key attributes, once the table
/// is known; here it applies to every condition, so a non-indexable operator on a non-key
/// attribute reports this error instead of a schema one.
///
/// # Errors
/// The argument errors, "Conditions can be of length 1 or 2 only", "Attempted conditional
/// constraint is not an indexable operation".
pub fn key_conditions(
    conditions: &HashMap<String, LegacyCondition>,
) -> Result<Translated<Condition>> {
    let mut checked = Vec::with_capacity(conditions.len());
    for (name, condition) in sorted(conditions) {
        checked.push((name, condition_member("keyConditions", name, condition)?));
    }
    if !matches!(checked.len(), 1 | 2) {
        return Err(Error::validation("Conditions can be of length 1 or 2 only"));
    }
    if checked
        .iter()
        .any(|(_, (operator, _))| !operator.indexable())
    {
        return Err(Error::validation(
            "Attempted conditional constraint is not an indexable operation",
        ));
    }
    let mut values = Values::new("key");
    let parts = checked
        .into_iter()
        .map(|(name, (operator, arguments))| comparison(name, operator, arguments, &mut values))
        .collect();
    match join(parts, false) {
        Some(condition) => Ok((condition, values.map)),
        None => Err(Error::validation("Conditions can be of length 1 or 2 only")),
    }
}

/// `AttributeUpdates` as an update expression:
/// `PUT` (the default) → `SET a = :v`; `DELETE` without a value → `REMOVE a`; `DELETE` with
/// a set → `DELETE a :v`; `ADD` of a number or set → `ADD a :v`; `ADD` of a list →
/// `SET a = list_append(if_not_exists(a, :empty), :v)` (legacy ADD appends to lists,
/// dynalite `applyAttributeUpdates`; the expression ADD does not take lists).
///
/// Apply it with `binderdb_expr::apply_update` and report its errors through
/// [`update_error`], which uses the legacy wording.
///
/// # Errors
/// Per attribute (DynamoDB Local `externalToInternalAttributeValueUpdate`): an unknown
/// Action; an invalid value; "Only DELETE action is allowed when no attribute value is
/// specified"; "DELETE action with value is not supported for the type S"; "ADD action is
/// not supported for the type S" (each after "One or more parameter values were invalid: ").
pub fn attribute_updates(
    updates: &HashMap<String, AttributeValueUpdate>,
) -> Result<Translated<UpdateExpression>> {
    let mut values = Values::new("update");
    let mut expression = UpdateExpression::default();
    for (name, update) in sorted(updates) {
        let action = update.action.as_deref().unwrap_or("PUT");
        if !matches!(action, "PUT" | "ADD" | "DELETE") {
            return Err(Error::validation(format!(
                "1 validation error detected: Value '{action}' at \
                 'attributeUpdates.{name}.member.action' failed to satisfy constraint: \
                 Member must satisfy enum value set: [ADD, PUT, DELETE]"
            )));
        }
        let value = update
            .value
            .as_ref()
            .map(|v| AttributeValue::from_wire(v.clone()))
            .transpose()?;
        let path = attribute(name);
        let Some(value) = value else {
            if action != "DELETE" {
                return Err(Error::invalid_parameter(
                    "Only DELETE action is allowed when no attribute value is specified",
                ));
            }
            expression.remove.push(path);
            continue;
        };
        let type_code = value.type_code();
        match action {
            "DELETE" => {
                if !matches!(type_code, "SS" | "NS" | "BS") {
                    return Err(Error::invalid_parameter(format!(
                        "DELETE action with value is not supported for the type {type_code}"
                    )));
                }
                let value = values.add(value);
                expression.delete.push(ValueAction { path, value });
            }
            "ADD" if type_code == "L" => {
                let empty = values.add(AttributeValue::L(Vec::new()));
                let appended = values.add(value);
                expression.set.push(SetAction {
                    path: path.clone(),
                    value: SetValue::Operand(UpdateOperand::ListAppend(
                        Box::new(UpdateOperand::IfNotExists(
                            path,
                            Box::new(UpdateOperand::Value(empty)),
                        )),
                        Box::new(UpdateOperand::Value(appended)),
                    )),
                });
            }
            "ADD" => {
                if !matches!(type_code, "N" | "SS" | "NS" | "BS") {
                    return Err(Error::invalid_parameter(format!(
                        "ADD action is not supported for the type {type_code}"
                    )));
                }
                let value = values.add(value);
                expression.add.push(ValueAction { path, value });
            }
            _ => {
                let value = UpdateOperand::Value(values.add(value));
                expression.set.push(SetAction {
                    path,
                    value: SetValue::Operand(value),
                });
            }
        }
    }
    Ok((expression, values.map))
}

/// An `apply_update` failure of a translated `AttributeUpdates`, in legacy words: a type
/// clash (ADD/DELETE against another type, ADD of a list to a non-list) is "Type mismatch
/// for attribute to update" (dynalite `test/updateItem.js`, recorded against DynamoDB);
/// the rest keep their text.
pub fn update_error(error: &UpdateError) -> Error {
    match error {
        UpdateError::IncorrectDataType => {
            Error::validation("Type mismatch for attribute to update")
        }
        other => Error::validation(other.to_string()),
    }
}

/// `AttributesToGet` as top-level paths, in the order given.
///
/// # Errors
/// "One or more parameter values were invalid: Duplicate value in attribute name: a"
/// (dynalite `validations/query.js`, DynamoDB Local `getAttributeNames`).
pub fn attributes_to_get(names: &[String]) -> Result<Vec<Path>> {
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    for name in names {
        if !seen.insert(name.as_str()) {
            return Err(Error::invalid_parameter(format!(
                "Duplicate value in attribute name: {name}"
            )));
        }
    }
    Ok(names.iter().map(|name| attribute(name)).collect())
}

/// DynamoDB's refusal to mix legacy and expression parameters. Each list holds
/// `(parameter name, present)` in DynamoDB's order for the operation; the message names the
/// present ones in that order:
///
/// | operation | non-expression | expression |
/// | --- | --- | --- |
/// | GetItem, BatchGetItem | AttributesToGet | ProjectionExpression |
/// | PutItem, DeleteItem | Expected, ConditionalOperator | ConditionExpression |
/// | UpdateItem | AttributeUpdates, Expected, ConditionalOperator | UpdateExpression, ConditionExpression |
/// | Scan | AttributesToGet, ScanFilter, ConditionalOperator | ProjectionExpression, FilterExpression |
/// | Query | AttributesToGet, QueryFilter, ConditionalOperator, KeyConditions | ProjectionExpression, FilterExpression, KeyConditionExpression |
///
/// Query's `KeyConditions` counts only when `KeyConditionExpression` is present too:
/// DynamoDB accepts KeyConditions with a FilterExpression or ProjectionExpression
/// (dynalite `validateExpressionParams`; ExtendDB's tests against DynamoDB).
///
/// # Errors
/// "Can not use both expression and non-expression parameters in the same request:
/// Non-expression parameters: {AttributesToGet} Expression parameters:
/// {ProjectionExpression}".
pub fn check_not_mixed(non_expression: &[(&str, bool)], expression: &[(&str, bool)]) -> Result<()> {
    let present = |params: &[(&str, bool)]| -> Vec<String> {
        params
            .iter()
            .filter(|(_, present)| *present)
            .map(|(name, _)| (*name).to_owned())
            .collect()
    };
    let (legacy, modern) = (present(non_expression), present(expression));
    if legacy.is_empty() || modern.is_empty() {
        return Ok(());
    }
    Err(Error::validation(format!(
        "Can not use both expression and non-expression parameters in the same request: \
         Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
        legacy.join(", "),
        modern.join(", ")
    )))
}

#[cfg(test)]
#[path = "legacy_tests.rs"]
mod tests;
