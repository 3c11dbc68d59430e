//! Orderings of constants that have no order.
//!
//! DynamoDB refuses `<`, `<=`, `>`, `>=` and BETWEEN with an ExpressionAttributeValue of a type
//! that has no order (BOOL, NULL, a set, a list or a map) in a ConditionExpression or
//! FilterExpression before evaluating anything, even in a branch that would never be evaluated
//! (recorded against DynamoDB). A path of such a type is only known when evaluating, and then
//! the comparison is simply false. KeyConditionExpression answers the same mistake with its own
//! key-condition message, so this check is separate from the parser's and the caller applies it
//! to the expressions it concerns.

use crate::ast::{Comparator, Condition, Operand};
use crate::check::ValueType;
use crate::error::ExprError;

/// The first ordering in `condition` (left to right) of a value whose type (`type_of` gives the
/// type of a `:placeholder`) has no order, as DynamoDB reports it.
pub fn unordered_constant(
    condition: &Condition,
    type_of: &dyn Fn(&str) -> Option<ValueType>,
) -> Option<ExprError> {
    let check = |operator: &str, operands: &[&Operand]| {
        operands.iter().find_map(|operand| {
            let Operand::Value(placeholder) = operand else {
                return None;
            };
            let t = type_of(placeholder)?.as_str();
            (!matches!(t, "N" | "S" | "B")).then(|| ExprError::IncorrectOperandType {
                function: operator.into(),
                operand_type: t.into(),
            })
        })
    };
    match condition {
        Condition::Compare(a, comparator, b) => match comparator {
            Comparator::Eq | Comparator::Ne => None,
            _ => check(comparator.as_str(), &[a, b]),
        },
        Condition::Between(x, low, high) => check("BETWEEN", &[x, low, high]),
        Condition::In(..) | Condition::Function(_) => None,
        Condition::And(a, b) | Condition::Or(a, b) => {
            unordered_constant(a, type_of).or_else(|| unordered_constant(b, type_of))
        }
        Condition::Not(inner) => unordered_constant(inner, type_of),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_condition_with, MapContext};

    #[test]
    fn orderings_of_unordered_values_are_refused() {
        let ctx = MapContext {
            values: [
                (":n".to_string(), Some(ValueType::N)),
                (":b".to_string(), Some(ValueType::Bool)),
                (":l".to_string(), Some(ValueType::L)),
            ]
            .into(),
            ..MapContext::default()
        };
        let type_of = |p: &str| ctx.values.get(p).copied().flatten();
        let first = |text: &str| {
            unordered_constant(&parse_condition_with(text, &ctx).unwrap(), &type_of)
                .map(|e| e.to_string())
        };
        assert_eq!(
            first("attribute_exists(x) OR a > :b").as_deref(),
            Some("Incorrect operand type for operator or function; operator or function: >, operand type: BOOL")
        );
        assert_eq!(
            first("NOT (a BETWEEN :n AND :l)").as_deref(),
            Some("Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: L")
        );
        assert_eq!(
            first(":b <= :n").as_deref(),
            Some("Incorrect operand type for operator or function; operator or function: <=, operand type: BOOL")
        );
        assert_eq!(first("a = :b AND a <> :l"), None);
        assert_eq!(first("a < :n AND b >= c"), None);
    }
}
