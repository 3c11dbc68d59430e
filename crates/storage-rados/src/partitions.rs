//! The partition index: which partition objects a table has, so that enumerating a table's
//! partitions (a Scan, a statistics sum, a table drop) costs what the table holds, never what
//! the pool holds.
//!
//! # Why an index and not a listing
//! RADOS lists objects per placement group, and every OSD walks *all* of its placement group's
//! objects to answer, whatever the filter: a RADOS namespace per table
//! (`rados_ioctx_set_namespace`) only moves the filter to the OSD, which still visits every
//! object of the pool. So a table's partitions are recorded in objects of their own, as Ceph's
//! S3 gateway records a bucket's objects in its bucket index.
//!
//! # Layout
//! Per `(table, keyspace group)`, [`SHARDS`] index objects
//! `{prefix}binderdb.parts.{table:016x}.{group}.{shard:x}`; shard `s` lists the partitions whose
//! hash lies in `[s·2⁶⁴/SHARDS, (s+1)·2⁶⁴/SHARDS)`. Its omap keys are the partition objects'
//! names without their group prefix (`{hash:016x}.{len:04x}.{partition}`, see [`layout`]),
//! with empty values, so omap order is the contract's Scan order, and a parallel-scan segment
//! (a hash range) or a Scan resumed after a key is one omap read starting at the right key.
//! Sixteen shards keep each index object under Ceph's large-omap warning (200,000 keys) up to
//! about three million partitions per table and keyspace group.
//!
//! # When an entry is written
//! A commit that *creates* a partition object (its read found no object, so its compound write
//! is an exclusive create) first adds the object's entry to the index, and only then creates
//! it. So every partition object that exists is indexed; an entry may name an object that a
//! failed or refused commit never created, which readers skip (reading it finds no object).
//! Objects are never removed except by a table drop, which removes the index last.
//!
//! # Pools written before the index
//! A store opened on a prefix that has data (its sequence object exists) but no
//! [`INDEX_MARK`] builds the index once from a listing of the pool, then sets the mark. Every
//! node of a pool must run a build with the index: an older node would create partitions the
//! index does not know.

use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow};

use binderdb_rados::WriteOp;
use binderdb_storage::{Keyspace, StorageError, TableId};

use crate::coord::backend;
use crate::{layout, RadosStore, PAGE};

/// Index objects per table and keyspace group.
pub const SHARDS: u64 = 16;
/// The omap key, in the `layout` object, saying that this store's partitions are indexed.
pub const INDEX_MARK: &[u8] = b"partition-index";
/// Entries written per operation when the index is built from a listing.
const BUILD_BATCH: usize = 256;

/// The shard listing partitions of hash `hash`.
pub fn shard_of(hash: u64) -> u64 {
    hash >> (64 - SHARDS.trailing_zeros())
}

/// The index object of `shard` of `table`'s partitions in keyspace group `group`.
pub fn index_object(prefix: &str, table: TableId, group: char, shard: u64) -> String {
    format!("{prefix}binderdb.parts.{table:016x}.{group}.{shard:x}")
}

/// Where the entry of partition object `object` goes: its index object and omap key. `None`
/// for objects that are not partition objects (metadata, a table's counter object).
pub fn entry_of(prefix: &str, object: &str) -> Option<(String, Vec<u8>)> {
    // `{prefix}p.{table:016x}.{group}.{hash:016x}.{len:04x}.{partition}`
    let rest = object.strip_prefix(prefix)?.strip_prefix("p.")?;
    let table = u64::from_str_radix(rest.get(..16)?, 16).ok()?;
    let rest = rest.get(16..)?.strip_prefix('.')?;
    let mut chars = rest.chars();
    let group = chars.next()?;
    let key = chars.as_str().strip_prefix('.')?;
    let hash = layout::hash_of_name(key)?;
    if !layout::GROUPS.contains(&group) || key.as_bytes().get(16) != Some(&b'.') {
        return None;
    }
    Some((
        index_object(prefix, table, group, shard_of(hash)),
        key.as_bytes().to_vec(),
    ))
}

impl RadosStore {
    /// Adds `object` to its table's partition index, if it is a partition object. Called
    /// before a commit creates the object.
    pub(crate) fn index_partition(&self, object: &str) -> Result<(), StorageError> {
        let Some((index, key)) = entry_of(&self.prefix, object) else {
            return Ok(());
        };
        let op = WriteOp {
            set: vec![(key, Vec::new())],
            ..WriteOp::default()
        };
        self.io.write(&index, &op).map_err(backend)
    }

