//! Stream records: their stored form and the `Record` shape GetRecords returns.
//!
//! Stored form, version 1 (all integers big-endian):
//! ```text
//! record := 0x01 event:u8 created_ms:u64 flags:u8 keys old new
//! keys   := len:u32 item            (binderdb_model's item encoding)
//! old    := len:u32 item | 0xFFFFFFFF (absent)
//! new    := len:u32 item | 0xFFFFFFFF (absent)
//! ```
//! `event` is 0 INSERT, 1 MODIFY, 2 REMOVE; flag bit 0 marks a delete by the TTL service.
//! Decoding never panics: truncated or unknown bytes are a `Corrupt`-style internal error.

use binderdb_model::{decode_item, encode_item, item_size, Item};
use serde::Serialize;

use crate::error::{Error, Result};

/// The version byte [`encode_record`] writes.
pub(crate) const RECORD_FORMAT: u8 = 1;
const ABSENT: u32 = u32::MAX;
/// Flag: the change was made by the TTL service.
pub(crate) const FLAG_SERVICE: u8 = 1;

/// What happened to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordEvent {
    /// A new item.
    Insert,
    /// A changed item.
    Modify,
    /// A deleted item.
    Remove,
}

impl RecordEvent {
    fn tag(self) -> u8 {
        match self {
            RecordEvent::Insert => 0,
            RecordEvent::Modify => 1,
            RecordEvent::Remove => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RecordEvent::Insert => "INSERT",
            RecordEvent::Modify => "MODIFY",
            RecordEvent::Remove => "REMOVE",
        }
    }
}

fn put_image(out: &mut Vec<u8>, image: Option<&[u8]>) {
    match image {
        Some(bytes) => {
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        None => out.extend_from_slice(&ABSENT.to_be_bytes()),
    }
}

/// Encodes a record: `keys` is the item's key attributes; `old` and `new` the encoded images
/// the stream's view type keeps (already encoded, so a new image reuses the item's bytes).
pub(crate) fn encode_record(
    event: RecordEvent,
    created_ms: u64,
    flags: u8,
    keys: &Item,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + old.map_or(0, <[u8]>::len) + new.map_or(0, <[u8]>::len));
    out.push(RECORD_FORMAT);
    out.push(event.tag());
    out.extend_from_slice(&created_ms.to_be_bytes());
    out.push(flags);
    let mut key_bytes = Vec::with_capacity(32);
    encode_item(keys, &mut key_bytes);
    put_image(&mut out, Some(&key_bytes));
    put_image(&mut out, old);
    put_image(&mut out, new);
    out
}

/// A decoded stored record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredRecord {
    pub(crate) event: RecordEvent,
    pub(crate) created_ms: u64,
    pub(crate) flags: u8,
    pub(crate) keys: Item,
    pub(crate) old: Option<Item>,
    pub(crate) new: Option<Item>,
}

fn corrupt() -> Error {
    Error::Internal("corrupt stream record".to_owned())
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if bytes.len() < n {
        return Err(corrupt());
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Ok(head)
}

fn take_image(bytes: &mut &[u8]) -> Result<Option<Item>> {
    let len = u32::from_be_bytes(take(bytes, 4)?.try_into().map_err(|_| corrupt())?);
    if len == ABSENT {
        return Ok(None);
    }
    Ok(Some(decode_item(take(bytes, len as usize)?)?))
}

/// Decodes bytes written by [`encode_record`].
///
/// # Errors
/// `Internal` for truncated bytes, an unknown version or event.
pub(crate) fn decode_record(mut bytes: &[u8]) -> Result<StoredRecord> {
    let b = &mut bytes;
    let head = take(b, 11)?;
    if head[0] != RECORD_FORMAT {
        return Err(Error::Internal(format!(
            "unknown stream record format {}",
            head[0]
        )));
    }
    let event = match head[1] {
        0 => RecordEvent::Insert,
        1 => RecordEvent::Modify,
        2 => RecordEvent::Remove,
        _ => return Err(corrupt()),
    };
    let created_ms = u64::from_be_bytes(head[2..10].try_into().map_err(|_| corrupt())?);
    let flags = head[10];
    let keys = take_image(b)?.ok_or_else(corrupt)?;
    let old = take_image(b)?;
    let new = take_image(b)?;
    Ok(StoredRecord {
        event,
        created_ms,
        flags,
        keys,
        old,
        new,
    })
}

/// `userIdentity` of a record the TTL service wrote.
#[derive(Debug, Clone, Serialize)]
pub struct UserIdentity {
    #[serde(rename = "PrincipalId")]
    pub principal_id: String,
    #[serde(rename = "Type")]
    pub kind: String,
}

/// The `dynamodb` member of a record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamRecordBody {
    pub approximate_creation_date_time: f64,
    pub keys: Item,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_image: Option<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_image: Option<Item>,
    pub sequence_number: String,
    pub size_bytes: i64,
    pub stream_view_type: String,
}

