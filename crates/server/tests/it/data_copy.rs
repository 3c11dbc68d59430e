//! `POST /binderdb/backup` (`binderdb backup --to DIR`): a copy of a running durable server's
//! whole data directory, taken while writers go on, starts as a server of its own holding
//! every write acknowledged before the copy and a prefix of each concurrent writer's writes,
//! with its indexes, stream, on-demand backups and point-in-time recovery; the destination
//! must be empty or absent; the in-memory engine copies into a durable directory; with access
//! keys configured the request must be signed (which keys may ask: `binderdb`'s CLI tests).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use binderdb_engine::{Config, SystemClock};
use serde_json::{json, Value};

use crate::backups::{contents, indexed_table, put_row};
use crate::common::*;
use crate::indexes_ddl::ok;

/// Asks `addr` for a copy into `dir`.
async fn copy_to(addr: std::net::SocketAddr, dir: &str) -> RawResponse {
    raw_http(
        addr,
        "POST",
        "/binderdb/backup",
        json!({ "Directory": dir }).to_string().as_bytes(),
    )
    .await
}

/// The `pk`/`sk` of row `i` as `put_row` writes it.
fn row_key(i: u32) -> Value {
    json!({"pk": {"S": format!("p{}", i % 7)}, "sk": {"S": format!("s{i:03}")}})
}

