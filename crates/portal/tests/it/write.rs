//! Writing: items from text and files (one request, or in parts with commit and status), sharing,
//! folders, export jobs and feature counts.

use std::sync::atomic::Ordering;

use orgpack_portal::{Content, ErrorKind};

use crate::client::client_for_tests as client;

#[tokio::test]
async fn text_items_and_small_files_in_one_request() {
    let (c, state) = client().await;
    let id = c
        .add_item(
            "admin",
            None,
            &[("type", "Web Map"), ("title", "Parcels")],
            Content::Text(r#"{"operationalLayers":[]}"#),
            1 << 20,
        )
        .await
        .unwrap();
    let added = state.items.lock().unwrap()[&id].clone();
    assert_eq!(added.params["text"], r#"{"operationalLayers":[]}"#);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, vec![7u8; 300_000]).unwrap();
    let id = c
        .add_item(
            "admin",
            None,
            &[("type", "PDF"), ("title", "Report")],
            Content::File {
                path: &file,
                name: "report.pdf",
            },
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(
        state.items.lock().unwrap()[&id].file_bytes,
        300_000,
        "streamed from disk in one form"
    );
    let err = c
        .add_item(
            "admin",
            None,
            &[("title", "No type")],
            Content::None,
            1 << 20,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Portal { code: 400, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn large_files_go_up_in_parts_then_commit_and_complete() {
    let (c, state) = client().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.gdb.zip");
    let size = orgpack_portal::write::SINGLE_UPLOAD_LIMIT as usize + 5_000_000;
    // No two parts alike, so a part sent from the wrong place in the file shows.
    let content: Vec<u8> = (0..size)
        .map(|i| u8::try_from((i % 251 + (i >> 20)) % 256).unwrap())
        .collect();
    std::fs::write(&file, &content).unwrap();
    let part = 8 << 20;
    let id = c
        .add_item(
            "admin",
            None,
            &[("type", "File Geodatabase"), ("title", "Big")],
            Content::File {
                path: &file,
                name: "big.gdb.zip",
            },
            part,
        )
        .await
        .unwrap();
    let added = state.items.lock().unwrap()[&id].clone();
    assert_eq!(added.params["multipart"], "true");
    assert_eq!(added.params["filename"], "big.gdb.zip");
    // Parts go up several at a time, so they may arrive in any order; the portal joins them by
    // number, so what matters is that each number from 1 is sent exactly once.
    let mut numbers: Vec<u32> = added.parts.iter().map(|p| p.0).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=u32::try_from(size.div_ceil(part)).unwrap()).collect::<Vec<_>>(),
        "parts numbered from 1, each once"
    );
    let mut parts = added.parts.clone();
    parts.sort_by_key(|p| p.0);
    assert!(
        parts
            .iter()
            .flat_map(|p| p.1.iter().copied())
            .collect::<Vec<u8>>()
            == content,
        "the parts joined by number are the file"
    );
    assert!(
        added.parts.iter().all(|p| p.1.len() <= part),
        "no part over the part size"
    );
    assert!(
        added.committed && added.status_polls >= 3,
        "committed, then polled until completed"
    );
}

#[tokio::test]
async fn sharing_folders_exports_and_counts() {
    let (c, state) = client().await;
    let refused = c
        .share_item(
            "admin",
            "1a2b3c4d5e6f708192a3b4c5d6e7f801",
            false,
            true,
            &[
                "c0ffee00c0ffee00c0ffee00c0ffee00",
                "bad0000000000000000000000000000",
            ],
        )
        .await
        .unwrap();
    assert_eq!(refused, vec!["bad0000000000000000000000000000"]);
    assert_eq!(
        c.create_folder("admin", "Planning").await.unwrap(),
        "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
    );
    let job = c
        .export_item(
            "admin",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "File Geodatabase",
            "orgpack export",
            "",
        )
        .await
        .unwrap();
    c.wait_for_job(
        "admin",
        &job.export_item_id,
        Some(&job.job_id),
        Some("export"),
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert!(state.items.lock().unwrap()[&job.export_item_id].status_polls >= 3);
    let doomed = c
        .export_item(
            "admin",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "File Geodatabase",
            "doomed export",
            "",
        )
        .await
        .unwrap();
    let err = c
        .wait_for_job(
            "admin",
            &doomed.export_item_id,
            Some(&doomed.job_id),
            Some("export"),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("layer is empty"), "{err}");
    let root = c.url().root.clone();
    let port_root = root.trim_end_matches("/org");
    let count = c
        .feature_count(&format!(
            "{port_root}/org/server/rest/services/Hosted/Hydrants/FeatureServer/0"
        ))
        .await
        .unwrap();
    assert_eq!(count, 250);
    let _ = state.issued.load(Ordering::SeqCst);
}

#[tokio::test]
async fn users_folders_sharing_and_groups() {
    let (c, _) = client().await;
    let folders = c.user_folders("admin").await.unwrap();
    assert_eq!(folders[0]["title"], "Planning");
    let items = c.user_items("admin", None).await.unwrap();
    assert_eq!(items.len(), 130, "every page of the user's content");
    let view = c
        .user_item("admin", "1a2b3c4d5e6f708192a3b4c5d6e7f801")
        .await
        .unwrap();
    assert_eq!(
        view["sharing"]["groups"][0],
        "c0ffee00c0ffee00c0ffee00c0ffee00"
    );
    let members = c
        .group_members("c0ffee00c0ffee00c0ffee00c0ffee00")
        .await
        .unwrap();
    assert_eq!(members["users"].as_array().unwrap().len(), 2);
    let id = c
        .create_group(&[("title", "Planning team"), ("access", "org")])
        .await
        .unwrap();
    assert_eq!(id, "c0ffee00c0ffee00c0ffee00c0ffee00");
    let err = c.create_group(&[("access", "org")]).await.unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Portal { code: 400, .. }),
        "{err}"
    );
}
