//! Throttling: token buckets per table, per global secondary index and per partition, and the
//! on-demand ceiling, all on the injected clock.
//!
//! Off by default (`Config::throttling`), or per table with the tag
//! [`THROTTLING_TAG`]. A table without throttling pays one boolean test per request.
//!
//! How a request meets the buckets, as DynamoDB meters it:
//! - **Admission before, payment after.** A request is admitted while the buckets it draws on
//!   hold the least it can cost (1 WCU, or half an RCU), and pays what it actually consumed once it ran (a
//!   write's cost depends on the item it replaced, known only then). A bucket may so go into
//!   debt, which later requests wait out: DynamoDB lets a request borrow the same way.
//! - **Provisioned tables**: one bucket for reads and one for writes, refilled at
//!   ReadCapacityUnits / WriteCapacityUnits per second. Unused capacity accumulates up to 300
//!   seconds' worth (DynamoDB's burst capacity). A new bucket holds one second of capacity.
//!   Local secondary indexes draw on the table's buckets (they share its throughput).
//! - **Global secondary indexes** (of provisioned tables) have their own buckets, from their
//!   own ProvisionedThroughput. A read of the index draws on its read bucket. A table write is
//!   refused while the write bucket of any of the table's global indexes is empty: DynamoDB's
//!   back-pressure, which throttles base-table writes when an index cannot keep up. (DynamoDB
//!   only throttles writes that would touch the starved index; binderdb cannot know that
//!   before the write ran, so it holds back every write of the table.)
//! - **Partitions**: every partition key value is limited to 3,000 RCU and 1,000 WCU per
//!   second, whatever the table has, with one second of burst. DynamoDB's adaptive capacity
//!   isolates hot items into their own partitions within minutes; binderdb models the settled
//!   state (every key value is its own partition), so a single hot key throttles at exactly
//!   DynamoDB's per-partition limit and keys never throttle one another.
//! - **Several nodes** (binderdb processes sharing one RADOS pool): a limit belongs to the
//!   table, not to a node, so each live node enforces `1 / n` of every limit, n being the live
//!   nodes the store last saw (refreshed every few seconds, so the split follows nodes joining
//!   and leaving). It meters each request at n times its cost against the whole limit, which
//!   is the same bucket. With clients spread evenly over the nodes (a load balancer) the table
//!   gets its limit; a node that gets more than its share throttles early, as a DynamoDB
//!   partition does past its share of the table's throughput. The alternative, one shared
//!   bucket in RADOS, would add a compare-and-set on one object to every request.
//! - **On-demand tables**: a ceiling per second, twice the table's previous peak, at most the
//!   per-table quota (40,000 units each), at least the table's (or index's) warm throughput:
//!   12,000 RCU and 4,000 WCU, as a new on-demand table has, or what a pre-warm raised it to,
//!   even past the quota (`crate::warm`). A new peak raises the ceiling only once it is 30 minutes old,
//!   which is how DynamoDB throttles traffic that more than doubles its previous peak within
//!   30 minutes. The table's and each global index's `OnDemandThroughput` maximum caps them.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::api::ThrottlingReason;
use crate::catalog::{BillingMode, TableDescriptor};
use crate::error::Error;
use crate::index::IndexKind;
use crate::warm;

/// The tag that turns throttling on (`on`/`true`) or off (`off`/`false`) for one table,
/// whatever the server's `--throttling` says.
pub const THROTTLING_TAG: &str = "binderdb:throttling";
/// Seconds of unused capacity a provisioned bucket keeps (DynamoDB's burst capacity).
pub const BURST_SECONDS: f64 = 300.0;
/// Read capacity of one partition, per second.
pub const PARTITION_READ_UNITS: f64 = 3000.0;
/// Write capacity of one partition, per second.
pub const PARTITION_WRITE_UNITS: f64 = 1000.0;
/// The per-table quota of an on-demand table, read or write units per second.
pub const ON_DEMAND_TABLE_QUOTA: f64 = 40_000.0;
/// The read ceiling of a new on-demand table (twice its assumed previous peak of 6,000).
pub const ON_DEMAND_INITIAL_READ: f64 = warm::ON_DEMAND_READ as f64;
/// The write ceiling of a new on-demand table (twice its assumed previous peak of 2,000).
pub const ON_DEMAND_INITIAL_WRITE: f64 = warm::ON_DEMAND_WRITE as f64;
/// How long a new on-demand peak takes to count toward the ceiling, ms.
pub const ON_DEMAND_PEAK_SETTLE_MS: u64 = 30 * 60 * 1000;

