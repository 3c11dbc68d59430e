//! Safe wrappers over [`ffi`](crate::ffi): owned handles released on drop, byte slices in,
//! owned vectors out, negative return codes turned into [`RadosError`].

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_uchar};
use std::path::Path;
use std::ptr;
use std::sync::Arc;

use crate::ffi;
use crate::RadosError;

mod watch;
pub use watch::{NotifyHandler, NotifyReply, Watch, WatchErrorHandler};

fn check(call: &'static str, rc: c_int) -> Result<c_int, RadosError> {
    if rc < 0 {
        Err(RadosError {
            call,
            errno: rc.saturating_neg(),
        })
    } else {
        Ok(rc)
    }
}

fn c_string(call: &'static str, s: &str) -> Result<CString, RadosError> {
    // An interior NUL cannot cross the C API; EINVAL is what librados answers for bad names.
    CString::new(s).map_err(|_| RadosError { call, errno: 22 })
}

fn c_bytes(call: &'static str, s: &[u8]) -> Result<CString, RadosError> {
    CString::new(s).map_err(|_| RadosError { call, errno: 22 })
}

/// The `rados_t` handle; shut down when the last [`Cluster`] or [`IoCtx`] using it is gone.
#[derive(Debug)]
struct ClusterHandle(ffi::RadosT);

// SAFETY: librados documents its cluster handle as usable from any thread; we never change its
// configuration after `rados_connect`.
unsafe impl Send for ClusterHandle {}
// SAFETY: as above; every call through a shared reference is one librados uses concurrently.
unsafe impl Sync for ClusterHandle {}

impl Drop for ClusterHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful `rados_create2`, and this is its only
        // release: every `IoCtx` holds an `Arc` to this handle, so none outlives it.
        unsafe { ffi::rados_shutdown(self.0) }
    }
}

/// A connected RADOS client.
#[derive(Debug, Clone)]
pub struct Cluster {
    handle: Arc<ClusterHandle>,
}

impl Cluster {
    /// Reads the Ceph configuration file `conf` (which names the monitors and the keyring),
    /// applies `options` (`(name, value)` pairs of Ceph settings) and connects as `client.admin`
    /// unless `user` names another client id.
    ///
    /// # Errors
    /// The failing librados call: an unreadable configuration, unknown option, or no monitor
    /// answering within the client's timeout.
    pub fn connect(
        conf: &Path,
        user: Option<&str>,
        options: &[(&str, &str)],
    ) -> Result<Cluster, RadosError> {
        let name = c_string(
            "rados_create2",
            &format!("client.{}", user.unwrap_or("admin")),
        )?;
        let cluster_name = c_string("rados_create2", "ceph")?;
        let mut raw: ffi::RadosT = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; the strings are NUL-terminated and outlive the
        // call (librados copies them).
        check("rados_create2", unsafe {
            ffi::rados_create2(&mut raw, cluster_name.as_ptr(), name.as_ptr(), 0)
        })?;
        // From here the handle is owned: dropping it shuts it down even if connecting fails.
        let handle = Arc::new(ClusterHandle(raw));
        let path = c_string("rados_conf_read_file", &conf.to_string_lossy())?;
        // SAFETY: the handle is live and not yet connected; the path is NUL-terminated.
        check("rados_conf_read_file", unsafe {
            ffi::rados_conf_read_file(handle.0, path.as_ptr())
        })?;
        for (option, value) in options {
            let option = c_string("rados_conf_set", option)?;
            let value = c_string("rados_conf_set", value)?;
            // SAFETY: as above; both strings are NUL-terminated and copied by librados.
            check("rados_conf_set", unsafe {
                ffi::rados_conf_set(handle.0, option.as_ptr(), value.as_ptr())
            })?;
        }
        // SAFETY: the handle is configured and connected at most once.
        check("rados_connect", unsafe { ffi::rados_connect(handle.0) })?;
        Ok(Cluster { handle })
    }

    /// An I/O context on the pool `pool`.
    ///
    /// # Errors
    /// `ENOENT` if the pool does not exist.
    pub fn ioctx(&self, pool: &str) -> Result<IoCtx, RadosError> {
        let pool = c_string("rados_ioctx_create", pool)?;
        let mut io: ffi::IoCtxT = ptr::null_mut();
        // SAFETY: the cluster handle is connected; `io` is a valid out-pointer.
        check("rados_ioctx_create", unsafe {
            ffi::rados_ioctx_create(self.handle.0, pool.as_ptr(), &mut io)
        })?;
        Ok(IoCtx {
            io,
            _cluster: Arc::clone(&self.handle),
        })
    }
}

