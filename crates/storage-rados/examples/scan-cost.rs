//! What a Scan of a small table costs while another table of the same pool is large.
//!
//! ```text
//! scan-cost CONF POOL PREFIX load N      # N one-item partitions into table 1 (16 threads)
//! scan-cost CONF POOL PREFIX small M     # M one-item partitions into table 2
//! scan-cost CONF POOL PREFIX scan RUNS   # RUNS full scans of table 2: each one's ms, then the median
//! scan-cost CONF POOL PREFIX bucket N    # N read-modify-writes of one key from 16 threads
//! ```
//! Opening the store is timed too (`open ms`), as opening may do one-time work.
#![cfg_attr(not(feature = "rados"), allow(unused))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

#[cfg(feature = "rados")]
fn main() {
    use std::ops::ControlFlow;
    use std::time::Instant;

    use binderdb_storage::{Batch, Key, Keyspace, SegmentScan, Store, Write};
    use binderdb_storage_rados::{RadosOptions, RadosStore};

    let args: Vec<String> = std::env::args().collect();
    let [_, conf, pool, prefix, mode, n] = args.as_slice() else {
        eprintln!("usage: scan-cost CONF POOL PREFIX load|small|scan N");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("N");
    let options = RadosOptions {
        conf: conf.into(),
        pool: pool.clone(),
        user: None,
        prefix: prefix.clone(),
    };
    let opened = Instant::now();
    let store = RadosStore::open(&options).expect("open");
    println!("open ms {:.1}", opened.elapsed().as_secs_f64() * 1e3);
    let put = |table: u64, i: u64| {
        let key = Key {
            keyspace: Keyspace::Items,
            table,
            partition: format!("item{i:08}").into_bytes(),
            sort: Vec::new(),
        };
        store
            .commit(Batch {
                writes: vec![Write::Put {
                    key,
                    value: vec![7; 100],
                }],
                guards: Vec::new(),
            })
            .expect("commit");
    };
    match mode.as_str() {
        "load" => {
            let started = Instant::now();
            let next = std::sync::atomic::AtomicU64::new(0);
            std::thread::scope(|s| {
                for _ in 0..16 {
                    s.spawn(|| loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        put(1, i);
                    });
                }
            });
            println!("loaded {n} in {:.1} s", started.elapsed().as_secs_f64());
        }
        "small" => (0..n).for_each(|i| put(2, i)),
        "scan" => {
            let mut times = Vec::new();
            for _ in 0..n {
                let started = Instant::now();
                let mut items = 0u64;
                store
                    .scan(
                        &SegmentScan {
                            keyspace: Keyspace::Items,
                            table: 2,
                            segment: 0,
                            total_segments: 1,
                            start_after: None,
                        },
                        &mut |_| {
                            items += 1;
                            ControlFlow::Continue(())
                        },
                    )
                    .expect("scan");
                let ms = started.elapsed().as_secs_f64() * 1e3;
                println!("scan of {items} items: {ms:.2} ms");
                times.push(ms);
            }
            times.sort_by(f64::total_cmp);
            if let Some(median) = times.get(times.len() / 2) {
                println!("median {median:.2} ms");
            }
        }
        "bucket" => {
            // What a token bucket shared through the pool would cost: every request a
            // read-modify-write of one key (the bucket), here N of them from 16 threads.
            let bucket = Key {
                keyspace: Keyspace::Items,
                table: 3,
                partition: b"bucket".to_vec(),
                sort: Vec::new(),
            };
            let started = Instant::now();
            let next = std::sync::atomic::AtomicU64::new(0);
            std::thread::scope(|s| {
                for _ in 0..16 {
                    s.spawn(|| {
                        while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                            store
                                .read_modify_write(&bucket, &mut |old| {
                                    let tokens = old.map_or(0, |v| v.value.len() as u64 % 64);
                                    Some(Batch {
                                        writes: vec![Write::Put {
                                            key: bucket.clone(),
                                            value: vec![0; tokens as usize + 1],
                                        }],
                                        guards: Vec::new(),
                                    })
                                })
                                .expect("read-modify-write");
                        }
                    });
                }
            });
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{n} bucket updates in {secs:.2} s: {:.0} per second",
                n as f64 / secs
            );
        }
        other => panic!("unknown mode {other}"),
    }
}

#[cfg(not(feature = "rados"))]
fn main() {}
