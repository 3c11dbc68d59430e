//! Table statistics ([`Store::counts`](binderdb_storage::Store::counts)) on RADOS, kept so that
//! a counted write stays a single-object commit and every node sees every node's writes.
//!
//! # Records
//! - A *contribution* (`$` + group in hex, in any object): per lane, the sum of the deltas
//!   committed *into this object*, tagged with the lane's epoch. A commit adds its deltas of a
//!   table to the contribution of an object of that table it writes anyway (or, if it writes
//!   none, of the table's `k` object), read and rewritten inside the commit's own atomic
//!   operation (compared at the OSD, or under the commit's locks). So a PutItem on a table
//!   without global indexes, streams or TTL stays one compound operation.
//! - The *lane registry* (the `counters` object, key = group in hex): per lane its epoch, whether
//!   a recount is running, and a base value. Setting a lane (`SetCount`) gives it a new epoch
//!   (the commit's version) and the value as base; contributions of older epochs then count
//!   for nothing, so a set never has to visit the partitions. A lane absent here is unknown:
//!   deltas to it are dropped. `x` + id marks a dropped table or index (a late recount must not
//!   revive it).
//! - A *walk record* (`w` + keyspace + table, in the registry object): the counter that the
//!   entries of an index table are counted into, written by every recount that walks them
//!   (see below).
//!
//! A lane's value is its base plus the contributions of its epoch in every object of its table:
//! [`RadosStore::counts`] finds the table's objects in its partition index (`partitions`) and
//! reads one key of each (in parallel), so DescribeTable costs O(partitions the table has
//! touched), not O(items), and nothing of other tables; a node caches a table's sums for
//! [`SUM_CACHE`] (dropped by its own counted commits).
//!
//! # Several nodes
//! A node tags deltas with the lane epochs it read from the registry, cached for
//! [`EPOCH_CACHE`]. Checked for issue 19: without more, a recount on node A while node B
//! writes the table would be off **for good**, not just stale:
//! - B's cache still has the old epoch (or, during a backfill, none), so B's delta is dropped
//!   or tagged with the old epoch and counts for nothing once merged into an object whose
//!   contribution is still of the old epoch ([`Merge::apply`] moves a stale delta to the new
//!   epoch only where the object already moved): an entry the walk had already passed is then
//!   missing from the figure;
//! - the walk has no snapshot of B's commits: an entry B writes with the new epoch into an
//!   object the walk has not reached yet would be counted by the walk *and* by its delta.
//!
//! So a recount is a gate across nodes, as it is within one (the commit gate): the lane being
//! recounted names its recounter ([`Lane::recounter`]); A announces [`EPOCHS_TOPIC`] after
//! beginning the recount and before walking; every live node forgets its cached epochs once
//! its commits in flight are done (they hold its commit gate's read side, the handler takes
//! the write side). From then on, a commit of B with a delta to that lane reads the registry,
//! finds the recount of a live node, and waits (nothing taken, retried every few ms) until
//! the recount ends. The walk thus counts exactly what was committed before it, and the deltas
//! what was committed after. B's writes to that table pause for the walk, as A's own do.
//!
//! A commit can also change the walk's figure *without* a delta: an UpdateItem that changes
//! only the value of an index key attribute (`g3` to `g7`, same size) moves the item's index
//! entry from one partition to another, which changes neither the number nor the size of the
//! entries, so the engine commits no delta to the index's lane. Checked for a CI failure of
//! `test_rados_backfill_finishes_while_the_other_node_rewrites_the_items_it_reads` (the index
//! exact, its ItemCount one short for good): such a move by B while A's walk had passed the
//! entry's new partition and not yet reached its old one was missed (moved the other way it
//! would be counted twice), and nothing ever corrected it. So the gate also covers the entries
//! walked: a recount of entries that can move ([`moves_entries`]: LSI and GSI entries) writes,
//! in the same registry commit as its `BeginRecount`, a walk record naming its counter; a
//! commit that puts or deletes such entries reads the walk record of their table (cached for
//! [`EPOCH_CACHE`] and forgotten on the announcement, like the epochs) and, if there is one,
//! goes through the same gate as a delta to that lane. (`nodes.rs` reproduces the move; it
//! counted one entry short every time before.) The record stays (a table's entries keep their
//! counter) until the table is dropped; costs: one registry read per index table and node every
//! [`EPOCH_CACHE`], for the commits that write index entries (`bench --workload index-put` on
//! the 3-OSD test cluster, release, 6 alternating 15 s rounds a side on a loaded 2-core
//! machine: 15-33 ops/s either way, no slowdown visible in that noise). Items need no record:
//! an item's key never changes, so a commit that changes their number or size carries a
//! delta.
//!
//! Epochs are versions, and versions come from blocks each node reserves, so two nodes hand
//! out interleaved versions: a node whose block is behind would give a lane a *lower* epoch
//! than its current one, and [`Merge::apply`] (which keeps the higher of a contribution's epoch
//! and a delta's) would then add every later delta, in an object an earlier epoch tagged, to
//! that dead epoch, lost for good. So a commit that changes a registry record takes a version
//! above every epoch in it ([`Merge::floor`]): a lane's epochs grow with time, whichever node
//! moves them.
//!
//! # When the recounter or a node is cut off
//! - *The recounter dies* (or is cut off, or paused past its liveness): the gate does not stay
//!   shut. A waiting commit checks the recounter's liveness (`node`: its lock lapses after
//!   [`LIVENESS`](crate::LIVENESS)); once it is dead, the waiting node *abandons* that recount
//!   ([`LaneChange::AbandonRecount`]: a compare-and-set to a new, still unknown epoch naming
//!   nobody) and its writes go on. Should the recounter come back and finish its walk, its
//!   finish names the abandoned epoch and no longer applies (its walk may have missed or
//!   doubled writes made after the gate opened), so its recount reports "not counted" and the
//!   caller counts again (an index backfill does, see the engine's `index::backfill`); until a
//!   recount stands, the lane is unknown, never wrong.
//! - *A node misses the announcement* (cut off, or its watch broken): the announcement then
//!   waits [`ANNOUNCE_TIMEOUT`](crate::peers::ANNOUNCE_TIMEOUT) for it, which is longer than
//!   [`EPOCH_CACHE`] (checked at compile time), so by the time the walk starts, the epochs it
//!   had cached have expired and its next commit reads the registry (a broken watch also
//!   clears them when it comes back). Left: a commit that tagged its delta (or read the walk
//!   record) before the recount began and reaches the OSD more than that later (its process
//!   stalled in between) may be missing from the figure until the next recount.
//!
//! Recounts recorded before recounters were named (recounter 0) do not gate. Sets (`SetCount`)
//! only happen on tables no node has written yet (table creation, restores), so they lose
//! nothing. DynamoDB's own figures are refreshed about every six hours.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use binderdb_storage::{CounterId, Counts, Keyspace, StorageError, TableId};

