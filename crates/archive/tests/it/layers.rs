//! Item layers (spec/archive-format.md §4.6): a nightly shares the pages of what did not change,
//! so what it adds to the repository follows what changed, not the size of the organization; and
//! 1.x archives stay readable beside 2.x snapshots.

use std::path::Path;

use orgpack_archive::manifest::layers::{MAX_LAYERS, PAGE_ENTRIES};
use orgpack_archive::sample::build_sample;
use orgpack_archive::{
    Archive, ChunkerParams, Item, Repository, Snapshot, SnapshotWriter, VerifyOptions, verify,
};

use crate::fixtures;

/// A snapshot of `n` items (ids from `n`'s numbers) whose parts are the sample's, each item
/// told apart by its title.
fn snapshot_of(repo: &Repository, n: usize, created: &str) -> Snapshot {
    let mut s = build_sample(repo, created, 100).unwrap();
    let template = s.items[0].clone();
    s.items = (0..n).map(|k| item(&template, k, 0)).collect();
    s
}

/// Whether two item lists hold the same items, whatever their order (a 2.x snapshot is read back
/// in id order). Says which differ, briefly, instead of printing thousands of items.
fn same_items(a: &[Item], b: &[Item]) -> bool {
    let sorted = |v: &[Item]| {
        let mut v = v.to_vec();
        v.sort_by(|x, y| x.id.cmp(&y.id));
        v
    };
    let (a, b) = (sorted(a), sorted(b));
    if a.len() != b.len() {
        println!("{} items against {}", a.len(), b.len());
        return false;
    }
    match a.iter().zip(&b).find(|(x, y)| x != y) {
        Some((x, y)) => {
            println!(
                "first difference: `{}` ({}) against `{}` ({})",
                x.id, x.title, y.id, y.title
            );
            false
        }
        None => true,
    }
}

