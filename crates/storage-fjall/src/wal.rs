//! binderdb's write-ahead log: what makes an acknowledged commit durable.
//!
//! Every fjall batch the store commits is also framed into this log, in the same order (both
//! happen under the store's version mutex). The group-commit thread writes the frames to the
//! active segment and calls `fdatasync` on it; fjall's own journal is not needed for recovery
//! (see `log_bound`).
//!
//! **Why segments allocated once and zero-filled.** fjall's journal is a sparse file
//! (`set_len`), so the first write to each of its blocks allocates it, and the `fdatasync`
//! that follows must also commit that allocation to the filesystem's journal, where it queues
//! behind the metadata of every table file a flush or compaction just wrote. A segment here is
//! written full of zeros once, when it is created, and then only overwritten: a sync writes data
//! blocks and flushes the device cache, with no filesystem metadata to commit. A completed
//! segment is kept until fjall's table files hold everything it logged
//! ([`Writer::release_through`]); it is then renamed `released-<seq>` and recycled by a later
//! segment (two spares are kept, more deleted).
//!
//! **Layout.** Segments live in `<data dir>/wal/<seq>.log`, `seq` a decimal u64 that grows by
//! one per segment. A segment opens with a [`HEADER_BYTES`] header: [`MAGIC`], the segment's
//! `seq` (u64 LE), and a CRC-32 of those 16 bytes. Frames follow it:
//!
//! ```text
//! len u32 LE | crc u32 LE | payload (len bytes)       crc = CRC-32(seq LE ‖ len LE ‖ payload)
//! ```
//!
//! A zero `len`, a frame running past the end of the file or a CRC mismatch ends the segment.
//! Putting the segment's `seq` into every frame's CRC is what makes recycling safe: a frame left
//! from the segment's previous life never checks out under its new `seq`.
//!
//! **Recovery** ([`recover`]) reads the newest segment whose header is valid and whose file
//! name matches its `seq`, and the segments before it while their `seq`s follow without a gap:
//! the unreleased ones, which hold everything fjall's table files may lack. Replaying their
//! frames in order onto what fjall recovered yields the last logged state whatever prefix of
//! them fjall already had, because every write in a frame is an absolute put or delete of a
//! key (counters included): replaying an in-order suffix that starts at or before fjall's own
//! end converges to the same state.
//!
//! This module knows files and frames only; the payload (a batch) is `batch_codec`'s business.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Size of a new segment (a frame larger than this gets a segment of its own size). It bounds
/// what recovery replays after a crash (about two segments, see `log_bound`) and the size of
/// memtables (each segment switch flushes them), so it trades start-up after a crash against
/// bulk-load throughput. Measured on 1,000,000-item loads (`scripts/measure-recovery`, medians
/// of 3–5 starts of copies of the killed directory, 2026-12-06, the shared 2-core machine
/// under a pause of its other builds): start-up after kill -9 right after the load 106 ms
/// with 16 MiB, 61 ms with 8 MiB, 42 ms with 4 MiB (127 ms before, replaying fjall's 64 MB
/// journal); alternated loads, 4 against 16 MiB: 50,036 / 59,605, 50,999 / 90,950, 77,909 /
/// 114,884 items/s (a median ratio of 0.68, and more requests over 100 ms). 8 MiB was not
/// alternated against 16 MiB (one load, 55,571 items/s, within the machine's noise). Much of
/// that cost was fjall's: each seal sent fjall's worker one flush message per keyspace, each
/// answered with an `fsync` of fjall's journal under the lock every commit takes. Seals no
/// longer do (see `log_bound`); 3,000,000-item loads alternated between the build before
/// (6c6cde2) and after (this change), 2026-12-06 18:20–18:30, each under a pause of the
/// machine's builds but beside other sessions' servers and a Ceph cluster (load average 5–9):
/// before with 8 MiB 47,743 / 41,718 items/s, after with 8 MiB 56,096 / 64,690; before with 32
/// MiB 61,663 / 38,811, after with 8 MiB 70,366 / 82,360 (requests over 100 ms 439 / 1,328
/// against 135 / 97). On the machine quietened (load average 3–5): after 102,710 / 103,523 /
/// 105,372, before 102,605 / 104,618 / 83,590, before with 32 MiB 108,252 / 101,022: both reach
/// 100,000 items/s with 8 MiB there, and the change pays only under contention. Start-up after
/// kill -9 right after a 1,000,000-item load: 57 ms after, with the same 8 MB of log left to
/// replay as before.
pub const DEFAULT_SEGMENT_BYTES: u64 = 8 * 1024 * 1024;

