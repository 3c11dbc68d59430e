//! What binderdb processes sharing one pool coordinate through it, without ever talking to each
//! other: announcements ([`Store::announce`](binderdb_storage::Store::announce), e.g. "the
//! catalog changed") and named leases for background work
//! ([`Store::lease`](binderdb_storage::Store::lease)).
//!
//! # Announcements
//! Every store watches one object, `{prefix}binderdb.announce`. Announcing is a RADOS notify on
//! it carrying `[announcer's instance id u64 BE][topic]`: it returns once every watcher ran its
//! subscribers and acknowledged, or after [`ANNOUNCE_TIMEOUT`]. A watcher skips its own
//! announcements (the announcer has already applied its change). A process that was killed is
//! forgotten by the cluster [`WATCH_TIMEOUT`] after it stopped answering, so at most the first
//! announcement after a crash waits that long.
//!
//! A watch whose session broke (an OSD connection reset, the object moved) may have missed
//! announcements: the store re-watches from its own thread (checked every [`WATCH_CHECK`]) and
//! then calls every subscriber with `None`, so each resynchronises. Between the break and the
//! resynchronisation this process's caches may be stale; that window is the price of reading
//! nothing per request.
//!
//! # Leases
//! A lease is an exclusive RADOS advisory lock on `{prefix}binderdb.job.{name}` with a duration,
//! held under this store's random cookie: taking it again while held renews it (the lock
//! class's renew flag), another process gets `EBUSY` until it lapses or is released.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use binderdb_rados::{IoCtx, RadosError, Watch, WriteOp, EBUSY, EEXIST, ENOENT};
use binderdb_storage::{StorageError, Subscriber};
use parking_lot::{Mutex, RwLock};

/// How long an announcement waits for the other processes to acknowledge it.
pub const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after a process stopped answering the cluster drops its watch.
pub const WATCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the watch's health is checked.
pub const WATCH_CHECK: Duration = Duration::from_secs(1);
const JOB_LOCK: &str = "binderdb-job";

fn backend(e: RadosError) -> StorageError {
    StorageError::Backend(Box::new(e))
}

/// Subscribers and the state the watch callbacks share.
#[derive(Default)]
struct Shared {
    subscribers: RwLock<Vec<Subscriber>>,
    broken: AtomicBool,
}

