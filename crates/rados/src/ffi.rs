//! The librados C declarations used (from `rados/librados.h`, Ceph 16), nothing more.

use std::os::raw::{c_char, c_int, c_uchar, c_void};

pub type RadosT = *mut c_void;
pub type IoCtxT = *mut c_void;
pub type WriteOpT = *mut c_void;
pub type ReadOpT = *mut c_void;
pub type OmapIterT = *mut c_void;
pub type ListCtxT = *mut c_void;

/// `LIBRADOS_CMPXATTR_OP_EQ`.
pub const CMP_EQ: u8 = 1;
/// `LIBRADOS_CREATE_EXCLUSIVE`.
pub const CREATE_EXCLUSIVE: c_int = 1;
/// `LIBRADOS_OPERATION_NOFLAG`.
pub const OPERATION_NOFLAG: c_int = 0;

#[link(name = "rados")]
extern "C" {
    pub fn rados_create2(
        pcluster: *mut RadosT,
        clustername: *const c_char,
        name: *const c_char,
        flags: u64,
    ) -> c_int;
    pub fn rados_conf_read_file(cluster: RadosT, path: *const c_char) -> c_int;
    pub fn rados_conf_set(cluster: RadosT, option: *const c_char, value: *const c_char) -> c_int;
    pub fn rados_connect(cluster: RadosT) -> c_int;
    pub fn rados_shutdown(cluster: RadosT);
    pub fn rados_ioctx_create(cluster: RadosT, pool: *const c_char, io: *mut IoCtxT) -> c_int;
    pub fn rados_ioctx_destroy(io: IoCtxT);

    pub fn rados_create_write_op() -> WriteOpT;
    pub fn rados_release_write_op(op: WriteOpT);
    pub fn rados_write_op_create(op: WriteOpT, exclusive: c_int, category: *const c_char);
    pub fn rados_write_op_remove(op: WriteOpT);
    pub fn rados_write_op_omap_cmp2(
        op: WriteOpT,
        key: *const c_char,
        comparison_operator: u8,
        val: *const c_char,
        key_len: usize,
        val_len: usize,
        prval: *mut c_int,
    );
    pub fn rados_write_op_omap_set2(
        op: WriteOpT,
        keys: *const *const c_char,
        vals: *const *const c_char,
        key_lens: *const usize,
        val_lens: *const usize,
        num: usize,
    );
    pub fn rados_write_op_omap_rm_keys2(
        op: WriteOpT,
        keys: *const *const c_char,
        key_lens: *const usize,
        num: usize,
    );
    pub fn rados_write_op_operate2(
        op: WriteOpT,
        io: IoCtxT,
        oid: *const c_char,
        mtime: *mut c_void,
        flags: c_int,
    ) -> c_int;

    pub fn rados_create_read_op() -> ReadOpT;
    pub fn rados_release_read_op(op: ReadOpT);
    pub fn rados_read_op_omap_get_vals2(
        op: ReadOpT,
        start_after: *const c_char,
        filter_prefix: *const c_char,
        max_return: u64,
        iter: *mut OmapIterT,
        pmore: *mut c_uchar,
        prval: *mut c_int,
    );
    pub fn rados_read_op_omap_get_vals_by_keys2(
        op: ReadOpT,
        keys: *const *const c_char,
        num_keys: usize,
        key_lens: *const usize,
        iter: *mut OmapIterT,
        prval: *mut c_int,
    );
    pub fn rados_read_op_operate(
        op: ReadOpT,
        io: IoCtxT,
        oid: *const c_char,
        flags: c_int,
    ) -> c_int;
    pub fn rados_omap_get_next2(
        iter: OmapIterT,
        key: *mut *mut c_char,
        val: *mut *mut c_char,
        key_len: *mut usize,
        val_len: *mut usize,
    ) -> c_int;
    pub fn rados_omap_get_end(iter: OmapIterT);

    pub fn rados_nobjects_list_open(io: IoCtxT, ctx: *mut ListCtxT) -> c_int;
    pub fn rados_nobjects_list_next2(
        ctx: ListCtxT,
        entry: *mut *const c_char,
        key: *mut *const c_char,
        nspace: *mut *const c_char,
        entry_size: *mut usize,
        key_size: *mut usize,
        nspace_size: *mut usize,
    ) -> c_int;
    pub fn rados_nobjects_list_close(ctx: ListCtxT);
    pub fn rados_remove(io: IoCtxT, oid: *const c_char) -> c_int;
    pub fn rados_lock_exclusive(
        io: IoCtxT,
        oid: *const c_char,
        name: *const c_char,
        cookie: *const c_char,
        desc: *const c_char,
        duration: *mut Timeval,
        flags: u8,
    ) -> c_int;
    pub fn rados_unlock(
        io: IoCtxT,
        oid: *const c_char,
        name: *const c_char,
        cookie: *const c_char,
    ) -> c_int;
}

/// `struct timeval` (Linux, 64-bit).
#[repr(C)]
#[derive(Debug)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}

/// `LIBRADOS_LOCK_FLAG_MAY_RENEW`: taking a lock we already hold extends it.
pub const LOCK_FLAG_MAY_RENEW: u8 = 1;
