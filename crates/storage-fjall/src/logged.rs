//! A commit's entries and its write-ahead log payload, built together so they cannot disagree,
//! and the replay of such payloads at open.
//!
//! Payload (version 1 of the frame format, see [`crate::wal::MAGIC`]):
//!
//! ```text
//! version u64 LE | op count u32 LE | ops
//! op: space u8 (| DELETE) | key len u32 LE | key | (puts only) value len u32 LE | value
//! ```
//!
//! `space` is the keyspace's [`Keyspace::index`] for data keyspaces, [`META_SPACE`] or
//! [`COUNTERS_SPACE`]. Keys and values are the exact bytes inserted into fjall's trees, so a
//! replay writes what the commit wrote. The version is informational (replay order is the
//! log's order).

use std::io::Read;

use binderdb_storage::{codec, Keyspace, StorageError};
use fjall::AbstractTree;

/// Space id of the `meta` keyspace.
pub(crate) const META_SPACE: u8 = Keyspace::ALL.len() as u8;
/// Space id of the `counters` keyspace.
pub(crate) const COUNTERS_SPACE: u8 = META_SPACE + 1;
/// Set on an op's space byte for a delete.
const DELETE: u8 = 0x80;

/// A commit's entries and the log payload describing them.
///
/// The entries are not given to fjall as a batch (fjall's batch takes its journal lock and
/// inserts everything under it, see the crate docs, "Commits"): the store inserts them into
/// the keyspaces' trees itself, with the sequence number the [`crate::sequencer`] assigned.
/// Entries of `meta` and `counters` are *shared* (the same key, `high_water` or a table's
/// counter record, is rewritten by commits that hold no common latch), the others are data
/// entries, each covered by the commit's key latches.
pub(crate) struct LoggedBatch<'a> {
    entries: Vec<Entry<'a>>,
    pub(crate) payload: Vec<u8>,
    ops: u32,
}

/// One put (`value` set) or delete of a [`LoggedBatch`]. The value is held as the `Slice` the
/// memtable keeps, so inserting it copies nothing more.
pub(crate) struct Entry<'a> {
    space: &'a fjall::Keyspace,
    shared: bool,
    key: Vec<u8>,
    value: Option<fjall::Slice>,
}

impl Entry<'_> {
    /// Inserts the entry into its keyspace's memtable at `seqno`.
    pub(crate) fn insert(self, seqno: fjall::SeqNo) {
        match self.value {
            Some(value) => self.space.tree.insert(self.key, value, seqno),
            None => self.space.tree.remove(self.key, seqno),
        };
    }
}

impl<'a> LoggedBatch<'a> {
    pub(crate) fn new(version: u64) -> LoggedBatch<'a> {
        let mut payload = Vec::with_capacity(256);
        payload.extend_from_slice(&version.to_le_bytes());
        payload.extend_from_slice(&0u32.to_le_bytes());
        LoggedBatch {
            entries: Vec::new(),
            payload,
            ops: 0,
        }
    }

    fn push_op(&mut self, space: u8, key: &[u8]) {
        self.ops += 1;
        self.payload.push(space);
        self.payload
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.payload.extend_from_slice(key);
    }

    fn push_entry(
        &mut self,
        space: &'a fjall::Keyspace,
        id: u8,
        key: Vec<u8>,
        value: Option<fjall::Slice>,
    ) {
        self.entries.push(Entry {
            space,
            shared: id >= META_SPACE,
            key,
            value,
        });
    }

    /// Puts `key` → `value` into `space` (whose id is `id`).
    pub(crate) fn insert(
        &mut self,
        space: &'a fjall::Keyspace,
        id: u8,
        key: Vec<u8>,
        value: Vec<u8>,
    ) {
        self.insert_slice(space, id, key, fjall::Slice::from(value));
    }

    /// Puts `key` → the stored form of `value` at `version` ([`codec::encode_value`]) into
    /// `space`, building the stored bytes once, in the buffer the memtable keeps.
    ///
    /// Per entry of a commit this saves an allocation and a copy of the value against encoding
    /// it into a `Vec` first (which the memtable's `Slice` then copies again): an item write on
    /// a table with indexes has up to nine such entries, two of them (ALL projections) as large
    /// as the item.
    ///
    /// # Errors
    /// None in practice: the bytes are read from memory.
    pub(crate) fn insert_stored(
        &mut self,
        space: &'a fjall::Keyspace,
        id: u8,
        key: Vec<u8>,
        version: u64,
        value: &[u8],
    ) -> Result<(), StorageError> {
        let header = codec::value_header(version);
        let len = header.len() + value.len();
        let stored = fjall::Slice::from_reader(&mut header.as_slice().chain(value), len)
            .map_err(StorageError::Io)?;
        self.insert_slice(space, id, key, stored);
        Ok(())
    }

    fn insert_slice(
        &mut self,
        space: &'a fjall::Keyspace,
        id: u8,
        key: Vec<u8>,
        value: fjall::Slice,
    ) {
        self.push_op(id, &key);
        self.payload
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.payload.extend_from_slice(&value);
        self.push_entry(space, id, key, Some(value));
    }

    /// Deletes `key` from `space` (whose id is `id`).
    pub(crate) fn remove(&mut self, space: &'a fjall::Keyspace, id: u8, key: Vec<u8>) {
        self.push_op(id | DELETE, &key);
        self.push_entry(space, id, key, None);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ops == 0
    }

    /// The finished payload (its op count filled in), the shared entries and the data entries.
    pub(crate) fn finish(mut self) -> (Vec<u8>, Vec<Entry<'a>>, Vec<Entry<'a>>) {
        self.payload[8..12].copy_from_slice(&self.ops.to_le_bytes());
        let (shared, data) = self.entries.into_iter().partition(|e| e.shared);
        (self.payload, shared, data)
    }
}

/// One decoded op of a payload.
pub(crate) struct Op<'a> {
    pub(crate) space: u8,
    pub(crate) key: &'a [u8],
    /// `None` for a delete.
    pub(crate) value: Option<&'a [u8]>,
}

fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(format!("write-ahead log payload: {what}"))
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], StorageError> {
    if bytes.len() < n {
        return Err(corrupt("truncated"));
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

fn take_u32(bytes: &mut &[u8]) -> Result<usize, StorageError> {
    let b = take(bytes, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Decodes a payload into its version and ops.
///
/// # Errors
/// `Corrupt` if the payload is malformed (its frame's CRC matched, so this means a bug or a
/// format this build does not know).
pub(crate) fn decode(payload: &[u8]) -> Result<(u64, Vec<Op<'_>>), StorageError> {
    let mut rest = payload;
    let version = take(&mut rest, 8)?;
    let version = u64::from_le_bytes(version.try_into().map_err(|_| corrupt("version"))?);
    let count = take_u32(&mut rest)?;
    let mut ops = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let space = take(&mut rest, 1)?[0];
        let key_len = take_u32(&mut rest)?;
        let key = take(&mut rest, key_len)?;
        let value = if space & DELETE == 0 {
            let len = take_u32(&mut rest)?;
            Some(take(&mut rest, len)?)
        } else {
            None
        };
        let space = space & !DELETE;
        if space > COUNTERS_SPACE {
            return Err(corrupt("unknown keyspace"));
        }
        ops.push(Op { space, key, value });
    }
    if !rest.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok((version, ops))
}
