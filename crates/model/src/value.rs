//! DynamoDB attribute values and items, and their validation from the wire form.
//!
//! [`AttributeValue`] is the validated value the engine works with; [`WireValue`] is what
//! serde read. [`AttributeValue::from_wire`] applies DynamoDB's semantic rules and reports
//! the first problem with DynamoDB's exact `ValidationException` text ([`ValueError`]).
//!
//! Check order (dynalite `validateAttributeValue`, recorded against DynamoDB): no type at
//! all → empty; then each type that is present, in the order S, N, B, SS, NS, BS, M, L,
//! NULL, BOOL (number syntax/range, empty sets, set members, duplicates, nested values);
//! only then "more than one datatypes". Nesting is checked as values are entered.
//!
//! Empty `S`/`B` values (and empty strings inside sets) are valid here: DynamoDB allows
//! them outside keys, and key rules belong to the engine.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq};

use crate::number::{Number, NumberError};
use crate::wire::{Blob, WireValue};

/// An item: attribute names to values, in name order.
pub type Item = BTreeMap<String, AttributeValue>;

/// The deepest level a value may sit at: the attribute itself is level 1, so a top-level
/// attribute can wrap 31 levels of `M`/`L` around a scalar (AWS: 32 levels of nesting).
pub const MAX_NESTING_DEPTH: usize = 32;

/// A validated DynamoDB attribute value.
///
/// Sets keep the client's order (DynamoDB returns them in an unspecified order) and hold
/// no duplicates. Derived equality is structural and order-sensitive for sets; use
/// [`AttributeValue::semantic_eq`] for DynamoDB's comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    /// String.
    S(String),
    /// Number.
    N(Number),
    /// Binary.
    B(Vec<u8>),
    /// String set (non-empty, no duplicates).
    SS(Vec<String>),
    /// Number set (non-empty, no numerically equal members).
    NS(Vec<Number>),
    /// Binary set (non-empty, no duplicates).
    BS(Vec<Vec<u8>>),
    /// Map.
    M(BTreeMap<String, AttributeValue>),
    /// List.
    L(Vec<AttributeValue>),
    /// `{"NULL": true}`.
    Null,
    /// Boolean.
    Bool(bool),
}

/// Why a [`WireValue`] is not a valid attribute value.
///
/// `Display` is the exact DynamoDB `ValidationException` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// An attribute name (of the item or inside a map) that is empty. DynamoDB's wording, as
    /// its ExpressionAttributeNames check quotes it ("... invalid value: Empty attribute name
    /// for key #a", recorded from DynamoDB) and DynamoDB Local's shared error catalog lists it.
    #[error("Empty attribute name")]
    EmptyName,
    /// An attribute name of 64 KB or more (65535 bytes is the longest DynamoDB accepts, as
    /// ScyllaDB's Alternator tests recorded against DynamoDB; wording from DynamoDB Local's
    /// shared error catalog).
    #[error("Attribute name is too large, must be less than 65536 bytes")]
    NameTooLong,
    /// No type field set (`{}`, `{"X": 1}`, `null`).
    #[error(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
    )]
    Empty,
    /// Two or more type fields set, each valid on its own.
    #[error("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")]
    MultipleTypes,
    /// `{"NULL": false}`.
    #[error("One or more parameter values were invalid: Null attribute value types must have the value of true")]
    NullNotTrue,
    /// `{"SS": []}` (DynamoDB's wording, double space included).
    #[error("One or more parameter values were invalid: An string set  may not be empty")]
    EmptyStringSet,
    /// `{"NS": []}`.
    #[error("One or more parameter values were invalid: An number set  may not be empty")]
    EmptyNumberSet,
    /// `{"BS": []}`.
    #[error("One or more parameter values were invalid: Binary sets should not be empty")]
    EmptyBinarySet,
    /// A string set with a repeated member; holds the whole set as sent.
    #[error("One or more parameter values were invalid: Input collection [{}] contains duplicates.", .0.join(", "))]
    DuplicateStrings(Vec<String>),
    /// A number set with numerically equal members (`"1"` and `"1.0"` are duplicates).
    #[error("Input collection contains duplicates")]
    DuplicateNumbers,
    /// A binary set with a repeated member; holds the members as base64 (no space before
    /// "of" is DynamoDB's).
    #[error("One or more parameter values were invalid: Input collection [{}]of type BS contains duplicates.", .0.join(", "))]
    DuplicateBinaries(Vec<String>),
    /// A bad `N` or `NS` member anywhere in the value.
    #[error(transparent)]
    Number(#[from] NumberError),
    /// A value deeper than [`MAX_NESTING_DEPTH`].
    #[error("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit")]
    NestingTooDeep,
}

