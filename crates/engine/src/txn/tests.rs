//! Holds and version guards, driven from inside the engine where a test can hold an item or
//! slip a write in between a transaction's read and its commit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use binderdb_storage::testing::{Hooked, Hooks};
use binderdb_storage::{Batch, Key, MemoryStore, StorageError, Store, Write};
use serde_json::json;

use crate::api::{CancellationReason, CreateTableInput};
use crate::{Config, Database, Error, RequestContext, SystemClock};

fn database(store: Arc<dyn Store>) -> Database {
    let db = Database::open(store, Config::default(), Arc::new(SystemClock)).unwrap();
    let create: CreateTableInput = serde_json::from_value(json!({
        "TableName": "T",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    }))
    .unwrap();
    db.create_table(&RequestContext::default(), create).unwrap();
    db
}

fn storage_key(db: &Database, id: &str) -> Key {
    let d = db.catalog.get(None, "us-east-1", "T").unwrap().descriptor();
    let mut item = binderdb_model::Item::new();
    item.insert(
        "id".to_owned(),
        binderdb_model::AttributeValue::S(id.to_owned()),
    );
    crate::keys::request_key(&d.key_schema, &item)
        .unwrap()
        .storage_key(d.id)
}

fn transfer(db: &Database) -> Result<(), Error> {
    let input = serde_json::from_value(json!({"TransactItems": [
        {"Put": {"TableName": "T", "Item": {"id": {"S": "a"}, "v": {"N": "1"}}}},
        {"Put": {"TableName": "T", "Item": {"id": {"S": "b"}, "v": {"N": "1"}}}}
    ]}))
    .unwrap();
    db.transact_write_items(&RequestContext::default(), input)
        .map(|_| ())
}

