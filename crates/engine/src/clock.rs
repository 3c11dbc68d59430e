//! Injected time.
//!
//! Every timestamp the engine records or compares (table creation, state transitions) comes from
//! a [`Clock`], so tests move time by hand instead of sleeping.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The system clock shifted by a fixed offset: a node whose clock is off, for tests of
/// several nodes sharing a store (`binderdb serve --clock-offset-ms`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OffsetClock {
    offset_ms: i64,
}

impl OffsetClock {
    /// The system clock moved by `offset_ms` (negative: behind).
    pub fn new(offset_ms: i64) -> Self {
        OffsetClock { offset_ms }
    }
}

impl Clock for OffsetClock {
    fn now_millis(&self) -> u64 {
        SystemClock
            .now_millis()
            .saturating_add_signed(self.offset_ms)
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicU64,
}

impl ManualClock {
    /// A manual clock reading `millis`.
    pub fn new(millis: u64) -> Self {
        ManualClock {
            millis: AtomicU64::new(millis),
        }
    }

    /// Moves the clock forward by `millis`.
    pub fn advance(&self, millis: u64) {
        self.millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.millis.load(Ordering::SeqCst)
    }
}

/// DynamoDB's timestamp form: seconds since the epoch as a JSON number with a fraction.
pub fn epoch_seconds(millis: u64) -> f64 {
    millis as f64 / 1000.0
}
