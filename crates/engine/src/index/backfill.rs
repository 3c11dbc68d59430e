//! The background work of online index management: filling a new global secondary index from
//! its table (backfill), and reclaiming a deleted one.
//!
//! A backfill walks the table in storage order a chunk at a time. Each chunk commits the
//! chunk's index entries together with the backfill's progress (the last table key done) in
//! one batch guarded on the version of every item read, so:
//! - a write that changed one of those items after the chunk was read makes the guard fail, and
//!   the chunk is read again (the write itself already maintained the index: every write that
//!   commits after the index was added sees it, see `Table::write_gate`);
//! - chunks always make progress, however busy the table: a chunk that lost to a write is read
//!   again at half its size, down to one item, and grows back (doubling) once chunks commit.
//!   Without that, on a store where a chunk's commit takes a while (RADOS: a multi-object
//!   transaction), writers updating the items a 512-item chunk reads could fail its guard at
//!   every try, for ever; a chunk of one item loses only to a write of that very item between
//!   its read and its commit, and after a short random pause it is read again;
//! - a restart resumes after the last committed chunk, and nothing is lost or done twice in a
//!   way that matters (writing an entry again is idempotent).
//!
//! Writes during a backfill cannot keep the index's statistics (an item the backfill has not
//! reached has no entry to remove yet), so the index's counter stays unknown until the last
//! chunk; then one recount of the index's entries (a snapshot walk while writes go on, see
//! `Store::recount`) makes it exact before the index turns ACTIVE. A crash before it ends leaves
//! the index backfilling, and the next start counts again.
//!
//! Memory stays bounded by the chunk size, whatever the table's size. Workers stop when the
//! database shuts down, when their table is deleted, or when their index is deleted.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use binderdb_model::{decode_item, Item};
use binderdb_storage::{
    Batch, Guard, Key, Keyspace, SegmentScan, StorageError, Store, TableId, Write,
};
use parking_lot::Mutex;

use crate::catalog::{Catalog, Table, CATALOG_TABLE};
use crate::clock::Clock;
use crate::error::Result;
use crate::index::{BaseKey, BuildState, IndexDescriptor};

/// Table items read per backfill chunk (at most: a chunk that lost to writes shrinks, see the
/// module doc).
const CHUNK_ITEMS: usize = 512;
/// Catalog partition of backfill progress records (sort key: the index id).
const PROGRESS_PARTITION: &[u8] = b"#backfill";

/// The owner of every background worker of a database: a stop signal and the threads, joined
/// on shutdown.
///
/// Clones share the signal and the threads (the job adopter spawns into the database's
/// workers, see `crate::jobs`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Workers {
    stop: Arc<AtomicBool>,
    handles: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Workers {
    /// Runs `work` on a thread of its own until it returns or the database stops.
    pub(crate) fn spawn(&self, name: &str, work: impl FnOnce(&AtomicBool) + Send + 'static) {
        // Under the lock: a worker spawned by another worker while the database shuts down is
        // either joined by `shutdown` or never started.
        let mut handles = self.handles.lock();
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        let stop = self.stop.clone();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || work(&stop));
        handles.retain(|h| !h.is_finished());
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => tracing::error!(error = %e, "could not start background worker {name}"),
        }
    }

    /// Signals every worker to stop and waits for them.
    pub(crate) fn shutdown(&self) {
        let handles = {
            let mut handles = self.handles.lock();
            self.stop.store(true, Ordering::Relaxed);
            std::mem::take(&mut *handles)
        };
        for handle in handles {
            let _ = handle.join();
        }
    }
}

/// What a worker needs of the database.
#[derive(Debug, Clone)]
pub(crate) struct IndexJob {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) table_name: String,
    pub(crate) table_id: TableId,
    pub(crate) index_id: TableId,
    /// Most items read per second (0: no limit).
    pub(crate) items_per_second: u64,
    /// A pause per entry of the final recount (`Config::job_item_delay_us`, a test hook).
    pub(crate) item_delay: Duration,
    /// Table items read so far, for the progress the metrics report
    /// (`crate::metrics::BackfillProgress`).
    pub(crate) items_read: Arc<AtomicU64>,
}

fn progress_key(index: TableId) -> Key {
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: PROGRESS_PARTITION.to_vec(),
        sort: index.to_be_bytes().to_vec(),
    }
}

