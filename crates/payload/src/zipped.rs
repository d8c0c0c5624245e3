//! Zip payloads: File Geodatabases and shapefiles inside, read entry by entry with every read
//! bounded, so a zip bomb costs nothing and no name is ever used as a path.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use crate::error::{Error, Result};
use crate::fgdb;
use crate::shapefile;
use crate::summary::{Kind, Summary};

/// The most read from one entry: table headers and catalogs are small.
const MAX_ENTRY_READ: u64 = 16 << 20;
/// Declared sizes above this many times the stored size are reported as suspicious.
const SUSPICIOUS_RATIO: u64 = 1000;

pub(crate) struct Zip<R: Read + Seek> {
    archive: zip::ZipArchive<R>,
    /// Entry name → (index, declared size).
    pub entries: BTreeMap<String, (usize, u64)>,
    pub warnings: Vec<String>,
    label: String,
}

impl<R: Read + Seek> Zip<R> {
    pub fn open(reader: R, label: &str) -> Result<Self> {
        let mut archive = zip::ZipArchive::new(reader)
            .map_err(|e| Error::corrupt(label, format!("not a readable zip ({e})")))?;
        if archive.has_duplicate_names() {
            return Err(Error::refused(label, "two entries share a name"));
        }
        if archive
            .has_overlapping_files()
            .map_err(|e| Error::corrupt(label, e.to_string()))?
        {
            return Err(Error::refused(
                label,
                "entries overlap (a zip bomb construction)",
            ));
        }
        let mut entries = BTreeMap::new();
        let mut warnings = Vec::new();
        for i in 0..archive.len() {
            let entry = archive
                .by_index_raw(i)
                .map_err(|e| Error::corrupt(label, format!("entry {i}: {e}")))?;
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            if entry.enclosed_name().is_none()
                || name.starts_with('/')
                || name.contains('\\')
                || name.contains(':')
            {
                return Err(Error::refused(
                    label,
                    format!("entry `{name}` would escape the folder it is extracted to"),
                ));
            }
            if entry.is_symlink() {
                return Err(Error::refused(
                    label,
                    format!("entry `{name}` is a symbolic link"),
                ));
            }
            if entry.is_dir() {
                continue;
            }
            let (size, stored) = (entry.size(), entry.compressed_size());
            if size > stored.saturating_mul(SUSPICIOUS_RATIO).max(1 << 20) {
                warnings.push(format!("entry `{name}` claims {size} bytes from {stored} stored: suspicious compression ratio"));
            }
            entries.insert(name, (i, size));
        }
        Ok(Self {
            archive,
            entries,
            warnings,
            label: label.to_owned(),
        })
    }

    /// At most `limit` bytes from the start of an entry.
    pub fn read_prefix(&mut self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let part = format!("{} › {name}", self.label);
        let (index, _) = *self
            .entries
            .get(name)
            .ok_or_else(|| Error::corrupt(&part, "missing"))?;
        let entry = self
            .archive
            .by_index(index)
            .map_err(|e| Error::corrupt(&part, e.to_string()))?;
        let mut out = Vec::new();
        entry
            .take(limit.min(MAX_ENTRY_READ))
            .read_to_end(&mut out)
            .map_err(|e| Error::io(&part, e))?;
        Ok(out)
    }

    /// A whole entry, refused when larger than the read limit.
    pub fn read_all(&mut self, name: &str) -> Result<Vec<u8>> {
        let part = format!("{} › {name}", self.label);
        let size = self.entries.get(name).map_or(0, |e| e.1);
        if size > MAX_ENTRY_READ {
            return Err(Error::refused(
                part,
                format!("{size} bytes is more than this part may hold"),
            ));
        }
        self.read_prefix(name, MAX_ENTRY_READ)
    }

    pub fn label(&self) -> &str {
        &self.label
    }
}

