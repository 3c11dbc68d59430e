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
pub mod consistency;
mod deleting;
pub mod disk_usage;
pub mod error;
pub mod exchange;
mod expressions;
pub mod faults;
pub mod index;
pub mod insights;
mod jobs;
pub mod keys;
pub mod kinesis;
pub mod legacy;
pub mod metrics;
mod ops;
mod partiql;
pub mod pitr;
mod policy_document;
pub mod resource;
pub mod sse;
pub mod stream;
pub mod ttl;
mod txn;
pub mod warm;

use std::sync::Arc;

use binderdb_storage::Store;

use crate::catalog::{Catalog, TableDescriptor};
pub use crate::clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use crate::error::{Error, Result};
use crate::index::backfill::Workers;
pub use crate::ops::time_to_live::{DescribeTimeToLiveInput, UpdateTimeToLiveInput};

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
    /// Most item-collection sizes a table keeps in memory (`index::collections`): beyond it
    /// the least recently written small collections are forgotten and walked again from the
    /// store when next written.
    pub item_collection_cache: usize,
    /// Most table items an online index backfill reads per second; 0 for no limit. A limit
    /// leaves more of the machine to foreground requests while an index is built.
    pub backfill_items_per_second: u64,
    /// Shards per generation of a new stream (each owns an equal range of partition hashes).
    pub stream_shards: u16,
    /// How long a generation of stream shards stays open before child shards succeed it, ms.
    pub stream_shard_rotation_ms: u64,
    /// Most records in one stream shard before a child shard succeeds it (0: no limit).
    pub stream_shard_max_records: u64,
    /// Most bytes of records in one stream shard before a child shard succeeds it (0: no
    /// limit).
    pub stream_shard_max_bytes: u64,
    /// How long stream records are kept, ms (DynamoDB: 24 hours).
    pub stream_retention_ms: u64,
    /// How often the TTL sweeper looks for expired items, ms.
    pub ttl_sweep_interval_ms: u64,
    /// Most expired items the sweeper deletes per table per pass.
    pub ttl_sweep_batch: usize,
    /// Most expired items the sweeper deletes per second (0: no limit); keeps a mass expiry
    /// from taking the CPU foreground requests need.
    pub ttl_sweep_items_per_second: u64,
    /// Allow more than one UpdateTimeToLive per table per hour (DynamoDB refuses it); for
    /// local use.
    pub ttl_relax_change_limit: bool,
    /// Throttle every table by its capacity (`capacity::throttle`); a table's
    /// `binderdb:throttling` tag overrides it. Off by default.
    pub throttling: bool,
    /// Prices of the bill.
    pub prices: capacity::bill::Prices,
    /// How stale an eventually consistent read may be, ms (0: never; `consistency`).
    pub consistency_lag_ms: u64,
    /// Whether that staleness is the whole lag or drawn within it.
    pub consistency_lag_mode: consistency::LagMode,
    /// Seed of every random choice made for realism (lag draws).
    pub seed: u64,
    /// A test hook, 0 in production: exports, imports and an index's final recount pause this
    /// many microseconds per item, so tests of several nodes can kill one mid-job.
    pub job_item_delay_us: u64,
    /// Where S3 buckets live for ExportTableToPointInTime and ImportTable: bucket `B` is the
    /// directory `<s3_dir>/B`. With neither this nor `object_store`, exports and imports are
    /// refused.
    pub s3_dir: Option<std::path::PathBuf>,
    /// Buckets of an S3-compatible server (`--s3-endpoint`), used instead of `s3_dir` when
    /// set (the server binary builds it with `binderdb-s3`).
    pub object_store: Option<Arc<dyn exchange::objects::ObjectStore>>,
}

/// Default of [`Config::item_collection_cache`]: about 100 bytes each plus the partition key,
/// so well under a megabyte per table with local indexes.
pub const ITEM_COLLECTION_CACHE: usize = 4096;

