//! Crash safety: a writer killed at any point leaves an archive that verifies, and the next write
//! succeeds. The writer runs in a child process (this test binary, re-executed) and is killed with
//! SIGKILL after a varying delay.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use orgpack_archive::sample::write_sample;
use orgpack_archive::{Archive, Repository, SingleFileWriter, VerifyOptions, verify};

const CHILD_ENV: &str = "ORGPACK_TEST_CHILD_WRITER";

/// In the child: write snapshots into the repository, or a single-file archive, forever.
#[test]
fn child_writer() {
    let Ok(target) = std::env::var(CHILD_ENV) else {
        return;
    };
    let target = Path::new(&target);
    for n in 0u32.. {
        let created = format!("2026-11-{:02}T02:00:00Z", 1 + n % 28);
        if target.extension().is_some_and(|e| e == "orgpack") {
            let mut w = SingleFileWriter::create_new(target).unwrap();
            write_sample(&mut w, &created, 3 << 20).unwrap();
            w.finish().unwrap();
            std::fs::remove_file(target).unwrap();
        } else {
            let mut repo = Repository::open(target).unwrap();
            write_sample(&mut repo, &created, (1 + u64::from(n % 5)) << 20).unwrap();
        }
    }
}

fn run_and_kill(target: &Path, after: Duration) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "atomicity::child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, target)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

fn assert_verifies(path: &Path) {
    let archive = Archive::open(path).unwrap();
    let report = verify(&archive, VerifyOptions::read_data()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn killed_repository_writer_leaves_a_verifying_repository() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    drop(Repository::init(&path, orgpack_archive::ChunkerParams::default()).unwrap());
    for (round, ms) in [5u64, 40, 90, 150, 260, 410].into_iter().enumerate() {
        run_and_kill(&path, Duration::from_millis(ms));
        assert_verifies(&path);
        // The next writer gets the lock (the dead one's vanished) and commits.
        let before = Archive::open(&path).unwrap().index().snapshots.len();
        let mut repo = Repository::open(&path).unwrap();
        write_sample(
            &mut repo,
            &format!("2026-12-{:02}T03:00:00Z", round + 1),
            2 << 20,
        )
        .unwrap();
        drop(repo);
        assert!(Archive::open(&path).unwrap().index().snapshots.len() > before);
        assert_verifies(&path);
    }
    // Leftovers of killed writers are only ever temp files or uncommitted manifests: prune clears them.
    let repo = Repository::open_exclusive(&path, "test").unwrap();
    let plan = orgpack_archive::prune::plan(
        &repo,
        orgpack_archive::prune::Retention {
            keep_last: Some(100),
            ..Default::default()
        },
    )
    .unwrap();
    orgpack_archive::prune::run(&repo, &plan).unwrap();
    drop(repo);
    assert_verifies(&path);
    let tmp = path.join("tmp");
    assert!(!tmp.exists() || std::fs::read_dir(tmp).unwrap().next().is_none());
}

#[test]
fn killed_single_file_writer_leaves_nothing_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.orgpack");
    for ms in [5u64, 30, 80, 160] {
        run_and_kill(&path, Duration::from_millis(ms));
        if path.exists() {
            // Killed between finish() and the child's cleanup: the archive is complete.
            assert_verifies(&path);
            std::fs::remove_file(&path).unwrap();
        }
        let _ = std::fs::remove_file(dir.path().join("out.orgpack.tmp"));
    }
    let mut w = SingleFileWriter::create_new(&path).unwrap();
    write_sample(&mut w, "2026-11-26T02:00:00Z", 1 << 20).unwrap();
    w.finish().unwrap();
    assert_verifies(&path);
}

#[test]
fn prune_is_refused_while_a_writer_holds_the_repository_and_vice_versa() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let writer = Repository::init(&path, orgpack_archive::ChunkerParams::default()).unwrap();
    let second_writer = Repository::open(&path).expect("writers share the repository");
    let err = Repository::open_exclusive(&path, "prune").unwrap_err();
    assert!(err.is_locked(), "{err}");
    drop((writer, second_writer));
    let pruner = once_released(|| Repository::open_exclusive(&path, "prune"));
    let err = Repository::open(&path).unwrap_err();
    assert!(
        err.is_locked() && err.to_string().contains("prune"),
        "{err}"
    );
    drop(pruner);
    once_released(|| Repository::open(&path));
}

/// `open()`, retried for a few seconds while the lock is still held: an OS file lock is held by
/// every process sharing its open file, and the other tests of this binary fork children
/// (`run_and_kill`), each holding a copy of this process's descriptors until it execs. A lock
/// that is not released on drop still fails here.
fn once_released(open: impl Fn() -> Result<Repository, orgpack_archive::Error>) -> Repository {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match open() {
            Ok(repo) => return repo,
            Err(e) if e.is_locked() && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    }
}
