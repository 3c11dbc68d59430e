//! `binderdb backup --to DIR` against a running durable `binderdb serve` with access keys: a
//! key of another account is refused with AccessDeniedException, the operator's key gets a
//! copy that `binderdb serve --data-dir DIR` starts from with every item, and a second copy
//! into the now non-empty directory is refused.

// Test helpers fail the test by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

const OPERATOR: (&str, &str) = ("AKIDOPERATOR", "operator-secret");
const OTHER: (&str, &str) = ("AKIDOTHER", "other-secret");

/// A `binderdb serve` process; killed when dropped.
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

fn serve(data_dir: &Path, credentials: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_binderdb"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data_dir)
        .arg("--credentials")
        .arg(credentials)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start binderdb");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let ready = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("binderdb's ready line");
        if line.contains("binderdb ready") {
            break line;
        }
    };
    let at = ready.find("http://").expect("the ready line names the URL");
    let url = ready[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    Server { child, url }
}

fn client(url: &str, (id, secret): (&str, &str)) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(id, secret, None, None, "static"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn backup(url: &str, (id, secret): (&str, &str), to: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_binderdb"))
        .args(["backup", "--endpoint", url, "--to"])
        .arg(to)
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("run binderdb backup")
}

#[tokio::test]
async fn the_operators_copy_starts_a_server_with_every_item() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("keys");
    std::fs::write(
        &credentials,
        format!(
            "{}:{}\n{}:{} account=111122223333\n",
            OPERATOR.0, OPERATOR.1, OTHER.0, OTHER.1
        ),
    )
    .unwrap();
    let source = serve(&dir.path().join("data"), &credentials);
    let db = client(&source.url, OPERATOR);
    db.create_table()
        .table_name("Orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for i in 0..50 {
        db.put_item()
            .table_name("Orders")
            .item("id", AttributeValue::S(format!("order-{i}")))
            .item("total", AttributeValue::N(i.to_string()))
            .send()
            .await
            .unwrap();
    }

    let copy = dir.path().join("copy");
    let refused = backup(&source.url, OTHER, &copy);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(
            "AccessDeniedException: User: arn:aws:iam::111122223333:user/AKIDOTHER is not \
             authorized to perform: binderdb:Backup"
        ),
        "{stderr}"
    );
    assert!(!copy.exists(), "a refused copy writes nothing");

    let done = backup(&source.url, OPERATOR, &copy);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.starts_with("copied "), "{stdout}");

    let again = backup(&source.url, OPERATOR, &copy);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    drop(source);

    let restored = serve(&copy, &credentials);
    let scanned = client(&restored.url, OPERATOR)
        .scan()
        .table_name("Orders")
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.count(), 50);
}
