//! The rows of a File Geodatabase table as Esri JSON features (`{"attributes", "geometry"}`), a
//! page at a time: what a hosted feature layer's `query` answers. The row and geometry encodings
//! follow the GDAL project's public description of the format (OpenFileGDB driver) and are checked
//! against GDAL's own reading of files it writes.
//!
//! Supported: every attribute type but rasters; points, multipoints, polylines and polygons with
//! or without Z and M (curves are read as their vertices). Multipatches are not read.

use serde_json::{Map, Value, json};

use crate::bytes::Bytes;
use crate::fgdb::{GeometryParams, TableInfo};

/// One page of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The rows of the page, each `{"attributes": {...}, "geometry": {...}}` (no `geometry` for
    /// tables or null shapes).
    pub features: Vec<Value>,
    /// Whether rows remain after this page.
    pub more: bool,
    /// The attribute names in the layer's order (features' attribute maps are sorted by name).
    pub fields: Vec<String>,
    /// The coordinates' spatial reference as WKT, when the file says.
    pub spatial_reference: Option<String>,
}

/// Which rows a page takes: the live rows after the first `offset`, at most `limit` of them, and
/// whether any follow. Every format's pager counts through one.
pub(crate) struct Window {
    offset: usize,
    limit: usize,
    seen: usize,
    taken: usize,
    /// Live rows remain after the page.
    pub(crate) more: bool,
}

/// What a page does with the next live row.
pub(crate) enum Admit {
    /// Before the offset: read past it.
    Skip,
    /// In the page.
    Take,
    /// The page is full (and [`Window::more`] now says so): stop reading.
    Stop,
}

impl Window {
    pub(crate) fn new(offset: usize, limit: usize) -> Self {
        Self {
            offset,
            limit,
            seen: 0,
            taken: 0,
            more: false,
        }
    }

    /// Count the next live row (deleted rows are not shown to it).
    pub(crate) fn admit(&mut self) -> Admit {
        if self.seen < self.offset {
            self.seen += 1;
            Admit::Skip
        } else if self.taken == self.limit {
            self.more = true;
            Admit::Stop
        } else {
            self.seen += 1;
            self.taken += 1;
            Admit::Take
        }
    }
}

/// Rows `offset .. offset + limit` (in object id order, deleted rows skipped) of the table whose
/// `.gdbtable` bytes are `table` and `.gdbtablx` bytes `index`. `names` are the field names
/// (`info.fields`, in order); the object id goes in under `oid_name`.
///
/// # Errors
/// A message naming the row or field that is damaged.
pub fn page(
    table: &[u8],
    index: &[u8],
    info: &TableInfo,
    offset: usize,
    limit: usize,
) -> Result<Page, String> {
    let mut x = Bytes::new(index);
    let magic = x.i32("table index")?;
    if magic != 3 {
        return Err(format!("table index signature {magic}, expected 3"));
    }
    let blocks = x.i32("table index")?;
    let count = x.i32("table index")?;
    let width = x.i32("table index")?;
    if !(4..=6).contains(&width) || !(0..=1 << 30).contains(&count) {
        return Err(format!(
            "table index declares {count} rows of {width}-byte offsets"
        ));
    }
    if i64::from(blocks) * 1024 < i64::from(count) {
        return Err("sparse table indexes are not read".into());
    }
    #[allow(clippy::cast_sign_loss)] // checked non-negative above
    let (count, width) = (count as usize, width as usize);
    let mut features = Vec::new();
    let mut window = Window::new(offset, limit);
    for row in 0..count {
        let raw = x.take(width, "table index offsets")?;
        let mut buf = [0u8; 8];
        buf[..raw.len()].copy_from_slice(raw);
        let at = u64::from_le_bytes(buf);
        if at == 0 {
            continue; // deleted
        }
        match window.admit() {
            Admit::Skip => continue,
            Admit::Stop => break,
            Admit::Take => {}
        }
        let at = usize::try_from(at).map_err(|_| "row offset too large".to_owned())?;
        let oid = row as u64 + 1;
        features.push(read_row(table, at, info, oid).map_err(|e| format!("row {oid}: {e}"))?);
    }
    let fields = info
        .fields
        .iter()
        .zip(&info.columns)
        .filter(|(_, (t, _))| *t != 7)
        .map(|(f, _)| f.name.clone())
        .collect();
    Ok(Page {
        features,
        more: window.more,
        fields,
        spatial_reference: info.srs_wkt.clone(),
    })
}

