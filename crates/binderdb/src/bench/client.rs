//! A minimal DynamoDB JSON-protocol client for the bench: one HTTP/1.1 keep-alive connection per
//! [`Connection`], every request SigV4-signed.
//!
//! It speaks `POST /` with `X-Amz-Target: DynamoDB_20120810.<Operation>` over
//! `hyper::client::conn::http1` on a `TcpStream` with TCP_NODELAY, or TLS over it for `https://`: no
//! pool, no retries. The closed loop lives in the
//! caller; this module only sends one request and reads its whole response.
//!
//! Key types: [`Endpoint`], [`Connection`], [`Operation`], [`Reply`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use binderdb_s3::connect::{connect, Url};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

use super::sigv4::{self, Signer};

const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Where the bench sends its requests: `http://host[:port]` or `https://host[:port]`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: Url,
    /// An `Accept-Encoding` header to send with every request (`--accept-encoding`), to measure
    /// what response compression costs.
    accept_encoding: Option<HeaderValue>,
}

impl Endpoint {
    /// The endpoint, sending `value` as every request's `Accept-Encoding`.
    ///
    /// # Errors
    /// A value that cannot be a header.
    pub fn with_accept_encoding(mut self, value: Option<&str>) -> Result<Endpoint, String> {
        self.accept_encoding = value
            .map(|v| {
                HeaderValue::from_str(v).map_err(|_| format!("{v:?}: not a valid header value"))
            })
            .transpose()?;
        Ok(self)
    }

    /// Parses `http://host[:port][/]` (port 80 by default) or `https://host[:port][/]` (443;
    /// TLS with the system's roots and `AWS_CA_BUNDLE`'s, see [`binderdb_s3::connect`]).
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        Ok(Endpoint {
            url: Url::parse(url)?,
            accept_encoding: None,
        })
    }
}

/// The DynamoDB operations the bench sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// CreateTable.
    CreateTable,
    /// DescribeTable.
    DescribeTable,
    /// DeleteTable.
    DeleteTable,
    /// PutItem.
    PutItem,
    /// GetItem.
    GetItem,
    /// Query.
    Query,
    /// Scan.
    Scan,
    /// BatchWriteItem.
    BatchWriteItem,
    /// TransactWriteItems.
    TransactWriteItems,
    /// ExecuteStatement (PartiQL).
    ExecuteStatement,
}

impl Operation {
    /// The `X-Amz-Target` header value.
    pub fn target(self) -> &'static str {
        match self {
            Operation::CreateTable => "DynamoDB_20120810.CreateTable",
            Operation::DescribeTable => "DynamoDB_20120810.DescribeTable",
            Operation::DeleteTable => "DynamoDB_20120810.DeleteTable",
            Operation::PutItem => "DynamoDB_20120810.PutItem",
            Operation::GetItem => "DynamoDB_20120810.GetItem",
            Operation::Query => "DynamoDB_20120810.Query",
            Operation::Scan => "DynamoDB_20120810.Scan",
            Operation::BatchWriteItem => "DynamoDB_20120810.BatchWriteItem",
            Operation::TransactWriteItems => "DynamoDB_20120810.TransactWriteItems",
            Operation::ExecuteStatement => "DynamoDB_20120810.ExecuteStatement",
        }
    }
}

/// A whole response: status and body.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The response body.
    pub body: Bytes,
}

impl Reply {
    /// Whether the endpoint answered 200.
    pub fn is_ok(&self) -> bool {
        self.status == 200
    }

    /// The error's short code (`ResourceNotFoundException`) from the body's `__type`
    /// (`com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`), or `HTTP <status>` when
    /// the body carries none.
    pub fn error_code(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| {
                v.get("__type")
                    .and_then(|t| t.as_str())
                    .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
            })
            .unwrap_or_else(|| format!("HTTP {}", self.status))
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A signed request ready to send; built before the clock starts so signing is not latency.
pub type Prepared = Request<Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection to the endpoint, with its own signer.
#[derive(Debug)]
pub struct Connection {
    endpoint: Arc<Endpoint>,
    sender: SendRequest<Full<Bytes>>,
    signer: Signer,
    host_header: HeaderValue,
    security_token: Option<HeaderValue>,
    /// The `x-amz-date` of the last second a request was signed in.
    date: (u64, String),
    /// The last response said the server closes the connection (`Connection: close`, or
    /// HTTP/1.0 without keep-alive): the next request goes over a fresh one.
    closing: bool,
}

impl Connection {
    /// Connects to `endpoint` (TCP_NODELAY, as the server sets it) and completes the HTTP/1.1
    /// handshake; the connection's driver runs as a task of the current runtime.
    ///
    /// # Errors
    /// Connection or handshake failures, as text.
    pub async fn open(endpoint: Arc<Endpoint>, signer: Signer) -> Result<Connection, String> {
        let stream = connect(&endpoint.url).await?;
        let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {} failed: {e}", endpoint.url.authority))?;
        tokio::spawn(async move {
            // Ends when the connection closes; the next send reports the failure.
            let _ = driver.await;
        });
        let host_header = HeaderValue::from_str(&endpoint.url.authority)
            .map_err(|_| format!("{}: not a valid Host header", endpoint.url.authority))?;
        let security_token = match &signer.credentials().session_token {
            Some(token) => Some(
                HeaderValue::from_str(token)
                    .map_err(|_| "AWS_SESSION_TOKEN is not a valid header value".to_owned())?,
            ),
            None => None,
        };
        Ok(Connection {
            endpoint,
            sender,
            signer,
            host_header,
            security_token,
            date: (0, String::new()),
            closing: false,
        })
    }

