//! Writing a layer's features as a zipped shapefile (`.shp`, `.shx`, `.dbf`, `.cpg`, and `.prj`
//! when the spatial reference is known), as an export to "Shapefile" hands back. Shapes follow
//! the first feature with a geometry (points, multipoints, polylines or polygons, with Z when it
//! has Z); attributes become `.dbf` fields: numbers when every value is a number, text (UTF-8,
//! said by the `.cpg`) otherwise, names cut to the format's 10 characters and kept unique.

use std::io::Write;

use serde_json::Value;

use crate::error::{Error, Result};

/// WGS 84, for layers whose coordinates are known to be in it (GeoJSON).
pub const WGS84_WKT: &str = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;

/// One field of the `.dbf`.
struct Column {
    source: String,
    name: String,
    numeric: bool,
    decimals: u8,
    width: usize,
}

/// One layer of a zipped shapefile set: its name (the files' stem), attribute order, features
/// (Esri JSON) and spatial reference.
#[derive(Debug, Clone)]
pub struct ShapefileLayer {
    /// The layer's name: its files are `<name>.shp`, `.shx`, `.dbf`, `.cpg` and `.prj`.
    pub name: String,
    /// Attribute names in order.
    pub fields: Vec<String>,
    /// Its features, Esri JSON (`{"attributes", "geometry"}`).
    pub features: Vec<Value>,
    /// Its spatial reference as WKT, when known.
    pub srs_wkt: Option<String>,
}

/// Write `features` (Esri JSON) with attribute order `fields` as `<layer>.shp` & co. in a zip.
pub(crate) fn write<W: Write>(
    layer: &str,
    fields: &[String],
    features: &[Value],
    srs_wkt: Option<&str>,
    out: W,
) -> Result<()> {
    let files = files_of(layer, fields, features, srs_wkt)?;
    zip_files(layer, files, out)
}

/// Write several layers into one zip, a shapefile each (as an export of a service with several
/// layers and tables to "Shapefile" hands back).
///
/// # Errors
/// [`Error::Io`] when the output cannot be written, [`Error::Corrupt`] for a geometry the format
/// cannot hold.
pub fn write_shapefiles<W: Write>(layers: &[ShapefileLayer], out: W) -> Result<()> {
    let mut files = Vec::new();
    for l in layers {
        files.extend(files_of(
            &l.name,
            &l.fields,
            &l.features,
            l.srs_wkt.as_deref(),
        )?);
    }
    let what = layers.first().map_or("shapefiles", |l| l.name.as_str());
    zip_files(what, files, out)
}

fn zip_files<W: Write>(what: &str, files: Vec<(String, Vec<u8>)>, out: W) -> Result<()> {
    let io = |e: std::io::Error| Error::io(format!("writing {what}.shp"), e);
    let mut zip = zip::ZipWriter::new_stream(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name, options)
            .map_err(|e| io(std::io::Error::other(e)))?;
        zip.write_all(&bytes).map_err(io)?;
    }
    zip.finish().map_err(|e| io(std::io::Error::other(e)))?;
    Ok(())
}

