//! AWS Signature Version 4, the parts that signing and verifying share: the canonical request,
//! the string to sign, the signing-key chain, SigV4's percent-encoding and canonical query
//! string, and its dates. Written from the AWS documentation ("Create a signed AWS API
//! request", "Elements of an AWS API request signature").
//!
//! Two callers use it and must agree byte for byte: the signer of binderdb's clients
//! (`binderdb-s3`: the bench, `binderdb export`/`import`, the S3 object store) and the
//! server's verifier (`binderdb-server`'s `auth`). Each keeps its own policy around these
//! pieces (the signer caches one day's key, the verifier checks DynamoDB's rules in DynamoDB's
//! order and caches keys per credential); neither reimplements the canonical forms.
//!
//! The canonical request and the string to sign are written into a [`Sink`]: a SHA-256 or an
//! HMAC when signing or verifying (so a request is hashed as it is walked, never built as a
//! string), a `Vec<u8>` when a test wants to read it.
//!
//! Key items: [`CanonicalRequest`], [`string_to_sign`], [`signing_key`], [`uri_encode`],
//! [`canonical_query`], [`format_amz_date`] / [`parse_amz_date`].
//!
//! Must not depend on: anything but `hmac` and `sha2` (no HTTP types; callers pass headers as
//! names and values).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// HMAC-SHA256, SigV4's MAC.
pub type HmacSha256 = Hmac<Sha256>;

/// The only algorithm SigV4 signatures name here.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of every credential scope.
pub const TERMINATOR: &str = "aws4_request";
/// The payload hash of a request whose body is not signed (S3 sends it as
/// `x-amz-content-sha256`).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Where canonical forms are written: a hash or MAC being computed, or bytes to read.
pub trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        Digest::update(self, bytes);
    }
}

impl Sink for HmacSha256 {
    fn put(&mut self, bytes: &[u8]) {
        Mac::update(self, bytes);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A canonical request being written: method, path and query first, then each signed header
/// in `SignedHeaders` order, then [`CanonicalRequest::finish`] with the header list and the
/// payload hash.
///
/// ```
/// use binderdb_sigv4::CanonicalRequest;
///
/// let mut request = CanonicalRequest::new(Vec::new(), "GET", "/", "");
/// request.header("host", ["example.amazonaws.com"]);
/// request.header("x-amz-date", ["20150830T123600Z"]);
/// let text = request.finish("host;x-amz-date", b"e3b0");
/// assert_eq!(
///     text,
///     b"GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0"
/// );
/// ```
#[derive(Debug)]
pub struct CanonicalRequest<S: Sink> {
    sink: S,
}

impl<S: Sink> CanonicalRequest<S> {
    /// Starts the canonical request of `method` on `path` (already URI-encoded) with the
    /// already canonical `query` (see [`canonical_query`]; empty for DynamoDB's `POST /`).
    pub fn new(mut sink: S, method: &str, path: &str, query: &str) -> Self {
        for part in [method, path, query] {
            sink.put(part.as_bytes());
            sink.put(b"\n");
        }
        CanonicalRequest { sink }
    }

    /// Writes one header: its lower-case `name`, then its values (each trimmed, with inner runs
    /// of whitespace collapsed to one space; several values of a repeated header joined by
    /// `,`).
    pub fn header<V: AsRef<str>>(&mut self, name: &str, values: impl IntoIterator<Item = V>) {
        self.sink.put(name.as_bytes());
        self.sink.put(b":");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.sink.put(b",");
            }
            for (j, word) in value.as_ref().split_whitespace().enumerate() {
                if j > 0 {
                    self.sink.put(b" ");
                }
                self.sink.put(word.as_bytes());
            }
        }
        self.sink.put(b"\n");
    }

    /// Ends the request with the `SignedHeaders` list (the names written, `;`-separated) and
    /// the payload hash (lower-case hex SHA-256, or [`UNSIGNED_PAYLOAD`]); returns the sink.
    pub fn finish(mut self, signed_headers: &str, payload_hash: &[u8]) -> S {
        self.sink.put(b"\n");
        self.sink.put(signed_headers.as_bytes());
        self.sink.put(b"\n");
        self.sink.put(payload_hash);
        self.sink
    }
}

/// Writes the string to sign into `sink` (the MAC keyed with the signing key):
/// the algorithm, the request's `YYYYMMDDTHHMMSSZ` date, the credential scope
/// (`date/region/service/aws4_request`) and the canonical request's hash in hex, one per line.
pub fn string_to_sign(
    sink: &mut impl Sink,
    amz_date: &str,
    scope: &str,
    canonical_request_hash: &[u8; 32],
) {
    for part in [ALGORITHM, "\n", amz_date, "\n", scope, "\n"] {
        sink.put(part.as_bytes());
    }
    sink.put(&hex_digest(canonical_request_hash));
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"):
/// the key of a day (`YYYYMMDD`), region and service. It changes once a day, so callers cache
/// it.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, TERMINATOR.as_bytes())
}

