//! The README's examples, run as written: every command line of its `sh`, `cron` and systemd
//! blocks, with the README's placeholders replaced by a sandbox's names, exits as the README
//! says. Lines that cannot run here are named with the reason (the list is checked: a line
//! skipped must still be in the README).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use orgpack_sandbox::{Faults, Sandbox, SandboxOptions};

use crate::stderr;

const PW: &str = "Readme-pw-41";

/// README lines not run here, and why.
const NOT_RUN: [(&str, &str); 6] = [
    (
        "cargo run --release -- demo",
        "`orgpack demo` is run by demo.rs",
    ),
    ("./scripts/test", "the test command itself"),
    (
        "orgpack login prod",
        "needs a browser and an OAuth application",
    ),
    (
        "orgpack sandbox --data ./rehearsal",
        "serves until stopped; graph.rs runs `orgpack sandbox`",
    ),
    (
        "orgpack copy /backups/prod s3://",
        "needs an S3 bucket: scripts/object-stores runs copies to moto's S3 and to Azurite",
    ),
    (
        "orgpack copy /backups/sealed az://",
        "needs an Azure container: scripts/object-stores runs copies to Azurite",
    ),
];

/// The README's fenced blocks of `lang`, each as its lines.
fn blocks(readme: &str, lang: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in readme.lines() {
        match &mut current {
            None if line.trim() == format!("```{lang}") => current = Some(Vec::new()),
            Some(_) if line.trim() == "```" => out.push(current.take().unwrap()),
            Some(lines) => lines.push(line.to_owned()),
            None => {}
        }
    }
    out
}

/// A command line without its trailing comment (two spaces or more, then `#`).
fn command_of(line: &str) -> String {
    let mut cut = line.len();
    for (i, _) in line.match_indices(" #") {
        if line[..i].ends_with(' ') {
            cut = i;
            break;
        }
    }
    line[..cut].trim().to_owned()
}

struct Scene {
    rt: tokio::runtime::Runtime,
    sandbox: Sandbox,
    dir: tempfile::TempDir,
    bin: PathBuf,
    config: PathBuf,
    words: BTreeMap<&'static str, String>,
}

impl Scene {
    fn new() -> Self {
        use std::fmt::Write as _;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (sandbox, demo) = rt.block_on(async {
            let s = Sandbox::start(SandboxOptions::default()).await.unwrap();
            let demo = s.seed_demo("demo", PW).await.unwrap();
            for org in ["dr", "training"] {
                s.add_org(org, org).unwrap();
                s.add_user(org, "admin", PW, "org_admin").unwrap();
            }
            (s, demo)
        });
        let dir = tempfile::tempdir().unwrap();
        // `orgpack` on the PATH, as an installed binary is.
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_orgpack"), bin.join("orgpack")).unwrap();
        // The README's portals: prod is the demo organization, dr and training empty ones.
        let config = dir.path().join("orgpack.toml");
        let mut text = String::new();
        for (name, org) in [("prod", "demo"), ("dr", "dr"), ("training", "training")] {
            let url = sandbox.portal_url(org);
            writeln!(
                text,
                "[portal.{name}]\nurl = \"{url}\"\nusername = \"admin\"\npassword_env = \"ORGPACK_PROD_PASSWORD\"\n"
            )
            .unwrap();
        }
        std::fs::write(&config, text).unwrap();
        let map = demo.items["inspections-map"].clone();
        let root = dir.path().to_owned();
        std::fs::write(root.join("owners.csv"), "source,target\neditor,admin\n").unwrap();
        std::fs::copy(
            crate::fixtures().join("demo-org/City.gdb.zip"),
            root.join("Parcels.gdb.zip"),
        )
        .unwrap();
        std::fs::copy(
            crate::fixtures().join("demo-org/inspections-map.json"),
            root.join("webmap-data.json"),
        )
        .unwrap();
        std::fs::write(root.join("passphrase"), "a passphrase kept in a file\n").unwrap();
        std::fs::write(dir.path().join("second-passphrase"), "another one\n").unwrap();
        let group = demo.groups["field-crews"].clone();
        let words = BTreeMap::from([
            (
                "/backups/prod",
                root.join("backups/prod").display().to_string(),
            ),
            ("OTHER_REPO", root.join("other").display().to_string()),
            ("REPO", root.join("backups/prod").display().to_string()),
            ("ITEM_ID", map.clone()),
            ("9f8e…", map),
            ("c0ffee…", group),
            ("alice/Planning", "editor/Planning".to_owned()),
            (
                "ORGPACK_PROD_PASSWORD=…",
                format!("ORGPACK_PROD_PASSWORD={PW}"),
            ),
            (
                "ORGPACK_INITIAL_PASSWORD=…",
                "ORGPACK_INITIAL_PASSWORD=Initial-pw-77".to_owned(),
            ),
            (
                "/usr/local/bin/orgpack",
                bin.join("orgpack").display().to_string(),
            ),
            ("/etc/orgpack/orgpack.toml", config.display().to_string()),
            (
                "/etc/orgpack/passphrase",
                root.join("passphrase").display().to_string(),
            ),
            (
                "/backups/sealed",
                root.join("backups/sealed").display().to_string(),
            ),
        ]);
        Self {
            rt,
            sandbox,
            dir,
            bin,
            config,
            words,
        }
    }

