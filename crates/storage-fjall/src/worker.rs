//! The scaffolding every background thread of the store shares: start it with a name, wake it,
//! ask it to stop, and join it when its owner is dropped (STYLE 11: every background task has an
//! owner).
//!
//! A [`Worker`] owns one thread and a small piece of state `S` that the thread and its owner
//! share under one mutex, beside the stop flag, with one condition variable to wake the thread.
//! The thread's body gets a [`Signal`] to lock that state, sleep on it and see the stop flag.
//! Used by the flusher, the compactor, the settler, the dropper, the warm-up, the trash and the
//! writeback thread; the group-commit thread keeps
//! its own (two condition variables, and its stop ends with a final sync).
//!
//! Must not take any of the store's locks: it knows threads, not fjall.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use binderdb_storage::StorageError;
use parking_lot::{Condvar, Mutex, MutexGuard};

/// The state a worker's thread and its owner share: the stop flag and the worker's own `S`.
#[derive(Default)]
pub(crate) struct Control<S> {
    /// Set once, when the owner is dropped; the thread then returns at its next look.
    pub(crate) stop: bool,
    pub(crate) state: S,
}

/// The thread's side of a [`Worker`]: its state and its wake-ups.
pub(crate) struct Signal<S> {
    control: Mutex<Control<S>>,
    wake: Condvar,
}

impl<S> Signal<S> {
    /// Locks the shared state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Control<S>> {
        self.control.lock()
    }

    /// Changes the shared state with `change` and wakes the thread.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut S) -> T) -> T {
        let out = change(&mut self.control.lock().state);
        self.wake.notify_one();
        out
    }

    /// Wakes the thread and every owner waiting on it (for state both sides wait on).
    pub(crate) fn broadcast(&self) {
        self.wake.notify_all();
    }

    /// Whether the owner asked the thread to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.control.lock().stop
    }

    /// Releases `guard` until the thread is woken ([`Worker::wake`], [`Worker::update`], the
    /// stop), or for at most `timeout` when one is given, and locks it again. The caller checks
    /// what it waits for, and `stop`, after it returns.
    pub(crate) fn wait(&self, guard: &mut MutexGuard<'_, Control<S>>, timeout: Option<Duration>) {
        match timeout {
            Some(timeout) => {
                self.wake.wait_for(guard, timeout);
            }
            None => self.wake.wait(guard),
        }
    }
}

/// Owner of one background thread (see the module docs). Dropping it sets the stop flag, wakes
/// the thread and joins it: the thread ends at its next look at the flag, after the work it may
/// be doing.
pub(crate) struct Worker<S> {
    signal: Arc<Signal<S>>,
    thread: Option<JoinHandle<()>>,
}

impl<S: Send + 'static> Worker<S> {
    /// Starts a thread called `name` running `body`, with `state` as the shared state.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(
        name: &str,
        state: S,
        body: impl FnOnce(&Signal<S>) + Send + 'static,
    ) -> Result<Worker<S>, StorageError> {
        let signal = Arc::new(Signal {
            control: Mutex::new(Control { stop: false, state }),
            wake: Condvar::new(),
        });
        let for_thread = Arc::clone(&signal);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(&for_thread))?;
        Ok(Worker {
            signal,
            thread: Some(thread),
        })
    }
}

impl<S> Worker<S> {
    /// Changes the shared state with `change` and wakes the thread.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut S) -> T) -> T {
        self.signal.update(change)
    }

    /// The shared state and the thread's wake-ups, for an owner that waits on the thread too.
    pub(crate) fn signal(&self) -> &Signal<S> {
        &self.signal
    }

    /// A shared handle on [`Worker::signal`], for a callback that wakes the thread from
    /// elsewhere (it outlives the thread harmlessly: waking a stopped worker does nothing).
    pub(crate) fn handle(&self) -> Arc<Signal<S>> {
        Arc::clone(&self.signal)
    }
}

/// The state of a worker whose thread runs once and reports a count when it is done (the
/// warm-up): [`Signal::report`] on the thread's side, [`Worker::wait_for_report`] on
/// the owner's.
#[derive(Default)]
pub(crate) struct Report {
    done: bool,
    count: u64,
}

impl Signal<Report> {
    /// Marks the thread's work done, with `count`, and wakes its waiters.
    pub(crate) fn report(&self, count: u64) {
        self.update(|report| *report = Report { done: true, count });
        self.wake.notify_all();
    }
}

impl Worker<Report> {
    /// Blocks until the thread has reported ([`Signal::report`]); returns its count.
    pub(crate) fn wait_for_report(&self) -> u64 {
        let mut control = self.signal.lock();
        while !control.state.done {
            self.signal.wait(&mut control, None);
        }
        control.state.count
    }
}

impl<S> Drop for Worker<S> {
    fn drop(&mut self) {
        self.signal.control.lock().stop = true;
        self.signal.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A woken thread sees the owner's change, and dropping the owner stops and joins a thread
    /// that waits without a timeout.
    #[test]
    fn a_worker_is_woken_by_its_owner_and_stopped_by_its_drop() {
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        let worker = Worker::start("test-worker", 0u32, move |signal| loop {
            let mut control = signal.lock();
            while control.state == 0 && !control.stop {
                signal.wait(&mut control, None);
            }
            if control.stop {
                seen_tx.send(u32::MAX).unwrap();
                return;
            }
            seen_tx.send(std::mem::take(&mut control.state)).unwrap();
        })
        .unwrap();
        worker.update(|n| *n = 7);
        assert_eq!(seen_rx.recv().unwrap(), 7);
        drop(worker);
        assert_eq!(seen_rx.recv().unwrap(), u32::MAX);
    }
}
