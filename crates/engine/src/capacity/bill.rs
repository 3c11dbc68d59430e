//! The bill: what the traffic served so far would have cost on DynamoDB.
//!
//! Every table (deleted ones too: a test suite creates and drops its tables) keeps a
//! [`Meter`]; [`Database::bill`] turns the meters into a [`BillReport`] priced with
//! [`Prices`]:
//! - on-demand tables pay per request unit consumed (transactional units are already counted
//!   double by capacity accounting);
//! - provisioned tables pay per provisioned unit-hour, for the hours the table existed while
//!   the server ran (with the capacity it has now), and the report also shows what the same
//!   consumption would cost on demand;
//! - stream reads pay per GetRecords call (one stream read request unit each);
//! - storage pays per GB-month of the table's current size for the time the server ran.
//!
//! Free tiers are left out: the report is the list price of the traffic. On a store shared by
//! several nodes the report is the cluster's: every node's usage summed ([`cluster`](super::cluster)).

use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;

use super::cluster::TableUsage;
use super::meter::{Meter, Minute, Totals};
use super::throttle::Throttle;
use crate::catalog::{BillingMode, Table, TableDescriptor};
use crate::index::IndexKind;
use crate::Database;

/// Hours in a month as AWS prices them (GB-months, unit-hours).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Prices in US dollars. The defaults are DynamoDB's us-east-1 list prices as published on
/// its pricing pages (aws.amazon.com/dynamodb/pricing, on-demand and provisioned), in force
/// since the on-demand price cut of 2024-11-01 and as recorded on 2026-12-06.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Prices {
    /// Per million write request units, Standard table class.
    pub write_request_per_million: f64,
    /// Per million read request units, Standard.
    pub read_request_per_million: f64,
    /// Per million write request units, Standard-Infrequent Access.
    pub ia_write_request_per_million: f64,
    /// Per million read request units, Standard-IA.
    pub ia_read_request_per_million: f64,
    /// Per WCU-hour provisioned, Standard.
    pub wcu_hour: f64,
    /// Per RCU-hour provisioned, Standard.
    pub rcu_hour: f64,
    /// Per WCU-hour provisioned, Standard-IA.
    pub ia_wcu_hour: f64,
    /// Per RCU-hour provisioned, Standard-IA.
    pub ia_rcu_hour: f64,
    /// Per GB-month stored, Standard.
    pub storage_gb_month: f64,
    /// Per GB-month stored, Standard-IA.
    pub ia_storage_gb_month: f64,
    /// Per 100,000 stream read request units.
    pub stream_reads_per_100k: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            write_request_per_million: 0.625,
            read_request_per_million: 0.125,
            ia_write_request_per_million: 0.78,
            ia_read_request_per_million: 0.155,
            wcu_hour: 0.00065,
            rcu_hour: 0.00013,
            ia_wcu_hour: 0.00081,
            ia_rcu_hour: 0.00016,
            storage_gb_month: 0.25,
            ia_storage_gb_month: 0.10,
            stream_reads_per_100k: 0.02,
        }
    }
}

/// The capacity state of one table: its meter (always) and its throttle (when on).
#[derive(Debug)]
pub struct TableCapacity {
    pub meter: Meter,
    pub throttle: Throttle,
    /// The table's request metrics (`crate::metrics`).
    pub metrics: Arc<crate::metrics::TableMetrics>,
    /// Handles on `metrics` for requests to hold (`crate::metrics::TouchedTable`).
    pub(crate) metric_handles: crate::metrics::MetricsHandles,
    /// The table's ARN, for throttling reasons.
    pub arn: String,
    /// The table as last seen (kept for the bill after the table is deleted).
    last_seen: Mutex<Arc<TableDescriptor>>,
    /// When the meter started, ms.
    started_ms: u64,
}

/// Every table's capacity state, deleted tables' too.
#[derive(Debug)]
pub struct Registry {
    tables: Mutex<Vec<Arc<TableCapacity>>>,
    /// This process's key among the usage records of nodes sharing a store
    /// ([`cluster`](super::cluster)): random, so a restarted node never overwrites the record
    /// of its previous run.
    node: u64,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            tables: Mutex::default(),
            node: random_node_key(),
        }
    }
}

/// A key unique to this process with overwhelming probability: the clock's nanoseconds, the
/// process id and an address of this process, hashed.
fn random_node_key() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

