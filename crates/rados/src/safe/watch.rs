//! Watch/notify: how processes sharing a pool tell each other that something changed, through
//! the cluster and never directly (binderdb nodes announce catalog changes this way).
//!
//! A process *watches* an object ([`IoCtx::watch`]); any process may *notify* it
//! ([`IoCtx::notify`]), which delivers a payload to every watcher and returns once each has
//! acknowledged it (its handler returned) or the timeout passed, naming the watchers that did
//! not answer. A watch whose session breaks (its OSD connection reset, the cluster moved the
//! object) reports it to the error handler: notifies may have been missed since, so the owner
//! should re-synchronise and watch again.
//!
//! The declarations are in their own `extern` block below, beside the only code that uses them:
//! they involve callbacks from librados' threads into Rust, which the rest of the bindings do
//! not.

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use super::{c_string, check, IoCtx};
use crate::{ffi, RadosError};

/// `rados_watchcb2_t`.
type WatchCallback = extern "C" fn(
    arg: *mut c_void,
    notify_id: u64,
    handle: u64,
    notifier_id: u64,
    data: *mut c_void,
    data_len: usize,
);
/// `rados_watcherrcb_t`.
type WatchErrorCallback = extern "C" fn(arg: *mut c_void, cookie: u64, err: c_int);

// Watch/notify (librados.h, Ceph 16). Kept apart from `ffi` because these calls take Rust
// callbacks that librados runs on its own threads; see `Context` for why that is sound.
#[link(name = "rados")]
extern "C" {
    fn rados_watch3(
        io: ffi::IoCtxT,
        o: *const c_char,
        cookie: *mut u64,
        watchcb: WatchCallback,
        watcherrcb: WatchErrorCallback,
        timeout: u32,
        arg: *mut c_void,
    ) -> c_int;
    fn rados_unwatch2(io: ffi::IoCtxT, cookie: u64) -> c_int;
    fn rados_watch_check(io: ffi::IoCtxT, cookie: u64) -> c_int;
    fn rados_watch_flush(cluster: ffi::RadosT) -> c_int;
    fn rados_notify2(
        io: ffi::IoCtxT,
        o: *const c_char,
        buf: *const c_char,
        buf_len: c_int,
        timeout_ms: u64,
        reply_buffer: *mut *mut c_char,
        reply_buffer_len: *mut usize,
    ) -> c_int;
    fn rados_notify_ack(
        io: ffi::IoCtxT,
        o: *const c_char,
        notify_id: u64,
        cookie: u64,
        buf: *const c_char,
        buf_len: c_int,
    ) -> c_int;
    fn rados_buffer_free(buf: *mut c_char);
    fn rados_get_instance_id(cluster: ffi::RadosT) -> u64;
}

/// `ETIMEDOUT`: some watchers did not acknowledge a notify in time.
const ETIMEDOUT: i32 = 110;

/// What a watch calls: the notifier's client instance id and the payload.
pub type NotifyHandler = Box<dyn Fn(u64, &[u8]) + Send + Sync>;
/// What a watch calls when its session broke (the positive errno).
pub type WatchErrorHandler = Box<dyn Fn(i32) + Send + Sync>;

/// What a watch callback needs, owned by its [`Watch`] and handed to librados as `arg`.
///
/// Soundness: librados calls the callbacks from its own threads, possibly concurrently, until
/// `rados_unwatch2` returned and `rados_watch_flush` drained the queue; [`Watch`]'s drop does
/// both before freeing this. So the pointer is valid whenever a callback runs, and only `&`
/// access happens through it (the handlers are `Sync`).
struct Context {
    io: ffi::IoCtxT,
    oid: CString,
    on_notify: NotifyHandler,
    on_error: WatchErrorHandler,
}