/// What a node announces when it begins a recount: every node forgets the lane epochs it
/// cached (after its commits in flight).
pub const EPOCHS_TOPIC: &[u8] = b"rados-counter-epochs";

/// How long a node trusts the lane epochs it read.
pub const EPOCH_CACHE: Duration = Duration::from_secs(2);
// A node that misses a recount's announcement has forgotten its epochs by the time the
// announcement gives up waiting for it (see the module doc).
const _: () = assert!(crate::peers::ANNOUNCE_TIMEOUT.as_millis() > EPOCH_CACHE.as_millis());
/// How long a node reuses a table's summed contributions (its own counted commits drop them).
pub const SUM_CACHE: Duration = Duration::from_millis(500);

/// Format of a contribution record.
const CONTRIBUTION_FORMAT: u8 = 1;
/// Format of a lane-registry record (format 1 is the single-node engine's absolute counters,
/// read as epoch 0).
const REGISTRY_FORMAT: u8 = 2;
const LEGACY_REGISTRY_FORMAT: u8 = 1;

/// The key of a table's contribution in an object.
pub fn contribution_key(group: TableId) -> Vec<u8> {
    format!("${group:016x}").into_bytes()
}

/// The registry key of a group.
pub fn registry_key(group: TableId) -> Vec<u8> {
    format!("{group:016x}").into_bytes()
}