/// DynamoDB's message when a provisioned table's throughput is exceeded.
pub const TABLE_EXCEEDED: &str = "The level of configured provisioned throughput for the table \
     was exceeded. Consider increasing your provisioning level with the UpdateTable API.";
/// DynamoDB's message when a global secondary index's throughput is exceeded.
pub const INDEX_EXCEEDED: &str = "The level of configured provisioned throughput for one or \
     more global secondary indexes of the table was exceeded. Consider increasing your \
     provisioning level for the under-provisioned global secondary indexes with the \
     UpdateTable API";
/// DynamoDB's ThrottlingException message for on-demand tables and hot keys.
pub const ON_DEMAND_EXCEEDED: &str = "Throughput exceeds the current capacity of your table or \
     index. DynamoDB is automatically scaling your table or index so please try again \
     shortly. If exceptions persist, check if you have a hot key: \
     https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html";
/// The message when an on-demand maximum (`OnDemandThroughput`) is reached. DynamoDB's exact
/// text could not be confirmed; this one names the setting.
pub const MAX_ON_DEMAND_EXCEEDED: &str =
    "Throughput exceeds the maximum OnDemandThroughput configured on table or index";

/// Whether a request reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The least a request can cost: 1 WCU, or half an RCU (an eventually consistent read).
    fn least_cost(self) -> f64 {
        match self {
            Direction::Read => 0.5,
            Direction::Write => 1.0,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Direction::Read => "Read",
            Direction::Write => "Write",
        }
    }
}

/// A token bucket: `tokens` units at `last_ms`, refilled continuously.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last_ms: u64,
}

impl Bucket {
    fn new(rate: f64, now: u64) -> Self {
        Bucket {
            tokens: rate,
            last_ms: now,
        }
    }

    /// Refills at `rate` units per second up to `burst` seconds' worth.
    fn refill(&mut self, now: u64, rate: f64, burst: f64) {
        if now > self.last_ms {
            let elapsed = (now - self.last_ms) as f64 / 1000.0;
            self.tokens = (self.tokens + rate * elapsed).min(rate * burst);
            self.last_ms = now;
        }
    }

    /// Whether the bucket holds `min` units, the least the request can cost.
    fn available(&self, min: f64) -> bool {
        self.tokens >= min
    }
}

/// Per-second consumption and settled peak of an on-demand table (one direction).
#[derive(Debug, Clone, Default)]
struct OnDemand {
    /// The current second (ms / 1000) and what it consumed.
    second: u64,
    used: f64,
    /// Peaks not yet settled: (second they were reached, units in that second).
    recent_peaks: Vec<(u64, f64)>,
    /// The highest per-second consumption older than the settle time.
    settled_peak: f64,
}

impl OnDemand {
    fn roll(&mut self, now: u64) {
        let second = now / 1000;
        if second != self.second {
            self.second = second;
            self.used = 0.0;
        }
        let settle = ON_DEMAND_PEAK_SETTLE_MS / 1000;
        let settled = &mut self.settled_peak;
        self.recent_peaks.retain(|&(at, units)| {
            if at + settle <= second {
                *settled = settled.max(units);
                false
            } else {
                true
            }
        });
    }

    /// The units this second may use: twice the settled peak within the per-table quota, at
    /// least `initial` (the table's or index's warm throughput, which a pre-warm may raise past
    /// the quota), at most `max` (`OnDemandThroughput`).
    fn ceiling(&self, initial: f64, max: Option<f64>) -> f64 {
        let ceiling = (2.0 * self.settled_peak)
            .min(ON_DEMAND_TABLE_QUOTA)
            .max(initial);
        max.map_or(ceiling, |m| ceiling.min(m))
    }

    fn pay(&mut self, units: f64) {
        self.used += units;
        match self.recent_peaks.last_mut() {
            Some((at, peak)) if *at == self.second => *peak = peak.max(self.used),
            _ => {
                // Only a new high is worth remembering.
                let high = self
                    .recent_peaks
                    .iter()
                    .map(|p| p.1)
                    .fold(self.settled_peak, f64::max);
                if self.used > high {
                    self.recent_peaks.push((self.second, self.used));
                }
            }
        }
    }
}

