//! SigV4 verification with configured keys: the SDK's signatures are accepted, and every way a
//! request can be unsigned, malformed, stale or tampered with gets DynamoDB's exact error.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::ScalarAttributeType;
use binderdb_engine::{Config, ManualClock, SystemClock};
use binderdb_server::Auth;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::common::{raw_request, raw_request_to, test_store, TestServer};

const ID: &str = "AKIDBINDER";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2015-08-30T12:36:00Z, the date of AWS's SigV4 test suite.
const NOW_MILLIS: u64 = 1_440_938_160_000;
const NOW: &str = "20150830T123600Z";
const TARGET: &str = "DynamoDB_20120810.ListTables";
const SERVICE: &str = "com.amazon.coral.service#";
const MISMATCH: &str = "The request signature we calculated does not match the signature you \
                        provided. Check your AWS Secret Access Key and signing method. Consult \
                        the service documentation for details.";

fn keys() -> Auth {
    Auth::with_keys([(ID.to_owned(), SECRET.to_owned())])
}

async fn server_at(millis: u64) -> TestServer {
    let clock = Arc::new(ManualClock::new(millis));
    TestServer::with_auth(test_store(), Config::default(), clock, keys()).await
}

fn now_millis() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signature of a request, computed by hand from AWS's documentation: `headers` are the
/// signed headers (lower-case, sorted), `query` the canonical query string.
fn signature(
    secret: &str,
    region: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    let canonical = format!(
        "POST\n/\n{query}\n{canonical_headers}\n{}\n{}",
        signed.join(";"),
        hex(&Sha256::digest(body))
    );
    let scope = format!("{}/{region}/dynamodb/aws4_request", &NOW[..8]);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{NOW}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), &NOW[..8]);
    for part in [region, "dynamodb", "aws4_request"] {
        key = hmac(&key, part);
    }
    hex(&hmac(&key, &to_sign))
}

/// A raw ListTables signed by hand with `secret` for `region`, as the test-suite date; the
/// `Authorization` header is returned for the test to send or alter.
fn authorization(server: &TestServer, secret: &str, region: &str, body: &[u8]) -> String {
    let host = server.addr.to_string();
    let headers = [
        ("content-type", "application/x-amz-json-1.0"),
        ("host", host.as_str()),
        ("x-amz-date", NOW),
        ("x-amz-target", TARGET),
    ];
    format!(
        "AWS4-HMAC-SHA256 Credential={ID}/{}/{region}/dynamodb/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
        &NOW[..8],
        signature(secret, region, "", &headers, body)
    )
}

async fn send(server: &TestServer, auth: &str, body: &[u8]) -> crate::common::RawResponse {
    raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", auth), ("X-Amz-Date", NOW)],
        body,
    )
    .await
}

#[tokio::test]
async fn sdk_requests_with_a_configured_key_are_accepted() {
    let clock = Arc::new(SystemClock);
    let server = TestServer::with_auth(test_store(), Config::default(), clock, keys()).await;
    let client = server.client_with_key("eu-west-1", ID, SECRET);
    crate::common::create_table(&client, "signed", ("pk", ScalarAttributeType::S), None).await;
    client
        .put_item()
        .table_name("signed")
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
    let tables = client.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["signed"]);
}

#[tokio::test]
async fn sdk_requests_with_an_unknown_key_or_wrong_secret_are_refused() {
    let clock = Arc::new(SystemClock);
    let server = TestServer::with_auth(test_store(), Config::default(), clock, keys()).await;
    let unknown = server.client_with_key("us-east-1", "AKIDOTHER", SECRET);
    let e = unknown.list_tables().send().await.unwrap_err();
    let e = e.into_service_error();
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        e.message(),
        Some("The security token included in the request is invalid.")
    );
    let wrong = server.client_with_key("us-east-1", ID, "not-the-secret");
    let e = wrong.list_tables().send().await.unwrap_err();
    let e = e.into_service_error();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
    assert_eq!(e.message(), Some(MISMATCH));
}

#[tokio::test]
async fn sdk_requests_more_than_15_minutes_off_are_refused_even_with_an_unknown_key() {
    for (offset_minutes, prefix) in [
        (20i64, "Signature expired: "),
        (-20, "Signature not yet current: "),
    ] {
        let server_time = now_millis().saturating_add_signed(offset_minutes * 60_000);
        let server = server_at(server_time).await;
        for id in [ID, "AKIDUNKNOWN"] {
            let client = server.client_with_key("us-east-1", id, SECRET);
            let e = client.list_tables().send().await.unwrap_err();
            let e = e.into_service_error();
            assert_eq!(e.code(), Some("InvalidSignatureException"));
            let message = e.message().unwrap();
            assert!(message.starts_with(prefix), "{message}");
        }
    }
}

