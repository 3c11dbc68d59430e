//! One HTTP exchange, answered the way DynamoDB's front end answers it.
//!
//! Every request's body is read first (at most [`MAX_BODY_BYTES`]), whatever the answer will
//! be: a connection whose request body was left unread cannot carry the next request, and SDKs
//! reuse connections, so an error answer must not cost the client its connection. Only a body
//! over the limit is refused without being read (HTTP 413, and the connection is closed).
//!
//! Then, as DynamoDB does:
//! - `POST` (any path) is an API call: its SigV4 signature is verified when keys are configured
//!   ([`crate::auth`]), then the body is inflated per `Content-Encoding`
//!   ([`compression`]), must be JSON (`application/x-amz-json-1.0` or `application/json`), and
//!   `X-Amz-Target` picks the operation. The answer's body is compressed when the client's
//!   `Accept-Encoding` allows it and it is large enough.
//! - `GET /` is the health check, `healthy: <Host>`.
//! - `GET /binderdb/storage` is binderdb's own storage report (not a DynamoDB API): bytes on
//!   disk of the data directory, its journals and each table (its items, indexes and streams),
//!   as JSON ([`storage_report`]). With access keys configured it must be signed like an API
//!   call (service `dynamodb`).
//! - `POST /binderdb/backup` copies the whole data directory into a directory of the
//!   server's machine ([`crate::data_copy`]); signed like an API call, by the operator's key.
//! - `GET /console` (and the files under it) is the web console ([`crate::console`]).
//! - `OPTIONS` from a browser (with `Origin`) is a CORS preflight, answered empty.
//! - Anything else is HTTP 404 with the body `<UnknownOperationException/>` (recorded from
//!   DynamoDB by dynalite's connection tests).
//!
//! Every answer carries `x-amzn-RequestId` (its id is drawn when the request arrives, and
//! every log line written while the request is served, the slow-request line among them,
//! carries the same id: [`crate::request_id`]) and
//! `Server: Server`; a request with `Origin` gets
//! `Access-Control-Allow-Origin: *` and the headers DynamoDB exposes to scripts.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use binderdb_engine::metrics::TouchedTable;
use binderdb_engine::{Database, RequestContext};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_TYPE, HOST, ORIGIN, SERVER,
};
use hyper::{Method, Request, Response, StatusCode};

use crate::auth::{Auth, Caller};
use crate::compression::{self, DecodeError};
use crate::dispatch::Dispatcher;
use crate::error::ApiError;
use crate::metrics::{Observer, Outcome};
use crate::operation::Operation;
use crate::request_id::{self, RequestId};
use crate::MAX_BODY_BYTES;

/// DynamoDB's JSON content type; answers use it unless the request said `application/json`.
const AMZ_JSON: &str = "application/x-amz-json-1.0";
const PLAIN_JSON: &str = "application/json";
/// The body of DynamoDB's 404 for a request that is not an API call.
const NOT_FOUND_BODY: &[u8] = b"<UnknownOperationException/>\n";
/// The response headers a browser script may read, as DynamoDB lists them.
const CORS_EXPOSED_HEADERS: &str = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date";
/// How long a browser may cache a preflight answer (DynamoDB's value, two days).
const CORS_MAX_AGE: &str = "172800";

/// The response type of every exchange.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// What one API call tells the metrics and the slow-request log.
#[derive(Debug, Default)]
struct Observed {
    /// The operation, when `X-Amz-Target` named one binderdb serves.
    operation: Option<Operation>,
    /// The table the engine noted (see `binderdb_engine::metrics`).
    touched: TouchedTable,
    /// How the call ended; `None` for a request that was no API call.
    outcome: Option<Outcome>,
    /// Whether the metrics are on (the items a Query returns are counted then).
    counting: bool,
}

/// What every request of a server shares: the database, the signature check, the metrics and
/// slow-request log, where reads run, and how long a body may take to arrive. One per server,
/// behind one `Arc` that each connection's requests clone.
pub(crate) struct Front {
    pub(crate) db: Arc<Database>,
    pub(crate) auth: Arc<Auth>,
    pub(crate) observer: Arc<Observer>,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) body_timeout: Duration,
}

