//! Physical encoding of keys and values, shared by every engine so that all engines agree on
//! storage order (the order of a Scan and of parallel-scan segments).
//!
//! Each [`Keyspace`] is its own ordered space (a fjall keyspace, a `BTreeMap`).
//! Within it a key is encoded as
//!
//! ```text
//! [table id: 2, 4 or 8 bytes][partition_hash u64 BE][partition len u16 BE][partition][sort]
//! ```
//!
//! so one partition's keys are contiguous and ordered by sort bytes (the length prefix keeps a
//! partition that is a prefix of another from bleeding into it), and a table's keys are ordered
//! by (hash, partition length, partition bytes, sort bytes).
//!
//! # The table id's encoding
//! Decided by the first byte, so that it is prefix-free: no table's id bytes are a prefix of
//! another's, each table's keys are one contiguous range, and tables of both kinds share one
//! keyspace without interleaving.
//! - **Compact ids**, [`compact_table_id`]`(n)` = [`COMPACT_TABLE_IDS`] + `n`, which the catalog
//!   allocates to every table and index created since this layout (`n` is its table-id
//!   counter): `n` < 2^14 in 2 bytes, `0x40 | n >> 8, n` (first byte 0x40–0x7F); `n` < 2^30
//!   in 4 bytes, `0x80 | n >> 24, ..` (first byte 0x80–0xBF). A counter past 2^30 fails table
//!   creation; it is never wrapped into another table's encoding.
//! - **Every other id** as 8 bytes, u64 big-endian, as before: the tables of data directories
//!   written by older builds (ids from 1 up, first byte 0x00: they keep their keys, there is no
//!   migration), the catalog (0), the transaction tokens (`u64::MAX`, 0xFF) and tests' small
//!   ids. An id whose first byte falls in 0x40–0xBF but is not compact has no encoding
//!   ([`table_prefix`] refuses it).
//!
//! Why compact ids: lsm-tree 3.1's memtable is a skip list of `byteview::ByteView` keys, and a
//! key longer than 20 bytes lives on the heap with only its first **4** bytes inline. With an
//! 8-byte id those 4 bytes are equal for every key of a table, so each comparison of a memtable
//! search dereferenced both keys' heap buffers, a second cache miss per node. With a 2-byte id
//! they are the id and the top 16 bits of the partition hash, which decide most comparisons
//! between partitions inline (and a key of at most 8 partition + sort bytes fits the 20 inline
//! bytes whole). Measured 2026-12-07 (release builds of main at 93ccc1a and of this layout,
//! the shared 2-core VM, durable server, 32 connections, 10,000 items): in two pairs of `perf`
//! profiles of `binderdb bench --workload index-put` (DWARF call graphs, 5 s; nine memtable
//! entries per PutItem) the skip-list searches fell from 13.8 / 11.7% of the server's samples
//! to 10.6 / 8.2%, `memcmp` from 9.3 / 9.1% to 5.2 / 4.7%; in durable `put` the old item's
//! memtable lookup from 4.4% to 3.2%. Throughput moved less than this machine's noise:
//! `scripts/bench-indexes --runs 6` four times, `index-put` medians 14,580 / 13,345 / 15,944 /
//! 13,880 ops/s before and 15,354 / 6,886 (a disturbed series) / 16,102 / 14,472 after,
//! `index-put` / `overwrite` 59% for both on the one quiet series; `scripts/bench-durability`
//! twice, durable `put` / in-memory 59 / 55% before and 64 / 61% after. What the searches
//! still cost is the nodes' own cache misses and the comparisons between entries of one
//! partition (an index partition holds many, and versions of one key are equal), which no
//! prefix decides.
//!
//! A value is encoded as
//!
//! ```text
//! [format version u8 = 1][commit version u64 BE][value bytes]
//! ```
//!
//! Both layouts (the key with each id form) are pinned by fixture tests below: changing them
//! requires a new [`VALUE_FORMAT`] and a migration.

use std::ops::{Bound, Deref};

use crate::{
    partition_hash, segment_bounds, Batch, CounterId, Counts, Key, Keyspace, PartitionRange,
    SegmentScan, StorageError, TableId, Write,
};

/// Format byte leading every stored value.
pub const VALUE_FORMAT: u8 = 1;

/// Largest partition the key layout can hold (its length is a `u16`).
pub const MAX_PARTITION_LEN: usize = u16::MAX as usize;

