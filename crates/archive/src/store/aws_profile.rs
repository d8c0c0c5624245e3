//! The AWS shared configuration files (`~/.aws/credentials`, `~/.aws/config`), which the
//! `object_store` crate does not read: a profile's keys, region and endpoint for `s3://`
//! repositories when the environment names none (spec/archive-format.md §6.6).

use std::collections::HashMap;
use std::path::PathBuf;

/// What a profile says; empty when there is no such profile or file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The section `name` of an INI file: `key = value` lines, `#`/`;` comments.
fn section(text: &str, name: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            out.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

fn home_file(var: &str, default: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(default)))
}

/// The profile `AWS_PROFILE` (else `default`) of the shared credentials and config files
/// (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, else under `~/.aws/`).
pub(crate) fn read() -> Profile {
    let name = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let credentials = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| section(&t, &name))
        .unwrap_or_default();
    // In the config file a profile is `[profile NAME]`, but `[default]`.
    let config_section = if name == "default" {
        name.clone()
    } else {
        format!("profile {name}")
    };
    let config = home_file("AWS_CONFIG_FILE", ".aws/config")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| section(&t, &config_section))
        .unwrap_or_default();
    let get = |key: &str| {
        credentials
            .get(key)
            .or_else(|| config.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    Profile {
        access_key_id: get("aws_access_key_id"),
        secret_access_key: get("aws_secret_access_key"),
        session_token: get("aws_session_token"),
        region: config.get("region").cloned(),
        endpoint_url: config.get("endpoint_url").cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::section;

    #[test]
    fn a_profile_section_is_read_and_others_are_not() {
        let text = "[default]\naws_access_key_id = A\n# a comment\n[backup]\naws_access_key_id=B\n\
                    aws_secret_access_key = s = with equals\n; other\n[other]\nx=1\n";
        let s = section(text, "backup");
        assert_eq!(s.get("aws_access_key_id").map(String::as_str), Some("B"));
        assert_eq!(
            s.get("aws_secret_access_key").map(String::as_str),
            Some("s = with equals")
        );
        assert!(!s.contains_key("x"));
        assert_eq!(section(text, "default").len(), 1);
        assert!(section(text, "missing").is_empty());
    }
}
