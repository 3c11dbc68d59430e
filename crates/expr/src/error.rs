//! Errors of the expression language, with DynamoDB's exact texts.
//!
//! Three families, because DynamoDB words them differently:
//! - [`ExprError`]: a problem inside one expression. Its `Display` is the bare reason;
//!   [`ExprError::message`] adds the `Invalid <Kind>Expression: ` prefix DynamoDB puts
//!   in front of it.
//! - [`UnusedPlaceholders`]: request-level, never prefixed.
//! - [`crate::KeyConditionError`] (in `key_condition`): Query-only, never prefixed.
//!
//! All of them end up as a `ValidationException` carrying the message.

use std::fmt;

/// Which request member an expression came from; it names the error prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpressionKind {
    /// `ConditionExpression` (PutItem, UpdateItem, DeleteItem, transactions).
    Condition,
    /// `KeyConditionExpression` (Query).
    KeyCondition,
    /// `FilterExpression` (Query, Scan).
    Filter,
    /// `UpdateExpression` (UpdateItem, transactions).
    Update,
    /// `ProjectionExpression` (GetItem, Query, Scan, ...).
    Projection,
}

impl ExpressionKind {
    /// The request member's name, e.g. `"KeyConditionExpression"`.
    pub fn member_name(self) -> &'static str {
        match self {
            Self::Condition => "ConditionExpression",
            Self::KeyCondition => "KeyConditionExpression",
            Self::Filter => "FilterExpression",
            Self::Update => "UpdateExpression",
            Self::Projection => "ProjectionExpression",
        }
    }
}

impl fmt::Display for ExpressionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.member_name())
    }
}

