//! The binderdb database engine: DynamoDB semantics over the storage contract.
//!
//! [`Database`] holds the catalog of tables and a [`Store`]; each DynamoDB operation is one
//! method, implemented in its own file under `ops/` with the same shape: semantic validation
//! (key schema, attribute values, item size) before touching storage, then execution, then the
//! response. Request *shape* and request-level constraints (lengths, enums, ranges) are checked
//! by `binderdb_server` before a request gets here; the engine only re-checks what it must to
//! stay safe when embedded without the server.
//!
//! Must not depend on: HTTP, tokio, or any concrete storage engine. Methods are synchronous and
//! may block on storage (a durable commit waits for its fsync); async callers run them on
//! blocking threads.

pub mod api;
pub mod backup;
pub mod capacity;
pub mod catalog;
pub mod clock;
mod conditions;
pub mod error;
mod expressions;
pub mod index;
pub mod keys;
pub mod legacy;
mod ops;
pub mod resource;
pub mod stream;
pub mod ttl;
mod txn;

use std::sync::Arc;

use binderdb_storage::Store;

use crate::catalog::Catalog;
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::error::{Error, Result};
use crate::index::backfill::{IndexJob, Workers};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The account id in ARNs (DynamoDB Local uses 000000000000 too).
    pub account_id: String,
    /// How long a new table stays `CREATING` (and an updated one `UPDATING`), in milliseconds.
    pub create_delay_ms: u64,
    /// The largest item collection (a partition key's items plus their local secondary index
    /// entries) of a table with local indexes: DynamoDB's 10 GB. Settable so tests can reach it.
    pub item_collection_limit_bytes: u64,
    /// Most table items an online index backfill reads per second; 0 for no limit. A limit
    /// leaves more of the machine to foreground requests while an index is built.
    pub backfill_items_per_second: u64,
    /// Shards per generation of a new stream (each owns an equal range of partition hashes).
    pub stream_shards: u16,
    /// How long a generation of stream shards stays open before child shards succeed it, ms.
    pub stream_shard_rotation_ms: u64,
    /// How long stream records are kept, ms (DynamoDB: 24 hours).
    pub stream_retention_ms: u64,
    /// How often the TTL sweeper looks for expired items, ms.
    pub ttl_sweep_interval_ms: u64,
    /// Most expired items the sweeper deletes per table per pass.
    pub ttl_sweep_batch: usize,
    /// Allow more than one UpdateTimeToLive per table per hour (DynamoDB refuses it); for
    /// local use.
    pub ttl_relax_change_limit: bool,
}

/// DynamoDB's item collection size limit, 10 GB.
pub const ITEM_COLLECTION_LIMIT_BYTES: u64 = 10 * 1024 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            account_id: "000000000000".to_owned(),
            create_delay_ms: 0,
            item_collection_limit_bytes: ITEM_COLLECTION_LIMIT_BYTES,
            backfill_items_per_second: 0,
            stream_shards: 4,
            stream_shard_rotation_ms: 4 * 60 * 60 * 1000,
            stream_retention_ms: 24 * 60 * 60 * 1000,
            ttl_sweep_interval_ms: 1000,
            ttl_sweep_batch: 1000,
            ttl_relax_change_limit: false,
        }
    }
}

/// Who is asking: the region a request is addressed to (from its SigV4 credential scope).
/// Tables live in one namespace per region.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// AWS region, e.g. `us-east-1`.
    pub region: String,
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext {
            region: "us-east-1".to_owned(),
        }
    }
}

/// A DynamoDB-compatible database over one [`Store`].
#[derive(Debug)]
pub struct Database {
    store: Arc<dyn Store>,
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    config: Config,
    /// Background work (index backfills and deletions); stopped and joined on drop.
    workers: Workers,
    /// Held items and idempotency tokens of transactions.
    txn: txn::Transactions,
    /// Sequence numbers of stream records.
    sequencers: stream::Sequencers,
    /// How far the background trimmer got in each stream.
    trim_progress: Arc<stream::trim::TrimProgress>,
}

