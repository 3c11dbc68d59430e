//! binderdb's expression language: lexer, parser, syntax tree and DynamoDB's checks.
//!
//! Pure: no I/O, no storage. Validation learns about the request's values through
//! [`ExpressionContext`]; evaluation and projection read `binderdb-model` items and
//! values (the only workspace crate it depends on).
//!
//! Key types and entry points:
//! - [`parse_condition`] / [`parse_condition_with`]: ConditionExpression,
//!   FilterExpression and KeyConditionExpression text → [`Condition`], or an
//!   [`ExprError`] chosen the way DynamoDB chooses it;
//! - [`ExprError::message`]: the full `Invalid XxxExpression: ...` text;
//! - [`UsedPlaceholders`] and [`check_unused`]: the request-level unused-placeholder
//!   errors;
//! - [`key_condition::analyze`]: Query's key condition → partition value and sort
//!   condition, with DynamoDB's messages for everything else;
//! - [`is_reserved`]: DynamoDB's reserved words;
//! - [`evaluate`]: a condition against an item, with DynamoDB's semantics;
//! - [`parse_projection`] and [`project`] / [`Projection`]: ProjectionExpression;
//! - [`resolve_path`]: the value a document path points at in an item;
//! - [`parse_update`] → [`UpdateExpression`], [`apply_update`] → [`UpdatedPaths`] or an
//!   [`UpdateError`]: UpdateExpression.
//!
//! ```
//! use binderdb_expr::{parse_condition, Condition, ExpressionKind};
//! let condition = parse_condition("a.b[2] = :v AND NOT attribute_exists(#n)").unwrap();
//! assert!(matches!(condition, Condition::And(..)));
//! let err = parse_condition("a = ").unwrap_err();
//! assert_eq!(
//!     err.message(ExpressionKind::KeyCondition),
//!     r#"Invalid KeyConditionExpression: Syntax error; token: "<EOF>", near: "=""#
//! );
//! ```

pub mod ast;
mod check;
mod error;
mod eval;
pub mod key_condition;
pub mod lexer;
mod ordering;
mod parser;
mod path;
mod placeholders;
mod projection;
mod reserved;
#[cfg(test)]
mod test_values;
mod update;
mod update_apply;
mod update_parser;

pub use ast::{Comparator, Condition, Function, NameRef, Operand, Path, PathElement};
pub use check::{ExpressionContext, Unchecked, ValueInfo, ValueType};
pub use error::{ExprError, ExpressionKind, UnusedPlaceholders};
pub use eval::{evaluate, AttributeValues};
pub use key_condition::{KeyCondition, KeyConditionError, SortCondition};
pub use ordering::unordered_constant;
pub use path::{format_steps, resolve_path, resolve_steps, resolve_steps_in, AttributeNames, Step};
pub use placeholders::{check_unused, MapContext, UsedPlaceholders};
pub use projection::{parse_projection, project, Projection};
pub use reserved::{is_reserved, RESERVED_WORDS};
pub use update::{SetAction, SetValue, UpdateExpression, UpdateOperand, ValueAction};
pub use update_apply::{apply_update, UpdateError, UpdatedPaths};
pub use update_parser::parse_update;

/// Parses a condition expression and runs the checks that need no request context
/// (every placeholder counts as defined, value types are unknown).
///
/// # Errors
/// Any [`ExprError`] but the undefined-placeholder and value-type ones.
pub fn parse_condition(text: &str) -> Result<Condition, ExprError> {
    parse_condition_with(text, &Unchecked)
}

/// Parses a condition expression and runs all of DynamoDB's checks against the
/// request's placeholders, reporting the one DynamoDB would report.
///
/// # Errors
/// [`ExprError::Empty`], [`ExprError::Syntax`], then (in DynamoDB's order) redundant
/// parentheses, unknown function, misused function, reserved word, and the first
/// faulty condition's problem.
pub fn parse_condition_with(
    text: &str,
    context: &dyn ExpressionContext,
) -> Result<Condition, ExprError> {
    let raw = parser::parse_raw_condition(text)?;
    check::check_condition(&raw, context)
}
