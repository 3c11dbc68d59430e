//! Request constraints of the Kinesis streaming destination operations: `TableName` as for
//! every table operation, `StreamArn` 37 to 1024 characters (DynamoDB: "Value '' at
//! 'streamArn' failed to satisfy constraint: Member must have length greater than or equal to
//! 37", the ack-api-quirks lab's DDB-TABLE-457), and the precision enum.
//! DescribeKinesisStreamingDestination takes only a `TableName` ([`super::table_name_only`]).

use binderdb_engine::api::{
    KinesisStreamingDestinationInput, UpdateKinesisStreamingDestinationInput,
};

use super::Violations;
use crate::error::ApiError;

const PRECISION: &[&str] = &["MILLISECOND", "MICROSECOND"];

/// The members of every destination change, in DynamoDB's order: `TableName`, `StreamArn`,
/// then the precision of its configuration, found at `configuration`.
fn destination_change(
    table: Option<&String>,
    arn: Option<&String>,
    configuration: &str,
    precision: Option<&String>,
) -> Result<(), ApiError> {
    let mut v = Violations::default();
    v.table_name(table);
    if v.not_null("streamArn", arn) {
        v.optional_length("streamArn", arn, 37, 1024);
    }
    v.one_of(
        &format!("{configuration}.approximateCreationDateTimePrecision"),
        precision,
        PRECISION,
    );
    v.finish()
}

/// EnableKinesisStreamingDestination and DisableKinesisStreamingDestination.
pub fn kinesis_streaming_destination(r: &KinesisStreamingDestinationInput) -> Result<(), ApiError> {
    destination_change(
        r.table_name.as_ref(),
        r.stream_arn.as_ref(),
        "enableKinesisStreamingConfiguration",
        r.enable_kinesis_streaming_configuration
            .as_ref()
            .and_then(|c| c.approximate_creation_date_time_precision.as_ref()),
    )
}

/// UpdateKinesisStreamingDestination.
pub fn update_kinesis_streaming_destination(
    r: &UpdateKinesisStreamingDestinationInput,
) -> Result<(), ApiError> {
    destination_change(
        r.table_name.as_ref(),
        r.stream_arn.as_ref(),
        "updateKinesisStreamingConfiguration",
        r.update_kinesis_streaming_configuration
            .as_ref()
            .and_then(|c| c.approximate_creation_date_time_precision.as_ref()),
    )
}
