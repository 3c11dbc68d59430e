//! Measures durable commits per second on `FjallStore` (every commit then waits, on its thread,
//! for the group fsync to cover it, as an acknowledging server does) with 1 and 32 writer
//! threads.
//!
//! Then, alternately, 32 writers whose commits carry a counter delta (as every item write's does)
//! and 32 whose commits do not, printing the process's CPU time per commit for each: what
//! keeping statistics costs a commit.
//!
//! Run: `cargo run --release -p binderdb-storage-fjall --example commit_throughput [DIR]`
//! (DIR defaults to a temporary directory under the current one, so the fsyncs hit a real disk
//! rather than a tmpfs `/tmp`).

use std::error::Error;
use std::time::{Duration, Instant};

use binderdb_storage::{durable, Batch, CounterId, Counts, Key, Keyspace, Store, Write};
use binderdb_storage_fjall::FjallStore;

const RUN_FOR: Duration = Duration::from_secs(3);

/// The counter the `counted` runs change (table 1000's own).
const COUNTER: CounterId = CounterId {
    group: 1000,
    lane: 1000,
};

/// This process's user + system CPU time, in seconds (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, in clock ticks of 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn run(store: &FjallStore, threads: u32) -> Result<(), Box<dyn Error + Send + Sync>> {
    run_with(store, threads, false, 0).map(|_| ())
}

/// Runs `threads` writers for [`RUN_FOR`] on table `table` (each commit adding a delta to
/// [`COUNTER`] when `counted`); returns the CPU microseconds per commit.
fn run_with(
    store: &FjallStore,
    threads: u32,
    counted: bool,
    table: u64,
) -> Result<f64, Box<dyn Error + Send + Sync>> {
    let cpu_before = cpu_seconds();
    let (commits_before, syncs_before) = (store.commit_count(), store.sync_count());
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<(), Box<dyn Error + Send + Sync>> {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || -> Result<(), binderdb_storage::StorageError> {
                    let mut i = 0u64;
                    while started.elapsed() < RUN_FOR {
                        let key = Key {
                            keyspace: Keyspace::Items,
                            table: u64::from(threads) + table,
                            partition: t.to_be_bytes().to_vec(),
                            sort: i.to_be_bytes().to_vec(),
                        };
                        let mut writes = vec![Write::Put {
                            key,
                            value: vec![0; 100],
                        }];
                        if counted {
                            writes.push(Write::Count {
                                counter: COUNTER,
                                delta: Counts {
                                    items: 1,
                                    bytes: 100,
                                },
                            });
                        }
                        store.commit(Batch {
                            writes,
                            guards: vec![],
                        })?;
                        durable(store).wait()?;
                        i += 1;
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| "writer panicked")??;
        }
        Ok(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    let commits = store.commit_count() - commits_before;
    let syncs = store.sync_count() - syncs_before;
    let cpu_per_commit = (cpu_seconds() - cpu_before) / commits.max(1) as f64 * 1e6;
    println!(
        "{threads:>2} threads{}: {:>8.0} commits/s ({commits} commits, {syncs} fsyncs, {:.1} commits/fsync, {cpu_per_commit:.2} µs CPU/commit)",
        if counted { " counted" } else { "        " },
        commits as f64 / secs,
        commits as f64 / syncs.max(1) as f64
    );
    Ok(cpu_per_commit)
}

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let dir = match std::env::args_os().nth(1) {
        Some(path) => tempfile::tempdir_in(path)?,
        None => tempfile::tempdir_in(".")?,
    };
    let store = FjallStore::open(dir.path())?;
    for threads in [1, 32] {
        run(&store, threads)?;
    }
    store.commit(Batch {
        writes: vec![Write::SetCount {
            counter: COUNTER,
            value: Counts::default(),
        }],
        guards: vec![],
    })?;
    let (mut plain, mut counted) = (Vec::new(), Vec::new());
    for round in 0..6u64 {
        // Alternated, in both orders, so drift of a shared machine favours neither.
        for with in [round % 2 == 0, round % 2 == 1] {
            let cpu = run_with(&store, 32, with, 100 * (round + 1))?;
            if with { &mut counted } else { &mut plain }.push(cpu);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, c) = (median(&mut plain), median(&mut counted));
    println!(
        "CPU per commit, medians of 6: plain {p:.2} µs, counted {c:.2} µs ({:+.1}%)",
        (c / p - 1.0) * 100.0
    );
    Ok(())
}
