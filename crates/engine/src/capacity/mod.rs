//! Capacity: the unit arithmetic (exactly as DynamoDB bills), throttling ([`throttle`]) and
//! the bill ([`meter`], [`bill`]).
//!
//! Operations compute what they consumed; they call [`Database::admit`] before touching
//! storage and [`Database::charge`] after, and never see buckets or counters.
//!
//! - A write costs 1 WCU per started KB (1024 bytes) of the larger of the old and the new item,
//!   at least 1.
//! - A strongly consistent read costs 1 RCU per started 4 KB of the item, at least 1; an
//!   eventually consistent read costs half.
//! - Query and Scan add up the sizes of every item they read (before any filter) and round up
//!   once for the page, so many small items share one unit.

pub mod bill;
pub(crate) mod cluster;
pub mod decreases;
pub mod meter;
pub(crate) mod on_demand;
pub mod throttle;

use std::collections::BTreeMap;

use crate::api::{Capacity, ConsumedCapacity};
use crate::catalog::{Table, TableDescriptor};
use crate::error::{Error, Result};
use crate::index::IndexKind;
use crate::Database;
pub use meter::Usage;
pub use throttle::{Ask, Direction};

impl Database {
    /// Whether requests on the table are throttled: the server's `--throttling`, unless the
    /// table's [`throttle::THROTTLING_TAG`] says otherwise.
    pub(crate) fn throttles(&self, d: &TableDescriptor) -> bool {
        if d.tags.is_empty() {
            return self.config.throttling;
        }
        match d.tags.get(throttle::THROTTLING_TAG).map(String::as_str) {
            Some("on" | "true" | "enabled") => true,
            Some("off" | "false" | "disabled") => false,
            _ => self.config.throttling,
        }
    }

    /// Refuses a request the table's buckets cannot take now (nothing when throttling is off).
    ///
    /// # Errors
    /// `ProvisionedThroughputExceededException` or `ThrottlingException`.
    pub(crate) fn admit(&self, table: &Table, d: &TableDescriptor, ask: Ask<'_>) -> Result<()> {
        if !self.throttles(d) {
            return Ok(());
        }
        let capacity = self.table_capacity(table);
        let now = self.clock.now_millis();
        let admitted = capacity.throttle.admit(
            d,
            &capacity.arn,
            ask,
            now,
            self.node_weight(),
            &capacity.metrics,
        );
        if admitted.is_err() {
            capacity.meter.record_throttled(now);
        }
        admitted
    }

    /// Counts what a request consumed on the bill and pays it from the table's buckets.
    pub(crate) fn charge(
        &self,
        table: &Table,
        d: &TableDescriptor,
        usage: Usage,
        consumed: &Consumed,
        partition: Option<u64>,
    ) {
        let capacity = self.table_capacity(table);
        let now = self.clock.now_millis();
        capacity.meter.record(usage, consumed, now);
        if self.throttles(d) {
            let direction = match usage {
                Usage::Read | Usage::TransactionalRead => Direction::Read,
                Usage::Write | Usage::TransactionalWrite => Direction::Write,
            };
            let weight = self.node_weight();
            if weight == 1.0 {
                capacity
                    .throttle
                    .pay(d, direction, consumed, partition, now);
            } else {
                let weighed = consumed.times(weight);
                capacity
                    .throttle
                    .pay(d, direction, &weighed, partition, now);
            }
        }
    }

    /// How many nodes share every table's limits: the live nodes of a shared store, else 1.
    /// Each node meters its requests at this many times their cost ([`throttle`]'s module
    /// documentation says why).
    fn node_weight(&self) -> f64 {
        self.store.live_nodes().max(1) as f64
    }
}

