//! DynamoDB Streams: a table's change records, its shards and their lineage, trimming.
//!
//! Must not depend on HTTP; owns the `Stream` keyspace layout (nothing else reads it).
//!
//! # Design
//! - **A stream is a storage id.** Enabling a stream allocates a fresh, never reused id from the
//!   catalog's table-id counter and records a [`StreamDescriptor`] in the table's descriptor.
//!   Disabling stamps it `disabled_ms`; re-enabling adds a new descriptor, so an old stream
//!   stays readable (DISABLED, every shard closed) until its records age out, as in DynamoDB.
//! - **Shards are (generation, hash range).** A stream has `Config::stream_shards` shards at a
//!   time, shard `i` owning partition hashes `[i·2⁶⁴/n, (i+1)·2⁶⁴/n)` (the table's own hash, so
//!   one item always lands in one shard per generation). Every `Config::stream_shard_rotation_ms`
//!   of the injected clock a generation closes and shard `(g+1, i)` succeeds `(g, i)`
//!   (`ParentShardId`). The shard structure is a pure function of the descriptor and the clock,
//!   so it survives restarts with nothing extra stored.
//! - **Sequence numbers carry their time.** A record's sequence number is
//!   `max(previous + 1, now_ms · 10⁶)` (one allocator per stream), so numbers grow within a
//!   shard and across restarts (given a clock that does not run backwards and fewer than a
//!   million writes per millisecond), a shard's starting number is its generation's start time
//!   · 10⁶, and trimming needs no index: a record older than the retention has a number below
//!   `(now − retention) · 10⁶`.
//! - **Records commit with the change.** `Database::plan_write` adds the record to the item's
//!   batch (see `ops/write.rs`), so a record exists if and only if its change committed. The
//!   number is allocated under the item's latch (per-item order) and stays *in flight* until
//!   the commit returned; readers never pass the smallest in-flight number, so a consumer can
//!   never skip a record that commits late.
//! - **Layout:** key `(Stream, stream id, partition = [generation u32][shard u16], sort =
//!   sequence u64)`, all big-endian, so one shard is one ordered partition. The value is
//!   [`encode_record`]'s versioned binary form.
//! - **Trimming:** records older than `Config::stream_retention_ms` (24 h) are invisible at
//!   once and deleted by a background worker shard by shard; shards and disabled streams whose
//!   whole span has aged out disappear from DescribeStream and ListStreams.

pub(crate) mod records;
pub(crate) mod shards;
pub(crate) mod trim;
pub mod wire;

use binderdb_storage::{partition_hash, Key, Keyspace, TableId};
use serde::{Deserialize, Serialize};

pub(crate) use records::{encode_record, RecordEvent};
pub use shards::ShardLimits;
pub(crate) use shards::{NodeSlot, Sequencers, Ticket, NODE_SLOTS};

/// Sequence numbers per millisecond of the clock (see the module docs).
pub(crate) const SEQ_PER_MS: u64 = 1_000_000;

/// What a stream's records carry (`StreamViewType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewType {
    /// `KEYS_ONLY`.
    KeysOnly,
    /// `NEW_IMAGE`.
    NewImage,
    /// `OLD_IMAGE`.
    OldImage,
    /// `NEW_AND_OLD_IMAGES`.
    NewAndOldImages,
}

impl ViewType {
    /// DynamoDB's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewType::KeysOnly => "KEYS_ONLY",
            ViewType::NewImage => "NEW_IMAGE",
            ViewType::OldImage => "OLD_IMAGE",
            ViewType::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// The view type DynamoDB calls `name`.
    pub fn parse(name: &str) -> Option<ViewType> {
        Some(match name {
            "KEYS_ONLY" => ViewType::KeysOnly,
            "NEW_IMAGE" => ViewType::NewImage,
            "OLD_IMAGE" => ViewType::OldImage,
            "NEW_AND_OLD_IMAGES" => ViewType::NewAndOldImages,
            _ => return None,
        })
    }

    pub(crate) fn keeps_old(self) -> bool {
        matches!(self, ViewType::OldImage | ViewType::NewAndOldImages)
    }

    pub(crate) fn keeps_new(self) -> bool {
        matches!(self, ViewType::NewImage | ViewType::NewAndOldImages)
    }
}

/// One stream of a table, as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDescriptor {
    /// Storage id of its records (never reused).
    pub id: TableId,
    /// Creation time, ms since the epoch; the label is derived from it.
    pub created_ms: u64,
    /// What its records carry.
    pub view_type: ViewType,
    /// When it was disabled, if it was.
    pub disabled_ms: Option<u64>,
    /// Shards per generation.
    pub shards: u16,
    /// Lifetime of one generation of shards, ms.
    pub rotation_ms: u64,
    /// The stream's resource-based policy (PutResourcePolicy on the stream's ARN), stored but
    /// not enforced. Absent from the encoding when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::catalog::ResourcePolicy>,
}

