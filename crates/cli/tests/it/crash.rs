//! `kill -9` of `orgpack backup` and `orgpack restore` at seeded points of their work, then
//! running them again, as a power cut or an OOM kill would leave them.
//!
//! What must hold after every kill: the repository verifies. After the rerun: no temporary export
//! item is left in the source, the snapshot holds what an uninterrupted run's holds, the target
//! holds exactly what an uninterrupted restore makes (no duplicates), and a further rerun changes
//! nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl};
use orgpack_sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

use crate::{stderr, stdout};

const PW: &str = "Crash-pw-3";
/// Kills per command, each at a point drawn from the seed: 5, or `ORGPACK_CRASH_KILLS` for the
/// long local variant.
fn kills() -> usize {
    std::env::var("ORGPACK_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5)
}

fn orgpack(config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orgpack"));
    c.arg("--config")
        .arg(config)
        .args(args)
        .env("ORGPACK_SANDBOX_PASSWORD", PW)
        .env_remove("ORGPACK_JSON");
    c
}

/// Run to the end; the JSON it printed.
fn finish(config: &Path, args: &[&str]) -> Value {
    let out = orgpack(config, &["--json"]).args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Start `args` and `kill -9` it once the sandbox has served `after` more requests (or let it
/// end, when it makes fewer). Returns whether it was killed.
fn kill_after(sandbox: &Sandbox, config: &Path, args: &[&str], after: u64) -> bool {
    let start = sandbox.requests();
    let mut child: Child = orgpack(config, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let (mut err, mut out) = (String::new(), String::new());
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
            assert!(
                status.success(),
                "{args:?} failed before it was killed: {err}\n{out}"
            );
            return false;
        }
        if sandbox.requests() >= start + after {
            child.kill().unwrap(); // SIGKILL: no destructor, no cleanup
            child.wait().unwrap();
            return true;
        }
        assert!(Instant::now() < deadline, "{args:?} hung");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Seeded points in `1..=total` (xorshift; the seed is printed on failure).
fn points(seed: u64, total: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..kills())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % total.max(1)
        })
        .collect()
}

fn client(sandbox: &Sandbox, org: &str) -> Client {
    Client::new(
        PortalUrl::parse(&sandbox.portal_url(org)).unwrap(),
        Credentials::Password {
            username: "admin".into(),
            password: PW.into(),
        },
        ClientOptions::default(),
    )
    .unwrap()
}

/// An organization's items as (type, title, owner, access) → how many.
async fn census(c: &Client) -> BTreeMap<(String, String, String, String), usize> {
    let mut out = BTreeMap::new();
    for item in c.search_all("*", 100).await.unwrap() {
        let s = |k: &str| item[k].as_str().unwrap_or_default().to_owned();
        // A map area's package is titled after its area (`<service>-<area id>`), which each
        // restore makes anew.
        let title = match s("title").rsplit_once('-') {
            Some((service, id)) if s("type") == "SQLite Geodatabase" && id.len() == 32 => {
                format!("{service}-{{area}}")
            }
            _ => s("title"),
        };
        *out.entry((s("type"), title, s("owner"), s("access")))
            .or_default() += 1;
    }
    out
}

fn snapshot_items(repo: &Path) -> Vec<(String, String, u64, u64)> {
    let out = Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .args(["--json", "ls"])
        .arg(repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut items: Vec<_> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["type"].as_str().unwrap().to_owned(),
                i["payloads"].as_u64().unwrap(),
                i["resources"].as_u64().unwrap(),
            )
        })
        .collect();
    items.sort();
    items
}

