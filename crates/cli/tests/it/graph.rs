//! `orgpack deps` and `orgpack graph`.

use serde::Deserialize;

use crate::{fixtures, orgpack, sample_repo, stderr, stdout};

#[derive(Deserialize)]
struct Deps {
    #[serde(rename = "type")]
    item_type: String,
    references: Vec<Found>,
}

#[derive(Deserialize)]
struct Found {
    kind: String,
    value: String,
    layer: Option<u32>,
    path: String,
    external: bool,
}

#[test]
fn deps_lists_the_references_of_a_file_and_guesses_its_type() {
    let file = fixtures().join("corpus/webmap/alternative_fueling_stations_webmap.json");
    let out = orgpack(&["--json", "deps", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let deps: Deps = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(deps.item_type, "Web Map");
    let layer = deps
        .references
        .iter()
        .find(|r| r.kind == "item" && !r.external)
        .unwrap();
    assert_eq!(layer.value, "44612e6217d34f40b1ce2a48f367e90a");
    assert_eq!(layer.path, "data $.operationalLayers[0].itemId");
    let service = deps
        .references
        .iter()
        .find(|r| r.kind == "service")
        .unwrap();
    assert_eq!(service.layer, Some(0));
    assert!(
        deps.references
            .iter()
            .any(|r| r.external && r.value == "5ad3948260a147a993ef4865e3fad476")
    );

    let human = orgpack(&["deps", file.to_str().unwrap()]);
    assert!(stdout(&human).starts_with("KIND"));
    assert!(
        stderr(&human).contains("Web Map, 4 references"),
        "{}",
        stderr(&human)
    );
}

#[test]
fn deps_refuses_what_is_not_json() {
    let file = fixtures().join("corrupt/not-an-archive.orgpack");
    let out = orgpack(&["deps", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not JSON"), "{}", stderr(&out));
    let out = orgpack(&["deps", file.to_str().unwrap(), "--part", "nonsense"]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn graph_draws_a_snapshot_and_plans_its_restore() {
    #[derive(Deserialize)]
    struct GraphDoc {
        nodes: Vec<serde_json::Value>,
        edges: Vec<serde_json::Value>,
        plan: PlanDoc,
    }
    #[derive(Deserialize)]
    struct PlanDoc {
        order: Vec<String>,
        deferred: Vec<serde_json::Value>,
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = sample_repo(dir.path(), 1);
    let out = orgpack(&["--json", "graph", repo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let g: GraphDoc = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(g.nodes.len(), 2);
    assert!(
        g.edges.len() >= 2,
        "references and the Map2Service relationship"
    );
    let (map, service) = (
        orgpack_archive::sample::WEB_MAP_ID,
        orgpack_archive::sample::SERVICE_ID,
    );
    assert_eq!(
        g.plan.order,
        vec![service.to_owned(), map.to_owned()],
        "the service is restored before the map"
    );
    assert!(g.plan.deferred.is_empty());

    let dot = orgpack(&["graph", repo.to_str().unwrap(), "--format", "dot"]);
    let text = stdout(&dot);
    assert!(text.starts_with("digraph"));
    assert_eq!(
        text.matches(" -> ").count(),
        1,
        "one arrow per pair of items"
    );
    assert!(text.contains("Parcels overview (Web Map)"));
    let mermaid = orgpack(&["graph", repo.to_str().unwrap(), "--format", "mermaid"]);
    assert!(stdout(&mermaid).starts_with("flowchart LR"));
}

#[test]
fn inspect_reports_layers_and_counts_of_a_payload() {
    #[derive(Deserialize)]
    struct Inspect {
        summary: Summary,
    }
    #[derive(Deserialize)]
    struct Summary {
        kind: String,
        layers: Vec<LayerDoc>,
    }
    #[derive(Deserialize)]
    struct LayerDoc {
        name: String,
        #[serde(rename = "featureCount")]
        feature_count: u64,
    }
    let file = fixtures().join("payloads/City.gdb.zip");
    let out = orgpack(&["--json", "inspect", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Inspect = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc.summary.kind, "fileGeodatabase");
    let layers: Vec<(&str, u64)> = doc
        .summary
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.feature_count))
        .collect();
    assert_eq!(layers, vec![("Hydrants", 250), ("Parcels", 12)]);
    let human = orgpack(&["inspect", file.to_str().unwrap()]);
    assert!(stdout(&human).contains("Hydrants") && stdout(&human).contains("250"));
    let bad = orgpack(&[
        "inspect",
        fixtures()
            .join("corrupt/truncated.orgpack")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).starts_with("error: "), "{}", stderr(&bad));
}

/// A sandbox process, killed when dropped (also when a test fails half-way).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `orgpack --json sandbox ARGS` with the password `password`, and the JSON it printed once ready.
fn serve(args: &[&str], password: &str) -> (Running, serde_json::Value) {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .args(["--json", "sandbox"])
        .args(args)
        .env("ORGPACK_SANDBOX_PASSWORD", password)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut text = String::new();
    let doc = loop {
        let mut buf = [0u8; 256];
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "the sandbox exited early: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Ok(v) = serde_json::from_str(&text) {
            break v;
        }
    };
    (Running(child), doc)
}

#[test]
fn sandbox_serves_until_stopped_and_prints_its_portals() {
    let (child, doc) = serve(&["--org", "rehearsal"], "rehearse-pw");
    let url = doc["portals"][0].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/rehearsal"),
        "{url}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let me = runtime.block_on(async {
        let client = orgpack_portal::Client::new(
            orgpack_portal::PortalUrl::parse(&url).unwrap(),
            orgpack_portal::Credentials::Password {
                username: "admin".into(),
                password: "rehearse-pw".into(),
            },
            orgpack_portal::ClientOptions::default(),
        )
        .unwrap();
        client.portal_self().await.unwrap()
    });
    assert_eq!(me["user"]["username"], "admin");
    drop(child);
}

#[test]
fn sandbox_seeds_orgs_from_directories_and_takes_faults_at_start_and_at_run_time() {
    let town = format!("town={}", crate::fixtures().join("demo-org").display());
    let (child, doc) = serve(
        &[
            "--listen",
            "127.0.0.1:0",
            "--org",
            &town,
            "--org",
            "empty",
            "--faults",
            "refuse=/publish,seed=3",
        ],
        "seed-pw-1",
    );
    let town = doc["portals"][0].as_str().unwrap().to_owned();
    let empty = doc["portals"][1].as_str().unwrap().to_owned();
    let root = town.trim_end_matches("/town").to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = |url: &str, user: &str| {
            orgpack_portal::Client::new(
                orgpack_portal::PortalUrl::parse(url).unwrap(),
                orgpack_portal::Credentials::Password {
                    username: user.into(),
                    password: "seed-pw-1".into(),
                },
                orgpack_portal::ClientOptions {
                    retry: orgpack_portal::RetryPolicy {
                        attempts: 1,
                        ..orgpack_portal::RetryPolicy::default()
                    },
                    ..orgpack_portal::ClientOptions::default()
                },
            )
            .unwrap()
        };
        // The seed's users, groups and items, every user with the sandbox password.
        let editor = client(&town, "editor");
        let items = client(&town, "admin").search_all("*", 100).await.unwrap();
        assert_eq!(items.len(), 35, "an administrator sees every item");
        let mine = editor.search_all("*", 100).await.unwrap();
        assert_eq!(
            mine.len(),
            33,
            "the viewer's private item is not the editor's to see"
        );
        assert_eq!(editor.portal_self().await.unwrap()["name"], "Demo City");
        assert!(
            client(&empty, "admin")
                .search_all("*", 100)
                .await
                .unwrap()
                .is_empty()
        );
        // --faults: publishing is refused.
        let err = editor
            .call(
                "publish",
                orgpack_portal::Method::Post,
                "content/users/editor/publish",
                &[],
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Injected failure"), "{err}");
        // At run time: every request fails, then none; a bad spec is refused with the reason.
        let admin = client(&empty, "admin");
        let url = format!("{root}/_sandbox/faults");
        let set = |spec: &'static str| {
            let (admin, url) = (&admin, url.clone());
            async move {
                admin
                    .call(
                        "faults",
                        orgpack_portal::Method::Post,
                        &url,
                        &[("spec", spec)],
                    )
                    .await
            }
        };
        assert_eq!(set("fail=1000,seed=1").await.unwrap()["success"], true);
        assert!(editor.portal_self().await.is_err());
        assert_eq!(set("none").await.unwrap()["success"], true);
        assert!(editor.portal_self().await.is_ok());
        let bad = set("explode=1").await.unwrap_err();
        assert!(bad.to_string().contains("unknown fault"), "{bad}");
    });
    drop(child);

    let refused = crate::orgpack(&["sandbox", "--faults", "fail=2000"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        crate::stderr(&refused).contains("--faults"),
        "{}",
        crate::stderr(&refused)
    );
}
