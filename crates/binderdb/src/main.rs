//! The `binderdb` binary: command line, configuration, logging, and the choice of storage engine.
//!
//! `binderdb serve` opens the durable fjall engine in `--data-dir` (or the in-memory engine with
//! `--in-memory`), starts the HTTP server, logs one line when it is ready, and shuts down cleanly
//! on SIGINT or SIGTERM: in-flight requests finish and every acknowledged write is on disk.
//!
//! `binderdb bench` loads any DynamoDB endpoint and reports throughput and latency ([`bench`]).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use binderdb_engine::consistency::LagMode;
use binderdb_engine::faults::FaultConfig;
use binderdb_engine::{Config, Database, SystemClock};
use binderdb_server::{Auth, Limits, Principal, ServeOptions, Tls};
use binderdb_storage::{MemoryStore, Store};
use binderdb_storage_fjall::{Durability, FjallOptions, FjallStore};
use clap::{Args, Parser, Subcommand, ValueEnum};
use logs::LogFormat;

mod bench;
mod bill;
mod data_copy;
mod keys;
mod logs;
mod transfer;

/// mimalloc instead of glibc's malloc: under a durable PutItem load glibc's allocator took about
/// a fifth of the server's CPU (`malloc_consolidate`, `_int_malloc`, `_int_free`); measured
/// alternately in one session, mimalloc served 15-30% more GetItem and PutItem calls.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// binderdb: a DynamoDB-compatible database server.
#[derive(Debug, Parser)]
#[command(name = "binderdb", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the DynamoDB API over HTTP.
    Serve(Box<ServeArgs>),
    /// Load a DynamoDB endpoint and report throughput and latency (or run the null server).
    Bench(bench::BenchArgs),
    /// Create, list and revoke the access keys of a credentials file.
    Keys(keys::KeysArgs),
    /// Export a table of any endpoint to a directory, in DynamoDB's export format.
    Export(transfer::ExportArgs),
    /// Import DynamoDB JSON or Ion data files (an export's) into a table of any endpoint.
    Import(transfer::ImportArgs),
    /// Print what a server's traffic (or one command's, after `--`) would cost on DynamoDB.
    Bill(bill::BillArgs),
    /// Copy a running server's whole data directory, consistently, into an empty directory
    /// that `binderdb serve --data-dir` starts from.
    Backup(data_copy::BackupArgs),
}

/// `--durability` values (see [`Durability`]).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum DurabilityArg {
    Sync,
    Group,
    None,
}

