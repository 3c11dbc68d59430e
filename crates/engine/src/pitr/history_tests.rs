//! The change log's reading API against a scripted history under a manual clock, through the
//! real write paths (PutItem, UpdateItem, DeleteItem, BatchWriteItem, a transaction).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use binderdb_model::decode_item;
use binderdb_storage::{Keyspace, MemoryStore, SegmentScan};
use serde_json::{json, Value};

use crate::{Config, Database, ManualClock, RequestContext};

const T0: u64 = 1_700_000_000_000;

fn db() -> (Database, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let db = Database::open(
        Arc::new(MemoryStore::new()),
        Config::default(),
        clock.clone(),
    )
    .unwrap();
    let ctx = RequestContext::default();
    db.create_table(
        &ctx,
        serde_json::from_value(json!({
            "TableName": "T",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }))
        .unwrap(),
    )
    .unwrap();
    (db, clock)
}

fn run(db: &Database, op: &str, body: Value) {
    let ctx = RequestContext::default();
    let r = match op {
        "PutItem" => db
            .put_item(&ctx, serde_json::from_value(body).unwrap())
            .map(|_| ()),
        "UpdateItem" => db
            .update_item(&ctx, serde_json::from_value(body).unwrap())
            .map(|_| ()),
        "DeleteItem" => db
            .delete_item(&ctx, serde_json::from_value(body).unwrap())
            .map(|_| ()),
        "BatchWriteItem" => db
            .batch_write_item(&ctx, serde_json::from_value(body).unwrap())
            .map(|_| ()),
        "TransactWriteItems" => db
            .transact_write_items(&ctx, serde_json::from_value(body).unwrap())
            .map(|_| ()),
        "UpdateContinuousBackups" => db
            .update_continuous_backups(&ctx, serde_json::from_value(body).unwrap())
            .map(|_| ()),
        _ => unreachable!(),
    };
    r.unwrap();
}

fn put(db: &Database, id: &str, v: i32) {
    run(
        db,
        "PutItem",
        json!({"TableName": "T", "Item": {"id": {"S": id}, "v": {"N": v.to_string()}}}),
    );
}

/// The table as a map id → v, from encoded items.
type State = BTreeMap<String, String>;

fn add(state: &mut State, item: &[u8]) {
    let item = decode_item(item).unwrap();
    let text = |name: &str| format!("{:?}", item.get(name).unwrap());
    state.insert(text("id"), text("v"));
}

