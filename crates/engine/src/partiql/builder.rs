//! PartiQL expressions → DynamoDB expression text.
//!
//! A statement's WHERE, SET and projection become the ConditionExpression, FilterExpression,
//! KeyConditionExpression, UpdateExpression and ProjectionExpression the item API takes, with
//! every attribute name behind a `#pN` placeholder (so reserved words and odd characters need
//! no care) and every constant behind a `:pN` value. The engine then checks and evaluates them
//! exactly as it does for the expression API: one set of semantics for both.

use std::collections::HashMap;

use binderdb_model::wire::WireValue;
use binderdb_partiql::ast::{CompareOp, Expr, IsType, Path, Step};

use crate::api::WireItem;
use crate::error::{Error, Result};

/// Builds expression text and collects its placeholders.
#[derive(Debug)]
pub(crate) struct Builder<'a> {
    params: &'a [WireValue],
    /// Placeholder → attribute name.
    pub names: HashMap<String, String>,
    /// Attribute name → placeholder, so a name used twice has one placeholder.
    placeholder_of: HashMap<String, String>,
    /// Placeholder → value.
    pub values: HashMap<String, WireValue>,
}

fn wire_s(s: impl Into<String>) -> WireValue {
    WireValue {
        s: Some(s.into()),
        ..WireValue::default()
    }
}

impl<'a> Builder<'a> {
    pub fn new(params: &'a [WireValue]) -> Self {
        Builder {
            params,
            names: HashMap::new(),
            placeholder_of: HashMap::new(),
            values: HashMap::new(),
        }
    }

    /// The placeholders as the item API's optional maps (absent when empty).
    pub fn finish(self) -> (Option<HashMap<String, String>>, Option<WireItem>) {
        (
            (!self.names.is_empty()).then_some(self.names),
            (!self.values.is_empty()).then_some(self.values),
        )
    }

    pub fn name(&mut self, name: &str) -> String {
        if let Some(p) = self.placeholder_of.get(name) {
            return p.clone();
        }
        let p = format!("#p{}", self.names.len());
        self.names.insert(p.clone(), name.to_owned());
        self.placeholder_of.insert(name.to_owned(), p.clone());
        p
    }

    pub fn value(&mut self, value: WireValue) -> String {
        let p = format!(":p{}", self.values.len());
        self.values.insert(p.clone(), value);
        p
    }

