//! Request and response shapes of the Kinesis streaming destination operations
//! (EnableKinesisStreamingDestination, DisableKinesisStreamingDestination,
//! UpdateKinesisStreamingDestination, DescribeKinesisStreamingDestination; the last takes a
//! [`super::TableNameInput`]).

use serde::{Deserialize, Serialize};

super::strict::structures!(
    KinesisStreamingDestinationInput,
    KinesisStreamingConfiguration,
    UpdateKinesisStreamingDestinationInput;
    serialize: KinesisStreamingConfiguration
);

/// EnableKinesisStreamingDestination and DisableKinesisStreamingDestination request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct KinesisStreamingDestinationInput {
    pub table_name: Option<String>,
    pub stream_arn: Option<String>,
    pub enable_kinesis_streaming_configuration: Option<KinesisStreamingConfiguration>,
}

/// `EnableKinesisStreamingConfiguration` and `UpdateKinesisStreamingConfiguration` (two
/// shapes of DynamoDB's with the same one member).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct KinesisStreamingConfiguration {
    /// `MILLISECOND` or `MICROSECOND`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_creation_date_time_precision: Option<String>,
}

/// EnableKinesisStreamingDestination and DisableKinesisStreamingDestination response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KinesisStreamingDestinationOutput {
    pub table_name: String,
    pub stream_arn: String,
    pub destination_status: String,
    /// The request's configuration, `{}` when it gave none (as DynamoDB echoes it).
    pub enable_kinesis_streaming_configuration: KinesisStreamingConfiguration,
}

/// UpdateKinesisStreamingDestination request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", remote = "Self")]
pub struct UpdateKinesisStreamingDestinationInput {
    pub table_name: Option<String>,
    pub stream_arn: Option<String>,
    pub update_kinesis_streaming_configuration: Option<KinesisStreamingConfiguration>,
}

/// UpdateKinesisStreamingDestination response (never given by binderdb: only an ACTIVE
/// destination can be updated, see [`crate::kinesis`]).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateKinesisStreamingDestinationOutput {
    pub table_name: String,
    pub stream_arn: String,
    pub destination_status: String,
    pub update_kinesis_streaming_configuration: KinesisStreamingConfiguration,
}

/// One `KinesisDataStreamDestinations` member.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KinesisDataStreamDestination {
    pub stream_arn: String,
    pub destination_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_status_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_creation_date_time_precision: Option<String>,
}

/// DescribeKinesisStreamingDestination response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKinesisStreamingDestinationOutput {
    pub table_name: String,
    pub kinesis_data_stream_destinations: Vec<KinesisDataStreamDestination>,
}
