//! Node liveness: which binderdb processes sharing a pool are alive.
//!
//! Every store that opens a pool is a *node* with a random 64-bit id. It holds an exclusive
//! RADOS advisory lock on its own object `{prefix}binderdb.node.{id}` for [`LIVENESS`],
//! renewed every [`RENEW_EVERY`] by a thread it owns, and lists itself in the registry object
//! `{prefix}binderdb.nodes` (one omap key per node). A node that dies stops renewing, so its
//! lock lapses after [`LIVENESS`]: the OSD's clock decides, never a comparison of two nodes'
//! clocks. Another node tells whether node `n` is alive by trying to take `n`'s lock itself
//! ([`probe`]): busy means alive; taken means dead (and the probe lets it go at once).
//!
//! Liveness only decides *when* another node may abort a dead node's running transactions (see
//! the crate's commit protocol): correctness never depends on it, because aborting and
//! committing are both compare-and-sets on the transaction's record. A node wrongly believed
//! dead (paused past its lease) merely sees its running commit fail and retries it.
//!
//! The renewal thread also sweeps the registry every [`SWEEP_EVERY`]: each dead node's
//! unfinished transactions are recovered (see `Coordinator::recover_node`) and its entry removed.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use binderdb_rados::{IoCtx, WriteOp, EBUSY, EEXIST};
use binderdb_storage::StorageError;
use parking_lot::Mutex;

/// How long a node's liveness lock lasts without renewal: a node that stops (or dies) is
/// believed alive for at most this long, so its unfinished transactions wait that long for
/// recovery.
pub const LIVENESS: Duration = Duration::from_secs(10);
/// How often a node renews its liveness lock (a fifth of [`LIVENESS`], so a node starved of
/// CPU for a few seconds is not taken for dead).
pub const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How often a node looks for dead nodes in the registry.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// How long a positive probe is trusted before probing again.
const ALIVE_CACHE: Duration = Duration::from_secs(1);
const LOCK_NAME: &str = "binderdb-node";

/// The name of node `id`'s liveness object.
pub fn node_object(prefix: &str, id: u64) -> String {
    format!("{prefix}binderdb.node.{id:016x}")
}

/// The registry object listing the nodes of a pool.
pub fn registry_object(prefix: &str) -> String {
    format!("{prefix}binderdb.nodes")
}

/// The registry key of node `id`.
pub fn registry_key(id: u64) -> Vec<u8> {
    format!("{id:016x}").into_bytes()
}

fn backend(e: binderdb_rados::RadosError) -> StorageError {
    StorageError::Backend(Box::new(e))
}

/// Whether node `id` holds its liveness lock now.
///
/// # Errors
/// Cluster failures.
pub fn probe(io: &IoCtx, prefix: &str, id: u64) -> Result<bool, StorageError> {
    let object = node_object(prefix, id);
    let cookie = format!("probe-{:016x}", fastrand::u64(..));
    match io.lock_exclusive(&object, LOCK_NAME, &cookie, Duration::from_secs(1), false) {
        Ok(()) => {
            // Dead: let the lock go at once (a node coming back may take it again; that is
            // harmless, see the module doc).
            if let Err(e) = io.unlock(&object, LOCK_NAME, &cookie) {
                tracing::debug!("releasing a liveness probe: {e}");
            }
            Ok(false)
        }
        Err(e) if e.errno == EBUSY || e.errno == EEXIST => Ok(true),
        Err(e) => Err(backend(e)),
    }
}

/// Remembers which nodes were seen alive recently, so a commit that waits on another node's
/// lock does not probe it at every retry.
#[derive(Debug, Default)]
pub struct AliveCache {
    seen: Mutex<HashMap<u64, Instant>>,
}

impl AliveCache {
    /// Whether node `id` is alive, probing at most once per second per node.
    ///
    /// # Errors
    /// Cluster failures.
    pub fn alive(&self, io: &IoCtx, prefix: &str, id: u64) -> Result<bool, StorageError> {
        if let Some(at) = self.seen.lock().get(&id) {
            if at.elapsed() < ALIVE_CACHE {
                return Ok(true);
            }
        }
        let alive = probe(io, prefix, id)?;
        let mut seen = self.seen.lock();
        if alive {
            seen.insert(id, Instant::now());
        } else {
            seen.remove(&id);
        }
        Ok(alive)
    }
}

/// This process's membership of the pool; leaves it (releasing the lock and the registry
/// entry) when dropped.
#[derive(Debug)]
pub struct Node {
    io: Arc<IoCtx>,
    prefix: String,
    id: u64,
    cookie: String,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
}