impl AttributeValue {
    /// Validates a wire value (see the module docs for rules and order).
    ///
    /// # Errors
    /// The first [`ValueError`] DynamoDB would report.
    pub fn from_wire(w: WireValue) -> Result<AttributeValue, ValueError> {
        from_wire_at(w, 1)
    }

    /// DynamoDB's type code: `"S"`, `"N"`, `"B"`, `"SS"`, `"NS"`, `"BS"`, `"M"`, `"L"`,
    /// `"NULL"` or `"BOOL"`.
    pub fn type_code(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::SS(_) => "SS",
            AttributeValue::NS(_) => "NS",
            AttributeValue::BS(_) => "BS",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Null => "NULL",
            AttributeValue::Bool(_) => "BOOL",
        }
    }

    /// The level count of this value: 1 for scalars, sets and empty containers, otherwise
    /// 1 + the deepest child. Values built by updates must stay within
    /// [`MAX_NESTING_DEPTH`].
    pub fn nesting_depth(&self) -> usize {
        match self {
            AttributeValue::M(m) => 1 + m.values().map(Self::nesting_depth).max().unwrap_or(0),
            AttributeValue::L(l) => 1 + l.iter().map(Self::nesting_depth).max().unwrap_or(0),
            _ => 1,
        }
    }

    /// DynamoDB equality: as `==`, except that sets compare as sets (order ignored).
    pub fn semantic_eq(&self, other: &AttributeValue) -> bool {
        fn same_set<T: Ord + Clone>(a: &[T], b: &[T]) -> bool {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort();
            b.sort();
            a == b
        }
        match (self, other) {
            (AttributeValue::SS(a), AttributeValue::SS(b)) => same_set(a, b),
            (AttributeValue::NS(a), AttributeValue::NS(b)) => same_set(a, b),
            (AttributeValue::BS(a), AttributeValue::BS(b)) => same_set(a, b),
            (AttributeValue::M(a), AttributeValue::M(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.semantic_eq(w)))
            }
            (AttributeValue::L(a), AttributeValue::L(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(v, w)| v.semantic_eq(w))
            }
            _ => self == other,
        }
    }

    /// The string of an `S` value.
    pub fn as_s(&self) -> Option<&str> {
        match self {
            AttributeValue::S(s) => Some(s),
            _ => None,
        }
    }

    /// The number of an `N` value.
    pub fn as_n(&self) -> Option<&Number> {
        match self {
            AttributeValue::N(n) => Some(n),
            _ => None,
        }
    }

    /// The bytes of a `B` value.
    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            AttributeValue::B(b) => Some(b),
            _ => None,
        }
    }
}

/// Validates every attribute of an item sent on the wire.
///
/// Takes any `(name, value)` collection (`HashMap` or `BTreeMap`). Attributes are checked
/// in iteration order and the first error is returned.
///
/// # Errors
/// The first [`ValueError`] found.
pub fn item_from_wire<I>(m: I) -> Result<Item, ValueError>
where
    I: IntoIterator<Item = (String, WireValue)>,
{
    m.into_iter()
        .map(|(k, v)| {
            check_name(&k)?;
            Ok((k, AttributeValue::from_wire(v)?))
        })
        .collect()
}

/// The longest attribute name DynamoDB accepts, in bytes.
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 65535;

/// Refuses an attribute name DynamoDB refuses: empty, or longer than
/// [`MAX_ATTRIBUTE_NAME_BYTES`]. Checked while the item is read, so a bad name is refused
/// before any condition is evaluated.
///
/// # Errors
/// [`ValueError::EmptyName`] or [`ValueError::NameTooLong`].
pub fn check_name(name: &str) -> Result<(), ValueError> {
    if name.is_empty() {
        Err(ValueError::EmptyName)
    } else if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
        Err(ValueError::NameTooLong)
    } else {
        Ok(())
    }
}