/// The registry key marking `id` (a table or an index) dropped.
pub fn tombstone_key(id: TableId) -> Vec<u8> {
    format!("x{id:016x}").into_bytes()
}

/// Whether a key of the registry object is a group record.
pub fn is_registry_key(key: &[u8]) -> bool {
    key.len() == 16 && key.iter().all(u8::is_ascii_hexdigit)
}

/// Whether a commit can change which entries of `keyspace` exist without changing how many
/// or how big they are, so without a delta: an item update that changes only the value of an
/// index key attribute moves the item's index entry (deleted here, put there). An item's own
/// key never changes, and stream or TTL records are never recounted.
pub fn moves_entries(keyspace: Keyspace) -> bool {
    matches!(keyspace, Keyspace::Lsi | Keyspace::Gsi)
}

/// The registry key of a *walk record*: which counter the entries of `table` in `keyspace`
/// are counted into (written by every recount that walks them, see the module doc).
pub fn walk_key(keyspace: Keyspace, table: TableId) -> Vec<u8> {
    format!("w{:02x}{table:016x}", keyspace.index()).into_bytes()
}

/// The table a walk record's key names, if `key` is one.
pub fn walk_table(key: &[u8]) -> Option<TableId> {
    let hex = key.strip_prefix(b"w").filter(|k| k.len() == 18)?;
    u64::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
}

/// Format of a walk record.
const WALK_FORMAT: u8 = 1;

/// Encodes a walk record: `[1][group][lane]` (u64 big-endian).
pub fn encode_walk(counter: CounterId) -> Vec<u8> {
    let mut out = vec![WALK_FORMAT];
    out.extend_from_slice(&counter.group.to_be_bytes());
    out.extend_from_slice(&counter.lane.to_be_bytes());
    out
}

/// Decodes a walk record.
///
/// # Errors
/// `Corrupt` for anything but [`encode_walk`]'s format.
pub fn decode_walk(bytes: &[u8]) -> Result<CounterId, StorageError> {
    match bytes.split_first() {
        Some((&WALK_FORMAT, rest)) => match words(rest, 2, "walk record")?.as_slice() {
            [w] => Ok(CounterId {
                group: w[0],
                lane: w[1],
            }),
            _ => Err(corrupt("walk record")),
        },
        _ => Err(corrupt("walk record")),
    }
}

/// One lane in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane {
    /// The epoch contributions must carry to count.
    pub epoch: u64,
    /// A recount is walking the entries: the value is unknown until it ends.
    pub recounting: bool,
    /// The node running that recount (0: unknown, a record of a node before they were named):
    /// the other nodes' commits with deltas to the lane wait while it is alive. Node ids are
    /// below 2^63: the id shares a word with the recounting flag.
    pub recounter: u64,
    /// The value at the start of the epoch.
    pub base: Counts,
}

/// A group's registry record: its lanes.
pub type Registry = BTreeMap<TableId, Lane>;

/// A contribution record: per lane, its epoch and the deltas summed.
pub type Contribution = BTreeMap<TableId, (u64, Counts)>;

fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(format!("malformed {what}"))
}

fn words(bytes: &[u8], n: usize, what: &str) -> Result<Vec<Vec<u64>>, StorageError> {
    if bytes.len() % (n * 8) != 0 {
        return Err(corrupt(what));
    }
    Ok(bytes
        .chunks_exact(n * 8)
        .map(|c| {
            c.chunks_exact(8)
                .map(|w| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(w);
                    u64::from_be_bytes(b)
                })
                .collect()
        })
        .collect())
}

