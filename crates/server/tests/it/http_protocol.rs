//! The HTTP side of the protocol: compressed bodies both ways, CORS, the health check, refused
//! methods and paths, 413, content types, and connections that survive error answers. Raw
//! HTTP over one hyper connection, because SDKs cannot send most of these requests.

use std::io::{Read, Write};
use std::net::SocketAddr;

use bytes::Bytes;
use flate2::read::{GzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

/// One kept-alive client connection.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
}

/// A response as read off the wire (body not inflated).
struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, inflated per its Content-Encoding.
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.inflated()).unwrap()
    }

    fn inflated(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header("content-encoding") {
            Some("gzip") => {
                GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some("deflate") => {
                ZlibDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            None => out = self.body.clone(),
            Some(other) => panic!("unexpected encoding {other}"),
        }
        out
    }

    #[track_caller]
    fn assert_error(&self, error_type: &str, message: Option<&str>) {
        assert_eq!(self.status, 400, "{}", String::from_utf8_lossy(&self.body));
        let json = self.json();
        assert_eq!(json["__type"], error_type, "{json}");
        assert_eq!(
            json.get("message").and_then(|m| m.as_str()),
            message,
            "{json}"
        );
    }
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Conn { sender, addr }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        self.sender.ready().await.unwrap();
        let resp = self.sender.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// An API call with a JSON body and extra headers.
    async fn call(&mut self, op: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        let target = format!("DynamoDB_20120810.{op}");
        let mut all = vec![
            ("x-amz-target", target.as_str()),
            ("content-type", "application/x-amz-json-1.0"),
        ];
        all.extend_from_slice(headers);
        self.send("POST", "/", &all, body).await
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut w = GzEncoder::new(Vec::new(), Compression::default());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut w = ZlibEncoder::new(Vec::new(), Compression::default());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

const INTERNAL: &str = "com.amazonaws.dynamodb.v20120810#InternalServerError";

async fn table(server: &TestServer, name: &str) {
    create_table(
        &server.client(),
        name,
        ("pk", aws_sdk_dynamodb::types::ScalarAttributeType::S),
        None,
    )
    .await;
}

fn put_body(table: &str, pk: &str, extra: &str) -> Vec<u8> {
    json!({"TableName": table, "Item": {"pk": {"S": pk}, "x": {"S": extra}}})
        .to_string()
        .into_bytes()
}

async fn get_x(conn: &mut Conn, table: &str, pk: &str) -> Option<String> {
    let body = json!({"TableName": table, "Key": {"pk": {"S": pk}}, "ConsistentRead": true});
    let answer = conn
        .call("GetItem", &[], body.to_string().into_bytes())
        .await;
    assert_eq!(answer.status, 200);
    answer.json()["Item"]["x"]["S"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn compressed_request_bodies_are_inflated() {
    let server = TestServer::memory().await;
    table(&server, "Zipped").await;
    let mut conn = Conn::open(server.addr).await;
    let gz = &[("content-encoding", "gzip")];
    let answer = conn
        .call("PutItem", gz, gzip(&put_body("Zipped", "a", "1")))
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let deflate = &[("content-encoding", "deflate")];
    let answer = conn
        .call("PutItem", deflate, zlib(&put_body("Zipped", "b", "2")))
        .await;
    assert_eq!(answer.status, 200);
    // Two gzip members back to back are one body (RFC 1952), as DynamoDB reads them.
    let body = put_body("Zipped", "c", "3");
    let mut two = gzip(&body[..10]);
    two.extend(gzip(&body[10..]));
    assert_eq!(conn.call("PutItem", gz, two).await.status, 200);
    // A large, well-compressed body: the inflated size is what counts, up to 16 MB.
    let long = "y".repeat(300_000);
    let answer = conn
        .call("PutItem", gz, gzip(&put_body("Zipped", "d", &long)))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(get_x(&mut conn, "Zipped", "a").await.as_deref(), Some("1"));
    assert_eq!(get_x(&mut conn, "Zipped", "b").await.as_deref(), Some("2"));
    assert_eq!(get_x(&mut conn, "Zipped", "c").await.as_deref(), Some("3"));
    assert_eq!(get_x(&mut conn, "Zipped", "d").await, Some(long));
}

#[tokio::test]
async fn corrupt_or_unknown_encodings_are_server_errors_and_write_nothing() {
    let server = TestServer::memory().await;
    table(&server, "Broken").await;
    let mut conn = Conn::open(server.addr).await;
    let mut truncated = gzip(&put_body("Broken", "t", "1"));
    truncated.pop();
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("garbage", "u", put_body("Broken", "u", "1")),
        ("gzip", "p", put_body("Broken", "p", "1")),
        ("deflate", "q", put_body("Broken", "q", "1")),
        ("gzip", "t", truncated),
        ("gzip", "-", Vec::new()),
    ];
    for (encoding, pk, body) in cases {
        let answer = conn
            .call("PutItem", &[("content-encoding", encoding)], body)
            .await;
        assert_eq!(answer.status, 500, "{encoding} {pk}");
        assert_eq!(answer.json()["__type"], INTERNAL);
        // The connection is still usable, and nothing was written.
        assert_eq!(get_x(&mut conn, "Broken", pk).await, None);
    }
}

#[tokio::test]
async fn inflated_bodies_over_16_mb_are_refused_with_413() {
    let server = TestServer::memory().await;
    table(&server, "Bomb").await;
    let mut conn = Conn::open(server.addr).await;
    let mut body = put_body("Bomb", "a", "1");
    let close = body.pop().unwrap();
    body.resize(16 * 1024 * 1024 + 1, b' ');
    body.push(close);
    let compressed = gzip(&body);
    assert!(compressed.len() < 100_000);
    let answer = conn
        .call("PutItem", &[("content-encoding", "gzip")], compressed)
        .await;
    assert_eq!(answer.status, 413);
    let mut conn = Conn::open(server.addr).await;
    assert_eq!(get_x(&mut conn, "Bomb", "a").await, None);
}

#[tokio::test]
async fn large_responses_are_compressed_when_the_client_accepts_it() {
    let server = TestServer::memory().await;
    table(&server, "Big").await;
    let mut conn = Conn::open(server.addr).await;
    let x = "x".repeat(5000);
    for pk in ["a", "b", "c"] {
        assert_eq!(
            conn.call("PutItem", &[], put_body("Big", pk, &x))
                .await
                .status,
            200
        );
    }
    let get = || {
        json!({"TableName": "Big", "Key": {"pk": {"S": "a"}}})
            .to_string()
            .into_bytes()
    };
    // Without Accept-Encoding: plain.
    let plain = conn.call("GetItem", &[], get()).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.json()["Item"]["x"]["S"], x.as_str());

    for (accept, expected) in [("gzip", "gzip"), ("deflate", "deflate"), ("*", "gzip")] {
        let answer = conn
            .call("GetItem", &[("accept-encoding", accept)], get())
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("content-encoding"),
            Some(expected),
            "{accept}"
        );
        assert!(answer.body.len() * 10 < plain.body.len());
        // The checksum covers the bytes on the wire.
        let crc: u32 = answer.header("x-amz-crc32").unwrap().parse().unwrap();
        assert_eq!(crc, crc32fast::hash(&answer.body));
        assert_eq!(answer.inflated(), plain.body);
    }
    // identity or q=0 refuse compression.
    for accept in ["identity", "gzip;q=0", "br"] {
        let answer = conn
            .call("GetItem", &[("accept-encoding", accept)], get())
            .await;
        assert_eq!(answer.header("content-encoding"), None, "{accept}");
    }
    // Small responses are never compressed.
    let small =
        json!({"TableName": "Big", "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "pk"});
    let answer = conn
        .call(
            "GetItem",
            &[("accept-encoding", "gzip")],
            small.to_string().into_bytes(),
        )
        .await;
    assert_eq!(answer.header("content-encoding"), None);
    assert_eq!(answer.json(), json!({"Item": {"pk": {"S": "a"}}}));
    // Query, Scan and BatchGetItem answers are compressed too.
    let gz = &[("accept-encoding", "gzip")];
    let scan = conn
        .call(
            "Scan",
            gz,
            json!({"TableName": "Big"}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(scan.header("content-encoding"), Some("gzip"));
    assert_eq!(scan.json()["Count"], 3);
    let query = json!({"TableName": "Big", "KeyConditionExpression": "pk = :p",
                       "ExpressionAttributeValues": {":p": {"S": "b"}}});
    let query = conn.call("Query", gz, query.to_string().into_bytes()).await;
    assert_eq!(query.header("content-encoding"), Some("gzip"));
    assert_eq!(query.json()["Items"][0]["x"]["S"], x.as_str());
    let batch =
        json!({"RequestItems": {"Big": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "c"}}]}}});
    let batch = conn
        .call("BatchGetItem", gz, batch.to_string().into_bytes())
        .await;
    assert_eq!(batch.header("content-encoding"), Some("gzip"));
    assert_eq!(
        batch.json()["Responses"]["Big"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn answers_carry_server_and_cors_headers() {
    let server = TestServer::memory().await;
    let mut conn = Conn::open(server.addr).await;
    let answer = conn.call("ListTables", &[], b"{}".to_vec()).await;
    assert_eq!(answer.header("server"), Some("Server"));
    assert_eq!(answer.header("access-control-allow-origin"), None);
    assert!(answer.header("date").is_some());

    let origin = ("origin", "http://example.com");
    let answer = conn.call("ListTables", &[origin], b"{}".to_vec()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        answer.header("access-control-expose-headers"),
        Some("x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date")
    );
    assert_eq!(answer.header("access-control-max-age"), None);

    // The preflight echoes what the browser asks for, and may be cached.
    let answer = conn
        .send(
            "OPTIONS",
            "/",
            &[
                origin,
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "x-amz-target, content-type",
                ),
            ],
            Vec::new(),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.is_empty());
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert_eq!(answer.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(
        answer.header("access-control-allow-headers"),
        Some("x-amz-target, content-type")
    );
    assert_eq!(answer.header("access-control-max-age"), Some("172800"));
    assert_eq!(answer.header("x-amzn-requestid").map(str::len), Some(52));

    // OPTIONS without Origin is not a preflight.
    let answer = conn.send("OPTIONS", "/", &[], Vec::new()).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body, b"<UnknownOperationException/>\n");
}

#[tokio::test]
async fn get_root_is_the_health_check_and_other_requests_are_refused() {
    let server = TestServer::memory().await;
    let mut conn = Conn::open(server.addr).await;
    let answer = conn.send("GET", "/", &[], Vec::new()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        String::from_utf8(answer.body).unwrap(),
        format!("healthy: {}", server.addr)
    );
    for (method, path) in [
        ("GET", "/abc"),
        // (DynamoDB answers `GET /health` with this 404 too; binderdb serves its load
        // balancers' health check there, see `metrics.rs`.)
        ("GET", "/healthz"),
        ("PUT", "/"),
        ("DELETE", "/"),
        ("PATCH", "/"),
    ] {
        let answer = conn.send(method, path, &[], b"{}".to_vec()).await;
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_eq!(answer.body, b"<UnknownOperationException/>\n");
        assert_eq!(answer.header("server"), Some("Server"));
        // The checksum dynalite recorded from DynamoDB for this body.
        assert_eq!(answer.header("x-amz-crc32"), Some("3552371480"));
    }
    // DynamoDB does not look at the path of a POST.
    let answer = conn
        .send(
            "POST",
            "/some/path",
            &[
                ("x-amz-target", "DynamoDB_20120810.ListTables"),
                ("content-type", "application/x-amz-json-1.0"),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({"TableNames": []}));
}

#[tokio::test]
async fn json_content_types_are_accepted_and_others_refused() {
    let server = TestServer::memory().await;
    let mut conn = Conn::open(server.addr).await;
    let target = ("x-amz-target", "DynamoDB_20120810.ListTables");
    for (content_type, answered) in [
        ("application/json", "application/json"),
        ("application/x-amz-json-1.0", "application/x-amz-json-1.0"),
        (
            "Application/X-Amz-Json-1.0; charset=utf-8",
            "application/x-amz-json-1.0",
        ),
    ] {
        let answer = conn
            .send(
                "POST",
                "/",
                &[target, ("content-type", content_type)],
                b"{}".to_vec(),
            )
            .await;
        assert_eq!(answer.status, 200, "{content_type}");
        assert_eq!(answer.header("content-type"), Some(answered));
    }
    for headers in [vec![target, ("content-type", "text/plain")], vec![target]] {
        let answer = conn.send("POST", "/", &headers, b"{}".to_vec()).await;
        assert_eq!(answer.status, 404);
        assert_eq!(answer.body, b"<UnknownOperationException/>\n");
    }
}

#[tokio::test]
async fn the_connection_survives_every_error_answer() {
    let server = TestServer::memory().await;
    let mut conn = Conn::open(server.addr).await;
    let big = vec![b' '; 100_000];
    // An operation binderdb does not serve, with a body it never needs.
    let answer = conn
        .call("DescribeTableReplicaAutoScaling", &[], big.clone())
        .await;
    answer.assert_error("com.amazon.coral.service#UnknownOperationException", None);
    let answer = conn.call("ListTables", &[], b"{".to_vec()).await;
    assert_eq!(answer.json(), json!({"__type": SERIALIZATION}));
    let answer = conn.send("GET", "/nowhere", &[], big.clone()).await;
    assert_eq!(answer.status, 404);
    let answer = conn
        .call("DescribeTable", &[], br#"{"TableName": "nope"}"#.to_vec())
        .await;
    answer.assert_error(
        NOT_FOUND,
        Some("Requested resource not found: Table: nope not found"),
    );
    let answer = conn.call("ListTables", &[], b"{}".to_vec()).await;
    assert_eq!(answer.json(), json!({"TableNames": []}));
}

/// Sends a request head (and `first` body bytes), then keeps writing `more` in the background,
/// and returns the status line the server answers with.
async fn status_of_oversized(addr: SocketAddr, head: String, chunks: usize) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'a'; 1024 * 1024];
        for _ in 0..chunks {
            let framed = format!("{:x}\r\n", chunk.len());
            if writer.write_all(framed.as_bytes()).await.is_err()
                || writer.write_all(&chunk).await.is_err()
                || writer.write_all(b"\r\n").await.is_err()
            {
                return;
            }
        }
    });
    let mut buf = Vec::new();
    let _ = reader.read_to_end(&mut buf).await;
    writing.abort();
    let text = String::from_utf8_lossy(&buf).to_string();
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn bodies_over_16_mb_are_refused_with_413_without_reading_them() {
    let server = TestServer::memory().await;
    // Declared: answered at once, before any of the body arrives.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
        16 * 1024 * 1024 + 1
    );
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        status_of_oversized(server.addr, head, 0),
    )
    .await
    .unwrap();
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    // Chunked: refused once the 16 MB are passed, while the client is still sending.
    let head = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n\
                Content-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_owned();
    let status = status_of_oversized(server.addr, head, 64).await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    // Exactly 16 MB is still read (and is then not JSON).
    let mut conn = Conn::open(server.addr).await;
    let answer = conn
        .call("ListTables", &[], vec![b' '; 16 * 1024 * 1024])
        .await;
    assert_eq!(answer.json(), json!({"__type": SERIALIZATION}));
}
