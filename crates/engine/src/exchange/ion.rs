//! The Amazon Ion text form of items, as DynamoDB's exports write them and ImportTable reads
//! them.
//!
//! DynamoDB maps its types onto Ion as follows (the export output format page of the DynamoDB
//! developer guide): S → string, N → decimal, B → blob, BOOL → bool, NULL → `null`, M → struct,
//! L → list, and the sets → lists annotated `$dynamodb_SS`, `$dynamodb_NS`, `$dynamodb_BS`.
//! A data line is `{Item:{...}}`; a file starts with the `$ion_1_0` version marker.
//!
//! Only that subset of Ion text is read: structs, lists, strings (short form), symbols as field
//! names (identifiers and quoted), decimals and integers, blobs, `null`, `null.null`, booleans,
//! annotations and `//` or `/* */` comments. Anything else is a bad line, reported by the
//! importer like any other.

use std::collections::BTreeMap;

use base64::Engine as _;
use binderdb_model::{AttributeValue, Item, Number};

/// The version marker an Ion file starts with.
pub const VERSION_MARKER: &str = "$ion_1_0";

/// Appends `{Item:{...}}` (no newline) for `item`.
pub fn write_item(item: &Item, out: &mut String) {
    out.push_str("{Item:");
    write_struct(item, out);
    out.push('}');
}

/// Appends `item` as an Ion struct.
pub fn write_struct(item: &BTreeMap<String, AttributeValue>, out: &mut String) {
    out.push('{');
    for (i, (name, value)) in item.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_quoted(name, '\'', out);
        out.push(':');
        write_value(value, out);
    }
    out.push('}');
}

fn write_value(value: &AttributeValue, out: &mut String) {
    match value {
        AttributeValue::S(s) => write_quoted(s, '"', out),
        AttributeValue::N(n) => write_number(n, out),
        AttributeValue::B(b) => write_blob(b, out),
        AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttributeValue::Null => out.push_str("null"),
        AttributeValue::M(m) => write_struct(m, out),
        AttributeValue::L(l) => {
            out.push('[');
            for (i, v) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(v, out);
            }
            out.push(']');
        }
        AttributeValue::SS(set) => write_set("SS", set, out, |s, o| write_quoted(s, '"', o)),
        AttributeValue::NS(set) => write_set("NS", set, out, write_number),
        AttributeValue::BS(set) => write_set("BS", set, out, |b, o| write_blob(b, o)),
    }
}

fn write_set<T>(code: &str, members: &[T], out: &mut String, each: impl Fn(&T, &mut String)) {
    out.push_str("$dynamodb_");
    out.push_str(code);
    out.push_str("::[");
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(m, out);
    }
    out.push(']');
}

/// An Ion decimal: DynamoDB's plain notation, with a `.` so that it never reads as an integer.
fn write_number(n: &Number, out: &mut String) {
    let text = n.to_string();
    out.push_str(&text);
    if !text.contains('.') {
        out.push('.');
    }
}

fn write_blob(b: &[u8], out: &mut String) {
    out.push_str("{{");
    out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
    out.push_str("}}");
}

fn write_quoted(s: &str, quote: char, out: &mut String) {
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Why a line of Ion text is not an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IonError(pub String);

/// A value of the Ion subset read here, before DynamoDB's rules are applied.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Blob(Vec<u8>),
    List(Vec<Value>, Option<String>),
    Struct(Vec<(String, Value)>),
}

/// Reads one line: optionally the version marker, then `{Item:{...}}`. `Ok(None)` for a line
/// holding nothing but the marker, whitespace or comments.
///
/// # Errors
/// An [`IonError`] naming the first problem.
pub fn read_item(line: &str) -> Result<Option<Item>, IonError> {
    let mut p = Parser {
        s: line.as_bytes(),
        i: 0,
    };
    p.skip_space();
    if p.rest().starts_with(VERSION_MARKER.as_bytes()) {
        p.i += VERSION_MARKER.len();
        p.skip_space();
    }
    if p.i == p.s.len() {
        return Ok(None);
    }
    let top = p.value(0)?;
    p.skip_space();
    if p.i != p.s.len() {
        return Err(IonError("more than one value on the line".to_owned()));
    }
    let Value::Struct(fields) = top else {
        return Err(IonError("the line is not a struct".to_owned()));
    };
    let mut item = None;
    for (name, value) in fields {
        match (name.as_str(), value) {
            ("Item", Value::Struct(attrs)) if item.is_none() => item = Some(to_item(attrs)?),
            _ => return Err(IonError(format!("unexpected field {name}"))),
        }
    }
    item.map(Some)
        .ok_or_else(|| IonError("the struct has no Item".to_owned()))
}

