//! The `orgpack` command-line tool. It parses arguments, calls the library crates and renders
//! their results; all logic lives in the libraries.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use orgpack_cli::cli;

mod commands;
mod config;
mod exit;
mod files;
mod metrics;
mod notify;
mod page;
mod progress;
mod render;
mod run_end;
mod secrets;

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    limit_malloc_arenas();
    let cli = cli::Cli::parse();
    let json = cli.json;
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::from(exit::OK);
            }
            let code = exit::code_for(&error);
            let mut err = std::io::stderr().lock();
            if json {
                let doc = serde_json::json!({
                    "message_type": "exit_error",
                    "code": code,
                    "message": error.to_string(),
                    "causes": error.chain().skip(1).map(ToString::to_string).collect::<Vec<_>>(),
                });
                let _ = writeln!(err, "{doc}");
            } else {
                let _ = writeln!(err, "error: {error}");
                for cause in error.chain().skip(1) {
                    let _ = writeln!(err, "  caused by: {cause}");
                }
            }
            ExitCode::from(code)
        }
    }
}

/// glibc gives a thread that allocates while another does an arena of its own (up to eight per
/// core) and keeps what each arena freed: a backup's capture threads took a 57 MB heap to 142 MiB
/// of memory at 10,000 items, 87 MiB with two arenas, as fast. glibc reads `MALLOC_ARENA_MAX` only
/// when a process starts, so unless it is set the process runs itself again, once, with
/// `MALLOC_ARENA_MAX=2` (same process id, arguments and environment otherwise). When that cannot
/// be done (the binary replaced under it), it goes on as it is.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    use std::os::unix::process::CommandExt as _;
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(name) = args.next() {
        command.arg0(name);
    }
    command.args(args).env("MALLOC_ARENA_MAX", "2");
    // `exec` returns only when it failed.
    let _ = command.exec();
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            // A JSON document cut short by the reader (`orgpack ls --json | head`).
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

#[cfg(test)]
mod tests {
    /// A reader that went away.
    struct Gone;

    impl std::io::Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn output_cut_short_by_its_reader_is_not_an_error_whatever_wrote_it() {
        let json = serde_json::to_writer(Gone, &serde_json::json!({"a": 1})).unwrap_err();
        assert!(super::is_broken_pipe(&anyhow::Error::from(json)));
        let io = std::io::Write::write_all(&mut Gone, b"x").unwrap_err();
        assert!(super::is_broken_pipe(
            &anyhow::Error::from(io).context("printing")
        ));
        let other = std::io::Error::other("disk full");
        assert!(!super::is_broken_pipe(&anyhow::Error::from(other)));
    }
}