/// DynamoDB's item collection size limit, 10 GB.
pub const ITEM_COLLECTION_LIMIT_BYTES: u64 = 10 * 1024 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            account_id: "000000000000".to_owned(),
            create_delay_ms: 0,
            item_collection_limit_bytes: ITEM_COLLECTION_LIMIT_BYTES,
            item_collection_cache: ITEM_COLLECTION_CACHE,
            backfill_items_per_second: 0,
            stream_shards: 4,
            stream_shard_rotation_ms: 4 * 60 * 60 * 1000,
            stream_shard_max_records: 1_000_000,
            stream_shard_max_bytes: 0,
            stream_retention_ms: 24 * 60 * 60 * 1000,
            ttl_sweep_interval_ms: 1000,
            ttl_sweep_batch: 100,
            ttl_sweep_items_per_second: 25_000,
            ttl_relax_change_limit: false,
            throttling: false,
            prices: capacity::bill::Prices::default(),
            consistency_lag_ms: 0,
            consistency_lag_mode: consistency::LagMode::Fixed,
            seed: 0,
            job_item_delay_us: 0,
            s3_dir: None,
            object_store: None,
        }
    }
}

/// Who is asking: the account and the region a request is addressed to (from its SigV4
/// credential scope and the access key that signed it). Tables live in one namespace per
/// (account, region), as in DynamoDB.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// AWS region, e.g. `us-east-1`.
    pub region: String,
    /// The caller's account, or `None` for the server's default account
    /// ([`Config::account_id`]): unsigned requests, and keys without an account of their own.
    pub account: Option<String>,
    /// The table the request touched first, noted by the engine for the server's request
    /// metrics.
    pub touched: metrics::TouchedTable,
}

impl RequestContext {
    /// The caller's account, `None` for the default account.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext {
            region: "us-east-1".to_owned(),
            account: None,
            touched: metrics::TouchedTable::default(),
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
    /// How far each running index backfill has got.
    backfills: Arc<metrics::BackfillProgress>,
    /// The leases of the one-off jobs this node runs (see [`jobs::Starter`]).
    running_jobs: Arc<parking_lot::Mutex<std::collections::HashSet<String>>>,
    /// Held items and idempotency tokens of transactions.
    txn: txn::Transactions,
    /// Sequence numbers of stream records and size successions of their shards.
    sequencers: Arc<stream::Sequencers>,
    /// Where the TTL sweeper's current round stands in each table's expiry index.
    ttl_cursors: parking_lot::Mutex<std::collections::HashMap<binderdb_storage::TableId, Vec<u8>>>,
    /// How far the background trimmer got in each stream.
    trim_progress: Arc<stream::trim::TrimProgress>,
    /// Every table's bill counters and throttling buckets.
    capacity: Arc<capacity::bill::Registry>,
    /// Items as they were before recent writes (eventual consistency on demand).
    history: consistency::History,
    /// Injected faults.
    faults: faults::Faults,
    /// Parsed PartiQL statements by text.
    statements: partiql::StatementCache,
    /// Instants and sequence numbers of point-in-time recovery log entries.
    pitr_clock: Arc<pitr::log::LogClock>,
    /// How far the background pruner got in each point-in-time recovery log.
    pitr_pruned: Arc<parking_lot::Mutex<std::collections::HashMap<binderdb_storage::TableId, u64>>>,
    /// How a copy of the whole data directory is written (set by the binary).
    checkpoint_writer: backup::data_dir::WriterSlot,
    /// Tables deleted less than the create delay ago, still DELETING.
    deleting: deleting::Deleting,
}

