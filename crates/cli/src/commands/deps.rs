//! `orgpack deps FILE.json [--type TYPE] [--part PART] [--self-id ID] [--portal-url URL]`

use anyhow::{Context as _, Result, bail};
use orgpack_graph::{Context, Part, guess_type, references};

use crate::cli::DepsArgs;
use crate::exit;
use crate::render;

pub fn run(args: &DepsArgs, json: bool) -> Result<u8> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading `{}`", args.file.display()))?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("`{}` is not JSON", args.file.display()))?;
    let part = match args.part.split_once(':') {
        Some(("resource", path)) => Part::Resource(path),
        Some(("service", kind)) => Part::Service(kind),
        _ => match args.part.as_str() {
            "data" => Part::Data,
            "item" => Part::Item,
            "group" => Part::Group,
            "group-content" => Part::GroupContent,
            other => bail!(
                "unknown part `{other}`: use data, item, resource:PATH, service:KIND, group or group-content"
            ),
        },
    };
    let item_type = match &args.item_type {
        Some(t) => t.clone(),
        None if part == Part::Item => doc
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_owned(),
        None => guess_type(&doc).unwrap_or_default().to_owned(),
    };
    let keywords: Vec<String> = doc
        .get("typeKeywords")
        .and_then(|k| k.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let ctx = Context {
        item_type: &item_type,
        type_keywords: &keywords,
        self_id: args.self_id.as_deref(),
        portal_urls: &args.portal_url,
    };
    let found = references(&ctx, part, &doc);
    if json {
        render::json(
            &serde_json::json!({ "message_type": "deps", "type": item_type, "references": found }),
        )?;
        return Ok(exit::OK);
    }
    let shown_type = if item_type.is_empty() {
        "unknown type (generic rules)"
    } else {
        item_type.as_str()
    };
    render::note(&format!(
        "{}: {shown_type}, {} references",
        args.file.display(),
        found.len()
    ));
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|r| {
            let kind = serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let value = match r.layer {
                Some(l) => format!("{}/{l}", r.value),
                None => r.value.clone(),
            };
            let mut flags = Vec::new();
            if r.external {
                flags.push("external");
            }
            if r.in_text {
                flags.push("in text");
            }
            vec![kind, value, r.path.clone(), flags.join(", ")]
        })
        .collect();
    render::table(&["KIND", "VALUE", "WHERE", "NOTE"], &rows, &[])?;
    Ok(exit::OK)
}