fn signed(w: u64) -> i64 {
    i64::from_be_bytes(w.to_be_bytes())
}

fn counts(items: u64, bytes: u64) -> Counts {
    Counts {
        items: signed(items),
        bytes: signed(bytes),
    }
}

/// Decodes a registry record: `[2]` then per lane `[lane][epoch][flags][items][bytes]` (u64 /
/// i64 big-endian, flags 1 = recounting); or the legacy `[1]` `[lane][items][bytes]`.
///
/// # Errors
/// `Corrupt` for anything else.
pub fn decode_registry(bytes: &[u8]) -> Result<Registry, StorageError> {
    let what = "counter registry record";
    match bytes.split_first() {
        Some((&REGISTRY_FORMAT, rest)) => Ok(words(rest, 5, what)?
            .into_iter()
            .map(|w| {
                (
                    w[0],
                    Lane {
                        epoch: w[1],
                        recounting: w[2] & 1 == 1,
                        recounter: w[2] >> 1,
                        base: counts(w[3], w[4]),
                    },
                )
            })
            .collect()),
        Some((&LEGACY_REGISTRY_FORMAT, rest)) => Ok(words(rest, 3, what)?
            .into_iter()
            .map(|w| {
                (
                    w[0],
                    Lane {
                        epoch: 0,
                        recounting: false,
                        recounter: 0,
                        base: counts(w[1], w[2]),
                    },
                )
            })
            .collect()),
        _ => Err(corrupt(what)),
    }
}

/// Encodes a registry record; `None` when it has no lane (remove the key).
pub fn encode_registry(registry: &Registry) -> Option<Vec<u8>> {
    if registry.is_empty() {
        return None;
    }
    let mut out = vec![REGISTRY_FORMAT];
    for (lane, l) in registry {
        // The word keeps 63 bits of the id (node ids are drawn below 2^63, `node`).
        debug_assert!(
            l.recounter >> 63 == 0,
            "node id {:#x} too wide",
            l.recounter
        );
        for w in [
            *lane,
            l.epoch,
            u64::from(l.recounting) | (l.recounter << 1),
            u64::from_be_bytes(l.base.items.to_be_bytes()),
            u64::from_be_bytes(l.base.bytes.to_be_bytes()),
        ] {
            out.extend_from_slice(&w.to_be_bytes());
        }
    }
    Some(out)
}

/// Decodes a contribution record: `[1]` then per lane `[lane][epoch][items][bytes]`.
///
/// # Errors
/// `Corrupt` for anything else.
pub fn decode_contribution(bytes: &[u8]) -> Result<Contribution, StorageError> {
    let what = "counter contribution";
    match bytes.split_first() {
        Some((&CONTRIBUTION_FORMAT, rest)) => Ok(words(rest, 4, what)?
            .into_iter()
            .map(|w| (w[0], (w[1], counts(w[2], w[3]))))
            .collect()),
        _ => Err(corrupt(what)),
    }
}

/// Encodes a contribution record.
pub fn encode_contribution(contribution: &Contribution) -> Vec<u8> {
    let mut out = vec![CONTRIBUTION_FORMAT];
    for (lane, (epoch, c)) in contribution {
        for w in [
            *lane,
            *epoch,
            u64::from_be_bytes(c.items.to_be_bytes()),
            u64::from_be_bytes(c.bytes.to_be_bytes()),
        ] {
            out.extend_from_slice(&w.to_be_bytes());
        }
    }
    out
}

/// Contributions summed over a table's objects, by (lane, epoch).
pub type Sums = BTreeMap<(TableId, u64), Counts>;

/// An epoch of a delta: the lane's, or (for a lane set by the same commit) the commit's own
/// version, known only when the commit is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// This epoch.
    Known(u64),
    /// The committing batch's version.
    ThisCommit,
}

