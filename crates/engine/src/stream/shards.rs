//! Sequence numbers, and shard succession by size.
//!
//! Succession by age is a pure function of the clock (see the module docs of `crate::stream`).
//! Succession by size is not, so it is recorded:
//! - Within a generation, the shard of hash slot `i` has *epochs*. Epoch 0 starts with the
//!   generation; when the open epoch has held [`ShardLimits::max_records`] records, or one more
//!   record would take it past [`ShardLimits::max_bytes`] bytes, the next record opens epoch
//!   `e + 1`, the child of epoch `e` (same hash range, `ParentShardId` = the closed epoch). A
//!   busy stream therefore closes its shards sooner, and a consumer follows more lineage.
//! - The generation, the epoch and the sequence number of a record are decided together under
//!   one stream's allocator lock, so every record of an epoch numbers below the next epoch's
//!   first record, and every record of a generation below the next generation's start. A reader
//!   that has seen every number below that bound committed knows the closed shard is drained.
//! - Epoch `e ≥ 1` of slot `(g, i)` is recorded by a *marker*, key `(Stream, stream id,
//!   partition = [0xFF], sort = [g u32][i u16][e u16])`, value `[1][first sequence u64]` (all
//!   big-endian; the leading byte is the format version). Until a batch carrying the marker
//!   committed, every record of that epoch carries it too (an idempotent put in the record's own
//!   batch), so a committed record's epoch always has a committed marker. Markers are read once
//!   per stream per process: they are what makes size successions survive restarts. The
//!   trimmer deletes a generation's markers once the whole generation aged out.
//! - The counts of the open epoch are taken from storage the first time this process writes to
//!   it (at most `max_records` records are read), so limits hold across restarts too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::{Bound, ControlFlow};
use std::sync::Arc;

use binderdb_storage::{Key, Keyspace, PartitionRange, Store, TableId, Write};
use parking_lot::Mutex;

use super::{shard_partition, ShardRef, StreamDescriptor, SEQ_PER_MS};
use crate::clock::Clock;
use crate::error::{Error, Result};

/// The partition of a stream's epoch markers (no shard partition is one byte long).
pub(crate) const MARKER_PARTITION: &[u8] = &[0xFF];
/// The version byte of a marker's value.
const MARKER_FORMAT: u8 = 1;

/// When an open shard is succeeded because of its size; 0 turns a limit off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardLimits {
    /// Most records in one shard.
    pub max_records: u64,
    /// Most bytes of stored records in one shard (a record larger than the limit still gets a
    /// shard of its own).
    pub max_bytes: u64,
}

impl ShardLimits {
    fn any(self) -> bool {
        self.max_records > 0 || self.max_bytes > 0
    }

    /// Whether an epoch holding `records` records of `bytes` bytes is closed by one more record
    /// of `next` bytes.
    fn full(self, (records, bytes): (u64, u64), next: u64) -> bool {
        (self.max_records > 0 && records >= self.max_records)
            || (self.max_bytes > 0 && records > 0 && bytes.saturating_add(next) > self.max_bytes)
    }
}

/// The size successions of one hash slot of one generation.
#[derive(Debug, Default)]
struct Slot {
    /// The first sequence number of epochs 1, 2, … (epoch 0 starts with its generation).
    starts: Vec<u64>,
    /// Records and bytes in the open epoch, once counted by this process.
    usage: Option<(u64, u64)>,
    /// Whether the open epoch's marker may not have committed yet.
    marker_pending: bool,
}

/// Sequence allocation and shard successions of one stream.
#[derive(Debug, Default)]
struct Allocator {
    last: u64,
    in_flight: BTreeSet<u64>,
    /// Slots with at least one size succession, or written by this process; loaded from the
    /// markers on first use.
    slots: Option<BTreeMap<(u32, u16), Slot>>,
}

/// The sequence allocators of every stream, created on first use.
#[derive(Debug)]
pub(crate) struct Sequencers {
    store: Arc<dyn Store>,
    limits: ShardLimits,
    streams: Mutex<HashMap<TableId, Arc<Mutex<Allocator>>>>,
    /// This node's residue among the nodes sharing the store (see [`NodeSlot`]).
    node: parking_lot::RwLock<NodeSlot>,
}

