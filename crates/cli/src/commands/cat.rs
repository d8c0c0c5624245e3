//! `orgpack cat ARCHIVE ITEM [--part item|data|thumbnail|metadata|resource PATH|payload NAME]`

use std::io::Write;

use anyhow::{Result, bail};
use orgpack_archive::Error;

use crate::cli::{CatArgs, Part};
use crate::exit;

pub fn run(args: &CatArgs) -> Result<u8> {
    let archive = crate::secrets::archive(&args.archive)?;
    let id = archive.resolve(&args.snapshot)?;
    let snapshot = archive.snapshot(&id)?;
    let item = snapshot
        .item(&args.item)
        .ok_or_else(|| Error::ItemNotFound {
            item: args.item.clone(),
            snapshot: id.short(),
        })?;
    let missing = |part: String| Error::PartNotFound {
        item: item.id.clone(),
        part,
    };
    let needs_path = matches!(args.part, Part::Resource | Part::Payload);
    if needs_path != args.path.is_some() {
        bail!("`--part resource` and `--part payload` take a PATH; the other parts take none");
    }
    let path = args.path.as_deref().unwrap_or_default();
    let descriptor = match args.part {
        Part::Item => item.item,
        Part::Data => {
            item.data
                .as_ref()
                .ok_or_else(|| missing("data".into()))?
                .content
        }
        Part::Thumbnail => {
            item.thumbnail
                .as_ref()
                .ok_or_else(|| missing("thumbnail".into()))?
                .content
        }
        Part::Metadata => item.metadata.ok_or_else(|| missing("metadata".into()))?,
        Part::Resource => {
            item.resources
                .iter()
                .find(|r| r.path == path)
                .ok_or_else(|| missing(format!("resource `{path}`")))?
                .content
        }
        Part::Payload => {
            item.payloads
                .iter()
                .find(|p| p.file_name == path)
                .ok_or_else(|| missing(format!("payload `{path}`")))?
                .content
        }
    };
    let mut reader = archive.open_part(&descriptor)?;
    let mut out = std::io::stdout().lock();
    std::io::copy(&mut reader, &mut out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            anyhow::Error::from(e)
        } else {
            orgpack_archive::archive::unwrap_io(e).into()
        }
    })?;
    out.flush()?;
    Ok(exit::OK)
}