impl Epoch {
    fn at(self, version: u64) -> u64 {
        match self {
            Epoch::Known(e) => e,
            Epoch::ThisCommit => version,
        }
    }
}

/// A change of a registry lane.
#[derive(Debug, Clone, Copy)]
pub enum LaneChange {
    /// `SetCount`: a new epoch (the commit's version) with this base.
    Set(TableId, Counts),
    /// A recount by node `.1` starts: a new epoch, unknown until it finishes.
    BeginRecount(TableId, u64),
    /// A recount of epoch `.1` finishes with base `.2` (unless overtaken meanwhile).
    FinishRecount(TableId, u64, Counts),
    /// The recount of epoch `.1` is given up (its recounter was found dead): the lane moves to
    /// a new epoch, still unknown, gating nobody (recounter 0), so that recount's finish no
    /// longer applies, should its node only have been cut off or paused. Nothing if the lane
    /// moved on meanwhile.
    AbandonRecount(TableId, u64),
    /// A dropped index: forget the lane.
    Remove(TableId),
}

/// A read-modify-write of one counter key inside a commit: the new value is computed from the
/// value the commit read (under its comparison or lock).
#[derive(Debug, Clone)]
pub enum Merge {
    /// Adds deltas `(lane, epoch, delta)` to a contribution.
    Add(Vec<(TableId, Epoch, Counts)>),
    /// Changes lanes of a registry record.
    Lanes(Vec<LaneChange>),
}

impl Merge {
    /// The key's new value (`None`: remove it) from its old one, for a commit of `version`.
    ///
    /// # Errors
    /// `Corrupt` for an undecodable old value.
    pub fn apply(&self, old: Option<&[u8]>, version: u64) -> Result<Option<Vec<u8>>, StorageError> {
        match self {
            Merge::Add(deltas) => {
                let mut c = old
                    .map(decode_contribution)
                    .transpose()?
                    .unwrap_or_default();
                for (lane, epoch, delta) in deltas {
                    let epoch = epoch.at(version);
                    let entry = c.entry(*lane).or_insert((epoch, Counts::default()));
                    if entry.0 < epoch {
                        // The lane was set since: what this object held counts no more.
                        *entry = (epoch, Counts::default());
                    }
                    // A newer epoch than ours (our cache is behind): the delta still happened
                    // now, so it belongs to the lane's current epoch.
                    entry.1.items = entry.1.items.saturating_add(delta.items);
                    entry.1.bytes = entry.1.bytes.saturating_add(delta.bytes);
                }
                Ok(Some(encode_contribution(&c)))
            }
            Merge::Lanes(changes) => {
                let mut r = old.map(decode_registry).transpose()?.unwrap_or_default();
                for change in changes {
                    match *change {
                        LaneChange::Set(lane, base) => {
                            r.insert(
                                lane,
                                Lane {
                                    epoch: version,
                                    recounting: false,
                                    recounter: 0,
                                    base,
                                },
                            );
                        }
                        LaneChange::BeginRecount(lane, node) => {
                            r.insert(
                                lane,
                                Lane {
                                    epoch: version,
                                    recounting: true,
                                    recounter: node,
                                    base: Counts::default(),
                                },
                            );
                        }
                        LaneChange::FinishRecount(lane, epoch, base) => {
                            if let Some(l) = r.get_mut(&lane) {
                                if l.epoch == epoch && l.recounting {
                                    *l = Lane {
                                        epoch,
                                        recounting: false,
                                        recounter: 0,
                                        base,
                                    };
                                }
                            }
                        }
                        LaneChange::AbandonRecount(lane, epoch) => {
                            if let Some(l) = r.get_mut(&lane) {
                                if l.epoch == epoch && l.recounting {
                                    *l = Lane {
                                        epoch: version,
                                        recounting: true,
                                        recounter: 0,
                                        base: Counts::default(),
                                    };
                                }
                            }
                        }
                        LaneChange::Remove(lane) => {
                            r.remove(&lane);
                        }
                    }
                }
                Ok(encode_registry(&r))
            }
        }
    }