/// Which sequence numbers this node hands out when several nodes share the store: those
/// congruent to `slot` modulo [`NODE_SLOTS`], so two nodes writing records of one shard in the
/// same millisecond never number two records alike (one would overwrite the other). A node of
/// its own (`shared` false) hands out every number.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NodeSlot {
    pub(crate) shared: bool,
    pub(crate) slot: u64,
    /// No other node has shared the store since this one opened: every number in flight is
    /// this node's, so readers need not stay behind [`SHARED_SETTLE_MS`].
    pub(crate) alone: bool,
}

/// Most nodes sharing one store that stream sequence numbers tell apart.
pub(crate) const NODE_SLOTS: u64 = 64;

/// How long after its number's instant a record of another node is certainly committed, for a
/// stream reader on a shared store (it cannot see the other node's numbers in flight): once a
/// second node joined, readers stop before numbers younger than this, so records appear this
/// much later than on one node.
/// A write whose commit takes longer (a stalled cluster) may be passed by an iterator; the
/// stream is eventually consistent on a shared store, as the issue allows.
pub(crate) const SHARED_SETTLE_MS: u64 = 2_000;

impl NodeSlot {
    /// The smallest number at or above `n` this node may hand out.
    fn align(self, n: u64) -> u64 {
        if !self.shared {
            return n;
        }
        let up = (self.slot + NODE_SLOTS - n % NODE_SLOTS) % NODE_SLOTS;
        n.saturating_add(up)
    }
}

/// A sequence number in flight: readers stop before it until it is dropped (after the commit
/// that carries its record returned, or once the write gave up).
#[derive(Debug)]
pub(crate) struct Ticket {
    allocator: Arc<Mutex<Allocator>>,
    pub(crate) seq: u64,
    /// The shard (generation, slot and epoch) the record belongs in.
    pub(crate) shard: ShardRef,
    carries_marker: bool,
}

