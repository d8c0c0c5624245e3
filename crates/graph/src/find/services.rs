//! Service documents: `<view>/sources`, view `adminLayerInfo`, `createService` results, layer
//! query results (Workforce v2 integrations), and service and layer definitions.

use serde_json::Value;

use super::{Finder, child, each, walk};
use crate::reference::RefKind;
use crate::text;

pub(super) fn service_doc(f: &mut Finder<'_, '_>, kind: &str, doc: &Value) {
    match kind {
        // `<view>/sources`: the services a view is built on.
        "sources" => {
            for (path, s) in each(doc, "$", "services") {
                f.item(s.get("serviceItemId"), &child(&path, "serviceItemId"));
                f.urls(s.get("url"), &child(&path, "url"));
            }
        }
        // A join view's `adminLayerInfo`, keyed by layer id: sources by service name only.
        "adminLayerInfo" => {
            walk(doc, "$", &mut |path, key, v| {
                if key == Some("sourceServiceName")
                    && let Some(name) = v.as_str()
                {
                    f.push(RefKind::ServiceName, name, path, false);
                }
            });
        }
        // The result of `createService`: the new service itself.
        "createService" => {
            for key in ["itemId", "serviceItemId", "serviceurl", "encodedServiceURL"] {
                if let Some(s) = doc.get(key).and_then(Value::as_str) {
                    f.push(RefKind::SelfRef, s, &child("$", key), false);
                }
            }
        }
        // Rows of a layer: URL templates that open other apps on items and layers.
        "query" => {
            for (path, feature) in each(doc, "$", "features") {
                let Some(attributes) = feature.get("attributes").and_then(Value::as_object) else {
                    continue;
                };
                for (k, v) in attributes {
                    let Some(s) = v.as_str() else { continue };
                    let p = child(&child(&path, "attributes"), k);
                    for (_, id) in text::linked_ids(s) {
                        f.push(RefKind::Item, id, &p, true);
                    }
                    f.urls(Some(v), &p);
                }
            }
        }
        // Service roots and layer definitions hold no references to other items: symbol image
        // names and relationship ids look like references and are not.
        _ => {}
    }
}
