//! Archives made to hurt: manifests whose ids are not ids, whose paths escape, whose sizes are
//! absurd or whose format is from the future. Each is refused with a message naming the problem,
//! before a single request reaches the target.

use orgpack_archive::manifest::Snapshot;
use orgpack_restore::restore;

use crate::seed::seeded;
use crate::{backed_up, empty_target, options, org_items};

type Harm = fn(&mut Snapshot);

fn with_resources(s: &mut Snapshot) -> &mut orgpack_archive::manifest::Item {
    s.items
        .iter_mut()
        .find(|i| !i.resources.is_empty())
        .expect("the seed has an item with resources")
}
fn with_payload(s: &mut Snapshot) -> &mut orgpack_archive::manifest::Item {
    s.items
        .iter_mut()
        .find(|i| !i.payloads.is_empty())
        .expect("the seed has a hosted service")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_manifests_are_refused_before_any_request() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let targets = [empty_target(&s, "victim", dir.path())];

    let cases: [(&str, Harm, &str); 9] = [
        (
            "an item id that is a path",
            |s| s.items[0].id = "../../../etc/passwd".into(),
            "id is not 32 lowercase hex digits",
        ),
        (
            "a resource path that climbs out",
            |s| with_resources(s).resources[0].path = "config/../../../outside.json".into(),
            "resource path",
        ),
        (
            "an absolute resource path",
            |s| with_resources(s).resources[0].path = "/etc/cron.d/evil".into(),
            "resource path",
        ),
        (
            "a payload name with a directory in it",
            |s| with_payload(s).payloads[0].file_name = "../../payload.zip".into(),
            "is not a plain file name",
        ),
        (
            "a group id that is not an id",
            |s| {
                let i = s
                    .items
                    .iter_mut()
                    .find(|i| !i.sharing.groups.is_empty())
                    .unwrap();
                i.sharing.groups[0].id = "everyone".into();
            },
            "which is not a group id",
        ),
        (
            "a relationship to something that is not an item",
            |s| {
                let i = s
                    .items
                    .iter_mut()
                    .find(|i| !i.relationships.is_empty())
                    .unwrap();
                i.relationships[0].item_id = "http://evil.example.com/x".into();
            },
            "which is not an item id",
        ),
        (
            "the same item twice",
            |s| {
                let twin = s.items[0].clone();
                s.items.push(twin);
            },
            "appears more than once",
        ),
        (
            "a part far bigger than its content",
            |s| with_payload(s).payloads[0].content.size = u64::MAX,
            "size differs",
        ),
        (
            "a format from the future",
            |s| s.format_version = "3.0.0".into(),
            "is not a 1.x.y or 2.x.y version",
        ),
    ];
    for (what, harm, expected) in cases {
        let mut hostile = snapshot.clone();
        harm(&mut hostile);
        let before = s.sandbox.requests();
        let err = restore(&archive, &hostile, &targets, &options(dir.path()), false)
            .await
            .expect_err(what)
            .to_string();
        assert!(
            err.contains(expected) && err.contains("nothing was sent"),
            "{what}: {err}"
        );
        assert_eq!(s.sandbox.requests(), before, "{what}: a request was made");
    }
    assert!(org_items(&targets[0].client).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_nested_too_deep_or_with_absurd_numbers_are_refused_when_read() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    drop(archive);
    let repo = dir.path().join("repo");
    let good = serde_json::to_value(&snapshot).unwrap();
    let deep = format!(
        "{{\"formatVersion\":\"1.1.0\",\"annotations\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let mut huge = good.clone();
    huge["items"][0]["modified"] = serde_json::json!(1e300);
    let mut wrong_type = good.clone();
    wrong_type["items"] = serde_json::json!({"0": good["items"][0].clone()});
    for (what, bytes, expected) in [
        ("nested 100,000 deep", deep.into_bytes(), "recursion limit"),
        (
            "a time far past any clock",
            serde_json::to_vec(&huge).unwrap(),
            "manifest is invalid",
        ),
        (
            "items that are not a list",
            serde_json::to_vec(&wrong_type).unwrap(),
            "manifest is invalid",
        ),
    ] {
        // Named by its own digest, as a committed manifest is, so only its content is wrong.
        let id = orgpack_archive::Digest::of(&bytes);
        let path = repo.join(orgpack_archive::Key::Snapshot(id).path());
        std::fs::write(&path, &bytes).unwrap();
        let archive = orgpack_archive::Archive::open(&repo).unwrap();
        let err = archive.snapshot(&id).expect_err(what).to_string();
        assert!(err.contains(expected), "{what}: {err}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_with_groups_the_snapshot_does_not_hold_is_contained() {
    let s = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    let targets = [empty_target(&s, "victim", dir.path())];
    // A group of the target that the archive names without holding it: a restore must not share
    // into it (an archive cannot widen sharing in the target).
    let outsider = targets[0]
        .client
        .create_group(&[("title", "Not in the archive"), ("access", "org")])
        .await
        .unwrap();
    let mut hostile = snapshot.clone();
    let victim = hostile
        .items
        .iter_mut()
        .find(|i| i.sharing.groups.is_empty())
        .unwrap();
    let victim_id = victim.id.clone();
    victim
        .sharing
        .groups
        .push(orgpack_archive::manifest::GroupRef {
            id: outsider.clone(),
            title: "Not in the archive".into(),
        });
    let reports = restore(&archive, &hostile, &targets, &options(dir.path()), false)
        .await
        .unwrap();
    assert!(reports[0].is_complete(), "{:#?}", reports[0]);
    assert!(
        reports[0].notes.iter().any(|n| n.contains(&outsider)),
        "{:?}",
        reports[0].notes
    );
    let content = targets[0].client.group_content(&outsider).await.unwrap();
    assert!(
        content.is_empty(),
        "shared into a group the archive does not hold: {content:?}"
    );
    let entry = reports[0]
        .items
        .iter()
        .find(|e| e.source_id == victim_id)
        .unwrap();
    // The owner's view: the restored item is shared with no group of the archive's naming.
    let view = targets[0]
        .client
        .user_item(&entry.owner, entry.target_id.as_ref().unwrap())
        .await
        .unwrap();
    assert!(
        !view["sharing"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == outsider.as_str())
    );
}
