//! The HTML report: one self-contained page (its style and script inline, a content security
//! policy that forbids every network request) that a GIS administrator reads on a phone the
//! morning after — the verdict first, then the figures, what to run to retry, what changed,
//! failures grouped by cause with what they held back, a picture of the failed items'
//! dependencies, and a sortable, filterable table of every item.
//!
//! [`Page`] is what a page says; `page::backup` and `page::restore` fill one from a backup or a
//! restore, and [`Page::html`] writes it. Every figure a page shows carries the key of the same
//! figure in the JSON report (`data-key`) and its exact value (`data-value`), so a test can hold
//! the two side by side.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use orgpack_archive::manifest::Snapshot;

pub mod backup;
pub mod restore;

const STYLE: &str = include_str!("page/page.css");
const SCRIPT: &str = include_str!("page/page.js");

/// What a run's page says.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// `Backup of Source County`.
    pub title: String,
    /// The portal, the snapshot, when.
    pub subtitle: String,
    /// The verdict, first on the page.
    pub verdict: Verdict,
    /// Figures: items, bytes, requests, seconds.
    pub facts: Vec<Fact>,
    /// The command that retries what failed.
    pub retry: Option<String>,
    /// What changed since the previous snapshot, one line each.
    pub changes: Vec<String>,
    /// Failures grouped by cause.
    pub causes: Vec<Cause>,
    /// The failed items and what they held back, as SVG.
    pub graph: Option<String>,
    /// The items table's per-target column groups (one, `backup`, for a backup).
    pub columns: Vec<String>,
    /// The items table.
    pub rows: Vec<Row>,
    /// Anything else worth reading.
    pub notes: Vec<String>,
}

/// A run's verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Verdict {
    /// Everything was done.
    #[default]
    Complete,
    /// Done but for `count` of `what` (`parts missing`, `items failed`).
    Missing { count: usize, what: &'static str },
    /// The run failed as a whole (a target could not be reached).
    Failed(String),
}

impl Verdict {
    fn class(&self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Missing { .. } => "missing",
            Self::Failed(_) => "failed",
        }
    }
}

/// One figure: `key` is its path in the JSON report (`bytesIn`, `targets.east.created`).
#[derive(Debug, Clone)]
pub struct Fact {
    pub key: String,
    pub label: String,
    /// The exact value, as the JSON report has it.
    pub value: String,
    /// The value as shown (`1.2 MiB` for 1,258,291 bytes).
    pub shown: String,
}

impl Fact {
    /// A count, shown as it is.
    pub fn count(key: &str, label: &str, n: usize) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            value: n.to_string(),
            shown: n.to_string(),
        }
    }

    /// A number of bytes, shown in binary units.
    pub fn bytes(key: &str, label: &str, n: u64) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            value: n.to_string(),
            shown: crate::render::size(n),
        }
    }

    /// Seconds, shown to a tenth.
    pub fn seconds(key: &str, label: &str, s: f64) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            value: s.to_string(),
            shown: format!("{s:.1} s"),
        }
    }
}

/// Failures that share a cause.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The message, made generic.
    pub message: String,
    /// `(id, title)` of each item (or group, or user) that failed so.
    pub items: Vec<(String, String)>,
    /// `(id, title)` of what they held back: items skipped or left broken because of them.
    pub held_back: Vec<(String, String)>,
}

/// One item of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub item_type: String,
    pub owner: String,
    /// Bytes stored for it, when known.
    pub size: Option<u64>,
    /// One per column group.
    pub cells: Vec<Cell>,
}

/// What happened to an item in one column group.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub action: String,
    pub status: String,
    pub reason: String,
}

/// Failures grouped by their message, with each 32-hex id in it made `<id>` so that one cause
/// met by many items is one group. `failures` is `(id, title, message)`.
pub fn group_causes(
    failures: impl IntoIterator<Item = (String, String, String)>,
    held_back: &dyn Fn(&str) -> Vec<(String, String)>,
) -> Vec<Cause> {
    let mut out: Vec<Cause> = Vec::new();
    for (id, title, message) in failures {
        let cause = generic(&message);
        let at = if let Some(i) = out.iter().position(|c| c.message == cause) {
            i
        } else {
            out.push(Cause {
                message: cause,
                items: Vec::new(),
                held_back: Vec::new(),
            });
            out.len() - 1
        };
        for h in held_back(&id) {
            if !out[at].held_back.contains(&h) {
                out[at].held_back.push(h);
            }
        }
        out[at].items.push((id, title));
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.items.len()));
    out
}