impl Registry {
    /// The capacity state of `table`, created on first use.
    pub(crate) fn of<'a>(
        &self,
        table: &'a Table,
        account: &str,
        now: impl FnOnce() -> u64,
    ) -> &'a Arc<TableCapacity> {
        // `now` is read only when the state is created: every request asks for it.
        table.capacity.get_or_init(|| {
            let now = now();
            let d = table.descriptor();
            let metrics = Arc::new(crate::metrics::TableMetrics::new(&d.name));
            let capacity = Arc::new(TableCapacity {
                meter: Meter::default(),
                throttle: Throttle::default(),
                metric_handles: crate::metrics::MetricsHandles::new(&metrics),
                metrics,
                arn: format!("arn:aws:dynamodb:{}:{account}:table/{}", d.region, d.name),
                started_ms: now.max(d.created_at_ms),
                last_seen: Mutex::new(d),
            });
            self.tables.lock().push(capacity.clone());
            capacity
        })
    }
}

impl Registry {
    /// Every table's capacity state, in order of first use.
    pub(crate) fn all(&self) -> Vec<Arc<TableCapacity>> {
        self.tables.lock().clone()
    }

    /// This process's usage-record key.
    pub(crate) fn node(&self) -> u64 {
        self.node
    }

    /// What this node metered, per table in order of first use, at `now_ms`.
    pub(crate) fn usage(&self, now_ms: u64) -> Vec<TableUsage> {
        self.all()
            .iter()
            .map(|capacity| TableUsage {
                descriptor: TableDescriptor::clone(&capacity.descriptor()),
                started_ms: capacity.started_ms,
                totals: capacity.meter.table.totals(),
                indexes: capacity.meter.index_totals(),
                minutes: capacity.meter.minutes(now_ms),
            })
            .collect()
    }
}

impl TableCapacity {
    /// The table as last seen (refreshed by [`Database::refresh_capacity`]).
    pub fn descriptor(&self) -> Arc<TableDescriptor> {
        self.last_seen.lock().clone()
    }
}

/// One table's (or index's) line of the bill.
#[derive(Debug, Clone, Serialize)]
pub struct TableBill {
    pub region: String,
    pub table_name: String,
    /// `None` for the table itself, else the index's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    pub billing_mode: &'static str,
    pub table_class: String,
    /// Whether the table still exists.
    pub deleted: bool,
    /// Consumption since the server started (or the table was created).
    #[serde(flatten)]
    pub totals: Totals,
    /// Current size in bytes (0 for a deleted table).
    pub size_bytes: i64,
    /// What the consumption costs in the table's billing mode, US dollars.
    pub request_cost: f64,
    /// What the consumption would cost on demand.
    pub on_demand_cost: f64,
    /// Provisioned capacity for the hours metered (provisioned tables and their indexes).
    pub provisioned_cost: f64,
    pub storage_cost: f64,
    pub stream_cost: f64,
    /// The sum of the four costs above that apply.
    pub cost: f64,
    /// Per-minute consumption, oldest first (tables only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub minutes: Vec<Minute>,
}

/// The whole bill.
#[derive(Debug, Clone, Serialize)]
pub struct BillReport {
    /// When the report was made, seconds since the epoch.
    pub now: f64,
    pub prices: Prices,
    /// Tables and their indexes, in order of creation.
    pub tables: Vec<TableBill>,
    /// Totals over everything.
    pub total: Totals,
    pub total_cost: f64,
}

