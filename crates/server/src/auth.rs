//! SigV4 verification: who may call, checked before any operation runs.
//!
//! With no keys configured ([`Auth::open`]) every request is accepted, signed or not, as
//! binderdb always did. With keys ([`Auth::with_keys`]) each API call must carry an AWS
//! Signature Version 4 made with one of them, either in the `Authorization` header or in a
//! presigned query string (`X-Amz-Algorithm`, `X-Amz-Credential`, ...). The checks run in
//! DynamoDB's order, so a client sees the error DynamoDB would send:
//!
//! 1. no signature at all: MissingAuthenticationTokenException;
//! 2. a signature missing parts (credential, signed headers, signature, date):
//!    IncompleteSignatureException;
//! 3. the credential scope (service `dynamodb`, terminator `aws4_request`, a region) and the
//!    date: more than 15 minutes from the server's clock is "Signature expired" or "Signature
//!    not yet current" (before the key is even looked up);
//! 4. the signed headers must include `host` and `x-amz-date`;
//! 5. an unknown access key: UnrecognizedClientException;
//! 6. the signature itself, compared in constant time: InvalidSignatureException.
//!
//! The payload hash is `x-amz-content-sha256` when the client sent one (`UNSIGNED-PAYLOAD`
//! included; any other value must be the body's hash), else the SHA-256 of the body as
//! received (before any `Content-Encoding` is undone). Derived signing keys are cached per
//! credential (`key/date/region/dynamodb/aws4_request`), so a request costs two SHA-256s and
//! one HMAC.
//!
//! Must not depend on: the engine or the operations (it sees only the HTTP request).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use hyper::header::{HeaderMap, AUTHORIZATION};
use hyper::StatusCode;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service name of the credential scope, for DynamoDB's API and its Streams API alike.
const SERVICE: &str = "dynamodb";
const TERMINATOR: &str = "aws4_request";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// AWS's allowed clock skew between client and server.
const MAX_SKEW_SECS: i64 = 15 * 60;
/// Cached signing keys; a full cache is emptied (keys are cheap to derive again).
const MAX_CACHED_KEYS: usize = 4096;
const CORAL_SERVICE: &str = "com.amazon.coral.service#";

/// The configured access keys, or none (accept everything).
#[derive(Default)]
pub struct Auth {
    /// Access key id → secret access key. Empty: verification off.
    keys: HashMap<String, String>,
    /// Credential (`key/date/region/service/terminator`) → derived signing key.
    signing_keys: Mutex<HashMap<String, [u8; 32]>>,
}

impl std::fmt::Debug for Auth {
    // Never print a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("access_key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// No verification: every request is accepted.
    pub fn open() -> Auth {
        Auth::default()
    }

    /// Verification with these `(access key id, secret access key)` pairs.
    pub fn with_keys(keys: impl IntoIterator<Item = (String, String)>) -> Auth {
        Auth {
            keys: keys.into_iter().collect(),
            signing_keys: Mutex::default(),
        }
    }