impl From<DurabilityArg> for Durability {
    fn from(arg: DurabilityArg) -> Self {
        match arg {
            DurabilityArg::Sync => Durability::Sync,
            DurabilityArg::Group => Durability::Group,
            DurabilityArg::None => Durability::None,
        }
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 picks a free one; the ready line names it).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Directory of the durable store.
    #[arg(long, default_value = "./binderdb-data")]
    data_dir: PathBuf,
    /// Keep everything in memory (nothing survives a restart).
    #[arg(long)]
    in_memory: bool,
    /// Where the data lives: `fjall` (the durable store in `--data-dir`), `memory` (as
    /// `--in-memory`) or `rados` (a Ceph pool: `--ceph-conf` and `--pool`; needs a build with
    /// the `rados` feature).
    #[arg(long, value_enum, default_value_t = StorageKind::Fjall)]
    storage: StorageKind,
    /// With `--storage rados`: the Ceph configuration file (monitors and keyring).
    #[arg(long, value_name = "FILE")]
    ceph_conf: Option<PathBuf>,
    /// With `--storage rados`: the RADOS pool holding the data (it must exist).
    #[arg(long, value_name = "NAME", default_value = "binderdb")]
    pool: String,
    /// The durable store's block cache, in MiB (decompressed data blocks, bloom filters and
    /// index blocks). Default: a quarter of the machine's memory (or of the cgroup's limit), at
    /// least 64.
    #[arg(long, value_name = "MIB")]
    cache_size: Option<u64>,
    /// The durable store's write-ahead log segment, in MiB: a memtable is flushed at each
    /// segment switch, and recovery after a crash replays the segments not flushed yet (about
    /// two). For measurements.
    #[arg(long, value_name = "MIB", hide = true)]
    wal_segment_size: Option<u64>,
    /// When the durable store acknowledges a write: `sync` once it is on stable storage
    /// (fdatasync of the write-ahead log, shared by concurrent writers); `group` once the
    /// operating system has it, synced within 10 ms (a power loss may lose the last 10 ms);
    /// `none` once the operating system has it, synced only once per 8 MiB log segment (survives a
    /// crash of binderdb, not of the machine).
    #[arg(long, value_enum, default_value_t = DurabilityArg::Sync)]
    durability: DurabilityArg,
    /// Account id used in ARNs.
    #[arg(long, default_value = "000000000000")]
    account_id: String,
    /// How long new tables and indexes stay CREATING (updated ones UPDATING, deleted ones
    /// DELETING), in milliseconds.
    #[arg(long, default_value_t = 0)]
    create_delay_ms: u64,
    /// Most table items an online index backfill reads per second (0: as fast as it can).
    #[arg(long, default_value_t = 0)]
    backfill_items_per_second: u64,
    /// Shifts this process's clock by this many milliseconds (negative: behind). For tests of
    /// several nodes whose clocks disagree; never needed in production.
    #[arg(long, default_value_t = 0, hide = true, allow_hyphen_values = true)]
    clock_offset_ms: i64,
    /// Exports, imports and an index's final recount pause this many microseconds per item.
    /// For tests that kill a node mid-job; never needed in production.
    #[arg(long, default_value_t = 0, hide = true)]
    job_item_delay_us: u64,
    /// Shards of a new stream (each owns an equal range of partition hashes).
    #[arg(long, default_value_t = 4)]
    stream_shards: u16,
    /// How long a generation of stream shards stays open before child shards succeed it, in
    /// seconds.
    #[arg(long, default_value_t = 4 * 60 * 60)]
    stream_shard_rotation_secs: u64,
    /// Most records in one stream shard before a child shard succeeds it, so a busy stream
    /// splits sooner (0: no limit).
    #[arg(long, default_value_t = 1_000_000)]
    stream_shard_max_records: u64,
    /// Most bytes of records in one stream shard before a child shard succeeds it (0: no
    /// limit).
    #[arg(long, default_value_t = 0)]
    stream_shard_max_bytes: u64,
    /// How often the TTL sweeper looks for expired items, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    ttl_sweep_interval_ms: u64,
    /// Most expired items the TTL sweeper deletes per second (0: no limit), so a mass expiry
    /// leaves foreground latency alone.
    #[arg(long, default_value_t = 25_000)]
    ttl_sweep_items_per_second: u64,
    /// Most expired items the TTL sweeper deletes per table in one pass.
    #[arg(long, default_value_t = 100)]
    ttl_sweep_batch: usize,
    /// Allow more than one UpdateTimeToLive per table per hour (DynamoDB refuses it).
    #[arg(long)]
    ttl_relax_change_limit: bool,
    /// An access key, `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (repeatable). With any key configured,
    /// every API call must carry a valid SigV4 signature made with one of them.
    #[arg(long = "access-key", value_name = "ID:SECRET")]
    access_keys: Vec<String>,
    /// A file of access keys, one `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (or `ID SECRET`) per line;
    /// blank lines and lines starting with `#` are ignored.
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// A PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow listening on a non-loopback address without access keys (anyone who reaches the
    /// port can then read and change every table).
    #[arg(long)]
    insecure: bool,
    /// Most connections served at once (more wait until one closes).
    #[arg(long, default_value_t = 8192)]
    max_connections: usize,
    /// Seconds a connection may take to send a request's headers, and may stay idle between
    /// requests.
    #[arg(long, default_value_t = 60)]
    header_timeout_secs: u64,
    /// Seconds a request's body may take to arrive.
    #[arg(long, default_value_t = 60)]
    body_timeout_secs: u64,
    /// Throttle requests by each table's capacity, as DynamoDB does (provisioned buckets with
    /// burst, partition limits, the on-demand ceiling). A table's `binderdb:throttling` tag
    /// (`on` or `off`) overrides this.
    #[arg(long)]
    throttling: bool,
    /// Let eventually consistent reads see the data as it was up to this many milliseconds
    /// ago (0: off).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    consistency_lag: u64,
    /// Draw each eventually consistent read's staleness within the lag (from `--seed`)
    /// instead of always the whole lag.
    #[arg(long)]
    consistency_lag_random: bool,
    /// Seed of the random choices made for realism (lag draws).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where S3 buckets live for ExportTableToPointInTime and ImportTable: bucket B is the
    /// directory DIR/B (create it first, as a bucket is created first in S3).
    #[arg(long, value_name = "DIR", conflicts_with = "s3_endpoint")]
    s3_dir: Option<PathBuf>,
    /// An S3-compatible server for ExportTableToPointInTime and ImportTable, path-style
    /// (`http://127.0.0.1:9000`, `https://s3.us-east-1.amazonaws.com`); requests are signed
    /// with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. Import error logs go
    /// to DATA_DIR/import-logs.
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// The region S3 requests are signed for (default: AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION")]
    s3_region: Option<String>,
    /// Keys per ListObjectsV2 page (tests use small pages to exercise paging).
    #[arg(long, default_value_t = 1000, hide = true)]
    s3_list_page_size: u32,
    /// A JSON file of fault-injection rules (also settable at `/binderdb/faults`).
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,
    /// A JSON file of prices for the bill (any of the members of `GET /bill`'s `prices`;
    /// the others keep their us-east-1 defaults).
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
    /// Log format: `text` (one readable line per event) or `json` (one JSON object per line,
    /// with the `request_id` of the request it was written for).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log every API call that takes at least this many milliseconds (with its operation,
    /// table, duration and request id) at WARN level (0 logs every call).
    #[arg(long, value_name = "MS")]
    slow_request_ms: Option<u64>,
    /// Where item reads run: `adaptive` (inline while they are fast, on the blocking pool while
    /// they wait for the disk), `inline` or `pool`. For measurements.
    #[arg(long, value_name = "WHERE", default_value = "adaptive", hide = true)]
    read_dispatch: binderdb_server::ReadDispatch,
    /// Do not count API calls for `GET /metrics` (per-table latency, errors, throttles); the
    /// bill's counters stay.
    #[arg(long)]
    no_metrics: bool,
}

