//! The id of each request (its `x-amzn-RequestId`), and where log lines find it.
//!
//! Every log line written while a request is served must name the request, yet nearly every
//! request logs nothing. A `tracing` span per request would carry the id to the log lines, but
//! it costs about 0.6 µs a request whether anything is logged or not (the span's registration,
//! its formatted fields, entering and leaving it at each poll): 3% of a GetItem. So the id
//! lives in a tokio task-local instead, set for the time the request's future is polled
//! ([`scope`]) and on the blocking thread an operation may run on ([`sync_scope`]); setting it
//! is a copy of 52 bytes. The log formatter (the binary's) reads it with [`current`] only when
//! it writes a line, and writes it as `request{request_id=...}:` (text) or a `request_id`
//! member (JSON).
//!
//! Must not depend on: anything but tokio.

use std::fmt;
use std::future::Future;

/// A request id in DynamoDB's form: 52 upper-case letters and digits.
///
/// Ids only need to be unique enough to tell requests apart in logs, so they come from
/// `fastrand`'s per-thread generator rather than the kernel's (a `getrandom` call per request
/// cost about 2% of the server's CPU under load). Kept inline (no allocation), so it is
/// cheap to copy into the task-local.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId([u8; 52]);

impl RequestId {
    /// A new random id.
    pub(crate) fn new() -> RequestId {
        const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut id = [0u8; 52];
        for b in &mut id {
            *b = ALPHABET[fastrand::usize(..ALPHABET.len())];
        }
        RequestId(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Always ASCII letters and digits (see `new`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id's bytes (for the response header).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request being served on this thread, if any: inside a request's future, or
/// inside an operation it runs on a blocking thread. For log formatters.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(|id| *id).ok()
}

/// `work`, with `id` as the [`current`] request id whenever it is polled.
pub(crate) fn scope<F: Future>(id: RequestId, work: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(id, work)
}

/// Runs `work` with `id` (when there is one) as the [`current`] request id: for work a request
/// hands to another thread.
pub(crate) fn sync_scope<R>(id: Option<RequestId>, work: impl FnOnce() -> R) -> R {
    match id {
        Some(id) => CURRENT.sync_scope(id, work),
        None => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_dynamodbs() {
        let id = RequestId::new();
        assert_eq!(id.as_str().len(), 52);
        assert!(id
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_ne!(id, RequestId::new());
    }

    #[tokio::test]
    async fn the_current_id_is_seen_inside_its_scope_only() {
        assert_eq!(current(), None);
        let id = RequestId::new();
        let seen = scope(id, async {
            tokio::task::yield_now().await;
            let inline = current();
            let handed = current();
            let blocking = tokio::task::spawn_blocking(move || sync_scope(handed, current)).await;
            (inline, blocking.ok().flatten())
        })
        .await;
        assert_eq!(seen, (Some(id), Some(id)));
        assert_eq!(current(), None);
        assert_eq!(sync_scope(None, current), None);
    }
}
