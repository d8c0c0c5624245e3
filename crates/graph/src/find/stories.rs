//! ArcGIS StoryMaps and Hub sites and pages.

use serde_json::Value;

use super::maps::objects;
use super::{Finder, child, walk};
use crate::reference::{RefKind, Reference};
use crate::text;

/// StoryMap data (and its draft resource): web map resources, image and express-map resources,
/// and embeds of other stories (recorded as external).
pub(super) fn storymap(f: &mut Finder<'_, '_>, doc: &Value) {
    if let Some(resources) = doc.get("resources").and_then(Value::as_object) {
        for (key, resource) in resources {
            let path = child("$.resources", key);
            let data = resource.get("data");
            let data_path = child(&path, "data");
            match resource.get("type").and_then(Value::as_str) {
                Some("webmap" | "webscene") => {
                    f.item(
                        data.and_then(|d| d.get("itemId")),
                        &child(&data_path, "itemId"),
                    );
                }
                Some("image" | "video" | "audio")
                    if data.and_then(|d| d.get("provider")).and_then(Value::as_str)
                        == Some("item-resource") =>
                {
                    if let Some(id) = data
                        .and_then(|d| d.get("resourceId"))
                        .and_then(Value::as_str)
                    {
                        f.push(
                            RefKind::Resource,
                            id,
                            &child(&data_path, "resourceId"),
                            false,
                        );
                    }
                }
                // An express map is stored as an item resource named by `itemId`.
                Some("expressmap") => {
                    if let Some(name) = data.and_then(|d| d.get("itemId")).and_then(Value::as_str) {
                        f.push(RefKind::Resource, name, &child(&data_path, "itemId"), false);
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(nodes) = doc.get("nodes").and_then(Value::as_object) {
        for (key, node) in nodes {
            let path = child("$.nodes", key);
            if node.get("type").and_then(Value::as_str) != Some("embed") {
                continue;
            }
            // `url` and `thumbnailUrl` link other stories; `embedSrc` repeats them percent-encoded
            // next to an embed.ly API key, so it is not read. A link on the organization's own
            // portal (an embedded dashboard or app) is the organization's item, found by the
            // rule for such links: not external.
            for field in ["url", "thumbnailUrl"] {
                let field_path = child(&child(&path, "data"), field);
                if let Some(s) = node
                    .pointer(&format!("/data/{field}"))
                    .and_then(Value::as_str)
                {
                    // (Links on ArcGIS Online's story and experience hosts have their own rule
                    // too.)
                    let own: Vec<&str> = text::portal_links(s, f.ctx.portal_urls)
                        .into_iter()
                        .chain(text::online_app_links(s))
                        .map(|(_, id)| id)
                        .collect();
                    for (_, id) in text::linked_ids(s)
                        .into_iter()
                        .filter(|(_, id)| !own.contains(id))
                    {
                        f.out.push(
                            Reference::new(RefKind::Item, id, f.at(&field_path))
                                .external()
                                .in_text(),
                        );
                    }
                }
            }
        }
    }
}

/// Hub site and page data: cards in `values.layout` (initiatives, galleries, web maps, surveys,
/// apps), a site's pages and a page's sites, links in markdown, site resources, the source org id.
pub(super) fn hub(f: &mut Finder<'_, '_>, doc: &Value) {
    // A site's catalog: the groups whose content the site shows (`values.catalog.groups`).
    // A site's pages (`values.pages[].id`, with their title and slug) and a page's sites
    // (`values.sites[].id`): items of the organization, each naming the other.
    for key in ["pages", "sites"] {
        if let Some(list) = doc
            .pointer(&format!("/values/{key}"))
            .and_then(Value::as_array)
        {
            for (i, entry) in list.iter().enumerate() {
                f.item(entry.get("id"), &format!("$.values.{key}[{i}].id"));
            }
        }
    }
    // Its groups: the site's content (`values.groups`, before the catalog took them) and core
    // team (`values.collaborationGroupId`).
    if let Some(groups) = doc.pointer("/values/groups").and_then(Value::as_array) {
        for (i, g) in groups.iter().enumerate() {
            f.group(Some(g), &format!("$.values.groups[{i}]"));
        }
    }
    f.group(
        doc.pointer("/values/collaborationGroupId"),
        "$.values.collaborationGroupId",
    );
    if let Some(groups) = doc
        .pointer("/values/catalog/groups")
        .and_then(Value::as_array)
    {
        for (i, g) in groups.iter().enumerate() {
            f.group(Some(g), &format!("$.values.catalog.groups[{i}]"));
        }
    }
    objects(doc, "$", &mut |path, obj| {
        if let Some(settings) = obj.get("settings").and_then(Value::as_object) {
            let sp = child(path, "settings");
            for key in ["initiativeId", "webmap", "surveyId", "itemId"] {
                f.item(settings.get(key), &child(&sp, key));
            }
            for key in ["initiativeIds", "ids"] {
                if let Some(ids) = settings.get(key).and_then(Value::as_array) {
                    for (i, id) in ids.iter().enumerate() {
                        f.item(Some(id), &format!("{}[{i}]", child(&sp, key)));
                    }
                }
            }
            if let Some(groups) = settings
                .get("query")
                .and_then(|q| q.get("groups"))
                .and_then(Value::as_array)
            {
                for (i, g) in groups.iter().enumerate() {
                    f.group(g.get("id"), &format!("{sp}.query.groups[{i}].id"));
                }
            }
            if let Some(org) = settings.get("orgId").and_then(Value::as_str) {
                f.push(RefKind::OrgId, org, &child(&sp, "orgId"), false);
            }
        }
        // Section backgrounds uploaded to the site are its resources.
        for key in ["fileSrc", "cropSrc"] {
            if let Some(name) = obj
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && !s.contains("://"))
            {
                f.push(RefKind::Resource, name, &child(path, key), false);
            }
        }
    });
    walk(doc, "$", &mut |path, key, v| {
        if let Some(s) = v.as_str() {
            if key == Some("markdown") {
                for (_, id) in text::linked_ids(s) {
                    f.push(RefKind::Item, id, path, true);
                }
            }
            f.urls(Some(v), path);
        }
    });
}
