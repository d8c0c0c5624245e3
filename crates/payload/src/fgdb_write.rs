//! Writing File Geodatabases: what a hosted feature service's `export` to File Geodatabase
//! hands back, written from its features as they are. The encoding follows the GDAL project's
//! public description of the format (OpenFileGDB driver) — the inverse of [`crate::rows`] — and is
//! checked by reading the files back with GDAL's `ogrinfo`/`ogr2ogr` and with this crate.
//!
//! A geodatabase is written as a zip of `<name>.gdb/`: the system catalog (`a00000001`), the item
//! table `GDB_Items` (`a00000004`: one item per table with its XML definition — geometry type,
//! spatial reference, fields with aliases and domains — and one per coded-value or range
//! domain), and one table per layer or table (`a00000009` on), each a `.gdbtable` (header, field
//! section, rows) with its `.gdbtablx` (row offsets by object id). No spatial or attribute index
//! is written (readers scan).

use std::fmt::Write as _;
use std::io::{Seek, Write};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::shapefile_write::WGS84_WKT;

/// A field of a table to write (besides the object id and the shape).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// Its name.
    pub name: String,
    /// Its alias.
    pub alias: String,
    /// Its Esri type (`esriFieldTypeString`, `esriFieldTypeInteger`, …).
    pub field_type: String,
    /// The longest text it holds (strings).
    pub length: Option<u32>,
    /// Whether it may be null.
    pub nullable: bool,
    /// The name of its domain, when it has one.
    pub domain: Option<String>,
}

/// A layer or table to write, with its rows: `(object id, attributes, geometry)`, attributes by
/// field name, geometry as Esri JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    /// Its name.
    pub name: String,
    /// Its alias.
    pub alias: Option<String>,
    /// `esriGeometryPoint`, `esriGeometryMultipoint`, `esriGeometryPolyline`,
    /// `esriGeometryPolygon`; `None` for a table.
    pub geometry_type: Option<String>,
    /// Whether shapes carry Z.
    pub has_z: bool,
    /// The spatial reference as WKT.
    pub srs_wkt: Option<String>,
    /// The spatial reference's well-known id, when known.
    pub wkid: Option<i64>,
    /// The object id field's name.
    pub object_id_field: String,
    /// The other fields, in order.
    pub fields: Vec<FieldSpec>,
    /// The rows.
    pub rows: Vec<(i64, Map<String, Value>, Option<Value>)>,
}

/// A relationship class between two tables written in the same geodatabase: rows of
/// `destination` whose `foreign_key` equals the `primary_key` of a row of `origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipSpec {
    /// Its name.
    pub name: String,
    /// The origin table.
    pub origin: String,
    /// The destination table.
    pub destination: String,
    /// The origin's key field.
    pub primary_key: String,
    /// The destination's field holding the origin's key.
    pub foreign_key: String,
    /// `esriRelCardinalityOneToOne`, `esriRelCardinalityOneToMany` or
    /// `esriRelCardinalityManyToMany`.
    pub cardinality: String,
    /// Whether deleting an origin row deletes its destination rows (composite).
    pub composite: bool,
    /// Whether it ties a feature class to its attachment table.
    pub attachment: bool,
}

/// The feature class and table item types of `GDB_Items`.
const FEATURE_CLASS: &str = "{70737809-852C-4A03-9E22-2CECEA5B9BFA}";
const TABLE: &str = "{CD06BC3B-789D-4C51-AAFA-A467912B8965}";
const WORKSPACE: &str = "{C673FE0F-7280-404F-8532-20755DD8FC06}";
const CODED_DOMAIN: &str = "{8C368B12-A12E-4C7E-9638-C9C64E69E98F}";
const RANGE_DOMAIN: &str = "{C29DA988-8C3E-45F7-8B5C-18E51EE7BEB4}";
const RELATIONSHIP: &str = "{B606A7E1-FA5B-439C-849C-6E9C2481537B}";

/// The system tables, numbered as every geodatabase numbers them; user tables follow.
const SYSTEM_TABLES: [&str; 8] = [
    "GDB_SystemCatalog",
    "GDB_DBTune",
    "GDB_SpatialRefs",
    "GDB_Items",
    "GDB_ItemTypes",
    "GDB_ItemRelationships",
    "GDB_ItemRelationshipTypes",
    "GDB_ReplicaLog",
];

/// Field type bytes.
mod ft {
    pub const I16: u8 = 0;
    pub const I32: u8 = 1;
    pub const F32: u8 = 2;
    pub const F64: u8 = 3;
    pub const STRING: u8 = 4;
    pub const DATE: u8 = 5;
    pub const OID: u8 = 6;
    pub const GEOMETRY: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const GUID: u8 = 10;
    pub const GLOBALID: u8 = 11;
    pub const XML: u8 = 12;
    pub const I64: u8 = 13;
}