fn read_row(table: &[u8], at: usize, info: &TableInfo, oid: u64) -> Result<Value, String> {
    let mut r = Bytes::at(table, at);
    let len = r.i32("row size")?;
    let len = usize::try_from(len).map_err(|_| format!("negative row size {len}"))?;
    let body = r.take(len, "row")?;
    let mut r = Bytes::new(body);
    let flags = r.take(info.nullable_fields.div_ceil(8), "null flags")?;
    let mut nullable_seen = 0usize;
    let mut attributes = Map::new();
    let mut geometry = None;
    for (field, &(ftype, nullable)) in info.fields.iter().zip(&info.columns) {
        if ftype == 6 {
            attributes.insert(field.name.clone(), json!(oid));
            continue;
        }
        if nullable {
            let i = nullable_seen;
            nullable_seen += 1;
            if flags[i / 8] & (1 << (i % 8)) != 0 {
                if ftype != 7 {
                    attributes.insert(field.name.clone(), Value::Null);
                }
                continue;
            }
        }
        let what = field.name.as_str();
        let value = match ftype {
            0 => json!(i16::from_le_bytes(fixed(&mut r, what)?)),
            1 => json!(i32::from_le_bytes(fixed(&mut r, what)?)),
            2 => json!(f32::from_le_bytes(fixed(&mut r, what)?)),
            // Doubles, and dates-only and times-only (kept as the file stores them).
            3 | 14 | 15 => json!(f64::from_le_bytes(fixed(&mut r, what)?)),
            4 | 12 => {
                let n = sized(&mut r, what)?;
                json!(String::from_utf8_lossy(r.take(n, what)?))
            }
            // Days since 1899-12-30 → epoch milliseconds, as feature services answer dates.
            5 => {
                let days = f64::from_le_bytes(fixed(&mut r, what)?);
                json!(((days - 25_569.0) * 86_400_000.0).round())
            }
            7 => {
                let n = sized(&mut r, what)?;
                let blob = r.take(n, what)?;
                let params = info
                    .geometry
                    .ok_or_else(|| format!("{what}: no coordinate encoding"))?;
                geometry = shape(blob, &params).map_err(|e| format!("{what}: {e}"))?;
                continue;
            }
            // Blobs as Base64 text, as feature services send them.
            8 => {
                use base64::Engine as _;
                let n = sized(&mut r, what)?;
                json!(base64::engine::general_purpose::STANDARD.encode(r.take(n, what)?))
            }
            10 | 11 => guid(r.take(16, what)?),
            13 => json!(i64::from_le_bytes(fixed(&mut r, what)?)),
            16 => {
                let v = f64::from_le_bytes(fixed(&mut r, what)?);
                r.skip(2, what)?;
                json!(v)
            }
            other => return Err(format!("{what}: fields of type {other} are not read")),
        };
        attributes.insert(field.name.clone(), value);
    }
    let mut feature = Map::new();
    feature.insert("attributes".into(), Value::Object(attributes));
    if let Some(g) = geometry {
        feature.insert("geometry".into(), g);
    }
    Ok(Value::Object(feature))
}

fn fixed<const N: usize>(r: &mut Bytes<'_>, what: &str) -> Result<[u8; N], String> {
    Ok(r.take(N, what)?.try_into().expect("N bytes"))
}

fn sized(r: &mut Bytes<'_>, what: &str) -> Result<usize, String> {
    let n = r.varuint(what)?;
    usize::try_from(n).map_err(|_| format!("{what}: impossible length {n}"))
}

/// A GUID as `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` (the first three groups little-endian).
fn guid(b: &[u8]) -> Value {
    let hex = |bytes: &[u8]| {
        bytes.iter().fold(String::new(), |mut out, x| {
            use std::fmt::Write as _;
            let _ = write!(out, "{x:02X}");
            out
        })
    };
    let rev = |bytes: &[u8]| hex(&bytes.iter().rev().copied().collect::<Vec<_>>());
    json!(format!(
        "{{{}-{}-{}-{}-{}}}",
        rev(&b[0..4]),
        rev(&b[4..6]),
        rev(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..16])
    ))
}

/// A signed varint: 6 value bits and the sign in the first byte, then 7 bits a byte.
fn varint(r: &mut Bytes<'_>, what: &str) -> Result<i64, String> {
    let first = r.u8(what)?;
    let negative = first & 0x40 != 0;
    let mut value = i64::from(first & 0x3F);
    let mut more = first & 0x80 != 0;
    let mut shift = 6;
    while more {
        if shift > 62 {
            return Err(format!("varint too long in {what}"));
        }
        let b = r.u8(what)?;
        value |= i64::from(b & 0x7F) << shift;
        more = b & 0x80 != 0;
        shift += 7;
    }
    Ok(if negative { -value } else { value })
}

