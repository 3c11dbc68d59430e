//! Query's KeyConditionExpression: from a parsed [`Condition`] to the partition value
//! and the optional sort-key condition, with DynamoDB's messages for the rest.
//!
//! DynamoDB checks in two stages, and so does this module:
//! 1. [`analyze`], right after parsing and before the table is looked up: only `AND`,
//!    comparisons (not `<>`), `BETWEEN` and `begins_with` on top-level attributes
//!    against values; one condition per attribute; the value types each operator
//!    accepts; at most two conditions.
//! 2. [`KeyConditionParts::for_schema`], once the table (or index) is known: the
//!    partition key with `=`, the sort key if there are two conditions, the values'
//!    types against the key schema.
//!
//! Values stay placeholders (`:v`); the engine resolves them.

use crate::ast::{Comparator, Condition, Function, NameRef, Operand, PathElement};
use crate::check::{ExpressionContext, ValueInfo};

/// What Query may do with the sort key. Values are `:placeholders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortCondition {
    /// `sk = :v`
    Eq(String),
    /// `sk < :v`
    Lt(String),
    /// `sk <= :v`
    Le(String),
    /// `sk > :v`
    Gt(String),
    /// `sk >= :v`
    Ge(String),
    /// `sk BETWEEN :low AND :high`
    Between(String, String),
    /// `begins_with(sk, :prefix)`
    BeginsWith(String),
}

impl SortCondition {
    /// DynamoDB's ComparisonOperator name for it (`EQ`, `BEGINS_WITH`, ...).
    pub fn operator_name(&self) -> &'static str {
        match self {
            Self::Eq(_) => "EQ",
            Self::Lt(_) => "LT",
            Self::Le(_) => "LE",
            Self::Gt(_) => "GT",
            Self::Ge(_) => "GE",
            Self::Between(..) => "BETWEEN",
            Self::BeginsWith(_) => "BEGINS_WITH",
        }
    }

    /// The value placeholders, in order.
    pub fn values(&self) -> Vec<&str> {
        match self {
            Self::Eq(v) | Self::Lt(v) | Self::Le(v) | Self::Gt(v) | Self::Ge(v) => vec![v],
            Self::BeginsWith(v) => vec![v],
            Self::Between(low, high) => vec![low, high],
        }
    }

    /// Which value types DynamoDB accepts for the operator.
    fn accepts(&self, value_type: &str) -> bool {
        match self {
            Self::Eq(_) => matches!(value_type, "S" | "N" | "B" | "SS" | "NS" | "BS"),
            Self::BeginsWith(_) => matches!(value_type, "S" | "B"),
            _ => matches!(value_type, "S" | "N" | "B"),
        }
    }
}

/// A key condition checked against the key schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCondition {
    /// The `:placeholder` the partition key must equal.
    pub partition_value: String,
    /// The sort-key condition, if any.
    pub sort: Option<SortCondition>,
}

/// The key condition's parts after [`analyze`]: one condition per attribute, in the
/// order they appear, with attribute names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConditionParts {
    /// `(attribute name, condition on it)`; one or two entries.
    pub conditions: Vec<(String, SortCondition)>,
}

/// Why a key condition is not one Query can run. `Display` is DynamoDB's full message
/// (these are not prefixed with `Invalid KeyConditionExpression: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyConditionError {
    /// `OR`, `NOT`, `IN`, `<>` or a function other than `begins_with`.
    #[error("Invalid operator used in KeyConditionExpression: {0}")]
    InvalidOperator(String),
    /// `size()` anywhere.
    #[error("KeyConditionExpressions cannot contain nested operations")]
    NestedOperations,
    /// `:v BETWEEN a AND :w`, `begins_with(:v, a)`.
    #[error("Invalid condition in KeyConditionExpression: {0} operator must have the key attribute as its first operand")]
    KeyNotFirstOperand(&'static str),
    /// Two document paths in one comparison.
    #[error("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")]
    MultipleAttributeNames,
    /// `a.b = :v`, `a[0] = :v`.
    #[error("KeyConditionExpressions cannot have conditions on nested attributes")]
    NestedAttributes,
    /// `:a = :b`.
    #[error("Invalid condition in KeyConditionExpression: No key attribute specified")]
    NoKeyAttribute,
    /// `a > :x AND a < :y`.
    #[error("KeyConditionExpressions must only contain one condition per key")]
    OneConditionPerKey,
    /// A value whose type the operator does not take.
    #[error("One or more parameter values were invalid: ComparisonOperator {operator} is not valid for {value_type} AttributeValue type")]
    InvalidValueType {
        /// `EQ`, `LT`, `BEGINS_WITH`, ...
        operator: &'static str,
        /// The value's type name.
        value_type: &'static str,
    },
    /// More than two conditions.
    #[error("Conditions can be of length 1 or 2 only")]
    ConditionCount,
    /// Not `=` on the partition key, or two conditions on a table with no sort key.
    #[error("Query key condition not supported")]
    NotSupported,
    /// A key-schema attribute the condition lacks.
    #[error("Query condition missed key schema element: {0}")]
    MissedKeyElement(String),
    /// A value whose type is not the key attribute's.
    #[error("One or more parameter values were invalid: Condition parameter type does not match schema type")]
    SchemaTypeMismatch,
}