impl Database {
    /// One item write, admitted by the table's buckets first and counted on the bill after:
    /// PutItem, UpdateItem, DeleteItem and BatchWriteItem's requests.
    ///
    /// # Errors
    /// Throttling errors; those of [`Database::write_item`].
    pub(crate) fn metered_write<'a>(
        &self,
        table: &Table,
        d: &TableDescriptor,
        key: &binderdb_storage::Key,
        decide: &mut dyn FnMut(Option<&binderdb_model::Item>) -> Result<crate::ops::Change<'a>>,
    ) -> Result<crate::ops::WriteOutcome> {
        // Hashed only where the buckets need it: unthrottled requests skip it.
        let partition = self.throttles(d).then(|| partition_of(key));
        self.admit(
            table,
            d,
            Ask {
                direction: Direction::Write,
                index: None,
                partition,
            },
        )?;
        // A write refused by its condition still consumes capacity in DynamoDB (the item it
        // read, at least 1 WCU); sized only on that path, so writes that go ahead pay nothing.
        let mut refused_size = None;
        let written = self.write_item(table, key, &mut |old| {
            let change = decide(old);
            if matches!(change, Err(Error::ConditionalCheckFailed { .. })) {
                refused_size = Some(old.map_or(0, binderdb_model::item_size));
            }
            change
        });
        if let Err(Error::TransactionConflict(_)) = &written {
            self.count_conflict(table);
        }
        match written {
            Ok(outcome) => {
                self.charge(table, d, Usage::Write, &outcome.consumed, partition);
                Ok(outcome)
            }
            Err(e) => {
                if let (Error::ConditionalCheckFailed { .. }, Some(size)) = (&e, refused_size) {
                    let consumed = Consumed::table(write_units(size, 0));
                    self.charge(table, d, Usage::Write, &consumed, partition);
                }
                Err(e)
            }
        }
    }

    /// One point read, admitted first and counted after (GetItem, BatchGetItem).
    ///
    /// # Errors
    /// Throttling errors; storage failures.
    pub(crate) fn metered_read(
        &self,
        table: &Table,
        d: &TableDescriptor,
        key: &binderdb_storage::Key,
        consistent: bool,
    ) -> Result<(Option<binderdb_model::Item>, f64)> {
        // Hashed only where the buckets need it: unthrottled requests skip it.
        let partition = self.throttles(d).then(|| partition_of(key));
        self.admit(
            table,
            d,
            Ask {
                direction: Direction::Read,
                index: None,
                partition,
            },
        )?;
        let (item, units) = self.read_item(key, consistent)?;
        self.charge(table, d, Usage::Read, &Consumed::table(units), partition);
        Ok((item, units))
    }
}

impl Database {
    /// Admits every item of a transaction (TransactWriteItems or TransactGetItems) before any
    /// is touched: a throttled item cancels the transaction with `ThrottlingError` as its
    /// reason, as DynamoDB's do.
    ///
    /// # Errors
    /// `TransactionCanceledException`; other errors of admission.
    pub(crate) fn admit_transaction<'a>(
        &self,
        direction: Direction,
        items: impl ExactSizeIterator<Item = (&'a Table, &'a binderdb_storage::Key)>,
    ) -> Result<()> {
        let n = items.len();
        for (i, (table, key)) in items.enumerate() {
            let d = table.descriptor();
            let ask = Ask {
                direction,
                index: None,
                partition: Some(partition_of(key)),
            };
            if let Err(e) = self.admit(table, &d, ask) {
                let mut reasons = vec![crate::txn::no_reason(); n];
                reasons[i] = crate::txn::reason_of(e)?;
                return Err(Error::TransactionCanceled { reasons });
            }
        }
        Ok(())
    }
}

impl Database {
    /// Counts one GetRecords call (one stream read request unit) on the table's bill.
    /// (A deleted table's stream is read for free: its bill line is closed.)
    pub(crate) fn charge_stream_read(&self, account: Option<&str>, region: &str, name: &str) {
        if let Some(table) = self.catalog.get(account, region, name) {
            self.table_capacity(&table)
                .meter
                .record_stream_read(self.clock.now_millis());
        }
    }
}

/// The partition hash of an item key, for per-partition throttling.
pub(crate) fn partition_of(key: &binderdb_storage::Key) -> u64 {
    binderdb_storage::partition_hash(&key.partition)
}

/// Capacity one request consumed on one table, split by where it was spent: the table itself
/// and each index (ReturnConsumedCapacity=INDEXES reports the split).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Consumed {
    /// Units spent on the table.
    pub table: f64,
    /// Units spent on each local secondary index, by name.
    pub local: BTreeMap<String, f64>,
    /// Units spent on each global secondary index, by name.
    pub global: BTreeMap<String, f64>,
}

impl Consumed {
    /// Units spent on the table alone.
    pub fn table(units: f64) -> Self {
        Consumed {
            table: units,
            ..Consumed::default()
        }
    }

    /// Adds `units` spent on index `name`.
    pub fn add_index(&mut self, kind: IndexKind, name: &str, units: f64) {
        match self.index_units(kind).get_mut(name) {
            Some(spent) => *spent += units,
            None => self.add_index_named(kind, name.to_owned(), units),
        }
    }

    /// [`Consumed::add_index`] for a name the caller owns already (no copy of it is made).
    pub(crate) fn add_index_named(&mut self, kind: IndexKind, name: String, units: f64) {
        *self.index_units(kind).entry(name).or_default() += units;
    }

    fn index_units(&mut self, kind: IndexKind) -> &mut BTreeMap<String, f64> {
        match kind {
            IndexKind::Local => &mut self.local,
            IndexKind::Global => &mut self.global,
        }
    }

    /// Adds everything `other` spent.
    pub fn merge(&mut self, other: &Consumed) {
        self.table += other.table;
        for (name, units) in &other.local {
            *self.local.entry(name.clone()).or_default() += units;
        }
        for (name, units) in &other.global {
            *self.global.entry(name.clone()).or_default() += units;
        }
    }

