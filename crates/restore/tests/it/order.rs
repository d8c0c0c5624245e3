//! The order a restore goes in and where it puts things: items that reference each other in a
//! circle both end up pointing at the target's copies (the second pass), a relationship orders the
//! two items it joins, and `--folder` (outside in place) puts every item into one folder.

use std::collections::BTreeSet;

use orgpack_archive::manifest::{Direction, Relationship};
use orgpack_portal::Content;
use orgpack_restore::restore;

use super::seed::{client, seeded};
use super::{backed_up, empty_target, entry, options};

/// Two apps that name each other: whichever is made first cannot hold the other's new id yet, so
/// the second pass patches it; after the restore each names the other's copy, never a source id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_that_name_each_other_both_name_the_targets_copies() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let first = super::seed::add_text(
        &editor,
        "Field app",
        "Web Mapping Application",
        r#"{"values": {"title": "Field"}}"#,
    )
    .await;
    let second = super::seed::add_text(
        &editor,
        "Office app",
        "Web Mapping Application",
        &format!(r#"{{"values": {{"webmap": "{first}"}}}}"#),
    )
    .await;
    editor
        .update_item(
            "editor",
            None,
            &first,
            &[],
            Content::Text(&format!(r#"{{"values": {{"webmap": "{second}"}}}}"#)),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let target = empty_target(&s, "elsewhere", dir.path());
    let reports = restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &options(dir.path()),
        false,
    )
    .await
    .unwrap();
    let report = &reports[0];
    let copy = |id: &str| entry(report, id).target_id.clone().unwrap();
    let (first_copy, second_copy) = (copy(&first), copy(&second));
    for (app, names) in [(&first_copy, &second_copy), (&second_copy, &first_copy)] {
        let mut data = Vec::new();
        target.client.item_data(app, &mut data).await.unwrap();
        let data: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(data["values"]["webmap"], names.as_str(), "{app}: {data}");
    }
}

/// A relationship between two items that reference nothing orders them: the item at its origin
/// after the one at its destination, though the snapshot's order alone puts them the other way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relationship_orders_the_items_it_joins() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let target = empty_target(&s, "elsewhere", dir.path());
    let order = |reports: Vec<orgpack_restore::TargetReport>| -> Vec<String> {
        reports[0]
            .items
            .iter()
            .map(|e| e.source_id.clone())
            .collect()
    };
    let before = order(
        restore(
            &archive,
            &snapshot,
            std::slice::from_ref(&target),
            &options(dir.path()),
            true,
        )
        .await
        .unwrap(),
    );
    // Two items that need nothing and nothing needs, the earlier one first.
    let alone: Vec<&String> = before
        .iter()
        .filter(|id| {
            let item = snapshot.item(id).unwrap();
            item.relationships.is_empty()
                && item.dependencies.iter().all(|d| d.item_id.is_none())
                && snapshot.items.iter().all(|o| {
                    o.dependencies
                        .iter()
                        .all(|d| d.item_id.as_deref() != Some(id.as_str()))
                        && o.relationships.iter().all(|r| r.item_id != **id)
                })
        })
        .collect();
    assert!(alone.len() >= 2, "{alone:?}");
    let (earlier, later) = (alone[0].clone(), alone[1].clone());
    // The later item names the earlier one through a reverse relationship: the earlier one is
    // the relationship's origin, so it comes after the later one now. A reverse relationship
    // is not a need (nothing more is restored with it), only an order.
    let mut edited = snapshot.clone();
    let item = edited.items.iter_mut().find(|i| i.id == later).unwrap();
    item.relationships.push(Relationship {
        relationship_type: "Map2Service".into(),
        direction: Direction::Reverse,
        item_id: earlier.clone(),
    });
    let after = order(
        restore(
            &archive,
            &edited,
            std::slice::from_ref(&target),
            &options(dir.path()),
            true,
        )
        .await
        .unwrap(),
    );
    let at = |id: &str| after.iter().position(|a| a == id).unwrap();
    assert!(
        at(&later) < at(&earlier),
        "{later} must come before {earlier}: {after:?}"
    );
}

/// `--folder F` restores every item into the folder F of its owner in the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_puts_every_item_into_one_folder() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let target = empty_target(&s, "elsewhere", dir.path());
    let mut o = options(dir.path());
    o.folder = Some("Restored".into());
    let reports = restore(
        &archive,
        &snapshot,
        std::slice::from_ref(&target),
        &o,
        false,
    )
    .await
    .unwrap();
    let c = &target.client;
    let mut owners = BTreeSet::new();
    for e in &reports[0].items {
        let id = e.target_id.as_deref().unwrap();
        let owner = c.item(id).await.unwrap()["owner"]
            .as_str()
            .unwrap()
            .to_owned();
        let view = c.user_item(&owner, id).await.unwrap();
        let folder = view["item"]["ownerFolder"].as_str().unwrap_or_default();
        let folders = c.user_folders(&owner).await.unwrap();
        assert!(
            folders
                .iter()
                .any(|f| f["id"] == folder && f["title"] == "Restored"),
            "{}: in folder {folder:?} of {owner}: {folders:?}",
            e.title
        );
        owners.insert(owner);
    }
    assert!(!owners.is_empty());
}