/// One record of GetRecords.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    #[serde(rename = "eventID")]
    pub event_id: String,
    #[serde(rename = "eventName")]
    pub event_name: String,
    #[serde(rename = "eventVersion")]
    pub event_version: String,
    #[serde(rename = "eventSource")]
    pub event_source: String,
    #[serde(rename = "awsRegion")]
    pub aws_region: String,
    pub dynamodb: StreamRecordBody,
    #[serde(rename = "userIdentity", skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<UserIdentity>,
}

/// A sequence number as the API prints it: 21 digits, zero-padded, so consumers that compare
/// them as strings order them right too.
pub(crate) fn format_seq(seq: u64) -> String {
    format!("{seq:021}")
}

impl StoredRecord {
    /// The record as GetRecords returns it.
    pub(crate) fn into_wire(
        self,
        stream_id: u64,
        seq: u64,
        region: &str,
        view: super::ViewType,
    ) -> Record {
        // SizeBytes: the keys and images the record carries, by DynamoDB's item size rules.
        let size = item_size(&self.keys)
            + self.old.as_ref().map_or(0, item_size)
            + self.new.as_ref().map_or(0, item_size);
        Record {
            event_id: format!("{:016x}{:016x}", stream_id, seq),
            event_name: self.event.name().to_owned(),
            event_version: "1.1".to_owned(),
            event_source: "aws:dynamodb".to_owned(),
            aws_region: region.to_owned(),
            dynamodb: StreamRecordBody {
                // DynamoDB rounds the creation time down to the second.
                approximate_creation_date_time: (self.created_ms / 1000) as f64,
                keys: self.keys,
                new_image: self.new,
                old_image: self.old,
                sequence_number: format_seq(seq),
                size_bytes: size as i64,
                stream_view_type: view.as_str().to_owned(),
            },
            user_identity: (self.flags & FLAG_SERVICE != 0).then(|| UserIdentity {
                principal_id: "dynamodb.amazonaws.com".to_owned(),
                kind: "Service".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use binderdb_model::AttributeValue;

    #[test]
    fn records_round_trip_and_never_panic_on_garbage() {
        let mut keys = Item::new();
        keys.insert("pk".into(), AttributeValue::S("a".into()));
        let mut new = Vec::new();
        encode_item(&keys, &mut new);
        let bytes = encode_record(RecordEvent::Insert, 7, 0, &keys, None, Some(&new));
        let r = decode_record(&bytes).unwrap();
        assert_eq!(r.event, RecordEvent::Insert);
        assert_eq!(r.created_ms, 7);
        assert_eq!(r.keys, keys);
        assert_eq!(r.old, None);
        assert_eq!(r.new.as_ref(), Some(&keys));
        for cut in 0..bytes.len() {
            assert!(decode_record(&bytes[..cut]).is_err());
        }
        assert!(decode_record(&[2; 40]).is_err());
    }
}