/// Inspect a zip: File Geodatabase, shapefile(s), a workbook, or just a zip.
pub(crate) fn inspect<R: Read + Seek>(reader: R, label: &str) -> Result<Summary> {
    let mut zip = Zip::open(reader, label)?;
    let gdbs: Vec<String> = zip
        .entries
        .keys()
        .filter_map(|n| n.find(".gdb/").map(|i| n[..i + 5].to_owned()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut summary = if let Some(gdb) = gdbs.first() {
        let mut s = Summary::plain(Kind::FileGeodatabase);
        if gdbs.len() > 1 {
            s.warnings.push(format!(
                "{} geodatabases in one zip; only `{gdb}` was read",
                gdbs.len()
            ));
        }
        let stray: Vec<&String> = zip
            .entries
            .keys()
            .filter(|n| !n.starts_with(gdb.as_str()))
            .collect();
        if !stray.is_empty() {
            s.warnings
                .push(format!("{} entries outside `{gdb}`", stray.len()));
        }
        geodatabase(&mut zip, gdb, &mut s)?;
        s
    } else if zip
        .entries
        .keys()
        .any(|n| n.to_ascii_lowercase().ends_with(".shp"))
    {
        let mut s = Summary::plain(Kind::Shapefile);
        shapefile::layers(&mut zip, &mut s)?;
        s
    } else if zip.entries.contains_key("xl/workbook.xml") {
        Summary::plain(Kind::Excel)
    } else {
        Summary::plain(Kind::Zip)
    };
    summary.warnings.splice(0..0, zip.warnings.drain(..));
    summary.warn_empty();
    Ok(summary)
}

fn geodatabase<R: Read + Seek>(zip: &mut Zip<R>, gdb: &str, summary: &mut Summary) -> Result<()> {
    let label = format!("{} › {gdb}", zip.label());
    fgdb::read_layers(&label, summary, |file, whole| {
        let entry = format!("{gdb}{file}");
        if !zip.entries.contains_key(&entry) {
            Ok(None)
        } else if whole {
            zip.read_all(&entry).map(Some)
        } else {
            zip.read_prefix(&entry, fgdb::TABLE_PREFIX).map(Some)
        }
    })
}

/// The most of a table's rows read for one page of features.
const MAX_TABLE_READ: u64 = 1 << 30;

/// A page of the features of layer `layer` of a zipped File Geodatabase or shapefile.
pub(crate) fn fgdb_page<R: Read + Seek>(
    reader: R,
    label: &str,
    layer: &str,
    offset: usize,
    limit: usize,
) -> Result<crate::rows::Page> {
    let mut zip = Zip::open(reader, label)?;
    let Some(gdb) = zip
        .entries
        .keys()
        .find_map(|n| n.find(".gdb/").map(|i| n[..i + 5].to_owned()))
    else {
        if zip
            .entries
            .keys()
            .any(|n| n.to_ascii_lowercase().ends_with(".shp"))
        {
            return shapefile::page(&mut zip, layer, offset, limit);
        }
        return Err(Error::corrupt(
            label,
            "no File Geodatabase or shapefile inside",
        ));
    };
    let part = |name: &str| format!("{label} › {gdb}{name}");
    let catalog_table = zip.read_all(&format!("{gdb}a00000001.gdbtable"))?;
    let catalog_index = zip.read_all(&format!("{gdb}a00000001.gdbtablx"))?;
    let tables = fgdb::catalog(&catalog_table, &catalog_index)
        .map_err(|r| Error::corrupt(part("a00000001.gdbtable"), r))?;
    let Some((number, _)) = tables.iter().find(|(_, n)| n.eq_ignore_ascii_case(layer)) else {
        return Err(Error::corrupt(label, format!("no layer `{layer}`")));
    };
    let file = format!("a{number:08x}");
    let table = zip.read_prefix(&format!("{gdb}{file}.gdbtable"), MAX_TABLE_READ)?;
    let index = zip.read_prefix(&format!("{gdb}{file}.gdbtablx"), MAX_TABLE_READ)?;
    let info = fgdb::parse_table(&table).map_err(|r| Error::corrupt(part(&file), r))?;
    crate::rows::page(&table, &index, &info, offset, limit)
        .map_err(|r| Error::corrupt(part(&format!("{file}.gdbtable")), r))
}