#[tokio::test]
async fn a_copy_under_writes_starts_with_everything_acknowledged_before_it() {
    let source_dir = tempfile::tempdir().unwrap();
    let server = TestServer::durable(source_dir.path()).await;
    let addr = server.addr;
    indexed_table(addr, "Live").await;
    ok(
        addr,
        "UpdateTable",
        json!({"TableName": "Live",
               "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    )
    .await;
    ok(
        addr,
        "UpdateContinuousBackups",
        json!({"TableName": "Live",
               "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .await;
    for i in 0..200 {
        put_row(addr, "Live", i).await;
    }
    let backup = ok(
        addr,
        "CreateBackup",
        json!({"TableName": "Live", "BackupName": "before-copy"}),
    )
    .await;
    let backup_arn = backup["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 200..300 {
        put_row(addr, "Live", i).await;
    }

    // Two writers go on during the copy, each recording the rows acknowledged to it, in order.
    let stop = Arc::new(AtomicBool::new(false));
    let logs: Vec<Arc<Mutex<Vec<u32>>>> = (0..2).map(|_| Arc::default()).collect();
    let writers: Vec<_> = logs
        .iter()
        .enumerate()
        .map(|(w, log)| {
            let (stop, log) = (stop.clone(), log.clone());
            tokio::spawn(async move {
                let mut i = 1000 + w as u32 * 100_000;
                while !stop.load(Ordering::Relaxed) {
                    put_row(addr, "Live", i).await;
                    log.lock().unwrap().push(i);
                    i += 1;
                }
            })
        })
        .collect();
    let acked_len = |logs: &[Arc<Mutex<Vec<u32>>>]| -> Vec<usize> {
        logs.iter().map(|l| l.lock().unwrap().len()).collect()
    };
    // Wait for the writers to get going (not a timing assumption: the copy must be taken
    // while they write, whatever their speed).
    while acked_len(&logs).iter().any(|n| *n < 5) {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let dest = tempfile::tempdir().unwrap();
    let copy_dir = dest.path().join("copy");
    let before_copy = acked_len(&logs);
    let answer = copy_to(addr, copy_dir.to_str().unwrap()).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    // Two more acknowledgements per writer: the second was sent after the copy returned.
    let after_copy = acked_len(&logs);
    while acked_len(&logs)
        .iter()
        .zip(&after_copy)
        .any(|(n, after)| *n < after + 2)
    {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked: Vec<Vec<u32>> = logs.iter().map(|l| l.lock().unwrap().clone()).collect();
    let summary = answer.json();
    assert_eq!(summary["Directory"], copy_dir.to_str().unwrap());
    assert!(summary["Entries"].as_u64().unwrap() > 300, "{summary}");
    let source_items = contents(addr, "Live", None).await;

    let copy = TestServer::durable(&copy_dir).await;
    let c = copy.addr;
    for i in 0..300 {
        let got = ok(
            c,
            "GetItem",
            json!({"TableName": "Live", "Key": row_key(i)}),
        )
        .await;
        assert!(
            got.get("Item").is_some(),
            "row {i}, acknowledged before the copy, is missing"
        );
    }
    let mut concurrent_in_copy = 0;
    for (w, rows) in acked.iter().enumerate() {
        // A prefix of each writer's acknowledged rows: once one is missing, all later ones are.
        let mut missing_from = None;
        for (n, i) in rows.iter().enumerate() {
            let got = ok(
                c,
                "GetItem",
                json!({"TableName": "Live", "Key": row_key(*i)}),
            )
            .await;
            match (got.get("Item").is_some(), missing_from) {
                (true, None) => concurrent_in_copy += 1,
                (true, Some(m)) => panic!("row {i} is in the copy but row {} is not", rows[m]),
                (false, _) => missing_from = missing_from.or(Some(n)),
            }
        }
        let present = missing_from.unwrap_or(rows.len());
        assert!(
            present >= before_copy[w],
            "writer {w}: {} rows were acknowledged before the copy was asked for, {present} \
             are in it",
            before_copy[w]
        );
        assert!(
            present < rows.len(),
            "writer {w}: its last row, sent after the copy returned, is in the copy"
        );
    }
    let items = contents(c, "Live", None).await;
    assert_eq!(items.len(), 300 + concurrent_in_copy);
    assert!(items.iter().all(|i| source_items.contains(i)));
    // Indexes hold exactly the copied items' entries.
    assert_eq!(contents(c, "Live", Some("byRank")).await.len(), items.len());
    assert_eq!(contents(c, "Live", Some("byTeam")).await.len(), items.len());
    let described = ok(c, "DescribeTable", json!({"TableName": "Live"})).await;
    assert_eq!(
        described["Table"]["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
    assert_eq!(described["Table"]["ItemCount"], items.len());
    // The stream came along, still enabled.
    let stream_arn = described["Table"]["LatestStreamArn"].as_str().unwrap();
    let stream = raw_request(
        c,
        Some("DynamoDBStreams_20120810.DescribeStream"),
        &[],
        json!({ "StreamArn": stream_arn }).to_string().as_bytes(),
    )
    .await;
    assert_eq!(
        stream.status,
        200,
        "{}",
        String::from_utf8_lossy(&stream.body)
    );
    assert_eq!(
        stream.json()["StreamDescription"]["StreamStatus"],
        "ENABLED"
    );
    let pitr = ok(c, "DescribeContinuousBackups", json!({"TableName": "Live"})).await;
    assert_eq!(
        pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            ["PointInTimeRecoveryStatus"],
        "ENABLED"
    );
    // The on-demand backup came along and restores as it would have on the source.
    let backups = ok(c, "ListBackups", json!({})).await;
    assert_eq!(backups["BackupSummaries"][0]["BackupArn"], backup_arn);
    ok(
        c,
        "RestoreTableFromBackup",
        json!({"TargetTableName": "FromBackup", "BackupArn": backup_arn}),
    )
    .await;
    assert_eq!(contents(c, "FromBackup", None).await.len(), 200);
    // So did the point-in-time recovery log: the latest restorable state is the copy's.
    ok(
        c,
        "RestoreTableToPointInTime",
        json!({"SourceTableName": "Live", "TargetTableName": "Latest",
               "UseLatestRestorableTime": true}),
    )
    .await;
    assert_eq!(contents(c, "Latest", None).await, items);
    // And the copy takes writes of its own.
    put_row(c, "Live", 999_999).await;
    copy.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn the_destination_must_be_an_empty_or_new_absolute_directory() {
    // In-memory explicitly: it copies a data directory, which the RADOS engine refuses by design.
    let server = TestServer::with_store(Arc::new(binderdb_storage::MemoryStore::new())).await;
    let addr = server.addr;
    indexed_table(addr, "Tab").await;
    put_row(addr, "Tab", 1).await;
    let dest = tempfile::tempdir().unwrap();
    std::fs::write(dest.path().join("keep.txt"), b"not a copy").unwrap();
    let refused = copy_to(addr, dest.path().to_str().unwrap()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json()["__type"],
        "com.amazon.coral.validate#ValidationException"
    );
    let message = refused.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.ends_with("is not empty: a copy goes into an empty or new directory"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(dest.path().join("keep.txt")).unwrap(),
        b"not a copy"
    );
    let relative = copy_to(addr, "relative/dir").await;
    assert_eq!(relative.status, 400);
    assert_eq!(
        relative.json()["message"],
        "Directory must be an absolute path on the server's machine: relative/dir"
    );
    let malformed = raw_http(addr, "POST", "/binderdb/backup", b"{\"Dir\": 1}").await;
    assert_eq!(malformed.status, 400);

    // The in-memory engine copies into a durable directory, empty or new.
    let empty = tempfile::tempdir().unwrap();
    let answer = copy_to(addr, empty.path().to_str().unwrap()).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let copy = TestServer::durable(empty.path()).await;
    assert_eq!(
        contents(copy.addr, "Tab", None).await,
        contents(addr, "Tab", None).await
    );
    assert_eq!(contents(copy.addr, "Tab", Some("byTeam")).await.len(), 1);
    copy.stop().await;
}

#[tokio::test]
async fn with_access_keys_an_unsigned_request_is_refused() {
    let credentials = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        credentials.path(),
        "AKIDOPERATOR:operator-secret\nAKIDOTHER:other-secret account=111122223333\n",
    )
    .unwrap();
    let auth = binderdb_server::Auth::with_principals(
        binderdb_server::Auth::read_credentials_file(credentials.path()).unwrap(),
    );
    let server = TestServer::with_auth(
        crate::common::test_store(),
        Config::default(),
        Arc::new(SystemClock),
        auth,
    )
    .await;
    let dest = tempfile::tempdir().unwrap();
    // Unsigned: refused like an unsigned API call.
    let unsigned = copy_to(server.addr, dest.path().to_str().unwrap()).await;
    assert_eq!(unsigned.status, 400);
    assert_eq!(
        unsigned.json()["__type"],
        "com.amazon.coral.service#MissingAuthenticationTokenException"
    );
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}