/// A shard: generation, position in the hash space, and epoch (size successions within the
/// generation, see `shards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ShardRef {
    pub(crate) generation: u32,
    pub(crate) index: u16,
    pub(crate) epoch: u16,
}

impl StreamDescriptor {
    /// `LatestStreamLabel`: the creation time as DynamoDB prints it
    /// (`2024-05-01T12:00:00.000`).
    pub fn label(&self) -> String {
        iso_millis(self.created_ms)
    }

    /// The stream's ARN.
    pub fn arn(&self, table_arn: &str) -> String {
        format!("{table_arn}/stream/{}", self.label())
    }

    /// Whether writes still produce records.
    pub fn enabled(&self) -> bool {
        self.disabled_ms.is_none()
    }

    /// The generation a write at `now_ms` goes to.
    pub(crate) fn generation_at(&self, now_ms: u64) -> u32 {
        let elapsed = now_ms.saturating_sub(self.created_ms);
        u32::try_from(elapsed / self.rotation_ms.max(1)).unwrap_or(u32::MAX)
    }

    /// The hash slot (shard index within a generation) of the item with partition bytes
    /// `partition`.
    pub(crate) fn shard_index(&self, partition: &[u8]) -> u16 {
        let hash = u128::from(partition_hash(partition));
        ((hash * u128::from(self.shards.max(1))) >> 64) as u16
    }

    /// When generation `g` starts.
    pub(crate) fn generation_start(&self, g: u32) -> u64 {
        self.created_ms
            .saturating_add(u64::from(g).saturating_mul(self.rotation_ms))
    }

    /// When generation `g` ends (closes): its rotation, or the stream's disabling.
    pub(crate) fn generation_end(&self, g: u32) -> u64 {
        let end = self.generation_start(g.saturating_add(1));
        self.disabled_ms.map_or(end, |d| end.min(d))
    }

    /// The last generation that exists at `now_ms`.
    pub(crate) fn last_generation(&self, now_ms: u64) -> u32 {
        let until = self
            .disabled_ms
            .map_or(now_ms, |d| d.saturating_sub(1).max(self.created_ms));
        self.generation_at(until.min(now_ms.max(self.created_ms)))
    }

    /// The `ShardId` of `shard`: its generation's start, then generation, slot and (after a
    /// size succession) epoch in hex. Epoch 0 keeps the shorter form ids had before epochs.
    pub(crate) fn shard_id(&self, shard: ShardRef) -> String {
        let start = self.generation_start(shard.generation);
        if shard.epoch == 0 {
            format!(
                "shardId-{start:020}-{:08x}{:04x}",
                shard.generation, shard.index
            )
        } else {
            format!(
                "shardId-{start:020}-{:08x}{:04x}{:04x}",
                shard.generation, shard.index, shard.epoch
            )
        }
    }

    /// The shard a `ShardId` names, if it can be one of this stream's (whether that epoch
    /// exists is for the caller to check).
    pub(crate) fn parse_shard_id(&self, id: &str) -> Option<ShardRef> {
        let rest = id.strip_prefix("shardId-")?;
        let (start, tail) = rest.split_once('-')?;
        if (tail.len() != 12 && tail.len() != 16) || start.len() != 20 {
            return None;
        }
        let generation = u32::from_str_radix(tail.get(..8)?, 16).ok()?;
        let index = u16::from_str_radix(tail.get(8..12)?, 16).ok()?;
        let epoch = match tail.get(12..) {
            Some("") | None => 0,
            Some(e) => u16::from_str_radix(e, 16).ok().filter(|e| *e > 0)?,
        };
        let shard = ShardRef {
            generation,
            index,
            epoch,
        };
        (index < self.shards && self.shard_id(shard) == id).then_some(shard)
    }

    /// The storage key of the record `seq` in `shard`.
    pub(crate) fn record_key(&self, shard: ShardRef, seq: u64) -> Key {
        Key {
            keyspace: Keyspace::Stream,
            table: self.id,
            partition: shard_partition(shard),
            sort: seq.to_be_bytes().to_vec(),
        }
    }
}

/// What a `StreamSpecification` asks for: `Some(view)` to enable a stream, `None` to disable
/// (or, on CreateTable, to create none). `creating` picks CreateTable's wording of the errors.
///
/// # Errors
/// `ValidationException` for an enabled stream without a view type or a disabled one with a
/// view type, with DynamoDB's texts (which call the view type `UpdateViewType`).
pub(crate) fn requested(
    spec: &crate::api::StreamSpecification,
    creating: bool,
) -> crate::Result<Option<ViewType>> {
    let invalid = |what: &str| crate::Error::invalid_parameter(what);
    let view = spec.stream_view_type.as_deref();
    match (spec.stream_enabled == Some(true), view) {
        (true, Some(v)) => ViewType::parse(v)
            .map(Some)
            .ok_or_else(|| invalid(&format!("Unknown StreamViewType: {v}"))),
        (true, None) if creating => Err(invalid(
            "Table is being created with a stream enabled, UpdateViewType is required",
        )),
        (true, None) => Err(invalid(
            "If stream is being enabled then UpdateViewType is required",
        )),
        (false, Some(_)) if creating => Err(invalid(
            "Table is being created with a stream disabled, UpdateViewType should not be specified",
        )),
        (false, Some(_)) => Err(invalid(
            "If stream is being disabled, then UpdateViewType must not be specified",
        )),
        (false, None) => Ok(None),
    }
}

