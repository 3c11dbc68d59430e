//! The HTTP request path's signature check: arbitrary headers, query strings and bodies never
//! panic [`Auth::verify`] (with keys configured, and without), nor the access-policy parser;
//! and a request signed correctly by the independent, naive signer below is always accepted,
//! whatever its header values' spacing, its query string and its body.
#![no_main]

use binderdb_server::{Auth, Policy};
use hmac::{Hmac, KeyInit, Mac};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

const ID: &str = "AKIDFUZZ";
const SECRET: &str = "fuzz/secret+key";
/// 2015-08-30T12:36:00Z.
const NOW_MILLIS: u64 = 1_440_938_160_000;
const DATE: &str = "20150830T123600Z";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SigV4's URI encoding, for the canonical query.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The signature of AWS's documentation, built as plainly as possible: `headers` sorted by
/// name, values trimmed with inner runs of spaces collapsed; the query is `name=value` pairs of
/// unreserved characters.
fn sign(headers: &[(String, String)], query: &[(String, String)], body: &[u8]) -> String {
    let mut sorted = headers.to_vec();
    sorted.sort();
    let canonical_headers: String = sorted
        .iter()
        .map(|(n, v)| format!("{n}:{}\n", v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    let signed: Vec<&str> = sorted.iter().map(|(n, _)| n.as_str()).collect();
    let mut q = query.to_vec();
    q.sort();
    let canonical_query: Vec<String> =
        q.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
    let canonical = format!(
        "POST\n/\n{}\n{canonical_headers}\n{}\n{}",
        canonical_query.join("&"),
        signed.join(";"),
        hex(&Sha256::digest(body))
    );
    let scope = "20150830/us-east-1/dynamodb/aws4_request";
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{DATE}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{SECRET}").as_bytes(), b"20150830");
    for part in ["us-east-1", "dynamodb", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    format!(
        "AWS4-HMAC-SHA256 Credential={ID}/{scope}, SignedHeaders={}, Signature={}",
        signed.join(";"),
        hex(&hmac(&key, to_sign.as_bytes()))
    )
}

fuzz_target!(|data: &[u8]| {
    let keys = Auth::with_keys([(ID.to_owned(), SECRET.to_owned())]);
    let open = Auth::open();
    // Layout: header lines `name: value` up to a blank line, then a query line, then the body.
    let text = String::from_utf8_lossy(data);
    let (head, rest) = text.split_once("\n\n").unwrap_or((&text, ""));
    let (query, body) = rest.split_once('\n').unwrap_or((rest, ""));
    let mut raw = HeaderMap::new();
    for line in head.lines() {
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(n.trim()), HeaderValue::try_from(v)) {
            raw.append(n, v);
        }
    }
    let query = (!query.is_empty()).then_some(query);
    // Arbitrary input: any answer but a panic.
    let _ = keys.verify("POST", "/", query, &raw, body.as_bytes(), NOW_MILLIS);
    let _ = open.verify("POST", "/", query, &raw, body.as_bytes(), NOW_MILLIS);
    let _ = Policy::parse(&text);

    // The same material, made into a correctly signed request: lower-case names of token
    // characters, visible-ASCII values (spaces and tabs kept, for the collapsing rule).
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        let n: String = n.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        let n = format!("x-fuzz-{}", n.to_ascii_lowercase());
        let v: String = v.chars().filter(|c| c.is_ascii_graphic() || *c == ' ' || *c == '\t').collect();
        if headers.iter().all(|(m, _)| *m != n) {
            headers.push((n, v));
        }
    }
    headers.push(("host".to_owned(), "localhost".to_owned()));
    headers.push(("x-amz-date".to_owned(), DATE.to_owned()));
    let pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(n, v)| {
            let keep = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>();
            (keep(n), keep(v))
        })
        .filter(|(n, _)| !n.is_empty() && !n.starts_with("X"))
        .collect();
    let query_string: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let query_string = query_string.join("&");
    let mut map = HeaderMap::new();
    for (n, v) in &headers {
        map.append(
            HeaderName::try_from(n.as_str()).unwrap(),
            HeaderValue::try_from(v.as_str()).unwrap(),
        );
    }
    map.append(
        hyper::header::AUTHORIZATION,
        HeaderValue::try_from(sign(&headers, &pairs, body.as_bytes())).unwrap(),
    );
    let q = (!query_string.is_empty()).then_some(query_string.as_str());
    if let Err(e) = keys.verify("POST", "/", q, &map, body.as_bytes(), NOW_MILLIS) {
        panic!("a correct signature was refused: {e:?}\nheaders {headers:?}\nquery {q:?}");
    }
});