impl Ticket {
    /// The record's batch committed: if it carried its epoch's marker, later records of the
    /// epoch need not.
    pub(crate) fn committed(self) {
        if !self.carries_marker {
            return;
        }
        let mut a = self.allocator.lock();
        let slot = a
            .slots
            .as_mut()
            .and_then(|s| s.get_mut(&(self.shard.generation, self.shard.index)));
        if let Some(slot) = slot {
            if slot.starts.len() == usize::from(self.shard.epoch) {
                slot.marker_pending = false;
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.allocator.lock().in_flight.remove(&self.seq);
    }
}

fn marker_sort(generation: u32, index: u16, epoch: u16) -> Vec<u8> {
    let mut sort = Vec::with_capacity(8);
    sort.extend_from_slice(&generation.to_be_bytes());
    sort.extend_from_slice(&index.to_be_bytes());
    sort.extend_from_slice(&epoch.to_be_bytes());
    sort
}

/// The marker of epoch `shard.epoch` (≥ 1), whose first record is `start`.
fn marker_write(stream: TableId, shard: ShardRef, start: u64) -> Write {
    let mut value = Vec::with_capacity(9);
    value.push(MARKER_FORMAT);
    value.extend_from_slice(&start.to_be_bytes());
    Write::Put {
        key: marker_key(stream, shard.generation, shard.index, shard.epoch),
        value,
    }
}

/// The key of the marker of epoch `epoch` of slot `(generation, index)`.
pub(crate) fn marker_key(stream: TableId, generation: u32, index: u16, epoch: u16) -> Key {
    Key {
        keyspace: Keyspace::Stream,
        table: stream,
        partition: MARKER_PARTITION.to_vec(),
        sort: marker_sort(generation, index, epoch),
    }
}

/// Every marker of `stream`: slot → first sequence numbers of epochs 1, 2, …
fn load_markers(store: &dyn Store, stream: TableId) -> Result<BTreeMap<(u32, u16), Slot>> {
    let mut slots: BTreeMap<(u32, u16), Slot> = BTreeMap::new();
    let mut failure = None;
    store.range(
        &PartitionRange {
            keyspace: Keyspace::Stream,
            table: stream,
            partition: MARKER_PARTITION,
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            reverse: false,
        },
        &mut |e| {
            let parsed = (|| {
                let generation = u32::from_be_bytes(e.sort.get(..4)?.try_into().ok()?);
                let index = u16::from_be_bytes(e.sort.get(4..6)?.try_into().ok()?);
                let epoch = u16::from_be_bytes(e.sort.get(6..8)?.try_into().ok()?);
                if e.value.first() != Some(&MARKER_FORMAT) {
                    return None;
                }
                let start = u64::from_be_bytes(e.value.get(1..9)?.try_into().ok()?);
                Some((generation, index, epoch, start))
            })();
            let Some((generation, index, epoch, start)) = parsed else {
                failure = Some(Error::Internal("corrupt stream shard marker".to_owned()));
                return ControlFlow::Break(());
            };
            let slot = slots.entry((generation, index)).or_default();
            // Markers come in epoch order. A missing one is an epoch that never committed a
            // record (its marker rode with each of them): it is empty, so it starts and ends
            // where the next one starts.
            while slot.starts.len() < usize::from(epoch) {
                slot.starts.push(start);
            }
            ControlFlow::Continue(())
        },
    )?;
    match failure {
        Some(e) => Err(e),
        None => Ok(slots),
    }
}

/// Records and bytes stored in `shard`, counted until either reaches its limit.
fn count_usage(
    store: &dyn Store,
    stream: TableId,
    shard: ShardRef,
    limits: ShardLimits,
) -> Result<(u64, u64)> {
    let partition = shard_partition(shard);
    let (mut records, mut bytes) = (0u64, 0u64);
    store.range(
        &PartitionRange {
            keyspace: Keyspace::Stream,
            table: stream,
            partition: &partition,
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            reverse: false,
        },
        &mut |e| {
            records += 1;
            bytes += e.value.len() as u64;
            if limits.full((records, bytes), 0) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )?;
    Ok((records, bytes))
}

impl Sequencers {
    pub(crate) fn new(store: Arc<dyn Store>, limits: ShardLimits) -> Sequencers {
        Sequencers {
            store,
            limits,
            streams: Mutex::default(),
            node: parking_lot::RwLock::default(),
        }
    }

    /// Makes this node hand out only the sequence numbers of `slot` (see [`NodeSlot`]).
    pub(crate) fn set_node(&self, slot: NodeSlot) {
        *self.node.write() = slot;
    }

    /// Another node joined the store: readers stay behind [`SHARED_SETTLE_MS`] from now on.
    pub(crate) fn joined(&self) {
        self.node.write().alone = false;
    }

    fn allocator(&self, stream: TableId) -> Arc<Mutex<Allocator>> {
        self.streams.lock().entry(stream).or_default().clone()
    }

    fn loaded<'a>(
        &self,
        a: &'a mut Allocator,
        stream: TableId,
    ) -> Result<&'a mut BTreeMap<(u32, u16), Slot>> {
        if a.slots.is_none() {
            a.slots = Some(load_markers(self.store.as_ref(), stream)?);
        }
        a.slots
            .as_mut()
            .ok_or_else(|| Error::Internal("stream shards not loaded".to_owned()))
    }

    /// A sequence number for a record of `bytes` bytes of `stream`, of the item in hash slot
    /// `index`: in flight until the ticket drops. Also decides the record's shard (opening the
    /// next epoch when the slot's open one is full) and returns the epoch marker the record's
    /// batch must carry, if any.
    ///
    /// The clock is read under the stream's lock: a reader that read the clock and then found
    /// no number in flight knows that every later number is at least its reading, so a shard
    /// it saw closed by age can receive no more records.
    ///
    /// # Errors
    /// Storage failures reading the stream's markers or counting the open shard.
    pub(crate) fn allocate(
        &self,
        stream: &StreamDescriptor,
        index: u16,
        clock: &dyn Clock,
        bytes: u64,
    ) -> Result<(Ticket, Option<Write>)> {
        let allocator = self.allocator(stream.id);
        let mut a = allocator.lock();
        let now_ms = clock.now_millis();
        let seq = self.node.read().align(
            a.last
                .saturating_add(1)
                .max(now_ms.saturating_mul(SEQ_PER_MS)),
        );
        // The generation follows the number, not the caller's clock reading: numbers and
        // generations then grow together, whatever the order callers arrive in.
        let generation = stream.generation_at(seq / SEQ_PER_MS);
        let limits = self.limits;
        let (shard, marker) = {
            let slots = self.loaded(&mut a, stream.id)?;
            let slot = slots.entry((generation, index)).or_default();
            if limits.any() {
                let usage = match slot.usage {
                    Some(usage) => usage,
                    None => {
                        let open = ShardRef {
                            generation,
                            index,
                            epoch: slot.starts.len() as u16,
                        };
                        count_usage(self.store.as_ref(), stream.id, open, limits)?
                    }
                };
                let usage =
                    if limits.full(usage, bytes) && slot.starts.len() < usize::from(u16::MAX) {
                        slot.starts.push(seq);
                        slot.marker_pending = true;
                        (0, 0)
                    } else {
                        usage
                    };
                slot.usage = Some((usage.0 + 1, usage.1.saturating_add(bytes)));
            }
            let epoch = slot.starts.len() as u16;
            let shard = ShardRef {
                generation,
                index,
                epoch,
            };
            let marker = slot
                .starts
                .last()
                .filter(|_| slot.marker_pending)
                .map(|&start| marker_write(stream.id, shard, start));
            (shard, marker)
        };
        // Only now, with nothing left to fail, is the number taken.
        a.last = seq;
        a.in_flight.insert(seq);
        drop(a);
        let carries_marker = marker.is_some();
        Ok((
            Ticket {
                allocator,
                seq,
                shard,
                carries_marker,
            },
            marker,
        ))
    }

    /// The first sequence numbers of epochs 1, 2, … of slot `(generation, index)` of `stream`
    /// (empty: the slot has only epoch 0).
    ///
    /// # Errors
    /// Storage failures reading the stream's markers.
    pub(crate) fn epoch_starts(
        &self,
        stream: TableId,
        generation: u32,
        index: u16,
    ) -> Result<Vec<u64>> {
        let allocator = self.allocator(stream);
        let mut a = allocator.lock();
        let slots = self.loaded(&mut a, stream)?;
        Ok(slots
            .get(&(generation, index))
            .map(|s| s.starts.clone())
            .unwrap_or_default())
    }

    /// [`Sequencers::epoch_starts`] of every slot of generations `from..=to` that has more
    /// than one epoch.
    ///
    /// # Errors
    /// Storage failures reading the stream's markers.
    pub(crate) fn epochs_between(
        &self,
        stream: TableId,
        from: u32,
        to: u32,
    ) -> Result<BTreeMap<(u32, u16), Vec<u64>>> {
        let allocator = self.allocator(stream);
        let mut a = allocator.lock();
        let slots = self.loaded(&mut a, stream)?;
        Ok(slots
            .range((from, 0)..=(to, u16::MAX))
            .filter(|(_, s)| !s.starts.is_empty())
            .map(|(k, s)| (*k, s.starts.clone()))
            .collect())
    }

    /// Forgets the successions of generations below `generation` (they aged out; the trimmer
    /// deletes their markers).
    pub(crate) fn forget_generations_below(&self, stream: TableId, generation: u32) {
        let allocator = self.allocator(stream);
        let mut a = allocator.lock();
        if let Some(slots) = a.slots.as_mut() {
            slots.retain(|(g, _), _| *g >= generation);
        }
    }

    /// The first sequence number of `stream` that may still be in flight: every record below
    /// it that will ever exist is committed.
    pub(crate) fn visible_below(&self, stream: TableId, now_ms: u64) -> u64 {
        let allocator = self.allocator(stream);
        let a = allocator.lock();
        let mine = a.in_flight.first().copied().unwrap_or(u64::MAX);
        let node = *self.node.read();
        if node.shared && !node.alone {
            // Other nodes' numbers in flight are unknown here: see `SHARED_SETTLE_MS`.
            let settled = now_ms
                .saturating_sub(SHARED_SETTLE_MS)
                .saturating_mul(SEQ_PER_MS);
            mine.min(settled)
        } else {
            mine
        }
    }

    /// The sequence number the next record of `stream` at `now_ms` would get at least (where
    /// a LATEST iterator starts).
    pub(crate) fn next(&self, stream: TableId, now_ms: u64) -> u64 {
        let allocator = self.allocator(stream);
        let a = allocator.lock();
        a.last
            .saturating_add(1)
            .max(now_ms.saturating_mul(SEQ_PER_MS))
    }

    /// Forgets a stream whose storage was dropped.
    pub(crate) fn forget(&self, stream: TableId) {
        self.streams.lock().remove(&stream);
    }
}

#[cfg(test)]
mod tests {
    use binderdb_storage::{Batch, MemoryStore};

