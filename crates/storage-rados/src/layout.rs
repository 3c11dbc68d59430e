//! How the storage contract's keys map onto RADOS objects and omap keys, and the formats of the
//! commit protocol's records (lock values, transaction records and their write plans). Pure
//! functions, no I/O.
//!
//! # Objects
//! One object per `(table, keyspace group, partition)`:
//! `{prefix}p.{table:016x}.{group}.{hash:016x}.{len:04x}.{partition}` where `group` is `i` for
//! items and their local-index entries (they share the table's partition, so an item and its
//! LSI entries change in one atomic object operation), `g` for GSI entries, `s` stream,
//! `t` TTL, `c` catalog; `hash` is [`partition_hash`], `len` the partition's length and
//! `partition` its bytes in lowercase hex (or, above [`MAX_NAMED_PARTITION`] bytes, `h` and the
//! hex of a 128-bit digest, keeping names under RADOS' limit). Sorting names as strings
//! therefore sorts partitions by hash, then length, then bytes: the contract's Scan order.
//! (Two partitions longer than [`MAX_NAMED_PARTITION`] bytes with equal 64-bit hashes and
//! lengths are ordered by their digests instead: a Scan still visits both exactly once.)
//!
//! # Omap keys
//! An entry's omap key is the keyspace's letter (`a` + tag) followed by its sort bytes escaped
//! to contain no NUL (librados passes range starts as C strings): `00` → `01 01`, `01` →
//! `01 02`, any other byte unchanged. The escape is prefix-free and monotone, so omap order is
//! sort-byte order. The key `!` holds the partition's raw bytes. Values are
//! [`codec::encode_value`] (format byte, commit version, bytes).
//!
//! A key held by a multi-object commit has a *lock* in the same object: the omap key `#`
//! followed by the held key ([`lock_key`]), whose value names the transaction ([`TxnRef`]).
//! Locks sort apart from entries (`#` is below every keyspace letter), so a range can read the
//! locks over its entries with one more page of the same read.

use binderdb_storage::{partition_hash, Keyspace, StorageError, TableId};

/// Longest partition spelled out in an object name; longer ones are named by digest.
pub const MAX_NAMED_PARTITION: usize = 200;

/// The omap key holding a partition object's raw partition bytes.
pub const PARTITION_KEY: &[u8] = b"!";

/// The letter of a keyspace's object group.
pub fn group(keyspace: Keyspace) -> char {
    match keyspace {
        Keyspace::Items | Keyspace::Lsi => 'i',
        Keyspace::Gsi => 'g',
        Keyspace::Stream => 's',
        Keyspace::Ttl => 't',
        Keyspace::Catalog => 'c',
    }
}

/// Every group letter.
pub const GROUPS: [char; 5] = ['i', 'g', 's', 't', 'c'];

/// One keyspace of each group.
pub const GROUP_KEYSPACES: [Keyspace; 5] = [
    Keyspace::Items,
    Keyspace::Gsi,
    Keyspace::Stream,
    Keyspace::Ttl,
    Keyspace::Catalog,
];

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// The names of a store's objects all start with this.
pub fn table_objects(prefix: &str, table: TableId) -> String {
    format!("{prefix}p.{table:016x}.")
}

/// The object holding a table's counter contributions when a commit writes none of the table's
/// partition objects (see `counters`).
pub fn counter_object(prefix: &str, table: TableId) -> String {
    format!("{}k", table_objects(prefix, table))
}

/// The name prefix of one table's objects of one keyspace group.
pub fn group_objects(prefix: &str, table: TableId, keyspace: Keyspace) -> String {
    format!("{}{}.", table_objects(prefix, table), group(keyspace))
}

