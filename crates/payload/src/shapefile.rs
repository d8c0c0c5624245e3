//! Shapefiles inside a zip: `.shp` (geometry type), `.shx` (record count), `.dbf` (fields and
//! record count), `.prj` (spatial reference); inspection reads only headers. [`page`] reads
//! records for a page of features.

use std::io::{Read, Seek};

use crate::bytes::Bytes;
use crate::error::{Error, Result};
use crate::summary::{Field, Layer, Summary};
use crate::zipped::Zip;

pub(crate) fn layers<R: Read + Seek>(zip: &mut Zip<R>, summary: &mut Summary) -> Result<()> {
    let shps: Vec<String> = zip
        .entries
        .keys()
        .filter(|n| n.to_ascii_lowercase().ends_with(".shp"))
        .cloned()
        .collect();
    for shp in shps {
        let base = &shp[..shp.len() - 4];
        let sibling = |zip: &Zip<R>, ext: &str| {
            zip.entries
                .keys()
                .find(|n| {
                    n.len() == base.len() + 4
                        && n.starts_with(base)
                        && n[base.len()..].eq_ignore_ascii_case(ext)
                })
                .cloned()
        };
        let part = format!("{} › {shp}", zip.label());
        let header = zip.read_prefix(&shp, 100)?;
        let shape_type = shp_type(&header).map_err(|r| Error::corrupt(&part, r))?;
        let mut fields = Vec::new();
        let mut count = None;
        if let Some(dbf) = sibling(zip, ".dbf") {
            let bytes = zip.read_prefix(&dbf, 1 << 20)?;
            let (n, f) = dbf_header(&bytes)
                .map_err(|r| Error::corrupt(format!("{} › {dbf}", zip.label()), r))?;
            count = Some(n);
            fields = f;
        } else {
            summary
                .warnings
                .push(format!("`{shp}` has no .dbf: no attributes"));
        }
        if let Some(shx) = sibling(zip, ".shx") {
            let size = zip.entries[&shx].1;
            let records = size.saturating_sub(100) / 8;
            if count.is_some_and(|c| c != records) {
                summary.warnings.push(format!(
                    "`{shp}`: the .shx indexes {records} records, the .dbf holds {}",
                    count.unwrap_or(0)
                ));
            }
            count.get_or_insert(records);
        }
        let spatial_reference = match sibling(zip, ".prj") {
            Some(prj) => {
                let text = String::from_utf8_lossy(&zip.read_prefix(&prj, 64 << 10)?).into_owned();
                crate::fgdb::srs_name(&text)
            }
            None => None,
        };
        let name = base.rsplit('/').next().unwrap_or(base).to_owned();
        summary.layers.push(Layer {
            name,
            geometry_type: shape_name(shape_type).map(str::to_owned),
            feature_count: count.unwrap_or(0),
            spatial_reference,
            fields,
        });
    }
    Ok(())
}

fn shp_type(header: &[u8]) -> Result<i32, String> {
    let mut b = Bytes::new(header);
    let code = b.take(4, ".shp header")?;
    if code != [0x00, 0x00, 0x27, 0x0A] {
        return Err("not a .shp file (file code is not 9994)".into());
    }
    let mut b = Bytes::at(header, 28);
    let version = b.i32(".shp header")?;
    if version != 1000 {
        return Err(format!(".shp version {version}, expected 1000"));
    }
    b.i32(".shp header")
}

fn shape_name(t: i32) -> Option<&'static str> {
    match t {
        1 | 11 | 21 => Some("Point"),
        3 | 13 | 23 => Some("Polyline"),
        5 | 15 | 25 => Some("Polygon"),
        8 | 18 | 28 => Some("Multipoint"),
        31 => Some("MultiPatch"),
        _ => None,
    }
}

