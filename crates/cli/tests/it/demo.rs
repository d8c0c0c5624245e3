//! `orgpack demo`, as the README's first command runs it.

use crate::{orgpack, stderr, stdout};

#[test]
fn the_demo_runs_the_whole_job_and_keeps_what_it_made_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept");
    let out = orgpack(&["--json", "demo", "--keep", keep.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["message_type"], "demo");
    assert_eq!(doc["ok"], true, "{doc}");
    let steps: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "sandbox",
            "backup",
            "backup again",
            "export + verify",
            "restore",
            "check"
        ]
    );
    assert!(
        doc["steps"][2]["detail"]
            .as_str()
            .unwrap()
            .contains("14 reused, 0 exports"),
        "{doc}"
    );
    for kept in [
        "sandbox/sandbox.sqlite",
        "repo/orgpack-layout",
        "demo.orgpack",
        "restore.json",
    ] {
        assert!(keep.join(kept).exists(), "{kept} was not kept");
    }
    let verify = orgpack(&[
        "verify",
        "--read-data",
        keep.join("demo.orgpack").to_str().unwrap(),
    ]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));

    // A directory with something in it is not used.
    let again = orgpack(&["demo", "--keep", keep.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));
}
