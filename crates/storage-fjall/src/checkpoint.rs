//! Copies of a whole store: [`FjallStore`]'s side of [`Store::checkpoint`] (reading one
//! snapshot of everything) and [`write_checkpoint`] (writing any store's checkpoint as a fresh
//! fjall data directory that [`FjallStore::open`] starts from). Together they are
//! `binderdb backup --to DIR`.
//!
//! # Design
//! The copy is a **consistent read snapshot streamed into a fresh store**, not a copy of
//! files. The snapshot is taken under the version mutex, so it holds exactly the commits up to
//! one version: every write acknowledged before the copy began, and a prefix of the ones
//! running meanwhile. It is what a power cut at that instant would have left once recovered,
//! so everything binderdb does to survive a crash between two commits of one operation
//! (incomplete backups and restores removed at the next start, statistics recounted, drops
//! resumed) applies to the copy as well. Writers are never blocked: the walk reads the
//! snapshot (fjall keeps the versions it needs, and the table files a compaction replaces stay
//! readable through it) while commits go on.
//!
//! The destination is written with fjall's bulk ingestion, keyspace by keyspace in key order
//! (the snapshot walks each keyspace in order): table files are written directly, bypassing
//! memtables and journals, each synced, then registered once per keyspace. The copy's `meta`
//! keyspace gets the store format and a version ceiling equal to the snapshot's version
//! (versions of the copy continue above it), its `counters` keyspace the snapshot's counter
//! records; its write-ahead log is created empty at its first open.
//!
//! Why not hard links to the table files plus a copy of the journals: table files are
//! immutable, but which of them make up the tree at an instant, and which journal bytes are
//! not flushed into them yet, is fjall's internal state (its version files and journal
//! format, and binderdb's own log on top); pinning that set while compactions and the
//! background drop rewrite it would reach into fjall's internals. Streaming the snapshot uses
//! only fjall's public reads and ingestion and costs one sequential read and write of the
//! live data (not of its garbage: the copy is also compacted).
//!
//! Tables being dropped (a `drop/` marker in the snapshot's `meta`) are left out: nothing can
//! read them, and the copy then has no drop to resume.

use std::collections::HashSet;
use std::path::Path;

use binderdb_storage::codec;
use binderdb_storage::{
    CheckpointRecord, CheckpointSummary, CheckpointVisitor, Keyspace, StorageError, TableId,
};
use fjall::{Database, KeyspaceCreateOptions, Readable};

use crate::drops::DROP_PREFIX;
use crate::{
    backend, open_counters, open_keyspace, FjallStore, FJALL_ROTATION_BACKSTOP, FORMAT_KEY,
    HIGH_WATER_KEY, META_KEYSPACE, META_MEMTABLE_BYTES, STORE_FORMAT,
};

/// The id a drop marker (after [`DROP_PREFIX`]) or a counter record's key holds: a u64
/// big-endian, whatever the id (data keys encode it as `codec::table_prefix` does instead).
fn id_of(bytes: &[u8]) -> Option<TableId> {
    bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
}

impl FjallStore {
    /// [`Store::checkpoint`](binderdb_storage::Store::checkpoint) (see the module docs).
    pub(crate) fn checkpoint_walk(
        &self,
        visit: &mut dyn FnMut(CheckpointRecord<'_>) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let (snapshot, version) = {
            // Under the version mutex, once the commits still inserting have finished: the
            // snapshot holds the commits up to `version` exactly.
            let versions = self.versions.lock();
            (self.snapshot_of_every_commit(), versions.last)
        };
        visit(CheckpointRecord::Snapshot { version })?;
        let mut dropped = HashSet::new();
        for guard in snapshot.prefix(&self.meta, DROP_PREFIX) {
            let key = guard.key().map_err(backend)?;
            if let Some(table) = key.get(DROP_PREFIX.len()..).and_then(id_of) {
                dropped.insert(table);
            }
        }
        for keyspace in Keyspace::ALL {
            let Some(space) = self.space(keyspace) else {
                continue;
            };
            for guard in snapshot.iter(space) {
                let (key, value) = guard.into_inner().map_err(backend)?;
                if codec::table_of_key(&key).is_some_and(|(t, _)| dropped.contains(&t)) {
                    continue;
                }
                visit(CheckpointRecord::Entry {
                    keyspace,
                    key: &key,
                    value: &value,
                })?;
            }
        }
        if let Some(space) = self.counter_space.get() {
            for guard in snapshot.iter(space) {
                let (key, record) = guard.into_inner().map_err(backend)?;
                let Some(group) = id_of(&key) else {
                    return Err(StorageError::Corrupt("malformed counter key".into()));
                };
                if dropped.contains(&group) {
                    continue;
                }
                visit(CheckpointRecord::Counters {
                    group,
                    record: &record,
                })?;
            }
        }
        Ok(())
    }
}

