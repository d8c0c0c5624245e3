//! The `orgpack-layout` marker document and the names of everything in an archive
//! (spec/archive-format.md §2 and §3.2).

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// The name of the marker file at the root of every archive.
pub const LAYOUT_FILE: &str = "orgpack-layout";
/// The name of the commit point.
pub const INDEX_FILE: &str = "index.json";
/// The format version this build writes.
pub const FORMAT_VERSION: &str = "2.2.0";
/// The layout version of an encrypted archive: 2.x readers must refuse it by its version rather
/// than misread sealed objects (spec/archive-format.md §3.7).
pub const ENCRYPTED_FORMAT_VERSION: &str = "3.0.0";
/// The newest major format version of manifests and indexes this build reads (and writes).
pub const FORMAT_MAJOR: u64 = 2;
/// The newest major format version of layouts this build reads: 3 for encrypted archives.
pub const LAYOUT_MAJOR: u64 = 3;
/// The oldest major format version this build reads: 1.x archives stay readable.
pub const OLDEST_MAJOR: u64 = 1;

/// Whether this build reads a manifest or index of format `version`.
#[must_use]
pub fn reads_version(version: &str) -> bool {
    major_version(version).is_some_and(|m| (OLDEST_MAJOR..=FORMAT_MAJOR).contains(&m))
}

/// Whether this build reads an `orgpack-layout` of format `version`.
#[must_use]
pub fn reads_layout_version(version: &str) -> bool {
    major_version(version).is_some_and(|m| (OLDEST_MAJOR..=LAYOUT_MAJOR).contains(&m))
}
/// The value of [`Layout::format`].
pub const FORMAT_NAME: &str = "orgpack";

/// The largest uncompressed blob a reader accepts (16 MiB).
pub const MAX_BLOB_SIZE: u64 = 16 << 20;
/// The largest stored blob a reader accepts: zstd's compress bound for [`MAX_BLOB_SIZE`]
/// (`n + n/256 + 128 KiB` covers it).
pub const MAX_STORED_BLOB_SIZE: u64 = MAX_BLOB_SIZE + (MAX_BLOB_SIZE >> 8) + (128 << 10);
/// The largest snapshot manifest a reader accepts (256 MiB).
pub const MAX_MANIFEST_SIZE: u64 = 256 << 20;
/// The largest `index.json` a reader accepts (64 MiB).
pub const MAX_INDEX_SIZE: u64 = 64 << 20;
/// The largest `orgpack-layout` a reader accepts (64 KiB).
pub const MAX_LAYOUT_SIZE: u64 = 64 << 10;

/// The `orgpack-layout` document: marks an archive and fixes the parameters that must not change
/// within a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    /// Always `orgpack`.
    pub format: String,
    /// The semantic version of the format, `MAJOR.MINOR.PATCH`.
    pub format_version: String,
    /// A random id for this repository (64 hex digits), kept when snapshots are copied.
    pub repository_id: String,
    /// How large payloads are cut into chunks.
    pub chunker: ChunkerParams,
    /// Present when the archive is encrypted (format 3.0.0): its objects are sealed, its keys in
    /// `keys/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<crate::crypt::Encryption>,
}

/// FastCDC parameters (spec/archive-format.md §3.5). Writers must use the repository's values so that
/// chunks of successive backups line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkerParams {
    /// Always `fastcdc-2020`.
    pub algorithm: ChunkerAlgorithm,
    /// Smallest chunk, in bytes (except the last).
    pub min_size: u32,
    /// Target average chunk size, in bytes.
    pub avg_size: u32,
    /// Largest chunk, in bytes.
    pub max_size: u32,
    /// FastCDC normalization level (0–3).
    pub normalization: u8,
}

/// The content-defined chunking algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ChunkerAlgorithm {
    /// FastCDC as in the 2020 paper, unseeded gear table (the `fastcdc` crate's `v2020`).
    #[serde(rename = "fastcdc-2020")]
    FastCdc2020,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        Self {
            algorithm: ChunkerAlgorithm::FastCdc2020,
            min_size: 256 << 10,
            avg_size: 1 << 20,
            max_size: 4 << 20,
            normalization: 1,
        }
    }
}

impl ChunkerParams {
    /// Check the parameters are within what readers and the chunker accept.
    ///
    /// # Errors
    /// A message naming the bad parameter.
    pub fn validate(&self) -> Result<(), String> {
        let ok = (64..=1 << 20).contains(&self.min_size)
            && (256..=4 << 20).contains(&self.avg_size)
            && (1024..=16 << 20).contains(&self.max_size)
            && self.min_size <= self.avg_size
            && self.avg_size <= self.max_size
            && u64::from(self.max_size) <= MAX_BLOB_SIZE
            && self.normalization <= 3;
        if ok {
            Ok(())
        } else {
            Err(format!(
                "chunker sizes min {} / avg {} / max {} / normalization {} are out of range",
                self.min_size, self.avg_size, self.max_size, self.normalization
            ))
        }
    }
}

