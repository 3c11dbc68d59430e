//! Buckets of an S3-compatible server, as an [`ObjectStore`]: what exports write to and imports
//! read from with `binderdb serve --s3-endpoint URL`, and `s3://` destinations and sources of
//! `binderdb export` / `binderdb import`.
//!
//! Path-style addressing (`<endpoint>/<bucket>/<key>`), which every S3-compatible server
//! (MinIO, Ceph's gateway, moto, Garage) and AWS S3 itself answer; every request is SigV4-signed
//! for service `s3` with the payload's SHA-256 in `x-amz-content-sha256`. The calls used:
//! - PutObject for objects under [`PART_BYTES`]; larger ones go up as a multipart upload
//!   (CreateMultipartUpload, UploadPart of [`PART_BYTES`] each, CompleteMultipartUpload; an
//!   abandoned upload is aborted), so memory stays at one part per object being written,
//!   whatever the object's size.
//! - GetObject, streamed: the body is read as the importer consumes it.
//! - ListObjectsV2, page by page (`continuation-token`).
//!
//! `S3BucketOwner` is sent as `x-amz-expected-bucket-owner`, as DynamoDB passes it on: S3 refuses
//! a bucket of another account with `AccessDenied`. S3's error codes become DynamoDB's failure
//! codes by prefixing `S3` (`NoSuchBucket` → `S3NoSuchBucket`, `AccessDenied` →
//! `S3AccessDenied`), the form DynamoDB reports in an export's or import's `FailureCode`.
//!
//! Calls block: the client drives its own small tokio runtime (one I/O thread), so the engine's
//! export and import threads, which know no async, call it directly. Never call it from inside
//! an async task (use `spawn_blocking`).

use std::future::Future;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use binderdb_engine::exchange::objects::{ObjectError, ObjectSink, ObjectStore};
use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;

use crate::connect::{connect, Url};
use crate::sigv4::{self, hex_sha256, uri_encode, Credentials, Signer};
use crate::xml;

/// Bytes of one multipart upload part (S3's minimum is 5 MiB for all but the last).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Tries of a request that failed to connect or got a 500 or 503 (S3 asks clients to retry).
const TRIES: u32 = 4;

/// How to reach the buckets.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// The endpoint, `http(s)://host[:port]`.
    pub endpoint: Url,
    /// The region requests are signed for.
    pub region: String,
    /// The keys requests are signed with.
    pub credentials: Credentials,
    /// Keys per ListObjectsV2 page (S3's most: 1000).
    pub list_page_size: u32,
    /// Where import error logs are written (binderdb's stand-in for CloudWatch Logs).
    pub import_log_dir: Option<PathBuf>,
}

/// A runtime that may be dropped anywhere, even inside another runtime's task.
#[derive(Debug)]
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

#[derive(Debug)]
struct Inner {
    options: S3Options,
    runtime: OwnedRuntime,
    handle: tokio::runtime::Handle,
    /// Idle keep-alive connections.
    pool: Pool,
}

/// Idle keep-alive connections, reused by the next request.
#[derive(Debug, Default)]
struct Pool(std::sync::Mutex<Vec<SendRequest<Full<Bytes>>>>);

impl Pool {
    fn take(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn give(&self, sender: SendRequest<Full<Bytes>>) {
        if !sender.is_closed() {
            let mut idle = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if idle.len() < 16 {
                idle.push(sender);
            }
        }
    }
}

/// The buckets of one S3-compatible endpoint (cheap to clone).
#[derive(Debug, Clone)]
pub struct S3Buckets {
    inner: Arc<Inner>,
    expected_owner: Option<String>,
}

/// An S3 error as DynamoDB reports it.
fn s3_error(code: &str, message: impl Into<String>) -> ObjectError {
    ObjectError {
        code: format!("S3{code}"),
        message: message.into(),
    }
}

fn transport(e: impl std::fmt::Display) -> ObjectError {
    s3_error(
        "ServiceUnavailable",
        format!("The S3 endpoint could not be reached: {e}"),
    )
}

/// One request: where, what, and the body.
struct Call<'a> {
    method: Method,
    bucket: &'a str,
    key: Option<&'a str>,
    query: Vec<(&'a str, String)>,
    body: Bytes,
}

impl S3Buckets {
    /// Buckets at `options.endpoint`.
    ///
    /// # Errors
    /// The client's runtime cannot start.
    pub fn new(options: S3Options) -> Result<S3Buckets, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("binderdb-s3")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the S3 client: {e}"))?;
        let handle = runtime.handle().clone();
        Ok(S3Buckets {
            inner: Arc::new(Inner {
                options,
                runtime: OwnedRuntime(Some(runtime)),
                handle,
                pool: Pool::default(),
            }),
            expected_owner: None,
        })
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        // Kept alive by `inner` for as long as this handle is used.
        let _alive = &self.inner.runtime;
        self.inner.handle.block_on(f)
    }

