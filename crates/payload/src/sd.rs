//! Service definitions (`.sd`): what ArcGIS Pro and ArcMap stage to publish a service, a 7-Zip
//! archive. Read here:
//!
//! - its entries, with their sizes (names are checked: none may leave the folder it would be
//!   extracted to);
//! - `serviceconfiguration.json` (at the root, or under `esriinfo/`): the service's name
//!   (`service.serviceName`), type (`service.type`: `MapServer`, `FeatureServer` …) and folder
//!   (`folderName`), as Esri's own tools read it;
//! - the File Geodatabase ArcGIS copied in for a hosted service (`cd/<name>.gdb/` in ArcGIS Pro's
//!   packages, any `<name>.gdb/` folder in others): its layers, geometry types, fields and counts,
//!   as for a zipped File Geodatabase. A service definition that references its data (a
//!   registered enterprise geodatabase) holds none, which a warning says.
//!
//! 7-Zip archives are usually solid: one compressed stream for all entries. They are decoded in
//! one pass, keeping only the few small files needed; decoder dictionaries are limited to
//! [`MEMORY_LIMIT_KB`] and every kept file to a bounded prefix, so a hostile archive costs
//! bounded memory (decoding time is linear in what it declares).

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use sevenz_rust2::{ArchiveReader, EntryDecision, Password};

use crate::error::{Error, Result};
use crate::fgdb;
use crate::summary::{Entry, Kind, ServiceInfo, Summary};

/// The largest decoder dictionary accepted (7-Zip's "ultra" setting uses 64 MiB).
pub const MEMORY_LIMIT_KB: usize = 256 << 10;
/// More entries than this is not a service definition.
const MAX_ENTRIES: usize = 100_000;
/// The most kept of `serviceconfiguration.json` and the geodatabase's catalog.
const MAX_WHOLE: u64 = 16 << 20;

pub(crate) fn inspect<R: Read + Seek>(reader: R, label: &str) -> Result<Summary> {
    let mut archive =
        ArchiveReader::new_with_memory_limit(reader, Password::empty(), MEMORY_LIMIT_KB)
            .map_err(|e| Error::corrupt(label, format!("not a readable 7-Zip archive ({e})")))?;
    archive.set_thread_count(1);
    let files = &archive.archive().files;
    if files.len() > MAX_ENTRIES {
        return Err(Error::refused(
            label,
            format!(
                "{} entries: more than a service definition holds",
                files.len()
            ),
        ));
    }
    let names: Vec<String> = files
        .iter()
        .filter(|f| !f.is_directory)
        .map(|f| f.name.replace('\\', "/"))
        .collect();
    let config = [
        "serviceconfiguration.json",
        "esriinfo/serviceconfiguration.json",
    ]
    .into_iter()
    .find(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)))
    .map(str::to_owned);
    let gdbs = names
        .iter()
        .filter(|n| n.to_ascii_lowercase().contains(".gdb/"))
        .map(|n| {
            let i = n.to_ascii_lowercase().find(".gdb/").unwrap_or(0);
            n[..i + 5].to_owned()
        })
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let gdb = geodatabase_folder(label, files)?;
    let entries: Vec<Entry> = files
        .iter()
        .filter(|f| !f.is_directory)
        .map(|f| Entry {
            name: f.name.replace('\\', "/"),
            size: f.size,
        })
        .collect();

    // One pass: keep the configuration and the geodatabase's table files (their catalog whole,
    // the others' headers), drain the rest, stop once everything wanted is in.
    let wanted = |name: &str| -> Option<u64> {
        if config
            .as_deref()
            .is_some_and(|c| name.eq_ignore_ascii_case(c))
        {
            return Some(MAX_WHOLE);
        }
        let file = name.strip_prefix(gdb.as_deref()?)?;
        if file == "a00000001.gdbtable" || file == "a00000001.gdbtablx" {
            Some(MAX_WHOLE)
        } else if file.ends_with(".gdbtable") && !file.contains('/') {
            Some(fgdb::TABLE_PREFIX)
        } else {
            None
        }
    };
    let mut left = names.iter().filter(|n| wanted(n).is_some()).count();
    let mut kept: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut too_large = None;
    if left > 0 {
        archive
            .for_each_entries_with_decision(|entry, data| {
                let name = entry.name.replace('\\', "/");
                let Some(limit) = (!entry.is_directory).then(|| wanted(&name)).flatten() else {
                    return Ok(EntryDecision::Continue);
                };
                let mut bytes = Vec::new();
                data.take(limit + 1).read_to_end(&mut bytes)?;
                if bytes.len() as u64 > limit {
                    if limit == MAX_WHOLE {
                        too_large = Some(name);
                        return Ok(EntryDecision::Stop);
                    }
                    bytes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                }
                kept.insert(name, bytes);
                left -= 1;
                Ok(if left == 0 {
                    EntryDecision::Stop
                } else {
                    EntryDecision::Continue
                })
            })
            .map_err(|e| Error::corrupt(label, format!("decoding the archive: {e}")))?;
    }
    if let Some(name) = too_large {
        return Err(Error::refused(
            format!("{label} › {name}"),
            format!("larger than {} MiB", MAX_WHOLE >> 20),
        ));
    }

    let mut summary = Summary::plain(Kind::ServiceDefinition);
    summary.entries = entries;
    match &config {
        Some(c) => {
            let bytes = kept.get(c).map(Vec::as_slice).unwrap_or_default();
            summary.service = Some(
                service_info(bytes)
                    .map_err(|reason| Error::corrupt(format!("{label} › {c}"), reason))?,
            );
        }
        None => summary
            .warnings
            .push("no serviceconfiguration.json: the service's name and type are unknown".into()),
    }
    match &gdb {
        Some(gdb) => {
            if gdbs > 1 {
                summary.warnings.push(format!(
                    "{gdbs} geodatabases inside; only `{gdb}` was read"
                ));
            }
            let gdb_label = format!("{label} › {gdb}");
            fgdb::read_layers(&gdb_label, &mut summary, |file, _whole| {
                Ok(kept.remove(&format!("{gdb}{file}")))
            })?;
        }
        None => summary.warnings.push(
            "no geodatabase inside: the service references its data, so no layers or counts can be read"
                .into(),
        ),
    }
    summary.warn_empty();
    Ok(summary)
}

