//! Physical encoding of keys and values, shared by every engine so that all engines agree on
//! storage order (the order of a Scan and of parallel-scan segments).
//!
//! Each [`Keyspace`] is its own ordered space (a fjall keyspace, a `BTreeMap`).
//! Within it a key is encoded as
//!
//! ```text
//! [table id u64 BE][partition_hash u64 BE][partition len u16 BE][partition][sort]
//! ```
//!
//! so one partition's keys are contiguous and ordered by sort bytes (the length prefix keeps a
//! partition that is a prefix of another from bleeding into it), and a table's keys are ordered
//! by (hash, partition length, partition bytes, sort bytes).
//!
//! A value is encoded as
//!
//! ```text
//! [format version u8 = 1][commit version u64 BE][value bytes]
//! ```
//!
//! Both layouts are pinned by fixture tests below: changing them requires a new
//! [`VALUE_FORMAT`] and a migration.

use std::ops::Bound;

use crate::{
    partition_hash, segment_bounds, Batch, CounterId, Counts, Key, Keyspace, PartitionRange,
    SegmentScan, StorageError, TableId, Write,
};

/// Format byte leading every stored value.
pub const VALUE_FORMAT: u8 = 1;

/// Largest partition the key layout can hold (its length is a `u16`).
pub const MAX_PARTITION_LEN: usize = u16::MAX as usize;

/// Bytes before the partition: table id, hash, partition length.
const HEADER_LEN: usize = 8 + 8 + 2;

/// A key range over one keyspace's physical keys, as owned bounds.
pub type PhysicalRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The bytes every key of `table` starts with.
pub fn table_prefix(table: u64) -> [u8; 8] {
    table.to_be_bytes()
}

/// Encodes the key of `table` / `partition` / `sort`.
///
/// # Errors
/// `InvalidArgument` if the partition is longer than [`MAX_PARTITION_LEN`].
pub fn encode_key(table: u64, partition: &[u8], sort: &[u8]) -> Result<Vec<u8>, StorageError> {
    // Sized for the whole key: an index entry's sort part (index sort key plus the item's own
    // key) is often longer than the slack a bare prefix reserves, and each growth copies.
    let mut out = Vec::with_capacity(HEADER_LEN + partition.len() + sort.len());
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
    let mut out = Vec::with_capacity(HEADER_LEN + partition.len() + 16);
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
    out.extend_from_slice(&table.to_be_bytes());
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
    let len_bytes: [u8; 2] = bytes
        .get(16..HEADER_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(corrupt)?;
    let end = HEADER_LEN + usize::from(u16::from_be_bytes(len_bytes));
    let partition = bytes.get(HEADER_LEN..end).ok_or_else(corrupt)?;
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
    let table = table_prefix(s.table);
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
}
