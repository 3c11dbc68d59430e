//! The order-preserving key codec: arbitrary bytes never panic the decoder, and a decoded
//! component re-encodes to an encoding of the same value (the decoder is lenient: it accepts
//! an `N` with a trailing zero digit pair, which the encoder never writes); values round-trip; and two values of one type compare as their encodings compare, against the
//! obvious oracles (UTF-8 bytes for S, unsigned bytes for B, exact decimal order for N).
#![no_main]

use std::cmp::Ordering;

use binderdb_model::key::{decode_key_value, encode_key_value, KeyType};
use binderdb_model::{AttributeValue, Number};
use libfuzzer_sys::fuzz_target;

/// A key value of type `ty` made from `bytes`, if they make one.
fn value(ty: KeyType, bytes: &[u8]) -> Option<AttributeValue> {
    match ty {
        KeyType::S => Some(AttributeValue::S(String::from_utf8_lossy(bytes).into_owned())),
        KeyType::B => Some(AttributeValue::B(bytes.to_vec())),
        KeyType::N => Number::parse(std::str::from_utf8(bytes).ok()?)
            .ok()
            .map(AttributeValue::N),
    }
}

fn oracle(a: &AttributeValue, b: &AttributeValue) -> Ordering {
    match (a, b) {
        (AttributeValue::S(x), AttributeValue::S(y)) => x.as_bytes().cmp(y.as_bytes()),
        (AttributeValue::B(x), AttributeValue::B(y)) => x.cmp(y),
        (AttributeValue::N(x), AttributeValue::N(y)) => x.cmp(y),
        _ => unreachable!("one type per comparison"),
    }
}

fn encode(v: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::new();
    assert!(encode_key_value(v, &mut out));
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let ty = match selector % 3 {
        0 => KeyType::S,
        1 => KeyType::B,
        _ => KeyType::N,
    };
    // Arbitrary bytes as an encoding: an error or a canonical component, never a panic.
    if let Ok((decoded, used)) = decode_key_value(ty, rest) {
        assert!(used <= rest.len());
        let again = encode(&decoded);
        assert_eq!(decode_key_value(ty, &again).ok(), Some((decoded, again.len())));
    }
    // The same bytes as two values (split at the selector's choice).
    let split = usize::from(selector / 3) % (rest.len() + 1);
    let (left, right) = rest.split_at(split);
    let (Some(a), Some(b)) = (value(ty, left), value(ty, right)) else {
        return;
    };
    let (ea, eb) = (encode(&a), encode(&b));
    for (v, e) in [(&a, &ea), (&b, &eb)] {
        let (back, used) = decode_key_value(ty, e).expect("an encoding decodes");
        assert_eq!(&back, v);
        assert_eq!(used, e.len());
    }
    assert_eq!(ea.cmp(&eb), oracle(&a, &b), "order differs for {a:?} and {b:?}");
    // Self-delimiting: a component followed by anything still sorts as the component.
    let mut ea_tail = ea.clone();
    ea_tail.extend_from_slice(right);
    if oracle(&a, &b) == Ordering::Less {
        assert!(ea_tail < eb);
    }
});