    /// Opens a fresh connection to the same endpoint with the same credentials.
    ///
    /// # Errors
    /// As [`Connection::open`].
    pub async fn reopen(&self) -> Result<Connection, String> {
        Connection::open(self.endpoint.clone(), self.signer.clone()).await
    }

    /// Builds and signs the request for `operation` with `body`: the signed headers are
    /// `content-type;host;x-amz-date;x-amz-target` (and `x-amz-security-token` with temporary
    /// credentials), over the body's SHA-256.
    pub fn prepare(&mut self, operation: Operation, body: Bytes) -> Prepared {
        self.prepare_post("/", Some(operation.target()), body)
    }

    /// Builds and signs a `POST` of `body` to `path` (one of binderdb's own endpoints, such as
    /// `/binderdb/backup`), signed as [`Connection::prepare`] signs an API call.
    pub fn prepare_admin(&mut self, path: &'static str, body: Bytes) -> Prepared {
        self.prepare_post(path, None, body)
    }

    fn prepare_post(
        &mut self,
        path: &'static str,
        target: Option<&'static str>,
        body: Bytes,
    ) -> Prepared {
        let now = SystemTime::now();
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if self.date.0 != secs || self.date.1.is_empty() {
            self.date = (secs, sigv4::amz_date(now));
        }
        let amz_date = self.date.1.as_str();
        let token = self
            .security_token
            .as_ref()
            .and_then(|t| t.to_str().ok())
            .unwrap_or("");
        let mut signed = vec![
            ("content-type", JSON_CONTENT_TYPE),
            ("host", self.endpoint.url.authority.as_str()),
            ("x-amz-date", amz_date),
        ];
        if let Some(target) = target {
            signed.push(("x-amz-target", target));
        }
        if self.security_token.is_some() {
            signed.push(("x-amz-security-token", token));
        }
        let authorization = self
            .signer
            .authorization("POST", path, "", &signed, &body, amz_date);

        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = hyper::Uri::from_static(path);
        let headers = request.headers_mut();
        headers.insert(HOST, self.host_header.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
        if let Some(target) = target {
            headers.insert("x-amz-target", HeaderValue::from_static(target));
        }
        headers.insert(USER_AGENT, HeaderValue::from_static("binderdb-bench"));
        if let Ok(v) = HeaderValue::from_str(amz_date) {
            headers.insert("x-amz-date", v);
        }
        if let Ok(v) = HeaderValue::from_str(&authorization) {
            headers.insert(AUTHORIZATION, v);
        }
        if let Some(token) = &self.security_token {
            headers.insert("x-amz-security-token", token.clone());
        }
        if let Some(accept) = &self.endpoint.accept_encoding {
            headers.insert(hyper::header::ACCEPT_ENCODING, accept.clone());
        }
        request
    }

    /// Sends a prepared request and reads the whole response. When the server closed the
    /// connection after the previous response (as servers without keep-alive do), the request
    /// goes over a new connection, and the time to open it counts in its latency.
    ///
    /// # Errors
    /// The connection failed or closed; the caller should [`Connection::reopen`].
    pub async fn send(&mut self, request: Prepared) -> Result<Reply, String> {
        if self.closing || self.sender.is_closed() {
            let fresh = self.reopen().await?;
            *self = Connection {
                date: std::mem::take(&mut self.date),
                ..fresh
            };
        }
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        self.closing = closes(&response);
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Reply { status, body })
    }

    /// Prepares and sends one request.
    ///
    /// # Errors
    /// As [`Connection::send`].
    pub async fn call(
        &mut self,
        operation: Operation,
        body: impl Into<Bytes>,
    ) -> Result<Reply, String> {
        let request = self.prepare(operation, body.into());
        self.send(request).await
    }
}

/// Whether the server closes the connection after `response`: its `Connection` header names
/// `close`, or it answered HTTP/1.0 without `keep-alive`. Runs on every response, so it reads
/// the header's tokens in place.
fn closes<B>(response: &hyper::Response<B>) -> bool {
    let names = |option: &str| {
        response
            .headers()
            .get_all(hyper::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case(option))
    };
    names("close") || (response.version() == hyper::Version::HTTP_10 && !names("keep-alive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("http://127.0.0.1:8000").unwrap();
        assert_eq!(
            (e.url.authority.as_str(), e.url.port),
            ("127.0.0.1:8000", 8000)
        );
        let e = Endpoint::parse("https://dynamodb.us-east-1.amazonaws.com").unwrap();
        assert!(e.url.tls);
        assert!(Endpoint::parse("localhost:8000").is_err());
    }

    #[test]
    fn connection_close_is_read_from_the_header_tokens() {
        let response = |version, connection: Option<&str>| {
            let mut builder = hyper::Response::builder().version(version);
            if let Some(value) = connection {
                builder = builder.header(hyper::header::CONNECTION, value);
            }
            builder.body(()).unwrap()
        };
        use hyper::Version;
        assert!(!closes(&response(Version::HTTP_11, None)));
        assert!(closes(&response(Version::HTTP_11, Some("Close"))));
        assert!(closes(&response(Version::HTTP_11, Some("upgrade, close"))));
        assert!(!closes(&response(Version::HTTP_11, Some("keep-alive"))));
        assert!(!closes(&response(Version::HTTP_11, Some("x-closed"))));
        assert!(closes(&response(Version::HTTP_10, None)));
        assert!(!closes(&response(Version::HTTP_10, Some("Keep-Alive"))));
    }

    #[test]
    fn error_codes_come_from_the_type() {
        let reply = Reply {
            status: 400,
            body: Bytes::from_static(
                br#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"x"}"#,
            ),
        };
        assert_eq!(reply.error_code(), "ResourceNotFoundException");
        let reply = Reply {
            status: 502,
            body: Bytes::from_static(b"bad gateway"),
        };
        assert_eq!(reply.error_code(), "HTTP 502");
    }
}
