//! Statistics cost O(1): DescribeTable on a table whose statistics this process never computed
//! reads no item or index entry (counted by a store wrapper), and data written by a version of
//! binderdb that kept no counters is counted once, in the background, and exactly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use binderdb_engine::api::{CreateTableInput, PutItemInput, TableNameInput};
use binderdb_engine::{Config, Database, RequestContext, SystemClock};
use binderdb_storage::testing::{Hooked, Hooks};
use binderdb_storage::{
    Batch, CounterId, Counts, EntryRef, Key, Keyspace, PartitionRange, SegmentScan, StorageError,
    Store, TableId, Versioned, Write,
};
use serde_json::json;

/// Hooks counting the entries read from item and index keyspaces, which can make the store
/// behave like one under a binderdb without counters (dropping every counter write).
#[derive(Debug, Default)]
struct Counting {
    entries_read: AtomicU64,
    without_counters: AtomicBool,
}

type CountingStore = Hooked<Counting>;

impl Counting {
    fn counted(&self, keyspace: Keyspace, n: u64) {
        if matches!(keyspace, Keyspace::Items | Keyspace::Lsi | Keyspace::Gsi) {
            self.entries_read.fetch_add(n, Ordering::SeqCst);
        }
    }

    fn strip(&self, mut batch: Batch) -> Batch {
        if self.without_counters.load(Ordering::SeqCst) {
            batch
                .writes
                .retain(|w| !matches!(w, Write::Count { .. } | Write::SetCount { .. }));
        }
        batch
    }
}

impl Hooks for Counting {
    fn get(&self, inner: &dyn Store, key: &Key) -> Result<Option<Versioned>, StorageError> {
        self.counted(key.keyspace, 1);
        inner.get(key)
    }
    fn range(
        &self,
        inner: &dyn Store,
        r: &PartitionRange<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        inner.range(r, &mut |e| {
            self.counted(r.keyspace, 1);
            visit(e)
        })
    }
    fn scan(
        &self,
        inner: &dyn Store,
        s: &SegmentScan<'_>,
        visit: &mut dyn FnMut(EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StorageError> {
        inner.scan(s, &mut |e| {
            self.counted(s.keyspace, 1);
            visit(e)
        })
    }
    fn commit(&self, inner: &dyn Store, batch: Batch) -> Result<u64, StorageError> {
        inner.commit(self.strip(batch))
    }
    fn read_modify_write(
        &self,
        inner: &dyn Store,
        key: &Key,
        f: &mut dyn FnMut(Option<&Versioned>) -> Option<Batch>,
    ) -> Result<Option<u64>, StorageError> {
        self.counted(key.keyspace, 1);
        inner.read_modify_write(key, &mut |cur| f(cur).map(|b| self.strip(b)))
    }
    fn recount(
        &self,
        inner: &dyn Store,
        counter: CounterId,
        keyspace: Keyspace,
        table: TableId,
        weigh: &mut dyn FnMut(EntryRef<'_>) -> Result<i64, StorageError>,
    ) -> Result<Option<Counts>, StorageError> {
        inner.recount(counter, keyspace, table, &mut |e| {
            self.counted(keyspace, 1);
            weigh(e)
        })
    }
}

fn open(store: &Arc<CountingStore>) -> Database {
    Database::open(
        store.clone() as Arc<dyn Store>,
        Config::default(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

/// Creates table `t` (key `pk`, GSI `g` with ALL projection) and puts `n` items, every other
/// one indexed. Returns the expected (ItemCount, TableSizeBytes, index ItemCount,
/// IndexSizeBytes).
fn load(db: &Database, n: usize) -> (i64, i64, i64, i64) {
    let ctx = RequestContext::default();
    let input: CreateTableInput = serde_json::from_value(json!({
        "TableName": "t", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "g", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{"IndexName": "byG",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}]
    }))
    .unwrap();
    db.create_table(&ctx, input).unwrap();
    let mut expected = (0, 0, 0, 0);
    for i in 0..n {
        let pk = format!("item{i:04}");
        let mut item = json!({"pk": {"S": pk}, "v": {"S": "x".repeat(i % 13)}});
        let mut size = 2 + pk.len() + 1 + i % 13;
        if i % 2 == 0 {
            item["g"] = json!({"S": "gg"});
            size += 1 + 2;
        }
        let input: PutItemInput =
            serde_json::from_value(json!({"TableName": "t", "Item": item})).unwrap();
        db.put_item(&ctx, input).unwrap();
        expected.0 += 1;
        expected.1 += size as i64;
        if i % 2 == 0 {
            expected.2 += 1;
            expected.3 += size as i64 + 100;
        }
    }
    expected
}

fn statistics(db: &Database) -> (i64, i64, i64, i64) {
    let input: TableNameInput = serde_json::from_value(json!({"TableName": "t"})).unwrap();
    let table = db
        .describe_table(&RequestContext::default(), input)
        .unwrap()
        .table;
    let value = serde_json::to_value(&table).unwrap();
    let index = &value["GlobalSecondaryIndexes"][0];
    (
        value["ItemCount"].as_i64().unwrap(),
        value["TableSizeBytes"].as_i64().unwrap(),
        index["ItemCount"].as_i64().unwrap(),
        index["IndexSizeBytes"].as_i64().unwrap(),
    )
}

#[test]
fn describe_table_on_statistics_never_computed_in_this_process_reads_no_items() {
    let store = Arc::new(CountingStore::default());
    let expected = {
        let db = open(&store);
        load(&db, 300)
    };
    // A new process over the same data: nothing of the table was read or computed yet.
    store.hooks.entries_read.store(0, Ordering::SeqCst);
    let db = open(&store);
    assert_eq!(statistics(&db), expected);
    assert_eq!(statistics(&db), expected);
    assert_eq!(store.hooks.entries_read.load(Ordering::SeqCst), 0);
}

#[test]
fn data_written_without_counters_is_counted_once_in_the_background() {
    let store = Arc::new(CountingStore::default());
    store.hooks.without_counters.store(true, Ordering::SeqCst);
    let expected = {
        let db = open(&store);
        let expected = load(&db, 200);
        // What an older binderdb's store holds: no statistics at all.
        assert_eq!(statistics(&db), (0, 0, 0, 0));
        expected
    };
    store.hooks.without_counters.store(false, Ordering::SeqCst);
    let db = open(&store);
    // The recount runs on a worker of its own; wait for it (bounded), then check it is exact.
    let mut seen = statistics(&db);
    for _ in 0..1000 {
        if seen == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        seen = statistics(&db);
    }
    assert_eq!(seen, expected);
    // And from then on every write keeps it.
    let ctx = RequestContext::default();
    let input: PutItemInput = serde_json::from_value(
        json!({"TableName": "t", "Item": {"pk": {"S": "new"}, "g": {"S": "h"}}}),
    )
    .unwrap();
    db.put_item(&ctx, input).unwrap();
    let size = 2 + 3 + 1 + 1;
    assert_eq!(
        statistics(&db),
        (
            expected.0 + 1,
            expected.1 + size,
            expected.2 + 1,
            expected.3 + size + 100
        )
    );
}
