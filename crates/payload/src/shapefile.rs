//! Shapefiles inside a zip: `.shp` (geometry type), `.shx` (record count), `.dbf` (fields and
//! record count), `.prj` (spatial reference). Only headers are read.

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
