//! A copy of a running server's whole data directory (`binderdb backup --to DIR`): every
//! table, index, stream, backup, point-in-time recovery log, TTL index and the catalog, as
//! they all were at one instant, in a directory `binderdb serve --data-dir DIR` starts from.
//!
//! # Design
//! The copy is one storage-level snapshot ([`Store::checkpoint`]) written out by a
//! [`CheckpointWriter`] that the binary injects ([`Database::set_checkpoint_writer`]): the
//! engine does not know the durable engine, and the writer does not know tables. On fjall the
//! snapshot is read while writers go on and written by bulk ingestion into a fresh store (see
//! `binderdb_storage_fjall::write_checkpoint`); the in-memory engine is copied the same way,
//! into a durable directory, while its writers wait (it has no snapshots); an engine without
//! one snapshot of everything (RADOS) refuses with `Unsupported`.
//!
//! What the copy holds: exactly the commits up to the snapshot's version, so every write
//! acknowledged before the copy was asked for, and a prefix (in commit order) of the writes
//! running while it is taken. It is what a power cut at that instant would have left, and the
//! copy's first start does what a start after such a crash does: an on-demand backup or a
//! restore that was in progress is removed, a recount that was running runs again, the TTL
//! sweeper, stream trimmer and backfills resume where they stood.
//!
//! The catalog's DDL lock is held until the snapshot is taken, so no table change is caught
//! halfway between its catalog commit and the storage drop that follows it (a DeleteTable's
//! items would otherwise be copied without a catalog entry that could ever drop them). Item
//! writes are never held: only CreateTable, UpdateTable, DeleteTable and the like wait, for
//! the few milliseconds the writer needs to create the destination store.
//!
//! Must not depend on: HTTP or a concrete storage engine.

use std::path::Path;
use std::sync::Arc;

use binderdb_storage::{CheckpointRecord, CheckpointSummary, CheckpointVisitor, StorageError};

use crate::error::{Error, Result};
use crate::Database;

/// Writes a store's checkpoint (the second argument runs [`Store::checkpoint`] with the
/// visitor it is given) into a directory that must be empty or absent, durably, and says what
/// it wrote. The fjall engine's `write_checkpoint` is one.
///
/// [`Store::checkpoint`]: binderdb_storage::Store::checkpoint
pub type CheckpointWriter = dyn Fn(
        &Path,
        &mut dyn FnMut(CheckpointVisitor<'_>) -> std::result::Result<(), StorageError>,
    ) -> std::result::Result<CheckpointSummary, StorageError>
    + Send
    + Sync;

/// Where the database keeps its [`CheckpointWriter`].
#[derive(Default)]
pub(crate) struct WriterSlot(std::sync::OnceLock<Arc<CheckpointWriter>>);

impl std::fmt::Debug for WriterSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WriterSlot")
            .field(&self.0.get().is_some())
            .finish()
    }
}

impl Database {
    /// Sets how [`Database::copy_data_dir`] writes a copy (once; later calls are ignored).
    pub fn set_checkpoint_writer(&self, writer: Arc<CheckpointWriter>) {
        let _ = self.checkpoint_writer.0.set(writer);
    }

    /// Copies the whole data directory, as it is at one instant, into `dir` (empty or absent),
    /// without stopping item writes (see the module docs). Blocks for the length of the copy:
    /// call it off the async runtime.
    ///
    /// # Errors
    /// `Storage(InvalidArgument)` if `dir` exists and is not an empty directory;
    /// `Storage(Unsupported)` if the storage engine cannot copy itself or no writer was set;
    /// storage and I/O failures.
    pub fn copy_data_dir(&self, dir: &Path) -> Result<CheckpointSummary> {
        let writer = self.checkpoint_writer.0.get().ok_or_else(|| {
            Error::Storage(StorageError::Unsupported(
                "this server has no writer for data directory copies".to_owned(),
            ))
        })?;
        let mut ddl = Some(self.catalog.lock_ddl(self.store.as_ref())?);
        let summary = writer(dir, &mut |visit| {
            self.store.checkpoint(&mut |record| {
                if matches!(record, CheckpointRecord::Snapshot { .. }) {
                    // The snapshot is taken: table changes may go on.
                    ddl.take();
                }
                visit(record)
            })
        })?;
        drop(ddl);
        tracing::info!(
            dir = %dir.display(),
            version = summary.version,
            entries = summary.entries,
            bytes = summary.bytes,
            "copied the data directory"
        );
        Ok(summary)
    }
}