/// The files of one layer's shapefile: `(name, bytes)`.
fn files_of(
    layer: &str,
    fields: &[String],
    features: &[Value],
    srs_wkt: Option<&str>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let shape_type = features
        .iter()
        .filter_map(|f| f.get("geometry"))
        .find_map(shape_type_of)
        .unwrap_or(0);
    let columns = columns(fields, features);
    let (shp, shx, bbox) =
        shapes(features, shape_type).map_err(|r| Error::corrupt(format!("{layer} features"), r))?;
    let dbf = dbf(&columns, features);
    let header = |length_bytes: usize| {
        let mut h = Vec::with_capacity(100);
        h.extend_from_slice(&9994i32.to_be_bytes());
        h.extend_from_slice(&[0u8; 20]);
        h.extend_from_slice(
            &i32::try_from(length_bytes / 2)
                .unwrap_or(i32::MAX)
                .to_be_bytes(),
        );
        h.extend_from_slice(&1000i32.to_le_bytes());
        h.extend_from_slice(&shape_type.to_le_bytes());
        for v in bbox {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&[0u8; 32]); // z and m ranges
        h
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut shapes_file = header(100 + shp.len());
    shapes_file.extend_from_slice(&shp);
    files.push((format!("{layer}.shp"), shapes_file));
    let mut index_file = header(100 + shx.len());
    index_file.extend_from_slice(&shx);
    files.push((format!("{layer}.shx"), index_file));
    files.push((format!("{layer}.dbf"), dbf));
    files.push((format!("{layer}.cpg"), b"UTF-8".to_vec()));
    if let Some(wkt) = srs_wkt {
        files.push((format!("{layer}.prj"), wkt.as_bytes().to_vec()));
    }
    Ok(files)
}

fn shape_type_of(g: &Value) -> Option<i32> {
    let z = g.get("z").is_some() || g.get("hasZ") == Some(&Value::Bool(true));
    let base = if g.get("x").is_some() {
        1
    } else if g.get("points").is_some() {
        8
    } else if g.get("paths").is_some() {
        3
    } else if g.get("rings").is_some() {
        5
    } else {
        return None;
    };
    // Z variants: PointZ 11, PolyLineZ 13, PolygonZ 15, MultiPointZ 18.
    Some(if z { base + 10 } else { base })
}

fn columns(fields: &[String], features: &[Value]) -> Vec<Column> {
    let mut used: Vec<String> = Vec::new();
    fields
        .iter()
        .map(|source| {
            let values = features
                .iter()
                .map(|f| &f["attributes"][source])
                .filter(|v| !v.is_null());
            let mut numeric = true;
            let mut decimals = 0u8;
            let mut width = 1usize;
            for v in values {
                match v {
                    Value::Number(n) => {
                        let text = n.to_string();
                        if !n.is_i64() && !n.is_u64() {
                            decimals = 8;
                        }
                        width = width.max(text.len());
                    }
                    other => {
                        numeric = false;
                        let text = other
                            .as_str()
                            .map_or_else(|| other.to_string(), str::to_owned);
                        width = width.max(text.len());
                    }
                }
            }
            let width = if numeric {
                (width + usize::from(decimals) + 2).clamp(1, 19)
            } else {
                width.clamp(1, 254)
            };
            // Ten bytes at most, unique (a digit replaces the end when two would clash).
            let mut name: String = source.chars().filter(char::is_ascii).take(10).collect();
            if name.is_empty() {
                name = "FIELD".into();
            }
            let mut n = 1;
            while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
                let suffix = n.to_string();
                name = format!("{}{suffix}", &name[..name.len().min(10 - suffix.len())]);
                n += 1;
            }
            used.push(name.clone());
            Column {
                source: source.clone(),
                name,
                numeric,
                decimals,
                width,
            }
        })
        .collect()
}

/// The records (`.shp` body), the index (`.shx` body) and the bounding box.
#[allow(clippy::type_complexity)]
fn shapes(
    features: &[Value],
    shape_type: i32,
) -> std::result::Result<(Vec<u8>, Vec<u8>, [f64; 4]), String> {
    let mut shp = Vec::new();
    let mut shx = Vec::new();
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let has_z = shape_type > 10;
    for (i, f) in features.iter().enumerate() {
        let mut content = Vec::new();
        let coords = |v: &Value| -> Vec<Vec<f64>> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| {
                            p.as_array()
                                .map(|c| c.iter().filter_map(Value::as_f64).collect())
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        match f.get("geometry") {
            Some(g) if shape_type % 10 == 1 && g.get("x").is_some() => {
                let (x, y) = (
                    g["x"].as_f64().unwrap_or(0.0),
                    g["y"].as_f64().unwrap_or(0.0),
                );
                content.extend_from_slice(&shape_type.to_le_bytes());
                content.extend_from_slice(&x.to_le_bytes());
                content.extend_from_slice(&y.to_le_bytes());
                if has_z {
                    content.extend_from_slice(&g["z"].as_f64().unwrap_or(0.0).to_le_bytes());
                    content.extend_from_slice(&0f64.to_le_bytes());
                }
                grow(&mut bbox, &[vec![x, y]]);
            }
            Some(g)
                if g.get("points").is_some()
                    || g.get("paths").is_some()
                    || g.get("rings").is_some() =>
            {
                let parts: Vec<Vec<Vec<f64>>> = if let Some(points) = g.get("points") {
                    vec![coords(points)]
                } else {
                    g.get("paths")
                        .or_else(|| g.get("rings"))
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(coords).collect())
                        .unwrap_or_default()
                };
                let all: Vec<Vec<f64>> = parts.iter().flatten().cloned().collect();
                let mut own = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
                grow(&mut own, &all);
                grow(&mut bbox, &all);
                content.extend_from_slice(&shape_type.to_le_bytes());
                for v in own {
                    content.extend_from_slice(&v.to_le_bytes());
                }
                let count = |n: usize| {
                    i32::try_from(n).map_err(|_| format!("feature {}: too many points", i + 1))
                };
                let multipoint = shape_type % 10 == 8;
                if !multipoint {
                    content.extend_from_slice(&count(parts.len())?.to_le_bytes());
                }
                content.extend_from_slice(&count(all.len())?.to_le_bytes());
                if !multipoint {
                    let mut start = 0;
                    for p in &parts {
                        content.extend_from_slice(&count(start)?.to_le_bytes());
                        start += p.len();
                    }
                }
                for p in &all {
                    content.extend_from_slice(&p.first().copied().unwrap_or(0.0).to_le_bytes());
                    content.extend_from_slice(&p.get(1).copied().unwrap_or(0.0).to_le_bytes());
                }
                if has_z {
                    let zs: Vec<f64> = all
                        .iter()
                        .map(|p| p.get(2).copied().unwrap_or(0.0))
                        .collect();
                    let (lo, hi) = zs
                        .iter()
                        .fold((f64::MAX, f64::MIN), |(l, h), z| (l.min(*z), h.max(*z)));
                    content.extend_from_slice(&lo.to_le_bytes());
                    content.extend_from_slice(&hi.to_le_bytes());
                    for z in zs {
                        content.extend_from_slice(&z.to_le_bytes());
                    }
                    // M range and values: zero.
                    for _ in 0..all.len() + 2 {
                        content.extend_from_slice(&0f64.to_le_bytes());
                    }
                }
            }
            _ => content.extend_from_slice(&0i32.to_le_bytes()), // a null shape
        }
        // Offsets and lengths count 16-bit words: the 100-byte header, then the records so far.
        let offset = shp.len().div_ceil(2) + 50;
        let words = content.len() / 2;
        let number = i32::try_from(i + 1).map_err(|_| "too many features".to_owned())?;
        let (offset, words) = (
            i32::try_from(offset).map_err(|_| "the .shp would pass 4 GB".to_owned())?,
            i32::try_from(words).map_err(|_| "a shape is too large".to_owned())?,
        );
        shx.extend_from_slice(&offset.to_be_bytes());
        shx.extend_from_slice(&words.to_be_bytes());
        shp.extend_from_slice(&number.to_be_bytes());
        shp.extend_from_slice(&words.to_be_bytes());
        shp.extend_from_slice(&content);
    }
    if bbox[0] > bbox[2] {
        bbox = [0.0; 4];
    }
    Ok((shp, shx, bbox))
}

