//! Survey123 form packages. A Form item's data is a zip: the XLSForm, the XForm
//! (`esriinfo/<name>.xml`, whose `<submission action>` is the feature service the survey submits
//! to), the web form (`.webform`), `.info` (webhooks), `.itemInfo` (the form item itself),
//! `forminfo.json`, media. Restored as it was, a survey would submit to the source's service; so
//! once the form item exists in the target (its own id is then known), the package's text files
//! are rewritten with the id map — service URLs, item ids (the form's own included), portal URLs,
//! organization ids in Workflow Manager URLs — as Esri's solution.js does, and the package is
//! uploaded again. Media and the XLSForm are copied byte for byte. Webhooks keep their URLs (the
//! receivers are outside the organization) and are listed in the item's reason. In place, the
//! packages of the organization's forms are re-pointed like any item's data when a service they
//! name was made again under a new id (`inplace/apply.rs`).

use std::io::{Cursor, Read as _, Write as _};

use orgpack_archive::manifest::Item;
use orgpack_graph::{IdMap, is_package_text, rewrite_plain};
use orgpack_portal::Content;
use serde_json::Value;

use crate::item::Ctx;

/// The largest package rewritten (read whole into memory); a larger one is restored as it was,
/// and the reason says so.
pub(crate) const MOST_BYTES: u64 = 256 << 20;

/// A package rewritten.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Package {
    /// The new zip.
    pub bytes: Vec<u8>,
    /// References replaced.
    pub changed: usize,
    /// `(name, url)` of each webhook of its `.info` files, as rewritten.
    pub webhooks: Vec<(String, String)>,
}

/// `zip` with its text files rewritten by `map`; `Ok(None)` when it is not a zip.
pub(crate) fn rewrite_package(zip: &[u8], map: &IdMap) -> Result<Option<Package>, String> {
    if !zip.starts_with(b"PK\x03\x04") {
        return Ok(None);
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| format!("the form package: {e}"))?;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(zip.len())));
    let mut changed = 0;
    let mut webhooks = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("the form package's entry {i}: {e}"))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_dir() || !is_package_text(&name) {
            drop(entry);
            let raw = archive
                .by_index_raw(i)
                .map_err(|e| format!("the form package's `{name}`: {e}"))?;
            writer
                .raw_copy_file(raw)
                .map_err(|e| format!("copying `{name}`: {e}"))?;
            continue;
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading the form package's `{name}`: {e}"))?;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(entry.last_modified().unwrap_or_default());
        drop(entry);
        let out = match String::from_utf8(bytes) {
            Ok(text) => {
                let (new, n) = rewrite_plain(&text, map);
                changed += n;
                let info = std::path::Path::new(&name)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("info"));
                if info {
                    webhooks.extend(webhooks_of(&new));
                }
                new.into_bytes()
            }
            Err(e) => e.into_bytes(),
        };
        writer
            .start_file(name.as_str(), options)
            .map_err(|e| format!("writing `{name}`: {e}"))?;
        writer
            .write_all(&out)
            .map_err(|e| format!("writing `{name}`: {e}"))?;
    }
    let bytes = writer
        .finish()
        .map_err(|e| format!("finishing the form package: {e}"))?
        .into_inner();
    Ok(Some(Package {
        bytes,
        changed,
        webhooks,
    }))
}

/// The text files of the package `zip` (`.info`, `.itemInfo`, `.json`, `.webform`, `.xml`), as
/// `(name, text)`; none when it is not a zip.
pub(crate) fn text_files(zip: &[u8]) -> Vec<(String, String)> {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(zip)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let Ok(mut entry) = archive.by_index(i) else {
            continue;
        };
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let mut body = String::new();
        if !entry.is_dir() && is_package_text(&name) && entry.read_to_string(&mut body).is_ok() {
            out.push((name, body));
        }
    }
    out
}

/// Whether the package `now` holds what the package `then` holds once re-pointed with `moved`
/// (items made again under new ids): every file by name, with the same bytes (text files as
/// `then`'s rewritten). Not zips: their bytes compared.
pub(crate) fn same_package(then: &[u8], now: &[u8], moved: &IdMap) -> bool {
    let rewritten = if moved.is_empty() {
        None
    } else {
        rewrite_package(then, moved).ok().flatten()
    };
    let then = rewritten.as_ref().map_or(then, |p| p.bytes.as_slice());
    files(then) == files(now)
}

/// Every file of a zip with its bytes, by name; the bytes themselves when not a zip.
fn files(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(zip)) else {
        return vec![(String::new(), zip.to_vec())];
    };
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let Ok(mut entry) = archive.by_index(i) else {
            return vec![(String::new(), zip.to_vec())];
        };
        let mut bytes = Vec::new();
        if entry.read_to_end(&mut bytes).is_err() {
            return vec![(String::new(), zip.to_vec())];
        }
        out.push((
            String::from_utf8_lossy(entry.name_raw()).into_owned(),
            bytes,
        ));
    }
    out.sort();
    out
}

