//! The JSON shape of an `AttributeValue` as DynamoDB's deserialiser sees it.
//!
//! [`WireValue`] is what serde reads from a request body before any semantic check: every
//! type field is optional, unknown fields are ignored and a JSON `null` field counts as
//! absent. Shape problems (a number where a string belongs, bad base64, a list where a
//! map belongs) fail deserialisation with DynamoDB's `SerializationException` texts, as
//! dynalite records them (`validations/index.js`, `checkType`). Semantic checks (exactly
//! one type, sets, numbers, nesting) happen in [`crate::value::AttributeValue::from_wire`].
//!
//! `serde_json` appends " at line L column C" to custom messages; [`serde_message`] strips
//! it so the server can return DynamoDB's bare text.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One attribute value exactly as the client sent it, before validation.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WireValue {
    /// `"S"`: a string.
    pub s: Option<String>,
    /// `"N"`: a number, still as text.
    pub n: Option<String>,
    /// `"B"`: base64-decoded binary.
    pub b: Option<Blob>,
    /// `"SS"`: a string set, as listed.
    pub ss: Option<Vec<String>>,
    /// `"NS"`: a number set, still as text.
    pub ns: Option<Vec<String>>,
    /// `"BS"`: a binary set, decoded.
    pub bs: Option<Vec<Blob>>,
    /// `"M"`: a map.
    pub m: Option<HashMap<String, WireValue>>,
    /// `"L"`: a list.
    pub l: Option<Vec<WireValue>>,
    /// `"NULL"`: must be `true` to be valid.
    pub null: Option<bool>,
    /// `"BOOL"`.
    pub bool: Option<bool>,
}

/// Binary data, deserialised from a standard (padded) base64 string.
///
/// Invalid base64 fails deserialisation with DynamoDB's `SerializationException` text,
/// e.g. `'abcde' can not be converted to a Blob: Base64 encoded length is expected a
/// multiple of 4 bytes but found: 5`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct Blob(pub Vec<u8>);

/// The message of a `serde_json` error without its " at line L column C" suffix.
pub fn serde_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) if text[i..].contains(" column ") => text[..i].to_owned(),
        _ => text,
    }
}

/// The Java class DynamoDB names for a JSON integer (dynalite `classForNumber`).
fn integer_class(v: i128) -> &'static str {
    if (-32768..=32767).contains(&v) {
        "java.lang.Short"
    } else if (-2_147_483_648..=2_147_483_647).contains(&v) {
        "java.lang.Integer"
    } else {
        "java.lang.Long"
    }
}

/// A JSON number where an attribute value holds a string (S, N, SS, NS members).
const NUMBER_TO_STRING: &str = "NUMBER_VALUE cannot be converted to String";

const MAP_NOT_EXPECTED: &str = "Start of structure or map found where not expected.";
const LIST_NOT_EXPECTED: &str = "Start of list found where not expected";

