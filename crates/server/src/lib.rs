//! The binderdb HTTP server: DynamoDB's JSON protocol over HTTP/1.1.
//!
//! A request is `POST /` with `X-Amz-Target: DynamoDB_20120810.<Operation>` and an
//! `application/x-amz-json-1.0` body (at most 16 MB). The server maps the target to an
//! [`Operation`], decodes the body once into the operation's typed request
//! ([`serialization`]: shape errors become SerializationException), checks request-level
//! constraints ([`validate`]: ValidationException in DynamoDB's words and order), runs the
//! engine operation (inline on the runtime, or on a blocking thread when it may wait: see
//! `operation` and `dispatch`), and writes the JSON response with `x-amzn-RequestId` and
//! `x-amz-crc32` headers. Errors of every layer become one
//! [`error::ApiError`]. The HTTP side (bodies read before any answer, compression both ways,
//! CORS, the health check, 413) lives in `http` and [`compression`].
//!
//! Must not depend on: any concrete storage engine (the binary picks one).

pub mod access;
pub mod auth;
pub mod compression;
pub mod console;
mod data_copy;
mod dispatch;
mod echo;
pub mod error;
mod http;
pub mod listen;
pub mod metrics;
mod operation;
pub mod realism;
pub mod request_id;
pub mod serialization;
mod table_arn;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use binderdb_engine::Database;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use crate::access::Policy;
pub use crate::auth::{Auth, Caller, Principal};
pub use crate::dispatch::ReadDispatch;
pub use crate::error::ApiError;
pub use crate::listen::{Limits, ServeOptions, Tls};
pub use crate::metrics::Observer;
pub use crate::operation::Operation;

/// DynamoDB's request size limit.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The region of unsigned requests (and of credential scopes that cannot be read).
pub const DEFAULT_REGION: &str = "us-east-1";

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
    serve_with_auth(listener, db, Arc::new(Auth::open()), shutdown).await
}

/// [`serve`], verifying every API call's SigV4 signature against `auth`'s keys (none: every
/// request is accepted).
///
/// # Errors
/// Listener failures, or a failed final flush.
pub async fn serve_with_auth(
    listener: TcpListener,
    db: Arc<Database>,
    auth: Arc<Auth>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let options = ServeOptions {
        auth,
        ..ServeOptions::default()
    };
    serve_with(listener, db, options, shutdown).await
}

/// [`serve`] with every option: verification and access control, TLS, connection limits.
///
/// # Errors
/// Listener failures, or a failed final flush.
pub async fn serve_with(
    listener: TcpListener,
    db: Arc<Database>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    // The TTL sweeper: owned by the server, stopped with it.
    let sweeper = tokio::spawn(sweep_expired_items(db.clone()));
    let slots = Arc::new(tokio::sync::Semaphore::new(
        options.limits.max_connections.max(1),
    ));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(options.limits.header_timeout)
        .max_header_size(options.limits.max_header_bytes)
        .max_buf_size(options.limits.max_header_bytes.max(128 * 1024));
    let builder = Arc::new(builder);
    let front = Arc::new(http::Front {
        db: db.clone(),
        auth: options.auth.clone(),
        observer: options.observer.clone(),
        dispatcher: dispatch::Dispatcher::new(options.read_dispatch),
        body_timeout: options.limits.body_timeout,
    });
    loop {
        // A free connection slot first: at the limit, the server stops accepting until a
        // connection closes, so the ones it serves keep their speed.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
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
                let front = front.clone();
                let service =
                    hyper::service::service_fn(move |req| http::handle(front.clone(), req));
                let (builder, watcher) = (builder.clone(), graceful.watcher());
                let tls = options.tls.clone();
                let handshake_timeout = options.limits.handshake_timeout;
                tokio::spawn(async move {
                    let _slot = slot;
                    let served = match tls {
                        None => {
                            let conn = builder.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(conn).await
                        }
                        Some(tls) => {
                            let handshake = tls.acceptor.accept(stream);
                            let stream = match tokio::time::timeout(handshake_timeout, handshake).await {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!("TLS handshake timed out");
                                    return;
                                }
                            };
                            let conn = builder.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(conn).await
                        }
                    };
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection closed with error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    sweeper.abort();
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

/// Runs the TTL sweep every `Config::ttl_sweep_interval_ms` on a blocking thread (it reads and
/// deletes through storage), until aborted. While a pass finds expired items the next one
/// follows sooner: after a pause that holds the rate to `Config::ttl_sweep_items_per_second`
/// (at least 1 ms). Batches (`Config::ttl_sweep_batch`) keep each pass short, and the pauses
/// leave the CPU, the blocking pool and the store to foreground work.
async fn sweep_expired_items(db: Arc<Database>) {
    let interval = std::time::Duration::from_millis(db.config().ttl_sweep_interval_ms.max(10));
    let rate = db.config().ttl_sweep_items_per_second;
    let mut pause = interval;
    // When the next pass may start at the configured rate: advanced by each pass's share, so
    // the rate holds on average whatever the timer's granularity.
    let mut next_at = std::time::Instant::now();
    loop {
        tokio::time::sleep(pause).await;
        let db = db.clone();
        let started = std::time::Instant::now();
        pause = match tokio::task::spawn_blocking(move || db.sweep_expired()).await {
            Ok(Ok(0)) => interval,
            Ok(Ok(n)) => {
                if rate == 0 {
                    std::time::Duration::from_millis(1)
                } else {
                    // Time lost to oversleeping is made up, but not after a long stall (a
                    // burst would follow it).
                    if started > next_at + std::time::Duration::from_millis(100) {
                        next_at = started;
                    }
                    next_at += std::time::Duration::from_secs_f64(n as f64 / rate as f64);
                    next_at.saturating_duration_since(std::time::Instant::now())
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "TTL sweep failed; retrying");
                interval
            }
            Err(e) => {
                tracing::warn!(error = %e, "TTL sweep task failed");
                interval
            }
        };
    }
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
}
