//! The change log of a table with point-in-time recovery.
//!
//! # Design
//! Every write that changes an item of such a table adds one **log entry** to its own atomic
//! commit (the same guarded batch as the item, its index entries and its stream record), so
//! the log holds exactly the committed writes, survives exactly what they survive, and is
//! kept on every write path: [`crate::Database::plan_write`] is the one place PutItem,
//! UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, PartiQL and TTL deletes turn a
//! decision into storage writes, and it adds the entry.
//!
//! An entry records the instant of the write, the item's key, its **old image** (the item
//! before, if any) and its **new image** (after, if any), each in the item encoding. The old
//! images make it an undo log: the table as it was at instant `t` is the current table with
//! every key changed after `t` put back to the old image of its *first* change after `t`
//! ([`items_at`]). The new images make the changes between two instants readable on their
//! own, with both images ([`changes`]), which an incremental export needs.
//!
//! Layout: in the `Stream` keyspace (change records, like stream records) under the log's own
//! storage id ([`super::PitrDescriptor::log_id`]); partition = the hour of the write (8 bytes,
//! big-endian hours since the epoch), sort = the instant in ms and a sequence number (8 + 8
//! bytes big-endian), so a partition walks in commit order and pruning drops whole hours.
//! Every write of a table goes to one partition per hour: fine for the single-node engines; a
//! distributed engine would want the hour split by partition-key hash.
//!
//! The instant and the sequence come from [`LogClock`]: the instant never goes backwards
//! within a process, and two writes of one key (serialised by the key's latch) get increasing
//! sequence numbers, so a key's entries written by one process sort in the order they
//! committed. Writes of one key by several nodes sharing a store may sort otherwise (same
//! millisecond, clock skew), so readers do not trust the sort order within a key: each entry
//! also carries the version its write overwrote, and [`KeyHistory`] places a key's changes by
//! that chain, which is commit order on every engine. The sequence starts
//! at the opening instant shifted left by 20 bits, so a restarted server never reuses one
//! (that would need a million log entries per millisecond of the previous run's uptime).
//!
//! Retention: the background pruner ([`prune`]) deletes every hour that ended before the
//! recovery window, so the log's storage is bounded by the recovery period's writes (plus up
//! to an hour). Disabling point-in-time recovery or deleting the table drops the whole log.
//!
//! Cost: one more entry per write, about the size of the old and new item together plus
//! ~40 bytes of key and header, and the encoding of the old image. A restore to `t` reads the
//! log after `t` once and the current table once; it holds the keys changed after `t` (and
//! their old images, and 16 bytes per change) in memory, never the table.
//!
//! Must not depend on: HTTP or a concrete storage engine.

use std::collections::HashMap;
use std::ops::{Bound, ControlFlow};
use std::sync::atomic::{AtomicBool, Ordering};

use binderdb_storage::{
    Batch, EntryRef, Key, Keyspace, PartitionRange, SegmentScan, Store, TableId, Write,
};
use parking_lot::Mutex;

use super::PitrDescriptor;
use crate::catalog::{Catalog, Table};
use crate::error::{Error, Result};

/// The on-disk format version of a log entry (its first byte). Format 2 adds the version of
/// the old image; format 1 entries (without it) are still read.
pub const LOG_FORMAT: u8 = 2;
/// The format of entries written before the old image's version was kept.
const LOG_FORMAT_1: u8 = 1;

/// A log partition spans this many milliseconds (one hour).
const BUCKET_MS: u64 = 60 * 60 * 1000;

/// Entries deleted per commit when pruning.
const PRUNE_CHUNK: usize = 1024;

const HAS_OLD: u8 = 1;
const HAS_NEW: u8 = 2;

/// Instants and sequence numbers of log entries (see the module docs).
#[derive(Debug)]
pub struct LogClock {
    /// The last instant handed out and the last sequence number.
    state: Mutex<(u64, u64)>,
}

impl LogClock {
    /// A log clock for a process that opened at `now_ms`.
    pub fn new(now_ms: u64) -> LogClock {
        LogClock {
            state: Mutex::new((0, now_ms << 20)),
        }
    }

