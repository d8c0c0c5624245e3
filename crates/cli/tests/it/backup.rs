//! `orgpack sandbox --write-config`, then `orgpack backup` and `orgpack diff` against it, as a user
//! would run them.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use orgpack_portal::{Client, ClientOptions, Content, Credentials, PortalUrl};

use crate::{stderr, stdout};

const PW: &str = "Cli-backup-pw-5";

struct Served {
    child: Child,
    url: String,
    /// The certificate to trust, over HTTPS.
    certificate: Option<Vec<u8>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(config: &Path, tls: bool) -> Served {
    serve_orgs(config, tls, &["--org", "source", "--org", "target"])
}

fn serve_orgs(config: &Path, tls: bool, orgs: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .args(["--json", "sandbox"])
        .args(orgs)
        .arg("--write-config")
        .arg(config)
        .args(if tls { &["--tls"][..] } else { &[][..] })
        .env("ORGPACK_SANDBOX_PASSWORD", PW)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut text = String::new();
    let doc: serde_json::Value = loop {
        let mut buf = [0u8; 256];
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "the sandbox exited early: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Ok(v) = serde_json::from_str(&text) {
            break v;
        }
    };
    Served {
        child,
        url: doc["portals"][0].as_str().unwrap().to_owned(),
        certificate: doc["certificate"]
            .as_str()
            .map(std::fs::read)
            .map(Result::unwrap),
    }
}

fn orgpack_with(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ORGPACK_SANDBOX_PASSWORD", PW)
        .env_remove("ORGPACK_JSON")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

/// The served `source` organization's administrator.
fn admin(served: &Served) -> Client {
    Client::new(
        PortalUrl::parse(&served.url).unwrap(),
        Credentials::Password {
            username: "admin".into(),
            password: PW.into(),
        },
        ClientOptions {
            ca_certs: served.certificate.iter().cloned().collect(),
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

/// Invite a member into the served `source` organization.
fn invite(served: &Served, username: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let admin = admin(served);
        let member = orgpack_portal::NewMember {
            username,
            full_name: "New Analyst",
            email: "analyst@example.org",
            role: "org_user",
            user_type: "creatorUT",
            ..orgpack_portal::NewMember::default()
        };
        let refused = admin.invite(&[member]).await.unwrap();
        assert!(refused.is_empty(), "{refused:?}");
    });
}

/// A web map using a service item, a hosted service, shared into a group.
fn seed(served: &Served) -> (String, String, String) {
    let url = served.url.as_str();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let admin = admin(served);
        let service = format!("{url}/server/rest/services/Roads/FeatureServer");
        let roads = admin
            .add_item(
                "admin",
                None,
                &[("title", "Roads"), ("type", "Feature Service")],
                Content::Url(&service),
                1 << 20,
            )
            .await
            .unwrap();
        let map = serde_json::json!({"operationalLayers": [{"itemId": roads, "url": format!("{service}/2")}]});
        let map = admin
            .add_item(
                "admin",
                None,
                &[("title", "Road map"), ("type", "Web Map")],
                Content::Text(&map.to_string()),
                1 << 20,
            )
            .await
            .unwrap();
        let hosted = admin
            .add_item(
                "admin",
                None,
                &[
                    ("title", "Potholes"),
                    ("type", "Feature Service"),
                    ("typeKeywords", "Hosted Service"),
                ],
                Content::Url(&format!("{url}/server/rest/services/Hosted/Potholes/FeatureServer")),
                1 << 20,
            )
            .await
            .unwrap();
        (roads, map, hosted)
    })
}

