//! Hosted feature services as live data: edits and what they move, queries over the features as
//! they are now, definitions stored whole, exports written from the data, views as windows on
//! their source. Over real HTTP with the orgpack-portal client.

use std::time::Duration;

use orgpack_portal::{Client, Method};
use orgpack_sandbox::SandboxOptions;
use serde_json::{Value, json};

use super::conformance::{add_city_gdb, client, exported, sandbox_with};

async fn get(c: &Client, url: &str, params: &[(&str, &str)]) -> Value {
    c.call("get", Method::Get, url, params).await.unwrap()
}

async fn post(
    c: &Client,
    url: &str,
    params: &[(&str, &str)],
) -> Result<Value, orgpack_portal::Error> {
    c.call("post", Method::Post, url, params).await
}

async fn count(c: &Client, layer: &str, clause: &str) -> u64 {
    get(
        c,
        &format!("{layer}/query"),
        &[("where", clause), ("returnCountOnly", "true")],
    )
    .await["count"]
        .as_u64()
        .unwrap()
}

/// City published from its File Geodatabase by the editor: (service item id, service URL).
async fn city(editor: &Client) -> (String, String) {
    let file = add_city_gdb(editor).await;
    let published = editor
        .publish("editor", &file, "fileGeodatabase", r#"{"name":"City"}"#)
        .await
        .unwrap();
    (
        published.service_item_id.clone(),
        published.service_url.clone().unwrap(),
    )
}

fn admin(url: &str) -> String {
    url.replace("/rest/services/", "/rest/admin/services/")
}

/// An editable service `name` the editor makes with `createService`, given `definition`'s layers
/// and tables with `addToDefinition`: (item id, service URL).
async fn editable(editor: &Client, name: &str, definition: &Value) -> (String, String) {
    let made = editor
        .create_service(
            "editor",
            None,
            &json!({"name": name, "capabilities": "Create,Delete,Query,Update,Editing"})
                .to_string(),
            false,
            &[("title", name)],
        )
        .await
        .unwrap();
    let url = made.service_url.clone().unwrap();
    post(
        editor,
        &format!("{}/addToDefinition", admin(&url)),
        &[("addToDefinition", &definition.to_string())],
    )
    .await
    .unwrap();
    (made.service_item_id.clone(), url)
}

const EDITABLE: &str = r#"{"capabilities":"Create,Delete,Query,Update,Editing"}"#;

#[tokio::test]
async fn edits_move_the_layers_edit_dates_and_server_gen_but_not_the_items_modified() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let (item, url) = city(&editor).await;
    let hydrants = format!("{url}/0");
    let layer = get(&editor, &hydrants, &[]).await;
    assert_eq!(
        layer["capabilities"], "Query",
        "published read-only, as ArcGIS Online does"
    );
    assert_eq!(layer["objectIdField"], "OBJECTID");
    let published = layer["editingInfo"]["lastEditDate"].as_i64().unwrap();

    // A read-only layer refuses edits and changes nothing.
    let adds = r#"[{"geometry":{"x":-117.19,"y":34.06,"spatialReference":{"wkid":4326}},"attributes":{"hydrant_id":"H-9000","status":"ok","flow_gpm":750}}]"#;
    let refused = post(
        &editor,
        &format!("{hydrants}/applyEdits"),
        &[("adds", adds)],
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("not supported"), "{refused}");
    assert_eq!(count(&editor, &hydrants, "1=1").await, 250);

    post(
        &editor,
        &format!("{}/updateDefinition", admin(&url)),
        &[("updateDefinition", EDITABLE)],
    )
    .await
    .unwrap();
    let modified_before = editor.item(&item).await.unwrap()["modified"].clone();
    let generation = get(&editor, &url, &[]).await["serverGens"]["serverGen"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;

    let added = post(
        &editor,
        &format!("{hydrants}/addFeatures"),
        &[("features", adds)],
    )
    .await
    .unwrap();
    assert_eq!(added["addResults"][0]["success"], true, "{added}");
    assert_eq!(
        added["addResults"][0]["objectId"], 251,
        "the next object id"
    );
    let updated = post(
        &editor,
        &format!("{hydrants}/updateFeatures"),
        &[(
            "features",
            r#"[{"attributes":{"OBJECTID":1,"status":"repair","flow_gpm":10}}]"#,
        )],
    )
    .await
    .unwrap();
    assert_eq!(
        updated["updateResults"],
        json!([{"objectId": 1, "globalId": null, "success": true}])
    );
    let deleted = post(
        &editor,
        &format!("{hydrants}/deleteFeatures"),
        &[("where", "status = 'retired'")],
    )
    .await
    .unwrap();
    assert_eq!(deleted["deleteResults"].as_array().unwrap().len(), 83);
    assert_eq!(count(&editor, &hydrants, "1=1").await, 250 + 1 - 83);
    let one = get(
        &editor,
        &format!("{hydrants}/query"),
        &[("objectIds", "1"), ("outFields", "status,flow_gpm")],
    )
    .await;
    assert_eq!(
        one["features"][0]["attributes"],
        json!({"OBJECTID": 1, "status": "repair", "flow_gpm": 10})
    );
    assert_eq!(
        one["features"][0]["geometry"]["x"], -117.2,
        "an attribute update keeps the geometry"
    );

    let after = get(&editor, &hydrants, &[]).await;
    let info = &after["editingInfo"];
    assert!(
        info["dataLastEditDate"].as_i64().unwrap() > published,
        "{info}"
    );
    assert_eq!(info["lastEditDate"], info["dataLastEditDate"]);
    assert!(
        get(&editor, &url, &[]).await["serverGens"]["serverGen"]
            .as_i64()
            .unwrap()
            > generation
    );
    assert_eq!(
        editor.item(&item).await.unwrap()["modified"],
        modified_before,
        "edits leave the item's modified alone"
    );

    // Service-level applyEdits: several layers, one transaction.
    let edits = r#"[{"id":0,"deletes":[2]},{"id":1,"updates":[{"attributes":{"OBJECTID":1,"zone":"C1"}}]}]"#;
    let results = post(&editor, &format!("{url}/applyEdits"), &[("edits", edits)])
        .await
        .unwrap();
    assert_eq!(results[0]["deleteResults"][0]["success"], true, "{results}");
    assert_eq!(results[1]["updateResults"][0]["success"], true, "{results}");
    assert_eq!(count(&editor, &format!("{url}/1"), "zone = 'C1'").await, 5);
}

#[tokio::test]
async fn bad_edits_get_the_servers_answers_and_roll_back() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let (_, url) = city(&editor).await;
    let hydrants = format!("{url}/0");
    post(
        &editor,
        &format!("{}/updateDefinition", admin(&url)),
        &[("updateDefinition", EDITABLE)],
    )
    .await
    .unwrap();
    let apply = |adds: &'static str, rollback: &'static str| {
        let editor = &editor;
        let at = format!("{hydrants}/applyEdits");
        async move {
            post(
                editor,
                &at,
                &[("adds", adds), ("rollbackOnFailure", rollback)],
            )
            .await
            .unwrap()
        }
    };
    // One good feature, one with a ring for a point, one with an unknown field: with
    // rollbackOnFailure (the default) nothing is kept and the good one says it was rolled back.
    let mixed = r#"[{"geometry":{"x":-117.1,"y":34.1},"attributes":{"hydrant_id":"H-1"}},
        {"geometry":{"rings":[[[0,0],[1,0],[1,1],[0,0]]]},"attributes":{"hydrant_id":"H-2"}},
        {"geometry":{"x":-117.1,"y":34.1},"attributes":{"no_such_field":"x"}}]"#;
    let r = apply(mixed, "true").await;
    let codes: Vec<Value> = r["addResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["error"]["code"].clone())
        .collect();
    assert_eq!(codes, [json!(1003), json!(1015), json!(1000)], "{r}");
    assert_eq!(count(&editor, &hydrants, "1=1").await, 250, "rolled back");
    // Without rollback the good one stays.
    let r = apply(mixed, "false").await;
    assert_eq!(r["addResults"][0]["success"], true, "{r}");
    assert_eq!(count(&editor, &hydrants, "1=1").await, 251);
    // Values of the wrong type, and missing objects.
    let r = apply(r#"[{"attributes":{"flow_gpm":"lots"}}]"#, "true").await;
    assert_eq!(r["addResults"][0]["error"]["code"], 1016, "{r}");
    let r = post(
        &editor,
        &format!("{hydrants}/applyEdits"),
        &[
            ("deletes", "99999"),
            (
                "updates",
                r#"[{"attributes":{"OBJECTID":99998,"status":"ok"}}]"#,
            ),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r["deleteResults"][0]["error"]["code"], 1011, "{r}");
    assert_eq!(r["updateResults"][0]["error"]["code"], 1011, "{r}");
    // A where clause that does not parse, or names no field of the layer, deletes nothing.
    let bad = post(
        &editor,
        &format!("{hydrants}/deleteFeatures"),
        &[("where", "status = ")],
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().contains("Invalid where clause"), "{bad}");
    let bad = post(
        &editor,
        &format!("{hydrants}/deleteFeatures"),
        &[("where", "colour = 'red'")],
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().contains("'colour' is not a field"), "{bad}");
    assert_eq!(count(&editor, &hydrants, "1=1").await, 251);
    // Operations the layer does not have are not guessed at.
    let bad = post(&editor, &format!("{hydrants}/calculate"), &[])
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("Invalid URL"), "{bad}");
}

#[tokio::test]
async fn queries_order_filter_in_space_and_count_statistics_and_refuse_what_they_do_not_serve() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let (_, url) = city(&editor).await;
    let hydrants = format!("{url}/0");
    let parcels = format!("{url}/1");
    let query = |layer: &str, params: Vec<(&'static str, &'static str)>| {
        let editor = &editor;
        let at = format!("{layer}/query");
        async move { editor.call("query", Method::Get, &at, &params).await }
    };
    // orderByFields, with paging over the ordered rows.
    let top = query(
        &hydrants,
        vec![
            ("outFields", "hydrant_id,flow_gpm"),
            ("orderByFields", "flow_gpm DESC, hydrant_id"),
            ("resultRecordCount", "3"),
            ("returnGeometry", "false"),
        ],
    )
    .await
    .unwrap();
    let flows: Vec<i64> = top["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attributes"]["flow_gpm"].as_i64().unwrap())
        .collect();
    assert_eq!(flows.len(), 3);
    assert!(flows.windows(2).all(|w| w[0] >= w[1]), "{flows:?}");
    assert_eq!(top["exceededTransferLimit"], true);
    // The first row of hydrants is at (-117.2, 34.05), 25 to a row 0.004 apart.
    let in_box = query(
        &hydrants,
        vec![
            ("geometry", "-117.2001,34.0499,-117.1879,34.0541"),
            ("geometryType", "esriGeometryEnvelope"),
            ("spatialRel", "esriSpatialRelIntersects"),
            ("returnCountOnly", "true"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(in_box["count"], 8, "four columns of two rows");
    let at_point = query(
        &parcels,
        vec![
            ("geometry", r#"{"x":-117.195,"y":34.055}"#),
            ("geometryType", "esriGeometryPoint"),
            ("outFields", "parcel_id"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        at_point["features"].as_array().unwrap().len(),
        1,
        "{at_point}"
    );
    assert_eq!(at_point["features"][0]["attributes"]["parcel_id"], "P-000");
    let between = query(
        &parcels,
        vec![
            ("geometry", r#"{"x":-117.1905,"y":34.055}"#),
            ("geometryType", "esriGeometryPoint"),
            ("returnCountOnly", "true"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        between["count"], 0,
        "a point in the gap between parcels meets none"
    );
    // Statistics, grouped and ordered.
    let stats = query(&hydrants, vec![("outStatistics", r#"[{"statisticType":"count","onStatisticField":"OBJECTID","outStatisticFieldName":"n"},{"statisticType":"max","onStatisticField":"flow_gpm","outStatisticFieldName":"top"}]"#), ("groupByFieldsForStatistics", "status"), ("orderByFields", "status")]).await.unwrap();
    let rows: Vec<(String, u64)> = stats["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["attributes"]["status"].as_str().unwrap().to_owned(),
                f["attributes"]["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("ok".into(), 84),
            ("repair".into(), 83),
            ("retired".into(), 83)
        ]
    );
    // Extent, GeoJSON, distinct values.
    let extent = query(
        &hydrants,
        vec![("returnExtentOnly", "true"), ("returnCountOnly", "true")],
    )
    .await
    .unwrap();
    assert_eq!(extent["count"], 250);
    assert_eq!(extent["extent"]["xmin"], -117.2);
    let geojson = query(
        &hydrants,
        vec![
            ("f", "geojson"),
            ("resultRecordCount", "2"),
            ("outFields", "hydrant_id"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(geojson["type"], "FeatureCollection");
    assert_eq!(geojson["features"][0]["geometry"]["type"], "Point");
    assert_eq!(geojson["features"][0]["properties"]["hydrant_id"], "H-0000");
    let distinct = query(
        &hydrants,
        vec![
            ("outFields", "status"),
            ("returnDistinctValues", "true"),
            ("orderByFields", "status"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        distinct["features"].as_array().unwrap().len(),
        3,
        "{distinct}"
    );
    // What the sandbox does not implement is refused, never ignored.
    for (key, value) in [
        ("havingClause", "COUNT(*) > 1"),
        ("outSR", "2230"),
        ("distance", "100"),
        ("spatialRel", "esriSpatialRelWithin"),
    ] {
        let mut params = vec![("where", "1=1"), (key, value)];
        if key == "spatialRel" {
            params.push(("geometry", "0,0,1,1"));
        }
        let refused = query(&hydrants, params).await.unwrap_err();
        assert!(refused.to_string().contains(key), "{key}: {refused}");
    }
    let refused = query(&hydrants, vec![("outFields", "colour")])
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("colour"), "{refused}");
}

#[tokio::test]
async fn an_export_after_edits_holds_the_edits() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let (item, url) = city(&editor).await;
    post(
        &editor,
        &format!("{}/updateDefinition", admin(&url)),
        &[("updateDefinition", EDITABLE)],
    )
    .await
    .unwrap();
    post(
        &editor,
        &format!("{url}/0/deleteFeatures"),
        &[("where", "status <> 'ok'")],
    )
    .await
    .unwrap();
    post(&editor, &format!("{url}/0/addFeatures"), &[("features", r#"[{"geometry":{"x":-117.15,"y":34.1},"attributes":{"hydrant_id":"H-NEW","status":"ok","flow_gpm":1}}]"#)]).await.unwrap();
    let (_, _, csv) = exported(
        &editor,
        &item,
        "CSV",
        "after edits",
        r#"{"layers":[{"id":0}]}"#,
    )
    .await
    .unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert_eq!(
        text.lines().count(),
        1 + 84 + 1,
        "header, the ok hydrants, the new one"
    );
    assert!(text.contains("H-NEW"));
    assert!(!text.contains(",retired,"));
    let (_, _, geojson) = exported(
        &editor,
        &item,
        "GeoJson",
        "after edits",
        r#"{"layers":[{"id":0}]}"#,
    )
    .await
    .unwrap();
    let read = orgpack_payload::inspect(std::io::Cursor::new(geojson), "x.geojson").unwrap();
    assert_eq!(read.layers[0].feature_count, 85);
    // The File Geodatabase is written from the features as they are: both layers, the edits in.
    let (_, _, fgdb) = exported(&editor, &item, "File Geodatabase", "after edits", "")
        .await
        .unwrap();
    let read = orgpack_payload::inspect(std::io::Cursor::new(&fgdb), "City.gdb.zip").unwrap();
    let counts: Vec<(&str, u64)> = read
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.feature_count))
        .collect();
    assert_eq!(counts, [("Hydrants", 85), ("Parcels", 12)]);
    let rows = orgpack_payload::features(
        std::io::Cursor::new(&fgdb),
        "City.gdb.zip",
        "Hydrants",
        84,
        1,
    )
    .unwrap();
    assert_eq!(rows.features[0]["attributes"]["hydrant_id"], "H-NEW");
    assert_eq!(
        rows.features[0]["attributes"]["OBJECTID"], 251,
        "object ids as the layer has them"
    );
}

#[tokio::test]
async fn a_service_made_with_create_service_keeps_its_definition_whole() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let available = |name: &'static str| {
        let editor = &editor;
        async move {
            get(
                editor,
                "portals/self/isServiceNameAvailable",
                &[("name", name), ("type", "Feature Service")],
            )
            .await["available"]
                .clone()
        }
    };
    assert_eq!(available("Inspections").await, true);
    let made = editor
        .create_service("editor", None, r#"{"name":"Inspections","capabilities":"Create,Delete,Query,Update,Editing","maxRecordCount":1000,"serviceDescription":"Field inspections","spatialReference":{"wkid":4326}}"#, false, &[("title", "Inspections")])
        .await
        .unwrap();
    let url = made.service_url.clone().unwrap();
    assert_eq!(
        available("inspections").await,
        false,
        "names are taken whatever their case"
    );
    let layer = json!({"layers": [{
        "id": 7, "name": "Visits", "type": "Feature Layer", "geometryType": "esriGeometryPoint",
        "displayField": "inspector", "description": "One point per visit",
        "fields": [
            {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "Object ID"},
            {"name": "inspector", "type": "esriFieldTypeString", "alias": "Inspector", "length": 50},
            {"name": "result", "type": "esriFieldTypeString", "alias": "Result", "length": 10,
             "domain": {"type": "codedValue", "name": "Results", "codedValues": [{"name": "Pass", "code": "P"}, {"name": "Fail", "code": "F"}]}},
        ],
        "drawingInfo": {"renderer": {"type": "uniqueValue", "field1": "result", "uniqueValueInfos": []}},
        "templates": [{"name": "Visit", "prototype": {"attributes": {"result": "P"}}}],
        "indexes": [{"name": "inspector_idx", "fields": "inspector", "isUnique": false}],
    }]});
    post(
        &editor,
        &format!("{}/addToDefinition", admin(&url)),
        &[("addToDefinition", &layer.to_string())],
    )
    .await
    .unwrap();
    let root = get(&editor, &url, &[]).await;
    assert_eq!(root["maxRecordCount"], 1000);
    assert_eq!(root["serviceDescription"], "Field inspections");
    assert_eq!(
        root["layers"][0]["id"], 7,
        "the layer keeps the id it was given"
    );
    let visits = get(&editor, &format!("{url}/7"), &[]).await;
    assert_eq!(visits["displayField"], "inspector");
    assert_eq!(visits["fields"][2]["domain"]["codedValues"][1]["code"], "F");
    assert_eq!(visits["fields"][1]["alias"], "Inspector");
    assert_eq!(visits["templates"][0]["name"], "Visit");
    assert_eq!(visits["drawingInfo"]["renderer"]["field1"], "result");
    assert_eq!(visits["capabilities"], "Create,Delete,Query,Update,Editing");
    let again = post(
        &editor,
        &format!("{}/addToDefinition", admin(&url)),
        &[("addToDefinition", &layer.to_string())],
    )
    .await
    .unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");

    // A property the service does not take is refused, as hosted servers answer it.
    let before = get(&editor, &url, &[]).await;
    let refused = post(
        &editor,
        &format!("{}/updateDefinition", admin(&url)),
        &[(
            "updateDefinition",
            r#"{"maxRecordCount":50,"colour":"red"}"#,
        )],
    )
    .await
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("Field 'colour' cannot be updated."),
        "{refused}"
    );
    assert_eq!(get(&editor, &url, &[]).await, before, "nothing changed");

    // Editor tracking fills who and when.
    post(
        &editor,
        &format!("{}/updateDefinition", admin(&url)),
        &[(
            "updateDefinition",
            r#"{"editorTrackingInfo":{"enableEditorTracking":true}}"#,
        )],
    )
    .await
    .unwrap();
    let visits = get(&editor, &format!("{url}/7"), &[]).await;
    assert_eq!(visits["editFieldsInfo"]["creatorField"], "Creator");
    let added = post(
        &editor,
        &format!("{url}/7/applyEdits"),
        &[(
            "adds",
            r#"[{"geometry":{"x":1,"y":2},"attributes":{"inspector":"Ana","result":"P"}}]"#,
        )],
    )
    .await
    .unwrap();
    assert_eq!(added["addResults"][0]["objectId"], 1, "{added}");
    let row = get(&editor, &format!("{url}/7/query"), &[("outFields", "*")]).await;
    assert_eq!(row["features"][0]["attributes"]["Creator"], "editor");
    assert!(
        row["features"][0]["attributes"]["CreationDate"]
            .as_i64()
            .unwrap()
            > 0
    );
    let too_long = post(
        &editor,
        &format!("{url}/7/addFeatures"),
        &[(
            "features",
            r#"[{"attributes":{"result":"Passed with notes"}}]"#,
        )],
    )
    .await
    .unwrap();
    assert_eq!(
        too_long["addResults"][0]["error"]["code"], 1016,
        "{too_long}"
    );

    // A field added moves the schema date; a layer deleted takes its features.
    let before = get(&editor, &format!("{url}/7"), &[]).await["editingInfo"]["schemaLastEditDate"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    post(
        &editor,
        &format!("{}/7/addToDefinition", admin(&url)),
        &[(
            "addToDefinition",
            r#"{"fields":[{"name":"notes","type":"esriFieldTypeString","length":200}]}"#,
        )],
    )
    .await
    .unwrap();
    let visits = get(&editor, &format!("{url}/7"), &[]).await;
    assert!(
        visits["editingInfo"]["schemaLastEditDate"]
            .as_i64()
            .unwrap()
            > before
    );
    assert!(
        visits["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "notes")
    );
    post(
        &editor,
        &format!("{}/deleteFromDefinition", admin(&url)),
        &[("deleteFromDefinition", r#"{"layers":[{"id":7}]}"#)],
    )
    .await
    .unwrap();
    assert_eq!(get(&editor, &url, &[]).await["layers"], json!([]));
}

#[tokio::test]
async fn an_updatable_views_edits_reach_its_source_and_its_count_follows_its_query() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let (_, url) = city(&editor).await;
    let view = editor
        .create_service(
            "editor",
            None,
            r#"{"name":"OkHydrants"}"#,
            true,
            &[("title", "Ok hydrants")],
        )
        .await
        .unwrap();
    let view_url = view.service_url.clone().unwrap();
    post(
        &editor,
        &format!("{}/addToDefinition", admin(&view_url)),
        &[("addToDefinition", r#"{"layers":[{"id":0,"name":"Hydrants","viewDefinitionQuery":"status = 'ok'","adminLayerInfo":{"viewLayerDefinition":{"sourceServiceName":"City","sourceLayerId":0,"sourceLayerFields":[{"name":"hydrant_id"},{"name":"status"}]}}}]}"#)],
    )
    .await
    .unwrap();
    let root = get(&editor, &view_url, &[]).await;
    assert_eq!(root["isView"], true);
    assert_eq!(root["isUpdatableView"], true);
    let layer = get(&editor, &format!("{view_url}/0"), &[]).await;
    let names: Vec<&str> = layer["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["OBJECTID", "hydrant_id", "status"],
        "the view's fields only"
    );
    assert_eq!(count(&editor, &format!("{view_url}/0"), "1=1").await, 84);
    let row = get(
        &editor,
        &format!("{view_url}/0/query"),
        &[("resultRecordCount", "1"), ("outFields", "*")],
    )
    .await;
    assert!(
        row["features"][0]["attributes"].get("flow_gpm").is_none(),
        "{row}"
    );
    // Editing through the view needs the view's own capabilities, and reaches the source.
    let adds = r#"[{"geometry":{"x":-117.1,"y":34.1},"attributes":{"hydrant_id":"H-VIEW","status":"ok"}}]"#;
    let refused = post(
        &editor,
        &format!("{view_url}/0/addFeatures"),
        &[("features", adds)],
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("not supported"), "{refused}");
    post(
        &editor,
        &format!("{}/updateDefinition", admin(&view_url)),
        &[("updateDefinition", EDITABLE)],
    )
    .await
    .unwrap();
    let added = post(
        &editor,
        &format!("{view_url}/0/addFeatures"),
        &[("features", adds)],
    )
    .await
    .unwrap();
    assert_eq!(added["addResults"][0]["success"], true, "{added}");
    assert_eq!(
        count(&editor, &format!("{url}/0"), "hydrant_id = 'H-VIEW'").await,
        1
    );
    assert_eq!(count(&editor, &format!("{view_url}/0"), "1=1").await, 85);
    let view_item = view.service_item_id.clone();
    let (_, _, fgdb) = exported(&editor, &view_item, "File Geodatabase", "ok hydrants", "")
        .await
        .unwrap();
    let read = orgpack_payload::inspect(std::io::Cursor::new(&fgdb), "x.gdb.zip").unwrap();
    assert_eq!(
        read.layers[0].feature_count, 85,
        "the view's export: its features, through its query"
    );
    let names: Vec<&str> = read.layers[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["OBJECTID", "SHAPE", "hydrant_id", "status"],
        "and its fields only"
    );
    let hidden = post(
        &editor,
        &format!("{view_url}/0/addFeatures"),
        &[("features", r#"[{"attributes":{"flow_gpm":5}}]"#)],
    )
    .await
    .unwrap();
    assert_eq!(
        hidden["addResults"][0]["error"]["code"], 1000,
        "a field the view hides is not edited through it: {hidden}"
    );
}

#[tokio::test]
async fn attachments_are_added_listed_downloaded_queried_exported_and_go_with_their_feature() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let layer = json!({"layers": [{"id": 0, "name": "Hydrants", "geometryType": "esriGeometryPoint",
        "hasAttachments": true, "globalIdField": "GlobalID",
        "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"},
                   {"name": "GlobalID", "type": "esriFieldTypeGlobalID"},
                   {"name": "hydrant_id", "type": "esriFieldTypeString", "length": 20}]}]});
    let (item, url) = editable(&editor, "Photos", &layer).await;
    let hydrants = format!("{url}/0");
    let added = post(&editor, &format!("{hydrants}/addFeatures"), &[("features", r#"[{"geometry":{"x":1,"y":2},"attributes":{"hydrant_id":"H-1"}},{"geometry":{"x":3,"y":4},"attributes":{"hydrant_id":"H-2"}}]"#)]).await.unwrap();
    let parent_global = added["addResults"][0]["globalId"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("front.jpg");
    std::fs::write(&photo, b"\xFF\xD8\xFFjpeg bytes").unwrap();
    let before = get(&editor, &hydrants, &[]).await["editingInfo"]["dataLastEditDate"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let attached = editor
        .upload_form(
            "addAttachment",
            &format!("{hydrants}/1/addAttachment"),
            &[("keywords", "front")],
            "attachment",
            &photo,
            "front.jpg",
        )
        .await
        .unwrap();
    assert_eq!(
        attached["addAttachmentResult"]["success"], true,
        "{attached}"
    );
    assert_eq!(attached["addAttachmentResult"]["objectId"], 1);
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"valve stiff").unwrap();
    editor
        .upload_form(
            "addAttachment",
            &format!("{hydrants}/1/addAttachment"),
            &[],
            "attachment",
            &notes,
            "notes.txt",
        )
        .await
        .unwrap();
    assert!(
        get(&editor, &hydrants, &[]).await["editingInfo"]["dataLastEditDate"]
            .as_i64()
            .unwrap()
            > before,
        "an attachment is a data edit"
    );
    // Listed, downloaded byte for byte, queried.
    let infos = get(&editor, &format!("{hydrants}/1/attachments"), &[]).await;
    let infos = infos["attachmentInfos"].as_array().unwrap().clone();
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[0]["name"], "front.jpg");
    assert_eq!(infos[0]["contentType"], "image/jpeg");
    assert_eq!(infos[0]["size"], 13);
    assert_eq!(infos[0]["parentGlobalId"], parent_global.as_str());
    let mut bytes = Vec::new();
    editor
        .download(
            "attachment",
            &format!("{hydrants}/1/attachments/1"),
            &mut bytes,
        )
        .await
        .unwrap();
    assert_eq!(bytes, b"\xFF\xD8\xFFjpeg bytes");
    let q = get(
        &editor,
        &format!("{hydrants}/queryAttachments"),
        &[
            ("definitionExpression", "hydrant_id = 'H-1'"),
            ("attachmentTypes", "image"),
            ("returnUrl", "true"),
        ],
    )
    .await;
    let groups = q["attachmentGroups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{q}");
    assert_eq!(groups[0]["parentObjectId"], 1);
    assert_eq!(
        groups[0]["attachmentInfos"].as_array().unwrap().len(),
        1,
        "images only"
    );
    assert!(
        groups[0]["attachmentInfos"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/0/1/attachments/1")
    );
    // Updated and deleted.
    std::fs::write(&notes, b"valve replaced").unwrap();
    let updated = editor
        .upload_form(
            "updateAttachment",
            &format!("{hydrants}/1/updateAttachment"),
            &[("attachmentId", "2")],
            "attachment",
            &notes,
            "notes.txt",
        )
        .await
        .unwrap();
    assert_eq!(
        updated["updateAttachmentResult"]["success"], true,
        "{updated}"
    );
    let missing = editor
        .upload_form(
            "addAttachment",
            &format!("{hydrants}/99/addAttachment"),
            &[],
            "attachment",
            &notes,
            "notes.txt",
        )
        .await
        .unwrap();
    assert_eq!(
        missing["addAttachmentResult"]["success"], false,
        "{missing}"
    );
    // The File Geodatabase export holds them in the attachment table, tied by GlobalID.
    let (_, _, fgdb) = exported(&editor, &item, "File Geodatabase", "with photos", "")
        .await
        .unwrap();
    let read = orgpack_payload::inspect(std::io::Cursor::new(&fgdb), "Photos.gdb.zip").unwrap();
    let counts: Vec<(&str, u64)> = read
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.feature_count))
        .collect();
    assert_eq!(counts, [("Hydrants", 2), ("Hydrants__ATTACH", 2)]);
    let rows = orgpack_payload::features(
        std::io::Cursor::new(&fgdb),
        "Photos.gdb.zip",
        "Hydrants__ATTACH",
        0,
        10,
    )
    .unwrap();
    assert_eq!(
        rows.features[1]["attributes"]["REL_GLOBALID"],
        parent_global.as_str()
    );
    assert_eq!(
        rows.features[1]["attributes"]["DATA_SIZE"], 14,
        "the updated file"
    );
    // Published elsewhere, the export gives the layer back with its attachments (not a table).
    let gdb_path = dir.path().join("Photos.gdb.zip");
    std::fs::write(&gdb_path, &fgdb).unwrap();
    let file = editor
        .add_item(
            "editor",
            None,
            &[("title", "Photos export"), ("type", "File Geodatabase")],
            orgpack_portal::Content::File {
                path: &gdb_path,
                name: "Photos.gdb.zip",
            },
            1 << 20,
        )
        .await
        .unwrap();
    let again = editor
        .publish(
            "editor",
            &file,
            "fileGeodatabase",
            r#"{"name":"PhotosAgain"}"#,
        )
        .await
        .unwrap();
    let again_url = again.service_url.clone().unwrap();
    let root = get(&editor, &again_url, &[]).await;
    assert_eq!(root["layers"].as_array().unwrap().len(), 1, "{root}");
    assert_eq!(
        root["tables"],
        json!([]),
        "the attachment table is not a table of the service"
    );
    assert_eq!(
        get(&editor, &format!("{again_url}/0"), &[]).await["hasAttachments"],
        true
    );
    let q = get(
        &editor,
        &format!("{again_url}/0/queryAttachments"),
        &[("objectIds", "1")],
    )
    .await;
    let infos = q["attachmentGroups"][0]["attachmentInfos"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = infos.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["front.jpg", "notes.txt"]);
    let mut bytes = Vec::new();
    editor
        .download(
            "attachment",
            &format!("{again_url}/0/1/attachments/{}", infos[0]["id"]),
            &mut bytes,
        )
        .await
        .unwrap();
    assert_eq!(bytes, b"\xFF\xD8\xFFjpeg bytes", "byte for byte");
    let deleted = post(
        &editor,
        &format!("{hydrants}/1/deleteAttachments"),
        &[("attachmentIds", "1,7")],
    )
    .await
    .unwrap();
    let results = deleted["deleteAttachmentResults"].as_array().unwrap();
    assert_eq!(
        (results[0]["success"].clone(), results[1]["success"].clone()),
        (json!(true), json!(false))
    );
    // Deleting the feature takes its attachments.
    post(
        &editor,
        &format!("{hydrants}/deleteFeatures"),
        &[("objectIds", "1")],
    )
    .await
    .unwrap();
    let q = get(
        &editor,
        &format!("{hydrants}/queryAttachments"),
        &[("objectIds", "1,2")],
    )
    .await;
    assert_eq!(q["attachmentGroups"], json!([]));
    // A layer without attachments serves none.
    post(
        &editor,
        &format!("{}/0/updateDefinition", admin(&url)),
        &[("updateDefinition", r#"{"hasAttachments":false}"#)],
    )
    .await
    .unwrap();
    let refused = editor
        .call(
            "list",
            Method::Get,
            &format!("{hydrants}/2/attachments"),
            &[],
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not supported"), "{refused}");
}

#[tokio::test]
async fn related_records_are_found_through_the_layers_relationship_classes_and_exported() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let definition = json!({
        "layers": [{"id": 0, "name": "Hydrants", "geometryType": "esriGeometryPoint",
            "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"},
                       {"name": "GlobalID", "type": "esriFieldTypeGlobalID"},
                       {"name": "hydrant_id", "type": "esriFieldTypeString"}],
            "relationships": [{"id": 0, "name": "Hydrant inspections", "relatedTableId": 1,
                "cardinality": "esriRelCardinalityOneToMany", "role": "esriRelRoleOrigin",
                "keyField": "GlobalID", "composite": false}]}],
        "tables": [{"id": 1, "name": "Inspections",
            "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"},
                       {"name": "hydrant_guid", "type": "esriFieldTypeGUID"},
                       {"name": "passed", "type": "esriFieldTypeSmallInteger"}],
            "relationships": [{"id": 0, "name": "Hydrant inspections", "relatedTableId": 0,
                "cardinality": "esriRelCardinalityOneToMany", "role": "esriRelRoleDestination",
                "keyField": "hydrant_guid", "composite": false}]}],
    });
    let (made_item, url) = editable(&editor, "Inspected", &definition).await;
    let added = post(&editor, &format!("{url}/0/addFeatures"), &[("features", r#"[{"geometry":{"x":1,"y":2},"attributes":{"hydrant_id":"H-1"}},{"geometry":{"x":3,"y":4},"attributes":{"hydrant_id":"H-2"}}]"#)]).await.unwrap();
    let (g1, g2) = (
        added["addResults"][0]["globalId"]
            .as_str()
            .unwrap()
            .to_owned(),
        added["addResults"][1]["globalId"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let rows = json!([
        {"attributes": {"hydrant_guid": g1, "passed": 1}},
        {"attributes": {"hydrant_guid": g1.to_lowercase(), "passed": 0}},
        {"attributes": {"hydrant_guid": g2, "passed": 1}},
    ]);
    post(
        &editor,
        &format!("{url}/1/addFeatures"),
        &[("features", &rows.to_string())],
    )
    .await
    .unwrap();
    let layer = get(&editor, &format!("{url}/0"), &[]).await;
    assert_eq!(layer["relationships"][0]["relatedTableId"], 1);
    let related = get(
        &editor,
        &format!("{url}/0/queryRelatedRecords"),
        &[
            ("objectIds", "1,2"),
            ("relationshipId", "0"),
            ("outFields", "passed"),
            ("orderByFields", "passed"),
        ],
    )
    .await;
    let groups = related["relatedRecordGroups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{related}");
    assert_eq!(groups[0]["objectId"], 1);
    let passed: Vec<i64> = groups[0]["relatedRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["attributes"]["passed"].as_i64().unwrap())
        .collect();
    assert_eq!(passed, [0, 1], "GUIDs match whatever their case, ordered");
    let counts = get(
        &editor,
        &format!("{url}/0/queryRelatedRecords"),
        &[
            ("objectIds", "1,2"),
            ("relationshipId", "0"),
            ("returnCountOnly", "true"),
        ],
    )
    .await;
    assert_eq!(
        counts["relatedRecordGroups"],
        json!([{"objectId": 1, "count": 2}, {"objectId": 2, "count": 1}])
    );
    let filtered = get(
        &editor,
        &format!("{url}/0/queryRelatedRecords"),
        &[
            ("objectIds", "1"),
            ("relationshipId", "0"),
            ("definitionExpression", "passed = 1"),
        ],
    )
    .await;
    assert_eq!(
        filtered["relatedRecordGroups"][0]["relatedRecords"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let refused = editor
        .call(
            "related",
            Method::Get,
            &format!("{url}/0/queryRelatedRecords"),
            &[("objectIds", "1"), ("relationshipId", "5")],
        )
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("no relationship 5"),
        "{refused}"
    );
    // The export writes the relationship class; GDAL and orgpack read both tables.
    let (_, _, fgdb) = exported(&editor, &made_item, "File Geodatabase", "x", "")
        .await
        .unwrap();
    let read = orgpack_payload::inspect(std::io::Cursor::new(&fgdb), "x.gdb.zip").unwrap();
    let counts: Vec<(&str, u64)> = read
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.feature_count))
        .collect();
    assert_eq!(counts, [("Hydrants", 2), ("Inspections", 3)]);
}

/// Poll a job's status URL until it ends; its last answer and how many times it was pending.
async fn finished(c: &Client, status_url: &str) -> (Value, u32) {
    for pending in 0..200 {
        let status = get(c, status_url, &[]).await;
        if status["status"] != "Pending" {
            return (status, pending);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the job at {status_url} never ended");
}

#[tokio::test]
async fn append_loads_and_upserts_from_uploaded_files_and_truncate_empties_as_jobs_that_take_time()
{
    let s = sandbox_with(SandboxOptions {
        job_latency: Duration::from_millis(200),
        ..SandboxOptions::default()
    })
    .await;
    let editor = client(&s, "source", "editor");
    let (_, city_url) = city(&editor).await;
    let source_layer = get(&editor, &format!("{city_url}/0"), &[]).await;
    let made = editor
        .create_service(
            "editor",
            None,
            r#"{"name":"Loaded"}"#,
            false,
            &[("title", "Loaded")],
        )
        .await
        .unwrap();
    let url = made.service_url.clone().unwrap();
    let mut layer = source_layer.clone();
    for k in [
        "currentVersion",
        "serviceItemId",
        "editingInfo",
        "extent",
        "isView",
    ] {
        layer.as_object_mut().unwrap().remove(k);
    }
    post(
        &editor,
        &format!("{}/addToDefinition", admin(&url)),
        &[("addToDefinition", &json!({"layers": [layer]}).to_string())],
    )
    .await
    .unwrap();
    let target = format!("{url}/0");
    // The City File Geodatabase, appended: a job that reports Pending first.
    let gdb = super::conformance::add_city_gdb(&editor).await;
    let submitted = post(
        &editor,
        &format!("{target}/append"),
        &[
            ("appendItemId", &gdb),
            ("appendUploadFormat", "filegdb"),
            ("sourceTableName", "Hydrants"),
        ],
    )
    .await
    .unwrap();
    let status_url = submitted["statusUrl"].as_str().unwrap().to_owned();
    let (status, pending) = finished(&editor, &status_url).await;
    assert_eq!(status["status"], "Completed", "{status}");
    assert!(pending > 0, "the job took the configured time");
    assert_eq!(count(&editor, &target, "1=1").await, 250);
    assert_eq!(count(&editor, &target, "status = 'ok'").await, 84);
    // An upsert from a CSV matched on hydrant_id: one row updated, one added.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("fixes.csv");
    std::fs::write(
        &csv,
        "hydrant_id,status,lon,lat\nH-0000,replaced,-117.2,34.05\nH-9999,ok,-117.1,34.1\n",
    )
    .unwrap();
    let item = editor
        .add_item(
            "editor",
            None,
            &[("title", "Fixes"), ("type", "CSV")],
            orgpack_portal::Content::File {
                path: &csv,
                name: "fixes.csv",
            },
            1 << 20,
        )
        .await
        .unwrap();
    let upsert = post(
        &editor,
        &format!("{target}/append"),
        &[
            ("appendItemId", &item),
            ("appendUploadFormat", "csv"),
            ("upsert", "true"),
            ("upsertMatchingField", "hydrant_id"),
            ("async", "false"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(upsert["recordCount"], 2, "{upsert}");
    assert_eq!(count(&editor, &target, "1=1").await, 251);
    assert_eq!(
        count(
            &editor,
            &target,
            "hydrant_id = 'H-0000' AND status = 'replaced'"
        )
        .await,
        1
    );
    // Wrong inputs fail clearly.
    let wrong = post(
        &editor,
        &format!("{target}/append"),
        &[("appendItemId", &item), ("appendUploadFormat", "filegdb")],
    )
    .await
    .unwrap_err();
    assert!(wrong.to_string().contains("is not filegdb"), "{wrong}");
    let missing = post(
        &editor,
        &format!("{target}/append"),
        &[
            ("appendItemId", &gdb),
            ("appendUploadFormat", "filegdb"),
            ("sourceTableName", "Nothing"),
        ],
    )
    .await
    .unwrap_err();
    assert!(
        missing.to_string().contains("no table 'Nothing'"),
        "{missing}"
    );
    // Truncate, as a job: every feature gone, the data date moved.
    let before = get(&editor, &target, &[]).await["editingInfo"]["dataLastEditDate"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let truncated = post(
        &editor,
        &format!("{}/0/truncate", admin(&url)),
        &[("async", "true")],
    )
    .await
    .unwrap();
    let (status, _) = finished(&editor, truncated["statusURL"].as_str().unwrap()).await;
    assert_eq!(status["status"], "Completed");
    assert_eq!(count(&editor, &target, "1=1").await, 0);
    assert!(
        get(&editor, &target, &[]).await["editingInfo"]["dataLastEditDate"]
            .as_i64()
            .unwrap()
            > before
    );
    // A view cannot be truncated.
    let view = editor
        .create_service("editor", None, r#"{"name":"LoadedView"}"#, true, &[])
        .await
        .unwrap();
    post(&editor, &format!("{}/addToDefinition", admin(&view.service_url.clone().unwrap())), &[("addToDefinition", r#"{"layers":[{"id":0,"name":"V","adminLayerInfo":{"viewLayerDefinition":{"sourceServiceName":"Loaded","sourceLayerId":0}}}]}"#)]).await.unwrap();
    let refused = post(
        &editor,
        &format!("{}/0/truncate", admin(&view.service_url.clone().unwrap())),
        &[],
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("not supported on views"),
        "{refused}"
    );
}

#[tokio::test]
async fn append_brings_a_geodatabases_attachments_with_their_features() {
    let s = sandbox_with(SandboxOptions::default()).await;
    let editor = client(&s, "source", "editor");
    let definition = json!({"layers": [{"id": 0, "name": "Hydrants", "geometryType": "esriGeometryPoint", "hasAttachments": true,
        "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"}, {"name": "GlobalID", "type": "esriFieldTypeGlobalID"}, {"name": "hydrant_id", "type": "esriFieldTypeString"}]}]});
    let mut urls = Vec::new();
    for name in ["Origin", "Copy"] {
        urls.push(editable(&editor, name, &definition).await);
    }
    let origin = format!("{}/0", urls[0].1);
    let added = post(&editor, &format!("{origin}/addFeatures"), &[("features", r#"[{"geometry":{"x":1,"y":2},"attributes":{"hydrant_id":"H-1"}},{"geometry":{"x":3,"y":4},"attributes":{"hydrant_id":"H-2"}}]"#)]).await.unwrap();
    let globals: Vec<String> = added["addResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["globalId"].as_str().unwrap().to_owned())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("valve.png");
    std::fs::write(&photo, b"\x89PNG valve").unwrap();
    editor
        .upload_form(
            "addAttachment",
            &format!("{origin}/2/addAttachment"),
            &[],
            "attachment",
            &photo,
            "valve.png",
        )
        .await
        .unwrap();
    let (_, _, fgdb) = exported(&editor, &urls[0].0, "File Geodatabase", "origin", "")
        .await
        .unwrap();
    let path = dir.path().join("Origin.gdb.zip");
    std::fs::write(&path, &fgdb).unwrap();
    let item = editor
        .add_item(
            "editor",
            None,
            &[("title", "Origin export"), ("type", "File Geodatabase")],
            orgpack_portal::Content::File {
                path: &path,
                name: "Origin.gdb.zip",
            },
            1 << 20,
        )
        .await
        .unwrap();
    // Appended with GlobalIDs kept: the features, their GlobalIDs and the attachment arrive.
    let copy = format!("{}/0", urls[1].1);
    let answer = post(
        &editor,
        &format!("{copy}/append"),
        &[
            ("appendItemId", &item),
            ("appendUploadFormat", "filegdb"),
            ("sourceTableName", "Hydrants"),
            ("useGlobalIds", "true"),
            ("async", "false"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(answer["recordCount"], 2, "{answer}");
    let rows = get(
        &editor,
        &format!("{copy}/query"),
        &[("outFields", "*"), ("orderByFields", "hydrant_id")],
    )
    .await;
    let copied: Vec<String> = rows["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attributes"]["GlobalID"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(copied, globals, "GlobalIDs kept");
    let q = get(
        &editor,
        &format!("{copy}/queryAttachments"),
        &[("globalIds", &globals[1])],
    )
    .await;
    let infos = q["attachmentGroups"][0]["attachmentInfos"]
        .as_array()
        .unwrap();
    assert_eq!(infos.len(), 1, "{q}");
    assert_eq!(infos[0]["name"], "valve.png");
    assert_eq!(infos[0]["size"], 10);
}