/// `serviceconfiguration.json`'s service name, type and folder.
fn service_info(bytes: &[u8]) -> std::result::Result<ServiceInfo, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    let service = doc.get("service").ok_or("no `service` object")?;
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(ServiceInfo {
        name: text(service, "serviceName").ok_or("no `service.serviceName`")?,
        service_type: text(service, "type").ok_or("no `service.type`")?,
        folder: text(&doc, "folderName"),
    })
}

/// Copy the geodatabase a service definition holds (the one [`inspect`] reads) into `out` as a
/// zipped File Geodatabase (`<name>.gdb/…`, deflated), streaming entry by entry; returns the
/// geodatabase's folder name (`City.gdb`). What a portal hands back when a service published from
/// a service definition is exported to a File Geodatabase.
///
/// # Errors
/// As [`inspect`]; [`Error::Corrupt`] when the archive holds no geodatabase; [`Error::Io`] when
/// `out` cannot be written.
pub fn extract_geodatabase<R, W>(reader: R, label: &str, out: W) -> Result<String>
where
    R: Read + Seek,
    W: std::io::Write + Seek,
{
    let mut archive =
        ArchiveReader::new_with_memory_limit(reader, Password::empty(), MEMORY_LIMIT_KB)
            .map_err(|e| Error::corrupt(label, format!("not a readable 7-Zip archive ({e})")))?;
    archive.set_thread_count(1);
    let gdb = geodatabase_folder(label, &archive.archive().files)?
        .ok_or_else(|| Error::corrupt(label, "no geodatabase inside"))?;
    let folder = gdb
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("data.gdb")
        .to_owned();
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut failed = None;
    archive
        .for_each_entries(|entry, data| {
            let name = entry.name.replace('\\', "/");
            let Some(file) = name.strip_prefix(gdb.as_str()) else {
                return Ok(true);
            };
            if entry.is_directory || file.is_empty() {
                return Ok(true);
            }
            let written = zip
                .start_file(format!("{folder}/{file}"), options)
                .map_err(std::io::Error::other)
                .and_then(|()| std::io::copy(data, &mut zip));
            if let Err(e) = written {
                failed = Some(e);
                return Ok(false);
            }
            Ok(true)
        })
        .map_err(|e| Error::corrupt(label, format!("decoding the archive: {e}")))?;
    if let Some(e) = failed {
        return Err(Error::io(format!("{label} › {folder}"), e));
    }
    zip.finish()
        .map_err(|e| Error::io(label, std::io::Error::other(e)))?;
    Ok(folder)
}

