//! `binderdb bench` end to end: the binary loads the null server and a real in-memory binderdb,
//! and its last stdout line is the JSON summary with successful operations and no errors.
//! No timing thresholds: a loaded CI machine must not fail these.

// Test helpers fail the test by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process that is killed when the test ends, however it ends.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binderdb <args>` and reads stderr until the ready line names `http://HOST:PORT`.
fn start(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_binderdb"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start binderdb");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("binderdb exited before its ready line")
            .expect("read stderr");
        if let Some(at) = line.find("http://") {
            let url: String = line[at..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            break url;
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

/// Runs a short bench against `url` and returns its JSON line.
fn bench(url: &str, workload: &str) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_binderdb"))
        .args([
            "bench",
            "--endpoint",
            url,
            "--workload",
            workload,
            "--connections",
            "4",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--items",
            "200",
        ])
        .output()
        .expect("run binderdb bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench {workload} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().expect("bench printed nothing");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"))
}

fn assert_clean_run(summary: &serde_json::Value, workload: &str) {
    assert_eq!(summary["workload"], workload, "{summary}");
    assert_eq!(summary["connections"], 4, "{summary}");
    assert!(summary["ops"].as_u64().unwrap_or(0) > 0, "{summary}");
    assert!(
        summary["ops_per_s"].as_f64().unwrap_or(0.0) > 0.0,
        "{summary}"
    );
    assert_eq!(summary["errors"], serde_json::json!({}), "{summary}");
    for key in ["p50_ms", "p99_ms", "p999_ms", "max_ms", "duration_s"] {
        assert!(summary[key].is_number(), "{key} missing: {summary}");
    }
}

#[test]
fn bench_runs_against_the_null_server() {
    let server = start(&["bench", "--null-server", "--port", "0"]);
    let summary = bench(&server.url, "get");
    assert_clean_run(&summary, "get");
}

#[test]
fn bench_puts_and_gets_against_binderdb() {
    let server = start(&["serve", "--in-memory", "--port", "0"]);
    for workload in ["put", "get"] {
        let summary = bench(&server.url, workload);
        assert_clean_run(&summary, workload);
    }
}

#[test]
fn index_workloads_run_against_binderdb() {
    // index-put moves every item's key in two GSIs and two LSIs; index-query reads a GSI;
    // overwrite (the same puts on a table without indexes) and index-table-query (a Query of
    // the indexed table itself) are their twins.
    let server = start(&["serve", "--in-memory", "--port", "0"]);
    for workload in ["index-put", "index-query", "overwrite", "index-table-query"] {
        let summary = bench(&server.url, workload);
        assert_clean_run(&summary, workload);
    }
}

#[test]
fn index_workloads_refuse_a_table_without_their_indexes() {
    let server = start(&["serve", "--in-memory", "--port", "0"]);
    let run = |workload: &str| {
        Command::new(env!("CARGO_BIN_EXE_binderdb"))
            .args(["bench", "--endpoint", &server.url, "--workload", workload])
            .args(["--duration", "200ms", "--warmup", "0s", "--items", "20"])
            .args(["--table", "plain", "--keep-table"])
            .output()
            .expect("run binderdb bench")
    };
    assert!(run("overwrite").status.success());
    let output = run("index-query");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("table plain exists without the index workloads' indexes"),
        "{stderr}"
    );
}

#[test]
fn json_flag_prints_only_the_json_line() {
    let server = start(&["bench", "--null-server", "--port", "0"]);
    let output = Command::new(env!("CARGO_BIN_EXE_binderdb"))
        .args(["bench", "--endpoint", &server.url, "--workload", "query"])
        .args([
            "--duration",
            "300ms",
            "--warmup",
            "0s",
            "--items",
            "20",
            "--json",
        ])
        .output()
        .expect("run binderdb bench");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON line");
    assert_eq!(summary["workload"], "query");
}

#[test]
fn transaction_workloads_run_against_binderdb() {
    let server = start(&["serve", "--in-memory", "--port", "0"]);
    let summary = bench(&server.url, "txn");
    assert_clean_run(&summary, "txn");
    // Transfers between 10 hot accounts commit, and the only failures they may meet are
    // cancellations for conflicts.
    let summary = bench(&server.url, "transfer");
    assert_eq!(summary["workload"], "transfer", "{summary}");
    assert!(summary["ops"].as_u64().unwrap_or(0) > 0, "{summary}");
    let errors = summary["errors"].as_object().unwrap();
    assert!(
        errors
            .keys()
            .all(|code| code == "TransactionCanceledException"),
        "{summary}"
    );
}

#[test]
fn interval_reports_partition_the_measured_window() {
    let server = start(&["serve", "--in-memory", "--port", "0"]);
    let output = Command::new(env!("CARGO_BIN_EXE_binderdb"))
        .args(["bench", "--endpoint", &server.url, "--workload", "mix"])
        .args([
            "--connections",
            "4",
            "--duration",
            "1s",
            "--warmup",
            "100ms",
            "--items",
            "100",
            "--interval",
            "250ms",
            "--json",
        ])
        .output()
        .expect("run binderdb bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let (summary, intervals) = lines.split_last().expect("bench printed nothing");
    assert_clean_run(summary, "mix");
    let spans: Vec<(f64, f64)> = intervals
        .iter()
        .map(|v| {
            assert!(v.get("workload").is_none(), "{v}");
            assert_eq!(v["errors"], serde_json::json!({}), "{v}");
            (
                v["interval_start_s"].as_f64().unwrap(),
                v["interval_end_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)],
        "{stdout}"
    );
    // Every counted request is in exactly one interval.
    let ops: u64 = intervals.iter().map(|v| v["ops"].as_u64().unwrap()).sum();
    assert_eq!(ops, summary["ops"].as_u64().unwrap(), "{stdout}");
}

#[test]
fn too_short_an_interval_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_binderdb"))
        .args([
            "bench",
            "--endpoint",
            "http://127.0.0.1:9",
            "--interval",
            "5ms",
        ])
        .output()
        .expect("run binderdb bench");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--interval must be at least 10 ms"),
        "{stderr}"
    );
}
