//! Hosted feature layers come back whole: the demo organization's services, edited in the field
//! between two nightly backups, restored from the second into an empty organization have the
//! edits, the attachments and related records, and every setting and layer id of the source.

use orgpack_archive::manifest::PayloadKind;
use orgpack_archive::{Archive, Repository};
use orgpack_portal::{Client, ClientOptions, Credentials, Method, PortalUrl};
use orgpack_restore::{RestoreOptions, Status, Target, restore};
use orgpack_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

const PW: &str = "Whole-restore-pw-9";

fn client(s: &Sandbox, org: &str) -> Client {
    Client::new(
        PortalUrl::parse(&s.portal_url(org)).unwrap(),
        Credentials::Password {
            username: "admin".into(),
            password: PW.into(),
        },
        ClientOptions::default(),
    )
    .unwrap()
}

async fn get(c: &Client, url: &str, params: &[(&str, &str)]) -> Value {
    c.call("get", Method::Get, url, params).await.unwrap()
}

async fn nightly(source: &Client, repo: &std::path::Path) -> orgpack_archive::digest::Digest {
    let mut repository = Repository::open_or_init(repo).unwrap();
    let mut options = orgpack_backup::PlanOptions::whole_org(repo.join("spool"));
    let me = source.portal_self().await.unwrap();
    options.parent = orgpack_backup::find_parent(
        &repository.archive().unwrap(),
        &source.url().root,
        me["id"].as_str().unwrap(),
        &options.selection,
    )
    .unwrap();
    let plan = orgpack_backup::plan(source, &options, &orgpack_backup::NoProgress)
        .await
        .unwrap();
    orgpack_backup::run(source, &plan, &mut repository, &orgpack_backup::NoProgress)
        .await
        .unwrap()
        .snapshot
}

/// A layer's rows, object ids left out (the target numbers them itself), sorted.
async fn rows(c: &Client, url: &str, id: u64) -> Vec<String> {
    let v = get(
        c,
        &format!("{url}/{id}/query"),
        &[
            ("where", "1=1"),
            ("outFields", "*"),
            ("returnGeometry", "false"),
        ],
    )
    .await;
    let mut rows: Vec<String> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut a = f["attributes"].clone();
            a.as_object_mut().unwrap().remove("OBJECTID");
            a.to_string()
        })
        .collect();
    rows.sort();
    rows
}

