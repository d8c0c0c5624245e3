//! A small organization in a sandbox: an app, its map in a folder, the map's service, a CSV file,
//! a hosted service, and an item nobody depends on.

use orgpack_portal::{Client, ClientOptions, Content, Credentials, PortalUrl};
use orgpack_sandbox::{Sandbox, SandboxOptions};

pub const PW: &str = "Backup-pw-31";
pub const LOGO: &[u8] = b"\x89PNG\r\n\x1a\nnot really a logo";

pub struct Seeded {
    pub sandbox: Sandbox,
    pub app: String,
    pub map: String,
    pub parcels: String,
    pub csv: String,
    pub hosted: String,
    pub unrelated: String,
    /// A File Geodatabase item and the hosted service published from it.
    pub city_file: String,
    pub city: String,
    /// A web map of the hosted service's layers.
    pub city_map: String,
    pub folder: String,
    pub group: String,
    /// The app's data and its `config/settings.json` resource, as the source holds them.
    pub app_data: String,
    pub settings: String,
}

/// A text item (JSON data: a web map, an app) in the editor's root folder; its id.
pub async fn add_text(editor: &Client, title: &str, item_type: &str, text: &str) -> String {
    editor
        .add_item(
            "editor",
            None,
            &[("title", title), ("type", item_type)],
            Content::Text(text),
            1 << 20,
        )
        .await
        .unwrap()
}

pub fn client(s: &Sandbox, user: &str) -> Client {
    Client::new(
        PortalUrl::parse(&s.portal_url("source")).unwrap(),
        Credentials::Password {
            username: user.into(),
            password: PW.into(),
        },
        ClientOptions::default(),
    )
    .unwrap()
}

pub async fn seeded() -> Seeded {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox.add_org("source", "Source County").unwrap();
    sandbox
        .add_user("source", "admin", PW, "org_admin")
        .unwrap();
    sandbox
        .add_user("source", "editor", PW, "org_publisher")
        .unwrap();
    let editor = client(&sandbox, "editor");
    let admin = client(&sandbox, "admin");
    let root = sandbox.portal_url("source");
    let host = root.trim_end_matches("/source");
    let service = format!("{host}/source/server/rest/services/Parcels/FeatureServer");

    let parcels = editor
        .add_item(
            "editor",
            None,
            &[("title", "Parcels"), ("type", "Feature Service")],
            Content::Url(&service),
            1 << 20,
        )
        .await
        .unwrap();
    let folder = editor.create_folder("editor", "Planning").await.unwrap();
    let map_json = serde_json::json!({
        "operationalLayers": [{"id": "p", "title": "Parcels", "url": format!("{service}/0")}],
        "baseMap": {"baseMapLayers": [], "title": "None"},
        "version": "2.31"
    });
    let map = editor
        .add_item(
            "editor",
            Some(&folder),
            &[("title", "Parcel map"), ("type", "Web Map")],
            Content::Text(&map_json.to_string()),
            1 << 20,
        )
        .await
        .unwrap();
    editor
        .add_relationship("editor", &map, &parcels, "Map2Service")
        .await
        .unwrap();
    // Written as people write it: indented, keys in their own order (a restore keeps both).
    let app_data = format!(
        "{{\n  \"values\": {{\n    \"webmap\": \"{map}\",\n    \"title\": \"Parcel viewer\"\n  }}\n}}\n"
    );
    let app = editor
        .add_item(
            "editor",
            None,
            &[
                ("title", "Parcel viewer"),
                ("type", "Web Mapping Application"),
            ],
            Content::Text(&app_data),
            1 << 20,
        )
        .await
        .unwrap();
    let settings =
        format!("{{\"layers\":[ {{\"url\": \"{service}/0\", \"itemId\": \"{parcels}\"}} ]}}");
    editor
        .add_resource(
            "editor",
            &app,
            "config/settings.json",
            settings.clone().into_bytes(),
        )
        .await
        .unwrap();
    editor
        .add_resource("editor", &app, "images/logo.png", LOGO.to_vec())
        .await
        .unwrap();
    let group = editor
        .create_group(&[("title", "Planning team"), ("access", "org")])
        .await
        .unwrap();
    for id in [&map, &app] {
        editor
            .share_item("editor", id, false, false, &[&group])
            .await
            .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("trees.csv");
    std::fs::write(
        &csv_path,
        "id,species,x,y\n1,oak,1.0,2.0\n2,elm,3.0,4.0\n3,ash,5.0,6.0\n",
    )
    .unwrap();
    let csv = editor
        .add_item(
            "editor",
            None,
            &[("title", "Street trees"), ("type", "CSV")],
            Content::File {
                path: &csv_path,
                name: "trees.csv",
            },
            1 << 20,
        )
        .await
        .unwrap();
    let hosted = editor
        .add_item(
            "editor",
            None,
            &[
                ("title", "Inspections"),
                ("type", "Feature Service"),
                ("typeKeywords", "Hosted Service,Feature Service"),
            ],
            Content::Url(&format!(
                "{host}/source/server/rest/services/Hosted/Inspections/FeatureServer"
            )),
            1 << 20,
        )
        .await
        .unwrap();
    let unrelated = admin
        .add_item(
            "admin",
            None,
            &[("title", "Notes"), ("type", "Document Link")],
            Content::Url("https://example.com/notes"),
            1 << 20,
        )
        .await
        .unwrap();
    let gdb = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/payloads/City.gdb.zip");
    let city_file = editor
        .add_item(
            "editor",
            None,
            &[("title", "City data"), ("type", "File Geodatabase")],
            Content::File {
                path: &gdb,
                name: "City.gdb.zip",
            },
            1 << 20,
        )
        .await
        .unwrap();
    let published = editor
        .publish(
            "editor",
            &city_file,
            "fileGeodatabase",
            r#"{"name":"City"}"#,
        )
        .await
        .unwrap();
    let city_url = published.service_url.clone().unwrap();
    let city_map_json = serde_json::json!({
        "operationalLayers": [
            {"id": "h", "title": "Hydrants", "url": format!("{city_url}/0"), "itemId": published.service_item_id},
            {"id": "p", "title": "Parcels", "url": format!("{city_url}/1"), "itemId": published.service_item_id}
        ],
        "version": "2.31"
    });
    let city_map = editor
        .add_item(
            "editor",
            None,
            &[("title", "City map"), ("type", "Web Map")],
            Content::Text(&city_map_json.to_string()),
            1 << 20,
        )
        .await
        .unwrap();
    Seeded {
        sandbox,
        city_file,
        city_map,
        city: published.service_item_id,
        app,
        map,
        parcels,
        csv,
        hosted,
        unrelated,
        folder,
        group,
        app_data,
        settings,
    }
}