    /// The instant (never before the last one) and sequence number of an entry written at
    /// `now_ms`.
    pub fn stamp(&self, now_ms: u64) -> (u64, u64) {
        let mut s = self.state.lock();
        s.0 = s.0.max(now_ms);
        s.1 += 1;
        (s.0, s.1)
    }

    /// The latest instant handed out (0 before any).
    pub fn last_ms(&self) -> u64 {
        self.state.lock().0
    }
}

fn bucket_of(ms: u64) -> u64 {
    ms / BUCKET_MS
}

fn sort_bytes(time_ms: u64, seq: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&time_ms.to_be_bytes());
    out[8..].copy_from_slice(&seq.to_be_bytes());
    out
}

fn put_len(out: &mut Vec<u8>, bytes: &[u8]) {
    // Keys and items are far below 4 GiB (the request limit is 16 MB).
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The log entry of a write of the item at `key` at `(time_ms, seq)` (from [`LogClock`]):
/// `old` is the item before (its encoding and the version the write read, which the write's
/// commit is guarded on), `new` the item after.
pub(crate) fn entry(
    log_id: TableId,
    (time_ms, seq): (u64, u64),
    key: &Key,
    old: Option<(&[u8], u64)>,
    new: Option<&[u8]>,
) -> Write {
    let mut value = Vec::with_capacity(
        32 + key.partition.len()
            + key.sort.len()
            + old.map_or(0, |(image, _)| image.len())
            + new.map_or(0, <[u8]>::len),
    );
    value.push(LOG_FORMAT);
    value.push(if old.is_some() { HAS_OLD } else { 0 } | if new.is_some() { HAS_NEW } else { 0 });
    if let Some((_, version)) = old {
        value.extend_from_slice(&version.to_be_bytes());
    }
    let old = old.map(|(image, _)| image);
    put_len(&mut value, &key.partition);
    put_len(&mut value, &key.sort);
    for image in [old, new].into_iter().flatten() {
        put_len(&mut value, image);
    }
    Write::Put {
        key: Key {
            keyspace: Keyspace::Stream,
            table: log_id,
            partition: bucket_of(time_ms).to_be_bytes().to_vec(),
            sort: sort_bytes(time_ms, seq).to_vec(),
        },
        value,
    }
}

/// One change of the log, borrowed from the store while visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<'a> {
    /// When the write committed, ms since the epoch.
    pub time_ms: u64,
    /// Orders changes of the same instant (increasing in commit order for one key written by
    /// one node; see [`KeyHistory`] for several).
    pub seq: u64,
    /// The version of the commit that made the change.
    pub version: u64,
    /// The version of the old image (the version the write read and was guarded on); `None`
    /// without an old image, and in entries of format 1.
    pub old_version: Option<u64>,
    /// The item's partition bytes (as in the `Items` keyspace).
    pub partition: &'a [u8],
    /// The item's sort bytes.
    pub sort: &'a [u8],
    /// The item before the write (its encoding, [`binderdb_model::decode_item`]); `None` if
    /// the write created it.
    pub old: Option<&'a [u8]>,
    /// The item after the write; `None` if the write deleted it.
    pub new: Option<&'a [u8]>,
}

fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let out = bytes.get(4..4 + len)?;
    *bytes = &bytes[4 + len..];
    Some(out)
}