fn item(template: &Item, k: usize, edit: u32) -> Item {
    let mut i = template.clone();
    i.id = format!(
        "{:032x}",
        (k as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    );
    i.title = format!("Map {k} edit {edit}");
    i
}

/// Bytes under `dir`, recursively.
fn size_of(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            size_of(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

/// (repository bytes added by an unchanged nightly, by a nightly with 1 % of items edited, the
/// first snapshot's manifest and pages) for an organization of `n` items.
fn growth(n: usize) -> (u64, u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo = Repository::init(&path, ChunkerParams::default()).unwrap();
    let empty = size_of(&path);
    let mut first = snapshot_of(&repo, n, "2026-12-01T02:00:00Z");
    let sample_parts = size_of(&path) - empty;
    let id = repo.commit(&mut first).unwrap();
    let first_bytes = size_of(&path) - empty - sample_parts;

    let parent = Archive::open(&path).unwrap().snapshot(&id).unwrap();
    assert!(
        same_items(&parent.items, &first.items),
        "read back as written"
    );
    let before = size_of(&path);
    let mut same = snapshot_of(&repo, n, "2026-12-02T02:00:00Z");
    same.parent = Some(id);
    let same_id = repo.commit_on(&mut same, Some(&parent)).unwrap();
    assert_eq!(
        same.item_layers, parent.item_layers,
        "nothing changed: the same pages"
    );
    let unchanged = size_of(&path) - before;

    let parent = Archive::open(&path).unwrap().snapshot(&same_id).unwrap();
    let before = size_of(&path);
    let mut edited = snapshot_of(&repo, n, "2026-12-03T02:00:00Z");
    let template = edited.items[0].clone();
    for k in (0..n).step_by(100) {
        edited.items[k] = item(&template, k, 1);
    }
    edited.parent = Some(same_id);
    let edited_id = repo.commit_on(&mut edited, Some(&parent)).unwrap();
    let one_percent = size_of(&path) - before;
    assert_eq!(
        edited.item_layers.len(),
        2,
        "the parent's layer and one of the edits"
    );
    assert_eq!(edited.item_layers[1].entries(), n.div_ceil(100) as u64);

    let archive = Archive::open(&path).unwrap();
    let read = archive.snapshot(&edited_id).unwrap();
    assert_eq!(read.items.len(), n);
    assert_eq!(
        read.items
            .iter()
            .filter(|i| i.title.ends_with("edit 1"))
            .count(),
        n / 100
    );
    assert!(
        same_items(&read.items, &edited.items),
        "the newest layer wins"
    );
    assert!(
        verify(&archive, VerifyOptions::read_data())
            .unwrap()
            .is_ok()
    );
    (unchanged, one_percent, first_bytes)
}

#[test]
fn an_unchanged_nightly_adds_the_same_few_bytes_whatever_the_number_of_items() {
    let (small, small_edit, small_first) = growth(1_000);
    let (large, large_edit, large_first) = growth(10_000);
    println!(
        "unchanged: {small} B at 1,000 items, {large} B at 10,000; 1 % edited: {small_edit} B of {small_first}, {large_edit} B of {large_first}"
    );
    // One manifest and the index entry; the layers' page list grows by a page per 1,000 items.
    assert!(small < 4_096 && large < 4_096, "{small} {large}");
    assert!(large.abs_diff(small) < 2_048, "{small} {large}");
    // A nightly with 1 % edited adds about 1 % of the first snapshot (its pages hold the edits).
    for (edit, first) in [(small_edit, small_first), (large_edit, large_first)] {
        assert!(edit * 100 < first * 3 + 4_096 * 100, "{edit} of {first}");
    }
}

#[test]
fn removed_items_are_gone_and_too_many_changes_compact_into_one_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo = Repository::init(&path, ChunkerParams::default()).unwrap();
    let mut first = snapshot_of(&repo, 2_500, "2026-12-01T02:00:00Z");
    let id = repo.commit(&mut first).unwrap();
    assert_eq!(first.item_layers.len(), 1);
    assert_eq!(
        first.item_layers[0].pages.len(),
        2_500usize.div_ceil(PAGE_ENTRIES)
    );

    // Ten items removed: a layer of ten removals.
    let parent = Archive::open(&path).unwrap().snapshot(&id).unwrap();
    let mut fewer = snapshot_of(&repo, 2_490, "2026-12-02T02:00:00Z");
    let id = repo.commit_on(&mut fewer, Some(&parent)).unwrap();
    assert_eq!(fewer.item_layers.len(), 2);
    assert_eq!(fewer.item_layers[1].entries(), 10);
    let read = Archive::open(&path).unwrap().snapshot(&id).unwrap();
    assert_eq!(read.items.len(), 2_490);
    let gone = item(&first.items[0], 2_495, 0).id;
    assert!(read.item(&gone).is_none() && parent.item(&gone).is_some());

    // Most items edited: one fresh layer instead of a layer larger than half the snapshot.
    let template = read.items[0].clone();
    let mut edited = snapshot_of(&repo, 2_490, "2026-12-03T02:00:00Z");
    for k in 0..2_000 {
        edited.items[k] = item(&template, k, 1);
    }
    let id = repo.commit_on(&mut edited, Some(&read)).unwrap();
    assert_eq!(edited.item_layers.len(), 1, "compacted");
    let read = Archive::open(&path).unwrap().snapshot(&id).unwrap();
    assert_eq!(read.items.len(), 2_490);

    // A chain of small nightlies never grows past the layer limit.
    let mut parent = read;
    for night in 0..MAX_LAYERS + 2 {
        let mut next = parent.clone();
        next.created = format!("2026-12-{:02}T03:{:02}:00Z", 4 + night / 60, night % 60);
        next.items[night].title = format!("night {night}");
        let id = repo.commit_on(&mut next, Some(&parent)).unwrap();
        assert!(
            next.item_layers.len() <= MAX_LAYERS,
            "{}",
            next.item_layers.len()
        );
        parent = Archive::open(&path).unwrap().snapshot(&id).unwrap();
        assert!(same_items(&parent.items, &next.items));
    }
    assert!(
        verify(&Archive::open(&path).unwrap(), VerifyOptions::read_data())
            .unwrap()
            .is_ok()
    );
}

/// A parent whose pages are not in the archive being written (another repository) is not built
/// on: the snapshot gets a layer of its own.
#[test]
fn a_parent_from_elsewhere_is_not_built_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Repository::init(&dir.path().join("a"), ChunkerParams::default()).unwrap();
    let mut b = Repository::init(&dir.path().join("b"), ChunkerParams::default()).unwrap();
    let mut first = snapshot_of(&a, 10, "2026-12-01T02:00:00Z");
    let id = a.commit(&mut first).unwrap();
    let parent = Archive::open(&dir.path().join("a"))
        .unwrap()
        .snapshot(&id)
        .unwrap();
    let mut other = snapshot_of(&b, 10, "2026-12-02T02:00:00Z");
    let id = b.commit_on(&mut other, Some(&parent)).unwrap();
    let read = Archive::open(&dir.path().join("b"))
        .unwrap()
        .snapshot(&id)
        .unwrap();
    assert_eq!(read.items.len(), 10);
    assert_eq!(read.item_layers.len(), 1);
}

/// A single-file archive written by format 1.4 (this repository's `fixtures/format-1.4/`, made by
/// orgpack before item layers) still opens, verifies and reads; a 2.x snapshot committed on top of
/// a 1.x parent stores every item in a layer of its own, and both stay readable side by side.
#[test]
fn format_1_archives_stay_readable_and_take_2_x_snapshots() {
    let old = Archive::open(&fixtures().join("format-1.4/sample.orgpack")).unwrap();
    assert_eq!(old.layout().format_version, "1.0.0");
    assert!(verify(&old, VerifyOptions::read_data()).unwrap().is_ok());
    let entry = old.index().snapshots[0].clone();
    let v1 = old.snapshot(&entry.id).unwrap();
    assert!(v1.format_version.starts_with("1."));
    assert!(v1.item_layers.is_empty() && v1.items.len() == 2);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo = Repository::init(&path, ChunkerParams::default()).unwrap();
    orgpack_archive::copy_snapshots(&old, &[entry.id], &mut repo, true).unwrap();
    let mut next = v1.clone();
    next.created = "2026-12-04T02:00:00Z".into();
    next.parent = Some(entry.id);
    let id = repo.commit_on(&mut next, Some(&v1)).unwrap();
    let archive = Archive::open(&path).unwrap();
    assert_eq!(
        archive.snapshot(&entry.id).unwrap(),
        v1,
        "copied byte for byte"
    );
    let v2 = archive.snapshot(&id).unwrap();
    assert_eq!(v2.format_version, orgpack_archive::layout::FORMAT_VERSION);
    assert_eq!(v2.item_layers.len(), 1);
    assert!(same_items(&v2.items, &v1.items));
    let report = verify(&archive, VerifyOptions::read_data()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// A 2.x snapshot's items are read page by page (`Archive::items`, which `verify` and `prune`
/// walk): the same items as a whole read, across layers, and a damaged page is only met when
/// the walk reaches it, with the items before it already read.
#[test]
fn a_snapshot_is_read_one_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let mut repo = Repository::init(&path, ChunkerParams::default()).unwrap();
    let mut first = snapshot_of(&repo, 3_500, "2026-12-01T02:00:00Z");
    let first_id = repo.commit(&mut first).unwrap();
    // A second layer: 30 items edited, 20 removed.
    let parent = Archive::open(&path).unwrap().snapshot(&first_id).unwrap();
    let mut next = snapshot_of(&repo, 3_480, "2026-12-02T02:00:00Z");
    let template = next.items[0].clone();
    for k in (0..3_000).step_by(100) {
        next.items[k] = item(&template, k, 1);
    }
    let id = repo.commit_on(&mut next, Some(&parent)).unwrap();
    assert_eq!(next.item_layers.len(), 2);

    let archive = Archive::open(&path).unwrap();
    let (manifest, _) = archive.manifest_with_bytes(&id).unwrap();
    assert!(manifest.items.is_empty(), "the manifest file holds no item");
    let streamed: Vec<Item> = archive
        .items(&id, &manifest)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let whole = archive.snapshot(&id).unwrap();
    assert_eq!(streamed, whole.items);
    assert!(same_items(&streamed, &next.items));
    // The walk counts what the index says.
    let walked =
        orgpack_archive::walk::for_each_part(&archive, &id, &manifest, |_| Ok(())).unwrap();
    let entry = archive
        .index()
        .snapshots
        .iter()
        .find(|e| e.id == id)
        .unwrap();
    assert_eq!((walked.items, walked.size), (entry.items, entry.size));

    // The first layer's third page damaged: the first 2,000 ids come, then the error.
    let page = &manifest.item_layers[0].pages[2].content.digest;
    let hex = page.to_string();
    let hex = hex.trim_start_matches("sha256:");
    std::fs::remove_file(path.join(format!("blobs/sha256/{}/{hex}", &hex[..2]))).unwrap();
    let archive = Archive::open(&path).unwrap();
    let mut read = 0;
    let mut failure = None;
    for item in archive.items(&id, &manifest).unwrap() {
        match item {
            Ok(item) => {
                assert!(item.id.as_str() < manifest.item_layers[0].pages[2].first.as_str());
                read += 1;
            }
            Err(e) => failure = Some(e.to_string()),
        }
    }
    assert!(
        (1_900..2_000).contains(&read),
        "{read} items before the damaged page"
    );
    let failure = failure.expect("the damaged page is an error");
    assert!(failure.contains("item layer 0 page 2"), "{failure}");
    let report = verify(&archive, VerifyOptions::default()).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.to_string().contains("item layer 0 page 2")),
        "{:?}",
        report.problems
    );
}
