//! Web maps, web scenes and dashboards.

use serde_json::Value;

use super::{Finder, child, each, walk};
use crate::reference::RefKind;
use crate::text;

/// Web Map and Web Scene data: operational layers (group layers recursed), tables, a scene's
/// elevation layers, basemap layers.
pub(super) fn web_map(f: &mut Finder<'_, '_>, doc: &Value) {
    layers(f, doc, "$", "operationalLayers");
    layers(f, doc, "$", "tables");
    // Web scenes: elevation layers.
    if let Some(ground) = doc.get("ground") {
        layers(f, ground, "$.ground", "layers");
    }
    if let Some(basemap) = doc.get("baseMap") {
        for (path, layer) in each(basemap, "$.baseMap", "baseMapLayers") {
            // Basemap items are usually Esri's: recorded, kept as they are unless the org owns them.
            f.external_item(layer.get("itemId"), &child(&path, "itemId"));
            f.urls(layer.get("url"), &child(&path, "url"));
            if let Some(style) = layer.get("styleUrl").and_then(Value::as_str) {
                let style_path = child(&path, "styleUrl");
                f.urls(layer.get("styleUrl"), &style_path);
                for (_, id) in text::linked_ids(style) {
                    let r = crate::reference::Reference::new(RefKind::Item, id, f.at(&style_path))
                        .external()
                        .in_text();
                    f.out.push(r);
                }
            }
        }
    }
}

fn layers(f: &mut Finder<'_, '_>, doc: &Value, path: &str, key: &str) {
    for (path, layer) in each(doc, path, key) {
        f.item(layer.get("itemId"), &child(&path, "itemId"));
        f.urls(layer.get("url"), &child(&path, "url"));
        // Group layers nest the same structure.
        layers(f, layer, &path, "layers");
    }
}

/// Dashboard data: map widgets and every dataset whose source is a feature service, wherever
/// they sit (widgets, header and side panels, URL parameters, desktop and mobile views).
pub(super) fn dashboard(f: &mut Finder<'_, '_>, doc: &Value) {
    objects(doc, "$", &mut |path, obj| {
        if obj.get("type").and_then(Value::as_str) == Some("mapWidget") {
            f.item(obj.get("itemId"), &child(path, "itemId"));
        }
        if let Some(source) = obj.get("dataSource")
            && source.get("type").and_then(Value::as_str) == Some("featureServiceDataSource")
        {
            let source_path = child(path, "dataSource");
            f.item(source.get("itemId"), &child(&source_path, "itemId"));
            f.urls(source.get("url"), &child(&source_path, "url"));
        }
    });
    walk(doc, "$", &mut |path, _, v| {
        if v.as_str().is_some_and(|s| s.contains("Server")) {
            f.urls(Some(v), path);
        }
    });
}

/// Visit every object in `v` with its path.
pub(super) fn objects(
    v: &Value,
    path: &str,
    visit: &mut dyn FnMut(&str, &serde_json::Map<String, Value>),
) {
    match v {
        Value::Object(map) => {
            visit(path, map);
            for (k, x) in map {
                objects(x, &child(path, k), visit);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                objects(x, &format!("{path}[{i}]"), visit);
            }
        }
        _ => {}
    }
}