    /// Twice these units: what the same work costs inside a transaction (DynamoDB bills
    /// transactional reads and writes, on the table and on every index, at double).
    pub fn doubled(&self) -> Consumed {
        self.times(2.0)
    }

    /// These units, each multiplied by `k`.
    pub fn times(&self, k: f64) -> Consumed {
        let scale = |map: &BTreeMap<String, f64>| {
            map.iter()
                .map(|(name, units)| (name.clone(), units * k))
                .collect()
        };
        Consumed {
            table: self.table * k,
            local: scale(&self.local),
            global: scale(&self.global),
        }
    }

    /// Units spent in all.
    pub fn total(&self) -> f64 {
        self.table + self.local.values().sum::<f64>() + self.global.values().sum::<f64>()
    }
}

/// `ReturnConsumedCapacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnCapacity {
    /// `NONE` (default): no ConsumedCapacity in the response.
    #[default]
    None,
    /// `TOTAL`: table name and total units.
    Total,
    /// `INDEXES`: also the per-table (and later per-index) breakdown.
    Indexes,
}

impl ReturnCapacity {
    /// Parses the request member; the server has already checked the enum value.
    ///
    /// # Errors
    /// `ValidationException` for a value outside the enum (defensive).
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("NONE") => Ok(ReturnCapacity::None),
            Some("TOTAL") => Ok(ReturnCapacity::Total),
            Some("INDEXES") => Ok(ReturnCapacity::Indexes),
            Some(other) => Err(Error::validation(format!(
                "1 validation error detected: Value '{other}' at 'returnConsumedCapacity' failed \
                 to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
            ))),
        }
    }

    /// The response's `ConsumedCapacity` for `units` consumed on `table_name` itself.
    pub fn report(self, table_name: &str, units: f64) -> Option<ConsumedCapacity> {
        self.report_consumed(table_name, &Consumed::table(units))
    }

    /// The response's `ConsumedCapacity` for what a request consumed on `table_name` and its
    /// indexes: the total, and with INDEXES the table's part and each index's.
    pub fn report_consumed(
        self,
        table_name: &str,
        consumed: &Consumed,
    ) -> Option<ConsumedCapacity> {
        let split = |map: &BTreeMap<String, f64>| {
            (!map.is_empty()).then(|| {
                map.iter()
                    .map(|(name, units)| {
                        (
                            name.clone(),
                            Capacity {
                                capacity_units: *units,
                            },
                        )
                    })
                    .collect()
            })
        };
        match self {
            ReturnCapacity::None => None,
            ReturnCapacity::Total => Some(ConsumedCapacity {
                table_name: table_name.to_owned(),
                capacity_units: consumed.total(),
                table: None,
                local_secondary_indexes: None,
                global_secondary_indexes: None,
            }),
            ReturnCapacity::Indexes => Some(ConsumedCapacity {
                table_name: table_name.to_owned(),
                capacity_units: consumed.total(),
                table: Some(Capacity {
                    capacity_units: consumed.table,
                }),
                local_secondary_indexes: split(&consumed.local),
                global_secondary_indexes: split(&consumed.global),
            }),
        }
    }
}

/// Write capacity units for replacing an item of `old_size` bytes (0 if absent) by one of
/// `new_size` bytes (0 for a delete).
pub fn write_units(old_size: usize, new_size: usize) -> f64 {
    let size = old_size.max(new_size);
    size.div_ceil(1024).max(1) as f64
}

/// Read capacity units for reading `size` bytes in one request (a GetItem, or one Query/Scan
/// page).
pub fn read_units(size: usize, consistent: bool) -> f64 {
    let units = size.div_ceil(4096).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_round_up_per_kilobyte_of_the_larger_item() {
        assert_eq!(write_units(0, 1), 1.0);
        assert_eq!(write_units(0, 0), 1.0);
        assert_eq!(write_units(0, 1024), 1.0);
        assert_eq!(write_units(0, 1025), 2.0);
        assert_eq!(write_units(3000, 10), 3.0);
        assert_eq!(write_units(0, 400 * 1024), 400.0);
    }

    #[test]
    fn reads_round_up_per_four_kilobytes_and_halve_when_eventual() {
        assert_eq!(read_units(0, true), 1.0);
        assert_eq!(read_units(0, false), 0.5);
        assert_eq!(read_units(4096, true), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(read_units(3 * 4096 + 1, false), 2.0);
    }

    #[test]
    fn report_shapes() {
        assert_eq!(ReturnCapacity::None.report("t", 1.0), None);
        let total = ReturnCapacity::Total.report("t", 1.5).unwrap();
        assert_eq!(total.capacity_units, 1.5);
        assert!(total.table.is_none());
        let idx = ReturnCapacity::Indexes.report("t", 2.0).unwrap();
        assert_eq!(idx.table.unwrap().capacity_units, 2.0);
    }
}