/// Stage one: checks the shape of a parsed KeyConditionExpression and splits it into
/// per-attribute conditions. Run it after [`crate::parse_condition_with`] succeeded
/// and before looking the table up, as DynamoDB does.
///
/// # Errors
/// The [`KeyConditionError`]s up to [`KeyConditionError::ConditionCount`], the first
/// one met walking the tree left to right.
///
/// ```
/// use binderdb_expr::{key_condition::analyze, parse_condition, Unchecked};
/// let c = parse_condition("a = :v OR b = :w").unwrap();
/// let err = analyze(&c, &Unchecked).unwrap_err();
/// assert_eq!(err.to_string(), "Invalid operator used in KeyConditionExpression: OR");
/// ```
pub fn analyze(
    condition: &Condition,
    context: &dyn ExpressionContext,
) -> Result<KeyConditionParts, KeyConditionError> {
    analyze_up_to(condition, context, 2)
}

/// [`analyze`] allowing up to `max_conditions` conditions: a Query on an index whose key has
/// several attributes (a multi-attribute GSI key has up to eight) may have more than two.
/// Check [`KeyConditionParts::check_count`] once the key schema is known.
///
/// # Errors
/// As [`analyze`].
pub fn analyze_up_to(
    condition: &Condition,
    context: &dyn ExpressionContext,
    max_conditions: usize,
) -> Result<KeyConditionParts, KeyConditionError> {
    let mut conditions = Vec::new();
    collect(condition, context, &mut conditions)?;
    for (_, condition) in &conditions {
        for value in condition.values() {
            if let ValueInfo::Defined(Some(value_type)) = context.value(value) {
                if !condition.accepts(value_type.as_str()) {
                    return Err(KeyConditionError::InvalidValueType {
                        operator: condition.operator_name(),
                        value_type: value_type.as_str(),
                    });
                }
            }
        }
    }
    if conditions.len() > max_conditions {
        return Err(KeyConditionError::ConditionCount);
    }
    Ok(KeyConditionParts { conditions })
}

