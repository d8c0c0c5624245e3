//! Where an archive is: a local path, or a repository on object storage named by URL
//! (spec/archive-format.md §6.6).
//!
//! `s3://bucket/prefix`, `az://container/prefix` and `gs://bucket/prefix` name a repository under
//! a prefix of a bucket; anything else is a local path (a repository directory or a `.orgpack`
//! file). A URL never carries credentials: they come from each cloud's environment variables, so
//! a location can be printed, logged and written into reports as it is.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// Which object storage service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// Amazon S3 or an S3-compatible store (MinIO, Ceph, …): `s3://`.
    S3,
    /// Azure Blob Storage (or Azurite): `az://`.
    Azure,
    /// Google Cloud Storage: `gs://`.
    Gcs,
}

impl Cloud {
    /// The URL scheme.
    #[must_use]
    pub fn scheme(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::Azure => "az",
            Self::Gcs => "gs",
        }
    }
}

/// A repository on object storage: a bucket (or container) and a prefix inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Remote {
    /// The service.
    pub cloud: Cloud,
    /// The bucket or container.
    pub bucket: String,
    /// The prefix the repository's objects live under, without leading or trailing `/`; may be
    /// empty (the whole bucket).
    pub prefix: String,
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.cloud.scheme(), self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

/// Where an archive is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A repository directory or a single-file archive on this machine.
    Local(PathBuf),
    /// A repository on object storage.
    Remote(Remote),
}

impl Location {
    /// Parse what a user wrote after `--repo` (or as an archive argument).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a URL of another scheme, a URL with credentials in it, or a
    /// bucket name that is empty or not a plain name. The message never repeats credentials.
    pub fn parse(text: &str) -> Result<Self> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Self::Local(PathBuf::from(text)));
        };
        let cloud = match scheme.to_ascii_lowercase().as_str() {
            "s3" => Cloud::S3,
            "az" | "azure" => Cloud::Azure,
            "gs" => Cloud::Gcs,
            _ => {
                return Err(Error::InvalidInput(format!(
                    "`{scheme}://` is not a repository location orgpack knows: use a local path, \
                     s3://bucket/prefix, az://container/prefix or gs://bucket/prefix"
                )));
            }
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.contains('@') || bucket.contains(':') {
            return Err(Error::InvalidInput(format!(
                "a {scheme}:// repository URL must not hold credentials or a port: the bucket \
                 name is what follows `{scheme}://`; credentials and endpoints come from the \
                 environment (spec/archive-format.md §6.6)"
            )));
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        if bucket.is_empty() || !bucket.chars().all(plain) {
            return Err(Error::InvalidInput(format!(
                "`{text}`: the bucket name after `{scheme}://` must be a plain name (letters, \
                 digits, `-`, `.`, `_`)"
            )));
        }
        if rest.contains(['?', '#']) {
            return Err(Error::InvalidInput(format!(
                "`{scheme}://{bucket}/…`: a repository URL takes no query or fragment"
            )));
        }
        let prefix: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        if prefix.iter().any(|s| *s == "." || *s == "..") {
            return Err(Error::InvalidInput(format!(
                "`{scheme}://{bucket}/…`: the prefix must not hold `.` or `..` segments"
            )));
        }
        Ok(Self::Remote(Remote {
            cloud,
            bucket: bucket.to_owned(),
            prefix: prefix.join("/"),
        }))
    }

    /// The local path, when this is one.
    #[must_use]
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Self::Local(p) => Some(p),
            Self::Remote(_) => None,
        }
    }

    /// The text used in messages and reports: the path, or the URL.
    #[must_use]
    pub fn to_path_buf(&self) -> PathBuf {
        match self {
            Self::Local(p) => p.clone(),
            Self::Remote(r) => PathBuf::from(r.to_string()),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Self::Local(p)
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Self::Local(p.to_owned())
    }
}

impl FromStr for Location {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::Remote(r) => r.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_the_three_clouds_and_plain_paths_are_told_apart() {
        let r = |t: &str| match Location::parse(t).unwrap() {
            Location::Remote(r) => r,
            Location::Local(p) => panic!("{t} parsed as local {}", p.display()),
        };
        let s3 = r("s3://backups/gis/town/");
        assert_eq!(
            (s3.cloud, s3.bucket.as_str(), s3.prefix.as_str()),
            (Cloud::S3, "backups", "gis/town")
        );
        assert_eq!(s3.to_string(), "s3://backups/gis/town");
        assert_eq!(r("az://c").prefix, "");
        assert_eq!(r("azure://c/p").cloud, Cloud::Azure);
        assert_eq!(r("gs://b//x//y").prefix, "x/y");
        assert_eq!(
            Location::parse("./repo").unwrap(),
            Location::Local("./repo".into())
        );
        assert_eq!(
            Location::parse("/var/backups/a.orgpack")
                .unwrap()
                .to_string(),
            "/var/backups/a.orgpack"
        );
    }

    #[test]
    fn credentials_other_schemes_and_odd_names_are_refused_without_echoing_secrets() {
        let e = Location::parse("s3://AKIA123:s3cr3t@bucket/p")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cr3t") && !e.contains("AKIA123"), "{e}");
        assert!(e.contains("credentials"), "{e}");
        for bad in [
            "ftp://h/x",
            "s3:///p",
            "s3://b?x=1",
            "gs://b/../x",
            "az://a b/c",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
