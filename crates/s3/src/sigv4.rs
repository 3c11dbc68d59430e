//! AWS Signature Version 4 for binderdb's clients (the bench, `binderdb export`/`import`, the S3
//! object store): the `Authorization` header of a request. The canonical forms, the string to
//! sign and the signing-key chain are `binderdb-sigv4`'s, which the server's verifier uses too,
//! so signer and verifier cannot drift apart.
//!
//! The bench signs every request as an SDK would, so it measures the same work a real endpoint
//! (and a future verifying binderdb) does, and so it can run against real DynamoDB. The signing
//! key depends only on the date, region and service, so [`Signer`] derives it once per UTC day;
//! per request it hashes the payload and the canonical request and computes one HMAC.
//!
//! Must not depend on: anything but `binderdb-sigv4` and `sha2` (no HTTP types; callers pass
//! headers as name/value pairs).

use std::time::{SystemTime, UNIX_EPOCH};

use binderdb_sigv4::{hex_string, string_to_sign, CanonicalRequest, ALGORITHM};
use hmac::Mac;
use sha2::{Digest, Sha256};

pub use binderdb_sigv4::{canonical_query, hex_sha256, uri_encode};

/// An access key pair, and the session token of temporary credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (`AKID...`), sent in clear in the credential scope.
    pub access_key_id: String,
    /// The secret access key; only ever used to derive the signing key.
    pub secret_access_key: String,
    /// The session token of temporary credentials, sent as `x-amz-security-token`.
    pub session_token: Option<String>,
}

impl Credentials {
    /// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`,
    /// with `test`/`test` when a key is unset: local endpoints accept any key, and the signature
    /// is still computed in full.
    pub fn from_env() -> Credentials {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Credentials {
            access_key_id: var("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".to_owned()),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".to_owned()),
            session_token: var("AWS_SESSION_TOKEN"),
        }
    }
}

/// Signs requests for one region and service; caches the signing key of the current day.
#[derive(Clone)]
pub struct Signer {
    credentials: Credentials,
    region: String,
    service: String,
    /// The `YYYYMMDD` date the cached key was derived for, and the key.
    cached_key: Option<(String, [u8; 32])>,
}

impl std::fmt::Debug for Signer {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key_id", &self.credentials.access_key_id)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `service` (`dynamodb`) in `region`.
    pub fn new(credentials: Credentials, region: &str, service: &str) -> Signer {
        Signer {
            credentials,
            region: region.to_owned(),
            service: service.to_owned(),
            cached_key: None,
        }
    }

    /// The credentials this signer signs with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The `Authorization` header value for a request.
    ///
    /// `headers` are the headers to sign (names in any case; each name once), and must include
    /// `host` and `x-amz-date` (whose value is `amz_date`, `YYYYMMDDTHHMMSSZ`). `query` is the
    /// already canonical query string (empty for DynamoDB's `POST /`).
    pub fn authorization(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
        amz_date: &str,
    ) -> String {
        self.authorization_for_hash(method, path, query, headers, &hex_sha256(payload), amz_date)
    }

    /// As [`Signer::authorization`], with the payload's hash given: its hex SHA-256, or
    /// `UNSIGNED-PAYLOAD` (S3 sends the same value as `x-amz-content-sha256`).
    pub fn authorization_for_hash(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        payload_hash: &str,
        amz_date: &str,
    ) -> String {
        let (canonical_hash, signed_headers) =
            canonical_request_hash(method, path, query, headers, payload_hash);
        let date = amz_date.get(..8).unwrap_or(amz_date);
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let mut mac = binderdb_sigv4::mac(&self.signing_key(date));
        string_to_sign(&mut mac, amz_date, &scope, &canonical_hash);
        let signature = hex_string(&mac.finalize().into_bytes().into());
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.credentials.access_key_id
        )
    }

    /// The signing key of `date` (`YYYYMMDD`), derived once per day.
    fn signing_key(&mut self, date: &str) -> [u8; 32] {
        if let Some((cached_date, key)) = &self.cached_key {
            if cached_date == date {
                return *key;
            }
        }
        let key = binderdb_sigv4::signing_key(
            &self.credentials.secret_access_key,
            date,
            &self.region,
            &self.service,
        );
        self.cached_key = Some((date.to_owned(), key));
        key
    }
}

/// The SHA-256 of the canonical request and its `SignedHeaders` list: the headers' names
/// lower-cased and sorted (each name once).
fn canonical_request_hash(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> ([u8; 32], String) {
    let mut sorted: Vec<(String, &str)> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), *value))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let signed_headers = sorted
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut request = CanonicalRequest::new(Sha256::new(), method, path, query);
    for (name, value) in &sorted {
        request.header(name, [value]);
    }
    let hash = request.finish(&signed_headers, payload_hash.as_bytes());
    (hash.finalize().into(), signed_headers)
}

/// The `x-amz-date` form of `time`: `YYYYMMDDTHHMMSSZ`, in UTC.
pub fn amz_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    binderdb_sigv4::format_amz_date(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials, region and service of AWS's Signature Version 4 test suite.
    fn suite_signer() -> Signer {
        Signer::new(
            Credentials {
                access_key_id: "AKIDEXAMPLE".to_owned(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
                session_token: None,
            },
            "us-east-1",
            "service",
        )
    }

    #[test]
    fn get_vanilla_from_the_test_suite() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        // Names in any case, lower-cased and sorted.
        let (hash, signed) = canonical_request_hash("GET", "/", "", &headers, &hex_sha256(b""));
        let expected = "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(expected)));
        assert_eq!(signed, "host;x-amz-date");
        let auth = suite_signer().authorization("GET", "/", "", &headers, b"", "20150830T123600Z");
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn post_with_a_body_from_the_test_suite() {
        // "post-x-www-form-urlencoded": a content-type header and a real payload hash, the shape
        // of every DynamoDB request.
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        assert_eq!(
            hex_sha256(b"Param1=value1"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
        let auth = suite_signer().authorization(
            "POST",
            "/",
            "",
            &headers,
            b"Param1=value1",
            "20150830T123600Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn the_signing_key_is_rederived_when_the_day_changes() {
        let mut signer = suite_signer();
        let headers = [("host", "h"), ("x-amz-date", "20150830T235959Z")];
        let a = signer.authorization("POST", "/", "", &headers, b"{}", "20150830T235959Z");
        let headers = [("host", "h"), ("x-amz-date", "20150831T000000Z")];
        let b = signer.authorization("POST", "/", "", &headers, b"{}", "20150831T000000Z");
        let fresh =
            suite_signer().authorization("POST", "/", "", &headers, b"{}", "20150831T000000Z");
        assert_ne!(a, b);
        assert_eq!(b, fresh);
    }

    #[test]
    fn amz_dates_are_utc_calendar_dates() {
        let at = |secs| amz_date(UNIX_EPOCH + std::time::Duration::from_secs(secs));
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(1_440_938_160), "20150830T123600Z");
    }
}