fn decode_entry<'a>(e: &EntryRef<'a>) -> Result<Change<'a>> {
    let corrupt = || Error::Internal("corrupt point-in-time recovery log entry".to_owned());
    let time_ms = u64::from_be_bytes(
        e.sort
            .get(..8)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    let seq = u64::from_be_bytes(
        e.sort
            .get(8..16)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    );
    let (&format, rest) = e.value.split_first().ok_or_else(corrupt)?;
    if format != LOG_FORMAT && format != LOG_FORMAT_1 {
        return Err(Error::Internal(format!(
            "unknown point-in-time recovery log format {format}"
        )));
    }
    let (&flags, mut rest) = rest.split_first().ok_or_else(corrupt)?;
    let old_version = if format == LOG_FORMAT && flags & HAS_OLD != 0 {
        let bytes = rest.get(..8).ok_or_else(corrupt)?;
        rest = &rest[8..];
        Some(u64::from_be_bytes(bytes.try_into().map_err(|_| corrupt())?))
    } else {
        None
    };
    let partition = take(&mut rest).ok_or_else(corrupt)?;
    let sort = take(&mut rest).ok_or_else(corrupt)?;
    let old = if flags & HAS_OLD != 0 {
        Some(take(&mut rest).ok_or_else(corrupt)?)
    } else {
        None
    };
    let new = if flags & HAS_NEW != 0 {
        Some(take(&mut rest).ok_or_else(corrupt)?)
    } else {
        None
    };
    Ok(Change {
        time_ms,
        seq,
        version: e.version,
        old_version,
        partition,
        sort,
        old,
        new,
    })
}

/// What the changes of one key over a stretch of the log say about the key's state just
/// before the stretch and at its end, whatever order the walk visits them in.
///
/// The log sorts by (instant, sequence), and that is commit order for the writes of one key on
/// one node. Two nodes sharing a store stamp from their own clocks and sequences, so two writes
/// of one key by two nodes in the same millisecond, or a few milliseconds apart under clock
/// skew, may sort the wrong way round. Commit order is still recorded: every write of an item is
/// guarded on the version it read, and its entry carries that version (`old_version`) beside
/// its own commit version, so the changes of a key form chains (a change follows the one whose
/// version it overwrote). A chain can only start with a write that found the item (its
/// overwritten version lies before the stretch) or with a create; every other create follows a
/// delete. Hence:
/// - the state before the stretch is the old image of the change whose overwritten version is
///   not among the stretch's versions, and if there is none, the item did not exist (every
///   change that found it follows another change of the stretch, so the first one was a
///   create);
/// - the state at the end is the new image of the change whose version no change of the stretch
///   overwrote, and if there is none, the item was deleted.
///
/// A change is thus placed by commit order, and its instant counts as the latest instant of the
/// changes before it in the chain (a write stamped earlier than the write it overwrote, by a
/// node whose clock is behind, is taken to be as late as that one). Entries of format 1 carry
/// no overwritten version: a key with one of them falls back to the walk's order.
#[derive(Debug, Default)]
pub struct KeyHistory {
    /// Versions of the changes seen.
    versions: std::collections::HashSet<u64>,
    /// Versions the changes seen overwrote.
    overwritten: std::collections::HashSet<u64>,
    /// Changes whose overwritten version is not among `versions` (so far): the overwritten
    /// version and the old image.
    firsts: Vec<(u64, Vec<u8>)>,
    /// Changes that wrote a version no change seen overwrote (so far): that version, the
    /// change's instant and its new image. Kept only when asked for.
    lasts: Vec<(u64, u64, Vec<u8>)>,
    keep_new: bool,
    /// A format-1 entry was seen: the walk's order decides.
    legacy: bool,
    /// The old image of the first change visited and the new image of the last one.
    walk_first: Option<Option<Vec<u8>>>,
    walk_last: Option<Vec<u8>>,
    /// The latest instant of the changes seen.
    last_ms: u64,
}

impl KeyHistory {
    /// A history that knows the state before the stretch; with `keep_new`, also the state at its
    /// end.
    pub fn new(keep_new: bool) -> KeyHistory {
        KeyHistory {
            keep_new,
            ..KeyHistory::default()
        }
    }

