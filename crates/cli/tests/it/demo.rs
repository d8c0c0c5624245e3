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
            "check",
            "damage",
            "restore in place",
            "check in place"
        ]
    );
    let in_place = doc["steps"][7]["detail"].as_str().unwrap();
    for done in [
        "Hydrant inspections (undelete)",
        "Hydrant dashboard (put back)",
        "City (put back)",
        "pre-restore snapshot",
    ] {
        assert!(in_place.contains(done), "{in_place}");
    }
    assert!(
        doc["steps"][8]["detail"]
            .as_str()
            .unwrap()
            .starts_with("35 items as the backup has them"),
        "{doc}"
    );
    assert!(
        doc["steps"][2]["detail"]
            .as_str()
            .unwrap()
            .contains("35 reused, 0 exports"),
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

#[test]
fn no_password_or_token_in_anything_a_full_run_leaves() {
    const PW: &str = "Secret-demo-pw-8472";
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .args(["demo", "--keep", keep.to_str().unwrap()])
        .env("ORGPACK_SANDBOX_PASSWORD", PW)
        .env_remove("ORGPACK_JSON")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Every token the sandbox issued during the run, from its own database.
    let db = rusqlite::Connection::open(keep.join("sandbox/sandbox.sqlite")).unwrap();
    let tokens: Vec<String> = db
        .prepare("SELECT token FROM tokens")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!tokens.is_empty());
    let mut secrets = tokens;
    secrets.push(PW.to_owned());
    let contains = |hay: &[u8], what: &str| hay.windows(what.len()).any(|w| w == what.as_bytes());
    let mut checked = 0;
    // Logs (stdout, stderr), journals, reports, id maps and every file of the repository and the
    // single-file archive: stored bytes, and every part decoded.
    let mut files = vec![];
    let mut stack = vec![keep.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if !p.ends_with("sandbox") {
                    stack.push(p);
                }
            } else {
                files.push(p);
            }
        }
    }
    let mut blobs: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    blobs.push(("stdout".into(), out.stdout.clone()));
    blobs.push(("stderr".into(), out.stderr.clone()));
    for archive in [keep.join("repo"), keep.join("demo.orgpack")] {
        let a = orgpack_archive::Archive::open(&archive).unwrap();
        for entry in &a.index().snapshots {
            let snap = a.snapshot(&entry.id).unwrap();
            for part in snap.parts() {
                blobs.push((format!("{part}"), a.read_part(part.descriptor).unwrap()));
            }
        }
    }
    for (name, bytes) in &blobs {
        for secret in &secrets {
            assert!(!contains(bytes, secret), "{name} holds a secret");
        }
        checked += 1;
    }
    assert!(checked > 100, "only {checked} documents checked");
}
