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
//! one HMAC. The canonical forms, the string to sign and the key chain are `binderdb-sigv4`'s,
//! shared with binderdb's own signer.
//!
//! Must not depend on: the engine or the operations (it sees only the HTTP request).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use binderdb_sigv4::{
    format_amz_date, hex_digest, parse_amz_date, parse_http_date, string_to_sign, CanonicalRequest,
    HmacSha256, ALGORITHM, TERMINATOR, UNSIGNED_PAYLOAD,
};
use hmac::Mac;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use hyper::StatusCode;
use sha2::{Digest, Sha256};

use crate::access::Policy;
use crate::error::ApiError;

/// The service name of the credential scope, for DynamoDB's API and its Streams API alike.
const SERVICE: &str = "dynamodb";
/// AWS's allowed clock skew between client and server.
const MAX_SKEW_SECS: i64 = 15 * 60;
/// Cached signing keys; a full cache is emptied (keys are cheap to derive again).
const MAX_CACHED_KEYS: usize = 4096;
const CORAL_SERVICE: &str = "com.amazon.coral.service#";
// Header names as constants: a lookup by `&str` parses the name on every request.
const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");

/// One configured access key and what it may do.
#[derive(Clone)]
pub struct Principal {
    /// The access key id.
    pub access_key_id: String,
    secret: String,
    /// The key's account, `None` for the server's default account (`--account-id`).
    pub account: Option<String>,
    /// The IAM user name in the key's principal ARN (`arn:aws:iam::<account>:user/<user>`);
    /// the access key id unless the credentials file names one.
    pub user: String,
    /// The key's identity-based policy; `None` means every action on its own account's
    /// resources (like an account's administrator), still subject to resource-based denies.
    pub policy: Option<Arc<Policy>>,
}

impl std::fmt::Debug for Principal {
    // Never print a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("access_key_id", &self.access_key_id)
            .field("account", &self.account)
            .field("user", &self.user)
            .field("policy", &self.policy.is_some())
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// A key of the default account with full access.
    pub fn new(access_key_id: impl Into<String>, secret: impl Into<String>) -> Principal {
        let access_key_id = access_key_id.into();
        Principal {
            user: access_key_id.clone(),
            access_key_id,
            secret: secret.into(),
            account: None,
            policy: None,
        }
    }

    /// The key's secret access key (for `binderdb keys list --show-secrets` and tests).
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

/// Who sent a request: the region it addresses and, when verification is on, the verified key.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The region of the credential scope ([`crate::DEFAULT_REGION`] when unsigned).
    pub region: String,
    /// The key that signed the request; `None` when verification is off.
    pub principal: Option<Arc<Principal>>,
}

/// The configured access keys, or none (accept everything).
#[derive(Default)]
pub struct Auth {
    /// Access key id → its principal. Empty: verification off.
    keys: HashMap<String, Arc<Principal>>,
    /// Credential (`key/date/region/service/terminator`) → HMAC keyed with the derived signing
    /// key (its inner and outer pads already hashed, so a request pays for its own bytes only).
    signing_keys: RwLock<HashMap<String, HmacSha256>>,
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

    /// Verification with these `(access key id, secret access key)` pairs, all of the default
    /// account with full access.
    pub fn with_keys(keys: impl IntoIterator<Item = (String, String)>) -> Auth {
        Auth::with_principals(keys.into_iter().map(|(id, s)| Principal::new(id, s)))
    }