    use super::*;
    use crate::stream::ViewType;
    use crate::ManualClock;

    fn stream() -> StreamDescriptor {
        StreamDescriptor {
            id: 9,
            created_ms: 1_000,
            view_type: ViewType::KeysOnly,
            disabled_ms: None,
            shards: 2,
            rotation_ms: 60_000,
            policy: None,
        }
    }

    /// Allocates and commits `n` records of `bytes` bytes in slot 0; returns their shards.
    fn write(seqs: &Sequencers, store: &MemoryStore, n: usize, bytes: u64) -> Vec<ShardRef> {
        let s = stream();
        (0..n)
            .map(|_| {
                let (ticket, marker) = seqs
                    .allocate(&s, 0, &ManualClock::new(2_000), bytes)
                    .unwrap();
                let mut writes = vec![Write::Put {
                    key: s.record_key(ticket.shard, ticket.seq),
                    value: vec![0; bytes as usize],
                }];
                writes.extend(marker);
                store
                    .commit(Batch {
                        writes,
                        guards: Vec::new(),
                    })
                    .unwrap();
                let shard = ticket.shard;
                ticket.committed();
                shard
            })
            .collect()
    }

    #[test]
    fn sequence_numbers_grow_and_stay_in_flight_until_dropped() {
        let seqs = Sequencers::new(Arc::new(MemoryStore::new()), ShardLimits::default());
        let s = stream();
        let clock = ManualClock::new(5);
        let (a, _) = seqs.allocate(&s, 0, &clock, 1).unwrap();
        let (b, _) = seqs.allocate(&s, 0, &clock, 1).unwrap();
        assert_eq!(a.seq, 5 * SEQ_PER_MS);
        assert_eq!(b.seq, a.seq + 1);
        assert_eq!(seqs.visible_below(9, 0), a.seq);
        drop(a);
        assert_eq!(seqs.visible_below(9, 0), b.seq);
        drop(b);
        assert_eq!(seqs.visible_below(9, 0), u64::MAX);
        clock.advance(4);
        assert_eq!(
            seqs.allocate(&s, 0, &clock, 1).unwrap().0.seq,
            9 * SEQ_PER_MS
        );
    }

