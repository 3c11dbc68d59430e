//! The DynamoDB Streams operations: ListStreams, DescribeStream, GetShardIterator, GetRecords.
//!
//! They share one lookup (a stream by its ARN) and one view of a stream's shards (see
//! `crate::stream` for the shard and sequence-number design), so they live together.

use std::ops::{Bound, ControlFlow};

use binderdb_storage::{Keyspace, PartitionRange};

use crate::catalog::KeySchema;
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

/// A stream found by its ARN: of a live table, or of a deleted one (retired).
struct Found {
    region: String,
    table_name: String,
    key_schema: KeySchema,
    stream: StreamDescriptor,
    arn: String,
}

/// One shard as readers see it.
#[derive(Debug, Clone, Copy)]
struct ShardView {
    shard: ShardRef,
    /// Its first sequence number.
    start: u64,
    /// Every record of it numbers below this.
    end: u64,
    /// Whether it was closed when the view was taken.
    closed: bool,
}

/// The view of epoch `epoch` of slot `(generation, index)` whose later epochs start at
/// `starts` (see `stream::shards`), at `now`.
fn shard_view(
    stream: &StreamDescriptor,
    generation: u32,
    index: u16,
    epoch: usize,
    starts: &[u64],
    now: u64,
) -> ShardView {
    let generation_end = stream.generation_end(generation);
    ShardView {
        shard: ShardRef {
            generation,
            index,
            epoch: epoch as u16,
        },
        start: match epoch {
            0 => stream
                .generation_start(generation)
                .saturating_mul(SEQ_PER_MS),
            e => starts[e - 1],
        },
        end: starts
            .get(epoch)
            .copied()
            .unwrap_or(generation_end.saturating_mul(SEQ_PER_MS)),
        closed: epoch < starts.len() || now >= generation_end,
    }
}

