//! The command line, as clap structs. Nothing here does work: the binary's `commands/` does.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use orgpack_archive::Location;

/// Back up, verify and restore ArcGIS Online and ArcGIS Enterprise content.
#[derive(Debug, Parser)]
#[command(
    name = "orgpack",
    version,
    about = "Back up, verify and restore ArcGIS Online and ArcGIS Enterprise content",
    max_term_width = 100
)]
pub struct Cli {
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true, env = "ORGPACK_JSON")]
    pub json: bool,

    /// The config file naming portals (else $ORGPACK_CONFIG, ./orgpack.toml, the user config dir).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// An encrypted repository's passphrase, read from this file (else
    /// $ORGPACK_REPOSITORY_PASSPHRASE). Never on the command line itself.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Open an encrypted repository with this key file instead of a passphrase.
    #[arg(long, global = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the whole job on a local sandbox: back up, export, verify, restore into two
    /// organizations, check. Needs nothing but this binary.
    Demo(DemoArgs),
    /// Back up an organization, or part of it, into a repository or a single-file archive.
    Backup(BackupArgs),
    /// Compare two snapshots: items added, removed and changed (which parts).
    Diff(DiffArgs),
    /// Restore a snapshot into one or more organizations at once, resumably.
    Restore(RestoreArgs),
    /// Check an archive's structure, and with --read-data every byte of its content.
    Verify(VerifyArgs),
    /// List the items of a snapshot.
    Ls(LsArgs),
    /// List the snapshots of an archive.
    Snapshots(SnapshotsArgs),
    /// Make a new, empty repository (a directory, or a prefix of an S3, Azure or GCS bucket),
    /// encrypted with --encrypt.
    Init(InitArgs),
    /// Manage the keys of an encrypted repository: add, list, remove.
    Key(KeyArgs),
    /// Copy snapshots of a repository into a new single-file archive.
    Export(ExportArgs),
    /// Copy snapshots of any archive into a repository.
    Import(ImportArgs),
    /// Copy snapshots from one repository to another (any two of directory, S3, Azure, GCS),
    /// moving only what the destination lacks: a local repository mirrored off site.
    Copy(CopyArgs),
    /// Print one part of an item (item JSON, data, a resource …) to stdout.
    Cat(CatArgs),
    /// Forget snapshots by a retention policy and delete the content only they used.
    Prune(PruneArgs),
    /// Print the references found in one item's JSON (its data, item JSON or a resource).
    Deps(DepsArgs),
    /// Draw a snapshot's dependency graph.
    Graph(GraphArgs),
    /// Write the report of a past backup: a self-contained HTML page, or JSON.
    Report(ReportArgs),
    /// Show what a payload file holds: layers, geometry types, feature counts, fields.
    Inspect(InspectArgs),
    /// Serve a local portal on 127.0.0.1 for rehearsals and tests, until interrupted.
    Sandbox(SandboxArgs),
    /// Sign in to a portal in a browser (OAuth: SAML and other identity providers too) and keep
    /// the refresh token in the config file, so backups and restores run unattended.
    Login(LoginArgs),
    /// Check, before the first scheduled run, what would make a backup or restore fail: the
    /// account's privileges, the portal, exports, the repository, the clock. Changes nothing.
    Doctor(DoctorArgs),
}

/// `orgpack doctor`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The portal: a `[portal.NAME]` of the config file, or a URL.
    pub portal: String,
    /// Also check this repository: reachable, writable, not locked, free space (a directory, or
    /// `s3://`, `az://`, `gs://` bucket/prefix: reachable with the environment's credentials).
    #[arg(long, value_name = "REPO")]
    pub repo: Option<Location>,
    /// What the account will do: `backup` from this portal, `restore` into it, or `both`.
    #[arg(long = "for", value_enum, value_name = "WHAT", default_value = "both")]
    pub purpose: DoctorPurpose,
    /// Sign in as this user instead of the config file's.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
}

/// What `orgpack doctor` checks the account for (`--for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DoctorPurpose {
    /// Backing the organization up.
    Backup,
    /// Restoring into the organization.
    Restore,
    /// Both.
    Both,
}