    /// Whether requests are verified.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// How many keys are configured.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Parses one key as written on the command line or in a credentials file:
    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY` or `ACCESS_KEY_ID SECRET_ACCESS_KEY`.
    ///
    /// # Errors
    /// A line without both parts, or with more than two.
    pub fn parse_key(line: &str) -> Result<(String, String), String> {
        let line = line.trim();
        let (id, secret) = line
            .split_once(':')
            .or_else(|| line.split_once(char::is_whitespace))
            .ok_or_else(|| "expected ACCESS_KEY_ID:SECRET_ACCESS_KEY".to_owned())?;
        let (id, secret) = (id.trim(), secret.trim());
        if id.is_empty() || secret.is_empty() || secret.contains(char::is_whitespace) {
            return Err("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY".to_owned());
        }
        Ok((id.to_owned(), secret.to_owned()))
    }

    /// Reads a credentials file: one key per line in [`Auth::parse_key`]'s form; blank lines
    /// and lines starting with `#` are ignored.
    ///
    /// # Errors
    /// An unreadable file, or a line that is not a key (named by its number).
    pub fn read_keys_file(path: &Path) -> Result<Vec<(String, String)>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key =
                Auth::parse_key(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// Checks one request's signature; `Ok` when verification is off.
    ///
    /// `path` and `query` are the request target as received; `now_millis` is the server's
    /// clock.
    ///
    /// # Errors
    /// The DynamoDB error for the first check that fails (see the module docs).
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        now_millis: u64,
    ) -> Result<(), ApiError> {
        if !self.enabled() {
            return Ok(());
        }
        let authorization = headers.get(AUTHORIZATION).map(|v| match v.to_str() {
            Ok(v) => std::borrow::Cow::Borrowed(v),
            Err(_) => String::from_utf8_lossy(v.as_bytes()),
        });
        let sig = match &authorization {
            Some(value) => from_header(value, headers)?,
            None => match query.filter(|q| has_param(q, "X-Amz-Algorithm")) {
                Some(q) => from_query(q)?,
                None => {
                    return Err(error(
                        "MissingAuthenticationTokenException",
                        "Request is missing Authentication Token",
                    ))
                }
            },
        };
        let request_time = parse_amz_date(&sig.amz_date).ok_or_else(|| {
            incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{}'. See \
                 http://en.wikipedia.org/wiki/ISO_8601",
                sig.amz_date
            ))
        })?;
        let scope = sig.scope()?;
        check_skew(request_time, &sig, now_millis)?;
        if scope.date != sig.amz_date.get(..8).unwrap_or_default() {
            return Err(invalid(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{}' != '{}', from '{}'.",
                scope.date,
                sig.amz_date.get(..8).unwrap_or_default(),
                sig.amz_date
            )));
        }
        let signed: Vec<&str> = sig.signed_headers.split(';').collect();
        if !signed.contains(&"host") {
            return Err(invalid(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        if sig.presigned_query.is_none() && !signed.contains(&"x-amz-date") {
            return Err(invalid(
                "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        let Some(secret) = self.keys.get(scope.key_id) else {
            return Err(error(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ));
        };
        let payload_hash = match headers.get("x-amz-content-sha256") {
            Some(v) if v.as_bytes() == UNSIGNED_PAYLOAD.as_bytes() => UNSIGNED_PAYLOAD.to_owned(),
            Some(v) => {
                let claimed = String::from_utf8_lossy(v.as_bytes()).into_owned();
                if claimed != hex(&Sha256::digest(body)) {
                    return Err(mismatch());
                }
                claimed
            }
            None => hex(&Sha256::digest(body)),
        };
        let canonical_query = canonical_query(sig.presigned_query.or(query).unwrap_or_default());
        let canonical = canonical_request(
            method,
            path,
            &canonical_query,
            &signed,
            headers,
            &payload_hash,
        )?;
        let string_to_sign = format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            sig.amz_date,
            sig.credential
                .split_once('/')
                .map(|(_, s)| s)
                .unwrap_or_default(),
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let key = self.signing_key(&sig.credential, &scope, secret);
        let Some(provided) = unhex(sig.signature) else {
            return Err(mismatch());
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(&key) else {
            return Err(mismatch());
        };
        mac.update(string_to_sign.as_bytes());
        // Constant time: a timing difference must not reveal how much of a guess was right.
        mac.verify_slice(&provided).map_err(|_| mismatch())
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), terminator),
    /// cached per credential.
    fn signing_key(&self, credential: &str, scope: &Scope<'_>, secret: &str) -> [u8; 32] {
        if let Some(key) = self.cache().get(credential) {
            return *key;
        }
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
        let k_region = hmac(&k_date, scope.region.as_bytes());
        let k_service = hmac(&k_region, SERVICE.as_bytes());
        let key = hmac(&k_service, TERMINATOR.as_bytes());
        let mut cache = self.cache();
        if cache.len() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        cache.insert(credential.to_owned(), key);
        key
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, [u8; 32]>> {
        // A poisoned cache only holds derived keys; keep using it.
        self.signing_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The parts of a signature, from the header or the query string.
struct Signature<'a> {
    credential: String,
    signed_headers: String,
    signature: &'a str,
    amz_date: String,
    /// The query string without `X-Amz-Signature`, for a presigned request.
    presigned_query: Option<&'a str>,
    /// `X-Amz-Expires` of a presigned request, in seconds.
    expires: Option<i64>,
}

/// `key/date/region/service/terminator`.
struct Scope<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
}

impl Signature<'_> {
    fn scope(&self) -> Result<Scope<'_>, ApiError> {
        let parts: Vec<&str> = self.credential.split('/').collect();
        let [key_id, date, region, service, terminator] = parts[..] else {
            return Err(incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{}'",
                self.credential
            )));
        };
        if region.is_empty() {
            return Err(invalid("Credential should be scoped to a valid region. "));
        }
        if service != SERVICE {
            return Err(invalid(format!(
                "Credential should be scoped to correct service: '{SERVICE}'. "
            )));
        }
        if terminator != TERMINATOR {
            return Err(invalid(format!(
                "Credential should be scoped with a valid terminator: '{TERMINATOR}', not \
                 '{terminator}'. "
            )));
        }
        Ok(Scope {
            key_id,
            date,
            region,
        })
    }
}

