//! Test support: a store that delegates to another and lets a test change only the calls it
//! cares about (count reads, hold a write, withhold durability, slip a write in).
//!
//! A test store is a [`Hooks`] type holding the test's state, wrapped in [`Hooked`]: every
//! hook defaults to forwarding to the inner store, so the test states only what it changes,
//! and the [`Store`] forwarding lives here once instead of in a copy per test.
//!
//! Why a module behind the `testing` feature of this crate rather than a dev-only crate: the
//! storage crate's own unit tests use it too, and a dev-only crate depending on this one would
//! hand them a second copy of the [`Store`] trait. Tests of other crates turn the feature on in
//! their `[dev-dependencies]`; with the workspace's feature resolver, a dev-dependency's
//! features stay out of normal builds, so none of this reaches the production API or binary.
//!
//! What the wrapper does not hand to a hook:
//! - [`Store::read_modify_write_many`] is the contract's default (read each key, call `f`,
//!   one guarded commit) run over the wrapper itself, never the inner store's latched version:
//!   its reads and its commit then pass through the `get` and `commit` hooks, so a hook on
//!   `commit` sees BatchWriteItem's writes too. The default keeps the contract (the
//!   conformance suite runs it), so any engine may be wrapped.
//! - The rest of the contract's defaulted methods (metrics, disk usage, checkpoint, the
//!   shared-store calls) forward to the inner store; add a hook here when a test needs one.
//!
//! Key types: [`Hooks`], [`Hooked`], [`NoHooks`].

use std::ops::ControlFlow;
use std::task::{Context, Poll};

use crate::{
    Batch, CheckpointRecord, CounterId, Counts, DiskUsage, EntryRef, Key, Keyspace, MemoryStore,
    PartitionRange, SegmentScan, StorageError, Store, StoreMetrics, Subscriber, TableId, Versioned,
};

/// What a test store changes. Each method is called in place of the [`Store`] method of the
/// same name with the inner store as `inner`, and by default forwards to it: a test overrides
/// the few it changes and may call `inner` itself (before, after, or around a wrapped
/// `visit`/`f`).
pub trait Hooks: Send + Sync + std::fmt::Debug + 'static {
    /// [`Store::get`].
    ///
    /// # Errors
    /// As [`Store::get`].
    fn get(&self, inner: &dyn Store, key: &Key) -> Result<Option<Versioned>, StorageError> {
        inner.get(key)
    }

    /// [`Store::range`].
    ///
    /// # Errors
    /// As [`Store::range`].
    fn range(
        &self,
        inner: &dyn Store,
        r: &PartitionRange<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        inner.range(r, visit)
    }

    /// [`Store::scan`].
    ///
    /// # Errors
    /// As [`Store::scan`].
    fn scan(
        &self,
        inner: &dyn Store,
        s: &SegmentScan<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        inner.scan(s, visit)
    }

    /// [`Store::commit`], and the commit of [`Store::read_modify_write_many`].
    ///
    /// # Errors
    /// As [`Store::commit`].
    fn commit(&self, inner: &dyn Store, batch: Batch) -> Result<u64, StorageError> {
        inner.commit(batch)
    }

    /// [`Store::read_modify_write`].
    ///
    /// # Errors
    /// As [`Store::read_modify_write`].
    fn read_modify_write(
        &self,
        inner: &dyn Store,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        inner.read_modify_write(key, f)
    }

    /// [`Store::counts`].
    ///
    /// # Errors
    /// As [`Store::counts`].
    fn counts(
        &self,
        inner: &dyn Store,
        counter: CounterId,
    ) -> Result<Option<Counts>, StorageError> {
        inner.counts(counter)
    }

    /// [`Store::recount`].
    ///
    /// # Errors
    /// As [`Store::recount`].
    fn recount(
        &self,
        inner: &dyn Store,
        counter: CounterId,
        keyspace: Keyspace,
        table: TableId,
        weigh: &mut dyn FnMut(EntryRef<'_>) -> Result<i64, StorageError>,
    ) -> Result<Option<Counts>, StorageError> {
        inner.recount(counter, keyspace, table, weigh)
    }

    /// [`Store::drop_table`].
    ///
    /// # Errors
    /// As [`Store::drop_table`].
    fn drop_table(&self, inner: &dyn Store, table: TableId) -> Result<(), StorageError> {
        inner.drop_table(table)
    }

    /// [`Store::flush`].
    ///
    /// # Errors
    /// As [`Store::flush`].
    fn flush(&self, inner: &dyn Store) -> Result<(), StorageError> {
        inner.flush()
    }

    /// [`Store::pacing_writers`].
    fn pacing_writers(&self, inner: &dyn Store) -> bool {
        inner.pacing_writers()
    }

    /// [`Store::commit_point`].
    fn commit_point(&self, inner: &dyn Store) -> u64 {
        inner.commit_point()
    }

    /// [`Store::poll_durable`].
    ///
    /// # Errors
    /// As [`Store::poll_durable`].
    fn poll_durable(
        &self,
        inner: &dyn Store,
        point: u64,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), StorageError>> {
        inner.poll_durable(point, cx)
    }
}

