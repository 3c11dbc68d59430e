//! Recursive-descent parser of DynamoDB's PartiQL statements.

use crate::ast::{
    CompareOp, Delete, Expr, Insert, IsType, Path, Projection, Returning, Select, Source,
    Statement, Step, Update, UpdateAction,
};
use crate::lexer::{tokenize, Token};
use crate::ParseError;

/// Words that end an expression or start a clause; never read as attribute names.
const RESERVED: [&str; 28] = [
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "INSERT",
    "INTO",
    "VALUE",
    "VALUES",
    "UPDATE",
    "SET",
    "REMOVE",
    "DELETE",
    "RETURNING",
    "BETWEEN",
    "IN",
    "IS",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "EXISTS",
    "TRUE",
    "FALSE",
    "NULL",
    "MISSING",
    "LIMIT",
];

/// A parsed statement and how many `?` parameters it has.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The statement.
    pub statement: Statement,
    /// Number of `?` placeholders.
    pub parameters: usize,
}

/// Parses one statement.
///
/// # Errors
/// A [`ParseError`] naming what was wrong, in DynamoDB's words where known.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        params: 0,
        depth: 0,
    };
    let statement = p.statement()?;
    p.eat_punct(";");
    if p.pos < p.tokens.len() {
        return Err(p.unexpected());
    }
    Ok(Parsed {
        statement,
        parameters: p.params,
    })
}