fn dbf_header(bytes: &[u8]) -> Result<(u64, Vec<Field>), String> {
    let mut b = Bytes::at(bytes, 4);
    let records = b.u32(".dbf header")?;
    let header_len = usize::from(u16::from_le_bytes(
        b.take(2, ".dbf header")?.try_into().expect("2"),
    ));
    if header_len < 33 || header_len > bytes.len() {
        return Err(format!(".dbf header length {header_len} is impossible"));
    }
    let mut fields = Vec::new();
    let mut d = Bytes::at(bytes, 32);
    while d.pos() < header_len - 1 {
        let desc = d.take(32, ".dbf field descriptor")?;
        if desc[0] == 0x0D {
            break;
        }
        let name_end = desc[..11].iter().position(|b| *b == 0).unwrap_or(11);
        let name = String::from_utf8_lossy(&desc[..name_end]).into_owned();
        let (len, decimals) = (desc[16], desc[17]);
        let field_type = match desc[11] {
            b'C' | b'L' => "esriFieldTypeString",
            b'N' if decimals == 0 && len < 10 => "esriFieldTypeInteger",
            b'N' | b'F' => "esriFieldTypeDouble",
            b'D' => "esriFieldTypeDate",
            _ => "unknown",
        };
        fields.push(Field {
            name,
            field_type: field_type.to_owned(),
        });
    }
    Ok((u64::from(records), fields))
}

/// The most read of one shapefile part for a page of features.
const MAX_PART_READ: u64 = 1 << 30;

/// A page of the features of the shapefile `layer` (its base name) in a zip: attributes from the
/// `.dbf`, geometry from the `.shp` through the `.shx`; object ids are record numbers, deleted
/// records skipped.
pub(crate) fn page<R: Read + Seek>(
    zip: &mut Zip<R>,
    layer: &str,
    offset: usize,
    limit: usize,
) -> Result<crate::rows::Page> {
    let label = zip.label().to_owned();
    let find = |zip: &Zip<R>, ext: &str| {
        zip.entries
            .keys()
            .find(|n| {
                let base = n.rsplit('/').next().unwrap_or(n);
                base.len() == layer.len() + ext.len()
                    && base[..layer.len()].eq_ignore_ascii_case(layer)
                    && base[layer.len()..].eq_ignore_ascii_case(ext)
            })
            .cloned()
    };
    let (Some(shp), Some(shx), Some(dbf)) =
        (find(zip, ".shp"), find(zip, ".shx"), find(zip, ".dbf"))
    else {
        return Err(Error::corrupt(
            &label,
            format!("no shapefile `{layer}` with its .shp, .shx and .dbf"),
        ));
    };
    // Text is UTF-8 when the .cpg says so (ArcGIS writes one); else by the .dbf's language
    // driver id: 0x57 (and most others) is Windows ANSI, which GDAL writes by default.
    let cpg = match find(zip, ".cpg") {
        Some(cpg) => Some(
            String::from_utf8_lossy(&zip.read_prefix(&cpg, 256)?)
                .trim()
                .to_ascii_uppercase(),
        ),
        None => None,
    };
    let shp_bytes = zip.read_prefix(&shp, MAX_PART_READ)?;
    let index_bytes = zip.read_prefix(&shx, MAX_PART_READ)?;
    let dbf_bytes = zip.read_prefix(&dbf, MAX_PART_READ)?;
    let part = |name: &str| format!("{label} › {name}");
    let (names, columns, records, start, width) =
        dbf_layout(&dbf_bytes).map_err(|r| Error::corrupt(part(&dbf), r))?;
    let utf8 = match cpg.as_deref() {
        Some(c) => c.contains("UTF") && c.contains('8') || c == "65001",
        None => dbf_bytes.get(29).is_none_or(|ldid| *ldid == 0),
    };
    let mut features = Vec::new();
    let mut window = crate::rows::Window::new(offset, limit);
    for i in 0..records {
        let at = start + i * width;
        let record = dbf_bytes
            .get(at..at + width)
            .ok_or_else(|| Error::corrupt(part(&dbf), format!("record {} is cut short", i + 1)))?;
        if record[0] == b'*' {
            continue; // deleted
        }
        match window.admit() {
            crate::rows::Admit::Skip => continue,
            crate::rows::Admit::Stop => break,
            crate::rows::Admit::Take => {}
        }
        let mut attributes = serde_json::Map::new();
        attributes.insert("OBJECTID".into(), serde_json::json!(i + 1));
        let mut pos = 1;
        for (name, &(kind, len, decimals)) in names.iter().zip(&columns) {
            let raw = record.get(pos..pos + len).unwrap_or_default();
            pos += len;
            attributes.insert(name.clone(), dbf_value(kind, decimals, len, raw, utf8));
        }
        let mut feature = serde_json::Map::new();
        feature.insert("attributes".into(), serde_json::Value::Object(attributes));
        let geometry = shx_offset(&index_bytes, i)
            .and_then(|o| shape(&shp_bytes, o))
            .map_err(|r| Error::corrupt(part(&shp), format!("record {}: {r}", i + 1)))?;
        if let Some(g) = geometry {
            feature.insert("geometry".into(), g);
        }
        features.push(serde_json::Value::Object(feature));
    }
    let mut fields = vec!["OBJECTID".to_owned()];
    fields.extend(names);
    Ok(crate::rows::Page {
        features,
        more: window.more,
        fields,
        spatial_reference: None,
    })
}