/// Hooks that change nothing: [`Hooked`] over them is the inner store with the contract's
/// default [`Store::read_modify_write_many`].
#[derive(Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// A [`Store`] that hands each call to `hooks` along with `inner` (see the module doc for the
/// calls it keeps to itself). Tests reach their state through `hooks`.
///
/// ```
/// use binderdb_storage::testing::{Hooked, Hooks};
/// use binderdb_storage::{Key, StorageError, Store, Versioned};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Debug, Default)]
/// struct CountGets(AtomicU64);
///
/// impl Hooks for CountGets {
///     fn get(&self, inner: &dyn Store, key: &Key) -> Result<Option<Versioned>, StorageError> {
///         self.0.fetch_add(1, Ordering::SeqCst);
///         inner.get(key)
///     }
/// }
///
/// let store = Hooked::<CountGets>::default();
/// let key = Key {
///     keyspace: binderdb_storage::Keyspace::Items,
///     table: 1,
///     partition: b"pk".to_vec(),
///     sort: Vec::new(),
/// };
/// assert!(store.get(&key).unwrap().is_none());
/// assert_eq!(store.hooks.0.load(Ordering::SeqCst), 1);
/// ```
#[derive(Debug, Default)]
pub struct Hooked<H, S = MemoryStore> {
    /// The store every call ends up in unless a hook decides otherwise.
    pub inner: S,
    /// The test's changes, and its state.
    pub hooks: H,
}

impl<H: Hooks, S: Store> Store for Hooked<H, S> {
    fn get(&self, key: &Key) -> Result<Option<Versioned>, StorageError> {
        self.hooks.get(&self.inner, key)
    }

    fn range(
        &self,
        r: &PartitionRange<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        self.hooks.range(&self.inner, r, visit)
    }

    fn scan(
        &self,
        s: &SegmentScan<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        self.hooks.scan(&self.inner, s, visit)
    }

    fn commit(&self, batch: Batch) -> Result<u64, StorageError> {
        self.hooks.commit(&self.inner, batch)
    }

    fn read_modify_write(
        &self,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        self.hooks.read_modify_write(&self.inner, key, f)
    }

    // `read_modify_write_many` keeps the trait's default on purpose: see the module doc.

    fn counts(&self, counter: CounterId) -> Result<Option<Counts>, StorageError> {
        self.hooks.counts(&self.inner, counter)
    }

    fn recount(
        &self,
        counter: CounterId,
        keyspace: Keyspace,
        table: TableId,
        weigh: &mut dyn FnMut(EntryRef<'_>) -> Result<i64, StorageError>,
    ) -> Result<Option<Counts>, StorageError> {
        self.hooks
            .recount(&self.inner, counter, keyspace, table, weigh)
    }

    fn drop_table(&self, table: TableId) -> Result<(), StorageError> {
        self.hooks.drop_table(&self.inner, table)
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.hooks.flush(&self.inner)
    }

    fn metrics(&self) -> StoreMetrics {
        self.inner.metrics()
    }

    fn pacing_writers(&self) -> bool {
        self.hooks.pacing_writers(&self.inner)
    }

    fn commit_point(&self) -> u64 {
        self.hooks.commit_point(&self.inner)
    }

    fn poll_durable(&self, point: u64, cx: &mut Context<'_>) -> Poll<Result<(), StorageError>> {
        self.hooks.poll_durable(&self.inner, point, cx)
    }

    fn disk_usage(&self) -> Result<Option<DiskUsage>, StorageError> {
        self.inner.disk_usage()
    }

    fn scans_block_commits(&self) -> bool {
        self.inner.scans_block_commits()
    }

    fn checkpoint(
        &self,
        visit: &mut dyn FnMut(CheckpointRecord<'_>) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.inner.checkpoint(visit)
    }

    fn shared(&self) -> bool {
        self.inner.shared()
    }

    fn live_nodes(&self) -> usize {
        self.inner.live_nodes()
    }

    fn announce(&self, topic: &[u8]) -> Result<usize, StorageError> {
        self.inner.announce(topic)
    }

    fn subscribe(&self, subscriber: Subscriber) -> Result<(), StorageError> {
        self.inner.subscribe(subscriber)
    }

    fn lease(&self, name: &str, duration: std::time::Duration) -> Result<bool, StorageError> {
        self.inner.lease(name, duration)
    }

    fn release_lease(&self, name: &str) -> Result<(), StorageError> {
        self.inner.release_lease(name)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// The wrapper without hooks is a conforming store: whatever a test store does not change
    /// behaves as the contract says.
    #[test]
    fn conformance() {
        crate::conformance::run_all(&|| Arc::new(Hooked::<NoHooks>::default()) as Arc<dyn Store>);
    }
}
