//! `binderdb backup --to DIR`: asks a running server for a consistent copy of its whole data
//! directory (`POST /binderdb/backup`), which `binderdb serve --data-dir DIR` then starts
//! from. The server writes the copy, so `DIR` is a directory of the server's machine; a
//! relative `DIR` is made absolute against this command's working directory (the same
//! directory when the server runs on this machine). The request is signed with SigV4 from
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (with keys configured, the server takes it only
//! from a key of its own account without a policy).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use clap::Args;

use crate::bench::client::{Connection, Endpoint};
use crate::bench::sigv4::{Credentials, Signer};

/// `binderdb backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The server, `http://host:port`.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    endpoint: String,
    /// The region the request is signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Where the copy goes, on the server's machine: an empty or new directory.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
}

/// Runs `binderdb backup`; prints what was copied.
///
/// # Errors
/// The server's refusal (its message), or a connection failure, as text.
pub fn run(args: BackupArgs) -> Result<(), String> {
    let dir = if args.to.is_absolute() {
        args.to.clone()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot read the working directory: {e}"))?
            .join(&args.to)
    };
    let dir = dir
        .to_str()
        .ok_or_else(|| format!("{}: not a UTF-8 path", dir.display()))?
        .to_owned();
    let endpoint = Arc::new(Endpoint::parse(&args.endpoint)?);
    let signer = Signer::new(Credentials::from_env(), &args.region, "dynamodb");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start runtime: {e}"))?;
    let reply = runtime.block_on(async move {
        let mut conn = Connection::open(endpoint, signer).await?;
        let body = serde_json::json!({ "Directory": dir }).to_string();
        let request = conn.prepare_admin("/binderdb/backup", Bytes::from(body));
        conn.send(request).await
    })?;
    let answer = reply.json();
    if !reply.is_ok() {
        let message = answer["message"]
            .as_str()
            .or_else(|| answer["Message"].as_str())
            .unwrap_or("no message");
        return Err(format!("{}: {message}", reply.error_code()));
    }
    println!(
        "copied {} entries ({:.1} MB, up to commit {}) to {} in {:.2} s",
        answer["Entries"],
        answer["Bytes"].as_f64().unwrap_or(0.0) / 1e6,
        answer["Version"],
        answer["Directory"].as_str().unwrap_or_default(),
        answer["Seconds"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}