fn to_item(fields: Vec<(String, Value)>) -> Result<Item, IonError> {
    let mut item = Item::new();
    for (name, value) in fields {
        if item.insert(name.clone(), to_attribute(value)?).is_some() {
            return Err(IonError(format!("duplicate attribute {name}")));
        }
    }
    Ok(item)
}

fn number(text: &str) -> Result<Number, IonError> {
    // Ion writes a decimal's exponent with `d`; DynamoDB's parser takes `e`.
    let mut t = text.replace(['d', 'D'], "e").replace('_', "");
    if let Some(i) = t.find(".e") {
        t.remove(i);
    }
    if t.ends_with('.') {
        t.pop();
    }
    Number::parse(&t).map_err(|e| IonError(format!("number {text}: {e}")))
}

fn to_attribute(value: Value) -> Result<AttributeValue, IonError> {
    Ok(match value {
        Value::Null => AttributeValue::Null,
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::Number(t) => AttributeValue::N(number(&t)?),
        Value::String(s) => AttributeValue::S(s),
        Value::Blob(b) => AttributeValue::B(b),
        Value::Struct(fields) => AttributeValue::M(to_item(fields)?),
        Value::List(members, None) => AttributeValue::L(
            members
                .into_iter()
                .map(to_attribute)
                .collect::<Result<_, _>>()?,
        ),
        Value::List(members, Some(annotation)) => {
            let bad = || IonError(format!("a member of {annotation} has the wrong type"));
            match annotation.as_str() {
                "$dynamodb_SS" => AttributeValue::SS(
                    members
                        .into_iter()
                        .map(|m| match m {
                            Value::String(s) => Ok(s),
                            _ => Err(bad()),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                "$dynamodb_NS" => AttributeValue::NS(
                    members
                        .into_iter()
                        .map(|m| match m {
                            Value::Number(t) => number(&t),
                            _ => Err(bad()),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                "$dynamodb_BS" => AttributeValue::BS(
                    members
                        .into_iter()
                        .map(|m| match m {
                            Value::Blob(b) => Ok(b),
                            _ => Err(bad()),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                other => return Err(IonError(format!("unknown annotation {other}"))),
            }
        }
    })
}

/// Nesting deeper than DynamoDB allows is refused before it can exhaust the stack.
const MAX_DEPTH: usize = 40;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &[u8] {
        self.s.get(self.i..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn fail<T>(&self, what: &str) -> Result<T, IonError> {
        Err(IonError(format!("{what} at byte {}", self.i)))
    }

    fn skip_space(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.i += 1,
                Some(b'/') if self.rest().starts_with(b"//") => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.i += 1;
                    }
                }
                Some(b'/') if self.rest().starts_with(b"/*") => {
                    self.i += 2;
                    while self.i < self.s.len() && !self.rest().starts_with(b"*/") {
                        self.i += 1;
                    }
                    self.i = (self.i + 2).min(self.s.len());
                }
                _ => return,
            }
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), IonError> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            self.fail(&format!("expected '{}'", c as char))
        }
    }

    fn word(&mut self) -> &str {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'.' || c == b'+' || c == b'-')
        {
            self.i += 1;
        }
        std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default()).unwrap_or_default()
    }

    fn value(&mut self, depth: usize) -> Result<Value, IonError> {
        if depth > MAX_DEPTH {
            return self.fail("nesting too deep");
        }
        self.skip_space();
        let mut annotation = None;
        // `name::` annotations (the sets'); only the last one is kept.
        loop {
            let save = self.i;
            let name = match self.peek() {
                Some(b'\'') if !self.rest().starts_with(b"'''") => Some(self.quoted(b'\'')?),
                Some(c) if c.is_ascii_alphabetic() || c == b'$' || c == b'_' => {
                    Some(self.word().to_owned())
                }
                _ => None,
            };
            match name {
                Some(n) if self.rest().starts_with(b"::") => {
                    self.i += 2;
                    self.skip_space();
                    annotation = Some(n);
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        let value = match self.peek() {
            Some(b'{') if self.rest().starts_with(b"{{") => self.blob()?,
            Some(b'{') => self.structure(depth)?,
            Some(b'[') => {
                self.i += 1;
                let mut members = Vec::new();
                self.skip_space();
                if self.peek() == Some(b']') {
                    self.i += 1;
                } else {
                    loop {
                        members.push(self.value(depth + 1)?);
                        self.skip_space();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return self.fail("expected ',' or ']'"),
                        }
                    }
                }
                return Ok(Value::List(members, annotation));
            }
            Some(b'"') => Value::String(self.quoted(b'"')?),
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                let w = self.word().to_owned();
                if w.contains(['e', 'E']) || w.contains("nan") || w.contains("inf") {
                    // Ion floats are binary: DynamoDB never writes one for a number.
                    return self.fail("a float is not a DynamoDB number");
                }
                Value::Number(w)
            }
            Some(c) if c.is_ascii_alphabetic() => match self.word() {
                "null" | "null.null" => Value::Null,
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return self.fail("unexpected symbol"),
            },
            _ => return self.fail("expected a value"),
        };
        if annotation.is_some() {
            return self.fail("annotation on a value that is not a list");
        }
        Ok(value)
    }

    fn structure(&mut self, depth: usize) -> Result<Value, IonError> {
        self.i += 1;
        let mut fields = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Struct(fields));
        }
        loop {
            self.skip_space();
            let name = match self.peek() {
                Some(b'"') => self.quoted(b'"')?,
                Some(b'\'') => self.quoted(b'\'')?,
                Some(c) if c.is_ascii_alphabetic() || c == b'$' || c == b'_' => {
                    self.word().to_owned()
                }
                _ => return self.fail("expected a field name"),
            };
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            fields.push((name, value));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Struct(fields));
                }
                _ => return self.fail("expected ',' or '}'"),
            }
        }
    }

    fn blob(&mut self) -> Result<Value, IonError> {
        self.i += 2;
        let start = self.i;
        while self.i < self.s.len() && !self.rest().starts_with(b"}}") {
            self.i += 1;
        }
        if self.i >= self.s.len() {
            return self.fail("unterminated blob");
        }
        let text: Vec<u8> = self
            .s
            .get(start..self.i)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        self.i += 2;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Value::Blob)
            .map_err(|e| IonError(format!("blob: {e}")))
    }

    fn quoted(&mut self, quote: u8) -> Result<String, IonError> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.fail("unterminated string");
            };
            self.i += 1;
            if c == quote {
                break;
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                return self.fail("unterminated escape");
            };
            self.i += 1;
            let code = |p: &mut Self, n: usize| -> Result<char, IonError> {
                let hex = p.s.get(p.i..p.i + n).unwrap_or_default();
                p.i += n;
                std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                    .ok_or_else(|| IonError("bad escape".to_owned()))
            };
            let ch = match e {
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'0' => '\0',
                b'a' => '\x07',
                b'b' => '\x08',
                b'f' => '\x0c',
                b'v' => '\x0b',
                b'x' => code(self, 2)?,
                b'u' => code(self, 4)?,
                b'U' => code(self, 8)?,
                b'\\' | b'"' | b'\'' | b'/' | b'?' => e as char,
                _ => return self.fail("unknown escape"),
            };
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
        String::from_utf8(out).map_err(|_| IonError("string is not UTF-8".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(s).unwrap())
    }

    #[test]
    fn every_type_round_trips() {
        let mut inner = BTreeMap::new();
        inner.insert(
            "x".to_owned(),
            AttributeValue::L(vec![n("1"), AttributeValue::Null]),
        );
        let mut item = Item::new();
        item.insert(
            "s'q".to_owned(),
            AttributeValue::S("a\"b\\c\n\u{1}é".to_owned()),
        );
        item.insert("n".to_owned(), n("-12.5e-3"));
        item.insert("big".to_owned(), n("1e100"));
        item.insert("b".to_owned(), AttributeValue::B(vec![0, 1, 255]));
        item.insert("t".to_owned(), AttributeValue::Bool(true));
        item.insert("m".to_owned(), AttributeValue::M(inner));
        item.insert(
            "ss".to_owned(),
            AttributeValue::SS(vec!["a".into(), "b".into()]),
        );
        item.insert(
            "ns".to_owned(),
            AttributeValue::NS(vec![Number::parse("3").unwrap()]),
        );
        item.insert("bs".to_owned(), AttributeValue::BS(vec![vec![7], vec![]]));
        let mut line = String::from(VERSION_MARKER);
        line.push(' ');
        write_item(&item, &mut line);
        assert_eq!(read_item(&line).unwrap(), Some(item));
    }

    #[test]
    fn reads_what_dynamodb_documents() {
        let line = r#"$ion_1_0 {Item:{'Authors':$dynamodb_SS::["Author1","Author2"],'Id':103.,Price:2d1,"InStock":false,Pic:{{AAE=}}}}"#;
        let item = read_item(line).unwrap().unwrap();
        assert_eq!(item["Id"], n("103"));
        assert_eq!(item["Price"], n("20"));
        assert_eq!(item["Pic"], AttributeValue::B(vec![0, 1]));
        assert_eq!(read_item("  $ion_1_0  ").unwrap(), None);
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for bad in [
            "{Item:{a:1e0}}",
            "{Item:{a:}}",
            "{Item:{a:\"x}}",
            "{Other:{}}",
            "[1]",
            "{Item:{a:$dynamodb_SS::[1]}}",
            "{Item:{a:{{@@}}}}",
            "{Item:{}} {Item:{}}",
            &format!("{{Item:{{a:{}1{}}}}}", "[".repeat(100), "]".repeat(100)),
        ] {
            assert!(read_item(bad).is_err(), "{bad}");
        }
    }
}