    /// `line` with the README's placeholders replaced (`<older-snapshot>`: the first snapshot).
    fn concrete(&self, line: &str) -> String {
        let mut out = line.to_owned();
        if out.contains("<older-snapshot>") {
            let first = self.run("orgpack --json snapshots /backups/prod");
            let doc: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
            let id = doc["snapshots"][0]["id"].as_str().unwrap().to_owned();
            out = out.replace("<older-snapshot>", &id);
        }
        for (word, value) in &self.words {
            // Whole words only for the capitalised placeholders (REPO inside OTHER_REPO).
            let mut rebuilt = String::new();
            let mut rest = out.as_str();
            while let Some(i) = rest.find(word) {
                let before = rest[..i].chars().last();
                let after = rest[i + word.len()..].chars().next();
                let glued =
                    |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                rebuilt.push_str(&rest[..i]);
                if glued(before) || glued(after) {
                    rebuilt.push_str(word);
                } else {
                    rebuilt.push_str(value);
                }
                rest = &rest[i + word.len()..];
            }
            rebuilt.push_str(rest);
            out = rebuilt;
        }
        out
    }

    /// Run one command line with `sh`, in the scene's directory, as a user with the README's
    /// environment (the config and the password; `orgpack` on the PATH).
    fn run(&self, line: &str) -> Output {
        let line = self.concrete(line);
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("sh")
            .arg("-c")
            .arg(&line)
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("ORGPACK_CONFIG", &self.config)
            .env("ORGPACK_PROD_PASSWORD", PW)
            .env_remove("ORGPACK_JSON")
            .output()
            .unwrap()
    }

