//! Randomized comparison of a [`Store`] against an obviously correct oracle: a `BTreeMap` of
//! logical keys, filtered and sorted by brute force for every range and scan.

use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow, RangeBounds};

use super::{storage_order, OwnedEntry as Entry};
use crate::{
    segment_bounds, Batch, Guard, Key, Keyspace, PartitionRange, SegmentScan, StorageError, Store,
    TableId, Write,
};

/// How a guarded put's guard relates to the oracle's current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardKind {
    /// The guard matches the current state (absent, or the current version): must succeed.
    Current,
    /// The guard contradicts the current state: must be `Conflict` and write nothing.
    Wrong,
}

/// One step of a randomized run.
#[derive(Clone, Debug)]
pub enum OracleOp {
    /// Unguarded put.
    Put(Key, Vec<u8>),
    /// Unguarded delete.
    Delete(Key),
    /// Put of the first key plus delete of the second, guarded on the first.
    Guarded(Key, Key, Vec<u8>, GuardKind),
    /// Read-modify-write appending a byte to the key's value (or aborting if it is long).
    Append(Key, u8),
    /// Point read.
    Get(Key),
    /// Partition range with bounds on the sort bytes and a limit.
    Range(
        Keyspace,
        TableId,
        Vec<u8>,
        Bound<Vec<u8>>,
        Bound<Vec<u8>>,
        bool,
        usize,
    ),
    /// Segment scan with an optional start-after key and a limit.
    Scan(
        Keyspace,
        TableId,
        u32,
        u32,
        Option<(Vec<u8>, Vec<u8>)>,
        usize,
    ),
    /// Drop a table.
    DropTable(TableId),
}

type OracleKey = (Keyspace, TableId, Vec<u8>, Vec<u8>);

fn oracle_key(k: &Key) -> OracleKey {
    (k.keyspace, k.table, k.partition.clone(), k.sort.clone())
}

/// Deterministic splitmix64, so failures reproduce from the seed alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

const PARTITIONS: [&[u8]; 6] = [b"", b"a", b"ab", b"b", b"\0", b"\xff"];
const SORTS: [&[u8]; 6] = [b"", b"a", b"a\0", b"b", b"ba", b"\xff"];

/// A random key of table 1 or 2, whose current ids are `tables[1]` and `tables[2]`.
fn random_key(rng: &mut Rng, tables: &[TableId; 4]) -> Key {
    Key {
        keyspace: rng.pick(&[Keyspace::Items, Keyspace::Gsi]),
        table: tables[rng.pick(&[1, 2])],
        partition: rng.pick(&PARTITIONS).to_vec(),
        sort: rng.pick(&SORTS).to_vec(),
    }
}

fn random_bound(rng: &mut Rng) -> Bound<Vec<u8>> {
    let s = rng.pick(&SORTS).to_vec();
    match rng.below(3) {
        0 => Bound::Included(s),
        1 => Bound::Excluded(s),
        _ => Bound::Unbounded,
    }
}

/// A deterministic random sequence of `len` operations from `seed`.
///
/// The operations use tables 1, 2 and 3; a dropped table comes back under a new id (the next
/// one congruent to it modulo 10), as the contract says a dropped id is never written again.
pub fn random_ops(seed: u64, len: usize) -> Vec<OracleOp> {
    let mut rng = Rng(seed);
    let mut tables: [TableId; 4] = [0, 1, 2, 3];
    (0..len)
        .map(|_| match rng.below(20) {
            0..=5 => OracleOp::Put(random_key(&mut rng, &tables), vec![rng.next() as u8]),
            6..=7 => OracleOp::Delete(random_key(&mut rng, &tables)),
            8..=9 => {
                let kind = rng.pick(&[GuardKind::Current, GuardKind::Wrong]);
                OracleOp::Guarded(
                    random_key(&mut rng, &tables),
                    random_key(&mut rng, &tables),
                    vec![7],
                    kind,
                )
            }
            10..=11 => OracleOp::Append(random_key(&mut rng, &tables), rng.next() as u8),
            12..=13 => OracleOp::Get(random_key(&mut rng, &tables)),
            14..=16 => {
                let k = random_key(&mut rng, &tables);
                let (lower, upper) = (random_bound(&mut rng), random_bound(&mut rng));
                let limit = rng.pick(&[1, 2, 100]);
                OracleOp::Range(
                    k.keyspace,
                    k.table,
                    k.partition,
                    lower,
                    upper,
                    rng.below(2) == 1,
                    limit,
                )
            }
            17..=18 => {
                let k = random_key(&mut rng, &tables);
                let total = rng.pick(&[1, 2, 3, 7]);
                let segment = rng.below(total as usize) as u32;
                let after = (rng.below(2) == 1).then(|| (k.partition.clone(), k.sort.clone()));
                OracleOp::Scan(
                    k.keyspace,
                    k.table,
                    segment,
                    total,
                    after,
                    rng.pick(&[1, 5, 100]),
                )
            }
            _ => {
                let logical = rng.pick(&[1, 2, 3]);
                let dropped = tables[logical];
                tables[logical] += 10;
                OracleOp::DropTable(dropped)
            }
        })
        .collect()
}

