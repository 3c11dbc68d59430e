//! Where exports go and imports come from: the [`ObjectStore`] contract, and its local
//! implementation, S3 buckets mapped to local directories ([`LocalBuckets`]). The S3 client
//! (`binderdb-s3`, for `--s3-endpoint`) implements the same contract over HTTP, outside the
//! engine, which knows no HTTP.
//!
//! With `--s3-dir DIR`, bucket `B` is the directory `DIR/B` and object key `a/b/c` the file
//! `DIR/B/a/b/c`. As in S3, a bucket must exist (create the directory) before anything is
//! written to it; a missing one fails the export or import with S3's `NoSuchBucket`.
//! Objects are written to a temporary name and renamed when complete, so a reader never sees
//! half an object.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

/// Why an object operation failed: S3's error code and message, as DynamoDB reports them in
/// `FailureCode` / `FailureMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    /// e.g. `S3NoSuchBucket`.
    pub code: String,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for ObjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ObjectError {}

impl ObjectError {
    /// An I/O failure. An object store's own error carried through `std::io::Write` (an
    /// [`ObjectSink`] wraps its [`ObjectError`] in the `io::Error`) comes back as it was;
    /// anything else is reported as S3's access denial (the closest S3 code: the bucket's
    /// storage refused).
    pub fn io(e: &io::Error) -> ObjectError {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ObjectError>()) {
            return inner.clone();
        }
        ObjectError {
            code: "S3AccessDenied".to_owned(),
            message: e.to_string(),
        }
    }
}

/// A store of objects in buckets, as S3 is: what exports write and imports read. Calls block
/// (exports and imports run on their own threads).
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Starts writing `key` in `bucket`; nothing is visible under the key until
    /// [`ObjectSink::finish`]. Memory does not grow with the object.
    ///
    /// # Errors
    /// A missing bucket, a refused key, or the store's own failure.
    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectSink>, ObjectError>;

    /// Writes a whole small object.
    ///
    /// # Errors
    /// As [`ObjectStore::create`].
    fn put(&self, bucket: &str, key: &str, body: &[u8]) -> Result<(), ObjectError> {
        let mut w = self.create(bucket, key)?;
        w.write_all(body).map_err(|e| ObjectError::io(&e))?;
        w.finish()
    }

    /// The keys in `bucket` starting with `prefix`, in key order, with their sizes.
    ///
    /// # Errors
    /// A missing bucket, or the store's own failure.
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, u64)>, ObjectError>;

    /// Opens `key` in `bucket` for reading, streaming.
    ///
    /// # Errors
    /// A missing bucket or object, or the store's own failure.
    fn open(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, ObjectError>;

    /// The same store, checking that buckets belong to account `owner` (`S3BucketOwner`):
    /// S3 refuses a bucket of another owner with `AccessDenied`.
    fn with_expected_owner(&self, owner: Option<&str>) -> std::sync::Arc<dyn ObjectStore>;

    /// The local directory an import's error log is written to (`CloudWatchLogGroupArn`'s
    /// stand-in), if the store has one.
    fn import_log_dir(&self) -> Option<PathBuf>;
}

/// One object being written (see [`ObjectStore::create`]). Dropped without
/// [`ObjectSink::finish`], the object is abandoned and never appears.
pub trait ObjectSink: Write + Send {
    /// Makes the object visible under its key.
    ///
    /// # Errors
    /// The store's.
    fn finish(self: Box<Self>) -> Result<(), ObjectError>;
}

/// Buckets as directories under one root.
#[derive(Debug, Clone)]
pub struct LocalBuckets {
    root: PathBuf,
}

/// One object being written.
#[derive(Debug)]
pub struct ObjectWriter {
    temp: PathBuf,
    target: PathBuf,
    file: BufWriter<fs::File>,
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl ObjectSink for ObjectWriter {
    fn finish(mut self: Box<Self>) -> Result<(), ObjectError> {
        self.file.flush().map_err(|e| ObjectError::io(&e))?;
        fs::rename(&self.temp, &self.target).map_err(|e| ObjectError::io(&e))
    }
}

impl LocalBuckets {
    /// Buckets under `root`.
    pub fn new(root: PathBuf) -> LocalBuckets {
        LocalBuckets { root }
    }