/// Field names, (type, width, decimals), record count, where records start and their width.
#[allow(clippy::type_complexity)]
fn dbf_layout(
    bytes: &[u8],
) -> Result<(Vec<String>, Vec<(u8, usize, u8)>, usize, usize, usize), String> {
    let mut b = Bytes::at(bytes, 4);
    let records = b.u32(".dbf header")? as usize;
    let header_len = usize::from(u16::from_le_bytes(
        b.take(2, ".dbf header")?.try_into().expect("2"),
    ));
    let record_len = usize::from(u16::from_le_bytes(
        b.take(2, ".dbf header")?.try_into().expect("2"),
    ));
    if header_len < 33 || header_len > bytes.len() || record_len == 0 {
        return Err(format!(".dbf header length {header_len} is impossible"));
    }
    let (mut names, mut columns) = (Vec::new(), Vec::new());
    let mut d = Bytes::at(bytes, 32);
    let mut width = 1;
    while d.pos() < header_len - 1 {
        let desc = d.take(32, ".dbf field descriptor")?;
        if desc[0] == 0x0D {
            break;
        }
        let name_end = desc[..11].iter().position(|b| *b == 0).unwrap_or(11);
        names.push(String::from_utf8_lossy(&desc[..name_end]).into_owned());
        columns.push((desc[11], usize::from(desc[16]), desc[17]));
        width += usize::from(desc[16]);
    }
    if width > record_len {
        return Err(format!(
            "fields take {width} bytes of {record_len}-byte records"
        ));
    }
    Ok((names, columns, records, header_len, record_len))
}

fn dbf_value(kind: u8, decimals: u8, len: usize, raw: &[u8], utf8: bool) -> serde_json::Value {
    use serde_json::{Value, json};
    // Windows ANSI read as Latin-1: the same letters but for 0x80–0x9F (€, curly quotes …).
    let text: std::borrow::Cow<'_, str> = match std::str::from_utf8(raw) {
        Ok(t) => t.into(),
        Err(_) if !utf8 => raw
            .iter()
            .map(|b| char::from(*b))
            .collect::<String>()
            .into(),
        Err(_) => String::from_utf8_lossy(raw),
    };
    let text = text.trim();
    match kind {
        b'N' | b'F' if text.is_empty() || text.starts_with('*') => Value::Null,
        b'N' if decimals == 0 && len < 10 => text.parse::<i64>().map_or(Value::Null, |n| json!(n)),
        b'N' | b'F' => text.parse::<f64>().map_or(Value::Null, |n| json!(n)),
        b'D' => {
            let digits =
                |r: std::ops::Range<usize>| text.get(r).and_then(|t| t.parse::<i64>().ok());
            match (digits(0..4), digits(4..6), digits(6..8)) {
                (Some(y), Some(m), Some(d)) => json!(epoch_days(y, m, d) * 86_400_000),
                _ => Value::Null,
            }
        }
        _ => json!(text),
    }
}

