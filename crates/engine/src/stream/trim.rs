//! Stream trimming: deleting records older than the retention, in the background.
//!
//! Readers never see a record past the retention (GetRecords compares sequence numbers, which
//! carry their time, with the horizon), so trimming only reclaims space and can run lazily:
//! a pass walks, for every stream, the shards of each generation not yet wholly trimmed and
//! deletes their records below the horizon in bounded batches (every epoch of every slot, see
//! `shards`). A generation whose end is past the horizon is remembered as done (in memory:
//! after a restart the first pass walks it once more and finds it empty), and its shard markers
//! are deleted. Streams of deleted tables are trimmed the same way and dropped whole once all of
//! them aged out.

use std::collections::HashMap;
use std::ops::{Bound, ControlFlow};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use binderdb_storage::{Batch, Key, Keyspace, PartitionRange, Store, TableId, Write};
use parking_lot::Mutex;

use super::shards::{marker_key, MARKER_PARTITION};
use super::{shard_partition, Sequencers, ShardRef, StreamDescriptor, SEQ_PER_MS};
use crate::catalog::Catalog;
use crate::error::Result;

/// Records deleted per commit.
const BATCH: usize = 512;
/// Pause between passes of the background worker.
const PASS_INTERVAL: Duration = Duration::from_secs(1);

/// How far each stream has been trimmed: its first generation that may hold records.
#[derive(Debug, Default)]
pub(crate) struct TrimProgress {
    first_untrimmed: Mutex<HashMap<TableId, u32>>,
}

/// One trimming pass over every stream of every table, and over the retired streams of
/// deleted tables (dropping those that aged out entirely), at `now_ms`. Returns the number of
/// records deleted.
///
/// # Errors
/// Storage failures.
pub(crate) fn trim_pass(
    store: &dyn Store,
    catalog: &Catalog,
    sequencers: &Sequencers,
    progress: &TrimProgress,
    now_ms: u64,
    retention_ms: u64,
) -> Result<usize> {
    let horizon_ms = now_ms.saturating_sub(retention_ms);
    let mut deleted = 0;
    for table in catalog.all() {
        let d = table.descriptor();
        for stream in &d.streams {
            deleted += trim_stream(store, sequencers, progress, stream, now_ms, horizon_ms)?;
        }
    }
    for retired in catalog.retired_streams() {
        let stream = &retired.stream;
        if stream.disabled_ms.is_some_and(|d| d <= horizon_ms) {
            // Nothing of it is readable any more: its records go at once, with its entry.
            catalog.drop_retired(store, stream.id)?;
            sequencers.forget(stream.id);
            progress.first_untrimmed.lock().remove(&stream.id);
        } else {
            deleted += trim_stream(store, sequencers, progress, stream, now_ms, horizon_ms)?;
        }
    }
    Ok(deleted)
}

fn trim_stream(
    store: &dyn Store,
    sequencers: &Sequencers,
    progress: &TrimProgress,
    stream: &StreamDescriptor,
    now_ms: u64,
    horizon_ms: u64,
) -> Result<usize> {
    if stream.created_ms >= horizon_ms {
        return Ok(0);
    }
    let first = progress
        .first_untrimmed
        .lock()
        .get(&stream.id)
        .copied()
        .unwrap_or(0);
    let last = stream.last_generation(now_ms);
    let horizon_seq = horizon_ms.saturating_mul(SEQ_PER_MS);
    let mut deleted = 0;
    let mut done_until = first;
    for generation in first..=last {
        if stream.generation_start(generation) >= horizon_ms {
            break;
        }
        for index in 0..stream.shards {
            let epochs = sequencers.epoch_starts(stream.id, generation, index)?.len();
            for epoch in 0..=epochs {
                let shard = ShardRef {
                    generation,
                    index,
                    epoch: epoch as u16,
                };
                deleted += trim_shard(store, stream.id, shard, horizon_seq)?;
            }
        }
        if stream.generation_end(generation) <= horizon_ms && done_until == generation {
            done_until = generation + 1;
        }
    }
    if done_until > first {
        // Whole generations aged out: their size successions are no longer needed.
        drop_markers_below(store, stream.id, done_until)?;
        sequencers.forget_generations_below(stream.id, done_until);
    }
    progress
        .first_untrimmed
        .lock()
        .insert(stream.id, done_until);
    Ok(deleted)
}