    /// Adds one change of the key.
    pub fn add(&mut self, c: &Change<'_>) {
        if c.old.is_some() && c.old_version.is_none() {
            self.legacy = true;
        }
        self.last_ms = self.last_ms.max(c.time_ms);
        if self.walk_first.is_none() {
            self.walk_first = Some(c.old.map(<[u8]>::to_vec));
        }
        self.versions.insert(c.version);
        self.firsts
            .retain(|(overwritten, _)| *overwritten != c.version);
        if let (Some(image), Some(overwritten)) = (c.old, c.old_version) {
            if !self.versions.contains(&overwritten) {
                self.firsts.push((overwritten, image.to_vec()));
            }
            self.overwritten.insert(overwritten);
            self.lasts.retain(|(version, _, _)| *version != overwritten);
        }
        if self.keep_new {
            self.walk_last = c.new.map(<[u8]>::to_vec);
            if let Some(image) = c.new {
                if !self.overwritten.contains(&c.version) {
                    self.lasts.push((c.version, c.time_ms, image.to_vec()));
                }
            }
        }
    }

    /// The key's item just before the stretch (`None`: it did not exist).
    pub fn before(&self) -> Option<&[u8]> {
        if self.legacy {
            return self.walk_first.as_ref().and_then(|o| o.as_deref());
        }
        self.firsts.first().map(|(_, image)| image.as_slice())
    }

    /// The key's item at the end of the stretch (`None`: deleted), and the instant of the
    /// change that made it (the latest instant seen, for a deletion). Needs `keep_new`.
    pub fn after(&self) -> (u64, Option<&[u8]>) {
        if self.legacy {
            return (self.last_ms, self.walk_last.as_deref());
        }
        match self.lasts.first() {
            Some((_, time_ms, image)) => ((*time_ms).max(self.last_ms), Some(image.as_slice())),
            None => (self.last_ms, None),
        }
    }
}