/// Walks one node the way DynamoDB does: the node's own operator first, then its
/// operands left to right.
fn collect(
    condition: &Condition,
    context: &dyn ExpressionContext,
    out: &mut Vec<(String, SortCondition)>,
) -> Result<(), KeyConditionError> {
    let invalid = |name: &str| Err(KeyConditionError::InvalidOperator(name.to_string()));
    let (operands, shape) = match condition {
        Condition::And(a, b) => {
            collect(a, context, out)?;
            return collect(b, context, out);
        }
        Condition::Or(..) => return invalid("OR"),
        Condition::Not(_) => return invalid("NOT"),
        Condition::In(..) => return invalid("IN"),
        Condition::Compare(_, Comparator::Ne, _) => return invalid("<>"),
        Condition::Function(
            f @ (Function::AttributeExists(_)
            | Function::AttributeNotExists(_)
            | Function::AttributeType(..)
            | Function::Contains(..)),
        ) => return invalid(f.name()),
        Condition::Compare(a, comparator, b) => (vec![a, b], Shape::Compare(*comparator)),
        Condition::Between(x, low, high) => {
            if !matches!(x, Operand::Path(_)) {
                return Err(KeyConditionError::KeyNotFirstOperand("BETWEEN"));
            }
            (vec![x, low, high], Shape::Between)
        }
        Condition::Function(Function::BeginsWith(target, prefix)) => {
            if !matches!(target, Operand::Path(_)) {
                return Err(KeyConditionError::KeyNotFirstOperand("begins_with"));
            }
            (vec![target, prefix], Shape::BeginsWith)
        }
    };
    let mut attribute: Option<(usize, String)> = None;
    let mut values = Vec::new();
    for (index, operand) in operands.into_iter().enumerate() {
        match operand {
            Operand::Path(path) => {
                if attribute.is_some() {
                    return Err(KeyConditionError::MultipleAttributeNames);
                }
                if path.0.len() > 1 {
                    return Err(KeyConditionError::NestedAttributes);
                }
                let name = match path.0.first() {
                    Some(PathElement::Name(NameRef::Literal(name))) => name.clone(),
                    Some(PathElement::Name(NameRef::Placeholder(placeholder))) => {
                        context.name(placeholder).unwrap_or(placeholder).to_string()
                    }
                    _ => return Err(KeyConditionError::NestedAttributes),
                };
                attribute = Some((index, name));
            }
            Operand::Size(_) => return Err(KeyConditionError::NestedOperations),
            Operand::Value(value) => values.push(value.clone()),
        }
    }
    let Some((index, name)) = attribute else {
        return Err(KeyConditionError::NoKeyAttribute);
    };
    if out.iter().any(|(existing, _)| *existing == name) {
        return Err(KeyConditionError::OneConditionPerKey);
    }
    out.push((name, shape.build(index, values)));
    Ok(())
}

/// Which sort condition a leaf becomes once its attribute and values are known.
enum Shape {
    Compare(Comparator),
    Between,
    BeginsWith,
}

impl Shape {
    fn build(self, attribute_index: usize, values: Vec<String>) -> SortCondition {
        let mut values = values.into_iter();
        let mut next = || values.next().unwrap_or_default();
        match self {
            // `:v < a` means `a > :v`.
            Self::Compare(comparator) => {
                let comparator = if attribute_index == 0 {
                    comparator
                } else {
                    comparator.flipped()
                };
                match comparator {
                    Comparator::Lt => SortCondition::Lt(next()),
                    Comparator::Le => SortCondition::Le(next()),
                    Comparator::Gt => SortCondition::Gt(next()),
                    Comparator::Ge => SortCondition::Ge(next()),
                    Comparator::Eq | Comparator::Ne => SortCondition::Eq(next()),
                }
            }
            Self::Between => {
                let low = next();
                SortCondition::Between(low, next())
            }
            Self::BeginsWith => SortCondition::BeginsWith(next()),
        }
    }
}

/// A key condition checked against a multi-attribute key schema (a GSI key of up to four
/// partition and four sort attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiKeyCondition {
    /// The `:placeholder` each partition-key attribute must equal, in KeySchema order.
    pub partition_values: Vec<String>,
    /// The `:placeholder`s the leading sort-key attributes equal, in KeySchema order.
    pub sort_prefix: Vec<String>,
    /// The condition on the next sort-key attribute, if any (the only one that may be a range).
    pub sort_last: Option<SortCondition>,
}

/// Whether every value of `condition` has the type of key attribute `key`.
fn check_value_types(
    key: &str,
    condition: &SortCondition,
    value_matches: &impl Fn(&str, &str) -> bool,
) -> Result<(), KeyConditionError> {
    if condition
        .values()
        .into_iter()
        .all(|value| value_matches(key, value))
    {
        Ok(())
    } else {
        Err(KeyConditionError::SchemaTypeMismatch)
    }
}

