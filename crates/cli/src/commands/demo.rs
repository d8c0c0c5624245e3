//! `orgpack demo [--keep DIR]`: the whole job on a local sandbox, with nothing to configure. A
//! demo organization is backed up twice (the second run incremental), exported to one file,
//! verified byte by byte, restored into two empty organizations at once, and read back; then it
//! is damaged and put back in place ([`super::demo_in_place`]), and read back again.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use orgpack_archive::{Archive, Repository, SingleFileWriter, VerifyOptions};
use orgpack_backup::PlanOptions;
use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl};
use orgpack_restore::{RestoreOptions, Target};
use orgpack_sandbox::{Sandbox, SandboxOptions};

use crate::cli::DemoArgs;
use crate::exit;
use crate::render;

const SOURCE: &str = "demo";
const TARGETS: [&str; 2] = ["target-a", "target-b"];

pub fn run(args: &DemoArgs, json: bool) -> Result<u8> {
    let (work, _temp) = workdir(args.keep.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(demo(&work, args.keep.is_some(), json))
}

/// `--keep DIR` (new or empty), else a temporary directory removed at the end.
fn workdir(keep: Option<&Path>) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(dir) = keep {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            bail!("--keep {}: the directory is not empty", dir.display());
        }
        std::fs::create_dir_all(dir)?;
        Ok((std::path::absolute(dir)?, None))
    } else {
        let temp = tempfile::Builder::new().prefix("orgpack-demo-").tempdir()?;
        Ok((temp.path().to_owned(), Some(temp)))
    }
}

/// One step of the demo, as its table shows it.
pub(super) struct Step {
    pub(super) name: &'static str,
    pub(super) seconds: f64,
    pub(super) detail: String,
}

