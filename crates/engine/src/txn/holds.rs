//! The hold registry: which item keys running transactions hold right now.
//!
//! A transaction takes all its keys with [`Holds::try_hold`] before it reads anything and keeps
//! them until its commit returned; a plain write checks [`Holds::is_held`] under its item latch.
//! Nobody ever waits for a hold: a key held by someone else is a conflict, answered at once.
//!
//! The registry is striped (64 mutex-protected sets, chosen by the key's partition hash) so
//! transactions on different items do not serialise on one lock, and a count of held keys lets
//! the plain write path skip the lookup entirely while no transaction runs (one atomic load).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use binderdb_storage::{partition_hash, Key};
use parking_lot::Mutex;

const STRIPES: usize = 64;

/// Keys held by running transactions.
#[derive(Debug)]
pub(crate) struct Holds {
    /// Keys held now, across all stripes.
    count: AtomicUsize,
    stripes: Box<[Mutex<HashSet<Key>>]>,
}

impl Default for Holds {
    fn default() -> Self {
        Holds {
            count: AtomicUsize::new(0),
            stripes: (0..STRIPES).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Holds {
    fn stripe_of(key: &Key) -> usize {
        (partition_hash(&key.partition).wrapping_add(key.table) % STRIPES as u64) as usize
    }

    /// Whether a transaction holds `key` now.
    pub(crate) fn is_held(&self, key: &Key) -> bool {
        // SeqCst pairs with the increment in `try_hold`: a hold taken before this load is seen.
        self.count.load(Ordering::SeqCst) != 0
            && self.stripes[Self::stripe_of(key)].lock().contains(key)
    }

    /// Takes every key of `keys` (which must be distinct), or none.
    ///
    /// The keys are tried in a canonical order (stripe, then key), taking each free one until
    /// the first that someone else holds; from there on the rest are only looked at. Of two
    /// transactions wanting overlapping keys, the one that reaches the first shared key first
    /// therefore keeps going and the other gives up without taking the keys it would block
    /// the winner on. Nothing ever waits, so no order of requests can deadlock.
    ///
    /// # Errors
    /// The positions (in `keys`) of the keys held by others; nothing is held then.
    pub(crate) fn try_hold(&self, keys: &[Key]) -> Result<Held<'_>, Vec<usize>> {
        let mut order: Vec<(usize, usize)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (Self::stripe_of(k), i))
            .collect();
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                let (x, y) = (&keys[a.1], &keys[b.1]);
                (x.table, &x.partition, &x.sort).cmp(&(y.table, &y.partition, &y.sort))
            })
        });
        let mut taken = Vec::with_capacity(keys.len());
        let mut conflicts = Vec::new();
        for (stripe, i) in order {
            let mut set = self.stripes[stripe].lock();
            if set.contains(&keys[i]) {
                conflicts.push(i);
            } else if conflicts.is_empty() {
                self.count.fetch_add(1, Ordering::SeqCst);
                set.insert(keys[i].clone());
                taken.push(keys[i].clone());
            }
        }
        let held = Held {
            holds: self,
            keys: taken,
        };
        if conflicts.is_empty() {
            Ok(held)
        } else {
            drop(held);
            conflicts.sort_unstable();
            Err(conflicts)
        }
    }
}

/// Keys held by one transaction; released when dropped (after its commit, or when it gives up).
#[derive(Debug)]
pub(crate) struct Held<'a> {
    holds: &'a Holds,
    keys: Vec<Key>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        for key in self.keys.drain(..) {
            self.holds.stripes[Holds::stripe_of(&key)]
                .lock()
                .remove(&key);
            self.holds.count.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use binderdb_storage::Keyspace;

    fn key(n: u8) -> Key {
        Key {
            keyspace: Keyspace::Items,
            table: 1,
            partition: vec![n],
            sort: Vec::new(),
        }
    }

    #[test]
    fn holds_are_all_or_nothing_and_released_on_drop() {
        let holds = Holds::default();
        assert!(!holds.is_held(&key(1)));
        let a = holds.try_hold(&[key(1), key(2)]).unwrap();
        assert!(holds.is_held(&key(1)) && holds.is_held(&key(2)));
        assert_eq!(holds.try_hold(&[key(3), key(2)]).unwrap_err(), vec![1]);
        // The refused attempt took nothing.
        assert!(!holds.is_held(&key(3)));
        drop(a);
        assert!(!holds.is_held(&key(1)) && !holds.is_held(&key(2)));
        assert_eq!(holds.count.load(Ordering::SeqCst), 0);
        let b = holds.try_hold(&[key(3), key(2)]).unwrap();
        assert!(holds.is_held(&key(3)));
        drop(b);
    }
}