impl KeyConditionParts {
    /// The condition on attribute `key`, if there is one.
    fn condition_on(&self, key: &str) -> Option<&SortCondition> {
        self.conditions
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, condition)| condition)
    }

    /// The two-condition limit of a key schema of at most one partition and one sort
    /// attribute, for conditions analyzed with [`analyze_up_to`].
    ///
    /// # Errors
    /// [`KeyConditionError::ConditionCount`].
    pub fn check_count(&self, key_attributes: usize) -> Result<(), KeyConditionError> {
        if self.conditions.len() > key_attributes.max(2) {
            return Err(KeyConditionError::ConditionCount);
        }
        Ok(())
    }

    /// Stage two for a multi-attribute key: every partition attribute with `=`; sort
    /// attributes left to right in KeySchema order with no gap, all with `=` but the last
    /// one given, which may also be a range (`<`, `<=`, `>`, `>=`, `BETWEEN`,
    /// `begins_with`). A condition on an attribute outside the key names the first key
    /// attribute left out, as DynamoDB's single-key form does.
    ///
    /// # Errors
    /// [`KeyConditionError::MissedKeyElement`], [`KeyConditionError::SchemaTypeMismatch`] or
    /// [`KeyConditionError::NotSupported`].
    pub fn for_multi_schema(
        &self,
        partition_keys: &[&str],
        sort_keys: &[&str],
        value_matches: impl Fn(&str, &str) -> bool,
    ) -> Result<MultiKeyCondition, KeyConditionError> {
        let find = |key: &str| self.condition_on(key);
        let check_types = |key: &str, condition: &SortCondition| {
            check_value_types(key, condition, &value_matches)
        };
        let mut partition_values = Vec::with_capacity(partition_keys.len());
        for key in partition_keys {
            let Some(condition) = find(key) else {
                return Err(KeyConditionError::MissedKeyElement((*key).into()));
            };
            check_types(key, condition)?;
            let SortCondition::Eq(value) = condition else {
                return Err(KeyConditionError::NotSupported);
            };
            partition_values.push(value.clone());
        }
        let mut sort_prefix = Vec::new();
        let mut sort_last = None;
        let mut used = partition_keys.len();
        for key in sort_keys {
            let Some(condition) = find(key) else { break };
            if sort_last.is_some() {
                // A condition after a range condition.
                return Err(KeyConditionError::NotSupported);
            }
            check_types(key, condition)?;
            used += 1;
            match condition {
                SortCondition::Eq(value) => sort_prefix.push(value.clone()),
                other => sort_last = Some(other.clone()),
            }
        }
        if used < self.conditions.len() {
            // Some condition is on a sort attribute after a gap, or on no key attribute: name
            // the first sort attribute left out.
            let missing = sort_keys
                .iter()
                .find(|k| find(k).is_none())
                .copied()
                .unwrap_or_default();
            return Err(KeyConditionError::MissedKeyElement(missing.into()));
        }
        // All-equality prefixes end in a plain `=` on the last attribute given.
        if sort_last.is_none() {
            if let Some(last) = sort_prefix.pop() {
                sort_last = Some(SortCondition::Eq(last));
            }
        }
        Ok(MultiKeyCondition {
            partition_values,
            sort_prefix,
            sort_last,
        })
    }

    /// Stage two: matches the conditions to a key schema. `value_matches(attribute,
    /// placeholder)` says whether the value's type is the key attribute's declared type
    /// (pass `|_, _| true` to check that elsewhere).
    ///
    /// # Errors
    /// [`KeyConditionError::NotSupported`], [`KeyConditionError::MissedKeyElement`] or
    /// [`KeyConditionError::SchemaTypeMismatch`], in DynamoDB's order: two conditions on
    /// a table without sort key; then per key attribute (partition first): missing,
    /// value type, partition key not `=`.
    pub fn for_schema(
        &self,
        partition_key: &str,
        sort_key: Option<&str>,
        value_matches: impl Fn(&str, &str) -> bool,
    ) -> Result<KeyCondition, KeyConditionError> {
        let count = self.conditions.len();
        if sort_key.is_none() && count > 1 {
            return Err(KeyConditionError::NotSupported);
        }
        let find = |key: &str| self.condition_on(key);
        let check_types = |key: &str, condition: &SortCondition| {
            check_value_types(key, condition, &value_matches)
        };
        let Some(partition) = find(partition_key) else {
            return Err(KeyConditionError::MissedKeyElement(partition_key.into()));
        };
        check_types(partition_key, partition)?;
        let SortCondition::Eq(partition_value) = partition else {
            return Err(KeyConditionError::NotSupported);
        };
        let sort = match sort_key {
            Some(sort_key) => match find(sort_key) {
                Some(condition) => {
                    check_types(sort_key, condition)?;
                    Some(condition.clone())
                }
                None if count > 1 => {
                    return Err(KeyConditionError::MissedKeyElement(sort_key.into()))
                }
                None => None,
            },
            None => None,
        };
        Ok(KeyCondition {
            partition_value: partition_value.clone(),
            sort,
        })
    }
}