/// An HMAC-SHA256 keyed with `key` (a [`signing_key`]), ready for [`string_to_sign`]. Cloning
/// it keeps the key's inner and outer pads hashed, so a cached one costs a request only its
/// own bytes.
pub fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// HMAC-SHA256 of `data` under `key`.
fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = mac(key);
    Mac::update(&mut mac, data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex of a SHA-256 digest, on the stack.
pub fn hex_digest(digest: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    out
}

/// Lower-case hex of SHA-256, the form SigV4 uses for payload and canonical request hashes.
pub fn hex_sha256(data: &[u8]) -> String {
    hex_string(&Sha256::digest(data).into())
}

/// [`hex_digest`] as a `String`.
pub fn hex_string(digest: &[u8; 32]) -> String {
    hex_digest(digest).iter().map(|&b| char::from(b)).collect()
}

/// `value` percent-encoded as SigV4 canonical URIs and query strings want it: every byte but
/// the unreserved `A-Z a-z 0-9 - . _ ~` as `%XX` (upper-case hex), and `/` kept when
/// `keep_slash` (an S3 object key in a path).
pub fn uri_encode(value: &str, keep_slash: bool) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// The canonical query string of decoded `(name, value)` pairs: each [`uri_encode`]d, sorted
/// by name (then value), joined with `&`. Also the query string a client sends.
pub fn canonical_query<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> String
where
    N: AsRef<str>,
    V: AsRef<str>,
{
    let mut encoded: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(n, v)| (uri_encode(n.as_ref(), false), uri_encode(v.as_ref(), false)))
        .collect();
    encoded.sort();
    let mut out = String::new();
    for (i, (n, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` (SigV4's `x-amz-date`) of seconds since the Unix epoch, in UTC.
pub fn format_amz_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Seconds since the Unix epoch of `YYYYMMDDTHHMMSSZ`; `None` for anything else.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Seconds since the Unix epoch of an HTTP date (RFC 1123: `Sun, 06 Nov 1994 08:49:37 GMT`),
/// which SigV4 accepts in a `Date` header in place of `X-Amz-Date`.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_whitespace();
    let _weekday = parts.next()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let mut field = |max: i64| -> Option<i64> {
        let v: i64 = clock.next()?.parse().ok()?;
        (0..=max).contains(&v).then_some(v)
    };
    let (hour, minute, second) = (field(23)?, field(59)?, field(60)?);
    if parts.next()? != "GMT" || parts.next().is_some() || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
///
/// Shifts the epoch to 0000-03-01 so leap days fall at the end of a year, then counts 400-year
/// eras (146 097 days), years of the era and a March-based day of year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01: the inverse
/// of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
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
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The secret of AWS's Signature Version 4 test suite.
    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn get_vanilla_from_the_test_suite() {
        let empty = hex_sha256(b"");
        let mut request = CanonicalRequest::new(Vec::new(), "GET", "/", "");
        request.header("host", ["example.amazonaws.com"]);
        request.header("x-amz-date", ["20150830T123600Z"]);
        let canonical = request.finish("host;x-amz-date", empty.as_bytes());
        assert_eq!(
            String::from_utf8(canonical.clone()).unwrap(),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let key = signing_key(SUITE_SECRET, "20150830", "us-east-1", "service");
        let mut mac = mac(&key);
        string_to_sign(
            &mut mac,
            "20150830T123600Z",
            "20150830/us-east-1/service/aws4_request",
            &Sha256::digest(&canonical).into(),
        );
        assert_eq!(
            hex_string(&mac.finalize().into_bytes().into()),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn header_values_are_trimmed_collapsed_and_joined() {
        let mut request = CanonicalRequest::new(Vec::new(), "GET", "/", "");
        request.header("my-header", ["  a   b  c ", "d\t e"]);
        let text = request.finish("my-header", b"x");
        assert_eq!(text, b"GET\n/\n\nmy-header:a b c,d e\n\nmy-header\nx");
    }

    #[test]
    fn uri_encoding_and_query_order_follow_the_documentation() {
        assert_eq!(uri_encode("a b/c~d*e", true), "a%20b/c~d%2Ae");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(uri_encode("ü", false), "%C3%BC");
        assert_eq!(
            canonical_query([
                ("prefix", "a b/"),
                ("list-type", "2"),
                ("continuation-token", "x=")
            ]),
            "continuation-token=x%3D&list-type=2&prefix=a%20b%2F"
        );
        assert_eq!(canonical_query::<&str, &str>([]), "");
    }

    #[test]
    fn amz_dates_round_trip_as_utc_calendar_dates() {
        assert_eq!(format_amz_date(0), "19700101T000000Z");
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        // A leap day, and the day after.
        assert_eq!(format_amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(format_amz_date(951_868_800), "20000301T000000Z");
        assert_eq!(format_amz_date(4_102_444_799), "20991231T235959Z");
        for secs in [0, 951_782_400, 1_440_938_160, 4_102_444_799] {
            assert_eq!(parse_amz_date(&format_amz_date(secs)), Some(secs));
        }
        for bad in [
            "",
            "20150830T123600",
            "2015083xT123600Z",
            "20151330T123600Z",
            "é",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates_parse() {
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            parse_amz_date("20150830T123600Z")
        );
        for bad in [
            "",
            "Sun, 30 Aug 2015 12:36:00",
            "Sun, 30 Foo 2015 12:36:00 GMT",
            "x",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }
}
