//! Hostile and broken clients: slow heads, stalled bodies, oversized heads and too many
//! connections are cut off or held back, and well-behaved clients keep being served.

use std::sync::Arc;
use std::time::Duration;

use binderdb_engine::{Config, SystemClock};
use binderdb_server::{Limits, ServeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{test_store, TestServer};

/// Far longer than any limit below: a test waiting this long has failed.
const PATIENCE: Duration = Duration::from_secs(20);

async fn server(limits: Limits) -> TestServer {
    let options = ServeOptions {
        limits,
        ..ServeOptions::default()
    };
    TestServer::with_options(
        test_store(),
        Config::default(),
        Arc::new(SystemClock),
        options,
    )
    .await
}

/// Everything the server sends until it closes the connection.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut buf))
        .await
        .expect("the server never closed the connection")
        .unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

async fn list_tables_works(server: &TestServer) {
    let resp = crate::common::raw_request(
        server.addr,
        Some("DynamoDB_20120810.ListTables"),
        &[],
        b"{}",
    )
    .await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn a_client_that_never_sends_its_head_is_disconnected() {
    let server = server(Limits {
        header_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut dripping = TcpStream::connect(server.addr).await.unwrap();
    dripping
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    list_tables_works(&server).await;
    assert_eq!(until_closed(&mut silent).await, "");
    // Half a head: hyper answers 408 (or just closes) once the timer fires.
    let answer = until_closed(&mut dripping).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    list_tables_works(&server).await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_the_connection_closed() {
    let server = server(Limits {
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n\
              Content-Type: application/x-amz-json-1.0\r\nContent-Length: 100\r\n\r\n{\"Li",
        )
        .await
        .unwrap();
    let answer = until_closed(&mut stalled).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    list_tables_works(&server).await;
}

#[tokio::test]
async fn an_oversized_head_is_refused_with_431() {
    let server = server(Limits {
        max_header_bytes: 16 * 1024,
        ..Limits::default()
    })
    .await;
    let mut big = TcpStream::connect(server.addr).await.unwrap();
    let filler = "a".repeat(20 * 1024);
    let head = format!("POST / HTTP/1.1\r\nHost: x\r\nX-Filler: {filler}\r\n\r\n");
    // The server may close before the whole head is written.
    let _ = big.write_all(head.as_bytes()).await;
    let answer = until_closed(&mut big).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let mut many = TcpStream::connect(server.addr).await.unwrap();
    let headers: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let head = format!("POST / HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    let _ = many.write_all(head.as_bytes()).await;
    let answer = until_closed(&mut many).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    list_tables_works(&server).await;
}

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let server = server(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let first = TcpStream::connect(server.addr).await.unwrap();
    let second = TcpStream::connect(server.addr).await.unwrap();
    // Both slots are held by idle connections: a third request is not served...
    let addr = server.addr;
    let third = tokio::spawn(async move {
        crate::common::raw_request(addr, Some("DynamoDB_20120810.ListTables"), &[], b"{}").await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "served past the connection limit");
    // ...until one of them goes.
    drop(first);
    let resp = tokio::time::timeout(PATIENCE, third)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status, 200);
    drop(second);
}