impl Layout {
    /// A new layout with a fresh repository id.
    #[must_use]
    pub fn new(repository_id: String, chunker: ChunkerParams) -> Self {
        Self {
            format: FORMAT_NAME.to_owned(),
            format_version: FORMAT_VERSION.to_owned(),
            repository_id,
            chunker,
            encryption: None,
        }
    }

    /// A new layout of an encrypted archive.
    #[must_use]
    pub fn encrypted(repository_id: String, chunker: ChunkerParams) -> Self {
        Self {
            format_version: ENCRYPTED_FORMAT_VERSION.to_owned(),
            encryption: Some(crate::crypt::Encryption::default()),
            ..Self::new(repository_id, chunker)
        }
    }
}

/// Parse `MAJOR.MINOR.PATCH` and return the major version.
#[must_use]
pub fn major_version(version: &str) -> Option<u64> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor_ok = parts.next().is_some_and(|p| p.parse::<u64>().is_ok());
    let patch_ok = parts.next().is_some_and(|p| p.parse::<u64>().is_ok());
    (minor_ok && patch_ok && parts.next().is_none()).then_some(major)
}

/// An object in the archive, by its place in the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// `orgpack-layout`
    Layout,
    /// `index.json`
    Index,
    /// `snapshots/<hex>.json`
    Snapshot(Digest),
    /// `blobs/sha256/<hex[0..2]>/<hex>`
    Blob(Digest),
    /// `keys/<hex>.json`: a key file of an encrypted archive (`crate::crypt`), named by a random
    /// id.
    KeyFile(Digest),
}

impl Key {
    /// The path of this object inside the archive, `/`-separated.
    #[must_use]
    pub fn path(&self) -> String {
        match self {
            Self::Layout => LAYOUT_FILE.to_owned(),
            Self::Index => INDEX_FILE.to_owned(),
            Self::Snapshot(d) => format!("snapshots/{}.json", d.hex()),
            Self::Blob(d) => {
                let hex = d.hex();
                format!("blobs/sha256/{}/{hex}", &hex[..2])
            }
            Self::KeyFile(d) => format!("keys/{}.json", d.hex()),
        }
    }

    /// Parse a layout path back into a key. Returns `None` for anything that is not a
    /// well-formed name of this layout.
    #[must_use]
    pub fn parse(path: &str) -> Option<Self> {
        match path {
            LAYOUT_FILE => return Some(Self::Layout),
            INDEX_FILE => return Some(Self::Index),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("snapshots/") {
            let hex = rest.strip_suffix(".json")?;
            return Digest::from_hex(hex).ok().map(Self::Snapshot);
        }
        if let Some(rest) = path.strip_prefix("keys/") {
            let hex = rest.strip_suffix(".json")?;
            return Digest::from_hex(hex).ok().map(Self::KeyFile);
        }
        let rest = path.strip_prefix("blobs/sha256/")?;
        let (fan, hex) = rest.split_once('/')?;
        let digest = Digest::from_hex(hex).ok()?;
        (fan == &hex[..2]).then_some(Self::Blob(digest))
    }

    /// The largest stored size a reader accepts for this object.
    #[must_use]
    pub fn size_limit(&self) -> u64 {
        match self {
            Self::Layout | Self::KeyFile(_) => MAX_LAYOUT_SIZE,
            Self::Index => MAX_INDEX_SIZE,
            Self::Snapshot(_) => MAX_MANIFEST_SIZE,
            // A raw blob is at most MAX_BLOB_SIZE; a zstd frame is kept when smaller, except for
            // content starting with the zstd magic, which is always framed: allow zstd's bound.
            Self::Blob(_) => MAX_STORED_BLOB_SIZE,
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_round_trip() {
        let d = Digest::of(b"x");
        for key in [
            Key::Layout,
            Key::Index,
            Key::Snapshot(d),
            Key::Blob(d),
            Key::KeyFile(d),
        ] {
            assert_eq!(Key::parse(&key.path()), Some(key));
        }
        assert!(
            Key::Blob(d)
                .path()
                .starts_with(&format!("blobs/sha256/{}/", &d.hex()[..2]))
        );
    }

    #[test]
    fn key_parse_rejects_lookalikes() {
        let hex = Digest::of(b"x").hex();
        for bad in [
            format!("blobs/sha256/00/{hex}"),
            format!("blobs/sha256/{}/../{hex}", &hex[..2]),
            format!("/blobs/sha256/{}/{hex}", &hex[..2]),
            format!("snapshots/{hex}"),
            format!("snapshots/../{hex}.json"),
            "index.json/".to_owned(),
        ] {
            assert_eq!(Key::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn major_versions() {
        assert_eq!(major_version("1.0.0"), Some(1));
        assert_eq!(major_version("2.13.4"), Some(2));
        assert_eq!(major_version("1.0"), None);
        assert_eq!(major_version("one.0.0"), None);
        assert_eq!(major_version("1.0.0.0"), None);
    }

    #[test]
    fn default_chunker_is_valid() {
        ChunkerParams::default().validate().unwrap();
    }
}
