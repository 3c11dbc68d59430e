//! binderdb's own endpoints for production realism: the bill, its metrics, and fault rules.
//!
//! - `GET /bill`: the bill as JSON ([`binderdb_engine::capacity::bill::BillReport`]): per
//!   table and per global index, units consumed since start (read, write, transactional,
//!   stream reads, throttled requests), per-minute figures for the last hour, and the
//!   estimated cost at the configured prices. The console reads it.
//! - `GET /metrics`: the same counters in Prometheus' text format, with the request,
//!   process and storage metrics ([`crate::metrics`]), under CloudWatch's DynamoDB names and
//!   dimensions where they exist, binderdb's own otherwise.
//! - `GET /health`: `200 ok` for load balancers while the server serves and its store makes
//!   writes durable ([`crate::metrics::health`]).
//! - `GET /binderdb/faults`: the fault rules in force and how often each matched and fired;
//!   `PUT` or `POST` replaces them (a JSON rule set, see `binderdb_engine::faults`);
//!   `DELETE` removes them all.
//!
//! These paths are not DynamoDB's: an API call is a `POST` with `X-Amz-Target`, which these
//! never are, except a `POST /binderdb/faults` (a path no SDK uses).

use std::sync::Arc;

use binderdb_engine::faults::FaultConfig;
use binderdb_engine::Database;
use bytes::Bytes;
use hyper::{Method, StatusCode};

use crate::http::HttpResponse;

/// The load balancers' health check (`crate::metrics::health`).
pub const HEALTH_PATH: &str = "/health";

/// The path of the fault rules.
pub const FAULTS_PATH: &str = "/binderdb/faults";

/// Answers one of binderdb's own endpoints, or `None` when the request is not for one.
pub(crate) async fn handle(
    db: &Arc<Database>,
    observer: &Arc<crate::metrics::Observer>,
    method: &Method,
    path: &str,
    body: &Bytes,
) -> Option<HttpResponse> {
    Some(match (method, path) {
        (&Method::GET, "/bill") => {
            let db = db.clone();
            match tokio::task::spawn_blocking(move || db.bill()).await {
                Ok(Ok(bill)) => json(StatusCode::OK, &serde_json::to_value(bill).ok()?),
                Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        (&Method::GET, "/metrics") => {
            let (db, observer) = (db.clone(), observer.clone());
            let rendered = tokio::task::spawn_blocking(move || {
                db.bill()
                    .map(|bill| crate::metrics::render(&db, &observer, &bill))
            });
            match rendered.await {
                Ok(Ok(text)) => crate::http::text(
                    StatusCode::OK,
                    Bytes::from(text),
                    "text/plain; version=0.0.4",
                ),
                Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        (&Method::GET, HEALTH_PATH) => {
            let (status, body) = crate::metrics::health(db).await;
            crate::http::text(status, Bytes::from(body), "text/plain")
        }
        (&Method::GET, FAULTS_PATH) => json(StatusCode::OK, &db.faults().describe()),
        (&Method::PUT | &Method::POST, FAULTS_PATH) => match FaultConfig::parse(body) {
            Ok(config) => {
                db.faults().set(config);
                json(StatusCode::OK, &db.faults().describe())
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        (&Method::DELETE, FAULTS_PATH) => {
            db.faults().set(FaultConfig::default());
            json(StatusCode::OK, &db.faults().describe())
        }
        _ => return None,
    })
}

fn json(status: StatusCode, value: &serde_json::Value) -> HttpResponse {
    crate::http::text(
        status,
        Bytes::from(serde_json::to_vec_pretty(value).unwrap_or_default()),
        "application/json",
    )
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    json(status, &serde_json::json!({ "error": message }))
}