/// The region S3 requests are signed for: `--s3-region`, else `AWS_REGION`, else us-east-1.
fn s3_region(flag: Option<&str>) -> String {
    flag.map(str::to_owned)
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .unwrap_or_else(|| "us-east-1".to_owned())
}

fn main() -> std::process::ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            logs::init(args.log_level, args.log_format);
            match serve(*args, started) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Keys(args) => match keys::run(args) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("binderdb keys: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Export(args) => match transfer::export(args) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("binderdb export: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Import(args) => match transfer::import(args) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("binderdb import: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Bill(args) => match bill::run(args) {
            Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                eprintln!("binderdb bill: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Backup(args) => match data_copy::run(args) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("binderdb backup: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Bench(args) => match bench::run(args) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("binderdb bench: {e}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}

fn serve(args: ServeArgs, started: Instant) -> Result<(), String> {
    let auth = Arc::new(auth(&args)?);
    if !args.host.is_loopback() && !auth.enabled() && !args.insecure {
        return Err(format!(
            "refusing to listen on {} without access keys: anyone who can reach it could read              and change every table (give --access-key or --credentials, or --insecure to              accept that)",
            args.host
        ));
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::from_pem_files(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let options = ServeOptions {
        auth: auth.clone(),
        tls,
        limits: Limits {
            max_connections: args.max_connections.max(1),
            header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
            body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
            ..Limits::default()
        },
        observer: Arc::new(binderdb_server::Observer::new(
            !args.no_metrics,
            args.slow_request_ms.map(Duration::from_millis),
        )),
        read_dispatch: args.read_dispatch,
    };
    let (store, storage): (Arc<dyn Store>, String) = if args.storage == StorageKind::Rados {
        open_rados(args.ceph_conf.as_deref(), &args.pool)?
    } else if args.in_memory || args.storage == StorageKind::Memory {
        (Arc::new(MemoryStore::new()), "in-memory".to_owned())
    } else {
        std::fs::create_dir_all(&args.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", args.data_dir.display()))?;
        let options = FjallOptions {
            cache_bytes: args
                .cache_size
                .map_or_else(binderdb_storage_fjall::default_cache_bytes, |mib| {
                    mib.saturating_mul(1 << 20)
                }),
            durability: args.durability.into(),
            wal_segment_bytes: args
                .wal_segment_size
                .map_or(binderdb_storage_fjall::wal::DEFAULT_SEGMENT_BYTES, |mib| {
                    mib.max(1).saturating_mul(1 << 20)
                }),
        };
        let store = FjallStore::open_with(&args.data_dir, &options)
            .map_err(|e| format!("cannot open {}: {e}", args.data_dir.display()))?;
        (
            Arc::new(store),
            format!("durable at {}", args.data_dir.display()),
        )
    };
    let config = Config {
        account_id: args.account_id,
        create_delay_ms: args.create_delay_ms,
        backfill_items_per_second: args.backfill_items_per_second,
        stream_shards: args.stream_shards.max(1),
        stream_shard_rotation_ms: args.stream_shard_rotation_secs.max(1).saturating_mul(1000),
        stream_shard_max_records: args.stream_shard_max_records,
        stream_shard_max_bytes: args.stream_shard_max_bytes,
        ttl_sweep_interval_ms: args.ttl_sweep_interval_ms,
        ttl_sweep_items_per_second: args.ttl_sweep_items_per_second,
        ttl_sweep_batch: args.ttl_sweep_batch.max(1),
        ttl_relax_change_limit: args.ttl_relax_change_limit,
        throttling: args.throttling,
        consistency_lag_ms: args.consistency_lag,
        consistency_lag_mode: if args.consistency_lag_random {
            LagMode::Random
        } else {
            LagMode::Fixed
        },
        seed: args.seed,
        job_item_delay_us: args.job_item_delay_us,
        s3_dir: args.s3_dir.clone(),
        object_store: match &args.s3_endpoint {
            Some(url) => Some(Arc::new(binderdb_s3::s3::S3Buckets::new(
                binderdb_s3::s3::S3Options {
                    endpoint: binderdb_s3::connect::Url::parse(url)?,
                    region: s3_region(args.s3_region.as_deref()),
                    credentials: binderdb_s3::sigv4::Credentials::from_env(),
                    list_page_size: args.s3_list_page_size,
                    import_log_dir: (!args.in_memory && args.storage != StorageKind::Memory)
                        .then(|| args.data_dir.join("import-logs")),
                },
            )?)),
            None => None,
        },
        prices: match &args.prices {
            Some(path) => serde_json::from_slice(&read(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?,
            None => Default::default(),
        },
        ..Config::default()
    };
    let faults = match &args.faults {
        Some(path) => {
            Some(FaultConfig::parse(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let clock: Arc<dyn binderdb_engine::Clock> = if args.clock_offset_ms == 0 {
        Arc::new(SystemClock)
    } else {
        Arc::new(binderdb_engine::OffsetClock::new(args.clock_offset_ms))
    };
    let db =
        Database::open(store, config, clock).map_err(|e| format!("cannot open database: {e}"))?;
    if let Some(faults) = faults {
        db.faults().set(faults);
    }
    // `binderdb backup --to DIR`: any engine that can walk a snapshot of itself is copied as
    // a fresh fjall data directory (RADOS refuses in its `Store::checkpoint`).
    db.set_checkpoint_writer(Arc::new(|dir, source| {
        binderdb_storage_fjall::write_checkpoint(dir, source)
    }));
    let db = Arc::new(db);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start runtime: {e}"))?;
    runtime.block_on(async move {
        let (listener, addr) = binderdb_server::bind(SocketAddr::new(args.host, args.port))
            .await
            .map_err(|e| format!("cannot listen on {}:{}: {e}", args.host, args.port))?;
        let signatures = if auth.enabled() {
            format!("SigV4 verified with {} keys", auth.key_count())
        } else {
            "any signature accepted".to_owned()
        };
        // Watched before the ready line: a SIGTERM sent as soon as it appears must stop the
        // server cleanly, not kill it (the default action until a handler is installed).
        let shutdown = shutdown_signal();
        tracing::info!(
            "binderdb ready: listening on {scheme}://{addr} (storage: {storage}, {} tables, {signatures}, ready in {:.1} ms)",
            db.table_count(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        binderdb_server::serve_with(listener, db, options, shutdown)
            .await
            .map_err(|e| format!("server failed: {e}"))?;
        tracing::info!("binderdb stopped cleanly");
        Ok(())
    })
}

/// The contents of a file named on the command line.
fn read(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The keys of `--access-key` and `--credentials` (none: verification off).
fn auth(args: &ServeArgs) -> Result<Auth, String> {
    let mut keys = Vec::new();
    for key in &args.access_keys {
        let (id, secret) = Auth::parse_key(key).map_err(|e| format!("--access-key: {e}"))?;
        keys.push(Principal::new(id, secret));
    }
    if let Some(path) = &args.credentials {
        let from_file = Auth::read_credentials_file(path)?;
        if from_file.is_empty() {
            // An empty file would silently turn verification off: refuse it.
            return Err(format!("{}: no access keys in the file", path.display()));
        }
        keys.extend(from_file);
    }
    Ok(Auth::with_principals(keys))
}

/// Completes on SIGINT or SIGTERM.
/// Resolves at the first SIGTERM or SIGINT. The handlers are installed when this is called
/// (in the runtime), not when the future is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
                _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            },
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("cannot watch SIGTERM and SIGINT: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// The storage engine `binderdb serve` runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StorageKind {
    /// The durable embedded store in `--data-dir`.
    Fjall,
    /// Memory only.
    Memory,
    /// A Ceph RADOS pool.
    Rados,
}

/// Opens the RADOS engine on `pool` of the cluster `conf` describes.
#[cfg(feature = "rados")]
fn open_rados(
    conf: Option<&std::path::Path>,
    pool: &str,
) -> Result<(Arc<dyn Store>, String), String> {
    let conf = conf.ok_or("--storage rados needs --ceph-conf FILE")?;
    let options = binderdb_storage_rados::RadosOptions {
        conf: conf.to_path_buf(),
        pool: pool.to_owned(),
        user: None,
        prefix: String::new(),
    };
    let store = binderdb_storage_rados::RadosStore::open(&options)
        .map_err(|e| format!("cannot open RADOS pool {pool} ({}): {e}", conf.display()))?;
    Ok((Arc::new(store), format!("RADOS pool {pool}")))
}

/// Without the `rados` feature there is no RADOS engine to open.
#[cfg(not(feature = "rados"))]
fn open_rados(
    _conf: Option<&std::path::Path>,
    _pool: &str,
) -> Result<(Arc<dyn Store>, String), String> {
    Err(
        "this binderdb was built without RADOS support: build it with \
         `cargo build --release -p binderdb --features rados` (needs librados-dev)"
            .to_owned(),
    )
}