/// Deletes the shard markers of generations below `generation`.
fn drop_markers_below(store: &dyn Store, stream: TableId, generation: u32) -> Result<()> {
    let upper = marker_key(stream, generation, 0, 0).sort;
    loop {
        let mut keys = Vec::new();
        store.range(
            &PartitionRange {
                keyspace: Keyspace::Stream,
                table: stream,
                partition: MARKER_PARTITION,
                lower: Bound::Unbounded,
                upper: Bound::Excluded(&upper),
                reverse: false,
            },
            &mut |e| {
                keys.push(e.sort.to_vec());
                if keys.len() >= BATCH {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        if keys.is_empty() {
            return Ok(());
        }
        let writes = keys
            .into_iter()
            .map(|sort| Write::Delete {
                key: Key {
                    keyspace: Keyspace::Stream,
                    table: stream,
                    partition: MARKER_PARTITION.to_vec(),
                    sort,
                },
            })
            .collect();
        store.commit(Batch {
            writes,
            guards: Vec::new(),
        })?;
    }
}

/// Deletes the records of `shard` below `horizon_seq`, a batch at a time.
fn trim_shard(
    store: &dyn Store,
    stream: TableId,
    shard: ShardRef,
    horizon_seq: u64,
) -> Result<usize> {
    let partition = shard_partition(shard);
    let upper = horizon_seq.to_be_bytes();
    let mut deleted = 0;
    loop {
        let mut keys = Vec::new();
        store.range(
            &PartitionRange {
                keyspace: Keyspace::Stream,
                table: stream,
                partition: &partition,
                lower: Bound::Unbounded,
                upper: Bound::Excluded(&upper),
                reverse: false,
            },
            &mut |e| {
                keys.push(e.sort.to_vec());
                if keys.len() >= BATCH {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        if keys.is_empty() {
            return Ok(deleted);
        }
        deleted += keys.len();
        let writes = keys
            .into_iter()
            .map(|sort| Write::Delete {
                key: Key {
                    keyspace: Keyspace::Stream,
                    table: stream,
                    partition: partition.clone(),
                    sort,
                },
            })
            .collect();
        store.commit(Batch {
            writes,
            guards: Vec::new(),
        })?;
    }
}

/// The background trimmer: a pass every second until `stop`.
pub(crate) fn run(stop: &AtomicBool, pass: impl Fn() -> Result<usize>) {
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = pass() {
            tracing::warn!(error = %e, "stream trimming failed; retrying");
        }
        // Sleep in short steps so shutdown is prompt.
        let mut slept = Duration::ZERO;
        while slept < PASS_INTERVAL && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            slept += Duration::from_millis(50);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use binderdb_storage::{MemoryStore, SegmentScan};
    use serde_json::json;

    use crate::api::{CreateTableInput, PutItemInput};
    use crate::{Config, Database, ManualClock, RequestContext};

    fn stream_records(db: &Database, id: u64) -> usize {
        let mut n = 0;
        db.store
            .scan(
                &SegmentScan {
                    keyspace: binderdb_storage::Keyspace::Stream,
                    table: id,
                    segment: 0,
                    total_segments: 1,
                    start_after: None,
                },
                &mut |_| {
                    n += 1;
                    std::ops::ControlFlow::Continue(())
                },
            )
            .unwrap();
        n
    }

    #[test]
    fn records_past_the_retention_are_deleted_and_newer_ones_kept() {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let config = Config {
            stream_shard_rotation_ms: 60_000,
            ..Config::default()
        };
        let db = Database::open(Arc::new(MemoryStore::new()), config, clock.clone()).unwrap();
        let ctx = RequestContext::default();
        let create: CreateTableInput = serde_json::from_value(json!({
            "TableName": "T",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}
        }))
        .unwrap();
        db.create_table(&ctx, create).unwrap();
        let put = |id: String| {
            let input: PutItemInput =
                serde_json::from_value(json!({"TableName": "T", "Item": {"id": {"S": id}}}))
                    .unwrap();
            db.put_item(&ctx, input).unwrap();
        };
        for i in 0..1500 {
            put(format!("old{i}"));
        }
        clock.advance(12 * 60 * 60 * 1000);
        for i in 0..10 {
            put(format!("new{i}"));
        }
        let stream = db
            .catalog
            .get(None, "us-east-1", "T")
            .unwrap()
            .descriptor()
            .streams[0]
            .clone();
        assert_eq!(stream_records(&db, stream.id), 1510);
        // (The background trimmer may run a pass too, so only the outcome is asserted.)
        db.trim_streams().unwrap();
        assert_eq!(stream_records(&db, stream.id), 1510);
        clock.advance(12 * 60 * 60 * 1000 + 1);
        db.trim_streams().unwrap();
        assert_eq!(stream_records(&db, stream.id), 10);
        assert_eq!(db.trim_streams().unwrap(), 0);

        // A deleted table's stream is kept until it all aged out, then dropped with its entry.
        for i in 0..5 {
            put(format!("last{i}"));
        }
        let delete = serde_json::from_value(json!({"TableName": "T"})).unwrap();
        db.delete_table(&ctx, delete).unwrap();
        clock.advance(23 * 60 * 60 * 1000);
        db.trim_streams().unwrap();
        assert_eq!(stream_records(&db, stream.id), 5);
        assert_eq!(db.catalog.retired_streams().len(), 1);
        clock.advance(60 * 60 * 1000);
        db.trim_streams().unwrap();
        assert_eq!(stream_records(&db, stream.id), 0);
        assert!(db.catalog.retired_streams().is_empty());
    }
}
