//! binderdb's own endpoints for production realism: the bill, its metrics, and fault rules.
//!
//! - `GET /bill`: the bill as JSON ([`binderdb_engine::capacity::bill::BillReport`]): per
//!   table and per global index, units consumed since start (read, write, transactional,
//!   stream reads, throttled requests), per-minute figures for the last hour, and the
//!   estimated cost at the configured prices. The console reads it.
//! - `GET /metrics`: the same counters in Prometheus' text format, under CloudWatch's
//!   DynamoDB names and dimensions where they exist (`ConsumedReadCapacityUnits`,
//!   `ConsumedWriteCapacityUnits`, `ThrottledRequests`, labelled `TableName` and
//!   `GlobalSecondaryIndexName`, plus `Region`), binderdb's own otherwise
//!   (`binderdb_transactional_write_units_total`, `binderdb_estimated_cost_dollars`, ...).
//! - `GET /binderdb/faults`: the fault rules in force and how often each matched and fired;
//!   `PUT` or `POST` replaces them (a JSON rule set, see `binderdb_engine::faults`);
//!   `DELETE` removes them all.
//!
//! These paths are not DynamoDB's: an API call is a `POST` with `X-Amz-Target`, which these
//! never are, except a `POST /binderdb/faults` (a path no SDK uses).

use std::fmt::Write as _;
use std::sync::Arc;

use binderdb_engine::faults::FaultConfig;
use binderdb_engine::Database;
use bytes::Bytes;
use hyper::{Method, StatusCode};

use crate::http::HttpResponse;

/// The path of the fault rules.
pub const FAULTS_PATH: &str = "/binderdb/faults";

/// Answers one of binderdb's own endpoints, or `None` when the request is not for one.
pub(crate) async fn handle(
    db: &Arc<Database>,
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
            let db = db.clone();
            match tokio::task::spawn_blocking(move || db.bill()).await {
                Ok(Ok(bill)) => crate::http::text(
                    StatusCode::OK,
                    Bytes::from(prometheus(&bill)),
                    "text/plain; version=0.0.4",
                ),
                Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
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

/// A metric: its name, its help text, and its value on one line of the bill.
type Metric = (
    &'static str,
    &'static str,
    fn(&binderdb_engine::capacity::bill::TableBill) -> f64,
);

/// The bill in Prometheus' text exposition format.
fn prometheus(bill: &binderdb_engine::capacity::bill::BillReport) -> String {
    let mut out = String::new();
    let metrics: [Metric; 7] = [
        (
            "ConsumedReadCapacityUnits",
            "Read capacity units consumed (transactional ones included).",
            |l| l.totals.read_units,
        ),
        (
            "ConsumedWriteCapacityUnits",
            "Write capacity units consumed (transactional ones included).",
            |l| l.totals.write_units,
        ),
        (
            "binderdb_transactional_read_units_total",
            "Read capacity units consumed in transactions.",
            |l| l.totals.transactional_read_units,
        ),
        (
            "binderdb_transactional_write_units_total",
            "Write capacity units consumed in transactions.",
            |l| l.totals.transactional_write_units,
        ),
        (
            "binderdb_stream_read_requests_total",
            "Stream GetRecords calls.",
            |l| l.totals.stream_read_requests as f64,
        ),
        (
            "ThrottledRequests",
            "Requests refused by throttling.",
            |l| l.totals.throttled_requests as f64,
        ),
        (
            "binderdb_estimated_cost_dollars",
            "What the traffic so far would cost on DynamoDB, US dollars.",
            |l| l.cost,
        ),
    ];
    for (name, help, value) in metrics {
        let kind = if name.ends_with("_dollars") {
            "gauge"
        } else {
            "counter"
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for line in &bill.tables {
            let index = match &line.index_name {
                Some(index) => format!(",GlobalSecondaryIndexName=\"{index}\""),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "{name}{{Region=\"{}\",TableName=\"{}\"{index}}} {}",
                line.region,
                line.table_name,
                value(line)
            );
        }
    }
    out
}