    /// The lowest version a commit of this merge may take, given the key's old value: above
    /// every epoch of a registry record, so a lane's epochs grow with time even when they come
    /// from different nodes' blocks of versions (see the module doc); 0 for a contribution.
    pub fn floor(&self, old: Option<&[u8]>) -> u64 {
        match self {
            Merge::Lanes(_) => old
                .and_then(|o| decode_registry(o).ok())
                .and_then(|r| r.values().map(|l| l.epoch).max())
                .unwrap_or(0),
            Merge::Add(_) => 0,
        }
    }

    /// Folds `other` (a later merge of the same key in the same commit) into this one.
    pub fn absorb(&mut self, other: Merge) {
        match (self, other) {
            (Merge::Add(a), Merge::Add(b)) => a.extend(b),
            (Merge::Lanes(a), Merge::Lanes(b)) => a.extend(b),
            // Keys of the two kinds never coincide.
            _ => {}
        }
    }
}

/// What a node remembers of the registry and of summed contributions.
#[derive(Debug, Default)]
pub struct Caches {
    /// Per group: when read, and its registry record.
    pub registry: HashMap<TableId, (Instant, Registry)>,
    /// Per group: when summed, and the contributions by (lane, epoch).
    pub sums: HashMap<TableId, (Instant, Sums)>,
    /// Per (keyspace, table) whose entries a commit moves: when read, and its walk record.
    pub walks: HashMap<(Keyspace, TableId), (Instant, Option<CounterId>)>,
}

