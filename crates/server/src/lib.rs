//! The binderdb HTTP server: DynamoDB's JSON protocol over HTTP/1.1.
//!
//! A request is `POST /` with `X-Amz-Target: DynamoDB_20120810.<Operation>` and an
//! `application/x-amz-json-1.0` body (at most 16 MB). The server maps the target to an
//! [`Operation`], decodes the body once into the operation's typed request
//! ([`serialization`]: shape errors become SerializationException), checks request-level
//! constraints ([`validate`]: ValidationException in DynamoDB's words and order), runs the
//! engine operation on a blocking thread (storage may wait for an fsync), and writes the JSON
//! response with `x-amzn-RequestId` and `x-amz-crc32` headers. Errors of every layer become one
//! [`error::ApiError`].
//!
//! Must not depend on: any concrete storage engine (the binary picks one).

mod echo;
pub mod error;
mod operation;
pub mod serialization;
pub mod validate;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use binderdb_engine::{Database, RequestContext};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use crate::error::ApiError;
pub use crate::operation::Operation;

/// DynamoDB's request size limit.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The region of unsigned requests (and of credential scopes that cannot be read).
pub const DEFAULT_REGION: &str = "us-east-1";

const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Serves DynamoDB's API for `db` on `listener` until `shutdown` completes, then stops
/// accepting, lets in-flight requests finish, and flushes the database.
///
/// # Errors
/// Listener failures, or a failed final flush.
pub async fn serve(
    listener: TcpListener,
    db: Arc<Database>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and similar: keep serving the others.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let db = db.clone();
                let service = hyper::service::service_fn(move |req| handle(db.clone(), req));
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection closed with error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    let flushed = tokio::task::spawn_blocking(move || db.flush()).await;
    match flushed {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(std::io::Error::other(e.to_string())),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// Binds `addr` and returns the listener and its actual address (for port 0).
///
/// # Errors
/// Bind failures.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// A request id in DynamoDB's form: 52 upper-case letters and digits.
///
/// Ids only need to be unique enough to tell requests apart in logs, so they come from
/// `fastrand`'s per-thread generator rather than the kernel's (a `getrandom` call per request
/// cost about 2% of the server's CPU under load).
fn request_id() -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..52)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

/// The region from a SigV4 `Authorization` header's credential scope
/// (`Credential=AKID/20250101/eu-west-1/dynamodb/aws4_request`).
pub fn region_of(authorization: Option<&str>) -> String {
    authorization
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split(['/', ',', ' ']).nth(2))
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REGION)
        .to_owned()
}

fn response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let crc = crc32fast::hash(&body);
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-requestid", v);
    }
    headers.insert("x-amz-crc32", HeaderValue::from(crc));
    resp
}

async fn handle(
    db: Arc<Database>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == Method::GET {
        // DynamoDB answers GET / with a plain health line; load balancers and SDK probes use it.
        let mut resp = response(StatusCode::OK, b"healthy: binderdb".to_vec());
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return Ok(resp);
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(Operation::from_target);
    let ctx = RequestContext {
        region: region_of(
            req.headers()
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        ),
    };
    let result = match target {
        None => Err(ApiError::unknown_operation()),
        Some(op) => match Limited::new(req.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
        {
            Ok(body) => op.execute(db, ctx, body.to_bytes()).await,
            Err(_) => Err(ApiError::validation(format!(
                "Request size exceeded {MAX_BODY_BYTES} bytes"
            ))),
        },
    };
    Ok(match result {
        Ok(body) => response(StatusCode::OK, body),
        Err(e) => response(e.status, e.body()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_credential_scope() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-2/dynamodb/aws4_request, \
                    SignedHeaders=host, Signature=abc";
        assert_eq!(region_of(Some(auth)), "eu-west-2");
        assert_eq!(region_of(None), "us-east-1");
        assert_eq!(region_of(Some("garbage")), "us-east-1");
    }

    #[test]
    fn request_ids_look_like_dynamodbs() {
        let id = request_id();
        assert_eq!(id.len(), 52);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
}
