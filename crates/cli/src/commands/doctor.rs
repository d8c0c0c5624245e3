//! `orgpack doctor PORTAL [--repo DIR] [--for backup|restore|both] [--username U]`: before the
//! first scheduled run, check what would make it fail, each check with its fix. Changes nothing:
//! only reads from the portal (and, with `--repo`, writes and removes one file there).

use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use orgpack_archive::location::{Location, Remote};
use orgpack_portal::{Client, ClientOptions, Method};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{DoctorArgs, DoctorPurpose};
use crate::config::{self, Overrides};
use crate::exit;
use crate::render;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Worth a look: the run goes on, perhaps missing something.
    Warn,
    /// The run would fail (or miss what this names).
    Fail,
    /// Not checked (a check before it failed).
    Skipped,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    #[serde(rename = "check")]
    pub name: String,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(check: &str, status: Status, detail: String, fix: Option<String>) -> Self {
        Self {
            name: check.to_owned(),
            status,
            detail,
            fix,
        }
    }
}

/// A privilege orgpack needs, and what for.
pub struct Need {
    /// The privilege (`portal:admin:viewItems`).
    pub privilege: &'static str,
    /// What it is needed for.
    pub why: &'static str,
}

/// What a backup of a whole organization needs.
pub const BACKUP: &[Need] = &[
    Need {
        privilege: "portal:admin:viewItems",
        why: "read every member's items (--all, --owner of others)",
    },
    Need {
        privilege: "portal:admin:viewGroups",
        why: "read every group, its settings and members",
    },
    Need {
        privilege: "portal:admin:viewUsers",
        why: "read the members, their roles and user types (--people all)",
    },
    Need {
        privilege: "portal:user:createItem",
        why: "exports of hosted layers are made as temporary items in this account",
    },
];

/// What a restore into an organization needs.
pub const RESTORE: &[Need] = &[
    Need {
        privilege: "portal:user:createItem",
        why: "create items",
    },
    Need {
        privilege: "portal:publisher:publishFeatures",
        why: "rebuild and republish hosted feature layers",
    },
    Need {
        privilege: "portal:user:createGroup",
        why: "create groups",
    },
    Need {
        privilege: "portal:admin:createUpdateCapableGroup",
        why: "create shared-update groups",
    },
    Need {
        privilege: "portal:admin:shareToGroup",
        why: "share members' items into groups",
    },
    Need {
        privilege: "portal:admin:shareToOrg",
        why: "share members' items with the organization",
    },
    Need {
        privilege: "portal:admin:shareToPublic",
        why: "share members' items with everyone",
    },
    Need {
        privilege: "portal:admin:reassignItems",
        why: "give items back to their owners",
    },
    Need {
        privilege: "portal:admin:reassignGroups",
        why: "give groups back to their owners",
    },
    Need {
        privilege: "portal:admin:assignToGroups",
        why: "add the groups' members",
    },
    Need {
        privilege: "portal:admin:updateItems",
        why: "put members' items back in place (--in-place, --on-existing update)",
    },
    Need {
        privilege: "portal:admin:deleteItems",
        why: "delete what a failed run made (--rollback) and what is new (--delete-new)",
    },
    Need {
        privilege: "portal:admin:inviteUsers",
        why: "make members the target lacks (--people create)",
    },
    Need {
        privilege: "portal:admin:manageRoles",
        why: "make custom roles the target lacks (--people create)",
    },
];

/// The privileges of `needs` that `held` lacks.
pub fn missing<'a>(needs: &'a [Need], held: &[String]) -> Vec<&'a Need> {
    needs
        .iter()
        .filter(|n| !held.iter().any(|h| h == n.privilege))
        .collect()
}