/// The value of `id` from its group's registry record and summed contributions.
pub fn value_of(id: CounterId, registry: &Registry, sums: &Sums) -> Option<Counts> {
    let lane = registry.get(&id.lane)?;
    if lane.recounting {
        return None;
    }
    let mut value = lane.base;
    if let Some(sum) = sums.get(&(id.lane, lane.epoch)) {
        value.items = value.items.saturating_add(sum.items);
        value.bytes = value.bytes.saturating_add(sum.bytes);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(items: i64, bytes: i64) -> Counts {
        Counts { items, bytes }
    }

    #[test]
    fn records_round_trip_and_legacy_registry_reads_as_epoch_zero() {
        let mut r = Registry::new();
        r.insert(
            7,
            Lane {
                epoch: 3,
                recounting: true,
                recounter: 12,
                base: c(-1, 5),
            },
        );
        let bytes = encode_registry(&r).unwrap();
        assert_eq!(decode_registry(&bytes).unwrap(), r);
        // A recount recorded before recounters were named: recounter unknown (0).
        let mut unnamed = bytes.clone();
        unnamed[1 + 2 * 8..1 + 3 * 8].copy_from_slice(&1u64.to_be_bytes());
        assert_eq!(decode_registry(&unnamed).unwrap()[&7].recounter, 0);
        assert_eq!(encode_registry(&Registry::new()), None);
        // The largest node id survives beside the flag.
        let mut widest = r.clone();
        widest.get_mut(&7).unwrap().recounter = (1 << 63) - 1;
        let bytes = encode_registry(&widest).unwrap();
        assert_eq!(decode_registry(&bytes).unwrap(), widest);
        // The single-node engine's format 1 (binderdb_storage::counters::encode_group).
        let legacy = binderdb_storage::counters::encode_group(&[(7, c(2, 300))]);
        assert_eq!(
            decode_registry(&legacy).unwrap().get(&7),
            Some(&Lane {
                epoch: 0,
                recounting: false,
                recounter: 0,
                base: c(2, 300)
            })
        );
        let mut k = Contribution::new();
        k.insert(9, (4, c(1, -2)));
        assert_eq!(decode_contribution(&encode_contribution(&k)).unwrap(), k);
        assert!(decode_contribution(&[1, 0]).is_err());
        assert!(is_registry_key(&registry_key(7)));
        assert!(!is_registry_key(&tombstone_key(7)));
        // Walk records: keyed by keyspace and table, naming a counter.
        let walk = walk_key(Keyspace::Gsi, u64::MAX - 1);
        assert!(!is_registry_key(&walk));
        assert_eq!(walk_table(&walk), Some(u64::MAX - 1));
        assert_eq!(walk_table(&registry_key(7)), None);
        assert_eq!(walk_table(&tombstone_key(7)), None);
        let counter = CounterId { group: 3, lane: 4 };
        assert_eq!(decode_walk(&encode_walk(counter)).unwrap(), counter);
        assert!(decode_walk(&encode_walk(counter)[..9]).is_err());
        assert!(decode_walk(&[]).is_err());
    }

    #[test]
    fn a_registry_change_takes_a_version_above_every_epoch_it_replaces() {
        let r = Merge::Lanes(vec![
            LaneChange::Set(1, c(0, 0)),
            LaneChange::BeginRecount(2, 7),
        ])
        .apply(None, 500)
        .unwrap()
        .unwrap();
        let r = Merge::Lanes(vec![LaneChange::Set(3, c(0, 0))])
            .apply(Some(&r), 900)
            .unwrap()
            .unwrap();
        let change = Merge::Lanes(vec![LaneChange::BeginRecount(1, 8)]);
        assert_eq!(change.floor(Some(&r)), 900);
        assert_eq!(change.floor(None), 0);
        // A contribution's epochs never come from anywhere but the registry's.
        let add = Merge::Add(vec![(1, Epoch::Known(900), c(1, 1))]);
        let k = add.apply(None, 901).unwrap().unwrap();
        assert_eq!(add.floor(Some(&k)), 0);
    }

    #[test]
    fn merges_follow_epochs() {
        let add = |epoch, items| Merge::Add(vec![(1, Epoch::Known(epoch), c(items, items))]);
        let v = add(5, 2).apply(None, 100).unwrap().unwrap();
        let v = add(5, 3).apply(Some(&v), 101).unwrap().unwrap();
        assert_eq!(decode_contribution(&v).unwrap()[&1], (5, c(5, 5)));
        // A newer epoch resets what an older one summed; an older one joins the newer.
        let v = add(6, 1).apply(Some(&v), 102).unwrap().unwrap();
        assert_eq!(decode_contribution(&v).unwrap()[&1], (6, c(1, 1)));
        let v = add(5, 1).apply(Some(&v), 103).unwrap().unwrap();
        assert_eq!(decode_contribution(&v).unwrap()[&1], (6, c(2, 2)));
        // Registry: a set takes the commit's version; a finished recount only if not overtaken.
        let r = Merge::Lanes(vec![
            LaneChange::Set(1, c(0, 0)),
            LaneChange::BeginRecount(2, 7),
        ])
        .apply(None, 200)
        .unwrap()
        .unwrap();
        let reg = decode_registry(&r).unwrap();
        assert_eq!(
            (reg[&1].epoch, reg[&2].recounting, reg[&2].recounter),
            (200, true, 7)
        );
        let done = Merge::Lanes(vec![LaneChange::FinishRecount(2, 200, c(9, 9))])
            .apply(Some(&r), 201)
            .unwrap()
            .unwrap();
        assert_eq!(decode_registry(&done).unwrap()[&2].base, c(9, 9));
        let stale = Merge::Lanes(vec![LaneChange::FinishRecount(2, 199, c(1, 1))])
            .apply(Some(&r), 202)
            .unwrap()
            .unwrap();
        assert!(decode_registry(&stale).unwrap()[&2].recounting);
        let mut sums = BTreeMap::new();
        sums.insert((1, 200), c(4, 40));
        sums.insert((1, 100), c(50, 50));
        assert_eq!(
            value_of(CounterId { group: 9, lane: 1 }, &reg, &sums),
            Some(c(4, 40))
        );
        assert_eq!(value_of(CounterId { group: 9, lane: 2 }, &reg, &sums), None);
    }
}
