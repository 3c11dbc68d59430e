//! `binderdb bill`: prints what the traffic a server served would have cost on DynamoDB.
//!
//! `binderdb bill --endpoint URL` reads the server's `GET /bill` and prints one line per table
//! and global index. `binderdb bill [--endpoint URL] -- COMMAND ARGS...` reads the bill before
//! and after running the command and prints the difference: what that run (a test suite, a
//! load script) would have cost. Prices are the server's (`binderdb serve --prices`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct BillArgs {
    /// The binderdb server to read the bill from.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    endpoint: String,
    /// Print the bill as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// A command to run; the bill then covers only what happened while it ran.
    #[arg(last = true)]
    command: Vec<String>,
}

/// Runs `binderdb bill`; returns the wrapped command's exit code (0 without one).
///
/// # Errors
/// An unreachable server, an unreadable bill, or a command that cannot be started.
pub fn run(args: BillArgs) -> Result<i32, String> {
    let before = fetch(&args.endpoint)?;
    let (bill, code) = if args.command.is_empty() {
        (before, 0)
    } else {
        let status = Command::new(&args.command[0])
            .args(&args.command[1..])
            .status()
            .map_err(|e| format!("cannot run {}: {e}", args.command[0]))?;
        let after = fetch(&args.endpoint)?;
        (difference(&before, &after), status.code().unwrap_or(1))
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&bill).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", table(&bill));
    }
    Ok(code)
}

/// `GET {endpoint}/bill`.
fn fetch(endpoint: &str) -> Result<Value, String> {
    let authority = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint}: only http:// endpoints are supported"))?
        .trim_end_matches('/');
    let mut stream =
        TcpStream::connect(authority).map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    write!(
        stream,
        "GET /bill HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let head = String::from_utf8_lossy(&response[..split]);
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{endpoint}/bill answered {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    serde_json::from_slice(&response[split + 4..]).map_err(|e| format!("bad bill: {e}"))
}

/// The numeric members of a bill line that add up.
const ADDITIVE: &[&str] = &[
    "read_units",
    "write_units",
    "transactional_read_units",
    "transactional_write_units",
    "stream_read_requests",
    "throttled_requests",
    "request_cost",
    "on_demand_cost",
    "provisioned_cost",
    "storage_cost",
    "stream_cost",
    "cost",
];

fn line_key(line: &Value) -> (String, String, String) {
    let s = |k: &str| line[k].as_str().unwrap_or_default().to_owned();
    (s("region"), s("table_name"), s("index_name"))
}

/// `after` minus `before`, line by line (tables created during the run count whole), with
/// lines that did not change left out.
fn difference(before: &Value, after: &Value) -> Value {
    let empty = Vec::new();
    let before_lines = before["tables"].as_array().unwrap_or(&empty);
    let mut lines = Vec::new();
    let mut total_cost = 0.0;
    let mut occurrence: std::collections::HashMap<(String, String, String), usize> =
        std::collections::HashMap::new();
    for line in after["tables"].as_array().unwrap_or(&empty) {
        // A table deleted and created again under the same name has a line per incarnation,
        // in the same order in both bills.
        let key = line_key(line);
        let seen = occurrence.entry(key.clone()).or_default();
        let old = before_lines
            .iter()
            .filter(|l| line_key(l) == key)
            .nth(*seen);
        *seen += 1;
        let mut diff = line.clone();
        diff["minutes"] = Value::Null;
        for member in ADDITIVE {
            let now = line[*member].as_f64().unwrap_or(0.0);
            let was = old.and_then(|o| o[*member].as_f64()).unwrap_or(0.0);
            diff[*member] = serde_json::json!(now - was);
        }
        if ADDITIVE
            .iter()
            .any(|m| diff[*m].as_f64().unwrap_or(0.0).abs() > 0.0)
        {
            total_cost += diff["cost"].as_f64().unwrap_or(0.0);
            lines.push(diff);
        }
    }
    serde_json::json!({ "tables": lines, "total_cost": total_cost, "prices": after["prices"] })
}

/// The bill as a text table.
fn table(bill: &Value) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<40} {:>16} {:>12} {:>12} {:>10} {:>10} {:>14}\n",
        "table / index", "mode", "RCU", "WCU", "txn WCU", "throttled", "cost USD"
    ));
    let empty = Vec::new();
    for line in bill["tables"].as_array().unwrap_or(&empty) {
        let mut name = line["table_name"].as_str().unwrap_or_default().to_owned();
        if let Some(index) = line["index_name"].as_str() {
            name = format!("  {name}/{index}");
        }
        if line["deleted"].as_bool() == Some(true) {
            name.push_str(" (deleted)");
        }
        let n = |k: &str| line[k].as_f64().unwrap_or(0.0);
        out.push_str(&format!(
            "{:<40} {:>16} {:>12} {:>12} {:>10} {:>10} {:>14.8}\n",
            name,
            line["billing_mode"].as_str().unwrap_or_default(),
            n("read_units"),
            n("write_units"),
            n("transactional_write_units"),
            n("throttled_requests"),
            n("cost"),
        ));
    }
    out.push_str(&format!(
        "total: {:.8} USD (list prices; see GET /bill for the prices used)\n",
        bill["total_cost"].as_f64().unwrap_or(0.0)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_pays_only_for_what_changed() {
        let before = serde_json::json!({"tables": [
            {"region": "r", "table_name": "a", "read_units": 1.0, "write_units": 2.0, "cost": 0.5},
            {"region": "r", "table_name": "idle", "read_units": 3.0, "cost": 0.1}
        ]});
        let after = serde_json::json!({"tables": [
            {"region": "r", "table_name": "a", "read_units": 1.5, "write_units": 6.0, "cost": 0.75},
            {"region": "r", "table_name": "idle", "read_units": 3.0, "cost": 0.1},
            {"region": "r", "table_name": "new", "write_units": 1.0, "cost": 0.25}
        ]});
        let d = difference(&before, &after);
        let lines = d["tables"].as_array().unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["write_units"], 4.0);
        assert_eq!(lines[0]["read_units"], 0.5);
        assert_eq!(lines[1]["table_name"], "new");
        assert_eq!(d["total_cost"], 0.5);
    }
}
