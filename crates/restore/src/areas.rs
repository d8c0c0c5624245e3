//! Offline map areas made again in the target as the portal makes them, not copied: a copy of a
//! `Map Area` item and its packages is not an area Field Maps can download or the portal
//! refreshes. The packaging service the target names (`helperServices.packaging.url`) runs
//! `CreateMapArea` for the restored web map, over the source area's geometry (its
//! `properties.area`, else its extent), in the item's folder; the new area is then given the
//! source's title, tags, description, properties and data (its refresh settings), and
//! `SetupMapArea` makes its packages from the target's layers. The source's packages are matched
//! to those, one by one (same type, same service), rather than uploaded: their content is the
//! target's data now.
//!
//! Without a packaging service the area fails with that said; an area made by a run cut short
//! is found again from the map's `Map2Area` (same title) and finished, never made twice.

use std::time::Duration;

use orgpack_archive::manifest::Item;
use orgpack_portal::{Content, NewMapArea};
use serde_json::{Value, json};

use crate::item::Ctx;
use crate::journal::Kind;
use crate::plan::MadeByJob;

type Failed = (Option<String>, String);

/// How long a packaging job may take.
const JOB_TIMEOUT: Duration = Duration::from_mins(10);

/// Journal step: the area's own properties and data are the source's.
const DESCRIBED: &str = "described";
/// Journal step: the area's packages are made.
const SET_UP: &str = "set up";
/// Journal step: its `SetupMapArea` job was submitted (the job goes on if the run is cut short).
const SUBMITTED: &str = "setup submitted";
/// How long a rerun waits for the packages of a setup an earlier run submitted.
const SUBMITTED_WAIT: Duration = Duration::from_mins(1);

/// The target's id of the snapshot's item `id`, restored before this one.
fn target_of(ctx: &Ctx<'_>, id: &str, what: &str) -> Result<String, Failed> {
    ctx.journal
        .id(Kind::Item, id)
        .map_err(|e| (None, e.to_string()))?
        .ok_or_else(|| (None, format!("its {what} ({id}) was not restored")))
}

/// Make the item in the target (or find what a run cut short made); its id, journaled.
/// `json` is the item's JSON as archived.
pub async fn make(
    ctx: &Ctx<'_>,
    item: &Item,
    json: &Value,
    made: MadeByJob<'_>,
    folder: Option<&str>,
) -> Result<String, Failed> {
    let id = match made {
        MadeByJob::Area { map } => create_area(ctx, json, map, folder).await?,
        MadeByJob::Package { area } => package_of(ctx, item, json, area).await?,
    };
    ctx.journal
        .set_id(Kind::Item, &item.id, &id, true)
        .map_err(|e| (Some(id.clone()), e.to_string()))?;
    Ok(id)
}

/// `CreateMapArea` for the restored map, unless the map has an area of this title already (made
/// by a run cut short before its journal learnt it).
async fn create_area(
    ctx: &Ctx<'_>,
    json: &Value,
    map: &str,
    folder: Option<&str>,
) -> Result<String, Failed> {
    let target_map = target_of(ctx, map, "web map")?;
    let title = json["title"].as_str().unwrap_or_default();
    let areas = ctx
        .client
        .related_items(&target_map, "Map2Area", true)
        .await
        .map_err(|e| (None, format!("looking for an area made before: {e}")))?;
    if let Some(id) = areas
        .iter()
        .find(|a| a["title"].as_str() == Some(title) && a["type"] == "Map Area")
        .and_then(|a| a["id"].as_str())
    {
        return Ok(id.to_owned());
    }
    let service = packaging(ctx).await?;
    let (area_type, area) = area_of(json).ok_or((
        None,
        "the area has neither its geometry (properties.area) nor an extent to make it again from"
            .to_owned(),
    ))?;
    let mut output = json!({"title": title});
    for key in ["snippet", "description"] {
        if let Some(v) = json[key].as_str() {
            output[key] = json!(v);
        }
    }
    if let Some(f) = folder {
        output["folderId"] = json!(f);
    }
    if let Some(s) = json["properties"]["packageRefreshSchedule"].as_str() {
        output["packageRefreshSchedule"] = json!(s);
    }
    let new = NewMapArea {
        map: &target_map,
        area_type,
        area: &area,
        output_name: &output,
    };
    ctx.client
        .create_map_area(&service, &new, JOB_TIMEOUT)
        .await
        .map_err(|e| (None, format!("CreateMapArea: {e}")))
}