/// An I/O context: operations on the objects of one pool.
#[derive(Debug)]
pub struct IoCtx {
    io: ffi::IoCtxT,
    // Keeps the cluster connected for as long as this context exists (dropped after `io`).
    _cluster: Arc<ClusterHandle>,
}

// SAFETY: librados I/O contexts may be used by several threads at once provided their settings
// (namespace, snapshot context) do not change; these bindings never change them.
unsafe impl Send for IoCtx {}
// SAFETY: as above.
unsafe impl Sync for IoCtx {}

impl Drop for IoCtx {
    fn drop(&mut self) {
        // SAFETY: `io` came from a successful `rados_ioctx_create` and is released only here,
        // before the cluster handle this context holds.
        unsafe { ffi::rados_ioctx_destroy(self.io) }
    }
}

/// A compound write on one object, applied atomically by the object's primary OSD: either every
/// step takes effect or none does. Steps run in this order: exclusive create, omap comparisons,
/// key sets, key removals, object removal (sets first: they create a missing object, on which a
/// removal alone fails with `ENOENT`).
#[derive(Debug, Clone, Default)]
pub struct WriteOp {
    /// Fail with `EEXIST` (writing nothing) if the object exists.
    pub create_exclusive: bool,
    /// `(key, value)`: fail with `ECANCELED` (writing nothing) unless the omap value of `key`
    /// equals `value`. A missing key compares as the empty value.
    pub compare: Vec<(Vec<u8>, Vec<u8>)>,
    /// Omap keys to remove.
    pub remove_keys: Vec<Vec<u8>>,
    /// Omap `(key, value)` pairs to set (creating the object if needed).
    pub set: Vec<(Vec<u8>, Vec<u8>)>,
    /// Remove the whole object afterwards.
    pub remove_object: bool,
}

/// One omap key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// What one atomic read of an object's omap returned.
#[derive(Debug, Clone, Default)]
pub struct OmapRead {
    /// The requested point keys that exist, with their values, in key order.
    pub keys: Vec<KeyValue>,
    /// The requested page of keys, in key order.
    pub page: Vec<KeyValue>,
    /// Whether keys beyond the page remain.
    pub more: bool,
}

/// One page of an omap read: up to `max` keys greater than `start_after` that start with
/// `prefix` (both without NUL bytes).
#[derive(Debug, Clone, Copy)]
pub struct OmapPage<'a> {
    /// Keys strictly greater than this.
    pub start_after: &'a [u8],
    /// Only keys starting with this.
    pub prefix: &'a [u8],
    /// At most this many keys.
    pub max: u64,
}

/// What one atomic read with several pages returned ([`IoCtx::read_pages`]).
#[derive(Debug, Clone, Default)]
pub struct OmapReadPages {
    /// The requested point keys that exist, with their values, in key order.
    pub keys: Vec<KeyValue>,
    /// Each requested page, in request order: its keys and whether more remain.
    pub pages: Vec<(Vec<KeyValue>, bool)>,
}

/// Collects an omap iterator into owned pairs and releases it.
///
/// # Safety
/// `iter` must be a live iterator filled by a completed read op, not used afterwards.
unsafe fn drain(iter: ffi::OmapIterT) -> Result<Vec<KeyValue>, RadosError> {
    let mut out = Vec::new();
    if iter.is_null() {
        return Ok(out);
    }
    let result = loop {
        let mut key: *mut c_char = ptr::null_mut();
        let mut val: *mut c_char = ptr::null_mut();
        let (mut key_len, mut val_len) = (0usize, 0usize);
        // SAFETY: the caller guarantees `iter` is live; the out-pointers are valid.
        let rc = unsafe {
            ffi::rados_omap_get_next2(iter, &mut key, &mut val, &mut key_len, &mut val_len)
        };
        if let Err(e) = check("rados_omap_get_next2", rc) {
            break Err(e);
        }
        if key.is_null() {
            break Ok(out);
        }
        // SAFETY: librados returns `key_len` / `val_len` valid bytes at these pointers, valid
        // until the next call on the iterator; we copy them at once.
        let pair = unsafe {
            (
                std::slice::from_raw_parts(key.cast::<u8>(), key_len).to_vec(),
                if val.is_null() {
                    Vec::new()
                } else {
                    std::slice::from_raw_parts(val.cast::<u8>(), val_len).to_vec()
                },
            )
        };
        out.push(pair);
    };
    // SAFETY: the iterator is released exactly once, here.
    unsafe { ffi::rados_omap_get_end(iter) };
    result
}