#[tokio::test]
async fn skew_messages_use_dynamodbs_words() {
    let body = b"{}";
    // The server is 16 minutes ahead of the signature.
    let server = server_at(NOW_MILLIS + 16 * 60_000).await;
    let auth = authorization(&server, SECRET, "us-east-1", body);
    send(&server, &auth, body).await.assert_error(
        &format!("{SERVICE}InvalidSignatureException"),
        Some(
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z \
             (20150830T125200Z - 15 min.)",
        ),
    );
    // The server is 16 minutes behind.
    let server = server_at(NOW_MILLIS - 16 * 60_000).await;
    let auth = authorization(&server, SECRET, "us-east-1", body);
    send(&server, &auth, body).await.assert_error(
        &format!("{SERVICE}InvalidSignatureException"),
        Some(
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z \
             (20150830T122000Z + 15 min.)",
        ),
    );
    // 14 minutes either way is fine.
    for millis in [NOW_MILLIS + 14 * 60_000, NOW_MILLIS - 14 * 60_000] {
        let server = server_at(millis).await;
        let auth = authorization(&server, SECRET, "us-east-1", body);
        assert_eq!(send(&server, &auth, body).await.status, 200);
    }
}

#[tokio::test]
async fn hand_signed_requests_are_accepted_and_tampering_is_refused() {
    let server = server_at(NOW_MILLIS).await;
    let body = br#"{"Limit":5}"#;
    let auth = authorization(&server, SECRET, "us-east-1", body);
    let ok = send(&server, &auth, body).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));

    let invalid = format!("{SERVICE}InvalidSignatureException");
    // Tampered body.
    send(&server, &auth, br#"{"Limit":6}"#)
        .await
        .assert_error(&invalid, Some(MISMATCH));
    // Tampered signed header: another target than the one signed.
    raw_request(
        server.addr,
        Some("DynamoDB_20120810.DescribeLimits"),
        &[("Authorization", &auth), ("X-Amz-Date", NOW)],
        body,
    )
    .await
    .assert_error(&invalid, Some(MISMATCH));
    // A region in the scope other than the one signed for.
    let other_region = auth.replace("/us-east-1/", "/eu-west-1/");
    send(&server, &other_region, body)
        .await
        .assert_error(&invalid, Some(MISMATCH));
    // Signed for another region, and sent as such: accepted (each region is served).
    let eu = authorization(&server, SECRET, "eu-west-1", body);
    assert_eq!(send(&server, &eu, body).await.status, 200);
    // A payload hash header that is not the body's.
    raw_request(
        server.addr,
        Some(TARGET),
        &[
            ("Authorization", &auth),
            ("X-Amz-Date", NOW),
            ("X-Amz-Content-Sha256", &hex(&Sha256::digest(b"other"))),
        ],
        body,
    )
    .await
    .assert_error(&invalid, Some(MISMATCH));
    // A wrong-service scope.
    let s3 = auth.replace("/dynamodb/", "/s3/");
    send(&server, &s3, body).await.assert_error(
        &invalid,
        Some("Credential should be scoped to correct service: 'dynamodb'. "),
    );
    // An unknown key, signed in time.
    let unknown = auth.replace(ID, "AKIDUNKNOWN");
    send(&server, &unknown, body).await.assert_error(
        &format!("{SERVICE}UnrecognizedClientException"),
        Some("The security token included in the request is invalid."),
    );
    // Host not signed.
    let no_host = auth.replace("content-type;host;", "content-type;");
    send(&server, &no_host, body).await.assert_error(
        &invalid,
        Some("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."),
    );
}

