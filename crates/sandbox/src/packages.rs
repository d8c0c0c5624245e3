//! Tile packages as ArcGIS Pro writes them, read and written: a vector tile package (`.vtpk`: a
//! zip holding `p12/root.json`, the service description with its tiling scheme,
//! `p12/resources/styles/root.json`, and the tiles in `p12/tile/L<zz>/R<rrrr>C<cccc>.bundle`)
//! and a compact tile package (`.tpkx`: `root.json` and `tile/L<zz>/….bundle`). Tiles are in
//! compact cache V2 bundles of 128 × 128 tiles: a 64-byte header, an index of one 8-byte entry
//! per tile (the tile's offset in the low 40 bits, its size in the high 24; size 0 is no tile),
//! then each tile's bytes after a 4-byte length. The sandbox serves a tile layer published from a
//! package from its bundles (`api/tile_packages.rs`); [`vector_tile_package`] and
//! [`compact_tile_package`] make packages for tests and the demo organization.

use std::io::{Read, Seek, Write};

use serde_json::Value;

/// Tiles per bundle side.
const BUNDLE: u64 = 128;
/// The header's size.
const HEADER: u64 = 64;

/// Where a package keeps its files: `p12/` in a vector tile package, the root in a tpkx.
#[must_use]
pub fn prefix(vector: bool) -> &'static str {
    if vector { "p12/" } else { "" }
}

/// The path of the bundle holding tile `z/y/x`, and the tile's index entry's offset in it.
fn bundle_of(vector: bool, z: u32, y: u64, x: u64) -> (String, u64) {
    let (row0, col0) = (y / BUNDLE * BUNDLE, x / BUNDLE * BUNDLE);
    let path = format!(
        "{}tile/L{z:02}/R{row0:04x}C{col0:04x}.bundle",
        prefix(vector)
    );
    let entry = HEADER + 8 * ((y % BUNDLE) * BUNDLE + x % BUNDLE);
    (path, entry)
}

/// A file of the package, `None` when it has none by that path.
///
/// # Errors
/// The package is not a readable zip.
pub fn file<R: Read + Seek>(package: R, path: &str) -> Result<Option<Vec<u8>>, String> {
    let mut zip = zip::ZipArchive::new(package).map_err(|e| format!("not a zip: {e}"))?;
    let Ok(mut f) = zip.by_name(path) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    f.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(Some(out))
}

/// The package's description (`root.json`): a tiling scheme (`tileInfo`), extents and scales.
///
/// # Errors
/// Not a zip, no `root.json`, or one without a `tileInfo`.
pub fn root<R: Read + Seek>(package: R, vector: bool) -> Result<Value, String> {
    let path = format!("{}root.json", prefix(vector));
    let bytes = file(package, &path)?.ok_or_else(|| format!("the package has no {path}"))?;
    let root: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{path} is not JSON: {e}"))?;
    if root.get("tileInfo").is_none() {
        return Err(format!("{path} has no tileInfo"));
    }
    Ok(root)
}

/// Tile `z/y/x` of the package, `None` when it holds none there. A bundle stored uncompressed (as
/// ArcGIS Pro writes packages) is read where the tile is: its index entry, then the tile; a
/// compressed one is read whole.
///
/// # Errors
/// Not a zip, or a bundle cut short or pointing outside itself.
pub fn tile<R: Read + Seek>(
    package: R,
    vector: bool,
    z: u32,
    y: u64,
    x: u64,
) -> Result<Option<Vec<u8>>, String> {
    let (path, entry) = bundle_of(vector, z, y, x);
    let mut zip = zip::ZipArchive::new(package).map_err(|e| format!("not a zip: {e}"))?;
    let cut = |what: &str| format!("{path}: {what} lies outside the bundle");
    match zip.by_name_seek(&path) {
        Ok(mut bundle) => {
            let mut index = [0u8; 8];
            bundle
                .seek(std::io::SeekFrom::Start(entry))
                .and_then(|_| bundle.read_exact(&mut index))
                .map_err(|_| cut("its index"))?;
            let Some((offset, size)) = located(u64::from_le_bytes(index)) else {
                return Ok(None);
            };
            let mut out = vec![0u8; usize::try_from(size).map_err(|_| cut("a tile"))?];
            bundle
                .seek(std::io::SeekFrom::Start(offset))
                .and_then(|_| bundle.read_exact(&mut out))
                .map_err(|_| cut(&format!("tile {z}/{y}/{x}")))?;
            Ok(Some(out))
        }
        Err(zip::result::ZipError::FileNotFound) => Ok(None),
        Err(_) => {
            let mut bundle = Vec::new();
            zip.by_name(&path)
                .map_err(|e| e.to_string())?
                .read_to_end(&mut bundle)
                .map_err(|e| e.to_string())?;
            let at = |from: u64, len: u64| {
                let from = usize::try_from(from).ok()?;
                bundle.get(from..from.checked_add(usize::try_from(len).ok()?)?)
            };
            let index = at(entry, 8).ok_or_else(|| cut("its index"))?;
            let Some((offset, size)) =
                located(u64::from_le_bytes(index.try_into().unwrap_or_default()))
            else {
                return Ok(None);
            };
            at(offset, size)
                .map(|t| Some(t.to_vec()))
                .ok_or_else(|| cut(&format!("tile {z}/{y}/{x}")))
        }
    }
}