impl IoCtx {
    /// Applies `op` to object `oid` atomically.
    ///
    /// # Errors
    /// `ECANCELED` if a comparison failed, `EEXIST` if the exclusive create found the object
    /// (nothing written in both cases); other errnos for cluster failures.
    pub fn write(&self, oid: &str, op: &WriteOp) -> Result<(), RadosError> {
        let oid = c_string("rados_write_op_operate2", oid)?;
        // SAFETY: creating an op has no preconditions; it is released below on every path.
        let raw = unsafe { ffi::rados_create_write_op() };
        // One result slot per comparison, alive (and never moved) until the op completes.
        let mut compare_results: Box<[c_int]> = vec![0; op.compare.len()].into_boxed_slice();
        // SAFETY: `raw` is a live op. Every pointer passed points into `op`, `oid` or
        // `compare_results`, all of which outlive `rados_write_op_operate2`; librados copies
        // keys and values into the op when each step is added.
        let rc = unsafe {
            if op.create_exclusive {
                ffi::rados_write_op_create(raw, ffi::CREATE_EXCLUSIVE, ptr::null());
            }
            for ((key, value), slot) in op.compare.iter().zip(compare_results.iter_mut()) {
                ffi::rados_write_op_omap_cmp2(
                    raw,
                    key.as_ptr().cast(),
                    ffi::CMP_EQ,
                    value.as_ptr().cast(),
                    key.len(),
                    value.len(),
                    slot,
                );
            }
            if !op.set.is_empty() {
                let keys: Vec<*const c_char> =
                    op.set.iter().map(|(k, _)| k.as_ptr().cast()).collect();
                let vals: Vec<*const c_char> =
                    op.set.iter().map(|(_, v)| v.as_ptr().cast()).collect();
                let key_lens: Vec<usize> = op.set.iter().map(|(k, _)| k.len()).collect();
                let val_lens: Vec<usize> = op.set.iter().map(|(_, v)| v.len()).collect();
                ffi::rados_write_op_omap_set2(
                    raw,
                    keys.as_ptr(),
                    vals.as_ptr(),
                    key_lens.as_ptr(),
                    val_lens.as_ptr(),
                    keys.len(),
                );
            }
            if !op.remove_keys.is_empty() {
                let keys: Vec<*const c_char> =
                    op.remove_keys.iter().map(|k| k.as_ptr().cast()).collect();
                let lens: Vec<usize> = op.remove_keys.iter().map(Vec::len).collect();
                ffi::rados_write_op_omap_rm_keys2(raw, keys.as_ptr(), lens.as_ptr(), keys.len());
            }
            if op.remove_object {
                ffi::rados_write_op_remove(raw);
            }
            let rc = ffi::rados_write_op_operate2(
                raw,
                self.io,
                oid.as_ptr(),
                ptr::null_mut(),
                ffi::OPERATION_NOFLAG,
            );
            ffi::rados_release_write_op(raw);
            rc
        };
        drop(compare_results);
        check("rados_write_op_operate2", rc).map(|_| ())
    }

    /// One atomic read of object `oid`'s omap: the values of `keys` (those present), and, if
    /// `page` is `Some((start_after, prefix, max))`, up to `max` keys greater than
    /// `start_after` that start with `prefix`. Returns `None` if the object does not exist.
    ///
    /// `start_after` and `prefix` cross the C API as C strings, so they must not contain NUL
    /// bytes (callers keep omap keys NUL-free).
    ///
    /// # Errors
    /// `EINVAL` for a NUL in `start_after` or `prefix`; cluster failures.
    pub fn read(
        &self,
        oid: &str,
        keys: &[Vec<u8>],
        page: Option<(&[u8], &[u8], u64)>,
    ) -> Result<Option<OmapRead>, RadosError> {
        let pages: Vec<OmapPage<'_>> = page
            .map(|(start_after, prefix, max)| OmapPage {
                start_after,
                prefix,
                max,
            })
            .into_iter()
            .collect();
        Ok(self.read_pages(oid, keys, &pages)?.map(|mut read| {
            let (page, more) = read.pages.pop().unwrap_or_default();
            OmapRead {
                keys: read.keys,
                page,
                more,
            }
        }))
    }