/// The settled warm throughput of global index `i` of `d`, (read, write) units per second:
/// an on-demand index's instant floor, 12,000 / 4,000 unless pre-warmed higher.
fn index_warm(d: &TableDescriptor, i: &crate::index::IndexDescriptor, now: u64) -> (f64, f64) {
    let capacity = warm::Capacity::of_index(d.billing_mode, i);
    let (read, write) = warm::serving(i.warm.as_ref(), capacity, now);
    (read as f64, write as f64)
}

/// The buckets of one table and its global indexes.
#[derive(Debug, Default)]
struct Buckets {
    read: Option<Bucket>,
    write: Option<Bucket>,
    index_read: HashMap<String, Bucket>,
    index_write: HashMap<String, Bucket>,
    on_demand_read: OnDemand,
    on_demand_write: OnDemand,
    index_on_demand_read: HashMap<String, OnDemand>,
    index_on_demand_write: HashMap<String, OnDemand>,
}

/// Number of locks the partition buckets are spread over, so partitions do not serialise.
const PARTITION_SHARDS: usize = 16;
/// A shard forgets partitions idle for a second (their buckets are full again) once it holds
/// this many.
const PARTITION_SHARD_CAPACITY: usize = 4096;

/// The throttling state of one table.
#[derive(Debug)]
pub struct Throttle {
    buckets: Mutex<Buckets>,
    partitions: [Mutex<HashMap<u64, (Bucket, Bucket)>>; PARTITION_SHARDS],
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            buckets: Mutex::default(),
            partitions: std::array::from_fn(|_| Mutex::default()),
        }
    }
}

/// What a request asks of the buckets.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub direction: Direction,
    /// The global index a read goes to (`None`: the table or a local index).
    pub index: Option<&'a str>,
    /// The partition hash of the item or partition it touches, if one.
    pub partition: Option<u64>,
}

impl Throttle {
    /// Refuses the request when a bucket it draws on is empty. `weight` is the number of
    /// nodes sharing the table's limits (see [`Database::admit`](crate::Database)): each node
    /// meters its requests at `weight` times their cost, which is a bucket refilled at
    /// `1 / weight` of the limit.
    ///
    /// # Errors
    /// `ProvisionedThroughputExceededException` (provisioned tables) or `ThrottlingException`
    /// (on-demand tables), with DynamoDB's message and throttling reason.
    pub fn admit(
        &self,
        d: &TableDescriptor,
        arn: &str,
        ask: Ask<'_>,
        now: u64,
        weight: f64,
        events: &crate::metrics::TableMetrics,
    ) -> Result<(), Error> {
        let refused = self.check(d, ask, now, weight);
        if let Some((resource, limit)) = refused {
            // On the resource that refused: the table, or the global index (CloudWatch's
            // Read/WriteThrottleEvents with GlobalSecondaryIndexName).
            events.throttle_event(resource.as_deref(), ask.direction == Direction::Write);
            return Err(throttling_error(d, arn, ask.direction, resource, limit));
        }
        Ok(())
    }

