//! Counters kept by the store: how many entries a table (or an index) holds and how many bytes
//! they weigh, maintained in the same atomic commit as the data they describe.
//!
//! # Why the store keeps them
//! DescribeTable must answer `ItemCount` and `TableSizeBytes` in constant time at any table
//! size, and a crash (kill -9) must not make them drift. The engine knows what each write
//! changes (it has the old and the new item), so it adds a [`Write::Count`](crate::Write::Count)
//! delta to the write's own batch; the store applies the delta *under its commit ordering*
//! (the one lock every single-node engine already takes to assign a version) and stores the
//! resulting absolute value in the same atomic batch. The stored value therefore always equals
//! the sum of the deltas of exactly the commits that survived, whatever the crash recovered.
//!
//! # Groups and lanes
//! A counter is one *lane* of a *group* ([`CounterId`]); the engine uses the table id as the
//! group and the table's or each index's id as the lane. A durable engine stores one record
//! per group (all its lanes), so a write that changes a table and four of its indexes adds one
//! small record to its batch, not five. The record of a hot table is rewritten by every write
//! to it, but never under a lock of its own: the value is computed under the commit mutex the
//! commit holds anyway, so counters add no contention between writers.
//!
//! # Unknown counters and recounts
//! A lane is *unknown* until it is set ([`Write::SetCount`](crate::Write::SetCount), e.g. to zero
//! in the commit that creates a table) or recounted ([`Store::recount`](crate::Store::recount)).
//! Deltas to an unknown lane are ignored, and unknown lanes are not stored, so data written
//! before counters existed, or an index still being filled, never shows a half-right number.
//! A recount walks one consistent snapshot of the counted range while writers go on: commits
//! after the snapshot accumulate their deltas aside, and the recount's result is the snapshot's
//! count plus those deltas. A lane being recounted is not stored either, so a crash mid-way
//! leaves it unknown and the recount simply runs again.
//!
//! [`CounterTable`] is the shared bookkeeping every engine uses; [`encode_group`] /
//! [`decode_group`] are the stored record format (versioned, see [`COUNTER_FORMAT`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::{StorageError, TableId};

/// Names a counter: lane `lane` of group `group`. A table's counters form one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterId {
    /// The group (the engine uses the base table id).
    pub group: TableId,
    /// The lane within the group (the table id itself, or an index id).
    pub lane: TableId,
}

/// The value of a counter, or a change to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Number of entries.
    pub items: i64,
    /// Their total size, in whatever unit the engine weighs entries.
    pub bytes: i64,
}

impl Counts {
    /// Whether both members are zero.
    pub fn is_zero(&self) -> bool {
        self.items == 0 && self.bytes == 0
    }

