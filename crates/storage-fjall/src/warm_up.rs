//! The warm-up thread: loads every table file's filter and index block into the block cache
//! after open, so that a start-up costs the same whatever the data size, and reads are as
//! fast as before once it is done.
//!
//! fjall opens every table file of every keyspace while the database opens, and reads the
//! filter and index blocks a keyspace's pinning policy pins right then. The data keyspaces
//! used to pin them at every level ([`crate::read_path::data_keyspace_options`]), which made
//! that part of a start-up proportional to the data: about 4.5 ms per 100 MB of table files of
//! the scale bench's items (39 ms at 10,000,000 items), a few hundred ms for tens of GB. Data
//! keyspaces created by this build pin nothing below level 0: fjall then reads only each file's
//! trailer and metadata at open (and, since filters and indexes are partitioned, their small
//! top-level indexes), and the blocks go through the block cache. Level 0's filters are pinned
//! whole (a bulk load checks them on every write, see `data_keyspace_options`); level 0 holds a
//! bounded number of flushed memtables, so what they add to a start-up does not grow with the
//! data. This thread loads some of them there
//! right after open, one point read per table file (of its smallest key: the read loads the
//! file's first filter and index partitions and one data block), in the background while the server
//! starts serving. Reads made before it reaches a file load that file's blocks themselves, so
//! results never depend on it, only the first reads' latency.
//!
//! What unpinning costs once warm: a point read looks the filter and the index block up in
//! the block cache (two more hash lookups per file it checks) instead of following a pointer.
//! The cache holds them like data blocks; with the default cache (a quarter of memory) they
//! stay (under 30 MB for 10,000,000 items). Keyspaces created by older builds keep the pinning
//! stored with them (fjall reads a keyspace's options from its own metadata), and so keep
//! loading their blocks at open.

use binderdb_storage::StorageError;
use fjall::AbstractTree;

use crate::worker::{Signal, Worker};

/// Owner of the warm-up thread (see the module docs). Dropping it stops the thread between two
/// table files and joins it ([`Worker`]).
pub(crate) struct WarmUp {
    worker: Worker<State>,
}

#[derive(Default)]
struct State {
    done: bool,
    /// Table files warmed so far.
    tables: u64,
}

impl WarmUp {
    /// Starts warming the table files of `spaces` (the data keyspaces as opened).
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(spaces: Vec<fjall::Keyspace>) -> Result<WarmUp, StorageError> {
        let worker = Worker::start("binderdb-warm-up", State::default(), move |signal| {
            warm(signal, &spaces);
        })?;
        Ok(WarmUp { worker })
    }

    /// Blocks until every table file has been warmed; returns how many were. For tests and
    /// measurements.
    pub(crate) fn wait(&self) -> u64 {
        let signal = self.worker.signal();
        let mut control = signal.lock();
        while !control.state.done {
            signal.wait(&mut control, None);
        }
        control.state.tables
    }
}

fn warm(signal: &Signal<State>, spaces: &[fjall::Keyspace]) {
    let started = std::time::Instant::now();
    let mut tables = 0u64;
    'spaces: for space in spaces {
        let version = space.tree.current_version();
        for table in version.iter_tables() {
            if signal.stopping() {
                break 'spaces;
            }
            // The smallest key of the file is in it: the read passes its filter and loads its
            // index block and a data block (a newer file holding the same key answers first;
            // this file's blocks are then loaded by the first read that needs them).
            if let Err(e) = space.tree.get(table.metadata.key_range.min(), u64::MAX) {
                tracing::warn!(error = %e, "warming a table file failed");
            }
            tables += 1;
        }
    }
    tracing::debug!(
        tables,
        took_ms = started.elapsed().as_millis(),
        "loaded the filters and index blocks of the table files"
    );
    signal.update(|state| {
        state.tables = tables;
        state.done = true;
    });
}

#[cfg(test)]
mod tests {
    use binderdb_storage::conformance::{key, put};
    use binderdb_storage::{Batch, Key, Keyspace, Store, Write};
    use fjall::AbstractTree;

    use crate::FjallStore;

    fn item(i: u32) -> Key {
        key(Keyspace::Items, 5, &i.to_be_bytes(), b"")
    }

    /// Opening pins no filter or index block below level 0 (nothing proportional to the data is
    /// read; level 0's few flushed files pin their filters), the
    /// warm-up loads them into the block cache by itself, and reads right after open find
    /// exactly what they find once it is done.
    #[test]
    fn reads_right_after_open_match_reads_after_warm_up() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = FjallStore::open(dir.path()).unwrap();
            for round in 0..3u32 {
                for i in (round * 700)..(round * 700 + 1_000) {
                    put(&store, &item(i), format!("{i} in round {round}").as_bytes());
                }
                store.flush_memtables().unwrap();
            }
            let deletes = (0..2_400)
                .step_by(9)
                .map(|i| Write::Delete { key: item(i) });
            store
                .commit(Batch {
                    writes: deletes.collect(),
                    guards: vec![],
                })
                .unwrap();
        }
        let expected = |i: u32| {
            let round = (0..3u32)
                .rev()
                .find(|r| (r * 700..r * 700 + 1_000).contains(&i));
            match round {
                Some(round) if i % 9 != 0 => Some(format!("{i} in round {round}").into_bytes()),
                _ => None,
            }
        };
        let read_all = |store: &FjallStore| -> Vec<Option<Vec<u8>>> {
            (0..2_500)
                .map(|i| store.get(&item(i)).unwrap().map(|v| v.value))
                .collect()
        };

        let store = FjallStore::open(dir.path()).unwrap();
        let version = store.space(Keyspace::Items).unwrap().tree.current_version();
        assert!(version.table_count() >= 2);
        for (level, tables) in version.iter_levels().enumerate() {
            for table in tables.iter().flat_map(|run| run.iter()) {
                // Level 0's filters are whole and pinned, the others go through the cache.
                assert_eq!(table.pinned_filter_size() > 0, level == 0, "level {level}");
                // At most the top-level index of a partitioned index, a few entries here.
                assert!(table.pinned_block_index_size() < 1024);
            }
        }
        let before = read_all(&store);
        assert!(store.wait_for_warm_up() >= 2);
        assert_eq!(read_all(&store), before);
        for (i, got) in before.into_iter().enumerate() {
            assert_eq!(got, expected(i as u32), "item {i}");
        }
        drop(store);

        let store = FjallStore::open(dir.path()).unwrap();
        assert!(store.wait_for_warm_up() >= 2);
        assert!(store.db.cache_size() > 0, "the warm-up loaded no block");
    }
}