    /// Two nodes of a shared store writing one stream in the same milliseconds never number
    /// two records alike, and their readers stop before the settling window.
    #[test]
    fn nodes_of_a_shared_store_number_records_apart() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let nodes = [0, 1].map(|slot| {
            let seqs = Sequencers::new(store.clone(), ShardLimits::default());
            seqs.set_node(NodeSlot {
                shared: true,
                slot,
                alone: false,
            });
            seqs
        });
        let s = stream();
        let clock = ManualClock::new(5);
        let mut seen = BTreeSet::new();
        for _ in 0..3 {
            for (slot, seqs) in nodes.iter().enumerate() {
                let (ticket, _) = seqs.allocate(&s, 0, &clock, 1).unwrap();
                assert_eq!(ticket.seq % NODE_SLOTS, slot as u64);
                assert!(ticket.seq >= 5 * SEQ_PER_MS);
                assert!(
                    seen.insert(ticket.seq),
                    "number {} handed out twice",
                    ticket.seq
                );
            }
            clock.advance(1);
        }
        assert_eq!(
            nodes[0].visible_below(9, 10_000),
            (10_000 - SHARED_SETTLE_MS) * SEQ_PER_MS
        );
        // A node alone on the store reads up to its own numbers in flight, as on one machine.
        let alone = Sequencers::new(store.clone(), ShardLimits::default());
        alone.set_node(NodeSlot {
            shared: true,
            slot: 0,
            alone: true,
        });
        assert_eq!(alone.visible_below(9, 10_000), u64::MAX);
        alone.joined();
        assert_eq!(
            alone.visible_below(9, 10_000),
            (10_000 - SHARED_SETTLE_MS) * SEQ_PER_MS
        );
    }

