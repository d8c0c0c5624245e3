//! Web Mapping Applications (configurable apps, Instant Apps, Web AppBuilder, classic Story Maps)
//! and Experience Builder.

use serde_json::Value;

use super::maps::objects;
use super::{Finder, child, walk};
use crate::reference::RefKind;

/// Web Mapping Application data.
pub(super) fn web_app(f: &mut Finder<'_, '_>, doc: &Value) {
    // The app template the app was made from is Esri's.
    f.external_item(doc.get("source"), "$.source");
    f.folder(doc.get("folderId"), "$.folderId");
    if let Some(values) = doc.get("values") {
        // `values.webmap` is a string or an array; classic Story Maps hold `{ "webmap": { "id" } }`
        // objects anywhere below `values`.
        objects(values, "$.values", &mut |path, obj| {
            match obj.get("webmap") {
                Some(Value::String(_)) => f.item(obj.get("webmap"), &child(path, "webmap")),
                Some(Value::Array(maps)) => {
                    for (i, m) in maps.iter().enumerate() {
                        f.item(Some(m), &format!("{}[{i}]", child(path, "webmap")));
                    }
                }
                Some(Value::Object(m)) => f.item(m.get("id"), &child(&child(path, "webmap"), "id")),
                _ => {}
            }
            if path == "$.values" {
                f.group(obj.get("group"), "$.values.group");
            }
        });
    }
    // Web AppBuilder.
    if let Some(map) = doc.get("map") {
        f.item(map.get("itemId"), "$.map.itemId");
        if let Some(proxy) = map.get("appProxy") {
            f.item(proxy.get("mapItemId"), "$.map.appProxy.mapItemId");
        }
    }
    if let Some(sources) = doc
        .pointer("/dataSource/dataSources")
        .and_then(Value::as_object)
    {
        for (k, source) in sources {
            let path = child("$.dataSource.dataSources", k);
            f.item(source.get("itemId"), &child(&path, "itemId"));
        }
    }
    if let Some(app) = doc.get("appItemId").and_then(Value::as_str) {
        f.push(RefKind::SelfRef, app, "$.appItemId", false);
    }
    strings(f, doc);
}

/// Service URLs and portal URLs in every string; `portalUrl` keys name the source portal.
fn strings(f: &mut Finder<'_, '_>, doc: &Value) {
    walk(doc, "$", &mut |path, key, v| {
        let Some(s) = v.as_str() else { return };
        if key == Some("portalUrl") && !s.is_empty() {
            f.push(RefKind::PortalUrl, s.trim_end_matches('/'), path, false);
        } else {
            f.urls(Some(v), path);
        }
    });
}

/// Experience Builder configuration (published `/data` or the draft resource `config/config.json`).
pub(super) fn experience(f: &mut Finder<'_, '_>, doc: &Value) {
    if let Some(sources) = doc.get("dataSources").and_then(Value::as_object) {
        for (k, source) in sources {
            let path = child("$.dataSources", k);
            f.item(source.get("itemId"), &child(&path, "itemId"));
            // Child data sources (layers of a map) are nested the same way.
            if let Some(children) = source
                .get("childDataSourceJsons")
                .and_then(Value::as_object)
            {
                for (ck, c) in children {
                    let cpath = child(&child(&path, "childDataSourceJsons"), ck);
                    f.item(c.get("itemId"), &child(&cpath, "itemId"));
                }
            }
        }
    }
    strings(f, doc);
    walk(doc, "$", &mut |path, _, v| {
        if let Some(resource) = v
            .as_str()
            .and_then(|s| s.strip_prefix("${appResourceUrl}/"))
        {
            f.push(RefKind::Resource, resource, path, false);
        }
    });
}