fn stream_not_found(arn: &str) -> Error {
    Error::ResourceNotFound(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

/// DynamoDB's text names no shard (consumers such as the Kinesis Client Library match it).
fn shard_not_found() -> Error {
    Error::ResourceNotFound("Requested resource not found: Shard does not exist".to_owned())
}

impl Database {
    /// The ARN of table `name` of `account` (`None`: the server's default account) in `region`.
    fn arn_of_table(&self, account: Option<&str>, region: &str, name: &str) -> String {
        format!(
            "arn:aws:dynamodb:{region}:{}:table/{name}",
            account.unwrap_or(&self.config.account_id)
        )
    }

    /// Whether any of `stream`'s records can still be read at `now`.
    fn stream_alive(&self, stream: &StreamDescriptor, now: u64) -> bool {
        stream
            .disabled_ms
            .is_none_or(|d| d.saturating_add(self.config.stream_retention_ms) > now)
    }

    /// `StreamStatus` at `now`: ENABLING and DISABLING last as long as a table's CREATING
    /// (`Config::create_delay_ms`, by the injected clock), as DynamoDB shows them for a few
    /// seconds. Records are written from the moment the stream was enabled and stop the moment
    /// it was disabled; only the status lags.
    fn stream_status(&self, stream: &StreamDescriptor, now: u64) -> &'static str {
        let delay = self.config.create_delay_ms;
        match stream.disabled_ms {
            None if now < stream.created_ms.saturating_add(delay) => "ENABLING",
            None => "ENABLED",
            Some(d) if now < d.saturating_add(delay) => "DISABLING",
            Some(_) => "DISABLED",
        }
    }

    /// The stream an ARN names, if it exists in the caller's account and has not aged out: one of a live table's, or
    /// of a deleted table's (kept readable for the retention after the deletion).
    fn find_stream(&self, ctx: &RequestContext, arn: &str) -> Result<Found> {
        let parsed = (|| {
            let rest = arn.strip_prefix("arn:aws:dynamodb:")?;
            let (region, rest) = rest.split_once(':')?;
            let (account, rest) = rest.split_once(':')?;
            let rest = rest.strip_prefix("table/")?;
            let (name, label) = rest.split_once("/stream/")?;
            (account == self.account_id(ctx)).then_some((region, name, label))
        })();
        let (region, name, label) = parsed.ok_or_else(|| stream_not_found(arn))?;
        let now = self.clock.now_millis();
        let found = |key_schema: &KeySchema, stream: &StreamDescriptor| Found {
            region: region.to_owned(),
            table_name: name.to_owned(),
            key_schema: key_schema.clone(),
            stream: stream.clone(),
            arn: arn.to_owned(),
        };
        if let Some(table) = self.catalog.get(ctx.account(), region, name) {
            ctx.touched.note(self.table_capacity(&table));
            let d = table.descriptor();
            if let Some(stream) = d
                .streams
                .iter()
                .find(|s| s.label() == label && self.stream_alive(s, now))
            {
                return Ok(found(&d.key_schema, stream));
            }
        }
        self.catalog
            .retired_streams()
            .iter()
            .find(|r| {
                r.account.as_deref() == ctx.account()
                    && r.region == region
                    && r.table_name == name
                    && r.stream.label() == label
                    && self.stream_alive(&r.stream, now)
            })
            .map(|r| found(&r.key_schema, &r.stream))
            .ok_or_else(|| stream_not_found(arn))
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

    /// The shard `id` of `stream`, if it exists at `now`.
    fn live_shard(&self, stream: &StreamDescriptor, id: &str, now: u64) -> Result<ShardView> {
        let shard = stream
            .parse_shard_id(id)
            .filter(|s| self.live_generations(stream, now).contains(&s.generation))
            .ok_or_else(shard_not_found)?;
        let starts = self
            .sequencers
            .epoch_starts(stream.id, shard.generation, shard.index)?;
        let epoch = usize::from(shard.epoch);
        if epoch > starts.len() {
            return Err(shard_not_found());
        }
        Ok(shard_view(
            stream,
            shard.generation,
            shard.index,
            epoch,
            &starts,
            now,
        ))
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
        // (table name, creation time, summary): streams of live and of deleted tables, by table
        // name, oldest first within a table.
        let mut all: Vec<(String, u64, StreamSummary)> = Vec::new();
        let wanted = |name: &str| input.table_name.as_ref().is_none_or(|t| t == name);
        let mut add = |name: &str, s: &StreamDescriptor| {
            all.push((
                name.to_owned(),
                s.created_ms,
                StreamSummary {
                    stream_arn: s.arn(&self.arn_of_table(ctx.account(), &ctx.region, name)),
                    table_name: name.to_owned(),
                    stream_label: s.label(),
                },
            ));
        };
        for name in self.catalog.names(ctx.account(), &ctx.region, None) {
            if !wanted(&name) {
                continue;
            }
            let Some(table) = self.catalog.get(ctx.account(), &ctx.region, &name) else {
                continue;
            };
            let d = table.descriptor();
            for s in d.streams.iter().filter(|s| self.stream_alive(s, now)) {
                add(&name, s);
            }
        }
        for r in self.catalog.retired_streams() {
            if r.account.as_deref() == ctx.account()
                && r.region == ctx.region
                && wanted(&r.table_name)
                && self.stream_alive(&r.stream, now)
            {
                add(&r.table_name, &r.stream);
            }
        }
        all.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let all: Vec<StreamSummary> = all.into_iter().map(|(_, _, s)| s).collect();
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
        ctx: &RequestContext,
        input: DescribeStreamInput,
    ) -> Result<DescribeStreamOutput> {
        let arn = required(input.stream_arn.as_deref(), "streamArn")?;
        let limit = limit_in(input.limit, 100)?;
        let found = self.find_stream(ctx, arn)?;
        let stream = &found.stream;
        let now = self.clock.now_millis();
        let generations = self.live_generations(stream, now);
        let (first, last) = (*generations.start(), *generations.end());
        // Successions of the generation before the first too: its last epochs are parents.
        let epochs = self
            .sequencers
            .epochs_between(stream.id, first.saturating_sub(1), last)?;
        let starts_of = |generation: u32, index: u16| -> &[u64] {
            epochs.get(&(generation, index)).map_or(&[], Vec::as_slice)
        };
        let horizon = self.trim_horizon(now);
        // Every live shard, parents before children: by generation, slot, then epoch.
        let mut views = Vec::new();
        for generation in generations {
            for index in 0..stream.shards {
                let starts = starts_of(generation, index);
                for epoch in 0..=starts.len() {
                    let view = shard_view(stream, generation, index, epoch, starts, now);
                    // An epoch whose records all aged out is gone, like a whole generation.
                    if view.end > horizon {
                        views.push(view);
                    }
                }
            }
        }
        let start = match &input.exclusive_start_shard_id {
            Some(id) => stream
                .parse_shard_id(id)
                .and_then(|s| views.iter().position(|v| v.shard == s))
                .map_or(0, |i| i + 1),
            None => 0,
        };
        let mut shards = Vec::new();
        for view in views.iter().skip(start).take(limit as usize) {
            let shard = view.shard;
            let ending = if view.closed {
                Some(self.last_sequence(stream, shard)?.unwrap_or(view.start))
            } else {
                None
            };
            let parent = match (shard.epoch, shard.generation) {
                (0, 0) => None,
                (0, generation) => Some(ShardRef {
                    generation: generation - 1,
                    index: shard.index,
                    epoch: starts_of(generation - 1, shard.index).len() as u16,
                }),
                (epoch, _) => Some(ShardRef {
                    epoch: epoch - 1,
                    ..shard
                }),
            };
            shards.push(Shard {
                shard_id: stream.shard_id(shard),
                sequence_number_range: SequenceNumberRange {
                    starting_sequence_number: format_seq(view.start),
                    ending_sequence_number: ending.map(format_seq),
                },
                parent_shard_id: parent.map(|p| stream.shard_id(p)),
            });
        }
        let last_evaluated_shard_id = (start + shards.len() < views.len())
            .then(|| shards.last().map(|s| s.shard_id.clone()))
            .flatten();
        Ok(DescribeStreamOutput {
            stream_description: StreamDescription {
                stream_arn: found.arn.clone(),
                stream_label: stream.label(),
                stream_status: self.stream_status(stream, now).to_owned(),
                stream_view_type: stream.view_type.as_str().to_owned(),
                creation_request_date_time: epoch_seconds(stream.created_ms),
                table_name: found.table_name.clone(),
                key_schema: key_schema_elements(
                    std::iter::once(&found.key_schema.hash),
                    found.key_schema.range.iter(),
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
        ctx: &RequestContext,
        input: GetShardIteratorInput,
    ) -> Result<GetShardIteratorOutput> {
        let arn = required(input.stream_arn.as_deref(), "streamArn")?;
        let shard_id = required(input.shard_id.as_deref(), "shardId")?;
        let kind = required(input.shard_iterator_type.as_deref(), "shardIteratorType")?;
        let found = self.find_stream(ctx, arn)?;
        let stream = &found.stream;
        let now = self.clock.now_millis();
        let view = self.live_shard(stream, shard_id, now)?;
        let start = view.start;
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
                if view.closed {
                    self.last_sequence(stream, view.shard)?
                        .map_or(start, |s| s.saturating_add(1))
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
        ctx: &RequestContext,
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
                crate::stream::java_date(iterator.issued_ms),
                crate::stream::java_date(now)
            )));
        }
        let found = self.find_stream(ctx, &iterator.stream_arn)?;
        self.charge_stream_read(ctx.account(), &found.region, &found.table_name);
        let stream = &found.stream;
        // A position before the horizon is trimmed data, even once its whole shard aged out.
        if stream.parse_shard_id(&iterator.shard_id).is_some()
            && iterator.position < self.trim_horizon(now)
        {
            return Err(trimmed());
        }
        let view = self.live_shard(stream, &iterator.shard_id, now)?;
        // Never past a number still in flight: a record below it may yet commit.
        let visible = self.sequencers.visible_below(stream.id, now);
        let partition = shard_partition(view.shard);
        let lower = iterator.position.to_be_bytes();
        let upper = visible.to_be_bytes();
        let mut records = Vec::new();
        let mut next = iterator.position;
        let mut failure = None;
        let mut bytes = 0usize;
        let region = found.region.clone();
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
        // Drained: closed, nothing left to read, and no record of it still in flight.
        let drained = records.is_empty() && view.closed && visible >= view.end;
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
