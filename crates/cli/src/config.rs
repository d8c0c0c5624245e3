//! The config file naming portals (spec/cli.md, "Configuration").
//!
//! Found at `--config FILE`, else `$ORGPACK_CONFIG`, else `./orgpack.toml`, else
//! `<user config dir>/orgpack/orgpack.toml`. Each `[portal.NAME]` table gives `url`, `username`
//! and one of `password`, `password_env`, `token_env`, `api_key_env`, `refresh_token` or
//! `refresh_token_env` (an OAuth refresh token, with the `client_id` of the application it was
//! issued to; `orgpack login` writes both), plus `ca_cert` and `insecure` for portals with their
//! own certificates. Environment variables
//! `ORGPACK_PORTAL_<NAME>_{URL,USERNAME,PASSWORD,TOKEN,API_KEY,CLIENT_ID,REFRESH_TOKEN}` override
//! the file, and flags override both. Secrets never appear in messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use orgpack_portal::{ClientOptions, Credentials, PortalUrl};
use serde::{Deserialize, Serialize};

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "ORGPACK_CONFIG";

/// The whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Portals by name.
    #[serde(default)]
    pub portal: BTreeMap<String, PortalConfig>,
}

/// One `[portal.NAME]` table.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// The portal URL (`https://myorg.maps.arcgis.com`, `https://gis.example.com/portal`).
    pub url: String,
    /// The user to sign in as (with a password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, in the file itself (prefer `password_env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// The environment variable holding a token (OAuth access token, `generateToken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// The environment variable holding an API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The OAuth application (client id) a refresh token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// An OAuth refresh token, in the file itself (`orgpack login` writes it here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The environment variable holding an OAuth refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_env: Option<String>,
    /// A PEM file of certificates to trust (an Enterprise portal's CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate: for a local sandbox only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// The Hub API of an ArcGIS Online organization's environment (where a restore registers
    /// Hub sites' hostnames), when not the one its address implies: a sandbox's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_url: Option<String>,
}

/// Where the config file is, if anywhere: the explicit path (which must exist), else the first
/// of `$ORGPACK_CONFIG`, `./orgpack.toml` and the user config dir's that exists.
#[must_use]
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let here = PathBuf::from("orgpack.toml");
    if here.is_file() {
        return Some(here);
    }
    dirs::config_dir()
        .map(|d| d.join("orgpack").join("orgpack.toml"))
        .filter(|p| p.is_file())
}

/// Read and check the config file at `path`.
///
/// # Errors
/// When it cannot be read or is not a valid config, naming the file and the problem.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    // The message alone: toml's full rendering quotes the offending line, which may hold a secret.
    let config: Config = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].lines().count().max(1)
        });
        anyhow::anyhow!("{}:{line}: {}", path.display(), e.message().trim())
    })?;
    for (name, p) in &config.portal {
        let secrets = [
            p.password.is_some(),
            p.password_env.is_some(),
            p.token_env.is_some(),
            p.api_key_env.is_some(),
            p.refresh_token.is_some(),
            p.refresh_token_env.is_some(),
        ];
        if secrets.iter().filter(|s| **s).count() > 1 {
            bail!(
                "{}: [portal.{name}] gives more than one of password, password_env, token_env, api_key_env, refresh_token and refresh_token_env",
                path.display()
            );
        }
        if (p.refresh_token.is_some() || p.refresh_token_env.is_some()) && p.client_id.is_none() {
            bail!(
                "{}: [portal.{name}] gives a refresh token but no client_id (the application it was issued to)",
                path.display()
            );
        }
        PortalUrl::parse(&p.url)
            .map_err(|e| anyhow::anyhow!("{}: [portal.{name}] url: {e}", path.display()))?;
    }
    Ok(config)
}

