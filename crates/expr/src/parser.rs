//! Recursive-descent parser from tokens to a raw condition tree.
//!
//! The raw tree still holds what DynamoDB checks after the grammar: parentheses (for
//! the redundant-parentheses rule) and function calls by name with any number of
//! arguments (for unknown names, arity and misuse). `check` turns it into the public
//! [`crate::Condition`] and reports those errors in DynamoDB's order.
//!
//! Like DynamoDB's PEG-style grammar the parser backtracks between alternatives and,
//! when nothing matches, blames the furthest token any alternative stopped at. The
//! error's `near` text runs from the token before the culprit to the token after it.
//!
//! Grammar, loosest first (keywords case-insensitive):
//! ```text
//! or       := and (OR and)*
//! and      := not (AND not)*
//! not      := NOT not | primary
//! primary  := operand comparator operand
//!           | operand BETWEEN operand AND operand
//!           | operand IN '(' operand (',' operand)* ')'
//!           | call
//!           | '(' or ')'
//! operand  := '(' operand ')' | call | :value | path
//! call     := name '(' operand (',' operand)* ')'
//! path     := (name | #name) ('.' (name | #name) | '[' digits ']')*
//! ```

use crate::ast::{Comparator, NameRef, Path, PathElement};
use crate::error::ExprError;
use crate::lexer::{tokenize, Keyword, Token, TokenKind};

/// How deeply parentheses and NOTs may nest before the parser gives up. DynamoDB caps
/// expressions at 4 KB; this keeps recursion far from the thread's stack limit.
const MAX_DEPTH: usize = 200;

/// The largest list index DynamoDB accepts in a document path (a Java `int`).
const MAX_LIST_INDEX: u32 = i32::MAX as u32;

/// A function call as written: any name, any number of arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawCall {
    pub name: String,
    pub args: Vec<RawOperand>,
}

/// An operand before validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawOperand {
    Path(Path),
    Value(String),
    Call(RawCall),
    Parens(Box<RawOperand>),
}

/// A condition before validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawCondition {
    Compare(RawOperand, Comparator, RawOperand),
    Between(RawOperand, RawOperand, RawOperand),
    In(RawOperand, Vec<RawOperand>),
    Call(RawCall),
    And(Box<RawCondition>, Box<RawCondition>),
    Or(Box<RawCondition>, Box<RawCondition>),
    Not(Box<RawCondition>),
    Parens(Box<RawCondition>),
}

/// Marker for a failed alternative; the position lives in [`Parser::furthest`].
pub(crate) struct Fail;

pub(crate) type Parsed<T> = Result<T, Fail>;

/// Token cursor with backtracking, shared with the UpdateExpression parser
/// (`update_parser`), which reuses its operand and path rules.
pub(crate) struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    pub(crate) pos: usize,
    /// The furthest token index any alternative failed at.
    furthest: usize,
    pub(crate) depth: usize,
    /// A list index too large for DynamoDB, as written: the parse fails, and the failure is
    /// reported as that index rather than as a syntax error.
    index_out_of_range: Option<String>,
}

/// Parses a condition expression into the raw tree.
///
/// # Errors
/// [`ExprError::Empty`] for `""`, [`ExprError::Syntax`] when the text does not follow
/// the grammar.
pub(crate) fn parse_raw_condition(source: &str) -> Result<RawCondition, ExprError> {
    if source.is_empty() {
        return Err(ExprError::Empty);
    }
    let mut parser = Parser {
        source,
        tokens: tokenize(source),
        pos: 0,
        furthest: 0,
        depth: 0,
        index_out_of_range: None,
    };
    match parser.or().and_then(|condition| {
        parser.expect(TokenKind::Eof)?;
        Ok(condition)
    }) {
        Ok(condition) => Ok(condition),
        Err(Fail) => Err(parser.syntax_error()),
    }
}

impl<'a> Parser<'a> {
    /// A parser at the first token of `source`.
    pub(crate) fn new(source: &'a str) -> Self {
        Parser {
            source,
            tokens: tokenize(source),
            pos: 0,
            furthest: 0,
            depth: 0,
            index_out_of_range: None,
        }
    }

    pub(crate) fn peek(&self) -> TokenKind {
        self.tokens.get(self.pos).map_or(TokenKind::Eof, |t| t.kind)
    }

    pub(crate) fn peek_at(&self, offset: usize) -> TokenKind {
        self.tokens
            .get(self.pos + offset)
            .map_or(TokenKind::Eof, |t| t.kind)
    }

    pub(crate) fn text(&self, index: usize) -> &str {
        self.tokens
            .get(index)
            .map_or("", |t| self.source.get(t.start..t.end).unwrap_or(""))
    }

    pub(crate) fn fail<T>(&mut self) -> Parsed<T> {
        self.furthest = self.furthest.max(self.pos);
        Err(Fail)
    }