fn type_byte(esri: &str) -> u8 {
    match esri {
        "esriFieldTypeSmallInteger" => ft::I16,
        "esriFieldTypeInteger" => ft::I32,
        "esriFieldTypeSingle" => ft::F32,
        "esriFieldTypeDouble" => ft::F64,
        "esriFieldTypeDate" => ft::DATE,
        "esriFieldTypeOID" => ft::OID,
        "esriFieldTypeBlob" => ft::BINARY,
        "esriFieldTypeGUID" => ft::GUID,
        "esriFieldTypeGlobalID" => ft::GLOBALID,
        "esriFieldTypeXML" => ft::XML,
        "esriFieldTypeBigInteger" => ft::I64,
        _ => ft::STRING,
    }
}

/// How coordinates are stored: integers from an origin at a scale.
#[derive(Debug, Clone, Copy)]
struct Grid {
    x_origin: f64,
    y_origin: f64,
    xy_scale: f64,
    xy_tolerance: f64,
    z_origin: f64,
    z_scale: f64,
}

impl Grid {
    /// Geographic coordinates to a nanodegree; others to a tenth of a millimetre.
    fn for_reference(geographic: bool) -> Self {
        let (x_origin, xy_scale, xy_tolerance) = if geographic {
            (-400.0, 1e9, 8.983_152_841_195_214e-9)
        } else {
            (-2_147_483_647.0, 10_000.0, 0.001)
        };
        Self {
            x_origin,
            y_origin: x_origin,
            xy_scale,
            xy_tolerance,
            z_origin: -100_000.0,
            z_scale: 10_000.0,
        }
    }
}

/// Write `tables` (with the `domains` their fields name, as Esri JSON domains, and the
/// `relationships` between them) as the geodatabase `<name>.gdb` zipped into `out`. A field of
/// type `esriFieldTypeBlob` takes its values as Base64 text, as feature services send them.
///
/// # Errors
/// [`Error::Refused`] for a shape that cannot be encoded (coordinates that are not numbers, or
/// beyond the storage grid); [`Error::Io`] when `out` cannot be written.
pub fn write_geodatabase<W: Write + Seek>(
    name: &str,
    tables: &[TableSpec],
    domains: &[Value],
    relationships: &[RelationshipSpec],
    out: W,
) -> Result<()> {
    let io = |e: std::io::Error| Error::io(format!("writing {name}.gdb"), e);
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut put = |file: String, bytes: &[u8]| -> Result<()> {
        zip.start_file(format!("{name}.gdb/{file}"), options)
            .map_err(|e| io(std::io::Error::other(e)))?;
        zip.write_all(bytes).map_err(io)
    };
    // The catalog: system tables, then one row per user table.
    let catalog_columns = vec![
        Column::new("ID", ft::OID, false, 0),
        Column::new("Name", ft::STRING, false, 160),
        Column::new("FileFormat", ft::I32, false, 0),
    ];
    let names = SYSTEM_TABLES
        .iter()
        .map(|s| (*s).to_owned())
        .chain(tables.iter().map(|t| t.name.clone()));
    let catalog_rows: Vec<(i64, Vec<Cell>)> = names
        .enumerate()
        .map(|(i, n)| (row_id(i), vec![Cell::Text(n), Cell::I32(0)]))
        .collect();
    let (table, index) = encode_table(&catalog_columns, None, &catalog_rows);
    put("a00000001.gdbtable".into(), &table)?;
    put("a00000001.gdbtablx".into(), &index)?;
    // GDB_Items: the workspace, each table and each domain, with their XML definitions.
    let items_columns = vec![
        Column::new("ObjectID", ft::OID, false, 0),
        Column::new("UUID", ft::GLOBALID, false, 38),
        Column::new("Type", ft::GUID, false, 38),
        Column::new("Name", ft::STRING, true, 160),
        Column::new("PhysicalName", ft::STRING, true, 160),
        Column::new("Path", ft::STRING, true, 260),
        Column::new("Definition", ft::XML, true, 0),
        Column::new("Documentation", ft::XML, true, 0),
        Column::new("ItemInfo", ft::XML, true, 0),
    ];
    let mut items = vec![vec![
        Cell::Guid(guid_for(&format!("{name}/workspace"))),
        Cell::Guid(parse_guid(WORKSPACE).unwrap_or_default()),
        Cell::Text(String::new()),
        Cell::Text(String::new()),
        Cell::Text("\\".into()),
        Cell::Null,
        Cell::Null,
        Cell::Null,
    ]];
    for (i, t) in tables.iter().enumerate() {
        let kind = if t.geometry_type.is_some() {
            FEATURE_CLASS
        } else {
            TABLE
        };
        items.push(vec![
            Cell::Guid(guid_for(&format!("{name}/{}", t.name))),
            Cell::Guid(parse_guid(kind).unwrap_or_default()),
            Cell::Text(t.name.clone()),
            Cell::Text(t.name.to_uppercase()),
            Cell::Text(format!("\\{}", t.name)),
            Cell::Text(definition_xml(t, SYSTEM_TABLES.len() + i + 1)),
            Cell::Null,
            Cell::Null,
        ]);
    }
    for d in domains {
        let Some(domain_name) = d["name"].as_str() else {
            continue;
        };
        let (kind, xml) = domain_xml(d);
        items.push(vec![
            Cell::Guid(guid_for(&format!("{name}/domain/{domain_name}"))),
            Cell::Guid(parse_guid(kind).unwrap_or_default()),
            Cell::Text(domain_name.to_owned()),
            Cell::Text(domain_name.to_uppercase()),
            Cell::Text(String::new()),
            Cell::Text(xml),
            Cell::Null,
            Cell::Null,
        ]);
    }
    for r in relationships {
        items.push(vec![
            Cell::Guid(guid_for(&format!("{name}/relationship/{}", r.name))),
            Cell::Guid(parse_guid(RELATIONSHIP).unwrap_or_default()),
            Cell::Text(r.name.clone()),
            Cell::Text(r.name.to_uppercase()),
            Cell::Text(format!("\\{}", r.name)),
            Cell::Text(relationship_xml(r)),
            Cell::Null,
            Cell::Null,
        ]);
    }
    let items_rows: Vec<(i64, Vec<Cell>)> = items
        .into_iter()
        .enumerate()
        .map(|(i, r)| (row_id(i), r))
        .collect();
    let (table, index) = encode_table(&items_columns, None, &items_rows);
    put("a00000004.gdbtable".into(), &table)?;
    put("a00000004.gdbtablx".into(), &index)?;
    // The user tables.
    for (i, t) in tables.iter().enumerate() {
        let number = SYSTEM_TABLES.len() + i + 1;
        let (table, index) = encode_user_table(t)
            .map_err(|e| Error::refused(format!("{name}.gdb/{}", t.name), e))?;
        put(format!("a{number:08x}.gdbtable"), &table)?;
        put(format!("a{number:08x}.gdbtablx"), &index)?;
    }
    put("gdb".into(), &[5, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF])?;
    zip.finish().map_err(|e| io(std::io::Error::other(e)))?;
    Ok(())
}