/// The storage partition of `shard`: `[generation u32][slot u16]` for epoch 0 (the layout
/// before size successions, so older records stay where they are), `[generation][slot][epoch
/// u16]` after.
pub(crate) fn shard_partition(shard: ShardRef) -> Vec<u8> {
    let mut p = Vec::with_capacity(8);
    p.extend_from_slice(&shard.generation.to_be_bytes());
    p.extend_from_slice(&shard.index.to_be_bytes());
    if shard.epoch > 0 {
        p.extend_from_slice(&shard.epoch.to_be_bytes());
    }
    p
}

/// The UTC calendar date of `ms` since the epoch: (year, month, day, weekday with Sunday 0).
fn civil(ms: u64) -> (i64, i64, i64, u64) {
    let days = (ms / 1000 / 86_400) as i64;
    // Civil-from-days (proleptic Gregorian), after Howard Hinnant's date algorithms.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // 1970-01-01 was a Thursday.
    (year, month, day, (ms / 1000 / 86_400 + 4) % 7)
}

/// `HH:MM:SS` of `ms` since the epoch (UTC).
fn clock_time(ms: u64) -> String {
    let rem = ms / 1000 % 86_400;
    format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Formats ms since the epoch as `YYYY-MM-DDTHH:MM:SS.mmm` (UTC).
pub(crate) fn iso_millis(ms: u64) -> String {
    let (year, month, day, _) = civil(ms);
    format!(
        "{year:04}-{month:02}-{day:02}T{}.{:03}",
        clock_time(ms),
        ms % 1000
    )
}

/// Formats ms since the epoch as Java's `Date.toString` does in UTC (`Tue Nov 14 22:13:20 UTC
/// 2023`), the form the Streams service's ExpiredIteratorException text uses (as Kinesis',
/// whose iterator-expiry message it shares).
pub(crate) fn java_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day, weekday) = civil(ms);
    format!(
        "{} {} {day:02} {} UTC {year}",
        DAYS[weekday as usize],
        MONTHS[(month - 1) as usize],
        clock_time(ms)
    )
}

/// The stream ARN a GetRecords shard iterator reads, if `iterator` is one binderdb issued:
/// access control authorises GetRecords on that stream before the engine runs.
pub fn shard_iterator_stream_arn(iterator: &str) -> Option<String> {
    wire::Iterator::decode(iterator).ok().map(|i| i.stream_arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> StreamDescriptor {
        StreamDescriptor {
            id: 9,
            created_ms: 1_700_000_000_000,
            view_type: ViewType::NewAndOldImages,
            disabled_ms: None,
            shards: 4,
            rotation_ms: 60_000,
            policy: None,
        }
    }

    #[test]
    fn labels_are_utc_iso_timestamps() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000");
        assert_eq!(iso_millis(1_700_000_000_123), "2023-11-14T22:13:20.123");
        assert_eq!(iso_millis(951_782_400_000), "2000-02-29T00:00:00.000");
        assert_eq!(java_date(1_700_000_000_123), "Tue Nov 14 22:13:20 UTC 2023");
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    }

    #[test]
    fn shard_ids_round_trip() {
        let s = stream();
        let shard = ShardRef {
            generation: 3,
            index: 2,
            epoch: 0,
        };
        let id = s.shard_id(shard);
        assert_eq!(id, "shardId-00000001700000180000-000000030002");
        assert_eq!(s.parse_shard_id(&id), Some(shard));
        let child = ShardRef { epoch: 5, ..shard };
        let id = s.shard_id(child);
        assert_eq!(id, "shardId-00000001700000180000-0000000300020005");
        assert_eq!(s.parse_shard_id(&id), Some(child));
        assert_eq!(
            s.parse_shard_id("shardId-00000001700000180000-0000000300020000"),
            None
        );
        assert_eq!(s.parse_shard_id("shardId-x"), None);
        assert_eq!(
            s.parse_shard_id("shardId-00000001700000180000-000000030009"),
            None
        );
    }

    #[test]
    fn generations_follow_the_clock_and_end_at_disabling() {
        let mut s = stream();
        assert_eq!(s.generation_at(s.created_ms + 59_999), 0);
        assert_eq!(s.generation_at(s.created_ms + 60_000), 1);
        assert_eq!(s.last_generation(s.created_ms + 130_000), 2);
        s.disabled_ms = Some(s.created_ms + 90_000);
        assert_eq!(s.last_generation(s.created_ms + 500_000), 1);
        assert_eq!(s.generation_end(1), s.created_ms + 90_000);
    }
}
