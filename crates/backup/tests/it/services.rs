//! Service URLs in item data: one of the organization's resolves to its item (captured as a
//! dependency, asked for at the URL as written), one on another host stays external unless an
//! item of the organization has that URL, one on the organization's host that answers
//! nothing stays the organization's, unresolved; a service's own URL is no dependency of its
//! item; a registered (not hosted) feature service is never exported.

use orgpack_archive::Archive;
use orgpack_archive::manifest::DependencyKind;
use orgpack_portal::Content;

use crate::seed::{client, seeded};
use crate::{Counting, backup, items};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_urls_resolve_to_their_items_and_external_ones_stay_external() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let admin = client(&s.sandbox, "admin");
    let city_url = admin.item(&s.city).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let host = city_url.split("/source/").next().unwrap().to_owned();
    let gone = format!("{host}/source/server/rest/services/Hosted/Gone/FeatureServer/0");
    let rivers =
        "https://services9.arcgis.com/AbCdEfGhIjKlMnOp/arcgis/rest/services/Rivers/FeatureServer";
    let lakes =
        "https://services9.arcgis.com/AbCdEfGhIjKlMnOp/arcgis/rest/services/Lakes/FeatureServer";
    let data = serde_json::json!({
        "operationalLayers": [
            {"id": "a", "title": "Hydrants", "url": format!("{city_url}/0")},
            {"id": "b", "title": "Gone", "url": gone},
            {"id": "c", "title": "Rivers", "url": format!("{rivers}/0")},
            {"id": "d", "title": "Lakes", "url": format!("{lakes}/0")}
        ],
        "version": "2.31"
    });
    let map = crate::seed::add_text(&editor, "Layers by URL", "Web Map", &data.to_string()).await;
    let registered = editor
        .add_item(
            "editor",
            None,
            &[
                ("title", "Rivers (registered)"),
                ("type", "Feature Service"),
                ("typeKeywords", "ArcGIS Server,Data,Service,Feature Service"),
            ],
            Content::Url(rivers),
            1 << 20,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let (planned, outcome) =
        backup(&s, &repo, items(&[&map, &registered]), &Counting::default()).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let ids: Vec<&str> = planned.items.iter().map(|i| i.id.as_str()).collect();
    assert!(
        ids.contains(&s.city.as_str()),
        "the service by URL: {ids:?}"
    );
    let snap = Archive::open(&repo)
        .unwrap()
        .snapshot(&outcome.snapshot)
        .unwrap();
    let services: Vec<(String, Option<String>, bool)> = snap
        .item(&map)
        .unwrap()
        .dependencies
        .iter()
        .filter(|d| d.kind == DependencyKind::Service)
        .map(|d| (d.target.clone(), d.item_id.clone(), d.external))
        .collect();
    let of = |needle: &str| {
        services
            .iter()
            .find(|(t, _, _)| t.contains(needle))
            .unwrap_or_else(|| panic!("no dependency on {needle}: {services:?}"))
            .clone()
    };
    let (_, item, external) = of("/Hosted/City/");
    assert_eq!((item.as_deref(), external), (Some(s.city.as_str()), false));
    let (_, item, external) = of("/Hosted/Gone/");
    assert_eq!(
        (item, external),
        (None, false),
        "the organization's, unresolved"
    );
    // Another host's service: external, unless an item of the organization has its URL (a
    // registered service).
    let (_, item, external) = of("/Lakes/");
    assert_eq!((item, external), (None, true));
    let (_, item, external) = of("/Rivers/");
    assert_eq!(
        (item.as_deref(), external),
        (Some(registered.as_str()), false)
    );
    // The service's own URL in its item JSON is not a dependency of it.
    let city = snap.item(&s.city).unwrap();
    assert!(
        city.dependencies
            .iter()
            .all(|d| d.item_id.as_deref() != Some(s.city.as_str())),
        "{:?}",
        city.dependencies
    );
    // Registered, not hosted: no export (the portal would refuse one).
    assert_eq!(planned.exports(), 1, "the hosted City only");
    assert!(snap.item(&registered).unwrap().payloads.is_empty());
}
