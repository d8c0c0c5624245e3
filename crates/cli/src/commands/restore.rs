//! `orgpack restore ARCHIVE [--snapshot ID] --to PORTAL… [--item ID]… [--owner-map FILE]
//! [--group-map FILE] [--people create|map|none] [--initial-password-file FILE] [--folder F]
//! [--on-existing …] [--preserve-ids] [--sharing …] [--rollback] [--republish] [--owner U]…
//! [--group G]… [--in-place] [--revert-data] [--delete-new] [--journal-dir DIR] [--report FILE]
//! [--dry-run]`
//!
//! In place (asked for, or the target is the snapshot's organization), the items about to change
//! are backed up first ([`super::pre_restore`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use orgpack_archive::Location;
use orgpack_portal::Client;
use orgpack_restore::{
    InitialPassword, OnExisting, PeopleMode, RestoreOptions, SharingMode, Target, TargetReport,
};

use crate::cli::{OnExistingArg, PeopleRestoreArg, RestoreArgs, SharingArg};
use crate::config::{self, Overrides};
use crate::exit;
use crate::files::{safe_name, write_atomic};
use crate::metrics::Metrics;
use crate::render;
use crate::run_end;

pub fn run(args: &RestoreArgs, config_flag: Option<&Path>, json: bool) -> Result<u8> {
    if !run_end::wanted(&args.ending, args.dry_run) {
        return run_with(args, config_flag, json, None);
    }
    let targets = args
        .to
        .iter()
        .map(|t| crate::metrics::portal_label(t))
        .collect::<Vec<_>>()
        .join(",");
    let mut metrics = Metrics::new("restore", vec![("targets", targets)]);
    let result = run_with(args, config_flag, json, Some(&mut metrics));
    run_end::finish(&args.ending, &metrics, &result);
    result
}

