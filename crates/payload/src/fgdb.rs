//! File Geodatabase tables (`.gdbtable`, `.gdbtablx`), as described publicly by the GDAL project
//! (OpenFileGDB driver) and checked here against files GDAL writes.
//!
//! What is read: the system catalog (`a00000001`: table names, row *i* naming file
//! `a{i:08x}`), and for each table its header (valid row count, where the field section starts)
//! and its field section (geometry type, fields, spatial reference). Row data is never read,
//! so the cost does not grow with the number of features.

use crate::bytes::Bytes;
use crate::summary::{Field, Layer};

/// A table's header and field section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Valid (non-deleted) rows.
    pub rows: u64,
    /// Layer geometry type byte: 0 none, 1 point, 2 multipoint, 3 polyline, 4 polygon, 9 multipatch.
    pub geometry_type: u8,
    /// Fields, including the geometry and object id fields.
    pub fields: Vec<Field>,
    /// The spatial reference's WKT, if the geometry field has one.
    pub srs_wkt: Option<String>,
    /// How many fields may be null: rows start with one bit per such field.
    pub nullable_fields: usize,
    /// Each field's type byte and whether it may be null, in row order (for reading rows).
    pub columns: Vec<(u8, bool)>,
    /// How the geometry field stores coordinates, when there is one.
    pub geometry: Option<GeometryParams>,
}

/// How a geometry field stores coordinates: integers from an origin at a scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeometryParams {
    /// X origin.
    pub x_origin: f64,
    /// Y origin.
    pub y_origin: f64,
    /// Units per coordinate unit (x and y).
    pub xy_scale: f64,
    /// Z origin and scale, when the field has Z values.
    pub z: Option<(f64, f64)>,
    /// M origin and scale, when the field has M values.
    pub m: Option<(f64, f64)>,
}

impl Eq for GeometryParams {}

/// The most a field section may take; anything larger is refused as damage.
pub const MAX_FIELD_SECTION: usize = 4 << 20;

fn read_fields_offset(data: &[u8]) -> Result<usize, String> {
    let mut b = Bytes::at(data, 32);
    let offset = b.i64("header field-section offset")?;
    usize::try_from(offset)
        .ok()
        .filter(|o| (40..=1 << 20).contains(o))
        .ok_or_else(|| format!("field section offset {offset} is impossible"))
}

/// Parse a table from its first bytes (at least through the end of the field section).
///
/// # Errors
/// A message naming what is truncated or impossible.
pub fn parse_table(data: &[u8]) -> Result<TableInfo, String> {
    let mut b = Bytes::new(data);
    let magic = b.i32("header")?;
    if magic != 3 {
        return Err(format!("not a .gdbtable (signature {magic}, expected 3)"));
    }
    let rows = b.i32("header row count")?;
    let rows = u64::try_from(rows).map_err(|_| format!("negative row count {rows}"))?;
    let fields_offset = read_fields_offset(data)?;
    let mut f = Bytes::at(data, fields_offset);
    let section_len = f.i32("field section length")?;
    let section_len = usize::try_from(section_len)
        .ok()
        .filter(|l| *l <= MAX_FIELD_SECTION)
        .ok_or_else(|| format!("field section length {section_len} is impossible"))?;
    let section_end = f.pos() + section_len;
    if section_end > data.len() {
        return Err(format!(
            "truncated: the field section needs {section_end} bytes, the file has {}",
            data.len()
        ));
    }
    let section = &data[..section_end];
    let mut f = Bytes::at(section, f.pos());
    let version = f.i32("field section version")?;
    if !(3..=6).contains(&version) {
        return Err(format!("unknown table version {version}"));
    }
    let geometry_type = f.u8("geometry type")?;
    f.skip(3, "layer flags")?;
    let count = f.i16("field count")?;
    let count = usize::try_from(count).map_err(|_| format!("negative field count {count}"))?;
    let mut fields = Vec::with_capacity(count.min(1024));
    let mut srs_wkt = None;
    let mut nullable_fields = 0;
    let mut columns = Vec::with_capacity(count.min(1024));
    let mut geometry = None;
    for i in 0..count {
        let what = format!("field {i}");
        let name_len = f.u8(&what)?;
        let name = f.utf16(name_len.into(), &what)?;
        let alias_len = f.u8(&what)?;
        let _alias = f.utf16(alias_len.into(), &what)?;
        let ftype = f.u8(&what)?;
        let what = format!("field `{name}`");
        // The flag byte's lowest bit marks a nullable field; object ids never are.
        let flag = match ftype {
            // string: max length, flag, default value (varuint length + bytes)
            4 => {
                f.skip(4, &what)?;
                let flag = f.u8(&what)?;
                let default = f.varuint(&what)?;
                f.skip(
                    usize::try_from(default).map_err(|_| format!("{what}: impossible default"))?,
                    &what,
                )?;
                flag
            }
            // object id: width, flag
            6 => {
                f.skip(2, &what)?;
                0
            }
            7 => {
                let (wkt, flag, params) = geometry_field(&mut f, &what)?;
                srs_wkt = wkt;
                geometry = params;
                flag
            }
            // binary: unknown, flag; GUID, GlobalID, XML: width, flag
            8 | 10..=12 => {
                f.skip(1, &what)?;
                f.u8(&what)?
            }
            9 => return Err(format!("{what}: raster fields are not read")),
            // fixed-width numbers and dates: width, flag, default length, default
            0..=3 | 5 | 13..=16 => {
                f.skip(1, &what)?;
                let flag = f.u8(&what)?;
                let default = f.u8(&what)?;
                f.skip(default.into(), &what)?;
                flag
            }
            other => return Err(format!("{what} has unknown type {other}")),
        };
        nullable_fields += usize::from(flag & 1);
        columns.push((ftype, flag & 1 == 1));
        fields.push(Field {
            name,
            field_type: type_name(ftype).to_owned(),
        });
    }
    Ok(TableInfo {
        rows,
        geometry_type,
        fields,
        srs_wkt,
        nullable_fields,
        columns,
        geometry,
    })
}

