//! The DynamoDB Streams operations: ListStreams, DescribeStream, GetShardIterator, GetRecords.
//!
//! They share one lookup (a stream by its ARN) and one view of a stream's shards (see
//! `crate::stream` for the shard and sequence-number design), so they live together.

use std::ops::{Bound, ControlFlow};
use std::sync::Arc;

use binderdb_storage::{Keyspace, PartitionRange};

use crate::catalog::TableDescriptor;
use crate::clock::epoch_seconds;
use crate::error::{Error, Result};
use crate::ops::key_schema_elements;
use crate::stream::records::{decode_record, format_seq};
use crate::stream::wire::{
    DescribeStreamInput, DescribeStreamOutput, GetRecordsInput, GetRecordsOutput,
    GetShardIteratorInput, GetShardIteratorOutput, Iterator, ListStreamsInput, ListStreamsOutput,
    SequenceNumberRange, Shard, StreamDescription, StreamSummary,
};
use crate::stream::{shard_partition, ShardRef, StreamDescriptor, SEQ_PER_MS};
use crate::{Database, RequestContext};

/// Shard iterators expire after 15 minutes, as in DynamoDB.
const ITERATOR_LIFETIME_MS: u64 = 15 * 60 * 1000;

/// A stream found by its ARN.
struct Found {
    table: Arc<TableDescriptor>,
    stream: StreamDescriptor,
    arn: String,
}

