//! `--report FILE.html` on backup and restore, and `orgpack report`: one self-contained page whose
//! figures are the JSON report's, beside the JSON written as before. (The page in a real browser —
//! sorting, filtering, no console error — is tests/compat/report_page.mjs.)

use std::path::Path;
use std::process::Output;

use crate::stderr;

const PW: &str = "Report-pw-41";

fn orgpack(config: &Path, args: &[&str]) -> Output {
    crate::orgpack_prod(config, PW, args)
}

/// Each figure of a page: `(data-key, data-value)`.
fn facts(html: &str) -> Vec<(String, String)> {
    html.split("<div class=\"fact\" data-key=\"")
        .skip(1)
        .map(|rest| {
            let (key, rest) = rest.split_once('"').unwrap();
            let value = rest
                .strip_prefix(" data-value=\"")
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn backup_restore_and_past_reports_as_pages_whose_figures_are_the_json_reports() {
    let (_rt, sandbox, demo) = crate::demo_sandbox(PW);
    let dir = tempfile::tempdir().unwrap();
    let config = crate::prod_config(dir.path(), &sandbox);
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    let (b_json, b_html) = (dir.path().join("b.json"), dir.path().join("b.html"));
    let out = orgpack(
        &config,
        &[
            "backup",
            "--from",
            "prod",
            "--all",
            "--repo",
            repo,
            "--report",
            b_json.to_str().unwrap(),
            "--report",
            b_html.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&b_json);
    assert_eq!(doc["message_type"], "backup");
    assert!(doc["requests"].as_u64().unwrap() > 0);
    let page = std::fs::read_to_string(&b_html).unwrap();
    assert!(page.starts_with("<!doctype html>"), "{}", &page[..40]);
    assert!(page.contains("data-verdict=\"complete\""));
    let shown = facts(&page);
    assert!(shown.len() >= 8, "{shown:?}");
    for (key, value) in &shown {
        let want = match &doc[key] {
            serde_json::Value::Array(a) => a.len().to_string(),
            v => v.to_string(),
        };
        assert_eq!(value, &want, "{key}");
    }
    // Every item of the organization is a row, and no password is anywhere in the page.
    for id in demo.items.values() {
        assert!(page.contains(&format!("<tr data-id=\"{id}\"")), "{id}");
    }
    assert!(!page.contains(PW));
    // Nothing failed: no retry command, no failures, no graph.
    assert!(!page.contains("id=\"retry\"") && !page.contains("id=\"graph\""));

    // The same backup, later, from the repository alone.
    let (p_json, p_html) = (dir.path().join("p.json"), dir.path().join("p.html"));
    let out = orgpack(
        &config,
        &[
            "report",
            repo,
            "-o",
            p_html.to_str().unwrap(),
            "-o",
            p_json.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let past = json(&p_json);
    assert_eq!(past["snapshot"], doc["snapshot"]);
    assert_eq!(past["items"], doc["items"]);
    let page = std::fs::read_to_string(&p_html).unwrap();
    for (key, value) in facts(&page) {
        let want = match &past[&key] {
            serde_json::Value::Array(a) => a.len().to_string(),
            v => v.to_string(),
        };
        assert_eq!(value, want, "{key}");
    }
    // The plan of a restore in place, as a page.
    let r_html = dir.path().join("r.html");
    let out = orgpack(
        &config,
        &[
            "restore",
            repo,
            "--to",
            "prod",
            "--dry-run",
            "--report",
            r_html.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = std::fs::read_to_string(&r_html).unwrap();
    assert!(page.contains("<title>Restore plan of "), "{page}");
    assert!(page.contains("dry run: nothing was sent"));
    assert!(
        page.contains("data-key=\"targets.0.planned\"")
            || page.contains("data-key=\"targets.0.skipped\"")
    );

    // A snapshot that is not there is named, and nothing is written.
    let missing = dir.path().join("missing.html");
    let out = orgpack(
        &config,
        &[
            "report",
            repo,
            "-s",
            "ffffffff",
            "-o",
            missing.to_str().unwrap(),
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("ffffffff"), "{}", stderr(&out));
    assert!(!missing.exists());
}