/// The geometry field's tail: flag, SRS, origins, scales, tolerances, extent, grid sizes.
/// Returns the SRS WKT (none for the "no SRS" GUID), the flag byte and the coordinate encoding.
#[allow(clippy::type_complexity)]
fn geometry_field(
    f: &mut Bytes<'_>,
    what: &str,
) -> Result<(Option<String>, u8, Option<GeometryParams>), String> {
    f.skip(1, what)?;
    let flag = f.u8(what)?;
    let wkt_len = f.i16(what)?;
    let wkt_len = usize::try_from(wkt_len).map_err(|_| format!("{what}: negative SRS length"))?;
    let wkt = f.utf16(wkt_len / 2, what)?;
    let flags = f.u8(what)?;
    let (has_m, has_z) = (flags & 2 != 0, flags & 4 != 0);
    let mut double = || -> Result<f64, String> { Ok(f64::from_bits(f.i64(what)?.cast_unsigned())) };
    let (x_origin, y_origin, xy_scale) = (double()?, double()?, double()?);
    let m = if has_m && flags != 1 {
        Some((double()?, double()?))
    } else {
        None
    };
    let z = if has_z && flags != 1 {
        Some((double()?, double()?))
    } else {
        None
    };
    let params = GeometryParams {
        x_origin,
        y_origin,
        xy_scale,
        z,
        m,
    };
    if flags == 1 {
        // System tables: x/y origin, scale, tolerance only.
        f.skip(8, what)?;
    } else {
        // Tolerances (xy, m, z) and the extent.
        let doubles = 1 + 4 + usize::from(has_m) + usize::from(has_z);
        f.skip(doubles * 8, what)?;
        loop {
            let start = f.pos();
            f.skip(1, what)?;
            let grids = f.u32(what)?;
            if grids == 0 {
                // Not a count: a Z extent (two doubles) comes first in some files; read past it
                // and look for the count again.
                let consumed = f.pos() - start;
                f.skip(2 * 8 - consumed, what)?;
                continue;
            }
            if grids > 3 {
                return Err(format!("{what}: {grids} spatial grid sizes (at most 3)"));
            }
            f.skip(grids as usize * 8, what)?;
            break;
        }
    }
    // `{B286C06B-…}` stands for "no spatial reference".
    Ok(((!wkt.starts_with('{')).then_some(wkt), flag, Some(params)))
}

fn type_name(t: u8) -> &'static str {
    match t {
        0 => "esriFieldTypeSmallInteger",
        1 => "esriFieldTypeInteger",
        2 => "esriFieldTypeSingle",
        3 => "esriFieldTypeDouble",
        4 => "esriFieldTypeString",
        5 => "esriFieldTypeDate",
        6 => "esriFieldTypeOID",
        7 => "esriFieldTypeGeometry",
        8 => "esriFieldTypeBlob",
        9 => "esriFieldTypeRaster",
        10 => "esriFieldTypeGUID",
        11 => "esriFieldTypeGlobalID",
        12 => "esriFieldTypeXML",
        13 => "esriFieldTypeBigInteger",
        14 => "esriFieldTypeDateOnly",
        15 => "esriFieldTypeTimeOnly",
        16 => "esriFieldTypeTimestampOffset",
        _ => "unknown",
    }
}

/// The geometry type name of a layer geometry type byte.
#[must_use]
pub fn geometry_name(t: u8) -> Option<&'static str> {
    match t {
        1 => Some("Point"),
        2 => Some("Multipoint"),
        3 => Some("Polyline"),
        4 => Some("Polygon"),
        9 => Some("MultiPatch"),
        _ => None,
    }
}