fn run_with(
    args: &RestoreArgs,
    config_flag: Option<&Path>,
    json: bool,
    metrics: Option<&mut Metrics>,
) -> Result<u8> {
    let archive = crate::secrets::archive(&args.archive)?;
    // `latest` and dates are backups: the `pre-restore` snapshots in-place runs take are named
    // by their id.
    let id = archive.resolve_skipping(&args.snapshot, Some("pre-restore"))?;
    let snapshot = archive.snapshot(&id)?;
    let config_path = config::locate(config_flag);
    let mut targets = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for name in &args.to {
        if !names.insert(name.clone()) {
            bail!("--to {name} is given twice");
        }
        let portal = config::resolve(config_path.as_deref(), name, &Overrides::default())?;
        let client = Client::new(
            portal.url,
            portal.credentials,
            orgpack_portal::ClientOptions {
                max_in_flight: args.concurrency.max(1) * 2,
                ..portal.options
            },
        )?;
        targets.push(Target {
            name: name.clone(),
            client,
            journal: journal_path(args, name),
        });
    }
    let staging = tempfile::Builder::new()
        .prefix("orgpack-restore-")
        .tempdir()
        .context("creating a staging directory")?;
    let options = RestoreOptions {
        items: args.item.clone(),
        owner_map: read_map(args.owner_map.as_deref(), "owner map")?,
        group_map: read_map(args.group_map.as_deref(), "group map")?,
        folder: args.folder.clone(),
        on_existing: match args.on_existing {
            OnExistingArg::Skip => OnExisting::Skip,
            OnExistingArg::Update => OnExisting::Update,
            OnExistingArg::Duplicate => OnExisting::Duplicate,
        },
        preserve_ids: args.preserve_ids,
        sharing: match args.sharing {
            SharingArg::Keep => SharingMode::Keep,
            SharingArg::Private => SharingMode::Private,
            SharingArg::None => SharingMode::None,
        },
        rollback: args.rollback,
        republish: args.republish,
        concurrency: args.concurrency.max(1),
        staging_dir: staging.path().to_owned(),
        people: match args.people {
            PeopleRestoreArg::Create => PeopleMode::Create,
            PeopleRestoreArg::Map => PeopleMode::Map,
            PeopleRestoreArg::None => PeopleMode::None,
        },
        initial_password: initial_password(args.initial_password_file.as_deref())?,
        in_place: args.in_place,
        revert_data: args.revert_data,
        delete_new: args.delete_new,
        owners: args.owner.clone(),
        folders: args.folder.clone().into_iter().collect(),
        groups: args.group.clone(),
    };
    if !json {
        render::note(&format!(
            "validating snapshot {} ({} items) before anything is sent",
            id.short(),
            snapshot.items.len()
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut pre_restore = Vec::new();
    if !args.dry_run {
        for target in &targets {
            if let Some(taken) = runtime.block_on(crate::commands::pre_restore::take(
                &args.archive,
                &archive,
                &snapshot,
                target,
                &options,
                json,
            ))? {
                pre_restore.push((target.name.clone(), taken));
            }
        }
    }
    let reports = runtime.block_on(orgpack_restore::restore(
        &archive,
        &snapshot,
        &targets,
        &options,
        args.dry_run,
    ))?;
    if let Some(m) = metrics {
        m.info("snapshot", id.to_string());
        record(m, &reports, &targets);
    }
    for path in &args.report {
        if crate::page::is_html(path) {
            let retry = crate::page::this_command();
            let page = crate::page::restore::page(
                &id.to_string(),
                &snapshot,
                &reports,
                args.dry_run,
                Some(retry),
            );
            write_atomic(path, page.html().as_bytes())?;
        } else {
            write_report(path, &id.to_string(), &reports, args.dry_run)?;
        }
    }
    let complete = reports.iter().all(TargetReport::is_complete);
    if json {
        render::json(&serde_json::json!({
            "message_type": if args.dry_run { "restore_plan" } else { "restore" },
            "snapshot": id,
            "complete": complete,
            "preRestore": pre_restore.iter().map(|(t, id)| serde_json::json!({"target": t, "snapshot": id})).collect::<Vec<_>>(),
            "targets": reports.iter().map(target_value).collect::<Vec<_>>(),
        }))?;
    } else {
        for r in &reports {
            show(r)?;
        }
    }
    Ok(if args.dry_run || complete {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

/// Per target: items by status, requests sent, seconds taken.
#[allow(clippy::cast_precision_loss)]
fn record(m: &mut Metrics, reports: &[TargetReport], targets: &[Target]) {
    for (r, t) in reports.iter().zip(targets) {
        let label = || vec![("target", crate::metrics::portal_label(&r.target))];
        let c = r.counts();
        for e in r
            .items
            .iter()
            .filter(|e| e.status == orgpack_restore::Status::Failed)
            .take(5)
        {
            let why = e.reason.as_deref().unwrap_or("failed");
            m.info(
                "failed",
                format!("{}: {} ({}): {why}", r.target, e.title, e.source_id),
            );
        }
        for (status, n) in [
            ("created", c.created),
            ("updated", c.updated),
            ("skipped", c.skipped),
            ("failed", c.failed),
            ("rolledBack", c.rolled_back),
        ] {
            let mut labels = label();
            labels.push(("status", status.to_owned()));
            m.set_with(
                "items",
                "Items by what happened to them, per target.",
                labels,
                n as f64,
            );
        }
        m.set_with(
            "complete",
            "1 when everything in the target succeeded.",
            label(),
            if r.is_complete() { 1.0 } else { 0.0 },
        );
        m.set_with(
            "requests",
            "HTTP requests sent to the target (retries and sign-ins included).",
            label(),
            t.client.requests() as f64,
        );
        m.set_with(
            "target_duration_seconds",
            "How long the restore into the target took.",
            label(),
            r.seconds,
        );
    }
}

/// The initial password for members made on ArcGIS Enterprise: the file's first line (a trailing
/// newline is not part of it), else `ORGPACK_INITIAL_PASSWORD`. Errors name the file, never the
/// password.
fn initial_password(file: Option<&Path>) -> Result<Option<InitialPassword>> {
    let text = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the initial password file {}", path.display()))?;
            let first = text.lines().next().unwrap_or_default().to_owned();
            if first.is_empty() {
                bail!("the initial password file {} is empty", path.display());
            }
            first
        }
        None => match std::env::var("ORGPACK_INITIAL_PASSWORD") {
            Ok(p) if !p.is_empty() => p,
            _ => return Ok(None),
        },
    };
    Ok(Some(InitialPassword::new(text)))
}

/// `<dir>/<archive name>.restore-<target>.sqlite`, the directory being `--journal-dir` or the
/// archive's.
fn journal_path(args: &RestoreArgs, target: &str) -> PathBuf {
    // A repository on object storage: the journal goes to the working directory, named after
    // the prefix's last segment.
    let archive = match &args.archive {
        Location::Local(path) => std::path::absolute(path).unwrap_or_else(|_| path.clone()),
        Location::Remote(remote) => PathBuf::from(".").join(
            remote
                .prefix
                .rsplit('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or(&remote.bucket),
        ),
    };
    let dir = args
        .journal_dir
        .clone()
        .or_else(|| archive.parent().map(Path::to_owned))
        .unwrap_or_else(|| PathBuf::from("."));
    let stem = archive
        .file_name()
        .map_or_else(|| "orgpack".into(), |n| n.to_string_lossy().into_owned());
    let safe = safe_name(target);
    dir.join(format!("{stem}.restore-{safe}.sqlite"))
}

/// A two-column CSV (`source,target`); `#` comments, blank lines and a header line naming
/// `source` are skipped.
fn read_map(path: Option<&Path>, what: &str) -> Result<BTreeMap<String, String>> {
    let Some(path) = path else {
        return Ok(BTreeMap::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the {what} {}", path.display()))?;
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((from, to)) = line.split_once(',') else {
            bail!(
                "{}:{}: expected `source,target`, found `{line}`",
                path.display(),
                n + 1
            );
        };
        let (from, to) = (from.trim(), to.trim());
        if n == 0 && from.to_ascii_lowercase().starts_with("source") {
            continue;
        }
        if from.is_empty() || to.is_empty() {
            bail!("{}:{}: an empty name in `{line}`", path.display(), n + 1);
        }
        out.insert(from.to_owned(), to.to_owned());
    }
    Ok(out)
}

pub fn write_report(
    path: &Path,
    snapshot: &str,
    reports: &[TargetReport],
    dry_run: bool,
) -> Result<()> {
    let doc = serde_json::json!({
        "snapshot": snapshot,
        "dryRun": dry_run,
        "targets": reports.iter().map(target_value).collect::<Vec<_>>(),
    });
    write_atomic(path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    for r in reports {
        let name = safe_name(&r.target);
        let csv = path.with_extension(format!("{name}.idmap.csv"));
        write_atomic(&csv, r.id_map_csv().as_bytes())?;
    }
    Ok(())
}

/// A target's report as JSON, with its counts by status (`counts`) and by item type (`types`:
/// `{type, created, updated, skipped, failed, rolledBack, planned, incomplete}`).
fn target_value(r: &TargetReport) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    v["counts"] = serde_json::to_value(r.counts()).unwrap_or_default();
    v["types"] = serde_json::to_value(r.by_type()).unwrap_or_default();
    v
}

fn show(r: &TargetReport) -> Result<()> {
    let c = r.counts();
    render::note(&format!(
        "{} ({}): {} created, {} updated, {} skipped, {} failed{}{}{} in {:.1}s",
        r.target,
        r.portal_url,
        c.created,
        c.updated,
        c.skipped,
        c.failed,
        if c.incomplete > 0 {
            format!(", {} incomplete (below)", c.incomplete)
        } else {
            String::new()
        },
        if c.rolled_back > 0 {
            format!(", {} rolled back", c.rolled_back)
        } else {
            String::new()
        },
        if c.planned > 0 {
            format!(", {} planned", c.planned)
        } else {
            String::new()
        },
        r.seconds
    ));
    if let Some(e) = &r.error {
        render::note(&format!("{}: failed: {e}", r.target));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = r
        .items
        .iter()
        .map(|e| {
            vec![
                e.source_id.clone(),
                e.target_id.clone().unwrap_or_default(),
                render::clip(&e.item_type, 20),
                render::clip(&e.title, 28),
                e.action.label().to_owned(),
                format!("{:?}", e.status).to_lowercase(),
                render::clip(e.reason.as_deref().unwrap_or_default(), 60),
            ]
        })
        .collect();
    render::table(
        &[
            "SOURCE", "TARGET", "TYPE", "TITLE", "ACTION", "STATUS", "REASON",
        ],
        &rows,
        &[],
    )?;
    for e in r.items.iter().filter(|e| !e.rewrites.is_empty()) {
        render::note(&format!(
            "{}: {} ({}) references:",
            r.target, e.title, e.source_id
        ));
        for w in &e.rewrites {
            render::note(&format!("    {} → {}   [{}]", w.from, w.to, w.path));
        }
    }
    for e in r.items.iter().filter(|e| !e.changes.is_empty()) {
        render::note(&format!(
            "{}: {} ({}) differs from the snapshot:",
            r.target,
            e.title,
            e.target_id.as_deref().unwrap_or(&e.source_id)
        ));
        for c in &e.changes {
            render::note(&format!("    {c}"));
        }
    }
    for e in &r.items {
        if let Some(why) = e.incomplete() {
            render::note(&format!(
                "{}: {} ({}) is incomplete: {why}",
                r.target,
                e.title,
                e.target_id.as_deref().unwrap_or(&e.source_id)
            ));
        }
    }
    // By type, once the items are more than a screen.
    if r.items.len() > 20 {
        let made = if c.planned > 0 { "PLANNED" } else { "CREATED" };
        let rows: Vec<Vec<String>> = r
            .by_type()
            .iter()
            .map(|t| {
                let c = &t.counts;
                vec![
                    render::clip(&t.item_type, 28),
                    (c.created + c.planned).to_string(),
                    c.updated.to_string(),
                    c.skipped.to_string(),
                    c.failed.to_string(),
                    c.incomplete.to_string(),
                ]
            })
            .collect();
        render::table(
            &["TYPE", made, "UPDATED", "SKIPPED", "FAILED", "INCOMPLETE"],
            &rows,
            &[],
        )?;
    }
    for line in &r.repointed {
        render::note(&format!("{}: re-pointed {line}", r.target));
    }
    for n in &r.notes {
        render::note(&format!("{}: {n}", r.target));
    }
    Ok(())
}