pub fn run(args: &DoctorArgs, config_flag: Option<&Path>, json: bool) -> Result<u8> {
    let config_path = config::locate(config_flag);
    let portal = config::resolve(
        config_path.as_deref(),
        &args.portal,
        &Overrides {
            username: args.username.clone(),
            insecure: false,
        },
    )?;
    let http = raw_client(&portal.options)?;
    let root = portal.url.root.clone();
    let client = Client::new(portal.url, portal.credentials, portal.options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut checks = runtime.block_on(portal_checks(&client, &http, &root, args.purpose));
    match &args.repo {
        Some(Location::Local(repo)) => checks.extend(repository_checks(repo)),
        Some(Location::Remote(remote)) => checks.extend(remote_checks(remote)),
        None => {}
    }
    let ok = checks.iter().all(|c| c.status != Status::Fail);
    if json {
        render::json(&serde_json::json!({
            "message_type": "doctor",
            "portal": root,
            "ok": ok,
            "checks": checks,
        }))?;
    } else {
        let rows: Vec<Vec<String>> = checks
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    format!("{:?}", c.status).to_lowercase(),
                    c.detail.clone(),
                ]
            })
            .collect();
        render::table(&["CHECK", "STATUS", "FOUND"], &rows, &[])?;
        for c in checks.iter().filter(|c| c.fix.is_some()) {
            render::note(&format!(
                "fix ({}): {}",
                c.name,
                c.fix.as_deref().unwrap_or_default()
            ));
        }
        let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
        let warns = checks.iter().filter(|c| c.status == Status::Warn).count();
        render::note(&if fails == 0 {
            format!("ready: nothing would fail ({warns} warnings)")
        } else {
            format!("not ready: {fails} checks would fail, {warns} warnings")
        });
    }
    Ok(if ok { exit::OK } else { exit::FAILURE })
}

/// A plain HTTP client with the portal's certificate settings, for the clock check.
fn raw_client(options: &ClientOptions) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .danger_accept_invalid_certs(options.insecure);
    for pem in &options.ca_certs {
        for cert in reqwest::Certificate::from_pem_bundle(pem)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder.build()?)
}

async fn portal_checks(
    client: &Client,
    http: &reqwest::Client,
    root: &str,
    purpose: DoctorPurpose,
) -> Vec<Check> {
    let mut checks = vec![clock(http, root).await];
    let me = match client
        .call("signed-in user", Method::Get, "community/self", &[])
        .await
    {
        Ok(me) if me["username"].as_str().is_some() => me,
        Ok(_) => {
            checks.push(Check::new(
                "sign-in",
                Status::Fail,
                "signed in anonymously: no user".into(),
                Some("give the portal's username and password_env (or token_env, api_key_env, or `orgpack login`) in the config file".into()),
            ));
            return skipped(checks);
        }
        Err(e) => {
            checks.push(Check::new(
                "sign-in",
                Status::Fail,
                e.to_string(),
                Some("check the config file's username and the variable its password_env names (or token_env, api_key_env; `orgpack login` for OAuth)".into()),
            ));
            return skipped(checks);
        }
    };
    let username = me["username"].as_str().unwrap_or_default().to_owned();
    let role = me["role"].as_str().unwrap_or_default().to_owned();
    checks.push(Check::new(
        "sign-in",
        Status::Ok,
        format!("{username} ({role})"),
        None,
    ));
    let portal = client.portal_self().await.unwrap_or_default();
    checks.push(portal_kind(&portal));
    let held: Vec<String> = me["privileges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if purpose != DoctorPurpose::Restore {
        checks.push(privileges(
            "privileges for backup",
            &username,
            BACKUP,
            &held,
        ));
        checks.push(exports(client, &username, &role).await);
    }
    if purpose != DoctorPurpose::Backup {
        checks.push(privileges(
            "privileges for restore",
            &username,
            RESTORE,
            &held,
        ));
    }
    checks
}

/// The checks after a failed sign-in, marked not run.
fn skipped(mut checks: Vec<Check>) -> Vec<Check> {
    for name in ["portal", "privileges", "exports"] {
        checks.push(Check::new(
            name,
            Status::Skipped,
            "not checked: the sign-in failed".into(),
            None,
        ));
    }
    checks
}

