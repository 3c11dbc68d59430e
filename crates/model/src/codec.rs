//! Compact, versioned binary encoding of an [`Item`] for storage (never JSON).
//!
//! Layout, format version 1:
//!
//! ```text
//! item   := 0x01 (version) count:varint (name value){count}      (names in ascending order)
//! name   := len:varint utf8-bytes
//! value  := 0x01 S  len:varint bytes      | 0x02 N  number
//!         | 0x03 B  len:varint bytes      | 0x04 SS count:varint (len bytes)*
//!         | 0x05 NS count:varint number*  | 0x06 BS count:varint (len bytes)*
//!         | 0x07 M  count:varint (name value)*
//!         | 0x08 L  count:varint value*   | 0x09 NULL | 0x0A BOOL false | 0x0B BOOL true
//! number := the order-preserving encoding of `key::encode_number` (2 + ⌈digits/2⌉ bytes)
//! varint := unsigned LEB128
//! ```
//!
//! Decoding never panics: truncation, unknown tags or versions, bad UTF-8, duplicate map
//! names and nesting deeper than [`MAX_DECODE_DEPTH`] are all [`CodecError`]s. Old
//! encodings must stay decodable: a new layout gets a new version byte.

use std::collections::BTreeMap;

use crate::key::{decode_number, encode_number};
use crate::value::{AttributeValue, Item};

/// The version byte this module writes.
pub const FORMAT_VERSION: u8 = 1;
/// Deepest `M`/`L` nesting the decoder follows (DynamoDB allows 32 levels).
pub const MAX_DECODE_DEPTH: usize = 64;

const T_S: u8 = 0x01;
const T_N: u8 = 0x02;
const T_B: u8 = 0x03;
const T_SS: u8 = 0x04;
const T_NS: u8 = 0x05;
const T_BS: u8 = 0x06;
const T_M: u8 = 0x07;
const T_L: u8 = 0x08;
const T_NULL: u8 = 0x09;
const T_FALSE: u8 = 0x0A;
const T_TRUE: u8 = 0x0B;

/// Why stored bytes could not be decoded (into an item or a key component).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input ended in the middle of a value.
    #[error("encoded data is truncated")]
    Truncated,
    /// The first byte names a format this build does not know.
    #[error("unknown item encoding version {0}")]
    UnknownVersion(u8),
    /// A type tag that no format version uses.
    #[error("unknown value tag {0:#04x}")]
    UnknownTag(u8),
    /// A string or attribute name is not valid UTF-8.
    #[error("invalid UTF-8 in encoded string")]
    InvalidUtf8,
    /// Nesting deeper than [`MAX_DECODE_DEPTH`].
    #[error("encoded value nested too deeply")]
    TooDeep,
    /// Bytes left over after the item.
    #[error("trailing bytes after encoded item")]
    TrailingBytes,
    /// Any other structural problem.
    #[error("corrupt encoding: {0}")]
    Corrupt(&'static str),
}

/// Appends the versioned encoding of `item` to `out`.
pub fn encode_item(item: &Item, out: &mut Vec<u8>) {
    out.push(FORMAT_VERSION);
    encode_map(item, out);
}

/// Appends the encoding [`encode_item`] gives the item made of `attributes`, without building
/// that item: a projection of a stored item (a secondary index entry) is encoded straight from
/// borrowed attributes.
///
/// `attributes` must be in ascending name order with no name twice, as an [`Item`] iterates
/// (a debug build checks it); the bytes are then exactly those of [`encode_item`].
pub fn encode_attributes(attributes: &[(&str, &AttributeValue)], out: &mut Vec<u8>) {
    debug_assert!(attributes.windows(2).all(|w| w[0].0 < w[1].0));
    out.push(FORMAT_VERSION);
    put_len(attributes.len(), out);
    for (name, value) in attributes {
        put_bytes(name.as_bytes(), out);
        encode_value(value, out);
    }
}

/// Decodes bytes written by [`encode_item`].
///
/// # Errors
/// [`CodecError`] for any malformed input; never panics.
pub fn decode_item(bytes: &[u8]) -> Result<Item, CodecError> {
    let mut r = Reader { bytes, pos: 0 };
    match r.byte()? {
        FORMAT_VERSION => {}
        v => return Err(CodecError::UnknownVersion(v)),
    }
    let item = r.map(0)?;
    if r.pos != bytes.len() {
        return Err(CodecError::TrailingBytes);
    }
    Ok(item)
}

fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7F) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len(len: usize, out: &mut Vec<u8>) {
    put_varint(len as u64, out);
}

fn put_bytes(b: &[u8], out: &mut Vec<u8>) {
    put_len(b.len(), out);
    out.extend_from_slice(b);
}

fn encode_map(m: &BTreeMap<String, AttributeValue>, out: &mut Vec<u8>) {
    put_len(m.len(), out);
    for (name, value) in m {
        put_bytes(name.as_bytes(), out);
        encode_value(value, out);
    }
}

fn encode_value(v: &AttributeValue, out: &mut Vec<u8>) {
    match v {
        AttributeValue::S(s) => {
            out.push(T_S);
            put_bytes(s.as_bytes(), out);
        }
        AttributeValue::N(n) => {
            out.push(T_N);
            encode_number(n, out);
        }
        AttributeValue::B(b) => {
            out.push(T_B);
            put_bytes(b, out);
        }
        AttributeValue::SS(ss) => {
            out.push(T_SS);
            put_len(ss.len(), out);
            for s in ss {
                put_bytes(s.as_bytes(), out);
            }
        }
        AttributeValue::NS(ns) => {
            out.push(T_NS);
            put_len(ns.len(), out);
            for n in ns {
                encode_number(n, out);
            }
        }
        AttributeValue::BS(bs) => {
            out.push(T_BS);
            put_len(bs.len(), out);
            for b in bs {
                put_bytes(b, out);
            }
        }
        AttributeValue::M(m) => {
            out.push(T_M);
            encode_map(m, out);
        }
        AttributeValue::L(l) => {
            out.push(T_L);
            put_len(l.len(), out);
            for v in l {
                encode_value(v, out);
            }
        }
        AttributeValue::Null => out.push(T_NULL),
        AttributeValue::Bool(false) => out.push(T_FALSE),
        AttributeValue::Bool(true) => out.push(T_TRUE),
    }
}

