//! EnableKinesisStreamingDestination, DisableKinesisStreamingDestination,
//! UpdateKinesisStreamingDestination and DescribeKinesisStreamingDestination: a table's Kinesis
//! streaming destinations (see [`crate::kinesis`] for what is kept and how it moves; in
//! binderdb every Enable ends ENABLE_FAILED, DynamoDB's answer for a stream that does not
//! exist).
//!
//! Which tables they address, as DynamoDB admits them (the ack-api-quirks lab's DDB-TABLE-234,
//! 236, 460): a missing or CREATING table is ResourceNotFoundException "Requested resource not
//! found: Table: T not found"; an UPDATING one is served as usual; while a table is DELETING
//! (`crate::deleting`), Describe lists its destinations as they were, Enable and Disable are
//! ValidationException, and Update refuses as for any destination that is not ACTIVE.
//!
//! DynamoDB's order between the request checks ("Stream cannot be disabled using
//! EnableKinesisStreamingConfiguration parameters", "UpdateKinesisStreamingConfiguration cannot
//! be null ...") and the table and state checks was not recorded; binderdb checks the request
//! first, as it does everywhere.

use std::sync::Arc;

use crate::api::{
    DescribeKinesisStreamingDestinationOutput, KinesisDataStreamDestination,
    KinesisStreamingDestinationInput, KinesisStreamingDestinationOutput, TableNameInput,
    UpdateKinesisStreamingDestinationInput, UpdateKinesisStreamingDestinationOutput,
};
use crate::catalog::{Table, TableDescriptor};
use crate::error::{Error, Result};
use crate::kinesis::{self, KinesisDestination};
use crate::ops::table_name;
use crate::{Database, RequestContext};

/// The table a Kinesis operation addresses, or the destinations of the table DELETING under
/// that name.
enum Addressed {
    Table(Arc<Table>),
    Deleting(Vec<KinesisDestination>),
}

/// The `StreamArn` of a request; the server checks it is there, this keeps the engine safe
/// when embedded.
fn stream_arn(arn: &Option<String>) -> Result<&str> {
    arn.as_deref().ok_or_else(|| {
        Error::validation(
            "1 validation error detected: Value null at 'streamArn' failed to satisfy \
             constraint: Member must not be null",
        )
    })
}

/// The `KinesisDataStreamDestinations` of `destinations` at `now_ms`.
fn describe_destinations(
    destinations: &[KinesisDestination],
    now_ms: u64,
) -> Vec<KinesisDataStreamDestination> {
    destinations
        .iter()
        .map(|d| KinesisDataStreamDestination {
            stream_arn: d.stream_arn.clone(),
            destination_status: d.status(now_ms).to_owned(),
            destination_status_description: d.description(now_ms).map(str::to_owned),
            approximate_creation_date_time_precision: d.precision.clone(),
        })
        .collect()
}

impl Database {
    /// The table `name` as the Kinesis operations see it.
    fn kinesis_table(&self, ctx: &RequestContext, name: &str) -> Result<Addressed> {
        let now = self.clock.now_millis();
        let not_found = || {
            Error::ResourceNotFound(format!(
                "Requested resource not found: Table: {name} not found"
            ))
        };
        match self.catalog.get(ctx.account(), &ctx.region, name) {
            Some(table) => {
                ctx.touched.note(self.table_capacity(&table));
                if table.descriptor().status(now) == "CREATING" {
                    return Err(not_found());
                }
                Ok(Addressed::Table(table))
            }
            None => self
                .deleting
                .kinesis(ctx.account(), &ctx.region, name, now)
                .map(Addressed::Deleting)
                .ok_or_else(not_found),
        }
    }

