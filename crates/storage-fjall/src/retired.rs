//! Retired memtables: every memtable binderdb rotates is kept here until nothing else holds
//! it, and then freed by the flush thread, outside every lock.
//!
//! Why: freeing a flushed memtable is not free. A 32 MiB memtable of an index put load holds
//! about 290,000 skip-list nodes, each a separate allocation with its key and value, and
//! dropping it took tens of milliseconds. lsm-tree drops it wherever the last reference goes,
//! which is in the collection of old tree versions (`SuperVersions::maintenance`), run under
//! the tree's version-history write lock (every read and every insert of that keyspace waits
//! for it) from fjall's memtable rotation, from the registration of a flushed table and from
//! compactions. fjall's rotation runs between commits ([`crate::sequencer`]), so there the
//! whole store's commits waited too. Measured before the change (`perf`, DWARF stacks, 5 s of
//! `binderdb bench --workload index-put`, durable, 32 connections): 3.1% of the server's CPU
//! samples were the flush thread's rotation through fjall (`flusher::tidy_fjall`), nearly all
//! of it `crossbeam_skiplist::base::Node::finalize` of flushed memtables, inside the gate.
//!
//! So every rotation made between commits hands the memtable it seals to [`Retired::keep`]
//! (a rotation through fjall, which returns nothing, hands over the active memtable it is
//! about to seal). The extra reference makes lsm-tree's drops mere reference-count decrements;
//! the flush thread calls [`Retired::free_unused`] after every pass and at every tick, which
//! frees the memtables only this list still holds. A memtable therefore lives at most one
//! tick ([`crate::flusher`]'s 50 ms) longer than before. Rotations fjall starts itself (its
//! size backstop, see `FJALL_ROTATION_BACKSTOP`) are not seen here and free as before.

use std::sync::Arc;

use fjall::AbstractTree;
use lsm_tree::Memtable;
use parking_lot::Mutex;

/// The memtables binderdb rotated and still holds (see the module docs).
#[derive(Default)]
pub(crate) struct Retired {
    kept: Mutex<Vec<Arc<Memtable>>>,
}

impl std::fmt::Debug for Retired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retired")
            .field("kept", &self.kept.lock().len())
            .finish()
    }
}

impl Retired {
    /// Keeps `memtable` (once, however often it is handed over) until nothing else holds it.
    pub(crate) fn keep(&self, memtable: Arc<Memtable>) {
        let mut kept = self.kept.lock();
        if !kept.iter().any(|m| Arc::ptr_eq(m, &memtable)) {
            kept.push(memtable);
        }
    }

    /// Keeps `space`'s active memtable if it holds writes: called right before a rotation
    /// through fjall seals it.
    pub(crate) fn keep_active(&self, space: &fjall::Keyspace) {
        let active = space.tree.active_memtable();
        if active.size() > 0 {
            self.keep(active);
        }
    }

    /// Frees the kept memtables nothing else holds any more, after releasing the list's lock;
    /// returns how many.
    pub(crate) fn free_unused(&self) -> usize {
        let unused: Vec<Arc<Memtable>> = {
            let mut kept = self.kept.lock();
            let mut unused = Vec::new();
            let mut i = 0;
            while i < kept.len() {
                // Only this list holds it, and only under this lock can it be cloned from
                // here: nobody can take a new reference between the check and the drop.
                if Arc::strong_count(&kept[i]) == 1 {
                    unused.push(kept.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            unused
        };
        let freed = unused.len();
        drop(unused);
        freed
    }

    /// Memtables held now (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.kept.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memtable_is_freed_only_once_nothing_else_holds_it() {
        let retired = Retired::default();
        let memtable = Arc::new(Memtable::new(7));
        retired.keep(Arc::clone(&memtable));
        retired.keep(Arc::clone(&memtable));
        assert_eq!(retired.len(), 1, "kept once");
        assert_eq!(retired.free_unused(), 0, "still held by the test");
        assert_eq!(retired.len(), 1);
        drop(memtable);
        assert_eq!(retired.free_unused(), 1);
        assert_eq!(retired.len(), 0);
    }
}