/// A problem inside one expression. `Display` is DynamoDB's reason text without the
/// `Invalid XxxExpression: ` prefix; use [`ExprError::message`] for the full text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The expression is the empty string.
    #[error("The expression can not be empty;")]
    Empty,
    /// The text does not follow the grammar. `token` is the offending token's text
    /// (`<EOF>` at the end); `near` is the source from the token before it to the token
    /// after it, as DynamoDB prints it.
    #[error("Syntax error; token: \"{token}\", near: \"{near}\"")]
    Syntax {
        /// The token the parser could not accept.
        token: String,
        /// The surrounding source text.
        near: String,
    },
    /// A list index larger than DynamoDB's largest (`i32::MAX`), as written.
    #[error("List index is not within the allowable range; index: [{0}]")]
    ListIndexOutOfRange(String),
    /// `((x))`: two pairs of parentheses around the same thing.
    #[error("The expression has redundant parentheses;")]
    RedundantParentheses,
    /// A call to a function the language does not have (names are case-sensitive).
    #[error("Invalid function name; function: {0}")]
    InvalidFunctionName(String),
    /// A function used where it does not fit: a condition function as an operand, or
    /// `size` as a condition.
    #[error("The function is not allowed to be used this way in an expression; function: {0}")]
    MisusedFunction(String),
    /// A bare attribute name that is a reserved word (shown as written).
    #[error("Attribute name is a reserved keyword; reserved keyword: {0}")]
    ReservedKeyword(String),
    /// `#name` not in ExpressionAttributeNames.
    #[error("An expression attribute name used in the document path is not defined; attribute name: {0}")]
    UndefinedName(String),
    /// `:value` not in ExpressionAttributeValues.
    #[error(
        "An expression attribute value used in expression is not defined; attribute value: {0}"
    )]
    UndefinedValue(String),
    /// A function called with the wrong number of arguments.
    #[error("Incorrect number of operands for operator or function; operator or function: {function}, number of operands: {count}")]
    OperandCount {
        /// The function's name.
        function: String,
        /// How many arguments it was given.
        count: usize,
    },
    /// `a = a`, `contains(a, a)`: both operands are the same document path.
    #[error("The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {first_operand}")]
    NotDistinct {
        /// The comparator or function name.
        operator: String,
        /// The path, printed as DynamoDB does: `[a, b, [3]]`.
        first_operand: String,
    },
    /// `attribute_exists(:v)`: the function needs a document path.
    #[error("Operator or function requires a document path; operator or function: {0}")]
    RequiresDocumentPath(String),
    /// An operand whose type the function does not accept.
    #[error("Incorrect operand type for operator or function; operator or function: {function}, operand type: {operand_type}")]
    IncorrectOperandType {
        /// The function's name.
        function: String,
        /// The offending type (`N`, `BOOL`, ... or DynamoDB's `{NS,SS,...}` list).
        operand_type: String,
    },
    /// `attribute_type(a, :t)` with `:t` not a type name.
    #[error("Invalid attribute type name found; type: {0}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}")]
    InvalidAttributeTypeName(String),
    /// A BETWEEN bound problem; the text comes from the context, which knows the values.
    #[error("{0}")]
    BetweenBounds(String),
    /// `x IN (...)` with more than 100 candidates.
    #[error("The IN operator is provided with too many operands; number of operands: {0}")]
    TooManyInOperands(usize),
    /// A document path deeper than DynamoDB's 32 nesting levels; holds its level count.
    #[error("The document path has too many nesting levels; nesting levels: {0}")]
    PathTooDeep(usize),
    /// UpdateExpression: a `SET`/`REMOVE`/`ADD`/`DELETE` clause written twice (the
    /// keyword in capitals, whatever its case in the text).
    #[error("The \"{0}\" section can only be used once in an update expression;")]
    DuplicateSection(&'static str),
    /// UpdateExpression: a condition function (`size`, `begins_with`, ...) in SET.
    #[error("The function is not allowed in an update expression; function: {0}")]
    NotAnUpdateFunction(String),
    /// UpdateExpression: one action's path is a prefix of (or equal to) another's.
    /// Paths print as `[a, b, [3]]`; `first` is the one written earlier.
    #[error("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {first}, path two: {second}")]
    PathOverlap {
        /// The earlier path.
        first: String,
        /// The later path.
        second: String,
    },
    /// UpdateExpression: two paths that use the same step as a map key in one and a
    /// list index in the other (`a.b` and `a[1]`).
    #[error("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {first}, path two: {second}")]
    PathConflict {
        /// The earlier path.
        first: String,
        /// The later path.
        second: String,
    },
    /// UpdateExpression: an `ADD`/`DELETE` value of a type the action never takes
    /// (`operand type` is DynamoDB's long name: `STRING`, `NUMBER`, `LIST`, ...). DynamoDB ends
    /// the message with the set of types the action allows (`typeSet: ALLOWED_FOR_ADD_OPERAND`).
    #[error("Incorrect operand type for operator or function; operator: {operator}, operand type: {operand_type}, typeSet: ALLOWED_FOR_{operator}_OPERAND")]
    IncorrectActionOperandType {
        /// `ADD` or `DELETE`.
        operator: &'static str,
        /// `STRING`, `NUMBER`, `BINARY`, `NULL`, `BOOLEAN`, `LIST` or `MAP`.
        operand_type: &'static str,
    },
}

impl ExprError {
    /// The full message DynamoDB sends, e.g.
    /// `Invalid KeyConditionExpression: The expression can not be empty;`.
    pub fn message(&self, kind: ExpressionKind) -> String {
        format!("Invalid {kind}: {self}")
    }
}

/// Placeholders supplied in the request but used by none of its expressions.
///
/// Request-level: the text has no expression prefix. Names are reported before values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnusedPlaceholders {
    /// Keys of ExpressionAttributeNames no expression used.
    #[error("Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}", .0.join(", "))]
    Names(Vec<String>),
    /// Keys of ExpressionAttributeValues no expression used.
    #[error("Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}", .0.join(", "))]
    Values(Vec<String>),
}
