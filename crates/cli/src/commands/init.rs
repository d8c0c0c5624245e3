//! `orgpack init REPO`, and `--break-stale-lock` for the commands that lock a repository.

use anyhow::Result;
use orgpack_archive::{ChunkerParams, Location, Repository, SnapshotWriter as _};

use crate::cli::{InitArgs, LockArgs};
use crate::exit;
use crate::render;

pub fn run(args: &InitArgs, json: bool) -> Result<u8> {
    let repo = Repository::init_at(&args.repo, ChunkerParams::default())?;
    if json {
        render::json(&serde_json::json!({
            "message_type": "init",
            "repository": args.repo.to_string(),
            "repositoryId": repo.layout().repository_id,
        }))?;
    } else {
        render::note(&format!("made an empty repository at {}", args.repo));
    }
    Ok(exit::OK)
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
