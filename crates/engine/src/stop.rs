//! The stop signal of the database's background workers ([`Stop`]): a flag they look at between
//! steps of their work, and a sleep that the stop ends at once.
//!
//! Why not a bare `AtomicBool`: the workers that run a pass every few seconds (PITR pruning,
//! stream trimming, the job adopter, the node slot's lease) used to sleep in 50 ms steps so that
//! a shutdown was prompt, which woke each of them 20 times a second on an idle server. A
//! [`Stop::sleep`] waits on a condition variable the stop signals instead, so an idle worker
//! wakes only when its interval has passed.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// A stop flag with a sleep it interrupts (see the module docs). Dereferences to the flag, so
/// code that only looks at it takes `&AtomicBool`.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    flag: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Stop {
    /// Raises the flag and ends every [`Stop::sleep`] in progress.
    pub(crate) fn raise(&self) {
        // Under the lock: a sleeper that has just found the flag down is already waiting when
        // the notification comes (it checks the flag and waits under the same lock).
        let _guard = self.lock.lock();
        self.flag.store(true, Ordering::SeqCst);
        self.wake.notify_all();
    }

    /// Whether the flag is raised.
    pub(crate) fn raised(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Sleeps for `duration`, or until the flag is raised; returns whether it is.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut guard = self.lock.lock();
        while !self.raised() {
            if self.wake.wait_until(&mut guard, deadline).timed_out() {
                break;
            }
        }
        self.raised()
    }
}

impl Deref for Stop {
    type Target = AtomicBool;

    fn deref(&self) -> &AtomicBool {
        &self.flag
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_sleep_lasts_its_duration_unless_raised() {
        let stop = Stop::default();
        let started = Instant::now();
        assert!(!stop.sleep(Duration::from_millis(20)));
        assert!(started.elapsed() >= Duration::from_millis(20));

        let stop = Arc::new(Stop::default());
        let sleeper = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || stop.sleep(Duration::from_secs(600)))
        };
        stop.raise();
        assert!(
            sleeper.join().unwrap(),
            "the raise ends the sleep and is reported"
        );
        assert!(
            stop.sleep(Duration::from_secs(600)),
            "a raised stop never sleeps"
        );
        assert!(stop.load(Ordering::Relaxed));
    }
}
