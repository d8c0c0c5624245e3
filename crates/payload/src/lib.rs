//! # orgpack-payload
//!
//! What is inside the files that hold ArcGIS data: File Geodatabase and shapefile zips (layers,
//! geometry types, spatial references, fields, feature counts), service definitions (`.sd`, 7-Zip:
//! the service's name, type and folder, and the layers of the geodatabase copied in; [`sd`]),
//! GeoJSON and CSV (features, rows, columns), and other files by their magic bytes. Backup records the [`Summary`] with each
//! payload; restore compares it with the target service's counts.
//!
//! It also writes: features as CSV, GeoJSON and zipped shapefiles ([`FeatureWriter`], [`convert`])
//! and as File Geodatabases ([`write_geodatabase`]: tables with their object ids, fields,
//! aliases, domains and shapes, read back by GDAL), which is how the sandbox exports hosted layers.
//!
//! [`inspect`] reads only what it needs (headers, field sections, the geodatabase catalog), never
//! loads a whole file, never uses a name from an archive as a path, and bounds every read, so
//! damaged or hostile files give an [`Error`] naming the part, never a panic, a hang or an
//! exhausted memory.
//!
//! ```
//! let csv = "id,lon,lat\n1,-117.2,34.05\n2,-117.1,34.06\n";
//! let summary = orgpack_payload::inspect(std::io::Cursor::new(csv), "stations.csv").unwrap();
//! assert_eq!(summary.layers[0].feature_count, 2);
//! assert_eq!(summary.layers[0].geometry_type.as_deref(), Some("Point"));
//! ```

mod bytes;
pub mod error;
mod features;
pub mod fgdb;
mod fgdb_write;
pub mod rows;
pub mod sd;
mod shapefile;
mod shapefile_write;
pub mod summary;
mod text;
mod zipped;

use std::io::{Read, Seek, SeekFrom};

pub use error::{Error, Result};
pub use features::{FeatureWriter, Format, convert, esri_geometry, features, geojson_geometry};
pub use fgdb_write::{FieldSpec, RelationshipSpec, TableSpec, write_geodatabase};
pub use shapefile_write::{ShapefileLayer, WGS84_WKT, write_shapefiles};
pub use summary::{Entry, Field, Kind, Layer, ServiceInfo, Summary};

/// Inspect a payload. `name` is the file name (used for layer names of single-layer files and
/// in messages, never as a path).
///
/// # Errors
/// [`Error::Corrupt`] for damaged files, [`Error::Refused`] for hostile ones, [`Error::Io`].
pub fn inspect<R: Read + Seek>(mut reader: R, name: &str) -> Result<Summary> {
    let mut head = [0u8; 16];
    let n = read_up_to(&mut reader, &mut head).map_err(|e| Error::io(name, e))?;
    let head = &head[..n];
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(name, e))?;
    let stem = name.rsplit('/').next().unwrap_or(name);
    let stem = stem.split('.').next().unwrap_or(stem).to_owned();
    let extension = std::path::Path::new(name)
        .extension()
        .map(std::ffi::OsStr::to_ascii_lowercase);
    let is_text = extension.as_ref().is_some_and(|e| e == "csv" || e == "txt");
    let kind = if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return zipped::inspect(reader, name);
    } else if head.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        return sd::inspect(reader, name);
    } else if head.starts_with(b"%PDF") {
        Kind::Pdf
    } else if head.starts_with(b"\x89PNG")
        || head.starts_with(&[0xFF, 0xD8, 0xFF])
        || head.starts_with(b"GIF8")
        || head.starts_with(b"II*\0")
        || head.starts_with(b"MM\0*")
    {
        Kind::Image
    } else if head.starts_with(b"SQLite format 3\0") {
        Kind::Sqlite
    } else if head
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| b == b'{' || b == b'[')
        || head.starts_with(&[0xEF, 0xBB, 0xBF, b'{'])
    {
        let mut r = reader;
        skip_bom(&mut r, head).map_err(|e| Error::io(name, e))?;
        return Ok(text::geojson(r, name, &stem)?.unwrap_or_else(|| Summary::plain(Kind::Json)));
    } else if is_text {
        let mut r = reader;
        skip_bom(&mut r, head).map_err(|e| Error::io(name, e))?;
        return text::csv(r, name, &stem);
    } else {
        Kind::Other
    };
    Ok(Summary::plain(kind))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn skip_bom(r: &mut impl Seek, head: &[u8]) -> std::io::Result<()> {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        r.seek(SeekFrom::Start(3))?;
    }
    Ok(())
}