/// The object id of the `i`th row written (from 1).
fn row_id(i: usize) -> i64 {
    i64::try_from(i).map_or(i64::MAX, |i| i + 1)
}

/// A column of a table being written.
struct Column {
    name: String,
    alias: String,
    ftype: u8,
    nullable: bool,
    length: u32,
}

impl Column {
    fn new(name: &str, ftype: u8, nullable: bool, length: u32) -> Self {
        Self {
            name: name.to_owned(),
            alias: String::new(),
            ftype,
            nullable,
            length,
        }
    }
}

/// One value of a row.
enum Cell {
    Null,
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    Date(f64),
    Guid([u8; 16]),
    Bytes(Vec<u8>),
}

/// The shape column of a feature class.
struct Shape<'a> {
    geometry_type: u8,
    has_z: bool,
    wkt: &'a str,
    grid: Grid,
    extent: [f64; 4],
    z_extent: [f64; 2],
}

fn encode_user_table(t: &TableSpec) -> std::result::Result<(Vec<u8>, Vec<u8>), String> {
    let geometry_type = match t.geometry_type.as_deref() {
        None => None,
        Some("esriGeometryPoint") => Some(1),
        Some("esriGeometryMultipoint") => Some(2),
        Some("esriGeometryPolyline") => Some(3),
        Some("esriGeometryPolygon") => Some(4),
        Some(other) => return Err(format!("{other} layers are not written")),
    };
    let wkt = t.srs_wkt.clone().unwrap_or_else(|| match t.wkid {
        Some(4326) | None => WGS84_WKT.to_owned(),
        Some(_) => String::new(),
    });
    let geographic = wkt.trim_start().to_ascii_uppercase().starts_with("GEOGCS");
    let grid = Grid::for_reference(geographic);
    let mut columns = vec![Column {
        alias: t.object_id_field.clone(),
        ..Column::new(&t.object_id_field, ft::OID, false, 0)
    }];
    let mut shape = None;
    if let Some(geometry_type) = geometry_type {
        columns.push(Column::new("SHAPE", ft::GEOMETRY, true, 0));
        let mut extent = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut z_extent = [f64::INFINITY, f64::NEG_INFINITY];
        for (_, _, g) in &t.rows {
            for (x, y, z) in g.iter().flat_map(vertices) {
                extent = [
                    extent[0].min(x),
                    extent[1].min(y),
                    extent[2].max(x),
                    extent[3].max(y),
                ];
                if let Some(z) = z {
                    z_extent = [z_extent[0].min(z), z_extent[1].max(z)];
                }
            }
        }
        if !extent[0].is_finite() {
            extent = [0.0; 4];
        }
        if !z_extent[0].is_finite() {
            z_extent = [0.0; 2];
        }
        shape = Some(Shape {
            geometry_type,
            has_z: t.has_z,
            wkt: &wkt,
            grid,
            extent,
            z_extent,
        });
    }
    for f in &t.fields {
        columns.push(Column {
            name: f.name.clone(),
            alias: f.alias.clone(),
            ftype: type_byte(&f.field_type),
            nullable: true,
            length: f.length.unwrap_or(256),
        });
    }
    let mut rows = Vec::with_capacity(t.rows.len());
    for (oid, attributes, geometry) in &t.rows {
        let mut cells = Vec::with_capacity(columns.len());
        for c in &columns[1..] {
            if c.ftype == ft::GEOMETRY {
                let blob = match geometry {
                    Some(g) => encode_shape(g, geometry_type.unwrap_or(1), t.has_z, &grid)
                        .map_err(|e| format!("feature {oid}: {e}"))?,
                    None => None,
                };
                cells.push(blob.map_or(Cell::Null, Cell::Bytes));
                continue;
            }
            let value = attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&c.name))
                .map_or(&Value::Null, |(_, v)| v);
            cells.push(cell(c.ftype, value));
        }
        rows.push((*oid, cells));
    }
    rows.sort_by_key(|(oid, _)| *oid);
    Ok(encode_table(&columns, shape.as_ref(), &rows))
}