    /// Verification with these keys (a later key with the same id replaces an earlier one).
    pub fn with_principals(principals: impl IntoIterator<Item = Principal>) -> Auth {
        Auth {
            keys: principals
                .into_iter()
                .map(|p| (p.access_key_id.clone(), Arc::new(p)))
                .collect(),
            signing_keys: RwLock::default(),
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

    /// Parses one key as written on the command line: `ACCESS_KEY_ID:SECRET_ACCESS_KEY` or
    /// `ACCESS_KEY_ID SECRET_ACCESS_KEY`.
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

    /// Parses one line of a credentials file: a key in [`Auth::parse_key`]'s form, then
    /// optional `account=<12 digits>`, `user=<name>` and `policy=<file>` (a policy document,
    /// relative to `base`, the credentials file's folder; see [`crate::access`]).
    ///
    /// # Errors
    /// A malformed key or option, an account that is not 12 digits, an unreadable or invalid
    /// policy.
    pub fn parse_credentials_line(line: &str, base: &Path) -> Result<Principal, String> {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        let key = match first.split_once(':') {
            Some(_) => first.to_owned(),
            None => format!("{first}:{}", words.next().unwrap_or_default()),
        };
        let (id, secret) = Auth::parse_key(&key)?;
        let mut principal = Principal::new(id, secret);
        for word in words {
            match word.split_once('=') {
                Some(("account", a)) if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) => {
                    principal.account = Some(a.to_owned());
                }
                Some(("account", a)) => {
                    return Err(format!("account must be 12 digits, got '{a}'"))
                }
                Some(("user", u)) if !u.is_empty() => principal.user = u.to_owned(),
                Some(("policy", file)) if !file.is_empty() => {
                    let path = base.join(file);
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
                    let policy = Policy::parse(&text)
                        .map_err(|e| format!("policy {}: {e}", path.display()))?;
                    principal.policy = Some(Arc::new(policy));
                }
                _ => {
                    return Err(format!(
                        "unexpected '{word}' (options are account=, user= and policy=)"
                    ))
                }
            }
        }
        Ok(principal)
    }

    /// Reads a credentials file: one key per line in [`Auth::parse_credentials_line`]'s form;
    /// blank lines and lines starting with `#` are ignored.
    ///
    /// # Errors
    /// An unreadable file, or a line that is not a key (named by its number).
    pub fn read_credentials_file(path: &Path) -> Result<Vec<Principal>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = Auth::parse_credentials_line(line, base)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// Checks one request's signature and says who sent it; with verification off every
    /// request passes, and its region is read from whatever credential scope it carries.
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
    ) -> Result<Caller, ApiError> {
        let authorization = headers.get(AUTHORIZATION).map(header_str);
        if !self.enabled() {
            let region = match &authorization {
                Some(value) => crate::region_of(Some(value)),
                None => presigned_region(query),
            };
            return Ok(Caller {
                region,
                principal: None,
            });
        }
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
        let is_signed = |name: &str| sig.signed_headers.split(';').any(|h| h == name);
        if !is_signed("host") {
            return Err(invalid(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        if sig.presigned_query.is_none() && !is_signed(sig.date_header) {
            return Err(invalid(if sig.date_header == "date" {
                "'Date' must be a 'SignedHeader' in the AWS Authorization."
            } else {
                "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
            }));
        }
        let Some(principal) = self.keys.get(scope.key_id) else {
            return Err(error(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ));
        };
        let body_hash;
        let payload_hash: &[u8] = match headers.get(&X_AMZ_CONTENT_SHA256) {
            Some(v) if v.as_bytes() == UNSIGNED_PAYLOAD.as_bytes() => UNSIGNED_PAYLOAD.as_bytes(),
            Some(v) => {
                body_hash = hex_digest(&Sha256::digest(body).into());
                if v.as_bytes() != body_hash {
                    return Err(mismatch());
                }
                &body_hash
            }
            None => {
                body_hash = hex_digest(&Sha256::digest(body).into());
                &body_hash
            }
        };
        let raw_query = sig.presigned_query.or(query).unwrap_or_default();
        let canonical_query = canonical_query(raw_query);
        let canonical_hash = canonical_request_hash(
            method,
            path,
            &canonical_query,
            &sig.signed_headers,
            headers,
            payload_hash,
        )?;
        let mut provided = [0u8; 32];
        if !unhex_into(sig.signature, &mut provided) {
            return Err(mismatch());
        }
        let mut mac = self.signing_mac(&sig.credential, &scope, &principal.secret);
        let credential_scope = sig.credential.split_once('/').map_or("", |(_, s)| s);
        string_to_sign(&mut mac, &sig.amz_date, credential_scope, &canonical_hash);
        // Constant time: a timing difference must not reveal how much of a guess was right.
        mac.verify_slice(&provided).map_err(|_| mismatch())?;
        Ok(Caller {
            region: scope.region.to_owned(),
            principal: Some(principal.clone()),
        })
    }

    /// HMAC keyed with kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
    /// service), terminator), cached per credential.
    fn signing_mac(&self, credential: &str, scope: &Scope<'_>, secret: &str) -> HmacSha256 {
        let cache = self
            .signing_keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(mac) = cache.get(credential) {
            return mac.clone();
        }
        drop(cache);
        let key = binderdb_sigv4::signing_key(secret, scope.date, scope.region, SERVICE);
        let mac = binderdb_sigv4::mac(&key);
        // A poisoned cache only holds derived keys; keep using it.
        let mut cache = self
            .signing_keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        cache.insert(credential.to_owned(), mac.clone());
        mac
    }
}

/// A header's value as text, without a copy when it is visible ASCII (nearly always).
fn header_str(value: &HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(v) => Cow::Borrowed(v),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    }
}

/// The region of a presigned request's `X-Amz-Credential`, when verification is off.
fn presigned_region(query: Option<&str>) -> String {
    let credential = query.and_then(|q| {
        q.split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(n, _)| *n == "X-Amz-Credential")
            .map(|(_, v)| percent_decode(v))
    });
    match credential.as_deref().and_then(|c| c.split('/').nth(2)) {
        Some(region) if !region.is_empty() => region.to_owned(),
        _ => crate::DEFAULT_REGION.to_owned(),
    }
}

/// The parts of a signature, from the header or the query string.
struct Signature<'a> {
    credential: Cow<'a, str>,
    signed_headers: Cow<'a, str>,
    signature: &'a str,
    /// The request's date in ISO-8601 basic form (`X-Amz-Date`, or `Date` converted).
    amz_date: Cow<'a, str>,
    /// The header the date came from: `x-amz-date` or `date`.
    date_header: &'static str,
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
fn from_header<'a>(auth: &'a str, headers: &'a HeaderMap) -> Result<Signature<'a>, ApiError> {
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
    // `X-Amz-Date`, else the HTTP `Date` header (RFC 1123), which SigV4 accepts in its place.
    let amz_date = match headers.get(&X_AMZ_DATE) {
        Some(v) => Some((header_str(v), "x-amz-date")),
        None => headers.get(hyper::header::DATE).map(|v| {
            let text = header_str(v);
            let date = match parse_http_date(&text) {
                Some(secs) => Cow::Owned(format_amz_date(secs)),
                // Left as sent: the ISO-8601 check reports it.
                None => text,
            };
            (date, "date")
        }),
    };
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
        (
            Some(credential),
            Some(signed_headers),
            Some(signature),
            Some((amz_date, date_header)),
        ) if missing.is_empty() => {
            if algorithm != ALGORITHM {
                return Err(incomplete(format!(
                    "Unsupported AWS 'algorithm': '{algorithm}'."
                )));
            }
            Ok(Signature {
                credential: Cow::Borrowed(credential),
                signed_headers: Cow::Borrowed(signed_headers),
                signature,
                amz_date,
                date_header,
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
                credential: Cow::Owned(percent_decode(credential)),
                signed_headers: Cow::Owned(percent_decode(signed)),
                signature,
                amz_date: Cow::Owned(percent_decode(date)),
                date_header: "x-amz-date",
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
            format_amz_date(now.saturating_sub(lifetime)),
            format_amz_date(now),
            lifetime / 60
        )));
    }
    if request_secs > now.saturating_add(MAX_SKEW_SECS) {
        return Err(invalid(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            sig.amz_date,
            format_amz_date(now.saturating_add(MAX_SKEW_SECS)),
            format_amz_date(now)
        )));
    }
    Ok(())
}

