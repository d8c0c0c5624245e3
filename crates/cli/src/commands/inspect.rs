//! `orgpack inspect FILE`

use anyhow::{Context as _, Result};

use crate::cli::InspectArgs;
use crate::exit;
use crate::render;

pub fn run(args: &InspectArgs, json: bool) -> Result<u8> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening `{}`", args.file.display()))?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let summary = orgpack_payload::inspect(std::io::BufReader::new(file), &name)?;
    if json {
        render::json(
            &serde_json::json!({ "message_type": "inspect", "file": args.file, "summary": summary }),
        )?;
        return Ok(exit::OK);
    }
    let kind = serde_json::to_value(summary.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    render::note(&format!(
        "{}: {kind}, {} layers",
        args.file.display(),
        summary.layers.len()
    ));
    if let Some(service) = &summary.service {
        render::note(&format!(
            "service: {}{} ({}){}",
            service
                .folder
                .as_deref()
                .map_or_else(String::new, |f| format!("{f}/")),
            service.name,
            service.service_type,
            if summary.entries.is_empty() {
                String::new()
            } else {
                format!(", {} files inside", summary.entries.len())
            }
        ));
    }
    for w in &summary.warnings {
        render::note(&format!("warning: {w}"));
    }
    if !summary.layers.is_empty() {
        let rows: Vec<Vec<String>> = summary
            .layers
            .iter()
            .map(|l| {
                vec![
                    l.name.clone(),
                    l.geometry_type.clone().unwrap_or_else(|| "table".into()),
                    l.feature_count.to_string(),
                    l.fields.len().to_string(),
                    l.spatial_reference.clone().unwrap_or_default(),
                ]
            })
            .collect();
        render::table(
            &[
                "LAYER",
                "GEOMETRY",
                "FEATURES",
                "FIELDS",
                "SPATIAL REFERENCE",
            ],
            &rows,
            &[2, 3],
        )?;
    }
    Ok(exit::OK)
}