/// Write `config` to `path` (a new file; an existing one is replaced whole, never half-written).
///
/// # Errors
/// I/O errors.
pub fn write(path: &Path, config: &Config) -> Result<()> {
    let text = toml::to_string(config).context("serializing the config")?;
    crate::files::write_atomic(path, text.as_bytes())
}

/// Flags that override the config and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--username`.
    pub username: Option<String>,
    /// `--insecure`.
    pub insecure: bool,
}

/// A portal ready to connect to.
pub struct Resolved {
    /// Its URL.
    pub url: PortalUrl,
    /// How to sign in.
    pub credentials: Credentials,
    /// Client settings (certificates).
    pub options: ClientOptions,
}

/// Resolve `name` (a `[portal.NAME]` of the config file, or a URL) into a portal to connect to.
///
/// # Errors
/// An unknown name (listing the known ones), a missing secret (naming the variable), an
/// unreadable CA certificate.
pub fn resolve(config_path: Option<&Path>, name: &str, overrides: &Overrides) -> Result<Resolved> {
    if name.contains("://") {
        // A URL given as the portal: refused before its name can reach a message when it holds
        // credentials.
        PortalUrl::parse(name).map_err(anyhow::Error::msg)?;
    }
    let config = match config_path {
        Some(p) => load(p)?,
        None => Config::default(),
    };
    let mut portal = match config.portal.get(name) {
        Some(p) => p.clone(),
        None if name.starts_with("http://") || name.starts_with("https://") => PortalConfig {
            url: name.to_owned(),
            ..PortalConfig::default()
        },
        None => {
            let known: Vec<&str> = config.portal.keys().map(String::as_str).collect();
            bail!(
                "no portal `{name}` {}; known: {}",
                config_path.map_or_else(
                    || "(no config file: give --config, set ORGPACK_CONFIG or create ./orgpack.toml)".to_owned(),
                    |p| format!("in {}", p.display())
                ),
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            )
        }
    };
    let env_name = env_key(name);
    let var = |field: &str| {
        std::env::var(format!("ORGPACK_PORTAL_{env_name}_{field}"))
            .ok()
            .filter(|v| !v.is_empty())
    };
    if let Some(url) = var("URL") {
        portal.url = url;
    }
    if let Some(user) = var("USERNAME") {
        portal.username = Some(user);
    }
    if let Some(user) = &overrides.username {
        portal.username = Some(user.clone());
    }
    let secret = |env: &str| -> Result<String> {
        std::env::var(env)
            .ok()
            .filter(|v| !v.is_empty())
            .with_context(|| format!("portal `{name}`: the environment variable {env} is not set"))
    };
    let credentials = if let Some(token) = var("TOKEN") {
        Credentials::Token(token)
    } else if let Some(key) = var("API_KEY") {
        Credentials::ApiKey(key)
    } else if let Some(refresh) = var("REFRESH_TOKEN") {
        oauth_credentials(name, var("CLIENT_ID").or(portal.client_id.clone()), refresh)?
    } else if let Some(password) = var("PASSWORD") {
        password_credentials(name, &portal, password)?
    } else if let Some(env) = &portal.token_env {
        Credentials::Token(secret(env)?)
    } else if let Some(env) = &portal.api_key_env {
        Credentials::ApiKey(secret(env)?)
    } else if let Some(env) = &portal.refresh_token_env {
        oauth_credentials(
            name,
            var("CLIENT_ID").or(portal.client_id.clone()),
            secret(env)?,
        )?
    } else if let Some(refresh) = &portal.refresh_token {
        oauth_credentials(
            name,
            var("CLIENT_ID").or(portal.client_id.clone()),
            refresh.clone(),
        )?
    } else if let Some(env) = &portal.password_env {
        password_credentials(name, &portal, secret(env)?)?
    } else if let Some(password) = &portal.password {
        password_credentials(name, &portal, password.clone())?
    } else {
        Credentials::Anonymous
    };
    let url = PortalUrl::parse(&portal.url).map_err(|e| anyhow::anyhow!("portal `{name}`: {e}"))?;
    let mut options = ClientOptions {
        insecure: portal.insecure || overrides.insecure,
        hub_url: portal.hub_url.clone(),
        ..ClientOptions::default()
    };
    if let Some(ca) = &portal.ca_cert {
        let pem = std::fs::read(ca)
            .with_context(|| format!("portal `{name}`: reading ca_cert {}", ca.display()))?;
        options.ca_certs.push(pem);
    }
    Ok(Resolved {
        url,
        credentials,
        options,
    })
}