    /// Which limit refuses the request, if one: (index name or `None` for the table, limit).
    fn check(
        &self,
        d: &TableDescriptor,
        ask: Ask<'_>,
        now: u64,
        weight: f64,
    ) -> Option<(Option<String>, Limit)> {
        let min = ask.direction.least_cost() * weight;
        let mut b = self.buckets.lock();
        let provisioned = d.billing_mode == BillingMode::Provisioned;
        let globals = d
            .indexes
            .iter()
            .filter(|i| i.kind == IndexKind::Global && i.maintained());
        match (ask.direction, ask.index) {
            (Direction::Read, Some(index)) => {
                let i = d
                    .indexes
                    .iter()
                    .find(|i| i.name == index && i.kind == IndexKind::Global)?;
                if provisioned {
                    let rate = i.read_capacity as f64;
                    let bucket = b
                        .index_read
                        .entry(i.name.clone())
                        .or_insert_with(|| Bucket::new(rate, now));
                    bucket.refill(now, rate, BURST_SECONDS);
                    if !bucket.available(min) {
                        return Some((Some(i.name.clone()), Limit::Provisioned));
                    }
                } else {
                    let od = b.index_on_demand_read.entry(i.name.clone()).or_default();
                    od.roll(now);
                    let max = positive(i.max_read_request_units);
                    let (warm_read, _) = index_warm(d, i, now);
                    if od.used + min > od.ceiling(warm_read, max) {
                        let limit = if max.is_some_and(|m| od.used + min > m) {
                            Limit::MaxOnDemand
                        } else {
                            Limit::Account
                        };
                        return Some((Some(i.name.clone()), limit));
                    }
                }
            }
            (direction, _) => {
                if provisioned {
                    let rate = match direction {
                        Direction::Read => d.read_capacity,
                        Direction::Write => d.write_capacity,
                    } as f64;
                    let slot = match direction {
                        Direction::Read => &mut b.read,
                        Direction::Write => &mut b.write,
                    };
                    let bucket = slot.get_or_insert_with(|| Bucket::new(rate, now));
                    bucket.refill(now, rate, BURST_SECONDS);
                    if !bucket.available(min) {
                        return Some((None, Limit::Provisioned));
                    }
                    if direction == Direction::Write {
                        for i in globals {
                            let rate = i.write_capacity as f64;
                            let bucket = b
                                .index_write
                                .entry(i.name.clone())
                                .or_insert_with(|| Bucket::new(rate, now));
                            bucket.refill(now, rate, BURST_SECONDS);
                            if !bucket.available(min) {
                                return Some((Some(i.name.clone()), Limit::Provisioned));
                            }
                        }
                    }
                } else {
                    let (warm_read, warm_write) =
                        warm::serving(d.warm.as_ref(), warm::Capacity::of_table(d), now);
                    let (od, initial) = match direction {
                        Direction::Read => (&mut b.on_demand_read, warm_read as f64),
                        Direction::Write => (&mut b.on_demand_write, warm_write as f64),
                    };
                    od.roll(now);
                    let max = positive(match direction {
                        Direction::Read => d.max_read_request_units,
                        Direction::Write => d.max_write_request_units,
                    });
                    if od.used + min > od.ceiling(initial, max) {
                        let limit = if max.is_some_and(|m| od.used + min > m) {
                            Limit::MaxOnDemand
                        } else {
                            Limit::Account
                        };
                        return Some((None, limit));
                    }
                    if direction == Direction::Write {
                        for i in globals {
                            let od = b.index_on_demand_write.entry(i.name.clone()).or_default();
                            od.roll(now);
                            let max = positive(i.max_write_request_units);
                            let (_, warm_write) = index_warm(d, i, now);
                            if od.used + min > od.ceiling(warm_write, max) {
                                let limit = if max.is_some_and(|m| od.used + min > m) {
                                    Limit::MaxOnDemand
                                } else {
                                    Limit::Account
                                };
                                return Some((Some(i.name.clone()), limit));
                            }
                        }
                    }
                }
            }
        }
        drop(b);
        let partition = ask.partition.filter(|_| ask.index.is_none())?;
        let mut shard = self.partitions[partition as usize % PARTITION_SHARDS].lock();
        if shard.len() >= PARTITION_SHARD_CAPACITY {
            shard.retain(|_, (r, w)| r.last_ms + 1000 > now || w.last_ms + 1000 > now);
        }
        let (r, w) = shard.entry(partition).or_insert_with(|| {
            (
                Bucket::new(PARTITION_READ_UNITS, now),
                Bucket::new(PARTITION_WRITE_UNITS, now),
            )
        });
        let (bucket, rate) = match ask.direction {
            Direction::Read => (r, PARTITION_READ_UNITS),
            Direction::Write => (w, PARTITION_WRITE_UNITS),
        };
        bucket.refill(now, rate, 1.0);
        (!bucket.available(min)).then_some((None, Limit::KeyRange))
    }