/// The name a WKT gives its coordinate system (`GCS_WGS_1984`).
#[must_use]
pub fn srs_name(wkt: &str) -> Option<String> {
    let start = wkt.find("[\"")? + 2;
    let end = wkt[start..].find('"')? + start;
    Some(wkt[start..end].to_owned())
}

/// The user tables of a geodatabase from its catalog: (file number, name), system tables left out.
///
/// # Errors
/// A message when the catalog or its index is damaged.
pub fn catalog(table: &[u8], index: &[u8]) -> Result<Vec<(u32, String)>, String> {
    let info = parse_table(table)?;
    let mut x = Bytes::new(index);
    let magic = x.i32("catalog index")?;
    if magic != 3 {
        return Err(format!("catalog index signature {magic}, expected 3"));
    }
    let blocks = x.i32("catalog index")?;
    let count = x.i32("catalog index")?;
    let width = x.i32("catalog index")?;
    if !(4..=6).contains(&width) || !(0..=1 << 20).contains(&count) {
        return Err(format!(
            "catalog index declares {count} rows of {width}-byte offsets"
        ));
    }
    if i64::from(blocks) * 1024 < i64::from(count) {
        return Err("sparse catalog indexes are not read".into());
    }
    let mut out = Vec::new();
    #[allow(clippy::cast_sign_loss)] // checked non-negative above
    for row in 0..count as usize {
        let raw = x.take(width as usize, "catalog index offsets")?;
        let mut buf = [0u8; 8];
        buf[..raw.len()].copy_from_slice(raw);
        let offset = u64::from_le_bytes(buf);
        if offset == 0 {
            continue; // deleted
        }
        let offset =
            usize::try_from(offset).map_err(|_| "catalog row offset too large".to_owned())?;
        let mut r = Bytes::at(table, offset);
        let len = r.i32("catalog row")?;
        if len < 0 {
            continue;
        }
        // Catalog rows: null flags, then Name (string) first; the object id is not stored.
        r.skip(info.nullable_fields.div_ceil(8), "catalog row flags")?;
        let name_len = r.varuint("catalog row name")?;
        let name_len = usize::try_from(name_len).map_err(|_| "catalog name too long".to_owned())?;
        let name = String::from_utf8(r.take(name_len, "catalog row name")?.to_vec())
            .map_err(|_| "catalog name is not UTF-8".to_owned())?;
        let number = u32::try_from(row + 1).map_err(|_| "too many catalog rows".to_owned())?;
        if !name.starts_with("GDB_") {
            out.push((number, name));
        }
    }
    Ok(out)
}

/// A layer from a table's info.
#[must_use]
pub fn layer(name: String, info: TableInfo) -> Layer {
    Layer {
        name,
        geometry_type: geometry_name(info.geometry_type).map(str::to_owned),
        feature_count: info.rows,
        spatial_reference: info.srs_wkt.as_deref().and_then(srs_name),
        fields: info.fields,
    }
}

/// How much of a table file [`read_layers`] needs: its header and field definitions.
pub(crate) const TABLE_PREFIX: u64 = (MAX_FIELD_SECTION + (1 << 20)) as u64;

/// The layers and tables of a geodatabase into `summary`. `read(file, whole)` hands over a file
/// of it (`a0000000N.gdbtable` …): whole (the catalog; refusing one too large to read safely) or
/// its first [`TABLE_PREFIX`] bytes, `None` when the file is absent. `label` names the
/// geodatabase in errors.
pub(crate) fn read_layers(
    label: &str,
    summary: &mut crate::summary::Summary,
    mut read: impl FnMut(&str, bool) -> crate::Result<Option<Vec<u8>>>,
) -> crate::Result<()> {
    use crate::Error;
    let part = |name: &str| format!("{label}{name}");
    let whole = true;
    let missing = |name: &str| Error::corrupt(part(name), "missing: not a File Geodatabase");
    let table = read("a00000001.gdbtable", whole)?.ok_or_else(|| missing("a00000001.gdbtable"))?;
    let index = read("a00000001.gdbtablx", whole)?.ok_or_else(|| missing("a00000001.gdbtablx"))?;
    let tables =
        catalog(&table, &index).map_err(|r| Error::corrupt(part("a00000001.gdbtable"), r))?;
    for (number, name) in tables {
        let file = format!("a{number:08x}.gdbtable");
        // Feature datasets and other catalog entries have no table file.
        let Some(bytes) = read(&file, false)? else {
            continue;
        };
        match parse_table(&bytes) {
            Ok(info) => summary.layers.push(layer(name, info)),
            Err(reason) => {
                return Err(Error::corrupt(
                    part(&file),
                    format!("table `{name}`: {reason}"),
                ));
            }
        }
    }
    Ok(())
}
