//! `spec/cli.md` and the clap definition agree: every command has a section, every flag is
//! documented in its command's section, and every documented flag exists.

use std::collections::BTreeSet;

use clap::CommandFactory;

fn spec() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/cli.md"),
    )
    .unwrap()
}

/// The text of the section `### orgpack NAME …` up to the next `###`.
fn section<'a>(spec: &'a str, command: &str) -> &'a str {
    let marker = format!("### `orgpack {command}");
    let start = spec
        .find(&marker)
        .unwrap_or_else(|| panic!("spec/cli.md has no section for `orgpack {command}`"));
    let rest = &spec[start + marker.len()..];
    &rest[..rest.find("\n### ").unwrap_or(rest.len())]
}

#[test]
fn every_command_and_flag_is_documented_and_nothing_else() {
    let spec = spec();
    let cli = orgpack_cli::cli::Cli::command();
    for global in cli.get_arguments().filter_map(|a| a.get_long()) {
        assert!(
            spec.contains(&format!("### `--{global}`")),
            "global flag --{global} is not documented"
        );
    }
    let globals: BTreeSet<&str> = cli.get_arguments().filter_map(|a| a.get_long()).collect();
    let mut names = Vec::new();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        names.push(name.to_owned());
        let text = section(&spec, name);
        let flags: BTreeSet<String> = sub
            .get_arguments()
            .filter_map(|a| a.get_long())
            .filter(|l| !globals.contains(l))
            .map(|l| format!("--{l}"))
            .collect();
        for flag in &flags {
            assert!(
                text.contains(flag.as_str()),
                "`orgpack {name} {flag}` is not documented in spec/cli.md"
            );
        }
        // Flags the section mentions must exist (the command line in the heading included).
        for word in text.split(|c: char| c.is_whitespace() || "`,():;[]".contains(c)) {
            if let Some(flag) = word.strip_prefix("--")
                && !flag.is_empty()
            {
                let flag = flag.split('=').next().unwrap_or(flag);
                assert!(
                    flags.contains(&format!("--{flag}")) || globals.contains(flag),
                    "spec/cli.md documents `orgpack {name} --{flag}`, which does not exist"
                );
            }
        }
    }
    for heading in spec.lines().filter_map(|l| l.strip_prefix("### `orgpack ")) {
        let name = heading.split([' ', '`']).next().unwrap_or_default();
        assert!(
            names.iter().any(|n| n == name),
            "spec/cli.md documents `orgpack {name}`, which does not exist"
        );
    }
}