/// Answers one request. Its id, which the answer's `x-amzn-RequestId` header gets, is the
/// current request id ([`request_id::current`]) while the request is served, so every log line
/// of the request names it (see [`crate::request_id`] for why this is no `tracing` span).
pub(crate) async fn handle(
    front: Arc<Front>,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let id = RequestId::new();
    let served = observed_answer(&front, req, id);
    Ok(request_id::scope(id, served).await)
}

/// The answer to one request with its request id, counted in the metrics and logged when slow.
async fn observed_answer(front: &Front, req: Request<Incoming>, id: RequestId) -> HttpResponse {
    let observer = &front.observer;
    let started = Instant::now();
    let mut observed = Observed {
        counting: observer.enabled,
        ..Observed::default()
    };
    let mut resp = answer(front, req, &mut observed).await;
    if let Some(outcome) = observed.outcome {
        let elapsed = started.elapsed();
        if observer.enabled {
            observer.record(observed.operation, &observed.touched, outcome, elapsed);
        }
        if observer.slow_request.is_some_and(|limit| elapsed >= limit) {
            tracing::warn!(
                operation = observed.operation.map_or("unknown", Operation::name),
                table = observed.touched.table_name().unwrap_or(""),
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                status = resp.status().as_u16(),
                request_id = %id,
                "slow request"
            );
        }
    }
    if let Ok(v) = HeaderValue::from_bytes(id.as_bytes()) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

/// The answer to one request (without its request id).
async fn answer(front: &Front, req: Request<Incoming>, observed: &mut Observed) -> HttpResponse {
    let Front {
        db,
        auth,
        observer,
        dispatcher,
        body_timeout,
    } = front;
    let (parts, body) = req.into_parts();
    let mut resp = match read_body(&parts.headers, body, *body_timeout).await {
        Err(answer) => answer,
        Ok(body) if parts.uri.path() != "/" && realism_path(parts.uri.path()) => {
            // Fault rules change how the server answers everyone: with access keys configured
            // they take a valid signature, like the API. The bill and the metrics stay readable
            // without one (a Prometheus scraper cannot sign), as the README says.
            let verified = if parts.uri.path() == crate::realism::FAULTS_PATH {
                verify(auth, db, &parts, &body).map(|_| ())
            } else {
                Ok(())
            };
            match verified {
                Err(e) => json(e.status, e.body(), AMZ_JSON, None),
                Ok(()) => match crate::realism::handle(
                    db,
                    observer,
                    &parts.method,
                    parts.uri.path(),
                    &body,
                )
                .await
                {
                    Some(answer) => answer,
                    None => plain(
                        StatusCode::NOT_FOUND,
                        Bytes::from_static(NOT_FOUND_BODY),
                        None,
                    ),
                },
            }
        }
        Ok(body) => match parts.method {
            Method::POST if parts.uri.path() == crate::data_copy::BACKUP_PATH => {
                let answer = match verify(auth, db, &parts, &body) {
                    Ok(caller) => crate::data_copy::backup(db.clone(), &caller, &body).await,
                    Err(e) => Err(e),
                };
                match answer {
                    Ok(body) => json(
                        StatusCode::OK,
                        body.to_string().into_bytes(),
                        PLAIN_JSON,
                        None,
                    ),
                    Err(e) => json(e.status, e.body(), AMZ_JSON, None),
                }
            }
            Method::POST => {
                // The signature covers the body as sent, so it is checked before inflating.
                let verified = verify(auth, db, &parts, &body);
                match verified {
                    Ok(caller) => {
                        api_call(
                            db.clone(),
                            dispatcher,
                            caller,
                            &parts.headers,
                            body,
                            observed,
                        )
                        .await
                    }
                    Err(e) => {
                        observed.outcome = Some(Outcome::of(&e));
                        json(e.status, e.body(), AMZ_JSON, None)
                    }
                }
            }
            Method::GET if parts.uri.path() == "/" => health(&parts.headers, &parts.uri),
            Method::GET | Method::HEAD if crate::console::is_console_path(parts.uri.path()) => {
                crate::console::serve(parts.uri.path()).unwrap_or_else(|| {
                    plain(
                        StatusCode::NOT_FOUND,
                        Bytes::from_static(NOT_FOUND_BODY),
                        None,
                    )
                })
            }
            Method::GET if parts.uri.path() == STORAGE_REPORT_PATH => {
                let verified = verify(auth, db, &parts, &body);
                match verified {
                    Ok(_) => storage_report(db.clone()).await,
                    Err(e) => json(e.status, e.body(), AMZ_JSON, None),
                }
            }
            Method::OPTIONS if parts.headers.contains_key(ORIGIN) => {
                let mut resp = plain(StatusCode::OK, Bytes::new(), None);
                preflight(&parts.headers, &mut resp);
                resp
            }
            _ => plain(
                StatusCode::NOT_FOUND,
                Bytes::from_static(NOT_FOUND_BODY),
                None,
            ),
        },
    };
    cors(&parts.headers, &mut resp);
    resp
}

/// The signature check of a request to `parts` with `body` (accepts everything when no access
/// keys are configured).
fn verify(
    auth: &Auth,
    db: &Database,
    parts: &hyper::http::request::Parts,
    body: &Bytes,
) -> Result<crate::auth::Caller, ApiError> {
    auth.verify(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        body,
        db.now_millis(),
    )
}

/// Whether `path` is one of binderdb's own endpoints ([`crate::realism`]) rather than the API.
fn realism_path(path: &str) -> bool {
    matches!(
        path,
        "/bill" | "/metrics" | crate::realism::HEALTH_PATH | crate::realism::FAULTS_PATH
    )
}

/// The whole request body, or the answer that refuses it: 413 for a body declared or found to
/// be over the limit (without reading the rest, so the connection is closed), 400 for a body
/// that broke off, 408 for one that did not arrive within `timeout` (a slow or stalled client
/// must not hold its connection slot and buffer for ever).
async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    timeout: Duration,
) -> Result<Bytes, HttpResponse> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(closing(StatusCode::PAYLOAD_TOO_LARGE));
    }
    // The timer is only armed if the body is not already buffered (nearly every small request
    // arrives with its head), so a well-behaved request pays nothing for it.
    let collected = tokio::time::timeout(timeout, Limited::new(body, MAX_BODY_BYTES).collect());
    let Ok(collected) = collected.await else {
        return Err(closing(StatusCode::REQUEST_TIMEOUT));
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(closing(StatusCode::PAYLOAD_TOO_LARGE))
        }
        Err(e) => {
            tracing::debug!(error = %e, "request body broke off");
            Err(closing(StatusCode::BAD_REQUEST))
        }
    }
}

