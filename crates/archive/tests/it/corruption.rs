//! The corruption matrix: every fixture in `fixtures/corrupt/` is refused by open or verify, with
//! a message naming what is wrong.

use orgpack_archive::{Archive, VerifyOptions, verify};

use crate::fixtures;

/// (file, fragment of the error). `valid.orgpack` is checked separately.
pub const CASES: &[(&str, &str)] = &[
    ("truncated.orgpack", "not a readable zip"),
    ("not-an-archive.orgpack", "not a readable zip"),
    ("flipped-bit-blob.orgpack", "fails its CRC-32 check"),
    ("flipped-bit-blob-crc-fixed.orgpack", "content hashes to"),
    ("flipped-bit-manifest.orgpack", "manifest hashes to"),
    ("missing-blob.orgpack", "is missing"),
    ("dangling-reference.orgpack", "is missing"),
    ("index-names-missing-snapshot.orgpack", "is missing"),
    ("duplicate-entry.orgpack", "two entries with the same name"),
    ("path-traversal.orgpack", "would escape the archive"),
    ("absolute-path.orgpack", "would escape the archive"),
    ("declared-size-bomb.orgpack", "past the end of the file"),
    ("zstd-bomb.orgpack", "over the 16777216-byte limit"),
    ("compressed-entry.orgpack", "store every entry"),
    ("unknown-major-version.orgpack", "uses archive format 2.0.0"),
    ("unfinished-no-index.orgpack", "`index.json` is missing"),
    ("resource-path-escapes.orgpack", "segment"),
];

/// Open and verify with --read-data; the first error or problem as one line.
fn first_error(file: &str) -> Option<String> {
    let archive = match Archive::open(&fixtures().join("corrupt").join(file)) {
        Ok(a) => a,
        Err(e) => return Some(e.to_string()),
    };
    let report = verify(
        &archive,
        VerifyOptions {
            read_data: true,
            ..VerifyOptions::default()
        },
    )
    .expect("verify runs");
    report.problems.first().map(ToString::to_string)
}

#[test]
fn valid_fixture_verifies() {
    assert_eq!(first_error("valid.orgpack"), None);
}

#[test]
fn every_corrupt_fixture_is_refused_with_a_precise_message() {
    for (file, fragment) in CASES {
        let message = first_error(file).unwrap_or_else(|| panic!("{file}: accepted"));
        assert!(
            message.contains(fragment),
            "{file}: `{message}` lacks `{fragment}`"
        );
        assert!(
            !message.contains('\n'),
            "{file}: message spans lines: {message}"
        );
    }
}

#[test]
fn every_fixture_is_in_the_matrix_and_the_readme() {
    let dir = fixtures().join("corrupt");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "README.md" {
            continue;
        }
        assert!(
            name == "valid.orgpack" || CASES.iter().any(|(f, _)| *f == name),
            "{name} is not in CASES"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} is not described in README.md"
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
