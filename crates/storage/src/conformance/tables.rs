//! Conformance check of the two table-id encodings ([`codec`]'s module docs): tables with
//! 8-byte legacy ids, as older builds created them, and tables with compact ids share every
//! keyspace of one store, and no operation on one reaches another's keys.

use crate::codec::{self, compact_table_id};
use crate::{
    Batch, CounterId, Counts, Keyspace, PartitionRange, SegmentScan, Store, TableId, Write,
};

use super::{collect_range, collect_scan, key, whole_partition, MakeStore, OwnedEntry};

/// Partitions per table, and sort keys per partition.
const PARTITIONS: u8 = 8;
const SORTS: u8 = 3;

/// The value of one entry: it names its table, so a key read across tables shows.
fn value_of(table: TableId, partition: u8, sort: u8) -> Vec<u8> {
    [&table.to_be_bytes()[..], &[partition, sort]].concat()
}

/// Every entry of `table` in `keyspace`, in scan order.
fn whole_table(store: &dyn Store, keyspace: Keyspace, table: TableId) -> Vec<OwnedEntry> {
    collect_scan(
        store,
        &SegmentScan {
            keyspace,
            table,
            segment: 0,
            total_segments: 1,
            start_after: None,
        },
    )
}

/// Checks that `table` holds exactly its own entries in `keyspace`, seen through a point read,
/// a partition range, a scan, a parallel scan and a scan resumed after its middle entry.
fn assert_intact(store: &dyn Store, keyspace: Keyspace, table: TableId) {
    let what = format!("table {table:#x} in {keyspace:?}");
    for p in 0..PARTITIONS {
        for s in 0..SORTS {
            let got = store.get(&key(keyspace, table, &[p], &[s])).unwrap();
            assert_eq!(got.map(|v| v.value), Some(value_of(table, p, s)), "{what}");
        }
        let partition = [p];
        let range = PartitionRange {
            keyspace,
            ..whole_partition(table, &partition)
        };
        let sorts: Vec<_> = collect_range(store, &range)
            .into_iter()
            .map(|(partition, sort, _, value)| {
                assert_eq!(value, value_of(table, p, sort[0]), "{what}");
                (partition, sort)
            })
            .collect();
        let expected: Vec<_> = (0..SORTS).map(|s| (vec![p], vec![s])).collect();
        assert_eq!(sorts, expected, "{what}");
    }
    let all = whole_table(store, keyspace, table);
    assert_eq!(all.len(), usize::from(PARTITIONS * SORTS), "{what}");
    for (partition, sort, _, value) in &all {
        assert_eq!(*value, value_of(table, partition[0], sort[0]), "{what}");
    }
    let mut segments = Vec::new();
    for segment in 0..4 {
        segments.extend(collect_scan(
            store,
            &SegmentScan {
                keyspace,
                table,
                segment,
                total_segments: 4,
                start_after: None,
            },
        ));
    }
    assert_eq!(segments, all, "{what}: parallel scan");
    let (partition, sort, _, _) = &all[all.len() / 2];
    let rest = collect_scan(
        store,
        &SegmentScan {
            keyspace,
            table,
            segment: 0,
            total_segments: 1,
            start_after: Some((partition, sort)),
        },
    );
    assert_eq!(rest, all[all.len() / 2 + 1..], "{what}: resumed scan");
}

/// Tables of both id encodings in one store: puts, point reads, ranges, scans, parallel scans,
/// recounts and drops of one leave the others exactly as they were.
pub fn legacy_and_compact_tables_stay_apart(make: MakeStore<'_>) {
    let store = make();
    let compact = |n| compact_table_id(n).unwrap();
    // Neighbours every way they can be: legacy ids equal to compact ids' numbers, adjacent
    // compact ids, the last 2-byte and the first 4-byte forms, the largest ids of both kinds.
    let mut tables = vec![
        3,
        4,
        compact(3),
        compact(4),
        compact(0x3fff),
        compact(0x4000),
        compact(0x4001),
        compact(codec::COMPACT_ID_COUNT - 1),
        codec::COMPACT_TABLE_IDS - 1,
        u64::MAX,
    ];
    for keyspace in Keyspace::ALL {
        for &table in &tables {
            let writes = (0..PARTITIONS)
                .flat_map(|p| (0..SORTS).map(move |s| (p, s)))
                .map(|(p, s)| Write::Put {
                    key: key(keyspace, table, &[p], &[s]),
                    value: value_of(table, p, s),
                })
                .collect();
            store
                .commit(Batch {
                    writes,
                    guards: Vec::new(),
                })
                .unwrap();
        }
    }
    for keyspace in Keyspace::ALL {
        for &table in &tables {
            assert_intact(store.as_ref(), keyspace, table);
        }
    }
    for &table in &tables {
        let counter = CounterId {
            group: table,
            lane: table,
        };
        let counted = store
            .recount(counter, Keyspace::Gsi, table, &mut |_| Ok(1))
            .unwrap();
        let entries = i64::from(PARTITIONS * SORTS);
        let expected = Counts {
            items: entries,
            bytes: entries,
        };
        assert_eq!(counted, Some(expected), "recount of {table:#x}");
    }
    // Drop a compact table next to a legacy one of the same number, then that legacy one,
    // then the first 4-byte one: each time every other table is untouched.
    for dropped in [compact(3), 3, compact(0x4000)] {
        store.drop_table(dropped).unwrap();
        tables.retain(|t| *t != dropped);
        for keyspace in Keyspace::ALL {
            assert!(whole_table(store.as_ref(), keyspace, dropped).is_empty());
            let gone = store.get(&key(keyspace, dropped, &[0], &[0])).unwrap();
            assert_eq!(gone, None);
            for &table in &tables {
                assert_intact(store.as_ref(), keyspace, table);
            }
        }
    }
}