/// An empty answer after which the connection is closed: the rest of the request is unread.
fn closing(status: StatusCode) -> HttpResponse {
    let mut resp = plain(status, Bytes::new(), None);
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// The media type of a `Content-Type` value, without parameters (compare it ignoring case).
fn media_type(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or_default().trim())
}

/// A DynamoDB API call: inflate, check the content type, dispatch, encode.
async fn api_call(
    db: Arc<Database>,
    dispatcher: &Dispatcher,
    caller: Caller,
    headers: &HeaderMap,
    body: Bytes,
    observed: &mut Observed,
) -> HttpResponse {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(Operation::from_target);
    observed.operation = target;
    let (resp, outcome) = api_answer(db, dispatcher, caller, headers, body, target, observed).await;
    observed.outcome = Some(outcome);
    resp
}

/// [`api_call`]'s answer and how it ended.
async fn api_answer(
    db: Arc<Database>,
    dispatcher: &Dispatcher,
    caller: Caller,
    headers: &HeaderMap,
    body: Bytes,
    target: Option<Operation>,
    observed: &mut Observed,
) -> (HttpResponse, Outcome) {
    let content_encoding = headers.get(CONTENT_ENCODING).map(|v| v.to_str());
    let body = match content_encoding {
        Some(Err(_)) => Err(DecodeError::UnknownEncoding),
        Some(Ok(e)) => compression::decode_request(Some(e), body, MAX_BODY_BYTES),
        None => Ok(body),
    };
    let body = match body {
        Ok(body) => body,
        Err(DecodeError::TooLarge) => {
            return (closing(StatusCode::PAYLOAD_TOO_LARGE), Outcome::UserError)
        }
        // DynamoDB answers an encoding it cannot read, or a stream that does not inflate,
        // with a server error (recorded by Alternator's tests against DynamoDB).
        Err(DecodeError::UnknownEncoding | DecodeError::Corrupt) => {
            let e = ApiError::internal("The server encountered an internal error");
            return (
                json(e.status, e.body(), AMZ_JSON, None),
                Outcome::SystemError,
            );
        }
    };
    let content_type = match media_type(headers) {
        Some(m) if m.eq_ignore_ascii_case(PLAIN_JSON) => PLAIN_JSON,
        Some(m) if m.eq_ignore_ascii_case(AMZ_JSON) => AMZ_JSON,
        // Without a JSON content type a body is not an API call at all; an empty body
        // still reaches the target check, as in DynamoDB.
        _ if !body.is_empty() => {
            return (
                plain(
                    StatusCode::NOT_FOUND,
                    Bytes::from_static(NOT_FOUND_BODY),
                    None,
                ),
                Outcome::UserError,
            )
        }
        _ => PLAIN_JSON,
    };
    let accept = headers.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    // A key of the server's default account shares the namespace of unsigned requests.
    let account = caller
        .principal
        .as_ref()
        .and_then(|p| p.account.clone())
        .filter(|a| *a != db.config().account_id);
    let mut ctx = RequestContext {
        region: caller.region,
        account,
        touched: TouchedTable::default(),
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let result = match target {
        None => Err(ApiError::unknown_operation()),
        Some(op) => match inject_fault(&db, headers, &body).await {
            Some(e) => Err(e),
            None => {
                let counting = observed.counting;
                let counted = op.execute(
                    db,
                    dispatcher,
                    &mut ctx,
                    caller.principal,
                    body,
                    host,
                    counting,
                );
                let result = counted.await;
                observed.touched = ctx.touched;
                result
            }
        },
    };
    match result {
        Ok(body) => (
            json(StatusCode::OK, body, content_type, accept),
            Outcome::Success,
        ),
        Err(e) => (
            json(e.status, e.body(), content_type, accept),
            Outcome::of(&e),
        ),
    }
}

/// Applies the fault rules to an API call (`binderdb_engine::faults`): waits out an injected
/// latency, and returns the injected error, if any. Costs one atomic load without rules.
async fn inject_fault(db: &Database, headers: &HeaderMap, body: &[u8]) -> Option<ApiError> {
    if !db.faults().active() {
        return None;
    }
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default();
    let table = table_of(body);
    let injection = db.faults().decide(operation, table.as_deref())?;
    if injection.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(injection.latency_ms)).await;
    }
    injection.error.map(ApiError::from)
}

