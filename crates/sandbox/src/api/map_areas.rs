//! Offline map areas, the work of the packaging service's two tasks (`crate::api::packaging`):
//! `CreateMapArea` makes a `Map Area` item of an offline-enabled web map (its area a bookmark of
//! the map, an envelope or a polygon), related from the map by `Map2Area`; `SetupMapArea` makes
//! its packages: for each hosted feature service of the map (sync enabled, as offline use needs),
//! a `SQLite Geodatabase` item of the service's layers within the area, related from the area by
//! `Area2Package`. Deviations, written down in spec/portal-api.md: a package is a SQLite
//! database of the layers' rows (not Esri's mobile geodatabase schema), and no tile package is
//! made (the sandbox does not export tiles: `tileServices` is refused, basemap layers are left
//! out with a warning).

use serde_json::{Map, Value, json};

use super::Call;
use super::content::new_item_json;
use super::packaging::Outcome;
use crate::store::{Body, Selection, Service, Stored, StoredItem};

type Failed = String;

fn db(e: impl std::fmt::Display) -> Failed {
    format!("The sandbox's store failed: {e}")
}

/// A JSON parameter, `Null` when absent.
fn json_param(call: &Call, name: &str) -> Result<Value, Failed> {
    call.params.get(name).map_or(Ok(Value::Null), |s| {
        serde_json::from_str(s).map_err(|e| format!("Invalid value for parameter {name}: {e}"))
    })
}

/// An item the caller owns (or administers), of `kind`.
fn owned_item(call: &Call, id: &str, kind: &str) -> Result<StoredItem, Failed> {
    let item = call
        .shared
        .store
        .item(&call.org, id)
        .map_err(db)?
        .ok_or_else(|| format!("Item '{id}' does not exist or is inaccessible."))?;
    let caller = call.user.as_ref().map(|u| u.username.as_str());
    if caller != Some(item.owner.as_str()) && !call.is_admin() {
        return Err(format!(
            "Only the owner of '{id}' or an administrator can make its map areas."
        ));
    }
    let found = item.json["type"].as_str().unwrap_or_default();
    if found != kind {
        return Err(format!("'{id}' is a {found}, not a {kind}."));
    }
    Ok(item)
}

