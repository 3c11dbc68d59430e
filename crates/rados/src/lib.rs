//! Thin safe bindings to the parts of librados (Ceph's C client library) that binderdb's RADOS
//! storage engine uses: connecting, compound write operations on one object's omap (compare,
//! set, remove keys, exclusive create, remove the object), omap reads, object listing, advisory
//! locks, and watch/notify between processes sharing a pool.
//!
//! This is the only crate of the workspace allowed `unsafe`: every block states why it is
//! sound. It depends on nothing of binderdb. With the `rados` feature off (the default) it is
//! empty and links nothing, so the workspace builds on machines without `librados-dev`.
//!
//! Key types: [`Cluster`] (a connected client), [`IoCtx`] (one pool), [`WriteOp`] (a compound
//! write applied atomically to one object), [`OmapRead`] (what one atomic read op returns).
//!
//! Thread safety: librados' cluster handle and I/O contexts may be used from several threads at
//! once as long as the context's settings (namespace, snapshot) are not changed meanwhile;
//! these bindings never change them after creation, so both types are `Send + Sync`.

#[cfg(feature = "rados")]
mod ffi;
#[cfg(feature = "rados")]
mod safe;

#[cfg(feature = "rados")]
pub use safe::{
    Cluster, IoCtx, KeyValue, NotifyHandler, NotifyReply, OmapPage, OmapRead, OmapReadPages, Watch,
    WatchErrorHandler, WriteOp,
};

/// A librados call failed: which call, and the (positive) errno it returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("librados {call} failed: {} (errno {errno})", describe(*errno))]
pub struct RadosError {
    /// The librados function (or step) that failed.
    pub call: &'static str,
    /// The error number, positive (librados returns `-errno`).
    pub errno: i32,
}

/// `ENOENT`: the object does not exist.
pub const ENOENT: i32 = 2;
/// `EEXIST`: an exclusive create found the object.
pub const EEXIST: i32 = 17;
/// `ECANCELED`: an omap comparison of a compound write failed; nothing was written.
pub const ECANCELED: i32 = 125;
/// `EBUSY`: a lock is held by someone else.
pub const EBUSY: i32 = 16;

fn describe(errno: i32) -> &'static str {
    match errno {
        ENOENT => "no such object or pool",
        EEXIST => "already exists",
        ECANCELED => "comparison failed",
        EBUSY => "busy",
        1 | 13 => "permission denied",
        110 => "timed out",
        22 => "invalid argument",
        _ => "error",
    }
}