extern "C" fn notify_trampoline(
    arg: *mut c_void,
    notify_id: u64,
    handle: u64,
    notifier_id: u64,
    data: *mut c_void,
    data_len: usize,
) {
    // SAFETY: `arg` is the `Context` of a live watch (see `Context`).
    let context = unsafe { &*arg.cast::<Context>() };
    let payload: &[u8] = if data.is_null() || data_len == 0 {
        &[]
    } else {
        // SAFETY: librados passes the payload's buffer and length, valid for this call.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), data_len) }
    };
    // A panic must not unwind into C; the notify is acknowledged either way, so the notifier
    // never waits for a handler that failed.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        (context.on_notify)(notifier_id, payload)
    }));
    // SAFETY: `io` outlives the watch (the `Watch` holds its `IoCtx`); `oid` is NUL-terminated;
    // an empty reply is a null buffer of length 0.
    let _ = unsafe {
        rados_notify_ack(
            context.io,
            context.oid.as_ptr(),
            notify_id,
            handle,
            ptr::null(),
            0,
        )
    };
}

extern "C" fn error_trampoline(arg: *mut c_void, _cookie: u64, err: c_int) {
    // SAFETY: as in `notify_trampoline`.
    let context = unsafe { &*arg.cast::<Context>() };
    let _ = catch_unwind(AssertUnwindSafe(|| {
        (context.on_error)(err.saturating_abs());
    }));
}

/// A registered watch; unregistered (and its callbacks drained) on drop.
pub struct Watch {
    io: Arc<IoCtx>,
    cookie: u64,
    context: *mut Context,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("cookie", &self.cookie)
            .finish()
    }
}

// SAFETY: the watch handle is a cookie librados accepts from any thread, and the context is
// only read (its handlers are `Send + Sync`).
unsafe impl Send for Watch {}
// SAFETY: as above; `check` is a read-only librados call.
unsafe impl Sync for Watch {}

impl Watch {
    /// How long ago the cluster last confirmed the watch.
    ///
    /// # Errors
    /// The error that broke the watch: drop it and watch again.
    pub fn check(&self) -> Result<Duration, RadosError> {
        // SAFETY: `io` is live and `cookie` a registered watch.
        let rc = unsafe { rados_watch_check(self.io.io, self.cookie) };
        check("rados_watch_check", rc).map(|ms| Duration::from_millis(ms.unsigned_abs().into()))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: `cookie` is registered on `io`; after unwatch no new callback starts, and the
        // flush waits for those already queued, so the context can then be freed.
        unsafe {
            rados_unwatch2(self.io.io, self.cookie);
            rados_watch_flush(self.io._cluster.0);
            drop(Box::from_raw(self.context));
        }
    }
}

/// Who answered a notify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyReply {
    /// `(client instance id, watch cookie)` of each watcher that acknowledged.
    pub acked: Vec<(u64, u64)>,
    /// Those that did not within the timeout (dead, or cut off from the cluster).
    pub timed_out: Vec<(u64, u64)>,
}

/// Decodes librados' notify reply: `le32 n, n × (le64 gid, le64 cookie, le32 len, len bytes),
/// le32 m, m × (le64 gid, le64 cookie)`.
fn decode_reply(mut buf: &[u8]) -> Option<NotifyReply> {
    fn take<const N: usize>(buf: &mut &[u8]) -> Option<[u8; N]> {
        let (head, rest) = buf.split_at_checked(N)?;
        *buf = rest;
        head.try_into().ok()
    }
    let mut reply = NotifyReply::default();
    let acks = u32::from_le_bytes(take::<4>(&mut buf)?);
    for _ in 0..acks {
        let gid = u64::from_le_bytes(take::<8>(&mut buf)?);
        let cookie = u64::from_le_bytes(take::<8>(&mut buf)?);
        let len = u32::from_le_bytes(take::<4>(&mut buf)?) as usize;
        buf = buf.get(len..)?;
        reply.acked.push((gid, cookie));
    }
    let timeouts = u32::from_le_bytes(take::<4>(&mut buf)?);
    for _ in 0..timeouts {
        let gid = u64::from_le_bytes(take::<8>(&mut buf)?);
        let cookie = u64::from_le_bytes(take::<8>(&mut buf)?);
        reply.timed_out.push((gid, cookie));
    }
    Some(reply)
}

impl IoCtx {
    /// This client's instance id, as notifies name their notifier (so a watcher can tell its
    /// own notifies from others').
    pub fn instance_id(&self) -> u64 {
        // SAFETY: the cluster handle is connected for as long as this context exists.
        unsafe { rados_get_instance_id(self._cluster.0) }
    }

