//! Resource-based policy documents as DynamoDB checks and stores them: [`canonical_policy`] is
//! the one function every path that stores a policy calls (PutResourcePolicy on a table or a
//! stream, CreateTable's `ResourcePolicy`), and [`readable_policy`] is what GetResourcePolicy
//! shows of a stored one.
//!
//! DynamoDB keeps a canonical form of the document, not the text it was sent (the
//! ack-api-quirks lab's DDB-TABLE-208, 351 to 355), and decides whether a re-Put changes
//! anything on that form (DDB-TABLE-207):
//! - minified: no whitespace outside strings; escapes decoded (`"\u0056"` reads back as `"V"`),
//!   strings re-escaped only where JSON requires it;
//! - keys in IAM's order: `Version`, `Id`, `Statement` at the top; `Sid`, `Effect`,
//!   `Principal`, `NotPrincipal`, `Action`, `NotAction`, `Resource`, `NotResource`,
//!   `Condition` in a statement (DDB-TABLE-351). Members IAM does not define keep the order
//!   they were sent in, after those (binderdb's choice: the findings never sent one);
//! - `Statement` as an object becomes a one-element list; `Effect` is title-cased (`allow` reads
//!   back as `Allow`, DDB-TABLE-355); an absent `Sid` stays absent;
//! - a one-element list becomes its element in `Action`, `NotAction`, `Resource`,
//!   `NotResource`, in each `Condition` value and in each `Principal` value; longer lists are
//!   kept as sent, in order and with duplicates (DDB-TABLE-353);
//! - in `Principal` (and `NotPrincipal`), a 12-digit account id under `AWS` becomes
//!   `arn:aws:iam::<id>:root`, and each principal list loses its duplicates (after that
//!   rewrite) before the one-element rule (DDB-TABLE-352). The other principal types (`Service`,
//!   `Federated`, `CanonicalUser`) get the de-duplication and the one-element rule only, and a
//!   principal map keeps its keys in the order sent (the findings only used `AWS`);
//! - numbers, booleans and `null` keep the text they were sent as.
//!
//! `Version` is the exception: an absent `Version` stays absent in the canonical form, so a
//! document sent without one and the same document with `"Version":"2008-10-17"` are different
//! documents to the re-Put check, while GetResourcePolicy shows IAM's default `2008-10-17` for
//! both (DDB-TABLE-354: the Get output of a Version-less document is a change when re-Put).
//!
//! The 20,480-byte limit applies to the text as sent, before canonicalisation: whitespace
//! counts (DDB-TABLE-211: a 21,504-byte padded document is refused, a 19,456-byte one is
//! accepted and reads back as 228 bytes).
//!
//! Refusals, in the order binderdb checks them (the findings record the texts but not how they
//! rank against each other; this order follows a parser: size, JSON, document shape, syntax,
//! required fields, document-wide rules, then DynamoDB's own guardrail):
//! 1. more than [`MAX_POLICY_BYTES`] bytes: "Maximum policy size of 20480 bytes exceeded";
//! 2. not JSON (or not an object): "This policy contains invalid Json"; `null`: "This text
//!    appears not to be a policy";
//! 3. no `Statement`: "Missing required field Statement"; an empty list: "Could not parse the
//!    policy: Statement is empty!";
//! 4. a `Principal` or `NotPrincipal` that is neither `"*"` nor an object (a bare account id,
//!    DDB-TABLE-352/356): "Syntax error at position (<line>,<column>)", the 1-based line and
//!    column (in characters) of the first character of the offending value in the text as
//!    sent. The findings show one such position, (1,94), without the document that produced
//!    it, so which character the position names is binderdb's choice, not an observed rule;
//! 5. per statement, in order: no `Effect`: "Missing required field Effect"; neither `Resource`
//!    nor `NotResource`: "Missing required field Resource" (DDB-TABLE-211);
//! 6. two statements with one `Sid`: "The Statement Ids in the policy are not unique"
//!    (DDB-TABLE-356);
//! 7. an `Allow` to everyone (`Principal` `"*"`, or `"*"` among its `AWS` principals):
//!    "Resource-based policy grants unbounded access in one or more elements. Please revise
//!    the policy to ensure least-privilege form of access" (DDB-TABLE-352/356), without the
//!    "One or more parameter values were invalid" prefix. A `Deny` to everyone is accepted
//!    (DDB-TABLE-210). The findings did not try a condition; following DynamoDB's documented
//!    Block Public Access rule, an `Allow` to everyone whose `Condition` restricts the caller by
//!    one of the trusted keys (`aws:PrincipalAccount`, `aws:SourceVpc`, ...) under a
//!    non-negated operator, with values free of wildcards and policy variables, is accepted.
//!
//! Texts 2 to 6 read "One or more parameter values were invalid: Invalid policy document: ...",
//! all are `ValidationException`s. Not checked, because only IAM knows: whether the principals
//! exist ("Invalid principal in policy document."). Not checked either, because the findings
//! record them truncated or without the rule that orders them: action names invalid for the
//! resource ("The following action names are invalid: ...", e.g. stream actions in a table's
//! policy) and a `Resource` of another kind than the policy's resource ("The relative-id ... is
//! invalid for ARN ...").
//!
//! Must not depend on: HTTP.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::resource::MAX_POLICY_BYTES;