/// Visits the changes of `log` strictly after `after` (an instant and a sequence number) and
/// at or before `through_ms`, in commit order, until `visit` breaks.
fn walk(
    store: &dyn Store,
    log_id: TableId,
    after: (u64, u64),
    through_ms: u64,
    visit: &mut dyn FnMut(Change<'_>) -> ControlFlow<()>,
) -> Result<()> {
    if after.0 > through_ms {
        return Ok(());
    }
    let lower = sort_bytes(after.0, after.1);
    let upper = sort_bytes(through_ms, u64::MAX);
    for bucket in bucket_of(after.0)..=bucket_of(through_ms) {
        let partition = bucket.to_be_bytes();
        let mut failure = None;
        let mut stopped = false;
        store.range(
            &PartitionRange {
                keyspace: Keyspace::Stream,
                table: log_id,
                partition: &partition,
                lower: Bound::Excluded(&lower),
                upper: Bound::Included(&upper),
                reverse: false,
            },
            &mut |e| match decode_entry(&e) {
                Ok(change) => {
                    let flow = visit(change);
                    stopped = flow.is_break();
                    flow
                }
                Err(err) => {
                    failure = Some(err);
                    ControlFlow::Break(())
                }
            },
        )?;
        if let Some(err) = failure {
            return Err(err);
        }
        if stopped {
            break;
        }
    }
    Ok(())
}

/// Visits every change of the table's log committed after `from_ms` and at or before
/// `through_ms` (both ms since the epoch), in commit order (a key's changes in the order they
/// were made), with its old and new images, until `visit` breaks. For incremental exports:
/// the changes of `(from, through]`, each key's last one giving its state at `through_ms`.
///
/// Only changes inside the recovery window are guaranteed present: the caller checks
/// `from_ms >= pitr.earliest_ms(now)`. Changes committed while this runs may or may not be
/// visited. The walk costs one range read per hour of `(from_ms, through_ms]`: bound
/// `through_ms` by now.
///
/// # Errors
/// Storage failures; a corrupt log entry.
pub fn changes(
    store: &dyn Store,
    pitr: &PitrDescriptor,
    from_ms: u64,
    through_ms: u64,
    visit: &mut dyn FnMut(Change<'_>) -> ControlFlow<()>,
) -> Result<()> {
    // Nothing of the log is older than its start: the walk begins there.
    let from_ms = from_ms.max(pitr.enabled_ms.saturating_sub(1));
    walk(store, pitr.log_id, (from_ms, u64::MAX), through_ms, visit)
}

/// Visits an item as (partition bytes, sort bytes, encoded item); breaks to stop the walk.
pub type ItemVisitor<'v> = &'v mut dyn FnMut(&[u8], &[u8], &[u8]) -> ControlFlow<()>;

/// An item's storage key: partition bytes, sort bytes.
type ItemKey = (Vec<u8>, Vec<u8>);

/// The table's items as they were at `at_ms` (every write committed at or before it, none
/// after), each visited once as (partition bytes, sort bytes, encoded item), in no particular
/// order, until `visit` breaks. For restores and full exports.
///
/// How: the log after `at_ms` is read first, keeping each changed key's old image from its
/// first change after `at_ms` (memory: the keys changed since `at_ms`, not the table). Then,
/// holding the table's write gate only while the log's newest entries are read and the scan
/// of the current items takes its snapshot, the items scan visits every item whose key did
/// not change after `at_ms`; last, the kept old images are visited. The gate makes the log
/// read and the items snapshot agree: no write commits between them.
///
/// `visit` runs while the store walks its snapshot: on a store whose scans hold off commits
/// ([`binderdb_storage::Store::scans_block_commits`]), it must not commit.
///
/// # Errors
/// `PointInTimeRecoveryUnavailableException` if the table has no point-in-time recovery;
/// storage failures; corrupt log entries.
pub fn items_at(
    store: &dyn Store,
    clock: &LogClock,
    now_ms: u64,
    table: &Table,
    at_ms: u64,
    visit: ItemVisitor<'_>,
) -> Result<()> {
    let descriptor = table.descriptor();
    let pitr = descriptor
        .pitr
        .as_ref()
        .ok_or_else(|| super::unavailable(&descriptor.name))?;
    let source = LoggedItems {
        items: descriptor.id,
        pitr,
        write_gate: Some(&table.write_gate),
    };
    source.items_at(store, clock, now_ms, at_ms, visit)
}

/// Items and the log that undoes their changes: a live table's (with its write gate), or a
/// deleted table's, kept by its system backup (no gate: nothing writes to it any more).
#[derive(Debug, Clone, Copy)]
pub struct LoggedItems<'a> {
    /// Storage id of the current items.
    pub items: TableId,
    /// The log's settings.
    pub pitr: &'a PitrDescriptor,
    /// The table's write gate, for a live table.
    pub write_gate: Option<&'a parking_lot::RwLock<()>>,
}

impl LoggedItems<'_> {
    /// [`items_at`] over these items and this log.
    ///
    /// # Errors
    /// Storage failures; corrupt log entries.
    pub fn items_at(
        &self,
        store: &dyn Store,
        clock: &LogClock,
        now_ms: u64,
        at_ms: u64,
        visit: ItemVisitor<'_>,
    ) -> Result<()> {
        // Key → its changes after `at_ms`, which tell its state then (see `KeyHistory`).
        let mut before: HashMap<ItemKey, KeyHistory> = HashMap::new();
        let position = std::cell::Cell::new((at_ms, u64::MAX));
        let mut collect = |c: Change<'_>| {
            position.set((c.time_ms, c.seq));
            before
                .entry((c.partition.to_vec(), c.sort.to_vec()))
                .or_insert_with(|| KeyHistory::new(false))
                .add(&c);
            ControlFlow::Continue(())
        };
        let horizon = |clock: &LogClock| clock.last_ms().max(now_ms);
        let log_id = self.pitr.log_id;
        walk(store, log_id, position.get(), horizon(clock), &mut collect)?;
        let mut gate = self.write_gate.map(|g| g.write());
        // No write of the table is in flight now: read what was logged since the first pass.
        walk(store, log_id, position.get(), horizon(clock), &mut collect)?;
        let mut stopped = false;
        store.scan(
            &SegmentScan {
                keyspace: Keyspace::Items,
                table: self.items,
                segment: 0,
                total_segments: 1,
                start_after: None,
            },
            &mut |e| {
                // The scan's snapshot is taken: writers may go on.
                gate.take();
                if before.contains_key(&(e.partition.to_vec(), e.sort.to_vec())) {
                    return ControlFlow::Continue(());
                }
                let flow = visit(e.partition, e.sort, e.value);
                stopped = flow.is_break();
                flow
            },
        )?;
        drop(gate);
        if stopped {
            return Ok(());
        }
        for ((partition, sort), history) in &before {
            if let Some(old) = history.before() {
                if visit(partition, sort, old).is_break() {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Deletes the entries of every table's log that are older than its recovery window at
/// `now_ms`, a whole hour at a time, resuming from `progress` (log id → first hour not yet
/// pruned). Returns how many entries it deleted.
///
/// # Errors
/// Storage failures.
pub fn prune(
    store: &dyn Store,
    catalog: &Catalog,
    progress: &Mutex<HashMap<TableId, u64>>,
    now_ms: u64,
    stop: &AtomicBool,
) -> Result<usize> {
    let mut deleted = 0;
    for table in catalog.all() {
        let Some(pitr) = table.descriptor().pitr.clone() else {
            continue;
        };
        deleted += prune_log(store, &pitr, progress, now_ms, stop)?;
    }
    Ok(deleted)
}

/// Deletes the entries of the log `pitr` names that are older than its recovery window at
/// `now_ms`, a whole hour at a time, resuming from `progress`; returns how many.
///
/// # Errors
/// Storage failures.
pub fn prune_log(
    store: &dyn Store,
    pitr: &PitrDescriptor,
    progress: &Mutex<HashMap<TableId, u64>>,
    now_ms: u64,
    stop: &AtomicBool,
) -> Result<usize> {
    let mut deleted = 0;
    // Hours that ended before the window began.
    let end = bucket_of(now_ms.saturating_sub(pitr.period_ms()));
    let first = *progress
        .lock()
        .entry(pitr.log_id)
        .or_insert_with(|| bucket_of(pitr.enabled_ms));
    for bucket in first..end {
        if stop.load(Ordering::Relaxed) {
            return Ok(deleted);
        }
        deleted += prune_bucket(store, pitr.log_id, bucket)?;
        progress.lock().insert(pitr.log_id, bucket + 1);
    }
    Ok(deleted)
}

/// How often the background pruner runs.
const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// The background pruner: a pass every [`PRUNE_INTERVAL`] until `stop`.
pub(crate) fn run_pruner(stop: &AtomicBool, pass: impl Fn() -> Result<usize>) {
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = pass() {
            tracing::warn!(error = %e, "point-in-time recovery log pruning failed; retrying");
        }
        // Sleep in short steps so shutdown is prompt.
        let mut slept = std::time::Duration::ZERO;
        while slept < PRUNE_INTERVAL && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(50));
            slept += std::time::Duration::from_millis(50);
        }
    }
}

fn prune_bucket(store: &dyn Store, log_id: TableId, bucket: u64) -> Result<usize> {
    let partition = bucket.to_be_bytes();
    let mut deleted = 0;
    loop {
        let mut keys = Vec::new();
        store.range(
            &PartitionRange {
                keyspace: Keyspace::Stream,
                table: log_id,
                partition: &partition,
                lower: Bound::Unbounded,
                upper: Bound::Unbounded,
                reverse: false,
            },
            &mut |e| {
                keys.push(e.sort.to_vec());
                if keys.len() == PRUNE_CHUNK {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        if keys.is_empty() {
            return Ok(deleted);
        }
        deleted += keys.len();
        store.commit(Batch {
            writes: keys
                .into_iter()
                .map(|sort| Write::Delete {
                    key: Key {
                        keyspace: Keyspace::Stream,
                        table: log_id,
                        partition: partition.to_vec(),
                        sort,
                    },
                })
                .collect(),
            guards: Vec::new(),
        })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log entries as formats 1 and 2 write them. If these stop decoding, the format changed:
    /// bump [`LOG_FORMAT`] and keep reading these.
    #[test]
    fn format_1_and_2_entry_fixtures_still_decode() {
        let key = Key {
            keyspace: Keyspace::Items,
            table: 7,
            partition: b"pk".to_vec(),
            sort: b"s".to_vec(),
        };
        let Write::Put { key: at, value } =
            entry(9, (3_600_001, 42), &key, Some((b"old", 5)), None)
        else {
            panic!("a log entry is a put");
        };
        assert_eq!(at.partition, 1u64.to_be_bytes());
        let format_2: &[u8] = &[
            2, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2, b'p', b'k', 0, 0, 0, 1, b's', 0, 0, 0, 3,
            b'o', b'l', b'd',
        ];
        assert_eq!(value, format_2);
        let format_1: &[u8] = &[
            1, 1, 0, 0, 0, 2, b'p', b'k', 0, 0, 0, 1, b's', 0, 0, 0, 3, b'o', b'l', b'd',
        ];
        for (fixture, old_version) in [(format_2, Some(5)), (format_1, None)] {
            let change = decode_entry(&EntryRef {
                partition: &at.partition,
                sort: &at.sort,
                version: 6,
                value: fixture,
            })
            .unwrap();
            assert_eq!(change.time_ms, 3_600_001);
            assert_eq!(change.seq, 42);
            assert_eq!(change.version, 6);
            assert_eq!(change.old_version, old_version);
            assert_eq!(change.partition, b"pk");
            assert_eq!(change.old, Some(&b"old"[..]));
            assert_eq!(change.new, None);
        }
    }

    /// A change of one key: `(version, old (image, version), new image)`.
    fn change<'a>(
        time_ms: u64,
        version: u64,
        old: Option<(&'a [u8], u64)>,
        new: Option<&'a [u8]>,
    ) -> Change<'a> {
        Change {
            time_ms,
            seq: 0,
            version,
            old_version: old.map(|(_, v)| v),
            partition: b"pk",
            sort: b"",
            old: old.map(|(image, _)| image),
            new,
        }
    }

    /// Every order of the same changes tells the same states before and after, which are the
    /// commit order's (the oracle: the chain written out by hand).
    #[test]
    fn a_key_history_follows_commit_order_whatever_the_walk_order() {
        // Commit order: v1 updated to v2 (version 20), deleted (30), created again (25: a node
        // whose version block is behind), updated (40).
        let changes = [
            change(1000, 20, Some((b"one", 10)), Some(b"two")),
            change(1000, 30, Some((b"two", 20)), None),
            change(999, 25, None, Some(b"three")),
            change(1001, 40, Some((b"three", 25)), Some(b"four")),
        ];
        let orders: [[usize; 4]; 5] = [
            [0, 1, 2, 3],
            [3, 2, 1, 0],
            [2, 0, 3, 1],
            [1, 3, 0, 2],
            [2, 3, 1, 0],
        ];
        for order in orders {
            let mut h = KeyHistory::new(true);
            for i in order {
                h.add(&changes[i]);
            }
            assert_eq!(h.before(), Some(&b"one"[..]), "{order:?}");
            assert_eq!(h.after(), (1001, Some(&b"four"[..])), "{order:?}");
        }
        // The last two alone (a stretch starting after the deletion): absent before.
        for order in [[2, 3], [3, 2]] {
            let mut h = KeyHistory::new(true);
            for i in order {
                h.add(&changes[i]);
            }
            assert_eq!(h.before(), None);
            assert_eq!(h.after(), (1001, Some(&b"four"[..])));
        }
        // The first two alone: deleted at the end.
        for order in [[0, 1], [1, 0]] {
            let mut h = KeyHistory::new(true);
            for i in order {
                h.add(&changes[i]);
            }
            assert_eq!(h.before(), Some(&b"one"[..]));
            assert_eq!(h.after(), (1000, None));
        }
    }

    #[test]
    fn the_log_clock_never_goes_back() {
        let clock = LogClock::new(5);
        let a = clock.stamp(100);
        let b = clock.stamp(90);
        assert_eq!(b.0, 100);
        assert!(b.1 > a.1);
        assert_eq!(a.1, (5 << 20) + 1);
    }
}
