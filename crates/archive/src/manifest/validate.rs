//! The invariants of a manifest that serde alone cannot check (spec/archive-format.md §5.1).
//!
//! A hostile or damaged archive must not be able to smuggle a path that escapes a directory, an id
//! that is not an id, or two items under one id into a restore.

use std::collections::HashSet;

use super::{Item, Snapshot};
use crate::layout::reads_version;

/// The longest resource path accepted.
const MAX_PATH_LEN: usize = 1024;

impl Snapshot {
    /// Check the manifest's invariants and return one message per violation (empty when valid).
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !reads_version(&self.format_version) {
            out.push(format!(
                "formatVersion `{}` is not a 1.x.y or 2.x.y version",
                self.format_version
            ));
        }
        if self.created.parse::<jiff::Timestamp>().is_err() {
            out.push(format!(
                "created `{}` is not an RFC 3339 time",
                truncate(&self.created)
            ));
        }
        let mut ids = HashSet::new();
        for item in &self.items {
            if !ids.insert(item.id.as_str()) {
                out.push(format!(
                    "item `{}`: appears more than once",
                    truncate(&item.id)
                ));
            }
            out.extend(item.problems());
        }
        let mut group_ids = HashSet::new();
        for group in &self.groups {
            if !is_portal_id(&group.id) {
                out.push(format!(
                    "group `{}`: id is not 32 lowercase hex digits",
                    truncate(&group.id)
                ));
            }
            if !group_ids.insert(group.id.as_str()) {
                out.push(format!(
                    "group `{}`: appears more than once",
                    truncate(&group.id)
                ));
            }
        }
        out
    }
}

impl Item {
    /// What breaks the format's invariants in this item alone (its id, file names, resource
    /// paths, group and relationship ids), each prefixed with the item; empty when valid.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let item = self;
        let mut out = Vec::new();
        // Named only when something is wrong: this runs for every item read.
        let mut push = |why: String| out.push(format!("item `{}`: {why}", truncate(&item.id)));
        if !is_portal_id(&item.id) {
            push("id is not 32 lowercase hex digits".to_owned());
        }
        for file in item
            .data
            .iter()
            .chain(&item.thumbnail)
            .filter_map(|p| p.name.as_deref())
        {
            if !is_file_name(file) {
                push(format!(
                    "file name `{}` is not a plain file name",
                    truncate(file)
                ));
            }
        }
        for r in &item.resources {
            if let Err(why) = check_relative_path(&r.path) {
                push(format!("resource path `{}` {why}", truncate(&r.path)));
            }
        }
        let mut paths = HashSet::new();
        for r in &item.resources {
            if !paths.insert(r.path.as_str()) {
                push(format!(
                    "resource `{}` appears more than once",
                    truncate(&r.path)
                ));
            }
        }
        for p in &item.payloads {
            if !is_file_name(&p.file_name) {
                push(format!(
                    "payload name `{}` is not a plain file name",
                    truncate(&p.file_name)
                ));
            }
        }
        for g in &item.sharing.groups {
            if !is_portal_id(&g.id) {
                push(format!(
                    "shared with group `{}`, which is not a group id",
                    truncate(&g.id)
                ));
            }
        }
        for r in &item.relationships {
            if !is_portal_id(&r.item_id) {
                push(format!(
                    "relationship to `{}`, which is not an item id",
                    truncate(&r.item_id)
                ));
            }
        }
        out
    }
}

/// Whether `s` is a portal item, group or folder id: 32 lowercase hex digits.
#[must_use]
pub fn is_portal_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_file_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s != "."
        && s != ".."
        && !s.contains(['/', '\\', '\0'])
        && !s.chars().any(char::is_control)
}

/// Check that `path` is a relative, `/`-separated path that stays inside its directory.
///
/// # Errors
/// Why it is not.
pub fn check_relative_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("is empty");
    }
    if path.len() > MAX_PATH_LEN {
        return Err("is too long");
    }
    if path.starts_with('/') || path.contains('\\') || path.as_bytes().get(1) == Some(&b':') {
        return Err("is absolute or uses backslashes");
    }
    if path.chars().any(char::is_control) {
        return Err("contains control characters");
    }
    if path
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err("has an empty, `.` or `..` segment");
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    if s.len() <= 80 {
        s.to_owned()
    } else {
        let mut end = 77;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        for ok in ["a", "images/logo.png", "config/config.json", "a b/c.d"] {
            check_relative_path(ok).unwrap();
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
            "C:/x",
            "a/\n",
        ] {
            assert!(check_relative_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn path_lengths_up_to_the_limit_pass() {
        let at_limit = "a".repeat(MAX_PATH_LEN);
        check_relative_path(&at_limit).unwrap();
        assert_eq!(
            check_relative_path(&format!("{at_limit}b")),
            Err("is too long")
        );
    }

    #[test]
    fn file_names_are_single_plain_names() {
        for ok in ["City.gdb.zip", "a", ".hidden", &"x".repeat(255)] {
            assert!(is_file_name(ok), "{ok:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "nul\0",
            "tab\tin",
            &"x".repeat(256),
        ] {
            assert!(!is_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short"), "short");
        let eighty = "e".repeat(80);
        assert_eq!(truncate(&eighty), eighty);
        let long = "x".repeat(100);
        assert_eq!(truncate(&long), format!("{}...", "x".repeat(77)));
        // `é` is two bytes: byte 77 falls inside the 39th, so 76 bytes are kept.
        let accents = "é".repeat(50);
        assert_eq!(truncate(&accents), format!("{}...", "é".repeat(38)));
    }

    #[test]
    fn portal_ids() {
        assert!(is_portal_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_portal_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_portal_id("../../../../../../../../../../etc"));
    }
}
