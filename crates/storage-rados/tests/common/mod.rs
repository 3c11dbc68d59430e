//! What the RADOS test binaries share: where the cluster is.
#![allow(dead_code)]

use binderdb_storage_rados::RadosOptions;

/// The cluster's options with a fresh object-name prefix (so each test starts with an empty
/// store in a shared pool), or `None` (and a note) when no cluster is configured.
///
/// Needs `BINDERDB_CEPH_CONF` (a ceph.conf with its keyring) and optionally
/// `BINDERDB_CEPH_POOL` (default `binderdb`); `scripts/ceph-cluster start` makes both and
/// `scripts/test` sets them. Without `BINDERDB_CEPH_CONF` the tests say so and pass: the
/// cluster is an optional part of the test command, which reports plainly when it skips it.
pub fn options() -> Option<RadosOptions> {
    let Some(conf) = std::env::var_os("BINDERDB_CEPH_CONF") else {
        eprintln!("BINDERDB_CEPH_CONF is not set: no Ceph cluster, RADOS test skipped");
        return None;
    };
    Some(RadosOptions {
        conf: conf.into(),
        pool: std::env::var("BINDERDB_CEPH_POOL").unwrap_or_else(|_| "binderdb".to_owned()),
        user: None,
        prefix: format!("t{:016x}.", fastrand::u64(..)),
    })
}
