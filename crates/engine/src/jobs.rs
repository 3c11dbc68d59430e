//! Background work done by one node at a time when several binderdb nodes share a store.
//!
//! Each kind of background work (TTL sweeping, stream trimming, point-in-time log pruning,
//! statistics recounts, one index's backfill or deletion, one table's TTL backfill) has a named
//! lease in the store ([`Store::lease`]). A periodic pass runs only while its node holds the
//! lease, renewing it each pass ([`mine`]); a one-off job waits for its lease and keeps it
//! renewed until it ends ([`exclusively`]). A node that dies stops renewing, and another node
//! takes the work over once the lease lapsed ([`JOB_LEASE`]), resuming from the progress the
//! work keeps in the store: periodic passes by asking for the lease each pass, one-off jobs
//! (index backfills and deletions, TTL backfills, exports and imports) through
//! [`Starter::adopt_orphans`], which every node runs every [`ADOPT_EVERY`]. (An export or
//! import keeps no progress: it is run again from its start, see `crate::exchange::jobs`.)
//!
//! Correctness never depends on the lease alone: every background write is a guarded commit
//! (a TTL delete re-checks the item's expiry on the version it deletes, trimming and pruning
//! delete only what aged out), so two nodes overlapping briefly around a handover do the same
//! work twice at worst, never twice its effect. On a store of one process ([`Store::shared`]
//! false) every lease is this process's, at no cost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use binderdb_storage::Store;

/// How long a job's lease lasts without renewal: how long a dead node's work waits before
/// another node takes it over.
pub(crate) const JOB_LEASE: Duration = Duration::from_secs(15);

/// Whether this node should run a pass of the periodic work `job` now: it holds (or just took,
/// or renewed) the job's lease. A store failure answers no; the next pass asks again.
pub(crate) fn mine(store: &dyn Store, job: &str) -> bool {
    if !store.shared() {
        return true;
    }
    match store.lease(job, JOB_LEASE) {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(job, error = %e, "asking for a background job's lease failed");
            false
        }
    }
}

/// Runs `work` once this node holds the lease of `job`, renewing it until `work` returns, then
/// releases it. Returns `None` without running `work` if `stop` was raised first.
pub(crate) fn exclusively<T>(
    store: &dyn Store,
    job: &str,
    stop: &AtomicBool,
    work: impl FnOnce() -> T,
) -> Option<T> {
    if !store.shared() {
        return Some(work());
    }
    while !mine(store, job) {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    /// Stops the renewals when the work ends, even by a panic (the scope joins the renewer).
    struct Done<'a>(&'a AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut since = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                since += Duration::from_millis(50);
                if since >= JOB_LEASE / 3 {
                    since = Duration::ZERO;
                    if !mine(store, job) {
                        tracing::warn!(job, "a background job's lease was lost while it ran");
                    }
                }
            }
        });
        let _done = Done(&done);
        work()
    });
    if let Err(e) = store.release_lease(job) {
        tracing::warn!(job, error = %e, "releasing a background job's lease failed");
    }
    Some(result)
}

/// The topic a node announces when it joins the nodes sharing a store.
pub(crate) const NODE_JOINED_TOPIC: &[u8] = b"node-joined";

/// How long a node's slot lease lasts without renewal.
pub(crate) const NODE_SLOT_LEASE: Duration = Duration::from_secs(30);

/// The name of the lease of node slot `slot`.
pub(crate) fn node_slot_lease(slot: u64) -> String {
    format!("node-{slot}")
}

/// Takes the first free node slot of the store (a lease each, renewed by the caller every
/// [`NODE_SLOT_LEASE`]` / 3`): what tells this node's stream sequence numbers apart from the
/// other nodes' (see `stream::shards::NodeSlot`).
///
/// # Errors
/// Storage failures; `Internal` when every slot is taken.
pub(crate) fn take_node_slot(store: &dyn Store) -> crate::Result<u64> {
    for slot in 0..crate::stream::NODE_SLOTS {
        if store.lease(&node_slot_lease(slot), NODE_SLOT_LEASE)? {
            return Ok(slot);
        }
    }
    Err(crate::Error::Internal(format!(
        "{} binderdb nodes already share this store; no more can join",
        crate::stream::NODE_SLOTS
    )))
}

/// How often a node looks for one-off work (an index backfill or deletion, a TTL backfill) that
/// no live node runs: a node that died mid-job leaves it, and another node adopts it once the
/// job's lease lapsed (at most [`JOB_LEASE`] plus this after the death).
pub(crate) const ADOPT_EVERY: Duration = Duration::from_secs(2);