/// Visitor methods rejecting JSON integers where a `$target` belongs, naming the Java
/// class DynamoDB would have read.
macro_rules! reject_integers {
    ($value:ty, $target:literal) => {
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<$value, E> {
            Err(E::custom(format_args!(
                concat!("class {} can not be converted to ", $target),
                integer_class(i128::from(v))
            )))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<$value, E> {
            Err(E::custom(format_args!(
                concat!("class {} can not be converted to ", $target),
                integer_class(i128::from(v))
            )))
        }
    };
}

/// Visitor methods rejecting booleans and floats where a `$target` belongs.
macro_rules! reject_bool_and_float {
    ($value:ty, $target:literal) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> {
            Err(E::custom(concat!(
                "class java.lang.Boolean can not be converted to ",
                $target
            )))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$value, E> {
            Err(E::custom(concat!(
                "class java.lang.Double can not be converted to ",
                $target
            )))
        }
    };
}

/// Visitor methods rejecting every JSON scalar with one message.
macro_rules! reject_scalars {
    ($value:ty, $msg:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> {
            Err(E::custom($msg))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$value, E> {
            Err(E::custom($msg))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$value, E> {
            Err(E::custom($msg))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$value, E> {
            Err(E::custom($msg))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$value, E> {
            Err(E::custom($msg))
        }
    };
}

/// Visitor method rejecting a JSON object.
macro_rules! reject_map {
    ($value:ty) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<$value, A::Error> {
            Err(de::Error::custom(MAP_NOT_EXPECTED))
        }
    };
}

/// Visitor method rejecting a JSON array.
macro_rules! reject_seq {
    ($value:ty) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<$value, A::Error> {
            Err(de::Error::custom(LIST_NOT_EXPECTED))
        }
    };
}

/// A string field (`S`, `N`, members of `SS`/`NS`).
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            // Real DynamoDB (recorded by client test suites) words a number inside an
            // attribute value's string member this way, unlike top-level string members.
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text, E> {
                Err(E::custom(NUMBER_TO_STRING))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text, E> {
                Err(E::custom(NUMBER_TO_STRING))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text, E> {
                Err(E::custom(NUMBER_TO_STRING))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text, E> {
                Err(E::custom(
                    "class java.lang.Boolean can not be converted to an String",
                ))
            }
            reject_map!(Text);
            reject_seq!(Text);
        }
        d.deserialize_any(V)
    }
}

/// A boolean field (`NULL`, `BOOL`), with DynamoDB's lenient handling of floats.
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Flag, E> {
                // DynamoDB's JSON layer turns a JSON float into a boolean by magnitude
                // (dynalite: "Strangely floats seem to be fine"). This is a JSON token, not
                // a DynamoDB number.
                Ok(Flag(v.abs() >= 1.0))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                // DynamoDB's JSON layer reads a few words as booleans, in any case (dynalite:
                // "'true'/'false'/'1'/'0'/'no'/'yes' seem to convert fine"; ScyllaDB issue
                // 9432 saw "yes" accepted); any other string is refused in upper case.
                match v.to_uppercase().as_str() {
                    "TRUE" | "YES" | "1" => Ok(Flag(true)),
                    "FALSE" | "NO" | "0" => Ok(Flag(false)),
                    other => Err(E::custom(format_args!(
                        "'{other}' can not be converted to an Boolean"
                    ))),
                }
            }
            reject_integers!(Flag, "an Boolean");
            reject_map!(Flag);
            reject_seq!(Flag);
        }
        d.deserialize_any(V)
    }
}

/// Decodes DynamoDB's base64, reporting failures with its `SerializationException` text.
fn decode_base64(v: &str) -> Result<Vec<u8>, String> {
    let fail = |why: String| format!("'{v}' can not be converted to a Blob: {why}");
    let len = v.chars().count();
    if len % 4 != 0 {
        return Err(fail(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {len}"
        )));
    }
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        let bad = match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '+' | '/' => false,
            '=' => chars.peek().is_some_and(|next| *next != '='),
            _ => true,
        };
        if bad {
            return Err(fail(format!("Invalid Base64 character: '{c}'")));
        }
    }
    // The standard engine rejects non-zero trailing bits, i.e. non-canonical input.
    base64::engine::general_purpose::STANDARD
        .decode(v)
        .map_err(|_| fail("Invalid last non-pad Base64 character dectected".to_owned()))
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Blob, E> {
                decode_base64(v).map(Blob).map_err(E::custom)
            }
            reject_integers!(Blob, "a Blob");
            reject_bool_and_float!(Blob, "a Blob");
            reject_map!(Blob);
            reject_seq!(Blob);
        }
        d.deserialize_any(V)
    }
}

impl serde::Serialize for Blob {
    /// Serialises as standard padded base64.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl serde::Serialize for WireValue {
    /// Writes the fields that are set, under DynamoDB's names (`B`/`BS` as base64).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        if let Some(v) = &self.s {
            map.serialize_entry("S", v)?;
        }
        if let Some(v) = &self.n {
            map.serialize_entry("N", v)?;
        }
        if let Some(v) = &self.b {
            map.serialize_entry("B", v)?;
        }
        if let Some(v) = &self.ss {
            map.serialize_entry("SS", v)?;
        }
        if let Some(v) = &self.ns {
            map.serialize_entry("NS", v)?;
        }
        if let Some(v) = &self.bs {
            map.serialize_entry("BS", v)?;
        }
        if let Some(v) = &self.m {
            map.serialize_entry("M", v)?;
        }
        if let Some(v) = &self.l {
            map.serialize_entry("L", v)?;
        }
        if let Some(v) = &self.null {
            map.serialize_entry("NULL", v)?;
        }
        if let Some(v) = &self.bool {
            map.serialize_entry("BOOL", v)?;
        }
        map.end()
    }
}

/// A JSON list field (`SS`, `NS`, `BS`, `L`).
struct ListOf<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = ListOf<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListOf<T>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(x) = seq.next_element()? {
                    out.push(x);
                }
                Ok(ListOf(out))
            }
            reject_scalars!(ListOf<T>, "Expected list or null");
            reject_map!(ListOf<T>);
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The `M` field: a JSON object of attribute values.
struct MapOf(HashMap<String, WireValue>);