/// The object holding `partition` of `table` in `keyspace`.
///
/// # Errors
/// `InvalidArgument` for a partition longer than the key codec allows.
pub fn object_name(
    prefix: &str,
    table: TableId,
    keyspace: Keyspace,
    partition: &[u8],
) -> Result<String, StorageError> {
    let len = u16::try_from(partition.len()).map_err(|_| {
        StorageError::InvalidArgument(format!(
            "partition of {} bytes exceeds {}",
            partition.len(),
            binderdb_storage::codec::MAX_PARTITION_LEN
        ))
    })?;
    let spelled = if partition.len() <= MAX_NAMED_PARTITION {
        hex(partition)
    } else {
        format!(
            "h{}",
            hex(&xxhash_rust::xxh3::xxh3_128(partition).to_be_bytes())
        )
    };
    Ok(format!(
        "{}{:016x}.{len:04x}.{spelled}",
        group_objects(prefix, table, keyspace),
        partition_hash(partition)
    ))
}

/// The partition hash spelled in a partition object's name (after its group prefix).
pub fn hash_of_name(rest: &str) -> Option<u64> {
    u64::from_str_radix(rest.get(..16)?, 16).ok()
}

/// The one-byte omap-key prefix of a keyspace's entries.
pub fn keyspace_prefix(keyspace: Keyspace) -> u8 {
    b'a' + keyspace as u8
}

/// The omap key of `sort` in `keyspace`.
pub fn omap_key(keyspace: Keyspace, sort: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sort.len() + 4);
    out.push(keyspace_prefix(keyspace));
    for &b in sort {
        match b {
            0 => out.extend_from_slice(&[1, 1]),
            1 => out.extend_from_slice(&[1, 2]),
            b => out.push(b),
        }
    }
    out
}

/// The sort bytes of an omap key made by [`omap_key`] (its keyspace byte dropped).
///
/// # Errors
/// `Corrupt` for a key that [`omap_key`] cannot have produced.
pub fn sort_of(key: &[u8]) -> Result<Vec<u8>, StorageError> {
    let corrupt = || StorageError::Corrupt("malformed omap key".into());
    let mut out = Vec::with_capacity(key.len());
    let mut bytes = key.get(1..).ok_or_else(corrupt)?.iter();
    while let Some(&b) = bytes.next() {
        match b {
            0 => return Err(corrupt()),
            1 => match bytes.next() {
                Some(1) => out.push(0),
                Some(2) => out.push(1),
                _ => return Err(corrupt()),
            },
            b => out.push(b),
        }
    }
    Ok(out)
}

/// The omap key of a counter group in the counters object: its id in hex (NUL-free, ordered).
pub fn counter_key(group: TableId) -> Vec<u8> {
    format!("{group:016x}").into_bytes()
}

/// The first byte of every lock key.
pub const LOCK_MARK: u8 = b'#';

/// The omap key of the lock on `key` (an entry's omap key, or a counter key).
pub fn lock_key(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(LOCK_MARK);
    out.extend_from_slice(key);
    out
}

/// The prefix shared by the locks on `keyspace`'s entries.
pub fn lock_prefix(keyspace: Keyspace) -> [u8; 2] {
    [LOCK_MARK, keyspace_prefix(keyspace)]
}

/// A transaction of the commit protocol: the node that runs it and its id there (the first
/// version it reserved, so unique in the pool). Encoded as a lock's value:
/// `{node:016x}:{id:016x}` (33 ASCII bytes, never empty: an omap comparison with the empty
/// value asserts that a key is absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxnRef {
    /// The owner's node id.
    pub node: u64,
    /// The transaction's id.
    pub id: u64,
}

impl TxnRef {
    /// The lock value naming this transaction.
    pub fn encode(&self) -> Vec<u8> {
        format!("{:016x}:{:016x}", self.node, self.id).into_bytes()
    }