/// `orgpack login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The portal: a `[portal.NAME]` of the config file (made with --url when it is not there).
    pub portal: String,
    /// The portal's URL, for a portal the config file does not name yet.
    #[arg(long)]
    pub url: Option<String>,
    /// The client id of the OAuth application registered in the portal, whose redirect URIs
    /// allow `http://127.0.0.1:PORT/orgpack-login` (else the config's client_id).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The local port the portal sends the browser back to (0: any free port; give the one the
    /// application's redirect URI names).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub redirect_port: u16,
    /// How long to wait for the sign-in, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    /// Accept any certificate (a local sandbox only).
    #[arg(long)]
    pub insecure: bool,
}

/// `orgpack sandbox`
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Keep the sandbox's database here (it survives restarts); in memory when omitted.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The address to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// The port to listen on, on 127.0.0.1 (overrides the port of --listen).
    #[arg(long)]
    pub port: Option<u16>,
    /// An organization to serve (repeatable), empty with an administrator `admin`, or seeded from
    /// a seed directory (`org.json` and the files it names, as fixtures/demo-org) unless --data
    /// holds it already; `source` and `target` by default.
    #[arg(long = "org", value_name = "NAME[=SEED_DIR]")]
    pub orgs: Vec<String>,
    /// An organization that answers as ArcGIS Enterprise (repeatable): `isPortal` is true and
    /// `addItem` keeps `itemIdToCreate`.
    #[arg(long = "enterprise-org", value_name = "NAME")]
    pub enterprise_orgs: Vec<String>,
    /// Also serve the demonstration organization `demo` (fixtures/demo-org: users, groups,
    /// folders, hosted services, maps, apps), seeded unless --data holds it already.
    #[arg(long)]
    pub demo: bool,
    /// Serve HTTPS with a generated certificate for 127.0.0.1 and localhost (kept in --data, so it
    /// survives restarts). The official ArcGIS API for Python needs it.
    #[arg(long)]
    pub tls: bool,
    /// Inject faults, deterministic from a seed: comma-separated `fail=N` (requests failed per
    /// thousand: 503, 429, a 500 envelope or a dropped connection), `seed=N`, `delay_ms=N`,
    /// `expire=N` (tokens expired per thousand requests), `refuse=PATH` (requests whose path
    /// ends so are refused), `item=ID` (only those naming that item), `as=missing` (refused as if
    /// the item did not exist), `drop=PATH` (a resource that reads as missing). Changed at run time with `POST /_sandbox/faults` (`spec=…`).
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// How long asynchronous jobs (publish, export, append, truncate) take before they report
    /// completion, in milliseconds, so that clients really poll (default 0: done at the second
    /// look).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub job_latency: u64,
    /// Write a config file with a `[portal.NAME]` for every organization served (password from
    /// $ORGPACK_SANDBOX_PASSWORD), so `orgpack backup --from NAME` works at once.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
}

/// How hosted feature services are captured (`--export`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// A File Geodatabase export.
    Fgdb,
    /// A shapefile export.
    Shapefile,
    /// No export: the item, its service JSON and data only.
    Reference,
}

/// `orgpack backup`
// Each bool is an independent command-line switch.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["repo", "output"])))]
#[command(group(clap::ArgGroup::new("selection").required(true).multiple(true)
    .args(["all", "owner", "folder", "group", "query", "item"])))]