/// The geodatabase folder `inspect` reads (`cd/City.gdb/`), after checking every name.
fn geodatabase_folder(label: &str, files: &[sevenz_rust2::ArchiveEntry]) -> Result<Option<String>> {
    let mut gdbs = std::collections::BTreeSet::new();
    for f in files {
        let name = f.name.replace('\\', "/");
        check_name(label, &name)?;
        if let Some(i) = name.to_ascii_lowercase().find(".gdb/") {
            gdbs.insert(name[..i + 5].to_owned());
        }
    }
    Ok(gdbs
        .iter()
        .find(|g| g.to_ascii_lowercase().starts_with("cd/"))
        .or_else(|| gdbs.iter().next())
        .cloned())
}

fn check_name(label: &str, name: &str) -> Result<()> {
    if name.starts_with('/') || name.contains(':') || name.split('/').any(|s| s == "..") {
        return Err(Error::refused(
            label,
            format!("entry `{name}` would escape the folder it is extracted to"),
        ));
    }
    Ok(())
}

/// A page of the features of layer `layer` of the geodatabase a service definition holds. Two
/// passes over the archive: its catalog, then the layer's table (7-Zip archives are read in order).
pub(crate) fn page<R: Read + Seek>(
    mut reader: R,
    label: &str,
    layer: &str,
    offset: usize,
    limit: usize,
) -> Result<crate::rows::Page> {
    let read = |wanted: &[String], reader: &mut R| -> Result<BTreeMap<String, Vec<u8>>> {
        reader
            .seek(std::io::SeekFrom::Start(0))
            .map_err(|e| Error::io(label, e))?;
        let mut archive =
            ArchiveReader::new_with_memory_limit(&mut *reader, Password::empty(), MEMORY_LIMIT_KB)
                .map_err(|e| {
                    Error::corrupt(label, format!("not a readable 7-Zip archive ({e})"))
                })?;
        archive.set_thread_count(1);
        let mut kept = BTreeMap::new();
        archive
            .for_each_entries_with_decision(|entry, data| {
                let name = entry.name.replace('\\', "/");
                if !wanted.contains(&name) {
                    return Ok(EntryDecision::Continue);
                }
                let mut bytes = Vec::new();
                data.take(MAX_TABLE).read_to_end(&mut bytes)?;
                kept.insert(name, bytes);
                Ok(if kept.len() == wanted.len() {
                    EntryDecision::Stop
                } else {
                    EntryDecision::Continue
                })
            })
            .map_err(|e| Error::corrupt(label, format!("decoding the archive: {e}")))?;
        Ok(kept)
    };
    let gdb = {
        let archive =
            ArchiveReader::new_with_memory_limit(&mut reader, Password::empty(), MEMORY_LIMIT_KB)
                .map_err(|e| Error::corrupt(label, format!("not a readable 7-Zip archive ({e})")))?;
        geodatabase_folder(label, &archive.archive().files)?
            .ok_or_else(|| Error::corrupt(label, "no geodatabase inside"))?
    };
    let part = |name: &str| format!("{label} › {gdb}{name}");
    let catalog_files = [
        format!("{gdb}a00000001.gdbtable"),
        format!("{gdb}a00000001.gdbtablx"),
    ];
    let catalog = read(&catalog_files, &mut reader)?;
    let (Some(table), Some(index)) = (
        catalog.get(&catalog_files[0]),
        catalog.get(&catalog_files[1]),
    ) else {
        return Err(Error::corrupt(label, "the geodatabase has no catalog"));
    };
    let tables =
        fgdb::catalog(table, index).map_err(|r| Error::corrupt(part("a00000001.gdbtable"), r))?;
    let Some((number, _)) = tables.iter().find(|(_, n)| n.eq_ignore_ascii_case(layer)) else {
        return Err(Error::corrupt(label, format!("no layer `{layer}`")));
    };
    let file = format!("a{number:08x}");
    let files = [
        format!("{gdb}{file}.gdbtable"),
        format!("{gdb}{file}.gdbtablx"),
    ];
    let kept = read(&files, &mut reader)?;
    let (Some(table), Some(index)) = (kept.get(&files[0]), kept.get(&files[1])) else {
        return Err(Error::corrupt(
            part(&file),
            "the layer's table files are missing",
        ));
    };
    let info = fgdb::parse_table(table).map_err(|r| Error::corrupt(part(&file), r))?;
    crate::rows::page(table, index, &info, offset, limit)
        .map_err(|r| Error::corrupt(part(&format!("{file}.gdbtable")), r))
}

/// The most of one table file kept for a page of features.
const MAX_TABLE: u64 = 1 << 30;