    /// EnableKinesisStreamingDestination: accepted as ENABLING (flipping the ARN's failed
    /// entry, or adding one first), ENABLE_FAILED after `create_delay_ms`.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for a missing or CREATING table; `ValidationException`
    /// while a destination is live or the table is DELETING; storage failures.
    pub fn enable_kinesis_streaming_destination(
        &self,
        ctx: &RequestContext,
        input: KinesisStreamingDestinationInput,
    ) -> Result<KinesisStreamingDestinationOutput> {
        let name = table_name(&input.table_name)?;
        let arn = stream_arn(&input.stream_arn)?;
        let configuration = input
            .enable_kinesis_streaming_configuration
            .unwrap_or_default();
        let _ddl = self.catalog.lock_ddl(self.store.as_ref())?;
        let Addressed::Table(table) = self.kinesis_table(ctx, name)? else {
            return Err(Error::validation(kinesis::enable_refused()));
        };
        let current = table.descriptor();
        let destinations = kinesis::enable(
            &current.kinesis,
            arn,
            configuration
                .approximate_creation_date_time_precision
                .as_deref(),
            self.clock.now_millis(),
            self.config.create_delay_ms,
        )
        .map_err(Error::validation)?;
        self.catalog.put(
            self.store.as_ref(),
            TableDescriptor {
                kinesis: destinations,
                ..(*current).clone()
            },
        )?;
        Ok(KinesisStreamingDestinationOutput {
            table_name: current.name.clone(),
            stream_arn: arn.to_owned(),
            destination_status: "ENABLING".to_owned(),
            enable_kinesis_streaming_configuration: configuration,
        })
    }

    /// DisableKinesisStreamingDestination. Only an ACTIVE destination can be disabled, and in
    /// binderdb none ever is, so this always refuses, in DynamoDB's words.
    ///
    /// # Errors
    /// `ValidationException` for a request with `EnableKinesisStreamingConfiguration`, and for
    /// every destination (none is ACTIVE); `ResourceNotFoundException` for a missing or
    /// CREATING table.
    pub fn disable_kinesis_streaming_destination(
        &self,
        ctx: &RequestContext,
        input: KinesisStreamingDestinationInput,
    ) -> Result<KinesisStreamingDestinationOutput> {
        let name = table_name(&input.table_name)?;
        stream_arn(&input.stream_arn)?;
        if input.enable_kinesis_streaming_configuration.is_some() {
            return Err(Error::validation(
                "Stream cannot be disabled using EnableKinesisStreamingConfiguration parameters",
            ));
        }
        self.kinesis_table(ctx, name)?;
        Err(Error::validation(kinesis::disable_refused()))
    }

    /// UpdateKinesisStreamingDestination. Only an ACTIVE destination can be updated, and in
    /// binderdb none ever is, so this always refuses, in DynamoDB's words.
    ///
    /// # Errors
    /// `ValidationException` without a precision to set, and for every `StreamArn` (unknown
    /// to the table, or not ACTIVE); `ResourceNotFoundException` for a missing or CREATING
    /// table.
    pub fn update_kinesis_streaming_destination(
        &self,
        ctx: &RequestContext,
        input: UpdateKinesisStreamingDestinationInput,
    ) -> Result<UpdateKinesisStreamingDestinationOutput> {
        let name = table_name(&input.table_name)?;
        let arn = stream_arn(&input.stream_arn)?;
        if input
            .update_kinesis_streaming_configuration
            .as_ref()
            .and_then(|c| c.approximate_creation_date_time_precision.as_ref())
            .is_none()
        {
            return Err(Error::validation(
                "Streaming destination cannot be updated with given parameters: \
                 UpdateKinesisStreamingConfiguration cannot be null or contain only null values",
            ));
        }
        let (table, destinations) = match self.kinesis_table(ctx, name)? {
            Addressed::Table(table) => {
                let d = table.descriptor();
                (d.name.clone(), d.kinesis.clone())
            }
            Addressed::Deleting(destinations) => (name.to_owned(), destinations),
        };
        Err(Error::validation(kinesis::update_refused(
            &destinations,
            &table,
            arn,
        )))
    }

    /// DescribeKinesisStreamingDestination: every destination the table has had, newest first
    /// (`[]` for none).
    ///
    /// # Errors
    /// `ResourceNotFoundException` for a missing or CREATING table.
    pub fn describe_kinesis_streaming_destination(
        &self,
        ctx: &RequestContext,
        input: TableNameInput,
    ) -> Result<DescribeKinesisStreamingDestinationOutput> {
        let name = table_name(&input.table_name)?;
        let now = self.clock.now_millis();
        let (named, destinations) = match self.kinesis_table(ctx, name)? {
            Addressed::Table(table) => {
                let d = table.descriptor();
                (d.name.clone(), describe_destinations(&d.kinesis, now))
            }
            Addressed::Deleting(destinations) => {
                (name.to_owned(), describe_destinations(&destinations, now))
            }
        };
        Ok(DescribeKinesisStreamingDestinationOutput {
            table_name: named,
            kinesis_data_stream_destinations: destinations,
        })
    }
}
