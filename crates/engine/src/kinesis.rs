//! Kinesis Data Streams destinations of a table, as EnableKinesisStreamingDestination,
//! DisableKinesisStreamingDestination, UpdateKinesisStreamingDestination and
//! DescribeKinesisStreamingDestination report and change them.
//!
//! binderdb has no Kinesis, so no stream exists in its world, and it answers exactly what
//! DynamoDB answers for a stream that does not exist. This is not a stub: it is DynamoDB's
//! recorded behaviour (the ack-api-quirks lab, on DynamoDB in 2026: DDB-TABLE-234, 235, 236,
//! 268, 299, 300, 301, 302, 318, 319, 460):
//! - Enable never checks the stream while answering: a well-formed ARN is accepted with
//!   `DestinationStatus: ENABLING`, and the destination becomes `ENABLE_FAILED` a moment later
//!   (1–2 s in DynamoDB; binderdb: after the configured `create_delay_ms`, like every other
//!   table change), described "User does not have a permission to use kinesis stream" (the
//!   text DynamoDB gives a nonexistent stream, a table ARN, a consumer ARN).
//! - ENABLE_FAILED entries accumulate, one per ARN, newest first; an Enable of an ARN that has
//!   one flips it back to ENABLING (no duplicate). At most one entry may be live (ENABLING,
//!   ACTIVE, UPDATING, DISABLING): another Enable meanwhile is a ValidationException.
//! - Disable and Update need an ACTIVE entry, so in binderdb they always answer DynamoDB's
//!   ValidationException texts (never ResourceNotFoundException, even for an ARN the table
//!   never had).
//! - The list is kept with the table (the catalog descriptor): it survives restarts, goes
//!   with DeleteTable (a same-name table starts empty) and is not copied by a restore.
//!
//! Must not depend on: HTTP or any storage engine.

use serde::{Deserialize, Serialize};

/// The prefix of every refusal caused by a destination's state.
const STATE_PREFIX: &str =
    "Table is not in a valid state to enable Kinesis Streaming Destination: ";

/// `DestinationStatusDescription` of a stream DynamoDB cannot use because it does not exist.
pub const NO_STREAM: &str = "User does not have a permission to use kinesis stream";

/// One destination the table has had, as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KinesisDestination {
    /// `StreamArn`, as the Enable gave it.
    pub stream_arn: String,
    /// `ApproximateCreationDateTimePrecision` the last Enable asked for (absent: none, which
    /// DynamoDB reports by leaving the member out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
    /// When the last Enable of this ARN was accepted, ms since the epoch.
    pub enabled_ms: u64,
    /// ENABLING before this instant, ENABLE_FAILED from it.
    pub fails_at_ms: u64,
}

impl KinesisDestination {
    /// `DestinationStatus` at `now_ms`.
    pub fn status(&self, now_ms: u64) -> &'static str {
        if now_ms < self.fails_at_ms {
            "ENABLING"
        } else {
            "ENABLE_FAILED"
        }
    }

    /// `DestinationStatusDescription` at `now_ms`: only a failed destination has one.
    pub fn description(&self, now_ms: u64) -> Option<&'static str> {
        (self.status(now_ms) == "ENABLE_FAILED").then_some(NO_STREAM)
    }

    /// Whether the entry is live: any status but DISABLED and ENABLE_FAILED.
    fn live(&self, now_ms: u64) -> bool {
        self.status(now_ms) == "ENABLING"
    }
}

/// The refusal of an Enable while another destination is live (or the table is DELETING).
pub(crate) fn enable_refused() -> String {
    format!(
        "{STATE_PREFIX}EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to \
         perform ENABLE operation."
    )
}

/// The refusal of a Disable of anything but an ACTIVE destination.
pub(crate) fn disable_refused() -> String {
    format!(
        "{STATE_PREFIX}KinesisStreamingDestination must be ACTIVE to perform DISABLE operation."
    )
}

/// The refusal of an Update of `arn` on table `table`: unknown to the table, or not ACTIVE.
pub(crate) fn update_refused(
    destinations: &[KinesisDestination],
    table: &str,
    arn: &str,
) -> String {
    if destinations.iter().any(|d| d.stream_arn == arn) {
        format!(
            "{STATE_PREFIX}Kinesis streaming is not in ACTIVE state. Updates are only allowed in \
             ACTIVE state. TableName: {table}, kdsArn: {arn}"
        )
    } else {
        format!(
            "{STATE_PREFIX}No streaming destination with streamArn: {arn} found for table with \
             tableName: {table}"
        )
    }
}

/// The destinations after an Enable of `arn` (with `precision`) at `now_ms`, ENABLING for
/// `delay_ms`: the ARN's existing entry flipped in place, or a new one first.
///
/// # Errors
/// The refusal text when a destination is live.
pub(crate) fn enable(
    destinations: &[KinesisDestination],
    arn: &str,
    precision: Option<&str>,
    now_ms: u64,
    delay_ms: u64,
) -> Result<Vec<KinesisDestination>, String> {
    if destinations.iter().any(|d| d.live(now_ms)) {
        return Err(enable_refused());
    }
    let entry = KinesisDestination {
        stream_arn: arn.to_owned(),
        precision: precision.map(str::to_owned),
        enabled_ms: now_ms,
        fails_at_ms: now_ms.saturating_add(delay_ms),
    };
    let mut next = destinations.to_vec();
    match next.iter_mut().find(|d| d.stream_arn == arn) {
        Some(existing) => *existing = entry,
        None => next.insert(0, entry),
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/a";
    const B: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/b";

    #[test]
    fn enables_fail_accumulate_newest_first_and_flip_in_place() {
        let one = enable(&[], A, None, 1_000, 10).unwrap();
        assert_eq!(one[0].status(1_009), "ENABLING");
        assert_eq!(one[0].description(1_009), None);
        assert_eq!(one[0].status(1_010), "ENABLE_FAILED");
        assert_eq!(one[0].description(1_010), Some(NO_STREAM));
        // A live entry refuses every Enable, of its ARN or another.
        assert_eq!(enable(&one, A, None, 1_005, 10), Err(enable_refused()));
        assert_eq!(enable(&one, B, None, 1_005, 10), Err(enable_refused()));

        let two = enable(&one, B, Some("MICROSECOND"), 2_000, 10).unwrap();
        let arns: Vec<&str> = two.iter().map(|d| d.stream_arn.as_str()).collect();
        assert_eq!(arns, [B, A]);
        assert_eq!(two[0].precision.as_deref(), Some("MICROSECOND"));

        let flipped = enable(&two, A, None, 3_000, 10).unwrap();
        assert_eq!(flipped.len(), 2);
        assert_eq!(flipped[1].stream_arn, A);
        assert_eq!(flipped[1].status(3_000), "ENABLING");
        assert_eq!(flipped[0].status(3_000), "ENABLE_FAILED");
    }

    #[test]
    fn update_refusals_tell_unknown_from_not_active() {
        let one = enable(&[], A, None, 0, 0).unwrap();
        assert!(update_refused(&one, "T", A).ends_with(&format!(
            "Updates are only allowed in ACTIVE state. TableName: T, kdsArn: {A}"
        )));
        assert!(update_refused(&one, "T", B).ends_with(&format!(
            "No streaming destination with streamArn: {B} found for table with tableName: T"
        )));
    }
}
