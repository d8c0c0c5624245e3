//! `orgpack verify REPO --rehearse`: a backup of the demo organization restores into a throw-away
//! organization and reads back whole; a backup whose hosted service could not be exported is not
//! restorable, and the rehearsal names the service and what depends on it.

use std::path::Path;
use std::process::Output;

use orgpack_sandbox::Faults;

use crate::{stderr, stdout};

const PW: &str = "Rehearse-pw-93";

fn orgpack(config: &Path, args: &[&str]) -> Output {
    crate::orgpack_prod(config, PW, args)
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn a_whole_backup_is_restorable_and_a_missing_export_is_named_with_its_dependents() {
    let (_rt, sandbox, demo) = crate::demo_sandbox(PW);
    let dir = tempfile::tempdir().unwrap();
    let config = crate::prod_config(dir.path(), &sandbox);
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();

    let out = orgpack(
        &config,
        &["backup", "--from", "prod", "--all", "--repo", repo],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let requests = sandbox.requests();
    let out = orgpack(&config, &["verify", repo, "--rehearse"]);
    let text = stderr(&out);
    assert_eq!(code(&out), 0, "{text}");
    // The rehearsal touched no real portal: the source organization saw no request.
    assert_eq!(sandbox.requests(), requests);
    assert!(text.contains("no problems found"), "{text}");
    assert!(text.contains("restorable: snapshot"), "{text}");
    let out = orgpack(&config, &["--json", "verify", repo, "--rehearse"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::spec::check_documented(&doc, "verify --rehearse");
    let r = &doc["rehearsal"];
    assert_eq!(doc["ok"], true, "{doc:#}");
    assert_eq!(r["restorable"], true, "{r:#}");
    assert_eq!(r["items"], demo.items.len(), "{r:#}");
    assert_eq!(r["restored"], demo.items.len(), "{r:#}");
    assert_eq!(r["failed"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["problems"], serde_json::json!([]), "{r:#}");

    // The City service cannot be exported tonight: the backup saves the rest (exit 3), and the
    // rehearsal says the snapshot is not restorable, naming City and everything built on it.
    let city = demo.items["city"].clone();
    sandbox.set_faults(Faults {
        refuse: Some("/export".into()),
        refuse_item: Some(city.as_str().into()),
        ..Faults::default()
    });
    let out = orgpack(
        &config,
        &[
            "backup", "--from", "prod", "--all", "--full", "--repo", repo,
        ],
    );
    sandbox.set_faults(Faults::default());
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let out = orgpack(&config, &["verify", repo, "--rehearse"]);
    let text = stderr(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("not restorable"), "{text}");
    assert!(
        text.contains(&format!("not captured: item City {city} export")),
        "{text}"
    );
    for title in [
        "Hydrants in service",
        "City overview",
        "Hydrant inspections",
        "City viewer",
        "Hydrant dashboard",
    ] {
        let line = text
            .lines()
            .find(|l| l.contains("which these depend on"))
            .unwrap_or_default();
        assert!(line.contains(title), "{title} is not named:\n{text}");
    }
    let out = orgpack(
        &config,
        &["--json", "verify", repo, "--rehearse", "-s", "latest"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::spec::check_documented(&doc, "verify --rehearse (not restorable)");
    let r = &doc["rehearsal"];
    assert_eq!(doc["ok"], false);
    assert_eq!(r["restorable"], false);
    let missing = r["notCaptured"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{r:#}");
    assert_eq!(missing[0]["id"], city.as_str());
    assert_eq!(missing[0]["part"], "export");
    let dependents: Vec<&str> = missing[0]["dependents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    let mut wanted: Vec<&str> = [
        "hydrants-view",
        "city-map",
        "inspections-map",
        "viewer-app",
        "dashboard",
        "city-tiles",
        "city-vector",
        "city-scene",
        "web-scene",
        "experience",
        "storymap",
        "hub-site",
        "hub-page",
        "quickcapture",
    ]
    .iter()
    .map(|k| demo.items[*k].as_str())
    .collect();
    wanted.sort_unstable();
    let mut got = dependents.clone();
    got.sort_unstable();
    assert_eq!(got, wanted, "{r:#}");

    // An archive that does not verify is not rehearsed.
    let first = std::fs::read_dir(Path::new(repo).join("blobs/sha256"))
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .and_then(|d| std::fs::read_dir(d.path()).unwrap().flatten().next())
        .unwrap()
        .path();
    std::fs::remove_file(&first).unwrap();
    let out = orgpack(&config, &["verify", repo, "--rehearse"]);
    let text = stderr(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(
        text.contains("not rehearsed: the archive has problems"),
        "{text}"
    );
    assert!(!text.contains("rehearsing"), "{text}\n{}", stdout(&out));
}
