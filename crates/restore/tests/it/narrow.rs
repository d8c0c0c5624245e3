//! `--item`, `--owner`, `--group` and, in place, `--folder` narrow a restore to the items they
//! name and what those need; filters that name nothing restore nothing.

use std::collections::BTreeSet;

use orgpack_archive::manifest::{Direction, Snapshot};
use orgpack_restore::{RestoreOptions, restore};

use super::seed::seeded;
use super::{backed_up, empty_target, options, target};

/// `roots` and everything they need in `snapshot`, transitively.
fn closure<'a>(snapshot: &Snapshot, roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<String> = roots.into_iter().map(str::to_owned).collect();
    while let Some(id) = stack.pop() {
        let Some(item) = snapshot.item(&id) else {
            continue;
        };
        if !out.insert(id.clone()) {
            continue;
        }
        stack.extend(
            item.dependencies
                .iter()
                .filter(|d| !d.external)
                .filter_map(|d| d.item_id.clone()),
        );
        stack.extend(
            item.relationships
                .iter()
                .filter(|r| r.direction == Direction::Forward)
                .map(|r| r.item_id.clone()),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_groups_folders_and_items_narrow_a_restore_to_what_they_name() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let elsewhere = empty_target(&s, "elsewhere", dir.path());
    let home = target(&s, "source", dir.path());
    let plan = async |t: &orgpack_restore::Target, f: &dyn Fn(&mut RestoreOptions)| {
        let mut o = options(dir.path());
        f(&mut o);
        let reports = restore(&archive, &snapshot, std::slice::from_ref(t), &o, true)
            .await
            .unwrap();
        assert!(reports[0].error.is_none(), "{:#?}", reports[0]);
        reports[0]
            .items
            .iter()
            .map(|e| e.source_id.clone())
            .collect::<BTreeSet<String>>()
    };
    let owned = |owner: &str| {
        closure(
            &snapshot,
            snapshot
                .items
                .iter()
                .filter(|i| i.owner == owner)
                .map(|i| i.id.as_str()),
        )
    };
    let all: BTreeSet<String> = snapshot.items.iter().map(|i| i.id.clone()).collect();
    let admins = owned("admin");
    let editors = owned("editor");
    assert!(!admins.is_empty() && admins != all && editors != all);

    assert_eq!(plan(&elsewhere, &|_| {}).await, all);
    assert_eq!(
        plan(&elsewhere, &|o| o.owners = vec!["admin".into()]).await,
        admins
    );
    assert_eq!(
        plan(&elsewhere, &|o| o.owners = vec!["editor".into()]).await,
        editors
    );
    let shared = closure(
        &snapshot,
        snapshot
            .items
            .iter()
            .filter(|i| i.sharing.groups.iter().any(|g| g.id == s.group))
            .map(|i| i.id.as_str()),
    );
    assert!(shared.contains(&s.map) && shared.contains(&s.app));
    assert_eq!(
        plan(&elsewhere, &|o| o.groups = vec![s.group.clone()]).await,
        shared
    );
    // Filters add up; an --item stays.
    let mut both: BTreeSet<String> = admins.union(&shared).cloned().collect();
    assert_eq!(
        plan(&elsewhere, &|o| {
            o.owners = vec!["admin".into()];
            o.groups = vec![s.group.clone()];
        })
        .await,
        both
    );
    both.extend(closure(&snapshot, [s.csv.as_str()]));
    assert_eq!(
        plan(&elsewhere, &|o| {
            o.owners = vec!["admin".into()];
            o.groups = vec![s.group.clone()];
            o.items = vec![s.csv.clone()];
        })
        .await,
        both
    );
    // What an item needs comes with it, not what needs it: the service alone, without the
    // map related to it.
    let service = plan(&elsewhere, &|o| o.items = vec![s.parcels.clone()]).await;
    assert_eq!(service, closure(&snapshot, [s.parcels.as_str()]));
    assert!(!service.contains(&s.map));
    // A filter that names nothing restores nothing.
    assert!(
        plan(&elsewhere, &|o| o.owners = vec!["nobody".into()])
            .await
            .is_empty()
    );
    // Folders narrow only in place (elsewhere `--folder` is where items go).
    assert_eq!(
        plan(&elsewhere, &|o| o.folders = vec!["Planning".into()]).await,
        all
    );
    let planning = closure(&snapshot, [s.map.as_str()]);
    for folder in ["Planning", "editor/Planning"] {
        assert_eq!(
            plan(&home, &|o| o.folders = vec![folder.into()]).await,
            planning,
            "{folder}"
        );
    }
    assert!(
        plan(&home, &|o| o.folders = vec!["admin/Planning".into()])
            .await
            .is_empty()
    );
}

/// An item needs what its forward relationships name (a service its data), never what names it
/// through one (a reverse relationship): restoring the one item brings the first, not the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_relationships_are_needed_and_reverse_ones_are_not() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    // Two items that need nothing and nothing needs: one gets a forward relationship to the
    // other's would-be partner, the other a reverse one.
    let alone: Vec<String> = snapshot
        .items
        .iter()
        .filter(|i| closure(&snapshot, [i.id.as_str()]).len() == 1)
        .filter(|i| {
            snapshot
                .items
                .iter()
                .all(|o| o.id == i.id || !closure(&snapshot, [o.id.as_str()]).contains(&i.id))
        })
        .map(|i| i.id.clone())
        .collect();
    assert!(alone.len() >= 3, "{alone:?}");
    let (root, forward, reverse) = (&alone[0], &alone[1], &alone[2]);
    let mut edited = snapshot.clone();
    let item = edited.items.iter_mut().find(|i| &i.id == root).unwrap();
    for (direction, other) in [(Direction::Forward, forward), (Direction::Reverse, reverse)] {
        item.relationships
            .push(orgpack_archive::manifest::Relationship {
                relationship_type: "Service2Data".into(),
                direction,
                item_id: other.clone(),
            });
    }
    let target = empty_target(&s, "elsewhere", dir.path());
    let mut o = options(dir.path());
    o.items = vec![root.clone()];
    let reports = restore(&archive, &edited, std::slice::from_ref(&target), &o, true)
        .await
        .unwrap();
    let planned: BTreeSet<String> = reports[0]
        .items
        .iter()
        .map(|e| e.source_id.clone())
        .collect();
    assert_eq!(planned, BTreeSet::from([root.clone(), forward.clone()]));
}