/// Starts the one-off background jobs of indexes and TTL enablings, each under its lease, and
/// adopts the ones a dead node left ([`Starter::adopt_orphans`]).
///
/// A job runs where it was asked for (the node that took the UpdateTable or
/// UpdateTimeToLive), or where the store was opened while it was unfinished. On a shared store
/// the other nodes know of it from the catalog (an index `CREATING` or `DELETING`) or from its
/// progress record (a TTL backfill), and every [`ADOPT_EVERY`] each of them tries the job's
/// lease: a live runner renews it, so only a dead runner's job is taken over, and it resumes
/// from the progress the job keeps in the store.
#[derive(Debug, Clone)]
pub(crate) struct Starter {
    pub(crate) store: std::sync::Arc<dyn Store>,
    pub(crate) catalog: std::sync::Arc<crate::catalog::Catalog>,
    pub(crate) clock: std::sync::Arc<dyn crate::clock::Clock>,
    pub(crate) items_per_second: u64,
    pub(crate) backfills: std::sync::Arc<crate::metrics::BackfillProgress>,
    pub(crate) workers: crate::index::backfill::Workers,
    /// The jobs this node runs (or waits to run), by lease and worker name.
    pub(crate) running: std::sync::Arc<parking_lot::Mutex<std::collections::HashSet<String>>>,
    /// What exports and imports need.
    pub(crate) exchange: crate::exchange::jobs::JobContext,
}

/// The worker name of a TTL backfill.
const TTL_JOB: &str = "ttl-backfill";
/// The worker names of an export and an import.
const EXPORT_JOB: &str = "export";
const IMPORT_JOB: &str = "import";

/// Removes a job from [`Starter::running`] when its worker ends.
struct Running {
    running: std::sync::Arc<parking_lot::Mutex<std::collections::HashSet<String>>>,
    job: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.running.lock().remove(&self.job);
    }
}

impl Starter {
    /// Runs `work` on a worker under `lease` (see [`exclusively`]), unless this node already
    /// runs that job.
    ///
    /// Jobs are told apart by lease and `name`: an index's deletion shares its backfill's
    /// lease, so a deletion asked for during the backfill waits for the backfill to stop.
    fn spawn_leased(
        &self,
        name: &str,
        lease: String,
        work: impl FnOnce(&AtomicBool) + Send + 'static,
    ) {
        let job = Self::job_key(&lease, name);
        if !self.running.lock().insert(job.clone()) {
            return;
        }
        let running = Running {
            running: self.running.clone(),
            job,
        };
        let store = self.store.clone();
        self.workers.spawn(name, move |stop| {
            // Moved in: dropped (the job forgotten) when the worker ends.
            let _running = running;
            exclusively(store.as_ref(), &lease, stop, || work(stop));
        });
    }

    /// The name of a job in [`Starter::running`].
    fn job_key(lease: &str, name: &str) -> String {
        format!("{lease}/{name}")
    }

    /// The lease of index `id`'s backfill or deletion.
    fn index_lease(id: binderdb_storage::TableId) -> String {
        format!("index-{id}")
    }

    /// The lease of table `id`'s TTL backfill.
    fn ttl_lease(id: binderdb_storage::TableId) -> String {
        format!("ttl-backfill-{id}")
    }

    /// Starts the background work an index in `Backfilling` or `Deleting` state needs.
    pub(crate) fn index_work(
        &self,
        table: &crate::catalog::TableDescriptor,
        index: &crate::index::IndexDescriptor,
    ) {
        use crate::index::backfill::{log_failure, IndexJob};
        use crate::index::BuildState;
        let Some(name) = Self::index_job_name(&index.state) else {
            return;
        };
        let lease = Self::index_lease(index.id);
        if self.running.lock().contains(&Self::job_key(&lease, name)) {
            return;
        }
        let job = IndexJob {
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            clock: self.clock.clone(),
            table_name: table.name.clone(),
            table_id: table.id,
            index_id: index.id,
            items_per_second: self.items_per_second,
            item_delay: self.exchange.item_delay,
            items_read: match index.state {
                BuildState::Backfilling => self.backfills.start(index.id),
                _ => std::sync::Arc::default(),
            },
        };
        match index.state {
            BuildState::Backfilling => {
                let backfills = self.backfills.clone();
                self.spawn_leased(name, lease, move |stop| {
                    log_failure("index backfill", job.backfill(stop));
                    backfills.finish(job.index_id);
                });
            }
            BuildState::Deleting => self.spawn_leased(name, lease, move |stop| {
                log_failure("index deletion", job.reclaim(stop));
            }),
            BuildState::Built => {}
        }
    }