/// `message` with item ids, job ids and numbers of four digits or more made generic.
fn generic(message: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.len() == 32 && word.chars().all(|c| c.is_ascii_hexdigit()) {
            out.push_str("<id>");
        } else if word.len() >= 4 && word.chars().all(|c| c.is_ascii_digit()) {
            out.push('N');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Write the report to each of `paths`: the page where a path ends in `.html`, else `json`.
pub fn write_all(
    paths: &[std::path::PathBuf],
    json: &serde_json::Value,
    page: &Page,
) -> Result<()> {
    for path in paths {
        if is_html(path) {
            crate::files::write_atomic(path, page.html().as_bytes())?;
        } else {
            crate::files::write_atomic(path, serde_json::to_string_pretty(json)?.as_bytes())?;
        }
    }
    Ok(())
}

/// The command line this process was started with, quoted for a POSIX shell: run again, a
/// backup fetches what it could not and a restore resumes and retries what failed.
pub fn this_command() -> String {
    std::env::args()
        .map(|a| shell_quote(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// Items drawn at most in the graph of failures.
const MOST_DRAWN: usize = 80;

/// The graph of `failed` items and what each held back (`held_back`), with the edges between
/// them from the snapshot's dependencies and relationships, as SVG; none when nothing failed.
#[must_use]
pub fn failure_graph(
    snapshot: &Snapshot,
    failed: &BTreeSet<String>,
    held_back: &dyn Fn(&str) -> Vec<(String, String)>,
) -> Option<String> {
    if failed.is_empty() {
        return None;
    }
    let mut held: BTreeSet<String> = BTreeSet::new();
    for id in failed {
        held.extend(held_back(id).into_iter().map(|(h, _)| h));
    }
    let drawn: BTreeSet<&String> = failed
        .iter()
        .chain(held.iter().filter(|h| !failed.contains(*h)))
        .take(MOST_DRAWN)
        .collect();
    let graph = crate::commands::graph::build(snapshot);
    let mut sub = orgpack_graph::Graph::new();
    for n in &drawn {
        sub.add_node(n);
    }
    for e in graph.edges() {
        if drawn.contains(&e.from) && drawn.contains(&e.to) {
            sub.add_edge(e.clone());
        }
    }
    let label = |id: &str| {
        snapshot.item(id).map_or_else(
            || id.to_owned(),
            |i| format!("{} ({})", i.title, i.item_type),
        )
    };
    let class = |id: &str| {
        if failed.contains(id) {
            "failed"
        } else {
            "held"
        }
    };
    Some(orgpack_graph::to_svg(&sub, &label, &class))
}

/// A report path that asks for the page.
pub fn is_html(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
}

/// `s` escaped for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    orgpack_graph::svg::escape(s)
}

impl Page {
    /// The page, whole.
    #[must_use]
    pub fn html(&self) -> String {
        let mut o = String::with_capacity(16 << 10);
        let _ = write!(
            o,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
             <meta name=\"generator\" content=\"orgpack {}\"><title>{}</title><style>{STYLE}</style>\
             </head><body><header><h1>{}</h1><p class=\"sub\">{}</p></header>",
            env!("CARGO_PKG_VERSION"),
            esc(&self.title),
            esc(&self.title),
            esc(&self.subtitle)
        );
        self.verdict_html(&mut o);
        self.facts_html(&mut o);
        if let Some(retry) = &self.retry {
            let _ = write!(
                o,
                "<section id=\"retry\"><h2>Retry what failed</h2><pre><code>{}</code></pre></section>",
                esc(retry)
            );
        }
        list(
            &mut o,
            "changes",
            "Since the previous snapshot",
            &self.changes,
        );
        self.causes_html(&mut o);
        if let Some(svg) = &self.graph {
            let _ = write!(
                o,
                "<section id=\"graph\"><h2>What failed and what it held back</h2>\
                 <p class=\"legend\"><span class=\"key failed\">failed</span> \
                 <span class=\"key held\">held back</span> an arrow points at what an item \
                 needs; dashed: a relationship only</p><div class=\"scroll\">{svg}</div></section>"
            );
        }
        self.table_html(&mut o);
        list(&mut o, "notes", "Notes", &self.notes);
        let _ = writeln!(o, "<script>{SCRIPT}</script></body></html>");
        o
    }

    fn verdict_html(&self, o: &mut String) {
        let (head, text) = match &self.verdict {
            Verdict::Complete => ("Complete".to_owned(), String::new()),
            Verdict::Missing { count, what } => (format!("{count} {what}"), String::new()),
            Verdict::Failed(why) => ("Failed".to_owned(), why.clone()),
        };
        let count = match &self.verdict {
            Verdict::Missing { count, .. } => *count,
            _ => 0,
        };
        let _ = write!(
            o,
            "<section id=\"verdict\" class=\"verdict {}\" data-verdict=\"{}\" data-count=\"{count}\">\
             <strong>{}</strong>{}</section>",
            self.verdict.class(),
            self.verdict.class(),
            esc(&head),
            if text.is_empty() {
                String::new()
            } else {
                format!(" <span>{}</span>", esc(&text))
            }
        );
    }

    fn facts_html(&self, o: &mut String) {
        o.push_str("<section id=\"facts\"><dl>");
        for f in &self.facts {
            let _ = write!(
                o,
                "<div class=\"fact\" data-key=\"{}\" data-value=\"{}\"><dt>{}</dt><dd>{}</dd></div>",
                esc(&f.key),
                esc(&f.value),
                esc(&f.label),
                esc(&f.shown)
            );
        }
        o.push_str("</dl></section>");
    }

    fn causes_html(&self, o: &mut String) {
        if self.causes.is_empty() {
            return;
        }
        o.push_str("<section id=\"failures\"><h2>Failures by cause</h2>");
        for c in &self.causes {
            let _ = write!(
                o,
                "<div class=\"cause\" data-items=\"{}\" data-held-back=\"{}\"><h3>{}</h3><p>{} \
                 failed: {}</p>",
                c.items.len(),
                c.held_back.len(),
                esc(&c.message),
                c.items.len(),
                names(&c.items)
            );
            if !c.held_back.is_empty() {
                let _ = write!(
                    o,
                    "<p class=\"held\">Held back ({}): {}</p>",
                    c.held_back.len(),
                    names(&c.held_back)
                );
            }
            o.push_str("</div>");
        }
        o.push_str("</section>");
    }

    fn table_html(&self, o: &mut String) {
        let mut statuses: Vec<&str> = self
            .rows
            .iter()
            .flat_map(|r| r.cells.iter().map(|c| c.status.as_str()))
            .collect();
        statuses.sort_unstable();
        statuses.dedup();
        let _ = write!(
            o,
            "<section id=\"items\"><h2>Items</h2><div class=\"controls\">\
             <input id=\"filter\" type=\"search\" placeholder=\"Filter by title, id, type, owner, reason\" \
             aria-label=\"Filter items\"><select id=\"status\" aria-label=\"Status\">\
             <option value=\"\">every status</option>{}</select> <span id=\"shown\">{} items</span></div>\
             <div class=\"scroll\"><table id=\"items-table\"><thead><tr>\
             <th data-sort=\"text\">Title</th><th data-sort=\"text\">Type</th>\
             <th data-sort=\"text\">Owner</th><th data-sort=\"number\">Size</th>",
            statuses.iter().fold(String::new(), |mut all, s| {
                let _ = write!(all, "<option>{}</option>", esc(s));
                all
            }),
            self.rows.len()
        );
        let many = self.columns.len() > 1;
        for column in &self.columns {
            let prefix = if many {
                format!("{} · ", esc(column))
            } else {
                String::new()
            };
            let _ = write!(
                o,
                "<th data-sort=\"text\">{prefix}Action</th><th data-sort=\"text\">{prefix}Status</th>\
                 <th data-sort=\"text\">{prefix}Reason</th>"
            );
        }
        o.push_str("</tr></thead><tbody>");
        for r in &self.rows {
            let status: Vec<&str> = r.cells.iter().map(|c| c.status.as_str()).collect();
            let _ = write!(
                o,
                "<tr data-id=\"{}\" data-status=\"{}\"><td><span class=\"title\">{}</span>\
                 <span class=\"id\">{}</span></td><td>{}</td><td>{}</td><td data-value=\"{}\">{}</td>",
                esc(&r.id),
                esc(&status.join("|")),
                esc(&r.title),
                esc(&r.id),
                esc(&r.item_type),
                esc(&r.owner),
                r.size.unwrap_or(0),
                r.size.map(crate::render::size).unwrap_or_default()
            );
            for c in &r.cells {
                let _ = write!(
                    o,
                    "<td>{}</td><td class=\"status {}\">{}</td><td>{}</td>",
                    esc(&c.action),
                    esc(&c.status.replace(' ', "-")),
                    esc(&c.status),
                    esc(&c.reason)
                );
            }
            o.push_str("</tr>");
        }
        o.push_str("</tbody></table></div></section>");
    }
}

fn names(items: &[(String, String)]) -> String {
    items
        .iter()
        .map(|(id, title)| {
            format!(
                "<span class=\"name\" title=\"{}\">{}</span>",
                esc(id),
                esc(if title.is_empty() { id } else { title })
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(o: &mut String, id: &str, heading: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let _ = write!(o, "<section id=\"{id}\"><h2>{}</h2><ul>", esc(heading));
    for l in lines {
        let _ = write!(o, "<li>{}</li>", esc(l));
    }
    o.push_str("</ul></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_group_messages_that_differ_only_by_ids_and_numbers() {
        let failures = [
            (
                "a".repeat(32),
                "A".into(),
                format!("export job {} failed after 1200 s", "1".repeat(32)),
            ),
            (
                "b".repeat(32),
                "B".into(),
                format!("export job {} failed after 3601 s", "2".repeat(32)),
            ),
            ("c".repeat(32), "C".into(), "403 not allowed".into()),
        ];
        let causes = group_causes(failures, &|id| {
            if id.starts_with('a') {
                vec![("d".repeat(32), "Map of A".into())]
            } else {
                Vec::new()
            }
        });
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].message, "export job <id> failed after N s");
        assert_eq!(causes[0].items.len(), 2);
        assert_eq!(
            causes[0].held_back,
            vec![("d".repeat(32), "Map of A".to_owned())]
        );
        assert_eq!(causes[1].message, "403 not allowed");
    }

    #[test]
    fn every_text_is_escaped_and_the_page_asks_for_nothing_from_the_network() {
        let page = Page {
            title: "<script>alert(1)</script>".into(),
            rows: vec![Row {
                id: "x".into(),
                title: "\"quoted\" & <b>".into(),
                item_type: "Web Map".into(),
                owner: "o".into(),
                size: Some(2048),
                cells: vec![Cell {
                    action: "create".into(),
                    status: "failed".into(),
                    reason: "<img src=x>".into(),
                }],
            }],
            columns: vec!["backup".into()],
            ..Page::default()
        };
        let html = page.html();
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x>"));
        assert!(html.contains("&quot;quoted&quot; &amp; &lt;b&gt;"));
        assert!(html.contains("default-src 'none'"));
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
        assert!(html.contains("<td data-value=\"2048\">2.0 KiB</td>"));
    }

    #[test]
    fn arguments_are_quoted_for_the_shell_only_when_they_need_it() {
        assert_eq!(shell_quote("--to"), "--to");
        assert_eq!(shell_quote("/backups/prod"), "/backups/prod");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn html_paths_get_the_page_and_others_json() {
        assert!(is_html(Path::new("r.html")) && is_html(Path::new("R.HTM")));
        assert!(!is_html(Path::new("r.json")) && !is_html(Path::new("report")));
    }
}
