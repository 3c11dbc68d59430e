//! The syntax tree of a DynamoDB PartiQL statement.
//!
//! Values stay unresolved here: a literal may hold `?` parameters at any depth (`{'pk': ?}`),
//! so the engine resolves constants against a request's `Parameters` when it plans a call.

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT ... FROM ...`.
    Select(Select),
    /// `INSERT INTO ... VALUE ...`.
    Insert(Insert),
    /// `UPDATE ... SET/REMOVE ... WHERE ...`.
    Update(Update),
    /// `DELETE FROM ... WHERE ...`.
    Delete(Delete),
    /// `EXISTS(SELECT ...)`: a condition check, only inside ExecuteTransaction.
    Exists(Select),
}

impl Statement {
    /// Whether the statement reads (SELECT) rather than writes.
    pub fn is_read(&self) -> bool {
        matches!(self, Statement::Select(_))
    }

    /// The table the statement addresses.
    pub fn table(&self) -> &str {
        match self {
            Statement::Select(s) | Statement::Exists(s) => &s.source.table,
            Statement::Insert(i) => &i.source.table,
            Statement::Update(u) => &u.source.table,
            Statement::Delete(d) => &d.source.table,
        }
    }
}

/// `"table"` or `"table"."index"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Table name.
    pub table: String,
    /// Index name, for a read of a secondary index.
    pub index: Option<String>,
}

/// What a SELECT returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// `*`: whole items.
    All,
    /// A list of document paths.
    Paths(Vec<Path>),
}

/// `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// The projection.
    pub projection: Projection,
    /// `FROM`.
    pub source: Source,
    /// `WHERE`, if any.
    pub filter: Option<Expr>,
    /// `ORDER BY` terms: attribute name and whether descending.
    pub order_by: Vec<(String, bool)>,
}

/// `INSERT INTO source VALUE item`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// The table.
    pub source: Source,
    /// The item (a map literal or a parameter).
    pub item: Expr,
}

/// One action of an UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction {
    /// `SET path = value`.
    Set(Path, Expr),
    /// `REMOVE path`.
    Remove(Path),
}

/// `RETURNING (ALL|MODIFIED) (OLD|NEW) *`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returning {
    /// `ALL OLD *`.
    AllOld,
    /// `MODIFIED OLD *`.
    ModifiedOld,
    /// `ALL NEW *`.
    AllNew,
    /// `MODIFIED NEW *`.
    ModifiedNew,
}

impl Returning {
    /// The `ReturnValues` of the item API that means the same.
    pub fn return_values(self) -> &'static str {
        match self {
            Returning::AllOld => "ALL_OLD",
            Returning::ModifiedOld => "UPDATED_OLD",
            Returning::AllNew => "ALL_NEW",
            Returning::ModifiedNew => "UPDATED_NEW",
        }
    }

    /// The clause as written, for messages.
    pub fn text(self) -> &'static str {
        match self {
            Returning::AllOld => "ALL OLD *",
            Returning::ModifiedOld => "MODIFIED OLD *",
            Returning::AllNew => "ALL NEW *",
            Returning::ModifiedNew => "MODIFIED NEW *",
        }
    }
}

/// `UPDATE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The table.
    pub source: Source,
    /// SET and REMOVE actions, in order.
    pub actions: Vec<UpdateAction>,
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// `RETURNING`.
    pub returning: Option<Returning>,
}

/// `DELETE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    /// The table.
    pub source: Source,
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// `RETURNING`.
    pub returning: Option<Returning>,
}

/// One step of a document path after its first name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.name` or `['name']`.
    Field(String),
    /// `[n]`.
    Index(u32),
}

/// A document path: an attribute name and the steps into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The top-level attribute.
    pub name: String,
    /// Steps into maps and lists.
    pub steps: Vec<Step>,
}

impl Path {
    /// A path naming a top-level attribute only.
    pub fn attribute(&self) -> Option<&str> {
        self.steps.is_empty().then_some(self.name.as_str())
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`.
    Eq,
    /// `<>` or `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl CompareOp {
    /// The operator in DynamoDB's expression language.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// `IS [NOT] <type>`: MISSING, NULL or a type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsType {
    /// `MISSING`: the attribute is absent.
    Missing,
    /// A DynamoDB type: `NULL`, `BOOLEAN` (BOOL), `STRING` (S), `NUMERIC`/`NUMBER` (N), `BLOB`
    /// (B), `STRUCT`/`TUPLE` (M), `LIST` (L).
    Type(&'static str),
}

/// An expression: a value, a path, or a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A string literal.
    Str(String),
    /// A number literal, as written.
    Num(String),
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// `NULL`.
    Null,
    /// `MISSING`.
    Missing,
    /// The `n`th `?` of the statement (0-based).
    Param(usize),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{'k': v}`.
    Map(Vec<(String, Expr)>),
    /// `<<a, b>>`: a set.
    Bag(Vec<Expr>),
    /// A document path.
    Path(Path),
    /// `a + b` (true) or `a - b` (false).
    Arith(Box<Expr>, bool, Box<Expr>),
    /// `a op b`.
    Compare(Box<Expr>, CompareOp, Box<Expr>),
    /// `a AND b`.
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`.
    Or(Box<Expr>, Box<Expr>),
    /// `NOT a`.
    Not(Box<Expr>),
    /// `a BETWEEN b AND c`.
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a IN (b, c)` / `a IN [b, c]`.
    In(Box<Expr>, Vec<Expr>),
    /// `a IS [NOT] type` (negated when true).
    Is(Box<Expr>, IsType, bool),
    /// A function call; the name lower-cased.
    Call(String, Vec<Expr>),
}

impl Expr {
    /// Splits a conjunction into its terms, left to right.
    pub fn conjuncts(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
            if let Expr::And(a, b) = e {
                walk(a, out);
                walk(b, out);
            } else {
                out.push(e);
            }
        }
        walk(self, &mut out);
        out
    }
}