    fn add(&mut self, other: Counts) {
        self.items = self.items.saturating_add(other.items);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// The format version at the head of every stored group record.
pub const COUNTER_FORMAT: u8 = 1;

/// Bytes of one lane in a stored group record: lane id, items, bytes (big-endian).
const LANE_BYTES: usize = 24;

/// The state of one lane in memory.
#[derive(Clone, Copy, Debug)]
enum Lane {
    Known(Counts),
    /// A recount is walking a snapshot; `pending` sums the deltas committed since.
    Recounting {
        pending: Counts,
        generation: u64,
    },
}

/// The counters of every group, as a store holds them in memory under its commit ordering.
///
/// Every method must be called under the lock that orders the store's commits, so that
/// "apply a delta" and "take a recount's snapshot" are totally ordered with the commits.
#[derive(Debug, Default)]
pub struct CounterTable {
    groups: HashMap<TableId, BTreeMap<TableId, Lane>>,
    /// Ids dropped in this process: a recount that started late must not revive them.
    dropped: HashSet<TableId>,
    generations: u64,
}

/// What a committed counter change did: the group whose stored record must be rewritten.
pub type TouchedGroup = TableId;

impl CounterTable {
    /// Restores a group from its stored record (every stored lane is known).
    pub fn restore(&mut self, group: TableId, lanes: Vec<(TableId, Counts)>) {
        let lanes = lanes
            .into_iter()
            .map(|(lane, counts)| (lane, Lane::Known(counts)))
            .collect();
        self.groups.insert(group, lanes);
    }

    /// Adds `delta` to `id`; returns the group to store again if a stored value changed.
    /// Unknown lanes ignore deltas; lanes being recounted remember them.
    pub fn add(&mut self, id: CounterId, delta: Counts) -> Option<TouchedGroup> {
        match self.groups.get_mut(&id.group)?.get_mut(&id.lane)? {
            Lane::Known(counts) => {
                counts.add(delta);
                Some(id.group)
            }
            Lane::Recounting { pending, .. } => {
                pending.add(delta);
                None
            }
        }
    }

    /// Sets `id` to `value`, making it known (and abandoning any recount of it).
    pub fn set(&mut self, id: CounterId, value: Counts) -> TouchedGroup {
        self.dropped.remove(&id.group);
        self.dropped.remove(&id.lane);
        self.groups
            .entry(id.group)
            .or_default()
            .insert(id.lane, Lane::Known(value));
        id.group
    }

    /// Makes `id` unknown (its stored record is rewritten by the next change of its group).
    pub fn forget(&mut self, id: CounterId) {
        if let Some(lanes) = self.groups.get_mut(&id.group) {
            lanes.remove(&id.lane);
        }
    }

    /// The value of `id`, if known.
    pub fn get(&self, id: CounterId) -> Option<Counts> {
        match self.groups.get(&id.group)?.get(&id.lane)? {
            Lane::Known(counts) => Some(*counts),
            Lane::Recounting { .. } => None,
        }
    }

    /// Starts a recount of `id` (at the instant of the caller's snapshot); returns its
    /// generation, or `None` if `id`'s group or lane was dropped in this process.
    pub fn begin_recount(&mut self, id: CounterId) -> Option<u64> {
        if self.dropped.contains(&id.group) || self.dropped.contains(&id.lane) {
            return None;
        }
        self.generations += 1;
        let generation = self.generations;
        self.groups.entry(id.group).or_default().insert(
            id.lane,
            Lane::Recounting {
                pending: Counts::default(),
                generation,
            },
        );
        Some(generation)
    }

    /// Ends the recount `generation` of `id` with the snapshot's `counted` value: the lane
    /// becomes known as `counted` plus the deltas committed since. Returns the new value, or
    /// `None` if the recount was overtaken (a set, a newer recount, a drop).
    pub fn finish_recount(
        &mut self,
        id: CounterId,
        generation: u64,
        counted: Counts,
    ) -> Option<Counts> {
        let lane = self.groups.get_mut(&id.group)?.get_mut(&id.lane)?;
        match *lane {
            Lane::Recounting {
                pending,
                generation: g,
            } if g == generation => {
                let mut value = counted;
                value.add(pending);
                *lane = Lane::Known(value);
                Some(value)
            }
            _ => None,
        }
    }

    /// Forgets group `table` and lane `table` of every group (a dropped table or index).
    /// Returns the groups whose stored records must be rewritten (the dropped group itself is
    /// not among them: its record is to be deleted).
    pub fn drop_table(&mut self, table: TableId) -> Vec<TouchedGroup> {
        self.dropped.insert(table);
        self.groups.remove(&table);
        let mut touched = Vec::new();
        for (group, lanes) in &mut self.groups {
            if lanes.remove(&table).is_some() {
                touched.push(*group);
            }
        }
        touched
    }

    /// Every group with a stored record, ascending (for a copy of the whole store).
    pub fn groups(&self) -> Vec<TableId> {
        let mut groups: Vec<TableId> = self
            .groups
            .keys()
            .copied()
            .filter(|g| self.record(*g).is_some())
            .collect();
        groups.sort_unstable();
        groups
    }

    /// The stored record of `group`: its known lanes, or `None` when it has none (delete the
    /// record).
    pub fn record(&self, group: TableId) -> Option<Vec<u8>> {
        let lanes = self.groups.get(&group)?;
        let mut out = Vec::with_capacity(1 + lanes.len() * LANE_BYTES);
        out.push(COUNTER_FORMAT);
        for (lane, state) in lanes {
            if let Lane::Known(counts) = state {
                encode_lane(&mut out, *lane, *counts);
            }
        }
        (out.len() > 1).then_some(out)
    }
}

/// Encodes a group record: `[COUNTER_FORMAT]` then per lane `[lane u64][items i64][bytes i64]`,
/// big-endian.
pub fn encode_group(lanes: &[(TableId, Counts)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + lanes.len() * LANE_BYTES);
    out.push(COUNTER_FORMAT);
    for (lane, counts) in lanes {
        encode_lane(&mut out, *lane, *counts);
    }
    out
}

fn encode_lane(out: &mut Vec<u8>, lane: TableId, counts: Counts) {
    out.extend_from_slice(&lane.to_be_bytes());
    out.extend_from_slice(&counts.items.to_be_bytes());
    out.extend_from_slice(&counts.bytes.to_be_bytes());
}

/// Decodes a group record written by [`encode_group`].
///
/// # Errors
/// `Corrupt` for an unknown format or a truncated record.
pub fn decode_group(bytes: &[u8]) -> Result<Vec<(TableId, Counts)>, StorageError> {
    let corrupt = || StorageError::Corrupt("malformed counter record".into());
    match bytes.split_first() {
        Some((&COUNTER_FORMAT, rest)) if rest.len() % LANE_BYTES == 0 => Ok(rest
            .chunks_exact(LANE_BYTES)
            .map(|c| {
                let word = |i: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&c[i * 8..i * 8 + 8]);
                    b
                };
                (
                    u64::from_be_bytes(word(0)),
                    Counts {
                        items: i64::from_be_bytes(word(1)),
                        bytes: i64::from_be_bytes(word(2)),
                    },
                )
            })
            .collect()),
        Some((&COUNTER_FORMAT, _)) => Err(corrupt()),
        Some((format, _)) => Err(StorageError::Corrupt(format!(
            "unknown counter record format {format}"
        ))),
        None => Err(corrupt()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: CounterId = CounterId { group: 7, lane: 7 };
    const I: CounterId = CounterId { group: 7, lane: 9 };

    fn counts(items: i64, bytes: i64) -> Counts {
        Counts { items, bytes }
    }

    #[test]
    fn group_record_fixture() {
        // Format 1 as stored on disk; if this fails the stored format changed.
        let bytes = encode_group(&[(7, counts(2, 300)), (9, counts(-1, 5))]);
        let mut expected = vec![1u8];
        for word in [7u64, 2, 300, 9, u64::MAX, 5] {
            expected.extend_from_slice(&word.to_be_bytes());
        }
        assert_eq!(bytes, expected);
        assert_eq!(
            decode_group(&bytes).unwrap(),
            vec![(7, counts(2, 300)), (9, counts(-1, 5))]
        );
        assert!(decode_group(&bytes[..10]).is_err());
        assert!(decode_group(&[2]).is_err());
        assert!(decode_group(&[]).is_err());
    }

    #[test]
    fn unknown_lanes_ignore_deltas_until_set() {
        let mut table = CounterTable::default();
        assert_eq!(table.add(T, counts(1, 10)), None);
        assert_eq!(table.get(T), None);
        assert_eq!(table.record(7), None);
        table.set(T, Counts::default());
        assert_eq!(table.add(T, counts(1, 10)), Some(7));
        assert_eq!(table.add(I, counts(1, 10)), None);
        assert_eq!(table.get(T), Some(counts(1, 10)));
        assert_eq!(decode_group(&table.record(7).unwrap()).unwrap().len(), 1);
    }

    #[test]
    fn a_recount_adds_the_deltas_committed_after_its_snapshot() {
        let mut table = CounterTable::default();
        table.set(T, counts(5, 50));
        let generation = table.begin_recount(I).unwrap();
        assert_eq!(table.add(I, counts(1, 3)), None);
        assert_eq!(table.get(I), None);
        // Only the known lane is stored while the other is recounted.
        assert_eq!(
            decode_group(&table.record(7).unwrap()).unwrap(),
            vec![(7, counts(5, 50))]
        );
        assert_eq!(
            table.finish_recount(I, generation, counts(10, 100)),
            Some(counts(11, 103))
        );
        assert_eq!(table.get(I), Some(counts(11, 103)));
        // An overtaken recount changes nothing.
        let old = table.begin_recount(I).unwrap();
        let new = table.begin_recount(I).unwrap();
        assert_eq!(table.finish_recount(I, old, counts(1, 1)), None);
        assert_eq!(
            table.finish_recount(I, new, counts(2, 2)),
            Some(counts(2, 2))
        );
    }

    #[test]
    fn dropping_forgets_groups_and_lanes() {
        let mut table = CounterTable::default();
        table.set(T, counts(1, 1));
        table.set(I, counts(2, 2));
        assert_eq!(table.drop_table(9), vec![7]);
        assert_eq!(table.get(I), None);
        assert_eq!(table.begin_recount(I), None);
        assert_eq!(table.drop_table(7), Vec::<TableId>::new());
        assert_eq!(table.get(T), None);
        assert_eq!(table.record(7), None);
        assert_eq!(table.begin_recount(T), None);
    }
}
