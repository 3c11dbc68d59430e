//! Micro-benchmarks of one item write through the engine, on the in-memory store: validation,
//! key extraction, the store's read-modify-write, table statistics and capacity, without HTTP or
//! JSON (each request's input is built outside the timed part). It measures the engine's own
//! share of a PutItem, which end-to-end runs on a shared 2-core machine cannot resolve.
//!
//! `cargo bench -p binderdb-engine --bench write` (add `-- --quick` for a fast pass).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::cell::Cell;
use std::sync::Arc;

use binderdb_engine::api::{CreateTableInput, PutItemInput, WireItem};
use binderdb_engine::{Config, Database, RequestContext, SystemClock};
use binderdb_storage::MemoryStore;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

// The server's allocator, so allocation costs as much here as in `binderdb serve`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A ~200-byte item like `binderdb bench`'s: string partition key, number sort key, a payload.
fn template() -> WireItem {
    serde_json::from_value(serde_json::json!({
        "pk": {"S": "pk-0"},
        "sk": {"N": "1"},
        "status": {"S": "PENDING"},
        "total": {"N": "123.45"},
        "payload": {"S": "x".repeat(140)},
        "gift": {"BOOL": true},
    }))
    .unwrap()
}

fn put_input(template: &WireItem, pk: u64) -> PutItemInput {
    let mut item = template.clone();
    item.insert(
        "pk".to_owned(),
        serde_json::from_value(serde_json::json!({ "S": format!("pk-{pk}") })).unwrap(),
    );
    PutItemInput {
        table_name: Some("bench".to_owned()),
        item: Some(item),
        ..PutItemInput::default()
    }
}

fn database() -> Database {
    let config = Config {
        create_delay_ms: 0,
        ..Config::default()
    };
    let db = Database::open(Arc::new(MemoryStore::new()), config, Arc::new(SystemClock)).unwrap();
    let input: CreateTableInput = serde_json::from_value(serde_json::json!({
        "TableName": "bench",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "BillingMode": "PAY_PER_REQUEST"
    }))
    .unwrap();
    db.create_table(&RequestContext::default(), input).unwrap();
    db
}

fn write(c: &mut Criterion) {
    let db = database();
    let ctx = RequestContext::default();
    let template = template();
    let next = Cell::new(0u64);
    let mut group = c.benchmark_group("put_item");
    group.bench_function("new_item", |b| {
        b.iter_batched(
            || {
                next.set(next.get() + 1);
                put_input(&template, next.get())
            },
            |input| db.put_item(&ctx, input).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("replace_item", |b| {
        b.iter_batched(
            || put_input(&template, 0),
            |input| db.put_item(&ctx, input).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, write);
criterion_main!(benches);