impl Database {
    /// Opens the database over `store`, restoring every table it holds and resuming the index
    /// backfills and deletions a previous run left unfinished.
    ///
    /// # Errors
    /// Storage failures or an undecodable catalog.
    pub fn open(store: Arc<dyn Store>, config: Config, clock: Arc<dyn Clock>) -> Result<Self> {
        let catalog = Arc::new(Catalog::open(store.as_ref(), &config.account_id)?);
        if store.shared() {
            // Another node's catalog change (or a reconnection, after which some may have been
            // missed) reloads this node's cache before the other node's operation returns.
            let (weak, catalog) = (Arc::downgrade(&store), catalog.clone());
            store.subscribe(Arc::new(move |topic: Option<&[u8]>| {
                if topic.is_some_and(|t| t != catalog::CATALOG_TOPIC) {
                    return;
                }
                let Some(store) = weak.upgrade() else { return };
                if let Err(e) = catalog.refresh(store.as_ref()) {
                    tracing::error!(error = %e, "reloading the catalog after another node's change");
                }
            }))?;
        }
        let history = consistency::History::new(
            config.consistency_lag_ms,
            config.consistency_lag_mode,
            config.seed,
        );
        let sequencers = Arc::new(stream::Sequencers::new(
            store.clone(),
            stream::ShardLimits {
                max_records: config.stream_shard_max_records,
                max_bytes: config.stream_shard_max_bytes,
            },
        ));
        let node_slot = if store.shared() {
            let slot = jobs::take_node_slot(store.as_ref())?;
            sequencers.set_node(stream::NodeSlot {
                shared: true,
                slot,
                alone: true,
            });
            // A node joining later tells this one (and a watch re-established after a break
            // may have missed that).
            let joined = Arc::downgrade(&sequencers);
            store.subscribe(Arc::new(move |topic: Option<&[u8]>| {
                if topic.is_none_or(|t| t == jobs::NODE_JOINED_TOPIC) {
                    if let Some(sequencers) = joined.upgrade() {
                        sequencers.joined();
                    }
                }
            }))?;
            // The nodes already serving learn of this one before it serves anything (their
            // stream readers must then allow for its writes in flight).
            let others = store.announce(jobs::NODE_JOINED_TOPIC)?;
            if others > 0 {
                sequencers.joined();
            }
            tracing::info!(slot, others, "joined the nodes sharing the store");
            Some(slot)
        } else {
            None
        };
        let clock_now = clock.now_millis();
        let db = Database {
            store,
            catalog,
            clock,
            config,
            workers: Workers::default(),
            backfills: Arc::default(),
            running_jobs: Arc::default(),
            txn: txn::Transactions::default(),
            sequencers,
            trim_progress: Arc::default(),
            capacity: Arc::default(),
            history,
            faults: faults::Faults::default(),
            statements: partiql::StatementCache::default(),
            ttl_cursors: parking_lot::Mutex::default(),
            pitr_clock: Arc::new(pitr::log::LogClock::new(clock_now)),
            pitr_pruned: Arc::default(),
            checkpoint_writer: backup::data_dir::WriterSlot::default(),
            deleting: deleting::Deleting::default(),
        };
        if db.store.shared() {
            capacity::cluster::start(&db)?;
        }
        if let Some(slot) = node_slot {
            let store = db.store.clone();
            db.workers.spawn("node-slot", move |stop| {
                let name = jobs::node_slot_lease(slot);
                let mut since = std::time::Duration::ZERO;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    since += std::time::Duration::from_millis(50);
                    if since < jobs::NODE_SLOT_LEASE / 3 {
                        continue;
                    }
                    since = std::time::Duration::ZERO;
                    match store.lease(&name, jobs::NODE_SLOT_LEASE) {
                        Ok(true) => {}
                        Ok(false) => tracing::error!(
                            slot,
                            "another node took this node's slot (this node stalled past its \
                             lease): stream records of both may collide; restart this node"
                        ),
                        Err(e) => tracing::warn!(error = %e, "renewing this node's slot"),
                    }
                }
                let _ = store.release_lease(&name);
            });
        }
        {
            let (store, catalog, clock, pruned) = (
                db.store.clone(),
                db.catalog.clone(),
                db.clock.clone(),
                db.pitr_pruned.clone(),
            );
            db.workers.spawn("pitr-prune", move |stop| {
                pitr::log::run_pruner(stop, || {
                    if !jobs::mine(store.as_ref(), "pitr-prune") {
                        return Ok(0);
                    }
                    let now = clock.now_millis();
                    Ok(
                        pitr::log::prune(store.as_ref(), &catalog, &pruned, now, stop)?
                            + backup::expire_deleted_tables(store.as_ref(), &pruned, now, stop)?,
                    )
                });
            });
        }
        {
            let (store, catalog, clock, progress, sequencers) = (
                db.store.clone(),
                db.catalog.clone(),
                db.clock.clone(),
                db.trim_progress.clone(),
                db.sequencers.clone(),
            );
            let retention = db.config.stream_retention_ms;
            db.workers.spawn("stream-trim", move |stop| {
                stream::trim::run(stop, || {
                    if !jobs::mine(store.as_ref(), "stream-trim") {
                        return Ok(0);
                    }
                    stream::trim::trim_pass(
                        store.as_ref(),
                        &catalog,
                        &sequencers,
                        &progress,
                        clock.now_millis(),
                        retention,
                    )
                });
            });
        }
        txn::tokens::purge_expired(db.store.as_ref(), db.clock.now_millis())?;
        // Restores, backups, exports and imports a crash interrupted are cleaned up, on a store
        // of this process only: on a shared store another node may be running them right now,
        // and nothing tells its work from a dead node's (see README, several nodes on one pool).
        // There, exports and imports run under leases instead, and the job adopter below runs
        // a dead node's again (see `exchange::jobs`).
        if !db.store.shared() {
            db.remove_interrupted_restores_and_backups()?;
            // Exports and imports a stop interrupted are failed (an import's table deleted).
            let interrupted = db.job_context().fail_interrupted()?;
            if interrupted > 0 {
                tracing::warn!(
                    interrupted,
                    "failed the exports and imports a stop interrupted"
                );
            }
        }
        let tables = db.catalog.all();
        if !tables.is_empty() {
            // Tables whose statistics the store does not know yet (written by a version of
            // binderdb without counters) are counted once, off the request path. Only tables
            // that exist now can be such: new ones start with known statistics.
            let (store, catalog) = (db.store.clone(), db.catalog.clone());
            db.workers.spawn("stats-recount", move |stop| {
                jobs::exclusively(store.as_ref(), "stats-recount", stop, || {
                    index::backfill::log_failure(
                        "statistics recount",
                        catalog::recount_unknown(store.as_ref(), &catalog, &tables, stop),
                    );
                });
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
        if db.store.shared() {
            // A node that dies mid-job leaves its job to the others (see `jobs::Starter`).
            let starter = db.starter();
            db.workers.spawn("job-adopter", move |stop| {
                let mut since = std::time::Duration::ZERO;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    since += std::time::Duration::from_millis(50);
                    if since < jobs::ADOPT_EVERY {
                        continue;
                    }
                    since = std::time::Duration::ZERO;
                    if let Err(e) = starter.adopt_orphans() {
                        tracing::warn!(error = %e, "looking for background jobs to adopt");
                    }
                }
            });
        }
        // TTL backfills a previous run left unfinished resume where they stopped; records of
        // an enabling that is no longer the table's (or of a deleted table) are dropped.
        for (id, progress) in ttl::backfill::unfinished(db.store.as_ref())? {
            let table = db
                .catalog
                .all()
                .into_iter()
                .map(|t| t.descriptor())
                .find(|d| d.id == id)
                .filter(|d| {
                    d.ttl
                        .as_ref()
                        .is_some_and(|t| t.enabled && t.changed_ms == progress.changed_ms)
                });
            match table {
                Some(d) => db.start_ttl_backfill(&d, progress.after),
                None => {
                    db.store.commit(binderdb_storage::Batch {
                        writes: vec![binderdb_storage::Write::Delete {
                            key: ttl::backfill::progress_key(id),
                        }],
                        guards: Vec::new(),
                    })?;
                }
            }
        }
        Ok(db)
    }

    /// What a background export or import needs of the database.
    fn job_context(&self) -> exchange::jobs::JobContext {
        exchange::jobs::JobContext {
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            clock: self.clock.clone(),
            pitr_clock: self.pitr_clock.clone(),
            stream_retention_ms: self.config.stream_retention_ms,
            object_store: self.config.object_store.clone(),
            s3_dir: self.config.s3_dir.clone(),
            item_delay: std::time::Duration::from_micros(self.config.job_item_delay_us),
        }
    }

    /// Deletes the restored tables a crash left `CREATING` for good, and the backups a crash
    /// interrupted with their partial copies.
    ///
    /// # Errors
    /// Storage failures.
    fn remove_interrupted_restores_and_backups(&self) -> Result<()> {
        // Restores a crash interrupted (tables still `CREATING` for good) are deleted.
        for table in self.catalog.all() {
            let d = table.descriptor();
            if d.active_at_ms == ops::backups::RESTORING && d.restored_from.is_some() {
                tracing::warn!(table = %d.name, "deleting a restored table a crash interrupted");
                self.catalog.remove(
                    self.store.as_ref(),
                    &d,
                    self.clock.now_millis(),
                    self.config.stream_retention_ms,
                )?;
            }
        }
        // Backups a crash interrupted are removed with their partial copies.
        let interrupted = backup::remove_incomplete(self.store.as_ref())?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "removed backups a crash interrupted");
        }
        Ok(())
    }

    /// The database's clock, in milliseconds since the Unix epoch: the server checks request
    /// signatures' dates against the same (injectable) time the engine uses.
    pub fn now_millis(&self) -> u64 {
        self.clock.now_millis()
    }

    /// Starts the background work an index in `Backfilling` or `Deleting` state needs.
    fn start_index_work(&self, table: &catalog::TableDescriptor, index: &index::IndexDescriptor) {
        self.starter().index_work(table, index);
    }

    /// What starts (and adopts) one-off background jobs.
    fn starter(&self) -> jobs::Starter {
        jobs::Starter {
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            clock: self.clock.clone(),
            items_per_second: self.config.backfill_items_per_second,
            backfills: self.backfills.clone(),
            workers: self.workers.clone(),
            running: self.running_jobs.clone(),
            exchange: self.job_context(),
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
            &self.sequencers,
            &self.trim_progress,
            self.clock.now_millis(),
            self.config.stream_retention_ms,
        )
    }

    /// Deletes every point-in-time recovery log entry older than its table's recovery window
    /// now, and expires the system backups of deleted tables whose retention ended (the
    /// background pruner does this every few seconds); returns how many log entries and
    /// backups it deleted.
    ///
    /// # Errors
    /// Storage failures.
    pub fn prune_pitr_logs(&self) -> Result<usize> {
        let now = self.clock.now_millis();
        let stop = std::sync::atomic::AtomicBool::new(false);
        Ok(pitr::log::prune(
            self.store.as_ref(),
            &self.catalog,
            &self.pitr_pruned,
            now,
            &stop,
        )? + backup::expire_deleted_tables(self.store.as_ref(), &self.pitr_pruned, now, &stop)?)
    }

    /// The items of `table` as they were at `at_ms` (ms since the epoch), each visited once as
    /// (partition bytes, sort bytes, encoded item) until `visit` breaks: see
    /// [`pitr::log::items_at`] (a full export or a restore reads the table through this). The
    /// caller checks that `at_ms` is inside the recovery window
    /// ([`pitr::PitrDescriptor::earliest_ms`] to now).
    ///
    /// # Errors
    /// `PointInTimeRecoveryUnavailableException` without point-in-time recovery; storage
    /// failures.
    pub fn pitr_items_at(
        &self,
        table: &catalog::Table,
        at_ms: u64,
        visit: pitr::log::ItemVisitor<'_>,
    ) -> Result<()> {
        pitr::log::items_at(
            self.store.as_ref(),
            &self.pitr_clock,
            self.clock.now_millis(),
            table,
            at_ms,
            visit,
        )
    }

    /// The changes of `table` committed after `from_ms` and at or before `through_ms`, in
    /// commit order, with old and new images: see [`pitr::log::changes`] (an incremental
    /// export reads through this).
    ///
    /// # Errors
    /// `PointInTimeRecoveryUnavailableException` without point-in-time recovery; storage
    /// failures.
    pub fn pitr_changes(
        &self,
        table: &catalog::Table,
        from_ms: u64,
        through_ms: u64,
        visit: &mut dyn FnMut(pitr::log::Change<'_>) -> std::ops::ControlFlow<()>,
    ) -> Result<()> {
        let descriptor = table.descriptor();
        let pitr = descriptor
            .pitr
            .as_ref()
            .ok_or_else(|| pitr::unavailable(&descriptor.name))?;
        // Nothing was logged after the log clock's last instant: the walk ends there.
        let through_ms = through_ms.min(self.pitr_clock.last_ms().max(self.clock.now_millis()));
        pitr::log::changes(self.store.as_ref(), pitr, from_ms, through_ms, visit)
    }

    /// The table `name` of the caller's account, if it exists (for features built on the
    /// point-in-time recovery API, which name tables as the backup operations do).
    pub fn table(&self, ctx: &RequestContext, name: &str) -> Option<Arc<catalog::Table>> {
        self.catalog.get(ctx.account(), &ctx.region, name)
    }

    /// The fault-injection rules (set by the server's `/binderdb/faults` or `--faults`).
    pub fn faults(&self) -> &faults::Faults {
        &self.faults
    }

    /// The engine settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The id of the caller's account (the default account's for `ctx.account == None`).
    pub fn account_id<'a>(&'a self, ctx: &'a RequestContext) -> &'a str {
        ctx.account().unwrap_or(&self.config.account_id)
    }

    /// The parsed PartiQL statement `text`, from the cache ExecuteStatement and its batch and
    /// transaction forms use (so an access check and the execution parse it once).
    ///
    /// # Errors
    /// DynamoDB's ValidationException for a statement that does not parse.
    pub fn parse_statement(&self, text: &str) -> Result<Arc<binderdb_partiql::Parsed>> {
        self.statements.parse(text)
    }

    /// A table's ARN, `arn:aws:dynamodb:<region>:<account>:table/<name>`.
    pub(crate) fn table_arn(&self, d: &TableDescriptor) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            d.region,
            d.account.as_deref().unwrap_or(&self.config.account_id),
            d.name
        )
    }

    /// Whether any table or stream of any account has a resource-based policy (access control
    /// skips its per-request walk while none has).
    pub fn has_resource_policies(&self) -> bool {
        self.catalog.has_policies()
    }

    /// The table's resource-based policy document, or the policy of one of its streams
    /// (`stream_label`), as stored by PutResourcePolicy: what access control evaluates beside
    /// the caller's own policy. `None` when the table (or stream) or the policy does not exist.
    pub fn resource_policy(
        &self,
        ctx: &RequestContext,
        table_name: &str,
        stream_label: Option<&str>,
    ) -> Option<String> {
        let table = self.catalog.get(ctx.account(), &ctx.region, table_name)?;
        let d = table.descriptor();
        match stream_label {
            None => d.resource_policy.as_ref().map(|p| p.document.clone()),
            Some(label) => d
                .streams
                .iter()
                .find(|s| s.label() == label)
                .and_then(|s| s.policy.as_ref())
                .map(|p| p.document.clone()),
        }
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

    /// Whether the store is slowing its writers down now ([`binderdb_storage::Store::pacing_writers`]):
    /// a write may then sleep inside the store.
    pub fn pacing_writers(&self) -> bool {
        self.store.pacing_writers()
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