/// A JSON value as a cell of a column of type `ftype` (a value of another type is stored as the
/// column can take it, or null).
#[allow(clippy::cast_possible_truncation)] // integers are stored at their column's width
fn cell(ftype: u8, v: &Value) -> Cell {
    if v.is_null() {
        return Cell::Null;
    }
    let number = v
        .as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
    match ftype {
        ft::I16 => number.map_or(Cell::Null, |n| Cell::I16(n as i16)),
        ft::I32 => number.map_or(Cell::Null, |n| Cell::I32(n as i32)),
        ft::I64 => number.map_or(Cell::Null, |n| Cell::I64(n as i64)),
        ft::F32 => number.map_or(Cell::Null, |n| Cell::F32(n as f32)),
        ft::F64 => number.map_or(Cell::Null, Cell::F64),
        ft::DATE => number.map_or(Cell::Null, |ms| Cell::Date(ms / 86_400_000.0 + 25_569.0)),
        ft::GUID | ft::GLOBALID => v
            .as_str()
            .and_then(parse_guid)
            .map_or(Cell::Null, Cell::Guid),
        ft::BINARY => v
            .as_str()
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            })
            .map_or(Cell::Null, Cell::Bytes),
        _ => Cell::Text(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
    }
}

/// A `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` GUID as stored: the first three groups little-endian.
fn parse_guid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    if hex.len() != 32 || s.trim_matches(|c| c == '{' || c == '}').len() != 36 {
        return None;
    }
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Some(b)
}

/// A GUID derived from `seed` (the same seed gives the same GUID).
fn guid_for(seed: &str) -> [u8; 16] {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[7] = (b[7] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    b
}

fn vertices(g: &Value) -> Vec<(f64, f64, Option<f64>)> {
    let point = |p: &Value| -> Option<(f64, f64, Option<f64>)> {
        let a = p.as_array()?;
        Some((
            a.first()?.as_f64()?,
            a.get(1)?.as_f64()?,
            a.get(2).and_then(Value::as_f64),
        ))
    };
    if let (Some(x), Some(y)) = (
        g.get("x").and_then(Value::as_f64),
        g.get("y").and_then(Value::as_f64),
    ) {
        return vec![(x, y, g.get("z").and_then(Value::as_f64))];
    }
    if let Some(points) = g.get("points").and_then(Value::as_array) {
        return points.iter().filter_map(point).collect();
    }
    ["paths", "rings"]
        .iter()
        .filter_map(|k| g.get(*k).and_then(Value::as_array))
        .flatten()
        .flat_map(|part| part.as_array().into_iter().flatten().filter_map(point))
        .collect()
}

fn put_varuint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut magnitude = v.unsigned_abs();
    let mut first = (magnitude & 0x3F) as u8;
    if v < 0 {
        first |= 0x40;
    }
    magnitude >>= 6;
    if magnitude == 0 {
        out.push(first);
        return;
    }
    out.push(first | 0x80);
    put_varuint(out, magnitude);
}

/// A coordinate as its integer on the grid.
#[allow(clippy::cast_possible_truncation)] // checked to fit
fn on_grid(value: f64, origin: f64, scale: f64, what: &str) -> std::result::Result<i64, String> {
    let n = ((value - origin) * scale).round();
    if !(0.0..9.0e18).contains(&n) {
        return Err(format!("{what} {value} is beyond the storage grid"));
    }
    Ok(n as i64)
}