fn current(db: &Database) -> State {
    let table = db.table(&RequestContext::default(), "T").unwrap();
    let mut state = State::new();
    db.store
        .scan(
            &SegmentScan {
                keyspace: Keyspace::Items,
                table: table.descriptor().id,
                segment: 0,
                total_segments: 1,
                start_after: None,
            },
            &mut |e| {
                add(&mut state, e.value);
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    state
}

fn at(db: &Database, ms: u64) -> State {
    let table = db.table(&RequestContext::default(), "T").unwrap();
    let mut state = State::new();
    db.pitr_items_at(&table, ms, &mut |_, _, item| {
        add(&mut state, item);
        ControlFlow::Continue(())
    })
    .unwrap();
    state
}

#[test]
fn the_table_at_each_instant_of_a_scripted_history() {
    let (db, clock) = db();
    put(&db, "before", 0);
    run(
        &db,
        "UpdateContinuousBackups",
        json!({"TableName": "T", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    );
    let mut expected = vec![(clock_now(&clock), current(&db))];
    let steps: Vec<(&str, Value)> = vec![
        (
            "PutItem",
            json!({"TableName": "T", "Item": {"id": {"S": "a"}, "v": {"N": "1"}}}),
        ),
        (
            "PutItem",
            json!({"TableName": "T", "Item": {"id": {"S": "b"}, "v": {"N": "1"}}}),
        ),
        (
            "UpdateItem",
            json!({"TableName": "T", "Key": {"id": {"S": "a"}},
            "UpdateExpression": "SET v = v + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}),
        ),
        (
            "DeleteItem",
            json!({"TableName": "T", "Key": {"id": {"S": "before"}}}),
        ),
        (
            "BatchWriteItem",
            json!({"RequestItems": {"T": [
            {"PutRequest": {"Item": {"id": {"S": "c"}, "v": {"N": "7"}}}},
            {"DeleteRequest": {"Key": {"id": {"S": "b"}}}}]}}),
        ),
        (
            "TransactWriteItems",
            json!({"TransactItems": [
            {"Put": {"TableName": "T", "Item": {"id": {"S": "b"}, "v": {"N": "9"}}}},
            {"Update": {"TableName": "T", "Key": {"id": {"S": "c"}},
                "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"N": "8"}}}}]}),
        ),
        (
            "DeleteItem",
            json!({"TableName": "T", "Key": {"id": {"S": "a"}}}),
        ),
    ];
    for (op, body) in steps {
        clock.advance(1000);
        run(&db, op, body.clone());
        // Two writes in the same millisecond: only the last counts at that instant.
        run(&db, op, body);
        expected.push((clock_now(&clock), current(&db)));
    }
    for (ms, state) in &expected {
        assert_eq!(&at(&db, *ms), state, "at {ms}");
        // Half a second later nothing changed yet.
        assert_eq!(&at(&db, ms + 500), state, "at {ms} + 500");
    }

    // The changes between two instants, with both images, in commit order.
    let table = db.table(&RequestContext::default(), "T").unwrap();
    let mut seen = Vec::new();
    db.pitr_changes(&table, expected[2].0, expected[4].0, &mut |c| {
        seen.push((
            c.old.map(|o| decode_item(o).unwrap().len()),
            c.new.is_some(),
            c.time_ms,
        ));
        ControlFlow::Continue(())
    })
    .unwrap();
    // Step 3: the update of `a`, twice; step 4: the delete of `before` (then a no-op).
    assert_eq!(
        seen,
        vec![
            (Some(2), true, expected[3].0),
            (Some(2), true, expected[3].0),
            (Some(2), false, expected[4].0),
        ]
    );
}

#[test]
fn pruning_keeps_the_recovery_window_and_disabling_drops_the_log() {
    let (db, clock) = db();
    run(
        &db,
        "UpdateContinuousBackups",
        json!({"TableName": "T", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 1}}),
    );
    for i in 0..50 {
        put(&db, &format!("old{i}"), i);
    }
    clock.advance(20 * 60 * 60 * 1000);
    for i in 0..5 {
        put(&db, &format!("new{i}"), i);
    }
    let table = db.table(&RequestContext::default(), "T").unwrap();
    let count = |db: &Database| {
        let mut n = 0;
        db.pitr_changes(&table, 0, u64::MAX, &mut |_| {
            n += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        n
    };
    db.prune_pitr_logs().unwrap();
    assert_eq!(count(&db), 55);
    clock.advance(6 * 60 * 60 * 1000);
    db.prune_pitr_logs().unwrap();
    assert_eq!(count(&db), 5);

    // Disabling drops the log; enabling again starts an empty one.
    for enabled in [false, true] {
        run(
            &db,
            "UpdateContinuousBackups",
            json!({"TableName": "T", "PointInTimeRecoverySpecification":
                   {"PointInTimeRecoveryEnabled": enabled}}),
        );
    }
    let table = db.table(&RequestContext::default(), "T").unwrap();
    let mut n = 0;
    db.pitr_changes(&table, 0, u64::MAX, &mut |_| {
        n += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(n, 0);
    assert_eq!(at(&db, clock_now(&clock)).len(), 55);
}

fn clock_now(clock: &ManualClock) -> u64 {
    use crate::Clock;
    clock.now_millis()
}

#[test]
fn a_restore_a_crash_interrupted_is_deleted_at_start_up() {
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let db = Database::open(store.clone(), Config::default(), clock.clone()).unwrap();
    let ctx = RequestContext::default();
    db.create_table(
        &ctx,
        serde_json::from_value(json!({
            "TableName": "T",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }))
        .unwrap(),
    )
    .unwrap();
    let source = db.table(&ctx, "T").unwrap().descriptor();
    // What a restore leaves when the process dies during its copy.
    let interrupted = crate::catalog::TableDescriptor {
        id: db.catalog.allocate_table_id(db.store.as_ref()).unwrap(),
        name: "Half".to_owned(),
        active_at_ms: crate::ops::backups::RESTORING,
        restored_from: Some(crate::backup::RestoreSource {
            backup_arn: None,
            source_table_arn: "arn".to_owned(),
            restored_at_ms: T0,
        }),
        ..(*source).clone()
    };
    db.catalog.put(db.store.as_ref(), interrupted).unwrap();
    assert!(db.table(&ctx, "Half").is_some());
    drop(db);
    let db = Database::open(store, Config::default(), clock).unwrap();
    assert!(db.table(&ctx, "Half").is_none());
    assert!(db.table(&ctx, "T").is_some());
}

#[test]
fn ttl_deletes_are_logged_too() {
    let (db, clock) = db();
    let ctx = RequestContext::default();
    db.update_time_to_live(
        &ctx,
        serde_json::from_value(json!({"TableName": "T",
            "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}}))
        .unwrap(),
    )
    .unwrap();
    run(
        &db,
        "UpdateContinuousBackups",
        json!({"TableName": "T", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    );
    run(
        &db,
        "PutItem",
        json!({"TableName": "T", "Item": {"id": {"S": "gone"}, "v": {"N": "1"},
               "exp": {"N": (T0 / 1000 + 10).to_string()}}}),
    );
    let before = clock_now(&clock);
    clock.advance(60_000);
    // (The background sweeper may get there first: only the outcome is asserted.)
    db.sweep_expired().unwrap();
    assert!(current(&db).is_empty());
    assert_eq!(at(&db, before).len(), 1);
    assert!(at(&db, clock_now(&clock)).is_empty());
}

/// A deleted table's kept items and log are reclaimed once its system backup expires (the
/// requests stop seeing it at the expiry; the pruner's pass drops the data).
#[test]
fn a_deleted_tables_items_and_log_are_dropped_when_its_system_backup_expires() {
    let (db, clock) = db();
    run(
        &db,
        "UpdateContinuousBackups",
        json!({"TableName": "T", "PointInTimeRecoverySpecification":
               {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 1}}),
    );
    for i in 0..20 {
        put(&db, &format!("k{i}"), i);
    }
    let table = db.table(&RequestContext::default(), "T").unwrap();
    let d = table.descriptor();
    let (items_id, log_id) = (d.id, d.pitr.as_ref().unwrap().log_id);
    drop(table);
    db.delete_table(
        &RequestContext::default(),
        serde_json::from_value(json!({"TableName": "T"})).unwrap(),
    )
    .unwrap();
    let stored = |id, keyspace| {
        let mut n = 0;
        db.store
            .scan(
                &SegmentScan {
                    keyspace,
                    table: id,
                    segment: 0,
                    total_segments: 1,
                    start_after: None,
                },
                &mut |_| {
                    n += 1;
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        n
    };
    // Kept through the retention, whatever the pruner does meanwhile.
    clock.advance(23 * 60 * 60 * 1000);
    db.prune_pitr_logs().unwrap();
    assert_eq!(stored(items_id, Keyspace::Items), 20);
    assert_eq!(stored(log_id, Keyspace::Stream), 20);
    clock.advance(60 * 60 * 1000);
    db.prune_pitr_logs().unwrap();
    assert_eq!(stored(items_id, Keyspace::Items), 0);
    assert_eq!(stored(log_id, Keyspace::Stream), 0);
    let (left, _) = crate::backup::list(db.store.as_ref(), None, usize::MAX, &|_| true).unwrap();
    assert!(left.is_empty());
}