pub struct BackupArgs {
    /// The source portal: a `[portal.NAME]` of the config file, or a URL.
    #[arg(long, value_name = "PORTAL")]
    pub from: String,
    /// The repository to add a snapshot to (created when missing); incremental against its latest
    /// snapshot of the same source and selection. A directory, or `s3://bucket/prefix`,
    /// `az://container/prefix`, `gs://bucket/prefix` (credentials from the environment).
    #[arg(long, value_name = "REPO")]
    pub repo: Option<Location>,
    /// Write a new single-file archive instead (a full backup).
    #[arg(long, short = 'o', value_name = "FILE.orgpack")]
    pub output: Option<PathBuf>,
    /// The whole organization.
    #[arg(long)]
    pub all: bool,
    /// Items owned by this user (repeatable).
    #[arg(long, value_name = "USER")]
    pub owner: Vec<String>,
    /// Items in this folder, as OWNER/FOLDER (title or id; repeatable).
    #[arg(long, value_name = "OWNER/FOLDER")]
    pub folder: Vec<String>,
    /// Items shared with this group, by id, and the group itself (repeatable).
    #[arg(long, value_name = "GROUP_ID")]
    pub group: Vec<String>,
    /// Items matching this portal search query, within the organization (repeatable).
    #[arg(long, value_name = "QUERY")]
    pub query: Vec<String>,
    /// This item (repeatable).
    #[arg(long, value_name = "ID")]
    pub item: Vec<String>,
    /// How hosted feature services are captured.
    #[arg(long, value_enum, default_value_t = ExportFormat::Fgdb)]
    pub export: ExportFormat,
    /// Only what was selected, without the items it depends on.
    #[arg(long)]
    pub no_deps: bool,
    /// Items captured at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// The parent snapshot for an incremental backup (an id or prefix), instead of the latest
    /// matching one.
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
    /// Capture everything again, reusing nothing from earlier snapshots.
    #[arg(long, conflicts_with = "parent")]
    pub full: bool,
    /// Read the relationships of unchanged items again (a request per relationship type and
    /// item) instead of taking the parent snapshot's; their content is still reused.
    #[arg(long)]
    pub recheck_relationships: bool,
    /// The organization's people: `all` captures every member (role, user type, picture; never
    /// a password), the custom roles, and the organization's group settings and category
    /// schema (with `--all`, every group too); `none` only the owners of what is backed up.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "all")]
    pub people: PeopleBackupArg,
    /// A label for the snapshot (repeatable).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Sign in as this user instead of the config file's.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Print the plan (items, why each is included, exports, estimated size) and touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the run's report here: a self-contained HTML page when FILE ends in `.html`, else
    /// JSON (what `--json` prints). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,
    /// Metrics and notifications when the run ends.
    #[command(flatten)]
    pub ending: EndingArgs,
    /// `--break-stale-lock`.
    #[command(flatten)]
    pub lock: LockArgs,
}

/// What a backup or restore leaves behind when it ends, besides its output (not with
/// `--dry-run`).
#[derive(Debug, Args)]
pub struct EndingArgs {
    /// Write the run's metrics here in the Prometheus text format, atomically (for
    /// node_exporter's textfile collector).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Post a short summary to this webhook URL when the run ends (repeatable; or
    /// ORGPACK_NOTIFY_URL). Slack and Microsoft Teams webhooks get their own format.
    #[arg(
        long,
        value_name = "URL",
        env = "ORGPACK_NOTIFY_URL",
        hide_env_values = true
    )]
    pub notify: Vec<String>,
    /// When to notify: `always`, or only on `problems` (parts missing, items failed, the run
    /// stopped by an error).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "always")]
    pub notify_on: NotifyOn,
    /// The notification's body: `auto` by the webhook's host (Slack, Teams, else `json`).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "auto")]
    pub notify_format: NotifyFormat,
}

/// When to notify (`--notify-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NotifyOn {
    /// After every run.
    Always,
    /// Only when something is missing or failed.
    Problems,
}

/// A notification's body (`--notify-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NotifyFormat {
    /// Slack for hooks.slack.com; Teams for *.webhook.office.com, *.logic.azure.com and
    /// *.powerplatform.com; else json.
    Auto,
    /// `{"tool", "command", "verdict", "title", "text", "details"}`.
    Json,
    /// A Slack incoming webhook's `text` and `blocks`.
    Slack,
    /// A Microsoft Teams webhook's message with an Adaptive Card.
    Teams,
}

/// What a backup captures of the organization's people (`backup --people`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PeopleBackupArg {
    /// Every member, the custom roles, the group settings and category schema.
    All,
    /// Only the owners of captured items and groups.
    None,
}

/// How a restore brings people (`restore --people`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PeopleRestoreArg {
    /// Create the custom roles and the members the target lacks (Enterprise: built-in accounts
    /// with the initial password; Online: invitations), then map as `map` does.
    Create,
    /// Match users by username or `--owner-map`; items and groups of unmatched users go to the
    /// restoring administrator (listed in the plan and report).
    Map,
    /// Restore no people: everything is owned by the restoring user, groups get no members.
    None,
}

/// What to do with items already in the target (`--on-existing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnExistingArg {
    /// Leave them.
    Skip,
    /// Update them from the snapshot.
    Update,
    /// Create another copy.
    Duplicate,
}

