//! Apps of each kind that keep references in their data and resources come back pointing at the
//! restored items, in every place each product writes them (issue 25's item types, shaped as in
//! `fixtures/corpus/`): a Dashboard (map widget, feature-service data source, an Arcade data
//! expression's `FeatureSetByPortalItem`), an Experience Builder app (published config in data,
//! draft in `config/config.json`, a dashboard embedded by its `/apps/dashboards/<id>` URL), a
//! StoryMap (published data and its draft resource, a web map node and an embedded app), a
//! Notebook (an item id and a service URL in code cells), a QuickCapture project
//! (`qc.project.json`), a Hub site and its page (cards, catalog group, each naming the other) and a Workforce v2 project (the hosted
//! service's item properties). The restored organization is read
//! back: no item JSON, data or JSON resource names the source, and each names the target's items.

use orgpack_portal::{Client, Content};
use serde_json::{Value, json};

use super::seed::{client, seeded};
use super::{backed_up, empty_target, entry, restored_into};

async fn add(
    editor: &Client,
    item_type: &str,
    title: &str,
    keywords: &str,
    data: &Value,
) -> String {
    let mut params = vec![("title", title), ("type", item_type)];
    if !keywords.is_empty() {
        params.push(("typeKeywords", keywords));
    }
    editor
        .add_item(
            "editor",
            None,
            &params,
            Content::Text(&data.to_string()),
            1 << 20,
        )
        .await
        .unwrap()
}

async fn resource(editor: &Client, id: &str, path: &str, doc: &Value) {
    editor
        .add_resource("editor", id, path, doc.to_string().into_bytes())
        .await
        .unwrap();
}

async fn data_of(c: &Client, id: &str) -> String {
    let mut bytes = Vec::new();
    c.item_data(id, &mut bytes).await.unwrap();
    String::from_utf8(bytes).unwrap()
}

