//! Which groups a restore makes in the target: every group of a snapshot that captured people when
//! it is restored whole with its people; with `--item` or `--people none` only the groups the
//! restored items are shared with; and a group of the same title already in the target is used,
//! not made twice.

use std::collections::BTreeMap;

use orgpack_restore::{PeopleMode, restore};

use super::seed::{client, seeded};
use super::{backed_up, empty_target, options};

/// The target's groups: title → how many.
async fn titles(c: &orgpack_portal::Client) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for g in c.search_groups("*").await.unwrap() {
        *out.entry(g["title"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_come_back_as_the_restore_asks_and_none_twice() {
    let s = seeded().await;
    // A group no item is shared with.
    client(&s.sandbox, "editor")
        .create_group(&[("title", "Reading room"), ("access", "private")])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    assert!(snapshot.people.is_some() && snapshot.groups.len() == 2);
    let restored = |org: &'static str, edit: fn(&mut orgpack_restore::RestoreOptions)| {
        let target = empty_target(&s, org, dir.path());
        let mut o = options(dir.path());
        edit(&mut o);
        let (archive, snapshot) = (&archive, &snapshot);
        async move {
            restore(archive, snapshot, std::slice::from_ref(&target), &o, false)
                .await
                .unwrap();
            titles(&target.client).await
        }
    };
    let both = BTreeMap::from([
        ("Planning team".to_owned(), 1),
        ("Reading room".to_owned(), 1),
    ]);
    let shared_only = BTreeMap::from([("Planning team".to_owned(), 1)]);
    assert_eq!(restored("whole", |_| {}).await, both);
    let map = s.map.clone();
    let target = empty_target(&s, "one-item", dir.path());
    let mut o = options(dir.path());
    o.items = vec![map];
    restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &o,
        false,
    )
    .await
    .unwrap();
    assert_eq!(titles(&target.client).await, shared_only, "--item");
    assert_eq!(
        restored("no-people", |o| o.people = PeopleMode::None).await,
        shared_only,
        "--people none"
    );

    // A target that has a group of the same title already: used, not made again.
    let target = empty_target(&s, "has-planning", dir.path());
    target
        .client
        .create_group(&[("title", "Planning team"), ("access", "org")])
        .await
        .unwrap();
    restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &options(dir.path()),
        false,
    )
    .await
    .unwrap();
    assert_eq!(titles(&target.client).await, both);
}