/// The area to make again: a bookmark's or envelope's extent, or a polygon, as the source area
/// holds it (`properties.area`), else its item extent (WGS 84).
fn area_of(json: &Value) -> Option<(&'static str, Value)> {
    let area = &json["properties"]["area"];
    if area.get("rings").is_some() {
        return Some(("POLYGON", area.clone()));
    }
    if area.get("xmin").is_some() {
        return Some(("ENVELOPE", area.clone()));
    }
    let e = json["extent"].as_array()?;
    let (lo, hi) = (e.first()?.as_array()?, e.get(1)?.as_array()?);
    Some((
        "ENVELOPE",
        json!({"xmin": lo.first()?, "ymin": lo.get(1)?, "xmax": hi.first()?, "ymax": hi.get(1)?,
               "spatialReference": {"wkid": 4326}}),
    ))
}

/// The packaging service's URL in the target.
async fn packaging(ctx: &Ctx<'_>) -> Result<String, Failed> {
    ctx.client
        .packaging_url()
        .await
        .map_err(|e| (None, format!("reading the portal's packaging service: {e}")))?
        .ok_or((
            None,
            "the target names no packaging service (helperServices.packaging): its offline map \
             areas cannot be made"
                .to_owned(),
        ))
}

/// The service a package was made of: its title up to the last `-` (`Inspections-<area id>`).
fn service_part(title: &str) -> &str {
    title.rsplit_once('-').map_or(title, |(s, _)| s)
}

/// The package the restored area's setup made for the same service as `item`.
async fn package_of(
    ctx: &Ctx<'_>,
    item: &Item,
    json: &Value,
    area: &str,
) -> Result<String, Failed> {
    let target_area = target_of(ctx, area, "map area")?;
    let wanted = service_part(json["title"].as_str().unwrap_or_default());
    let packages = ctx
        .client
        .related_items(&target_area, "Area2Package", true)
        .await
        .map_err(|e| (None, format!("reading the area's packages: {e}")))?;
    let same_type: Vec<&Value> = packages
        .iter()
        .filter(|p| p["type"].as_str() == Some(item.item_type.as_str()))
        .collect();
    let found = same_type
        .iter()
        .find(|p| service_part(p["title"].as_str().unwrap_or_default()) == wanted)
        .or_else(|| (same_type.len() == 1).then(|| &same_type[0]))
        .and_then(|p| p["id"].as_str());
    found.map(str::to_owned).ok_or_else(|| {
        (
            None,
            format!(
                "the restored map area made no {} package of `{wanted}` (its layers are not in \
                 the restored map, or their service does not sync)",
                item.item_type
            ),
        )
    })
}