#[test]
fn backup_incrementally_then_diff_then_a_single_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orgpack.toml");
    let served = serve(&config, false);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("[portal.source]"), "{text}");
    assert!(!text.contains(PW), "the config holds the password: {text}");
    let (roads, map, hosted) = seed(&served);
    let repo = dir.path().join("repo");
    let repo_s = repo.to_str().unwrap();

    // Plan only: nothing is written.
    let plan = orgpack_with(
        &config,
        &[
            "--json",
            "backup",
            "--from",
            "source",
            "--repo",
            repo_s,
            "--item",
            &map,
            "--dry-run",
        ],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let plan = json(&plan);
    assert_eq!(plan["message_type"], "backup_plan");
    let planned: Vec<&str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(planned.len(), 2, "{plan}");
    assert!(planned.contains(&roads.as_str()));
    let why = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == roads.as_str())
        .unwrap()["why"]
        .clone();
    assert_eq!(why["kind"], "dependency");
    assert_eq!(why["of"], map.as_str());
    assert!(!repo.exists(), "a dry run creates nothing");

    // The whole org, services by reference: complete, exit 0.
    let args = [
        "--json",
        "backup",
        "--from",
        "source",
        "--repo",
        repo_s,
        "--all",
        "--export",
        "reference",
    ];
    let first = orgpack_with(&config, &args);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    for out in [&first.stdout, &first.stderr] {
        assert!(!String::from_utf8_lossy(out).contains(PW));
    }
    let first = json(&first);
    assert_eq!(first["items"], 3);
    assert_eq!(first["reused"], 0);

    let second = json(&orgpack_with(&config, &args));
    assert_eq!(second["reused"], 3);
    assert_eq!(second["parent"], first["snapshot"]);

    let diff = orgpack_with(
        &config,
        &[
            "--json",
            "diff",
            repo_s,
            first["snapshot"].as_str().unwrap(),
            "latest",
        ],
    );
    assert_eq!(diff.status.code(), Some(0), "{}", stderr(&diff));
    let diff = json(&diff);
    assert_eq!(diff["unchanged"], 3);
    assert_eq!(diff["changed"].as_array().unwrap().len(), 0);
    let table = orgpack_with(
        &config,
        &[
            "diff",
            repo_s,
            first["snapshot"].as_str().unwrap(),
            "latest",
        ],
    );
    assert!(
        stderr(&table).contains("0 added, 0 removed, 0 changed, 3 unchanged"),
        "{}",
        stderr(&table)
    );

    // A new member and a group membership: the next nightly's diff names them, `ls` lists
    // the members.
    invite(&served, "new.analyst");
    let third = json(&orgpack_with(&config, &args));
    let diff = json(&orgpack_with(
        &config,
        &[
            "--json",
            "diff",
            repo_s,
            second["snapshot"].as_str().unwrap(),
            third["snapshot"].as_str().unwrap(),
        ],
    ));
    assert_eq!(diff["usersAdded"], serde_json::json!(["new.analyst"]));
    assert_eq!(diff["changed"].as_array().unwrap().len(), 0);
    let table = orgpack_with(
        &config,
        &[
            "diff",
            repo_s,
            second["snapshot"].as_str().unwrap(),
            third["snapshot"].as_str().unwrap(),
        ],
    );
    let text = stdout(&table);
    assert!(
        text.lines()
            .any(|l| l.contains("user") && l.contains("new.analyst") && l.contains("added")),
        "{text}"
    );
    let ls = stdout(&orgpack_with(&config, &["ls", repo_s]));
    assert!(
        ls.lines()
            .any(|l| l.starts_with("new.analyst") && l.contains("org_user")),
        "{ls}"
    );

    // A fresh export is the default: this portal cannot export, so the snapshot is saved with
    // that failure, exit 3.
    let partial = orgpack_with(
        &config,
        &[
            "--json", "backup", "--from", "source", "--repo", repo_s, "--item", &hosted,
        ],
    );
    assert_eq!(partial.status.code(), Some(3), "{}", stderr(&partial));
    let partial = json(&partial);
    assert_eq!(partial["failures"][0]["id"], hosted.as_str());
    assert_eq!(partial["failures"][0]["part"], "export");

    // A single-file archive that verifies.
    let file = dir.path().join("org.orgpack");
    let single = orgpack_with(
        &config,
        &[
            "backup",
            "--from",
            "source",
            "-o",
            file.to_str().unwrap(),
            "--all",
            "--export",
            "reference",
        ],
    );
    assert_eq!(single.status.code(), Some(0), "{}", stderr(&single));
    assert!(stderr(&single).contains("3 items"), "{}", stderr(&single));
    let verify = orgpack_with(&config, &["verify", "--read-data", file.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));

    // A portal the config does not name.
    let unknown = orgpack_with(
        &config,
        &["backup", "--from", "nope", "--repo", repo_s, "--all"],
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no portal `nope`") && stderr(&unknown).contains("known: source"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn over_https_restore_with_a_dry_run_a_report_and_a_rerun_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orgpack.toml");
    let served = serve(&config, true);
    assert!(served.url.starts_with("https://"), "{}", served.url);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("ca_cert = "), "{text}");
    let (roads, map, _) = seed(&served);
    let repo = dir.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    let backup = orgpack_with(
        &config,
        &[
            "backup",
            "--from",
            "source",
            "--repo",
            repo_s,
            "--all",
            "--export",
            "reference",
        ],
    );
    assert_eq!(backup.status.code(), Some(0), "{}", stderr(&backup));

    let plan = orgpack_with(
        &config,
        &["--json", "restore", repo_s, "--to", "target", "--dry-run"],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let plan = json(&plan);
    assert_eq!(plan["message_type"], "restore_plan");
    assert_eq!(plan["targets"][0]["counts"]["planned"], 3);
    // Counts by item type, adding up to the counts.
    let types = plan["targets"][0]["types"].as_array().unwrap();
    assert_eq!(
        types
            .iter()
            .map(|t| t["planned"].as_u64().unwrap())
            .sum::<u64>(),
        3,
        "{types:?}"
    );
    assert!(
        types
            .iter()
            .any(|t| t["type"] == "Web Map" && t["planned"] == 1 && t["incomplete"] == 0),
        "{types:?}"
    );
    // The plan shows what each reference would become.
    let planned_map = plan["targets"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sourceId"] == map.as_str())
        .unwrap();
    let rewrites = planned_map["rewrites"].as_array().unwrap();
    assert!(
        rewrites
            .iter()
            .any(|r| r["from"] == roads.as_str() && r["to"] == "(the item this run creates)"),
        "{planned_map}"
    );
    assert!(
        rewrites.iter().any(|r| r["from"]
            .as_str()
            .unwrap()
            .ends_with("Roads/FeatureServer/2")),
        "{planned_map}"
    );

    let report = dir.path().join("restore.json");
    let out = orgpack_with(
        &config,
        &[
            "restore",
            repo_s,
            "--to",
            "target",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 created"), "{}", stderr(&out));
    assert!(!stdout(&out).contains(PW) && !stderr(&out).contains(PW));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written["targets"][0]["counts"]["created"], 3);
    assert!(written["targets"][0]["types"].is_array(), "{written}");
    let items = written["targets"][0]["items"].as_array().unwrap();
    let restored_map = items
        .iter()
        .find(|i| i["sourceId"] == map.as_str())
        .unwrap()["targetId"]
        .as_str()
        .unwrap()
        .to_owned();
    let csv = std::fs::read_to_string(dir.path().join("restore.target.idmap.csv")).unwrap();
    assert!(
        csv.contains(&format!("{map},{restored_map},Web Map,Road map")),
        "{csv}"
    );
    // The journal is beside the repository; nothing secret is in it or in the report.
    let journal = dir.path().join("repo.restore-target.sqlite");
    for file in [&journal, &report] {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !bytes.windows(PW.len()).any(|w| w == PW.as_bytes()),
            "{}",
            file.display()
        );
    }

    let again = orgpack_with(&config, &["--json", "restore", repo_s, "--to", "target"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let again = json(&again);
    assert_eq!(again["targets"][0]["counts"]["skipped"], 3);
    assert_eq!(again["targets"][0]["counts"]["created"], 0);

    let bad = orgpack_with(
        &config,
        &[
            "restore",
            repo_s,
            "--to",
            "target",
            "--item",
            "0123456789abcdef0123456789abcdef",
        ],
    );
    assert_eq!(bad.status.code(), Some(3), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("not in the snapshot"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn login_keeps_a_refresh_token_that_backups_then_sign_in_with() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orgpack.toml");
    let served = serve(&config, false);
    let mut login = Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .arg("--config")
        .arg(&config)
        .args([
            "login",
            "source",
            "--client-id",
            "orgpack-cli-test",
            "--timeout",
            "60",
        ])
        .env_remove("ORGPACK_JSON")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The address to open, as the user sees it.
    let mut err = std::io::BufReader::new(login.stderr.take().unwrap());
    let mut printed = String::new();
    let authorize = loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "login exited: {printed}"
        );
        printed.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("http") {
            break format!("http{url}");
        }
    };
    assert!(authorize.contains("response_type=code") && authorize.contains("code_challenge="));

    // The browser: the sign-in page, the form, then back to orgpack's listener.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let page = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let form = http
            .get(&authorize)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = form.find("name=\"oauth_state\" value=\"").unwrap() + 26;
        let state = &form[at..at + form[at..].find('"').unwrap()];
        let signin = http
            .post(format!("{}/sharing/oauth2/signin", served.url))
            .form(&[
                ("oauth_state", state),
                ("username", "admin"),
                ("password", PW),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(signin.status(), 302);
        let back = signin.headers()["location"].to_str().unwrap().to_owned();
        assert!(back.starts_with("http://127.0.0.1:"), "{back}");
        http.get(back).send().await.unwrap().text().await.unwrap()
    });
    assert!(page.contains("signed in as admin"), "{page}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    printed.push_str(&rest);
    let status = login.wait().unwrap();
    assert!(status.success(), "{printed}");

    // The config now signs in with the refresh token, not the password; the old one is kept.
    let text = std::fs::read_to_string(&config).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let source = &doc["portal"]["source"];
    assert_eq!(source["client_id"].as_str(), Some("orgpack-cli-test"));
    let refresh = source["refresh_token"].as_str().unwrap().to_owned();
    assert!(source.get("password_env").is_none() && source.get("password").is_none());
    assert!(dir.path().join("orgpack.toml.bak").is_file());
    assert!(!printed.contains(&refresh), "the token is never printed");
    let backup = Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .arg("--config")
        .arg(&config)
        .args(["--json", "backup", "--from", "source", "--all", "--repo"])
        .arg(dir.path().join("repo"))
        .env_remove("ORGPACK_SANDBOX_PASSWORD")
        .output()
        .unwrap();
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert!(!stdout(&backup).contains(&refresh) && !stderr(&backup).contains(&refresh));
}

#[test]
fn members_made_on_enterprise_with_an_initial_password_that_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orgpack.toml");
    let served = serve_orgs(
        &config,
        false,
        &["--org", "source", "--enterprise-org", "dr"],
    );
    seed(&served);
    invite(&served, "new.analyst");
    let repo = dir.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    let backup = orgpack_with(
        &config,
        &[
            "backup",
            "--from",
            "source",
            "--repo",
            repo_s,
            "--all",
            "--export",
            "reference",
        ],
    );
    assert_eq!(backup.status.code(), Some(0), "{}", stderr(&backup));

    let initial = "Temp-Initial-pw-77";
    let file = dir.path().join("initial.txt");
    std::fs::write(&file, format!("{initial}\n")).unwrap();
    let report = dir.path().join("restore.json");
    let restore = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_orgpack"))
            .arg("--config")
            .arg(&config)
            .args(["restore", repo_s, "--to", "dr", "--people", "create"])
            .args(extra)
            .env("ORGPACK_SANDBOX_PASSWORD", PW)
            .env_remove("ORGPACK_INITIAL_PASSWORD")
            .output()
            .unwrap()
    };
    // Without a password, the plan says no account can be made.
    let plan = restore(&["--dry-run"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let text = format!("{}{}", stdout(&plan), stderr(&plan));
    assert!(text.contains("need an initial password"), "{text}");

    let out = restore(&[
        "--initial-password-file",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for text in [
        stdout(&out),
        stderr(&out),
        std::fs::read_to_string(&report).unwrap(),
    ] {
        assert!(!text.contains(initial), "the password is shown: {text}");
    }
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if entry.path().is_file() && entry.path() != file {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !bytes
                    .windows(initial.len())
                    .any(|w| w == initial.as_bytes()),
                "{} holds the password",
                entry.path().display()
            );
        }
    }
    // The member was made with it, and signs in.
    let url = served.url.replace("/source", "/dr");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let analyst = Client::new(
            PortalUrl::parse(&url).unwrap(),
            Credentials::Password {
                username: "new.analyst".into(),
                password: initial.into(),
            },
            ClientOptions::default(),
        )
        .unwrap();
        let me = analyst.portal_self().await.unwrap();
        assert_eq!(me["user"]["username"], "new.analyst");
        assert_eq!(me["user"]["role"], "org_user");
    });
}

#[test]
fn in_place_puts_a_changed_map_back_and_its_pre_restore_snapshot_undoes_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orgpack.toml");
    let served = serve(&config, false);
    let (_, map, _) = seed(&served);
    let repo = dir.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    let backup = orgpack_with(
        &config,
        &[
            "backup",
            "--from",
            "source",
            "--repo",
            repo_s,
            "--all",
            "--export",
            "reference",
        ],
    );
    assert_eq!(backup.status.code(), Some(0), "{}", stderr(&backup));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let admin = admin(&served);
    let title = |admin: &Client| {
        runtime.block_on(async { admin.item(&map).await.unwrap()["title"].clone() })
    };
    let original = title(&admin);
    runtime.block_on(async {
        admin
            .update_item(
                "admin",
                None,
                &map,
                &[("title", "Broken map")],
                Content::None,
            )
            .await
            .unwrap();
    });

    // The plan says in place, and what differs.
    let plan = json(&orgpack_with(
        &config,
        &["--json", "restore", repo_s, "--to", "source", "--dry-run"],
    ));
    let target = &plan["targets"][0];
    assert!(
        target["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("in place:")),
        "{target}"
    );
    let entry = target["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["sourceId"] == map.as_str())
        .unwrap();
    assert_eq!(entry["action"], "putBack");
    assert!(
        entry["changes"][0]
            .as_str()
            .unwrap()
            .starts_with("title: \"Broken map\" →"),
        "{entry}"
    );
    assert_eq!(title(&admin), "Broken map", "a dry run changes nothing");

    let run = orgpack_with(&config, &["--json", "restore", repo_s, "--to", "source"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let run = json(&run);
    assert_eq!(title(&admin), original);
    let pre = run["preRestore"][0]["snapshot"]
        .as_str()
        .unwrap()
        .to_owned();
    let snapshots = json(&orgpack_with(&config, &["--json", "snapshots", repo_s]));
    let tagged = snapshots["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == pre.as_str())
        .unwrap();
    assert_eq!(tagged["tags"], serde_json::json!(["pre-restore"]));
    assert_eq!(tagged["items"], 1, "only what changed");

    // A second run changes nothing and takes no pre-restore snapshot.
    let again = json(&orgpack_with(
        &config,
        &["--json", "restore", repo_s, "--to", "source"],
    ));
    assert_eq!(again["preRestore"], serde_json::json!([]), "{again}");
    assert!(
        again["targets"][0]["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "skip")
    );

    // The pre-restore snapshot, restored in place, undoes the run.
    let undo = orgpack_with(
        &config,
        &[
            "restore",
            repo_s,
            "--snapshot",
            &pre,
            "--to",
            "source",
            "--in-place",
        ],
    );
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    assert_eq!(title(&admin), "Broken map");
}
