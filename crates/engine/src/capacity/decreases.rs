//! DynamoDB's limit on provisioned-throughput decreases: four at any time in a UTC day, then
//! one more per hour as long as the previous decrease is an hour old (27 a day at most).
//!
//! Enforced where throttling is on (`capacity::throttle`): binderdb keeps local development
//! free of it otherwise.

use crate::error::{Error, Result};

/// Decreases allowed at any time in a UTC day.
pub const FREE_DECREASES_PER_DAY: i64 = 4;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;

/// Refuses a decrease at `now` when the day's free ones are used and the last decrease is less
/// than an hour old.
///
/// # Errors
/// `LimitExceededException` with DynamoDB's text.
pub fn check_decrease(last_decrease_ms: Option<u64>, decreases_today: i64, now: u64) -> Result<()> {
    let Some(last) = last_decrease_ms.filter(|t| t / DAY_MS == now / DAY_MS) else {
        return Ok(());
    };
    if decreases_today < FREE_DECREASES_PER_DAY || now >= last + HOUR_MS {
        return Ok(());
    }
    Err(Error::LimitExceeded(format!(
        "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given \
         UTC day. After the first {FREE_DECREASES_PER_DAY} decreases, each subsequent decrease in \
         the same UTC day can be performed at most once every 3600 seconds. Number of decreases \
         today: {decreases_today}. Last decrease at {}. Next decrease can be made at {}",
        long_date(last),
        // An hour after the last one, or at midnight UTC when the day's budget starts over,
        // whichever comes first (DDB-TABLE-184, 185, 326).
        long_date((last + HOUR_MS).min((last / DAY_MS + 1) * DAY_MS))
    )))
}

/// A time as DynamoDB writes it in that message today: `Friday, October 9, 2026 at 12:21:34 AM
/// Coordinated Universal Time` (the ack-api-quirks lab's DDB-TABLE-184, 326, 2026; messages
/// quoted from 2018 and 2019 read `Wednesday, July 25, 2018 7:49:29 PM UTC`).
pub fn long_date(ms: u64) -> String {
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let days = ms / DAY_MS;
    let secs = (ms % DAY_MS) / 1000;
    let (year, month, day) = civil(days as i64);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let (h12, half) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!(
        "{}, {} {day}, {year} at {h12}:{m:02}:{s:02} {half} Coordinated Universal Time",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_dynamodb_writes_them() {
        // 2018-07-25T19:49:29Z
        assert_eq!(
            long_date(1_532_548_169_000),
            "Wednesday, July 25, 2018 at 7:49:29 PM Coordinated Universal Time"
        );
        assert_eq!(
            long_date(0),
            "Thursday, January 1, 1970 at 12:00:00 AM Coordinated Universal Time"
        );
    }

    #[test]
    fn the_next_decrease_is_at_midnight_when_that_comes_first() {
        // 2026-10-08T23:20:48Z, as in the lab's DDB-TABLE-184.
        let last = 1_791_501_648_000;
        let message = check_decrease(Some(last), 4, last + 1)
            .unwrap_err()
            .to_string();
        assert!(
            message.ends_with(
                "Last decrease at Thursday, October 8, 2026 at 11:20:48 PM Coordinated \
                 Universal Time. Next decrease can be made at Friday, October 9, 2026 at \
                 12:00:00 AM Coordinated Universal Time"
            ),
            "{message}"
        );
    }

    #[test]
    fn four_decreases_are_free_then_one_an_hour() {
        let day = 20_000 * DAY_MS;
        assert!(check_decrease(None, 0, day).is_ok());
        assert!(check_decrease(Some(day), 3, day + 1).is_ok());
        assert!(check_decrease(Some(day), 4, day + 1).is_err());
        assert!(check_decrease(Some(day), 4, day + HOUR_MS).is_ok());
        // A new UTC day starts afresh.
        assert!(check_decrease(Some(day + DAY_MS - 1), 9, day + DAY_MS).is_ok());
    }
}
