//! binderdb's data model: DynamoDB values and items, with no I/O and no storage.
//!
//! * [`number`]: [`Number`], DynamoDB's exact 38-digit decimal, and its arithmetic.
//! * [`wire`]: [`WireValue`], the JSON shape of an attribute value before validation.
//! * [`value`]: [`AttributeValue`], [`Item`] and their validation ([`ValueError`]).
//! * [`size`]: DynamoDB's item size rules ([`item_size`], [`MAX_ITEM_SIZE`]).
//! * [`key`]: order-preserving, self-delimiting key encoding ([`encode_key_value`]).
//! * [`codec`]: the compact, versioned binary item format ([`encode_item`]).
//!
//! Errors carry DynamoDB's exact message texts so the server can return them verbatim.
//! This crate must not depend on any other binderdb crate, on tokio or on storage.

pub mod codec;
pub mod key;
pub mod number;
pub mod size;
pub mod value;
pub mod wire;

pub use codec::{decode_item, encode_attributes, encode_item, CodecError, FORMAT_VERSION};
pub use key::{
    decode_key_value, encode_key_value, encode_string_prefix, prefix_successor, KeyType,
};
pub use number::{Number, NumberError};
pub use size::{item_size, number_size, value_size, MAX_ITEM_SIZE};
pub use value::{
    check_name, item_from_wire, AttributeValue, Item, ValueError, MAX_ATTRIBUTE_NAME_BYTES,
    MAX_NESTING_DEPTH,
};
pub use wire::{serde_message, Blob, WireValue};