/// `[partition len u16 BE][partition][sort]`: where a backfill resumes.
fn encode_progress(partition: &[u8], sort: &[u8]) -> Vec<u8> {
    let len = u16::try_from(partition.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(2 + partition.len() + sort.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(partition);
    out.extend_from_slice(sort);
    out
}

fn decode_progress(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let len = usize::from(u16::from_be_bytes(bytes.get(..2)?.try_into().ok()?));
    let partition = bytes.get(2..2 + len)?.to_vec();
    let sort = bytes.get(2 + len..)?.to_vec();
    Some((partition, sort))
}

/// One item read by a chunk.
struct ChunkItem {
    partition: Vec<u8>,
    sort: Vec<u8>,
    version: u64,
    item: Item,
}

impl IndexJob {
    /// The table and index this job works on, while both still exist.
    fn current(&self) -> Option<(Arc<Table>, IndexDescriptor)> {
        let table = self.catalog.by_id(self.table_id)?;
        let index = table
            .descriptor()
            .indexes
            .iter()
            .find(|i| i.id == self.index_id)
            .cloned()?;
        Some((table, index))
    }

    /// Fills the index from the table, then marks it built.
    ///
    /// # Errors
    /// Storage failures (the backfill resumes at the next start).
    pub(crate) fn backfill(&self, stop: &AtomicBool) -> Result<()> {
        let progress = progress_key(self.index_id);
        let mut resume = self
            .store
            .get(&progress)?
            .and_then(|v| decode_progress(&v.value));
        if !self.await_allocation(stop) {
            return Ok(());
        }
        if let Some((partition, _)) = &resume {
            self.estimate_items_read(partition);
            tracing::info!(
                table = %self.table_name,
                index_id = self.index_id,
                "resuming an index backfill from its saved position"
            );
        }
        let mut chunk_items = CHUNK_ITEMS;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let Some((table, index)) = self.current() else {
                // The table or the index was deleted: whatever this worker wrote after the
                // drop is unreachable; drop it again so no storage leaks.
                self.store.drop_table(self.index_id)?;
                return self.clear_progress();
            };
            if index.state != BuildState::Backfilling {
                if index.state == BuildState::Deleting {
                    // Deleted mid-backfill: a chunk this worker committed after the deletion's
                    // own drop is dropped here.
                    self.store.drop_table(self.index_id)?;
                }
                return self.clear_progress();
            }
            let descriptor = table.descriptor();
            let chunk = self.read_chunk(resume.as_ref(), chunk_items)?;
            let Some(last) = chunk.last() else {
                // Every item has its entry now, and every write maintains it: count the
                // entries once (writes meanwhile add their deltas), then open the index.
                if !self.recount_index(&descriptor, &index, stop)? {
                    return Ok(());
                }
                return self.finish(&table);
            };
            let next = (last.partition.clone(), last.sort.clone());
            let mut batch = Batch {
                writes: Vec::with_capacity(chunk.len() + 1),
                guards: Vec::with_capacity(chunk.len()),
            };
            for read in &chunk {
                let base = BaseKey {
                    partition: &read.partition,
                    sort: &read.sort,
                };
                // Items whose index key attributes have the wrong type or are empty are left
                // out, as DynamoDB's backfill leaves them out.
                if index.check_item(&read.item).is_ok() {
                    if let Some(key) = index.entry_key(base, &read.item) {
                        batch.writes.push(Write::Put {
                            key,
                            value: index.projected(&descriptor, &read.item).encode(None),
                        });
                    }
                }
                batch.guards.push(Guard {
                    key: Key {
                        keyspace: Keyspace::Items,
                        table: self.table_id,
                        partition: read.partition.clone(),
                        sort: read.sort.clone(),
                    },
                    expected: Some(read.version),
                });
            }
            batch.writes.push(Write::Put {
                key: progress.clone(),
                value: encode_progress(&next.0, &next.1),
            });
            match self.store.commit(batch) {
                Ok(_) => {
                    self.items_read
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    resume = Some(next);
                    chunk_items = (chunk_items * 2).min(CHUNK_ITEMS);
                    self.pace(chunk.len(), stop);
                }
                // An item changed since it was read: read a smaller chunk again (see the
                // module doc: chunks always make progress).
                Err(StorageError::Conflict) => {
                    if chunk_items == 1 {
                        std::thread::sleep(Duration::from_millis(fastrand::u64(1..=10)));
                    }
                    chunk_items = (chunk_items / 2).max(1);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sets the progress of a backfill resumed after `partition` (the last one it committed):
    /// the table is read in partition-hash order and the hash spreads partitions evenly, so
    /// about that share of the table's items is behind it.
    fn estimate_items_read(&self, partition: &[u8]) {
        let Some((table, _)) = self.current() else {
            return;
        };
        let items = crate::catalog::table_stats(self.store.as_ref(), &table.descriptor())
            .map_or(0, |(items, _)| u64::try_from(items).unwrap_or(0));
        let share = u128::from(binderdb_storage::partition_hash(partition));
        let behind = (u128::from(items) * share) >> 64;
        self.items_read
            .store(u64::try_from(behind).unwrap_or(items), Ordering::Relaxed);
    }

    /// Waits out the index's resource-allocation phase (`--create-delay-ms`). Returns false when
    /// the database stops or the index is no longer being created.
    fn await_allocation(&self, stop: &AtomicBool) -> bool {
        loop {
            let Some((_, index)) = self.current() else {
                return true;
            };
            let now = self.clock.now_millis();
            if index.state != BuildState::Backfilling || now >= index.active_at_ms {
                return true;
            }
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis((index.active_at_ms - now).min(20)));
        }
    }

    /// Waits as long as reading `items` takes at the configured rate, waking early on stop.
    fn pace(&self, items: usize, stop: &AtomicBool) {
        if self.items_per_second == 0 {
            return;
        }
        let wait = Duration::from_secs_f64(items as f64 / self.items_per_second as f64);
        let until = Instant::now() + wait;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(20)));
        }
    }

    /// Counts the finished index's entries (see the module doc). A recount that did not stand
    /// (on a shared store, another node may have given it up, taking this node for dead, see
    /// `Store::recount`) is run again, so the index never opens with unknown statistics.
    /// Returns false if `stop` was raised first.
    fn recount_index(
        &self,
        descriptor: &crate::catalog::TableDescriptor,
        index: &IndexDescriptor,
        stop: &AtomicBool,
    ) -> Result<bool> {
        let counter = descriptor.index_counter(self.index_id);
        let keyspace = index.keyspace();
        loop {
            let counted = self
                .store
                .recount(counter, keyspace, self.index_id, &mut |e| {
                    if !self.item_delay.is_zero() {
                        std::thread::sleep(self.item_delay);
                    }
                    crate::catalog::entry_weight(keyspace, e.value)
                })?;
            // Also `None` once the index or its table was dropped: nothing left to count.
            if counted.is_some() || self.current().is_none() {
                return Ok(true);
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            tracing::warn!(
                table = %self.table_name,
                index_id = self.index_id,
                "an index recount did not stand; counting again"
            );
        }
    }

    fn read_chunk(
        &self,
        after: Option<&(Vec<u8>, Vec<u8>)>,
        limit: usize,
    ) -> Result<Vec<ChunkItem>> {
        let mut chunk = Vec::with_capacity(limit);
        let mut failure = None;
        let scan = SegmentScan {
            keyspace: Keyspace::Items,
            table: self.table_id,
            segment: 0,
            total_segments: 1,
            start_after: after.map(|(p, s)| (p.as_slice(), s.as_slice())),
        };
        self.store.scan(&scan, &mut |entry| {
            match decode_item(entry.value) {
                Ok(item) => chunk.push(ChunkItem {
                    partition: entry.partition.to_vec(),
                    sort: entry.sort.to_vec(),
                    version: entry.version,
                    item,
                }),
                Err(e) => {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
            }
            if chunk.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(chunk),
        }
    }

    /// Marks the index built (ACTIVE) and forgets the progress.
    fn finish(&self, table: &Table) -> Result<()> {
        {
            let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
            let mut next = (*table.descriptor()).clone();
            let Some(index) = next.indexes.iter_mut().find(|i| i.id == self.index_id) else {
                return self.clear_progress();
            };
            if index.state != BuildState::Backfilling {
                return self.clear_progress();
            }
            index.state = BuildState::Built;
            if self.catalog.by_id(self.table_id).is_some() {
                self.catalog.put(self.store.as_ref(), next)?;
            }
        }
        self.clear_progress()
    }

    fn clear_progress(&self) -> Result<()> {
        self.store.commit(Batch {
            writes: vec![Write::Delete {
                key: progress_key(self.index_id),
            }],
            guards: Vec::new(),
        })?;
        Ok(())
    }

    /// Reclaims a deleted index's storage, then removes it from the table once its DELETING
    /// period (`--create-delay-ms`) is over.
    ///
    /// # Errors
    /// Storage failures (the deletion resumes at the next start).
    pub(crate) fn reclaim(&self, stop: &AtomicBool) -> Result<()> {
        self.store.drop_table(self.index_id)?;
        loop {
            let Some((_, index)) = self.current() else {
                return Ok(());
            };
            if index.state != BuildState::Deleting {
                return Ok(());
            }
            let now = self.clock.now_millis();
            if now >= index.active_at_ms {
                break;
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let wait = (index.active_at_ms - now).min(50);
            std::thread::sleep(Duration::from_millis(wait));
        }
        let Some((table, _)) = self.current() else {
            return Ok(());
        };
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let mut next = (*table.descriptor()).clone();
        next.indexes.retain(|i| i.id != self.index_id);
        if self.catalog.by_id(self.table_id).is_some() {
            self.catalog.put(self.store.as_ref(), next)?;
        }
        Ok(())
    }
}

/// Logs a worker's failure: background work has no client to answer.
pub(crate) fn log_failure(what: &str, result: Result<()>) {
    if let Err(e) = result {
        tracing::error!(error = %e, "{what} failed; it resumes at the next start");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips() {
        let bytes = encode_progress(b"pk", b"sk\x00");
        assert_eq!(
            decode_progress(&bytes),
            Some((b"pk".to_vec(), b"sk\x00".to_vec()))
        );
        assert_eq!(decode_progress(&[0]), None);
    }
}