/// The signature of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
/// Signature=...` header; the date comes from `x-amz-date`.
fn from_header<'a>(auth: &'a str, headers: &HeaderMap) -> Result<Signature<'a>, ApiError> {
    let (algorithm, rest) = auth.trim().split_once(' ').unwrap_or((auth.trim(), ""));
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split([',', ' ']).filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return Err(incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{auth}'."
            )));
        };
        match name {
            "Credential" => credential = Some(value).filter(|v| !v.is_empty()),
            "SignedHeaders" => signed_headers = Some(value).filter(|v| !v.is_empty()),
            "Signature" => signature = Some(value).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    let amz_date = headers
        .get("x-amz-date")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut missing = String::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if value.is_none() {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if amz_date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
             header. ",
        );
    }
    match (credential, signed_headers, signature, amz_date) {
        (Some(credential), Some(signed_headers), Some(signature), Some(amz_date))
            if missing.is_empty() =>
        {
            if algorithm != ALGORITHM {
                return Err(incomplete(format!(
                    "Unsupported AWS 'algorithm': '{algorithm}'."
                )));
            }
            Ok(Signature {
                credential: credential.to_owned(),
                signed_headers: signed_headers.to_owned(),
                signature,
                amz_date,
                presigned_query: None,
                expires: None,
            })
        }
        _ => Err(incomplete(format!("{missing}Authorization={auth}"))),
    }
}

/// The signature of a presigned request: `X-Amz-*` query parameters.
fn from_query(query: &str) -> Result<Signature<'_>, ApiError> {
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
    };
    let mut missing = String::new();
    for name in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
    ] {
        if param(name).is_none() {
            missing.push_str(&format!(
                "AWS query-string parameters must include '{name}'. "
            ));
        }
    }
    match (
        param("X-Amz-Algorithm"),
        param("X-Amz-Credential"),
        param("X-Amz-Signature"),
        param("X-Amz-SignedHeaders"),
        param("X-Amz-Date"),
    ) {
        (Some(algorithm), Some(credential), Some(signature), Some(signed), Some(date)) => {
            if algorithm != ALGORITHM {
                return Err(incomplete(format!(
                    "Unsupported AWS 'algorithm': '{algorithm}'."
                )));
            }
            // The scope's slashes and the header list's semicolons are percent-encoded in a URL.
            Ok(Signature {
                credential: percent_decode(credential),
                signed_headers: percent_decode(signed),
                signature,
                amz_date: percent_decode(date),
                presigned_query: Some(query),
                expires: param("X-Amz-Expires").and_then(|e| e.parse().ok()),
            })
        }
        _ => Err(incomplete(format!(
            "{missing}Re-examine the query-string parameters."
        ))),
    }
}

fn has_param(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|p| p.split_once('=').map_or(p, |(n, _)| n) == name)
}

/// Refuses a date more than 15 minutes from the server's clock (a presigned request stays
/// valid for its `X-Amz-Expires` seconds after its date), in AWS's words.
fn check_skew(request_secs: i64, sig: &Signature<'_>, now_millis: u64) -> Result<(), ApiError> {
    let now = i64::try_from(now_millis / 1000).unwrap_or(i64::MAX);
    let lifetime = sig.expires.unwrap_or(MAX_SKEW_SECS).max(MAX_SKEW_SECS);
    if request_secs < now.saturating_sub(lifetime) {
        return Err(invalid(format!(
            "Signature expired: {} is now earlier than {} ({} - {} min.)",
            sig.amz_date,
            amz_date(now.saturating_sub(lifetime)),
            amz_date(now),
            lifetime / 60
        )));
    }
    if request_secs > now.saturating_add(MAX_SKEW_SECS) {
        return Err(invalid(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            sig.amz_date,
            amz_date(now.saturating_add(MAX_SKEW_SECS)),
            amz_date(now)
        )));
    }
    Ok(())
}

