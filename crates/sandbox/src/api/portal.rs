//! The organization: `portals/self` (also served as `portals/<orgId>`), the settings an
//! administrator changes with `portals/self/update` (featured groups, the gallery groups), and
//! its content category schema (`categorySchema`, `assignCategorySchema`).

use axum::response::Response;
use serde_json::{Value, json};

use super::auth::internal;
use super::{Call, FORBIDDEN, error};

/// The group-related settings `portals/self/update` takes, with the value a new organization
/// has. Each `…GroupQuery` is a group search (`id:<groupId>` or `title:"…" AND owner:…`).
const SETTINGS: &[(&str, &str)] = &[
    ("featuredGroups", "[]"),
    ("featuredGroupsId", "\"\""),
    (
        "basemapGalleryGroupQuery",
        "\"title:\\\"ArcGIS Online Basemaps\\\" AND owner:esri_en\"",
    ),
    (
        "vectorBasemapGalleryGroupQuery",
        "\"title:\\\"ArcGIS Online Vector Basemaps\\\" AND owner:esri_en\"",
    ),
    (
        "templatesGroupQuery",
        "\"title:\\\"Web Application Templates\\\" AND owner:esri_en\"",
    ),
    (
        "galleryTemplatesGroupQuery",
        "\"title:\\\"Gallery Templates\\\" AND owner:esri_en\"",
    ),
    (
        "stylesGroupQuery",
        "\"title:\\\"Esri Styles\\\" AND owner:esri_en\"",
    ),
    (
        "symbolSetsGroupQuery",
        "\"title:\\\"Esri Symbols\\\" AND owner:esri_en\"",
    ),
    (
        "colorSetsGroupQuery",
        "\"title:\\\"Esri Colors\\\" AND owner:esri_en\"",
    ),
    ("layerTemplatesGroupQuery", "\"\""),
    ("homePageFeaturedContent", "\"\""),
    ("homePageFeaturedContentCount", "12"),
    ("featuredItemsGroupQuery", "\"\""),
];

/// `portals/self`: the organization, with the caller embedded as `user` when signed in.
pub(super) fn portal_self(call: &Call) -> Result<Response, Response> {
    let host = call
        .rest
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("127.0.0.1");
    let mut v = json!({
        "id": call.org_id, "name": call.org_name, "urlKey": call.org, "isPortal": call.is_portal,
        "portalName": if call.is_portal { "ArcGIS Enterprise" } else { "ArcGIS Online" },
        "portalMode": if call.is_portal { "singletenant" } else { "multitenant" },
        "portalHostname": format!("{host}/{}", call.org), "customBaseUrl": host, "allSSL": false,
        "access": "private", "canSharePublic": true, "canSearchPublic": true, "supportsHostedServices": true,
        "supportsOAuth": true, "currentVersion": crate::CURRENT_VERSION, "culture": "en", "units": "metric",
        "maxTokenExpirationMinutes": 20160,
        "helperServices": {"packaging": {"url": super::packaging::url(call)}}, "defaultUserCreditAssignment": -1,
        "recycleBinSupported": !call.is_portal, "recycleBinEnabled": !call.is_portal,
    });
    let stored = call
        .shared
        .store
        .org_settings(&call.org)
        .map_err(internal)?;
    let o = v.as_object_mut().expect("object");
    for (key, default) in SETTINGS {
        let value = stored
            .get(*key)
            .cloned()
            .unwrap_or_else(|| serde_json::from_str(default).expect("valid default"));
        o.insert((*key).to_owned(), value);
    }
    let has_schema = stored
        .get("categorySchema")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    o.insert("hasCategorySchema".into(), json!(has_schema));
    if let Some(u) = &call.user {
        o.insert("user".into(), super::users::user_json(call, u, true)?);
    }
    Ok(call.reply(&v))
}

/// The caller, when they are a default administrator (what changing the organization's settings
/// takes); the portal's 403 otherwise.
fn default_admin(call: &Call) -> Result<(), Response> {
    call.require_user()?;
    if call.is_default_admin() {
        Ok(())
    } else {
        Err(error(403, FORBIDDEN, &[]))
    }
}

/// `portals/self/update`: the settings of [`SETTINGS`]. Any other organization property is
/// refused by name (the sandbox does not keep it), and nothing is changed.
pub(super) fn update(call: &Call) -> Result<Response, Response> {
    default_admin(call)?;
    let mut changes = Vec::new();
    for (key, raw) in &call.params.fields {
        if matches!(key.as_str(), "f" | "token") {
            continue;
        }
        if !SETTINGS.iter().any(|(k, _)| k == key) {
            return Err(error(
                400,
                "Unable to update organization.",
                &[&format!(
                    "'{key}' is not an organization setting this sandbox keeps (it keeps: {})",
                    SETTINGS
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                )],
            ));
        }
        let value = match key.as_str() {
            "featuredGroups" => {
                let parsed: Option<Value> = serde_json::from_str(raw).ok();
                let valid = parsed.as_ref().and_then(Value::as_array).is_some_and(|a| {
                    a.iter().all(|g| {
                        g.get("title").and_then(Value::as_str).is_some()
                            && g.get("owner").and_then(Value::as_str).is_some()
                    })
                });
                match parsed {
                    Some(v) if valid => v,
                    _ => {
                        return Err(error(
                            400,
                            "Unable to update organization.",
                            &["Invalid featuredGroups: expected [{\"title\": …, \"owner\": …}]"],
                        ));
                    }
                }
            }
            "homePageFeaturedContentCount" => match raw.parse::<u32>() {
                Ok(n) => json!(n),
                Err(_) => {
                    return Err(error(
                        400,
                        "Unable to update organization.",
                        &["Invalid homePageFeaturedContentCount: expected a number"],
                    ));
                }
            },
            _ => json!(raw),
        };
        changes.push((key.clone(), value));
    }
    call.shared
        .store
        .set_org_settings(&call.org, &changes)
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}

/// `portals/self/categorySchema`: `{"categorySchema": [...]}` (empty when none is set).
pub(super) fn category_schema(call: &Call) -> Result<Response, Response> {
    call.require_user()?;
    let stored = call
        .shared
        .store
        .org_settings(&call.org)
        .map_err(internal)?;
    let schema = stored
        .get("categorySchema")
        .cloned()
        .unwrap_or_else(|| json!([]));
    Ok(call.reply(&json!({"categorySchema": schema})))
}

/// `portals/self/assignCategorySchema`: `categorySchema` = `{"categorySchema": [{"title",
/// "categories": [...]}]}` (or the bare list); each top level needs a `title`.
pub(super) fn assign_category_schema(call: &Call) -> Result<Response, Response> {
    default_admin(call)?;
    let schema = super::groups::parse_category_schema(call)?;
    call.shared
        .store
        .set_org_settings(&call.org, &[("categorySchema".to_owned(), schema)])
        .map_err(internal)?;
    Ok(call.reply(&json!({"success": true})))
}