impl Node {
    /// Joins the pool as a new node: takes its liveness lock, registers it, and starts the
    /// thread that renews the lock and calls `sweep` every [`SWEEP_EVERY`] (to recover dead
    /// nodes' transactions).
    ///
    /// # Errors
    /// Cluster failures.
    pub fn join(
        io: Arc<IoCtx>,
        prefix: &str,
        sweep: Box<dyn Fn() + Send>,
    ) -> Result<Node, StorageError> {
        let id = loop {
            // Never 0, so an id is always visibly set in records and locks; below 2^63, so it
            // fits beside the recounting flag in a counter registry record (`counters`): an id
            // with its top bit set came back from there as another node's, so a node took its
            // own recount for a dead node's, and other nodes did not wait for it.
            let id = fastrand::u64(1..1 << 63);
            match io.lock_exclusive(&node_object(prefix, id), LOCK_NAME, "node", LIVENESS, false) {
                Ok(()) => break id,
                Err(e) if e.errno == EBUSY || e.errno == EEXIST => continue,
                Err(e) => return Err(backend(e)),
            }
        };
        let cookie = "node".to_owned();
        register(&io, prefix, id)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let renewer = {
            let (io, prefix, cookie) = (Arc::clone(&io), prefix.to_owned(), cookie.clone());
            std::thread::Builder::new()
                .name("rados-node".into())
                .spawn(move || {
                    let mut last_sweep = Instant::now();
                    loop {
                        match stopped.recv_timeout(RENEW_EVERY) {
                            Err(RecvTimeoutError::Timeout) => {}
                            // A message or a dropped sender: the store is closing.
                            _ => return,
                        }
                        let object = node_object(&prefix, id);
                        if let Err(e) =
                            io.lock_exclusive(&object, LOCK_NAME, &cookie, LIVENESS, true)
                        {
                            tracing::warn!("renewing this node's RADOS liveness lock: {e}");
                        }
                        // A node taken for dead (and swept) while paused lists itself again.
                        if let Err(e) = register(&io, &prefix, id) {
                            tracing::warn!("registering this node: {e}");
                        }
                        if last_sweep.elapsed() >= SWEEP_EVERY {
                            last_sweep = Instant::now();
                            sweep();
                        }
                    }
                })
                .map_err(StorageError::Io)?
        };
        Ok(Node {
            io,
            prefix: prefix.to_owned(),
            id,
            cookie,
            stop: Some(stop),
            renewer: Some(renewer),
        })
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

fn register(io: &IoCtx, prefix: &str, id: u64) -> Result<(), StorageError> {
    let op = WriteOp {
        set: vec![(registry_key(id), Vec::new())],
        ..WriteOp::default()
    };
    io.write(&registry_object(prefix), &op).map_err(backend)
}

/// The ids of the registered nodes.
///
/// # Errors
/// Cluster failures, or a malformed registry key.
pub fn registered(io: &IoCtx, prefix: &str) -> Result<Vec<u64>, StorageError> {
    let mut out = Vec::new();
    let mut after = Vec::new();
    loop {
        let Some(read) = io
            .read(&registry_object(prefix), &[], Some((&after, b"", 512)))
            .map_err(backend)?
        else {
            return Ok(out);
        };
        for (key, _) in &read.page {
            let id = std::str::from_utf8(key)
                .ok()
                .and_then(|k| u64::from_str_radix(k, 16).ok())
                .ok_or_else(|| StorageError::Corrupt("node registry key".into()))?;
            out.push(id);
        }
        match read.page.last() {
            Some((last, _)) if read.more => after = last.clone(),
            _ => return Ok(out),
        }
    }
}

/// Removes node `id` from the registry and deletes its liveness object.
///
/// # Errors
/// Cluster failures.
pub fn forget(io: &IoCtx, prefix: &str, id: u64) -> Result<(), StorageError> {
    let op = WriteOp {
        remove_keys: vec![registry_key(id)],
        ..WriteOp::default()
    };
    match io.write(&registry_object(prefix), &op) {
        Err(e) if e.errno != binderdb_rados::ENOENT => return Err(backend(e)),
        _ => {}
    }
    io.remove(&node_object(prefix, id)).map_err(backend)?;
    Ok(())
}

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
        let object = node_object(&self.prefix, self.id);
        if let Err(e) = self.io.unlock(&object, LOCK_NAME, &self.cookie) {
            tracing::warn!("releasing this node's RADOS liveness lock: {e}");
        }
        if let Err(e) = forget(&self.io, &self.prefix, self.id) {
            tracing::warn!("leaving the RADOS node registry: {e}");
        }
    }
}