/// The `Version` GetResourcePolicy shows for a document sent without one (IAM's default).
const DEFAULT_VERSION: &str = "2008-10-17";

/// Condition keys that make an `Allow` to everyone non-public (DynamoDB's Block Public Access).
const TRUSTED_CONDITION_KEYS: [&str; 15] = [
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:UserId",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
    "aws:PrincipalIsAWSService",
    "aws:Ec2InstanceSourceVpc",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
];

/// Checks `document` as PutResourcePolicy does and returns its canonical form (see the module
/// docs): what binderdb stores and compares.
///
/// # Errors
/// `ValidationException` with DynamoDB's text for the first refusal in the module docs' order.
pub(crate) fn canonical_policy(document: &str) -> Result<String> {
    if document.len() > MAX_POLICY_BYTES {
        return Err(Error::invalid_parameter(format!(
            "Maximum policy size of {MAX_POLICY_BYTES} bytes exceeded"
        )));
    }
    let root = parse(document).ok_or_else(|| bad("This policy contains invalid Json"))?;
    let mut members = match root.json {
        Json::Object(members) => members,
        Json::Null => return Err(bad("This text appears not to be a policy")),
        _ => return Err(bad("This policy contains invalid Json")),
    };
    let statements = match take(&mut members, "Statement") {
        Some(Node {
            json: Json::Array(list),
            ..
        }) => list,
        Some(
            one @ Node {
                json: Json::Object(_),
                ..
            },
        ) => vec![one],
        Some(_) => return Err(bad("This policy contains invalid Json")),
        None => return Err(bad("Missing required field Statement")),
    };
    if statements.is_empty() {
        return Err(bad("Could not parse the policy: Statement is empty!"));
    }
    for principal in statements
        .iter()
        .flat_map(|s| [field(s, "Principal"), field(s, "NotPrincipal")])
        .flatten()
    {
        if !matches!(&principal.json, Json::Object(_)) && !is_star(principal) {
            let (line, column) = position(document, principal.at);
            return Err(bad(&format!("Syntax error at position ({line},{column})")));
        }
    }
    for s in &statements {
        if field(s, "Effect").is_none() {
            return Err(bad("Missing required field Effect"));
        }
        if field(s, "Resource").is_none() && field(s, "NotResource").is_none() {
            return Err(bad("Missing required field Resource"));
        }
    }
    let mut sids = HashSet::new();
    for s in &statements {
        if let Some(Json::String(sid)) = field(s, "Sid").map(|n| &n.json) {
            if !sids.insert(sid.as_str()) {
                return Err(bad("The Statement Ids in the policy are not unique"));
            }
        }
    }
    let statements: Vec<Node> = statements.into_iter().map(canonical_statement).collect();
    if statements.iter().any(grants_everyone) {
        return Err(Error::validation(
            "Resource-based policy grants unbounded access in one or more elements. Please \
             revise the policy to ensure least-privilege form of access",
        ));
    }
    members.push(("Statement".to_owned(), node(Json::Array(statements))));
    let root = Json::Object(ordered(members, &["Version", "Id", "Statement"]));
    let mut out = String::with_capacity(document.len().min(MAX_POLICY_BYTES));
    write(&root, &mut out);
    Ok(out)
}

