//! The test harness: a real binderdb server on 127.0.0.1:0 and clients for it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use binderdb_engine::{Config, Database, SystemClock};
use binderdb_storage::{MemoryStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The store of [`TestServer::memory`]: a fresh, empty [`MemoryStore`], unless the tests were
/// built with the `rados` feature and `BINDERDB_TEST_RADOS_CONF` names a Ceph cluster's
/// ceph.conf (keyring included): then a [`binderdb_storage_rados::RadosStore`] in the pool
/// `BINDERDB_TEST_RADOS_POOL` (default `binderdb`, which `scripts/ceph-cluster start`
/// creates) under a fresh object-name prefix, so every server starts empty on a shared pool.
/// The same integration tests then check the RADOS engine as they check the in-memory one.
pub fn test_store() -> Arc<dyn Store> {
    #[cfg(feature = "rados")]
    if let Some(options) = rados_options() {
        return open_rados(&options);
    }
    Arc::new(MemoryStore::new())
}

/// Two stores on one fresh prefix of the RADOS test pool, each with its own RADOS client: two
/// nodes of one cluster. `None` when the run is not on RADOS (the in-memory engine belongs to
/// one process: it has no second node).
pub fn test_store_pair() -> Option<(Arc<dyn Store>, Arc<dyn Store>)> {
    #[cfg(feature = "rados")]
    if let Some(options) = rados_options() {
        let first = open_rados(&options);
        return Some((first, open_rados(&options)));
    }
    None
}

/// The RADOS test pool with a fresh object prefix, if the run asks for RADOS.
#[cfg(feature = "rados")]
fn rados_options() -> Option<binderdb_storage_rados::RadosOptions> {
    let conf = std::env::var_os("BINDERDB_TEST_RADOS_CONF")?;
    Some(binderdb_storage_rados::RadosOptions {
        conf: conf.into(),
        pool: std::env::var("BINDERDB_TEST_RADOS_POOL").unwrap_or_else(|_| "binderdb".to_owned()),
        user: None,
        prefix: format!("it{:016x}.", fastrand::u64(..)),
    })
}

#[cfg(feature = "rados")]
fn open_rados(options: &binderdb_storage_rados::RadosOptions) -> Arc<dyn Store> {
    let store = binderdb_storage_rados::RadosStore::open(options)
        .unwrap_or_else(|e| panic!("cannot open the RADOS test store: {e}"));
    Arc::new(store)
}

/// A running server; stops (gracefully) when [`TestServer::stop`] is called or it is dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// A server over the test run's engine-agnostic store ([`test_store`]): the in-memory
    /// engine, or a fresh store on a Ceph pool when the run asks for RADOS. Tests that are
    /// about one engine build that engine's store explicitly instead.
    pub async fn memory() -> TestServer {
        Self::with_store(test_store()).await
    }

    /// A server over the durable fjall engine in `dir`.
    pub async fn durable(dir: &Path) -> TestServer {
        let store = binderdb_storage_fjall::FjallStore::open(dir).unwrap();
        Self::with_store(Arc::new(store)).await
    }

    pub async fn with_store(store: Arc<dyn Store>) -> TestServer {
        Self::with_config(store, Config::default()).await
    }

    /// A server over `store` with engine settings `config`.
    pub async fn with_config(store: Arc<dyn Store>, config: Config) -> TestServer {
        Self::with_clock(store, config, Arc::new(SystemClock)).await
    }

    /// A server over `store` whose time comes from `clock`.
    pub async fn with_clock(
        store: Arc<dyn Store>,
        config: Config,
        clock: Arc<dyn binderdb_engine::Clock>,
    ) -> TestServer {
        Self::with_auth(store, config, clock, binderdb_server::Auth::open()).await
    }

    /// A server that verifies signatures against `auth`'s keys, with time from `clock`.
    pub async fn with_auth(
        store: Arc<dyn Store>,
        config: Config,
        clock: Arc<dyn binderdb_engine::Clock>,
        auth: binderdb_server::Auth,
    ) -> TestServer {
        let options = binderdb_server::ServeOptions {
            auth: Arc::new(auth),
            ..binderdb_server::ServeOptions::default()
        };
        Self::with_options(store, config, clock, options).await
    }

    /// A server with every serving option (TLS, limits, keys).
    pub async fn with_options(
        store: Arc<dyn Store>,
        config: Config,
        clock: Arc<dyn binderdb_engine::Clock>,
        options: binderdb_server::ServeOptions,
    ) -> TestServer {
        let db = Database::open(store, config, clock).unwrap();
        // As `binderdb serve` does: data directory copies are written by the durable engine.
        db.set_checkpoint_writer(Arc::new(|dir, source| {
            binderdb_storage_fjall::write_checkpoint(dir, source)
        }));
        let (listener, addr) = binderdb_server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(binderdb_server::serve_with(
            listener,
            Arc::new(db),
            options,
            async {
                let _ = rx.await;
            },
        ));
        TestServer {
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An SDK client for region us-east-1.
    pub fn client(&self) -> Client {
        self.client_in("us-east-1")
    }

    /// An SDK client that signs for `region`.
    pub fn client_in(&self, region: &str) -> Client {
        self.client_with_key(region, "test", "test")
    }

    /// An SDK client that signs for `region` with the key `id`/`secret`.
    pub fn client_with_key(&self, region: &str, id: &str, secret: &str) -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new(id, secret, None, None, "static"))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    /// Stops the server gracefully and waits for it (and its final flush).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Asserts a DynamoDB error response: status 400, `__type`, and `message`.
    #[track_caller]
    pub fn assert_error(&self, error_type: &str, message: Option<&str>) {
        assert_eq!(
            self.status,
            400,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let json = self.json();
        assert_eq!(json["__type"], error_type, "body: {json}");
        match message {
            Some(m) => assert_eq!(json["message"], m, "body: {json}"),
            None => assert!(json.get("message").is_none(), "body: {json}"),
        }
    }
}

/// Sends one raw HTTP/1.1 request (for bodies and headers an SDK cannot produce).
pub async fn raw_request(
    addr: SocketAddr,
    target: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    raw_request_to(addr, "/", target, headers, body).await
}

/// [`raw_request`] to `path_and_query` instead of `/`.
pub async fn raw_request_to(
    addr: SocketAddr,
    path_and_query: &str,
    target: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "POST {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(t) = target {
        head.push_str(&format!("X-Amz-Target: {t}\r\n"));
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(buf[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
    }
}

/// Calls `op` with a JSON body.
pub async fn call(addr: SocketAddr, op: &str, body: serde_json::Value) -> RawResponse {
    raw_request(
        addr,
        Some(&format!("DynamoDB_20120810.{op}")),
        &[],
        body.to_string().as_bytes(),
    )
    .await
}

pub const VALIDATION: &str = "com.amazon.coral.validate#ValidationException";
pub const SERIALIZATION: &str = "com.amazon.coral.service#SerializationException";
pub const NOT_FOUND: &str = "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException";
pub const IN_USE: &str = "com.amazonaws.dynamodb.v20120810#ResourceInUseException";

/// Creates an on-demand table with a partition key and an optional sort key.
pub async fn create_table(
    client: &Client,
    name: &str,
    hash: (&str, ScalarAttributeType),
    range: Option<(&str, ScalarAttributeType)>,
) {
    create_table_request(client, name, hash, range)
        .send()
        .await
        .unwrap();
}

/// The CreateTable request [`create_table`] sends, for a test to add members to.
pub fn create_table_request(
    client: &Client,
    name: &str,
    hash: (&str, ScalarAttributeType),
    range: Option<(&str, ScalarAttributeType)>,
) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(hash.0)
                .attribute_type(hash.1)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(hash.0)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        );
    if let Some((name, t)) = range {
        req = req
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(t)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(KeyType::Range)
                    .build()
                    .unwrap(),
            );
    }
    req
}

pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_owned())
}

/// The service error's code and message of an SDK error.
pub fn error_parts<E, R>(err: aws_sdk_dynamodb::error::SdkError<E, R>) -> (String, String)
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    (
        err.code().unwrap_or_default().to_owned(),
        err.message().unwrap_or_default().to_owned(),
    )
}

/// Sends a Query or Scan request builder page by page, resuming from each LastEvaluatedKey,
/// and returns every page (at most 1000, so a pagination bug cannot loop forever).
macro_rules! all_pages {
    ($base:expr) => {{
        let base = $base;
        let mut pages = Vec::new();
        let mut start: Option<
            std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        > = None;
        loop {
            let out = base
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .unwrap();
            start = out.last_evaluated_key().cloned();
            pages.push(out);
            if start.is_none() {
                break pages;
            }
            assert!(pages.len() < 1000, "pagination does not end");
        }
    }};
}
pub(crate) use all_pages;

/// An item as the SDK holds it.
pub type Item = std::collections::HashMap<String, AttributeValue>;

/// An item from `(name, value)` pairs.
pub fn item(attrs: &[(&str, AttributeValue)]) -> Item {
    attrs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// PutItem of `attrs` into `table`, which must succeed.
pub async fn put(client: &Client, table: &str, attrs: &[(&str, AttributeValue)]) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item(attrs)))
        .send()
        .await
        .unwrap();
}

/// The `tag` string attribute of each item, in order.
pub fn tags(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["tag"].as_s().unwrap().clone())
        .collect()
}

/// Sends `method path` with `body` (binderdb's own endpoints: `/bill`, `/binderdb/faults`).
pub async fn raw_http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(buf[..split].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
    }
}