/// How sharing is restored (`--sharing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SharingArg {
    /// As in the source (groups, organization, everyone).
    Keep,
    /// Groups only, never the organization or everyone.
    Private,
    /// Not shared.
    None,
}

/// `orgpack restore`
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A repository (a directory, or `s3://`, `az://`, `gs://` bucket/prefix) or a .orgpack file.
    pub archive: Location,
    /// The snapshot: `latest`, an id, or a unique id prefix.
    #[arg(long, short = 's', default_value = "latest")]
    pub snapshot: String,
    /// A target portal: a `[portal.NAME]` of the config file, or a URL (repeatable: all at once).
    #[arg(long = "to", value_name = "PORTAL", required = true)]
    pub to: Vec<String>,
    /// Only this item and what it depends on (repeatable).
    #[arg(long, value_name = "ID")]
    pub item: Vec<String>,
    /// A CSV file of `source_owner,target_owner` lines.
    #[arg(long, value_name = "FILE")]
    pub owner_map: Option<PathBuf>,
    /// A CSV file of `source_group_id,target_group_id` lines.
    #[arg(long, value_name = "FILE")]
    pub group_map: Option<PathBuf>,
    /// People: `map` matches users by username or --owner-map (unmatched users' content goes to
    /// you, listed in the plan); `create` also makes the custom roles and members the target
    /// lacks; `none` maps nobody.
    #[arg(long, value_enum, value_name = "HOW", default_value = "map")]
    pub people: PeopleRestoreArg,
    /// A file holding the initial password of members `--people create` makes on ArcGIS
    /// Enterprise (else the environment variable ORGPACK_INITIAL_PASSWORD). Never printed or
    /// stored; members are told to change it.
    #[arg(long, value_name = "FILE")]
    pub initial_password_file: Option<PathBuf>,
    /// Put every item in this folder of its owner (created when missing); in place, only the
    /// items of this folder (`TITLE` or `OWNER/TITLE`) and what they depend on.
    #[arg(long, value_name = "TITLE")]
    pub folder: Option<String>,
    /// Only the items of this owner and what they depend on (repeatable).
    #[arg(long, value_name = "USER")]
    pub owner: Vec<String>,
    /// Only the items shared with this group (its id) and what they depend on (repeatable).
    #[arg(long, value_name = "ID")]
    pub group: Vec<String>,
    /// Put the snapshot's organization back as it was: items matched by their own id, changed
    /// ones put back, deleted ones brought back (recycle bin, same id, else a new id with every
    /// reference re-pointed). Chosen on its own when the target is the snapshot's organization.
    /// Before the first change, what is about to change is backed up (tag `pre-restore`).
    #[arg(long)]
    pub in_place: bool,
    /// In place: put the snapshot's features back into hosted feature layers edited since
    /// (discards those edits; ids, URL and layer ids kept).
    #[arg(long)]
    pub revert_data: bool,
    /// In place: delete the items created since the snapshot (into the recycle bin where there
    /// is one). Only with a backup of the whole organization.
    #[arg(long)]
    pub delete_new: bool,
    /// Items already in the target (restored before): leave, update or duplicate them.
    #[arg(long, value_enum, default_value_t = OnExistingArg::Skip)]
    pub on_existing: OnExistingArg,
    /// Keep item ids where the target allows it (ArcGIS Enterprise 10.8.1+).
    #[arg(long)]
    pub preserve_ids: bool,
    /// How sharing is restored; never broader than the source.
    #[arg(long, value_enum, default_value_t = SharingArg::Keep)]
    pub sharing: SharingArg,
    /// When anything fails in a target, delete what this run created there.
    #[arg(long)]
    pub rollback: bool,
    /// Republish hosted feature services from their export instead of rebuilding them from
    /// their definition (for targets without `append`; layer ids and settings are not kept).
    #[arg(long)]
    pub republish: bool,
    /// Items restored at once per target (a large file's parts go up four at a time besides).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Where the per-target journals live (default: beside the archive).
    #[arg(long, value_name = "DIR")]
    pub journal_dir: Option<PathBuf>,
    /// Write the report here: a self-contained HTML page when FILE ends in `.html`, else JSON
    /// with each target's id map as CSV beside it. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,
    /// Print the plan per target and send no write request.
    #[arg(long)]
    pub dry_run: bool,
    /// Metrics and notifications when the run ends.
    #[command(flatten)]
    pub ending: EndingArgs,
}