/// How deep parentheses, NOT, lists, maps and sets may nest. A statement has at most 8192
/// characters, which could otherwise nest thousands of levels deep and exhaust the stack of
/// the thread parsing it; DynamoDB documents no limit, and 100 is far beyond any real query
/// (document values nest at most 32 levels).
const MAX_DEPTH: usize = 100;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    params: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.tokens.get(self.pos + offset)
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.is_keyword(word);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), ParseError> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn is_punct(&self, punct: &str) -> bool {
        matches!(self.peek(), Some(Token::Punct(p)) if *p == punct)
    }

    fn eat_punct(&mut self, punct: &str) -> bool {
        let found = self.is_punct(punct);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect_punct(&mut self, punct: &str) -> Result<(), ParseError> {
        if self.eat_punct(punct) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// The error for the token at the current position, in DynamoDB's three words.
    fn unexpected(&self) -> ParseError {
        match self.peek() {
            None => ParseError::new("Unexpected end of statement"),
            Some(Token::Word(w)) if is_reserved(w) => ParseError::new("Unexpected keyword"),
            Some(Token::Punct(_)) => ParseError::new("Unexpected token"),
            Some(_) => ParseError::new("Unexpected term"),
        }
    }

    fn statement(&mut self) -> Result<Statement, ParseError> {
        if self.eat_keyword("SELECT") {
            return Ok(Statement::Select(self.select_rest()?));
        }
        if self.eat_keyword("INSERT") {
            return self.insert();
        }
        if self.eat_keyword("UPDATE") {
            return self.update();
        }
        if self.eat_keyword("DELETE") {
            return self.delete();
        }
        if self.eat_keyword("EXISTS") {
            self.expect_punct("(")?;
            self.expect_keyword("SELECT")?;
            let select = self.select_rest()?;
            self.expect_punct(")")?;
            return Ok(Statement::Exists(select));
        }
        Err(ParseError::new("Expected data manipulation"))
    }

    fn select_rest(&mut self) -> Result<Select, ParseError> {
        let projection = if self.eat_punct("*") {
            Projection::All
        } else {
            let mut paths = vec![self.path()?];
            while self.eat_punct(",") {
                paths.push(self.path()?);
            }
            Projection::Paths(paths)
        };
        self.expect_keyword("FROM")?;
        let source = self.source()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                let name = self.name()?;
                let descending = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                order_by.push((name, descending));
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        Ok(Select {
            projection,
            source,
            filter,
            order_by,
        })
    }

    fn insert(&mut self) -> Result<Statement, ParseError> {
        self.expect_keyword("INTO")?;
        let source = self.source()?;
        if self.is_keyword("VALUES") {
            return Err(ParseError::validation(
                "Unsupported operation: Inserting multiple items in a single statement is not \
                 supported, use \"INSERT INTO tableName VALUE item\" instead",
            ));
        }
        self.expect_keyword("VALUE")?;
        let item = self.primary()?;
        Ok(Statement::Insert(Insert { source, item }))
    }

    fn update(&mut self) -> Result<Statement, ParseError> {
        let source = self.source()?;
        let mut actions = Vec::new();
        loop {
            if self.eat_keyword("SET") {
                loop {
                    let path = self.path()?;
                    self.expect_punct("=")?;
                    let value = self.additive()?;
                    actions.push(UpdateAction::Set(path, value));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
            } else if self.eat_keyword("REMOVE") {
                loop {
                    actions.push(UpdateAction::Remove(self.path()?));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
            } else {
                break;
            }
        }
        if actions.is_empty() {
            return Err(self.unexpected());
        }
        let filter = self.where_clause()?;
        let returning = self.returning()?;
        Ok(Statement::Update(Update {
            source,
            actions,
            filter,
            returning,
        }))
    }

    fn delete(&mut self) -> Result<Statement, ParseError> {
        self.expect_keyword("FROM")?;
        let source = self.source()?;
        let filter = self.where_clause()?;
        let returning = self.returning()?;
        Ok(Statement::Delete(Delete {
            source,
            filter,
            returning,
        }))
    }

    fn where_clause(&mut self) -> Result<Option<Expr>, ParseError> {
        if self.eat_keyword("WHERE") {
            Ok(Some(self.expr()?))
        } else {
            Ok(None)
        }
    }

    fn returning(&mut self) -> Result<Option<Returning>, ParseError> {
        if !self.eat_keyword("RETURNING") {
            return Ok(None);
        }
        let all = if self.eat_keyword("ALL") {
            true
        } else if self.eat_keyword("MODIFIED") {
            false
        } else {
            return Err(self.unexpected());
        };
        let old = if self.eat_keyword("OLD") {
            true
        } else if self.eat_keyword("NEW") {
            false
        } else {
            return Err(self.unexpected());
        };
        if !self.eat_punct("*") {
            return Err(ParseError::validation(
                "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause",
            ));
        }
        Ok(Some(match (all, old) {
            (true, true) => Returning::AllOld,
            (false, true) => Returning::ModifiedOld,
            (true, false) => Returning::AllNew,
            (false, false) => Returning::ModifiedNew,
        }))
    }

    fn source(&mut self) -> Result<Source, ParseError> {
        let table = self.name()?;
        let index = if self.eat_punct(".") {
            Some(self.name()?)
        } else {
            None
        };
        Ok(Source { table, index })
    }

    /// An identifier: bare (not a keyword) or double-quoted.
    fn name(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Token::Quoted(q)) => {
                let q = q.clone();
                self.pos += 1;
                Ok(q)
            }
            Some(Token::Word(w)) if !is_reserved(w) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<Path, ParseError> {
        let name = self.name()?;
        self.path_steps(name)
    }

    fn path_steps(&mut self, name: String) -> Result<Path, ParseError> {
        let mut steps = Vec::new();
        loop {
            if self.eat_punct(".") {
                steps.push(Step::Field(self.name()?));
            } else if self.eat_punct("[") {
                match self.peek().cloned() {
                    Some(Token::Num(n)) => {
                        self.pos += 1;
                        let index = n.parse::<u32>().map_err(|_| {
                            ParseError::validation(format!(
                                "List index is not within the allowable range; index: [{n}]"
                            ))
                        })?;
                        steps.push(Step::Index(index));
                    }
                    Some(Token::Str(s)) => {
                        self.pos += 1;
                        steps.push(Step::Field(s));
                    }
                    _ => return Err(self.unexpected()),
                }
                self.expect_punct("]")?;
            } else {
                return Ok(Path { name, steps });
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.conjunction()?;
        while self.eat_keyword("OR") {
            let right = self.conjunction()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.negation()?;
        while self.eat_keyword("AND") {
            let right = self.negation()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn negation(&mut self) -> Result<Expr, ParseError> {
        if self.eat_keyword("NOT") {
            self.enter()?;
            let inner = self.negation();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?)));
        }
        self.predicate()
    }

    /// One level deeper, or the error past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new("Expression is nested too deeply"));
        }
        Ok(())
    }

    fn predicate(&mut self) -> Result<Expr, ParseError> {
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Token::Punct("=")) => Some(CompareOp::Eq),
            Some(Token::Punct("<>")) | Some(Token::Punct("!=")) => Some(CompareOp::Ne),
            Some(Token::Punct("<")) => Some(CompareOp::Lt),
            Some(Token::Punct("<=")) => Some(CompareOp::Le),
            Some(Token::Punct(">")) => Some(CompareOp::Gt),
            Some(Token::Punct(">=")) => Some(CompareOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::Compare(Box::new(left), op, Box::new(right)));
        }
        let negated = self.is_keyword("NOT")
            && matches!(self.peek_at(1), Some(Token::Word(w))
                if w.eq_ignore_ascii_case("BETWEEN") || w.eq_ignore_ascii_case("IN"));
        if negated {
            self.pos += 1;
        }
        let wrap = |e: Expr| if negated { Expr::Not(Box::new(e)) } else { e };
        if self.eat_keyword("BETWEEN") {
            let low = self.additive()?;
            self.expect_keyword("AND")?;
            let high = self.additive()?;
            return Ok(wrap(Expr::Between(
                Box::new(left),
                Box::new(low),
                Box::new(high),
            )));
        }
        if self.eat_keyword("IN") {
            let close = if self.eat_punct("(") {
                ")"
            } else if self.eat_punct("[") {
                "]"
            } else {
                return Err(self.unexpected());
            };
            let mut items = vec![self.additive()?];
            while self.eat_punct(",") {
                items.push(self.additive()?);
            }
            self.expect_punct(close)?;
            return Ok(wrap(Expr::In(Box::new(left), items)));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            let kind = match self.peek() {
                Some(Token::Word(w)) => is_type(w),
                _ => None,
            };
            let Some(kind) = kind else {
                return Err(self.unexpected());
            };
            self.pos += 1;
            return Ok(Expr::Is(Box::new(left), kind, negated));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let plus = if self.eat_punct("+") {
                true
            } else if self.eat_punct("-") {
                false
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = Expr::Arith(Box::new(left), plus, Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.is_punct("-") {
            if let Some(Token::Num(n)) = self.peek_at(1).cloned() {
                self.pos += 2;
                return Ok(Expr::Num(format!("-{n}")));
            }
        }
        if self.is_punct("+") {
            if let Some(Token::Num(n)) = self.peek_at(1).cloned() {
                self.pos += 2;
                return Ok(Expr::Num(n));
            }
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let result = self.primary_inner();
        self.depth -= 1;
        result
    }

    fn primary_inner(&mut self) -> Result<Expr, ParseError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        match token {
            Token::Str(s) => {
                self.pos += 1;
                Ok(Expr::Str(s))
            }
            Token::Num(n) => {
                self.pos += 1;
                Ok(Expr::Num(n))
            }
            Token::Param => {
                self.pos += 1;
                self.params += 1;
                Ok(Expr::Param(self.params - 1))
            }
            Token::Quoted(q) => {
                self.pos += 1;
                Ok(Expr::Path(self.path_steps(q)?))
            }
            Token::Word(w) => {
                let upper = w.to_ascii_uppercase();
                match upper.as_str() {
                    "TRUE" | "FALSE" => {
                        self.pos += 1;
                        return Ok(Expr::Bool(upper == "TRUE"));
                    }
                    "NULL" => {
                        self.pos += 1;
                        return Ok(Expr::Null);
                    }
                    "MISSING" => {
                        self.pos += 1;
                        return Ok(Expr::Missing);
                    }
                    _ => {}
                }
                if matches!(self.peek_at(1), Some(Token::Punct("("))) && !is_reserved(&w) {
                    self.pos += 2;
                    let mut args = Vec::new();
                    if !self.eat_punct(")") {
                        loop {
                            args.push(self.additive()?);
                            if !self.eat_punct(",") {
                                break;
                            }
                        }
                        self.expect_punct(")")?;
                    }
                    return Ok(Expr::Call(w.to_ascii_lowercase(), args));
                }
                Ok(Expr::Path(self.path()?))
            }
            Token::Punct("(") => {
                self.pos += 1;
                let inner = self.expr()?;
                self.expect_punct(")")?;
                Ok(inner)
            }
            Token::Punct("[") => {
                self.pos += 1;
                let items = self.values_until("]")?;
                Ok(Expr::List(items))
            }
            Token::Punct("<<") => {
                self.pos += 1;
                let items = self.values_until(">>")?;
                Ok(Expr::Bag(items))
            }
            Token::Punct("{") => {
                self.pos += 1;
                let mut entries = Vec::new();
                if !self.eat_punct("}") {
                    loop {
                        let key = match self.peek().cloned() {
                            Some(Token::Str(s)) => s,
                            _ => return Err(self.unexpected()),
                        };
                        self.pos += 1;
                        self.expect_punct(":")?;
                        entries.push((key, self.additive()?));
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                    self.expect_punct("}")?;
                }
                Ok(Expr::Map(entries))
            }
            Token::Punct(_) => Err(self.unexpected()),
        }
    }

    fn values_until(&mut self, close: &str) -> Result<Vec<Expr>, ParseError> {
        let mut items = Vec::new();
        if self.eat_punct(close) {
            return Ok(items);
        }
        loop {
            items.push(self.additive()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(close)?;
        Ok(items)
    }
}

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

fn is_type(word: &str) -> Option<IsType> {
    Some(match word.to_ascii_uppercase().as_str() {
        "MISSING" => IsType::Missing,
        "NULL" => IsType::Type("NULL"),
        "BOOLEAN" | "BOOL" => IsType::Type("BOOL"),
        "STRING" => IsType::Type("S"),
        "NUMERIC" | "NUMBER" => IsType::Type("N"),
        "BLOB" => IsType::Type("B"),
        "STRUCT" | "TUPLE" => IsType::Type("M"),
        "LIST" => IsType::Type("L"),
        _ => return None,
    })
}
