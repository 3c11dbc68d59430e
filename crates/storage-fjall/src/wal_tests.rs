//! Crash recovery through binderdb's write-ahead log: crash images are copies of a live data
//! directory (what a kill -9 leaves), optionally with fjall's journals emptied (what a power
//! loss leaves of a journal that was never synced) and the log cut or damaged.

use std::path::Path;

use binderdb_storage::conformance::{key, put};
use binderdb_storage::{durable, Key, Keyspace, Store};

use super::*;

/// Copies `from` into `to` (a crash image of a live store whose files do not change meanwhile).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    copy_existing(from, to).unwrap();
}

/// Opens a copy of the live store directory `live`, as a process killed now would leave it.
///
/// The copy is taken file by file while the store's background threads (flushes, compactions,
/// the idle merger) may replace table files, so one copy can list a file that is deleted
/// before it is read, or hold a version naming a table file created after its listing: such a
/// copy fails to open, and is taken again. One that opens is consistent (table files never
/// change once written).
pub(crate) fn open_kill_image(live: &Path) -> (tempfile::TempDir, FjallStore) {
    let mut last = None;
    for _ in 0..50 {
        let image = tempfile::tempdir().unwrap();
        if let Err(e) = copy_existing(live, image.path()) {
            last = Some(e.to_string());
            continue;
        }
        match FjallStore::open(image.path()) {
            Ok(store) => return (image, store),
            Err(e) => last = Some(e.to_string()),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no consistent copy of {} opened: {last:?}", live.display());
}

/// Copies `from` into `to`, skipping files deleted while it runs.
fn copy_existing(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let target = to.join(entry.file_name());
        let copied = match entry.file_type()?.is_dir() {
            true => copy_existing(&entry.path(), &target),
            false => std::fs::copy(entry.path(), &target).map(|_| ()),
        };
        match copied {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// Empties fjall's journals in `dir`: as if nothing written to them since the store opened had
/// reached the disk.
fn lose_fjall_journals(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jnl") {
            let len = std::fs::metadata(&path).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(0).unwrap();
            file.set_len(len).unwrap();
        }
    }
}

fn item(i: u32) -> Key {
    key(Keyspace::Items, 1, &i.to_be_bytes(), b"")
}

fn small_log() -> FjallOptions {
    FjallOptions {
        wal_segment_bytes: 16 * 1024,
        ..FjallOptions::default()
    }
}

/// Writes `n` acknowledged items (one commit each) and returns their versions.
fn write_acknowledged(store: &FjallStore, n: u32) -> Vec<u64> {
    (0..n)
        .map(|i| {
            let version = put(store, &item(i), format!("value {i}").as_bytes());
            durable(store).wait().unwrap();
            version
        })
        .collect()
}

#[test]
fn kill_image_recovers_every_acknowledged_commit() {
    let live = tempfile::tempdir().unwrap();
    let store = FjallStore::open_with(live.path(), &small_log()).unwrap();
    let versions = write_acknowledged(&store, 300);
    assert!(
        store.checkpoint_count() >= 1,
        "the log never switched segments"
    );
    // Once the flush thread has written the sealed memtables to table files, only the active
    // segment is left to replay.
    wait_until_released(&store, small_log().wal_segment_bytes);
    let (_image, recovered) = open_kill_image(live.path());
    for (i, version) in versions.iter().enumerate() {
        let got = recovered.get(&item(i as u32)).unwrap().unwrap();
        assert_eq!(got.version, *version);
        assert_eq!(got.value, format!("value {i}").into_bytes());
    }
    assert!(
        (1..300).contains(&recovered.replayed_frames()),
        "{}",
        recovered.replayed_frames()
    );
}

/// Waits until the log `store` would replay is at most `bound` bytes (the flush thread releases
/// segments in the background; 60 s at most).
pub(crate) fn wait_until_released(store: &FjallStore, bound: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.unreleased_log_bytes() > bound {
        assert!(
            std::time::Instant::now() < deadline,
            "{} bytes of log never released",
            store.unreleased_log_bytes()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A store whose fjall state is all in table files, then `n` acknowledged commits that only
/// fjall's journal and the log hold, and a crash image of it in which fjall's journal lost
/// them all (as after a power loss, had fjall's journal never been synced since).
fn power_loss_image(n: u32) -> (tempfile::TempDir, Vec<u64>) {
    let live = tempfile::tempdir().unwrap();
    let store = FjallStore::open(live.path()).unwrap();
    put(&store, &item(u32::MAX), b"before");
    store.flush_memtables().unwrap();
    let versions = write_acknowledged(&store, n);
    let image = tempfile::tempdir().unwrap();
    copy_dir(live.path(), image.path());
    drop(store);
    lose_fjall_journals(image.path());
    (image, versions)
}

/// The items `0..n` of a recovered store: exactly the first `j` with their versions.
fn assert_prefix(store: &FjallStore, versions: &[u64], j: usize, what: &str) {
    for (i, version) in versions.iter().enumerate() {
        let got = store.get(&item(i as u32)).unwrap();
        if i < j {
            let got = got.unwrap_or_else(|| panic!("{what}: item {i} lost"));
            assert_eq!(got.version, *version, "{what}: item {i}");
        } else {
            assert!(got.is_none(), "{what}: item {i} should not exist");
        }
    }
    assert!(store.get(&item(u32::MAX)).unwrap().is_some(), "{what}");
}

#[test]
fn power_loss_image_recovers_from_the_log() {
    let (image, versions) = power_loss_image(200);
    let recovered = FjallStore::open(image.path()).unwrap();
    // And the frame of the item written before the flush, in the same (active) segment.
    assert_eq!(recovered.replayed_frames(), 201);
    assert_prefix(&recovered, &versions, 200, "intact log");
    // Versions continue above the recovered ones.
    let next = put(&recovered, &item(500), b"after");
    assert!(next > versions[199]);
}

/// A replay large enough to be inserted on several threads ([`insert_replayed`]): the same
/// keys are overwritten and deleted in every one of many frames, so that the versions of a
/// key are spread over the threads' shares. After recovery every key holds what the last
/// frame wrote (or is deleted), and the versions carried on.
#[test]
fn a_replay_split_over_threads_keeps_the_newest_version_of_every_key() {
    let live = tempfile::tempdir().unwrap();
    let store = FjallStore::open(live.path()).unwrap();
    let (rounds, keys) = (60u32, 100u32);
    assert!(rounds * keys > 2 * REPLAY_ENTRIES_PER_THREAD as u32);
    let deleted = |round: u32, i: u32| (i + round) % 7 == 0;
    let mut last = 0;
    for round in 0..rounds {
        let writes = (0..keys)
            .map(|i| match deleted(round, i) {
                true => binderdb_storage::Write::Delete { key: item(i) },
                false => binderdb_storage::Write::Put {
                    key: item(i),
                    value: format!("round {round}").into_bytes(),
                },
            })
            .collect();
        last = store
            .commit(binderdb_storage::Batch {
                writes,
                guards: vec![],
            })
            .unwrap();
    }
    durable(&store).wait().unwrap();
    let (_image, recovered) = open_kill_image(live.path());
    assert!(recovered.replayed_frames() >= rounds as usize);
    for i in 0..keys {
        let got = recovered.get(&item(i)).unwrap();
        if deleted(rounds - 1, i) {
            assert!(got.is_none(), "item {i} should be deleted");
        } else {
            let got = got.unwrap_or_else(|| panic!("item {i} lost"));
            assert_eq!(got.value, format!("round {}", rounds - 1).into_bytes());
            assert_eq!(got.version, last);
        }
    }
    assert!(put(&recovered, &item(keys), b"after") > last);
}

/// The log cut or damaged around every frame boundary of its last segment and in the middle of
/// every frame (the log module's own test covers every byte offset; each case here reopens a
/// whole store):
/// the store always recovers exactly the commits whose frames lie wholly before the damage.
#[test]
fn cut_log_recovers_exactly_a_prefix_of_commits() {
    let (image, versions) = power_loss_image(12);
    let log_dir = wal::dir_of(image.path());
    let recovered = wal::recover(&log_dir).unwrap();
    // The first frame is the item written before the flush.
    assert_eq!(recovered.payloads.len(), 13);
    let segment = log_dir.join(format!("{}.log", recovered.last_seq));
    let original = std::fs::read(&segment).unwrap();
    let mut ends = Vec::new();
    let mut at = wal::HEADER_BYTES as usize;
    for payload in &recovered.payloads {
        at += wal::FRAME_HEADER_BYTES as usize + payload.len();
        ends.push(at);
    }
    let mut offsets = vec![wal::HEADER_BYTES as usize];
    let mut start = wal::HEADER_BYTES as usize;
    for end in &ends {
        offsets.extend([start + 3, (start + end) / 2, end - 1, *end]);
        start = *end;
    }
    offsets.sort_unstable();
    offsets.dedup();
    for (n, cut) in offsets.into_iter().enumerate() {
        let attempt = tempfile::tempdir().unwrap();
        copy_dir(image.path(), attempt.path());
        let target = wal::dir_of(attempt.path()).join(format!("{}.log", recovered.last_seq));
        let mut bytes = original.clone();
        let what = if n % 2 == 0 {
            bytes[cut..].fill(0);
            format!("cut at {cut}")
        } else {
            bytes[cut] ^= 0x21;
            format!("byte {cut} flipped")
        };
        std::fs::write(&target, &bytes).unwrap();
        let store = FjallStore::open(attempt.path()).unwrap();
        let j = ends
            .iter()
            .filter(|end| **end <= cut)
            .count()
            .saturating_sub(1);
        assert_prefix(&store, &versions, j, &what);
    }
}

/// Every key of `table` fjall holds, in any data keyspace (dropped or not: raw fjall reads).
fn raw_keys_of(store: &FjallStore, table: u64) -> usize {
    let prefix = codec::table_prefix(table).unwrap();
    store
        .spaces
        .iter()
        .filter_map(OnceLock::get)
        .map(|space| space.prefix(&*prefix).count())
        .sum()
}

fn table_item(table: u64, i: u32) -> Key {
    key(Keyspace::Items, table, &i.to_be_bytes(), b"")
}

/// A dropped table's writes are in the log's newest segment, the drop has finished (its keys
/// and marker removed, nothing of it logged), and the store is killed: in the kill image
/// (fjall's journal as the kernel had it) and in a power-loss image (fjall's journals lost since
/// open, so recovery replays the whole segment, the dropped table's writes included), recovery
/// never brings a key of the dropped table back, while every acknowledged write of the other
/// table survives.
#[test]
fn a_finished_drop_is_not_undone_by_recovery() {
    const DROPPED: u64 = 1;
    const KEPT: u64 = 2;
    let live = tempfile::tempdir().unwrap();
    let store = FjallStore::open(live.path()).unwrap();
    let mut kept = Vec::new();
    for i in 0..300 {
        put(&store, &table_item(DROPPED, i), b"dropped");
        kept.push(put(&store, &table_item(KEPT, i), b"kept"));
        if i == 150 {
            // Half of the dropped table in table files (removed whole by the drop), half in
            // memtables (removed by unlogged tombstones).
            store.flush_memtables().unwrap();
        }
    }
    durable(&store).wait().unwrap();
    store.drop_table(DROPPED).unwrap();
    store.wait_for_drops();
    for i in 300..320 {
        kept.push(put(&store, &table_item(KEPT, i), b"kept"));
    }
    durable(&store).wait().unwrap();
    store.flush().unwrap();
    assert_eq!(raw_keys_of(&store, DROPPED), 0);
    let kill = tempfile::tempdir().unwrap();
    copy_dir(live.path(), kill.path());
    let power = tempfile::tempdir().unwrap();
    copy_dir(live.path(), power.path());
    lose_fjall_journals(power.path());
    drop(store);
    for (image, what) in [(kill, "kill image"), (power, "power-loss image")] {
        let recovered = FjallStore::open(image.path()).unwrap();
        if what == "power-loss image" {
            // Items 151.. of the dropped table were only in the log (fjall lost its journal):
            // recovery left them out rather than writing them back for the resumed drop.
            assert!(recovered.skipped_dropped_writes() >= 149, "{what}");
            for i in 151..300 {
                let physical = codec::encode(&table_item(DROPPED, i)).unwrap();
                let raw = recovered.get_raw(Keyspace::Items, &physical).unwrap();
                assert!(
                    raw.is_none(),
                    "{what}: item {i} of the dropped table replayed"
                );
            }
        }
        // Right after open, before a resumed drop could have removed anything: the table's
        // keys are gone, or its drop is pending again (it was not finished in what fjall kept)
        // and hides them until it has removed them.
        assert!(
            raw_keys_of(&recovered, DROPPED) == 0 || recovered.dropper.hides(DROPPED),
            "{what}"
        );
        for (i, version) in kept.iter().enumerate() {
            let got = recovered.get(&table_item(KEPT, i as u32)).unwrap();
            assert_eq!(got.map(|v| v.version), Some(*version), "{what}: item {i}");
        }
        recovered.wait_for_drops();
        assert_eq!(raw_keys_of(&recovered, DROPPED), 0, "{what}");
    }
}

/// In the modes that acknowledge once the log is written, acknowledging writers write the log
/// themselves (several threads at once here, across segment switches, which they leave to the
/// syncer): every acknowledged commit is in a kill image, and `none` acknowledged them all
/// without a single log sync. `group` syncs on its own once its window has passed.
#[test]
fn group_and_none_acknowledge_written_commits_that_survive_a_kill() {
    for durability in [Durability::None, Durability::Group] {
        let live = tempfile::tempdir().unwrap();
        let options = FjallOptions {
            durability,
            ..small_log()
        };
        let store = FjallStore::open_with(live.path(), &options).unwrap();
        let acknowledged: Vec<(u32, u64)> = std::thread::scope(|s| {
            let writers: Vec<_> = (0..4u32)
                .map(|t| {
                    let store = &store;
                    s.spawn(move || {
                        (0..100u32)
                            .map(|i| {
                                let n = t * 1000 + i;
                                let version = put(store, &item(n), format!("value {n}").as_bytes());
                                durable(store).wait().unwrap();
                                (n, version)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            writers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        assert!(
            store.checkpoint_count() >= 1,
            "{durability:?}: no segment switch"
        );
        if durability == Durability::None {
            assert_eq!(store.sync_count(), 0, "acknowledging synced the log");
        } else {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while store.sync_count() == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "group mode never synced its window"
                );
                std::thread::yield_now();
            }
        }
        let (_image, recovered) = open_kill_image(live.path());
        for (n, version) in &acknowledged {
            let got = recovered
                .get(&item(*n))
                .unwrap()
                .unwrap_or_else(|| panic!("{durability:?}: item {n} lost"));
            assert_eq!(got.version, *version, "{durability:?}: item {n}");
            assert_eq!(got.value, format!("value {n}").into_bytes());
        }
    }
}
