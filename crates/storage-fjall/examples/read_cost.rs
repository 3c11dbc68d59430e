//! What one point read and one 10-item partition read cost in the fjall store, by table size,
//! without HTTP in the way: the store-level half of `scripts/scale-bench`.
//!
//! Loads ITEMS items of ~200 bytes (10-item partitions keyed like the bench's, `p000000042`),
//! in 25-item commits as BatchWriteItem makes them, into a fresh store (or reuses `--dir`),
//! flushes, waits until flushes and compactions have stopped, reopens the store (a cold block
//! cache, as after a restart) and then, on one thread, reads random items (`get`) and random
//! partitions (`range`) for `--seconds` each after as long a warm-up, printing the thread's CPU
//! time per read (from `/proc/thread-self/schedstat`, so other processes on a busy machine do
//! not count), the wall time per read, and the store's levels.
//!
//! ```text
//! cargo run --release -p binderdb-storage-fjall --example read_cost -- 1000000 [--dir DIR]
//!     [--cache-mib 64] [--seconds 3] [--only get|range] [--major]
//! ```
//! `--major` merges every level into one first (fjall's major compaction), `--only` runs one
//! of the two reads (for `perf record`).

use std::ops::{Bound, ControlFlow};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use binderdb_storage::{Batch, Key, Keyspace, PartitionRange, Store, Write};
use binderdb_storage_fjall::{FjallOptions, FjallStore};

const ITEMS_PER_PARTITION: u64 = 10;
const TABLE: u64 = 7;

fn key(index: u64) -> Key {
    Key {
        keyspace: Keyspace::Items,
        table: TABLE,
        partition: format!("p{:09}", index / ITEMS_PER_PARTITION).into_bytes(),
        sort: (index % ITEMS_PER_PARTITION).to_be_bytes().to_vec(),
    }
}

/// A ~200-byte value: a counter and a prefix of a repeated alphabet, like the bench's payload.
fn value(index: u64) -> Vec<u8> {
    let mut v = index.to_be_bytes().to_vec();
    v.extend((0..190u8).map(|i| b'a' + i % 26));
    v
}

/// A small xorshift: the reads' keys, the same sequence in every run.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Nanoseconds this thread has run on a CPU (Linux's schedstat): unlike wall time, it does not
/// count the time other processes on a busy machine take from it.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn settle(store: &FjallStore) {
    let mut quiet_since = Instant::now();
    loop {
        let m = store.metrics();
        let busy = m.pending_flushes.unwrap_or(0) > 0 || m.active_compactions.unwrap_or(0) > 0;
        if busy {
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() > Duration::from_secs(3) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut items = 1_000_000u64;
    let mut dir = None;
    let mut seconds = 3.0f64;
    let mut only = String::new();
    let mut major = false;
    let mut options = FjallOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = args.next().map(PathBuf::from),
            "--major" => major = true,
            "--only" => only = args.next().ok_or("--only get|range")?,
            "--seconds" => seconds = args.next().ok_or("--seconds N")?.parse()?,
            "--cache-mib" => {
                options.cache_bytes = args.next().ok_or("--cache-mib N")?.parse::<u64>()? << 20;
            }
            n => items = n.replace('_', "").parse()?,
        }
    }
    let temp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| temp.path().to_path_buf());
    let fresh = !dir.join("wal").exists()
        && std::fs::read_dir(&dir).map_or(true, |mut d| d.next().is_none());
    if fresh {
        let store = FjallStore::open_with(&dir, &options)?;
        let started = Instant::now();
        let mut index = 0;
        while index < items {
            let end = (index + 25).min(items);
            let writes = (index..end)
                .map(|i| Write::Put {
                    key: key(i),
                    value: value(i),
                })
                .collect();
            store.commit(Batch {
                writes,
                guards: Vec::new(),
            })?;
            index = end;
        }
        store.flush()?;
        store.flush_memtables()?;
        let loaded = started.elapsed();
        settle(&store);
        eprintln!(
            "loaded {items} items in {:.1} s, settled after {:.1} s",
            loaded.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    }
    let mut store = FjallStore::open_with(&dir, &options)?;
    settle(&store);
    if major {
        store.compact_fully()?;
        drop(store);
        store = FjallStore::open_with(&dir, &options)?;
    }
    eprintln!("{}", store.read_path_summary());
    let budget = Duration::from_secs_f64(seconds);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // A first pass warms the block cache the way a running server's reads do.
    let gets: &[&str] = if only == "range" {
        &[]
    } else {
        &["warm", "get"]
    };
    for &round in gets {
        let started = Instant::now();
        let cpu = cpu_ns();
        let mut reads = 0u64;
        let mut found = 0u64;
        while started.elapsed() < budget {
            for _ in 0..1000 {
                found += u64::from(store.get(&key(rng.below(items)))?.is_some());
            }
            reads += 1000;
        }
        if round == "get" {
            let ns = started.elapsed().as_nanos() as f64 / reads as f64;
            let cpu = (cpu_ns() - cpu) as f64 / reads as f64;
            println!(
                "{items} items get: {cpu:.0} CPU ns/read, {ns:.0} wall ({found} of {reads} found)"
            );
        }
    }
    let partitions = items.div_ceil(ITEMS_PER_PARTITION);
    let ranges: &[&str] = if only == "get" {
        &[]
    } else {
        &["warm", "range"]
    };
    for &round in ranges {
        let started = Instant::now();
        let cpu = cpu_ns();
        let mut reads = 0u64;
        let mut entries = 0u64;
        while started.elapsed() < budget {
            for _ in 0..100 {
                let partition = format!("p{:09}", rng.below(partitions)).into_bytes();
                let r = PartitionRange {
                    keyspace: Keyspace::Items,
                    table: TABLE,
                    partition: &partition,
                    lower: Bound::Unbounded,
                    upper: Bound::Unbounded,
                    reverse: false,
                };
                store.range(&r, &mut |_| {
                    entries += 1;
                    ControlFlow::Continue(())
                })?;
            }
            reads += 100;
        }
        if round == "range" {
            let ns = started.elapsed().as_nanos() as f64 / reads as f64;
            let cpu = (cpu_ns() - cpu) as f64 / reads as f64;
            println!(
                "{items} items range: {cpu:.0} CPU ns/read, {ns:.0} wall ({:.1} entries a read)",
                entries as f64 / reads as f64
            );
        }
    }
    eprintln!("{}", store.read_path_summary());
    Ok(())
}