fn verify(repo: &Path) {
    if !repo.join("orgpack-layout").exists() {
        return; // killed before the repository was made
    }
    let out = Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .arg("verify")
        .arg(repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A sandbox serving the demo organization and empty `others`, on a runtime of its own, and a
/// config file naming them all.
fn demo_sandbox(
    others: &[&str],
) -> (
    tokio::runtime::Runtime,
    Sandbox,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    use std::fmt::Write as _;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = rt.block_on(async {
        let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
        s.seed_demo("demo", PW).await.unwrap();
        for org in others {
            s.add_org(org, org).unwrap();
            s.add_user(org, "admin", PW, "org_admin").unwrap();
        }
        s
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orgpack.toml");
    let mut text = String::new();
    for org in std::iter::once(&"demo").chain(others) {
        let url = sandbox.portal_url(org);
        writeln!(
            text,
            "[portal.{org}]\nurl = \"{url}\"\nusername = \"admin\""
        )
        .unwrap();
        writeln!(text, "password_env = \"ORGPACK_SANDBOX_PASSWORD\"\n").unwrap();
    }
    std::fs::write(&config, text).unwrap();
    (rt, sandbox, dir, config)
}

#[test]
fn a_full_disk_fails_the_backup_clearly_and_the_repository_loses_nothing() {
    let (rt, sandbox, dir, config) = demo_sandbox(&[]);
    let repo = dir.path().join("repo");
    let args = [
        "backup",
        "--from",
        "demo",
        "--all",
        "--repo",
        repo.to_str().unwrap(),
    ];
    // Every file orgpack writes may grow to 8 KiB (RLIMIT_FSIZE, in 512-byte blocks; SIGXFSZ
    // ignored, so the write that would pass it fails with EFBIG as a full disk fails one).
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 16 && trap '' XFSZ && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_orgpack"))
        .arg("--config")
        .arg(&config)
        .args(args)
        .env("ORGPACK_SANDBOX_PASSWORD", PW)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("File too large") && err.contains(repo.to_str().unwrap()),
        "the error names the cause and the file: {err}"
    );
    assert!(!err.contains(PW));
    verify(&repo);
    let listed = Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .args(["--json", "snapshots"])
        .arg(&repo)
        .output()
        .unwrap();
    let listed: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(
        listed["snapshots"],
        serde_json::json!([]),
        "no snapshot was committed"
    );

    // With room again, the same command completes, and no export is left in the source.
    let done = finish(&config, &args);
    assert_eq!(done["items"], 35, "{done}");
    verify(&repo);
    let leftovers = rt
        .block_on(client(&sandbox, "demo").search_all("title:orgpack-export*", 100))
        .unwrap();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// The seed and the kill points go to stderr, which the test harness shows only on failure.
#[allow(clippy::print_stderr)]
#[test]
fn killed_backups_and_restores_rerun_to_what_an_uninterrupted_run_makes() {
    let seed: u64 = std::env::var("ORGPACK_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005e_ed0f_c4a5);
    eprintln!("crash seed {seed} (ORGPACK_CRASH_SEED reruns it)");
    let (rt, sandbox, dir, config) = demo_sandbox(&["clean", "target"]);
    let demo = client(&sandbox, "demo");

    // The uninterrupted runs, and what they cost in requests.
    let clean_repo = dir.path().join("clean-repo");
    let before = sandbox.requests();
    finish(
        &config,
        &[
            "backup",
            "--from",
            "demo",
            "--all",
            "--repo",
            clean_repo.to_str().unwrap(),
        ],
    );
    let backup_requests = sandbox.requests() - before;
    let before = sandbox.requests();
    finish(
        &config,
        &["restore", clean_repo.to_str().unwrap(), "--to", "clean"],
    );
    let restore_requests = sandbox.requests() - before;
    let expected = rt.block_on(census(&client(&sandbox, "clean")));
    assert!(expected.len() >= 15, "{expected:?}");

    // Backups killed at seeded points; the repository verifies after each.
    let repo = dir.path().join("repo");
    let backup = [
        "backup",
        "--from",
        "demo",
        "--all",
        "--repo",
        repo.to_str().unwrap(),
    ];
    let mut killed = 0;
    for point in points(seed, backup_requests) {
        let k = kill_after(&sandbox, &config, &backup, point);
        eprintln!("backup point {point} of {backup_requests}: killed {k}");
        killed += usize::from(k);
        verify(&repo);
    }
    assert!(killed > 0, "no backup was killed (seed {seed})");
    finish(&config, &backup);
    verify(&repo);
    assert_eq!(snapshot_items(&repo), snapshot_items(&clean_repo));
    let leftovers: Vec<String> = rt
        .block_on(demo.search_all("title:orgpack-export*", 100))
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary exports left in the source after the rerun (seed {seed}): {leftovers:?}"
    );
    let ledgers: Vec<_> = std::fs::read_dir(repo.join("tmp"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !ledgers
            .iter()
            .any(|n| n.to_string_lossy().starts_with("orgpack-exports-")),
        "{ledgers:?}"
    );

    // Restores killed at seeded points; the rerun makes exactly what the clean one made.
    let journals = dir.path().join("journals");
    let restore = [
        "restore",
        repo.to_str().unwrap(),
        "--to",
        "target",
        "--journal-dir",
        journals.to_str().unwrap(),
    ];
    let mut killed = 0;
    for point in points(seed.rotate_left(17), restore_requests) {
        let k = kill_after(&sandbox, &config, &restore, point);
        eprintln!("restore point {point} of {restore_requests}: killed {k}");
        killed += usize::from(k);
    }
    assert!(killed > 0, "no restore was killed (seed {seed})");
    finish(&config, &restore);
    let target = client(&sandbox, "target");
    assert_eq!(
        rt.block_on(census(&target)),
        expected,
        "the target after killed restores and a rerun differs from a clean restore (seed {seed})"
    );
    let again = finish(&config, &restore);
    let created: u64 = again["targets"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "created")
        .count() as u64;
    assert_eq!(
        created, 0,
        "a rerun after completion created items: {again}"
    );
    assert_eq!(rt.block_on(census(&target)), expected);
}

/// An in-place restore killed at seeded points, then run again: the organization ends as the
/// snapshot has it, with nothing duplicated, and a further plan finds nothing to do.
#[allow(clippy::print_stderr)]
#[test]
fn killed_in_place_restores_rerun_to_the_snapshots_state() {
    let seed: u64 = std::env::var("ORGPACK_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005e_ed0f_c4a5_u64)
        .rotate_left(29);
    eprintln!("crash seed {seed}");
    let (rt, sandbox, dir, config) = demo_sandbox(&[]);
    let demo = client(&sandbox, "demo");
    let repo = dir.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    finish(
        &config,
        &["backup", "--from", "demo", "--all", "--repo", repo_s],
    );
    let expected = rt.block_on(census(&demo));

    // Damage: the map deleted for good (it comes back with a new id, its references
    // re-pointed), the dashboard emptied.
    let found = |title: &str| {
        rt.block_on(demo.search_all(&format!("title:\"{title}\""), 100))
            .unwrap()
            .into_iter()
            .find(|i| i["title"] == title)
            .unwrap()
    };
    let map = found("Hydrant inspections");
    let dashboard = found("Hydrant dashboard");
    rt.block_on(async {
        demo.delete_item("editor", map["id"].as_str().unwrap())
            .await
            .unwrap();
        demo.update_item(
            "editor",
            None,
            dashboard["id"].as_str().unwrap(),
            &[],
            orgpack_portal::Content::Text("{}"),
        )
        .await
        .unwrap();
    });

    let journals = dir.path().join("journals");
    let restore = [
        "restore",
        repo_s,
        "--to",
        "demo",
        "--journal-dir",
        journals.to_str().unwrap(),
    ];
    let before = sandbox.requests();
    let plan = finish(&config, &[&restore[..], &["--dry-run"]].concat());
    assert!(
        plan["targets"][0]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("in place:")),
        "{plan}"
    );
    // A run costs a few times its plan: the pre-restore backup, the plan again, the work.
    let span = (sandbox.requests() - before) * 4;
    let mut killed = 0;
    for point in points(seed, span) {
        let k = kill_after(&sandbox, &config, &restore, point);
        eprintln!("in-place point {point} of {span}: killed {k}");
        killed += usize::from(k);
        verify(&repo);
    }
    assert!(killed > 0, "no in-place restore was killed (seed {seed})");
    finish(&config, &restore);
    assert_eq!(
        rt.block_on(census(&demo)),
        expected,
        "after killed in-place restores and a rerun, the organization differs from its snapshot (seed {seed})"
    );
    let again = finish(&config, &[&restore[..], &["--dry-run"]].concat());
    let left: Vec<&Value> = again["targets"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] != "skip")
        .collect();
    assert!(left.is_empty(), "still to do after the rerun: {left:?}");
}