/// The table a request names: its `TableName`, else the first table of a batch's
/// `RequestItems` or of a transaction's first action.
fn table_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(name) = v.get("TableName").and_then(|n| n.as_str()) {
        return Some(name.to_owned());
    }
    if let Some(first) = v
        .get("RequestItems")
        .and_then(|r| r.as_object())
        .and_then(|r| r.keys().next())
    {
        return Some(first.clone());
    }
    v.get("TransactItems")?
        .get(0)?
        .as_object()?
        .values()
        .find_map(|a| a.get("TableName")?.as_str().map(str::to_owned))
}

/// A non-API answer (binderdb's own endpoints) with the headers every answer carries.
pub(crate) fn text(status: StatusCode, body: Bytes, content_type: &'static str) -> HttpResponse {
    plain(status, body, Some(content_type))
}

/// A JSON answer with DynamoDB's headers, compressed when it is large and the client's
/// `Accept-Encoding` allows it.
/// `x-amz-crc32` covers the bytes sent, compressed or not, as DynamoDB's does.
fn json(
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    accept_encoding: Option<&str>,
) -> HttpResponse {
    // The header is only read for a body large enough to compress: small answers (nearly
    // every GetItem) cost nothing more than before.
    let encoding = if body.len() >= compression::RESPONSE_COMPRESSION_THRESHOLD {
        compression::negotiate(accept_encoding)
    } else {
        None
    };
    let (body, encoded) = match compression::encode_response(encoding, &body) {
        Some(compressed) => (compressed, encoding),
        None => (body, None),
    };
    let mut resp = plain(status, Bytes::from(body), Some(content_type));
    if let Some(e) = encoded {
        resp.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static(e.token()));
    }
    resp
}

