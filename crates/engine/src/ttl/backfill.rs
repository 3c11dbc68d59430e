//! The TTL backfill: when TTL is enabled on a table that already holds items, a background
//! worker writes the expiry entries of those items while writes go on.
//!
//! Like the online index backfill (`crate::index::backfill`), it walks the table in storage
//! order a chunk at a time and commits each chunk's entries together with its progress, guarded
//! on the version of every item read:
//! - every write that commits after TTL was enabled maintains its item's entry itself (the
//!   enabling UpdateTimeToLive swaps the descriptor under the table's write gate), so a write
//!   between a chunk's read and its commit fails the guard and the chunk is read again: no
//!   stale entry is ever written;
//! - memory is bounded by the chunk, whatever the table's size;
//! - the progress record (catalog partition `#ttl-backfill`, sort = table id) carries the
//!   `changed_ms` of the enabling and the last table key done: a restart resumes after the last
//!   committed chunk; a record whose enabling is no longer the table's current one is dropped.
//!
//! Stored progress, version 1: `[1][changed_ms u64][partition len u16][partition][sort]`, the
//! position absent before the first chunk. All integers big-endian.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use binderdb_model::decode_item;
use binderdb_storage::{
    Batch, Guard, Key, Keyspace, SegmentScan, StorageError, Store, TableId, Write,
};

use super::{entry_key, expiry_of};
use crate::catalog::{Catalog, Table, CATALOG_TABLE};
use crate::error::{Error, Result};

/// Table items read per chunk.
const CHUNK_ITEMS: usize = 512;
/// Catalog partition of TTL backfill progress records.
const PROGRESS_PARTITION: &[u8] = b"#ttl-backfill";
const PROGRESS_FORMAT: u8 = 1;

/// Where a backfill stands: the enabling it serves and the last table key done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress {
    pub(crate) changed_ms: u64,
    pub(crate) after: Option<(Vec<u8>, Vec<u8>)>,
}

impl Progress {
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![PROGRESS_FORMAT];
        out.extend_from_slice(&self.changed_ms.to_be_bytes());
        if let Some((partition, sort)) = &self.after {
            let len = u16::try_from(partition.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(partition);
            out.extend_from_slice(sort);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Progress> {
        if *bytes.first()? != PROGRESS_FORMAT {
            return None;
        }
        let changed_ms = u64::from_be_bytes(bytes.get(1..9)?.try_into().ok()?);
        let rest = bytes.get(9..)?;
        let after = if rest.is_empty() {
            None
        } else {
            let len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
            Some((
                rest.get(2..2 + len)?.to_vec(),
                rest.get(2 + len..)?.to_vec(),
            ))
        };
        Some(Progress { changed_ms, after })
    }
}

/// The key of table `table`'s backfill progress.
pub(crate) fn progress_key(table: TableId) -> Key {
    Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: PROGRESS_PARTITION.to_vec(),
        sort: table.to_be_bytes().to_vec(),
    }
}

/// The write that starts a backfill for the enabling at `changed_ms` (committed before the
/// descriptor that enables TTL, so a restart in between finds a record it drops).
pub(crate) fn start_write(table: TableId, changed_ms: u64) -> Write {
    Write::Put {
        key: progress_key(table),
        value: Progress {
            changed_ms,
            after: None,
        }
        .encode(),
    }
}

/// Every unfinished backfill: (table id, progress).
///
/// # Errors
/// Storage failures.
pub(crate) fn unfinished(store: &dyn Store) -> Result<Vec<(TableId, Progress)>> {
    let mut out = Vec::new();
    store.range(
        &binderdb_storage::PartitionRange {
            keyspace: Keyspace::Catalog,
            table: CATALOG_TABLE,
            partition: PROGRESS_PARTITION,
            lower: std::ops::Bound::Unbounded,
            upper: std::ops::Bound::Unbounded,
            reverse: false,
        },
        &mut |e| {
            let id = e.sort.try_into().ok().map(u64::from_be_bytes);
            // An undecodable record is dropped with the finished ones below: the worst it
            // costs is a backfill to redo by disabling and enabling TTL.
            let progress = Progress::decode(e.value).unwrap_or(Progress {
                changed_ms: 0,
                after: None,
            });
            if let Some(id) = id {
                out.push((id, progress));
            }
            ControlFlow::Continue(())
        },
    )?;
    Ok(out)
}

/// One item of a chunk: partition, sort, version, expiry.
type ChunkItem = (Vec<u8>, Vec<u8>, u64, Option<u64>);

/// One backfill: table `table_id` (`region`/`table_name`), for the enabling at `changed_ms`
/// of TTL attribute `attribute`.
#[derive(Debug, Clone)]
pub(crate) struct TtlBackfill {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) region: String,
    pub(crate) table_name: String,
    pub(crate) table_id: TableId,
    pub(crate) changed_ms: u64,
    pub(crate) attribute: String,
}

