//! Compressed bodies, both ways, as DynamoDB handles them.
//!
//! Requests: SDKs may gzip a request body (`Content-Encoding: gzip`); binderdb also takes
//! `deflate` (zlib-wrapped, as HTTP means it). [`decode_request`] inflates the body with the
//! decompressed size bounded by the request limit, so a tiny "zip bomb" costs at most that much
//! memory. An encoding binderdb does not know, or a stream that does not inflate, is answered as
//! DynamoDB answers it: HTTP 500 (recorded by ScyllaDB's Alternator tests against DynamoDB).
//!
//! Responses: when the client's `Accept-Encoding` allows gzip or deflate and the body is at
//! least DynamoDB's 4 KB threshold, [`encode_response`] compresses it. [`negotiate`] picks the
//! encoding the way DynamoDB does (recorded by the same tests): the highest q-value wins, an
//! explicitly named encoding beats `*` at equal q, earlier beats later, `identity` never wins
//! over a compression, and q-values are clamped to 0..=1 (an unreadable one counts as 1).
//! Small responses (every typical GetItem) are never touched, so they cost nothing extra.
//!
//! Must not depend on: the engine; this is pure byte work, fuzzed in `fuzz/`.

use std::io::{Read, Write};

use flate2::bufread::{GzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;

/// DynamoDB compresses a response only from this size on.
pub const RESPONSE_COMPRESSION_THRESHOLD: usize = 4096;

/// An encoding binderdb can read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `gzip` (RFC 1952).
    Gzip,
    /// `deflate`: a zlib stream (RFC 1950), which is what HTTP's `deflate` means.
    Deflate,
}

impl Encoding {
    /// The token for a `Content-Encoding` header.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }
}

/// Why a request body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The `Content-Encoding` is not one binderdb reads.
    UnknownEncoding,
    /// The body does not inflate (truncated, corrupt, empty).
    Corrupt,
    /// The inflated body would exceed the limit.
    TooLarge,
}

/// The request body as the operation should see it: inflated per `content_encoding` (absent or
/// `identity` leaves it as it is), never longer than `limit` bytes.
///
/// A gzip body may hold several members back to back (RFC 1952 allows it, and DynamoDB reads
/// them); bytes after the last member that do not start another one are ignored, as DynamoDB
/// ignores them.
///
/// # Errors
/// [`DecodeError`]: an unknown encoding, a corrupt stream, or more than `limit` bytes inflated.
pub fn decode_request(
    content_encoding: Option<&str>,
    body: bytes::Bytes,
    limit: usize,
) -> Result<bytes::Bytes, DecodeError> {
    let encoding = match content_encoding.map(str::trim) {
        None => return Ok(body),
        Some(e) if e.is_empty() || e.eq_ignore_ascii_case("identity") => return Ok(body),
        Some(e) if e.eq_ignore_ascii_case("gzip") => Encoding::Gzip,
        Some(e) if e.eq_ignore_ascii_case("deflate") => Encoding::Deflate,
        Some(_) => return Err(DecodeError::UnknownEncoding),
    };
    if body.is_empty() {
        // No stream at all: not even an empty one.
        return Err(DecodeError::Corrupt);
    }
    let mut out = Vec::new();
    match encoding {
        Encoding::Deflate => inflate(ZlibDecoder::new(&body[..]), &mut out, limit)?,
        Encoding::Gzip => {
            let mut rest: &[u8] = &body;
            loop {
                let mut member = GzDecoder::new(rest);
                inflate(&mut member, &mut out, limit)?;
                rest = member.into_inner();
                if !rest.starts_with(&[0x1f, 0x8b]) {
                    break;
                }
            }
        }
    }
    Ok(out.into())
}

/// Appends everything `reader` inflates to `out`, refusing to let `out` pass `limit`.
///
/// The buffer grows by doubling, as `Vec` does, but never past `limit`: a stream that claims
/// far more than it holds costs at most the limit in memory, and one that holds more is cut
/// off at the first byte past it.
fn inflate(mut reader: impl Read, out: &mut Vec<u8>, limit: usize) -> Result<(), DecodeError> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(DecodeError::Corrupt),
        };
        let needed = out.len() + n;
        if needed > limit {
            return Err(DecodeError::TooLarge);
        }
        if needed > out.capacity() {
            let grown = needed.max(out.capacity().saturating_mul(2)).min(limit);
            out.reserve_exact(grown - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// One entry of an `Accept-Encoding` header: a coding and its q-value.
#[derive(Debug, Clone, PartialEq)]
struct Offer<'a> {
    coding: &'a str,
    quality: f64,
}

/// Parses one comma-separated entry, or `None` when it is not a single token (DynamoDB ignores
/// `"gzip"`, `gzip br`, `gzip:q=1`).
fn offer(entry: &str) -> Option<Offer<'_>> {
    let mut parts = entry.split(';');
    let coding = parts.next()?.trim();
    if coding.is_empty()
        || !coding
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.*+!#$%&'^`|~".contains(&b))
    {
        return None;
    }
    // The first `q` parameter counts; others (and other parameters) are ignored.
    let quality = parts
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
        .map_or(1.0, |(_, value)| {
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|q| q.is_finite())
                .map_or(1.0, |q| q.clamp(0.0, 1.0))
        });
    Some(Offer { coding, quality })
}

