//! Blob encoding: a zstd frame or the raw bytes (spec/archive-format.md §3.3).
//!
//! The stored form is self-describing: stored bytes that begin with the zstd frame magic are one
//! zstd frame; anything else is the raw content. A writer therefore never stores raw content that
//! itself begins with the magic (it compresses it whatever the gain), so a raw `.zst` payload cannot
//! be mistaken for an encoded one.

use std::borrow::Cow;
use std::cell::RefCell;

use crate::digest::Digest;
use crate::layout::MAX_BLOB_SIZE;

/// The first four bytes of every zstd frame (0xFD2FB528, little-endian).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The default zstd level.
pub const DEFAULT_LEVEL: i32 = 3;

/// Compression is kept only when the frame is at most this share of the raw size (in 1/1000).
const KEEP_IF_AT_MOST_PER_MILLE: usize = 970;

/// How a blob is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The uncompressed bytes as they are.
    Raw,
    /// One zstd frame with content size and checksum.
    Zstd,
}

thread_local! {
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    static PROBE: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Content shorter than this is compressed at the requested level without probing.
const PROBE_MIN_LEN: usize = 64 << 10;
/// Bytes taken from each of the probe's sample points.
const PROBE_SLICE: usize = 8 << 10;

/// Encode `data` for storage: a zstd frame when it saves at least ~3 %, the raw bytes otherwise
/// (borrowed, never copied).
///
/// Large content is first probed: a few slices are compressed at level 1. When they do not
/// compress, the whole content is compressed at level 1 only (zstd passes incompressible data at
/// several GB/s at level 1, under 1 GB/s at level 3) and kept if that saves enough; otherwise at
/// `level`. The level is a writer's choice: readers decode any frame.
#[must_use]
pub fn encode(data: &[u8], level: i32) -> (Cow<'_, [u8]>, Encoding) {
    let must_compress = data.starts_with(&ZSTD_MAGIC);
    let level = if !must_compress && data.len() >= PROBE_MIN_LEN && !probe_compresses(data) {
        1
    } else {
        level
    };
    let frame = compress(data, level);
    if must_compress || frame.len() * 1000 <= data.len() * KEEP_IF_AT_MOST_PER_MILLE {
        (Cow::Owned(frame), Encoding::Zstd)
    } else {
        (Cow::Borrowed(data), Encoding::Raw)
    }
}

/// Whether samples from the start, middle and end of `data` compress by at least ~3 % at level 1.
fn probe_compresses(data: &[u8]) -> bool {
    let last = data.len() - PROBE_SLICE;
    let mut sample = Vec::with_capacity(4 * PROBE_SLICE);
    for at in [0, last / 3, 2 * last / 3, last] {
        sample.extend_from_slice(&data[at..at + PROBE_SLICE]);
    }
    let probed = PROBE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let c = cell.get_or_insert_with(|| zstd::bulk::Compressor::new(1).expect("zstd context"));
        c.compress(&sample).expect("zstd compress").len()
    });
    probed * 1000 <= sample.len() * KEEP_IF_AT_MOST_PER_MILLE
}

fn compress(data: &[u8], level: i32) -> Vec<u8> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(l, _)| *l != level) {
            let mut c = zstd::bulk::Compressor::new(level).expect("zstd context");
            c.include_checksum(true).expect("zstd checksum flag");
            c.include_contentsize(true).expect("zstd content size flag");
            *cell = Some((level, c));
        }
        let (_, c) = cell.as_mut().expect("set above");
        c.compress(data).expect("zstd compress")
    })
}

/// The encoding of stored bytes.
#[must_use]
pub fn encoding_of(stored: &[u8]) -> Encoding {
    if stored.starts_with(&ZSTD_MAGIC) {
        Encoding::Zstd
    } else {
        Encoding::Raw
    }
}

/// The content size recorded in the stored bytes, read from their first bytes only: the length for
/// raw blobs, the frame header's content size for zstd frames.
///
/// # Errors
/// A message when the zstd frame header is unreadable or has no content size.
pub fn content_size(stored_prefix: &[u8], stored_len: u64) -> Result<u64, String> {
    match encoding_of(stored_prefix) {
        Encoding::Raw => Ok(stored_len),
        Encoding::Zstd => match zstd::zstd_safe::get_frame_content_size(stored_prefix) {
            Ok(Some(n)) => Ok(n),
            Ok(None) => Err("zstd frame has no content size".to_owned()),
            Err(_) => Err("zstd frame header is damaged".to_owned()),
        },
    }
}

/// Decode stored bytes and check them against `digest`. Raw blobs are returned without a copy.
///
/// Never allocates more than [`MAX_BLOB_SIZE`] whatever the frame claims, so a crafted frame
/// cannot exhaust memory.
///
/// # Errors
/// A message saying what is wrong: damaged frame, trailing bytes, oversize content, wrong digest.
pub fn decode(stored: Vec<u8>, digest: &Digest) -> Result<Vec<u8>, String> {
    let data = match encoding_of(&stored) {
        Encoding::Raw => stored,
        Encoding::Zstd => decompress(&stored)?,
    };
    let actual = Digest::of(&data);
    if &actual != digest {
        return Err(format!("content hashes to `{actual}`"));
    }
    Ok(data)
}

