//! binderdb's PartiQL: the lexer, parser and syntax tree of DynamoDB's PartiQL dialect.
//!
//! Pure: no I/O, and no workspace crate below it (values stay unresolved text and `?`
//! positions; the engine resolves them against a request's `Parameters` and plans each
//! statement as the item API calls that mean the same, so semantics live in one place).
//!
//! Why a hand-written parser: DynamoDB accepts a small subset of PartiQL (one SELECT, INSERT,
//! UPDATE, DELETE or EXISTS per statement, no joins, no sub-queries). The official
//! `partiql-parser` crate parses the whole language through a LALRPOP grammar whose build
//! script generates a parser of several MB of Rust and pulls in a dozen crates (lalrpop,
//! logos, regex, petgraph, ...), minutes of extra compile time on the team's 2-core machines,
//! and would still need a dialect check on top to refuse what DynamoDB refuses. This crate
//! is about 900 lines, compiles in about a second, and reports errors in DynamoDB's words.
//!
//! Key types: [`parse`] → [`Parsed`] ([`ast::Statement`] and its parameter count), or a
//! [`ParseError`] whose `Display` is DynamoDB's ValidationException text.
//!
//! ```
//! use binderdb_partiql::{parse, ast::Statement};
//! let parsed = parse(r#"SELECT * FROM "Music" WHERE Artist = ? AND SongTitle = 'x'"#).unwrap();
//! assert!(matches!(parsed.statement, Statement::Select(_)));
//! assert_eq!(parsed.parameters, 1);
//! assert_eq!(
//!     parse("FETCH everything").unwrap_err().to_string(),
//!     "Statement wasn't well formed, can't be processed: Expected data manipulation"
//! );
//! ```

pub mod ast;
pub mod lexer;
mod parser;

pub use parser::{parse, Parsed};

/// Why a statement could not be parsed. `Display` is the whole ValidationException message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not well formed: "Statement wasn't well formed, can't be processed: {detail}".
    #[error("Statement wasn't well formed, can't be processed: {0}")]
    Syntax(String),
    /// Well formed but refused by DynamoDB's dialect, with its own message.
    #[error("{0}")]
    Unsupported(String),
}

impl ParseError {
    pub(crate) fn new(detail: impl Into<String>) -> Self {
        ParseError::Syntax(detail.into())
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        ParseError::Unsupported(message.into())
    }
}

#[cfg(test)]
mod tests;