impl Shared {
    fn deliver(&self, topic: Option<&[u8]>) {
        let subscribers = self.subscribers.read().clone();
        for s in subscribers {
            s(topic);
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("subscribers", &self.subscribers.read().len())
            .field("broken", &self.broken.load(Ordering::Relaxed))
            .finish()
    }
}

/// One store's view of the other processes on its pool.
#[derive(Debug)]
pub struct Peers {
    io: Arc<IoCtx>,
    object: String,
    job_prefix: String,
    instance: u64,
    cookie: String,
    shared: Arc<Shared>,
    watch: Arc<Mutex<Option<Watch>>>,
    stop: Option<mpsc::Sender<()>>,
    keeper: Option<JoinHandle<()>>,
}

fn watch(
    io: &Arc<IoCtx>,
    object: &str,
    instance: u64,
    shared: &Arc<Shared>,
) -> Result<Watch, RadosError> {
    let (on_notify, on_error) = (Arc::clone(shared), Arc::clone(shared));
    io.watch(
        object,
        WATCH_TIMEOUT,
        Box::new(move |_notifier, payload| {
            let Some((from, topic)) = payload.split_at_checked(8) else {
                return;
            };
            if from != instance.to_be_bytes() {
                on_notify.deliver(Some(topic));
            }
        }),
        Box::new(move |errno| {
            tracing::warn!(
                errno,
                "RADOS watch broken: caches resynchronise once it is back"
            );
            on_error.broken.store(true, Ordering::SeqCst);
        }),
    )
}

impl Peers {
    /// Watches the announcement object (creating it) and starts the thread that keeps the
    /// watch alive.
    ///
    /// # Errors
    /// `Backend` on cluster failures.
    pub fn open(io: Arc<IoCtx>, prefix: &str) -> Result<Peers, StorageError> {
        let object = format!("{prefix}binderdb.announce");
        // A watch needs the object to exist.
        let create = WriteOp {
            create_exclusive: true,
            ..WriteOp::default()
        };
        match io.write(&object, &create) {
            Err(e) if e.errno == EEXIST => {}
            other => other.map_err(backend)?,
        }
        let instance = io.instance_id();
        let shared = Arc::new(Shared::default());
        let first = watch(&io, &object, instance, &shared).map_err(backend)?;
        let watch_slot = Arc::new(Mutex::new(Some(first)));
        let (stop, stopped) = mpsc::channel::<()>();
        let keeper = {
            let (io, object, shared, slot) = (
                Arc::clone(&io),
                object.clone(),
                Arc::clone(&shared),
                Arc::clone(&watch_slot),
            );
            std::thread::Builder::new()
                .name("rados-watch".into())
                .spawn(move || loop {
                    match stopped.recv_timeout(WATCH_CHECK) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let mut current = slot.lock();
                    let healthy = current.as_ref().is_some_and(|w| w.check().is_ok())
                        && !shared.broken.load(Ordering::SeqCst);
                    if healthy {
                        continue;
                    }
                    // Unregister the broken watch before registering a new one.
                    drop(current.take());
                    match watch(&io, &object, instance, &shared) {
                        Ok(w) => {
                            *current = Some(w);
                            shared.broken.store(false, Ordering::SeqCst);
                            drop(current);
                            tracing::info!("RADOS watch re-established: resynchronising");
                            shared.deliver(None);
                        }
                        Err(e) => tracing::warn!("re-establishing the RADOS watch: {e}"),
                    }
                })
                .map_err(StorageError::Io)?
        };
        Ok(Peers {
            io,
            object,
            job_prefix: format!("{prefix}binderdb.job."),
            instance,
            cookie: format!("{:016x}", fastrand::u64(..)),
            shared,
            watch: watch_slot,
            stop: Some(stop),
            keeper: Some(keeper),
        })
    }

    /// See [`Store::announce`](binderdb_storage::Store::announce).
    ///
    /// # Errors
    /// `Backend` if the notify failed.
    pub fn announce(&self, topic: &[u8]) -> Result<usize, StorageError> {
        let mut payload = self.instance.to_be_bytes().to_vec();
        payload.extend_from_slice(topic);
        let reply = self
            .io
            .notify(&self.object, &payload, ANNOUNCE_TIMEOUT)
            .map_err(backend)?;
        if !reply.timed_out.is_empty() {
            tracing::warn!(
                unanswered = reply.timed_out.len(),
                "nodes did not acknowledge a change in time (stopped, or cut off from the \
                 cluster: they resynchronise when they reconnect)"
            );
        }
        let others = reply
            .acked
            .iter()
            .chain(&reply.timed_out)
            .filter(|(instance, _)| *instance != self.instance)
            .count();
        Ok(others)
    }

    /// See [`Store::subscribe`](binderdb_storage::Store::subscribe).
    pub fn subscribe(&self, subscriber: Subscriber) {
        self.shared.subscribers.write().push(subscriber);
    }

    /// See [`Store::lease`](binderdb_storage::Store::lease).
    ///
    /// # Errors
    /// `Backend` on cluster failures.
    pub fn lease(&self, name: &str, duration: Duration) -> Result<bool, StorageError> {
        let object = format!("{}{name}", self.job_prefix);
        match self
            .io
            .lock_exclusive(&object, JOB_LOCK, &self.cookie, duration, true)
        {
            Ok(()) => Ok(true),
            Err(e) if e.errno == EBUSY || e.errno == EEXIST => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    /// See [`Store::release_lease`](binderdb_storage::Store::release_lease).
    ///
    /// # Errors
    /// `Backend` on cluster failures.
    pub fn release_lease(&self, name: &str) -> Result<(), StorageError> {
        let object = format!("{}{name}", self.job_prefix);
        match self.io.unlock(&object, JOB_LOCK, &self.cookie) {
            Err(e) if e.errno != ENOENT => Err(backend(e)),
            _ => Ok(()),
        }
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
        drop(self.watch.lock().take());
    }
}
