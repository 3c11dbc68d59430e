//! `POST /binderdb/backup`: a consistent copy of the server's whole data directory (not a
//! DynamoDB API; `binderdb backup --to DIR` calls it).
//!
//! The body is `{"Directory": "/absolute/path"}`, a directory on the server's machine that is
//! empty or does not exist; the answer, once the copy is on stable storage, is
//! `{"Directory": ..., "Version": <last commit copied>, "Entries": n, "Bytes": n,
//! "Seconds": s}`. The copy is taken by the engine from one storage snapshot while writes go
//! on (`binderdb_engine::backup::data_dir`).
//!
//! With access keys configured the request must be signed like an API call, and by a key of
//! the server's own account without an identity policy (the operator's): the copy holds every
//! account's tables. Any other key gets `AccessDeniedException`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use binderdb_engine::{Database, Error};
use binderdb_storage::StorageError;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiError;

/// Where the copy is asked for.
pub(crate) const BACKUP_PATH: &str = "/binderdb/backup";

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CopyRequest {
    /// The destination, absolute, on the server's machine.
    directory: String,
}

/// Copies the data directory as `body` asks; the answer's JSON body.
pub(crate) async fn backup(
    db: Arc<Database>,
    caller: &Caller,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    if let Some(principal) = &caller.principal {
        if principal.account.is_some() || principal.policy.is_some() {
            let account = principal
                .account
                .as_deref()
                .unwrap_or(&db.config().account_id);
            return Err(ApiError::access_denied(format!(
                "User: arn:aws:iam::{account}:user/{} is not authorized to perform: \
                 binderdb:Backup (a copy of the data directory holds every account's \
                 tables: only a key of the server's own account without a policy may \
                 take one)",
                principal.user
            )));
        }
    }
    let request: CopyRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::serialization(Some(format!("{BACKUP_PATH}: {e}"))))?;
    let dir = PathBuf::from(&request.directory);
    if !dir.is_absolute() {
        return Err(ApiError::validation(format!(
            "Directory must be an absolute path on the server's machine: {}",
            request.directory
        )));
    }
    let started = Instant::now();
    let copied = tokio::task::spawn_blocking(move || db.copy_data_dir(&dir))
        .await
        .map_err(|_| ApiError::internal("the data directory copy failed"))?;
    match copied {
        Ok(summary) => Ok(serde_json::json!({
            "Directory": request.directory,
            "Version": summary.version,
            "Entries": summary.entries,
            "Bytes": summary.bytes,
            "Seconds": started.elapsed().as_secs_f64(),
        })),
        Err(Error::Storage(
            StorageError::InvalidArgument(message) | StorageError::Unsupported(message),
        )) => Err(ApiError::validation(message)),
        Err(e) => Err(ApiError::internal(format!(
            "the data directory copy failed: {e}"
        ))),
    }
}