impl TtlBackfill {
    /// The table while TTL is still enabled by this backfill's enabling.
    fn current(&self) -> Option<Arc<Table>> {
        let table = self.catalog.by_id(self.table_id)?;
        let d = table.descriptor();
        let ttl = d.ttl.as_ref()?;
        (ttl.enabled && ttl.changed_ms == self.changed_ms && ttl.attribute == self.attribute)
            .then_some(table)
    }

    /// Writes the expiry entries of every item of the table, resuming after `after`, until
    /// done, stopped, or TTL changed again.
    ///
    /// # Errors
    /// Storage failures (the backfill resumes at the next start).
    pub(crate) fn run(
        &self,
        mut after: Option<(Vec<u8>, Vec<u8>)>,
        stop: &AtomicBool,
    ) -> Result<()> {
        let progress = progress_key(self.table_id);
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            // The chunk commits only if the table's descriptor did not change meanwhile: a
            // disabling that already dropped the entries must not see some written again.
            // (A table's account, region and name never change: only its id is looked up.)
            let Some(table) = self.catalog.by_id(self.table_id) else {
                return self.finish();
            };
            let account = table.descriptor().account.clone();
            let descriptor_key =
                self.catalog
                    .descriptor_key(account.as_deref(), &self.region, &self.table_name);
            let Some(descriptor) = self.store.get(&descriptor_key)? else {
                return self.finish();
            };
            if self.current().is_none() {
                return self.finish();
            }
            let chunk = self.read_chunk(after.as_ref())?;
            let Some(last) = chunk.last() else {
                return self.finish();
            };
            let next = (last.0.clone(), last.1.clone());
            let mut batch = Batch {
                writes: Vec::with_capacity(chunk.len() + 1),
                guards: Vec::with_capacity(chunk.len() + 1),
            };
            batch.guards.push(Guard {
                key: descriptor_key,
                expected: Some(descriptor.version),
            });
            for (partition, sort, version, expiry) in chunk {
                let key = Key {
                    keyspace: Keyspace::Items,
                    table: self.table_id,
                    partition,
                    sort,
                };
                if let Some(at) = expiry {
                    batch.writes.push(Write::Put {
                        key: entry_key(self.table_id, &key, at),
                        value: Vec::new(),
                    });
                }
                batch.guards.push(Guard {
                    key,
                    expected: Some(version),
                });
            }
            batch.writes.push(Write::Put {
                key: progress.clone(),
                value: Progress {
                    changed_ms: self.changed_ms,
                    after: Some(next.clone()),
                }
                .encode(),
            });
            match self.store.commit(batch) {
                Ok(_) => after = Some(next),
                // An item changed since it was read (and maintained its own entry), or the
                // descriptor did: look again.
                Err(StorageError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads up to a chunk of items after `after`.
    fn read_chunk(&self, after: Option<&(Vec<u8>, Vec<u8>)>) -> Result<Vec<ChunkItem>> {
        let mut chunk = Vec::with_capacity(CHUNK_ITEMS);
        let mut failure = None;
        self.store.scan(
            &SegmentScan {
                keyspace: Keyspace::Items,
                table: self.table_id,
                segment: 0,
                total_segments: 1,
                start_after: after.map(|(p, s)| (p.as_slice(), s.as_slice())),
            },
            &mut |e| {
                match decode_item(e.value) {
                    Ok(item) => chunk.push((
                        e.partition.to_vec(),
                        e.sort.to_vec(),
                        e.version,
                        expiry_of(&item, &self.attribute),
                    )),
                    Err(err) => {
                        failure = Some(err);
                        return ControlFlow::Break(());
                    }
                }
                if chunk.len() >= CHUNK_ITEMS {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        match failure {
            Some(e) => Err(Error::from(e)),
            None => Ok(chunk),
        }
    }

    /// Drops the progress record if it is still this backfill's (a later enabling may have
    /// replaced it).
    fn finish(&self) -> Result<()> {
        let key = progress_key(self.table_id);
        let Some(current) = self.store.get(&key)? else {
            return Ok(());
        };
        let ours = Progress::decode(&current.value).is_none_or(|p| p.changed_ms == self.changed_ms);
        if !ours {
            return Ok(());
        }
        match self.store.commit(Batch {
            writes: vec![Write::Delete { key: key.clone() }],
            guards: vec![Guard {
                key,
                expected: Some(current.version),
            }],
        }) {
            Ok(_) | Err(StorageError::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use binderdb_storage::{MemoryStore, PartitionRange};
    use serde_json::json;

    use super::*;
    use crate::api::{CreateTableInput, PutItemInput};
    use crate::ttl::EXPIRY_PARTITION;
    use crate::{Config, Database, ManualClock, RequestContext};

    fn entries(store: &dyn Store, table: TableId) -> usize {
        let mut n = 0;
        store
            .range(
                &PartitionRange {
                    keyspace: Keyspace::Ttl,
                    table,
                    partition: EXPIRY_PARTITION,
                    lower: std::ops::Bound::Unbounded,
                    upper: std::ops::Bound::Unbounded,
                    reverse: false,
                },
                &mut |_| {
                    n += 1;
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        n
    }

    /// Waits for the background backfill of `table` to finish (its record gone).
    fn finished(store: &dyn Store, table: TableId) {
        for _ in 0..1000 {
            if store.get(&progress_key(table)).unwrap().is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the TTL backfill never finished");
    }

    #[test]
    fn an_interrupted_backfill_resumes_where_it_stopped_and_a_stale_one_is_dropped() {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let ctx = RequestContext::default();
        let open = || Database::open(store.clone(), Config::default(), clock.clone()).unwrap();
        let db = open();
        let create: CreateTableInput = serde_json::from_value(json!({
            "TableName": "T",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }))
        .unwrap();
        db.create_table(&ctx, create).unwrap();
        for i in 0..1500 {
            let mut item = json!({"id": {"S": format!("k{i}")}});
            if i % 3 != 0 {
                item["exp"] = json!({"N": "1700000100"});
            }
            let input: PutItemInput =
                serde_json::from_value(json!({"TableName": "T", "Item": item})).unwrap();
            db.put_item(&ctx, input).unwrap();
        }
        let enable = json!({
            "TableName": "T",
            "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}
        });
        db.update_time_to_live(&ctx, serde_json::from_value(enable).unwrap())
            .unwrap();
        let d = db.catalog.get(None, "us-east-1", "T").unwrap().descriptor();
        finished(store.as_ref(), d.id);
        assert_eq!(entries(store.as_ref(), d.id), 1000);
        drop(db);

        // As if the process had died after the chunks up to the 700th item: those entries are
        // there, the others not yet, and the record says where it stopped.
        let mut keys = Vec::new();
        store
            .scan(
                &SegmentScan {
                    keyspace: Keyspace::Items,
                    table: d.id,
                    segment: 0,
                    total_segments: 1,
                    start_after: None,
                },
                &mut |e| {
                    let item = decode_item(e.value).unwrap();
                    keys.push((
                        e.partition.to_vec(),
                        e.sort.to_vec(),
                        expiry_of(&item, "exp"),
                    ));
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        let after_cut = keys[700..].iter().filter(|k| k.2.is_some());
        let writes = after_cut
            .map(|(p, s, at)| Write::Delete {
                key: entry_key(
                    d.id,
                    &Key {
                        keyspace: Keyspace::Items,
                        table: d.id,
                        partition: p.clone(),
                        sort: s.clone(),
                    },
                    at.unwrap_or_default(),
                ),
            })
            .collect();
        store
            .commit(Batch {
                writes,
                guards: Vec::new(),
            })
            .unwrap();
        let missing = 1000 - entries(store.as_ref(), d.id);
        assert!(missing > 400, "{missing}");
        let changed_ms = d.ttl.as_ref().unwrap().changed_ms;
        let record = |changed_ms| Batch {
            writes: vec![Write::Put {
                key: progress_key(d.id),
                value: Progress {
                    changed_ms,
                    after: Some((keys[699].0.clone(), keys[699].1.clone())),
                }
                .encode(),
            }],
            guards: Vec::new(),
        };
        // A record of another enabling is dropped at open, and writes nothing.
        store.commit(record(changed_ms - 1)).unwrap();
        drop(open());
        assert!(store.get(&progress_key(d.id)).unwrap().is_none());
        assert_eq!(entries(store.as_ref(), d.id), 1000 - missing);
        // This enabling's record resumes after the 700th item.
        store.commit(record(changed_ms)).unwrap();
        let db = open();
        finished(store.as_ref(), d.id);
        assert_eq!(entries(store.as_ref(), d.id), 1000);
        drop(db);
    }

    #[test]
    fn progress_round_trips() {
        for p in [
            Progress {
                changed_ms: 7,
                after: None,
            },
            Progress {
                changed_ms: 9,
                after: Some((b"pk".to_vec(), b"sk\x00".to_vec())),
            },
        ] {
            assert_eq!(Progress::decode(&p.encode()), Some(p));
        }
        assert_eq!(Progress::decode(&[2, 0]), None);
        assert_eq!(Progress::decode(&[1, 0, 0]), None);
    }
}