/// Writes the checkpoint that `source` produces (a [`Store::checkpoint`] call, given the
/// visitor) as a fresh fjall data directory in `dir`, which must be empty or absent (it is
/// created). When this returns, the copy is on stable storage and
/// [`FjallStore::open`] starts from it.
///
/// The source may be any engine whose checkpoint visits records in the documented order; an
/// entry out of key order is refused (`Corrupt`), never written.
///
/// # Errors
/// `InvalidArgument` if `dir` exists and is not an empty directory; `Corrupt` for records out
/// of order; the source's errors; I/O and fjall failures. The partial copy is left in `dir`
/// (a failed copy is not a store to open).
///
/// [`Store::checkpoint`]: binderdb_storage::Store::checkpoint
pub fn write_checkpoint(
    dir: &Path,
    source: &mut dyn FnMut(CheckpointVisitor<'_>) -> Result<(), StorageError>,
) -> Result<CheckpointSummary, StorageError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(StorageError::InvalidArgument(format!(
                    "{} is not empty: a copy goes into an empty or new directory",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(StorageError::InvalidArgument(format!(
                "{} is not a directory",
                dir.display()
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let db = Database::builder(dir)
        .worker_threads(1)
        .open()
        .map_err(backend)?;
    let meta = db
        .keyspace(META_KEYSPACE, || {
            KeyspaceCreateOptions::default()
                .max_memtable_size(META_MEMTABLE_BYTES * FJALL_ROTATION_BACKSTOP)
        })
        .map_err(backend)?;
    // Every data keyspace is created up front (a few syncs each), so that an ingestion can
    // borrow its keyspace for as long as the walk feeds it.
    let spaces = Keyspace::ALL
        .into_iter()
        .map(|ks| open_keyspace(&db, ks))
        .collect::<Result<Vec<_>, _>>()?;
    let mut summary = CheckpointSummary::default();
    let mut counters: Vec<(TableId, Vec<u8>)> = Vec::new();
    {
        // The open ingestion, its keyspace and the last key written to it (fjall's ingestion
        // panics on keys out of order, so the order is checked here first).
        let mut ingestion = none_of(|| spaces[0].start_ingestion());
        let mut open: Option<Keyspace> = None;
        let mut last: Vec<u8> = Vec::new();
        let mut visit = |record: CheckpointRecord<'_>| -> Result<(), StorageError> {
            match record {
                CheckpointRecord::Snapshot { version } => summary.version = version,
                CheckpointRecord::Entry {
                    keyspace,
                    key,
                    value,
                } => {
                    if open != Some(keyspace) {
                        if open.is_some_and(|ks| ks.index() > keyspace.index()) {
                            return Err(StorageError::Corrupt(
                                "checkpoint keyspaces out of order".into(),
                            ));
                        }
                        if let Some(done) = ingestion.take() {
                            done.finish().map_err(backend)?;
                        }
                        ingestion = Some(
                            spaces[keyspace.index()]
                                .start_ingestion()
                                .map_err(backend)?,
                        );
                        open = Some(keyspace);
                        last.clear();
                    } else if key <= last.as_slice() {
                        return Err(StorageError::Corrupt("checkpoint keys out of order".into()));
                    }
                    let Some(writer) = ingestion.as_mut() else {
                        return Err(StorageError::Corrupt("no ingestion open".into()));
                    };
                    // Checked before it is kept: a copy never holds what a store could not
                    // read back.
                    codec::decode_key(key)?;
                    codec::decode_value(value)?;
                    last.clear();
                    last.extend_from_slice(key);
                    writer.write(key, value).map_err(backend)?;
                    summary.entries += 1;
                    summary.bytes += (key.len() + value.len()) as u64;
                }
                CheckpointRecord::Counters { group, record } => {
                    binderdb_storage::counters::decode_group(record)?;
                    counters.push((group, record.to_vec()));
                }
            }
            Ok(())
        };
        source(&mut visit)?;
        if let Some(done) = ingestion.take() {
            done.finish().map_err(backend)?;
        }
    }
    if !counters.is_empty() {
        let space = open_counters(&db)?;
        let mut batch = db.batch();
        for (group, record) in counters {
            batch.insert(&space, group.to_be_bytes(), record);
        }
        batch.commit().map_err(backend)?;
    }
    let mut batch = db.batch();
    batch.insert(&meta, FORMAT_KEY, [STORE_FORMAT]);
    batch.insert(&meta, HIGH_WATER_KEY, summary.version.to_be_bytes());
    batch.commit().map_err(backend)?;
    db.persist(fjall::PersistMode::SyncAll).map_err(backend)?;
    drop(db);
    std::fs::File::open(dir)?.sync_all()?;
    Ok(summary)
}

/// `None`, of the type `make` would produce: fjall's ingestion type cannot be named outside
/// fjall, so its `Option` is typed through this.
fn none_of<T, E>(_make: impl FnOnce() -> Result<T, E>) -> Option<T> {
    None
}
