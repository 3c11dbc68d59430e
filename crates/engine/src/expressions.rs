//! The request side of expressions: ExpressionAttributeNames/Values as the expression checker
//! sees them ([`RequestPlaceholders`] implements `binderdb_expr::ExpressionContext`), and the
//! translation of expression errors into ValidationExceptions.

use std::collections::{BTreeMap, HashMap};

use binderdb_expr::{
    check_unused, parse_condition_with, parse_projection, parse_update, unordered_constant,
    Condition, ExpressionContext, ExpressionKind, Function, NameRef, Operand, Path, PathElement,
    UpdateExpression, UsedPlaceholders, ValueInfo, ValueType,
};
use binderdb_model::{check_name, encode_key_value, AttributeValue, Item};

use crate::api::WireItem;
use crate::error::{Error, Result};
use crate::legacy::Translated;

/// DynamoDB's limit on one expression string, in bytes of its raw text.
const MAX_EXPRESSION_BYTES: usize = 4096;

/// The longest `#name` or `:value` placeholder DynamoDB accepts, in bytes (sigil included).
const MAX_PLACEHOLDER_BYTES: usize = 255;

/// A request's ExpressionAttributeNames and (validated) ExpressionAttributeValues.
#[derive(Debug, Default)]
pub(crate) struct RequestPlaceholders {
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: BTreeMap<String, AttributeValue>,
}