#[tokio::test]
async fn unsigned_payloads_are_accepted_when_signed_as_such() {
    let server = server_at(NOW_MILLIS).await;
    let host = server.addr.to_string();
    let body = b"{}";
    let headers = [
        ("host", host.as_str()),
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ("x-amz-date", NOW),
    ];
    // The canonical request's payload line is the literal UNSIGNED-PAYLOAD: sign that.
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{NOW}\n20150830/us-east-1/dynamodb/aws4_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{SECRET}").as_bytes(), "20150830");
    for part in ["us-east-1", "dynamodb", "aws4_request"] {
        key = hmac(&key, part);
    }
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={ID}/20150830/us-east-1/dynamodb/aws4_request, \
         SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}",
        hex(&hmac(&key, &to_sign))
    );
    let resp = raw_request(
        server.addr,
        Some(TARGET),
        &[
            ("Authorization", &auth),
            ("X-Amz-Date", NOW),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ],
        body,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
}

#[tokio::test]
async fn missing_and_malformed_authorization_is_refused() {
    let server = server_at(NOW_MILLIS).await;
    raw_request(server.addr, Some(TARGET), &[], b"{}")
        .await
        .assert_error(
            &format!("{SERVICE}MissingAuthenticationTokenException"),
            Some("Request is missing Authentication Token"),
        );
    let incomplete = format!("{SERVICE}IncompleteSignatureException");
    let auth = format!("AWS4-HMAC-SHA256 Credential={ID}/20150830/us-east-1/dynamodb/aws4_request");
    raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", &auth), ("X-Amz-Date", NOW)],
        b"{}",
    )
    .await
    .assert_error(
        &incomplete,
        Some(&format!(
            "Authorization header requires 'Signature' parameter. Authorization header \
             requires 'SignedHeaders' parameter. Authorization={auth}"
        )),
    );
    raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", "garbage")],
        b"{}",
    )
    .await
    .assert_error(
        &incomplete,
        Some(
            "Authorization header requires 'Credential' parameter. Authorization header \
                 requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
                 parameter. Authorization header requires existence of either a 'X-Amz-Date' \
                 or a 'Date' header. Authorization=garbage",
        ),
    );
    let spaced = "AWS4-HMAC-SHA256 Credential=AKID /20150830/us-east-1/dynamodb/aws4_request, \
                  SignedHeaders=host;x-amz-date, Signature=00";
    raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", spaced), ("X-Amz-Date", NOW)],
        b"{}",
    )
    .await
    .assert_error(
        &incomplete,
        Some(&format!(
            "'/20150830/us-east-1/dynamodb/aws4_request' not a valid key=value pair (missing \
             equal-sign) in Authorization header: '{spaced}'."
        )),
    );
    // Hostile values never panic the server.
    for auth in [
        "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=zz",
        "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;;;, Signature=é",
        "AWS4-HMAC-SHA256 Credential=é/20150830/us-east-1/dynamodb/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0",
        "=,=,=",
    ] {
        for date in [NOW, "x", "99999999T999999Z", "20150830T123600Zé"] {
            let resp = raw_request(
                server.addr,
                Some(TARGET),
                &[("Authorization", auth), ("X-Amz-Date", date)],
                b"{}",
            )
            .await;
            assert_eq!(resp.status, 400, "{auth} {date}");
        }
    }
}

#[tokio::test]
async fn presigned_urls_are_accepted() {
    let server = server_at(NOW_MILLIS).await;
    let host = server.addr.to_string();
    let body = b"{}";
    let credential = format!("{ID}%2F20150830%2Fus-east-1%2Fdynamodb%2Faws4_request");
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={NOW}\
         &X-Amz-Expires=300&X-Amz-SignedHeaders=host%3Bx-amz-target"
    );
    let headers = [("host", host.as_str()), ("x-amz-target", TARGET)];
    let sig = signature(SECRET, "us-east-1", &query, &headers, body);
    let url = format!("/?{query}&X-Amz-Signature={sig}");
    let resp = raw_request_to(server.addr, &url, Some(TARGET), &[], body).await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));

    let bad = format!("/?{query}&X-Amz-Signature={}", "0".repeat(64));
    raw_request_to(server.addr, &bad, Some(TARGET), &[], body)
        .await
        .assert_error(
            &format!("{SERVICE}InvalidSignatureException"),
            Some(MISMATCH),
        );
    raw_request_to(
        server.addr,
        "/?X-Amz-Algorithm=AWS4-HMAC-SHA256",
        Some(TARGET),
        &[],
        body,
    )
    .await
    .assert_error(
        &format!("{SERVICE}IncompleteSignatureException"),
        Some(
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string \
             parameters must include 'X-Amz-Signature'. AWS query-string parameters must \
             include 'X-Amz-SignedHeaders'. AWS query-string parameters must include \
             'X-Amz-Date'. Re-examine the query-string parameters.",
        ),
    );
}

