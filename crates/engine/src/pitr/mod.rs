//! Point-in-time recovery: a table's recovery settings and its change log.
//!
//! A table with point-in-time recovery enabled carries a [`PitrDescriptor`] in its catalog
//! entry: the recovery period (1 to 35 days), the storage id of its change log and the instant
//! from which that log is complete. The log itself, its design and its cost are in [`log`];
//! its reading API is [`log::items_at`] (the table at an instant) and [`log::changes`] (the
//! changes between two instants, with old and new images), also offered on
//! [`crate::Database`] as `pitr_items_at` and `pitr_changes`.
//!
//! Must not depend on: HTTP or a concrete storage engine.

#[cfg(test)]
mod history_tests;
pub mod log;

use binderdb_storage::TableId;
use serde::{Deserialize, Serialize};

/// DynamoDB's default (and longest) recovery period, in days.
pub const DEFAULT_RECOVERY_PERIOD_DAYS: u32 = 35;

/// Milliseconds in a day.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// `PointInTimeRecoveryUnavailableException` for table `name`.
pub fn unavailable(name: &str) -> crate::error::Error {
    crate::error::Error::PointInTimeRecoveryUnavailable(format!(
        "Point in time recovery is not enabled for table '{name}'"
    ))
}

/// Point-in-time recovery settings of a table (present only while it is enabled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitrDescriptor {
    /// `RecoveryPeriodInDays`, 1 to 35.
    pub recovery_period_days: u32,
    /// Storage id of the table's change log (never reused: disabling drops it, enabling again
    /// starts a new one).
    pub log_id: TableId,
    /// The log holds every change committed after this instant (ms since the epoch): the
    /// enabling, or where a shorter recovery period pruned it to before a longer one was set.
    pub complete_since_ms: u64,
    /// When this log was started (the enabling), ms: nothing of it is older.
    pub enabled_ms: u64,
}

impl PitrDescriptor {
    /// The recovery period in milliseconds.
    pub fn period_ms(&self) -> u64 {
        u64::from(self.recovery_period_days) * DAY_MS
    }

    /// `EarliestRestorableDateTime` at `now_ms`, ms: the later of the log's start and the
    /// beginning of the recovery period.
    pub fn earliest_ms(&self, now_ms: u64) -> u64 {
        self.complete_since_ms
            .max(now_ms.saturating_sub(self.period_ms()))
    }

    /// The settings after the recovery period changes to `days` at `now_ms`: a longer period
    /// cannot bring back what the shorter one already let go, so the log's start moves up to
    /// where the old period began.
    pub fn with_period(&self, days: u32, now_ms: u64) -> PitrDescriptor {
        PitrDescriptor {
            recovery_period_days: days,
            log_id: self.log_id,
            complete_since_ms: self.earliest_ms(now_ms),
            enabled_ms: self.enabled_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_bounded_by_the_log_start_and_the_period() {
        let d = PitrDescriptor {
            recovery_period_days: 1,
            log_id: 5,
            complete_since_ms: 10 * DAY_MS,
            enabled_ms: 10 * DAY_MS,
        };
        assert_eq!(d.earliest_ms(10 * DAY_MS + 5), 10 * DAY_MS);
        assert_eq!(d.earliest_ms(12 * DAY_MS), 11 * DAY_MS);
        // Lengthening the period later does not reach back past what was let go.
        let longer = d.with_period(35, 12 * DAY_MS);
        assert_eq!(longer.earliest_ms(12 * DAY_MS), 11 * DAY_MS);
        assert_eq!(longer.earliest_ms(20 * DAY_MS), 11 * DAY_MS);
    }
}
