//! Where exports go and imports come from: S3 buckets mapped to local directories.
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

impl ObjectError {
    fn io(e: &io::Error) -> ObjectError {
        ObjectError {
            code: "S3AccessDenied".to_owned(),
            message: e.to_string(),
        }
    }
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

impl ObjectWriter {
    /// Makes the object visible under its key.
    ///
    /// # Errors
    /// The file system's.
    pub fn finish(mut self) -> Result<(), ObjectError> {
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

    /// Starts writing `key` in `bucket`.
    ///
    /// # Errors
    /// A missing bucket, a bad key, or the file system's.
    pub fn create(&self, bucket: &str, key: &str) -> Result<ObjectWriter, ObjectError> {
        let target = self.path(bucket, key)?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| ObjectError::io(&e))?;
        }
        let mut temp = target.clone().into_os_string();
        temp.push(".binderdb-partial");
        let temp = PathBuf::from(temp);
        let file = fs::File::create(&temp).map_err(|e| ObjectError::io(&e))?;
        Ok(ObjectWriter {
            temp,
            target,
            file: BufWriter::with_capacity(1 << 20, file),
        })
    }

    /// Writes a whole small object.
    ///
    /// # Errors
    /// As [`LocalBuckets::create`].
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) -> Result<(), ObjectError> {
        let mut w = self.create(bucket, key)?;
        w.write_all(body).map_err(|e| ObjectError::io(&e))?;
        w.finish()
    }

    /// The keys in `bucket` starting with `prefix`, in key order, with their sizes.
    ///
    /// # Errors
    /// A missing bucket, or the file system's.
    pub fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, u64)>, ObjectError> {
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

    /// Opens `key` in `bucket` for reading.
    ///
    /// # Errors
    /// A missing bucket or object, or the file system's.
    pub fn open(&self, bucket: &str, key: &str) -> Result<Box<dyn Read>, ObjectError> {
        let path = self.path(bucket, key)?;
        let file = fs::File::open(path).map_err(|e| ObjectError::io(&e))?;
        Ok(Box::new(file))
    }

    /// The directory an import's error log is written to (`CloudWatchLogGroupArn`'s stand-in):
    /// `<root>/_binderdb-logs/aws-dynamodb/imports`, which no bucket can shadow (bucket names
    /// never start with `_`).
    pub fn import_log_dir(&self) -> PathBuf {
        self.root
            .join("_binderdb-logs")
            .join("aws-dynamodb")
            .join("imports")
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