impl RequestPlaceholders {
    /// Validates the maps in DynamoDB's order: names (not empty, keys `#[0-9a-zA-Z_]+`), then
    /// values (not empty, keys `:[0-9a-zA-Z_]+`, every value valid).
    ///
    /// # Errors
    /// `ValidationException` with DynamoDB's message.
    pub(crate) fn new(
        names: Option<HashMap<String, String>>,
        values: Option<WireItem>,
    ) -> Result<Self> {
        let (had_names, had_values) = (names.is_some(), values.is_some());
        let names = names.unwrap_or_else(|| HashMap::with_capacity(0));
        let values = values.unwrap_or_else(|| HashMap::with_capacity(0));
        if had_names && names.is_empty() {
            return Err(Error::validation(
                "ExpressionAttributeNames must not be empty",
            ));
        }
        // Length before syntax, then the names themselves (recorded from DynamoDB).
        if let Some(long) = names.keys().find(|k| k.len() > MAX_PLACEHOLDER_BYTES) {
            return Err(Error::validation(format!(
                "ExpressionAttributeNames contains invalid key: The expression attribute map \
                 contains a key that is too long; size of key: {}",
                long.len()
            )));
        }
        if let Some(bad) = names.keys().find(|k| !valid_placeholder(k, '#')) {
            return Err(Error::validation(format!(
                "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
        for (key, name) in &names {
            if let Err(e) = check_name(name) {
                return Err(Error::validation(format!(
                    "ExpressionAttributeNames contains invalid value: {e} for key {key}"
                )));
            }
        }
        if had_values && values.is_empty() {
            return Err(Error::validation(
                "ExpressionAttributeValues must not be empty",
            ));
        }
        if values.keys().any(|k| k.len() > MAX_PLACEHOLDER_BYTES) {
            // Unlike the names' message, this one gives no size (recorded from DynamoDB).
            return Err(Error::validation(
                "ExpressionAttributeValues contains invalid key: The expression attribute map \
                 contains a key that is too long;",
            ));
        }
        if let Some(bad) = values.keys().find(|k| !valid_placeholder(k, ':')) {
            return Err(Error::validation(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
        let mut checked = BTreeMap::new();
        for (key, wire) in values {
            match AttributeValue::from_wire(wire) {
                Ok(v) => {
                    checked.insert(key, v);
                }
                Err(e) => {
                    return Err(Error::validation(format!(
                        "ExpressionAttributeValues contains invalid value: {e} for key {key}"
                    )))
                }
            }
        }
        let values = checked;
        Ok(RequestPlaceholders { names, values })
    }

    /// The value a `:placeholder` stands for (checked defined by the expression checker).
    pub(crate) fn value(&self, placeholder: &str) -> Result<&AttributeValue> {
        self.values.get(placeholder).ok_or_else(|| {
            Error::validation(format!(
                "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
            ))
        })
    }
}

/// Whether `key` is `prefix` followed by one or more of `[0-9a-zA-Z_]`, DynamoDB's placeholder
/// syntax.
fn valid_placeholder(key: &str, prefix: char) -> bool {
    key.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// The checker's name for a value's type.
pub(crate) fn value_type(v: &AttributeValue) -> ValueType {
    match v {
        AttributeValue::S(_) => ValueType::S,
        AttributeValue::N(_) => ValueType::N,
        AttributeValue::B(_) => ValueType::B,
        AttributeValue::SS(_) => ValueType::Ss,
        AttributeValue::NS(_) => ValueType::Ns,
        AttributeValue::BS(_) => ValueType::Bs,
        AttributeValue::M(_) => ValueType::M,
        AttributeValue::L(_) => ValueType::L,
        AttributeValue::Null => ValueType::Null,
        AttributeValue::Bool(_) => ValueType::Bool,
    }
}

/// DynamoDB's short rendering of a scalar value in messages: `AttributeValue: {N:5}`.
fn describe(v: &AttributeValue) -> String {
    let inner = match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        AttributeValue::B(b) => format!("{b:?}"),
        other => other.type_code().to_owned(),
    };
    format!("AttributeValue: {{{}:{inner}}}", v.type_code())
}

impl ExpressionContext for RequestPlaceholders {
    fn name<'a>(&'a self, placeholder: &'a str) -> Option<&'a str> {
        self.names.get(placeholder).map(String::as_str)
    }

    fn value(&self, placeholder: &str) -> ValueInfo {
        self.values
            .get(placeholder)
            .map_or(ValueInfo::Undefined, |v| {
                ValueInfo::Defined(Some(value_type(v)))
            })
    }

    fn string_value(&self, placeholder: &str) -> Option<&str> {
        match self.values.get(placeholder) {
            Some(AttributeValue::S(s)) => Some(s),
            _ => None,
        }
    }

    fn check_between(&self, lower: &str, upper: &str) -> Option<String> {
        let (lo, hi) = (self.values.get(lower)?, self.values.get(upper)?);
        if lo.type_code() != hi.type_code() {
            return Some(format!(
                "The BETWEEN operator requires same data type for lower and upper bounds; lower \
                 bound operand: {}, upper bound operand: {}",
                describe(lo),
                describe(hi)
            ));
        }
        // Scalars compare as DynamoDB orders them; the key encoding preserves that order.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        if encode_key_value(lo, &mut a) && encode_key_value(hi, &mut b) && a > b {
            return Some(format!(
                "The BETWEEN operator requires upper bound to be greater than or equal to lower \
                 bound; lower bound operand: {}, upper bound operand: {}",
                describe(lo),
                describe(hi)
            ));
        }
        None
    }
}

/// A ValidationException for an error inside an expression of `kind`.
pub(crate) fn expression_error(kind: ExpressionKind, e: &binderdb_expr::ExprError) -> Error {
    Error::validation(e.message(kind))
}

/// The expression texts of one request, by member.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ExpressionTexts<'a> {
    pub(crate) update: Option<&'a str>,
    pub(crate) condition: Option<&'a str>,
    pub(crate) key_condition: Option<&'a str>,
    pub(crate) filter: Option<&'a str>,
    pub(crate) projection: Option<&'a str>,
    /// The operation's expressions that can use values, as DynamoDB names them when
    /// ExpressionAttributeValues come without any: "ConditionExpression is null",
    /// "FilterExpression and KeyConditionExpression are null".
    pub(crate) value_members: &'static str,
}

impl ExpressionTexts<'_> {
    /// Refuses an expression string over DynamoDB's 4 KB limit before anything parses it, so a
    /// huge expression costs nothing. DynamoDB measures the raw text (placeholders unresolved)
    /// and only the Condition and Filter messages give the size (recorded from DynamoDB).
    fn check_sizes(&self) -> Result<()> {
        let members = [
            (self.update, "UpdateExpression", false),
            (self.condition, "ConditionExpression", true),
            (self.key_condition, "KeyConditionExpression", false),
            (self.filter, "FilterExpression", true),
            (self.projection, "ProjectionExpression", false),
        ];
        for (text, member, with_size) in members {
            let Some(text) = text.filter(|t| t.len() > MAX_EXPRESSION_BYTES) else {
                continue;
            };
            let size = if with_size {
                format!(" expression size: {}", text.len())
            } else {
                String::new()
            };
            return Err(Error::validation(format!(
                "Invalid {member}: Expression size has exceeded the maximum allowed size;{size}"
            )));
        }
        Ok(())
    }

    fn any_using_values(&self) -> bool {
        self.update.is_some()
            || self.condition.is_some()
            || self.key_condition.is_some()
            || self.filter.is_some()
    }

    fn any(&self) -> bool {
        self.any_using_values() || self.projection.is_some()
    }
}

/// A request's parsed expressions and its placeholders, checked as DynamoDB checks them: the
/// maps first, then each expression completely in the order Update, Condition, KeyCondition,
/// Filter, Projection, then unused names, then unused values.
///
/// Legacy parameters (Expected, AttributeUpdates, KeyConditions, QueryFilter, ScanFilter,
/// AttributesToGet) are translated into the same trees and installed with the `set_*` methods;
/// their values get placeholders no client can write (`:expected-0`), so one evaluator serves
/// both and they never count as unused.
#[derive(Debug, Default)]
pub(crate) struct Expressions {
    pub(crate) placeholders: RequestPlaceholders,
    pub(crate) update: Option<UpdateExpression>,
    pub(crate) condition: Option<Condition>,
    pub(crate) key_condition: Option<Condition>,
    pub(crate) filter: Option<Condition>,
    pub(crate) projection: Option<Vec<Path>>,
}

impl Expressions {
    /// Parses and checks the request's expressions.
    ///
    /// # Errors
    /// `ValidationException` with DynamoDB's message for the first problem found.
    pub(crate) fn parse(
        texts: ExpressionTexts<'_>,
        names: Option<HashMap<String, String>>,
        values: Option<WireItem>,
    ) -> Result<Self> {
        if !texts.any() && names.is_some() {
            return Err(Error::validation(
                "ExpressionAttributeNames can only be specified when using expressions",
            ));
        }
        if !texts.any_using_values() && values.is_some() {
            return Err(Error::validation(format!(
                "ExpressionAttributeValues can only be specified when using expressions: {}",
                texts.value_members
            )));
        }
        if !texts.any() {
            return Ok(Expressions::default());
        }
        texts.check_sizes()?;
        let placeholders = RequestPlaceholders::new(names, values)?;
        let condition = |text: Option<&str>, kind| {
            text.map(|t| {
                parse_condition_with(t, &placeholders).map_err(|e| expression_error(kind, &e))
            })
            .transpose()
        };
        let update = texts
            .update
            .map(|t| {
                parse_update(t, &placeholders)
                    .map_err(|e| expression_error(ExpressionKind::Update, &e))
            })
            .transpose()?;
        let type_of = |p: &str| placeholders.values.get(p).map(value_type);
        let ordered = |parsed: Option<Condition>, kind| match parsed
            .as_ref()
            .and_then(|c| unordered_constant(c, &type_of))
        {
            Some(e) => Err(expression_error(kind, &e)),
            None => Ok(parsed),
        };
        let cond = ordered(
            condition(texts.condition, ExpressionKind::Condition)?,
            ExpressionKind::Condition,
        )?;
        let key_condition = condition(texts.key_condition, ExpressionKind::KeyCondition)?;
        let filter = ordered(
            condition(texts.filter, ExpressionKind::Filter)?,
            ExpressionKind::Filter,
        )?;
        let projection = texts
            .projection
            .map(|t| {
                parse_projection(t, &placeholders)
                    .map_err(|e| expression_error(ExpressionKind::Projection, &e))
            })
            .transpose()?;

        let mut used = UsedPlaceholders::default();
        if let Some(u) = &update {
            used.add_update(u);
        }
        for c in [&cond, &key_condition, &filter].into_iter().flatten() {
            used.add_condition(c);
        }
        for path in projection.iter().flatten() {
            used.add_path(path);
        }
        check_unused(
            &used,
            placeholders.names.keys().map(String::as_str),
            placeholders.values.keys().map(String::as_str),
        )
        .map_err(|e| Error::validation(e.to_string()))?;
        Ok(Expressions {
            placeholders,
            update,
            condition: cond,
            key_condition,
            filter,
            projection,
        })
    }

    /// Uses a translated legacy condition (`Expected`) as the request's condition.
    pub(crate) fn set_condition(&mut self, legacy: Option<Translated<Condition>>) {
        if let Some((condition, values)) = legacy {
            self.condition = Some(condition);
            self.placeholders.values.extend(values);
        }
    }

    /// Uses a translated legacy filter (`QueryFilter`, `ScanFilter`).
    pub(crate) fn set_filter(&mut self, legacy: Option<Translated<Condition>>) {
        if let Some((filter, values)) = legacy {
            self.filter = Some(filter);
            self.placeholders.values.extend(values);
        }
    }

    /// Uses translated legacy `KeyConditions`.
    pub(crate) fn set_key_condition(&mut self, (condition, values): Translated<Condition>) {
        self.key_condition = Some(condition);
        self.placeholders.values.extend(values);
    }

    /// Uses translated legacy `AttributeUpdates`.
    pub(crate) fn set_update(&mut self, (update, values): Translated<UpdateExpression>) {
        self.update = Some(update);
        self.placeholders.values.extend(values);
    }

    /// Uses legacy `AttributesToGet` as the projection.
    pub(crate) fn set_projection(&mut self, attributes: Option<&[String]>) -> Result<()> {
        if let Some(names) = attributes {
            self.projection = Some(crate::legacy::attributes_to_get(names)?);
        }
        Ok(())
    }

    /// Whether `condition` holds for `item` (an absent item is an empty one).
    pub(crate) fn holds(&self, condition: &Condition, item: Option<&Item>) -> bool {
        let empty = Item::new();
        binderdb_expr::evaluate(
            condition,
            item.unwrap_or(&empty),
            &self.placeholders.names,
            &self.placeholders.values,
        )
    }
}

/// The top-level attribute a document path starts at, with `#name` placeholders resolved
/// (`None` for an undefined placeholder).
pub(crate) fn top_level_name<'a>(
    path: &'a Path,
    names: &'a HashMap<String, String>,
) -> Option<&'a str> {
    match path.0.first()? {
        PathElement::Name(NameRef::Literal(name)) => Some(name),
        PathElement::Name(NameRef::Placeholder(p)) => names.get(p).map(String::as_str),
        PathElement::Index(_) => None,
    }
}

/// The top-level attribute names a condition reads (for "Filter Expression can only contain
/// non-primary key attributes").
pub(crate) fn top_level_names<'a>(
    condition: &'a Condition,
    names: &'a HashMap<String, String>,
    out: &mut Vec<&'a str>,
) {
    let mut path = |p: &'a Path| out.extend(top_level_name(p, names));
    fn operand_paths<'a>(o: &'a Operand, f: &mut dyn FnMut(&'a Path)) {
        match o {
            Operand::Path(p) => f(p),
            Operand::Size(inner) => operand_paths(inner, f),
            Operand::Value(_) => {}
        }
    }
    match condition {
        Condition::Compare(a, _, b) => {
            operand_paths(a, &mut path);
            operand_paths(b, &mut path);
        }
        Condition::Between(a, b, c) => {
            for o in [a, b, c] {
                operand_paths(o, &mut path);
            }
        }
        Condition::In(a, list) => {
            operand_paths(a, &mut path);
            for o in list {
                operand_paths(o, &mut path);
            }
        }
        Condition::Function(f) => match f {
            Function::AttributeExists(p) | Function::AttributeNotExists(p) => path(p),
            Function::AttributeType(a, b)
            | Function::BeginsWith(a, b)
            | Function::Contains(a, b) => {
                operand_paths(a, &mut path);
                operand_paths(b, &mut path);
            }
        },
        Condition::And(a, b) | Condition::Or(a, b) => {
            top_level_names(a, names, out);
            top_level_names(b, names, out);
        }
        Condition::Not(c) => top_level_names(c, names, out),
    }
}