/// Size of the first segment of a new log: created sparse at once (so a fresh store opens
/// without writing megabytes of zeros), it is replaced by a zero-filled full-size segment,
/// prepared in the background, at the first switch.
pub const FIRST_SEGMENT_BYTES: u64 = 1024 * 1024;

/// Name of the zero-filled segment prepared in the background (not a segment name, so
/// [`recover`] ignores it).
const PREPARED: &str = "prepared";

/// Prefix of a released segment's file name ([`Writer::release_through`]): not a segment
/// name, so [`recover`] does not replay it; the next segments recycle it.
const RELEASED_PREFIX: &str = "released-";

/// Bytes at the start of a segment before its first frame.
pub const HEADER_BYTES: u64 = 32;

/// Identifies a segment file, and the version of its frame format (last byte).
pub const MAGIC: &[u8; 8] = b"bdbwal\0\x01";

/// Bytes in front of every payload: its length and CRC.
pub const FRAME_HEADER_BYTES: u64 = 8;

/// The log's directory inside a data directory.
pub fn dir_of(data_dir: &Path) -> PathBuf {
    data_dir.join("wal")
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq}.log"))
}

fn frame_crc(seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(&(payload.len() as u32).to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn header(seq: u64) -> [u8; HEADER_BYTES as usize] {
    let mut h = [0u8; HEADER_BYTES as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32fast::hash(&h[..16]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The `seq` a segment's header names, if the header is intact.
fn header_seq(bytes: &[u8]) -> Option<u64> {
    let h = bytes.get(..HEADER_BYTES as usize)?;
    if &h[..8] != MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes(h[16..20].try_into().ok()?);
    if crc32fast::hash(&h[..16]) != crc {
        return None;
    }
    Some(u64::from_le_bytes(h[8..16].try_into().ok()?))
}

/// Appends one frame (length prefix only; the CRC is added when written, once the segment and
/// so its `seq` are known) to `pending`.
pub fn push_frame(pending: &mut Vec<u8>, payload: &[u8]) {
    pending.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    pending.extend_from_slice(payload);
}

/// The segments in `dir`: `(seq, path)`, for files named like segments.
fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    files_named(dir, |name| {
        name.strip_suffix(".log")
            .and_then(|n| n.parse::<u64>().ok())
    })
}

/// `(what, path)` of every file in `dir` whose name `pick` gives a `what` for, in order
/// (none when `dir` does not exist).
fn files_named<T: Ord>(
    dir: &Path,
    pick: impl Fn(&str) -> Option<T>,
) -> std::io::Result<Vec<(T, PathBuf)>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if let Some(what) = entry.file_name().to_str().and_then(&pick) {
            found.push((what, entry.path()));
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// What [`recover`] found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The payloads of the segments recovery replays (see [`recover`]), oldest first.
    pub payloads: Vec<Vec<u8>>,
    /// The newest valid segment's `seq` (0: none).
    pub last_seq: u64,
    /// The segments whose payloads these are, oldest first: `(seq, path)`.
    pub replayed: Vec<(u64, PathBuf)>,
    /// Every other segment file found, and released spares: recycled by the next [`Writer`].
    pub files: Vec<PathBuf>,
}

/// The frames of the log in `dir` that recovery replays (see the module docs): those of the
/// newest valid segment and of the segments just before it, as long as their `seq`s follow
/// one another without a gap and their headers are valid. Segments are kept until fjall has
/// flushed what they hold (see [`Writer::release_through`]), so this is every frame fjall's
/// table files may lack, plus at most a few it already has.
///
/// # Errors
/// `Io` if the directory or a segment cannot be read. A damaged frame is not an error: its
/// segment ends before it.
pub fn recover(dir: &Path) -> std::io::Result<Recovered> {
    let mut recovered = Recovered::default();
    let segments = list(dir)?;
    let mut run: Vec<(u64, PathBuf, File)> = Vec::new();
    for (seq, path) in segments.iter().rev() {
        if run.last().is_some_and(|(newer, _, _)| *newer != seq + 1) {
            break;
        }
        let mut file = File::open(path)?;
        let mut head = [0u8; HEADER_BYTES as usize];
        if file.read_exact(&mut head).is_err() || header_seq(&head) != Some(*seq) {
            if run.is_empty() {
                continue;
            }
            break;
        }
        run.push((*seq, path.clone(), file));
    }
    run.reverse();
    recovered.last_seq = run.last().map_or(0, |(seq, _, _)| *seq);
    for (seq, _, file) in &run {
        read_frames(*seq, file, &mut recovered.payloads)?;
    }
    recovered.replayed = run.into_iter().map(|(seq, path, _)| (seq, path)).collect();
    recovered.files = segments
        .into_iter()
        .map(|(_, path)| path)
        .filter(|path| !recovered.replayed.iter().any(|(_, kept)| kept == path))
        .chain(released(dir)?)
        .collect();
    Ok(recovered)
}

/// [`recover`] running on a thread of its own, started with [`Recovery::start`]: the log is read
/// and checked while the caller does something else (the store's open: fjall opens its table
/// files meanwhile, see `FjallStore::open_with`), and [`Recovery::wait`] returns what
/// [`recover`] returns. With the page cache warm that hides the read (9 ms for one 8 MiB
/// segment on the development VM); with it cold, the read shares the disk with fjall's and
/// the prefetch's (measured in the crate root's `replay`).
pub(crate) struct Recovery {
    dir: PathBuf,
    thread: Option<std::thread::JoinHandle<std::io::Result<(Recovered, std::time::Duration)>>>,
}

impl Recovery {
    /// Starts reading the log in `dir`. Nothing else may write to `dir` until
    /// [`Recovery::wait`] returns. If no thread can be spawned, `wait` reads the log itself.
    pub(crate) fn start(dir: PathBuf) -> Recovery {
        let reading = dir.clone();
        let thread = std::thread::Builder::new()
            .name("binderdb-wal-recover".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                recover(&reading).map(|recovered| (recovered, started.elapsed()))
            })
            .ok();
        Recovery { dir, thread }
    }

    /// What [`recover`] found, and how long reading it took.
    ///
    /// # Errors
    /// As [`recover`]; also `Io` if the thread panicked.
    pub(crate) fn wait(self) -> std::io::Result<(Recovered, std::time::Duration)> {
        match self.thread {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("reading the log panicked"))),
            None => {
                let started = std::time::Instant::now();
                recover(&self.dir).map(|recovered| (recovered, started.elapsed()))
            }
        }
    }
}

/// Appends the intact frames of segment `seq` (open as `file`, header already checked) to
/// `payloads`, stopping at the first damaged or missing one.
fn read_frames(seq: u64, file: &File, payloads: &mut Vec<Vec<u8>>) -> std::io::Result<()> {
    // Frames are read one by one, so a segment is read only as far as it was written (after a
    // clean stop, its header and one empty frame header).
    let size = file.metadata()?.len();
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut at = HEADER_BYTES;
    let mut frame = [0u8; FRAME_HEADER_BYTES as usize];
    while at + FRAME_HEADER_BYTES <= size && reader.read_exact(&mut frame).is_ok() {
        let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        let end = at + FRAME_HEADER_BYTES + u64::from(len);
        if len == 0 || end > size {
            break;
        }
        let mut payload = vec![0u8; len as usize];
        if reader.read_exact(&mut payload).is_err() || frame_crc(seq, &payload) != crc {
            break;
        }
        payloads.push(payload);
        at = end;
    }
    Ok(())
}

/// Released segment files ([`Writer::release_through`]) in `dir`, waiting to be recycled.
fn released(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let found = files_named(dir, |name| name.starts_with(RELEASED_PREFIX).then_some(()))?;
    Ok(found.into_iter().map(|((), path)| path).collect())
}

/// Writes `len` zero bytes to `file` from `from`, unless `stop` is set.
fn zero_fill(file: &File, from: u64, len: u64, stop: &AtomicBool) -> std::io::Result<()> {
    let zeros = vec![0u8; 1 << 20];
    let mut at = from;
    let end = from + len;
    while at < end && !stop.load(Ordering::Relaxed) {
        let n = (end - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

struct Segment {
    seq: u64,
    path: PathBuf,
    /// Shared with whoever syncs it outside the writer's lock ([`Writer::sync_handle`]).
    file: Arc<File>,
    /// Where the next frame goes.
    pos: u64,
    /// The file's size: frames never go past it.
    capacity: u64,
}

/// A completed segment kept until fjall has flushed what it holds.
#[derive(Debug)]
struct Retained {
    seq: u64,
    path: PathBuf,
    /// Bytes of it in use (header and frames): what recovery would read of it.
    used: u64,
}

/// The log's writer, shared by the group-commit thread and (in the modes that do not sync per
/// acknowledgement) the acknowledging writers, behind one lock (see `group_commit`).
pub struct Writer {
    dir: PathBuf,
    segment_bytes: u64,
    active: Segment,
    /// Completed segments, oldest first, that fjall may not have flushed yet: recovery replays
    /// them (see [`Writer::release_through`]).
    retained: std::collections::VecDeque<Retained>,
    /// Segments up to this `seq` hold nothing fjall's table files lack.
    released_through: u64,
    /// Released segment files, recycled by the next segments (at most [`SPARES`]).
    spares: Vec<PathBuf>,
    /// Frames with their CRCs, for the active segment, not yet written.
    out: Vec<u8>,
    /// Segment switches since open.
    rolls: u64,
    /// Creates a zero-filled segment in the background when the log had none to recycle.
    preparing: Option<std::thread::JoinHandle<std::io::Result<PathBuf>>>,
    /// Tells the preparer to stop (the writer is dropped).
    stop_preparing: Arc<AtomicBool>,
}

/// Released segment files kept for recycling; more are deleted.
const SPARES: usize = 2;

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop_preparing.store(true, Ordering::Relaxed);
        if let Some(preparing) = self.preparing.take() {
            // A stopped preparation leaves only its temporary file, redone at the next open.
            let _ = preparing.join();
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("seq", &self.active.seq)
            .field("pos", &self.active.pos)
            .field("retained", &self.retained.len())
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts segment `last_seq + 1` in `dir`, keeping the segments of `retained` (`(seq,
    /// path)`, oldest first: what recovery replayed, which fjall has not flushed yet) until
    /// they are released, recycling one of `old` (segments and released files whose contents
    /// fjall holds) and deleting the others.
    ///
    /// # Errors
    /// `Io` if the directory or the segment cannot be written.
    pub fn start(
        dir: &Path,
        segment_bytes: u64,
        last_seq: u64,
        old: Vec<PathBuf>,
        retained: Vec<(u64, PathBuf)>,
    ) -> std::io::Result<Writer> {
        std::fs::create_dir_all(dir)?;
        // Full-size files are recycled; a smaller one (a first segment) would need zeros
        // written on the syncer's path, so it goes.
        let mut recyclable = Vec::new();
        for path in old {
            if std::fs::metadata(&path)?.len() >= segment_bytes {
                recyclable.push(path);
            } else {
                std::fs::remove_file(path)?;
            }
        }
        let prepared = dir.join(PREPARED);
        if prepared.exists() {
            recyclable.push(prepared);
        }
        let mut recyclable = recyclable.into_iter();
        let recycle = recyclable.next();
        let mut spares = Vec::new();
        if let Some(spare) = recyclable.next() {
            spares.push(released_name(dir, &spare, last_seq)?);
        }
        for extra in recyclable {
            std::fs::remove_file(extra)?;
        }
        let first = recycle.is_none() && retained.is_empty();
        let size = if first {
            segment_bytes.min(FIRST_SEGMENT_BYTES)
        } else {
            segment_bytes
        };
        let active = open_segment(dir, last_seq + 1, recycle, size)?;
        sync_dir(dir)?;
        let stop_preparing = Arc::new(AtomicBool::new(false));
        let preparing = if spares.is_empty() {
            let (dir, size) = (dir.to_path_buf(), segment_bytes);
            let stop = Arc::clone(&stop_preparing);
            Some(
                std::thread::Builder::new()
                    .name("binderdb-wal-prepare".into())
                    .spawn(move || prepare_segment(&dir, size, &stop))?,
            )
        } else {
            None
        };
        let retained = retained
            .into_iter()
            .map(|(seq, path)| {
                let used = std::fs::metadata(&path).map_or(0, |m| m.len());
                Retained { seq, path, used }
            })
            .collect();
        Ok(Writer {
            dir: dir.to_path_buf(),
            segment_bytes,
            active,
            retained,
            released_through: 0,
            spares,
            out: Vec::new(),
            rolls: 0,
            preparing,
            stop_preparing,
        })
    }

    /// Writes `frames` (built with [`push_frame`]) to the log, in order. When a frame does not
    /// fit in the active segment, the segment is completed and synced, `seal` is called with
    /// its `seq` (it must see to it that everything logged so far reaches fjall's table files,
    /// and call [`Writer::release_through`] once it has), and the writer moves to a new
    /// segment. The completed segment is kept, and replayed by recovery, until released.
    ///
    /// # Errors
    /// `Io` if a write, a sync or `seal` fails: the log may then have lost frames.
    pub fn write_frames(
        &mut self,
        frames: &[u8],
        seal: &mut dyn FnMut(u64) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut at = 0;
        while let Some(len) = frames.get(at..at + 4) {
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let payload = frames
                .get(at + 4..at + 4 + len)
                .ok_or_else(|| std::io::Error::other("malformed pending frame"))?;
            at += 4 + len;
            let needed = FRAME_HEADER_BYTES + len as u64;
            let buffered = self.out.len() as u64;
            if self.active.pos + buffered + needed > self.active.capacity {
                self.write_out()?;
                self.active.file.sync_data()?;
                seal(self.active.seq)?;
                self.roll(needed)?;
            }
            self.out
                .extend_from_slice(&(payload.len() as u32).to_le_bytes());
            self.out
                .extend_from_slice(&frame_crc(self.active.seq, payload).to_le_bytes());
            self.out.extend_from_slice(payload);
        }
        self.write_out()
    }

    /// Makes everything written so far durable (`fdatasync` of the active segment).
    ///
    /// # Errors
    /// `Io` if the sync fails.
    pub fn sync(&self) -> std::io::Result<()> {
        self.active.file.sync_data()
    }

    /// Whether frames taking `pending` bytes in a pending buffer ([`push_frame`]) fit in the
    /// active segment, so that [`Writer::write_frames`] writes them without moving to a new
    /// segment (and so without calling its seal). Conservative: a frame takes at most
    /// twice its pending size in the log (a pending frame is a 4-byte length and a non-empty
    /// payload; its log frame adds a 4-byte CRC).
    pub fn fits(&self, pending: usize) -> bool {
        let needed = (pending as u64).saturating_mul(2);
        self.active.pos + self.out.len() as u64 + needed <= self.active.capacity
    }

    /// The active segment's file, for an `fdatasync` made without holding the writer: it
    /// covers every frame written before the call. Frames written later may land in a new
    /// segment, which a later sync covers (the move to it synced this one first).
    pub fn sync_handle(&self) -> Arc<File> {
        Arc::clone(&self.active.file)
    }

    /// Ends the log cleanly: syncs the active segment, calls `seal` with its `seq` and starts
    /// an empty segment.
    ///
    /// # Errors
    /// `Io` if a sync, `seal` or the new segment fails.
    pub fn finish(
        &mut self,
        seal: &mut dyn FnMut(u64) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.write_out()?;
        self.active.file.sync_data()?;
        seal(self.active.seq)?;
        self.roll(0)
    }

    /// Says that fjall's table files hold everything logged in the segments up to `seq`: those
    /// segments are no longer replayed by recovery (their files are renamed to a released
    /// name, then recycled by later segments). The active segment is released when it is
    /// completed, if `seq` covers it by then.
    ///
    /// # Errors
    /// `Io` if a file cannot be renamed or deleted.
    pub fn release_through(&mut self, seq: u64) -> std::io::Result<()> {
        self.released_through = self.released_through.max(seq);
        while let Some(oldest) = self.retained.front() {
            if oldest.seq > self.released_through {
                break;
            }
            let Some(done) = self.retained.pop_front() else {
                break;
            };
            self.recycle_later(done.seq, done.path)?;
        }
        Ok(())
    }

    /// Bytes of the log that recovery would read if the process stopped now: the retained
    /// segments and the active one, as far as they are written.
    pub fn unreleased_bytes(&self) -> u64 {
        self.retained.iter().map(|r| r.used).sum::<u64>() + self.active.pos
    }

    /// Number of segment switches since open.
    pub fn rolls(&self) -> u64 {
        self.rolls
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        self.active.file.write_all_at(&self.out, self.active.pos)?;
        self.active.pos += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    /// Renames a released segment out of recovery's way and keeps it as a spare (a full-size
    /// one, while fewer than [`SPARES`] are kept), or moves it into the store's trash, whose
    /// thread deletes it (`crate::trash`). The rename is not synced: if a power loss undoes it,
    /// recovery replays the segment once more, which is harmless (its frames come before every
    /// retained one, see the module docs).
    ///
    /// Not deleted here: this runs under the log's lock (a segment switch of the group-commit
    /// thread, or a release by the flush thread), and deleting an 8 MiB segment waits for the
    /// filesystem to free its blocks (a discard on the development VM, tens of milliseconds
    /// when the disk is busy), during which no acknowledgement could be written or synced. A
    /// log directory without a data directory above it (the log's own tests) deletes at once.
    fn recycle_later(&mut self, seq: u64, path: PathBuf) -> std::io::Result<()> {
        let full = std::fs::metadata(&path)?.len() >= self.segment_bytes;
        if full && self.spares.len() < SPARES {
            let spare = self.dir.join(format!("{RELEASED_PREFIX}{seq}"));
            std::fs::rename(&path, &spare)?;
            self.spares.push(spare);
            return Ok(());
        }
        let trashed = self
            .dir
            .parent()
            .filter(|data| data.join(crate::trash::TRASH).is_dir())
            .map(|data| crate::trash::discard(data, &path, &format!("log-{seq}")));
        match trashed {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "cannot move a released log segment to the trash");
                std::fs::remove_file(&path)
            }
            None => std::fs::remove_file(&path),
        }
    }

    /// Moves to segment `seq + 1`, big enough for a frame of `needed` bytes.
    fn roll(&mut self, needed: u64) -> std::io::Result<()> {
        let size = self.segment_bytes.max(HEADER_BYTES + needed);
        if self.spares.is_empty() {
            if let Some(preparing) = self.preparing.take_if(|p| p.is_finished()) {
                match preparing.join() {
                    Ok(Ok(path)) => self.spares.push(path),
                    Ok(Err(e)) => tracing::warn!(error = %e, "preparing a log segment failed"),
                    Err(_) => tracing::warn!("the log segment preparer panicked"),
                }
            }
        }
        let next = open_segment(&self.dir, self.active.seq + 1, self.spares.pop(), size)?;
        let done = std::mem::replace(&mut self.active, next);
        if done.seq <= self.released_through {
            self.recycle_later(done.seq, done.path)?;
        } else {
            self.retained.push_back(Retained {
                seq: done.seq,
                path: done.path,
                used: done.pos,
            });
        }
        self.rolls += 1;
        Ok(())
    }
}

/// `spare` under a name recovery does not replay (a segment's name becomes a released one).
fn released_name(dir: &Path, spare: &Path, last_seq: u64) -> std::io::Result<PathBuf> {
    let is_segment = spare
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".log"));
    if !is_segment {
        return Ok(spare.to_path_buf());
    }
    let renamed = dir.join(format!("{RELEASED_PREFIX}{last_seq}-spare"));
    std::fs::rename(spare, &renamed)?;
    Ok(renamed)
}

/// Creates segment `seq` (reusing `recycle` if given, else a new zero-filled file) of at least
/// `size` bytes, with its header written and synced.
fn open_segment(
    dir: &Path,
    seq: u64,
    recycle: Option<PathBuf>,
    size: u64,
) -> std::io::Result<Segment> {
    let path = segment_path(dir, seq);
    let file = match recycle {
        Some(old) => {
            std::fs::rename(&old, &path)?;
            OpenOptions::new().read(true).write(true).open(&path)?
        }
        None => OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?,
    };
    let len = file.metadata()?.len();
    if len < size {
        // Only a first segment, or one without a prepared file ready, gets here: a sparse
        // extension, whose blocks are allocated by the syncs that first write them (as fjall's
        // journal always does). Recycled and prepared segments are real zeros throughout.
        file.set_len(size)?;
    }
    let capacity = len.max(size);
    // The header last: until it is written the file does not count as this segment.
    file.write_all_at(&header(seq), 0)?;
    file.sync_data()?;
    Ok(Segment {
        seq,
        path,
        file: Arc::new(file),
        pos: HEADER_BYTES,
        capacity,
    })
}

/// Writes a zero-filled segment file of `size` bytes (synced) and moves it to [`PREPARED`].
fn prepare_segment(dir: &Path, size: u64, stop: &AtomicBool) -> std::io::Result<PathBuf> {
    let tmp = dir.join(format!("{PREPARED}.tmp"));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    // Real zeros, not `set_len` or `fallocate`: those leave blocks unallocated or unwritten,
    // and the first sync over each would commit filesystem metadata.
    zero_fill(&file, 0, size, stop)?;
    if stop.load(Ordering::Relaxed) {
        return Err(std::io::Error::other("stopped"));
    }
    file.sync_all()?;
    let done = dir.join(PREPARED);
    std::fs::rename(&tmp, &done)?;
    Ok(done)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(i: usize) -> Vec<u8> {
        (0..(i * 7) % 300 + 1).map(|j| (i + j) as u8).collect()
    }

    /// Writes `n` frames to a new log in `dir`; with `release`, every completed segment is
    /// then released (as once fjall has flushed them).
    fn write(dir: &Path, n: usize, segment: u64, release: bool) -> (Writer, Vec<Vec<u8>>, u64) {
        let mut w = Writer::start(dir, segment, 0, Vec::new(), Vec::new()).unwrap();
        let mut all = Vec::new();
        let mut seals = 0;
        for i in 0..n {
            let mut pending = Vec::new();
            push_frame(&mut pending, &payload(i));
            all.push(payload(i));
            w.write_frames(&pending, &mut |_| {
                seals += 1;
                Ok(())
            })
            .unwrap();
        }
        w.sync().unwrap();
        if release {
            w.release_through(w.active.seq - 1).unwrap();
        }
        (w, all, seals)
    }

    #[test]
    fn unreleased_segments_are_all_replayed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (w, all, seals) = write(dir.path(), 200, 4096, false);
        assert!(w.rolls() >= 3, "{} rolls", w.rolls());
        assert_eq!(seals, w.rolls());
        let unreleased = w.unreleased_bytes();
        let got = recover(dir.path()).unwrap();
        assert_eq!(got.last_seq, w.rolls() + 1);
        assert_eq!(got.payloads, all);
        assert_eq!(got.replayed.len() as u64, w.rolls() + 1);
        let on_disk: u64 = all
            .iter()
            .map(|p| FRAME_HEADER_BYTES + p.len() as u64)
            .sum::<u64>()
            + HEADER_BYTES * (w.rolls() + 1);
        assert_eq!(unreleased, on_disk);
    }

    #[test]
    fn released_segments_are_not_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, all, _) = write(dir.path(), 200, 4096, false);
        let active = w.active.seq;
        let before = w.unreleased_bytes();
        w.release_through(active - 2).unwrap();
        assert!(w.unreleased_bytes() < before);
        let got = recover(dir.path()).unwrap();
        assert_eq!(
            got.replayed.iter().map(|r| r.0).collect::<Vec<_>>(),
            [active - 1, active]
        );
        // What it replays is a suffix of everything.
        assert_eq!(got.payloads[..], all[all.len() - got.payloads.len()..]);
        // Released files wait for recycling (at most two), the others are gone.
        assert!(
            !got.files.is_empty() && got.files.len() <= 2,
            "{:?}",
            got.files
        );
        // A segment completed after its release point is released at once.
        w.release_through(active + 1).unwrap();
        assert_eq!(w.retained.len(), 0);
        let mut pending = Vec::new();
        push_frame(&mut pending, &vec![7u8; 4000]);
        w.write_frames(&pending, &mut |_| Ok(())).unwrap();
        assert_eq!(w.active.seq, active + 1);
        assert_eq!(w.retained.len(), 0);
        assert_eq!(recover(dir.path()).unwrap().replayed.len(), 1);
    }

    #[test]
    fn released_segments_beyond_the_spares_go_to_the_stores_trash() {
        let data = tempfile::tempdir().unwrap();
        let trash = data.path().join(crate::trash::TRASH);
        std::fs::create_dir_all(&trash).unwrap();
        let log = dir_of(data.path());
        let (w, all, _) = write(&log, 200, 4096, true);
        assert!(w.rolls() >= 4, "{} rolls", w.rolls());
        // Two released files are kept as spares; every other completed segment was moved to
        // the trash (for its thread to delete), none deleted on the log's path.
        let trashed: Vec<String> = std::fs::read_dir(&trash)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            trashed.len() as u64,
            w.rolls() - SPARES as u64,
            "{trashed:?}"
        );
        assert!(
            trashed.iter().all(|name| name.starts_with("log-")),
            "{trashed:?}"
        );
        let got = recover(&log).unwrap();
        assert_eq!(got.files.len(), SPARES);
        assert_eq!(got.payloads[..], all[all.len() - got.payloads.len()..]);
    }

    #[test]
    fn a_recycled_segment_hides_its_old_frames() {
        let dir = tempfile::tempdir().unwrap();
        let (w, all, _) = write(dir.path(), 300, 4096, true);
        drop(w);
        let got = recover(dir.path()).unwrap();
        // Restart: the next writer recycles the files; its new segment is empty although the
        // recycled file still holds old frames.
        let mut old = got.files.clone();
        old.extend(got.replayed.iter().map(|(_, path)| path.clone()));
        let w = Writer::start(dir.path(), 4096, got.last_seq, old, Vec::new()).unwrap();
        drop(w);
        let again = recover(dir.path()).unwrap();
        assert_eq!(again.last_seq, got.last_seq + 1);
        assert!(again.payloads.is_empty());
        // The new segment and the spare kept for the next switch, under a released name.
        assert_eq!(again.replayed.len(), 1);
        assert_eq!(again.files.len(), 1, "{:?}", again.files);
        assert!(all.len() > got.payloads.len());
    }

    /// Cuts the newest segment at every byte offset (the bytes after the cut reading as zeros,
    /// as in a zero-filled segment, or missing), and flips every byte of it in turn: recovery
    /// always yields exactly the frames that lie wholly before the damage, never a torn or
    /// altered one and never one after it.
    #[test]
    fn cut_or_flipped_log_recovers_exactly_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let (w, all, _) = write(dir.path(), 120, 8192, true);
        drop(w);
        let intact = recover(dir.path()).unwrap();
        let seq = intact.last_seq;
        let path = segment_path(dir.path(), seq);
        let original = std::fs::read(&path).unwrap();
        let start = all.len() - intact.payloads.len();
        let mut ends = Vec::new();
        let mut at = HEADER_BYTES as usize;
        for p in &intact.payloads {
            at += FRAME_HEADER_BYTES as usize + p.len();
            ends.push(at);
        }
        let used = at;
        let check = |bytes: &[u8], limit: usize, what: &str| {
            std::fs::write(&path, bytes).unwrap();
            let got = recover(dir.path()).unwrap();
            assert_eq!(got.last_seq, seq, "{what}");
            let n = ends.iter().filter(|end| **end <= limit).count();
            assert_eq!(got.payloads[..], all[start..start + n], "{what}");
        };
        for cut in HEADER_BYTES as usize..=used + 1 {
            let mut zeroed = original.clone();
            zeroed[cut..].fill(0);
            check(&zeroed, cut, &format!("zeros from {cut}"));
            let mut truncated = original.clone();
            truncated.truncate(cut);
            check(&truncated, cut, &format!("truncated at {cut}"));
        }
        for at in 0..used {
            let mut flipped = original.clone();
            flipped[at] ^= 0x5a;
            if at < 20 {
                // A damaged header hides the segment.
                std::fs::write(&path, &flipped).unwrap();
                assert_ne!(recover(dir.path()).unwrap().last_seq, seq, "flip at {at}");
            } else if at < HEADER_BYTES as usize {
                // Reserved header bytes: not read.
                check(&flipped, used, &format!("flip at {at}"));
            } else {
                check(&flipped, at, &format!("flip at {at}"));
            }
        }
    }
}
