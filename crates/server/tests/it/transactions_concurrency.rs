//! Transactions under concurrency: random transfers between hot accounts keep the total in
//! every TransactGetItems snapshot and at the end, conflicts happen and retried transfers all
//! complete; concurrent ADD counters (plain and transactional) lose no update.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    Get, ScalarAttributeType, TransactGetItem, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use crate::common::*;

const ACCOUNTS: usize = 10;
const START_BALANCE: i64 = 100;

fn account(i: usize) -> Item {
    item(&[("id", s(&format!("acct{i}")))])
}

fn add(table: &str, key: Item, amount: i64, at_least: Option<i64>) -> TransactWriteItem {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression("ADD balance :d")
        .expression_attribute_values(":d", n(&amount.to_string()));
    if let Some(min) = at_least {
        update = update
            .condition_expression("balance >= :min")
            .expression_attribute_values(":min", n(&min.to_string()));
    }
    TransactWriteItem::builder()
        .update(update.build().unwrap())
        .build()
}

/// Whether a cancellation was (at least partly) a TransactionConflict, else its codes.
fn conflict_codes(e: &TransactWriteItemsError) -> Option<Vec<String>> {
    match e {
        TransactWriteItemsError::TransactionCanceledException(c) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or_default().to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Sums every account's balance in one TransactGetItems, retrying conflicts.
async fn snapshot_total(client: &Client, conflicts: &AtomicU64) -> i64 {
    loop {
        let mut req = client.transact_get_items();
        for i in 0..ACCOUNTS {
            req = req.transact_items(
                TransactGetItem::builder()
                    .get(
                        Get::builder()
                            .table_name("Bank")
                            .set_key(Some(account(i)))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            );
        }
        match req.send().await {
            Ok(out) => {
                return out
                    .responses()
                    .iter()
                    .map(|r| {
                        r.item().unwrap()["balance"]
                            .as_n()
                            .unwrap()
                            .parse::<i64>()
                            .unwrap()
                    })
                    .sum();
            }
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    TransactGetItemsError::TransactionCanceledException(_)
                ) =>
            {
                conflicts.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => panic!("TransactGetItems failed: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfers_keep_the_total_in_every_snapshot_and_retries_complete() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Bank", ("id", ScalarAttributeType::S), None).await;
    for i in 0..ACCOUNTS {
        let mut attrs = account(i);
        attrs.insert("balance".to_owned(), n(&START_BALANCE.to_string()));
        client
            .put_item()
            .table_name("Bank")
            .set_item(Some(attrs))
            .send()
            .await
            .unwrap();
    }
    let total = START_BALANCE * ACCOUNTS as i64;
    let conflicts = Arc::new(AtomicU64::new(0));
    let committed = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));

    let mut readers = Vec::new();
    for _ in 0..2 {
        let (client, conflicts, done) = (client.clone(), conflicts.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut snapshots = 0u64;
            while !done.load(Ordering::Relaxed) || snapshots == 0 {
                assert_eq!(snapshot_total(&client, &conflicts).await, total);
                snapshots += 1;
            }
            snapshots
        }));
    }
    let mut writers = Vec::new();
    for w in 0..8u64 {
        let (client, conflicts, committed, refused) = (
            client.clone(),
            conflicts.clone(),
            committed.clone(),
            refused.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(w);
            for _ in 0..60 {
                let from = rng.usize(..ACCOUNTS);
                let to = (from + 1 + rng.usize(..ACCOUNTS - 1)) % ACCOUNTS;
                let amount = rng.i64(1..=40);
                // Retried until it commits or its condition (enough funds) refuses it.
                loop {
                    let result = client
                        .transact_write_items()
                        .transact_items(add("Bank", account(from), -amount, Some(amount)))
                        .transact_items(add("Bank", account(to), amount, None))
                        .send()
                        .await;
                    match result {
                        Ok(_) => {
                            committed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(SdkError::ServiceError(e)) => {
                            let codes = conflict_codes(e.err())
                                .unwrap_or_else(|| panic!("unexpected error {e:?}"));
                            if codes.iter().any(|c| c == "TransactionConflict") {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            assert_eq!(codes, ["ConditionalCheckFailed", "None"]);
                            refused.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) => panic!("TransactWriteItems failed: {e:?}"),
                    }
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.await.unwrap() > 0);
    }
    let settled = committed.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed);
    assert_eq!(settled, 8 * 60, "every transfer completed (or was refused)");
    assert!(committed.load(Ordering::Relaxed) > 0);
    assert_eq!(snapshot_total(&client, &conflicts).await, total);
    // No balance went negative.
    for i in 0..ACCOUNTS {
        let got = client
            .get_item()
            .table_name("Bank")
            .set_key(Some(account(i)))
            .send()
            .await
            .unwrap();
        let balance: i64 = got.item().unwrap()["balance"]
            .as_n()
            .unwrap()
            .parse()
            .unwrap();
        assert!(balance >= 0, "account {i} at {balance}");
    }
    eprintln!(
        "transfers: {} committed, {} refused, {} conflicts retried",
        committed.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        conflicts.load(Ordering::Relaxed)
    );
    assert!(
        conflicts.load(Ordering::Relaxed) > 0,
        "10 hot accounts under 8 writers and 2 readers must conflict"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_add_counters_lose_no_update() {
    let server = TestServer::memory().await;
    let client = server.client();
    create_table(&client, "Counters", ("id", ScalarAttributeType::S), None).await;
    const COUNTERS: usize = 3;
    const PER_CLIENT: usize = 80;
    let conflicts = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..8usize {
        let (client, conflicts) = (client.clone(), conflicts.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_CLIENT {
                let counter = item(&[("id", s(&format!("c{}", (c + i) % COUNTERS)))]);
                loop {
                    // Half the clients count with plain UpdateItem, half in transactions that
                    // also bump a shared total: both meet each other's holds.
                    let conflict = if c % 2 == 0 {
                        match client
                            .update_item()
                            .table_name("Counters")
                            .set_key(Some(counter.clone()))
                            .update_expression("ADD balance :one")
                            .expression_attribute_values(":one", n("1"))
                            .send()
                            .await
                        {
                            Ok(_) => false,
                            Err(SdkError::ServiceError(e))
                                if matches!(
                                    e.err(),
                                    UpdateItemError::TransactionConflictException(_)
                                ) =>
                            {
                                true
                            }
                            Err(e) => panic!("{e:?}"),
                        }
                    } else {
                        match client
                            .transact_write_items()
                            .transact_items(add("Counters", counter.clone(), 1, None))
                            .transact_items(add("Counters", item(&[("id", s("total"))]), 1, None))
                            .send()
                            .await
                        {
                            Ok(_) => false,
                            Err(SdkError::ServiceError(e)) => {
                                let codes = conflict_codes(e.err())
                                    .unwrap_or_else(|| panic!("unexpected error {e:?}"));
                                assert!(codes.iter().any(|c| c == "TransactionConflict"));
                                true
                            }
                            Err(e) => panic!("{e:?}"),
                        }
                    };
                    if !conflict {
                        break;
                    }
                    conflicts.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let value = |id: &'static str| {
        let client = client.clone();
        async move {
            client
                .get_item()
                .table_name("Counters")
                .set_key(Some(item(&[("id", s(id))])))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item()
                .unwrap()["balance"]
                .as_n()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        }
    };
    let sum = value("c0").await + value("c1").await + value("c2").await;
    assert_eq!(sum, 8 * PER_CLIENT);
    assert_eq!(value("total").await, 4 * PER_CLIENT);
    eprintln!(
        "ADD counters: {} conflicts retried",
        conflicts.load(Ordering::Relaxed)
    );
}
