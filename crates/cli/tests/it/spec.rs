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
        // A command with actions (`key add|list|remove`) is documented in one section.
        let flags: BTreeSet<String> = sub
            .get_arguments()
            .chain(sub.get_subcommands().flat_map(clap::Command::get_arguments))
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

/// A JSON shape as spec/cli.md writes it: `{"key", "key"?: value, "key": [{…}], …}`.
#[derive(Debug, Default)]
struct Shape {
    /// Key → (optional, the shape of its object or of its array's objects).
    keys: std::collections::BTreeMap<String, (bool, Option<Shape>)>,
    /// Keys not named (`{source: target}`, `{…}`): anything goes.
    open: bool,
}

// Skip one balanced group starting at s[i] (`(…)`, `[…]`, `{…}` or `"…"`).
fn skip_group(s: &[char], mut i: usize) -> usize {
    let (open, close) = match s[i] {
        '(' => ('(', ')'),
        '[' => ('[', ']'),
        '{' => ('{', '}'),
        '"' => {
            i += 1;
            while s[i] != '"' {
                i += 1;
            }
            return i + 1;
        }
        _ => return i + 1,
    };
    let mut depth = 0;
    loop {
        if s[i] == '"' {
            i = skip_group(s, i);
            continue;
        }
        if s[i] == open {
            depth += 1;
        } else if s[i] == close {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
        i += 1;
    }
}

/// Parse the shape starting at `s[i] == '{'`; returns it and the index after its `}`.
fn parse_shape(s: &[char], mut i: usize) -> (Shape, usize) {
    assert_eq!(s[i], '{');
    i += 1;
    let mut shape = Shape::default();
    let skip_ws = |i: &mut usize| {
        while *i < s.len() && s[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        match s[i] {
            '}' => return (shape, i + 1),
            ',' => i += 1,
            '"' => {
                let end = skip_group(s, i);
                let key: String = s[i + 1..end - 1].iter().collect();
                i = end;
                let mut optional = false;
                let mut child = None;
                if s[i] == '?' {
                    optional = true;
                    i += 1;
                }
                skip_ws(&mut i);
                if s[i] == ':' {
                    i += 1;
                    skip_ws(&mut i);
                    if s[i] == '{' {
                        let (c, next) = parse_shape(s, i);
                        child = Some(c);
                        i = next;
                    } else if s[i] == '[' {
                        let mut j = i + 1;
                        skip_ws(&mut j);
                        if s[j] == '{' {
                            child = Some(parse_shape(s, j).0);
                        }
                        i = skip_group(s, i);
                    }
                }
                // The rest of the value and any comment: up to the next `,` or `}` here.
                loop {
                    skip_ws(&mut i);
                    match s[i] {
                        ',' | '}' => break,
                        '(' | '[' | '{' | '"' => {
                            // `… or {…}`: another form of the value; its keys are not checked.
                            if s[i] == '{' {
                                child = None;
                            }
                            i = skip_group(s, i);
                        }
                        _ => i += 1,
                    }
                }
                shape.keys.insert(key, (optional, child));
            }
            _ => {
                // An unnamed key (`source: target`, `NAME: {…}`, `…`).
                shape.open = true;
                while !matches!(s[i], ',' | '}') {
                    i = if matches!(s[i], '(' | '[' | '{' | '"') {
                        skip_group(s, i)
                    } else {
                        i + 1
                    };
                }
            }
        }
    }
}

/// The shape spec/cli.md documents for `message_type`.
fn documented(spec: &str, message_type: &str) -> Shape {
    let chars: Vec<char> = spec.chars().collect();
    let text: String = chars.iter().collect();
    let at = text
        .find(&format!("{{\"message_type\": \"{message_type}\""))
        .or_else(|| {
            // `"restore" (or "restore_plan")`: the other form's shape.
            let alt = text.find(&format!("(or \"{message_type}\")"))?;
            text[..alt].rfind("{\"message_type\"")
        })
        .unwrap_or_else(|| panic!("spec/cli.md documents no JSON for `{message_type}`"));
    let index = text[..at].chars().count();
    parse_shape(&chars, index).0
}

/// Where `value` does not have the documented shape.
fn mismatches(shape: &Shape, value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    let Some(object) = value.as_object() else {
        out.push(format!("{at}: not an object"));
        return;
    };
    if shape.open {
        return;
    }
    for (key, (optional, child)) in &shape.keys {
        match object.get(key) {
            None if !optional => out.push(format!("{at}.{key}: documented, not printed")),
            None => {}
            Some(v) => {
                if let Some(child) = child {
                    match v {
                        serde_json::Value::Array(items) => {
                            for (n, item) in items.iter().enumerate().take(3) {
                                mismatches(child, item, &format!("{at}.{key}[{n}]"), out);
                            }
                        }
                        serde_json::Value::Object(_) => {
                            mismatches(child, v, &format!("{at}.{key}"), out);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for key in object.keys() {
        if !shape.keys.contains_key(key) {
            out.push(format!("{at}.{key}: printed, not documented"));
        }
    }
}

/// `orgpack --json ARGS…` (run in `dir`), checked against the documented shape of its message
/// type; returns the document.
pub fn json_as_documented(dir: &std::path::Path, args: &[&str], code: i32) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgpack"))
        .arg("--json")
        .args(args)
        .current_dir(dir)
        .env_remove("ORGPACK_JSON")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "orgpack {args:?}: {}",
        crate::stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("orgpack {args:?} printed no JSON: {e}"));
    check_documented(&doc, &format!("orgpack {args:?}"));
    doc
}

/// `doc` (printed by `what`) has the shape spec/cli.md documents for its `message_type`.
pub fn check_documented(doc: &serde_json::Value, what: &str) {
    let kind = doc["message_type"].as_str().unwrap().to_owned();
    let mut wrong = Vec::new();
    mismatches(&documented(&spec(), &kind), doc, &kind, &mut wrong);
    assert!(wrong.is_empty(), "{what}: {wrong:#?}");
}

#[test]
fn the_shape_check_names_what_differs() {
    let chars: Vec<char> = r#"{"message_type": "x" (or "y"), "a", "b"?, "c": [{"d", "e"? (a note)}], "f": {k: v}, "g": {"h"} or {"i"}}"#
        .chars()
        .collect();
    let shape = parse_shape(&chars, 0).0;
    let doc = serde_json::json!({"message_type": "x", "c": [{"d": 1, "z": 2}], "f": {"q": 1}, "g": {"i": 1}, "y": 0});
    let mut wrong = Vec::new();
    mismatches(&shape, &doc, "x", &mut wrong);
    assert_eq!(
        wrong,
        [
            "x.a: documented, not printed",
            "x.c[0].z: printed, not documented",
            "x.y: printed, not documented"
        ]
    );
}

#[test]
fn json_outputs_have_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let repo = crate::sample_repo(dir.path(), 2);
    let repo = repo.to_str().unwrap();
    let d = dir.path();
    let snaps = json_as_documented(d, &["snapshots", repo], 0);
    let first = snaps["snapshots"][0]["id"].as_str().unwrap().to_owned();
    json_as_documented(d, &["ls", repo], 0);
    json_as_documented(d, &["verify", repo], 0);
    json_as_documented(d, &["diff", repo, &first, "latest"], 0);
    json_as_documented(d, &["prune", repo, "--keep-daily", "1", "--dry-run"], 0);
    json_as_documented(
        d,
        &["export", repo, "--snapshot", "latest", "-o", "one.orgpack"],
        0,
    );
    json_as_documented(d, &["import", "one.orgpack", "--repo", "other"], 0);
    let corpus = crate::fixtures().join("corpus/webmap");
    let sample = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    json_as_documented(d, &["deps", sample.to_str().unwrap()], 0);
    let gdb = crate::fixtures().join("demo-org/City.gdb.zip");
    json_as_documented(d, &["inspect", gdb.to_str().unwrap()], 0);
    // A damaged repository: verify says so in the same shape, exit 1.
    let blob = walk(std::path::Path::new(repo).join("blobs").as_path());
    std::fs::write(&blob, b"not the blob").unwrap();
    let bad = json_as_documented(d, &["verify", repo], 1);
    assert_eq!(bad["ok"], false);
}

/// A file somewhere under `dir`.
fn walk(dir: &std::path::Path) -> std::path::PathBuf {
    let path = std::fs::read_dir(dir)
        .unwrap()
        .next()
        .unwrap_or_else(|| panic!("{} is empty", dir.display()))
        .unwrap()
        .path();
    if path.is_dir() { walk(&path) } else { path }
}

/// A flag's bullet in a command's section: the text after "- `--flag …`" up to the next bullet.
fn bullet<'a>(section: &'a str, flag: &str) -> Option<(&'a str, &'a str)> {
    let marker = format!("- `--{flag}");
    let start = section.find(&marker)?;
    let rest = &section[start + 3..];
    let head_end = rest.find('`')?;
    let head = &rest[..head_end];
    let body = &rest[head_end..];
    let end = body.find("\n- ").unwrap_or(body.len());
    Some((head, &body[..end]))
}

/// What a flag's bullet says its default is: "(default `X`" or "(default X" up to `)`, `;`,
/// `:` or `,`.
fn documented_default(text: &str) -> Option<String> {
    let at = text.find("(default ")? + "(default ".len();
    let rest = &text[at..];
    let value = if let Some(quoted) = rest.strip_prefix('`') {
        &quoted[..quoted.find('`')?]
    } else {
        &rest[..rest.find([')', ';', ':', ','])?]
    };
    Some(value.trim().to_owned())
}

#[test]
fn each_flags_values_and_default_are_the_documented_ones() {
    let spec = spec();
    let cli = orgpack_cli::cli::Cli::command();
    let mut checked = 0;
    for sub in cli.get_subcommands() {
        let text = section(&spec, sub.get_name());
        for arg in sub.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let Some((head, body)) = bullet(text, long) else {
                continue;
            };
            let name = format!("orgpack {} --{long}", sub.get_name());
            // `--flag a|b|c`: exactly the values clap accepts.
            let possible: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_owned())
                .collect();
            if let Some(values) = head.split_whitespace().nth(1).filter(|v| v.contains('|')) {
                let documented: Vec<&str> = values.split('|').collect();
                let mut want = possible.clone();
                want.sort();
                let mut have: Vec<String> = documented.iter().map(|s| (*s).to_owned()).collect();
                have.sort();
                assert_eq!(have, want, "{name}: documented values vs accepted ones");
                checked += 1;
            } else if !possible.is_empty() && arg.get_action().takes_values() {
                panic!("{name} accepts {possible:?}; spec/cli.md lists none as `--{long} a|b`");
            }
            // "(default X)": what clap fills in when the flag is not given.
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            if let Some(default) = documented_default(body) {
                assert_eq!(
                    defaults.join(","),
                    default,
                    "{name}: spec/cli.md says the default is `{default}`"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} flag summaries checked");
}
