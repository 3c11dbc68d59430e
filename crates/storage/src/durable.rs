//! Acknowledging writes: waiting until what was committed is on stable storage.
//!
//! A [`Store::commit`](crate::Store::commit) makes its batch visible and appends it to the
//! engine's log, but does not wait for the log to reach the disk. Whoever acknowledges a write
//! first takes a [`Durable`] (via [`durable`]) after its commits and waits for it, either by
//! awaiting it on an async runtime (no thread is parked: the engine wakes the task when its
//! group fsync completes) or with [`Durable::wait`] on a plain thread. Many writers waiting at
//! once share one fsync.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::{StorageError, Store};

/// Resolves once every commit made before [`durable`] was called is durable. In-memory
/// engines resolve at once.
#[must_use = "a Durable does nothing unless awaited or waited for"]
pub struct Durable<'a> {
    store: &'a dyn Store,
    point: u64,
}

impl std::fmt::Debug for Durable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable")
            .field("point", &self.point)
            .finish_non_exhaustive()
    }
}

/// The durability of every commit `store` has made so far (including ones other threads made).
pub fn durable(store: &dyn Store) -> Durable<'_> {
    Durable {
        point: store.commit_point(),
        store,
    }
}

impl Durable<'_> {
    /// The commit point this waits for.
    pub fn point(&self) -> u64 {
        self.point
    }

    /// Blocks the calling thread until the commits are durable.
    ///
    /// # Errors
    /// `Io`/`Backend` if the engine failed to make its log durable.
    pub fn wait(self) -> Result<(), StorageError> {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            match self.store.poll_durable(self.point, &mut cx) {
                Poll::Ready(result) => return result,
                // A wake-up that came before the park makes the park return at once.
                Poll::Pending => std::thread::park(),
            }
        }
    }
}

impl Future for Durable<'_> {
    type Output = Result<(), StorageError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.store.poll_durable(self.point, cx)
    }
}

struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}