/// The canonical request of SigV4: method, path, query, the signed headers (values trimmed,
/// inner spaces collapsed, repeated headers joined by `,`), the header list and the payload
/// hash.
fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    signed: &[&str],
    headers: &HeaderMap,
    payload_hash: &str,
) -> Result<String, ApiError> {
    let mut canonical = String::with_capacity(512);
    for part in [method, path, query] {
        canonical.push_str(part);
        canonical.push('\n');
    }
    for name in signed {
        canonical.push_str(name);
        canonical.push(':');
        let mut values = headers.get_all(*name).iter().peekable();
        if values.peek().is_none() {
            return Err(incomplete(format!(
                "'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            )));
        }
        let mut first = true;
        for value in values {
            if !first {
                canonical.push(',');
            }
            first = false;
            // Header values are nearly always visible ASCII: no lossy copy for them.
            let value = match value.to_str() {
                Ok(v) => std::borrow::Cow::Borrowed(v),
                Err(_) => String::from_utf8_lossy(value.as_bytes()),
            };
            let mut words = value.split_whitespace();
            if let Some(w) = words.next() {
                canonical.push_str(w);
            }
            for w in words {
                canonical.push(' ');
                canonical.push_str(w);
            }
        }
        canonical.push('\n');
    }
    canonical.push('\n');
    push_joined(&mut canonical, signed);
    canonical.push('\n');
    canonical.push_str(payload_hash);
    Ok(canonical)
}

/// Appends `names` separated by `;` (the `SignedHeaders` form).
fn push_joined(out: &mut String, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
}

/// The canonical query string: parameters (but `X-Amz-Signature`) decoded, re-encoded the
/// SigV4 way, sorted by name then value.
fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .filter(|(n, _)| *n != "X-Amz-Signature")
        .map(|(n, v)| {
            (
                percent_encode(&percent_decode(n)),
                percent_encode(&percent_decode(v)),
            )
        })
        .collect();
    params.sort();
    params
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// SigV4's URI encoding: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this never fails.
    let mut out = [0u8; 32];
    if let Ok(mut mac) = HmacSha256::new_from_slice(key) {
        mac.update(data);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
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

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Seconds since the epoch of `YYYYMMDDTHHMMSSZ`.
fn parse_amz_date(s: &str) -> Option<i64> {
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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYYMMDDTHHMMSSZ` of seconds since the epoch.
fn amz_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn error(code: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        error_type: format!("{CORAL_SERVICE}{code}"),
        message: Some(message.into()),
        message_key: "message",
        detail: None,
    }
}

fn incomplete(message: impl Into<String>) -> ApiError {
    error("IncompleteSignatureException", message)
}

fn invalid(message: impl Into<String>) -> ApiError {
    error("InvalidSignatureException", message)
}

fn mismatch() -> ApiError {
    invalid(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_round_trip() {
        for secs in [0, 951_782_400, 1_440_938_160, 4_102_444_799] {
            assert_eq!(parse_amz_date(&amz_date(secs)), Some(secs));
        }
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
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
    fn keys_parse_in_both_forms() {
        assert_eq!(
            Auth::parse_key("AKID:se/cr+et").unwrap(),
            ("AKID".to_owned(), "se/cr+et".to_owned())
        );
        assert_eq!(
            Auth::parse_key("  AKID   secret ").unwrap(),
            ("AKID".to_owned(), "secret".to_owned())
        );
        for bad in ["", "AKID", "AKID:", ":secret", "a b c"] {
            assert!(Auth::parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_strings_are_canonical() {
        assert_eq!(
            canonical_query("b=2&a=x%2Fy&X-Amz-Signature=z"),
            "a=x%2Fy&b=2"
        );
        assert_eq!(percent_decode("%zz%2"), "%zz%2");
    }
}
