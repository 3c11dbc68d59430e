//! AWS Signature Version 4 for binderdb's clients (the bench, `binderdb export`/`import`, the S3
//! object store): canonical request, string to sign, signing key and the `Authorization`
//! header, written from the AWS documentation ("Create a signed AWS API request").
//!
//! The bench signs every request as an SDK would, so it measures the same work a real endpoint
//! (and a future verifying binderdb) does, and so it can run against real DynamoDB. The signing
//! key depends only on the date, region and service, so [`Signer`] derives it once per UTC day;
//! per request it hashes the payload and the canonical request and computes one HMAC.
//!
//! Must not depend on: anything but `hmac` and `sha2` (no HTTP types; callers pass headers as
//! name/value pairs).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm this signer speaks.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

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
        let (canonical, signed_headers) =
            canonical_request(method, path, query, headers, payload_hash);
        let date = amz_date.get(..8).unwrap_or(amz_date);
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex_sha256(canonical.as_bytes())
        );
        let key = self.signing_key(date);
        let signature = hex(&hmac(&key, to_sign.as_bytes()));
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.credentials.access_key_id
        )
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    fn signing_key(&mut self, date: &str) -> [u8; 32] {
        if let Some((cached_date, key)) = &self.cached_key {
            if cached_date == date {
                return *key;
            }
        }
        let secret = format!("AWS4{}", self.credentials.secret_access_key);
        let k_date = hmac(secret.as_bytes(), date.as_bytes());
        let k_region = hmac(&k_date, self.region.as_bytes());
        let k_service = hmac(&k_region, self.service.as_bytes());
        let key = hmac(&k_service, b"aws4_request");
        self.cached_key = Some((date.to_owned(), key));
        key
    }
}

/// The canonical request and its `SignedHeaders` list: header names lower-cased and sorted,
/// values trimmed with inner runs of spaces collapsed to one, as the documentation prescribes.
fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> (String, String) {
    let mut sorted: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), collapse_spaces(value)))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canonical = String::with_capacity(256);
    canonical.push_str(method);
    canonical.push('\n');
    canonical.push_str(path);
    canonical.push('\n');
    canonical.push_str(query);
    canonical.push('\n');
    for (name, value) in &sorted {
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(value);
        canonical.push('\n');
    }
    canonical.push('\n');
    let signed_headers = sorted
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    canonical.push_str(&signed_headers);
    canonical.push('\n');
    canonical.push_str(payload_hash);
    (canonical, signed_headers)
}

/// `value` percent-encoded as SigV4 canonical URIs and query strings want it: every byte but
/// the unreserved `A-Z a-z 0-9 - . _ ~` as `%XX` (upper-case hex), and `/` kept when
/// `keep_slash` (an S3 object key in a path).
pub fn uri_encode(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical query string of `pairs`: each name and value [`uri_encode`]d, sorted by
/// name (then value), joined with `&`. Also the query string to send.
pub fn canonical_query(pairs: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this never fails; a zero tag would only make the
    // signature wrong, never unsafe.
    let mut out = [0u8; 32];
    if let Ok(mut mac) = HmacSha256::new_from_slice(key) {
        mac.update(data);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// Lower-case hex of SHA-256, the form SigV4 uses for the payload and canonical request hashes.
pub fn hex_sha256(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The `x-amz-date` form of `time`: `YYYYMMDDTHHMMSSZ`, in UTC.
pub fn amz_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    amz_date_of_unix(secs)
}

fn amz_date_of_unix(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01.
///
/// Shifts the epoch to 0000-03-01 so leap days fall at the end of a year, then splits into
/// 400-year eras (146 097 days), years of the era, and a March-based day of year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
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
        let (canonical, _) = canonical_request("GET", "/", "", &headers, &hex_sha256(b""));
        assert_eq!(
            canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
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
    fn uri_encoding_and_query_order_follow_the_documentation() {
        assert_eq!(uri_encode("a b/c~d*e", true), "a%20b/c~d%2Ae");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(uri_encode("ü", false), "%C3%BC");
        assert_eq!(
            canonical_query(&[
                ("prefix", "a b/"),
                ("list-type", "2"),
                ("continuation-token", "x=")
            ]),
            "continuation-token=x%3D&list-type=2&prefix=a%20b%2F"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        assert_eq!(collapse_spaces("  a   b  c "), "a b c");
    }

    #[test]
    fn amz_dates_are_utc_calendar_dates() {
        assert_eq!(amz_date_of_unix(0), "19700101T000000Z");
        assert_eq!(amz_date_of_unix(1_440_938_160), "20150830T123600Z");
        // A leap day, and the day after.
        assert_eq!(amz_date_of_unix(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date_of_unix(951_868_800), "20000301T000000Z");
        assert_eq!(amz_date_of_unix(4_102_444_799), "20991231T235959Z");
    }
}