    fn expect(&self, line: &str, codes: &[i32]) -> Output {
        let out = self.run(line);
        assert!(
            out.status.code().is_some_and(|c| codes.contains(&c)),
            "`{line}` exited {:?}, not {codes:?}\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
        out
    }
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap()
}

#[test]
fn every_command_in_the_readme_runs_as_written() {
    let readme = readme();
    for (line, why) in NOT_RUN {
        assert!(
            readme.contains(line),
            "`{line}` ({why}) is no longer in the README"
        );
    }
    let scene = Scene::new();
    let mut ran = 0;
    for block in blocks(&readme, "sh") {
        for line in block {
            let command = command_of(&line);
            if command.is_empty() || NOT_RUN.iter().any(|(l, _)| command.starts_with(l)) {
                continue;
            }
            let nightly = scene.dir.path().join("nightly.orgpack");
            if command.starts_with("orgpack export") {
                // Made for the restore example above; this is the export that makes it.
                let _ = std::fs::remove_file(&nightly);
            } else if command.contains("nightly.orgpack") && !nightly.exists() {
                // The restore example reads the file the archive examples make further down.
                scene.expect(
                    "orgpack export /backups/prod --snapshot latest -o nightly.orgpack",
                    &[0],
                );
            }
            scene.expect(&command, &[0]);
            ran += 1;
        }
    }
    assert!(ran >= 20, "only {ran} README commands ran");
    // What they made is there: the repository verifies, the file is a zip, the report was written.
    scene.expect("orgpack verify --read-data /backups/prod", &[0]);
    assert!(scene.dir.path().join("restore.json").exists());
    assert!(scene.dir.path().join("planning.orgpack").exists());
}

#[test]
fn the_scheduled_lines_prune_and_verify_even_when_a_backup_misses_parts() {
    let readme = readme();
    let cron: Vec<String> = blocks(&readme, "cron").concat();
    assert_eq!(cron.len(), 2, "{cron:?}");
    let scene = Scene::new();
    for (n, entry) in cron.iter().enumerate() {
        // Five schedule fields, then the command line cron gives to sh.
        let command: String = entry
            .split_whitespace()
            .skip(5)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(command.contains("orgpack backup"), "{entry}");
        // The first night misses a part (one item's data cannot be read): exit 3 inside, and
        // still the repository is pruned and verified.
        if n == 0 {
            scene.sandbox.set_faults(Faults {
                refuse: Some("/data".into()),
                refuse_item: Some(scene.words["ITEM_ID"].as_str().into()),
                ..Faults::default()
            });
        }
        let out = scene.expect(&command, &[0]);
        scene.sandbox.set_faults(Faults::default());
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(
            text.contains("no problems found"),
            "`{command}` did not reach verify:\n{text}"
        );
        if n == 0 {
            assert!(text.contains("1 parts could not be captured"), "{text}");
            assert!(text.contains("kept 1 snapshots"), "no prune ran:\n{text}");
        } else {
            assert!(
                text.contains("restorable: snapshot"),
                "no rehearsal:\n{text}"
            );
        }
    }

    // The systemd service: ExecStart may exit with a SuccessExitStatus, then ExecStartPost runs.
    let unit: Vec<String> = blocks(&readme, "ini").concat();
    let value = |key: &str| -> Vec<String> {
        unit.iter()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
            .collect()
    };
    let ok: Vec<i32> = std::iter::once(0)
        .chain(
            value("SuccessExitStatus")
                .iter()
                .flat_map(|v| v.split_whitespace().map(|c| c.parse::<i32>().unwrap())),
        )
        .collect();
    assert_eq!(value("ExecStart").len(), 1);
    // The map was edited since: tonight's backup reads its data again, and cannot.
    scene.rt.block_on(async {
        let editor = orgpack_portal::Client::new(
            orgpack_portal::PortalUrl::parse(&scene.sandbox.portal_url("demo")).unwrap(),
            orgpack_portal::Credentials::Password {
                username: "admin".into(),
                password: PW.into(),
            },
            orgpack_portal::ClientOptions::default(),
        )
        .unwrap();
        let id = &scene.words["ITEM_ID"];
        let owner = editor.item(id).await.unwrap()["owner"]
            .as_str()
            .unwrap()
            .to_owned();
        editor
            .update_item(
                &owner,
                None,
                id,
                &[("snippet", "Edited today")],
                orgpack_portal::Content::None,
            )
            .await
            .unwrap();
    });
    scene.sandbox.set_faults(Faults {
        refuse: Some("/data".into()),
        refuse_item: Some(scene.words["ITEM_ID"].as_str().into()),
        ..Faults::default()
    });
    let start = scene.expect(&value("ExecStart")[0], &ok);
    scene.sandbox.set_faults(Faults::default());
    assert_eq!(start.status.code(), Some(3), "the fault makes a part miss");
    for post in value("ExecStartPost") {
        scene.expect(&post, &[0]);
    }
}

#[test]
fn backup_and_restore_print_the_documented_json() {
    let scene = Scene::new();
    let json = |line: &str, code: i32| {
        let out = scene.expect(line, &[code]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        crate::spec::check_documented(&doc, line);
        doc
    };
    json(
        "orgpack --json backup --from prod --repo /backups/prod --all --dry-run",
        0,
    );
    let backup = json(
        "orgpack --json backup --from prod --repo /backups/prod --all",
        0,
    );
    assert!(backup["failures"].as_array().unwrap().is_empty());
    json("orgpack --json restore /backups/prod --to dr --dry-run", 0);
    let restored = json(
        "orgpack --json restore /backups/prod --to dr --to training",
        0,
    );
    assert_eq!(restored["complete"], true);
    json(
        "orgpack --json restore /backups/prod --to prod --dry-run",
        0,
    );
}