/// The encoding to answer with, from the request's `Accept-Encoding` header (see the module
/// doc for the rules), or `None` for an uncompressed answer.
pub fn negotiate(accept_encoding: Option<&str>) -> Option<Encoding> {
    let header = accept_encoding?;
    let offers: Vec<Offer<'_>> = header.split(',').filter_map(offer).collect();
    let named = |e: Encoding| {
        offers
            .iter()
            .filter(|o| o.coding.eq_ignore_ascii_case(e.token()))
            .map(|o| o.quality)
            .reduce(f64::max)
    };
    let first_position = |e: Encoding| {
        offers
            .iter()
            .position(|o| o.coding.eq_ignore_ascii_case(e.token()))
    };
    let star = offers
        .iter()
        .filter(|o| o.coding == "*")
        .map(|o| o.quality)
        .reduce(f64::max);
    // Candidates ranked by (q, named before `*`, earlier position / gzip before deflate).
    let mut best: Option<(f64, u8, usize, Encoding)> = None;
    for (rank, encoding) in [Encoding::Gzip, Encoding::Deflate].into_iter().enumerate() {
        let candidate = match (named(encoding), star) {
            (Some(q), _) => (q, 0, first_position(encoding).unwrap_or(usize::MAX)),
            (None, Some(q)) => (q, 1, rank),
            (None, None) => continue,
        };
        if candidate.0 <= 0.0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((q, kind, position, _)) => {
                candidate.0 > q
                    || (candidate.0 == q && (candidate.1, candidate.2) < (kind, position))
            }
        };
        if better {
            best = Some((candidate.0, candidate.1, candidate.2, encoding));
        }
    }
    best.map(|(_, _, _, e)| e)
}