    /// The worker name of an index's job in `state`; `None` when built (no job).
    fn index_job_name(state: &crate::index::BuildState) -> Option<&'static str> {
        match state {
            crate::index::BuildState::Backfilling => Some("index-backfill"),
            crate::index::BuildState::Deleting => Some("index-delete"),
            crate::index::BuildState::Built => None,
        }
    }

    /// Starts filling `table`'s expiry index from its items (TTL just enabled), resuming after
    /// `after` when given.
    pub(crate) fn ttl_backfill(
        &self,
        table: &crate::catalog::TableDescriptor,
        after: Option<(Vec<u8>, Vec<u8>)>,
    ) {
        let Some(ttl) = table.ttl.as_ref().filter(|t| t.enabled) else {
            return;
        };
        let job = crate::ttl::backfill::TtlBackfill {
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            region: table.region.clone(),
            table_name: table.name.clone(),
            table_id: table.id,
            changed_ms: ttl.changed_ms,
            attribute: ttl.attribute.clone(),
        };
        self.spawn_leased(TTL_JOB, Self::ttl_lease(table.id), move |stop| {
            crate::index::backfill::log_failure("TTL backfill", job.run(after, stop));
        });
    }

    /// Runs an export under its lease (taken by the request, see `crate::exchange::jobs`),
    /// unless its record is no longer `IN_PROGRESS` once the worker holds the lease.
    pub(crate) fn export(&self, task: crate::exchange::jobs::ExportTask) {
        use crate::exchange::ExportRecord;
        let job = self.exchange.clone();
        let lease = crate::exchange::jobs::lease_of(&task.record.arn);
        self.spawn_leased(EXPORT_JOB, lease, move |stop| {
            if job.in_progress::<ExportRecord>(&task.record.arn) {
                job.run_export(task, stop);
            }
        });
    }

    /// Runs an import under its lease, as [`Starter::export`] runs an export.
    pub(crate) fn import(&self, task: crate::exchange::jobs::ImportTask) {
        use crate::exchange::ImportRecord;
        let job = self.exchange.clone();
        let lease = crate::exchange::jobs::lease_of(&task.record.arn);
        self.spawn_leased(IMPORT_JOB, lease, move |stop| {
            if job.in_progress::<ImportRecord>(&task.record.arn) {
                job.run_import(task, stop);
            }
        });
    }

    /// Takes over the exports and imports `IN_PROGRESS` whose runner died (see
    /// [`Starter::adopt_orphans`]): each runs again from its start.
    fn adopt_exchange_jobs(
        &self,
        free: &mut dyn FnMut(&str, &str) -> crate::Result<bool>,
    ) -> crate::Result<()> {
        use crate::exchange::{ExportRecord, ImportRecord};
        self.adopt_records::<ExportRecord>(free, EXPORT_JOB, &|record| {
            self.exchange.export_task(record).map(|t| self.export(t))
        })?;
        self.adopt_records::<ImportRecord>(free, IMPORT_JOB, &|record| {
            self.exchange.import_task(record).map(|t| self.import(t))
        })
    }

    /// Adopts each record of kind `R` still `IN_PROGRESS` whose lease `free` takes: `start`
    /// runs it again (`None`: it cannot run, and the lease goes back).
    fn adopt_records<R: crate::exchange::Record + crate::exchange::jobs::HasStatus>(
        &self,
        free: &mut dyn FnMut(&str, &str) -> crate::Result<bool>,
        name: &str,
        start: &dyn Fn(R) -> Option<()>,
    ) -> crate::Result<()> {
        use crate::exchange::{self, JobStatus};
        let (records, _) = exchange::list::<R>(self.store.as_ref(), None, usize::MAX, &|r| {
            *r.status() == JobStatus::InProgress
        })?;
        for record in records {
            let lease = exchange::jobs::lease_of(record.arn());
            if free(&lease, name)? && start(record).is_none() {
                self.release(&lease);
            }
        }
        Ok(())
    }

    fn release(&self, lease: &str) {
        if let Err(e) = self.store.release_lease(lease) {
            tracing::warn!(job = lease, error = %e, "releasing a background job's lease failed");
        }
    }

    /// Takes over the one-off jobs whose runner died: every index still being created or
    /// deleted, every unfinished TTL backfill, and every export and import `IN_PROGRESS`, that
    /// this node does not run and whose lease it could take (the runner stopped renewing it).
    /// The job resumes from its saved progress (a TTL backfill from its record, read again by
    /// the job itself; an export or import from its start).
    ///
    /// # Errors
    /// Storage failures (the next pass tries again).
    pub(crate) fn adopt_orphans(&self) -> crate::Result<usize> {
        let mut adopted = 0;
        let mut free = |lease: &str, name: &str| -> crate::Result<bool> {
            if self.running.lock().contains(&Self::job_key(lease, name)) {
                return Ok(false);
            }
            let took = self.store.lease(lease, JOB_LEASE)?;
            if took {
                tracing::warn!(job = lease, "adopting a background job a stopped node left");
                adopted += 1;
            }
            Ok(took)
        };
        let tables = self.catalog.all();
        for table in &tables {
            let d = table.descriptor();
            for index in &d.indexes {
                let Some(name) = Self::index_job_name(&index.state) else {
                    continue;
                };
                if free(&Self::index_lease(index.id), name)? {
                    self.index_work(&d, index);
                }
            }
        }
        for (id, progress) in crate::ttl::backfill::unfinished(self.store.as_ref())? {
            let Some(d) = tables.iter().map(|t| t.descriptor()).find(|d| {
                d.id == id
                    && d.ttl
                        .as_ref()
                        .is_some_and(|t| t.enabled && t.changed_ms == progress.changed_ms)
            }) else {
                continue;
            };
            if free(&Self::ttl_lease(id), TTL_JOB)? {
                self.ttl_backfill(&d, progress.after);
            }
        }
        self.adopt_exchange_jobs(&mut free)?;
        Ok(adopted)
    }
}
