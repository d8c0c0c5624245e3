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