/// What must be equal between a source layer and its restored copy.
fn settings(layer: &Value) -> Value {
    let fields: Vec<Value> = layer["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| json!([f["name"], f["alias"], f["type"], f["domain"]]))
        .collect();
    json!({
        "id": layer["id"], "name": layer["name"], "fields": fields,
        "displayField": layer["displayField"], "drawingInfo": layer["drawingInfo"],
        "templates": layer["templates"], "types": layer["types"],
        "hasAttachments": layer["hasAttachments"], "relationships": layer["relationships"],
        "editFieldsInfo": layer["editFieldsInfo"], "capabilities": layer["capabilities"],
        "objectIdField": layer["objectIdField"], "globalIdField": layer["globalIdField"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_services_come_back_with_their_edits_attachments_relations_and_settings() {
    let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let demo = s.seed_demo("demo", PW).await.unwrap();
    let source = client(&s, "demo");
    // The view is read-only: edits through it must not reach its source.
    let view_admin = demo.urls["hydrants-view"].replace("/rest/services/", "/rest/admin/services/");
    source
        .call(
            "updateDefinition",
            Method::Post,
            &format!("{view_admin}/updateDefinition"),
            &[("updateDefinition", r#"{"isUpdatableView":false}"#)],
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    nightly(&source, &repo).await;

    // A day in the field: hydrants added, retired ones deleted, one inspected.
    let city = &demo.urls["city"];
    let edits = source
        .call(
            "applyEdits",
            Method::Post,
            &format!("{city}/0/applyEdits"),
            &[
                (
                    "adds",
                    r#"[{"geometry":{"x":-117.15,"y":34.06},"attributes":{"hydrant_id":"H-NEW","status":"ok","flow_gpm":900}}]"#,
                ),
                ("deletes", "5,6,7"),
                ("updates", r#"[{"attributes":{"OBJECTID":1,"status":"repair"}}]"#),
            ],
        )
        .await
        .unwrap();
    assert_eq!(edits["addResults"][0]["success"], true, "{edits}");
    let second = nightly(&source, &repo).await;

    let archive = Archive::open(&repo).unwrap();
    let snapshot = archive.snapshot(&second).unwrap();
    s.add_org("restored", "Restored").unwrap();
    for (user, role) in [
        ("admin", "org_admin"),
        ("editor", "org_publisher"),
        ("viewer", "org_user"),
    ] {
        s.add_user("restored", user, PW, role).unwrap();
    }
    let target = Target {
        name: "restored".into(),
        client: client(&s, "restored"),
        journal: dir.path().join("restored.sqlite"),
    };
    let reports = restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &RestoreOptions {
            staging_dir: dir.path().to_owned(),
            ..RestoreOptions::default()
        },
        false,
    )
    .await
    .unwrap();
    let report = &reports[0];
    assert!(report.is_complete(), "{report:#?}");
    let c = &target.client;
    // The read-back check pairs the rebuilt services' layers and tables by id.
    let checked = orgpack_restore::check_target(c, &snapshot, report).await;
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert_eq!(
        checked.layers, 10,
        "City's 3 and Inspections' 1 by id, the view's 1, the Workforce project's 5"
    );
    // Had the target lost features or named a layer otherwise, the check would say so: read
    // against a backup that counted one more feature in every layer and named City's layer 0
    // otherwise.
    let mut expected_more = crate::common::counting_one_more(&snapshot, Some(&demo.items["city"]));
    let city = expected_more
        .items
        .iter_mut()
        .find(|i| i.id == demo.items["city"])
        .unwrap();
    for payload in &mut city.payloads {
        for layer in &mut payload.layers {
            if layer.id == Some(0) && payload.kind == PayloadKind::FeatureServiceDefinition {
                layer.name = "Hydrants renamed".into();
            }
        }
    }
    let wrong = orgpack_restore::check_target(c, &expected_more, report).await;
    assert!(
        wrong
            .problems
            .iter()
            .any(|p| p
                .contains("layer 0: `Hydrants` in the target, `Hydrants renamed` in the backup")),
        "{:?}",
        wrong.problems
    );
    assert!(
        wrong
            .problems
            .iter()
            .any(|p| p.contains("features, the backup")),
        "{:?}",
        wrong.problems
    );

    let view = report
        .items
        .iter()
        .find(|e| e.source_id == demo.items["hydrants-view"])
        .unwrap();
    let view_url = c.item(view.target_id.as_deref().unwrap()).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let view_root = get(c, &view_url, &[]).await;
    assert_eq!(view_root["isUpdatableView"], false, "{view_root}");
    assert_eq!(
        get(
            c,
            &format!("{view_url}/0/query"),
            &[("where", "1=1"), ("returnCountOnly", "true")]
        )
        .await["count"],
        get(
            &source,
            &format!("{}/0/query", demo.urls["hydrants-view"]),
            &[("where", "1=1"), ("returnCountOnly", "true")]
        )
        .await["count"],
        "the view's count follows its definition query in both"
    );

    for key in ["city", "inspections"] {
        let entry = report
            .items
            .iter()
            .find(|e| e.source_id == demo.items[key])
            .unwrap();
        assert_eq!(entry.status, Status::Created);
        assert_eq!(
            entry.reason.as_deref(),
            Some("rebuilt from its definition, loaded from its export")
        );
        let new_url = c.item(entry.target_id.as_deref().unwrap()).await.unwrap()["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let (was, now) = (
            get(&source, &demo.urls[key], &[]).await,
            get(c, &new_url, &[]).await,
        );
        assert_eq!(now["capabilities"], was["capabilities"], "{key}");
        let was_layers = get(&source, &format!("{}/layers", demo.urls[key]), &[]).await;
        let now_layers = get(c, &format!("{new_url}/layers"), &[]).await;
        for kind in ["layers", "tables"] {
            let a: Vec<Value> = was_layers[kind]
                .as_array()
                .unwrap()
                .iter()
                .map(settings)
                .collect();
            let b: Vec<Value> = now_layers[kind]
                .as_array()
                .unwrap()
                .iter()
                .map(settings)
                .collect();
            assert_eq!(a, b, "{key} {kind}");
        }
        // Every layer and table by id: the same rows.
        for layer in was_layers["layers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(was_layers["tables"].as_array().unwrap())
        {
            let id = layer["id"].as_u64().unwrap();
            assert_eq!(
                rows(&source, &demo.urls[key], id).await,
                rows(c, &new_url, id).await,
                "{key} layer {id}"
            );
        }
        if key == "city" {
            // The field day is there: the new hydrant, the repaired one, not the deleted ones.
            let added = get(
                c,
                &format!("{new_url}/0/query"),
                &[
                    ("where", "hydrant_id = 'H-NEW'"),
                    ("returnCountOnly", "true"),
                ],
            )
            .await;
            assert_eq!(added["count"], 1);
            // The photo on hydrant 1 and its two flow tests.
            let one = get(
                c,
                &format!("{new_url}/0/query"),
                &[
                    ("where", "hydrant_id = 'H-0000'"),
                    ("returnIdsOnly", "true"),
                ],
            )
            .await;
            let oid = one["objectIds"][0].as_i64().unwrap().to_string();
            let photos = get(c, &format!("{new_url}/0/{oid}/attachments"), &[]).await;
            assert_eq!(
                photos["attachmentInfos"][0]["name"], "hydrant-photo.png",
                "{photos}"
            );
            let related = get(
                c,
                &format!("{new_url}/0/queryRelatedRecords"),
                &[
                    ("objectIds", &oid),
                    ("relationshipId", "0"),
                    ("returnCountOnly", "true"),
                ],
            )
            .await;
            assert_eq!(related["relatedRecordGroups"][0]["count"], 2, "{related}");
        }
    }
}