/// Days since 1970-01-01 of a civil date.
fn epoch_days(y: i64, m: i64, d: i64) -> i64 {
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// Where record `i` starts in the `.shp` (the `.shx` gives it in 16-bit words, big-endian).
fn shx_offset(shx: &[u8], i: usize) -> Result<usize, String> {
    let at = 100 + i * 8;
    let raw = shx
        .get(at..at + 4)
        .ok_or_else(|| format!("the .shx has no entry {}", i + 1))?;
    Ok(u32::from_be_bytes(raw.try_into().expect("4")) as usize * 2)
}

/// A `.shp` record as Esri JSON geometry; `None` for a null shape.
fn shape(shp: &[u8], at: usize) -> Result<Option<serde_json::Value>, String> {
    use serde_json::json;
    fn float(r: &mut Bytes<'_>, what: &str) -> Result<f64, String> {
        Ok(f64::from_bits(r.i64(what)?.cast_unsigned()))
    }
    fn count(r: &mut Bytes<'_>, most: usize, what: &str) -> Result<usize, String> {
        let n = r.i32(what)?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= most)
            .ok_or_else(|| format!("{what} {n} is impossible"))
    }
    let mut r = Bytes::at(shp, at + 8);
    let kind = r.i32("shape type")?;
    match kind {
        0 => Ok(None),
        1 | 11 | 21 => {
            let (x, y) = (float(&mut r, "x")?, float(&mut r, "y")?);
            let mut g = json!({"x": x, "y": y});
            if kind == 11 {
                g["z"] = json!(float(&mut r, "z")?);
            }
            Ok(Some(g))
        }
        3 | 5 | 8 | 13 | 15 | 18 | 23 | 25 | 28 => {
            for _ in 0..4 {
                float(&mut r, "bounding box")?;
            }
            let multipoint = matches!(kind, 8 | 18 | 28);
            let parts = if multipoint {
                1
            } else {
                count(&mut r, shp.len(), "part count")?
            };
            let points = count(&mut r, shp.len(), "point count")?;
            let mut starts = vec![0usize];
            if !multipoint {
                starts.clear();
                for _ in 0..parts {
                    starts.push(count(&mut r, points, "part start")?);
                }
            }
            let mut coords = Vec::with_capacity(points);
            for _ in 0..points {
                coords.push(vec![float(&mut r, "x")?, float(&mut r, "y")?]);
            }
            let has_z = matches!(kind, 13 | 15 | 18);
            if has_z {
                float(&mut r, "z range")?;
                float(&mut r, "z range")?;
                for c in &mut coords {
                    c.push(float(&mut r, "z")?);
                }
            }
            let mut g = if multipoint {
                json!({ "points": coords })
            } else {
                let mut groups = Vec::with_capacity(parts);
                for (k, &start) in starts.iter().enumerate() {
                    let end = starts.get(k + 1).copied().unwrap_or(points);
                    groups.push(json!(
                        coords.get(start..end).ok_or("part starts out of order")?
                    ));
                }
                let key = if matches!(kind, 3 | 13 | 23) {
                    "paths"
                } else {
                    "rings"
                };
                json!({ key: groups })
            };
            if has_z {
                g["hasZ"] = json!(true);
            }
            Ok(Some(g))
        }
        other => Err(format!("shape type {other} is not read")),
    }
}