    /// Sends `call` (retrying connection failures, 500 and 503), returning a 2xx response;
    /// S3's error otherwise.
    async fn send(&self, call: &Call<'_>) -> Result<Response<Incoming>, ObjectError> {
        let mut last = None;
        for attempt in 0..TRIES {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let (response, sender) = match self.send_once(call).await {
                Ok(r) => r,
                Err(e) => {
                    last = Some(transport(e));
                    continue;
                }
            };
            let status = response.status();
            if status.is_success() {
                // A streamed body keeps its connection until read; others give it back.
                if call.method != Method::GET || call.key.is_none() {
                    self.inner.pool.give(sender);
                }
                return Ok(response);
            }
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            self.inner.pool.give(sender);
            let error = error_of(status.as_u16(), &body);
            if status.as_u16() == 500 || status.as_u16() == 503 {
                last = Some(error);
                continue;
            }
            return Err(error);
        }
        Err(last.unwrap_or_else(|| transport("no attempt was made")))
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
    ) -> Result<(Response<Incoming>, SendRequest<Full<Bytes>>), String> {
        let options = &self.inner.options;
        let mut path = format!("/{}", uri_encode(call.bucket, false));
        if let Some(key) = call.key {
            path.push('/');
            path.push_str(&uri_encode(key, true));
        }
        let query = sigv4::canonical_query(call.query.iter().map(|(k, v)| (*k, v.as_str())));
        let amz_date = sigv4::amz_date(std::time::SystemTime::now());
        let payload_hash = hex_sha256(&call.body);
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", options.endpoint.authority.as_str()),
            ("x-amz-content-sha256", payload_hash.as_str()),
            ("x-amz-date", amz_date.as_str()),
        ];
        if let Some(token) = &options.credentials.session_token {
            headers.push(("x-amz-security-token", token.as_str()));
        }
        if let Some(owner) = &self.expected_owner {
            headers.push(("x-amz-expected-bucket-owner", owner.as_str()));
        }
        let authorization = Signer::new(options.credentials.clone(), &options.region, "s3")
            .authorization_for_hash(
                call.method.as_str(),
                &path,
                &query,
                &headers,
                &payload_hash,
                &amz_date,
            );
        let uri = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let request = || {
            let mut builder = Request::builder().method(call.method.clone()).uri(&uri);
            for (name, value) in &headers {
                builder = builder.header(*name, *value);
            }
            builder
                .header("authorization", &authorization)
                .header("content-length", call.body.len())
                .body(Full::new(call.body.clone()))
                .map_err(|e| e.to_string())
        };
        // A pooled connection the server has since closed fails at once: then a fresh one.
        if let Some(mut sender) = self.inner.pool.take() {
            if sender.ready().await.is_ok() {
                if let Ok(response) = sender.send_request(request()?).await {
                    return Ok((response, sender));
                }
            }
        }
        let io = connect(&options.endpoint).await?;
        let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| {
                format!(
                    "HTTP handshake with {} failed: {e}",
                    options.endpoint.authority
                )
            })?;
        tokio::spawn(async move {
            let _ = driver.await;
        });
        let response = sender
            .send_request(request()?)
            .await
            .map_err(|e| e.to_string())?;
        Ok((response, sender))
    }

    /// Sends `call` and reads the whole answer.
    fn fetch(&self, call: &Call<'_>) -> Result<(hyper::HeaderMap, Bytes), ObjectError> {
        self.block_on(async {
            let response = self.send(call).await?;
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(transport)?
                .to_bytes();
            Ok((headers, body))
        })
    }
}

/// S3's error of a non-2xx answer (`<Error><Code>..</Code><Message>..</Message></Error>`;
/// a HEAD or an empty body gives only the status).
fn error_of(status: u16, body: &[u8]) -> ObjectError {
    let text = String::from_utf8_lossy(body);
    let code = xml::first(&text, "Code");
    let message = xml::first(&text, "Message");
    match code {
        Some(code) => s3_error(
            &code,
            message.unwrap_or_else(|| format!("S3 answered {status}")),
        ),
        None => match status {
            403 => s3_error("AccessDenied", "Access Denied"),
            404 => s3_error("NoSuchKey", "The specified key does not exist."),
            _ => s3_error("InternalError", format!("S3 answered {status}")),
        },
    }
}