/// An item's data as JSON (`Null` when it has none).
fn data_json(call: &Call, id: &str) -> Result<Value, Failed> {
    let store = &call.shared.store;
    let Some((Some(stored), _)) = store.item_data(&call.org, id).map_err(db)? else {
        return Ok(Value::Null);
    };
    let bytes = store.blobs().read_all(&stored).map_err(db)?;
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Whether `wkid` is Web Mercator (else it must be WGS 84: the only two the sandbox keeps).
fn spatial_reference(geometry: &Value) -> Result<bool, Failed> {
    let sr = &geometry["spatialReference"];
    match sr["latestWkid"].as_i64().or_else(|| sr["wkid"].as_i64()) {
        Some(4326) => Ok(false),
        Some(3857 | 102_100 | 102_113 | 900_913) => Ok(true),
        Some(other) => Err(format!(
            "The area's spatial reference {other} is not one the sandbox keeps (4326 or 3857)."
        )),
        None => Err("The area must give its spatialReference.".to_owned()),
    }
}

/// An area's envelope in WGS 84 (`[xmin, ymin, xmax, ymax]`).
fn envelope_wgs84(area: &Value) -> Result<[f64; 4], Failed> {
    let mercator = spatial_reference(area)?;
    let e = crate::store::envelope(area)
        .or_else(|| {
            let n = |k: &str| area.get(k).and_then(Value::as_f64);
            Some([n("xmin")?, n("ymin")?, n("xmax")?, n("ymax")?])
        })
        .ok_or("The area has no coordinates.")?;
    if !mercator {
        return Ok(e);
    }
    let (x0, y0) = super::tile_draw::geographic(e[0], e[1]);
    let (x1, y1) = super::tile_draw::geographic(e[2], e[3]);
    Ok([x0, y0, x1, y1])
}

/// The area a `CreateMapArea` job asks for: its type and geometry (with a spatial reference).
fn area_of(call: &Call, map: &Value) -> Result<(String, Value), Failed> {
    let area_type = call
        .params
        .get("areaType")
        .unwrap_or("BOOKMARK")
        .to_ascii_uppercase();
    let area = json_param(call, "area")?;
    match area_type.as_str() {
        "BOOKMARK" => {
            let name = call
                .params
                .get("bookmark")
                .map(str::to_owned)
                .or_else(|| area["name"].as_str().map(str::to_owned))
                .or_else(|| area.as_str().map(str::to_owned))
                .ok_or("A BOOKMARK area names one of the map's bookmarks.")?;
            let extent = map["bookmarks"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|b| {
                    b["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                })
                .map(|b| b["extent"].clone())
                .ok_or_else(|| format!("The map has no bookmark named '{name}'."))?;
            Ok((area_type, extent))
        }
        "ENVELOPE" => {
            let extent = if area.is_null() {
                json_param(call, "extent")?
            } else {
                area
            };
            if extent.get("xmin").is_none() {
                return Err("An ENVELOPE area gives xmin, ymin, xmax and ymax.".to_owned());
            }
            Ok((area_type, extent))
        }
        "POLYGON" if area.get("rings").is_some() => Ok((area_type, area)),
        "POLYGON" => Err("A POLYGON area gives its rings.".to_owned()),
        other => Err(format!(
            "Invalid value for parameter areaType: '{other}' (BOOKMARK, ENVELOPE or POLYGON)."
        )),
    }
}

/// `CreateMapArea`: the `Map Area` item of an offline-enabled web map, owned by the map's owner,
/// in the folder `outputName.folderId` names (else the map's), `Map2Area` from the map.
pub(super) fn create(call: &Call) -> Result<Outcome, Failed> {
    const OUTPUT_NAME: &[&str] = &[
        "title",
        "snippet",
        "description",
        "tags",
        "folderId",
        "packageRefreshSchedule",
    ];
    let map_id = call.params.get("mapItemId").unwrap_or_default();
    let map = owned_item(call, map_id, "Web Map")?;
    let offline = map.json["typeKeywords"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|k| k == "Offline");
    if !offline {
        return Err(format!(
            "The map '{}' is not enabled for offline use (its typeKeywords lack 'Offline').",
            map.json["title"].as_str().unwrap_or(map_id)
        ));
    }
    let (area_type, area) = area_of(call, &data_json(call, map_id)?)?;
    let e = envelope_wgs84(&area)?;
    let output = json_param(call, "outputName")?;
    if let Some(unknown) = output
        .as_object()
        .and_then(|o| o.keys().find(|k| !OUTPUT_NAME.contains(&k.as_str())))
    {
        return Err(format!(
            "Invalid value for parameter outputName: '{unknown}' is not one of {}.",
            OUTPUT_NAME.join(", ")
        ));
    }
    let text = |k: &str| output[k].as_str().filter(|s| !s.is_empty());
    let store = &call.shared.store;
    let folder = match text("folderId") {
        Some(f) => Some(
            store
                .folders(&call.org, &map.owner)
                .map_err(db)?
                .into_iter()
                .find(|(id, _, _)| id == f)
                .map(|(id, _, _)| id)
                .ok_or_else(|| format!("Folder '{f}' is not one of {}'s.", map.owner))?,
        ),
        None => map.folder.clone(),
    };
    let tags: Vec<String> = match &output["tags"] {
        Value::String(s) => s.split(',').map(|t| t.trim().to_owned()).collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let mut properties = json!({"area": area, "areaType": area_type, "status": "processing"});
    if let Some(schedule) = text("packageRefreshSchedule") {
        properties["packageRefreshSchedule"] = json!(schedule);
    }
    let id = crate::new_id();
    let now = crate::now_ms();
    let title = text("title").unwrap_or_else(|| map.json["title"].as_str().unwrap_or("Map area"));
    let item = new_item_json(
        call,
        &id,
        &map.owner,
        now,
        json!({
            "title": title, "type": "Map Area", "typeKeywords": ["Map", "Map Area"],
            "tags": tags, "snippet": text("snippet"), "description": text("description"),
            "extent": [[e[0], e[1]], [e[2], e[3]]], "properties": properties,
        }),
    );
    store
        .add_item(&call.org, &map.owner, folder.as_deref(), &item, None, now)
        .map_err(db)?;
    store
        .add_relationship(map_id, &id, "Map2Area")
        .map_err(db)?;
    Ok(Outcome {
        outputs: vec![("mapAreaItemId", json!(id))],
        messages: Vec::new(),
    })
}

/// A layer of the map the packages may hold: its title, URL, and the hosted feature service and
/// layer it is (`None` for a whole service).
struct MapLayer {
    title: String,
    id: String,
    url: String,
    service: String,
    layer: Option<i64>,
}

/// The map's operational layers or tables (group layers opened) that are hosted feature layers
/// of this organization.
fn hosted_layers(call: &Call, layers: &Value, out: &mut Vec<MapLayer>) {
    let marker = format!("/{}/server/rest/services/Hosted/", call.org);
    for l in layers.as_array().into_iter().flatten() {
        if l.get("layers").is_some_and(Value::is_array) && l.get("url").is_none() {
            hosted_layers(call, &l["layers"], out);
            continue;
        }
        let Some(url) = l["url"].as_str() else {
            continue;
        };
        let Some(rest) = url.split_once(&marker).map(|(_, r)| r) else {
            continue;
        };
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if let [name, "FeatureServer", tail @ ..] = parts.as_slice() {
            let layer = match tail {
                [] => None,
                [n] => n.parse().ok(),
                _ => continue,
            };
            out.push(MapLayer {
                title: l["title"].as_str().unwrap_or(name).to_owned(),
                id: l["id"].as_str().unwrap_or_default().to_owned(),
                url: url.to_owned(),
                service: (*name).to_owned(),
                layer,
            });
        }
    }
}

/// `SetupMapArea`: the area's packages, one `SQLite Geodatabase` per sync-enabled hosted feature
/// service of its map (the layers and tables the map shows, and the service's tables), `Area2Package` from
/// the area; a layer of a service that is not sync enabled is left out with a warning (it is not
/// available offline), as are basemap layers (no tiles are exported). Then the area's status is
/// `complete`. Setting up an area that has packages is refused.
pub(super) fn setup(call: &Call) -> Result<Outcome, Failed> {
    let area_id = call.params.get("mapAreaItemId").unwrap_or_default();
    let area = owned_item(call, area_id, "Map Area")?;
    let store = &call.shared.store;
    if !store
        .related(area_id, "Area2Package", true)
        .map_err(db)?
        .is_empty()
    {
        return Err(format!(
            "Map area '{area_id}' is set up already: its packages exist."
        ));
    }
    let tile_services = json_param(call, "tileServices")?;
    if tile_services.as_array().is_some_and(|a| !a.is_empty()) {
        return Err(
            "The sandbox does not export tiles: tileServices must be empty (it makes no tile packages)."
                .to_owned(),
        );
    }
    let ignore: Vec<String> =
        match json_param(call, "mapLayersToIgnore")? {
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Value::Null => Vec::new(),
            _ => return Err(
                "Invalid value for parameter mapLayersToIgnore: a JSON array of layer URLs or ids."
                    .to_owned(),
            ),
        };
    let wanted = wanted_services(&json_param(call, "featureServices")?)?;
    let map_id = store
        .related(area_id, "Map2Area", false)
        .map_err(db)?
        .into_iter()
        .next()
        .ok_or_else(|| format!("Map area '{area_id}' belongs to no map (no Map2Area)."))?;
    let map = data_json(call, &map_id)?;
    let mut layers = Vec::new();
    hosted_layers(call, &map["operationalLayers"], &mut layers);
    hosted_layers(call, &map["tables"], &mut layers);
    let mut messages: Vec<String> = map["baseMap"]["baseMapLayers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            format!(
                "Basemap layer '{}' is not packaged: the sandbox does not export tiles.",
                b["title"]
                    .as_str()
                    .or(b["id"].as_str())
                    .unwrap_or("basemap")
            )
        })
        .collect();
    layers.retain(|l| {
        !ignore.iter().any(|i| i == &l.url || i == &l.id)
            && wanted.as_ref().is_none_or(|w| {
                w.iter().any(|(name, ids)| {
                    name == &l.service
                        && (ids.is_empty() || l.layer.is_none_or(|n| ids.contains(&n)))
                })
            })
    });
    let mut by_service: Vec<(String, Vec<&MapLayer>)> = Vec::new();
    for l in &layers {
        match by_service.iter_mut().find(|(s, _)| *s == l.service) {
            Some((_, v)) => v.push(l),
            None => by_service.push((l.service.clone(), vec![l])),
        }
    }
    let envelope = area.json["properties"]["area"].clone();
    let mut packages = Vec::new();
    for (name, shown) in by_service {
        let Some(service) = store.service_named(&call.org, &name).map_err(db)? else {
            messages.push(format!(
                "Layer '{}' is not packaged: its service is gone.",
                shown[0].title
            ));
            continue;
        };
        if service.definition["syncEnabled"] != json!(true) {
            messages.push(format!(
                "Layer '{}' is not packaged: its service is not sync enabled, so it is not available offline.",
                shown[0].title
            ));
            continue;
        }
        let stored = write_package(call, &service, &shown, &envelope)?;
        packages.push(add_package(call, &area, &service, &stored)?);
    }
    if packages.is_empty() {
        return Err(format!(
            "No layer of the map could be packaged. {}",
            messages.join(" ")
        ));
    }
    let mut json = area.json.clone();
    json["properties"]["status"] = json!("complete");
    store
        .update_item(area_id, &json, None, crate::now_ms())
        .map_err(db)?;
    Ok(Outcome {
        outputs: vec![("packages", json!(packages).to_string().into())],
        messages,
    })
}

/// `featureServices`: `[{"url", "layers"}]` (`None` when absent: every service of the map).
/// Services by name, each with the layer ids asked for (none: every one).
type Wanted = Vec<(String, Vec<i64>)>;

fn wanted_services(given: &Value) -> Result<Option<Wanted>, Failed> {
    let Some(list) = given.as_array() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for s in list {
        if let Some(k) = s
            .as_object()
            .and_then(|o| o.keys().find(|k| !matches!(k.as_str(), "url" | "layers")))
        {
            return Err(format!(
                "featureServices '{k}' is not supported by the sandbox (url and layers are)."
            ));
        }
        let url = s["url"]
            .as_str()
            .ok_or("featureServices entries give a url.")?;
        let name = url
            .split("/Hosted/")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .ok_or_else(|| {
                format!("featureServices url '{url}' is not a hosted feature service.")
            })?;
        let ids = s["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64);
        out.push((name.to_owned(), ids.collect()));
    }
    Ok(Some(out))
}

/// The SQLite database a package holds: per layer (those shown, then the service's tables) a
/// table named as the layer, a column per field, `SHAPE` the geometry as Esri JSON; only
/// features whose envelope meets the area's.
fn write_package(
    call: &Call,
    service: &Service,
    shown: &[&MapLayer],
    area: &Value,
) -> Result<Stored, Failed> {
    let blobs = call.shared.store.blobs();
    let file = tempfile::NamedTempFile::new_in(blobs.spool_dir()).map_err(db)?;
    let conn = rusqlite::Connection::open(file.path()).map_err(db)?;
    let wgs84 = envelope_wgs84(area)?;
    let whole = shown.iter().any(|l| l.layer.is_none());
    for layer in service.layers.as_array().into_iter().flatten() {
        let id = layer["id"].as_i64().unwrap_or_default();
        let table = layer["type"] == "Table" || !layer["geometryType"].is_string();
        if !table && !whole && !shown.iter().any(|l| l.layer == Some(id)) {
            continue;
        }
        let envelope = (!table).then(|| {
            if super::tile_draw::is_geographic(layer, &service.definition) {
                wgs84
            } else {
                let (x0, y0) = super::tile_draw::mercator(wgs84[0], wgs84[1]);
                let (x1, y1) = super::tile_draw::mercator(wgs84[2], wgs84[3]);
                [x0, y0, x1, y1]
            }
        });
        let features = call
            .shared
            .store
            .features(
                &service.item,
                id,
                &Selection {
                    object_ids: None,
                    envelope,
                },
            )
            .map_err(db)?;
        copy_layer(&conn, layer, &features).map_err(db)?;
    }
    conn.close().map_err(|(_, e)| db(e))?;
    let size = file.as_file().metadata().map_err(db)?.len();
    blobs
        .stash(Body::File {
            path: file.into_temp_path(),
            size,
        })
        .map_err(db)
}

/// One layer's rows into a table of its own.
fn copy_layer(
    conn: &rusqlite::Connection,
    layer: &Value,
    features: &[crate::store::Feature],
) -> rusqlite::Result<()> {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let name = quote(layer["name"].as_str().unwrap_or("layer"));
    let fields: Vec<(String, &str)> = layer["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let n = f["name"].as_str()?;
            let affinity = match f["type"].as_str()? {
                "esriFieldTypeOID" | "esriFieldTypeGeometry" => return None,
                "esriFieldTypeInteger"
                | "esriFieldTypeSmallInteger"
                | "esriFieldTypeDate"
                | "esriFieldTypeBigInteger" => "INTEGER",
                "esriFieldTypeDouble" | "esriFieldTypeSingle" => "REAL",
                _ => "TEXT",
            };
            Some((n.to_owned(), affinity))
        })
        .collect();
    let columns: Vec<String> = fields
        .iter()
        .map(|(n, a)| format!("{} {a}", quote(n)))
        .collect();
    conn.execute_batch(&format!(
        "CREATE TABLE {name} (OBJECTID INTEGER PRIMARY KEY, {}SHAPE TEXT)",
        columns.iter().fold(String::new(), |mut out, c| {
            use std::fmt::Write as _;
            let _ = write!(out, "{c}, ");
            out
        })
    ))?;
    let marks = vec!["?"; fields.len() + 2].join(", ");
    let mut insert = conn.prepare(&format!("INSERT INTO {name} VALUES ({marks})"))?;
    for f in features {
        let mut values: Vec<rusqlite::types::Value> = vec![f.oid.into()];
        for (n, _) in &fields {
            values.push(match f.attributes.get(n) {
                Some(Value::Number(x)) if x.is_i64() => x.as_i64().unwrap_or_default().into(),
                Some(Value::Number(x)) => x.as_f64().unwrap_or_default().into(),
                Some(Value::String(s)) => s.clone().into(),
                Some(Value::Bool(b)) => i64::from(*b).into(),
                Some(Value::Null) | None => rusqlite::types::Value::Null,
                Some(other) => other.to_string().into(),
            });
        }
        values.push(
            f.geometry
                .as_ref()
                .map_or(rusqlite::types::Value::Null, |g| g.to_string().into()),
        );
        insert.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

/// The package item of `service` for `area`: its owner's, in its folder, `Area2Package` from the
/// area; what the job's `packages` output lists of it.
fn add_package(
    call: &Call,
    area: &StoredItem,
    service: &Service,
    stored: &Stored,
) -> Result<Value, Failed> {
    let store = &call.shared.store;
    let area_id = area.json["id"].as_str().unwrap_or_default();
    let id = crate::new_id();
    let now = crate::now_ms();
    let title = format!("{}-{area_id}", service.name);
    let file_name = format!("{}.geodatabase", service.name);
    let mut fields = Map::new();
    fields.insert("title".into(), json!(title));
    fields.insert("name".into(), json!(file_name));
    fields.insert("type".into(), json!("SQLite Geodatabase"));
    fields.insert(
        "typeKeywords".into(),
        json!(["Data", "SQLite Geodatabase", "Map Area Package"]),
    );
    fields.insert("size".into(), json!(stored.len()));
    let item = new_item_json(call, &id, &area.owner, now, Value::Object(fields));
    store
        .add_item(
            &call.org,
            &area.owner,
            area.folder.as_deref(),
            &item,
            Some((stored, Some(file_name.as_str()))),
            now,
        )
        .map_err(db)?;
    store
        .add_relationship(area_id, &id, "Area2Package")
        .map_err(db)?;
    Ok(json!({"itemId": id, "type": "SQLite Geodatabase", "title": title}))
}