/// The first compact table id: [`compact_table_id`]`(n)` is `COMPACT_TABLE_IDS + n`. Below
/// 2^53, so every id stays exact where JSON numbers are read as doubles (jq, JavaScript).
pub const COMPACT_TABLE_IDS: TableId = 1 << 52;

/// How many compact ids there are: `n` of [`compact_table_id`] must be below this (30 bits).
pub const COMPACT_ID_COUNT: u64 = 1 << 30;

/// Compact ids with `n` below this take the 2-byte form (14 bits), the others the 4-byte one.
const SHORT_ID_COUNT: u64 = 1 << 14;

/// First-byte tag of the 2-byte form (`01` + 14 bits of `n`): bytes 0x40–0x7F.
const SHORT_TAG: u8 = 0x40;

/// First-byte tag of the 4-byte form (`10` + 30 bits of `n`): bytes 0x80–0xBF.
const LONG_TAG: u8 = 0x80;

/// The two bits that hold a form's tag in the first byte.
const TAG_BITS: u8 = 0xC0;

/// Most bytes before the partition: an 8-byte table id, the hash, the partition length.
const MAX_HEADER_LEN: usize = 8 + 8 + 2;

/// A key range over one keyspace's physical keys, as owned bounds.
pub type PhysicalRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The compact table id number `n` (see the module docs), or `None` if `n` is too large for
/// the compact form ([`COMPACT_ID_COUNT`] or more): such an id would collide with another
/// table's keys, so the caller must refuse to create the table.
pub fn compact_table_id(n: u64) -> Option<TableId> {
    (n < COMPACT_ID_COUNT).then(|| COMPACT_TABLE_IDS + n)
}

/// The encoded table id every key of one table starts with: 2, 4 or 8 bytes (see the module
/// docs), held inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TablePrefix {
    bytes: [u8; 8],
    len: u8,
}