/// An Esri JSON geometry as a shape blob (`None` for an empty one).
fn encode_shape(
    g: &Value,
    layer_type: u8,
    has_z: bool,
    grid: &Grid,
) -> std::result::Result<Option<Vec<u8>>, String> {
    let points = vertices(g);
    if points.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    let z_of = |p: &(f64, f64, Option<f64>)| p.2.unwrap_or(0.0);
    let x_grid = |x: f64| on_grid(x, grid.x_origin, grid.xy_scale, "x");
    let y_grid = |y: f64| on_grid(y, grid.y_origin, grid.xy_scale, "y");
    let z_grid = |z: f64| on_grid(z, grid.z_origin, grid.z_scale, "z");
    if layer_type == 1 {
        put_varuint(&mut out, if has_z { 9 } else { 1 });
        let p = points[0];
        put_varuint(&mut out, x_grid(p.0)?.cast_unsigned() + 1);
        put_varuint(&mut out, y_grid(p.1)?.cast_unsigned() + 1);
        if has_z {
            put_varuint(&mut out, z_grid(z_of(&p))?.cast_unsigned() + 1);
        }
        return Ok(Some(out));
    }
    let (base, base_z) = match layer_type {
        2 => (8, 20),
        3 => (3, 10),
        _ => (5, 19),
    };
    put_varuint(&mut out, if has_z { base_z } else { base });
    put_varuint(&mut out, points.len() as u64);
    let parts: Vec<usize> = if layer_type == 2 {
        Vec::new()
    } else {
        let key = if layer_type == 3 { "paths" } else { "rings" };
        g.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| p.as_array().map_or(0, Vec::len))
            .collect()
    };
    if layer_type != 2 {
        put_varuint(&mut out, parts.len() as u64);
    }
    let (mut xmin, mut ymin, mut xmax, mut ymax) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for p in &points {
        xmin = xmin.min(p.0);
        ymin = ymin.min(p.1);
        xmax = xmax.max(p.0);
        ymax = ymax.max(p.1);
    }
    put_varuint(&mut out, x_grid(xmin)?.cast_unsigned());
    put_varuint(&mut out, y_grid(ymin)?.cast_unsigned());
    put_varuint(&mut out, (x_grid(xmax)? - x_grid(xmin)?).cast_unsigned());
    put_varuint(&mut out, (y_grid(ymax)? - y_grid(ymin)?).cast_unsigned());
    for n in parts.iter().take(parts.len().saturating_sub(1)) {
        put_varuint(&mut out, *n as u64);
    }
    let (mut last_x, mut last_y) = (0i64, 0i64);
    for p in &points {
        let (x, y) = (x_grid(p.0)?, y_grid(p.1)?);
        put_varint(&mut out, x - last_x);
        put_varint(&mut out, y - last_y);
        (last_x, last_y) = (x, y);
    }
    if has_z {
        let mut last_z = 0i64;
        for p in &points {
            let z = z_grid(z_of(p))?;
            put_varint(&mut out, z - last_z);
            last_z = z;
        }
    }
    Ok(Some(out))
}

fn put_utf16(out: &mut Vec<u8>, s: &str) {
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}

