//! One module per subcommand; each returns the exit code on success.

mod backup;
mod cat;
mod copy;
mod demo;
mod demo_in_place;
mod deps;
mod diff;
mod doctor;
pub(crate) mod graph;
mod init;
mod inspect;
mod login;
mod ls;
mod pre_restore;
mod prune;
mod rehearse;
mod report;
pub mod restore;
pub mod sandbox;
mod snapshots;
mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Run the command the user gave.
pub fn run(cli: Cli) -> Result<u8> {
    let json = cli.json;
    let config = cli.config.as_deref();
    crate::secrets::set_sources(cli.passphrase_file.clone(), cli.key_file.clone());
    match cli.command {
        Command::Backup(args) => backup::run(&args, config, json),
        Command::Diff(args) => diff::run(&args, json),
        Command::Demo(args) => demo::run(&args, json),
        Command::Restore(args) => restore::run(&args, config, json),
        Command::Verify(args) => verify::run(&args, json),
        Command::Ls(args) => ls::run(&args, json),
        Command::Snapshots(args) => snapshots::run(&args, json),
        Command::Init(args) => init::run(&args, json),
        Command::Key(args) => init::key(&args, json),
        Command::Export(args) => copy::export(&args, json),
        Command::Import(args) => copy::import(&args, json),
        Command::Copy(args) => copy::copy(&args, json),
        Command::Cat(args) => cat::run(&args),
        Command::Prune(args) => prune::run(&args, json),
        Command::Deps(args) => deps::run(&args, json),
        Command::Graph(args) => graph::run(&args, json),
        Command::Report(args) => report::run(&args, json),
        Command::Inspect(args) => inspect::run(&args, json),
        Command::Sandbox(args) => sandbox::run(&args, json),
        Command::Login(args) => login::run(&args, config, json),
        Command::Doctor(args) => doctor::run(&args, config, json),
    }
}