    /// Decodes [`TxnRef::encode`].
    ///
    /// # Errors
    /// `Corrupt` for anything else.
    pub fn decode(bytes: &[u8]) -> Result<TxnRef, StorageError> {
        let corrupt = || StorageError::Corrupt("malformed lock value".into());
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt())?;
        let (node, id) = text.split_once(':').ok_or_else(corrupt)?;
        if node.len() != 16 || id.len() != 16 {
            return Err(corrupt());
        }
        Ok(TxnRef {
            node: u64::from_str_radix(node, 16).map_err(|_| corrupt())?,
            id: u64::from_str_radix(id, 16).map_err(|_| corrupt())?,
        })
    }

    /// The omap key of this transaction's state in its node's records object.
    pub fn state_key(&self) -> Vec<u8> {
        format!("{:016x}.s", self.id).into_bytes()
    }

    /// The omap key of this transaction's write plan (written at its commit point).
    pub fn plan_key(&self) -> Vec<u8> {
        format!("{:016x}.w", self.id).into_bytes()
    }

    /// The transaction whose state or plan key `key` is (in the records object of `node`).
    pub fn of_record_key(node: u64, key: &[u8]) -> Option<TxnRef> {
        let text = std::str::from_utf8(key).ok()?;
        let id = text
            .strip_suffix(".s")
            .or_else(|| text.strip_suffix(".w"))?;
        Some(TxnRef {
            node,
            id: u64::from_str_radix(id, 16).ok()?,
        })
    }
}

/// A transaction record's state value: running (its locks protect the state before it).
pub const PENDING: &[u8] = b"P";
/// A transaction record's state value: committed (its plan is the truth; apply it).
pub const COMMITTED: &[u8] = b"C";
/// A transaction record's state value: aborted by recovery (its locks are free).
pub const ABORTED: &[u8] = b"A";

/// One object's share of a commit: keys to set and keys to remove, and the locks the commit
/// holds there (released when this share is applied).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectWrites {
    /// Object name.
    pub object: String,
    /// Omap keys to set, with their values.
    pub set: Vec<(Vec<u8>, Vec<u8>)>,
    /// Omap keys to remove.
    pub remove: Vec<Vec<u8>>,
    /// Lock keys the commit holds in this object.
    pub locks: Vec<Vec<u8>>,
}

