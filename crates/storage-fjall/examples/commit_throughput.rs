//! Measures durable commits per second on `FjallStore` (every commit then waits, on its thread,
//! for the group fsync to cover it, as an acknowledging server does) with 1 and 32 writer
//! threads.
//!
//! Run: `cargo run --release -p binderdb-storage-fjall --example commit_throughput [DIR]`
//! (DIR defaults to a temporary directory under the current one, so the fsyncs hit a real disk
//! rather than a tmpfs `/tmp`).

use std::error::Error;
use std::time::{Duration, Instant};

use binderdb_storage::{durable, Batch, Key, Keyspace, Store, Write};
use binderdb_storage_fjall::FjallStore;

const RUN_FOR: Duration = Duration::from_secs(3);

fn run(store: &FjallStore, threads: u32) -> Result<(), Box<dyn Error + Send + Sync>> {
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
                            table: u64::from(threads),
                            partition: t.to_be_bytes().to_vec(),
                            sort: i.to_be_bytes().to_vec(),
                        };
                        let writes = vec![Write::Put {
                            key,
                            value: vec![0; 100],
                        }];
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
    println!(
        "{threads:>2} threads: {:>8.0} commits/s ({commits} commits, {syncs} fsyncs, {:.1} commits/fsync)",
        commits as f64 / secs,
        commits as f64 / syncs.max(1) as f64
    );
    Ok(())
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
    Ok(())
}