impl Deref for TablePrefix {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The bytes every key of `table` starts with. No table's prefix is a prefix of another's,
/// so each table's keys are one contiguous range that no other table's keys enter.
///
/// # Errors
/// `InvalidArgument` for an id that has no encoding: outside the compact range, with a first
/// byte in 0x40–0xBF (the compact forms' first bytes). Binderdb never allocates one.
pub fn table_prefix(table: TableId) -> Result<TablePrefix, StorageError> {
    let mut bytes = [0; 8];
    let n = table.wrapping_sub(COMPACT_TABLE_IDS);
    let len = if n < SHORT_ID_COUNT {
        bytes[..2].copy_from_slice(&n.to_be_bytes()[6..]);
        bytes[0] |= SHORT_TAG;
        2
    } else if n < COMPACT_ID_COUNT {
        bytes[..4].copy_from_slice(&n.to_be_bytes()[4..]);
        bytes[0] |= LONG_TAG;
        4
    } else {
        bytes = table.to_be_bytes();
        if matches!(bytes[0] & TAG_BITS, SHORT_TAG | LONG_TAG) {
            return Err(StorageError::InvalidArgument(format!(
                "table id {table:#x} has no key encoding"
            )));
        }
        8
    };
    Ok(TablePrefix { bytes, len })
}

/// The table a physical key belongs to, and the length of its encoded id: the inverse of
/// [`table_prefix`] on a key's first bytes. `None` if the key is too short or its id is not
/// in canonical form.
pub fn table_of_key(key: &[u8]) -> Option<(TableId, usize)> {
    let first = *key.first()?;
    let (len, tag) = match first & TAG_BITS {
        SHORT_TAG => (2, SHORT_TAG),
        LONG_TAG => (4, LONG_TAG),
        _ => {
            // An id of the compact range in 8 bytes would be a second prefix of its table.
            let id = u64::from_be_bytes(key.get(..8)?.try_into().ok()?);
            return (id.wrapping_sub(COMPACT_TABLE_IDS) >= COMPACT_ID_COUNT).then_some((id, 8));
        }
    };
    let n = key
        .get(1..len)?
        .iter()
        .fold(u64::from(first & !tag), |n, b| n << 8 | u64::from(*b));
    // The 4-byte form of a number the 2-byte form holds would be a second prefix of the same
    // table: never written, so never accepted.
    (len == 2 || n >= SHORT_ID_COUNT).then_some((COMPACT_TABLE_IDS + n, len))
}

/// Encodes the key of `table` / `partition` / `sort`.
///
/// # Errors
/// `InvalidArgument` if the partition is longer than [`MAX_PARTITION_LEN`], or as
/// [`table_prefix`].
pub fn encode_key(table: u64, partition: &[u8], sort: &[u8]) -> Result<Vec<u8>, StorageError> {
    // Sized for the whole key: an index entry's sort part (index sort key plus the item's own
    // key) is often longer than the slack a bare prefix reserves, and each growth copies.
    let mut out = Vec::with_capacity(MAX_HEADER_LEN + partition.len() + sort.len());
    push_partition_prefix(table, partition, &mut out)?;
    out.extend_from_slice(sort);
    Ok(out)
}

/// Encodes a [`Key`] (its keyspace selects the ordered space and is not part of the bytes).
///
/// # Errors
/// As [`encode_key`].
pub fn encode(key: &Key) -> Result<Vec<u8>, StorageError> {
    encode_key(key.table, &key.partition, &key.sort)
}

/// The bytes every key of one partition starts with.
///
/// # Errors
/// As [`encode_key`].
pub fn partition_prefix(table: u64, partition: &[u8]) -> Result<Vec<u8>, StorageError> {
    let mut out = Vec::with_capacity(MAX_HEADER_LEN + partition.len() + 16);
    push_partition_prefix(table, partition, &mut out)?;
    Ok(out)
}

/// Appends the bytes every key of one partition starts with to `out`.
fn push_partition_prefix(
    table: u64,
    partition: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), StorageError> {
    let len = u16::try_from(partition.len()).map_err(|_| {
        StorageError::InvalidArgument(format!(
            "partition of {} bytes exceeds {MAX_PARTITION_LEN}",
            partition.len()
        ))
    })?;
    out.extend_from_slice(&table_prefix(table)?);
    out.extend_from_slice(&partition_hash(partition).to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(partition);
    Ok(())
}

/// Splits a physical key into `(partition, sort)`.
///
/// # Errors
/// `Corrupt` if the bytes are not a valid key.
pub fn decode_key(bytes: &[u8]) -> Result<(&[u8], &[u8]), StorageError> {
    let corrupt = || StorageError::Corrupt(format!("key of {} bytes is malformed", bytes.len()));
    let (_, id_len) = table_of_key(bytes).ok_or_else(corrupt)?;
    let header_len = id_len + 8 + 2;
    let len_bytes: [u8; 2] = bytes
        .get(header_len - 2..header_len)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(corrupt)?;
    let end = header_len + usize::from(u16::from_be_bytes(len_bytes));
    let partition = bytes.get(header_len..end).ok_or_else(corrupt)?;
    let sort = bytes.get(end..).ok_or_else(corrupt)?;
    Ok((partition, sort))
}

/// Encodes a stored value with its commit version.
pub fn encode_value(version: u64, value: &[u8]) -> Vec<u8> {
    let header = value_header(version);
    let mut out = Vec::with_capacity(header.len() + value.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(value);
    out
}

/// The bytes a stored value starts with (see [`encode_value`]): for an engine that builds the
/// stored value in a buffer of its own instead of copying [`encode_value`]'s.
pub fn value_header(version: u64) -> [u8; 9] {
    let mut header = [VALUE_FORMAT; 9];
    header[1..].copy_from_slice(&version.to_be_bytes());
    header
}

/// Splits a stored value into `(version, value)`.
///
/// # Errors
/// `Corrupt` if the bytes are too short or carry an unknown format byte.
pub fn decode_value(bytes: &[u8]) -> Result<(u64, &[u8]), StorageError> {
    match bytes.split_first() {
        Some((&VALUE_FORMAT, rest)) => {
            let version: [u8; 8] = rest
                .get(..8)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| StorageError::Corrupt("value shorter than its header".into()))?;
            Ok((
                u64::from_be_bytes(version),
                rest.get(8..).unwrap_or_default(),
            ))
        }
        Some((format, _)) => Err(StorageError::Corrupt(format!(
            "unknown value format {format}"
        ))),
        None => Err(StorageError::Corrupt("empty value".into())),
    }
}

/// A [`Batch`] with physical keys, ready for an engine to check and apply.
#[derive(Debug, Default)]
pub struct EncodedBatch {
    /// `(keyspace, physical key, expected version)` per guard.
    pub guards: Vec<(Keyspace, Vec<u8>, Option<u64>)>,
    /// `(keyspace, physical key, Some(value) for a put / None for a delete)`, in batch order.
    pub writes: Vec<(Keyspace, Vec<u8>, Option<Vec<u8>>)>,
    /// The counter writes, in batch order.
    pub counters: Vec<CounterWrite>,
}

/// A counter write of an [`EncodedBatch`].
#[derive(Clone, Copy, Debug)]
pub enum CounterWrite {
    /// [`Write::Count`].
    Add(CounterId, Counts),
    /// [`Write::SetCount`].
    Set(CounterId, Counts),
}

impl CounterWrite {
    /// Applies this write to `table`; returns the group whose record changed, if any.
    pub fn apply(self, table: &mut crate::counters::CounterTable) -> Option<TableId> {
        match self {
            CounterWrite::Add(id, delta) => table.add(id, delta),
            CounterWrite::Set(id, value) => Some(table.set(id, value)),
        }
    }

    /// Takes back this write after its batch failed to apply: an add is subtracted again; a
    /// set cannot be undone, so the counter becomes unknown (a recount restores it).
    pub fn undo(self, table: &mut crate::counters::CounterTable) {
        match self {
            CounterWrite::Add(id, delta) => {
                table.add(
                    id,
                    Counts {
                        items: delta.items.saturating_neg(),
                        bytes: delta.bytes.saturating_neg(),
                    },
                );
            }
            CounterWrite::Set(id, _) => table.forget(id),
        }
    }
}

/// Encodes every key of `batch` (values stay raw: the version is known only at commit).
///
/// # Errors
/// As [`encode_key`].
pub fn encode_batch(batch: Batch) -> Result<EncodedBatch, StorageError> {
    let guards = batch
        .guards
        .iter()
        .map(|g| Ok((g.key.keyspace, encode(&g.key)?, g.expected)))
        .collect::<Result<_, StorageError>>()?;
    let mut writes = Vec::with_capacity(batch.writes.len());
    let mut counters = Vec::new();
    for w in batch.writes {
        match w {
            Write::Put { key, value } => writes.push((key.keyspace, encode(&key)?, Some(value))),
            Write::Delete { key } => writes.push((key.keyspace, encode(&key)?, None)),
            Write::Count { counter, delta } => counters.push(CounterWrite::Add(counter, delta)),
            Write::SetCount { counter, value } => {
                counters.push(CounterWrite::Set(counter, value));
            }
        }
    }
    Ok(EncodedBatch {
        guards,
        writes,
        counters,
    })
}

/// The smallest byte string greater than every string starting with `prefix`, or `None` if
/// there is none (the prefix is all `0xFF`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < u8::MAX {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

fn upper_of_prefix(prefix: &[u8]) -> Bound<Vec<u8>> {
    prefix_successor(prefix).map_or(Bound::Unbounded, Bound::Excluded)
}

/// True if no byte string lies within the bounds (ordered containers panic on such ranges).
pub fn is_empty_range(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    }
}

/// Physical bounds of a [`PartitionRange`], or `None` if the range is empty.
///
/// # Errors
/// As [`encode_key`].
pub fn partition_range_bounds(
    r: &PartitionRange<'_>,
) -> Result<Option<PhysicalRange>, StorageError> {
    let prefix = partition_prefix(r.table, r.partition)?;
    let with_sort = |sort: &[u8]| {
        let mut k = prefix.clone();
        k.extend_from_slice(sort);
        k
    };
    let lower = match r.lower {
        Bound::Included(s) => Bound::Included(with_sort(s)),
        Bound::Excluded(s) => Bound::Excluded(with_sort(s)),
        Bound::Unbounded => Bound::Included(prefix.clone()),
    };
    let upper = match r.upper {
        Bound::Included(s) => Bound::Included(with_sort(s)),
        Bound::Excluded(s) => Bound::Excluded(with_sort(s)),
        Bound::Unbounded => upper_of_prefix(&prefix),
    };
    Ok((!is_empty_range(&lower, &upper)).then_some((lower, upper)))
}

/// Physical bounds of a [`SegmentScan`], or `None` if the range is empty.
///
/// # Errors
/// `InvalidArgument` for an invalid segment or an oversized `start_after` partition.
pub fn segment_range_bounds(s: &SegmentScan<'_>) -> Result<Option<PhysicalRange>, StorageError> {
    if s.total_segments == 0 || s.segment >= s.total_segments {
        return Err(StorageError::InvalidArgument(format!(
            "segment {} of {} does not exist",
            s.segment, s.total_segments
        )));
    }
    let table = table_prefix(s.table)?;
    let at_hash = |hash: u64| {
        let mut k = table.to_vec();
        k.extend_from_slice(&hash.to_be_bytes());
        k
    };
    let (lo, hi) = segment_bounds(s.segment, s.total_segments);
    let segment_start = at_hash(lo);
    let lower = match s.start_after {
        Some((partition, sort)) => {
            let after = encode_key(s.table, partition, sort)?;
            if after >= segment_start {
                Bound::Excluded(after)
            } else {
                Bound::Included(segment_start)
            }
        }
        None => Bound::Included(segment_start),
    };
    let upper = match hi {
        Bound::Excluded(h) => Bound::Excluded(at_hash(h)),
        _ => upper_of_prefix(&table),
    };
    Ok((!is_empty_range(&lower, &upper)).then_some((lower, upper)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keyspace;

    #[test]
    fn key_fixture() {
        // Pinned on-disk bytes: a change here is a format change.
        let key = encode_key(0x0102, b"pk", b"sk").unwrap();
        let mut expected = vec![0, 0, 0, 0, 0, 0, 1, 2];
        expected.extend_from_slice(&partition_hash(b"pk").to_be_bytes());
        expected.extend_from_slice(&[0, 2, b'p', b'k', b's', b'k']);
        assert_eq!(key, expected);
        assert_eq!(decode_key(&key).unwrap(), (&b"pk"[..], &b"sk"[..]));
        // Keys start with the partition's prefix, however long the sort part.
        let long_sort = [7u8; 40];
        let key = encode_key(0x0102, b"pk", &long_sort).unwrap();
        assert_eq!(
            key,
            [partition_prefix(0x0102, b"pk").unwrap(), long_sort.to_vec()].concat()
        );
    }

    #[test]
    fn compact_key_fixtures() {
        // Pinned on-disk bytes of both compact forms, at their edges.
        let hash = partition_hash(b"pk").to_be_bytes();
        for (n, id) in [
            (0, &[0x40, 0][..]),
            (0x0102, &[0x41, 0x02]),
            (0x3fff, &[0x7f, 0xff]),
            (0x4000, &[0x80, 0, 0x40, 0]),
            (0x0102_0304, &[0x81, 0x02, 0x03, 0x04]),
            (COMPACT_ID_COUNT - 1, &[0xbf, 0xff, 0xff, 0xff]),
        ] {
            let table = compact_table_id(n).unwrap();
            assert_eq!(table, (1 << 52) + n);
            let key = encode_key(table, b"pk", b"sk").unwrap();
            assert_eq!(key, [id, &hash, &[0, 2, b'p', b'k', b's', b'k']].concat());
            assert_eq!(&*table_prefix(table).unwrap(), id);
            assert_eq!(table_of_key(&key), Some((table, id.len())));
            assert_eq!(decode_key(&key).unwrap(), (&b"pk"[..], &b"sk"[..]));
        }
        assert_eq!(compact_table_id(COMPACT_ID_COUNT), None);
        // The legacy form, as older builds wrote it, for every id that is not compact.
        for table in [
            0,
            1,
            0x0102,
            COMPACT_TABLE_IDS - 1,
            (1 << 62) - 1,
            0xc0 << 56,
            u64::MAX,
        ] {
            assert_eq!(*table_prefix(table).unwrap(), table.to_be_bytes());
        }
        assert_eq!(
            *table_prefix(COMPACT_TABLE_IDS + COMPACT_ID_COUNT).unwrap(),
            (COMPACT_TABLE_IDS + COMPACT_ID_COUNT).to_be_bytes()
        );
    }

    #[test]
    fn ids_without_an_encoding_are_refused() {
        // An 8-byte id starting like a compact form would land inside compact tables' ranges.
        for table in [0x40 << 56, 0x7f12 << 48, 0x80 << 56, (0xc0 << 56) - 1] {
            assert!(matches!(
                table_prefix(table),
                Err(StorageError::InvalidArgument(_))
            ));
            assert!(matches!(
                encode_key(table, b"p", b""),
                Err(StorageError::InvalidArgument(_))
            ));
        }
        // Bytes no key was written with: too short, a 4-byte form of a 2-byte number, or the
        // 8-byte form of a compact id.
        for bytes in [
            &[][..],
            &[0x41],
            &[0x81, 0, 0],
            &[0, 0, 0, 0, 0, 0, 0],
            &[0x80, 0, 0x3f, 0xff],
            &(COMPACT_TABLE_IDS + 5).to_be_bytes(),
        ] {
            assert_eq!(table_of_key(bytes), None, "{bytes:?}");
            assert!(matches!(decode_key(bytes), Err(StorageError::Corrupt(_))));
        }
        // A header cut short after a compact id.
        let key = encode_key(compact_table_id(5).unwrap(), b"pk", b"").unwrap();
        for cut in 0..key.len() - 2 {
            assert!(decode_key(&key[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn value_fixture() {
        let v = encode_value(0x0a0b, b"xy");
        assert_eq!(v, [1, 0, 0, 0, 0, 0, 0, 0x0a, 0x0b, b'x', b'y']);
        // An engine building the stored value itself writes these same bytes.
        assert_eq!([&value_header(0x0a0b)[..], b"xy"].concat(), v);
        assert_eq!(decode_value(&v).unwrap(), (0x0a0b, &b"xy"[..]));
        assert!(matches!(
            decode_value(&[2, 0]),
            Err(StorageError::Corrupt(_))
        ));
        assert!(matches!(
            decode_value(&[1, 0]),
            Err(StorageError::Corrupt(_))
        ));
    }

    #[test]
    fn oversized_partition_is_rejected() {
        let big = vec![0u8; MAX_PARTITION_LEN + 1];
        let key = Key {
            keyspace: Keyspace::Items,
            table: 1,
            partition: big,
            sort: vec![],
        };
        assert!(matches!(
            encode(&key),
            Err(StorageError::InvalidArgument(_))
        ));
    }

    #[test]
    fn successor_and_empty_ranges() {
        assert_eq!(prefix_successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
        let b = |v: &[u8]| v.to_vec();
        assert!(is_empty_range(
            &Bound::Excluded(b(b"a")),
            &Bound::Excluded(b(b"a"))
        ));
        assert!(!is_empty_range(
            &Bound::Included(b(b"a")),
            &Bound::Included(b(b"a"))
        ));
        assert!(is_empty_range(
            &Bound::Included(b(b"b")),
            &Bound::Included(b(b"a"))
        ));
    }

    /// A table id of every kind: small and large legacy ids, both compact forms.
    fn any_table() -> impl proptest::strategy::Strategy<Value = TableId> {
        use proptest::prelude::*;
        prop_oneof![
            0u64..64,
            0u64..(1 << 62),
            (0xc0u64 << 56)..=u64::MAX,
            (0..SHORT_ID_COUNT).prop_map(|n| COMPACT_TABLE_IDS + n),
            (SHORT_ID_COUNT..COMPACT_ID_COUNT).prop_map(|n| COMPACT_TABLE_IDS + n),
        ]
        .prop_filter("encodable", |t| table_prefix(*t).is_ok())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Keys of legacy and compact tables, sorted bytewise, group by table, and within a
        /// table follow (hash, partition length, partition, sort): the oracle sorts the logical
        /// keys so.
        #[test]
        fn tables_stay_contiguous_and_ordered(
            tables in proptest::collection::vec(any_table(), 1..6),
            keys in proptest::collection::vec(
                (0usize..6, proptest::collection::vec(0u8..4, 0..4), proptest::collection::vec(0u8..4, 0..3)),
                1..80,
            ),
        ) {
            let mut physical: Vec<_> = keys
                .into_iter()
                .map(|(t, p, s)| {
                    let table = tables[t % tables.len()];
                    (encode_key(table, &p, &s).unwrap(), table, p, s)
                })
                .collect();
            physical.sort();
            physical.dedup();
            for (key, table, p, s) in &physical {
                proptest::prop_assert_eq!(table_of_key(key).map(|(t, _)| t), Some(*table));
                proptest::prop_assert_eq!(decode_key(key).unwrap(), (&p[..], &s[..]));
            }
            let mut seen = Vec::new();
            for run in physical.chunk_by(|a, b| a.1 == b.1) {
                let table = run[0].1;
                proptest::prop_assert!(!seen.contains(&table), "table {table:#x} is split");
                seen.push(table);
                let mut oracle: Vec<_> = run
                    .iter()
                    .map(|(_, _, p, s)| (partition_hash(p), p.len(), p.clone(), s.clone()))
                    .collect();
                oracle.sort();
                let order: Vec<_> = run.iter().map(|(_, _, p, s)| (p.clone(), s.clone())).collect();
                let expected: Vec<_> = oracle.into_iter().map(|(_, _, p, s)| (p, s)).collect();
                proptest::prop_assert_eq!(order, expected);
                // The table's prefix starts exactly its keys.
                let prefix = table_prefix(table).unwrap();
                for (key, other, _, _) in &physical {
                    proptest::prop_assert_eq!(key.starts_with(&prefix), *other == table);
                }
            }
        }
    }
}
