//! Retention and garbage collection.

use orgpack_archive::prune::{self, Retention, apply_retention};
use orgpack_archive::sample::write_sample;
use orgpack_archive::store::ListKind;
use orgpack_archive::{
    Archive, Digest, IndexEntry, Repository, SnapshotWriter, VerifyOptions, WriteOptions, verify,
};

fn entry(created: &str, n: u8) -> IndexEntry {
    IndexEntry {
        id: Digest::of(&[n]),
        created: created.into(),
        portal_url: "https://a.maps.arcgis.com".into(),
        org_id: "org".into(),
        user: "u".into(),
        items: 1,
        size: 1,
        parent: None,
        tags: Vec::new(),
    }
}

#[test]
fn retention_keeps_the_newest_per_day_week_and_month() {
    let entries = vec![
        entry("2026-10-01T02:00:00Z", 1),
        entry("2026-10-15T02:00:00Z", 2),
        entry("2026-11-20T02:00:00Z", 3),
        entry("2026-11-24T02:00:00Z", 4),
        entry("2026-11-25T02:00:00Z", 5),
        entry("2026-11-25T14:00:00Z", 6),
        entry("2026-11-26T02:00:00Z", 7),
    ];
    let (keep, forget) = apply_retention(
        &entries,
        Retention {
            keep_last: Some(1),
            keep_daily: Some(2),
            ..Default::default()
        },
    );
    let kept: Vec<u8> = keep
        .iter()
        .map(|(e, _)| entries.iter().position(|x| x.id == e.id).unwrap() as u8 + 1)
        .collect();
    assert_eq!(
        kept,
        vec![6, 7],
        "newest overall, and the newest of the two most recent days"
    );
    assert_eq!(forget.len(), 5);

    let (keep, _) = apply_retention(
        &entries,
        Retention {
            keep_monthly: Some(2),
            ..Default::default()
        },
    );
    let kept: Vec<u8> = keep
        .iter()
        .map(|(e, _)| entries.iter().position(|x| x.id == e.id).unwrap() as u8 + 1)
        .collect();
    assert_eq!(kept, vec![2, 7], "the newest of October and of November");

    let (keep, _) = apply_retention(
        &entries,
        Retention {
            keep_weekly: Some(1),
            ..Default::default()
        },
    );
    assert_eq!(keep.len(), 1);
    assert_eq!(keep[0].0.id, entries[6].id);
}

#[test]
fn prune_deletes_only_what_forgotten_snapshots_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo = Repository::init(&path, orgpack_archive::ChunkerParams::default()).unwrap();
    let old = write_sample(&mut repo, "2026-11-24T02:00:00Z", 5 << 20).unwrap();
    // A second snapshot shares everything but adds one extra payload-sized blob set.
    let extra = repo
        .blob_writer(WriteOptions::default())
        .put_reader(orgpack_archive::sample::NoiseReader::new(77, 2 << 20), "x")
        .unwrap();
    let mut snapshot =
        orgpack_archive::sample::build_sample(&repo, "2026-11-25T02:00:00Z", 5 << 20).unwrap();
    snapshot.items[0].payloads[0].content = extra;
    let new = repo.commit(&mut snapshot).unwrap();
    let blobs_before = repo
        .archive()
        .unwrap()
        .store()
        .list(ListKind::Blobs)
        .unwrap()
        .len();
    drop(repo);
    let repo = Repository::open_exclusive(&path, "prune").unwrap();

    let plan = prune::plan(
        &repo,
        Retention {
            keep_last: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(plan.forget.len(), 1);
    assert_eq!(plan.forget[0].id, old);
    assert!(
        !plan.blobs.is_empty(),
        "the old payload's chunks are only used by the old snapshot"
    );
    prune::run(&repo, &plan).unwrap();
    drop(repo);

    let archive = Archive::open(&path).unwrap();
    assert_eq!(
        archive
            .index()
            .snapshots
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![new]
    );
    let blobs_after = archive.store().list(ListKind::Blobs).unwrap().len();
    assert_eq!(blobs_after, blobs_before - plan.blobs.len());
    let report = verify(&archive, VerifyOptions::read_data()).unwrap();
    assert!(report.is_ok() && report.warnings.is_empty(), "{report:?}");
}

#[test]
fn prune_without_a_rule_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(
        &dir.path().join("repo"),
        orgpack_archive::ChunkerParams::default(),
    )
    .unwrap();
    let err = prune::plan(&repo, Retention::default()).unwrap_err();
    assert!(err.to_string().contains("--keep-last"), "{err}");
}

#[test]
fn a_date_names_the_last_snapshot_of_that_day_or_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo = Repository::init(&path, orgpack_archive::ChunkerParams::default()).unwrap();
    let first = write_sample(&mut repo, "2026-11-18T02:00:00Z", 1000).unwrap();
    let second = write_sample(&mut repo, "2026-11-20T02:00:00Z", 1001).unwrap();
    let third = write_sample(&mut repo, "2026-11-20T14:00:00Z", 1002).unwrap();
    let archive = repo.archive().unwrap();
    assert_eq!(archive.resolve("2026-11-20").unwrap(), third);
    assert_eq!(archive.resolve("2026-11-19").unwrap(), first);
    assert_eq!(archive.resolve("2026-12-01").unwrap(), third);
    assert_ne!(second, third);
    assert!(matches!(
        archive.resolve("2026-11-01"),
        Err(orgpack_archive::Error::SnapshotNotFound { .. })
    ));
}