fn base64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn from_wire_at(w: WireValue, depth: usize) -> Result<AttributeValue, ValueError> {
    if depth > MAX_NESTING_DEPTH {
        return Err(ValueError::NestingTooDeep);
    }
    let present = [
        w.s.is_some(),
        w.n.is_some(),
        w.b.is_some(),
        w.ss.is_some(),
        w.ns.is_some(),
        w.bs.is_some(),
        w.m.is_some(),
        w.l.is_some(),
        w.null.is_some(),
        w.bool.is_some(),
    ]
    .into_iter()
    .filter(|p| *p)
    .count();
    if present == 0 {
        return Err(ValueError::Empty);
    }
    let mut value = None;
    if let Some(s) = w.s {
        value = Some(AttributeValue::S(s));
    }
    if let Some(n) = w.n {
        value = Some(AttributeValue::N(Number::parse(&n)?));
    }
    if let Some(Blob(b)) = w.b {
        value = Some(AttributeValue::B(b));
    }
    if let Some(ss) = w.ss {
        value = Some(string_set(ss)?);
    }
    if let Some(ns) = w.ns {
        value = Some(number_set(&ns)?);
    }
    if let Some(bs) = w.bs {
        value = Some(binary_set(bs)?);
    }
    if let Some(m) = w.m {
        let mut out = BTreeMap::new();
        for (k, v) in m {
            check_name(&k)?;
            out.insert(k, from_wire_at(v, depth + 1)?);
        }
        value = Some(AttributeValue::M(out));
    }
    if let Some(l) = w.l {
        let out = l
            .into_iter()
            .map(|v| from_wire_at(v, depth + 1))
            .collect::<Result<_, _>>()?;
        value = Some(AttributeValue::L(out));
    }
    if let Some(null) = w.null {
        if !null {
            return Err(ValueError::NullNotTrue);
        }
        value = Some(AttributeValue::Null);
    }
    if let Some(b) = w.bool {
        value = Some(AttributeValue::Bool(b));
    }
    match value {
        Some(v) if present == 1 => Ok(v),
        _ => Err(ValueError::MultipleTypes),
    }
}

fn string_set(ss: Vec<String>) -> Result<AttributeValue, ValueError> {
    if ss.is_empty() {
        return Err(ValueError::EmptyStringSet);
    }
    let mut seen = HashSet::with_capacity(ss.len());
    if !ss.iter().all(|s| seen.insert(s.as_str())) {
        return Err(ValueError::DuplicateStrings(ss));
    }
    Ok(AttributeValue::SS(ss))
}

fn number_set(ns: &[String]) -> Result<AttributeValue, ValueError> {
    if ns.is_empty() {
        return Err(ValueError::EmptyNumberSet);
    }
    // Every member is parsed before duplicates are looked for, as DynamoDB does.
    let numbers = ns
        .iter()
        .map(|s| Number::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = HashSet::with_capacity(numbers.len());
    if !numbers.iter().all(|n| seen.insert(n)) {
        return Err(ValueError::DuplicateNumbers);
    }
    Ok(AttributeValue::NS(numbers))
}

fn binary_set(bs: Vec<Blob>) -> Result<AttributeValue, ValueError> {
    if bs.is_empty() {
        return Err(ValueError::EmptyBinarySet);
    }
    let mut seen = HashSet::with_capacity(bs.len());
    if !bs.iter().all(|b| seen.insert(b.0.as_slice())) {
        return Err(ValueError::DuplicateBinaries(
            bs.iter().map(|b| base64(&b.0)).collect(),
        ));
    }
    Ok(AttributeValue::BS(bs.into_iter().map(|b| b.0).collect()))
}

/// Serialises a list of byte strings as base64 strings.
struct Base64List<'a>(&'a [Vec<u8>]);

impl serde::Serialize for Base64List<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for b in self.0 {
            seq.serialize_element(&base64(b))?;
        }
        seq.end()
    }
}

impl serde::Serialize for AttributeValue {
    /// DynamoDB's JSON form: `{"S":"x"}`, `{"N":"1"}` (normalised), `{"B":"<base64>"}`,
    /// sets in stored order, `{"NULL":true}`, `{"BOOL":false}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        let code = self.type_code();
        match self {
            AttributeValue::S(v) => map.serialize_entry(code, v)?,
            AttributeValue::N(n) => map.serialize_entry(code, n)?,
            AttributeValue::B(b) => map.serialize_entry(code, &base64(b))?,
            AttributeValue::SS(v) => map.serialize_entry(code, v)?,
            AttributeValue::NS(v) => map.serialize_entry(code, v)?,
            AttributeValue::BS(v) => map.serialize_entry(code, &Base64List(v))?,
            AttributeValue::M(m) => map.serialize_entry(code, m)?,
            AttributeValue::L(l) => map.serialize_entry(code, l)?,
            AttributeValue::Null => map.serialize_entry(code, &true)?,
            AttributeValue::Bool(b) => map.serialize_entry(code, b)?,
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for AttributeValue {
    /// Reads DynamoDB JSON and validates it with [`AttributeValue::from_wire`]; a
    /// validation failure becomes a custom deserialisation error with the same text.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = <WireValue as serde::Deserialize>::deserialize(d)?;
        AttributeValue::from_wire(w).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "value_tests.rs"]
mod tests;