/// `orgpack demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the sandbox data, repository, archive and reports in this (new or empty) directory,
    /// and print the command that serves them again.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// `orgpack diff`
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// A repository (a directory, or `s3://`, `az://`, `gs://` bucket/prefix) or a .orgpack file.
    pub archive: Location,
    /// The older snapshot (`latest`, an id or a unique prefix).
    pub snap_a: String,
    /// The newer snapshot.
    pub snap_b: String,
}

/// `orgpack inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A File Geodatabase or shapefile zip, GeoJSON, CSV, service definition or any file.
    pub file: PathBuf,
}

/// `orgpack deps`
#[derive(Debug, Args)]
pub struct DepsArgs {
    /// A JSON file: an item's data, its item JSON, a resource, or a service document.
    pub file: PathBuf,
    /// The item type (`Web Map`, `Dashboard`, …); guessed from the JSON when omitted.
    #[arg(long = "type", value_name = "TYPE")]
    pub item_type: Option<String>,
    /// What the file is: `data`, `item`, `resource:PATH`, `service:KIND` (sources, adminLayerInfo,
    /// query, createService, root, layer), `group` or `group-content`.
    #[arg(long, default_value = "data")]
    pub part: String,
    /// The item's own id, so references to itself are told apart.
    #[arg(long, value_name = "ID")]
    pub self_id: Option<String>,
    /// The source organization's portal URL (repeatable), so its URLs are found in text.
    #[arg(long, value_name = "URL")]
    pub portal_url: Vec<String>,
}

/// Output formats of `orgpack graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
    /// Nodes, edges and the restore plan as JSON.
    Json,
}

/// `orgpack graph`
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// A repository (a directory, or `s3://`, `az://`, `gs://` bucket/prefix) or a .orgpack file.
    pub archive: Location,
    /// The snapshot: `latest`, an id, or a unique id prefix.
    #[arg(long, short = 's', default_value = "latest")]
    pub snapshot: String,
    /// The output format.
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

/// `orgpack report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A repository (a directory, or `s3://`, `az://`, `gs://` bucket/prefix) or a .orgpack file.
    pub archive: Location,
    /// The snapshot: `latest`, an id, a unique id prefix, or a date (`YYYY-MM-DD`).
    #[arg(long, short = 's', default_value = "latest")]
    pub snapshot: String,
    /// Write the report here: an HTML page when FILE ends in `.html`, else JSON. Repeatable.
    #[arg(long, short = 'o', value_name = "FILE", required = true)]
    pub output: Vec<PathBuf>,
}

/// `orgpack verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A repository (a directory, or `s3://`, `az://`, `gs://` bucket/prefix) or a .orgpack file.
    pub archive: Location,
    /// Also decompress and re-hash every blob.
    #[arg(long)]
    pub read_data: bool,
    /// Then restore the snapshot into a throw-away sandbox organization inside this process and
    /// read it back: restorable, or which items would fail and why. Touches no real portal.
    #[arg(long)]
    pub rehearse: bool,
    /// With --rehearse: the snapshot, `latest`, an id, or a unique id prefix.
    #[arg(long, short = 's', default_value = "latest", requires = "rehearse")]
    pub snapshot: String,
}

/// `orgpack ls`
#[derive(Debug, Args)]
pub struct LsArgs {
    /// A repository (a directory, or `s3://`, `az://`, `gs://` bucket/prefix) or a .orgpack file.
    pub archive: Location,
    /// The snapshot: `latest`, an id, or a unique id prefix.
    #[arg(long, short = 's', default_value = "latest")]
    pub snapshot: String,
}

/// `orgpack snapshots`
#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    /// A repository (a directory, or `s3://`, `az://`, `gs://` bucket/prefix) or a .orgpack file.
    pub repo: Location,
}

/// `orgpack init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where: a missing or empty directory, or `s3://bucket/prefix`, `az://container/prefix`,
    /// `gs://bucket/prefix` under which nothing is stored yet.
    pub repo: Location,
    /// Encrypt it: its first key is the passphrase ($ORGPACK_REPOSITORY_PASSPHRASE or
    /// --passphrase-file) or the key file (--key-file).
    #[arg(long)]
    pub encrypt: bool,
}

