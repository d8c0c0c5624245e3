//! `orgpack sandbox [--listen ADDR] [--data DIR] [--org NAME[=SEED_DIR]]... [--enterprise-org NAME]...
//! [--demo] [--tls] [--faults SPEC] [--write-config FILE]`

use anyhow::{Context as _, Result};
use orgpack_sandbox::{Sandbox, SandboxOptions};

use crate::cli::SandboxArgs;
use crate::exit;
use crate::render;

/// The organization `--demo` serves.
pub const DEMO_ORG: &str = "demo";

/// The environment variable that sets the sandbox administrators' password.
pub const PASSWORD_ENV: &str = "ORGPACK_SANDBOX_PASSWORD";

pub fn run(args: &SandboxArgs, json: bool) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, json))
}

async fn serve(args: &SandboxArgs, json: bool) -> Result<u8> {
    let faults = args
        .faults
        .as_deref()
        .map(str::parse::<orgpack_sandbox::Faults>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--faults: {e}"))?;
    let listen = match args.port {
        Some(port) => std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        None => args.listen,
    };
    let options = SandboxOptions {
        data_dir: args.data.clone(),
        listen,
        tls: args.tls,
        job_latency: std::time::Duration::from_millis(args.job_latency),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start(options)
        .await
        .context("starting the sandbox")?;
    // (name, enterprise, seed directory)
    let mut orgs: Vec<(String, bool, Option<std::path::PathBuf>)> = Vec::new();
    for spec in &args.orgs {
        let (name, seed) = match spec.split_once('=') {
            Some((name, dir)) => (name, Some(std::path::PathBuf::from(dir))),
            None => (spec.as_str(), None),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            anyhow::bail!("--org {spec}: an organization's name is letters, digits, `-` and `_`");
        }
        orgs.push((name.to_owned(), false, seed));
    }
    orgs.extend(args.enterprise_orgs.iter().map(|o| (o.clone(), true, None)));
    if orgs.is_empty() {
        orgs = vec![
            ("source".to_owned(), false, None),
            ("target".to_owned(), false, None),
        ];
    }
    let (password, generated) = password();
    for (org, enterprise, seed) in &orgs {
        let name = format!("Sandbox {org}");
        if let Some(dir) = seed {
            if !sandbox.has_org(org)? {
                sandbox
                    .seed_dir(org, dir, &password)
                    .await
                    .with_context(|| format!("seeding `{org}` from {}", dir.display()))?;
            }
        } else {
            if *enterprise {
                sandbox.add_enterprise_org(org, &name)?;
            } else {
                sandbox.add_org(org, &name)?;
            }
            sandbox.add_user(org, "admin", &password, "org_admin")?;
        }
    }
    if let Some(faults) = faults {
        sandbox.set_faults(faults);
    }
    if args.demo {
        if orgs.iter().any(|(o, _, _)| o == DEMO_ORG) {
            anyhow::bail!("--demo serves the organization `{DEMO_ORG}`: give --org another name");
        }
        if !sandbox.has_org(DEMO_ORG)? {
            sandbox
                .seed_demo(DEMO_ORG, &password)
                .await
                .context("seeding the demo organization")?;
        }
        orgs.push((DEMO_ORG.to_owned(), false, None));
    }
    let urls: Vec<String> = orgs.iter().map(|(o, _, _)| sandbox.portal_url(o)).collect();
    // Over HTTPS, clients need the certificate: beside the config file when one is written,
    // else in the data directory (where the sandbox keeps it anyway).
    let certificate = match (sandbox.certificate_pem(), &args.write_config, &args.data) {
        (Some(pem), Some(config), _) => {
            let path = std::path::absolute(config)?.with_file_name("orgpack-sandbox-cert.pem");
            crate::files::write_atomic(&path, pem.as_bytes())?;
            Some(path)
        }
        (Some(_), None, Some(data)) => Some(std::path::absolute(data.join("sandbox-cert.pem"))?),
        (Some(pem), None, None) => {
            let path =
                std::env::temp_dir().join(format!("orgpack-sandbox-{}.pem", sandbox.addr().port()));
            crate::files::write_atomic(&path, pem.as_bytes())?;
            Some(path)
        }
        (None, _, _) => None,
    };
    if let Some(path) = &args.write_config {
        let mut config = crate::config::Config::default();
        for (org, _, _) in &orgs {
            config.portal.insert(
                org.clone(),
                crate::config::PortalConfig {
                    url: sandbox.portal_url(org),
                    username: Some("admin".into()),
                    password_env: Some(PASSWORD_ENV.into()),
                    ca_cert: certificate.clone(),
                    hub_url: Some(sandbox.hub_url()),
                    ..crate::config::PortalConfig::default()
                },
            );
        }
        crate::config::write(path, &config)?;
        render::note(&format!(
            "wrote {} ([portal.{}]); the password is read from {PASSWORD_ENV}",
            path.display(),
            orgs.iter()
                .map(|(o, _, _)| o.as_str())
                .collect::<Vec<_>>()
                .join("], [portal.")
        ));
    }
    if json {
        render::json(
            &serde_json::json!({"message_type": "sandbox", "portals": urls, "username": "admin", "passwordEnv": PASSWORD_ENV, "certificate": certificate}),
        )?;
    } else {
        for url in &urls {
            println_stdout(url)?;
        }
    }
    if let (Some(path), false) = (&certificate, json) {
        render::note(&format!(
            "serving HTTPS; the certificate to trust is {}",
            path.display()
        ));
    }
    if generated {
        render::note(&format!(
            "administrator `admin` in every organization, password: {password} (set {PASSWORD_ENV} to choose it)"
        ));
    } else {
        render::note(&format!(
            "administrator `admin` in every organization, password from {PASSWORD_ENV}"
        ));
    }
    render::note("serving until interrupted (Ctrl-C)");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    drop(sandbox);
    Ok(exit::OK)
}

fn println_stdout(line: &str) -> Result<()> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}")?;
    Ok(())
}

/// A password for this run: 20 characters from the OS's random hasher keys.
/// The administrators' password: `$ORGPACK_SANDBOX_PASSWORD`, else a generated one (`true`).
pub fn password() -> (String, bool) {
    match std::env::var(PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (generated_password(), true),
    }
}

pub(crate) fn generated_password() -> String {
    use std::fmt::Write as _;
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < 20 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(out.len());
        let _ = write!(out, "{:x}", h.finish());
    }
    out.truncate(20);
    out
}