/// A name or alias: its length in UTF-16 units on one byte, then the units (cut at 255).
fn put_short_utf16(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(255).collect();
    out.push(u8::try_from(units.len()).unwrap_or(u8::MAX));
    for unit in units {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}

/// The `.gdbtable` and `.gdbtablx` of a table: its columns (the object id first), an optional
/// shape column description, and its rows by object id (ascending, unique).
fn encode_table(
    columns: &[Column],
    shape: Option<&Shape<'_>>,
    rows: &[(i64, Vec<Cell>)],
) -> (Vec<u8>, Vec<u8>) {
    // The field section.
    let mut fields = Vec::new();
    fields.extend_from_slice(&0u32.to_le_bytes()); // its size, patched below
    fields.extend_from_slice(&4u32.to_le_bytes()); // version: FGDB 10
    let geometry_type = shape.map_or(0u32, |s| u32::from(s.geometry_type));
    let has_z = shape.is_some_and(|s| s.has_z);
    let flags =
        geometry_type | (1 << 8) | (u32::from(shape.is_some()) << 9) | (u32::from(has_z) << 31);
    fields.extend_from_slice(&flags.to_le_bytes());
    fields.extend_from_slice(
        &u16::try_from(columns.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    for c in columns {
        put_short_utf16(&mut fields, &c.name);
        put_short_utf16(&mut fields, &c.alias);
        fields.push(c.ftype);
        let flag = 4 | u8::from(c.nullable);
        match c.ftype {
            ft::OID => fields.extend_from_slice(&[4, 2]),
            ft::STRING => {
                fields.extend_from_slice(&c.length.to_le_bytes());
                fields.extend_from_slice(&[flag, 0]);
            }
            ft::GEOMETRY => {
                let s = shape.expect("a geometry column comes with its shape");
                fields.extend_from_slice(&[0, 2 | flag]);
                let wkt: Vec<u16> = s.wkt.encode_utf16().collect();
                fields.extend_from_slice(
                    &u16::try_from(wkt.len() * 2)
                        .unwrap_or(u16::MAX)
                        .to_le_bytes(),
                );
                put_utf16(&mut fields, s.wkt);
                // M and Z origins, scales and tolerances are always given (as ArcGIS writes
                // them, 2D layers too): flags 1 | M << 1 | Z << 2.
                fields.push(7);
                let g = s.grid;
                let mut doubles = vec![g.x_origin, g.y_origin, g.xy_scale];
                doubles.extend([M_ORIGIN, M_SCALE, g.z_origin, g.z_scale]);
                doubles.extend([g.xy_tolerance, 0.001, 0.001]);
                doubles.extend(s.extent);
                if s.has_z {
                    doubles.extend(s.z_extent);
                }
                for d in doubles {
                    fields.extend_from_slice(&d.to_le_bytes());
                }
                // No spatial index: one grid size, as writers record.
                fields.push(0);
                fields.extend_from_slice(&1u32.to_le_bytes());
                let size = if g.xy_scale >= 1e6 { 0.1 } else { 1000.0 };
                fields.extend_from_slice(&f64::to_le_bytes(size));
            }
            ft::BINARY | ft::XML => fields.extend_from_slice(&[0, flag]),
            ft::GUID | ft::GLOBALID => fields.extend_from_slice(&[38, flag]),
            ft::I16 => fields.extend_from_slice(&[2, flag, 0]),
            ft::I32 | ft::F32 => fields.extend_from_slice(&[4, flag, 0]),
            _ => fields.extend_from_slice(&[8, flag, 0]),
        }
    }
    fields.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
    let section = u32::try_from(fields.len() - 4).unwrap_or(u32::MAX);
    fields[0..4].copy_from_slice(&section.to_le_bytes());

    // The rows, after the header and the field section.
    let nullable = columns.iter().filter(|c| c.nullable).count();
    let mut body = Vec::new();
    let mut offsets: Vec<(i64, u64)> = Vec::with_capacity(rows.len());
    let mut largest = fields.len();
    let start = 40 + fields.len() as u64;
    for (oid, cells) in rows {
        let mut row = vec![0u8; nullable.div_ceil(8)];
        let mut bit = 0usize;
        for (c, value) in columns[1..].iter().zip(cells) {
            if c.nullable {
                if matches!(value, Cell::Null) {
                    row[bit / 8] |= 1 << (bit % 8);
                }
                bit += 1;
            }
            match value {
                Cell::Null => {}
                Cell::I16(v) => row.extend_from_slice(&v.to_le_bytes()),
                Cell::I32(v) => row.extend_from_slice(&v.to_le_bytes()),
                Cell::I64(v) => row.extend_from_slice(&v.to_le_bytes()),
                Cell::F32(v) => row.extend_from_slice(&v.to_le_bytes()),
                Cell::F64(v) | Cell::Date(v) => row.extend_from_slice(&v.to_le_bytes()),
                Cell::Text(s) => {
                    put_varuint(&mut row, s.len() as u64);
                    row.extend_from_slice(s.as_bytes());
                }
                Cell::Bytes(b) => {
                    put_varuint(&mut row, b.len() as u64);
                    row.extend_from_slice(b);
                }
                Cell::Guid(g) => row.extend_from_slice(g),
            }
        }
        largest = largest.max(row.len());
        offsets.push((*oid, start + body.len() as u64));
        body.extend_from_slice(&u32::try_from(row.len()).unwrap_or(u32::MAX).to_le_bytes());
        body.extend_from_slice(&row);
    }
    let file_size = start + body.len() as u64;
    let mut table = Vec::with_capacity(usize::try_from(file_size).unwrap_or(0));
    for v in [
        3u32,
        u32::try_from(rows.len()).unwrap_or(u32::MAX),
        u32::try_from(largest).unwrap_or(u32::MAX),
        5,
        0,
        0,
    ] {
        table.extend_from_slice(&v.to_le_bytes());
    }
    table.extend_from_slice(&file_size.to_le_bytes());
    table.extend_from_slice(&40u64.to_le_bytes());
    table.extend_from_slice(&fields);
    table.extend_from_slice(&body);

    // The index: a 5-byte offset per object id from 1 to the largest, 0 for ids with no row,
    // in whole blocks of 1024; every block present, so no block map.
    let total = offsets
        .last()
        .map_or(0, |(oid, _)| usize::try_from(*oid).unwrap_or(0));
    let blocks = total.div_ceil(1024);
    let mut index = Vec::with_capacity(16 + blocks * 1024 * 5 + 16);
    for v in [
        3u32,
        u32::try_from(blocks).unwrap_or(u32::MAX),
        u32::try_from(total).unwrap_or(u32::MAX),
        5,
    ] {
        index.extend_from_slice(&v.to_le_bytes());
    }
    let mut slots = vec![0u64; blocks * 1024];
    for (oid, at) in offsets {
        if let Some(slot) = usize::try_from(oid - 1).ok().and_then(|i| slots.get_mut(i)) {
            *slot = at;
        }
    }
    for at in slots {
        index.extend_from_slice(&at.to_le_bytes()[..5]);
    }
    for v in [
        0u32,
        u32::try_from(blocks).unwrap_or(u32::MAX),
        u32::try_from(blocks).unwrap_or(u32::MAX),
        0,
    ] {
        index.extend_from_slice(&v.to_le_bytes());
    }
    (table, index)
}

/// The M origin and scale written (no layer the sandbox serves has M values).
const M_ORIGIN: f64 = -100_000.0;
const M_SCALE: f64 = 10_000.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const XML_HEAD: &str = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:typens="http://www.esri.com/schemas/ArcGIS/10.1""#;

/// A table's `GDB_Items` definition: `DEFeatureClassInfo` or `DETableInfo` with its fields.
fn definition_xml(t: &TableSpec, dsid: usize) -> String {
    let mut fields = String::new();
    let mut field = |name: &str, alias: &str, kind: &str, nullable: bool, domain: Option<&str>| {
        let _ = write!(
            fields,
            "<GPFieldInfoEx xsi:type=\"typens:GPFieldInfoEx\"><Name>{}</Name><AliasName>{}</AliasName><FieldType>{kind}</FieldType><IsNullable>{nullable}</IsNullable>{}</GPFieldInfoEx>",
            escape(name),
            escape(alias),
            domain
                .map(|d| format!("<DomainName>{}</DomainName>", escape(d)))
                .unwrap_or_default(),
        );
    };
    field(
        &t.object_id_field,
        &t.object_id_field,
        "esriFieldTypeOID",
        false,
        None,
    );
    if t.geometry_type.is_some() {
        field("SHAPE", "SHAPE", "esriFieldTypeGeometry", true, None);
    }
    for f in &t.fields {
        field(
            &f.name,
            &f.alias,
            &f.field_type,
            f.nullable,
            f.domain.as_deref(),
        );
    }
    let global = t
        .fields
        .iter()
        .find(|f| f.field_type == "esriFieldTypeGlobalID");
    let name = escape(&t.name);
    let alias = escape(t.alias.as_deref().unwrap_or(&t.name));
    let common = format!(
        "<CatalogPath>\\{name}</CatalogPath><Name>{name}</Name><ChildrenExpanded>false</ChildrenExpanded><DSID>{dsid}</DSID><Versioned>false</Versioned><CanVersion>false</CanVersion><ConfigurationKeyword></ConfigurationKeyword><RequiredGeodatabaseClientVersion>10.0</RequiredGeodatabaseClientVersion><HasOID>true</HasOID><OIDFieldName>{}</OIDFieldName><GPFieldInfoExs xsi:type=\"typens:ArrayOfGPFieldInfoEx\">{fields}</GPFieldInfoExs><CLSID>{{{}}}</CLSID><EXTCLSID></EXTCLSID><AliasName>{alias}</AliasName><HasGlobalID>{}</HasGlobalID><GlobalIDFieldName>{}</GlobalIDFieldName><RasterFieldName></RasterFieldName><ExtensionProperties xsi:type=\"typens:PropertySet\"><PropertyArray xsi:type=\"typens:ArrayOfPropertySetProperty\"></PropertyArray></ExtensionProperties><ControllerMemberships xsi:type=\"typens:ArrayOfControllerMembership\"></ControllerMemberships><EditorTrackingEnabled>false</EditorTrackingEnabled><CreatorFieldName></CreatorFieldName><CreatedAtFieldName></CreatedAtFieldName><EditorFieldName></EditorFieldName><EditedAtFieldName></EditedAtFieldName><IsTimeInUTC>true</IsTimeInUTC>",
        escape(&t.object_id_field),
        if t.geometry_type.is_some() {
            "52353152-891A-11D0-BEC6-00805F7C4268"
        } else {
            "7A566981-C114-11D2-8A28-006097AFF44E"
        },
        global.is_some(),
        global.map(|g| escape(&g.name)).unwrap_or_default(),
    );
    match &t.geometry_type {
        None => format!(
            "<DETableInfo {XML_HEAD} xsi:type=\"typens:DETableInfo\"><DatasetType>esriDTTable</DatasetType>{common}</DETableInfo>"
        ),
        Some(g) => {
            let wkt = t.srs_wkt.as_deref().unwrap_or(WGS84_WKT);
            let geographic = wkt.trim_start().to_ascii_uppercase().starts_with("GEOGCS");
            let sr_type = if geographic {
                "GeographicCoordinateSystem"
            } else {
                "ProjectedCoordinateSystem"
            };
            let wkid = t
                .wkid
                .map(|w| format!("<WKID>{w}</WKID><LatestWKID>{w}</LatestWKID>"))
                .unwrap_or_default();
            format!(
                "<DEFeatureClassInfo {XML_HEAD} xsi:type=\"typens:DEFeatureClassInfo\"><DatasetType>esriDTFeatureClass</DatasetType>{common}<FeatureType>esriFTSimple</FeatureType><ShapeType>{g}</ShapeType><ShapeFieldName>SHAPE</ShapeFieldName><HasM>false</HasM><HasZ>{}</HasZ><HasSpatialIndex>false</HasSpatialIndex><AreaFieldName></AreaFieldName><LengthFieldName></LengthFieldName><Extent xsi:nil=\"true\"></Extent><SpatialReference xsi:type=\"typens:{sr_type}\"><WKT>{}</WKT>{wkid}</SpatialReference></DEFeatureClassInfo>",
                t.has_z,
                escape(wkt),
            )
        }
    }
}

/// A relationship class's `GDB_Items` definition.
fn relationship_xml(r: &RelationshipSpec) -> String {
    let name = escape(&r.name);
    let key = |field: &str, role: &str| {
        format!(
            "<RelationshipClassKey xsi:type=\"typens:RelationshipClassKey\"><ObjectKeyName>{}</ObjectKeyName><ClassKeyName></ClassKeyName><KeyRole>{role}</KeyRole></RelationshipClassKey>",
            escape(field)
        )
    };
    let (forward, backward) = if r.attachment {
        ("attachment", "object")
    } else {
        (r.destination.as_str(), r.origin.as_str())
    };
    format!(
        "<DERelationshipClassInfo {XML_HEAD} xsi:type=\"typens:DERelationshipClassInfo\"><CatalogPath>\\{name}</CatalogPath><Name>{name}</Name><ChildrenExpanded>false</ChildrenExpanded><DatasetType>esriDTRelationshipClass</DatasetType><Versioned>false</Versioned><CanVersion>false</CanVersion><ConfigurationKeyword></ConfigurationKeyword><RequiredGeodatabaseClientVersion>10.0</RequiredGeodatabaseClientVersion><HasOID>false</HasOID><GPFieldInfoExs xsi:type=\"typens:ArrayOfGPFieldInfoEx\"></GPFieldInfoExs><OIDFieldName></OIDFieldName><CLSID></CLSID><EXTCLSID></EXTCLSID><RelationshipClassNames xsi:type=\"typens:Names\"></RelationshipClassNames><AliasName></AliasName><ModelName></ModelName><HasGlobalID>false</HasGlobalID><GlobalIDFieldName></GlobalIDFieldName><RasterFieldName></RasterFieldName><ExtensionProperties xsi:type=\"typens:PropertySet\"><PropertyArray xsi:type=\"typens:ArrayOfPropertySetProperty\"></PropertyArray></ExtensionProperties><ControllerMemberships xsi:type=\"typens:ArrayOfControllerMembership\"></ControllerMemberships><EditorTrackingEnabled>false</EditorTrackingEnabled><CreatorFieldName></CreatorFieldName><CreatedAtFieldName></CreatedAtFieldName><EditorFieldName></EditorFieldName><EditedAtFieldName></EditedAtFieldName><IsTimeInUTC>true</IsTimeInUTC><Cardinality>{}</Cardinality><Notification>esriRelNotificationNone</Notification><IsAttributed>false</IsAttributed><IsComposite>{}</IsComposite><OriginClassNames xsi:type=\"typens:Names\"><Name>{}</Name></OriginClassNames><DestinationClassNames xsi:type=\"typens:Names\"><Name>{}</Name></DestinationClassNames><KeyType>esriRelKeyTypeSingle</KeyType><ClassKey>esriRelClassKeyUndefined</ClassKey><ForwardPathLabel>{}</ForwardPathLabel><BackwardPathLabel>{}</BackwardPathLabel><IsReflexive>false</IsReflexive><OriginClassKeys xsi:type=\"typens:ArrayOfRelationshipClassKey\">{}{}</OriginClassKeys><RelationshipRules xsi:type=\"typens:ArrayOfRelationshipRule\"></RelationshipRules><IsAttachmentRelationship>{}</IsAttachmentRelationship><ChangeTracked>false</ChangeTracked><ReplicaTracked>false</ReplicaTracked></DERelationshipClassInfo>",
        escape(&r.cardinality),
        r.composite,
        escape(&r.origin),
        escape(&r.destination),
        escape(forward),
        escape(backward),
        key(&r.primary_key, "esriRelKeyRoleOriginPrimary"),
        key(&r.foreign_key, "esriRelKeyRoleOriginForeign"),
        r.attachment,
    )
}

/// A domain's `GDB_Items` type and definition, from its Esri JSON (`codedValue` or `range`).
fn domain_xml(d: &Value) -> (&'static str, String) {
    let name = escape(d["name"].as_str().unwrap_or_default());
    let field_type = d["fieldType"]
        .as_str()
        .unwrap_or_else(|| match d["codedValues"][0]["code"] {
            Value::Number(_) => "esriFieldTypeInteger",
            _ => "esriFieldTypeString",
        });
    let xs = |v: &Value| match v {
        Value::Number(n) if n.is_i64() => ("xs:int", n.to_string()),
        Value::Number(n) => ("xs:double", n.to_string()),
        Value::String(s) => ("xs:string", escape(s)),
        other => ("xs:string", escape(&other.to_string())),
    };
    let head = format!(
        "<DomainName>{name}</DomainName><FieldType>{field_type}</FieldType><MergePolicy>esriMPTDefaultValue</MergePolicy><SplitPolicy>esriSPTDefaultValue</SplitPolicy><Description>{}</Description><Owner></Owner>",
        escape(d["description"].as_str().unwrap_or_default())
    );
    if d["type"] == "range" {
        let (t_min, min) = xs(&d["range"][0]);
        let (t_max, max) = xs(&d["range"][1]);
        return (
            RANGE_DOMAIN,
            format!(
                "<GPRangeDomain2 {XML_HEAD} xsi:type=\"typens:GPRangeDomain2\">{head}<MaxValue xsi:type=\"{t_max}\">{max}</MaxValue><MinValue xsi:type=\"{t_min}\">{min}</MinValue></GPRangeDomain2>"
            ),
        );
    }
    let mut values = String::new();
    for c in d["codedValues"].as_array().into_iter().flatten() {
        let (t, code) = xs(&c["code"]);
        let _ = write!(
            values,
            "<CodedValue xsi:type=\"typens:CodedValue\"><Name>{}</Name><Code xsi:type=\"{t}\">{code}</Code></CodedValue>",
            escape(c["name"].as_str().unwrap_or_default())
        );
    }
    (
        CODED_DOMAIN,
        format!(
            "<GPCodedValueDomain2 {XML_HEAD} xsi:type=\"typens:GPCodedValueDomain2\">{head}<CodedValues xsi:type=\"typens:ArrayOfCodedValue\">{values}</CodedValues></GPCodedValueDomain2>"
        ),
    )
}