/// The document GetResourcePolicy shows for the canonical form `stored`: the same, with IAM's
/// default `Version` first when it has none (DDB-TABLE-354). A document stored before binderdb
/// canonicalised is shown as it was sent, with the same default.
pub(crate) fn readable_policy(stored: &str) -> String {
    let versioned = parse(stored).is_some_and(|root| field(&root, "Version").is_some());
    match stored.trim_start().strip_prefix('{') {
        Some(rest) if !versioned => {
            let separator = if rest.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            format!("{{\"Version\":\"{DEFAULT_VERSION}\"{separator}{rest}")
        }
        _ => stored.to_owned(),
    }
}

fn bad(what: &str) -> Error {
    Error::invalid_parameter(format!("Invalid policy document: {what}"))
}

/// A JSON value with its object members in document order.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    /// A number, as the text it was sent as.
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// A value and the byte offset of its first character in the document.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    json: Json,
    at: usize,
}

/// A value made here rather than read (it has no place in the document).
fn node(json: Json) -> Node {
    Node { json, at: 0 }
}

/// Parses `text` as JSON, keeping member order and offsets. serde_json decides what is JSON
/// (and bounds the nesting depth, so the recursion below is bounded too); the walk after it
/// only records what serde_json's `Value` would forget. A repeated member keeps its first
/// place and its last value, as serde_json keeps the last.
fn parse(text: &str) -> Option<Node> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    parser.value()
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_whitespace(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let hit = self.bytes.get(self.pos) == Some(&byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn literal(&mut self, word: &str, json: Json) -> Option<Json> {
        let end = self.pos + word.len();
        (self.text.get(self.pos..end)? == word).then(|| {
            self.pos = end;
            json
        })
    }

    fn value(&mut self) -> Option<Node> {
        self.skip_whitespace();
        let at = self.pos;
        let json = match *self.bytes.get(self.pos)? {
            b'{' => {
                self.pos += 1;
                let mut members: Vec<(String, Node)> = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_whitespace();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        let value = self.value()?;
                        match members.iter_mut().find(|(k, _)| *k == key) {
                            Some(slot) => slot.1 = value,
                            None => members.push((key, value)),
                        }
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Json::Object(members)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Json::Array(items)
            }
            b'"' => Json::String(self.string()?),
            b't' => self.literal("true", Json::Bool(true))?,
            b'f' => self.literal("false", Json::Bool(false))?,
            b'n' => self.literal("null", Json::Null)?,
            _ => {
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                {
                    self.pos += 1;
                }
                if self.pos == at {
                    return None;
                }
                Json::Number(self.text.get(at..self.pos)?.to_owned())
            }
        };
        Some(Node { json, at })
    }

    /// A string token, decoded by serde_json (escapes, surrogate pairs).
    fn string(&mut self) -> Option<String> {
        let start = self.pos;
        if self.bytes.get(start) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        loop {
            match *self.bytes.get(self.pos)? {
                b'\\' => self.pos += 2,
                b'"' => break,
                _ => self.pos += 1,
            }
        }
        self.pos += 1;
        serde_json::from_str(self.text.get(start..self.pos)?).ok()
    }
}

/// 1-based line and column (in characters) of byte offset `at` of `text`.
fn position(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// The member `key` of `n` when `n` is an object.
fn field<'n>(n: &'n Node, key: &str) -> Option<&'n Node> {
    match &n.json {
        Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// Removes and returns the member `key`.
fn take(members: &mut Vec<(String, Node)>, key: &str) -> Option<Node> {
    let i = members.iter().position(|(k, _)| k == key)?;
    Some(members.remove(i).1)
}

/// `members` with the keys of `order` first, in that order, then the others as they came.
fn ordered(mut members: Vec<(String, Node)>, order: &[&str]) -> Vec<(String, Node)> {
    let mut out = Vec::with_capacity(members.len());
    for key in order {
        if let Some(value) = take(&mut members, key) {
            out.push(((*key).to_owned(), value));
        }
    }
    out.extend(members);
    out
}

fn is_star(n: &Node) -> bool {
    matches!(&n.json, Json::String(s) if s == "*")
}

/// A one-element list as its element; anything else as it is (DDB-TABLE-353).
fn collapse(n: Node) -> Node {
    match n.json {
        Json::Array(mut items) if items.len() == 1 => items.remove(0),
        json => Node { json, at: n.at },
    }
}

/// Applies `f` to each member value of an object; anything else as it is.
fn map_members(n: Node, f: impl Fn(&str, Node) -> Node) -> Node {
    match n.json {
        Json::Object(members) => node(Json::Object(
            members
                .into_iter()
                .map(|(k, v)| {
                    let v = f(&k, v);
                    (k, v)
                })
                .collect(),
        )),
        json => Node { json, at: n.at },
    }
}

fn canonical_statement(s: Node) -> Node {
    let Json::Object(members) = s.json else {
        return s;
    };
    let members = members
        .into_iter()
        .map(|(key, value)| {
            let value = match key.as_str() {
                "Effect" => canonical_effect(value),
                "Principal" | "NotPrincipal" => map_members(value, canonical_principals),
                "Action" | "NotAction" | "Resource" | "NotResource" => collapse(value),
                "Condition" => map_members(value, |_, operator| {
                    map_members(operator, |_, values| collapse(values))
                }),
                _ => value,
            };
            (key, value)
        })
        .collect();
    node(Json::Object(ordered(
        members,
        &[
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        ],
    )))
}

/// `allow` and `deny` in any case, title-cased (DDB-TABLE-355).
fn canonical_effect(effect: Node) -> Node {
    match &effect.json {
        Json::String(e) if e.eq_ignore_ascii_case("allow") => node(Json::String("Allow".into())),
        Json::String(e) if e.eq_ignore_ascii_case("deny") => node(Json::String("Deny".into())),
        _ => effect,
    }
}

/// One principal type's value: account ids as root ARNs (`AWS` only), duplicates dropped, one
/// left as a string (DDB-TABLE-352).
fn canonical_principals(kind: &str, value: Node) -> Node {
    let items = match value.json {
        Json::Array(items) => items,
        json @ Json::String(_) => vec![Node { json, at: value.at }],
        json => return Node { json, at: value.at },
    };
    let mut out: Vec<Node> = Vec::with_capacity(items.len());
    for item in items {
        let item = match item.json {
            Json::String(id)
                if kind == "AWS" && id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) =>
            {
                node(Json::String(format!("arn:aws:iam::{id}:root")))
            }
            json => Node { json, at: item.at },
        };
        if !out.iter().any(|seen| seen.json == item.json) {
            out.push(item);
        }
    }
    collapse(node(Json::Array(out)))
}

/// Whether the canonical statement `s` allows everyone without a condition that restricts
/// the caller (see the module docs, refusal 7).
fn grants_everyone(s: &Node) -> bool {
    let allows =
        field(s, "Effect").is_some_and(|e| matches!(&e.json, Json::String(e) if e == "Allow"));
    let everyone = field(s, "Principal").is_some_and(|p| {
        is_star(p)
            || field(p, "AWS").is_some_and(|aws| match &aws.json {
                Json::Array(items) => items.iter().any(is_star),
                _ => is_star(aws),
            })
    });
    allows && everyone && !field(s, "Condition").is_some_and(restricts_caller)
}

/// Whether a `Condition` block names a trusted key under a non-negated operator with concrete
/// values (DynamoDB's Block Public Access rule).
fn restricts_caller(condition: &Node) -> bool {
    let Json::Object(operators) = &condition.json else {
        return false;
    };
    operators.iter().any(|(operator, keys)| {
        let Json::Object(keys) = &keys.json else {
            return false;
        };
        let negated = operator.contains("Not") || operator == "Null";
        !negated
            && keys.iter().any(|(key, values)| {
                let Some(trusted) = TRUSTED_CONDITION_KEYS
                    .iter()
                    .find(|t| t.eq_ignore_ascii_case(key))
                else {
                    return false;
                };
                let values = match &values.json {
                    Json::Array(items) => items.iter().collect(),
                    _ => vec![values],
                };
                !values.is_empty()
                    && values.iter().all(|v| match &v.json {
                        Json::String(v) if *trusted == "aws:PrincipalIsAWSService" => {
                            v.eq_ignore_ascii_case("true")
                        }
                        Json::Bool(b) => *b && *trusted == "aws:PrincipalIsAWSService",
                        Json::String(v) => !v.contains(['*', '?']) && !v.contains("${"),
                        _ => false,
                    })
            })
    })
}

/// Minified JSON text of `json`.
fn write(json: &Json, out: &mut String) {
    match json {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(text) => out.push_str(text),
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(&item.json, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write(&value.json, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    // Serialising a string cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
#[path = "policy_document_tests.rs"]
mod tests;
