//! The commands on good archives: what they print and what they change.

use serde::Deserialize;

use crate::{orgpack, sample_repo, stderr, stdout};

#[derive(Deserialize)]
struct Snapshots {
    snapshots: Vec<SnapshotEntry>,
}

#[derive(Deserialize)]
struct SnapshotEntry {
    id: String,
    created: String,
    items: u64,
}

#[derive(Deserialize)]
struct Ls {
    snapshot: String,
    items: Vec<LsItem>,
}

#[derive(Deserialize)]
struct LsItem {
    id: String,
    #[serde(rename = "type")]
    item_type: String,
    size: u64,
    dependencies: Vec<String>,
}

#[derive(Deserialize)]
struct Verify {
    ok: bool,
    report: VerifyReport,
}

#[derive(Deserialize)]
struct VerifyReport {
    blobs: u64,
    bytes_read: u64,
    problems: Vec<serde_json::Value>,
}

fn json<T: serde::de::DeserializeOwned>(args: &[&str]) -> T {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = orgpack(&full);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&out)))
}

#[test]
fn snapshots_ls_verify_export_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let repo = sample_repo(dir.path(), 2);
    let repo_s = repo.to_str().unwrap();

    let list: Snapshots = json(&["snapshots", repo_s]);
    assert_eq!(list.snapshots.len(), 2);
    assert!(list.snapshots[0].created < list.snapshots[1].created);
    assert_eq!(list.snapshots[1].items, 2);

    let ls: Ls = json(&["ls", repo_s]);
    assert_eq!(
        ls.snapshot, list.snapshots[1].id,
        "ls defaults to the latest snapshot"
    );
    assert!(ls.items.iter().all(|i| i.id.len() == 32));
    let map = ls.items.iter().find(|i| i.item_type == "Web Map").unwrap();
    assert_eq!(map.dependencies.len(), 2);
    let service = ls
        .items
        .iter()
        .find(|i| i.item_type == "Feature Service")
        .unwrap();
    assert!(
        service.size >= 3 << 20,
        "the export payload counts in the size"
    );
    let human = orgpack(&["ls", repo_s, "--snapshot", &list.snapshots[0].id[7..15]]);
    assert!(human.status.success(), "{}", stderr(&human));
    assert!(stdout(&human).lines().next().unwrap().starts_with("ID"));
    assert!(stdout(&human).contains("Parcels overview"));

    let v: Verify = json(&["verify", "--read-data", repo_s]);
    assert!(v.ok && v.report.problems.is_empty());
    assert!(v.report.bytes_read >= 5 << 20);

    let file = dir.path().join("latest.orgpack");
    let out = orgpack(&[
        "export",
        repo_s,
        "--snapshot",
        "latest",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let exported: Snapshots = json(&["snapshots", file.to_str().unwrap()]);
    assert_eq!(exported.snapshots.len(), 1);
    assert_eq!(
        exported.snapshots[0].id, list.snapshots[1].id,
        "the snapshot keeps its id"
    );
    let v: Verify = json(&["verify", "--read-data", file.to_str().unwrap()]);
    assert!(v.ok && v.report.blobs > 5);

    let again = orgpack(&[
        "export",
        repo_s,
        "--snapshot",
        "latest",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing archive is never overwritten"
    );

    let back = dir.path().join("back");
    let out = orgpack(&[
        "import",
        file.to_str().unwrap(),
        "--repo",
        back.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let imported: Snapshots = json(&["snapshots", back.to_str().unwrap()]);
    assert_eq!(imported.snapshots[0].id, list.snapshots[1].id);
    let v: Verify = json(&["verify", "--read-data", back.to_str().unwrap()]);
    assert!(v.ok);
}

#[test]
fn cat_prints_exactly_the_stored_parts() {
    let dir = tempfile::tempdir().unwrap();
    let repo = sample_repo(dir.path(), 1);
    let repo_s = repo.to_str().unwrap();
    let map = orgpack_archive::sample::WEB_MAP_ID;
    let out = orgpack(&["cat", repo_s, map]);
    assert!(out.status.success());
    let item: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(item["type"], "Web Map");
    let out = orgpack(&["cat", repo_s, map, "--part", "data"]);
    let data: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        data["operationalLayers"][0]["itemId"],
        orgpack_archive::sample::SERVICE_ID
    );
    let out = orgpack(&[
        "cat",
        repo_s,
        map,
        "--part",
        "resource",
        "config/popup.json",
    ]);
    assert_eq!(out.stdout, br#"{"popup":{"title":"{PARCEL_ID}"}}"#);
    let out = orgpack(&[
        "cat",
        repo_s,
        orgpack_archive::sample::SERVICE_ID,
        "--part",
        "payload",
        "Parcels.gdb.zip",
    ]);
    assert!(out.status.success());
    let mut expected = Vec::new();
    std::io::Read::read_to_end(
        &mut orgpack_archive::sample::NoiseReader::new(42, 2 << 20),
        &mut expected,
    )
    .unwrap();
    assert!(
        out.stdout == expected,
        "the payload streams back byte for byte"
    );

    let out = orgpack(&["cat", repo_s, map, "--part", "resource", "no/such.png"]);
    assert_eq!(out.status.code(), Some(10));
    assert!(stderr(&out).contains("has no resource `no/such.png`"));
    let out = orgpack(&["cat", repo_s, "00000000000000000000000000000000"]);
    assert_eq!(out.status.code(), Some(10));
}

#[test]
fn prune_dry_run_changes_nothing_and_prune_keeps_what_it_says() {
    #[derive(Deserialize)]
    struct Prune {
        forget: Vec<serde_json::Value>,
        #[serde(rename = "bytesFreed")]
        bytes_freed: u64,
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = sample_repo(dir.path(), 3);
    let repo_s = repo.to_str().unwrap();
    let before: Snapshots = json(&["snapshots", repo_s]);

    let out = orgpack(&["prune", repo_s]);
    assert_eq!(out.status.code(), Some(2), "no rule: refuse");

    let out = orgpack(&["prune", repo_s, "--keep-last", "1", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("would remove"));
    let same: Snapshots = json(&["snapshots", repo_s]);
    assert_eq!(same.snapshots.len(), 3);

    let p: Prune = json(&["prune", repo_s, "--keep-last", "1"]);
    assert_eq!(p.forget.len(), 2);
    assert!(p.bytes_freed > 0);
    let after: Snapshots = json(&["snapshots", repo_s]);
    assert_eq!(after.snapshots.len(), 1);
    assert_eq!(after.snapshots[0].id, before.snapshots[2].id);
    let v: Verify = json(&["verify", "--read-data", repo_s]);
    assert!(v.ok);
}
