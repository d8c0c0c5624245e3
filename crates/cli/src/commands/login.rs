//! `orgpack login PORTAL [--url URL] [--client-id ID] [--redirect-port PORT] [--timeout SECS]`
//!
//! The OAuth authorization-code flow with PKCE, for accounts `generateToken` cannot sign in
//! (SAML and other identity providers) and for keeping passwords out of config files: the user
//! opens the printed address in a browser and signs in; the portal sends the browser back to a
//! one-shot listener on 127.0.0.1 with a code; the code is exchanged for a refresh token, which is
//! kept in the config file's `[portal.NAME]` with the application's `client_id`. Later commands
//! sign in with it ([`orgpack_portal::Credentials::OAuth`]). The token is never printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use orgpack_portal::{Client, ClientOptions, Credentials, PortalUrl, oauth};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::cli::LoginArgs;
use crate::config::{self, Config, PortalConfig};
use crate::render;

/// The path the portal redirects the browser to.
const CALLBACK: &str = "/orgpack-login";

pub fn run(args: &LoginArgs, config_flag: Option<&Path>, json: bool) -> Result<u8> {
    let path = config::locate(config_flag)
        .or_else(|| dirs::config_dir().map(|d| d.join("orgpack").join("orgpack.toml")))
        .context("no config file to keep the sign-in in: give --config FILE")?;
    let mut config = if path.is_file() {
        config::load(&path)?
    } else {
        Config::default()
    };
    let mut portal = match (config.portal.get(&args.portal), &args.url) {
        (Some(p), None) => p.clone(),
        (Some(p), Some(url)) => PortalConfig {
            url: url.clone(),
            ..p.clone()
        },
        (None, Some(url)) => PortalConfig {
            url: url.clone(),
            ..PortalConfig::default()
        },
        (None, None) => bail!(
            "no portal `{}` in {}: give its address with --url",
            args.portal,
            path.display()
        ),
    };
    let Some(client_id) = args.client_id.clone().or(portal.client_id.clone()) else {
        bail!("give --client-id: the client id of an OAuth application registered in the portal");
    };
    let url = PortalUrl::parse(&portal.url)
        .map_err(|e| anyhow::anyhow!("portal `{}`: {e}", args.portal))?;
    let mut options = ClientOptions {
        insecure: portal.insecure || args.insecure,
        ..ClientOptions::default()
    };
    if let Some(ca) = &portal.ca_cert {
        options
            .ca_certs
            .push(std::fs::read(ca).with_context(|| format!("reading ca_cert {}", ca.display()))?);
    }
    let client = Client::new(url.clone(), Credentials::Anonymous, options)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let granted = runtime.block_on(sign_in(args, &client, &url, &client_id))?;

    // Keep it: the refresh token replaces whatever secret the portal had (one per portal).
    portal.client_id = Some(client_id);
    portal.refresh_token = Some(granted.refresh_token.clone());
    portal.password = None;
    portal.password_env = None;
    portal.token_env = None;
    portal.api_key_env = None;
    portal.refresh_token_env = None;
    portal.username = Some(granted.username.clone());
    config.portal.insert(args.portal.clone(), portal);
    save(&path, &config)?;
    let days = granted.refresh_token_expires_in.map(|s| s / 86_400);
    if json {
        render::json(&serde_json::json!({
            "message_type": "login", "portal": args.portal, "username": granted.username,
            "config": path.display().to_string(), "refreshTokenExpiresIn": granted.refresh_token_expires_in,
        }))?;
    } else {
        render::note(&format!(
            "signed in to `{}` as {}; the refresh token is kept in {}{}",
            args.portal,
            granted.username,
            path.display(),
            days.map_or_else(String::new, |d| format!(
                " (good for {d} days: run `orgpack login {}` again before then)",
                args.portal
            ))
        ));
    }
    Ok(0)
}

/// Print the address to open, wait for the browser to come back, exchange the code.
async fn sign_in(
    args: &LoginArgs,
    client: &Client,
    url: &PortalUrl,
    client_id: &str,
) -> Result<oauth::Granted> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.redirect_port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{}", args.redirect_port))?;
    let redirect = format!(
        "http://127.0.0.1:{}{CALLBACK}",
        listener.local_addr()?.port()
    );
    let state = oauth::random_string(16)?;
    let pkce = oauth::pkce()?;
    render::note(&format!(
        "open this address in a browser and sign in (waiting {} s):\n  {}",
        args.timeout,
        oauth::authorize_url(url, client_id, &redirect, &state, &pkce)
    ));
    let wait = Duration::from_secs(args.timeout);
    let (mut stream, query) = tokio::time::timeout(wait, callback(&listener))
        .await
        .map_err(|_| anyhow::anyhow!("no sign-in came back within {} s", args.timeout))??;
    let field = |key: &str| {
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| decode(v))
        })
    };
    let outcome = if field("state").as_deref() != Some(state.as_str()) {
        Err(anyhow::anyhow!(
            "the sign-in came back with another state: not the one this command started"
        ))
    } else if let Some(code) = field("code") {
        client
            .exchange_code(client_id, &code, &redirect, &pkce.verifier)
            .await
            .map_err(anyhow::Error::from)
    } else {
        Err(anyhow::anyhow!(
            "the portal refused the sign-in: {}",
            field("error_description")
                .or_else(|| field("error"))
                .unwrap_or_else(|| "no code and no reason".into())
        ))
    };
    let page = match &outcome {
        Ok(g) => format!(
            "orgpack: signed in as {}. You can close this window.",
            html(&g.username)
        ),
        Err(e) => format!("orgpack: the sign-in failed: {}", html(&e.to_string())),
    };
    let body = format!("<!DOCTYPE html><html><body><p>{page}</p></body></html>");
    let _ = stream
        .write_all(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await;
    outcome
}

/// Accept connections until one asks for the callback path; answer others 404. Returns the
/// connection (to answer once the code is exchanged) and the query string.
async fn callback(listener: &tokio::net::TcpListener) -> Result<(tokio::net::TcpStream, String)> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 << 10 {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let target = line.split(' ').nth(1).unwrap_or_default();
        if let Some(query) = target
            .strip_prefix(CALLBACK)
            .and_then(|rest| rest.strip_prefix('?'))
        {
            return Ok((stream, query.to_owned()));
        }
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
    }
}

/// Write the config, keeping the file it replaces as `<file>.bak` (its comments are not carried
/// over); new files are readable by their owner only.
fn save(path: &Path, config: &Config) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.is_file() {
        let mut backup = path.as_os_str().to_owned();
        backup.push(".bak");
        std::fs::copy(path, PathBuf::from(&backup))
            .with_context(|| format!("keeping a copy of {}", path.display()))?;
    }
    config::write(path, config)
}

/// Percent-decoding of a query value (`+` is a space).
fn decode(s: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                i += 1;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Text made safe inside HTML.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
