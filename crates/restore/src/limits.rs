//! What a restore creates but cannot make work in the target as it did in the source: hosted
//! imagery layers, hosted tile, vector tile and scene layers it cannot publish again (whose
//! feature layer or package the snapshot lacks: one whose source the snapshot holds is published
//! again from it, `crate::tiles`), offline map areas (Field Maps), and Hub
//! sites (their domain registration). Their content is the source's tiles (or scene or raster
//! caches) on the source's hosting server; orgpack restores the item with its URL and data. Such
//! an item is said per item in the plan and the report (`incomplete`), and counted per type, so
//! nothing is restored silently broken.

use orgpack_archive::{Archive, Item, Snapshot};
use serde_json::Value;

/// Types of hosted layers whose cache a restore does not rebuild, and what each is called.
const CACHED: &[(&str, &str)] = &[
    ("Map Service", "hosted tile layer"),
    ("Vector Tile Service", "hosted vector tile layer"),
    ("Scene Service", "hosted scene layer"),
    ("Image Service", "hosted imagery layer"),
];

/// Why `item` will not work in the target as in the source, when it will not: an offline map
/// area, or a hosted layer whose cache stays on the source (its JSON's `typeKeywords` say
/// `Hosted Service`). Reads the
/// item JSON of those four types only; an unreadable JSON is not guessed at (`None`: the
/// restore itself reports it).
#[must_use]
pub fn not_rebuilt(
    archive: &Archive,
    snapshot: &Snapshot,
    item: &Item,
    facts: &crate::plan::Facts,
) -> Option<String> {
    if item.item_type == "Map Area" && crate::plan::made_by_job(snapshot, item).is_none() {
        // Made by the portal's map area job with the packages it owns (`Area2Package`); a copy
        // of the item and its files is not an area the target's Field Maps will refresh.
        return Some(
            "an offline map area: its packages are made and kept current by the portal's map \
             area job, which a restore does not run; create the area again for its map in the \
             target (Field Maps Designer, or the map's offline settings)"
                .to_owned(),
        );
    }
    if matches!(
        item.item_type.as_str(),
        "Hub Site Application" | "Site Application"
    ) {
        return hub_site(archive, snapshot, item, facts);
    }
    let (_, what) = CACHED.iter().find(|(t, _)| *t == item.item_type)?;
    // Published again from its feature layer (`crate::tiles`).
    if crate::plan::is_republished(snapshot, item) {
        return None;
    }
    let bytes = archive.read_part(&item.item).ok()?;
    let json: Value = serde_json::from_slice(&bytes).ok()?;
    let hosted = json
        .get("typeKeywords")
        .and_then(Value::as_array)
        .is_some_and(|k| k.iter().any(|k| k.as_str() == Some("Hosted Service")));
    hosted.then(|| {
        format!(
            "a {what}: restored with its URL, so it still shows the source's cache, which \
             orgpack does not rebuild; publish it again in the target (from its restored \
             feature layer, or its package)"
        )
    })
}

/// A Hub site with an address that the restore cannot put on the web again. Into ArcGIS Online
/// with its Hub API, the restore registers the site and enters its hostname as Hub does
/// (`crate::hub`); between ArcGIS Enterprise portals the site's subdomain travels in its
/// `hubsubdomain|…` typeKeyword. Otherwise (a site of one kind of portal into the other, or an
/// ArcGIS Online target whose Hub API is unknown) its address is Hub's to make again.
fn hub_site(
    archive: &Archive,
    snapshot: &Snapshot,
    item: &Item,
    facts: &crate::plan::Facts,
) -> Option<String> {
    let source_enterprise =
        snapshot.source.portal_kind == orgpack_archive::manifest::PortalKind::Enterprise;
    if source_enterprise == facts.is_portal && (facts.is_portal || facts.hub.is_some()) {
        return None;
    }
    let data = item.data.as_ref()?;
    let doc: Value = serde_json::from_slice(&archive.read_part(&data.content).ok()?).ok()?;
    let values = doc.get("values")?;
    let host = ["customHostname", "defaultHostname", "subdomain"]
        .iter()
        .find_map(|k| {
            values
                .get(*k)
                .and_then(Value::as_str)
                .filter(|h| !h.is_empty())
        })?;
    Some(format!(
        "a Hub site: its address (`{host}`) and app registration are made by Hub when a site is \
         created, which a restore does not do; set the site's URL again in the target's Hub"
    ))
}

/// Item types that are services read by their URL.
const SERVICES: &[&str] = &[
    "Map Service",
    "Feature Service",
    "Image Service",
    "Vector Tile Service",
    "Scene Service",
    "Stream Service",
    "Elevation Layer",
    "Geoprocessing Service",
    "Geocoding Service",
    "Geometry Service",
    "Network Analysis Service",
    "Globe Service",
    "Geodata Service",
    "WMS",
    "WMTS",
    "WFS",
    "OGCFeatureServer",
    "KML",
];

/// For a service the portal does not host (a map image layer of a federated or stand-alone
/// ArcGIS Server, another organization's or agency's service, an OGC service), whose URL the
/// restore keeps as it was (`json` the item JSON; the caller knows the URL was not pointed at the
/// target): what the report says of it. It works in the target as in the source, reading that
/// server, and its data is that server's, not in the backup.
#[must_use]
pub fn external_service(item: &Item, json: &Value) -> Option<String> {
    if !SERVICES.contains(&item.item_type.as_str()) {
        return None;
    }
    let url = item.url.as_deref().filter(|u| !u.is_empty())?;
    let hosted = json
        .get("typeKeywords")
        .and_then(Value::as_array)
        .is_some_and(|k| k.iter().any(|k| k.as_str() == Some("Hosted Service")));
    if hosted {
        return None;
    }
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(url);
    Some(format!(
        "external: a service the portal does not host (`{host}`), restored pointing at it as in \
         the source; its data stays on that server and is not in the backup"
    ))
}
