//! Downloading one part of an item into a [`Spool`], starting again from nothing when the
//! connection fails half way (the client retries only before the first byte).

use std::path::Path;

use orgpack_portal::Client;

use crate::spool::Spool;

/// A downloadable part of an item.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    /// `content/items/<id>/data`.
    Data,
    /// The thumbnail, by the item JSON's `thumbnail` value (`thumbnail/a.png`).
    Thumbnail(&'a str),
    /// `info/metadata/metadata.xml`.
    Metadata,
    /// A resource, by its full path.
    Resource(&'a str),
}

impl Part<'_> {
    /// How the part is named in failures and reports.
    pub fn label(&self) -> String {
        match self {
            Part::Data => "data".into(),
            Part::Thumbnail(_) => "thumbnail".into(),
            Part::Metadata => "metadata".into(),
            Part::Resource(p) => format!("resource `{p}`"),
        }
    }
}

/// Attempts at a whole download, counting the first.
const ATTEMPTS: u32 = 3;

/// Download `part` of item `id`; `Ok(None)` when the item has no such part.
///
/// # Errors
/// The portal's error of the last attempt.
pub async fn fetch(
    client: &Client,
    id: &str,
    part: Part<'_>,
    spool_dir: &Path,
) -> Result<Option<Spool>, orgpack_portal::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut spool = Spool::new(spool_dir);
        let got = match part {
            Part::Data => client.item_data(id, &mut spool).await,
            Part::Thumbnail(t) => client.item_thumbnail(id, t, &mut spool).await,
            Part::Metadata => client.item_metadata(id, &mut spool).await,
            Part::Resource(p) => client.item_resource(id, p, &mut spool).await,
        };
        match got {
            Ok(Some(_)) => return Ok(Some(spool)),
            Ok(None) => return Ok(None),
            // A body cut short after its first byte: the client could not retry, so start over.
            Err(e) if e.is_retryable() && attempt < ATTEMPTS && !spool.is_empty() => {}
            Err(e) => return Err(e),
        }
    }
}
