//! `orgpack graph ARCHIVE [--snapshot ID|latest] [--format dot|mermaid|json]`

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use orgpack_archive::manifest::{DependencyKind, Direction, Snapshot};
use orgpack_graph::{Edge, Graph, Reason, relationship_edge};

use crate::cli::{GraphArgs, GraphFormat};
use crate::exit;
use crate::render;

pub fn run(args: &GraphArgs, json: bool) -> Result<u8> {
    let archive = crate::secrets::archive(&args.archive)?;
    let id = archive.resolve(&args.snapshot)?;
    let snapshot = archive.snapshot(&id)?;
    let graph = build(&snapshot);
    let labels: BTreeMap<&str, String> = snapshot
        .items
        .iter()
        .map(|i| (i.id.as_str(), format!("{} ({})", i.title, i.item_type)))
        .collect();
    let label = |id: &str| labels.get(id).cloned().unwrap_or_else(|| id.to_owned());
    if json || args.format == GraphFormat::Json {
        let nodes: Vec<_> = graph
            .nodes()
            .map(|n| serde_json::json!({"id": n, "label": label(n)}))
            .collect();
        render::json(&serde_json::json!({
            "message_type": "graph",
            "snapshot": id,
            "nodes": nodes,
            "edges": graph.edges().collect::<Vec<_>>(),
            "plan": graph.plan(),
        }))?;
        return Ok(exit::OK);
    }
    let text = match args.format {
        GraphFormat::Dot => orgpack_graph::graph::to_dot(&graph, &label),
        _ => orgpack_graph::graph::to_mermaid(&graph, &label),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(exit::OK)
}

/// The items of a snapshot and the dependencies among them (references to items in the snapshot,
/// service URLs whose item is in it, relationships).
pub(crate) fn build(snapshot: &Snapshot) -> Graph {
    let mut graph = Graph::new();
    let present: std::collections::BTreeSet<&str> =
        snapshot.items.iter().map(|i| i.id.as_str()).collect();
    for item in &snapshot.items {
        graph.add_node(&item.id);
        for dep in &item.dependencies {
            let target = match dep.kind {
                DependencyKind::Item => Some(dep.target.as_str()),
                DependencyKind::Service => dep.item_id.as_deref(),
                DependencyKind::Group | DependencyKind::Url => None,
            };
            if let Some(to) = target.filter(|t| present.contains(t) && *t != item.id) {
                let path = dep.path.clone().unwrap_or_default();
                graph.add_edge(Edge {
                    from: item.id.clone(),
                    to: to.to_owned(),
                    reason: Reason::Reference { path },
                });
            }
        }
        for rel in &item.relationships {
            if present.contains(rel.item_id.as_str()) {
                let forward = rel.direction == Direction::Forward;
                graph.add_edge(relationship_edge(
                    &item.id,
                    &rel.relationship_type,
                    forward,
                    &rel.item_id,
                ));
            }
        }
    }
    graph
}