    pub fn path(&mut self, path: &Path) -> String {
        let mut out = self.name(&path.name);
        for step in &path.steps {
            match step {
                Step::Field(f) => {
                    out.push('.');
                    out.push_str(&self.name(f));
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// The value of a constant expression (literals and parameters, at any depth), or `None`
    /// when `e` is not constant.
    ///
    /// # Errors
    /// `MISSING` inside a value, an empty or mixed set.
    pub fn constant(&self, e: &Expr) -> Result<Option<WireValue>> {
        let mut w = WireValue::default();
        match e {
            Expr::Str(s) => w.s = Some(s.clone()),
            Expr::Num(n) => w.n = Some(n.clone()),
            Expr::Bool(b) => w.bool = Some(*b),
            Expr::Null => w.null = Some(true),
            Expr::Param(i) => match self.params.get(*i) {
                Some(v) => return Ok(Some(v.clone())),
                None => return Err(parameter_count()),
            },
            Expr::List(items) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    match self.constant(item)? {
                        Some(v) => list.push(v),
                        None => return Ok(None),
                    }
                }
                w.l = Some(list);
            }
            Expr::Map(entries) => {
                let mut map = HashMap::with_capacity(entries.len());
                for (k, item) in entries {
                    match self.constant(item)? {
                        Some(v) => {
                            if map.insert(k.clone(), v).is_some() {
                                return Err(Error::validation(format!(
                                    "Duplicate keys in tuple. Key: {k} under root"
                                )));
                            }
                        }
                        None => return Ok(None),
                    }
                }
                w.m = Some(map);
            }
            Expr::Bag(items) => return self.bag(items),
            Expr::Missing => return Err(missing_in_value()),
            _ => return Ok(None),
        }
        Ok(Some(w))
    }

    /// `<<a, b>>`: a string, number or binary set.
    fn bag(&self, items: &[Expr]) -> Result<Option<WireValue>> {
        if items.is_empty() {
            return Err(Error::validation("Empty bags are not supported"));
        }
        let (mut ss, mut ns, mut bs) = (Vec::new(), Vec::new(), Vec::new());
        for item in items {
            let Some(v) = self.constant(item)? else {
                return Ok(None);
            };
            match v {
                WireValue { s: Some(s), .. } => ss.push(s),
                WireValue { n: Some(n), .. } => ns.push(n),
                WireValue { b: Some(b), .. } => bs.push(b),
                _ => {
                    return Err(Error::validation(
                        "Unsupported data type in Bag. DynamoDB only supports either numbers or \
                         strings in bags",
                    ))
                }
            }
        }
        let kinds = [!ss.is_empty(), !ns.is_empty(), !bs.is_empty()];
        if kinds.iter().filter(|k| **k).count() > 1 {
            return Err(Error::validation(
                "Unsupported data type in Bag. DynamoDB only supports either numbers or strings \
                 in bags",
            ));
        }
        let mut w = WireValue::default();
        if !ss.is_empty() {
            w.ss = Some(ss);
        } else if !ns.is_empty() {
            w.ns = Some(ns);
        } else {
            w.bs = Some(bs);
        }
        Ok(Some(w))
    }

    /// An operand of a comparison or function: a path, `size(path)`, or a constant.
    pub fn operand(&mut self, e: &Expr) -> Result<String> {
        match e {
            Expr::Path(p) => Ok(self.path(p)),
            Expr::Missing => Err(Error::validation(
                "MISSING must be compared using IS operator",
            )),
            Expr::Call(name, args) if name == "size" => Ok(format!("size({})", self.args(args)?)),
            _ => match self.constant(e)? {
                Some(v) => Ok(self.value(v)),
                None => Err(unsupported(e)),
            },
        }
    }

    fn args(&mut self, args: &[Expr]) -> Result<String> {
        let parts: Result<Vec<String>> = args.iter().map(|a| self.operand(a)).collect();
        Ok(parts?.join(", "))
    }

    /// A condition (WHERE terms).
    pub fn condition(&mut self, e: &Expr) -> Result<String> {
        Ok(match e {
            Expr::And(a, b) => format!("({}) AND ({})", self.condition(a)?, self.condition(b)?),
            Expr::Or(a, b) => format!("({}) OR ({})", self.condition(a)?, self.condition(b)?),
            Expr::Not(a) => format!("NOT ({})", self.condition(a)?),
            Expr::Compare(a, op, b) => {
                format!("{} {} {}", self.operand(a)?, op.symbol(), self.operand(b)?)
            }
            Expr::Between(a, low, high) => format!(
                "{} BETWEEN {} AND {}",
                self.operand(a)?,
                self.operand(low)?,
                self.operand(high)?
            ),
            Expr::In(a, items) => {
                let left = self.operand(a)?;
                format!("{left} IN ({})", self.args(items)?)
            }
            Expr::Is(a, kind, negated) => {
                let Expr::Path(p) = a.as_ref() else {
                    return Err(Error::validation(
                        "The left hand side argument to IS must be a Variable Reference, \
                         Literal, or Path",
                    ));
                };
                let path = self.path(p);
                let test = match kind {
                    IsType::Missing if *negated => return Ok(format!("attribute_exists({path})")),
                    IsType::Missing => return Ok(format!("attribute_not_exists({path})")),
                    IsType::Type(t) => {
                        let v = self.value(wire_s(*t));
                        format!("attribute_type({path}, {v})")
                    }
                };
                if *negated {
                    format!("NOT {test}")
                } else {
                    test
                }
            }
            Expr::Call(name, args) => match name.as_str() {
                "begins_with"
                | "contains"
                | "attribute_type"
                | "attribute_exists"
                | "attribute_not_exists" => format!("{name}({})", self.args(args)?),
                "exists" => {
                    return Err(Error::validation(
                        "EXISTS can only be used in ExecuteTransaction write requests.",
                    ))
                }
                "size" => {
                    return Err(Error::validation(
                        "WHERE clause must contain an expression that resolves to a boolean",
                    ))
                }
                _ => return Err(Error::validation(format!("Unrecognized function: {name}"))),
            },
            _ => {
                return Err(Error::validation(
                    "WHERE clause must contain an expression that resolves to a boolean",
                ))
            }
        })
    }

    /// The right-hand side of `SET path = value`: a constant, a path, `a + b`, `a - b`,
    /// `list_append(a, b)` or `if_not_exists(path, value)`.
    pub fn set_value(&mut self, e: &Expr) -> Result<String> {
        match e {
            Expr::Arith(a, plus, b) => Ok(format!(
                "{} {} {}",
                self.set_value(a)?,
                if *plus { "+" } else { "-" },
                self.set_value(b)?
            )),
            Expr::Call(name, args) if name == "list_append" || name == "if_not_exists" => {
                let parts: Result<Vec<String>> = args.iter().map(|a| self.set_value(a)).collect();
                Ok(format!("{name}({})", parts?.join(", ")))
            }
            Expr::Call(name, _) if name != "size" => {
                Err(Error::validation(format!("Unrecognized function: {name}")))
            }
            Expr::Compare(..)
            | Expr::And(..)
            | Expr::Or(..)
            | Expr::Not(..)
            | Expr::Between(..)
            | Expr::In(..) => Err(unsupported(e)),
            Expr::Is(..) => Err(Error::validation(
                "IS operator is not supported in update expressions",
            )),
            _ => self.operand(e),
        }
    }
}

/// A comparison as a key condition: `path op constant` (either way round).
pub(crate) fn key_term(e: &Expr) -> Option<(&str, CompareOp, &Expr)> {
    let Expr::Compare(a, op, b) = e else {
        return None;
    };
    let flipped = match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => *other,
    };
    match (a.as_ref(), b.as_ref()) {
        (Expr::Path(p), v) if !matches!(v, Expr::Path(_) | Expr::Call(..)) => {
            p.attribute().map(|n| (n, *op, v))
        }
        (v, Expr::Path(p)) if !matches!(v, Expr::Path(_) | Expr::Call(..)) => {
            p.attribute().map(|n| (n, flipped, v))
        }
        _ => None,
    }
}

pub(crate) fn parameter_count() -> Error {
    Error::validation("Number of parameters in request and statement don't match.")
}

fn missing_in_value() -> Error {
    Error::validation("MISSING must be compared using IS operator")
}

fn unsupported(e: &Expr) -> Error {
    let what = match e {
        Expr::Arith(..) => "arithmetic",
        Expr::Compare(..) => "comparison",
        Expr::And(..) | Expr::Or(..) | Expr::Not(..) => "logical operator",
        Expr::Between(..) => "BETWEEN",
        Expr::In(..) => "IN",
        Expr::Is(..) => "IS",
        Expr::Call(name, _) => name.as_str(),
        _ => "expression",
    };
    Error::validation(format!("Unsupported operation: {what}"))
}
