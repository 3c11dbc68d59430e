//! Time to live: the expiry index and the sweeper that deletes expired items.
//!
//! Must not depend on HTTP; owns the `Ttl` keyspace layout (nothing else reads it).
//!
//! # Design
//! - **Expiry index.** While TTL is enabled, every item whose TTL attribute is a Number has one
//!   entry `(Ttl, table id, partition = "expiry", sort = [expiry seconds u64][item partition
//!   len u16][item partition][item sort])` with an empty value. It is written and moved by the
//!   one write path (`ops/write.rs`) in the same atomic batch as the item, so it is exact. One
//!   ordered partition per table: the sweeper reads the entries up to `now` in expiry order,
//!   never the table. (A distributed engine would spread it by a bucket prefix.)
//! - **Other values never expire**: a String, an absent attribute, a negative number or one too
//!   large for u64 seconds has no entry.
//! - **Enabling** swaps the descriptor under the table's write gate (every write committed
//!   after it keeps its item's entry), then a background backfill (`backfill`) writes the
//!   entries of the items that existed, chunk by chunk, while writes go on; it resumes after a
//!   restart. **Disabling** swaps the descriptor the same way, then drops the table's entries
//!   (writes go on meanwhile: none touches them any more).
//! - **Stale entries** cannot arise from these paths, but the sweeper deletes any entry whose
//!   item no longer expires at that time (under the item's latch), so one could never block it.
//! - **Sweeper.** A background worker deletes, every `Config::ttl_sweep_interval_ms`, the items
//!   whose expiry passed, each through the write path as a delete re-checked on the item as it
//!   is then (an item whose TTL moved since is left alone): its index entries, its expiry entry
//!   and a REMOVE stream record with the service `userIdentity` commit together. It deletes at
//!   most `Config::ttl_sweep_batch` items per pass and at most
//!   `Config::ttl_sweep_items_per_second` (its owner paces the passes), so foreground requests
//!   keep their latency. It is billed nothing.
//! - **Cursor.** Within a round of passes, each pass starts after the last entry the previous
//!   one handled, so it never walks again over the deletions it just made (an LSM range would
//!   step over every one of their tombstones); a pass that reaches the end of what is due ends
//!   the round, and the next round starts from the first entry again (an item held by a
//!   transaction, or written with a past expiry, is found then).
//! - Expired items not yet swept are still returned by reads, as in DynamoDB.

pub(crate) mod backfill;

use std::ops::{Bound, ControlFlow};

use binderdb_model::{AttributeValue, Item};
use binderdb_storage::{Key, Keyspace, TableId};
use serde::{Deserialize, Serialize};

/// The partition of a table's expiry entries.
pub(crate) const EXPIRY_PARTITION: &[u8] = b"expiry";

/// A table's TTL settings, as the catalog keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtlDescriptor {
    /// The TTL attribute.
    pub attribute: String,
    /// Whether expired items are deleted.
    pub enabled: bool,
    /// When TTL was last enabled or disabled, ms since the epoch.
    pub changed_ms: u64,
}

/// The expiry (epoch seconds) of `item` under TTL attribute `attribute`: a Number that fits
/// u64 seconds, floored; anything else never expires.
pub(crate) fn expiry_of(item: &Item, attribute: &str) -> Option<u64> {
    let AttributeValue::N(n) = item.get(attribute)? else {
        return None;
    };
    if n.is_negative() {
        return None;
    }
    let (coefficient, exponent) = (n.coefficient(), n.exponent());
    let value = if exponent >= 0 {
        coefficient.checked_mul(10u128.checked_pow(exponent.unsigned_abs())?)?
    } else {
        10u128
            .checked_pow(exponent.unsigned_abs())
            .map_or(0, |d| coefficient / d)
    };
    u64::try_from(value).ok()
}

/// The expiry entry of the item at `key` expiring at `expiry`.
pub(crate) fn entry_key(table: TableId, key: &Key, expiry: u64) -> Key {
    let mut sort = Vec::with_capacity(10 + key.partition.len() + key.sort.len());
    sort.extend_from_slice(&expiry.to_be_bytes());
    sort.extend_from_slice(&(key.partition.len() as u16).to_be_bytes());
    sort.extend_from_slice(&key.partition);
    sort.extend_from_slice(&key.sort);
    Key {
        keyspace: Keyspace::Ttl,
        table,
        partition: EXPIRY_PARTITION.to_vec(),
        sort,
    }
}

/// The item key an expiry entry's sort bytes name, with the expiry.
pub(crate) fn parse_entry(table: TableId, sort: &[u8]) -> Option<(u64, Key)> {
    let expiry = u64::from_be_bytes(sort.get(..8)?.try_into().ok()?);
    let len = u16::from_be_bytes(sort.get(8..10)?.try_into().ok()?) as usize;
    let partition = sort.get(10..10 + len)?.to_vec();
    let item_sort = sort.get(10 + len..)?.to_vec();
    Some((
        expiry,
        Key {
            keyspace: Keyspace::Items,
            table,
            partition,
            sort: item_sort,
        },
    ))
}

/// The expiry entries of `table` due at `now_secs` (expiry ≤ now), at most `limit`, after the
/// entry `after` (exclusive) if given: (expiry, item key).
///
/// # Errors
/// Storage failures.
pub(crate) fn due(
    store: &dyn binderdb_storage::Store,
    table: TableId,
    now_secs: u64,
    limit: usize,
    after: Option<&[u8]>,
) -> crate::Result<Vec<(u64, Key)>> {
    let upper = now_secs.saturating_add(1).to_be_bytes();
    let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut keys = Vec::new();
    store.range(
        &binderdb_storage::PartitionRange {
            keyspace: Keyspace::Ttl,
            table,
            partition: EXPIRY_PARTITION,
            lower,
            upper: Bound::Excluded(&upper),
            reverse: false,
        },
        &mut |e| {
            if let Some(entry) = parse_entry(table, e.sort) {
                keys.push(entry);
            }
            if keys.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )?;
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use binderdb_model::Number;

    fn item(v: AttributeValue) -> Item {
        let mut i = Item::new();
        i.insert("exp".into(), v);
        i
    }

    #[test]
    fn only_numbers_that_fit_expire() {
        let n = |s: &str| item(AttributeValue::N(Number::parse(s).unwrap()));
        assert_eq!(expiry_of(&n("1700000000"), "exp"), Some(1_700_000_000));
        assert_eq!(expiry_of(&n("1.7E9"), "exp"), Some(1_700_000_000));
        assert_eq!(expiry_of(&n("1700000000.9"), "exp"), Some(1_700_000_000));
        assert_eq!(expiry_of(&n("-5"), "exp"), None);
        assert_eq!(expiry_of(&n("1E30"), "exp"), None);
        assert_eq!(expiry_of(&item(AttributeValue::S("1".into())), "exp"), None);
        assert_eq!(expiry_of(&Item::new(), "exp"), None);
    }

    #[test]
    fn entries_round_trip() {
        let key = Key {
            keyspace: Keyspace::Items,
            table: 3,
            partition: b"pk".to_vec(),
            sort: b"sk".to_vec(),
        };
        let entry = entry_key(3, &key, 99);
        assert_eq!(parse_entry(3, &entry.sort), Some((99, key)));
        assert_eq!(parse_entry(3, b"short"), None);
    }
}
