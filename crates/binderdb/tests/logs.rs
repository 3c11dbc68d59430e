//! Structured logs of `binderdb serve`: with `--log-format json` every line is a JSON object,
//! a line logged while serving a request carries the id its answer's `x-amzn-RequestId` header
//! had (read by the AWS SDK for Rust; `request{request_id=...}:` in text, a `request_id`
//! member in JSON) and a line logged outside any request carries none, and `--slow-request-ms` logs slow calls with their
//! operation, table, duration and request id. A threshold of 0 makes every call "slow", so no
//! test waits for one.

// Test helpers fail the test by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

/// A server whose stderr lines arrive on `lines`; killed when dropped.
struct Server {
    child: Child,
    url: String,
    /// The line announcing the address, logged before any request.
    ready: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_binderdb"))
        .args(["serve", "--in-memory", "--port", "0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start binderdb");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let ready = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("binderdb's ready line");
    let at = ready.find("http://").expect("the ready line names the URL");
    let url = ready[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    Server {
        child,
        url,
        ready,
        lines,
    }
}

impl Server {
    fn client(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// Stops the server and returns every log line not read yet.
    fn stop(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.lines.iter().collect()
    }

    /// The next log line that satisfies `wanted` (lines before it are skipped).
    fn line_where(&self, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("the wanted log line");
            if wanted(&line) {
                return line;
            }
        }
    }
}

async fn create_table(client: &aws_sdk_dynamodb::Client) -> String {
    let out = client
        .create_table()
        .table_name("logged")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    out.request_id().unwrap().to_owned()
}

#[tokio::test]
async fn json_logs_carry_the_request_id_the_client_got() {
    let server = start(&["--log-format", "json", "--slow-request-ms", "0"]);
    let ready: serde_json::Value = serde_json::from_str(&server.ready).expect("a JSON log line");
    assert_eq!(ready["level"], "INFO", "{}", server.ready);
    assert!(ready.get("request_id").is_none(), "{}", server.ready);
    let client = server.client();
    create_table(&client).await;
    let put = client
        .put_item()
        .table_name("logged")
        .item("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
    let id = put.request_id().unwrap().to_owned();
    assert_eq!(id.len(), 52);
    let line = server.line_where(|l| l.contains(&id));
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(event["level"], "WARN", "{line}");
    assert_eq!(event["fields"]["message"], "slow request", "{line}");
    assert_eq!(event["fields"]["operation"], "PutItem", "{line}");
    assert_eq!(event["fields"]["table"], "logged", "{line}");
    assert_eq!(event["fields"]["request_id"], id.as_str(), "{line}");
    assert!(
        event["fields"]["duration_ms"].as_f64().unwrap() >= 0.0,
        "{line}"
    );
    assert_eq!(event["request_id"], id.as_str(), "{line}");

    // An error answer is logged with the id its header had too.
    let err = client
        .get_item()
        .table_name("absent")
        .key("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap_err();
    let id = err.request_id().unwrap().to_owned();
    let line = server.line_where(|l| l.contains(&id));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["request_id"], id.as_str(), "{line}");
    assert_eq!(event["fields"]["operation"], "GetItem", "{line}");
    assert_eq!(event["fields"]["status"], 400, "{line}");
}

#[tokio::test]
async fn text_logs_name_slow_requests_and_fast_ones_stay_quiet() {
    // A threshold no request on this machine reaches: nothing is logged for the calls.
    let mut server = start(&["--slow-request-ms", "600000"]);
    let client = server.client();
    let quiet_id = create_table(&client).await;
    let rest = server.stop();
    assert!(!rest.iter().any(|l| l.contains(&quiet_id)), "{rest:?}");
    assert!(!rest.iter().any(|l| l.contains("slow request")), "{rest:?}");

    let server = start(&["--slow-request-ms", "0"]);
    let client = server.client();
    let id = create_table(&client).await;
    let line = server.line_where(|l| l.contains(&id));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("slow request"), "{line}");
    assert!(line.contains("operation=\"CreateTable\""), "{line}");
    assert!(line.contains("table=\"logged\""), "{line}");
    assert!(
        line.contains(&format!("request{{request_id={id}}}")),
        "{line}"
    );
    assert_ne!(quiet_id, id);
}

/// A SIGTERM sent as soon as the ready line appears stops the server cleanly (exit 0, "stopped
/// cleanly" logged): the handler is installed before that line is written. It used to be
/// installed when the server's loop first ran, and a SIGTERM in between killed the process by
/// the signal's default action (a crash, as far as the data directory could tell).
#[test]
fn a_sigterm_right_after_the_ready_line_stops_the_server_cleanly() {
    for _ in 0..5 {
        let mut server = start(&[]);
        let sent = Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let status = server.child.wait().unwrap();
        assert!(status.success(), "{status}");
        server.line_where(|line| line.contains("binderdb stopped cleanly"));
    }
}
