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
use binderdb_storage::{Key, TableId, Write};

use crate::capacity::write_units;
use crate::catalog::TableDescriptor;
use crate::index::{BaseKey, IndexDescriptor, IndexKind, Projected, INDEX_ENTRY_OVERHEAD};

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
///
/// Work done once per write, not once per index: each item's size and whether the item
/// changed at all (which settles every ALL projection whose key stayed). A projection is
/// borrowed from the item, sized and compared without being built, and only a new entry is
/// encoded.
pub(crate) fn index_changes(
    table: &TableDescriptor,
    base: BaseKey<'_>,
    old: Option<&Item>,
    new: Option<&Item>,
    new_value: Option<&[u8]>,
) -> IndexChanges {
    let mut changes = IndexChanges {
        writes: Vec::with_capacity(2 * table.indexes.len()),
        effects: Vec::with_capacity(table.indexes.len()),
    };
    let mut images = Images {
        old,
        new,
        new_value,
        old_size: None,
        new_size: None,
        unchanged: None,
    };
    for index in table.indexes.iter().filter(|i| i.maintained()) {
        change_one(table, index, base, &mut images, &mut changes);
    }
    changes
}

/// The item before and after a write, with what every index needs of them computed at most
/// once.
struct Images<'a> {
    old: Option<&'a Item>,
    new: Option<&'a Item>,
    new_value: Option<&'a [u8]>,
    old_size: Option<usize>,
    new_size: Option<usize>,
    unchanged: Option<bool>,
}

impl Images<'_> {
    fn old_size(&mut self) -> usize {
        let old = self.old;
        *self
            .old_size
            .get_or_insert_with(|| old.map_or(0, item_size))
    }

    fn new_size(&mut self) -> usize {
        let new = self.new;
        *self
            .new_size
            .get_or_insert_with(|| new.map_or(0, item_size))
    }

    fn unchanged(&mut self) -> bool {
        let (old, new) = (self.old, self.new);
        *self.unchanged.get_or_insert_with(|| old == new)
    }
}

fn change_one(
    table: &TableDescriptor,
    index: &IndexDescriptor,
    base: BaseKey<'_>,
    images: &mut Images<'_>,
    changes: &mut IndexChanges,
) {
    let (before, after) = (
        keyed(index, base, images.old),
        keyed(index, base, images.new),
    );
    let mut effect = IndexEffect {
        name: index.name.clone(),
        kind: index.kind,
        id: index.id,
        units: 0.0,
        items: 0,
        bytes: 0,
    };
    match (before, after) {
        (None, None) => return,
        (Some((old, old_key)), None) => {
            let size = index.projected(table, old).size(|| images.old_size());
            effect.units = write_units(size, 0);
            effect.items = -1;
            effect.bytes = -((size + INDEX_ENTRY_OVERHEAD) as i64);
            changes.writes.push(Write::Delete { key: old_key });
        }
        (None, Some((new, new_key))) => {
            let entry = index.projected(table, new);
            let size = entry.size(|| images.new_size());
            effect.units = write_units(0, size);
            effect.items = 1;
            effect.bytes = (size + INDEX_ENTRY_OVERHEAD) as i64;
            changes.writes.push(Write::Put {
                key: new_key,
                value: entry.encode(images.new_value),
            });
        }
        (Some((old, old_key)), Some((new, new_key))) => {
            let old_entry = index.projected(table, old);
            let new_entry = index.projected(table, new);
            let moved = old_key != new_key;
            if !moved {
                // Same key and same projected attributes: nothing to write, nothing to charge
                // (DynamoDB charges an index only for a change to what it stores).
                let same = match (&old_entry, &new_entry) {
                    (Projected::Some(a), Projected::Some(b)) => a == b,
                    _ => images.unchanged(),
                };
                if same {
                    return;
                }
            }
            let old_size = old_entry.size(|| images.old_size());
            let new_size = new_entry.size(|| images.new_size());
            effect.bytes = new_size as i64 - old_size as i64;
            if moved {
                effect.units = write_units(old_size, 0) + write_units(0, new_size);
                changes.writes.push(Write::Delete { key: old_key });
            } else {
                effect.units = write_units(old_size, new_size);
            }
            changes.writes.push(Write::Put {
                key: new_key,
                value: new_entry.encode(images.new_value),
            });
        }
    }
    changes.effects.push(effect);
}

/// `item` with its entry key in `index`, if it is in the index.
fn keyed<'i>(
    index: &IndexDescriptor,
    base: BaseKey<'_>,
    item: Option<&'i Item>,
) -> Option<(&'i Item, Key)> {
    let item = item?;
    Some((item, index.entry_key(base, item)?))
}
