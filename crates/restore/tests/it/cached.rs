//! Hosted layers whose content is a cache on the source's hosting server (tile, vector tile,
//! scene, imagery layers) are restored as items pointing at that cache, which orgpack does not
//! rebuild, and offline map areas as items no map area job refreshes: the plan and the report say so per item (`incomplete`) and count it by type, while a
//! registered service of another server, which works the same from any organization, is not
//! flagged.

use orgpack_portal::Content;
use orgpack_restore::restore;

use super::seed::{client, seeded};
use super::{backed_up, empty_target, entry, options, restored_into};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_tile_layer_is_reported_incomplete_per_item_and_per_type() {
    let s = seeded().await;
    let admin = client(&s.sandbox, "admin");
    let org_id = admin.portal_self().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tiles = format!(
        "https://tiles.arcgis.com/tiles/{org_id}/arcgis/rest/services/Parcels_tiles/MapServer"
    );
    let hosted = admin
        .add_item(
            "admin",
            None,
            &[
                ("title", "Parcels tiles"),
                ("type", "Map Service"),
                ("typeKeywords", "Hosted Service,Tiled,Map Service,Service"),
            ],
            Content::Url(&tiles),
            1 << 20,
        )
        .await
        .unwrap();
    let registered = admin
        .add_item(
            "admin",
            None,
            &[
                ("title", "State imagery"),
                ("type", "Map Service"),
                ("typeKeywords", "ArcGIS Server,Data,Map Service,Service"),
            ],
            Content::Url("https://gis.state.example/arcgis/rest/services/Imagery/MapServer"),
            1 << 20,
        )
        .await
        .unwrap();
    // An offline map area of the city map, as Field Maps makes it (its definition as data).
    let area = admin
        .add_item(
            "admin",
            None,
            &[("title", "Downtown area"), ("type", "Map Area")],
            Content::Text(&format!(
                r#"{{"mapAreaTileScale":{{"minScale":0,"maxScale":0}},"mapAreaRefreshType":"daily","webmap":"{}"}}"#,
                s.city_map
            )),
            1 << 20,
        )
        .await
        .unwrap();
    // A Hub site with its address, as Hub writes its data.
    let site = admin
        .add_item(
            "admin",
            None,
            &[("title", "Water portal"), ("type", "Hub Site Application"), ("typeKeywords", "hubSite")],
            Content::Text(
                r#"{"values":{"subdomain":"water","defaultHostname":"water-democity.hub.arcgis.com","layout":{"sections":[]}}}"#,
            ),
            1 << 20,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let target = empty_target(&s, "county", dir.path());

    // The plan says it before anything is sent.
    let planned = restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &options(dir.path()),
        true,
    )
    .await
    .unwrap();
    let why = entry(&planned[0], &hosted).incomplete.clone().unwrap();
    assert!(
        why.contains("hosted tile layer") && why.contains("source's cache"),
        "{why}"
    );
    assert_eq!(planned[0].counts().incomplete, 3);

    let report = &restored_into(&archive, &snapshot, &target, dir.path()).await;
    let tile = entry(report, &hosted);
    assert_eq!(tile.status, orgpack_restore::Status::Created);
    assert_eq!(tile.incomplete.as_deref(), Some(why.as_str()));
    let registered = entry(report, &registered);
    assert!(registered.incomplete.is_none());
    let why = registered.reason.as_deref().unwrap_or_default();
    assert!(
        why.starts_with("external: ") && why.contains("`gis.state.example`"),
        "{why}"
    );
    // The hosted tile layer is not said external: it is incomplete.
    assert!(tile.reason.is_none(), "{:?}", tile.reason);
    let map_services = report
        .by_type()
        .into_iter()
        .find(|t| t.item_type == "Map Service")
        .unwrap();
    assert_eq!(
        (map_services.counts.created, map_services.counts.incomplete),
        (2, 1)
    );
    let offline = entry(report, &area).incomplete.clone().unwrap();
    assert!(offline.contains("offline map area"), "{offline}");
    let hub = entry(report, &site).incomplete.clone().unwrap();
    assert!(hub.contains("`water-democity.hub.arcgis.com`"), "{hub}");
    // Every other type: nothing incomplete; each incomplete item counted under its own type.
    assert_eq!(report.counts().incomplete, 3);
    let incomplete: Vec<(String, usize)> = report
        .by_type()
        .into_iter()
        .filter(|t| t.counts.incomplete > 0)
        .map(|t| (t.item_type, t.counts.incomplete))
        .collect();
    assert_eq!(
        incomplete,
        [
            ("Hub Site Application".to_owned(), 1),
            ("Map Area".to_owned(), 1),
            ("Map Service".to_owned(), 1)
        ]
    );
}