/// Give the made item the source's properties (and an area its data), then set an area up; each
/// once, journaled.
pub async fn finish(
    ctx: &Ctx<'_>,
    item: &Item,
    made: MadeByJob<'_>,
    owner: &str,
    target_id: &str,
    params: &[(&str, &str)],
    content: Content<'_>,
) -> Result<(), String> {
    if !ctx
        .journal
        .done(&item.id, DESCRIBED)
        .map_err(|e| e.to_string())?
    {
        // A package's file is the one its setup made from the target's data.
        let content = match made {
            MadeByJob::Area { .. } => content,
            MadeByJob::Package { .. } => Content::None,
        };
        // A package's title names its area (`<service>-<area id>`): the job named it after the
        // target's.
        let package = matches!(made, MadeByJob::Package { .. });
        let params: Vec<(&str, &str)> = params
            .iter()
            .filter(|(k, _)| *k != "itemIdToCreate" && !(package && *k == "title"))
            .copied()
            .collect();
        ctx.client
            .update_item(owner, None, target_id, &params, content)
            .await
            .map_err(|e| format!("setting its properties: {e}"))?;
        ctx.journal
            .mark(&item.id, DESCRIBED)
            .map_err(|e| e.to_string())?;
    }
    if matches!(made, MadeByJob::Area { .. })
        && !ctx
            .journal
            .done(&item.id, SET_UP)
            .map_err(|e| e.to_string())?
    {
        // A setup submitted by a run cut short goes on in the portal: its packages are waited
        // for before the area is set up again.
        let submitted = ctx
            .journal
            .done(&item.id, SUBMITTED)
            .map_err(|e| e.to_string())?;
        if !has_packages(ctx, target_id, submitted).await? {
            ctx.journal
                .mark(&item.id, SUBMITTED)
                .map_err(|e| e.to_string())?;
            let service = packaging(ctx).await.map_err(|(_, e)| e)?;
            if let Err(e) = ctx
                .client
                .setup_map_area(&service, target_id, JOB_TIMEOUT)
                .await
            {
                // Refused, or failed: no job goes on; a rerun submits it again at once.
                if matches!(e.kind, orgpack_portal::ErrorKind::Portal { .. }) {
                    ctx.journal
                        .unmark(&item.id, SUBMITTED)
                        .map_err(|e| e.to_string())?;
                }
                return Err(format!("SetupMapArea: {e}"));
            }
        }
        ctx.journal
            .mark(&item.id, SET_UP)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Whether the area has its packages; after a setup submitted by an earlier run, waiting a while
/// for that job to make them.
async fn has_packages(ctx: &Ctx<'_>, area: &str, submitted: bool) -> Result<bool, String> {
    let started = std::time::Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        let packages = ctx
            .client
            .related_items(area, "Area2Package", true)
            .await
            .map_err(|e| format!("reading the area's packages: {e}"))?;
        if !packages.is_empty() {
            return Ok(true);
        }
        if !submitted || started.elapsed() > SUBMITTED_WAIT {
            return Ok(false);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// How the item came back, for the report.
#[must_use]
pub fn how(made: MadeByJob<'_>) -> String {
    match made {
        MadeByJob::Area { .. } => "made again for its restored map by the target's packaging \
                                   service (CreateMapArea, SetupMapArea): its packages hold the \
                                   target's data"
            .to_owned(),
        MadeByJob::Package { .. } => "made by its restored map area's setup from the target's \
                                      data, not uploaded"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{area_of, service_part};
    use serde_json::json;

    #[test]
    fn an_area_is_made_again_from_its_geometry_else_its_extent() {
        let polygon =
            json!({"properties": {"area": {"rings": [[[0, 0], [1, 0], [0, 1], [0, 0]]]}}});
        assert_eq!(area_of(&polygon).unwrap().0, "POLYGON");
        let extent = json!({"extent": [[-120.5, 35.0], [-120.0, 35.5]], "properties": {}});
        let (kind, area) = area_of(&extent).unwrap();
        assert_eq!(kind, "ENVELOPE");
        assert_eq!(area["xmax"], -120.0);
        assert_eq!(area["spatialReference"]["wkid"], 4326);
        assert!(area_of(&json!({"title": "nothing"})).is_none());
    }

    #[test]
    fn a_package_is_matched_by_the_service_in_its_title() {
        assert_eq!(service_part("Inspections-0123abcd"), "Inspections");
        assert_eq!(service_part("Water-mains-0123"), "Water-mains");
        assert_eq!(service_part("plain"), "plain");
    }
}
