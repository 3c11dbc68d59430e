//! Eventual consistency on demand (`Config::consistency_lag_ms`, off by default).
//!
//! DynamoDB answers an eventually consistent read from any replica, which may not have the
//! last writes yet; binderdb's store is always current, so code that wrongly relies on
//! read-after-write passes locally and fails in production. With a lag of MS milliseconds,
//! every write keeps the item as it was before it for MS milliseconds, and an eventually
//! consistent read sees the item as it was at a moment up to MS milliseconds ago: exactly MS
//! ago (`ConsistencyLag::Fixed`, deterministic) or drawn from a seeded random source within
//! the window (`ConsistencyLag::Random`).
//!
//! Where it applies: GetItem and BatchGetItem without ConsistentRead, and the items of an
//! eventually consistent Query or Scan, of the table or of an index (every global index read
//! is eventually consistent): each item or index entry read is replaced by its state at that
//! moment, or left out if it did not exist then (or, in an index, had other index key
//! values). So global index propagation lags by the same window. Not modelled: a Query or
//! Scan does not bring back items deleted (or moved out of an index partition) within the
//! window.
//!
//! With the lag off (the default) a write pays one branch for this.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use binderdb_model::Item;
use binderdb_storage::Key;
use parking_lot::Mutex;

/// How far back an eventually consistent read looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LagMode {
    /// Always the whole lag.
    #[default]
    Fixed,
    /// A moment drawn uniformly within the lag, from a seeded source.
    Random,
}

/// The items as they were before the writes of the last `lag_ms`.
#[derive(Debug, Default)]
pub struct History {
    lag_ms: u64,
    mode: LagMode,
    rng: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Per key, its writes in commit order: (commit ms, the item before the write).
    by_key: HashMap<Key, VecDeque<(u64, Option<Item>)>>,
    /// Every write in commit order, to forget them once older than the lag.
    order: VecDeque<(u64, Key)>,
}

impl History {
    /// A history for a lag of `lag_ms` (0: off).
    pub fn new(lag_ms: u64, mode: LagMode, seed: u64) -> Self {
        History {
            lag_ms,
            mode,
            rng: AtomicU64::new(seed),
            inner: Mutex::default(),
        }
    }

    /// Whether eventually consistent reads lag.
    pub fn enabled(&self) -> bool {
        self.lag_ms > 0
    }

    /// Records that the item at `key` was `old` until a write at `now`.
    pub fn record(&self, key: &Key, old: Option<&Item>, now: u64) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.inner.lock();
        inner.forget_before(now.saturating_sub(self.lag_ms));
        inner
            .by_key
            .entry(key.clone())
            .or_default()
            .push_back((now, old.cloned()));
        inner.order.push_back((now, key.clone()));
    }

    /// The moment an eventually consistent read at `now` sees.
    pub fn read_moment(&self, now: u64) -> u64 {
        let back = match self.mode {
            LagMode::Fixed => self.lag_ms,
            LagMode::Random => {
                let z = splitmix(&self.rng);
                z % (self.lag_ms + 1)
            }
        };
        now.saturating_sub(back)
    }

    /// The item at `key` as it was at `moment`, when a write since changed it: `Some(old)`
    /// (`old` may be `None`: it did not exist), or `None` when nothing changed it since.
    pub fn as_of(&self, key: &Key, moment: u64) -> Option<Option<Item>> {
        let inner = self.inner.lock();
        let writes = inner.by_key.get(key)?;
        writes
            .iter()
            .find(|(at, _)| *at > moment)
            .map(|(_, old)| old.clone())
    }
}

impl Inner {
    fn forget_before(&mut self, horizon: u64) {
        while let Some((at, _)) = self.order.front() {
            if *at >= horizon {
                break;
            }
            let Some((_, key)) = self.order.pop_front() else {
                break;
            };
            if let Some(writes) = self.by_key.get_mut(&key) {
                writes.pop_front();
                if writes.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }
}

fn splitmix(state: &AtomicU64) -> u64 {
    let mut z = state
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use binderdb_model::AttributeValue;
    use binderdb_storage::Keyspace;

    fn key() -> Key {
        Key {
            keyspace: Keyspace::Items,
            table: 1,
            partition: b"p".to_vec(),
            sort: Vec::new(),
        }
    }

    #[test]
    fn a_read_within_the_lag_sees_the_item_before_the_write() {
        let h = History::new(100, LagMode::Fixed, 0);
        let mut v1 = Item::new();
        v1.insert("a".to_owned(), AttributeValue::S("1".to_owned()));
        h.record(&key(), None, 1000);
        h.record(&key(), Some(&v1), 1050);
        assert_eq!(h.as_of(&key(), h.read_moment(1010)), Some(None));
        assert_eq!(h.as_of(&key(), h.read_moment(1120)), Some(Some(v1)));
        assert_eq!(h.as_of(&key(), h.read_moment(1150)), None);
    }
}