/// Format byte of an encoded write plan (format 1, without locks, is the intent of the
/// single-node protocol, still replayed at open).
pub const INTENT_FORMAT: u8 = 2;

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Encodes the writes of a commit spanning several objects: `[INTENT_FORMAT]`, then per object
/// its name, its sets, its removals and its locks, each length-prefixed (u32, big-endian).
pub fn encode_intent(objects: &[ObjectWrites]) -> Vec<u8> {
    let mut out = vec![INTENT_FORMAT];
    out.extend_from_slice(
        &u32::try_from(objects.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for o in objects {
        put_bytes(&mut out, o.object.as_bytes());
        out.extend_from_slice(&u32::try_from(o.set.len()).unwrap_or(u32::MAX).to_be_bytes());
        for (k, v) in &o.set {
            put_bytes(&mut out, k);
            put_bytes(&mut out, v);
        }
        out.extend_from_slice(
            &u32::try_from(o.remove.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for k in &o.remove {
            put_bytes(&mut out, k);
        }
        out.extend_from_slice(
            &u32::try_from(o.locks.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for k in &o.locks {
            put_bytes(&mut out, k);
        }
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StorageError> {
        if self.0.len() < n {
            return Err(StorageError::Corrupt("truncated commit intent".into()));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn count(&mut self) -> Result<usize, StorageError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        usize::try_from(u32::from_be_bytes(b))
            .map_err(|_| StorageError::Corrupt("commit intent count".into()))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, StorageError> {
        let n = self.count()?;
        Ok(self.take(n)?.to_vec())
    }
}

/// Decodes [`encode_intent`].
///
/// # Errors
/// `Corrupt` for an unknown format or truncated bytes.
pub fn decode_intent(bytes: &[u8]) -> Result<Vec<ObjectWrites>, StorageError> {
    let mut r = Reader(bytes);
    let format = r.take(1)?[0];
    if format != 1 && format != INTENT_FORMAT {
        return Err(StorageError::Corrupt("unknown commit intent format".into()));
    }
    let objects = r.count()?;
    let mut out = Vec::new();
    for _ in 0..objects {
        let object = String::from_utf8(r.bytes()?)
            .map_err(|_| StorageError::Corrupt("commit intent object name".into()))?;
        let mut set = Vec::new();
        for _ in 0..r.count()? {
            set.push((r.bytes()?, r.bytes()?));
        }
        let mut remove = Vec::new();
        for _ in 0..r.count()? {
            remove.push(r.bytes()?);
        }
        let mut locks = Vec::new();
        if format == INTENT_FORMAT {
            for _ in 0..r.count()? {
                locks.push(r.bytes()?);
            }
        }
        out.push(ObjectWrites {
            object,
            set,
            remove,
            locks,
        });
    }
    if !r.0.is_empty() {
        return Err(StorageError::Corrupt(
            "trailing bytes in commit intent".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omap_keys_keep_sort_order_and_round_trip() {
        let sorts: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![0, 5],
            vec![1],
            vec![1, 0],
            vec![2],
            vec![2, 0, 1],
            vec![255],
        ];
        for (i, a) in sorts.iter().enumerate() {
            let ka = omap_key(Keyspace::Items, a);
            assert!(!ka.contains(&0));
            assert_eq!(sort_of(&ka).ok().as_ref(), Some(a));
            for b in &sorts[i + 1..] {
                assert!(ka < omap_key(Keyspace::Items, b), "{a:?} < {b:?}");
            }
        }
    }

    #[test]
    fn object_names_sort_by_hash_length_bytes() {
        let mut parts: Vec<Vec<u8>> = (0u16..300).map(|i| i.to_be_bytes().to_vec()).collect();
        parts.push(vec![7; 300]);
        let mut by_name: Vec<(String, Vec<u8>)> = parts
            .iter()
            .map(|p| {
                (
                    object_name("x", 1, Keyspace::Items, p).unwrap_or_default(),
                    p.clone(),
                )
            })
            .collect();
        by_name.sort();
        let mut by_contract = parts.clone();
        by_contract.sort_by_key(|p| (partition_hash(p), p.len(), p.clone()));
        let named: Vec<Vec<u8>> = by_name.into_iter().map(|(_, p)| p).collect();
        assert_eq!(named, by_contract);
    }

    #[test]
    fn intents_round_trip() {
        let objects = vec![
            ObjectWrites {
                object: "a".into(),
                set: vec![(b"k".to_vec(), vec![0, 1, 2])],
                remove: vec![b"r".to_vec()],
                locks: vec![lock_key(b"k"), lock_key(b"r")],
            },
            ObjectWrites::default(),
        ];
        assert_eq!(decode_intent(&encode_intent(&objects)).ok(), Some(objects));
        assert!(decode_intent(&[9]).is_err());
        // Format 1, as the single-node protocol wrote it: one object "a", key k = 7, no removal.
        let old = [
            &[
                1u8, 0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 1, b'k',
            ][..],
            &[0, 0, 0, 1, 7, 0, 0, 0, 0],
        ]
        .concat();
        assert_eq!(
            decode_intent(&old).ok(),
            Some(vec![ObjectWrites {
                object: "a".into(),
                set: vec![(b"k".to_vec(), vec![7])],
                ..ObjectWrites::default()
            }])
        );
    }

    #[test]
    fn lock_values_round_trip_and_sort_apart() {
        let t = TxnRef {
            node: 0xabc,
            id: 42,
        };
        assert_eq!(TxnRef::decode(&t.encode()).ok(), Some(t));
        assert!(TxnRef::decode(b"x").is_err());
        assert_eq!(TxnRef::of_record_key(0xabc, &t.state_key()), Some(t));
        assert_eq!(TxnRef::of_record_key(0xabc, &t.plan_key()), Some(t));
        let lock = lock_key(&omap_key(Keyspace::Items, b"s"));
        assert!(lock.starts_with(&lock_prefix(Keyspace::Items)));
        assert!(lock < omap_key(Keyspace::Catalog, b""));
        assert!(lock.as_slice() > PARTITION_KEY);
    }
}