    #[test]
    fn a_full_shard_is_succeeded_and_the_succession_survives_a_restart() {
        let store = Arc::new(MemoryStore::new());
        let limits = ShardLimits {
            max_records: 3,
            max_bytes: 0,
        };
        let seqs = Sequencers::new(store.clone(), limits);
        let epochs: Vec<u16> = write(&seqs, &store, 7, 10)
            .iter()
            .map(|s| s.epoch)
            .collect();
        assert_eq!(epochs, [0, 0, 0, 1, 1, 1, 2]);
        let starts = seqs.epoch_starts(9, 0, 0).unwrap();
        assert_eq!(starts.len(), 2);
        // A new process finds the same successions, and the open epoch's count.
        let again = Sequencers::new(store.clone(), limits);
        assert_eq!(again.epoch_starts(9, 0, 0).unwrap(), starts);
        let epochs: Vec<u16> = write(&again, &store, 3, 10)
            .iter()
            .map(|s| s.epoch)
            .collect();
        assert_eq!(epochs, [2, 2, 3]);
    }

    #[test]
    fn a_byte_limit_closes_a_shard_before_it_would_overflow() {
        let store = Arc::new(MemoryStore::new());
        let limits = ShardLimits {
            max_records: 0,
            max_bytes: 25,
        };
        let seqs = Sequencers::new(store.clone(), limits);
        let epochs: Vec<u16> = write(&seqs, &store, 5, 10)
            .iter()
            .map(|s| s.epoch)
            .collect();
        assert_eq!(epochs, [0, 0, 1, 1, 2]);
        // A record larger than the limit still gets a shard of its own.
        assert_eq!(write(&seqs, &store, 1, 100)[0].epoch, 3);
    }

    #[test]
    fn a_marker_rides_with_every_record_until_one_commits() {
        let store = Arc::new(MemoryStore::new());
        let limits = ShardLimits {
            max_records: 1,
            max_bytes: 0,
        };
        let seqs = Sequencers::new(store.clone(), limits);
        let s = stream();
        let clock = ManualClock::new(2_000);
        let (first, marker) = seqs.allocate(&s, 0, &clock, 1).unwrap();
        assert!(marker.is_none());
        first.committed();
        // Epoch 1 opens; its first batch fails (dropped without committing)...
        let (failed, marker) = seqs.allocate(&s, 1, &clock, 1).unwrap();
        assert!(marker.is_none(), "slot 1 starts at epoch 0");
        drop(failed);
        let (opening, marker) = seqs.allocate(&s, 0, &clock, 1).unwrap();
        assert_eq!(opening.shard.epoch, 1);
        assert!(marker.is_some());
        drop(opening);
        // ...so the next record of the slot (in epoch 2 now, limit 1) carries its own marker.
        let (next, marker) = seqs.allocate(&s, 0, &clock, 1).unwrap();
        assert_eq!(next.shard.epoch, 2);
        store
            .commit(Batch {
                writes: marker.into_iter().collect(),
                guards: Vec::new(),
            })
            .unwrap();
        let start = next.seq;
        next.committed();
        // After a restart, epoch 1 (which never committed a record) is empty: it ends where
        // epoch 2 starts.
        let again = Sequencers::new(store, limits);
        assert_eq!(again.epoch_starts(9, 0, 0).unwrap(), [start, start]);
    }
}
