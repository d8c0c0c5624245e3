//! Survey123 forms, notebooks, QuickCapture, Workforce v1 projects, groups and item JSON.

use serde_json::Value;

use super::{Finder, child, each, walk};
use crate::reference::RefKind;
use crate::text;

/// Survey123 form files (`esriinfo/*.info`, `.itemInfo`, web `form.json`): the feature service
/// the form writes to, portal URLs, and Workflow Manager URLs that carry the org id.
pub(super) fn form(f: &mut Finder<'_, '_>, doc: &Value) {
    if let Some(service) = doc.get("serviceInfo") {
        f.item(service.get("itemId"), "$.serviceInfo.itemId");
    }
    walk(doc, "$", &mut |path, key, v| {
        let Some(s) = v.as_str() else { return };
        if key == Some("portalUrl") && !s.is_empty() {
            f.push(RefKind::PortalUrl, s.trim_end_matches('/'), path, false);
            return;
        }
        f.urls(Some(v), path);
        if let Some(rest) = s.strip_prefix("https://workflow.arcgis.com/") {
            let org = rest.split(['/', '?']).next().unwrap_or_default();
            if !org.is_empty() {
                f.push(RefKind::OrgId, org, path, true);
            }
        }
    });
}

/// Notebook (`.ipynb`) data: ids and service URLs inside code cells.
pub(super) fn notebook(f: &mut Finder<'_, '_>, doc: &Value) {
    for (path, cell) in each(doc, "$", "cells") {
        let source_path = child(&path, "source");
        let lines: Vec<(String, &str)> = match cell.get("source") {
            Some(Value::String(s)) => vec![(source_path, s.as_str())],
            Some(Value::Array(lines)) => lines
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.as_str().map(|s| (format!("{source_path}[{i}]"), s)))
                .collect(),
            _ => Vec::new(),
        };
        for (p, line) in lines {
            f.ids_in_text(line, &p);
            f.urls(Some(&Value::String(line.to_owned())), &p);
        }
    }
}

/// QuickCapture project (`qc.project.json` resource): data sources and a web map basemap.
pub(super) fn quickcapture(f: &mut Finder<'_, '_>, doc: &Value) {
    for (path, source) in each(doc, "$", "dataSources") {
        f.item(
            source.get("featureServiceItemId"),
            &child(&path, "featureServiceItemId"),
        );
        f.urls(source.get("url"), &child(&path, "url"));
    }
    if let Some(basemap) = doc.get("basemap")
        && basemap.get("type").and_then(Value::as_str) == Some("Web Map")
    {
        f.item(basemap.get("itemId"), "$.basemap.itemId");
    }
    if let Some(own) = doc.get("itemId").and_then(Value::as_str) {
        f.push(RefKind::SelfRef, own, "$.itemId", false);
    }
}

/// Workforce v1 project data.
pub(super) fn workforce_v1(f: &mut Finder<'_, '_>, doc: &Value) {
    f.item(doc.get("workerWebMapId"), "$.workerWebMapId");
    f.item(doc.get("dispatcherWebMapId"), "$.dispatcherWebMapId");
    for layer in ["dispatchers", "assignments", "workers", "tracks"] {
        if let Some(l) = doc.get(layer) {
            let path = child("$", layer);
            f.item(l.get("serviceItemId"), &child(&path, "serviceItemId"));
            f.urls(l.get("url"), &child(&path, "url"));
        }
    }
    f.group(doc.get("groupId"), "$.groupId");
    f.folder(doc.get("folderId"), "$.folderId");
    if let Some(integrations) = doc.get("assignmentIntegrations") {
        let mut found = Vec::new();
        walk(
            integrations,
            "$.assignmentIntegrations",
            &mut |path, key, v| {
                if key == Some("urlTemplate")
                    && let Some(s) = v.as_str()
                {
                    found.extend(
                        text::linked_ids(s)
                            .into_iter()
                            .map(|(_, id)| (path.to_owned(), id.to_owned())),
                    );
                }
            },
        );
        for (path, id) in found {
            f.push(RefKind::Item, &id, &path, true);
        }
    }
}

/// A group: itself, and groups named by `group.<id>` tags.
pub(super) fn group(f: &mut Finder<'_, '_>, doc: &Value) {
    if f.ctx.self_id.is_none()
        && let Some(id) = doc.get("id").and_then(Value::as_str)
    {
        f.push(RefKind::SelfRef, id, "$.id", false);
    }
    for (path, tag) in each(doc, "$", "tags") {
        if let Some(id) = tag
            .as_str()
            .and_then(|t| t.strip_prefix("group."))
            .filter(|id| text::is_item_id(id))
        {
            f.push(RefKind::Group, id, &path, true);
        }
    }
}

/// A page of a group's content: the items shared with it.
pub(super) fn group_content(f: &mut Finder<'_, '_>, doc: &Value) {
    for (path, item) in each(doc, "$", "items") {
        f.item(item.get("id"), &child(&path, "id"));
    }
}

/// Item JSON: Workforce properties, and the item's URL.
pub(super) fn item_json(f: &mut Finder<'_, '_>, doc: &Value) {
    if let Some(props) = doc.get("properties") {
        for key in [
            "workforceDispatcherMapId",
            "workforceWorkerMapId",
            "workforceFeatureServiceId",
        ] {
            f.item(props.get(key), &child("$.properties", key));
        }
        f.group(
            props.get("workforceProjectGroupId"),
            "$.properties.workforceProjectGroupId",
        );
        // A Hub site's or initiative's groups (its core team, its content, its followers) and
        // the initiative it belongs to. (`source` and `parentId` name the template it was made
        // from, Esri's or a solution's: not a dependency.)
        for key in ["collaborationGroupId", "contentGroupId", "followersGroupId"] {
            f.group(props.get(key), &child("$.properties", key));
        }
        f.item(
            props.get("parentInitiativeId"),
            "$.properties.parentInitiativeId",
        );
    }
    f.urls(doc.get("url"), "$.url");
}