fn password_credentials(
    name: &str,
    portal: &PortalConfig,
    password: String,
) -> Result<Credentials> {
    let Some(username) = portal.username.clone() else {
        bail!("portal `{name}`: a password is given but no username");
    };
    Ok(Credentials::Password { username, password })
}

fn oauth_credentials(
    name: &str,
    client_id: Option<String>,
    refresh_token: String,
) -> Result<Credentials> {
    let Some(client_id) = client_id else {
        bail!("portal `{name}`: a refresh token is given but no client_id");
    };
    Ok(Credentials::OAuth {
        client_id,
        refresh_token,
    })
}

/// `my-portal` → `MY_PORTAL`, for environment variable names.
fn env_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn a_portal_with_a_password_from_the_environment() {
        let f = file(
            "[portal.prod]\nurl = \"https://example.maps.arcgis.com\"\nusername = \"gis_admin\"\npassword_env = \"PATH\"\n",
        );
        // PATH is set in every test environment; it stands in for a password variable.
        let r = resolve(Some(f.path()), "prod", &Overrides::default()).unwrap();
        assert_eq!(r.url.root, "https://example.maps.arcgis.com");
        match r.credentials {
            Credentials::Password { username, password } => {
                assert_eq!(username, "gis_admin");
                assert_eq!(password, std::env::var("PATH").unwrap());
            }
            other => panic!("{other:?}"),
        }
        let flags = Overrides {
            username: Some("other".into()),
            insecure: false,
        };
        let r = resolve(Some(f.path()), "prod", &flags).unwrap();
        assert!(
            matches!(r.credentials, Credentials::Password { username, .. } if username == "other")
        );
    }

    #[test]
    fn problems_are_named_without_secrets() {
        let f = file(
            "[portal.prod]\nurl = \"https://example.com/portal\"\nusername = \"a\"\npassword_env = \"ORGPACK_TEST_CONFIG_UNSET\"\n",
        );
        let err = resolve(Some(f.path()), "prod", &Overrides::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("ORGPACK_TEST_CONFIG_UNSET is not set"),
            "{err}"
        );
        let err = resolve(Some(f.path()), "dev", &Overrides::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("no portal `dev`") && err.contains("known: prod"),
            "{err}"
        );

        let typo =
            file("[portal.prod]\nurl = \"https://example.com/portal\"\npasword = \"hunter22\"\n");
        let err = format!("{:#}", load(typo.path()).unwrap_err());
        assert!(err.contains("pasword"), "{err}");
        assert!(!err.contains("hunter22"), "{err}");

        let two = file(
            "[portal.p]\nurl = \"https://example.com/portal\"\nusername = \"a\"\npassword = \"x\"\ntoken_env = \"T\"\n",
        );
        let err = format!("{:#}", load(two.path()).unwrap_err());
        assert!(err.contains("more than one"), "{err}");
    }

    #[test]
    fn written_configs_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orgpack.toml");
        let mut config = Config::default();
        config.portal.insert(
            "source".into(),
            PortalConfig {
                url: "http://127.0.0.1:1234/source".into(),
                username: Some("admin".into()),
                password_env: Some("ORGPACK_SANDBOX_PASSWORD".into()),
                ..PortalConfig::default()
            },
        );
        write(&path, &config).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back.portal["source"].username.as_deref(), Some("admin"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[portal.source]"), "{text}");
    }
}
