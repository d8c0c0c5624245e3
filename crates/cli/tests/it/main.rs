//! End-to-end tests of the `orgpack` binary, run as a user would run it. JSON output is decoded
//! into test-local mirror structs, never the production types.

mod backup;
mod commands;
mod corrupt;
mod crash;
mod demo;
mod doctor;
mod graph;
mod readme;
mod rehearse;
mod report;
mod spec;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run `orgpack` with `args`.
pub fn orgpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .args(args)
        .env_remove("ORGPACK_JSON")
        .output()
        .expect("run orgpack")
}

/// The workspace's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A repository with `n` sample snapshots taken on successive days.
pub fn sample_repo(dir: &Path, n: u32) -> PathBuf {
    let path = dir.join("repo");
    let mut repo =
        orgpack_archive::Repository::init(&path, orgpack_archive::ChunkerParams::default())
            .unwrap();
    for day in 0..n {
        let created = format!("2026-11-{:02}T02:00:00Z", 10 + day);
        orgpack_archive::sample::write_sample(&mut repo, &created, (2 + u64::from(day)) << 20)
            .unwrap();
    }
    path
}

/// A sandbox serving the demo organization as `demo` (its users' password `password`), with the
/// runtime it runs on: keep both alive for the test.
pub fn demo_sandbox(
    password: &str,
) -> (
    tokio::runtime::Runtime,
    orgpack_sandbox::Sandbox,
    orgpack_sandbox::DemoOrg,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sandbox, demo) = rt.block_on(async {
        let s = orgpack_sandbox::Sandbox::start(orgpack_sandbox::SandboxOptions::default())
            .await
            .unwrap();
        let demo = s.seed_demo("demo", password).await.unwrap();
        (s, demo)
    });
    (rt, sandbox, demo)
}

/// A config file in `dir` naming the sandbox's `demo` organization `prod`, signed in to as
/// `admin` with the password in `ORGPACK_PROD_PASSWORD`.
pub fn prod_config(dir: &Path, sandbox: &orgpack_sandbox::Sandbox) -> PathBuf {
    let config = dir.join("orgpack.toml");
    std::fs::write(
        &config,
        format!(
            "[portal.prod]\nurl = \"{}\"\nusername = \"admin\"\npassword_env = \"ORGPACK_PROD_PASSWORD\"\n",
            sandbox.portal_url("demo")
        ),
    )
    .unwrap();
    config
}

/// `orgpack --config CONFIG ARGS` with `password` in `ORGPACK_PROD_PASSWORD`, without progress.
pub fn orgpack_prod(config: &Path, password: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ORGPACK_PROD_PASSWORD", password)
        .env("ORGPACK_NO_PROGRESS", "1")
        .env_remove("ORGPACK_JSON")
        .output()
        .unwrap()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn cli_definition_is_consistent() {
    use clap::CommandFactory;
    orgpack_cli::cli::Cli::command().debug_assert();
}
