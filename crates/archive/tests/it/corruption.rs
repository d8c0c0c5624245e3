//! The corruption matrix: every fixture in `fixtures/corrupt/` is refused by open or verify, with
//! a message naming what is wrong.

use orgpack_archive::{Archive, VerifyOptions, verify};

use crate::fixtures;

/// (file, fragment of the error) from `fixtures/corrupt/README.md`, without the valid baseline.
pub fn cases() -> Vec<(String, String)> {
    orgpack_archive::sample::corrupt_cases(&fixtures().join("corrupt"))
}

/// Open and verify with --read-data; the first error or problem as one line.
fn first_error(file: &str) -> Option<String> {
    let archive = match Archive::open(&fixtures().join("corrupt").join(file)) {
        Ok(a) => a,
        Err(e) => return Some(e.to_string()),
    };
    let report = verify(&archive, VerifyOptions::read_data()).expect("verify runs");
    report.problems.first().map(ToString::to_string)
}

#[test]
fn valid_fixture_verifies() {
    assert_eq!(first_error("valid.orgpack"), None);
}

#[test]
fn every_corrupt_fixture_is_refused_with_a_precise_message() {
    for (file, fragment) in cases() {
        let message = first_error(&file).unwrap_or_else(|| panic!("{file}: accepted"));
        assert!(
            message.contains(&fragment),
            "{file}: `{message}` lacks `{fragment}`"
        );
        assert!(
            !message.contains('\n'),
            "{file}: message spans lines: {message}"
        );
    }
}

#[test]
fn every_fixture_file_has_a_row_and_every_row_a_file() {
    let dir = fixtures().join("corrupt");
    let cases = cases();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != "README.md" && name != "valid.orgpack" {
            assert!(
                cases.iter().any(|(f, _)| *f == name),
                "{name} has no row in README.md"
            );
        }
    }
    for (file, _) in &cases {
        assert!(
            dir.join(file).is_file(),
            "README.md lists `{file}`, which does not exist"
        );
    }
}

#[test]
fn structural_verify_finds_missing_content_without_reading_data() {
    for file in ["missing-blob.orgpack", "dangling-reference.orgpack"] {
        let archive = Archive::open(&fixtures().join("corrupt").join(file)).unwrap();
        let report = verify(&archive, VerifyOptions::default()).unwrap();
        assert!(!report.is_ok(), "{file}");
        assert!(
            report.problems[0].message.contains("is missing"),
            "{file}: {}",
            report.problems[0]
        );
    }
}