fn portal_kind(portal: &Value) -> Check {
    let enterprise = portal["isPortal"].as_bool().unwrap_or(false);
    let version = portal["currentVersion"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| portal["currentVersion"].as_f64().map(|v| v.to_string()));
    let name = portal["name"].as_str().unwrap_or("?");
    match version {
        Some(v) => Check::new(
            "portal",
            Status::Ok,
            format!(
                "{} \"{name}\", REST API {v}",
                if enterprise {
                    "ArcGIS Enterprise"
                } else {
                    "ArcGIS Online"
                }
            ),
            None,
        ),
        None => Check::new(
            "portal",
            Status::Warn,
            "portals/self names no currentVersion: is this a portal's address?".into(),
            Some(
                "give the portal's address (https://org.maps.arcgis.com or https://host/portal)"
                    .into(),
            ),
        ),
    }
}

fn privileges(check: &str, username: &str, needs: &[Need], held: &[String]) -> Check {
    let lacking = missing(needs, held);
    if lacking.is_empty() {
        return Check::new(check, Status::Ok, format!("all {} held", needs.len()), None);
    }
    let detail = lacking
        .iter()
        .map(|n| format!("{} ({})", n.privilege, n.why))
        .collect::<Vec<_>>()
        .join("; ");
    Check::new(
        check,
        Status::Fail,
        format!("{username} lacks {}: {detail}", lacking.len()),
        Some(format!(
            "give {username} the Administrator role, or a custom role with these privileges (Organization > Member roles)"
        )),
    )
}