    fn bucket(&self, bucket: &str) -> Result<PathBuf, ObjectError> {
        let dir = self.root.join(bucket);
        if bucket.contains(['/', '\\']) || bucket.starts_with('.') || !dir.is_dir() {
            return Err(ObjectError {
                code: "S3NoSuchBucket".to_owned(),
                message: "The specified bucket does not exist".to_owned(),
            });
        }
        Ok(dir)
    }

    /// The file of `key` in `bucket`; keys that would leave the bucket are refused.
    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        let mut path = self.bucket(bucket)?;
        let relative = Path::new(key);
        if key.is_empty()
            || relative
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(ObjectError {
                code: "S3InvalidObjectKey".to_owned(),
                message: format!("Invalid object key: {key}"),
            });
        }
        path.push(relative);
        Ok(path)
    }
}

impl ObjectStore for LocalBuckets {
    fn create(&self, bucket: &str, key: &str) -> Result<Box<dyn ObjectSink>, ObjectError> {
        let target = self.path(bucket, key)?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| ObjectError::io(&e))?;
        }
        let mut temp = target.clone().into_os_string();
        temp.push(".binderdb-partial");
        let temp = PathBuf::from(temp);
        let file = fs::File::create(&temp).map_err(|e| ObjectError::io(&e))?;
        Ok(Box::new(ObjectWriter {
            temp,
            target,
            file: BufWriter::with_capacity(1 << 20, file),
        }))
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, u64)>, ObjectError> {
        let root = self.bucket(bucket)?;
        let mut out = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).map_err(|e| ObjectError::io(&e))? {
                let entry = entry.map_err(|e| ObjectError::io(&e))?;
                let path = entry.path();
                let meta = entry.metadata().map_err(|e| ObjectError::io(&e))?;
                let Ok(relative) = path.strip_prefix(&root) else {
                    continue;
                };
                let key = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                if meta.is_dir() {
                    // Descend only where keys with the prefix can be.
                    let as_prefix = format!("{key}/");
                    if prefix.starts_with(&as_prefix) || as_prefix.starts_with(prefix) {
                        pending.push(path);
                    }
                } else if key.starts_with(prefix) && !key.ends_with(".binderdb-partial") {
                    out.push((key, meta.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn open(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, ObjectError> {
        let path = self.path(bucket, key)?;
        let file = fs::File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ObjectError {
                code: "S3NoSuchKey".to_owned(),
                message: "The specified key does not exist.".to_owned(),
            },
            _ => ObjectError::io(&e),
        })?;
        Ok(Box::new(file))
    }

    /// Directories have no owner to check: a local bucket is the server's own.
    fn with_expected_owner(&self, _owner: Option<&str>) -> std::sync::Arc<dyn ObjectStore> {
        std::sync::Arc::new(self.clone())
    }

    /// `<root>/_binderdb-logs/aws-dynamodb/imports`, which no bucket can shadow (bucket names
    /// never start with `_`).
    fn import_log_dir(&self) -> Option<PathBuf> {
        Some(
            self.root
                .join("_binderdb-logs")
                .join("aws-dynamodb")
                .join("imports"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_directories_and_keys_stay_inside() {
        let root = std::env::temp_dir().join(format!("binderdb-objects-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("b")).unwrap();
        let buckets = LocalBuckets::new(root.clone());
        assert_eq!(
            buckets.put("missing", "k", b"x").unwrap_err().code,
            "S3NoSuchBucket"
        );
        assert!(buckets.put("b", "../escape", b"x").is_err());
        assert!(buckets.put("b", "/abs", b"x").is_err());
        buckets.put("b", "p/q/one.json", b"1").unwrap();
        buckets.put("b", "p/two", b"22").unwrap();
        buckets.put("b", "other", b"333").unwrap();
        let listed = buckets.list("b", "p/").unwrap();
        assert_eq!(
            listed,
            vec![("p/q/one.json".to_owned(), 1), ("p/two".to_owned(), 2)]
        );
        assert_eq!(buckets.list("b", "").unwrap().len(), 3);
        let mut text = String::new();
        buckets
            .open("b", "p/two")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "22");
        fs::remove_dir_all(&root).unwrap();
    }
}
