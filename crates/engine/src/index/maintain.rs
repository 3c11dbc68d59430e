//! The index writes that accompany one item write.
//!
//! Given an item before and after a write, each maintained index gets at most a delete of the
//! old entry and a put of the new one, all joining the item's own atomic batch (DESIGN.md: an
//! item and its index entries commit together). Each index is charged for the change to what
//! it stores, as DynamoDB charges it: a new entry is one write of its size; an entry whose key
//! moved is a delete of the old plus a put of the new; an entry whose key stayed but whose
//! projected attributes changed is one write; an unchanged entry, or an item in the index
//! neither before nor after, costs nothing.

use binderdb_model::{item_size, Item};
use binderdb_storage::{TableId, Write};

use crate::capacity::write_units;
use crate::catalog::TableDescriptor;
use crate::index::{BaseKey, IndexDescriptor, IndexKind, INDEX_ENTRY_OVERHEAD};

/// What one item write does to one index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexEffect {
    /// The index's name.
    pub(crate) name: String,
    /// Local or global.
    pub(crate) kind: IndexKind,
    /// The index's storage id (for its statistics).
    pub(crate) id: TableId,
    /// Write capacity units charged to the index.
    pub(crate) units: f64,
    /// Change in the number of entries.
    pub(crate) items: i64,
    /// Change in the index's size (entries plus their overhead).
    pub(crate) bytes: i64,
}

/// The storage writes and effects of one item write on every maintained index of `table`.
#[derive(Debug, Default)]
pub(crate) struct IndexChanges {
    /// Puts and deletes of index entries.
    pub(crate) writes: Vec<Write>,
    /// One effect per index the write touched.
    pub(crate) effects: Vec<IndexEffect>,
}

/// The index writes that take `old` to `new` (either absent) for the item at `base`.
///
/// `new_value` is the encoded new item, when the caller has it: an ALL projection stores those
/// very bytes instead of encoding the item once more.
pub(crate) fn index_changes(
    table: &TableDescriptor,
    base: BaseKey<'_>,
    old: Option<&Item>,
    new: Option<&Item>,
    new_value: Option<&[u8]>,
) -> IndexChanges {
    let mut changes = IndexChanges::default();
    for index in table.indexes.iter().filter(|i| i.maintained()) {
        change_one(table, index, base, old, new, new_value, &mut changes);
    }
    changes
}

fn change_one(
    table: &TableDescriptor,
    index: &IndexDescriptor,
    base: BaseKey<'_>,
    old: Option<&Item>,
    new: Option<&Item>,
    new_value: Option<&[u8]>,
    changes: &mut IndexChanges,
) {
    let before = old.and_then(|o| index.entry(table, base, o));
    let after = new.and_then(|n| index.entry(table, base, n));
    let mut effect = IndexEffect {
        name: index.name.clone(),
        kind: index.kind,
        id: index.id,
        units: 0.0,
        items: 0,
        bytes: 0,
    };
    let put = |key, projected: &Item, changes: &mut IndexChanges| {
        let value = match (index.projection, new_value) {
            (crate::index::ProjectionType::All, Some(bytes)) => bytes.to_vec(),
            _ => IndexDescriptor::encode_entry(projected),
        };
        changes.writes.push(Write::Put { key, value });
    };
    match (before, after) {
        (None, None) => return,
        (Some((old_key, old_entry)), None) => {
            let size = item_size(&old_entry);
            effect.units = write_units(size, 0);
            effect.items = -1;
            effect.bytes = -((size + INDEX_ENTRY_OVERHEAD) as i64);
            changes.writes.push(Write::Delete { key: old_key });
        }
        (None, Some((new_key, new_entry))) => {
            let size = item_size(&new_entry);
            effect.units = write_units(0, size);
            effect.items = 1;
            effect.bytes = (size + INDEX_ENTRY_OVERHEAD) as i64;
            put(new_key, &new_entry, changes);
        }
        (Some((old_key, old_entry)), Some((new_key, new_entry))) => {
            if old_key == new_key && old_entry == new_entry {
                return;
            }
            let (old_size, new_size) = (item_size(&old_entry), item_size(&new_entry));
            effect.bytes = new_size as i64 - old_size as i64;
            if old_key == new_key {
                effect.units = write_units(old_size, new_size);
            } else {
                effect.units = write_units(old_size, 0) + write_units(0, new_size);
                changes.writes.push(Write::Delete { key: old_key });
            }
            put(new_key, &new_entry, changes);
        }
    }
    changes.effects.push(effect);
}