fn codes(e: Error) -> Vec<String> {
    match e {
        Error::TransactionCanceled { reasons } => reasons
            .into_iter()
            .map(|r: CancellationReason| r.code)
            .collect(),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

#[test]
fn a_held_item_refuses_plain_writes_transactions_and_transactional_reads() {
    let db = database(Arc::new(MemoryStore::new()));
    let held = db.txn.holds.try_hold(&[storage_key(&db, "b")]).unwrap();
    let ctx = RequestContext::default();
    let put =
        serde_json::from_value(json!({"TableName": "T", "Item": {"id": {"S": "b"}}})).unwrap();
    match db.put_item(&ctx, put) {
        Err(Error::TransactionConflict(m)) => assert_eq!(m, "Transaction is ongoing for the item"),
        other => panic!("{other:?}"),
    }
    // Another item of the table is not held.
    let put =
        serde_json::from_value(json!({"TableName": "T", "Item": {"id": {"S": "c"}}})).unwrap();
    db.put_item(&ctx, put).unwrap();
    assert_eq!(
        codes(transfer(&db).unwrap_err()),
        vec!["None", "TransactionConflict"]
    );
    // The refused transaction took no hold of its own: "a" is free.
    assert!(!db.txn.holds.is_held(&storage_key(&db, "a")));
    let get = serde_json::from_value(json!({"TransactItems": [
        {"Get": {"TableName": "T", "Key": {"id": {"S": "b"}}}}
    ]}))
    .unwrap();
    assert_eq!(
        codes(db.transact_get_items(&ctx, get).unwrap_err()),
        vec!["TransactionConflict"]
    );
    drop(held);
    transfer(&db).unwrap();
}

/// Hooks that, once armed, commit a plain write to every guarded key of the next guarded
/// batch just before applying it: the write a transaction can meet between read and commit.
/// With a `writer`, that write is the writer's (a real operation through the engine) instead.
#[derive(Default)]
struct Interloper {
    armed: AtomicBool,
    writer: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Interloper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interloper").finish_non_exhaustive()
    }
}

impl Hooks for Interloper {
    fn commit(&self, inner: &dyn Store, batch: Batch) -> Result<u64, StorageError> {
        if !batch.guards.is_empty() && self.armed.swap(false, Ordering::SeqCst) {
            if let Some(writer) = self.writer.get() {
                writer();
                return inner.commit(batch);
            }
            let key = batch.guards[0].key.clone();
            let value = batch
                .writes
                .iter()
                .find_map(|w| match w {
                    Write::Put { key: k, value } if *k == key => Some(value.clone()),
                    _ => None,
                })
                .or_else(|| inner.get(&key).ok().flatten().map(|v| v.value))
                .unwrap_or_default();
            inner.commit(Batch {
                writes: vec![Write::Put { key, value }],
                guards: Vec::new(),
            })?;
        }
        inner.commit(batch)
    }
}

#[test]
fn a_write_between_read_and_commit_cancels_with_transaction_conflict() {
    let store = Arc::new(Hooked::<Interloper>::default());
    let db = database(store.clone());
    store.hooks.armed.store(true, Ordering::SeqCst);
    assert_eq!(
        codes(transfer(&db).unwrap_err()),
        vec!["TransactionConflict", "None"]
    );
    // Nothing of the transaction was written: "b" is still absent, and "a" holds only the
    // interloper's write.
    assert!(store.get(&storage_key(&db, "b")).unwrap().is_none());
    // The reads of TransactGetItems retry past such a write and then succeed.
    store.hooks.armed.store(true, Ordering::SeqCst);
    let get = serde_json::from_value(json!({"TransactItems": [
        {"Get": {"TableName": "T", "Key": {"id": {"S": "a"}}}}
    ]}))
    .unwrap();
    db.transact_get_items(&RequestContext::default(), get)
        .unwrap();
    transfer(&db).unwrap();
}

#[test]
fn a_token_in_flight_answers_transaction_in_progress() {
    let db = database(Arc::new(MemoryStore::new()));
    let token = crate::txn::tokens::token_key(&crate::RequestContext::default(), "tok");
    let held = db.txn.holds.try_hold(std::slice::from_ref(&token)).unwrap();
    let input = || {
        serde_json::from_value(json!({
            "TransactItems": [{"Put": {"TableName": "T", "Item": {"id": {"S": "a"}}}}],
            "ClientRequestToken": "tok"
        }))
        .unwrap()
    };
    match db.transact_write_items(&RequestContext::default(), input()) {
        Err(Error::TransactionInProgress(m)) => {
            assert_eq!(m, "Transaction from previous request is still in progress")
        }
        other => panic!("{other:?}"),
    }
    drop(held);
    db.transact_write_items(&RequestContext::default(), input())
        .unwrap();
}

#[test]
fn batch_writes_of_held_items_come_back_unprocessed() {
    let db = database(Arc::new(MemoryStore::new()));
    let held = db.txn.holds.try_hold(&[storage_key(&db, "b")]).unwrap();
    let input = serde_json::from_value(json!({"RequestItems": {"T": [
        {"PutRequest": {"Item": {"id": {"S": "a"}, "v": {"N": "1"}}}},
        {"PutRequest": {"Item": {"id": {"S": "b"}, "v": {"N": "2"}}}},
        {"DeleteRequest": {"Key": {"id": {"S": "c"}}}}
    ]}}))
    .unwrap();
    let out = db
        .batch_write_item(&RequestContext::default(), input)
        .unwrap();
    assert_eq!(
        serde_json::to_value(&out.unprocessed_items).unwrap(),
        json!({"T": [{"PutRequest": {"Item": {"id": {"S": "b"}, "v": {"N": "2"}}}}]})
    );
    assert!(db.store.get(&storage_key(&db, "a")).unwrap().is_some());
    assert!(db.store.get(&storage_key(&db, "b")).unwrap().is_none());
    drop(held);
}

#[test]
fn a_batch_whose_item_moved_before_its_commit_writes_each_item_alone() {
    let store = Arc::new(Hooked::<Interloper>::default());
    let db =
        Arc::new(Database::open(store.clone(), Config::default(), Arc::new(SystemClock)).unwrap());
    let ctx = RequestContext::default();
    let create: CreateTableInput = serde_json::from_value(json!({
        "TableName": "G",
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"}
        ],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "byG",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}
        }],
        "BillingMode": "PAY_PER_REQUEST"
    }))
    .unwrap();
    db.create_table(&ctx, create).unwrap();
    let put = |id: &str, g: &str| -> crate::api::PutItemInput {
        serde_json::from_value(json!({"TableName": "G", "Item": {"id": {"S": id}, "g": {"S": g}}}))
            .unwrap()
    };
    db.put_item(&ctx, put("a", "old")).unwrap();
    // Between the batch's read of "a" and its commit, a PutItem moves "a" to another index key.
    let weak = Arc::downgrade(&db);
    let _ = store.hooks.writer.set(Box::new(move || {
        let db = weak.upgrade().unwrap();
        db.put_item(&RequestContext::default(), put("a", "interloper"))
            .unwrap();
    }));
    store.hooks.armed.store(true, Ordering::SeqCst);
    let batch = serde_json::from_value(json!({"RequestItems": {"G": [
        {"PutRequest": {"Item": {"id": {"S": "a"}, "g": {"S": "batch"}}}},
        {"PutRequest": {"Item": {"id": {"S": "b"}, "g": {"S": "batch"}}}}
    ]}}))
    .unwrap();
    let out = db.batch_write_item(&ctx, batch).unwrap();
    assert!(out.unprocessed_items.is_empty());
    assert!(
        !store.hooks.armed.load(Ordering::SeqCst),
        "the interloper ran"
    );
    // The batch's writes went alone after the interloper's: the index holds exactly the
    // entries of the items as they are, and the statistics count each item once.
    let scan: crate::api::ScanInput =
        serde_json::from_value(json!({"TableName": "G", "IndexName": "byG"})).unwrap();
    let entries = serde_json::to_value(db.scan(&ctx, scan).unwrap().items).unwrap();
    let mut entries: Vec<String> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}={}", e["id"]["S"], e["g"]["S"]))
        .collect();
    entries.sort();
    assert_eq!(entries, ["\"a\"=\"batch\"", "\"b\"=\"batch\""]);
    let describe: crate::api::TableNameInput =
        serde_json::from_value(json!({"TableName": "G"})).unwrap();
    let table = serde_json::to_value(db.describe_table(&ctx, describe).unwrap()).unwrap();
    assert_eq!(table["Table"]["ItemCount"], 2, "{table}");
    assert_eq!(
        table["Table"]["GlobalSecondaryIndexes"][0]["ItemCount"], 2,
        "{table}"
    );
}