#[tokio::test]
async fn without_keys_any_signature_is_accepted() {
    let server = TestServer::memory().await;
    let resp = raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", "garbage")],
        b"{}",
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        raw_request(server.addr, Some(TARGET), &[], b"{}")
            .await
            .status,
        200
    );
}

/// A presigned request for `target` in `region`, signed with the test-suite date.
async fn presigned(
    server: &TestServer,
    region: &str,
    target: &str,
    body: &[u8],
) -> crate::common::RawResponse {
    let host = server.addr.to_string();
    let credential = format!("{ID}%2F20150830%2F{region}%2Fdynamodb%2Faws4_request");
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={NOW}\
         &X-Amz-Expires=300&X-Amz-SignedHeaders=host%3Bx-amz-target"
    );
    let headers = [("host", host.as_str()), ("x-amz-target", target)];
    let sig = signature(SECRET, region, &query, &headers, body);
    let url = format!("/?{query}&X-Amz-Signature={sig}");
    raw_request_to(server.addr, &url, Some(target), &[], body).await
}

#[tokio::test]
async fn presigned_requests_address_the_region_of_their_scope() {
    let server = server_at(NOW_MILLIS).await;
    let create = br#"{"TableName":"Presigned","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#;
    let resp = presigned(
        &server,
        "eu-west-1",
        "DynamoDB_20120810.CreateTable",
        create,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(resp.json()["TableDescription"]["TableArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:dynamodb:eu-west-1:"));
    let listed = |region: &'static str| {
        let server = &server;
        async move {
            let resp = presigned(server, region, TARGET, b"{}").await;
            assert_eq!(resp.status, 200);
            resp.json()["TableNames"].clone()
        }
    };
    assert_eq!(listed("eu-west-1").await, serde_json::json!(["Presigned"]));
    assert_eq!(listed("us-east-1").await, serde_json::json!([]));
}

#[tokio::test]
async fn presigned_requests_without_keys_address_their_region_too() {
    let server = TestServer::memory().await;
    let client = server.client_in("ap-south-1");
    crate::common::create_table(&client, "Here", ("pk", ScalarAttributeType::S), None).await;
    let credential = "AKID%2F20150830%2Fap-south-1%2Fdynamodb%2Faws4_request";
    let url = format!("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}");
    let resp = raw_request_to(server.addr, &url, Some(TARGET), &[], b"{}").await;
    assert_eq!(resp.json()["TableNames"], serde_json::json!(["Here"]));
}

#[tokio::test]
async fn the_date_header_can_stand_in_for_x_amz_date() {
    let server = server_at(NOW_MILLIS).await;
    let host = server.addr.to_string();
    let body = b"{}";
    let date = "Sun, 30 Aug 2015 12:36:00 GMT";
    let headers = [
        ("content-type", "application/x-amz-json-1.0"),
        ("date", date),
        ("host", host.as_str()),
        ("x-amz-target", TARGET),
    ];
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={ID}/20150830/us-east-1/dynamodb/aws4_request, \
         SignedHeaders=content-type;date;host;x-amz-target, Signature={}",
        signature(SECRET, "us-east-1", "", &headers, body)
    );
    let resp = raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", &auth), ("Date", date)],
        body,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));

    // The header that carries the date must be signed, whichever it is.
    let unsigned = auth.replace("content-type;date;host", "content-type;host");
    raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", &unsigned), ("Date", date)],
        body,
    )
    .await
    .assert_error(
        &format!("{SERVICE}InvalidSignatureException"),
        Some("'Date' must be a 'SignedHeader' in the AWS Authorization."),
    );
    // A Date that is not an HTTP date is reported as DynamoDB reports a bad X-Amz-Date.
    raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", &auth), ("Date", "yesterday")],
        body,
    )
    .await
    .assert_error(
        &format!("{SERVICE}IncompleteSignatureException"),
        Some(
            "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See \
             http://en.wikipedia.org/wiki/ISO_8601",
        ),
    );
    // Stale, in the Date header too.
    let stale = "Sun, 30 Aug 2015 11:00:00 GMT";
    let resp = raw_request(
        server.addr,
        Some(TARGET),
        &[("Authorization", &auth), ("Date", stale)],
        body,
    )
    .await;
    assert!(resp.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("Signature expired: 20150830T110000Z is now earlier than"));
}