/// `orgpack key`
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: KeyAction,
}

/// `orgpack key add|list|remove`
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Add a key: the new passphrase from $ORGPACK_NEW_REPOSITORY_PASSPHRASE or
    /// --new-passphrase-file, or a key file (--new-key-file). The repository opens with an
    /// existing key.
    Add {
        /// The encrypted repository.
        repo: Location,
        /// Read the new passphrase from this file.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
        /// Add this key file (at least 16 random bytes) instead of a passphrase.
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
    },
    /// List the keys: id, kind, when and where each was added.
    List {
        /// The encrypted repository.
        repo: Location,
    },
    /// Remove a key by id (or unique id prefix); never the last one.
    Remove {
        /// The encrypted repository.
        repo: Location,
        /// The key's id or a unique prefix of it.
        id: String,
    },
}

/// Removing stale locks before taking one (`--break-stale-lock`).
#[derive(Debug, Clone, Copy, Args)]
pub struct LockArgs {
    /// First remove the repository's stale locks: on object storage, lock objects of runs that
    /// were killed (not refreshed for 30 minutes). Live locks are never removed.
    #[arg(long)]
    pub break_stale_lock: bool,
}

/// `orgpack export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The repository to export from (a directory or a bucket URL).
    pub repo: Location,
    /// The snapshot: `latest`, an id, or a unique id prefix. Repeat for several.
    #[arg(long, short = 's', required = true)]
    pub snapshot: Vec<String>,
    /// The single-file archive to create (must not exist).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

/// `orgpack import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The archive to import from (a .orgpack file or another repository).
    pub archive: Location,
    /// The repository to import into (a directory or a bucket URL); created when it does not
    /// exist. Only the blobs it lacks are copied: `import` mirrors a repository off site.
    #[arg(long)]
    pub repo: Location,
    /// The snapshot: `latest`, an id, or a unique id prefix. Repeat for several; all by default.
    #[arg(long, short = 's')]
    pub snapshot: Vec<String>,
    /// `--break-stale-lock`.
    #[command(flatten)]
    pub lock: LockArgs,
}

/// `orgpack copy`
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The repository (or single-file archive) to copy from.
    pub source: Location,
    /// The repository to copy into; made like the source when missing (the same chunker and,
    /// for an encrypted source, the same keys).
    pub destination: Location,
    /// The snapshot: `latest`, an id, or a unique id prefix. Repeat for several; all by default.
    #[arg(long, short = 's')]
    pub snapshot: Vec<String>,
    /// The destination's passphrase, from this file, when it differs from the source's (else
    /// $ORGPACK_DESTINATION_REPOSITORY_PASSPHRASE, else the source's).
    #[arg(long, value_name = "FILE")]
    pub to_passphrase_file: Option<PathBuf>,
    /// The destination's key file, when it differs from the source's.
    #[arg(long, value_name = "FILE")]
    pub to_key_file: Option<PathBuf>,
    /// `--break-stale-lock` (of the destination).
    #[command(flatten)]
    pub lock: LockArgs,
}

/// Which part of an item `cat` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// The item JSON.
    Item,
    /// The item's data.
    Data,
    /// The thumbnail.
    Thumbnail,
    /// The metadata document.
    Metadata,
    /// A resource (give its path).
    Resource,
    /// A payload (give its file name).
    Payload,
}

/// `orgpack cat`
#[derive(Debug, Args)]
pub struct CatArgs {
    /// A repository (a directory, or `s3://`, `az://`, `gs://` bucket/prefix) or a .orgpack file.
    pub archive: Location,
    /// The item id.
    pub item: String,
    /// The part to print.
    #[arg(long, value_enum, default_value = "item")]
    pub part: Part,
    /// The resource path or payload file name, for `--part resource` and `--part payload`.
    pub path: Option<String>,
    /// The snapshot: `latest`, an id, or a unique id prefix.
    #[arg(long, short = 's', default_value = "latest")]
    pub snapshot: String,
}

/// `orgpack prune`
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The repository (a directory or a bucket URL).
    pub repo: Location,
    /// Keep the newest N snapshots of each source organization.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the last N days.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the last N weeks.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the last N months.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Show what would be removed and remove nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// `--break-stale-lock`.
    #[command(flatten)]
    pub lock: LockArgs,
}