/// Hosted feature layers owned by others that this account cannot export (an administrator
/// exports any; others only those whose owners allow export, `Extract`).
async fn exports(client: &Client, username: &str, role: &str) -> Check {
    if role == "org_admin" {
        return Check::new(
            "exports",
            Status::Ok,
            "an administrator exports any hosted feature layer".into(),
            None,
        );
    }
    let found = match client.search_all("type:\"Feature Service\"", 100).await {
        Ok(found) => found,
        Err(e) => {
            return Check::new(
                "exports",
                Status::Warn,
                format!("the hosted feature layers could not be listed: {e}"),
                None,
            );
        }
    };
    let others: Vec<&Value> = found
        .iter()
        .filter(|i| i["owner"].as_str() != Some(username))
        .filter(|i| {
            i["typeKeywords"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "Hosted Service"))
        })
        .collect();
    let mut blocked = Vec::new();
    for item in &others {
        let Some(url) = item["url"].as_str() else {
            continue;
        };
        let capabilities = client
            .call("service", Method::Get, url, &[])
            .await
            .ok()
            .and_then(|s| s["capabilities"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if !capabilities.split(',').any(|c| c.trim() == "Extract") {
            blocked.push(format!(
                "{} ({})",
                item["title"].as_str().unwrap_or("?"),
                item["owner"].as_str().unwrap_or("?")
            ));
        }
    }
    if blocked.is_empty() {
        return Check::new(
            "exports",
            Status::Ok,
            format!(
                "{} hosted feature layers of other owners allow export",
                others.len()
            ),
            None,
        );
    }
    Check::new(
        "exports",
        Status::Warn,
        format!(
            "{} hosted feature layers of other owners do not allow {username} to export them (their data would be missing from each backup, exit 3): {}",
            blocked.len(),
            blocked.join(", ")
        ),
        Some("back up as an administrator, or have the owners turn on \"Allow others to export to different formats\"".into()),
    )
}

/// The local clock against the portal's (its `Date` header): tokens and their expiry are times.
async fn clock(http: &reqwest::Client, root: &str) -> Check {
    let sent = SystemTime::now();
    let answer = http
        .get(format!("{root}/sharing/rest/info?f=json"))
        .send()
        .await;
    let date = match answer {
        Ok(r) => r
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .map(str::to_owned),
        Err(e) => {
            return Check::new(
                "portal reachable",
                Status::Fail,
                if e.is_connect() {
                    format!("{root} could not be reached")
                } else if e.is_timeout() {
                    format!("{root} did not answer in 30 s")
                } else {
                    format!("{root}: the request failed")
                },
                Some("check the URL, the network and any proxy between here and the portal".into()),
            );
        }
    };
    let Some(theirs) = date.as_deref().and_then(parse_http_date) else {
        return Check::new(
            "clock",
            Status::Warn,
            "the portal sent no Date header to compare with".into(),
            None,
        );
    };
    let skew = match sent.duration_since(theirs) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    let (status, fix) = if skew.abs() <= 120.0 {
        (Status::Ok, None)
    } else {
        (
            if skew.abs() > 900.0 {
                Status::Fail
            } else {
                Status::Warn
            },
            Some(
                "set the clock right (timedatectl set-ntp true; on Windows, w32tm /resync)".into(),
            ),
        )
    };
    Check::new(
        "clock",
        status,
        format!("{skew:+.0} s from the portal's"),
        fix,
    )
}

/// An HTTP date (`Thu, 03 Dec 2026 18:11:28 GMT`).
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let ts = jiff::fmt::rfc2822::parse(s).ok()?.timestamp();
    let secs = u64::try_from(ts.as_second()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// A repository on object storage: reachable with the environment's credentials, not locked,
/// and writable (a lock object, or a probe object, made and removed).
fn remote_checks(remote: &Remote) -> Vec<Check> {
    let hint = "check the credentials and endpoint in the environment (AWS_*, AZURE_*, GOOGLE_*; \
                spec/archive-format.md §6.6) and that the bucket exists";
    let location = Location::Remote(remote.clone());
    match crate::secrets::archive(&location).map_err(|e| {
        match e.downcast::<orgpack_archive::Error>() {
            Ok(e) => e,
            Err(e) => orgpack_archive::Error::InvalidInput(e.to_string()),
        }
    }) {
        Ok(a) => {
            let mut checks = vec![Check::new(
                "repository",
                Status::Ok,
                format!("{remote}: {} snapshots", a.index().snapshots.len()),
                None,
            )];
            match crate::secrets::unlock()
                .map_err(|e| orgpack_archive::Error::InvalidInput(e.to_string()))
                .and_then(|u| orgpack_archive::Repository::open_at(&location, u))
            {
                Ok(_) => checks.push(Check::new(
                    "lock",
                    Status::Ok,
                    "not locked; a lock object was written and removed".into(),
                    None,
                )),
                Err(e) if e.is_locked() => checks.push(Check::new(
                    "lock",
                    Status::Warn,
                    e.to_string(),
                    Some(
                        "wait for that run to end (a backup and a prune cannot run at once)".into(),
                    ),
                )),
                Err(e) => checks.push(Check::new(
                    "lock",
                    Status::Fail,
                    e.to_string(),
                    Some(hint.into()),
                )),
            }
            checks
        }
        Err(orgpack_archive::Error::ArchiveNotFound { .. }) => {
            let probe =
                orgpack_archive::store::remote::RemoteStore::connect(remote).and_then(|s| {
                    let name = format!("doctor-probe-{}", std::process::id());
                    s.create_named(&name, b"orgpack doctor")?;
                    s.delete_named(&name)
                });
            match probe {
                Ok(()) => vec![Check::new(
                    "repository",
                    Status::Ok,
                    format!("{remote}: made by the first backup; objects can be written there"),
                    None,
                )],
                Err(e) => vec![Check::new(
                    "repository",
                    Status::Fail,
                    e.to_string(),
                    Some(hint.into()),
                )],
            }
        }
        Err(e) => vec![Check::new(
            "repository",
            Status::Fail,
            e.to_string(),
            Some(hint.into()),
        )],
    }
}

fn repository_checks(repo: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let exists = repo.join("orgpack-layout").is_file();
    if exists {
        match crate::secrets::archive(&Location::Local(repo.to_owned())) {
            Ok(a) => checks.push(Check::new(
                "repository",
                Status::Ok,
                format!("{}: {} snapshots", repo.display(), a.index().snapshots.len()),
                None,
            )),
            Err(e) => checks.push(Check::new(
                "repository",
                Status::Fail,
                format!("{}: {e}", repo.display()),
                Some("run `orgpack verify` on it; restore it from its off-site copy if it is damaged".into()),
            )),
        }
        match crate::secrets::unlock()
            .map_err(|e| orgpack_archive::Error::InvalidInput(e.to_string()))
            .and_then(|u| {
                orgpack_archive::Repository::open_at(&Location::Local(repo.to_owned()), u)
            }) {
            Ok(_) => checks.push(Check::new("lock", Status::Ok, "not locked".into(), None)),
            Err(e) if e.is_locked() => checks.push(Check::new(
                "lock",
                Status::Warn,
                e.to_string(),
                Some("wait for that run to end (a backup and a prune cannot run at once)".into()),
            )),
            Err(e) => checks.push(Check::new("lock", Status::Fail, e.to_string(), None)),
        }
    } else if repo.exists() && std::fs::read_dir(repo).map_or(true, |mut d| d.next().is_some()) {
        checks.push(Check::new(
            "repository",
            Status::Fail,
            format!("{} exists and is not an orgpack repository", repo.display()),
            Some("give an empty or missing directory for a new repository".into()),
        ));
    } else {
        checks.push(Check::new(
            "repository",
            Status::Ok,
            format!("{}: made by the first backup", repo.display()),
            None,
        ));
    }
    // Writable: a file made and removed where the repository is (or will be).
    let dir = if repo.exists() {
        repo.to_owned()
    } else {
        repo.ancestors()
            .skip(1)
            .find(|p| p.exists())
            .map_or_else(|| Path::new(".").to_owned(), Path::to_owned)
    };
    match tempfile::Builder::new()
        .prefix(".orgpack-doctor-")
        .tempfile_in(&dir)
    {
        Ok(_) => checks.push(Check::new(
            "writable",
            Status::Ok,
            format!("{} takes new files", dir.display()),
            None,
        )),
        Err(e) => checks.push(Check::new(
            "writable",
            Status::Fail,
            format!("{}: {e}", dir.display()),
            Some("run as a user who may write there, or choose another --repo".into()),
        )),
    }
    checks.push(free_space(&dir));
    checks
}

#[cfg(unix)]
fn free_space(dir: &Path) -> Check {
    match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let total = s.f_blocks.saturating_mul(s.f_frsize).max(1);
            #[allow(clippy::cast_precision_loss)]
            let share = free as f64 / total as f64;
            let detail = format!(
                "{} free ({:.0} %) on {}",
                render::size(free),
                share * 100.0,
                dir.display()
            );
            if free < 1 << 30 || share < 0.05 {
                Check::new(
                    "free space",
                    Status::Warn,
                    detail,
                    Some("free space or move the repository: a backup that fills the disk fails (content already stored stays)".into()),
                )
            } else {
                Check::new("free space", Status::Ok, detail, None)
            }
        }
        Err(e) => Check::new(
            "free space",
            Status::Warn,
            format!("{}: {e}", dir.display()),
            None,
        ),
    }
}

#[cfg(not(unix))]
fn free_space(dir: &Path) -> Check {
    Check::new(
        "free space",
        Status::Skipped,
        format!("{}: not checked on this platform", dir.display()),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_privileges_are_named_in_order_and_an_http_date_parses() {
        let held = vec![
            "portal:admin:viewItems".to_owned(),
            "portal:user:createItem".to_owned(),
        ];
        let lacking: Vec<&str> = missing(BACKUP, &held).iter().map(|n| n.privilege).collect();
        assert_eq!(
            lacking,
            ["portal:admin:viewGroups", "portal:admin:viewUsers"]
        );
        let t = parse_http_date("Thu, 03 Dec 2026 18:11:28 GMT").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_796_321_488
        );
    }
}