/// An index entry's tile: its offset (low 40 bits) and size (high 24), `None` for no tile.
fn located(entry: u64) -> Option<(u64, u64)> {
    let (offset, size) = (entry & ((1 << 40) - 1), entry >> 40);
    (size > 0).then_some((offset, size))
}

/// A tile in its bundle: row and column within the bundle, and its bytes.
type BundledTile<'a> = (u64, u64, &'a [u8]);

/// One bundle's bytes holding `tiles`.
fn bundle(tiles: &[BundledTile<'_>]) -> Vec<u8> {
    let index_len = BUNDLE * BUNDLE * 8;
    let mut index = vec![0u8; usize::try_from(index_len).unwrap_or(0)];
    let mut data = Vec::new();
    let mut max = 0u32;
    for (row, col, bytes) in tiles {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        max = max.max(len);
        data.extend_from_slice(&len.to_le_bytes());
        let offset = HEADER + index_len + data.len() as u64;
        data.extend_from_slice(bytes);
        let value = offset | (u64::from(len) << 40);
        let at = usize::try_from(8 * (row * BUNDLE + col)).unwrap_or(0);
        index[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    // Compact cache V2 header: version 3, the record count, the largest tile, offset bytes 5,
    // the virtual file size, the index's offset and size.
    let mut header = Vec::with_capacity(64);
    header.extend_from_slice(&3u32.to_le_bytes());
    header.extend_from_slice(&u32::try_from(BUNDLE * BUNDLE).unwrap_or(0).to_le_bytes());
    header.extend_from_slice(&max.to_le_bytes());
    header.extend_from_slice(&5u32.to_le_bytes());
    header.extend_from_slice(&(HEADER + index_len + data.len() as u64).to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes());
    header.extend_from_slice(&40u32.to_le_bytes());
    header.extend_from_slice(&u32::try_from(index_len).unwrap_or(0).to_le_bytes());
    header.resize(64, 0);
    let mut out = header;
    out.extend_from_slice(&index);
    out.extend_from_slice(&data);
    out
}

/// A package (`vector` a `.vtpk`, else a `.tpkx`) of `root`, an optional style, and `tiles`
/// (`z`, `y`, `x`, bytes), each bundle holding its tiles.
///
/// # Errors
/// Writing the zip.
fn package(
    vector: bool,
    root: &Value,
    style: Option<&Value>,
    tiles: &[(u32, u64, u64, Vec<u8>)],
) -> Result<Vec<u8>, String> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    // Packages are stored, not deflated: tiles are compressed already, and bundles are read by
    // offset.
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let p = prefix(vector);
    let mut add = |path: &str, bytes: &[u8]| -> Result<(), String> {
        zip.start_file(path, stored).map_err(|e| e.to_string())?;
        zip.write_all(bytes).map_err(|e| e.to_string())
    };
    add(&format!("{p}root.json"), root.to_string().as_bytes())?;
    if let Some(style) = style {
        add(
            &format!("{p}resources/styles/root.json"),
            style.to_string().as_bytes(),
        )?;
    }
    let mut bundles: std::collections::BTreeMap<String, Vec<BundledTile<'_>>> =
        std::collections::BTreeMap::new();
    for (z, y, x, bytes) in tiles {
        let (path, _) = bundle_of(vector, *z, *y, *x);
        bundles
            .entry(path)
            .or_default()
            .push((y % BUNDLE, x % BUNDLE, bytes.as_slice()));
    }
    for (path, tiles) in &bundles {
        add(path, &bundle(tiles))?;
    }
    zip.finish().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// A vector tile package (`.vtpk`) of `tiles` with `root.json` and its style.
///
/// # Errors
/// Writing the zip.
pub fn vector_tile_package(
    root: &Value,
    style: &Value,
    tiles: &[(u32, u64, u64, Vec<u8>)],
) -> Result<Vec<u8>, String> {
    package(true, root, Some(style), tiles)
}

/// A compact tile package (`.tpkx`) of `tiles` with its `root.json`.
///
/// # Errors
/// Writing the zip.
pub fn compact_tile_package(
    root: &Value,
    tiles: &[(u32, u64, u64, Vec<u8>)],
) -> Result<Vec<u8>, String> {
    package(false, root, None, tiles)
}

/// A package's `root.json` in ArcGIS Online's Web Mercator tiling scheme, levels 0 to
/// `max_level` (512-pixel `pbf` tiles for a vector tile package, 256-pixel `PNG` ones else), as
/// ArcGIS Pro writes it.
#[must_use]
pub fn web_mercator_root(vector: bool, name: &str, max_level: u32) -> Value {
    const HALF: f64 = 20_037_508.342_787;
    let (size, factor) = if vector { (512, 0.5) } else { (256, 1.0) };
    let lods: Vec<Value> = (0..=max_level)
        .map(|z| {
            let div = f64::from(1u32 << z);
            serde_json::json!({"level": z, "resolution": 156_543.033_928_000_14 * factor / div,
                               "scale": 591_657_527.591_555 * factor / div})
        })
        .collect();
    let sr = serde_json::json!({"wkid": 102_100, "latestWkid": 3857});
    let extent = serde_json::json!({"xmin": -HALF, "ymin": -HALF, "xmax": HALF, "ymax": HALF, "spatialReference": sr});
    let mut root = serde_json::json!({
        "currentVersion": 11.3, "name": name,
        "tileInfo": {"rows": size, "cols": size, "dpi": 96, "format": if vector { "pbf" } else { "PNG" },
                     "origin": {"x": -HALF, "y": HALF}, "spatialReference": sr, "lods": lods},
        "initialExtent": extent, "fullExtent": extent, "minScale": 0, "maxScale": 0,
    });
    if vector {
        root["type"] = serde_json::json!("indexedVector");
        root["maxzoom"] = serde_json::json!(max_level);
        root["resourceInfo"] = serde_json::json!({"styleVersion": 8, "tileCompression": "none",
            "cacheInfo": {"storageInfo": {"packetSize": 128, "storageFormat": "compactV2"}}});
    } else {
        root["storageInfo"] = serde_json::json!({"packetSize": 128, "storageFormat": "esriMapCacheStorageModeCompactV2"});
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_written_to_bundles_read_back_and_absent_ones_are_none() {
        let root = serde_json::json!({"tileInfo": {"rows": 512, "lods": []}});
        let tiles = vec![
            (0, 0, 0, b"world".to_vec()),
            (14, 6_329, 2_800, b"street".to_vec()),
            (14, 6_329, 2_801, b"next door".to_vec()),
            (14, 6_500, 2_950, b"other bundle".to_vec()),
        ];
        let zip = vector_tile_package(&root, &serde_json::json!({"version": 8}), &tiles).unwrap();
        let read = |z, y, x| tile(std::io::Cursor::new(&zip), true, z, y, x).unwrap();
        for (z, y, x, bytes) in &tiles {
            assert_eq!(read(*z, *y, *x).as_deref(), Some(bytes.as_slice()));
        }
        assert_eq!(read(14, 6_329, 2_802), None);
        assert_eq!(read(3, 1, 1), None);
        assert_eq!(root_of(&zip)["tileInfo"]["rows"], 512);
    }

    #[test]
    fn a_bundle_someone_deflated_is_read_whole() {
        let tiles = vec![(14, 6_329, 2_800, b"street".to_vec())];
        let stored = compact_tile_package(&serde_json::json!({"tileInfo": {}}), &tiles).unwrap();
        // The same entries, deflated.
        let mut from = zip::ZipArchive::new(std::io::Cursor::new(&stored)).unwrap();
        let mut out = std::io::Cursor::new(Vec::new());
        let mut to = zip::ZipWriter::new(&mut out);
        for i in 0..from.len() {
            let mut entry = from.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            let name = entry.name().unwrap().into_owned();
            drop(entry);
            let deflated = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            to.start_file(name, deflated).unwrap();
            to.write_all(&bytes).unwrap();
        }
        to.finish().unwrap();
        let deflated = out.into_inner();
        let read = |z, y, x| tile(std::io::Cursor::new(&deflated), false, z, y, x).unwrap();
        assert_eq!(read(14, 6_329, 2_800).as_deref(), Some(&b"street"[..]));
        assert_eq!(read(14, 6_329, 2_801), None);
    }

    fn root_of(zip: &[u8]) -> Value {
        root(std::io::Cursor::new(zip), true).unwrap()
    }
}
