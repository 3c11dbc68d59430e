//! Compressed request and response bodies: no bytes may panic the request inflater, an
//! inflated body is never longer than the limit (however much the stream claims), whatever
//! inflates is exactly what a reference decoder gets, and a compressed response inflates back
//! to itself (the body being the oracle).
//!
//! The server's compression module is compiled in on its own (`#[path]`): it depends only on
//! flate2 and bytes, and pulling in the whole server (hyper, tokio, the engine) would make
//! every fuzz build several times slower.
#![no_main]

#[path = "../../crates/server/src/compression.rs"]
#[allow(dead_code)]
mod compression;

use std::io::Read;

use compression::{decode_request, encode_response, negotiate, DecodeError, Encoding};
use libfuzzer_sys::fuzz_target;

/// Small enough that fuzzed streams reach it often.
const LIMIT: usize = 64 * 1024;

/// What flate2's plain reader makes of the stream, as far as it goes (the oracle for the
/// prefix that inflated before an error or the limit).
fn reference(encoding: Encoding, body: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let reader: Box<dyn Read> = match encoding {
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(body)),
        Encoding::Deflate => Box::new(flate2::read::ZlibDecoder::new(body)),
    };
    let _ = reader.take(cap as u64).read_to_end(&mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let (header, encoding) = match selector % 4 {
        0 => ("gzip", Some(Encoding::Gzip)),
        1 => ("deflate", Some(Encoding::Deflate)),
        2 => ("identity", None),
        _ => ("br", None),
    };
    let bytes = bytes::Bytes::copy_from_slice(body);
    match decode_request(Some(header), bytes, LIMIT) {
        Ok(inflated) => {
            assert!(inflated.len() <= LIMIT, "inflated past the limit");
            match encoding {
                None => assert_eq!(&inflated[..], body, "identity changed the body"),
                Some(Encoding::Deflate) => {
                    assert_eq!(&inflated[..], &reference(Encoding::Deflate, body, LIMIT)[..]);
                }
                // Gzip may stop before trailing junk, which the reference would reject;
                // what was inflated must still be what the reference inflates first.
                Some(Encoding::Gzip) => {
                    let expected = reference(Encoding::Gzip, body, inflated.len());
                    assert!(expected.len() <= inflated.len());
                    assert_eq!(&inflated[..expected.len()], &expected[..]);
                }
            }
        }
        Err(DecodeError::UnknownEncoding) => assert_eq!(header, "br"),
        Err(DecodeError::Corrupt | DecodeError::TooLarge) => assert!(encoding.is_some()),
    }
    // The same bytes as an Accept-Encoding header and as a response body.
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = negotiate(Some(text));
    }
    for encoding in [Encoding::Gzip, Encoding::Deflate] {
        if let Some(compressed) = encode_response(Some(encoding), body) {
            assert_eq!(reference(encoding, &compressed, usize::MAX), body);
        }
    }
});