async fn demo(work: &Path, keep: bool, json: bool) -> Result<u8> {
    let (password, generated) = crate::commands::sandbox::password();
    let quiet = json;
    let say = |m: &str| {
        if !quiet {
            render::note(m);
        }
    };
    let mut steps = Vec::new();

    // A sandbox with the demo organization and two empty ones (their users exist, so items keep
    // their owners).
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxOptions {
        data_dir: Some(work.join("sandbox")),
        ..SandboxOptions::default()
    })
    .await
    .context("starting the sandbox")?;
    let demo = sandbox
        .seed_demo(SOURCE, &password)
        .await
        .context("seeding the demo organization")?;
    for org in TARGETS {
        sandbox.add_org(org, &format!("Demo {org}"))?;
        for (user, role) in [
            ("admin", "org_admin"),
            ("editor", "org_publisher"),
            ("viewer", "org_user"),
        ] {
            sandbox.add_user(org, user, &password, role)?;
        }
    }
    let client = |org: &str| -> Result<Client> {
        Ok(Client::new(
            PortalUrl::parse(&sandbox.portal_url(org)).map_err(anyhow::Error::msg)?,
            Credentials::Password {
                username: "admin".into(),
                password: password.clone(),
            },
            ClientOptions {
                hub_url: Some(sandbox.hub_url()),
                ..ClientOptions::default()
            },
        )?)
    };
    let source = client(SOURCE)?;
    steps.push(Step {
        name: "sandbox",
        seconds: started.elapsed().as_secs_f64(),
        detail: format!(
            "{} with {} items, and {} empty",
            sandbox.portal_url(SOURCE),
            demo.items.len(),
            TARGETS.join(" and ")
        ),
    });
    say(&format!("sandbox ready at {}", sandbox.portal_url(SOURCE)));

    // Two backups into a repository; the second reuses everything.
    let repo_path = work.join("repo");
    let whole = PlanOptions::whole_org(repo_path.join("tmp"));
    let selection = whole.selection.clone();
    for (name, label) in [
        ("backup", "first backup"),
        ("backup again", "incremental backup"),
    ] {
        let started = Instant::now();
        let mut repo = Repository::open_or_init(&repo_path)?;
        let parent = orgpack_backup::find_parent(
            &repo.archive()?,
            &source.url().root,
            source.portal_self().await?["id"]
                .as_str()
                .unwrap_or_default(),
            &selection,
        )?;
        let options = PlanOptions {
            parent,
            tags: vec!["demo".into()],
            ..whole.clone()
        };
        let bar = crate::progress::for_backup(json);
        let plan = orgpack_backup::plan(&source, &options, bar.as_ref()).await?;
        let outcome = orgpack_backup::run(&source, &plan, &mut repo, bar.as_ref()).await?;
        bar.finish();
        if !outcome.failures.is_empty() {
            bail!(
                "the {label} could not capture everything: {:?}",
                outcome.failures
            );
        }
        let detail = format!(
            "snapshot {}: {} items, {} reused, {} exports, {} in, {} newly stored",
            outcome.snapshot.short(),
            outcome.items,
            outcome.reused,
            outcome.exports,
            render::size(outcome.stats.bytes_in),
            render::size(outcome.stats.bytes_stored)
        );
        say(&format!("{label}: {detail}"));
        steps.push(Step {
            name,
            seconds: started.elapsed().as_secs_f64(),
            detail,
        });
    }

    // One file, verified.
    let started = Instant::now();
    let archive = Archive::open(&repo_path)?;
    let latest = archive.resolve("latest")?;
    let file = work.join("demo.orgpack");
    let mut writer = SingleFileWriter::create(&file, archive.layout().clone())?;
    orgpack_archive::copy_snapshots(&archive, &[latest], &mut writer, true)?;
    writer.finish()?;
    let single = Archive::open(&file)?;
    let report = orgpack_archive::verify(&single, VerifyOptions::read_data())?;
    if !report.problems.is_empty() {
        bail!(
            "the exported archive does not verify: {:?}",
            report.problems
        );
    }
    let detail = format!(
        "{} ({}), {} blobs re-hashed",
        file.display(),
        render::size(std::fs::metadata(&file)?.len()),
        report.blobs
    );
    say(&format!("exported and verified: {detail}"));
    steps.push(Step {
        name: "export + verify",
        seconds: started.elapsed().as_secs_f64(),
        detail,
    });

    // Restore into both targets at once, then read them back.
    let started = Instant::now();
    let snapshot = single.snapshot(&single.resolve("latest")?)?;
    let targets = TARGETS
        .iter()
        .map(|org| {
            Ok(Target {
                name: (*org).to_owned(),
                client: client(org)?,
                journal: work.join(format!("demo.orgpack.restore-{org}.sqlite")),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let staging = work.join("staging");
    std::fs::create_dir_all(&staging)?;
    let reports = orgpack_restore::restore(
        &single,
        &snapshot,
        &targets,
        &RestoreOptions {
            staging_dir: staging.clone(),
            ..RestoreOptions::default()
        },
        false,
    )
    .await?;
    let _ = std::fs::remove_dir_all(&staging);
    crate::commands::restore::write_report(
        &work.join("restore.json"),
        &latest.to_string(),
        &reports,
        false,
    )?;
    let restored: usize = reports.iter().map(|r| r.counts().created).sum();
    steps.push(Step {
        name: "restore",
        seconds: started.elapsed().as_secs_f64(),
        detail: format!(
            "{restored} items created in {} organizations at once",
            reports.len()
        ),
    });
    say(&format!("restored into {}", TARGETS.join(" and ")));

    let started = Instant::now();
    let mut problems = Vec::new();
    let mut checked = (0, 0, 0, 0);
    for (report, target) in reports.iter().zip(&targets) {
        if !report.is_complete() {
            problems.push(format!("{}: the restore did not complete", report.target));
        }
        let c = orgpack_restore::check_target(&target.client, &snapshot, report).await;
        checked.0 += c.items;
        checked.1 += c.documents;
        checked.2 += c.sharing;
        checked.3 += c.layers;
        problems.extend(
            c.problems
                .into_iter()
                .map(|p| format!("{}: {p}", report.target)),
        );
    }
    steps.push(Step {
        name: "check",
        seconds: started.elapsed().as_secs_f64(),
        detail: format!(
            "{} items, {} documents without a reference to the source, {} sharing entries, {} layer counts",
            checked.0, checked.1, checked.2, checked.3
        ),
    });

    // Someone deletes the map and overwrites the dashboard: put back in place.
    super::demo_in_place::scene(
        work,
        &repo_path,
        client(SOURCE)?,
        &demo,
        &mut steps,
        &mut problems,
        json,
    )
    .await?;

    let code = if problems.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    };
    let port = sandbox.addr().port();
    if json {
        render::json(&serde_json::json!({
            "message_type": "demo",
            "ok": problems.is_empty(),
            "steps": steps.iter().map(|s| serde_json::json!({"step": s.name, "seconds": s.seconds, "detail": s.detail})).collect::<Vec<_>>(),
            "problems": problems,
            "kept": keep.then(|| work.to_owned()),
        }))?;
        return Ok(code);
    }
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|s| {
            vec![
                s.name.to_owned(),
                format!("{:.2}s", s.seconds),
                s.detail.clone(),
            ]
        })
        .collect();
    render::table(&["STEP", "TIME", "WHAT"], &rows, &[1])?;
    for p in &problems {
        render::note(&format!("problem: {p}"));
    }
    if problems.is_empty() {
        render::note(
            "every item, reference, sharing entry and feature count arrived in both organizations, and the damaged organization was put back as its backup has it",
        );
    }
    if keep {
        render::note(&format!(
            "kept in {}: sandbox/ (the portal's data), repo/ (the repository), demo.orgpack, restore.json and its id maps",
            work.display()
        ));
        let with = if generated {
            format!("ORGPACK_SANDBOX_PASSWORD={password}")
        } else {
            "ORGPACK_SANDBOX_PASSWORD=(as now)".to_owned()
        };
        render::note(&format!(
            "serve it again (users admin, editor, viewer): {with} orgpack sandbox --data {} --port {port} --org {} --org {} --demo",
            work.join("sandbox").display(),
            TARGETS[0],
            TARGETS[1]
        ));
    }
    Ok(code)
}