    pub(crate) fn expect(&mut self, kind: TokenKind) -> Parsed<()> {
        if self.peek() == kind {
            self.pos += 1;
            Ok(())
        } else {
            self.fail()
        }
    }

    pub(crate) fn eat(&mut self, kind: TokenKind) -> bool {
        let found = self.peek() == kind;
        if found {
            self.pos += 1;
        } else {
            self.furthest = self.furthest.max(self.pos);
        }
        found
    }

    pub(crate) fn enter(&mut self) -> Parsed<()> {
        if self.depth >= MAX_DEPTH {
            return self.fail();
        }
        self.depth += 1;
        Ok(())
    }

    /// DynamoDB's syntax error for the furthest failure: the token's text and the
    /// source from the previous token's start to the next token's end.
    pub(crate) fn syntax_error(&self) -> ExprError {
        if let Some(index) = &self.index_out_of_range {
            return ExprError::ListIndexOutOfRange(index.clone());
        }
        let index = self.furthest.min(self.tokens.len().saturating_sub(1));
        let Some(token) = self.tokens.get(index) else {
            return ExprError::Syntax {
                token: "<EOF>".into(),
                near: String::new(),
            };
        };
        let previous = index.checked_sub(1).and_then(|i| self.tokens.get(i));
        let next = self
            .tokens
            .get(index + 1)
            .filter(|t| t.kind != TokenKind::Eof);
        let start = previous.map_or(token.start, |t| t.start);
        let end = match (next, token.kind) {
            (Some(next), _) => next.end,
            (None, TokenKind::Eof) => previous.map_or(token.start, |t| t.end),
            (None, _) => token.end,
        };
        ExprError::Syntax {
            token: token.text(self.source).to_string(),
            near: self.source.get(start..end).unwrap_or("").to_string(),
        }
    }

