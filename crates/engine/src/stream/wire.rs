//! Request and response shapes of the DynamoDB Streams API, and the shard iterator format.
//!
//! A shard iterator is `<stream arn>|1|<shard id>|<next sequence number>|<issued ms>`: opaque to
//! clients, self-contained (no server state), so iterators survive restarts; it expires 15
//! minutes after it was issued, by the injected clock.

use serde::{Deserialize, Serialize};

use super::records::Record;
use crate::api::KeySchemaElement;
use crate::error::{Error, Result};

/// ListStreams request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsInput {
    pub table_name: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub limit: Option<i32>,
    pub exclusive_start_stream_arn: Option<String>,
}

/// One stream of ListStreams.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSummary {
    pub stream_arn: String,
    pub table_name: String,
    pub stream_label: String,
}

/// ListStreams response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsOutput {
    pub streams: Vec<StreamSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_stream_arn: Option<String>,
}

/// DescribeStream request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamInput {
    pub stream_arn: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub limit: Option<i32>,
    pub exclusive_start_shard_id: Option<String>,
}

/// A shard's `SequenceNumberRange`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange {
    pub starting_sequence_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ending_sequence_number: Option<String>,
}

/// One shard of DescribeStream.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shard {
    pub shard_id: String,
    pub sequence_number_range: SequenceNumberRange,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shard_id: Option<String>,
}

/// DescribeStream's `StreamDescription`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    pub stream_arn: String,
    pub stream_label: String,
    pub stream_status: String,
    pub stream_view_type: String,
    pub creation_request_date_time: f64,
    pub table_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub shards: Vec<Shard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_evaluated_shard_id: Option<String>,
}

/// DescribeStream response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamOutput {
    pub stream_description: StreamDescription,
}

/// GetShardIterator request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorInput {
    pub stream_arn: Option<String>,
    pub shard_id: Option<String>,
    pub shard_iterator_type: Option<String>,
    pub sequence_number: Option<String>,
}

/// GetShardIterator response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorOutput {
    pub shard_iterator: String,
}

/// GetRecords request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsInput {
    pub shard_iterator: Option<String>,
    #[serde(default, deserialize_with = "binderdb_model::wire::truncating_i32")]
    pub limit: Option<i32>,
}

/// GetRecords response; `NextShardIterator` is absent once a closed shard is drained.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    pub records: Vec<Record>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_shard_iterator: Option<String>,
}

/// A decoded shard iterator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Iterator {
    pub(crate) stream_arn: String,
    pub(crate) shard_id: String,
    /// The first sequence number the next GetRecords may return.
    pub(crate) position: u64,
    pub(crate) issued_ms: u64,
}

impl Iterator {
    pub(crate) fn encode(&self) -> String {
        format!(
            "{}|1|{}|{}|{}",
            self.stream_arn, self.shard_id, self.position, self.issued_ms
        )
    }

    /// # Errors
    /// `ValidationException` for anything [`Iterator::encode`] did not write.
    pub(crate) fn decode(text: &str) -> Result<Iterator> {
        let invalid = || Error::validation("Invalid ShardIterator");
        let mut parts = text.rsplitn(5, '|');
        let issued_ms = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?;
        let position = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?;
        let shard_id = parts.next().ok_or_else(invalid)?.to_owned();
        if parts.next() != Some("1") {
            return Err(invalid());
        }
        let stream_arn = parts.next().ok_or_else(invalid)?.to_owned();
        Ok(Iterator {
            stream_arn,
            shard_id,
            position,
            issued_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterators_round_trip_and_reject_garbage() {
        let it = Iterator {
            stream_arn: "arn:aws:dynamodb:us-east-1:0:table/t/stream/x".into(),
            shard_id: "shardId-1".into(),
            position: 42,
            issued_ms: 7,
        };
        assert_eq!(Iterator::decode(&it.encode()).unwrap(), it);
        for bad in ["", "a|b", "x|2|s|1|2", "x|1|s|one|2", "|||||"] {
            assert!(Iterator::decode(bad).is_err(), "{bad}");
        }
    }
}
