//! Table ids across the key layouts (`binderdb_storage::codec`): a data directory written by
//! an older build holds tables with 8-byte ids, and the tables created since get compact ids
//! from the same counter; both kinds live side by side.

use std::ops::ControlFlow;
use std::sync::Arc;

use binderdb_storage::{codec, Key, Keyspace, MemoryStore, SegmentScan, Store, Write};
use serde_json::{json, Value};

use super::{CATALOG_TABLE, META_PARTITION, NEXT_TABLE_ID};
use crate::error::Error;
use crate::{Config, Database, ManualClock, RequestContext};

fn open(store: Arc<MemoryStore>) -> Database {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    Database::open(store, Config::default(), clock).unwrap()
}

fn create(db: &Database, name: &str) {
    let request = json!({
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "GlobalSecondaryIndexes": [{
            "IndexName": "byG",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}
        }],
        "BillingMode": "PAY_PER_REQUEST"
    });
    let ctx = RequestContext::default();
    db.create_table(&ctx, serde_json::from_value(request).unwrap())
        .unwrap();
}

/// Makes `name` a table as an older build created it: the table and its index under small
/// ids, whose keys take the 8-byte form (the table is still empty, so nothing moves).
fn make_legacy(db: &Database, name: &str, first_id: u64) {
    let ctx = RequestContext::default();
    let mut descriptor = (*db.table(&ctx, name).unwrap().descriptor()).clone();
    descriptor.id = first_id;
    descriptor.indexes[0].id = first_id + 1;
    db.catalog.put(db.store.as_ref(), descriptor).unwrap();
}

fn put(db: &Database, table: &str, pk: &str, sk: &str) {
    let item = json!({"pk": {"S": pk}, "sk": {"S": sk}, "g": {"S": "same"},
        "from": {"S": table}});
    let request = json!({"TableName": table, "Item": item});
    let ctx = RequestContext::default();
    db.put_item(&ctx, serde_json::from_value(request).unwrap())
        .unwrap();
}

/// `(pk, sk, from)` of the items in a page.
fn rows(items: Option<Vec<binderdb_model::Item>>) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = items
        .unwrap_or_default()
        .into_iter()
        .map(|item| {
            let v = serde_json::to_value(&item).unwrap();
            let s = |name: &str| v[name]["S"].as_str().unwrap().to_owned();
            (s("pk"), s("sk"), s("from"))
        })
        .collect();
    out.sort();
    out
}

