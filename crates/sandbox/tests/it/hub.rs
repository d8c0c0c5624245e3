//! What Hub uses beside the portal to put a site on the web: `oauth2/registerApp` and the domain
//! service, what they take and what they refuse.

use orgpack_portal::{Client, Content, ErrorKind};
use orgpack_sandbox::SandboxOptions;
use serde_json::{Value, json};

use crate::conformance::{client, sandbox_with};

async fn site(c: &Client, owner: &str, title: &str) -> String {
    c.add_item(
        owner,
        None,
        &[("title", title), ("type", "Hub Site Application")],
        Content::Text(r#"{"values":{}}"#),
        1 << 20,
    )
    .await
    .unwrap()
}

fn status_of(e: &orgpack_portal::Error) -> i64 {
    match &e.kind {
        ErrorKind::Portal { code, .. } => *code,
        other => panic!("expected the service's error, got {other}"),
    }
}

#[tokio::test]
async fn a_site_is_registered_once_and_its_hostname_entered_by_its_organization() {
    let sandbox = sandbox_with(SandboxOptions::default()).await;
    let hub = sandbox.hub_url();
    let editor = client(&sandbox, "source", "editor");
    let other = client(&sandbox, "target", "admin");
    let me = editor.portal_self().await.unwrap();
    let water = site(&editor, "editor", "Water").await;

    // Only an application item is registered, and once.
    let csv = editor
        .add_item(
            "editor",
            None,
            &[("title", "t"), ("type", "CSV")],
            Content::Text("a,b"),
            1 << 20,
        )
        .await
        .unwrap();
    assert!(editor.register_app(&csv, &[]).await.is_err());
    assert_eq!(editor.registered_app("editor", &water).await.unwrap(), None);
    let client_id = editor
        .register_app(&water, &["https://water-source.hub.arcgis.com".to_owned()])
        .await
        .unwrap();
    assert_eq!(client_id.len(), 16);
    assert!(editor.register_app(&water, &[]).await.is_err());
    assert_eq!(
        editor
            .registered_app("editor", &water)
            .await
            .unwrap()
            .as_deref(),
        Some(client_id.as_str())
    );

    let entry = |host: &str, client_key: &str, org: &Value| {
        json!({"hostname": host, "siteId": water, "siteTitle": "Water", "orgId": org["id"],
               "orgKey": org["urlKey"], "orgTitle": org["name"], "clientKey": client_key,
               "sslOnly": true})
    };
    let host = "water-source.hub.arcgis.com";
    assert_eq!(editor.hub_domain(&hub, host).await.unwrap(), None);
    // Refused: another registration's key, a field the entry does not have, a capital letter,
    // another organization's token.
    let e = editor
        .add_hub_domain(&hub, &entry(host, "0123456789abcdef", &me))
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), 400, "{e}");
    let mut extra = entry(host, &client_id, &me);
    extra["theme"] = json!("dark");
    assert_eq!(
        status_of(&editor.add_hub_domain(&hub, &extra).await.unwrap_err()),
        400
    );
    assert_eq!(
        status_of(
            &editor
                .add_hub_domain(&hub, &entry("Water-source.hub.arcgis.com", &client_id, &me))
                .await
                .unwrap_err()
        ),
        400
    );
    let e = other
        .add_hub_domain(&hub, &entry(host, &client_id, &me))
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), 403, "{e}");
    // Without a token.
    let anonymous = reqwest::Client::new()
        .post(format!("{hub}/api/v3/domains"))
        .json(&entry(host, &client_id, &me))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let made = editor
        .add_hub_domain(&hub, &entry(host, &client_id, &me))
        .await
        .unwrap();
    assert_eq!(made["hostname"], host);
    assert!(made["id"].is_string());
    let found = editor.hub_domain(&hub, host).await.unwrap().unwrap();
    assert_eq!(found["siteId"], water.as_str());
    assert_eq!(
        editor
            .hub_domains_of_site(&hub, &water)
            .await
            .unwrap()
            .len(),
        1
    );
    // A hostname is one site's.
    let e = editor
        .add_hub_domain(&hub, &entry(host, &client_id, &me))
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), 409, "{e}");
    // Another organization cannot remove it; its own can.
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        status_of(&other.remove_hub_domain(&hub, id).await.unwrap_err()),
        403
    );
    editor.remove_hub_domain(&hub, id).await.unwrap();
    assert_eq!(editor.hub_domain(&hub, host).await.unwrap(), None);
}