fn collect(
    limit: usize,
    walk: impl FnOnce(&mut dyn FnMut(crate::EntryRef<'_>) -> ControlFlow<()>),
) -> Vec<Entry> {
    let mut out = Vec::new();
    walk(&mut |e| {
        out.push((
            e.partition.to_vec(),
            e.sort.to_vec(),
            e.version,
            e.value.to_vec(),
        ));
        if out.len() >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    out
}

fn as_ref_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Applies `ops` to `store` (which must be empty) and to a `BTreeMap` oracle, asserting after
/// every step that reads agree and that versions only increase. Panics on a mismatch.
#[allow(clippy::too_many_lines)]
pub fn check_against_oracle(store: &dyn Store, ops: &[OracleOp]) {
    let mut oracle: BTreeMap<OracleKey, (u64, Vec<u8>)> = BTreeMap::new();
    let mut last_version = 0u64;
    let saw = |v: u64, last: &mut u64| {
        assert!(v > *last, "version {v} not above {last}");
        *last = v;
    };
    for (step, op) in ops.iter().enumerate() {
        match op {
            OracleOp::Put(k, value) => {
                let batch = Batch {
                    writes: vec![Write::Put {
                        key: k.clone(),
                        value: value.clone(),
                    }],
                    guards: vec![],
                };
                let v = store.commit(batch).unwrap();
                saw(v, &mut last_version);
                oracle.insert(oracle_key(k), (v, value.clone()));
            }
            OracleOp::Delete(k) => {
                let v = store
                    .commit(Batch {
                        writes: vec![Write::Delete { key: k.clone() }],
                        guards: vec![],
                    })
                    .unwrap();
                saw(v, &mut last_version);
                oracle.remove(&oracle_key(k));
            }
            OracleOp::Guarded(a, b, value, kind) => {
                let current = oracle.get(&oracle_key(a)).map(|(v, _)| *v);
                let expected = match (kind, current) {
                    (GuardKind::Current, c) => c,
                    (GuardKind::Wrong, Some(_)) => None,
                    (GuardKind::Wrong, None) => Some(last_version + 1000),
                };
                let batch = Batch {
                    writes: vec![
                        Write::Put {
                            key: a.clone(),
                            value: value.clone(),
                        },
                        Write::Delete { key: b.clone() },
                    ],
                    guards: vec![Guard {
                        key: a.clone(),
                        expected,
                    }],
                };
                match (store.commit(batch), kind) {
                    (Ok(v), GuardKind::Current) => {
                        saw(v, &mut last_version);
                        oracle.insert(oracle_key(a), (v, value.clone()));
                        oracle.remove(&oracle_key(b));
                    }
                    (Err(StorageError::Conflict), GuardKind::Wrong) => {}
                    (r, kind) => panic!("step {step}: guarded commit {kind:?} gave {r:?}"),
                }
            }
            OracleOp::Append(k, byte) => {
                let r = store.read_modify_write(k, &mut |cur| {
                    let mut value = cur.map(|v| v.value.clone()).unwrap_or_default();
                    if value.len() >= 3 {
                        return None;
                    }
                    value.push(*byte);
                    Some(Batch {
                        writes: vec![Write::Put {
                            key: k.clone(),
                            value,
                        }],
                        guards: vec![],
                    })
                });
                let mut value = oracle
                    .get(&oracle_key(k))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                match r.unwrap() {
                    Some(v) => {
                        assert!(value.len() < 3, "step {step}: append should have aborted");
                        saw(v, &mut last_version);
                        value.push(*byte);
                        oracle.insert(oracle_key(k), (v, value));
                    }
                    None => assert!(value.len() >= 3, "step {step}: append aborted wrongly"),
                }
            }
            OracleOp::Get(k) => {
                let got = store.get(k).unwrap().map(|v| (v.version, v.value));
                assert_eq!(
                    got.as_ref(),
                    oracle.get(&oracle_key(k)),
                    "step {step}: get {k:?}"
                );
            }
            OracleOp::Range(ks, table, partition, lower, upper, reverse, limit) => {
                let r = PartitionRange {
                    keyspace: *ks,
                    table: *table,
                    partition,
                    lower: as_ref_bound(lower),
                    upper: as_ref_bound(upper),
                    reverse: *reverse,
                };
                let got = collect(*limit, |visit| store.range(&r, visit).unwrap());
                let mut want: Vec<Entry> = oracle
                    .iter()
                    .filter(|((k, t, p, s), _)| {
                        k == ks
                            && t == table
                            && p == partition
                            && (lower.clone(), upper.clone()).contains(s)
                    })
                    .map(|((_, _, p, s), (v, val))| (p.clone(), s.clone(), *v, val.clone()))
                    .collect();
                want.sort_by(|a, b| a.1.cmp(&b.1));
                if *reverse {
                    want.reverse();
                }
                want.truncate(*limit);
                assert_eq!(got, want, "step {step}: {op:?}");
            }
            OracleOp::Scan(ks, table, segment, total, after, limit) => {
                let s = SegmentScan {
                    keyspace: *ks,
                    table: *table,
                    segment: *segment,
                    total_segments: *total,
                    start_after: after.as_ref().map(|(p, s)| (p.as_slice(), s.as_slice())),
                };
                let got = collect(*limit, |visit| store.scan(&s, visit).unwrap());
                let (lo, hi) = segment_bounds(*segment, *total);
                let start = after.as_ref().map(|(p, s)| storage_order(p, s));
                let mut want: Vec<Entry> = oracle
                    .iter()
                    .filter(|((k, t, p, s), _)| {
                        let h = crate::partition_hash(p);
                        k == ks
                            && t == table
                            && (lo..).contains(&h)
                            && (Bound::Unbounded, hi).contains(&h)
                            && start
                                .as_ref()
                                .is_none_or(|start| storage_order(p, s) > *start)
                    })
                    .map(|((_, _, p, s), (v, val))| (p.clone(), s.clone(), *v, val.clone()))
                    .collect();
                want.sort_by_key(|e| storage_order(&e.0, &e.1));
                want.truncate(*limit);
                assert_eq!(got, want, "step {step}: {op:?}");
            }
            OracleOp::DropTable(table) => {
                store.drop_table(*table).unwrap();
                oracle.retain(|(_, t, _, _), _| t != table);
            }
        }
    }
}
