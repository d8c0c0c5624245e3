//! `orgpack init REPO [--encrypt]`, `orgpack key add|list|remove REPO`, and `--break-stale-lock`
//! for the commands that lock a repository.

use std::io::Write as _;

use anyhow::{Result, bail};
use orgpack_archive::{ChunkerParams, Location, Repository, SnapshotWriter as _};

use crate::cli::{InitArgs, KeyAction, KeyArgs, LockArgs};
use crate::exit;
use crate::render;
use crate::secrets;

pub fn run(args: &InitArgs, json: bool) -> Result<u8> {
    let encrypt = if args.encrypt {
        let Some(unlock) = secrets::unlock()? else {
            bail!(
                "--encrypt needs the passphrase of the repository's first key: set {} or give \
                 --passphrase-file FILE (or --key-file FILE)",
                secrets::PASSPHRASE_VAR
            );
        };
        Some(unlock)
    } else {
        None
    };
    let repo = Repository::init_at(&args.repo, ChunkerParams::default(), encrypt)?;
    if json {
        render::json(&serde_json::json!({
            "message_type": "init",
            "repository": args.repo.to_string(),
            "repositoryId": repo.layout().repository_id,
            "encrypted": args.encrypt,
        }))?;
    } else if args.encrypt {
        render::note(&format!(
            "made an empty encrypted repository at {}: keep its passphrase (or key file) safe, \
             nothing opens it without one",
            args.repo
        ));
    } else {
        render::note(&format!("made an empty repository at {}", args.repo));
    }
    Ok(exit::OK)
}

/// `orgpack key add|list|remove REPO`
pub fn key(args: &KeyArgs, json: bool) -> Result<u8> {
    match &args.action {
        KeyAction::Add {
            repo,
            new_passphrase_file,
            new_key_file,
        } => {
            let Some(new) = secrets::read(
                secrets::NEW_PASSPHRASE_VAR,
                new_passphrase_file.as_ref(),
                new_key_file.as_ref(),
            )?
            else {
                bail!(
                    "give the new key: set {} or give --new-passphrase-file FILE or \
                     --new-key-file FILE",
                    secrets::NEW_PASSPHRASE_VAR
                );
            };
            let repository = open_encrypted(repo)?;
            let id = repository.add_key(&new)?;
            if json {
                render::json(&serde_json::json!({
                    "message_type": "key_add", "repository": repo.to_string(), "id": id.hex(),
                }))?;
            } else {
                render::note(&format!("added key {} to {repo}", &id.hex()[..12]));
            }
        }
        KeyAction::List { repo } => {
            let repository = open_encrypted(repo)?;
            let keys = repository.keys()?;
            if json {
                let keys: Vec<_> = keys
                    .iter()
                    .map(|(id, doc)| {
                        serde_json::json!({
                            "id": id.hex(), "kind": doc.kind, "created": doc.created,
                            "host": doc.host,
                        })
                    })
                    .collect();
                render::json(&serde_json::json!({
                    "message_type": "keys", "repository": repo.to_string(), "keys": keys,
                }))?;
            } else {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{:<12}  {:<10}  {:<27}  HOST", "ID", "KIND", "CREATED")?;
                for (id, doc) in &keys {
                    writeln!(
                        out,
                        "{:<12}  {:<10}  {:<27}  {}",
                        &id.hex()[..12],
                        doc.kind,
                        doc.created,
                        doc.host
                    )?;
                }
            }
        }
        KeyAction::Remove { repo, id } => {
            let repository = open_encrypted(repo)?;
            let removed = repository.remove_key(id)?;
            if json {
                render::json(&serde_json::json!({
                    "message_type": "key_remove", "repository": repo.to_string(),
                    "id": removed.hex(),
                }))?;
            } else {
                render::note(&format!("removed key {} from {repo}", &removed.hex()[..12]));
            }
        }
    }
    Ok(exit::OK)
}

fn open_encrypted(repo: &Location) -> Result<Repository> {
    let repository = Repository::open_at(repo, secrets::unlock()?)?;
    if repository.layout().encryption.is_none() {
        bail!("{repo} is not encrypted: it has no keys");
    }
    Ok(repository)
}

/// With `--break-stale-lock`, remove the stale locks of `repo` before the command takes its own,
/// saying which (on stderr).
pub fn break_stale_locks(repo: &Location, lock: LockArgs) -> Result<()> {
    if !lock.break_stale_lock {
        return Ok(());
    }
    for held in Repository::break_stale_locks(repo)? {
        render::note(&format!("{repo}: removed a stale lock ({held})"));
    }
    Ok(())
}