impl Database {
    /// Opens the database over `store`, restoring every table it holds and resuming the index
    /// backfills and deletions a previous run left unfinished.
    ///
    /// # Errors
    /// Storage failures or an undecodable catalog.
    pub fn open(store: Arc<dyn Store>, config: Config, clock: Arc<dyn Clock>) -> Result<Self> {
        let catalog = Arc::new(Catalog::open(store.as_ref(), &config.account_id)?);
        let db = Database {
            store,
            catalog,
            clock,
            config,
            workers: Workers::default(),
            txn: txn::Transactions::default(),
            sequencers: stream::Sequencers::default(),
            trim_progress: Arc::default(),
        };
        {
            let (store, catalog, clock, progress) = (
                db.store.clone(),
                db.catalog.clone(),
                db.clock.clone(),
                db.trim_progress.clone(),
            );
            let retention = db.config.stream_retention_ms;
            db.workers.spawn("stream-trim", move |stop| {
                stream::trim::run(stop, || {
                    stream::trim::trim_pass(
                        store.as_ref(),
                        &catalog,
                        &progress,
                        clock.now_millis(),
                        retention,
                    )
                });
            });
        }
        txn::tokens::purge_expired(db.store.as_ref(), db.clock.now_millis())?;
        let tables = db.catalog.all();
        if !tables.is_empty() {
            // Tables whose statistics the store does not know yet (written by a version of
            // binderdb without counters) are counted once, off the request path. Only tables
            // that exist now can be such: new ones start with known statistics.
            let (store, catalog) = (db.store.clone(), db.catalog.clone());
            db.workers.spawn("stats-recount", move |stop| {
                index::backfill::log_failure(
                    "statistics recount",
                    catalog::recount_unknown(store.as_ref(), &catalog, &tables, stop),
                );
            });
        }
        for table in db.catalog.all() {
            let d = table.descriptor();
            for index in &d.indexes {
                if index.state != index::BuildState::Built {
                    db.start_index_work(&d, index);
                }
            }
        }
        Ok(db)
    }

    /// The database's clock, in milliseconds since the Unix epoch: the server checks request
    /// signatures' dates against the same (injectable) time the engine uses.
    pub fn now_millis(&self) -> u64 {
        self.clock.now_millis()
    }

    /// Starts the background work an index in `Backfilling` or `Deleting` state needs.
    fn start_index_work(&self, table: &catalog::TableDescriptor, index: &index::IndexDescriptor) {
        let job = IndexJob {
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            clock: self.clock.clone(),
            region: table.region.clone(),
            table_name: table.name.clone(),
            table_id: table.id,
            index_id: index.id,
            items_per_second: self.config.backfill_items_per_second,
        };
        match index.state {
            index::BuildState::Backfilling => self.workers.spawn("index-backfill", move |stop| {
                index::backfill::log_failure("index backfill", job.backfill(stop));
            }),
            index::BuildState::Deleting => self.workers.spawn("index-delete", move |stop| {
                index::backfill::log_failure("index deletion", job.reclaim(stop));
            }),
            index::BuildState::Built => {}
        }
    }

    /// Deletes every stream record older than the retention now (the background trimmer does
    /// this every second); returns how many it deleted.
    ///
    /// # Errors
    /// Storage failures.
    pub fn trim_streams(&self) -> Result<usize> {
        stream::trim::trim_pass(
            self.store.as_ref(),
            &self.catalog,
            &self.trim_progress,
            self.clock.now_millis(),
            self.config.stream_retention_ms,
        )
    }

    /// The engine settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of tables across all regions.
    pub fn table_count(&self) -> usize {
        self.catalog.len()
    }

    /// Resolves once every write committed so far (by any caller) is durable. Operations
    /// return as soon as their writes are visible; whoever acknowledges a write to a client
    /// must first await (or [`binderdb_storage::Durable::wait`] for) this, taken after the
    /// operation returned.
    pub fn durable(&self) -> binderdb_storage::Durable<'_> {
        binderdb_storage::durable(self.store.as_ref())
    }

    /// Makes every acknowledged write durable (called on shutdown).
    ///
    /// # Errors
    /// Storage failures.
    pub fn flush(&self) -> Result<()> {
        Ok(self.store.flush()?)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.workers.shutdown();
    }
}