/// A bounds-checked cursor over untrusted bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.bytes.get(self.pos).ok_or(CodecError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::Corrupt("varint too long"))
    }

    /// A length or count; each counted thing takes at least one byte, so anything larger
    /// than what is left is corrupt (and never drives a huge allocation).
    fn len(&mut self) -> Result<usize, CodecError> {
        let v = self.varint()?;
        let left = self.bytes.len() - self.pos;
        usize::try_from(v)
            .ok()
            .filter(|n| *n <= left)
            .ok_or(CodecError::Truncated)
    }

    fn raw(&mut self) -> Result<&[u8], CodecError> {
        let len = self.len()?;
        let slice = self
            .bytes
            .get(self.pos..self.pos + len)
            .ok_or(CodecError::Truncated)?;
        self.pos += len;
        Ok(slice)
    }

    fn string(&mut self) -> Result<String, CodecError> {
        let raw = self.raw()?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| CodecError::InvalidUtf8)
    }

    fn number(&mut self) -> Result<crate::number::Number, CodecError> {
        let rest = self.bytes.get(self.pos..).ok_or(CodecError::Truncated)?;
        let (n, used) = decode_number(rest)?;
        self.pos += used;
        Ok(n)
    }

    fn map(&mut self, depth: usize) -> Result<BTreeMap<String, AttributeValue>, CodecError> {
        let count = self.len()?;
        let mut m = BTreeMap::new();
        for _ in 0..count {
            let name = self.string()?;
            let value = self.value(depth)?;
            if m.insert(name, value).is_some() {
                return Err(CodecError::Corrupt("duplicate map name"));
            }
        }
        Ok(m)
    }

    fn value(&mut self, depth: usize) -> Result<AttributeValue, CodecError> {
        Ok(match self.byte()? {
            T_S => AttributeValue::S(self.string()?),
            T_N => AttributeValue::N(self.number()?),
            T_B => AttributeValue::B(self.raw()?.to_vec()),
            T_SS => {
                let count = self.len()?;
                let mut v = Vec::with_capacity(count);
                for _ in 0..count {
                    v.push(self.string()?);
                }
                AttributeValue::SS(v)
            }
            T_NS => {
                let count = self.len()?;
                let mut v = Vec::with_capacity(count);
                for _ in 0..count {
                    v.push(self.number()?);
                }
                AttributeValue::NS(v)
            }
            T_BS => {
                let count = self.len()?;
                let mut v = Vec::with_capacity(count);
                for _ in 0..count {
                    v.push(self.raw()?.to_vec());
                }
                AttributeValue::BS(v)
            }
            T_M => {
                if depth >= MAX_DECODE_DEPTH {
                    return Err(CodecError::TooDeep);
                }
                AttributeValue::M(self.map(depth + 1)?)
            }
            T_L => {
                if depth >= MAX_DECODE_DEPTH {
                    return Err(CodecError::TooDeep);
                }
                let count = self.len()?;
                let mut v = Vec::with_capacity(count);
                for _ in 0..count {
                    v.push(self.value(depth + 1)?);
                }
                AttributeValue::L(v)
            }
            T_NULL => AttributeValue::Null,
            T_FALSE => AttributeValue::Bool(false),
            T_TRUE => AttributeValue::Bool(true),
            t => return Err(CodecError::UnknownTag(t)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Number;

    fn sample() -> Item {
        let mut inner = BTreeMap::new();
        inner.insert("x".to_owned(), AttributeValue::Bool(true));
        let mut item = Item::new();
        item.insert("s".into(), AttributeValue::S("héllo".into()));
        item.insert(
            "n".into(),
            AttributeValue::N(Number::parse("-12.5").unwrap()),
        );
        item.insert("b".into(), AttributeValue::B(vec![0, 255]));
        item.insert(
            "ss".into(),
            AttributeValue::SS(vec!["b".into(), "a".into()]),
        );
        item.insert(
            "ns".into(),
            AttributeValue::NS(vec![Number::zero(), Number::parse("1e-130").unwrap()]),
        );
        item.insert("bs".into(), AttributeValue::BS(vec![vec![], vec![1]]));
        item.insert("m".into(), AttributeValue::M(inner));
        item.insert(
            "l".into(),
            AttributeValue::L(vec![AttributeValue::Null, AttributeValue::Bool(false)]),
        );
        item
    }

    #[test]
    fn encoded_attributes_equal_the_encoded_item_of_them() {
        let item = sample();
        for keep in [0usize, 1, 3, item.len()] {
            let subset: Item = item
                .iter()
                .take(keep)
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            let pairs: Vec<(&str, &AttributeValue)> =
                subset.iter().map(|(n, v)| (n.as_str(), v)).collect();
            let (mut direct, mut via_item) = (Vec::new(), Vec::new());
            encode_attributes(&pairs, &mut direct);
            encode_item(&subset, &mut via_item);
            assert_eq!(direct, via_item);
        }
    }

    #[test]
    fn round_trip() {
        let item = sample();
        let mut out = Vec::new();
        encode_item(&item, &mut out);
        assert_eq!(out[0], FORMAT_VERSION);
        assert_eq!(decode_item(&out).unwrap(), item);
    }

    /// Version 1 bytes are pinned: a layout change must not silently alter them.
    #[test]
    fn version_1_fixture() {
        let mut item = Item::new();
        item.insert("a".into(), AttributeValue::S("x".into()));
        item.insert(
            "n".into(),
            AttributeValue::N(Number::parse("12.5").unwrap()),
        );
        let fixture = [
            0x01, 0x02, 0x01, b'a', T_S, 0x01, b'x', 0x01, b'n', T_N, 0x03, 131, 13, 51, 0x00,
        ];
        let mut out = Vec::new();
        encode_item(&item, &mut out);
        assert_eq!(out, fixture);
        assert_eq!(decode_item(&fixture).unwrap(), item);
    }

    #[test]
    fn rejects_corruption() {
        assert_eq!(decode_item(&[]), Err(CodecError::Truncated));
        assert_eq!(decode_item(&[2, 0]), Err(CodecError::UnknownVersion(2)));
        assert_eq!(
            decode_item(&[1, 1, 1, b'a', 0x77]),
            Err(CodecError::UnknownTag(0x77))
        );
        assert_eq!(decode_item(&[1, 0, 0]), Err(CodecError::TrailingBytes));
        assert_eq!(
            decode_item(&[1, 0xFF, 0xFF, 0xFF, 0x0F]),
            Err(CodecError::Truncated)
        );
        let mut deep = vec![1, 1, 1, b'a'];
        for _ in 0..100 {
            deep.extend_from_slice(&[T_L, 1]);
        }
        deep.push(T_NULL);
        assert_eq!(decode_item(&deep), Err(CodecError::TooDeep));
    }
}
