//! TLS: given a certificate and key, the server speaks HTTPS, and the SDK that trusts the
//! certificate works against it unchanged.

use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use binderdb_engine::{Config, SystemClock};
use binderdb_server::{ServeOptions, Tls};

use crate::common::{test_store, TestServer};

/// A server with a fresh self-signed certificate for `localhost`, and that certificate (PEM).
async fn tls_server() -> (TestServer, String, tempfile::TempDir) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let cert_pem = certified.cert.pem();
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let options = ServeOptions {
        tls: Some(Tls::from_pem_files(&cert, &key).unwrap()),
        ..ServeOptions::default()
    };
    let server = TestServer::with_options(
        test_store(),
        Config::default(),
        Arc::new(SystemClock),
        options,
    )
    .await;
    (server, cert_pem, dir)
}

fn client(server: &TestServer, trusted_pem: Option<&str>) -> aws_sdk_dynamodb::Client {
    let trust = match trusted_pem {
        Some(pem) => TrustStore::empty().with_pem_certificate(pem.as_bytes()),
        None => TrustStore::empty(),
    };
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .unwrap(),
        )
        .build_https();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("https://localhost:{}", server.addr.port()))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .http_client(http)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

#[tokio::test]
async fn the_sdk_works_over_tls_with_a_trusted_certificate() {
    let (server, cert, _dir) = tls_server().await;
    let client = client(&server, Some(&cert));
    crate::common::create_table(&client, "Secure", ("pk", ScalarAttributeType::S), None).await;
    client
        .put_item()
        .table_name("Secure")
        .item("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
    let got = client
        .get_item()
        .table_name("Secure")
        .key("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
    assert!(got.item().is_some());
}

#[tokio::test]
async fn untrusted_certificates_and_plain_http_get_nowhere() {
    let (server, cert, _dir) = tls_server().await;
    // A client that does not trust the certificate refuses the server.
    assert!(client(&server, None).list_tables().send().await.is_err());
    // Plain HTTP to the TLS port is not answered as HTTP; the server keeps serving.
    let plain = server.client();
    assert!(plain.list_tables().send().await.is_err());
    client(&server, Some(&cert))
        .list_tables()
        .send()
        .await
        .unwrap();
}