    /// Visits the names of `table`'s partition objects of `keyspace` whose hash is in
    /// `[lo, hi)`, in storage order, starting after the object named `after` (if given), until
    /// `visit` breaks. Reads the index a page at a time, so a visit that stops early reads
    /// little of it.
    pub(crate) fn each_partition_object(
        &self,
        table: TableId,
        keyspace: Keyspace,
        (lo, hi): (u64, Bound<u64>),
        after: Option<&str>,
        visit: &mut dyn FnMut(&str) -> Result<ControlFlow<()>, StorageError>,
    ) -> Result<(), StorageError> {
        let group_prefix = layout::group_objects(&self.prefix, table, keyspace);
        let group = layout::group(keyspace);
        let last_shard = match hi {
            Bound::Excluded(0) => return Ok(()),
            Bound::Excluded(h) => shard_of(h - 1),
            _ => SHARDS - 1,
        };
        // No key equals a bare hash (keys go on with `.len.partition`): starting after it
        // starts at the hash's first partition.
        let mut floor = format!("{lo:016x}").into_bytes();
        if let Some(name) = after.and_then(|a| a.strip_prefix(&group_prefix)) {
            floor = floor.max(name.as_bytes().to_vec());
        }
        let in_range = |key: &[u8]| {
            let Some(hash) = std::str::from_utf8(key).ok().and_then(layout::hash_of_name) else {
                return false;
            };
            match hi {
                Bound::Excluded(h) => hash < h,
                _ => true,
            }
        };
        for shard in shard_of(lo)..=last_shard {
            let index = index_object(&self.prefix, table, group, shard);
            let mut start_after = floor.clone();
            loop {
                let Some(read) = self
                    .io
                    .read(&index, &[], Some((&start_after, b"", PAGE)))
                    .map_err(backend)?
                else {
                    break;
                };
                for (key, _) in &read.page {
                    if !in_range(key) {
                        return Ok(());
                    }
                    let name = format!("{group_prefix}{}", String::from_utf8_lossy(key));
                    if visit(&name)?.is_break() {
                        return Ok(());
                    }
                }
                match read.page.last() {
                    Some((last, _)) if read.more => start_after = last.clone(),
                    _ => break,
                }
            }
        }
        Ok(())
    }

    /// Every object of `table`: its partition objects of every keyspace group and its counter
    /// object (which may not exist). Without the index objects themselves.
    pub(crate) fn table_objects(&self, table: TableId) -> Result<Vec<String>, StorageError> {
        let mut names = vec![layout::counter_object(&self.prefix, table)];
        for keyspace in layout::GROUP_KEYSPACES {
            self.each_partition_object(
                table,
                keyspace,
                (0, Bound::Unbounded),
                None,
                &mut |name| {
                    names.push(name.to_owned());
                    Ok(ControlFlow::Continue(()))
                },
            )?;
        }
        Ok(names)
    }

    /// Removes `table`'s index objects (the last step of dropping it).
    pub(crate) fn remove_index(&self, table: TableId) -> Result<(), StorageError> {
        for keyspace in layout::GROUP_KEYSPACES {
            for shard in 0..SHARDS {
                let index = index_object(&self.prefix, table, layout::group(keyspace), shard);
                self.io.remove(&index).map_err(backend)?;
            }
        }
        Ok(())
    }

    /// Builds the index of a store written before it (once: see the module's documentation).
    pub(crate) fn ensure_index(&self) -> Result<(), StorageError> {
        let layout_object = self.meta("layout");
        let marked = self
            .io
            .read(&layout_object, &[INDEX_MARK.to_vec()], None)
            .map_err(backend)?
            .is_some_and(|r| !r.keys.is_empty());
        if marked {
            return Ok(());
        }
        // A store that never committed anything has nothing to index (tests open thousands
        // of fresh prefixes in one pool: they must not list it).
        let fresh = self
            .io
            .read(&self.meta("sequence"), &[], None)
            .map_err(backend)?
            .is_none();
        if !fresh {
            let started = std::time::Instant::now();
            let mut entries: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
            let mut count = 0usize;
            for name in self.io.list().map_err(backend)? {
                if let Some((index, key)) = entry_of(&self.prefix, &name) {
                    entries.entry(index).or_default().push(key);
                    count += 1;
                }
            }
            for (index, keys) in entries {
                for chunk in keys.chunks(BUILD_BATCH) {
                    let op = WriteOp {
                        set: chunk.iter().map(|k| (k.clone(), Vec::new())).collect(),
                        ..WriteOp::default()
                    };
                    self.io.write(&index, &op).map_err(backend)?;
                }
            }
            tracing::info!(
                partitions = count,
                "RADOS store: indexed the partitions of a pool written before the partition index in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let op = WriteOp {
            set: vec![(INDEX_MARK.to_vec(), b"1".to_vec())],
            ..WriteOp::default()
        };
        self.io.write(&layout_object, &op).map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_their_shard_and_keep_the_name_order() {
        let parts: Vec<Vec<u8>> = (0u16..200).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut by_key = Vec::new();
        for p in &parts {
            let name = layout::object_name("x.", 7, Keyspace::Items, p).unwrap_or_default();
            let (index, key) = entry_of("x.", &name).unwrap_or_default();
            let hash = binderdb_storage::partition_hash(p);
            assert_eq!(index, index_object("x.", 7, 'i', shard_of(hash)));
            assert_eq!(
                format!(
                    "{}{}",
                    layout::group_objects("x.", 7, Keyspace::Items),
                    String::from_utf8_lossy(&key)
                ),
                name
            );
            by_key.push((shard_of(hash), key, name));
        }
        // Shard, then key order is name order: the Scan order.
        let mut sorted = by_key.clone();
        sorted.sort();
        let mut names: Vec<String> = by_key.into_iter().map(|(_, _, n)| n).collect();
        names.sort();
        assert_eq!(
            sorted.into_iter().map(|(_, _, n)| n).collect::<Vec<_>>(),
            names
        );
    }

    #[test]
    fn only_partition_objects_have_entries() {
        assert_eq!(entry_of("x.", "x.binderdb.sequence"), None);
        assert_eq!(entry_of("x.", &layout::counter_object("x.", 3)), None);
        assert_eq!(entry_of("y.", "x.p.0000000000000003.i.00"), None);
        assert_eq!(
            entry_of("x.", "x.p.0000000000000003.q.0000000000000000.0001.00"),
            None
        );
        assert!(entry_of("x.", "x.p.0000000000000003.g.ffffffffffffffff.0001.00").is_some());
        assert_eq!(shard_of(u64::MAX), SHARDS - 1);
        assert_eq!(shard_of(0), 0);
    }
}