impl ObjectStore for S3Buckets {
    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectSink>, ObjectError> {
        Ok(Box::new(S3Sink {
            buckets: self.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            buffer: Vec::new(),
            upload: None,
        }))
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, u64)>, ObjectError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("list-type", "2".to_owned()),
                ("prefix", prefix.to_owned()),
                (
                    "max-keys",
                    self.inner.options.list_page_size.clamp(1, 1000).to_string(),
                ),
            ];
            if let Some(t) = token.take() {
                query.push(("continuation-token", t));
            }
            let (_, body) = self.fetch(&Call {
                method: Method::GET,
                bucket,
                key: None,
                query,
                body: Bytes::new(),
            })?;
            let text = String::from_utf8_lossy(&body);
            for contents in xml::sections(&text, "Contents") {
                if let Some(key) = xml::first(contents, "Key") {
                    let size = xml::first(contents, "Size")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    out.push((key, size));
                }
            }
            let truncated = xml::first(&text, "IsTruncated").as_deref() == Some("true");
            match xml::first(&text, "NextContinuationToken") {
                Some(next) if truncated => token = Some(next),
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }

    fn open(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, ObjectError> {
        let response = self.block_on(self.send(&Call {
            method: Method::GET,
            bucket,
            key: Some(key),
            query: Vec::new(),
            body: Bytes::new(),
        }))?;
        Ok(Box::new(S3Reader {
            buckets: self.clone(),
            body: response.into_body(),
            chunk: Bytes::new(),
        }))
    }

    fn with_expected_owner(&self, owner: Option<&str>) -> Arc<dyn ObjectStore> {
        Arc::new(S3Buckets {
            inner: self.inner.clone(),
            expected_owner: owner.map(str::to_owned),
        })
    }

    fn import_log_dir(&self) -> Option<PathBuf> {
        self.inner.options.import_log_dir.clone()
    }
}

/// A GetObject body, read as it arrives.
struct S3Reader {
    buckets: S3Buckets,
    body: Incoming,
    chunk: Bytes,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let frame = self.buckets.block_on(self.body.frame());
            match frame {
                None => return Ok(0),
                Some(Err(e)) => return Err(io::Error::other(transport(e))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.chunk = data;
                    }
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// A multipart upload under way: its id and the ETags of the parts sent.
struct Upload {
    id: String,
    etags: Vec<String>,
}

/// An object being written: one part buffered at a time.
struct S3Sink {
    buckets: S3Buckets,
    bucket: String,
    key: String,
    buffer: Vec<u8>,
    upload: Option<Upload>,
}

impl S3Sink {
    fn call(
        &self,
        method: Method,
        query: Vec<(&'static str, String)>,
        body: Bytes,
    ) -> Result<(hyper::HeaderMap, Bytes), ObjectError> {
        self.buckets.fetch(&Call {
            method,
            bucket: &self.bucket,
            key: Some(&self.key),
            query,
            body,
        })
    }

    /// Sends the buffer as the next part, starting the upload first if needed.
    fn send_part(&mut self) -> Result<(), ObjectError> {
        if self.upload.is_none() {
            let (_, body) =
                self.call(Method::POST, vec![("uploads", String::new())], Bytes::new())?;
            let id = xml::first(&String::from_utf8_lossy(&body), "UploadId").ok_or_else(|| {
                s3_error(
                    "InternalError",
                    "CreateMultipartUpload answered no UploadId",
                )
            })?;
            self.upload = Some(Upload {
                id,
                etags: Vec::new(),
            });
        }
        let Some(upload) = &self.upload else {
            return Ok(());
        };
        let number = upload.etags.len() + 1;
        let body = Bytes::from(std::mem::take(&mut self.buffer));
        let (headers, _) = self.call(
            Method::PUT,
            vec![
                ("partNumber", number.to_string()),
                ("uploadId", upload.id.clone()),
            ],
            body,
        )?;
        let etag = headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if let Some(upload) = &mut self.upload {
            upload.etags.push(etag);
        }
        self.buffer = Vec::with_capacity(PART_BYTES);
        Ok(())
    }
}

impl Write for S3Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = PART_BYTES - self.buffer.len();
        let n = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() >= PART_BYTES {
            self.send_part().map_err(io::Error::other)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ObjectSink for S3Sink {
    fn finish(mut self: Box<Self>) -> Result<(), ObjectError> {
        if self.upload.is_none() {
            let body = Bytes::from(std::mem::take(&mut self.buffer));
            self.call(Method::PUT, Vec::new(), body)?;
            return Ok(());
        }
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        let Some(upload) = self.upload.take() else {
            return Ok(());
        };
        let mut parts = String::from("<CompleteMultipartUpload>");
        for (i, etag) in upload.etags.iter().enumerate() {
            parts.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                i + 1,
                xml::escape(etag)
            ));
        }
        parts.push_str("</CompleteMultipartUpload>");
        let result = self.call(
            Method::POST,
            vec![("uploadId", upload.id.clone())],
            Bytes::from(parts),
        );
        // CompleteMultipartUpload may answer 200 with an error in the body.
        let failed = match &result {
            Ok((_, body)) => {
                let text = String::from_utf8_lossy(body);
                text.contains("<Error>").then(|| error_of(200, body))
            }
            Err(e) => Some(e.clone()),
        };
        if let Some(e) = failed {
            self.upload = Some(upload);
            return Err(e);
        }
        Ok(())
    }
}

impl Drop for S3Sink {
    /// An upload never finished is aborted, so its parts are not kept (and billed) by S3.
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            let _ = self.call(Method::DELETE, vec![("uploadId", upload.id)], Bytes::new());
        }
    }
}