impl<'de> Deserialize<'de> for MapOf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MapOf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MapOf, A::Error> {
                let mut out = HashMap::new();
                while let Some((k, v)) = map.next_entry::<String, WireValue>()? {
                    out.insert(k, v);
                }
                Ok(MapOf(out))
            }
            reject_scalars!(MapOf, "Expected map or null");
            reject_seq!(MapOf);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for WireValue {
    /// Reads one attribute value object. A JSON `null` (e.g. inside `L` or `M`) reads as
    /// an empty value, which validation reports as "Supplied AttributeValue is empty".
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WireValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attribute value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireValue, A::Error> {
                let mut w = WireValue::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "S" => w.s = map.next_value::<Option<Text>>()?.map(|t| t.0),
                        "N" => w.n = map.next_value::<Option<Text>>()?.map(|t| t.0),
                        "B" => w.b = map.next_value::<Option<Blob>>()?,
                        "SS" => {
                            w.ss = map
                                .next_value::<Option<ListOf<Text>>>()?
                                .map(|l| l.0.into_iter().map(|t| t.0).collect());
                        }
                        "NS" => {
                            w.ns = map
                                .next_value::<Option<ListOf<Text>>>()?
                                .map(|l| l.0.into_iter().map(|t| t.0).collect());
                        }
                        "BS" => w.bs = map.next_value::<Option<ListOf<Blob>>>()?.map(|l| l.0),
                        "M" => w.m = map.next_value::<Option<MapOf>>()?.map(|m| m.0),
                        "L" => {
                            w.l = map.next_value::<Option<ListOf<WireValue>>>()?.map(|l| l.0);
                        }
                        "NULL" => w.null = map.next_value::<Option<Flag>>()?.map(|f| f.0),
                        "BOOL" => w.bool = map.next_value::<Option<Flag>>()?.map(|f| f.0),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(w)
            }
            fn visit_unit<E: de::Error>(self) -> Result<WireValue, E> {
                Ok(WireValue::default())
            }
            reject_scalars!(WireValue, "Expected null");
            reject_seq!(WireValue);
        }
        d.deserialize_any(V)
    }
}

/// A request's Integer or Long member as DynamoDB's front end reads it: a JSON number with a
/// fraction is truncated toward zero (the framework's "TruncatingBigNumber"; `Limit: 2.7` is a
/// limit of 2), and `null` is absent. A number outside the member's range, or a value of
/// another type, fails with serde's usual "invalid value: integer ..." / "invalid type: ...,
/// expected i32" text, which the server maps to DynamoDB's SerializationException.
///
/// For `#[serde(default, deserialize_with = "...")]` on `Option<i32>` and `Option<i64>`
/// members: see [`truncating_i32`] and [`truncating_i64`].
struct TruncatingInteger<T>(std::marker::PhantomData<T>, &'static str);

impl<'de, T: TryFrom<i64>> Visitor<'de> for TruncatingInteger<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The member's Rust type name: the server reads it to name the Java type.
        f.write_str(self.1)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::try_from(v)
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        let signed =
            i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))?;
        self.visit_i64(signed)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        let whole = v.trunc();
        // i64's range as f64 (the bounds are exact powers of two); NaN and infinities fall
        // outside it.
        if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&whole) {
            #[allow(clippy::cast_possible_truncation)]
            let whole = whole as i64;
            T::try_from(whole)
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Float(v), &self))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
}

/// An optional Integer member (see [`TruncatingInteger`]).
///
/// # Errors
/// A value that is not a number, or a number outside `i32`.
pub fn truncating_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    d.deserialize_option(TruncatingInteger(std::marker::PhantomData, "i32"))
}