    /// Like [`IoCtx::read`] with any number of pages, all read by one atomic operation (so a
    /// page of entries and a page of the locks over them are seen at the same instant).
    /// `pages` of the result is in the order of the requests, each with its `more` flag.
    ///
    /// # Errors
    /// As [`IoCtx::read`].
    pub fn read_pages(
        &self,
        oid: &str,
        keys: &[Vec<u8>],
        pages: &[OmapPage<'_>],
    ) -> Result<Option<OmapReadPages>, RadosError> {
        let oid = c_string("rados_read_op_operate", oid)?;
        let page_strings = pages
            .iter()
            .map(|p| {
                Ok((
                    c_bytes("rados_read_op_omap_get_vals2", p.start_after)?,
                    c_bytes("rados_read_op_omap_get_vals2", p.prefix)?,
                    p.max,
                ))
            })
            .collect::<Result<Vec<_>, RadosError>>()?;
        let key_ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
        let key_lens: Vec<usize> = keys.iter().map(Vec::len).collect();
        let mut keys_iter: ffi::OmapIterT = ptr::null_mut();
        let mut keys_rc: c_int = 0;
        // One iterator, result code and `more` flag per page, alive (and never moved: boxed
        // slices) until the op has completed.
        let mut page_iters: Box<[ffi::OmapIterT]> =
            vec![ptr::null_mut(); pages.len()].into_boxed_slice();
        let mut page_rcs: Box<[c_int]> = vec![0; pages.len()].into_boxed_slice();
        let mut mores: Box<[c_uchar]> = vec![0; pages.len()].into_boxed_slice();
        // SAFETY: creating an op has no preconditions; it is released below on every path.
        let raw = unsafe { ffi::rados_create_read_op() };
        // SAFETY: `raw` is live; every pointer passed (keys, strings, iterator, `more` and
        // result out-pointers) refers to locals or boxed slices that outlive
        // `rados_read_op_operate` and are not moved meanwhile.
        let rc = unsafe {
            if !keys.is_empty() {
                ffi::rados_read_op_omap_get_vals_by_keys2(
                    raw,
                    key_ptrs.as_ptr(),
                    keys.len(),
                    key_lens.as_ptr(),
                    &mut keys_iter,
                    &mut keys_rc,
                );
            }
            for (i, (start_after, prefix, max)) in page_strings.iter().enumerate() {
                ffi::rados_read_op_omap_get_vals2(
                    raw,
                    start_after.as_ptr(),
                    prefix.as_ptr(),
                    *max,
                    &mut page_iters[i],
                    &mut mores[i],
                    &mut page_rcs[i],
                );
            }
            let rc = ffi::rados_read_op_operate(raw, self.io, oid.as_ptr(), ffi::OPERATION_NOFLAG);
            ffi::rados_release_read_op(raw);
            rc
        };
        // SAFETY: the op has completed (successfully or not), so the iterators it filled (or
        // left null) are ours to drain and release, once each.
        let keys_out = unsafe { drain(keys_iter) };
        let pages_out: Vec<Result<Vec<KeyValue>, RadosError>> = page_iters
            .iter()
            // SAFETY: as above, each page iterator is drained exactly once, here.
            .map(|&iter| unsafe { drain(iter) })
            .collect();
        if rc == -crate::ENOENT {
            return Ok(None);
        }
        check("rados_read_op_operate", rc)?;
        check("rados_read_op_omap_get_vals_by_keys2", keys_rc)?;
        for &page_rc in page_rcs.iter() {
            check("rados_read_op_omap_get_vals2", page_rc)?;
        }
        let mut pages = Vec::with_capacity(pages_out.len());
        for (page, more) in pages_out.into_iter().zip(mores.iter()) {
            pages.push((page?, *more != 0));
        }
        Ok(Some(OmapReadPages {
            keys: keys_out?,
            pages,
        }))
    }

    /// The names of every object in the pool (default namespace), in no particular order.
    ///
    /// # Errors
    /// Cluster failures.
    pub fn list(&self) -> Result<Vec<String>, RadosError> {
        let mut ctx: ffi::ListCtxT = ptr::null_mut();
        // SAFETY: `io` is live; `ctx` is a valid out-pointer.
        check("rados_nobjects_list_open", unsafe {
            ffi::rados_nobjects_list_open(self.io, &mut ctx)
        })?;
        let mut names = Vec::new();
        let result = loop {
            let mut entry: *const c_char = ptr::null();
            let mut entry_len = 0usize;
            // SAFETY: `ctx` is a live listing; the out-pointers are valid (key and namespace
            // are not wanted, and librados accepts null for them).
            let rc = unsafe {
                ffi::rados_nobjects_list_next2(
                    ctx,
                    &mut entry,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    &mut entry_len,
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            };
            if rc == -crate::ENOENT {
                break Ok(names);
            }
            if let Err(e) = check("rados_nobjects_list_next2", rc) {
                break Err(e);
            }
            if entry.is_null() {
                continue;
            }
            // SAFETY: librados returns `entry_len` valid bytes at `entry`, valid until the next
            // call on the listing; we copy them at once.
            let bytes = unsafe { std::slice::from_raw_parts(entry.cast::<u8>(), entry_len) };
            names.push(String::from_utf8_lossy(bytes).into_owned());
        };
        // SAFETY: the listing is closed exactly once, here.
        unsafe { ffi::rados_nobjects_list_close(ctx) };
        result
    }

    /// Removes object `oid`; `Ok(false)` if it did not exist.
    ///
    /// # Errors
    /// Cluster failures.
    pub fn remove(&self, oid: &str) -> Result<bool, RadosError> {
        let oid = c_string("rados_remove", oid)?;
        // SAFETY: `io` is live and `oid` NUL-terminated.
        let rc = unsafe { ffi::rados_remove(self.io, oid.as_ptr()) };
        if rc == -crate::ENOENT {
            return Ok(false);
        }
        check("rados_remove", rc).map(|_| true)
    }

    /// Takes (or, with `renew`, extends) the exclusive advisory lock `name` on object `oid` for
    /// `duration`, as the holder `cookie`. The lock lapses by itself if not renewed in time, so
    /// a holder that dies releases it.
    ///
    /// # Errors
    /// `EBUSY` (or `EEXIST`) while another holder has it; cluster failures.
    pub fn lock_exclusive(
        &self,
        oid: &str,
        name: &str,
        cookie: &str,
        duration: std::time::Duration,
        renew: bool,
    ) -> Result<(), RadosError> {
        let call = "rados_lock_exclusive";
        let (oid, name, cookie) = (
            c_string(call, oid)?,
            c_string(call, name)?,
            c_string(call, cookie)?,
        );
        let desc = c_string(call, "binderdb")?;
        let mut timeout = ffi::Timeval {
            tv_sec: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
            tv_usec: i64::from(duration.subsec_micros()),
        };
        let flags = if renew { ffi::LOCK_FLAG_MAY_RENEW } else { 0 };
        // SAFETY: `io` is live; every string is NUL-terminated and `timeout` a valid timeval,
        // all outliving the call.
        let rc = unsafe {
            ffi::rados_lock_exclusive(
                self.io,
                oid.as_ptr(),
                name.as_ptr(),
                cookie.as_ptr(),
                desc.as_ptr(),
                &mut timeout,
                flags,
            )
        };
        check(call, rc).map(|_| ())
    }

    /// Releases the lock `name` on `oid` held as `cookie`.
    ///
    /// # Errors
    /// `ENOENT` if it is not held by `cookie`; cluster failures.
    pub fn unlock(&self, oid: &str, name: &str, cookie: &str) -> Result<(), RadosError> {
        let call = "rados_unlock";
        let (oid, name, cookie) = (
            c_string(call, oid)?,
            c_string(call, name)?,
            c_string(call, cookie)?,
        );
        // SAFETY: `io` is live; the strings are NUL-terminated and outlive the call.
        let rc =
            unsafe { ffi::rados_unlock(self.io, oid.as_ptr(), name.as_ptr(), cookie.as_ptr()) };
        check(call, rc).map(|_| ())
    }
}
