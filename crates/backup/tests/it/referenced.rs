//! What an item's data names is captured though nothing selected is shared with it: a gallery
//! app's group.

use orgpack_archive::Archive;
use orgpack_portal::Content;

use crate::seed::{client, seeded};
use crate::{Counting, backup, items};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_named_by_an_apps_data_is_captured_though_nothing_is_shared_with_it() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let gallery = editor
        .create_group(&[("title", "Gallery"), ("access", "org")])
        .await
        .unwrap();
    let data =
        format!("{{\"values\": {{\"group\": \"{gallery}\", \"title\": \"Maps of the city\"}}}}");
    let app = editor
        .add_item(
            "editor",
            None,
            &[
                ("title", "Map gallery"),
                ("type", "Web Mapping Application"),
            ],
            Content::Text(&data),
            1 << 20,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let (_, outcome) = backup(&s, &repo, items(&[&app]), &Counting::default()).await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let archive = Archive::open(&repo).unwrap();
    let snap = archive.snapshot(&outcome.snapshot).unwrap();
    let groups: Vec<&str> = snap.groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(groups, [gallery.as_str()]);
}