/// A shape blob as Esri JSON geometry; `None` for an empty shape.
#[allow(clippy::cast_precision_loss)] // coordinates are integers far below 2^53
fn shape(blob: &[u8], params: &GeometryParams) -> Result<Option<Value>, String> {
    let mut reader = Bytes::new(blob);
    let raw = reader.varuint("shape type")?;
    let base = raw & 0xFF;
    // General types (50–54) carry Z and M in flags; the others in their number.
    let (kind, has_z, has_m) = match base {
        1 | 9 | 11 | 21 => (1, matches!(base, 9 | 11), matches!(base, 11 | 21)),
        8 | 18 | 20 | 28 => (8, matches!(base, 18 | 20), matches!(base, 18 | 28)),
        3 | 10 | 13 | 23 => (3, matches!(base, 10 | 13), matches!(base, 13 | 23)),
        5 | 15 | 19 | 25 => (5, matches!(base, 15 | 19), matches!(base, 15 | 25)),
        50..=53 => (
            match base {
                50 => 3,
                51 => 5,
                52 => 1,
                _ => 8,
            },
            raw & 0x8000_0000 != 0,
            raw & 0x4000_0000 != 0,
        ),
        0 => return Ok(None),
        other => return Err(format!("shape type {other} is not read")),
    };
    let scale = |value: f64, origin: f64, units: f64| snap(value / units + origin, units);
    if kind == 1 {
        let x = reader.varuint("point x")?;
        let y = reader.varuint("point y")?;
        if x == 0 {
            return Ok(None);
        }
        let mut point = json!({
            "x": scale((x - 1) as f64, params.x_origin, params.xy_scale),
            "y": scale((y.saturating_sub(1)) as f64, params.y_origin, params.xy_scale),
        });
        if has_z {
            let z = reader.varuint("point z")?;
            if let Some((origin, units)) = params.z {
                point["z"] = json!(scale(z.saturating_sub(1) as f64, origin, units));
            }
        }
        return Ok(Some(point));
    }
    let points = sized(&mut reader, "point count")?;
    if points == 0 {
        return Ok(None);
    }
    if points > blob.len() {
        return Err(format!("{points} points in a {}-byte shape", blob.len()));
    }
    let parts = if kind == 8 {
        1
    } else {
        sized(&mut reader, "part count")?
    };
    if parts == 0 || parts > points {
        return Err(format!("{parts} parts for {points} points"));
    }
    for _ in 0..4 {
        reader.varuint("bounding box")?;
    }
    let mut sizes = Vec::with_capacity(parts);
    let mut counted = 0usize;
    for _ in 1..parts {
        let n = sized(&mut reader, "part size")?;
        counted = counted
            .checked_add(n)
            .filter(|c| *c <= points)
            .ok_or("part sizes exceed the point count")?;
        sizes.push(n);
    }
    sizes.push(points - counted);
    let (mut dx, mut dy) = (0i64, 0i64);
    let mut coords = Vec::with_capacity(points);
    for _ in 0..points {
        dx += varint(&mut reader, "x")?;
        dy += varint(&mut reader, "y")?;
        coords.push(vec![
            json!(scale(dx as f64, params.x_origin, params.xy_scale)),
            json!(scale(dy as f64, params.y_origin, params.xy_scale)),
        ]);
    }
    if has_z && let Some((origin, units)) = params.z {
        let mut dz = 0i64;
        for coord in &mut coords {
            dz += varint(&mut reader, "z")?;
            coord.push(json!(scale(dz as f64, origin, units)));
        }
    }
    let _ = has_m; // M values follow; feature services leave them out unless asked.
    let mut at = 0;
    let mut groups = Vec::with_capacity(parts);
    for n in sizes {
        groups.push(Value::Array(
            coords[at..at + n]
                .iter()
                .cloned()
                .map(Value::Array)
                .collect(),
        ));
        at += n;
    }
    let key = match kind {
        8 => "points",
        3 => "paths",
        _ => "rings",
    };
    let value = if kind == 8 {
        Value::Array(coords.into_iter().map(Value::Array).collect())
    } else {
        Value::Array(groups)
    };
    let mut geometry = Map::new();
    geometry.insert(key.into(), value);
    if has_z && params.z.is_some() {
        geometry.insert("hasZ".into(), json!(true));
    }
    Ok(Some(Value::Object(geometry)))
}

/// A coordinate rounded to the grid it was stored on (one decimal beyond the resolution
/// `1 / units`), so `-117.2` reads back as `-117.2`, not `-117.19999999999999`.
#[allow(clippy::cast_possible_truncation)] // log10 of a positive scale, clamped
fn snap(value: f64, units: f64) -> f64 {
    if !(units.is_finite() && units > 0.0) {
        return value;
    }
    let decimals = (units.log10().ceil() as i32 + 1).clamp(0, 15);
    let factor = 10f64.powi(decimals);
    let snapped = (value * factor).round() / factor;
    if snapped.is_finite() { snapped } else { value }
}