/// `(name, url)` of each webhook a `.info` file declares.
fn webhooks_of(info: &str) -> Vec<(String, String)> {
    let Ok(doc) = serde_json::from_str::<Value>(info) else {
        return Vec::new();
    };
    doc.pointer("/notificationsInfo/webhooks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|h| {
            let text = |k: &str| h.get(k).and_then(Value::as_str).unwrap_or_default();
            (text("name").to_owned(), text("url").to_owned())
        })
        .collect()
}

/// For a Form item restored as `target_id`: its package rewritten for the target and uploaded
/// again. Returns the references replaced and what the reason should say (webhooks kept, a
/// package too large); nothing for any other item.
pub(crate) async fn restore_package(
    ctx: &Ctx<'_>,
    item: &Item,
    owner: &str,
    target_id: &str,
    map: &IdMap,
) -> Result<(usize, Option<String>), String> {
    let Some(data) = item.data.as_ref().filter(|_| item.item_type == "Form") else {
        return Ok((0, None));
    };
    let name = data
        .name
        .clone()
        .unwrap_or_else(|| format!("{}.zip", item.id));
    if data.content.size > MOST_BYTES {
        return Ok((
            0,
            Some(format!(
                "its form package ({} bytes) is larger than orgpack rewrites: it still names the source's services",
                data.content.size
            )),
        ));
    }
    let zip = crate::item::read(ctx.archive, &data.content)?;
    let mut map = map.clone();
    map.items.insert(item.id.clone(), target_id.to_owned());
    let Some(package) = tokio::task::block_in_place(|| rewrite_package(&zip, &map))? else {
        return Ok((0, None));
    };
    if package.changed > 0 {
        upload(ctx, owner, target_id, &name, &package.bytes, &[]).await?;
    }
    let note = (!package.webhooks.is_empty()).then(|| {
        format!(
            "form package rewritten; its webhooks keep their URLs: {}",
            package
                .webhooks
                .iter()
                .map(|(n, u)| format!("{n} → {u}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    Ok((package.changed, note))
}

/// Upload `bytes` as the data (named `name`) of form `id`, with item `params`.
pub(crate) async fn upload(
    ctx: &Ctx<'_>,
    owner: &str,
    id: &str,
    name: &str,
    bytes: &[u8],
    params: &[(&str, &str)],
) -> Result<(), String> {
    let mut file = tempfile::NamedTempFile::new_in(&ctx.options.staging_dir)
        .map_err(|e| format!("staging the form package: {e}"))?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|e| format!("staging the form package: {e}"))?;
    ctx.client
        .update_item(
            owner,
            None,
            id,
            params,
            Content::File {
                path: file.path(),
                name,
            },
        )
        .await
        .map_err(|e| format!("uploading the rewritten form package: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut a = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        (0..a.len())
            .map(|i| {
                let mut e = a.by_index(i).unwrap();
                let mut b = Vec::new();
                e.read_to_end(&mut b).unwrap();
                (String::from_utf8_lossy(e.name_raw()).into_owned(), b)
            })
            .collect()
    }

    #[test]
    fn text_files_are_rewritten_media_copied_and_webhooks_listed() {
        let old = "0c01725576b640e4bd25a16721850000";
        let new = "f".repeat(32);
        let info = format!(
            r#"{{"notificationsInfo":{{"webhooks":[{{"name":"Hook","url":"https://src.example.com/src/{old}/link"}}]}}}}"#
        );
        let logo: &[u8] = b"\x89PNG\r\n\x1a\n not text";
        let zip = zip_of(&[
            ("esriinfo/form.info", info.as_bytes()),
            (
                "esriinfo/form.itemInfo",
                format!(r#"{{"id":"{old}"}}"#).as_bytes(),
            ),
            ("esriinfo/media/logo.png", logo),
            ("esriinfo/form.xlsx", b"PK binary workbook"),
        ]);
        let mut map = IdMap::default();
        map.items.insert(old.into(), new.clone());
        map.portal_urls.insert(
            "https://src.example.com/src".into(),
            "https://dst.example.com/dst".into(),
        );
        let package = rewrite_package(&zip, &map).unwrap().unwrap();
        assert_eq!(package.changed, 3);
        assert_eq!(
            package.webhooks,
            [(
                "Hook".to_owned(),
                format!("https://dst.example.com/dst/{new}/link")
            )]
        );
        let out = entries(&package.bytes);
        assert_eq!(
            out[1],
            (
                "esriinfo/form.itemInfo".into(),
                format!(r#"{{"id":"{new}"}}"#).into_bytes()
            )
        );
        assert_eq!(out[2], ("esriinfo/media/logo.png".into(), logo.to_vec()));
        assert_eq!(out[3].1, b"PK binary workbook");
        assert_eq!(rewrite_package(b"not a zip", &map).unwrap(), None);
        assert!(rewrite_package(b"PK\x03\x04 broken", &map).is_err());
    }
}
