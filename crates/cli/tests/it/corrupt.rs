//! The corruption matrix through the binary: every bad archive gets a nonzero exit and a
//! one-line `error:` naming what is wrong, on stderr, with nothing on stdout.

use crate::{fixtures, orgpack, stderr, stdout};

/// (file, fragment of the error) from `fixtures/corrupt/README.md`, without the valid baseline.
fn cases() -> Vec<(String, String)> {
    orgpack_archive::sample::corrupt_cases(&fixtures().join("corrupt"))
}

#[test]
fn verify_refuses_every_corrupt_archive_in_one_line() {
    for (file, fragment) in cases() {
        let path = fixtures().join("corrupt").join(&file);
        let out = orgpack(&["verify", "--read-data", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{file}: {}", stderr(&out));
        assert!(
            stdout(&out).is_empty(),
            "{file}: stdout must hold data only"
        );
        let first_error = stderr(&out)
            .lines()
            .find(|l| l.starts_with("error: "))
            .map(str::to_owned);
        let line =
            first_error.unwrap_or_else(|| panic!("{file}: no error line in {}", stderr(&out)));
        assert!(
            line.contains(&fragment),
            "{file}: `{line}` lacks `{fragment}`"
        );
    }
}

#[test]
fn reading_commands_refuse_damaged_archives_too() {
    for file in [
        "truncated.orgpack",
        "flipped-bit-manifest.orgpack",
        "unknown-major-version.orgpack",
        "path-traversal.orgpack",
    ] {
        let path = fixtures().join("corrupt").join(file);
        for args in [
            vec!["ls", path.to_str().unwrap()],
            vec!["snapshots", path.to_str().unwrap()],
        ] {
            let out = orgpack(&args);
            if file == "flipped-bit-manifest.orgpack" && args[0] == "snapshots" {
                // The index is intact: listing snapshots reads no manifest.
                assert!(out.status.success());
                continue;
            }
            assert_eq!(out.status.code(), Some(1), "{file} {args:?}");
            assert!(
                stderr(&out).starts_with("error: "),
                "{file} {args:?}: {}",
                stderr(&out)
            );
            assert_eq!(
                stderr(&out).lines().count(),
                1,
                "{file} {args:?}: {}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn cat_never_prints_damaged_content() {
    let path = fixtures().join("corrupt/flipped-bit-blob-crc-fixed.orgpack");
    let out = orgpack(&[
        "cat",
        path.to_str().unwrap(),
        "1a2b3c4d5e6f708192a3b4c5d6e7f801",
        "--part",
        "thumbnail",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("content hashes to"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_errors_are_machine_readable() {
    #[derive(serde::Deserialize)]
    struct ExitError {
        message_type: String,
        code: u8,
        message: String,
    }
    let out = orgpack(&["--json", "verify", "/nonexistent/archive.orgpack"]);
    assert_eq!(out.status.code(), Some(10));
    let e: ExitError = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!((e.message_type.as_str(), e.code), ("exit_error", 10));
    assert!(e.message.contains("no archive at"));
}