/// Compresses `body` with `encoding` when it reaches the threshold; `None` when the body should
/// go out as it is (small, or compression failed, which cannot happen writing to memory).
pub fn encode_response(encoding: Option<Encoding>, body: &[u8]) -> Option<Vec<u8>> {
    let encoding = encoding?;
    if body.len() < RESPONSE_COMPRESSION_THRESHOLD {
        return None;
    }
    // Level 1: responses are JSON, which compresses well even at the fastest level, and the
    // CPU goes to serving requests.
    let level = Compression::fast();
    let out = Vec::with_capacity(body.len() / 4);
    match encoding {
        Encoding::Gzip => {
            let mut w = GzEncoder::new(out, level);
            w.write_all(body).ok()?;
            w.finish().ok()
        }
        Encoding::Deflate => {
            let mut w = ZlibEncoder::new(out, level);
            w.write_all(body).ok()?;
            w.finish().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mut reader: impl Read) -> Vec<u8> {
        let mut v = Vec::new();
        reader.read_to_end(&mut v).unwrap();
        v
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut w = GzEncoder::new(Vec::new(), Compression::default());
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut w = ZlibEncoder::new(Vec::new(), Compression::default());
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn decode(encoding: &str, body: Vec<u8>, limit: usize) -> Result<Vec<u8>, DecodeError> {
        decode_request(Some(encoding), body.into(), limit).map(|b| b.to_vec())
    }

    #[test]
    fn gzip_and_deflate_bodies_inflate() {
        assert_eq!(decode("gzip", gzip(b"{}"), 100).unwrap(), b"{}");
        assert_eq!(decode("GZIP", gzip(b"{}"), 100).unwrap(), b"{}");
        assert_eq!(decode("deflate", zlib(b"{}"), 100).unwrap(), b"{}");
        assert_eq!(decode("identity", b"{}".to_vec(), 100).unwrap(), b"{}");
        let mut two = gzip(b"{\"a\"");
        two.extend(gzip(b":1}"));
        assert_eq!(decode("gzip", two.clone(), 100).unwrap(), b"{\"a\":1}");
        // Junk after the last member is ignored, as DynamoDB ignores it.
        two.extend(b"junk");
        assert_eq!(decode("gzip", two, 100).unwrap(), b"{\"a\":1}");
        // An empty stream is a valid one.
        assert_eq!(decode("gzip", gzip(b""), 100).unwrap(), b"");
    }

    #[test]
    fn corrupt_unknown_and_oversized_bodies_are_refused() {
        assert_eq!(
            decode("br", b"{}".to_vec(), 100),
            Err(DecodeError::UnknownEncoding)
        );
        assert_eq!(
            decode("gzip", b"{}".to_vec(), 100),
            Err(DecodeError::Corrupt)
        );
        assert_eq!(decode("gzip", Vec::new(), 100), Err(DecodeError::Corrupt));
        assert_eq!(
            decode("deflate", Vec::new(), 100),
            Err(DecodeError::Corrupt)
        );
        let mut cut = gzip(b"{\"a\": 1}");
        cut.pop();
        assert_eq!(decode("gzip", cut, 100), Err(DecodeError::Corrupt));
        let big = vec![b' '; 1000];
        assert_eq!(decode("gzip", gzip(&big), 999), Err(DecodeError::TooLarge));
        // The buffer never grows past the limit, however the stream is cut.
        let mut out = Vec::new();
        inflate(
            GzDecoder::new(&gzip(&vec![b'x'; 100_000])[..]),
            &mut out,
            100_000,
        )
        .unwrap();
        assert_eq!(out.len(), 100_000);
        assert!(out.capacity() <= 100_000, "{}", out.capacity());
        assert_eq!(decode("gzip", gzip(&big), 1000).unwrap().len(), 1000);
        assert_eq!(
            decode("deflate", zlib(&big), 999),
            Err(DecodeError::TooLarge)
        );
        // The limit covers all members together.
        let mut two = gzip(&big);
        two.extend(gzip(&big));
        assert_eq!(decode("gzip", two, 1500), Err(DecodeError::TooLarge));
    }

    /// The Accept-Encoding cases recorded from DynamoDB.
    #[test]
    fn negotiation_follows_dynamodb() {
        use Encoding::{Deflate, Gzip};
        let cases: &[(&str, Option<Encoding>)] = &[
            ("identity", None),
            ("", None),
            ("br", None),
            ("x-gzip", None),
            ("gzip, deflate", Some(Gzip)),
            ("br, identity, deflate, gzip", Some(Deflate)),
            ("GZIP, identity", Some(Gzip)),
            ("dog, gzip ,, cat", Some(Gzip)),
            ("gzip;q=0.8, deflate;q=0.5", Some(Gzip)),
            (
                "br, gzip;q=0, deflate; q = 0.5 , identity;q=0",
                Some(Deflate),
            ),
            ("*", Some(Gzip)),
            ("*, deflate;q=0.5", Some(Gzip)),
            ("*, deflate", Some(Deflate)),
            ("*, identity", Some(Gzip)),
            ("*, gzip;q=0.5", Some(Deflate)),
            ("gzip ;q=0", None),
            ("identity;q=0", None),
            ("*;q=0", None),
            ("*;q=0.5,identity", Some(Gzip)),
            ("gzip;q=0.5,identity;q=0.8", Some(Gzip)),
            ("br;q=0.8,identity;q=0.5,*;q=0", None),
            ("\"gzip\"", None),
            ("gzip br", None),
            ("gzip:q=1", None),
            ("deflate;q=0.5, gzip;q=31", Some(Gzip)),
            ("gzip;q=31,deflate;q=51", Some(Gzip)),
            ("deflate;q=0.5, gzip;q=0.2", Some(Deflate)),
            ("deflate;q=0.5, gzip;q=1;q=0.2", Some(Gzip)),
            ("deflate;q=0.5,gzip;q=0.", Some(Deflate)),
            ("deflate;q=0.5,gzip;q=0.x", Some(Gzip)),
            ("deflate;q=-0.5,gzip;q=0.2", Some(Gzip)),
            ("gzip;nq=1;q=0 ", None),
            ("gzip;q=0, gzip;q=1, gzip;q=0", Some(Gzip)),
            ("br,identity;q=0.5,gzip;q=0.0001", Some(Gzip)),
        ];
        for (header, expected) in cases {
            assert_eq!(negotiate(Some(header)), *expected, "{header:?}");
        }
        assert_eq!(negotiate(None), None);
    }

    #[test]
    fn only_bodies_from_the_threshold_on_are_compressed() {
        let small = vec![b'x'; RESPONSE_COMPRESSION_THRESHOLD - 1];
        assert_eq!(encode_response(Some(Encoding::Gzip), &small), None);
        let big = vec![b'x'; RESPONSE_COMPRESSION_THRESHOLD];
        assert_eq!(encode_response(None, &big), None);
        let gz = encode_response(Some(Encoding::Gzip), &big).unwrap();
        assert_eq!(read_all(GzDecoder::new(&gz[..])), big);
        let z = encode_response(Some(Encoding::Deflate), &big).unwrap();
        assert_eq!(read_all(ZlibDecoder::new(&z[..])), big);
    }
}