/// An optional Long member (see [`TruncatingInteger`]).
///
/// # Errors
/// A value that is not a number, or a number outside `i64`.
pub fn truncating_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_option(TruncatingInteger(std::marker::PhantomData, "i64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<WireValue, String> {
        serde_json::from_str::<WireValue>(json).map_err(|e| serde_message(&e))
    }

    #[test]
    fn reads_every_field() {
        let w = parse(
            r#"{"S":"a","N":"1","B":"YQ==","SS":["x"],"NS":["2"],"BS":["Yg=="],
                "M":{"k":{"BOOL":true}},"L":[{"NULL":true}],"NULL":true,"BOOL":false,"X":[1]}"#,
        )
        .unwrap();
        assert_eq!(w.s.as_deref(), Some("a"));
        assert_eq!(w.n.as_deref(), Some("1"));
        assert_eq!(w.b, Some(Blob(b"a".to_vec())));
        assert_eq!(w.ss, Some(vec!["x".to_owned()]));
        assert_eq!(w.bs, Some(vec![Blob(b"b".to_vec())]));
        assert_eq!(w.m.unwrap()["k"].bool, Some(true));
        assert_eq!(w.l.unwrap()[0].null, Some(true));
        assert_eq!(w.bool, Some(false));
    }

    #[test]
    fn serialises_back_to_the_same_shape() {
        let json = r#"{"B":"YQ==","L":[{"NULL":true}],"M":{"k":{"NS":["1"]}}}"#;
        let w = parse(json).unwrap();
        let again = parse(&serde_json::to_string(&w).unwrap()).unwrap();
        assert_eq!(again, w);
    }

    #[test]
    fn null_fields_are_absent() {
        let w = parse(r#"{"S":null,"N":"1"}"#).unwrap();
        assert_eq!(w.s, None);
        assert_eq!(
            parse(r#"{"L":[null]}"#).unwrap().l,
            Some(vec![WireValue::default()])
        );
    }

    #[test]
    fn base64_errors_use_dynamodb_text() {
        assert_eq!(
            parse(r#"{"B":"abcde"}"#).unwrap_err(),
            "'abcde' can not be converted to a Blob: \
             Base64 encoded length is expected a multiple of 4 bytes but found: 5"
        );
        assert_eq!(
            parse(r#"{"B":"ab*d"}"#).unwrap_err(),
            "'ab*d' can not be converted to a Blob: Invalid Base64 character: '*'"
        );
        assert_eq!(
            parse(r#"{"B":"a=bc"}"#).unwrap_err(),
            "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='"
        );
        assert_eq!(
            parse(r#"{"B":"YR=="}"#).unwrap_err(),
            "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"
        );
        assert_eq!(parse(r#"{"B":""}"#).unwrap().b, Some(Blob(vec![])));
    }

    #[test]
    fn shape_errors_use_dynamodb_text() {
        assert_eq!(
            parse(r#"{"S":true}"#).unwrap_err(),
            "class java.lang.Boolean can not be converted to an String"
        );
        assert_eq!(
            parse(r#"{"S":1}"#).unwrap_err(),
            "NUMBER_VALUE cannot be converted to String"
        );
        assert_eq!(
            parse(r#"{"N":40000}"#).unwrap_err(),
            "NUMBER_VALUE cannot be converted to String"
        );
        assert_eq!(
            parse(r#"{"N":1.5}"#).unwrap_err(),
            "NUMBER_VALUE cannot be converted to String"
        );
        assert_eq!(
            parse(r#"{"B":5000000000}"#).unwrap_err(),
            "class java.lang.Long can not be converted to a Blob"
        );
        assert_eq!(parse(r#"{"S":{}}"#).unwrap_err(), MAP_NOT_EXPECTED);
        assert_eq!(parse(r#"{"S":[]}"#).unwrap_err(), LIST_NOT_EXPECTED);
        assert_eq!(parse(r#"{"SS":"a"}"#).unwrap_err(), "Expected list or null");
        assert_eq!(parse(r#"{"M":"a"}"#).unwrap_err(), "Expected map or null");
        assert_eq!(parse(r#"{"M":[]}"#).unwrap_err(), LIST_NOT_EXPECTED);
        assert_eq!(parse(r#""a""#).unwrap_err(), "Expected null");
        assert_eq!(
            parse(r#"{"BOOL":"dog"}"#).unwrap_err(),
            "'DOG' can not be converted to an Boolean"
        );
        for (word, value) in [("true", true), ("Yes", true), ("1", true), ("FALSE", false)] {
            let text = format!(r#"{{"BOOL":"{word}"}}"#);
            assert_eq!(parse(&text).unwrap().bool, Some(value), "{word}");
        }
        assert_eq!(parse(r#"{"BOOL":"no"}"#).unwrap().bool, Some(false));
        assert_eq!(
            parse(r#"{"NULL":1}"#).unwrap_err(),
            "class java.lang.Short can not be converted to an Boolean"
        );
        assert_eq!(parse(r#"{"BOOL":1.5}"#).unwrap().bool, Some(true));
    }
}