/// An answer with the headers every answer carries, `x-amz-crc32` of the body as sent among
/// them (DynamoDB sends it with its 404 too, recorded by dynalite).
fn plain(status: StatusCode, body: Bytes, content_type: Option<&'static str>) -> HttpResponse {
    let crc = crc32fast::hash(&body);
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    if let Some(t) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(t));
    }
    headers.insert(SERVER, HeaderValue::from_static("Server"));
    headers.insert("x-amz-crc32", HeaderValue::from(crc));
    resp
}

/// Where binderdb's storage report is served.
pub(crate) const STORAGE_REPORT_PATH: &str = "/binderdb/storage";

/// binderdb's storage report, e.g.
/// `{"Durable":true,"TotalBytes":268435456,"JournalBytes":12582912,"Tables":[{"Region":"us-east-1",
/// "TableName":"bench","OnDiskBytes":250000000,"TableBytes":250000000,"IndexBytes":0,
/// "StreamBytes":0}]}`; an in-memory server answers `{"Durable":false}`. Figures come from file
/// metadata (never from reading items) and are estimates where one file holds keys of several
/// tables; data still in memory, not yet flushed to a file, is not counted.
async fn storage_report(db: Arc<Database>) -> HttpResponse {
    let report = tokio::task::spawn_blocking(move || db.storage_report()).await;
    let body = match report {
        Ok(Ok(None)) => serde_json::json!({ "Durable": false }),
        Ok(Ok(Some(r))) => {
            let tables: Vec<serde_json::Value> = r
                .tables
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "Region": t.region,
                        "TableName": t.name,
                        "OnDiskBytes": t.table_bytes + t.index_bytes + t.stream_bytes,
                        "TableBytes": t.table_bytes,
                        "IndexBytes": t.index_bytes,
                        "StreamBytes": t.stream_bytes,
                    })
                })
                .collect();
            serde_json::json!({
                "Durable": true,
                "TotalBytes": r.total_bytes,
                "JournalBytes": r.journal_bytes,
                "Tables": tables,
            })
        }
        Ok(Err(e)) => {
            let e = ApiError::internal(format!("storage report failed: {e}"));
            return json(e.status, e.body(), AMZ_JSON, None);
        }
        Err(_) => {
            let e = ApiError::internal("storage report failed");
            return json(e.status, e.body(), AMZ_JSON, None);
        }
    };
    json(
        StatusCode::OK,
        body.to_string().into_bytes(),
        PLAIN_JSON,
        None,
    )
}

/// DynamoDB's health check: `healthy: ` and the host the client addressed.
fn health(headers: &HeaderMap, uri: &hyper::Uri) -> HttpResponse {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or_default();
    plain(
        StatusCode::OK,
        Bytes::from(format!("healthy: {host}")),
        Some("text/plain"),
    )
}

/// The CORS headers of every answer to a browser (a request with `Origin`).
fn cors(request: &HeaderMap, resp: &mut HttpResponse) {
    if !request.contains_key(ORIGIN) {
        return;
    }
    let headers = resp.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(CORS_EXPOSED_HEADERS),
    );
}

/// A preflight answer allows whatever the browser asks to send (DynamoDB echoes the request's
/// method and headers) and may be cached.
fn preflight(request: &HeaderMap, resp: &mut HttpResponse) {
    let headers = resp.headers_mut();
    for (asked, allowed) in [
        (
            "access-control-request-headers",
            "access-control-allow-headers",
        ),
        (
            "access-control-request-method",
            "access-control-allow-methods",
        ),
    ] {
        if let Some(v) = request.get(asked) {
            headers.insert(allowed, v.clone());
        }
    }
    headers.insert(
        "access-control-max-age",
        HeaderValue::from_static(CORS_MAX_AGE),
    );
}