/// The SHA-256 of SigV4's canonical request: method, path, query, the signed headers (values
/// trimmed, inner spaces collapsed, repeated headers joined by `,`), the header list and the
/// payload hash. The request is hashed as it is walked, never built as a string.
fn canonical_request_hash(
    method: &str,
    path: &str,
    query: &str,
    signed_headers: &str,
    headers: &HeaderMap,
    payload_hash: &[u8],
) -> Result<[u8; 32], ApiError> {
    let mut request = CanonicalRequest::new(Sha256::new(), method, path, query);
    for name in signed_headers.split(';') {
        let mut values = headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            return Err(incomplete(format!(
                "'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            )));
        }
        request.header(name, values.map(header_str));
    }
    Ok(request
        .finish(signed_headers, payload_hash)
        .finalize()
        .into())
}

/// The canonical query string: parameters (but `X-Amz-Signature`) decoded, then re-encoded,
/// sorted and joined as SigV4 wants them.
fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    binderdb_sigv4::canonical_query(
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .filter(|(n, _)| *n != "X-Amz-Signature")
            .map(|(n, v)| (percent_decode(n), percent_decode(v))),
    )
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

/// Decodes a 64-digit hex signature; `false` for anything else.
fn unhex_into(s: &str, out: &mut [u8; 32]) -> bool {
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let b = s.as_bytes();
    if b.len() != 64 {
        return false;
    }
    for (i, pair) in b.chunks_exact(2).enumerate() {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => out[i] = hi << 4 | lo,
            _ => return false,
        }
    }
    true
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
    fn credentials_lines_take_options() {
        let base = Path::new(".");
        let p = Auth::parse_credentials_line("AKID:secret account=111122223333 user=alice", base)
            .unwrap();
        assert_eq!(
            (p.access_key_id.as_str(), p.secret(), p.user.as_str()),
            ("AKID", "secret", "alice")
        );
        assert_eq!(p.account.as_deref(), Some("111122223333"));
        let plain = Auth::parse_credentials_line("AKID secret", base).unwrap();
        assert_eq!((plain.user.as_str(), plain.account), ("AKID", None));
        for bad in [
            "AKID:secret account=12",
            "AKID:secret colour=blue",
            "AKID:secret policy=/nonexistent/policy.json",
            "a b c",
        ] {
            assert!(Auth::parse_credentials_line(bad, base).is_err(), "{bad}");
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