fn decompress(stored: &[u8]) -> Result<Vec<u8>, String> {
    let frame_len = zstd::zstd_safe::find_frame_compressed_size(stored)
        .map_err(|_| "zstd frame is damaged or truncated".to_owned())?;
    if frame_len != stored.len() {
        return Err(format!(
            "{} bytes follow the zstd frame (a blob is exactly one frame)",
            stored.len() - frame_len
        ));
    }
    let declared = content_size(stored, stored.len() as u64)?;
    if declared > MAX_BLOB_SIZE {
        return Err(format!(
            "zstd frame claims {declared} bytes, over the {MAX_BLOB_SIZE}-byte limit"
        ));
    }
    #[allow(clippy::cast_possible_truncation)] // bounded by MAX_BLOB_SIZE above
    let capacity = declared as usize;
    let out = DECOMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?);
        }
        let d = cell.as_mut().expect("set above");
        d.decompress(stored, capacity)
            .map_err(|e| format!("zstd frame does not decode: {e}"))
    })?;
    if out.len() as u64 != declared {
        return Err(format!(
            "zstd frame decodes to {} bytes, its header says {declared}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compressible_is_compressed() {
        let data = br#"{"id":"abc","type":"Web Map"}"#.repeat(200);
        let (stored, enc) = encode(&data, DEFAULT_LEVEL);
        assert_eq!(enc, Encoding::Zstd);
        assert!(stored.len() < data.len() / 5);
        assert_eq!(
            content_size(&stored[..18.min(stored.len())], stored.len() as u64),
            Ok(data.len() as u64)
        );
        assert_eq!(decode(stored.to_vec(), &Digest::of(&data)).unwrap(), data);
    }

    #[test]
    fn incompressible_stays_raw() {
        let mut data = vec![0; 100_000];
        std::io::Read::read_exact(&mut crate::sample::NoiseReader::new(3, 100_000), &mut data)
            .unwrap();
        let (stored, enc) = encode(&data, DEFAULT_LEVEL);
        assert_eq!(enc, Encoding::Raw);
        assert_eq!(&stored[..], &data[..]);
    }

    #[test]
    fn raw_content_starting_with_magic_is_always_framed() {
        let mut data = ZSTD_MAGIC.to_vec();
        let mut noise = vec![0; 5000];
        std::io::Read::read_exact(&mut crate::sample::NoiseReader::new(4, 5000), &mut noise)
            .unwrap();
        data.extend(noise);
        let (stored, enc) = encode(&data, DEFAULT_LEVEL);
        assert_eq!(enc, Encoding::Zstd);
        assert_eq!(decode(stored.to_vec(), &Digest::of(&data)).unwrap(), data);
    }

    #[test]
    fn flipped_bit_is_detected() {
        let data = b"hello hello hello hello hello hello hello hello".repeat(50);
        let mut stored = encode(&data, DEFAULT_LEVEL).0.into_owned();
        let mid = stored.len() / 2;
        stored[mid] ^= 0x10;
        assert!(decode(stored.clone(), &Digest::of(&data)).is_err());
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let data = b"abcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(10);
        let mut stored = encode(&data, DEFAULT_LEVEL).0.into_owned();
        stored.extend_from_slice(&stored.clone());
        let err = decode(stored, &Digest::of(&data)).unwrap_err();
        assert!(err.contains("follow the zstd frame"), "{err}");
    }

    #[test]
    fn a_framed_blob_of_the_largest_size_stays_within_the_stored_limit() {
        let mut data = ZSTD_MAGIC.to_vec();
        let mut noise = vec![0; usize::try_from(MAX_BLOB_SIZE).unwrap() - 4];
        std::io::Read::read_exact(
            &mut crate::sample::NoiseReader::new(8, noise.len() as u64),
            &mut noise,
        )
        .unwrap();
        data.extend(noise);
        let (stored, enc) = encode(&data, DEFAULT_LEVEL);
        assert_eq!(enc, Encoding::Zstd);
        assert!(
            stored.len() as u64 > MAX_BLOB_SIZE,
            "incompressible content grows when framed"
        );
        assert!(stored.len() as u64 <= crate::layout::MAX_STORED_BLOB_SIZE);
        assert_eq!(
            decode(stored.into_owned(), &Digest::of(&data)).unwrap(),
            data
        );
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..4096), rep in 1usize..8) {
            let data = data.repeat(rep);
            let (stored, _) = encode(&data, DEFAULT_LEVEL);
            prop_assert_eq!(decode(stored.to_vec(), &Digest::of(&data)).unwrap(), data);
        }
    }
}