    fn or(&mut self) -> Parsed<RawCondition> {
        let mut left = self.and()?;
        while self.eat(TokenKind::Keyword(Keyword::Or)) {
            let right = self.and()?;
            left = RawCondition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Parsed<RawCondition> {
        let mut left = self.not()?;
        while self.eat(TokenKind::Keyword(Keyword::And)) {
            let right = self.not()?;
            left = RawCondition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Parsed<RawCondition> {
        if self.eat(TokenKind::Keyword(Keyword::Not)) {
            self.enter()?;
            let inner = self.not();
            self.depth -= 1;
            return Ok(RawCondition::Not(Box::new(inner?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Parsed<RawCondition> {
        let start = self.pos;
        if let Ok(condition) = self.operand_condition() {
            return Ok(condition);
        }
        self.pos = start;
        if self.peek() != TokenKind::LeftParen {
            return self.fail();
        }
        self.pos += 1;
        self.enter()?;
        let inner = self.or();
        self.depth -= 1;
        let inner = inner?;
        self.expect(TokenKind::RightParen)?;
        Ok(RawCondition::Parens(Box::new(inner)))
    }

    /// The alternatives that start with an operand, plus a call used as a condition.
    fn operand_condition(&mut self) -> Parsed<RawCondition> {
        let left = self.operand()?;
        let comparator = match self.peek() {
            TokenKind::Eq => Some(Comparator::Eq),
            TokenKind::Ne => Some(Comparator::Ne),
            TokenKind::Lt => Some(Comparator::Lt),
            TokenKind::Le => Some(Comparator::Le),
            TokenKind::Gt => Some(Comparator::Gt),
            TokenKind::Ge => Some(Comparator::Ge),
            _ => None,
        };
        if let Some(comparator) = comparator {
            self.pos += 1;
            let right = self.operand()?;
            return Ok(RawCondition::Compare(left, comparator, right));
        }
        if self.eat(TokenKind::Keyword(Keyword::Between)) {
            let low = self.operand()?;
            self.expect(TokenKind::Keyword(Keyword::And))?;
            let high = self.operand()?;
            return Ok(RawCondition::Between(left, low, high));
        }
        if self.eat(TokenKind::Keyword(Keyword::In)) {
            self.expect(TokenKind::LeftParen)?;
            let candidates = self.operand_list()?;
            self.expect(TokenKind::RightParen)?;
            return Ok(RawCondition::In(left, candidates));
        }
        match left {
            RawOperand::Call(call) => Ok(RawCondition::Call(call)),
            _ => self.fail(),
        }
    }

    pub(crate) fn operand_list(&mut self) -> Parsed<Vec<RawOperand>> {
        let mut operands = vec![self.operand()?];
        while self.eat(TokenKind::Comma) {
            operands.push(self.operand()?);
        }
        Ok(operands)
    }

    pub(crate) fn operand(&mut self) -> Parsed<RawOperand> {
        match self.peek() {
            TokenKind::LeftParen => {
                self.pos += 1;
                self.enter()?;
                let inner = self.operand();
                self.depth -= 1;
                let inner = inner?;
                self.expect(TokenKind::RightParen)?;
                Ok(RawOperand::Parens(Box::new(inner)))
            }
            TokenKind::ValuePlaceholder => {
                let value = self.text(self.pos).to_string();
                self.pos += 1;
                Ok(RawOperand::Value(value))
            }
            TokenKind::Name if self.peek_at(1) == TokenKind::LeftParen => {
                let name = self.text(self.pos).to_string();
                self.pos += 2;
                self.enter()?;
                let args = self.operand_list();
                self.depth -= 1;
                let args = args?;
                self.expect(TokenKind::RightParen)?;
                Ok(RawOperand::Call(RawCall { name, args }))
            }
            TokenKind::Name | TokenKind::NamePlaceholder => Ok(RawOperand::Path(self.path()?)),
            _ => self.fail(),
        }
    }

    fn path_name(&mut self) -> Parsed<NameRef> {
        let text = self.text(self.pos).to_string();
        let name = match self.peek() {
            TokenKind::Name => NameRef::Literal(text),
            TokenKind::NamePlaceholder => NameRef::Placeholder(text),
            _ => return self.fail(),
        };
        self.pos += 1;
        Ok(name)
    }

    pub(crate) fn path(&mut self) -> Parsed<Path> {
        let mut elements = vec![PathElement::Name(self.path_name()?)];
        loop {
            if self.eat(TokenKind::Dot) {
                elements.push(PathElement::Name(self.path_name()?));
            } else if self.eat(TokenKind::LeftBracket) {
                if self.peek() != TokenKind::Number {
                    return self.fail();
                }
                // DynamoDB keeps list indexes within a Java int and names the index when one
                // is larger, rather than calling it a syntax error.
                let digits = self.text(self.pos);
                let Some(index) = digits.parse::<u32>().ok().filter(|i| *i <= MAX_LIST_INDEX)
                else {
                    self.index_out_of_range = Some(digits.to_owned());
                    return self.fail();
                };
                self.pos += 1;
                self.expect(TokenKind::RightBracket)?;
                elements.push(PathElement::Index(index));
            } else {
                return Ok(Path(elements));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(source: &str) -> (String, String) {
        match parse_raw_condition(source) {
            Err(ExprError::Syntax { token, near }) => (token, near),
            other => panic!("{source}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn list_indexes_past_a_java_int_name_the_index() {
        for (source, index) in [
            ("a[99999999999] = :v", "99999999999"),
            ("a.b[2147483648] = :v", "2147483648"),
            ("a[99999999999999999999999] = :v", "99999999999999999999999"),
        ] {
            assert!(
                matches!(parse_raw_condition(source), Err(ExprError::ListIndexOutOfRange(i)) if i == index),
                "{source}"
            );
        }
        assert!(parse_raw_condition("a[2147483647] = :v").is_ok());
    }

    #[test]
    fn syntax_errors_name_token_and_surroundings() {
        let cases = [
            ("foo", "<EOF>", "foo"),
            ("attribute_not_exists(", "<EOF>", "("),
            ("contains (themes, :theme", "<EOF>", ":theme"),
            ("id = :hashId a", "a", ":hashId a"),
            ("CourseId-Index = :v", "-", "CourseId-Index"),
            ("a = :v AND __typename = :t", "_", "AND __"),
            ("expiresAt > now()", ")", "()"),
            ("a = = :v", "=", "= = :v"),
            ("a > 4", "4", "> 4"),
            ("things are not gonna be ok", "are", "things are not"),
            ("(size(a))[0] > a", "[", ")[0"),
            ("= :v", "=", "= :v"),
            ("   ", "<EOF>", ""),
            ("a = :v )", ")", ":v )"),
        ];
        for (source, token, near) in cases {
            assert_eq!(
                syntax(source),
                (token.to_string(), near.to_string()),
                "{source}"
            );
        }
    }

    #[test]
    fn empty_text_is_its_own_error() {
        assert_eq!(parse_raw_condition(""), Err(ExprError::Empty));
    }

    #[test]
    fn deep_nesting_is_a_syntax_error_not_a_crash() {
        let deep = format!("{}a = :v{}", "(".repeat(5000), ")".repeat(5000));
        assert!(matches!(
            parse_raw_condition(&deep),
            Err(ExprError::Syntax { .. })
        ));
        let nots = format!("{}a = :v", "NOT ".repeat(5000));
        assert!(matches!(
            parse_raw_condition(&nots),
            Err(ExprError::Syntax { .. })
        ));
    }

    #[test]
    fn parenthesised_operands_and_conditions() {
        assert!(matches!(
            parse_raw_condition("(a) = :v"),
            Ok(RawCondition::Compare(RawOperand::Parens(_), _, _))
        ));
        assert!(matches!(
            parse_raw_condition("((a = :v))"),
            Ok(RawCondition::Parens(inner)) if matches!(*inner, RawCondition::Parens(_))
        ));
    }
}
