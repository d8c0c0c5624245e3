//! A Survey123 form comes back submitting to the restored service: its package (the item's data,
//! a zip laid out as Survey123 and Esri's solution.js write it — `esriinfo/form.info` with the
//! service and webhooks, `form.itemInfo`, the XForm `form.xml` with its `<submission action>`,
//! `form.webform`, `forminfo.json`, media, the XLSForm; the backup follows what it names) names
//! the target's service, the form's
//! new id and the target's portal, with media and the XLSForm byte for byte, and its
//! `Survey2Service` relationship points at the restored service.

use std::io::{Cursor, Read as _, Write as _};

use orgpack_portal::Content;
use orgpack_restore::restore;

use super::seed::{client, seeded};
use super::{backed_up, empty_target, entry, options};

/// The package of form `id` submitting to `service` (layer 0), its webhook under `portal`.
pub(super) fn package(id: &str, service: &str, service_id: &str, portal: &str) -> Vec<u8> {
    let files: Vec<(String, Vec<u8>)> = vec![
        (
            "esriinfo/form.info".into(),
            format!(
                r#"{{"displayInfo":{{"map":{{"home":{{"zoomLevel":0}}}}}},"serviceInfo":{{"url":"{service}","itemId":"{service_id}"}},"notificationsInfo":{{"webhooks":[{{"name":"Notify crews","url":"{portal}/{id}/link"}}]}}}}"#
            )
            .into_bytes(),
        ),
        (
            "esriinfo/form.itemInfo".into(),
            format!(r#"{{"id":"{id}","name":"{id}","title":"Hydrant inspection","type":"Form","typeKeywords":["Form","Survey123","xForm"]}}"#).into_bytes(),
        ),
        (
            "esriinfo/form.xml".into(),
            format!(
                "<?xml version=\"1.0\"?>\n<h:html xmlns=\"http://www.w3.org/2002/xforms\" xmlns:h=\"http://www.w3.org/1999/xhtml\">\n  <h:head>\n    <h:title>Hydrant inspection</h:title>\n    <model>\n      <instance>\n        <xls-{id} id=\"survey\"><condition/><meta><instanceID/></meta></xls-{id}>\n      </instance>\n      <bind nodeset=\"/xls-{id}/condition\" type=\"string\"/>\n      <submission action=\"{service}/0\" method=\"post\"/>\n    </model>\n  </h:head>\n  <h:body/>\n</h:html>\n"
            )
            .into_bytes(),
        ),
        (
            "esriinfo/form.webform".into(),
            format!(r#"{{"form":"<form data-form-id=\"survey\"><input name=\"/xls-{id}/condition\"></form>","model":"<model><instance><xls-{id} id=\"survey\"/></instance></model>","transformerVersion":"2.3.0"}}"#).into_bytes(),
        ),
        (
            "esriinfo/forminfo.json".into(),
            br#"{"name":"form","type":"xform"}"#.to_vec(),
        ),
        ("esriinfo/media/logo.png".into(), b"\x89PNG\r\n\x1a\n logo".to_vec()),
        ("Hydrant inspection.xlsx".into(), b"PK\x03\x04 workbook".to_vec()),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        zip.start_file(
            name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub(super) fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..a.len())
        .map(|i| {
            let mut e = a.by_index(i).unwrap();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (String::from_utf8_lossy(e.name_raw()).into_owned(), b)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_survey_submits_to_the_restored_service() {
    let s = seeded().await;
    let editor = client(&s.sandbox, "editor");
    let service_url = editor.item(&s.city).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let portal = s.sandbox.portal_url("source");
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("survey.zip");
    // The form is made first, then given the package that names it.
    std::fs::write(
        &zip_path,
        package(&"0".repeat(32), &service_url, &s.city, &portal),
    )
    .unwrap();
    let form = editor
        .add_item(
            "editor",
            None,
            &[("title", "Hydrant inspection"), ("type", "Form")],
            Content::File {
                path: &zip_path,
                name: "Hydrant inspection.zip",
            },
            1 << 20,
        )
        .await
        .unwrap();
    let source_package = package(&form, &service_url, &s.city, &portal);
    upload_package(&editor, "editor", &form, &zip_path, &source_package).await;
    editor
        .add_relationship("editor", &form, &s.city, "Survey2Service")
        .await
        .unwrap();

    let (archive, snapshot) = backed_up(&s, dir.path()).await;
    // The backup read the package: the XForm's submission and `.info` name the service.
    let paths: Vec<&str> = snapshot
        .item(&form)
        .unwrap()
        .dependencies
        .iter()
        .filter(|d| d.item_id.as_deref() == Some(s.city.as_str()))
        .filter_map(|d| d.path.as_deref())
        .collect();
    for file in ["data esriinfo/form.xml", "data esriinfo/form.info"] {
        assert!(
            paths.iter().any(|p| p.starts_with(file)),
            "{file}: {paths:?}"
        );
    }
    let target = empty_target(&s, "field", dir.path());
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
    assert!(report.is_complete(), "{report:#?}");
    let new_form = entry(report, &form).target_id.clone().unwrap();
    let new_city = entry(report, &s.city).target_id.clone().unwrap();
    let c = &target.client;
    let new_url = c.item(&new_city).await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let target_portal = s.sandbox.portal_url("field");

    let mut data = Vec::new();
    c.item_data(&new_form, &mut data).await.unwrap();
    let restored = unzip(&data);
    let source = unzip(&source_package);
    assert_eq!(
        restored.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        source.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    let text = |name: &str| {
        String::from_utf8(restored.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap()
    };
    assert!(
        text("esriinfo/form.xml").contains(&format!("<submission action=\"{new_url}/0\"")),
        "{}",
        text("esriinfo/form.xml")
    );
    assert!(text("esriinfo/form.xml").contains(&format!("<xls-{new_form} id=\"survey\">")));
    let info: serde_json::Value = serde_json::from_str(&text("esriinfo/form.info")).unwrap();
    assert_eq!(info["serviceInfo"]["url"], new_url.as_str());
    assert_eq!(info["serviceInfo"]["itemId"], new_city.as_str());
    assert_eq!(
        info["notificationsInfo"]["webhooks"][0]["url"],
        format!("{target_portal}/{new_form}/link").as_str()
    );
    let item_info: serde_json::Value =
        serde_json::from_str(&text("esriinfo/form.itemInfo")).unwrap();
    assert_eq!(item_info["id"], new_form.as_str());
    // Nothing of the source is left in any file; media and the XLSForm are as they were.
    for (name, bytes) in &restored {
        let body = String::from_utf8_lossy(bytes);
        for old in [
            form.as_str(),
            s.city.as_str(),
            service_url.as_str(),
            portal.as_str(),
        ] {
            assert!(!body.contains(old), "{name} still names {old}");
        }
    }
    for name in ["esriinfo/media/logo.png", "Hydrant inspection.xlsx"] {
        let find =
            |files: &[(String, Vec<u8>)]| files.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(find(&restored), find(&source), "{name}");
    }
    // The report lists the webhook it kept, as the target has it.
    let reason = entry(report, &form).reason.clone().unwrap_or_default();
    assert!(
        reason.contains(&format!("Notify crews → {target_portal}/{new_form}/link")),
        "{reason}"
    );
    let related = c
        .related_items(&new_form, "Survey2Service", true)
        .await
        .unwrap();
    assert_eq!(related[0]["id"], new_city.as_str());

    // The read-back check reads the package too: clean as restored, and a package still naming
    // the source is a problem it names.
    let checked = orgpack_restore::check_target(c, &snapshot, report).await;
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    upload_package(
        c,
        &entry(report, &form).owner,
        &new_form,
        &zip_path,
        &source_package,
    )
    .await;
    let checked = orgpack_restore::check_target(c, &snapshot, report).await;
    assert!(
        checked
            .problems
            .iter()
            .any(|p| p.starts_with("Hydrant inspection form package esriinfo/")),
        "{:?}",
        checked.problems
    );
}

/// Replace a form's data with `package`, written to `zip_path` first.
async fn upload_package(
    client: &orgpack_portal::Client,
    owner: &str,
    form: &str,
    zip_path: &std::path::Path,
    package: &[u8],
) {
    std::fs::write(zip_path, package).unwrap();
    client
        .update_item(
            owner,
            None,
            form,
            &[],
            Content::File {
                path: zip_path,
                name: "Hydrant inspection.zip",
            },
        )
        .await
        .unwrap();
}