fn stream_not_found(arn: &str) -> Error {
    Error::ResourceNotFound(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

impl Database {
    pub(crate) fn table_arn(&self, d: &TableDescriptor) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            d.region, self.config.account_id, d.name
        )
    }

    /// Whether any of `stream`'s records can still be read at `now`.
    fn stream_alive(&self, stream: &StreamDescriptor, now: u64) -> bool {
        stream
            .disabled_ms
            .is_none_or(|d| d.saturating_add(self.config.stream_retention_ms) > now)
    }

    /// The stream an ARN names, if it exists and has not aged out.
    fn find_stream(&self, arn: &str) -> Result<Found> {
        let parsed = (|| {
            let rest = arn.strip_prefix("arn:aws:dynamodb:")?;
            let (region, rest) = rest.split_once(':')?;
            let (account, rest) = rest.split_once(':')?;
            let rest = rest.strip_prefix("table/")?;
            let (name, label) = rest.split_once("/stream/")?;
            (account == self.config.account_id).then_some((region, name, label))
        })();
        let (region, name, label) = parsed.ok_or_else(|| stream_not_found(arn))?;
        let table = self
            .catalog
            .get(region, name)
            .ok_or_else(|| stream_not_found(arn))?;
        let d = table.descriptor();
        let now = self.clock.now_millis();
        let stream = d
            .streams
            .iter()
            .find(|s| s.label() == label && self.stream_alive(s, now))
            .cloned()
            .ok_or_else(|| stream_not_found(arn))?;
        Ok(Found {
            table: d,
            stream,
            arn: arn.to_owned(),
        })
    }

    /// The oldest sequence number still readable at `now`.
    fn trim_horizon(&self, now: u64) -> u64 {
        now.saturating_sub(self.config.stream_retention_ms)
            .saturating_mul(SEQ_PER_MS)
    }

    /// The generations of `stream` with records still readable at `now`, oldest first.
    fn live_generations(
        &self,
        stream: &StreamDescriptor,
        now: u64,
    ) -> std::ops::RangeInclusive<u32> {
        let horizon = now.saturating_sub(self.config.stream_retention_ms);
        let last = stream.last_generation(now);
        let mut first = stream.generation_at(horizon);
        if stream.generation_end(first) <= horizon && first < last {
            first += 1;
        }
        first.min(last)..=last
    }

    /// Whether `shard` is closed at `now` (its generation ended).
    fn shard_closed(stream: &StreamDescriptor, shard: ShardRef, now: u64) -> bool {
        now >= stream.generation_end(shard.generation)
    }

    /// The shard `id` of `stream`, if it exists at `now`.
    fn live_shard(&self, stream: &StreamDescriptor, id: &str, now: u64) -> Result<ShardRef> {
        stream
            .parse_shard_id(id)
            .filter(|s| self.live_generations(stream, now).contains(&s.generation))
            .ok_or_else(|| {
                Error::ResourceNotFound(format!(
                    "Requested resource not found: Shard does not exist: {id}"
                ))
            })
    }

    /// The last record's sequence number in `shard`, if it has records.
    fn last_sequence(&self, stream: &StreamDescriptor, shard: ShardRef) -> Result<Option<u64>> {
        let partition = shard_partition(shard);
        let mut last = None;
        self.store.range(
            &PartitionRange {
                keyspace: Keyspace::Stream,
                table: stream.id,
                partition: &partition,
                lower: Bound::Unbounded,
                upper: Bound::Unbounded,
                reverse: true,
            },
            &mut |e| {
                last = e.sort.try_into().ok().map(u64::from_be_bytes);
                ControlFlow::Break(())
            },
        )?;
        Ok(last)
    }

    /// ListStreams.
    ///
    /// # Errors
    /// `ValidationException` for a Limit outside 1..=100.
    pub fn list_streams(
        &self,
        ctx: &RequestContext,
        input: ListStreamsInput,
    ) -> Result<ListStreamsOutput> {
        let limit = limit_in(input.limit, 100)?;
        let now = self.clock.now_millis();
        let mut all = Vec::new();
        for name in self.catalog.names(&ctx.region, None) {
            if input.table_name.as_ref().is_some_and(|t| *t != name) {
                continue;
            }
            let Some(table) = self.catalog.get(&ctx.region, &name) else {
                continue;
            };
            let d = table.descriptor();
            let table_arn = self.table_arn(&d);
            for s in d.streams.iter().filter(|s| self.stream_alive(s, now)) {
                all.push(StreamSummary {
                    stream_arn: s.arn(&table_arn),
                    table_name: d.name.clone(),
                    stream_label: s.label(),
                });
            }
        }
        let start = match &input.exclusive_start_stream_arn {
            Some(arn) => all
                .iter()
                .position(|s| s.stream_arn == *arn)
                .map_or(all.len(), |i| i + 1),
            None => 0,
        };
        let mut streams: Vec<StreamSummary> = all.into_iter().skip(start).collect();
        let more = streams.len() > limit as usize;
        streams.truncate(limit as usize);
        Ok(ListStreamsOutput {
            last_evaluated_stream_arn: more
                .then(|| streams.last().map(|s| s.stream_arn.clone()))
                .flatten(),
            streams,
        })
    }

    /// DescribeStream.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for an unknown stream; `ValidationException` for a missing
    /// ARN or a Limit outside 1..=100.
    pub fn describe_stream(
        &self,
        _ctx: &RequestContext,
        input: DescribeStreamInput,
    ) -> Result<DescribeStreamOutput> {
        let arn = required(input.stream_arn.as_deref(), "streamArn")?;
        let limit = limit_in(input.limit, 100)?;
        let found = self.find_stream(arn)?;
        let stream = &found.stream;
        let now = self.clock.now_millis();
        let mut refs = Vec::new();
        for generation in self.live_generations(stream, now) {
            for index in 0..stream.shards {
                refs.push(ShardRef { generation, index });
            }
        }
        let start = match &input.exclusive_start_shard_id {
            Some(id) => stream
                .parse_shard_id(id)
                .and_then(|s| refs.iter().position(|r| *r == s))
                .map_or(0, |i| i + 1),
            None => 0,
        };
        let mut shards = Vec::new();
        for &shard in refs.iter().skip(start).take(limit as usize) {
            let starting = stream
                .generation_start(shard.generation)
                .saturating_mul(SEQ_PER_MS);
            let ending = if Self::shard_closed(stream, shard, now) {
                Some(self.last_sequence(stream, shard)?.unwrap_or(starting))
            } else {
                None
            };
            shards.push(Shard {
                shard_id: stream.shard_id(shard),
                sequence_number_range: SequenceNumberRange {
                    starting_sequence_number: format_seq(starting),
                    ending_sequence_number: ending.map(format_seq),
                },
                parent_shard_id: shard.generation.checked_sub(1).map(|generation| {
                    stream.shard_id(ShardRef {
                        generation,
                        index: shard.index,
                    })
                }),
            });
        }
        let last_evaluated_shard_id = (start + shards.len() < refs.len())
            .then(|| shards.last().map(|s| s.shard_id.clone()))
            .flatten();
        let d = &found.table;
        Ok(DescribeStreamOutput {
            stream_description: StreamDescription {
                stream_arn: found.arn.clone(),
                stream_label: stream.label(),
                stream_status: if stream.enabled() {
                    "ENABLED"
                } else {
                    "DISABLED"
                }
                .to_owned(),
                stream_view_type: stream.view_type.as_str().to_owned(),
                creation_request_date_time: epoch_seconds(stream.created_ms),
                table_name: d.name.clone(),
                key_schema: key_schema_elements(
                    std::iter::once(&d.key_schema.hash),
                    d.key_schema.range.iter(),
                ),
                shards,
                last_evaluated_shard_id,
            },
        })
    }

    /// GetShardIterator.
    ///
    /// # Errors
    /// `ResourceNotFoundException` for an unknown stream or shard; `TrimmedDataAccessException`
    /// for a sequence number older than the retention; `ValidationException` for a missing or
    /// malformed sequence number.
    pub fn get_shard_iterator(
        &self,
        _ctx: &RequestContext,
        input: GetShardIteratorInput,
    ) -> Result<GetShardIteratorOutput> {
        let arn = required(input.stream_arn.as_deref(), "streamArn")?;
        let shard_id = required(input.shard_id.as_deref(), "shardId")?;
        let kind = required(input.shard_iterator_type.as_deref(), "shardIteratorType")?;
        let found = self.find_stream(arn)?;
        let stream = &found.stream;
        let now = self.clock.now_millis();
        let shard = self.live_shard(stream, shard_id, now)?;
        let start = stream
            .generation_start(shard.generation)
            .saturating_mul(SEQ_PER_MS);
        let horizon = self.trim_horizon(now);
        let sequence = || -> Result<u64> {
            let text = input.sequence_number.as_deref().ok_or_else(|| {
                Error::validation(format!(
                    "Must provide a SequenceNumber for ShardIteratorType {kind}"
                ))
            })?;
            let seq: u64 = text
                .parse()
                .map_err(|_| Error::validation(format!("Invalid SequenceNumber: {text}")))?;
            if seq < horizon {
                return Err(trimmed());
            }
            Ok(seq)
        };
        let position = match kind {
            "TRIM_HORIZON" => start.max(horizon),
            "LATEST" => {
                if Self::shard_closed(stream, shard, now) {
                    self.last_sequence(stream, shard)?.map_or(start, |s| s.saturating_add(1))
                } else {
                    self.sequencers.next(stream.id, now)
                }
            }
            "AT_SEQUENCE_NUMBER" => sequence()?,
            "AFTER_SEQUENCE_NUMBER" => sequence()?.saturating_add(1),
            other => {
                return Err(Error::validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardIteratorType' failed \
                     to satisfy constraint: Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, \
                     LATEST, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON]"
                )))
            }
        };
        Ok(GetShardIteratorOutput {
            shard_iterator: Iterator {
                stream_arn: found.arn.clone(),
                shard_id: shard_id.to_owned(),
                position,
                issued_ms: now,
            }
            .encode(),
        })
    }

    /// GetRecords.
    ///
    /// # Errors
    /// `ExpiredIteratorException` 15 minutes after the iterator was issued;
    /// `TrimmedDataAccessException` when it points before the oldest record kept;
    /// `ResourceNotFoundException` when its stream or shard is gone; `ValidationException` for a
    /// malformed iterator or a Limit outside 1..=1000.
    pub fn get_records(
        &self,
        _ctx: &RequestContext,
        input: GetRecordsInput,
    ) -> Result<GetRecordsOutput> {
        let text = required(input.shard_iterator.as_deref(), "shardIterator")?;
        let limit = limit_in(input.limit, 1000)?;
        let iterator = Iterator::decode(text)?;
        let now = self.clock.now_millis();
        if now.saturating_sub(iterator.issued_ms) > ITERATOR_LIFETIME_MS {
            return Err(Error::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} \
                 which is further in the future than the tolerated delay of {ITERATOR_LIFETIME_MS} \
                 milliseconds.",
                crate::stream::iso_millis(iterator.issued_ms),
                crate::stream::iso_millis(now)
            )));
        }
        let found = self.find_stream(&iterator.stream_arn)?;
        let stream = &found.stream;
        // A position before the horizon is trimmed data, even once its whole shard aged out.
        if stream.parse_shard_id(&iterator.shard_id).is_some()
            && iterator.position < self.trim_horizon(now)
        {
            return Err(trimmed());
        }
        let shard = self.live_shard(stream, &iterator.shard_id, now)?;
        // Never past a number still in flight: a record below it may yet commit.
        let visible = self.sequencers.visible_below(stream.id);
        let partition = shard_partition(shard);
        let lower = iterator.position.to_be_bytes();
        let upper = visible.to_be_bytes();
        let mut records = Vec::new();
        let mut next = iterator.position;
        let mut failure = None;
        let mut bytes = 0usize;
        let region = found.table.region.clone();
        self.store.range(
            &PartitionRange {
                keyspace: Keyspace::Stream,
                table: stream.id,
                partition: &partition,
                lower: Bound::Included(&lower),
                upper: Bound::Excluded(&upper),
                reverse: false,
            },
            &mut |e| {
                let Ok(seq) = e.sort.try_into().map(u64::from_be_bytes) else {
                    failure = Some(Error::Internal("corrupt stream key".to_owned()));
                    return ControlFlow::Break(());
                };
                match decode_record(e.value) {
                    Ok(r) => {
                        bytes += e.value.len();
                        records.push(r.into_wire(stream.id, seq, &region, stream.view_type));
                        next = seq.saturating_add(1);
                    }
                    Err(err) => {
                        failure = Some(err);
                        return ControlFlow::Break(());
                    }
                }
                // A page stops at Limit records or 1 MB, as DynamoDB's does.
                if records.len() >= limit as usize || bytes >= 1024 * 1024 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        if let Some(e) = failure {
            return Err(e);
        }
        let end = stream
            .generation_end(shard.generation)
            .saturating_mul(SEQ_PER_MS);
        let drained =
            records.is_empty() && Self::shard_closed(stream, shard, now) && visible >= end;
        Ok(GetRecordsOutput {
            records,
            next_shard_iterator: (!drained).then(|| {
                Iterator {
                    position: next,
                    issued_ms: now,
                    ..iterator
                }
                .encode()
            }),
        })
    }
}

/// A request's `Limit`, `max` when absent; outside `1..=max` it is DynamoDB's constraint error.
fn limit_in<T>(limit: Option<T>, max: T) -> Result<T>
where
    T: Copy + PartialOrd + From<u8> + std::fmt::Display,
{
    let limit = limit.unwrap_or(max);
    if limit < T::from(1) || limit > max {
        let bound = if limit < T::from(1) {
            "greater than or equal to 1".to_owned()
        } else {
            format!("less than or equal to {max}")
        };
        return Err(Error::validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy \
             constraint: Member must have value {bound}"
        )));
    }
    Ok(limit)
}

fn trimmed() -> Error {
    Error::TrimmedDataAccess(
        "The operation attempted to read past the oldest stream record in a shard.".to_owned(),
    )
}

/// A required member, with DynamoDB's "must not be null" validation message.
fn required<'a>(v: Option<&'a str>, member: &str) -> Result<&'a str> {
    v.ok_or_else(|| {
        Error::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy \
             constraint: Member must not be null"
        ))
    })
}