/// What every read path shows of `table`: a GetItem, a Query of a partition, a GSI Query and a
/// parallel Scan (two segments), each holding exactly the table's own items.
fn assert_holds(db: &Database, table: &str, expected: &[(&str, &str)]) {
    let ctx = RequestContext::default();
    let want: Vec<_> = expected
        .iter()
        .map(|(pk, sk)| ((*pk).to_owned(), (*sk).to_owned(), table.to_owned()))
        .collect();
    let (pk, sk) = expected[0];
    let got = db
        .get_item(
            &ctx,
            serde_json::from_value(json!({"TableName": table,
                "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}))
            .unwrap(),
        )
        .unwrap();
    assert_eq!(rows(got.item.map(|i| vec![i])), want[..1], "{table}");
    let query = |body: Value| {
        rows(
            db.query(&ctx, serde_json::from_value(body).unwrap())
                .unwrap()
                .items,
        )
    };
    let in_partition: Vec<_> = want.iter().filter(|r| r.0 == pk).cloned().collect();
    let partition = query(json!({"TableName": table,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": pk}}}));
    assert_eq!(partition, in_partition, "{table}");
    let by_index = query(json!({"TableName": table, "IndexName": "byG",
        "KeyConditionExpression": "g = :g",
        "ExpressionAttributeValues": {":g": {"S": "same"}}}));
    assert_eq!(by_index, want, "{table}");
    let mut scanned = Vec::new();
    for segment in 0..2 {
        let page = db
            .scan(
                &ctx,
                serde_json::from_value(
                    json!({"TableName": table, "Segment": segment, "TotalSegments": 2}),
                )
                .unwrap(),
            )
            .unwrap();
        scanned.extend(rows(page.items));
    }
    scanned.sort();
    assert_eq!(scanned, want, "{table}");
    let described = db
        .describe_table(
            &ctx,
            serde_json::from_value(json!({"TableName": table})).unwrap(),
        )
        .unwrap();
    let described = serde_json::to_value(described).unwrap();
    assert_eq!(
        described["Table"]["ItemCount"],
        expected.len(),
        "{described}"
    );
}

#[test]
fn new_tables_get_compact_ids_beside_an_older_builds_tables() {
    let store = Arc::new(MemoryStore::new());
    let db = open(store.clone());
    create(&db, "Old");
    make_legacy(&db, "Old", 1);
    create(&db, "New");
    create(&db, "Other");
    let ctx = RequestContext::default();
    let new = db.table(&ctx, "New").unwrap().descriptor();
    // The counter older builds numbered ids with goes on: Old took 1 and 2 from it, and the
    // numbers it handed out after are compact ids.
    assert_eq!(new.id, codec::compact_table_id(3).unwrap());
    assert_eq!(new.indexes[0].id, codec::compact_table_id(4).unwrap());
    let items = [("a", "1"), ("a", "2"), ("b", "1"), ("c", "9")];
    for table in ["Old", "New", "Other"] {
        for (pk, sk) in items {
            put(&db, table, pk, sk);
        }
    }
    for table in ["Old", "New", "Other"] {
        assert_holds(&db, table, &items);
    }
    // The ids survive the catalog's JSON: a restart finds every table where it was.
    drop(db);
    let db = open(store);
    assert_eq!(db.table(&ctx, "New").unwrap().descriptor().id, new.id);
    assert_eq!(db.table(&ctx, "Old").unwrap().descriptor().id, 1);
    for table in ["Old", "New", "Other"] {
        assert_holds(&db, table, &items);
    }
    // In the store, Old's items are under its small id (the 8-byte form), New's under its
    // compact one.
    for (id, expected) in [(1, items.len()), (new.id, items.len()), (2, items.len())] {
        let keyspace = if id == 2 {
            Keyspace::Gsi
        } else {
            Keyspace::Items
        };
        let mut held = 0;
        let scan = SegmentScan {
            keyspace,
            table: id,
            segment: 0,
            total_segments: 1,
            start_after: None,
        };
        db.store
            .scan(&scan, &mut |_| {
                held += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(held, expected, "table {id:#x}");
    }
    for dropped in ["New", "Old"] {
        db.delete_table(
            &ctx,
            serde_json::from_value(json!({"TableName": dropped})).unwrap(),
        )
        .unwrap();
        assert_holds(&db, "Other", &items);
    }
    assert!(db.table(&ctx, "Old").is_none());
}

#[test]
fn an_exhausted_id_counter_fails_table_creation() {
    let store = Arc::new(MemoryStore::new());
    let db = open(store.clone());
    let counter = Key {
        keyspace: Keyspace::Catalog,
        table: CATALOG_TABLE,
        partition: META_PARTITION.to_vec(),
        sort: NEXT_TABLE_ID.to_vec(),
    };
    let last = codec::COMPACT_ID_COUNT - 1;
    let set_counter = |next: u64| {
        store
            .commit(binderdb_storage::Batch {
                writes: vec![Write::Put {
                    key: counter.clone(),
                    value: next.to_be_bytes().to_vec(),
                }],
                guards: Vec::new(),
            })
            .unwrap();
    };
    set_counter(last);
    let id = db.catalog.allocate_table_id(store.as_ref()).unwrap();
    assert_eq!(id, codec::compact_table_id(last).unwrap());
    let ctx = RequestContext::default();
    let request = json!({
        "TableName": "TooMany",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    });
    let refused = db.create_table(&ctx, serde_json::from_value(request).unwrap());
    assert!(matches!(refused, Err(Error::Internal(_))), "{refused:?}");
    assert!(db.table(&ctx, "TooMany").is_none());
    // The counter did not move past its end.
    let held = store.get(&counter).unwrap().unwrap().value;
    assert_eq!(held, codec::COMPACT_ID_COUNT.to_be_bytes());
}