fn grow(bbox: &mut [f64; 4], points: &[Vec<f64>]) {
    for p in points {
        if let (Some(x), Some(y)) = (p.first(), p.get(1)) {
            bbox[0] = bbox[0].min(*x);
            bbox[1] = bbox[1].min(*y);
            bbox[2] = bbox[2].max(*x);
            bbox[3] = bbox[3].max(*y);
        }
    }
}

fn dbf(columns: &[Column], features: &[Value]) -> Vec<u8> {
    let record_len = 1 + columns.iter().map(|c| c.width).sum::<usize>();
    let header_len = 32 + 32 * columns.len() + 1;
    let mut out = Vec::with_capacity(header_len + record_len * features.len() + 1);
    out.push(0x03);
    out.extend_from_slice(&[126, 1, 1]); // last update: 2026-01-01
    out.extend_from_slice(
        &u32::try_from(features.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&u16::try_from(header_len).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(&u16::try_from(record_len).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(&[0u8; 20]);
    for c in columns {
        let mut desc = [0u8; 32];
        desc[..c.name.len()].copy_from_slice(c.name.as_bytes());
        desc[11] = if c.numeric { b'N' } else { b'C' };
        desc[16] = u8::try_from(c.width).unwrap_or(u8::MAX);
        desc[17] = c.decimals;
        out.extend_from_slice(&desc);
    }
    out.push(0x0D);
    for f in features {
        out.push(b' ');
        for c in columns {
            let v = &f["attributes"][&c.source];
            let text = match v {
                Value::Null => String::new(),
                Value::Number(n) if c.numeric && c.decimals > 0 => {
                    format!("{:.*}", usize::from(c.decimals), n.as_f64().unwrap_or(0.0))
                }
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut bytes = text.into_bytes();
            // Cut at the width, on a character boundary.
            if bytes.len() > c.width {
                let mut cut = c.width;
                while cut > 0 && (bytes[cut] & 0xC0) == 0x80 {
                    cut -= 1;
                }
                bytes.truncate(cut);
            }
            let pad = c.width - bytes.len();
            if c.numeric {
                out.extend(std::iter::repeat_n(b' ', pad));
                out.extend_from_slice(&bytes);
            } else {
                out.extend_from_slice(&bytes);
                out.extend(std::iter::repeat_n(b' ', pad));
            }
        }
    }
    out.push(0x1A);
    out
}
