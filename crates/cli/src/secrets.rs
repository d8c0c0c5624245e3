//! What opens encrypted repositories: the passphrase from `ORGPACK_REPOSITORY_PASSPHRASE` or
//! `--passphrase-file FILE`, or a key file from `--key-file FILE` (never a plain command-line
//! argument, never printed). Read once, when first needed.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context as _, Result, bail};
use orgpack_archive::crypt::Unlock;
use orgpack_archive::{Archive, Location, Repository};
use zeroize::Zeroizing;

/// The variable holding a repository's passphrase.
pub const PASSPHRASE_VAR: &str = "ORGPACK_REPOSITORY_PASSPHRASE";
/// The variable holding the passphrase of `orgpack copy`'s destination, when it differs.
pub const DESTINATION_PASSPHRASE_VAR: &str = "ORGPACK_DESTINATION_REPOSITORY_PASSPHRASE";
/// The variable holding the passphrase `orgpack key add` adds.
pub const NEW_PASSPHRASE_VAR: &str = "ORGPACK_NEW_REPOSITORY_PASSPHRASE";

static SOURCES: OnceLock<(Option<PathBuf>, Option<PathBuf>)> = OnceLock::new();
static UNLOCK: OnceLock<Option<Unlock>> = OnceLock::new();

/// Remember the global `--passphrase-file` and `--key-file` (called once, at start).
pub fn set_sources(passphrase_file: Option<PathBuf>, key_file: Option<PathBuf>) {
    let _ = SOURCES.set((passphrase_file, key_file));
}

/// Read what `--passphrase-file`/`--key-file`/the variable name: `None` when nothing is given.
///
/// # Errors
/// An unreadable or empty file, or both a passphrase and a key file given.
pub fn read(
    var: &str,
    passphrase_file: Option<&PathBuf>,
    key_file: Option<&PathBuf>,
) -> Result<Option<Unlock>> {
    let from_var = std::env::var(var).ok().filter(|p| !p.is_empty());
    let passphrase = match (passphrase_file, from_var) {
        (Some(file), _) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(file)
                    .with_context(|| format!("reading the passphrase file {}", file.display()))?,
            );
            // One line: the line break an editor adds is not part of it.
            let line = text.strip_suffix('\n').unwrap_or(&text);
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                bail!("the passphrase file {} is empty", file.display());
            }
            Some(Zeroizing::new(line.to_owned()))
        }
        (None, Some(p)) => Some(Zeroizing::new(p)),
        (None, None) => None,
    };
    match (passphrase, key_file) {
        (Some(_), Some(_)) => {
            bail!("give a passphrase or a key file, not both")
        }
        (Some(p), None) => Ok(Some(Unlock::Passphrase(p))),
        (None, Some(file)) => {
            let bytes = Zeroizing::new(
                std::fs::read(file)
                    .with_context(|| format!("reading the key file {}", file.display()))?,
            );
            if bytes.len() < 16 {
                bail!(
                    "the key file {} holds {} bytes: a key file needs at least 16 random bytes",
                    file.display(),
                    bytes.len()
                );
            }
            Ok(Some(Unlock::KeyFile(bytes)))
        }
        (None, None) => Ok(None),
    }
}

/// What opens the repositories of this run (`None`: nothing given; plain repositories need
/// nothing).
///
/// # Errors
/// As [`read`].
pub fn unlock() -> Result<Option<&'static Unlock>> {
    if let Some(u) = UNLOCK.get() {
        return Ok(u.as_ref());
    }
    let (passphrase_file, key_file) = SOURCES.get().cloned().unwrap_or_default();
    let read = read(PASSPHRASE_VAR, passphrase_file.as_ref(), key_file.as_ref())?;
    Ok(UNLOCK.get_or_init(|| read).as_ref())
}

/// Open an archive (a repository or a single file) at `location`, encrypted or not.
///
/// # Errors
/// As [`Archive::open_at`].
pub fn archive(location: &Location) -> Result<Archive> {
    Ok(Archive::open_at(location, unlock()?)?)
}

/// Open a repository for writing, creating a plain one when missing.
///
/// # Errors
/// As [`Repository::open_or_init_at`].
pub fn repository(location: &Location) -> Result<Repository> {
    Ok(Repository::open_or_init_at(location, unlock()?)?)
}