    /// Pays what a request consumed: `table` units from the table's bucket (and the
    /// partition's), each global index's units from its own.
    pub fn pay(
        &self,
        d: &TableDescriptor,
        direction: Direction,
        consumed: &super::Consumed,
        partition: Option<u64>,
        now: u64,
    ) {
        let table_units = consumed.table + consumed.local.values().sum::<f64>();
        let provisioned = d.billing_mode == BillingMode::Provisioned;
        {
            let mut b = self.buckets.lock();
            let b = &mut *b;
            if provisioned {
                let slot = match direction {
                    Direction::Read => &mut b.read,
                    Direction::Write => &mut b.write,
                };
                if table_units > 0.0 {
                    if let Some(bucket) = slot {
                        bucket.tokens -= table_units;
                    }
                }
                let map = match direction {
                    Direction::Read => &mut b.index_read,
                    Direction::Write => &mut b.index_write,
                };
                for (name, units) in &consumed.global {
                    if let Some(bucket) = map.get_mut(name) {
                        bucket.tokens -= units;
                    }
                }
            } else {
                let od = match direction {
                    Direction::Read => &mut b.on_demand_read,
                    Direction::Write => &mut b.on_demand_write,
                };
                if table_units > 0.0 {
                    od.roll(now);
                    od.pay(table_units);
                }
                let map = match direction {
                    Direction::Read => &mut b.index_on_demand_read,
                    Direction::Write => &mut b.index_on_demand_write,
                };
                for (name, units) in &consumed.global {
                    let od = map.entry(name.clone()).or_default();
                    od.roll(now);
                    od.pay(*units);
                }
            }
        }
        if let Some(partition) = partition {
            let mut shard = self.partitions[partition as usize % PARTITION_SHARDS].lock();
            if let Some((r, w)) = shard.get_mut(&partition) {
                match direction {
                    Direction::Read => r.tokens -= table_units,
                    Direction::Write => w.tokens -= table_units,
                }
            }
        }
    }
}

/// A positive `OnDemandThroughput` maximum (-1 or absent: none).
fn positive(max: Option<i64>) -> Option<f64> {
    max.filter(|m| *m > 0).map(|m| m as f64)
}

/// Why a request was throttled (the `LimitType` of DynamoDB's throttling reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Provisioned,
    KeyRange,
    Account,
    MaxOnDemand,
}

impl Limit {
    fn word(self) -> &'static str {
        match self {
            Limit::Provisioned => "ProvisionedThroughputExceeded",
            Limit::KeyRange => "KeyRangeThroughputExceeded",
            Limit::Account => "AccountLimitExceeded",
            Limit::MaxOnDemand => "MaxOnDemandThroughputExceeded",
        }
    }
}

/// The error DynamoDB answers a throttled request with: ProvisionedThroughputExceeded for a
/// provisioned table (its table or index message), ThrottlingException for an on-demand one.
fn throttling_error(
    d: &TableDescriptor,
    table_arn: &str,
    direction: Direction,
    index: Option<String>,
    limit: Limit,
) -> Error {
    let (kind, resource) = match &index {
        Some(name) => ("Index", format!("{table_arn}/index/{name}")),
        None => ("Table", table_arn.to_owned()),
    };
    let reasons = vec![ThrottlingReason {
        reason: format!("{kind}{}{}", direction.word(), limit.word()),
        resource,
    }];
    match (d.billing_mode, limit) {
        (BillingMode::Provisioned, _) => Error::ProvisionedThroughputExceeded {
            message: if index.is_some() {
                INDEX_EXCEEDED
            } else {
                TABLE_EXCEEDED
            }
            .to_owned(),
            reasons,
        },
        (BillingMode::PayPerRequest, Limit::MaxOnDemand) => Error::Throttling {
            message: MAX_ON_DEMAND_EXCEEDED.to_owned(),
            reasons,
        },
        (BillingMode::PayPerRequest, _) => Error::Throttling {
            message: ON_DEMAND_EXCEEDED.to_owned(),
            reasons,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate_up_to_its_burst() {
        let mut b = Bucket::new(10.0, 0);
        b.tokens -= 10.0;
        assert!(!b.available(1.0));
        b.refill(100, 10.0, BURST_SECONDS);
        assert!((b.tokens - 1.0).abs() < 1e-9);
        b.refill(1_000_000, 10.0, BURST_SECONDS);
        assert_eq!(b.tokens, 3000.0);
    }

    #[test]
    fn an_on_demand_peak_raises_the_ceiling_after_thirty_minutes() {
        let mut od = OnDemand::default();
        od.roll(0);
        assert_eq!(od.ceiling(ON_DEMAND_INITIAL_WRITE, None), 4000.0);
        od.pay(3500.0);
        od.roll(1000);
        assert_eq!(od.ceiling(ON_DEMAND_INITIAL_WRITE, None), 4000.0);
        od.roll(ON_DEMAND_PEAK_SETTLE_MS);
        assert_eq!(od.ceiling(ON_DEMAND_INITIAL_WRITE, None), 7000.0);
        assert_eq!(od.ceiling(ON_DEMAND_INITIAL_WRITE, Some(100.0)), 100.0);
    }
}
