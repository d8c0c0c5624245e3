//! `orgpack backup --from PORTAL (--repo DIR | -o FILE.orgpack) [selection] [--export …]
//! [--no-deps] [--concurrency N] [--parent ID | --full] [--tag T]… [--dry-run]`

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use orgpack_archive::manifest::{ExportMode, Selection};
use orgpack_archive::{Archive, Location, SingleFileWriter, SnapshotWriter};
use orgpack_backup::{Plan, PlanOptions, Why};
use orgpack_portal::Client;

use crate::cli::{BackupArgs, ExportFormat};
use crate::config::{self, Overrides};
use crate::exit;
use crate::metrics::Metrics;
use crate::progress;
use crate::render;
use crate::run_end;

pub fn run(args: &BackupArgs, config_flag: Option<&Path>, json: bool) -> Result<u8> {
    if !run_end::wanted(&args.ending, args.dry_run) {
        return run_with(args, config_flag, json, None);
    }
    let mut metrics = Metrics::new(
        "backup",
        vec![("portal", crate::metrics::portal_label(&args.from))],
    );
    let result = run_with(args, config_flag, json, Some(&mut metrics));
    run_end::finish(&args.ending, &metrics, &result);
    result
}

fn run_with(
    args: &BackupArgs,
    config_flag: Option<&Path>,
    json: bool,
    mut metrics: Option<&mut Metrics>,
) -> Result<u8> {
    let config_path = config::locate(config_flag);
    let portal = config::resolve(
        config_path.as_deref(),
        &args.from,
        &Overrides {
            username: args.username.clone(),
            insecure: false,
        },
    )?;
    let client = Client::new(
        portal.url,
        portal.credentials,
        orgpack_portal::ClientOptions {
            max_in_flight: args.concurrency.max(1),
            ..portal.options
        },
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(backup(args, &client, json, metrics.as_deref_mut()));
    if let Some(m) = metrics {
        #[allow(clippy::cast_precision_loss)]
        m.set(
            "requests",
            "HTTP requests sent to the portal (retries and sign-ins included).",
            client.requests() as f64,
        );
    }
    result
}

fn selection(args: &BackupArgs) -> Selection {
    Selection {
        all: args.all,
        owners: args.owner.clone(),
        folders: args.folder.clone(),
        groups: args.group.clone(),
        queries: args.query.clone(),
        items: args.item.clone(),
        include_dependencies: !args.no_deps,
        export: match args.export {
            ExportFormat::Fgdb => ExportMode::Fgdb,
            ExportFormat::Shapefile => ExportMode::Shapefile,
            ExportFormat::Reference => ExportMode::Reference,
        },
    }
}

async fn backup(
    args: &BackupArgs,
    client: &Client,
    json: bool,
    metrics: Option<&mut Metrics>,
) -> Result<u8> {
    let selection = selection(args);
    let me = client.portal_self().await?;
    let org_id = me
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let existing = match &args.repo {
        Some(Location::Local(r)) if !r.join("orgpack-layout").is_file() => None,
        Some(repo) => match Archive::open_at(repo, crate::secrets::unlock()?) {
            Ok(archive) => Some(archive),
            // A first backup makes the repository.
            Err(orgpack_archive::Error::ArchiveNotFound { .. }) if repo.as_path().is_none() => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let parent = match (&existing, &args.parent) {
        (_, _) if args.full => None,
        (Some(archive), Some(spec)) => {
            let id = archive.resolve(spec)?;
            Some((id, std::sync::Arc::new(archive.snapshot(&id)?)))
        }
        (None, Some(_)) => anyhow::bail!("--parent needs --repo with an existing repository"),
        (Some(archive), None) => {
            orgpack_backup::find_parent(archive, &client.url().root, &org_id, &selection)?
        }
        (None, None) => None,
    };
    // Keep the spool beside the repository (same disk, cleaned by the repository's rules), else
    // in the system's temporary directory. The repository is made first, so that the export
    // ledger of even a first run that is killed is where the next run looks (orgpack-backup
    // `ledger`).
    if let (Some(repo), false) = (&args.repo, args.dry_run) {
        crate::commands::init::break_stale_locks(repo, args.lock)?;
        crate::secrets::repository(repo)?;
    }
    let temp = tempfile::Builder::new()
        .prefix("orgpack-backup-")
        .tempdir_in(spool_parent(args.repo.as_ref().and_then(Location::as_path)))
        .context("creating a temporary directory for downloads")?;
    let options = PlanOptions {
        selection,
        parent,
        concurrency: args.concurrency.max(1),
        spool_dir: temp.path().to_owned(),
        tags: args.tag.clone(),
        recheck_relationships: args.recheck_relationships,
        people: args.people == crate::cli::PeopleBackupArg::All,
    };
    let bar = progress::for_backup(json);
    let planning = std::time::Instant::now();
    let plan = orgpack_backup::plan(client, &options, bar.as_ref()).await?;
    let planning = planning.elapsed().as_secs_f64();
    if args.dry_run {
        bar.finish();
        show_plan(&plan, json)?;
        return Ok(exit::OK);
    }
    let started = std::time::Instant::now();
    let outcome = match (&args.repo, &args.output) {
        (Some(repo), _) => {
            let mut repo = crate::secrets::repository(repo)?;
            orgpack_backup::run(client, &plan, &mut repo, bar.as_ref()).await?
        }
        (None, Some(file)) => {
            let mut writer = SingleFileWriter::create_new(file)?;
            let outcome = orgpack_backup::run(
                client,
                &plan,
                &mut writer as &mut dyn SnapshotWriter,
                bar.as_ref(),
            )
            .await?;
            tokio::task::block_in_place(|| writer.finish())?;
            outcome
        }
        (None, None) => unreachable!("clap requires --repo or --output"),
    };
    bar.finish();
    let elapsed = started.elapsed().as_secs_f64();
    let code = if outcome.failures.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    };
    if let Some(m) = metrics {
        record(m, &outcome, planning, elapsed);
    }
    // Services captured again though their item did not change, and why.
    let changed: Vec<serde_json::Value> = plan
        .items
        .iter()
        .filter_map(|i| {
            let why = i.changed.as_ref()?;
            Some(serde_json::json!({"id": i.id, "title": i.title(), "changed": why}))
        })
        .collect();
    let doc = serde_json::json!({
        "message_type": "backup",
        "snapshot": outcome.snapshot,
        "parent": plan.parent.as_ref().map(|(id, _)| id),
        "items": outcome.items,
        "reused": outcome.reused,
        "exports": outcome.exports,
        "groups": outcome.groups,
        "bytesIn": outcome.stats.bytes_in,
        "bytesStored": outcome.stats.bytes_stored,
        "blobsWritten": outcome.stats.blobs_written,
        "blobsReused": outcome.stats.blobs_reused,
        "staleExportsDeleted": outcome.stale_exports_deleted,
        "changed": changed,
        "requests": client.requests(),
        "seconds": elapsed,
        "skipped": plan.skipped,
        "failures": outcome.failures,
    });
    if !args.report.is_empty() {
        write_reports(args, &plan, &outcome, &doc)?;
    }
    if json {
        render::json(&doc)?;
        return Ok(code);
    }
    render::note(&format!(
        "snapshot {} saved: {} items ({} unchanged, reused), {} groups, {} exports, {} in, {} stored, {:.1}s",
        outcome.snapshot.short(),
        outcome.items,
        outcome.reused,
        outcome.groups,
        outcome.exports,
        render::size(outcome.stats.bytes_in),
        render::size(outcome.stats.bytes_stored),
        elapsed
    ));
    for c in &changed {
        render::note(&format!(
            "captured again, its item unchanged: {} ({}): {}",
            c["title"].as_str().unwrap_or_default(),
            c["id"].as_str().unwrap_or_default(),
            c["changed"].as_str().unwrap_or_default()
        ));
    }
    if outcome.stale_exports_deleted > 0 {
        render::note(&format!(
            "deleted {} temporary export items left by an interrupted backup",
            outcome.stale_exports_deleted
        ));
    }
    for s in &plan.skipped {
        render::note(&format!(
            "not captured: {} (referenced by {}): {}",
            s.target, s.referenced_by, s.reason
        ));
    }
    if !outcome.failures.is_empty() {
        render::note(&format!(
            "{} parts could not be captured; the snapshot lists them and the next backup tries them again:",
            outcome.failures.len()
        ));
        for f in &outcome.failures {
            render::note(&format!(
                "  {:?} {}{}: {}",
                f.subject,
                f.id,
                f.part.as_ref().map(|p| format!(" {p}")).unwrap_or_default(),
                f.message
            ));
        }
    }
    Ok(code)
}

/// `--report`: the JSON document where a path does not end in `.html`, the page where it does.
fn write_reports(
    args: &BackupArgs,
    plan: &Plan,
    outcome: &orgpack_backup::Outcome,
    doc: &serde_json::Value,
) -> Result<()> {
    use crate::page::Fact;
    let archive = match (&args.repo, &args.output) {
        (Some(repo), _) => crate::secrets::archive(repo)?,
        (None, Some(file)) => Archive::open(file)?,
        (None, None) => unreachable!("clap requires --repo or --output"),
    };
    let snapshot = archive.snapshot(&outcome.snapshot)?;
    let number = |key: &str| doc[key].as_u64().unwrap_or(0);
    #[allow(clippy::cast_possible_truncation)]
    let count = |key: &str| number(key) as usize;
    let run = crate::page::backup::Run {
        facts: vec![
            Fact::count("items", "Items", count("items")),
            Fact::count("reused", "Unchanged, reused", count("reused")),
            Fact::count("exports", "Exports", count("exports")),
            Fact::count("groups", "Groups", count("groups")),
            Fact::bytes("bytesIn", "Read from the portal", number("bytesIn")),
            Fact::bytes("bytesStored", "Newly stored", number("bytesStored")),
            Fact::count("requests", "Requests", count("requests")),
            Fact::seconds("seconds", "Seconds", doc["seconds"].as_f64().unwrap_or(0.0)),
            Fact::count("failures", "Parts missing", outcome.failures.len()),
        ],
        retry: crate::page::this_command(),
    };
    let page = crate::page::backup::page(
        &outcome.snapshot.to_string(),
        &snapshot,
        plan.parent.as_ref().map(|(_, p)| p.as_ref()),
        Some(run),
    );
    crate::page::write_all(&args.report, doc, &page)
}

#[allow(clippy::cast_precision_loss)]
fn record(m: &mut Metrics, outcome: &orgpack_backup::Outcome, planning: f64, capture: f64) {
    m.info("snapshot", outcome.snapshot.to_string());
    for f in outcome.failures.iter().take(5) {
        let part = f.part.as_ref().map(|p| format!(" {p}")).unwrap_or_default();
        m.info("not captured", format!("{}{part}: {}", f.id, f.message));
    }
    m.set("items", "Items in the snapshot.", outcome.items as f64);
    m.set(
        "items_reused",
        "Items unchanged since the parent snapshot, reused from it.",
        outcome.reused as f64,
    );
    m.set(
        "exports",
        "Hosted services exported.",
        outcome.exports as f64,
    );
    m.set("groups", "Groups in the snapshot.", outcome.groups as f64);
    m.set(
        "bytes_in",
        "Bytes read from the portal.",
        outcome.stats.bytes_in as f64,
    );
    m.set(
        "bytes_stored",
        "Bytes newly stored in the archive (after deduplication and compression).",
        outcome.stats.bytes_stored as f64,
    );
    m.set(
        "parts_missing",
        "Items and parts that could not be captured (the snapshot's failures).",
        outcome.failures.len() as f64,
    );
    for (phase, seconds) in [("plan", planning), ("capture", capture)] {
        m.set_with(
            "phase_duration_seconds",
            "How long each phase of the run took.",
            vec![("phase", phase.to_owned())],
            seconds,
        );
    }
}

fn spool_parent(repo: Option<&Path>) -> PathBuf {
    match repo {
        Some(r) if r.join("tmp").is_dir() => r.join("tmp"),
        _ => std::env::temp_dir(),
    }
}

fn show_plan(plan: &Plan, json: bool) -> Result<()> {
    if json {
        let items: Vec<_> = plan
            .items
            .iter()
            .map(|i| {
                serde_json::json!({
                    "id": i.id,
                    "type": i.item_type(),
                    "title": i.title(),
                    "owner": i.owner(),
                    "why": i.why,
                    "reuse": i.reuse,
                    "export": i.export && !i.reuse,
                    "changed": i.changed,
                    "size": i.size(),
                    "dependencies": i.dependencies,
                })
            })
            .collect();
        return render::json(&serde_json::json!({
            "message_type": "backup_plan",
            "source": plan.source,
            "parent": plan.parent.as_ref().map(|(id, _)| id),
            "items": items,
            "groups": plan.groups,
            "exports": plan.exports(),
            "reused": plan.reused(),
            "estimatedBytes": plan.estimated_bytes(),
            "skipped": plan.skipped,
            "failures": plan.failures,
        }));
    }
    render::note(&format!(
        "plan: {} items from {} ({} unchanged since the parent), {} groups, {} exports, about {} to download",
        plan.items.len(),
        plan.source.portal_url,
        plan.reused(),
        plan.groups.len(),
        plan.exports(),
        render::size(plan.estimated_bytes())
    ));
    let rows: Vec<Vec<String>> = plan
        .items
        .iter()
        .map(|i| {
            let action = if i.reuse {
                "reuse"
            } else if i.export {
                "fetch+export"
            } else {
                "fetch"
            };
            let mut why = match &i.why {
                Why::Selected { by } => by.clone(),
                Why::Dependency { of, path } => format!("used by {of} ({path})"),
            };
            if let Some(changed) = &i.changed {
                why = format!("changed: {changed}; {why}");
            }
            vec![
                i.id.clone(),
                render::clip(i.item_type(), 24),
                render::clip(i.title(), 32),
                action.to_owned(),
                render::size(i.size()),
                render::clip(&why, 60),
            ]
        })
        .collect();
    render::table(
        &["ID", "TYPE", "TITLE", "ACTION", "SIZE", "WHY"],
        &rows,
        &[4],
    )?;
    for s in &plan.skipped {
        render::note(&format!(
            "not captured: {} (referenced by {}): {}",
            s.target, s.referenced_by, s.reason
        ));
    }
    for f in &plan.failures {
        render::note(&format!("cannot read item {}: {}", f.id, f.message));
    }
    Ok(())
}