async fn resource_of(c: &Client, id: &str, path: &str) -> String {
    let mut bytes = Vec::new();
    assert!(
        c.item_resource(id, path, &mut bytes)
            .await
            .unwrap()
            .is_some(),
        "{path}"
    );
    String::from_utf8(bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_of_each_kind_come_back_pointing_at_the_restored_items() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let portal = s.sandbox.portal_url("source");
    let service = editor.item(&s.city).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (map, svc) = (s.city_map.clone(), s.city.clone());

    let dashboard = add(&editor, "Dashboard", "Hydrant dashboard", "", &json!({
        "version": 27,
        "widgets": [
            {"type": "mapWidget", "id": "m1", "itemId": map, "mapTools": []},
            {"type": "indicatorWidget", "id": "i1", "datasets": [{"type": "serviceDataset",
                "dataSource": {"type": "featureServiceDataSource", "itemId": svc, "layerId": 0}}]},
            {"type": "listWidget", "id": "l1", "datasets": [{"type": "serviceDataset",
                "dataSource": {"type": "arcadeDataSource", "itemId": "3f281598-2571-42c8-9fe7-fa7d18819bc3",
                    "script": format!("var fs = FeatureSetByPortalItem(Portal('{portal}'), '{svc}', 0, ['*'], false);\nreturn fs;")}}]}
        ]
    })).await;

    let exb_config = json!({
        "dataSources": {"dataSource_1": {"id": "dataSource_1", "type": "WEB_MAP", "itemId": map, "portalUrl": portal}},
        "widgets": {"widget_3": {"uri": "widgets/common/embed/", "config": {
            "embedBy": "url", "expression": format!("{portal}/apps/dashboards/{dashboard}")}}}
    });
    let experience = add(
        &editor,
        "Web Experience",
        "Hydrant experience",
        "EXB Experience",
        &exb_config,
    )
    .await;
    resource(&editor, &experience, "config/config.json", &exb_config).await;
    // The published config names the app itself, as Experience Builder writes `appItemId`.
    let mut published = exb_config.clone();
    published["attributes"] = json!({"appItemId": experience});
    editor
        .update_item(
            "editor",
            None,
            &experience,
            &[],
            Content::Text(&published.to_string()),
        )
        .await
        .unwrap();

    let story = json!({
        "root": "n-root",
        "nodes": {
            "n-root": {"type": "story", "children": ["n-map", "n-embed"]},
            "n-map": {"type": "webmap", "data": {"map": "r-map"}},
            "n-embed": {"type": "embed", "data": {"url": format!("{portal}/apps/dashboards/{dashboard}"), "embedType": "link"}}
        },
        "resources": {"r-map": {"type": "webmap", "data": {"itemId": map, "itemType": "Web Map"}}}
    });
    let storymap = add(
        &editor,
        "StoryMap",
        "Hydrant story",
        "StoryMap,smdraftresourceid:draft_1.json,smstatuspublished",
        &story,
    )
    .await;
    resource(&editor, &storymap, "draft_1.json", &story).await;
    // Their own URLs, where ArcGIS Online serves them.
    for (id, url) in [
        (
            &experience,
            format!("https://experience.arcgis.com/experience/{experience}"),
        ),
        (
            &storymap,
            format!("https://storymaps.arcgis.com/stories/{storymap}"),
        ),
    ] {
        editor
            .update_item("editor", None, id, &[("url", &url)], Content::None)
            .await
            .unwrap();
    }
    // The published experience also links the story where ArcGIS Online serves every
    // organization's stories (`storymaps.arcgis.com/stories/<id>`).
    published["widgets"]["widget_4"] = json!({"uri": "widgets/common/embed/", "config": {
        "embedBy": "url", "expression": format!("https://storymaps.arcgis.com/stories/{storymap}")}});
    editor
        .update_item(
            "editor",
            None,
            &experience,
            &[],
            Content::Text(&published.to_string()),
        )
        .await
        .unwrap();

    let notebook = add(&editor, "Notebook", "Hydrant notebook", "Notebook,Python", &json!({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
            "source": [
                "from arcgis.gis import GIS\n",
                "gis = GIS('home')\n",
                format!("layer_item = gis.content.get('{svc}')\n"),
                format!("from arcgis.features import FeatureLayer\nfl = FeatureLayer('{service}/0')\n")
            ]}],
        "metadata": {"esriNotebookRuntime": {"notebookRuntimeName": "ArcGIS Notebook Python 3 Standard", "notebookRuntimeVersion": "10.0"}},
        "nbformat": 4, "nbformat_minor": 2
    })).await;

    let quickcapture = add(
        &editor,
        "QuickCapture Project",
        "Hydrant capture",
        "QuickCapture",
        &json!({}),
    )
    .await;
    resource(&editor, &quickcapture, "qc.project.json", &json!({
        "version": "1.12",
        "basemap": {"type": "Web Map", "itemId": map},
        "dataSources": [{"featureServiceItemId": svc, "url": format!("{service}/0"), "dataSourceId": "0"}],
        "itemId": quickcapture
    })).await;

    let site = add(&editor, "Hub Site Application", "Hydrant site", "hubSite", &json!({
        "values": {
            "layout": {"sections": [{"rows": [{"cards": [
                {"component": {"name": "webmap-card", "settings": {"webmap": map}}},
                {"component": {"name": "summary-statistic-card", "settings": {"url": format!("{service}/0"), "itemId": svc}}}
            ]}]}]},
            "catalog": {"groups": [s.group]}
        }
    })).await;
    // A page of the site: each names the other (`values.sites`, `values.pages`), a cycle the
    // restore closes once both exist.
    let page = add(
        &editor,
        "Hub Page",
        "Hydrant page",
        "hubPage",
        &json!({
            "values": {
                "layout": {"sections": [{"rows": [{"cards": [
                    {"component": {"name": "webmap-card", "settings": {"webmap": map}}}
                ]}]}]},
                "sites": [{"id": site, "title": "Hydrant site"}]
            }
        }),
    )
    .await;
    let mut site_data: Value = serde_json::from_str(&data_of(&editor, &site).await).unwrap();
    site_data["values"]["pages"] =
        json!([{"id": page, "title": "Hydrant page", "slug": "hydrant-page"}]);
    editor
        .update_item(
            "editor",
            None,
            &site,
            &[],
            Content::Text(&site_data.to_string()),
        )
        .await
        .unwrap();

    // Workforce v2: the project is the hosted service itself, its maps and group in the item's
    // properties (fixtures/corpus/workforce/workforce_v2_project_item.json).
    let workforce = json!({"workforceProjectGroupId": s.group, "workforceProjectVersion": "2.0.0",
        "workforceDispatcherMapId": map, "workforceWorkerMapId": map});
    editor
        .update_item(
            "editor",
            None,
            &svc,
            &[("properties", &workforce.to_string())],
            Content::None,
        )
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let target = empty_target(&s, "county", dir.path());
    let report = &restored_into(&archive, &snapshot, &target, dir.path()).await;
    let new = |id: &str| entry(report, id).target_id.clone().unwrap();
    let (new_map, new_svc, new_dashboard) = (new(&map), new(&svc), new(&dashboard));
    let c = &target.client;
    let new_service = c.item(&new_svc).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();

    // Nothing restored names the source (item JSON, data, JSON resources), and nothing is
    // incomplete.
    let checked = orgpack_restore::check_target(c, &snapshot, report).await;
    assert!(
        checked.problems.is_empty(),
        "{:#?} map {map} svc {svc} group {} props {}",
        checked.problems,
        s.group,
        c.item(&new_svc).await.unwrap()["properties"]
    );
    assert_eq!(report.counts().incomplete, 0);

    let dash = data_of(c, &new_dashboard).await;
    assert!(
        dash.contains(&new_map) && dash.contains(&format!("'{new_svc}'")),
        "{dash}"
    );
    // The Arcade data expression's own id is not an item: kept.
    assert!(
        dash.contains("3f281598-2571-42c8-9fe7-fa7d18819bc3"),
        "{dash}"
    );

    let embedded = format!("/apps/dashboards/{new_dashboard}");
    let exb = new(&experience);
    let own = data_of(c, &exb).await;
    assert!(own.contains(&format!("\"appItemId\":\"{exb}\"")), "{own}");
    assert!(
        own.contains(&format!(
            "https://storymaps.arcgis.com/stories/{}",
            new(&storymap)
        )),
        "{own}"
    );
    assert_eq!(
        c.item(&exb).await.unwrap()["url"],
        format!("https://experience.arcgis.com/experience/{exb}")
    );
    assert_eq!(
        c.item(&new(&storymap)).await.unwrap()["url"],
        format!("https://storymaps.arcgis.com/stories/{}", new(&storymap))
    );
    for doc in [
        data_of(c, &exb).await,
        resource_of(c, &exb, "config/config.json").await,
    ] {
        assert!(doc.contains(&new_map) && doc.contains(&embedded), "{doc}");
    }
    let sm = new(&storymap);
    for doc in [
        data_of(c, &sm).await,
        resource_of(c, &sm, "draft_1.json").await,
    ] {
        assert!(doc.contains(&new_map) && doc.contains(&embedded), "{doc}");
    }
    let nb = data_of(c, &new(&notebook)).await;
    assert!(
        nb.contains(&new_svc) && nb.contains(&format!("{new_service}/0")),
        "{nb}"
    );
    assert!(
        nb.contains("ArcGIS Notebook Python 3 Standard"),
        "the runtime kept: {nb}"
    );
    let runtime = entry(report, &notebook).reason.clone().unwrap_or_default();
    assert!(
        runtime.contains("`ArcGIS Notebook Python 3 Standard 10.0`"),
        "the runtime noted: {runtime}"
    );
    let qc = new(&quickcapture);
    let project = resource_of(c, &qc, "qc.project.json").await;
    assert!(
        project.contains(&new_map) && project.contains(&new_svc) && project.contains(&qc),
        "{project}"
    );
    let props = c.item(&new_svc).await.unwrap()["properties"].clone();
    let new_group = report.groups.get(&s.group).unwrap();
    assert_eq!(
        (
            &props["workforceDispatcherMapId"],
            &props["workforceWorkerMapId"],
            &props["workforceProjectGroupId"]
        ),
        (&json!(new_map), &json!(new_map), &json!(new_group)),
        "{props}"
    );
    let hub = data_of(c, &new(&site)).await;
    assert!(
        hub.contains(&new_map) && hub.contains(&new_svc) && hub.contains(new_group.as_str()),
        "{hub} {new_map} {new_svc} {new_group} (source group {})",
        s.group
    );
    let (new_site, new_page) = (new(&site), new(&page));
    let site_doc: Value = serde_json::from_str(&hub).unwrap();
    assert_eq!(
        site_doc["values"]["pages"][0]["id"],
        new_page.as_str(),
        "{hub}"
    );
    let page_doc: Value = serde_json::from_str(&data_of(c, &new_page).await).unwrap();
    assert_eq!(page_doc["values"]["sites"][0]["id"], new_site.as_str());
}

