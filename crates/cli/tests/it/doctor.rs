//! `orgpack doctor`: an administrator of the demo organization is ready; an account without
//! administrator privileges is told each privilege it lacks and what for; a repository held by
//! a prune is reported locked.

use std::path::Path;
use std::process::{Command, Output};

use crate::stderr;

const PW: &str = "Doctor-pw-27";

fn orgpack(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ORGPACK_DEMO_PASSWORD", PW)
        .env_remove("ORGPACK_JSON")
        .output()
        .unwrap()
}

fn checks(out: &Output) -> Vec<serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(out)));
    crate::spec::check_documented(&doc, "doctor");
    doc["checks"].as_array().unwrap().clone()
}

fn status<'a>(checks: &'a [serde_json::Value], name: &str) -> (&'a str, &'a str) {
    let c = checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {checks:#?}"));
    (c["status"].as_str().unwrap(), c["detail"].as_str().unwrap())
}

#[test]
fn an_account_without_admin_privileges_is_told_each_one_it_lacks() {
    let (_rt, sandbox, _) = crate::demo_sandbox(PW);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orgpack.toml");
    let url = sandbox.portal_url("demo");
    std::fs::write(
        &config,
        format!(
            "[portal.prod]\nurl = \"{url}\"\nusername = \"admin\"\npassword_env = \"ORGPACK_DEMO_PASSWORD\"\n\n\
             [portal.editor]\nurl = \"{url}\"\nusername = \"editor\"\npassword_env = \"ORGPACK_DEMO_PASSWORD\"\n"
        ),
    )
    .unwrap();
    let repo = dir.path().join("repo");
    let repo_arg = repo.to_str().unwrap();

    // The administrator: ready, for a backup into a new repository.
    let out = orgpack(&config, &["--json", "doctor", "prod", "--repo", repo_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let admin = checks(&out);
    for c in &admin {
        // Free space is the machine's, not the account's: below 5 % it warns (exit code 0 all
        // the same), which a busy build machine may well be.
        if c["check"] == "free space" {
            assert!(c["status"] == "ok" || c["status"] == "warn", "{c:#}");
            continue;
        }
        assert_eq!(c["status"], "ok", "{c:#}");
    }
    for name in [
        "clock",
        "sign-in",
        "portal",
        "privileges for backup",
        "exports",
        "privileges for restore",
        "repository",
        "writable",
        "free space",
    ] {
        status(&admin, name);
    }
    assert_eq!(status(&admin, "sign-in").1, "admin (org_admin)");

    // A publisher: each privilege a backup needs and it lacks is named, with what for; exit 1.
    let out = orgpack(&config, &["--json", "doctor", "editor", "--for", "backup"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let editor = checks(&out);
    let (s, detail) = status(&editor, "privileges for backup");
    assert_eq!(s, "fail");
    for privilege in [
        "portal:admin:viewItems",
        "portal:admin:viewGroups",
        "portal:admin:viewUsers",
    ] {
        assert!(
            detail.contains(privilege),
            "{privilege} not named: {detail}"
        );
    }
    assert!(!detail.contains("portal:user:createItem"), "{detail}");
    assert!(
        editor
            .iter()
            .all(|c| c["check"] != "privileges for restore"),
        "--for backup checks no restore: {editor:#?}"
    );
    let out = orgpack(&config, &["doctor", "editor", "--for", "restore"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for privilege in [
        "portal:admin:reassignItems",
        "portal:admin:createUpdateCapableGroup",
        "portal:admin:inviteUsers",
    ] {
        assert!(text.contains(privilege), "{privilege} not named:\n{text}");
    }
    assert!(
        stderr(&out).contains("give editor the Administrator role"),
        "{}",
        stderr(&out)
    );

    // A repository held by a prune is reported locked (a warning: the run would wait).
    let mut made =
        orgpack_archive::Repository::init(&repo, orgpack_archive::ChunkerParams::default())
            .unwrap();
    orgpack_archive::sample::write_sample(&mut made, "2026-11-26T02:00:00Z", 1 << 20).unwrap();
    drop(made);
    let held = orgpack_archive::Repository::open_exclusive(&repo, "prune").unwrap();
    let out = orgpack(
        &config,
        &[
            "--json", "doctor", "prod", "--for", "backup", "--repo", repo_arg,
        ],
    );
    drop(held);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let locked = checks(&out);
    assert_eq!(status(&locked, "repository").0, "ok");
    assert!(status(&locked, "repository").1.contains("1 snapshots"));
    let (s, detail) = status(&locked, "lock");
    assert_eq!(s, "warn");
    assert!(detail.contains("prune"), "{detail}");

    // A wrong password: the sign-in fails, the rest is not checked.
    let out = Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--json",
            "doctor",
            "prod",
        ])
        .env("ORGPACK_DEMO_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let failed = checks(&out);
    assert_eq!(status(&failed, "sign-in").0, "fail");
    assert_eq!(status(&failed, "privileges").0, "skipped");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("wrong"));
}