impl Database {
    /// The capacity state of `table` (meter and throttle).
    pub(crate) fn table_capacity<'a>(&self, table: &'a Table) -> &'a Arc<TableCapacity> {
        self.capacity
            .of(table, &self.config.account_id, || self.clock.now_millis())
    }

    /// Gives every live table a capacity state, so idle ones appear on the bill (and pay for
    /// storage) and in the metrics, and records each one's current descriptor.
    pub(crate) fn refresh_capacity(&self) {
        for table in self.catalog.all() {
            let capacity = self.table_capacity(&table);
            *capacity.last_seen.lock() = table.descriptor();
        }
    }

    /// The bill so far, priced with the configured prices.
    ///
    /// # Errors
    /// Storage failures (sizes of tables).
    pub fn bill(&self) -> crate::Result<BillReport> {
        let now = self.clock.now_millis();
        self.refresh_capacity();
        let prices = &self.config.prices;
        let mut lines = Vec::new();
        let mut total = Totals::default();
        let mut total_cost = 0.0;
        let mut usage = self.capacity.usage(now);
        if self.store.shared() {
            usage = super::cluster::cluster_usage(self.store.as_ref(), &self.capacity, usage, now)?;
        }
        for table in usage {
            let d = &table.descriptor;
            let live = self
                .catalog
                .get(d.account.as_deref(), &d.region, &d.name)
                .filter(|t| t.descriptor().id == d.id);
            let size = match &live {
                Some(t) => crate::catalog::table_stats(self.store.as_ref(), &t.descriptor())?.1,
                None => 0,
            };
            let hours = now.saturating_sub(table.started_ms) as f64 / 3_600_000.0;
            let totals = table.totals;
            let mut line = price_line(
                prices,
                d,
                None,
                totals,
                (d.read_capacity, d.write_capacity),
                hours,
            );
            line.deleted = live.is_none();
            line.size_bytes = size;
            let ia = d.table_class == "STANDARD_INFREQUENT_ACCESS";
            let gb = size as f64 / (1024.0 * 1024.0 * 1024.0);
            line.storage_cost = gb
                * hours
                * if ia {
                    prices.ia_storage_gb_month
                } else {
                    prices.storage_gb_month
                }
                / HOURS_PER_MONTH;
            line.stream_cost =
                totals.stream_read_requests as f64 * prices.stream_reads_per_100k / 100_000.0;
            line.cost =
                line.request_cost + line.provisioned_cost + line.storage_cost + line.stream_cost;
            line.minutes = table.minutes;
            let indexes = table.indexes;
            total.add(&totals);
            total_cost += line.cost;
            lines.push(line);
            for index in &d.indexes {
                let totals = indexes.get(&index.name).copied().unwrap_or_default();
                // Local indexes share the table's throughput: their units are on the table's
                // line already and cost nothing more.
                if index.kind == IndexKind::Local {
                    continue;
                }
                let mut line = price_line(
                    prices,
                    d,
                    Some(&index.name),
                    totals,
                    (index.read_capacity, index.write_capacity),
                    hours,
                );
                line.deleted = live.is_none();
                line.cost = line.request_cost + line.provisioned_cost;
                total.add(&totals);
                total_cost += line.cost;
                lines.push(line);
            }
        }
        Ok(BillReport {
            now: crate::clock::epoch_seconds(now),
            prices: prices.clone(),
            tables: lines,
            total,
            total_cost,
        })
    }
}

/// The request and provisioned costs of one table or global index.
fn price_line(
    prices: &Prices,
    d: &TableDescriptor,
    index: Option<&str>,
    totals: Totals,
    provisioned: (i64, i64),
    hours: f64,
) -> TableBill {
    let ia = d.table_class == "STANDARD_INFREQUENT_ACCESS";
    let (rru, wru, rcu_h, wcu_h) = if ia {
        (
            prices.ia_read_request_per_million,
            prices.ia_write_request_per_million,
            prices.ia_rcu_hour,
            prices.ia_wcu_hour,
        )
    } else {
        (
            prices.read_request_per_million,
            prices.write_request_per_million,
            prices.rcu_hour,
            prices.wcu_hour,
        )
    };
    let on_demand_cost = (totals.read_units * rru + totals.write_units * wru) / 1_000_000.0;
    let (request_cost, provisioned_cost) = match d.billing_mode {
        BillingMode::PayPerRequest => (on_demand_cost, 0.0),
        BillingMode::Provisioned => (
            0.0,
            hours * (provisioned.0 as f64 * rcu_h + provisioned.1 as f64 * wcu_h),
        ),
    };
    TableBill {
        region: d.region.clone(),
        table_name: d.name.clone(),
        index_name: index.map(str::to_owned),
        billing_mode: d.billing_mode.as_str(),
        table_class: d.table_class.clone(),
        deleted: false,
        totals,
        size_bytes: 0,
        request_cost,
        on_demand_cost,
        provisioned_cost,
        storage_cost: 0.0,
        stream_cost: 0.0,
        cost: 0.0,
        minutes: Vec::new(),
    }
}
