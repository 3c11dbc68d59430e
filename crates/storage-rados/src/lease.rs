//! The pool lease: one binderdb process serves a pool at a time.
//!
//! Multi-object commits are serialised by a lock inside one process; until a cross-process
//! coordinator exists (lock records with owners and timeouts), a second process writing the same
//! pool could interleave with them. So a store takes an exclusive RADOS advisory lock on its
//! `lease` object when it opens, renews it every [`RENEW_EVERY`] from a thread it owns, and
//! releases it when dropped. A process that dies stops renewing, so its lease lapses after
//! [`LEASE`] and a restarted (or another) node can open the pool. If renewing fails, the store
//! stops accepting writes (it may no longer be the only writer).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use binderdb_rados::{IoCtx, EBUSY, EEXIST};
use binderdb_storage::StorageError;

/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often the holder renews it.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);
const LOCK_NAME: &str = "binderdb-node";

/// A held pool lease; released on drop.
#[derive(Debug)]
pub struct Lease {
    io: Arc<IoCtx>,
    object: String,
    cookie: String,
    lost: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
}

impl Lease {
    /// Takes the lease on `object`, waiting up to `wait` for another holder's lease to lapse.
    ///
    /// # Errors
    /// `InvalidArgument` if another process still holds it after `wait`; `Backend` otherwise.
    pub fn acquire(io: Arc<IoCtx>, object: String, wait: Duration) -> Result<Lease, StorageError> {
        let cookie = format!("{:016x}", fastrand::u64(..));
        let deadline = Instant::now() + wait;
        let mut warned = false;
        loop {
            match io.lock_exclusive(&object, LOCK_NAME, &cookie, LEASE, false) {
                Ok(()) => break,
                Err(e) if e.errno == EBUSY || e.errno == EEXIST => {
                    if Instant::now() >= deadline {
                        return Err(StorageError::InvalidArgument(format!(
                            "another binderdb node holds this RADOS pool (one node per pool: \
                             serving a pool from several nodes at once is not supported yet); \
                             a stopped node's lease lapses {} s after it stopped",
                            LEASE.as_secs()
                        )));
                    }
                    if !warned {
                        tracing::warn!(
                            "another binderdb node holds this RADOS pool; waiting up to {} s \
                             for its lease to lapse",
                            wait.as_secs()
                        );
                        warned = true;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(StorageError::Backend(Box::new(e))),
            }
        }
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let renewer = {
            let (io, object, cookie, lost) = (
                Arc::clone(&io),
                object.clone(),
                cookie.clone(),
                Arc::clone(&lost),
            );
            std::thread::Builder::new()
                .name("rados-lease".into())
                .spawn(move || loop {
                    match stopped.recv_timeout(RENEW_EVERY) {
                        Err(RecvTimeoutError::Timeout) => {
                            if let Err(e) =
                                io.lock_exclusive(&object, LOCK_NAME, &cookie, LEASE, true)
                            {
                                tracing::error!("RADOS pool lease lost ({e}): refusing writes");
                                lost.store(true, Ordering::SeqCst);
                            }
                        }
                        // A message or a dropped sender: the store is closing.
                        _ => return,
                    }
                })
                .map_err(StorageError::Io)?
        };
        Ok(Lease {
            io,
            object,
            cookie,
            lost,
            stop: Some(stop),
            renewer: Some(renewer),
        })
    }

    /// Whether renewing failed: another process may now hold the pool.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
        if let Err(e) = self.io.unlock(&self.object, LOCK_NAME, &self.cookie) {
            tracing::warn!("releasing the RADOS pool lease: {e}");
        }
    }
}