    /// Watches object `oid` (created if missing by the watch itself): `on_notify` runs for each
    /// notify (on a librados thread; the notify is acknowledged when it returns), `on_error`
    /// when the watch session broke. The cluster forgets the watch `timeout` after this client
    /// stopped answering (it died), so notifies stop waiting for it.
    ///
    /// # Errors
    /// Cluster failures.
    pub fn watch(
        self: &Arc<Self>,
        oid: &str,
        timeout: Duration,
        on_notify: NotifyHandler,
        on_error: WatchErrorHandler,
    ) -> Result<Watch, RadosError> {
        let oid = c_string("rados_watch3", oid)?;
        let context = Box::into_raw(Box::new(Context {
            io: self.io,
            oid: oid.clone(),
            on_notify,
            on_error,
        }));
        let mut cookie = 0u64;
        let seconds = u32::try_from(timeout.as_secs().max(1)).unwrap_or(u32::MAX);
        // SAFETY: `io` is live, `oid` NUL-terminated, `cookie` a valid out-pointer, and
        // `context` stays valid until the returned `Watch` is dropped (or is freed right here
        // if the watch was not registered, when no callback can run).
        let rc = unsafe {
            rados_watch3(
                self.io,
                oid.as_ptr(),
                &mut cookie,
                notify_trampoline,
                error_trampoline,
                seconds,
                context.cast::<c_void>(),
            )
        };
        if let Err(e) = check("rados_watch3", rc) {
            // SAFETY: registration failed, so librados holds no reference to `context`.
            drop(unsafe { Box::from_raw(context) });
            return Err(e);
        }
        Ok(Watch {
            io: Arc::clone(self),
            cookie,
            context,
        })
    }

    /// Notifies every watcher of `oid` with `payload` and waits until each acknowledged or
    /// `timeout` passed. Watchers that did not answer in time are listed in the reply (the
    /// call still succeeds).
    ///
    /// # Errors
    /// Cluster failures (`ENOENT` if nobody ever watched `oid`).
    pub fn notify(
        &self,
        oid: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<NotifyReply, RadosError> {
        let call = "rados_notify2";
        let oid = c_string(call, oid)?;
        let len = c_int::try_from(payload.len()).map_err(|_| RadosError { call, errno: 22 })?;
        let mut reply: *mut c_char = ptr::null_mut();
        let mut reply_len = 0usize;
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        // SAFETY: `io` is live; `oid` is NUL-terminated; `payload` is valid for `len` bytes;
        // the out-pointers are valid. The reply buffer is ours to free with
        // `rados_buffer_free`, which happens below on every path.
        let rc = unsafe {
            rados_notify2(
                self.io,
                oid.as_ptr(),
                payload.as_ptr().cast::<c_char>(),
                len,
                timeout_ms,
                &mut reply,
                &mut reply_len,
            )
        };
        let decoded = if reply.is_null() {
            None
        } else {
            // SAFETY: librados filled `reply` with `reply_len` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(reply.cast::<u8>(), reply_len) };
            let decoded = decode_reply(bytes);
            // SAFETY: the buffer came from librados and is freed once, after its last use.
            unsafe { rados_buffer_free(reply) };
            decoded
        };
        if rc < 0 && rc != -ETIMEDOUT {
            check(call, rc)?;
        }
        Ok(decoded.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_replies_decode() {
        let mut buf = Vec::new();
        buf.extend(2u32.to_le_bytes());
        for (gid, cookie, payload) in [(7u64, 1u64, &b"ok"[..]), (9, 2, &b""[..])] {
            buf.extend(gid.to_le_bytes());
            buf.extend(cookie.to_le_bytes());
            buf.extend((payload.len() as u32).to_le_bytes());
            buf.extend(payload);
        }
        buf.extend(1u32.to_le_bytes());
        buf.extend(11u64.to_le_bytes());
        buf.extend(3u64.to_le_bytes());
        let reply = decode_reply(&buf).unwrap();
        assert_eq!(reply.acked, vec![(7, 1), (9, 2)]);
        assert_eq!(reply.timed_out, vec![(11, 3)]);
        assert_eq!(decode_reply(&buf[..buf.len() - 1]), None);
    }
}
