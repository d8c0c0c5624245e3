//! Survey123 form packages: a Form item's data is a zip whose files name the feature service the
//! survey submits to (the XForm's `<submission action>`, `.info`'s `serviceInfo`), other items
//! and the portal. Their references are dependencies like any data's: each JSON file read with
//! orgpack-graph's rules for forms, every other text file (`.xml`, `.webform`) scanned for
//! service URLs and item ids.

use std::io::{Cursor, Read as _};

use orgpack_graph::{Context, Part, Reference, is_package_text, plain_references};
use serde_json::Value;

/// The most a file of the package is read for references.
const MOST_PER_FILE: u64 = 16 << 20;

/// The references of every text file of the package `zip` (none when it is not a zip), with
/// paths `data <file>`; `own` is the form's id.
pub(crate) fn package_references(zip: &[u8], ctx: &Context<'_>, own: &str) -> Vec<Reference> {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(zip)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index(i) else {
            continue;
        };
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_dir() || !is_package_text(&name) {
            continue;
        }
        let mut text = String::new();
        if entry.take(MOST_PER_FILE).read_to_string(&mut text).is_err() {
            continue;
        }
        let path = format!("data {name}");
        match serde_json::from_str::<Value>(&text) {
            Ok(doc) => out.extend(
                orgpack_graph::references(ctx, Part::Resource(&name), &doc)
                    .into_iter()
                    .map(|mut r| {
                        r.path = r.path.replacen("resource ", "data ", 1);
                        r
                    }),
            ),
            Err(_) => out.extend(plain_references(&text, &path, Some(own))),
        }
    }
    out
}
