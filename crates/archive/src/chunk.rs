//! Chunk lists: how content cut into several blobs is put back together
//! (spec/archive-format.md §3.4 and §3.5).

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::layout::{ChunkerParams, MAX_BLOB_SIZE};

/// The ordered chunks of one piece of content, stored as a JSON blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkList {
    /// SHA-256 of the whole content (the concatenation of the chunks).
    pub digest: Digest,
    /// Length of the whole content.
    pub size: u64,
    /// The chunks, in order.
    pub chunks: Vec<ChunkRef>,
}

/// One chunk of a [`ChunkList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChunkRef {
    /// The chunk's blob.
    pub digest: Digest,
    /// The chunk's length.
    pub size: u64,
}

impl ChunkList {
    /// Check the list against the descriptor that points at it.
    ///
    /// # Errors
    /// What is inconsistent.
    pub fn check(&self, digest: &Digest, size: u64) -> Result<(), String> {
        if &self.digest != digest {
            return Err(format!(
                "chunk list is for `{}`, not `{digest}`",
                self.digest
            ));
        }
        if self.size != size {
            return Err(format!(
                "chunk list says {} bytes, the descriptor {size}",
                self.size
            ));
        }
        if self.chunks.len() < 2 {
            return Err("chunk list has fewer than two chunks".into());
        }
        let mut total: u64 = 0;
        for c in &self.chunks {
            if c.size == 0 || c.size > MAX_BLOB_SIZE {
                return Err(format!(
                    "chunk `{}` has an impossible size {}",
                    c.digest, c.size
                ));
            }
            total = total.saturating_add(c.size);
        }
        if total != size {
            return Err(format!("chunks add up to {total} bytes, not {size}"));
        }
        Ok(())
    }
}

/// Cut `reader` into content-defined chunks with the repository's parameters.
pub(crate) fn chunker<R: std::io::Read>(
    reader: R,
    params: &ChunkerParams,
) -> fastcdc::v2020::StreamCDC<R> {
    let level = match params.normalization {
        0 => fastcdc::v2020::Normalization::Level0,
        1 => fastcdc::v2020::Normalization::Level1,
        2 => fastcdc::v2020::Normalization::Level2,
        _ => fastcdc::v2020::Normalization::Level3,
    };
    fastcdc::v2020::StreamCDC::with_level(
        reader,
        params.min_size as usize,
        params.avg_size as usize,
        params.max_size as usize,
        level,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(sizes: &[u64]) -> (ChunkList, Digest, u64) {
        let whole = Digest::of(b"whole");
        let total = sizes.iter().sum();
        let chunks = sizes
            .iter()
            .map(|&size| ChunkRef {
                digest: Digest::of(&size.to_le_bytes()),
                size,
            })
            .collect();
        (
            ChunkList {
                digest: whole,
                size: total,
                chunks,
            },
            whole,
            total,
        )
    }

    #[test]
    fn each_normalization_level_cuts_differently() {
        // Pseudo-random bytes (xorshift), so content-defined cut points exist.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let data: Vec<u8> = (0..(1 << 20))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect();
        let cuts = |normalization: u8| -> Vec<u64> {
            let params = ChunkerParams {
                min_size: 4 << 10,
                avg_size: 16 << 10,
                max_size: 64 << 10,
                normalization,
                ..ChunkerParams::default()
            };
            chunker(&data[..], &params)
                .map(|c| c.unwrap().offset)
                .collect()
        };
        let levels: Vec<Vec<u64>> = (0..=3).map(cuts).collect();
        for a in 0..levels.len() {
            for b in a + 1..levels.len() {
                assert_ne!(levels[a], levels[b], "levels {a} and {b} cut alike");
            }
        }
    }

    #[test]
    fn a_consistent_list_passes_and_each_inconsistency_is_named() {
        let (good, digest, size) = list(&[10, 20]);
        assert_eq!(good.check(&digest, size), Ok(()));
        // Chunks of exactly the largest blob size are allowed.
        let (max, d, s) = list(&[MAX_BLOB_SIZE, 1]);
        assert_eq!(max.check(&d, s), Ok(()));

        let other = Digest::of(b"other");
        assert!(good.check(&other, size).unwrap_err().contains("is for"));
        assert!(good.check(&digest, size + 1).unwrap_err().contains("says"));
        let (one, d, s) = list(&[30]);
        assert!(one.check(&d, s).unwrap_err().contains("fewer than two"));
        let (empty, d, s) = list(&[0, 30]);
        assert!(
            empty
                .check(&d, s)
                .unwrap_err()
                .contains("impossible size 0")
        );
        let (huge, d, s) = list(&[MAX_BLOB_SIZE + 1, 1]);
        assert!(huge.check(&d, s).unwrap_err().contains("impossible size"));
        // The sizes claimed by the list and the descriptor agree, the chunks do not.
        let (mut short, d, s) = list(&[10, 20]);
        short.chunks[1].size = 19;
        assert!(
            short
                .check(&d, s)
                .unwrap_err()
                .contains("add up to 29 bytes, not 30")
        );
    }
}