/// Content links the organization by another base URL than the one the backup signed in to (its
/// own `https://<urlKey>.maps.arcgis.com` when backed up through `www.arcgis.com`, a custom
/// domain): the snapshot records it (`source.portalAliases`) and a restore points those links at
/// the target too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_on_the_organizations_other_url_point_at_the_target() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let alias = "https://democity.maps.arcgis.com";
    let app = add(&editor, "Web Mapping Application", "Hydrant viewer", "", &json!({
        "values": {"webmap": s.city_map,
            "about": format!("<a href=\"{alias}/home/item.html?id={}\">the map</a>", s.city_map)}
    })).await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, mut snapshot) = backed_up(&s, dir.path()).await;
    // The backup recorded the organization's own URL from `portals/self` (`urlKey`,
    // `customBaseUrl`) beside the one it signed in to.
    let me = editor.portal_self().await.unwrap();
    let own = format!(
        "https://{}.{}",
        me["urlKey"].as_str().unwrap(),
        me["customBaseUrl"].as_str().unwrap()
    );
    assert_eq!(snapshot.source.portal_aliases, [own]);
    // As if backed up through another URL than the one the content uses.
    snapshot.source.portal_aliases = vec![alias.to_owned()];
    let target = empty_target(&s, "county", dir.path());
    let report = &restored_into(&archive, &snapshot, &target, dir.path()).await;
    let c = &target.client;
    let data = data_of(c, &entry(report, &app).target_id.clone().unwrap()).await;
    let new_map = entry(report, &s.city_map).target_id.clone().unwrap();
    let target_portal = s.sandbox.portal_url("county");
    assert!(
        data.contains(&format!("{target_portal}/home/item.html?id={new_map}")),
        "{data}"
    );
    assert!(!data.contains(alias), "{data}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_to_online_app_hosts_take_the_enterprise_portals_paths() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let story = add(
        &editor,
        "StoryMap",
        "Hydrant story",
        "StoryMap",
        &json!({"nodes": {}}),
    )
    .await;
    // Another organization's story on the same host: not the backup's, kept as it is.
    let elsewhere = "0123456789abcdef0123456789abcdef";
    let experience = add(
        &editor,
        "Web Experience",
        "Hydrant experience",
        "",
        &json!({
            "widgets": {"widget_1": {"uri": "widgets/common/embed/", "config": {"embedBy": "url",
                "expression": format!("https://storymaps.arcgis.com/stories/{story}")}},
                "widget_2": {"uri": "widgets/common/embed/", "config": {"embedBy": "url",
                "expression": format!("https://storymaps.arcgis.com/stories/{elsewhere}")}}},
        }),
    )
    .await;
    for (id, url) in [
        (
            &experience,
            format!("https://experience.arcgis.com/experience/{experience}"),
        ),
        (
            &story,
            format!("https://storymaps.arcgis.com/stories/{story}"),
        ),
    ] {
        editor
            .update_item("editor", None, id, &[("url", &url)], Content::None)
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    s.sandbox
        .add_enterprise_org("portal", "Enterprise")
        .unwrap();
    s.sandbox
        .add_user("portal", "admin", super::PW, "org_admin")
        .unwrap();
    let target = super::target(&s, "portal", dir.path());
    let mut options = super::options(dir.path());
    options.items = vec![experience.clone(), story.clone()];
    let report = orgpack_restore::restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &options,
        false,
    )
    .await
    .unwrap()
    .remove(0);
    assert!(report.is_complete(), "{report:#?}");
    let c = &target.client;
    let portal = s.sandbox.portal_url("portal");
    let exb = entry(&report, &experience).target_id.clone().unwrap();
    let new_story = entry(&report, &story).target_id.clone().unwrap();
    // Enterprise serves both under the portal: the app, its link to the story and their own
    // URLs moved there, with the new ids; the other organization's story left where it is.
    let data = data_of(c, &exb).await;
    assert!(
        data.contains(&format!("{portal}/apps/storymaps/stories/{new_story}")),
        "{data}"
    );
    assert!(
        data.contains(&format!("https://storymaps.arcgis.com/stories/{elsewhere}")),
        "{data}"
    );
    assert!(!data.contains(&story), "{data}");
    assert_eq!(
        c.item(&exb).await.unwrap()["url"],
        format!("{portal}/apps/experiencebuilder/experience/?id={exb}")
    );
    assert_eq!(
        c.item(&new_story).await.unwrap()["url"],
        format!("{portal}/apps/storymaps/stories/{new_story}")
    );
}
